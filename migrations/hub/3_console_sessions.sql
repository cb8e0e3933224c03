-- Console users sign in with a password and get a session: the console API replaces the
-- bootstrap admin token for everything a tenant's managers do.
--
-- Login names its tenant (tenant id + email), so finding the user runs under that tenant's
-- RLS like any other request and needs no pre-tenant lookup function. Sessions are found
-- the same way: the session cookie carries the tenant id next to the secret, and the
-- session row is looked up under that tenant (a forged tenant id finds no row).

-- Emails are stored trimmed and lowercased by the hub, so the existing
-- UNIQUE (tenant_id, email) is case-insensitive in effect.
ALTER TABLE console_users
    ADD COLUMN active          boolean NOT NULL DEFAULT true,
    -- Consecutive failed logins; at the hub's limit the account is locked until
    -- locked_until_ms and the count starts again.
    ADD COLUMN failed_logins   integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until_ms bigint  NOT NULL DEFAULT 0,
    ADD COLUMN created_at_ms   bigint  NOT NULL DEFAULT 0;

CREATE TABLE console_sessions (
    tenant_id     uuid   NOT NULL,
    -- SHA-256 of the 256-bit session secret: the secret lives only in the browser's cookie.
    session_hash  bytea  NOT NULL CHECK (length(session_hash) = 32),
    user_id       uuid   NOT NULL,
    -- SHA-256 of the session's CSRF token, returned once at login.
    csrf_hash     bytea  NOT NULL CHECK (length(csrf_hash) = 32),
    created_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL,
    revoked_at_ms bigint,
    PRIMARY KEY (tenant_id, session_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES console_users ON DELETE CASCADE
);

ALTER TABLE console_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE console_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON console_sessions USING (tenant_id = app_tenant())
    WITH CHECK (tenant_id = app_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON console_sessions TO thorbis_app;
