-- Quarantined facts that may still heal: refused only because what they refer to (an
-- order, a drawer, a ticket, an approver, their author's record) had not reached the hub
-- yet. The hub admits them again after each push that stores something new, and forgets
-- them here once they fold or are refused for good. A tenant table like the others: RLS,
-- primary key led by tenant_id, distributed with its tenant on Citus.

CREATE TABLE quarantine_waiting (
    tenant_id uuid   NOT NULL,
    device_id uuid   NOT NULL,
    seq       bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, seq)
);
ALTER TABLE quarantine_waiting ENABLE ROW LEVEL SECURITY;
ALTER TABLE quarantine_waiting FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON quarantine_waiting TO thorbis_app;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        -- The policy form of migration 7: the tenant read once per statement.
        CREATE POLICY tenant_isolation ON quarantine_waiting
            USING (tenant_id = (SELECT app_tenant()))
            WITH CHECK (tenant_id = (SELECT app_tenant()));
        RETURN;
    END IF;
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- Citus refuses subqueries in the policies of distributed tables (see migration 8).
    CREATE POLICY tenant_isolation ON quarantine_waiting
        USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
    PERFORM create_distributed_table('quarantine_waiting', 'tenant_id',
                                     colocate_with => 'tenants');
END
$$;
