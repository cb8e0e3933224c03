-- Per-user API tokens for the console's REST API: a 256-bit secret of which only the
-- SHA-256 is stored, shown to its user once; scoped `read` (what a viewer may do) or
-- `write` (what the user's role may do); revocable; last use noted at most every minute.
--
-- console_users.totp_failures: wrong second-factor codes in a row (with the right
-- password); every tenth locks the account for an hour and raises an alert.
--
-- alerts_open_revoked_device: at most one open "revoked device" alert per device, however
-- many of its requests arrive at once.

CREATE TABLE api_tokens (
    tenant_id       uuid   NOT NULL,
    token_id        uuid   NOT NULL,
    user_id         uuid   NOT NULL,
    name            text   NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash      bytea  NOT NULL CHECK (length(token_hash) = 32),
    scope           text   NOT NULL CHECK (scope IN ('read', 'write')),
    created_at_ms   bigint NOT NULL,
    last_used_at_ms bigint NOT NULL DEFAULT 0,
    revoked_at_ms   bigint,
    PRIMARY KEY (tenant_id, token_id)
);
CREATE UNIQUE INDEX api_tokens_by_hash ON api_tokens (tenant_id, token_hash);
SELECT hub_tenant_table('api_tokens', 'SELECT, INSERT, UPDATE');

-- Open revoked-device alerts raised twice by concurrent requests before this index: all
-- but the first are acknowledged, so the index can be built.
UPDATE alerts a SET acknowledged_at_ms = a.created_at_ms
 WHERE a.kind = 'revoked_device' AND a.acknowledged_at_ms IS NULL
   AND EXISTS (SELECT 1 FROM alerts b
                WHERE b.tenant_id = a.tenant_id AND b.device_id = a.device_id
                  AND b.kind = 'revoked_device' AND b.acknowledged_at_ms IS NULL
                  AND (b.created_at_ms, b.alert_id) < (a.created_at_ms, a.alert_id));

DO $$
BEGIN
    EXECUTE 'ALTER TABLE console_users ADD COLUMN totp_failures integer NOT NULL DEFAULT 0';
    EXECUTE 'CREATE UNIQUE INDEX alerts_open_revoked_device ON alerts (tenant_id, device_id) '
            'WHERE kind = ''revoked_device'' AND acknowledged_at_ms IS NULL';
END
$$;
