-- The agent's event log: every write on this terminal, and every event received from
-- other devices, as signed envelopes. This is the source of truth; everything else in the
-- store can be rebuilt from it.

-- This terminal's identity. Exactly one row.
CREATE TABLE device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id   BLOB    NOT NULL CHECK (length(device_id) = 16),
    -- Ed25519 key pair as a PKCS#8 document.
    signing_key BLOB    NOT NULL,
    public_key  BLOB    NOT NULL CHECK (length(public_key) = 32),
    created_ms  INTEGER NOT NULL
);

-- Events of every device, in the canonical envelope fields.
CREATE TABLE events (
    device_id   BLOB    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    prev_hash   BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash        BLOB    NOT NULL CHECK (length(hash) = 32),
    kind        TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    -- The device's checkpoint signature, on the last event of each signed batch.
    signature   BLOB             CHECK (signature IS NULL OR length(signature) = 64),
    stored_ms   INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

-- The head of each device's chain held here: the version vector, plus what the next
-- event must link to.
CREATE TABLE chain_tips (
    device_id   BLOB    PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        BLOB    NOT NULL,
    hlc_wall    INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL
) WITHOUT ROWID;

-- Store-wide settings and markers.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
