//! Blobs at the hub: the bytes of the photos, drawn signatures and files that work orders
//! name, kept per tenant in Postgres (`blobs`, `blob_chunks`; migration 18 says why there).
//!
//! * **Named first.** The hub takes a blob's bytes only from the device whose admitted
//!   change named it (`work_order_files`, written with the work order's summary), and
//!   only as many as the name says.
//! * **Resumable.** An upload is a run of chunks, each appended at the offset the hub holds
//!   and committed alone; a device asks [`upload_state`] and goes on from there.
//! * **Verified.** When the last chunk arrives the hub hashes the whole and marks the blob
//!   complete only if it matches; otherwise every chunk is dropped and the device starts
//!   over. Only complete blobs are served.
//! * **Scoped.** A technician reads the blobs of the work orders assigned to it; the
//!   console reads a work order's blobs through that work order. Admission holds back a
//!   change that names another device as the writer of what it adds, so a file's `by` is
//!   the device that attached it.

use deadpool_postgres::Transaction;
use thorbis_domain::attachment::MediaType;
use thorbis_domain::work_order::WorkOrderView;
use thorbis_sync_protocol::{BLOB_CHUNK_BYTES, BlobId, DeviceId};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::store::{Fault, Store, faults};

/// Most uploads one device may have started and not finished (and sent a chunk of within
/// [`STALE_MS`]).
const MAX_UNFINISHED: i64 = 16;
/// How long an unfinished upload stays its device's before another may take it over.
const STALE_MS: i64 = 10 * 60 * 1000;

/// Most bytes one download answer carries.
pub const MAX_READ_BYTES: usize = 2 * BLOB_CHUNK_BYTES;

/// Why a blob operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlobsError {
    /// No work order names this blob for the caller (or not yet: its change has not
    /// arrived), or the blob is not complete at the hub.
    #[error("no work order of yours names blob {0} (or the hub does not hold it yet)")]
    NotFound(BlobId),
    /// A chunk for another offset than the hub holds.
    #[error("the hub holds {} bytes of this blob; send the chunk at that offset", .0.received)]
    Offset(UploadState),
    /// A chunk that is empty, larger than a chunk may be, or past the blob's size.
    #[error("{0}")]
    BadChunk(String),
    /// The bytes do not hash to the blob's name; the hub dropped them.
    #[error("the bytes received do not match blob {0}; they were dropped: send it again")]
    Mismatch(BlobId),
    /// Another device is sending this blob; it is tried again later.
    #[error("another device is sending blob {0}; try again later")]
    Busy(BlobId),
    /// The tenant's blobs would pass its quota.
    #[error(
        "this business stores {stored} bytes of files; a blob of {size} would pass its quota of {quota}"
    )]
    OverQuota {
        /// Stored now.
        stored: u64,
        /// The blob's size.
        size: u64,
        /// The quota.
        quota: u64,
    },
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(BlobsError);

/// What the hub holds of a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UploadState {
    /// Bytes held.
    pub received: u64,
    /// Whether all of it is held and verified.
    pub complete: bool,
    /// Its size as named.
    pub size: u64,
}

fn uuid(device: DeviceId) -> Uuid {
    Uuid::from_bytes(*device.as_bytes())
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Records every blob the work orders in `views` name (called with their summaries).
pub(crate) async fn write_files(
    tx: &Transaction<'_>,
    tenant: Uuid,
    views: &[(Uuid, WorkOrderView)],
) -> Result<(), tokio_postgres::Error> {
    let rows: Vec<_> =
        views.iter().flat_map(|(id, v)| v.attachments.iter().map(move |a| (*id, a))).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let orders: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let ids: Vec<String> = rows.iter().map(|(_, a)| a.blob.id.to_string()).collect();
    let kinds: Vec<&str> = rows.iter().map(|(_, a)| a.kind.as_str()).collect();
    let media: Vec<&str> = rows.iter().map(|(_, a)| a.blob.media_type.as_str()).collect();
    let sizes: Vec<i64> =
        rows.iter().map(|(_, a)| i64::try_from(a.blob.bytes).unwrap_or(i64::MAX)).collect();
    let names: Vec<&str> = rows.iter().map(|(_, a)| a.name.as_str()).collect();
    let by: Vec<Option<Uuid>> = rows.iter().map(|(_, a)| a.by.map(uuid)).collect();
    let at: Vec<i64> = rows.iter().map(|(_, a)| a.at_ms).collect();
    tx.execute(
        &tx.prepare_cached(
            // The tenant id from its own row, as `crate::projection` does: on Citus an
            // insert selecting from nothing but arrays is sent as a `COPY`, which row-level
            // security refuses.
            "INSERT INTO work_order_files (tenant_id, work_order_id, sha256, kind, media_type,
                    size, name, added_by, added_at_ms)
             SELECT t.tenant_id, u.* FROM tenants t,
                    (SELECT unnest($2::uuid[]), unnest($3::text[]), unnest($4::text[]),
                            unnest($5::text[]), unnest($6::bigint[]), unnest($7::text[]),
                            unnest($8::uuid[]), unnest($9::bigint[])) AS u
              WHERE t.tenant_id = $1
             ON CONFLICT DO NOTHING",
        )
        .await?,
        &[&tenant, &orders, &ids, &kinds, &media, &sizes, &names, &by, &at],
    )
    .await?;
    Ok(())
}

