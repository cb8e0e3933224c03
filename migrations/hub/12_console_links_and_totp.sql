-- Console accounts: one-time links and a second factor.
--
-- console_links: an owner's invitation to a new user (email and role), or a password
-- reset of an existing user, as a link with a 256-bit token of which only the SHA-256 is
-- stored; used once (used_at_ms), and not after expires_at_ms.
--
-- console_users.totp_secret: the user's RFC 6238 secret once they turned the second factor
-- on (NULL: off); totp_last_step: the last time step a code was accepted for, so a code is
-- never accepted twice.

CREATE TABLE console_links (
    tenant_id     uuid   NOT NULL,
    token_hash    bytea  NOT NULL CHECK (length(token_hash) = 32),
    kind          text   NOT NULL CHECK (kind IN ('invite', 'reset')),
    email         text   NOT NULL,
    role          text   CHECK (role IN ('owner', 'manager', 'viewer')),
    user_id       uuid,
    created_by    uuid   NOT NULL,
    created_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL,
    used_at_ms    bigint,
    PRIMARY KEY (tenant_id, token_hash)
);
SELECT hub_tenant_table('console_links', 'SELECT, INSERT, UPDATE');

DO $$
BEGIN
    EXECUTE 'ALTER TABLE console_users ADD COLUMN totp_secret bytea';
    EXECUTE 'ALTER TABLE console_users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0';
END
$$;
