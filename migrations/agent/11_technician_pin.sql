-- A technician's laptop receives no staff records: whoever works on it signs in with the
-- laptop's own technician PIN, set locally by the operating-system user who owns the data
-- folder (`thorbis-agent technician-pin`). Local security state like `sign_in_failures`:
-- not an event, never synced. Wrong PINs lock out through `sign_in_failures`, keyed by the
-- device's own id.
CREATE TABLE technician_pin (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    -- argon2id PHC string.
    pin_hash  TEXT    NOT NULL,
    set_at_ms INTEGER NOT NULL
);