/// The size and type `device` named blob `id` with, if one of its admitted changes did.
async fn named_by(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
) -> Result<Option<(u64, String)>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT size, media_type FROM work_order_files
              WHERE tenant_id = $1 AND sha256 = $2 AND added_by = $3 LIMIT 1",
            &[&tenant, &id.to_string(), &uuid(device)],
        )
        .await?;
    Ok(row.map(|r| (count(r.get(0)), r.get(1))))
}

/// A blob's row: what it holds, who is sending it and when they last did.
struct Held {
    state: UploadState,
    uploader: Uuid,
    updated_at_ms: i64,
}

impl Held {
    /// Whether `device` may go on with this upload: it is the device sending it, or the
    /// one that was has been silent for [`STALE_MS`] (a laptop gone for good).
    fn open_to(&self, device: DeviceId, now_ms: i64) -> bool {
        self.uploader == uuid(device) || now_ms - self.updated_at_ms > STALE_MS
    }
}

async fn state_of(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: BlobId,
    lock: bool,
) -> Result<Option<Held>, tokio_postgres::Error> {
    let sql = if lock {
        "SELECT received, complete, size, uploaded_by, updated_at_ms FROM blobs
          WHERE tenant_id = $1 AND sha256 = $2 FOR UPDATE"
    } else {
        "SELECT received, complete, size, uploaded_by, updated_at_ms FROM blobs
          WHERE tenant_id = $1 AND sha256 = $2"
    };
    let row = tx.query_opt(sql, &[&tenant, &id.to_string()]).await?;
    Ok(row.map(|r| Held {
        state: UploadState { received: count(r.get(0)), complete: r.get(1), size: count(r.get(2)) },
        uploader: r.get(3),
        updated_at_ms: r.get(4),
    }))
}

/// What the hub holds of blob `id`, for the device that named it.
pub async fn upload_state(
    store: &Store,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
) -> Result<UploadState, BlobsError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let (size, _) = named_by(&tx, tenant, device, id).await?.ok_or(BlobsError::NotFound(id))?;
    let held = state_of(&tx, tenant, id, false).await?;
    tx.commit().await?;
    let fresh = UploadState { received: 0, complete: false, size };
    match held {
        None => Ok(fresh),
        Some(h) if h.state.complete => Ok(h.state),
        Some(h) if !h.open_to(device, store.now_i64()) => Err(BlobsError::Busy(id)),
        // Another device's upload, gone quiet, or of another size: this device starts over.
        Some(h) if h.uploader != uuid(device) || h.state.size != size => Ok(fresh),
        Some(h) => Ok(h.state),
    }
}

