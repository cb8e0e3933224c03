-- Enrollment with a hub: who this terminal is to its tenant and where it syncs. One row once
-- the terminal is enrolled; absent on a terminal that works alone. Events received from
-- other devices need nothing new: they go in `events` and `chain_tips` like this device's.
CREATE TABLE enrollment (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    hub_url           TEXT    NOT NULL,
    tenant_id         BLOB    NOT NULL CHECK (length(tenant_id) = 16),
    location_id       BLOB    NOT NULL CHECK (length(location_id) = 16),
    role              TEXT    NOT NULL,
    -- The tenant's Ed25519 key: signs this credential and the tenant's reference-data log.
    tenant_public_key BLOB    NOT NULL CHECK (length(tenant_public_key) = 32),
    -- The device id of the tenant's reference-data log (checkpoints signed by the tenant key).
    reference_log_id  BLOB    NOT NULL CHECK (length(reference_log_id) = 16),
    -- The credential's signed bytes and the tenant key's signature over them, kept so a LAN
    -- peer can check this terminal's credential offline.
    credential        BLOB    NOT NULL,
    credential_sig    BLOB    NOT NULL CHECK (length(credential_sig) = 64),
    expires_at_ms     INTEGER NOT NULL,
    enrolled_ms       INTEGER NOT NULL
);
