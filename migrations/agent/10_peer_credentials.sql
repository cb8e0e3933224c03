-- The credentials LAN peers proved at their handshake (signed by the tenant, checked by
-- `lan`): a peer's role and location as the tenant issued them, so this terminal can
-- admit the peer's own facts before the peer's device record reaches it from the hub.
-- Revocation is never read here: only the tenant's device records say that.
CREATE TABLE peer_credentials (
    device_id     BLOB    PRIMARY KEY CHECK (length(device_id) = 16),
    role          TEXT    NOT NULL,
    location_id   BLOB    NOT NULL CHECK (length(location_id) = 16),
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
