-- What the console's drawer report shows of a session besides its figures: the device
-- that opened it (and so its location), when it opened and closed, who opened and closed
-- it, and the Z report issued at closing as it was printed. NULL where not known: rows
-- written before this migration, or a session whose opening has not reached the hub yet.
-- The Z report is json (kept as written), not jsonb: it is shown, never queried into.

DO $$
BEGIN
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN device_id uuid';
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN opened_at_ms bigint';
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN closed_at_ms bigint';
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN opened_by uuid';
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN closed_by uuid';
    EXECUTE 'ALTER TABLE drawer_sessions ADD COLUMN z_report json';
    EXECUTE 'CREATE INDEX drawer_sessions_by_opening ON drawer_sessions '
            '(tenant_id, opened_at_ms)';
END
$$;
