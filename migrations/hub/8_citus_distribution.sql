-- The same schema on one Postgres and on Citus (distributed Postgres). When the database
-- has the `citus` extension (created by its administrator before the hub's first start),
-- every tenant table is distributed by tenant_id, all co-located with `tenants`, so a
-- tenant's rows, joins and transactions live on one worker; the global table below is a
-- reference table, copied to every node. Without the extension the tables stay as they
-- are and this migration only adds the device directory.
--
-- Row-level security is unchanged: Citus creates each shard with the table's ENABLE +
-- FORCE ROW LEVEL SECURITY and policies, and the coordinator runs a tenant's statements on
-- the worker as the same (app) role, so the shard's policy filters there. The tenant
-- setting reaches the worker because the hub sets it with `SET LOCAL` and its connections
-- ask for `citus.propagate_set_commands = 'local'` (see hub/src/db.rs).

-- Which tenant a device belongs to, by device id alone: device authentication's first
-- step. `devices` is found by (tenant_id, device_id); on Citus a lookup by device id alone
-- would ask every shard on every request. A reference table answers on the coordinator,
-- and the devices row is then read from its tenant's shard. Written with the device, in
-- the enrollment's transaction.
-- No foreign key to tenants: Citus keeps reference tables free of references to
-- distributed ones.
CREATE TABLE device_directory (
    tenant_id uuid NOT NULL,
    device_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, device_id),
    UNIQUE (device_id)
);
INSERT INTO device_directory (tenant_id, device_id) SELECT tenant_id, device_id FROM devices;
ALTER TABLE device_directory ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_directory FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device_directory
    USING (tenant_id = (SELECT app_tenant())) WITH CHECK (tenant_id = (SELECT app_tenant()));
GRANT SELECT, INSERT ON device_directory TO thorbis_app;
DO $$
BEGIN
    -- Read by hub_device_auth (SECURITY DEFINER) before any tenant is known, like devices.
    EXECUTE format('CREATE POLICY owner_lookup ON device_directory FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

-- Two steps rather than one join: on Citus the second statement names its tenant, so it
-- goes to that tenant's shard alone (a join would be planned against every shard).
CREATE OR REPLACE FUNCTION hub_device_auth(p_device_id uuid)
    RETURNS TABLE (tenant_id uuid, location_id uuid, role text, public_key bytea,
                   credential_expires_at_ms bigint, revoked boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    DECLARE
        v_tenant uuid;
    BEGIN
        SELECT dd.tenant_id INTO v_tenant
          FROM public.device_directory dd WHERE dd.device_id = p_device_id;
        IF v_tenant IS NULL THEN
            RETURN;
        END IF;
        RETURN QUERY
            SELECT d.tenant_id, d.location_id, d.role, d.public_key,
                   d.credential_expires_at_ms, d.revoked_at_ms IS NOT NULL
              FROM public.devices d
             WHERE d.tenant_id = v_tenant AND d.device_id = p_device_id;
    END
    $$;

-- Citus cannot plan a statement of a LANGUAGE sql function that uses the function's
-- parameters; PL/pgSQL passes them as ordinary query parameters. Same answer as before.
-- (A code names its tenant only through its hash: on Citus this one asks every shard.
-- Enrollment is rare; device authentication, on every request, goes through the
-- directory above.)
CREATE OR REPLACE FUNCTION hub_enrollment_lookup(p_code_hash bytea)
    RETURNS TABLE (tenant_id uuid, location_id uuid, role text, expires_at_ms bigint,
                   used boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    BEGIN
        RETURN QUERY
            SELECT c.tenant_id, c.location_id, c.role, c.expires_at_ms,
                   c.used_at_ms IS NOT NULL
              FROM public.enrollment_codes c
             WHERE c.code_hash = p_code_hash;
    END
    $$;

DO $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- Citus copies a shard it moves (rebalancing, isolating a tenant) as the table's
    -- owner, which FORCE row-level security would otherwise show no rows: the copy would
    -- be empty. Refuse to distribute rather than lose data later.
    IF NOT (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'on Citus the owner role % needs BYPASSRLS (see hub/CITUS.md)',
            current_user;
    END IF;
    -- One connection per worker for the whole migration: the tables reference each other,
    -- and Citus refuses parallel shard creation after a foreign key in one transaction.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- The app's tenant setting, read by every policy: the shards' policies run it on the
    -- workers. (Citus distributes functions created after the extension by itself; this
    -- covers a database that got the extension after migration 1.)
    PERFORM create_distributed_function('app_tenant()');
    -- Citus refuses subqueries in the policies of distributed tables, so the policies go
    -- back to the form before migration 7: `app_tenant()` evaluated per row on the worker
    -- rather than once per statement. Same rule: no tenant set, no row.
    FOR t IN SELECT tablename FROM pg_policies
              WHERE schemaname = 'public' AND policyname = 'tenant_isolation' LOOP
        EXECUTE format(
            'ALTER POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) '
            'WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
    PERFORM create_distributed_table('tenants', 'tenant_id');
    -- Referenced tables before the tables referencing them.
    FOREACH t IN ARRAY ARRAY[
        'locations', 'devices', 'enrollment_codes', 'staff', 'console_users',
        'console_sessions', 'events', 'chain_tips', 'alerts', 'aggregates',
        'aggregate_links', 'orders', 'order_lines', 'payments', 'drawer_sessions',
        'stock_levels', 'work_orders'
    ] LOOP
        PERFORM create_distributed_table(t, 'tenant_id', colocate_with => 'tenants');
    END LOOP;
    PERFORM create_reference_table('device_directory');
    -- Any tenant table left local would be a mistake of a later migration: say so now.
    PERFORM 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                      AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid);
    IF FOUND THEN
        RAISE EXCEPTION 'a tenant table is neither distributed nor a reference table';
    END IF;
END
$$;
