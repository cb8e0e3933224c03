-- Blobs: the photos, drawn signatures and files that work orders name, stored per tenant
-- in Postgres (bytea, in chunks), not on the hub's disk and not as large objects:
--
-- * tenant isolation is the same row-level security as every other tenant table, and on
--   Citus the rows live on their tenant's worker (large objects are neither: they have no
--   tenant column, no RLS, and Citus does not distribute them);
-- * a blob is in the database's backups and replicas with the facts that name it;
-- * an upload is resumable: each chunk is one row at its offset, committed alone, so a
--   cut connection loses at most the chunk in flight and nothing is rewritten.
--
-- work_order_files: every blob an admitted work order change names (refreshed with the
-- work order's summary row). The hub takes the bytes of a blob only when a file row names
-- it, with that size, so devices cannot use it as free storage; a technician downloads
-- the blobs of the work orders assigned to it.
--
-- blobs: one row per blob of a tenant, `received` bytes held so far; `complete` once the
-- chunks add up to `size` and hash to `sha256` (checked by the hub before it sets it).

CREATE TABLE work_order_files (
    tenant_id     uuid   NOT NULL,
    work_order_id uuid   NOT NULL,
    sha256        text   NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    kind          text   NOT NULL CHECK (kind IN ('photo', 'signature', 'file')),
    media_type    text   NOT NULL
        CHECK (media_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size          bigint NOT NULL CHECK (size > 0),
    name          text   NOT NULL,
    added_by      uuid,
    added_at_ms   bigint NOT NULL,
    PRIMARY KEY (tenant_id, work_order_id, sha256)
);
-- Indexes before distribution: Citus creates each shard with them.
CREATE INDEX work_order_files_by_blob ON work_order_files (tenant_id, sha256);
SELECT hub_tenant_table('work_order_files', 'SELECT, INSERT');

CREATE TABLE blobs (
    tenant_id     uuid    NOT NULL,
    sha256        text    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size          bigint  NOT NULL CHECK (size > 0),
    received      bigint  NOT NULL DEFAULT 0,
    complete      boolean NOT NULL DEFAULT false,
    -- The device sending it, and when it last sent a chunk: one device at a time; another
    -- takes an upload over once it has been quiet for ten minutes.
    uploaded_by   uuid    NOT NULL,
    created_at_ms bigint  NOT NULL,
    updated_at_ms bigint  NOT NULL,
    PRIMARY KEY (tenant_id, sha256),
    CONSTRAINT blobs_received_check CHECK (received >= 0 AND received <= size)
);
SELECT hub_tenant_table('blobs', 'SELECT, INSERT, UPDATE, DELETE');

CREATE TABLE blob_chunks (
    tenant_id uuid   NOT NULL,
    sha256    text   NOT NULL,
    at        bigint NOT NULL CHECK (at >= 0),
    data      bytea  NOT NULL,
    PRIMARY KEY (tenant_id, sha256, at)
);
SELECT hub_tenant_table('blob_chunks', 'SELECT, INSERT, DELETE');
