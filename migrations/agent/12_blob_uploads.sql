-- Blobs (photos, drawn signatures, files) this device attached and the hub has confirmed
-- holding in full: the blob sync uploads the others. Local state, never synced; a blob
-- absent here is simply offered again (the hub answers what it holds).
CREATE TABLE blob_uploads (
    blob           TEXT    PRIMARY KEY CHECK (length(blob) = 64),
    uploaded_at_ms INTEGER NOT NULL
);
