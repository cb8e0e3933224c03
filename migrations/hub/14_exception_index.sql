-- The console's exceptions report (voids, comps, price overrides, discounts and refunds,
-- with who approved them) reads those facts of a tenant by time from the events table.
-- A partial index holds them alone: the other events (most of them) cost the push only
-- the test of their kind.

DO $$
BEGIN
    EXECUTE 'CREATE INDEX events_exceptions ON events (tenant_id, hlc_wall_ms) '
            'WHERE kind IN (''order.line_voided'', ''order.line_comped'', '
            '''order.line_repriced'', ''order.discount_applied'', ''order.refund_issued'')';
END
$$;