/// Appends `chunk` at `offset` to blob `id`, uploaded by `device` (see the module docs).
pub async fn append(
    store: &Store,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
    offset: u64,
    chunk: &[u8],
) -> Result<UploadState, BlobsError> {
    if chunk.is_empty() || chunk.len() > BLOB_CHUNK_BYTES {
        return Err(BlobsError::BadChunk(format!(
            "a chunk is 1 to {BLOB_CHUNK_BYTES} bytes; this one is {}",
            chunk.len()
        )));
    }
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let (size, media) = named_by(&tx, tenant, device, id).await?.ok_or(BlobsError::NotFound(id))?;
    // The bytes must be what the document says they are (the type a page serves them as).
    if offset == 0 && MediaType::sniff(chunk).map(MediaType::as_str) != Some(media.as_str()) {
        return Err(BlobsError::BadChunk(format!(
            "the blob was named as {media}; these bytes are not"
        )));
    }
    let now = store.now_i64();
    let held = if let Some(held) = state_of(&tx, tenant, id, true).await? {
        held
    } else {
        start(store, &tx, tenant, device, id, size).await?;
        state_of(&tx, tenant, id, true).await?.ok_or(BlobsError::NotFound(id))?
    };
    if held.state.complete {
        tx.commit().await?;
        return Ok(held.state);
    }
    // One device sends a blob at a time; another takes over only once it has gone quiet,
    // and then, like a device that named the bytes with another size, starts over.
    if !held.open_to(device, now) {
        return Err(BlobsError::Busy(id));
    }
    let state = if held.uploader == uuid(device) && held.state.size == size {
        held.state
    } else {
        restart(&tx, tenant, device, id, size).await?
    };
    if offset != state.received {
        return Err(BlobsError::Offset(state));
    }
    let end = offset + chunk.len() as u64;
    if end > state.size {
        return Err(BlobsError::BadChunk(format!(
            "this chunk ends at byte {end}; the blob is {} bytes",
            state.size
        )));
    }
    let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, chunk);
    let offset_i = i64::try_from(offset).unwrap_or(i64::MAX);
    let end_i = i64::try_from(end).unwrap_or(i64::MAX);
    // Base64 text rather than a bytea parameter: Citus writes parameters into the text it
    // sends to the worker (see `crate::db::Wire`).
    tx.execute(
        "INSERT INTO blob_chunks (tenant_id, sha256, at, data)
         VALUES ($1, $2, $3, decode($4, 'base64'))",
        &[&tenant, &id.to_string(), &offset_i, &text],
    )
    .await?;
    let complete = end == state.size && verify(&tx, tenant, id).await?;
    if end == state.size && !complete {
        // Dropped in this transaction, row and all: the next upload starts afresh.
        tx.execute(
            "DELETE FROM blob_chunks WHERE tenant_id = $1 AND sha256 = $2",
            &[&tenant, &id.to_string()],
        )
        .await?;
        tx.execute(
            "DELETE FROM blobs WHERE tenant_id = $1 AND sha256 = $2",
            &[&tenant, &id.to_string()],
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(%tenant, %device, %id, "an uploaded blob did not match its hash");
        return Err(BlobsError::Mismatch(id));
    }
    tx.execute(
        "UPDATE blobs SET received = $3, complete = $4, updated_at_ms = $5
          WHERE tenant_id = $1 AND sha256 = $2",
        &[&tenant, &id.to_string(), &end_i, &complete, &now],
    )
    .await?;
    tx.commit().await?;
    Ok(UploadState { received: end, complete, size: state.size })
}

/// Starts blob `id` over at `size` for `device`: its chunks dropped.
async fn restart(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
    size: u64,
) -> Result<UploadState, tokio_postgres::Error> {
    tx.execute(
        "DELETE FROM blob_chunks WHERE tenant_id = $1 AND sha256 = $2",
        &[&tenant, &id.to_string()],
    )
    .await?;
    tx.execute(
        "UPDATE blobs SET size = $3, received = 0, uploaded_by = $4
          WHERE tenant_id = $1 AND sha256 = $2",
        &[&tenant, &id.to_string(), &i64::try_from(size).unwrap_or(i64::MAX), &uuid(device)],
    )
    .await?;
    // (`updated_at_ms` is set by the chunk that follows, in this transaction.)
    Ok(UploadState { received: 0, complete: false, size })
}

/// Starts blob `id`'s row, within the tenant's quota and the device's share of unfinished
/// uploads.
async fn start(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
    size: u64,
) -> Result<(), BlobsError> {
    let stored: i64 = tx
        .query_one(
            "SELECT COALESCE(SUM(size), 0)::bigint FROM blobs WHERE tenant_id = $1",
            &[&tenant],
        )
        .await?
        .get(0);
    let stored = count(stored);
    // Uploads gone quiet do not count: another device may take them over.
    let unfinished: i64 = tx
        .query_one(
            "SELECT count(*) FROM blobs
              WHERE tenant_id = $1 AND uploaded_by = $2 AND NOT complete
                AND updated_at_ms >= $3",
            &[&tenant, &uuid(device), &(store.now_i64() - STALE_MS)],
        )
        .await?
        .get(0);
    if unfinished >= MAX_UNFINISHED {
        return Err(BlobsError::BadChunk(format!(
            "this device has {unfinished} uploads unfinished: finish one before starting another"
        )));
    }
    let quota = store.limits.tenant_blob_quota_bytes;
    if stored.saturating_add(size) > quota {
        return Err(BlobsError::OverQuota { stored, size, quota });
    }
    tx.execute(
        "INSERT INTO blobs (tenant_id, sha256, size, uploaded_by, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        &[
            &tenant,
            &id.to_string(),
            &i64::try_from(size).unwrap_or(i64::MAX),
            &uuid(device),
            &store.now_i64(),
        ],
    )
    .await?;
    Ok(())
}

/// Whether the chunks of blob `id` hash to its name.
async fn verify(tx: &Transaction<'_>, tenant: Uuid, id: BlobId) -> Result<bool, Fault> {
    let rows = tx
        .query(
            "SELECT data FROM blob_chunks WHERE tenant_id = $1 AND sha256 = $2 ORDER BY at",
            &[&tenant, &id.to_string()],
        )
        .await?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for row in &rows {
        digest.update(row.get::<_, &[u8]>(0));
    }
    Ok(digest.finish().as_ref() == id.0.0)
}

