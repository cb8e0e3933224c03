-- Replay protection and per-device storage.
--
-- hub_tenant_table: makes a new table a tenant table like the others, for this migration
-- and later ones: ENABLE + FORCE row-level security, the tenant policy in the form this
-- database takes, the app role's grants, and on Citus distribution with its tenant. (Run
-- by the owner during migrations only.)
--
-- request_nonces: the nonce of every signed request a device made, kept until well after
-- the request's timestamp leaves the hub's window (after that the timestamp alone refuses
-- it), so the same signed request is served once.
--
-- chain_tips.stored_bytes: how many bytes of events the hub has stored for each device
-- since this migration, held against the per-device quota on every push.

CREATE FUNCTION hub_tenant_table(t regclass, grants text) RETURNS void
    LANGUAGE plpgsql
    AS $$
    BEGIN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT %s ON %s TO thorbis_app', grants, t);
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
            -- The policy form of migration 7: the tenant read once per statement.
            EXECUTE format('CREATE POLICY tenant_isolation ON %s '
                           'USING (tenant_id = (SELECT app_tenant())) '
                           'WITH CHECK (tenant_id = (SELECT app_tenant()))', t);
            RETURN;
        END IF;
        -- One connection per worker for the whole migration, as in migration 8; Citus
        -- refuses subqueries in the policies of distributed tables (see migration 8).
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
        EXECUTE format('CREATE POLICY tenant_isolation ON %s '
                       'USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
        PERFORM create_distributed_table(t, 'tenant_id', colocate_with => 'tenants');
    END
    $$;
REVOKE ALL ON FUNCTION hub_tenant_table(regclass, text) FROM PUBLIC;

CREATE TABLE request_nonces (
    tenant_id     uuid   NOT NULL,
    device_id     uuid   NOT NULL,
    nonce         bytea  NOT NULL CHECK (length(nonce) = 16),
    expires_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, nonce)
);
SELECT hub_tenant_table('request_nonces', 'SELECT, INSERT, DELETE');

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
