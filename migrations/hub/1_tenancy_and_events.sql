-- The hub's first schema: tenants and their devices, the verified event store, alerts and
-- the relational projections reports read.
--
-- Tenant isolation is enforced by Postgres, not by the service's WHERE clauses: every
-- tenant table leads its primary key with tenant_id, has ENABLE + FORCE ROW LEVEL SECURITY
-- (FORCE so even the owning role is filtered), and one policy that compares tenant_id with
-- the transaction's `app.tenant_id` setting. The service connects as `thorbis_app`, which
-- owns nothing and has no BYPASSRLS, and sets the tenant per transaction with
-- set_config('app.tenant_id', ..., true) (SET LOCAL semantics).
--
-- Times are Unix milliseconds (BIGINT) from the hub's injected clock, not now(), so tests
-- are deterministic and the values compare directly with HLC stamps.

-- The transaction's tenant, or NULL when none is set. NULLIF because a custom setting that
-- was set locally in an earlier transaction reads back as '' afterwards, and ''::uuid would
-- raise instead of failing closed. NULL matches no row: no tenant, no data.
CREATE FUNCTION app_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    tenant_id          uuid   NOT NULL,
    name               text   NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The tenant's Ed25519 key: it signs device credentials.
    public_key         bytea  NOT NULL CHECK (length(public_key) = 32),
    -- The PKCS#8 document, sealed with AES-256-GCM under a key-encryption key held outside
    -- the database (nonce || ciphertext || tag, tenant id as associated data) when the hub
    -- is configured with one, and then signing_key_encrypted is true; in plain otherwise
    -- (development), still behind RLS.
    signing_key        bytea  NOT NULL,
    signing_key_encrypted boolean NOT NULL DEFAULT false,
    created_at_ms      bigint NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE locations (
    tenant_id     uuid   NOT NULL REFERENCES tenants,
    location_id   uuid   NOT NULL,
    name          text   NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, location_id)
);

CREATE TABLE devices (
    tenant_id               uuid   NOT NULL,
    device_id               uuid   NOT NULL,
    location_id             uuid   NOT NULL,
    role                    text   NOT NULL CHECK (role IN ('pos', 'kds', 'register', 'technician')),
    public_key              bytea  NOT NULL CHECK (length(public_key) = 32),
    credential_expires_at_ms bigint NOT NULL,
    enrolled_at_ms          bigint NOT NULL,
    revoked_at_ms           bigint,
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations
);
-- Device authentication finds a device by id alone (see hub_device_auth).
CREATE INDEX devices_by_id ON devices (device_id);

CREATE TABLE enrollment_codes (
    tenant_id     uuid   NOT NULL,
    -- SHA-256 of the code: the code itself is shown once and never stored.
    code_hash     bytea  NOT NULL CHECK (length(code_hash) = 32),
    location_id   uuid   NOT NULL,
    role          text   NOT NULL CHECK (role IN ('pos', 'kds', 'register', 'technician')),
    created_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL,
    used_at_ms    bigint,
    device_id     uuid,
    PRIMARY KEY (tenant_id, code_hash),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations
);
CREATE INDEX enrollment_codes_by_hash ON enrollment_codes (code_hash);

CREATE TABLE staff (
    tenant_id   uuid NOT NULL REFERENCES tenants,
    staff_id    uuid NOT NULL,
    name        text NOT NULL,
    -- Salted PIN hash (argon2), published to terminals as reference data in a later phase.
    pin_hash    text,
    active      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, staff_id)
);

CREATE TABLE console_users (
    tenant_id     uuid NOT NULL REFERENCES tenants,
    user_id       uuid NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'manager', 'viewer')),
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email)
);