/// Up to [`MAX_READ_BYTES`] of complete blob `id` from `offset`, and its size, if
/// `device` may read it: a work order assigned to it names the blob. (The device that
/// attached a blob has it already.)
pub async fn read_for_device(
    store: &Store,
    tenant: Uuid,
    device: DeviceId,
    id: BlobId,
    offset: u64,
) -> Result<(Vec<u8>, u64), BlobsError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let allowed = tx
        .query_opt(
            // A job of the device names it, and someone else attached it there (or this
            // device sent the bytes): naming a hash seen elsewhere does not open it.
            "SELECT 1 FROM work_order_files f
               JOIN work_orders w ON w.tenant_id = f.tenant_id
                                 AND w.work_order_id = f.work_order_id
               JOIN blobs b ON b.tenant_id = f.tenant_id AND b.sha256 = f.sha256
              WHERE f.tenant_id = $1 AND f.sha256 = $2 AND w.technician = $3
                AND (f.added_by IS DISTINCT FROM $3 OR b.uploaded_by = $3)
              LIMIT 1",
            &[&tenant, &id.to_string(), &uuid(device)],
        )
        .await?
        .is_some();
    if !allowed {
        return Err(BlobsError::NotFound(id));
    }
    let read = read_range(&tx, tenant, id, offset, MAX_READ_BYTES).await?;
    tx.commit().await?;
    read.ok_or(BlobsError::NotFound(id))
}

/// The whole of complete blob `id`, if work order `work_order` names it (the console).
pub async fn read_for_work_order(
    store: &Store,
    tenant: Uuid,
    work_order: Uuid,
    id: BlobId,
) -> Result<Option<Vec<u8>>, BlobsError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let named = tx
        .query_opt(
            "SELECT 1 FROM work_order_files
              WHERE tenant_id = $1 AND work_order_id = $2 AND sha256 = $3",
            &[&tenant, &work_order, &id.to_string()],
        )
        .await?
        .is_some();
    let read = if named {
        read_range(&tx, tenant, id, 0, usize::MAX).await?.map(|(bytes, _)| bytes)
    } else {
        None
    };
    tx.commit().await?;
    Ok(read)
}

/// Up to `max` bytes of complete blob `id` from `offset`, and its size.
async fn read_range(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: BlobId,
    offset: u64,
    max: usize,
) -> Result<Option<(Vec<u8>, u64)>, tokio_postgres::Error> {
    let Some(Held { state, .. }) = state_of(tx, tenant, id, false).await? else {
        return Ok(None);
    };
    if !state.complete {
        return Ok(None);
    }
    let offset_i = i64::try_from(offset).unwrap_or(i64::MAX);
    let until = i64::try_from(offset.saturating_add(max as u64)).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "SELECT at, data FROM blob_chunks
              WHERE tenant_id = $1 AND sha256 = $2 AND at + length(data) > $3 AND at < $4
              ORDER BY at",
            &[&tenant, &id.to_string(), &offset_i, &until],
        )
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let at = count(row.get(0));
        let data: &[u8] = row.get(1);
        let skip = usize::try_from(offset.saturating_sub(at)).unwrap_or(usize::MAX).min(data.len());
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&data[skip..data.len().min(skip.saturating_add(room))]);
        if out.len() >= max {
            break;
        }
    }
    Ok(Some((out, state.size)))
}

/// One blob a work order names, as the console lists it.
#[derive(Clone, Debug)]
pub struct WorkOrderFile {
    /// The blob.
    pub id: BlobId,
    /// `photo`, `signature` or `file`.
    pub kind: String,
    /// Its MIME type.
    pub media_type: String,
    /// Its size as named.
    pub size: u64,
    /// Its file name.
    pub name: String,
    /// When it was attached.
    pub added_at_ms: i64,
    /// Whether the hub holds all of it.
    pub held: bool,
}

/// The blobs work order `work_order` names, oldest first.
pub async fn files_of(
    store: &Store,
    tenant: Uuid,
    work_order: Uuid,
) -> Result<Vec<WorkOrderFile>, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT f.sha256, f.kind, f.media_type, f.size, f.name, f.added_at_ms,
                    COALESCE(b.complete, false)
               FROM work_order_files f
               LEFT JOIN blobs b ON b.tenant_id = f.tenant_id AND b.sha256 = f.sha256
              WHERE f.tenant_id = $1 AND f.work_order_id = $2
              ORDER BY f.added_at_ms, f.sha256",
            &[&tenant, &work_order],
        )
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            let id: String = r.get(0);
            Ok(WorkOrderFile {
                id: id.parse().map_err(|e| Fault::Corrupt(format!("blob id {id}: {e}")))?,
                kind: r.get(1),
                media_type: r.get(2),
                size: count(r.get(3)),
                name: r.get(4),
                added_at_ms: r.get(5),
                held: r.get(6),
            })
        })
        .collect()
}
