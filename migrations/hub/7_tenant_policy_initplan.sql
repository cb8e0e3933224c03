-- The tenant policies compared each row with `app_tenant()`, a STABLE function, so Postgres
-- evaluated it once per row: a setting lookup and a text-to-uuid parse for every row read,
-- and for every row written through WITH CHECK (each event, order, line and payment a push
-- stores). As a scalar subquery, `(SELECT app_tenant())`, it is an InitPlan, evaluated once
-- per statement: same value, same rule (no tenant set: NULL, no row matches or may be
-- written). Every policy named tenant_isolation gets the new form; nothing else changes.
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_policies
              WHERE schemaname = 'public' AND policyname = 'tenant_isolation' LOOP
        EXECUTE format(
            'ALTER POLICY tenant_isolation ON %I USING (tenant_id = (SELECT app_tenant())) '
            'WITH CHECK (tenant_id = (SELECT app_tenant()))', t);
    END LOOP;
END
$$;
