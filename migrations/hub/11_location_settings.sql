-- What the console's first pages need. Locations: what the console sets per location and its reports need: where it is, its time zone (a
-- report day is a local day of the location), its currency (code and decimals, as the
-- domain's `Currency`; NULL until a manager sets it, never assumed), its default tax rate
-- in basis points.
--
-- devices.last_seen_at_ms: when the device last made a signed request (a pull or a push),
-- written at most every so often, for the console's online/offline.
--
-- alerts.acknowledged_at_ms/_by: an alert a manager has seen and acknowledged.
--
-- orders_closed_by_location, orders_open_by_location: the console's home page and reports
-- read closed orders by location and closing time, and count the open ones.

DO $$
BEGIN
    EXECUTE 'ALTER TABLE locations ADD COLUMN address text NOT NULL DEFAULT ''''';
    EXECUTE 'ALTER TABLE locations ADD CONSTRAINT locations_address_check '
            'CHECK (length(address) <= 500)';
    EXECUTE 'ALTER TABLE locations ADD COLUMN time_zone text NOT NULL DEFAULT ''UTC''';
    EXECUTE 'ALTER TABLE locations ADD CONSTRAINT locations_time_zone_check '
            'CHECK (length(time_zone) BETWEEN 1 AND 64)';
    EXECUTE 'ALTER TABLE locations ADD COLUMN currency_code text';
    EXECUTE 'ALTER TABLE locations ADD CONSTRAINT locations_currency_code_check '
            'CHECK (currency_code ~ ''^[A-Z]{3}$'')';
    EXECUTE 'ALTER TABLE locations ADD COLUMN currency_exponent smallint';
    EXECUTE 'ALTER TABLE locations ADD CONSTRAINT locations_currency_exponent_check '
            'CHECK (currency_exponent BETWEEN 0 AND 4 '
            'AND (currency_exponent IS NULL) = (currency_code IS NULL))';
    EXECUTE 'ALTER TABLE locations ADD COLUMN default_tax_bps integer NOT NULL DEFAULT 0';
    EXECUTE 'ALTER TABLE locations ADD CONSTRAINT locations_default_tax_bps_check '
            'CHECK (default_tax_bps BETWEEN 0 AND 10000)';
    EXECUTE 'ALTER TABLE devices ADD COLUMN last_seen_at_ms bigint NOT NULL DEFAULT 0';
    EXECUTE 'ALTER TABLE alerts ADD COLUMN acknowledged_at_ms bigint';
    EXECUTE 'ALTER TABLE alerts ADD COLUMN acknowledged_by uuid';
    EXECUTE 'CREATE INDEX orders_closed_by_location ON orders '
            '(tenant_id, location_id, closed_at_ms) WHERE status = ''closed''';
    EXECUTE 'CREATE INDEX orders_open_by_location ON orders '
            '(tenant_id, location_id) WHERE status = ''open''';
END
$$;
