-- Replay protection and per-device storage.
--
-- request_nonces: the nonce of every signed request a device made, kept until the
-- request's timestamp leaves the hub's window (after that the timestamp alone refuses
-- it), so the same signed request is served once. A tenant table like the others: RLS,
-- primary key led by tenant_id, distributed with its tenant on Citus.
--
-- chain_tips.stored_bytes: how many bytes of events the hub has stored for each device
-- since this migration, held against the per-device quota on every push.

CREATE TABLE request_nonces (
    tenant_id     uuid   NOT NULL,
    device_id     uuid   NOT NULL,
    nonce         bytea  NOT NULL CHECK (length(nonce) = 16),
    expires_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, nonce)
);
ALTER TABLE request_nonces ENABLE ROW LEVEL SECURITY;
ALTER TABLE request_nonces FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON request_nonces TO thorbis_app;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        -- The policy form of migration 7: the tenant read once per statement.
        CREATE POLICY tenant_isolation ON request_nonces
            USING (tenant_id = (SELECT app_tenant()))
            WITH CHECK (tenant_id = (SELECT app_tenant()));
        RETURN;
    END IF;
    -- One connection per worker for the whole migration, as in migration 8.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- Citus refuses subqueries in the policies of distributed tables (see migration 8).
    CREATE POLICY tenant_isolation ON request_nonces
        USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
    PERFORM create_distributed_table('request_nonces', 'tenant_id', colocate_with => 'tenants');
END
$$;

-- Two statements, because Citus wants every constraint named; each on its own, because
-- Citus sends a distributed table's DDL to the workers as the statement's text, which in
-- a migration file would be the whole file.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE chain_tips ADD COLUMN stored_bytes bigint NOT NULL DEFAULT 0';
    EXECUTE 'ALTER TABLE chain_tips ADD CONSTRAINT chain_tips_stored_bytes_check '
            'CHECK (stored_bytes >= 0)';
END
$$;
