-- The work order workflow gained `dispatched`, `on_hold` and `invoiced`
-- (`thorbis_domain::work_order::WorkOrderStatus`): the summary row takes every status the
-- domain's view can show.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE work_orders DROP CONSTRAINT work_orders_status_check';
    EXECUTE 'ALTER TABLE work_orders ADD CONSTRAINT work_orders_status_check CHECK (status IN (''scheduled'', ''dispatched'', ''en_route'', ''on_site'', ''on_hold'', ''done'', ''invoiced'', ''cancelled''))';
END
$$;