-- Verified events only: the hub inserts a row after checking its device, chain and
-- checkpoint. Same envelope fields as the agent's log.
CREATE TABLE events (
    tenant_id      uuid   NOT NULL,
    device_id      uuid   NOT NULL,
    seq            bigint NOT NULL CHECK (seq >= 1),
    hlc_wall_ms    bigint NOT NULL,
    hlc_counter    bigint NOT NULL,
    prev_hash      bytea  NOT NULL CHECK (length(prev_hash) = 32),
    hash           bytea  NOT NULL CHECK (length(hash) = 32),
    kind           text   NOT NULL,
    payload        bytea  NOT NULL,
    -- The device's checkpoint signature, on the last event of each verified push.
    signature      bytea  CHECK (signature IS NULL OR length(signature) = 64),
    received_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, seq)
);

-- Each device's verified tip: the hub's version vector.
CREATE TABLE chain_tips (
    tenant_id     uuid   NOT NULL,
    device_id     uuid   NOT NULL,
    seq           bigint NOT NULL,
    hash          bytea  NOT NULL CHECK (length(hash) = 32),
    updated_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);

-- Things a manager must look at: forks (two signed events at one (device, seq)).
CREATE TABLE alerts (
    tenant_id     uuid   NOT NULL,
    alert_id      uuid   NOT NULL,
    kind          text   NOT NULL,
    device_id     uuid,
    seq           bigint,
    detail        jsonb  NOT NULL,
    created_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, alert_id)
);

-- The domain's aggregates as JSON, exactly as thorbis-domain folds them (the agent keeps
-- the same documents): the relational tables below are summaries recomputed from these.
CREATE TABLE aggregates (
    tenant_id uuid  NOT NULL,
    kind      text  NOT NULL,
    id        uuid  NOT NULL,
    state     jsonb NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

CREATE TABLE aggregate_links (
    tenant_id uuid NOT NULL,
    relation  text NOT NULL,
    from_id   uuid NOT NULL,
    to_id     uuid NOT NULL,
    PRIMARY KEY (tenant_id, relation, from_id, to_id)
);

-- Report projections. Amounts are minor units, quantities thousandths, as in the domain.
CREATE TABLE orders (
    tenant_id    uuid   NOT NULL,
    order_id     uuid   NOT NULL,
    location_id  uuid,
    status       text   NOT NULL,
    currency     text,
    subtotal     bigint NOT NULL,
    discounts    bigint NOT NULL,
    comps        bigint NOT NULL,
    voids        bigint NOT NULL,
    net          bigint NOT NULL,
    tax          bigint NOT NULL,
    total        bigint NOT NULL,
    paid         bigint NOT NULL,
    tips         bigint NOT NULL,
    refunded     bigint NOT NULL,
    balance      bigint NOT NULL,
    opened_at_ms bigint,
    closed_at_ms bigint,
    PRIMARY KEY (tenant_id, order_id)
);

CREATE TABLE order_lines (
    tenant_id      uuid    NOT NULL,
    order_id       uuid    NOT NULL,
    line_id        uuid    NOT NULL,
    position       integer NOT NULL,
    item_id        uuid    NOT NULL,
    name           text    NOT NULL,
    qty_milli      bigint  NOT NULL,
    gross          bigint  NOT NULL,
    line_discount  bigint  NOT NULL,
    order_discount bigint  NOT NULL,
    comp           bigint  NOT NULL,
    net            bigint  NOT NULL,
    voided         boolean NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_id)
);

CREATE TABLE payments (
    tenant_id         uuid   NOT NULL,
    payment_id        uuid   NOT NULL,
    order_id          uuid   NOT NULL,
    tender            text   NOT NULL,
    amount            bigint NOT NULL,
    tip               bigint NOT NULL,
    drawer_session_id uuid,
    taken_at_ms       bigint NOT NULL,
    PRIMARY KEY (tenant_id, payment_id)
);

