-- Work orders for the console: one summary row per work order, refreshed from the domain's
-- `WorkOrder` aggregate (kept with the others in `aggregates`, kind 'work_order') whenever
-- the fold touches it, so listing and filtering never merge Automerge documents in SQL.
-- `technician` is the device the work order is assigned to: the hub's record of who may
-- receive it, and whose dispatch log carries it (see hub/src/dispatch.rs).
CREATE TABLE work_orders (
    tenant_id       uuid   NOT NULL REFERENCES tenants,
    work_order_id   uuid   NOT NULL,
    -- The assigned technician's location (NULL until dispatched).
    location_id     uuid,
    technician      uuid,
    title           text   NOT NULL,
    customer        text   NOT NULL,
    site_address    text   NOT NULL,
    status          text   NOT NULL
        CHECK (status IN ('scheduled', 'en_route', 'on_site', 'done', 'cancelled')),
    window_start_ms bigint NOT NULL,
    window_end_ms   bigint NOT NULL,
    currency        text   NOT NULL,
    -- Figures from the domain's view, in minor units of `currency`.
    parts_total     bigint NOT NULL DEFAULT 0,
    labour_total    bigint NOT NULL DEFAULT 0,
    total           bigint NOT NULL DEFAULT 0,
    notes           integer NOT NULL DEFAULT 0,
    checklist_done  integer NOT NULL DEFAULT 0,
    checklist_items integer NOT NULL DEFAULT 0,
    signed          boolean NOT NULL DEFAULT false,
    created_at_ms   bigint NOT NULL,
    PRIMARY KEY (tenant_id, work_order_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations,
    FOREIGN KEY (tenant_id, technician) REFERENCES devices
);
-- A technician's list, and the console's by status.
CREATE INDEX work_orders_by_technician ON work_orders (tenant_id, technician);

ALTER TABLE work_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE work_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON work_orders USING (tenant_id = app_tenant())
    WITH CHECK (tenant_id = app_tenant());
GRANT SELECT, INSERT, UPDATE ON work_orders TO thorbis_app;