CREATE TABLE drawer_sessions (
    tenant_id     uuid    NOT NULL,
    session_id    uuid    NOT NULL,
    currency      text,
    open          boolean NOT NULL,
    float_amount  bigint  NOT NULL,
    expected_cash bigint  NOT NULL,
    counted       bigint,
    paid_in       bigint  NOT NULL,
    paid_out      bigint  NOT NULL,
    no_sales      integer NOT NULL,
    PRIMARY KEY (tenant_id, session_id)
);

CREATE TABLE stock_levels (
    tenant_id uuid   NOT NULL,
    item_id   uuid   NOT NULL,
    on_hand_milli bigint NOT NULL,
    movements bigint NOT NULL,
    PRIMARY KEY (tenant_id, item_id)
);

-- Sales per location and UTC day. security_invoker: the view reads with the caller's
-- rights, so the tables' RLS applies to it (a plain view would run as its owner).
CREATE VIEW daily_sales WITH (security_invoker = true) AS
    SELECT tenant_id, location_id,
           (to_timestamp(closed_at_ms / 1000.0) AT TIME ZONE 'UTC')::date AS day,
           count(*) AS orders, sum(total) AS total, sum(tax) AS tax, sum(tips) AS tips
      FROM orders
     WHERE status = 'closed'
     GROUP BY tenant_id, location_id, day;

-- Row-level security and grants for every tenant table, in one place so none is missed
-- (the RLS audit test checks the catalog too).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'tenants', 'locations', 'devices', 'enrollment_codes', 'staff', 'console_users',
        'events', 'chain_tips', 'alerts', 'aggregates', 'aggregate_links', 'orders',
        'order_lines', 'payments', 'drawer_sessions', 'stock_levels'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) '
            'WITH CHECK (tenant_id = app_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO thorbis_app', t);
    END LOOP;
    -- The two lookups below run as the owner (SECURITY DEFINER) before any tenant is known.
    -- FORCE applies RLS to the owner too, so the owner gets a read-only policy of its own on
    -- exactly these two tables. The app role is not the owner and never sees them unfiltered.
    EXECUTE format('CREATE POLICY owner_lookup ON devices FOR SELECT TO %I USING (true)',
                   current_user);
    EXECUTE format('CREATE POLICY owner_lookup ON enrollment_codes FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;
GRANT SELECT ON daily_sales TO thorbis_app;

-- Device authentication: which tenant a device belongs to, its key and whether it may still
-- sign in. Safe to expose because it answers one device id at a time with nothing the
-- device could not learn from its own credential (tenant, location, role, its own public
-- key, expiry, revocation): no private key, no other device, no business data. It does not
-- authenticate anything by itself: the caller must still verify a signature by that key.
CREATE FUNCTION hub_device_auth(p_device_id uuid)
    RETURNS TABLE (tenant_id uuid, location_id uuid, role text, public_key bytea,
                   credential_expires_at_ms bigint, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
        SELECT d.tenant_id, d.location_id, d.role, d.public_key, d.credential_expires_at_ms,
               d.revoked_at_ms IS NOT NULL
          FROM public.devices d
         WHERE d.device_id = p_device_id
    $$;

-- Enrollment: which tenant issued a code, found by the code's SHA-256. Only someone holding
-- the code (256 bits of randomness) can name its hash, and the answer is limited to that one
-- code's row. Claiming the code happens afterwards under that tenant's RLS.
CREATE FUNCTION hub_enrollment_lookup(p_code_hash bytea)
    RETURNS TABLE (tenant_id uuid, location_id uuid, role text, expires_at_ms bigint,
                   used boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
        SELECT c.tenant_id, c.location_id, c.role, c.expires_at_ms, c.used_at_ms IS NOT NULL
          FROM public.enrollment_codes c
         WHERE c.code_hash = p_code_hash
    $$;

REVOKE ALL ON FUNCTION hub_device_auth(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION hub_enrollment_lookup(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hub_device_auth(uuid) TO thorbis_app;
GRANT EXECUTE ON FUNCTION hub_enrollment_lookup(bytea) TO thorbis_app;
