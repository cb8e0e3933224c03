//! The tenants' event logs in Postgres: verified ingest of a pushed batch ([`push`]), the
//! pages a pull answers with ([`page`]), and appends to the hub-signed logs ([`append`]).
//!
//! # Push
//!
//! Every event is verified before anything is stored, by the check every receiver runs
//! ([`thorbis_sync_protocol::receive::Runs::check`]) with the hub's rule,
//! [`Strictness::Refuse`]: its device is the caller or an enrolled device of the caller's
//! tenant (relay), each device's run ends at a checkpoint in the batch signed by that
//! device's key and starts at or before the hub's tip, and no HLC stamp is further ahead of
//! the hub's clock than allowed.
//!
//! A verified event is then admitted before it is folded
//! ([`thorbis_domain::admit::admit_by`]): its kind and payload decode, its author (the
//! device's role, from its record; the hub for the tenant's own logs) may write it, a
//! revoked device wrote it before its revocation, its stamp is not behind its author's
//! previous one (nor, pushed by its author, far behind the hub's clock), and what it says
//! is in bounds. One that fails is stored all the same (its author's chain stays whole and
//! relayable; every terminal runs the full check again), not folded, answered in the push's
//! `quarantined` list and raised as a `quarantine` alert with its device and reason: it
//! never refuses the honest events around it. One refused only because what it refers to
//! has not arrived (a check another till has not pushed yet) waits in
//! `quarantine_waiting` for it: the push that folds it admits the fact again, with the
//! time the hub first stored it. Events already held with the same hash are
//! skipped, so replays change nothing. A signed event that differs from the one held at
//! its `(device, seq)` is a fork: refused and recorded in `alerts` in its own
//! transaction, never merged. New events (with the signature of every checkpoint on
//! them), chain tips and projections are written in one transaction under the caller's
//! tenant.
//!
//! # Pull
//!
//! What the caller lacks of the devices at its location, of its tenant's reference log
//! ([`hub_log`]) and of its location's staff log ([`staff_log`], see [`crate::staff`]); a
//! technician device gets instead the reference log, its own events and
//! its dispatch log (see [`crate::dispatch`]), and no other device gets a dispatch log. In
//! pages of at most `limit` events, each device's run ending at a signed checkpoint so the
//! caller can verify it, with the hub's tips in the caller's scope, so a device that
//! restarted knows where to resume pushing its own events.

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Transaction;
use serde_json::json;
use thorbis_domain::admit::{FactMeta, Quarantine, admit_by};
use thorbis_domain::authority::Author;
use thorbis_domain::ids::LocationId;
use thorbis_domain::{DomainEvent, EventMeta};
use thorbis_sync_protocol::receive::{Fork, Rules, Runs, Strictness, SyncError};
use thorbis_sync_protocol::{
    Batch, ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventId, EventKind, Hash32, Hlc,
    HlcClock, PublicKey, Signature, VersionVector, retired_staff_log, staff_log,
};
use uuid::Uuid;

use crate::db::{Wire, tenant_tx};
use crate::dispatch::dispatch_log;
use crate::identity::Role;
use crate::projection::{self, ToFold};
use crate::store::{Fault, Store, faults};
use crate::tenants::{Caller, RequestNonce, spend_nonce};

/// Why a push, a pull or an append was refused.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The batch failed the receiver's check (see [`SyncError`]).
    #[error(transparent)]
    Refused(SyncError),
    /// The batch differs from what the hub holds: refused, and an alert raised.
    #[error("{0}; the push was refused and an alert raised")]
    Fork(Fork),
    /// The batch carries events of a device the caller's tenant does not have.
    #[error("the batch carries events of device {0}, which is not a device of your tenant")]
    NotInTenant(DeviceId),
    /// A number the hub cannot store.
    #[error("{what} {value} is out of range")]
    OutOfRange {
        /// What it is.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// Another push for the same device was stored at the same time.
    #[error("another push for device {0} was stored at the same time; retry")]
    Concurrent(DeviceId),
    /// No such tenant (an append to a log of a tenant that does not exist).
    #[error("no tenant {0}")]
    NoTenant(Uuid),
    /// The request's nonce was spent already: a replay, refused before anything is stored.
    #[error("this request was received before")]
    Replayed,
    /// The pushing device's own events would take it past its storage quota.
    #[error(
        "device {device} has {stored} bytes of events stored and this push would take it past \
         its quota of {quota} bytes; nothing was stored and an alert was raised"
    )]
    OverQuota {
        /// The device.
        device: DeviceId,
        /// Bytes it has stored.
        stored: u64,
        /// Its quota.
        quota: u64,
    },
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(LogError);

impl From<SyncError> for LogError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Fork(fork) => Self::Fork(fork),
            e => Self::Refused(e),
        }
    }
}

/// What a push stored.
#[derive(Debug, Default)]
pub struct Pushed {
    /// New events.
    pub accepted: u64,
    /// Events the hub held already.
    pub duplicates: u64,
    /// Per device of the batch, the hub's tip after the push.
    pub tips: BTreeMap<String, u64>,
    /// New events stored but not folded, and why (see [`crate::log`]'s push).
    pub quarantined: Vec<(EventId, Quarantine)>,
    /// Relayed devices whose events were not stored because they would take the device
    /// past its storage quota.
    pub over_quota: Vec<DeviceId>,
    /// Facts quarantined by earlier pushes for want of what this push folded: folded now.
    pub released: Vec<EventId>,
}

/// One page of a pull.
#[derive(Debug, Default)]
pub struct Page {
    /// The events, each device's run ending at a checkpoint.
    pub batch: Batch,
    /// Whether the caller lacks more than this page.
    pub more: bool,
    /// What the hub holds of every log in the caller's scope.
    pub tips: VersionVector,
}

/// The device id of a tenant's reference-data log: the tenant id itself.
#[must_use]
pub fn hub_log(tenant: Uuid) -> DeviceId {
    DeviceId::from_bytes(*tenant.as_bytes())
}

/// A device id as the database stores it.
#[must_use]
pub fn uuid(device: DeviceId) -> Uuid {
    Uuid::from_bytes(device.0)
}

fn to_i64(what: &'static str, value: u64) -> Result<i64, LogError> {
    i64::try_from(value).map_err(|_| LogError::OutOfRange { what, value })
}

/// Verifies and stores a batch pushed by `caller` (see the module docs), then wakes live
/// pulls. A fork is recorded as an alert before it is returned.
pub async fn push(
    store: &Store,
    caller: &Caller,
    batch: &Batch,
    nonce: &RequestNonce,
) -> Result<Pushed, LogError> {
    let result = ingest(store, caller, batch, nonce).await;
    match &result {
        Err(LogError::Fork(fork)) => record_fork(store, caller.tenant_id, fork).await?,
        Err(LogError::OverQuota { device, stored, quota }) => {
            let mut client = store.pool.get().await?;
            let tx = tenant_tx(&mut client, caller.tenant_id).await?;
            record_over_quota(&tx, caller.tenant_id, *device, *stored, *quota, store.now_ms())
                .await?;
            tx.commit().await?;
        }
        _ => {}
    }
    let pushed = result?;
    if pushed.accepted > 0 {
        store.notifier.notify(caller.tenant_id);
    }
    Ok(pushed)
}

/// Verifies and stores a batch in one transaction, which first spends the request's
/// nonce; on any error nothing is stored and the nonce stays unspent (the transaction rolls
/// back when it drops).
async fn ingest(
    store: &Store,
    caller: &Caller,
    batch: &Batch,
    nonce: &RequestNonce,
) -> Result<Pushed, LogError> {
    let mut out = Pushed::default();
    let runs = Runs::new(batch);
    let rules =
        Rules { max_ahead_ms: store.limits.max_clock_ahead_ms, strictness: Strictness::Refuse };
    let now = store.now_ms();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, caller.tenant_id).await?;
    let wire = store.wire(&tx).await?;
    if !spend_nonce(store, &tx, caller, nonce, now).await? {
        return Err(LogError::Replayed);
    }
    if batch.events.is_empty() {
        tx.commit().await?;
        return Ok(out);
    }
    let mut to_fold = Vec::new();
    // Devices in id order: concurrent pushes relaying the same devices lock their tips in
    // the same order.
    for device in runs.devices() {
        let signer = signer(&tx, caller, device).await?;
        let (tip, mut previous, stored) = lock_tip(&tx, caller.tenant_id, device).await?;
        let run = runs.check(device, tip, &(device, signer.key), now, rules)?;
        let adding: u64 = run.accepted.iter().map(|(event, _)| stored_size(event)).sum();
        let quota = store.limits.device_quota_bytes;
        // Only a device's new events count; the hub's own logs, relayed back, have no quota.
        let over = adding > 0 && stored.saturating_add(adding) > quota;
        if over && !matches!(signer.author, Author::Hub) {
            // The pushing device's own events refuse the push; a relayed device's are left
            // out, so the relayer's own facts still go through. (A fact of another device
            // that refers to what was left out waits for it: see `readmit_waiting`.)
            if device == caller.device_id {
                return Err(LogError::OverQuota { device, stored, quota });
            }
            record_over_quota(&tx, caller.tenant_id, device, stored, quota, now).await?;
            out.over_quota.push(device);
            out.tips.insert(device.to_string(), tip.seq);
            continue;
        }
        if let Some(seqs) = run.claimed_seqs() {
            let held =
                held_hashes(&tx, caller.tenant_id, device, *seqs.start(), *seqs.end()).await?;
            if let Some(fork) = run.fork(held) {
                return Err(LogError::Fork(fork));
            }
        }
        for (event, _) in &run.accepted {
            let meta = EventMeta { hlc: event.hlc, id: event.id() };
            let fact = FactMeta {
                meta,
                previous,
                received_ms: now,
                from_author: device == caller.device_id,
            };
            previous = Some(event.hlc);
            match admit_by(
                &fact,
                &signer.author,
                signer.revoked_at_ms,
                event.kind.as_str(),
                &event.payload,
            ) {
                Ok(domain) => to_fold.push(ToFold {
                    meta,
                    event: domain,
                    location: signer.location,
                    author: signer.author,
                    received_ms: None,
                }),
                Err(reason) => out.quarantined.push((meta.id, reason)),
            }
        }
        insert_events(&tx, wire, caller.tenant_id, device, &run.accepted, run.tip, now).await?;
        if !run.accepted.is_empty() {
            upsert_tip(&tx, caller.tenant_id, device, run.tip, stored + adding, now).await?;
        }
        out.duplicates += run.duplicates as u64;
        out.accepted += run.accepted.len() as u64;
        out.tips.insert(device.to_string(), run.tip.seq);
    }
    if out.accepted > 0 {
        notify_on_commit(&tx, caller.tenant_id).await?;
    }
    let refused = projection::fold(&tx, wire, caller.tenant_id, &to_fold, now).await?;
    // What this push folds may be what earlier facts wait for.
    let refused_ids: BTreeSet<EventId> = refused.iter().map(|(id, _)| *id).collect();
    let folded: Vec<ToFold> =
        to_fold.into_iter().filter(|e| !refused_ids.contains(&e.meta.id)).collect();
    out.quarantined.extend(refused);
    out.quarantined.sort_by_key(|(event, _)| *event);
    // What waits for something this push folded (its own facts included, when a relayed
    // batch brings a check after a payment on it) is admitted again before any alert.
    record_waiting(&tx, caller.tenant_id, &out.quarantined, now).await?;
    out.released = readmit_waiting(&tx, wire, caller.tenant_id, &folded, now).await?;
    out.quarantined.retain(|(id, _)| !out.released.contains(id));
    record_quarantines(&tx, caller.tenant_id, &out.quarantined, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// Most waiting facts admitted again after one push, so a pile of them cannot make a push
/// slow; the rest wait for the next push that touches what they wait for.
const READMIT_LIMIT: i64 = 200;

/// What a quarantined fact waits for, if a device's push can heal its refusal: the id of
/// the order, drawer or ticket it refers to. (Approvers and devices reach the hub through
/// its own publications, never late: a fact naming one the hub lacks stays refused.)
fn awaits(reason: &Quarantine) -> Option<Uuid> {
    match reason {
        Quarantine::UnknownTarget { id, .. } => Some(*id),
        _ => None,
    }
}

/// Admits again, inside `tx`, the facts of `tenant` that wait for something `folded` has
/// just folded, with the time the hub first stored each: those that pass are folded, those
/// refused for good stop waiting and raise an alert, the rest wait on. Each waiting row is
/// claimed (`FOR UPDATE SKIP LOCKED`), so two pushes at once never fold the same fact.
/// Returns the facts folded now.
async fn readmit_waiting(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    folded: &[ToFold],
    now: u64,
) -> Result<Vec<EventId>, LogError> {
    if folded.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<Uuid> = projection::touched_ids(folded).into_iter().collect();
    let rows = tx
        .query(
            &tx.prepare_cached(
                "SELECT w.device_id, w.seq, w.received_at_ms, e.hlc_wall_ms, e.hlc_counter,
                        e.kind, e.payload, d.role, d.location_id
                   FROM quarantine_waiting w
                   JOIN events e ON e.tenant_id = w.tenant_id AND e.device_id = w.device_id
                                AND e.seq = w.seq
                   LEFT JOIN devices d ON d.tenant_id = w.tenant_id AND d.device_id = w.device_id
                  WHERE w.tenant_id = $1 AND w.awaits = ANY($2)
                  ORDER BY e.hlc_wall_ms, e.hlc_counter, w.device_id, w.seq
                  LIMIT $3
                    FOR UPDATE OF w SKIP LOCKED",
            )
            .await?,
            &[&tenant, &targets, &READMIT_LIMIT],
        )
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut claimed = Vec::with_capacity(rows.len());
    let mut to_fold = Vec::with_capacity(rows.len());
    for row in &rows {
        let device = DeviceId::from_bytes(row.get::<_, Uuid>(0).into_bytes());
        let id = EventId { device_id: device, seq: row.get::<_, i64>(1) as u64 };
        claimed.push(id);
        let received_ms = row.get::<_, i64>(2) as u64;
        let meta = EventMeta {
            hlc: Hlc { wall_ms: row.get::<_, i64>(3) as u64, counter: row.get::<_, i64>(4) as u32 },
            id,
        };
        // Admitted once by `admit_by`, so it decodes and its author is a device; one that
        // no longer does (a device record gone) cannot heal and stops waiting.
        let (Ok(Some(event)), Some(role), Some(location)) = (
            DomainEvent::decode(row.get(5), row.get(6)),
            row.get::<_, Option<&str>>(7).and_then(Role::parse),
            row.get::<_, Option<Uuid>>(8),
        ) else {
            continue;
        };
        to_fold.push(ToFold {
            meta,
            event,
            location,
            author: Author::Device { id: device, role, location: LocationId(location) },
            received_ms: Some(received_ms),
        });
    }
    let refused = projection::fold(tx, wire, tenant, &to_fold, now).await?;
    // Refused again for want of something else (the drawer, once the check came): they now
    // wait for that.
    let again: Vec<(EventId, Quarantine)> =
        refused.iter().filter(|(_, reason)| awaits(reason).is_some()).cloned().collect();
    record_waiting(tx, tenant, &again, now).await?;
    let waiting_on: BTreeSet<EventId> = again.iter().map(|(id, _)| *id).collect();
    let final_refusals: Vec<(EventId, Quarantine)> =
        refused.into_iter().filter(|(_, reason)| awaits(reason).is_none()).collect();
    record_quarantines(tx, tenant, &final_refusals, now).await?;
    let done: Vec<&EventId> = claimed.iter().filter(|id| !waiting_on.contains(id)).collect();
    let devices: Vec<Uuid> = done.iter().map(|id| uuid(id.device_id)).collect();
    let seqs: Vec<i64> = done.iter().map(|id| id.seq as i64).collect();
    tx.execute(
        &tx.prepare_cached(
            "DELETE FROM quarantine_waiting
              WHERE tenant_id = $1 AND (device_id, seq) IN
                    (SELECT d, s FROM unnest($2::uuid[], $3::bigint[]) AS r(d, s))",
        )
        .await?,
        &[&tenant, &devices, &seqs],
    )
    .await?;
    let released: Vec<EventId> = to_fold
        .iter()
        .map(|e| e.meta.id)
        .filter(|id| !waiting_on.contains(id) && !final_refusals.iter().any(|(f, _)| f == id))
        .collect();
    if !released.is_empty() {
        tracing::info!(%tenant, released = released.len(), "waiting facts folded");
    }
    Ok(released)
}

/// What one event counts against its device's storage quota: its kind and payload, plus
/// the envelope every stored event carries (ids, stamps, hashes, a signature's worth).
fn stored_size(event: &Event) -> u64 {
    const ENVELOPE: usize = 160;
    (event.kind.as_str().len() + event.payload.len() + ENVELOPE) as u64
}

/// Raises a `quota` alert for `device`, once: a device retrying past its quota adds none
/// while the first is there.
async fn record_over_quota(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
    stored: u64,
    quota: u64,
    now: u64,
) -> Result<(), LogError> {
    tracing::warn!(%tenant, %device, stored, quota, "device over its storage quota");
    tx.execute(
        "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
         SELECT t.tenant_id, $2, 'quota', $3, NULL, $4, $5 FROM tenants t
          WHERE t.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM alerts WHERE tenant_id = $1
                                                    AND kind = 'quota' AND device_id = $3)",
        &[
            &tenant,
            &Uuid::now_v7(),
            &uuid(device),
            &json!({ "stored_bytes": stored, "quota_bytes": quota }),
            &to_i64("time", now)?,
        ],
    )
    .await?;
    Ok(())
}

/// Keeps the facts of `quarantined` whose refusal may heal waiting for what they refer to
/// (see `readmit_waiting`), first stored at `now`. Selected through `tenants`, so that on
/// Citus the insert goes to the tenant's shard as a statement, not as a COPY (which RLS
/// refuses).
async fn record_waiting(
    tx: &Transaction<'_>,
    tenant: Uuid,
    quarantined: &[(EventId, Quarantine)],
    now: u64,
) -> Result<(), LogError> {
    let waiting: Vec<(&EventId, Uuid)> =
        quarantined.iter().filter_map(|(id, reason)| Some((id, awaits(reason)?))).collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let devices: Vec<Uuid> = waiting.iter().map(|(id, _)| uuid(id.device_id)).collect();
    let seqs: Vec<i64> = waiting.iter().map(|(id, _)| id.seq as i64).collect();
    let targets: Vec<Uuid> = waiting.iter().map(|(_, target)| *target).collect();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO quarantine_waiting (tenant_id, device_id, seq, awaits, received_at_ms)
             SELECT t.tenant_id, u.device, u.seq, u.target, $5
               FROM tenants t,
                    (SELECT unnest($2::uuid[]) AS device, unnest($3::bigint[]) AS seq,
                            unnest($4::uuid[]) AS target) AS u
              WHERE t.tenant_id = $1
             ON CONFLICT (tenant_id, device_id, seq) DO UPDATE SET awaits = EXCLUDED.awaits",
        )
        .await?,
        &[&tenant, &devices, &seqs, &targets, &to_i64("time", now)?],
    )
    .await?;
    Ok(())
}

/// Raises an alert for each fact stored but not folded, with its author and reason, in the
/// push's transaction: the facts and their alerts commit together.
async fn record_quarantines(
    tx: &Transaction<'_>,
    tenant: Uuid,
    quarantined: &[(EventId, Quarantine)],
    now: u64,
) -> Result<(), LogError> {
    if quarantined.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(quarantined.len());
    let mut devices = Vec::with_capacity(quarantined.len());
    let mut seqs = Vec::with_capacity(quarantined.len());
    let mut details = Vec::with_capacity(quarantined.len());
    for (event, reason) in quarantined {
        tracing::warn!(%tenant, %event, code = reason.code(), %reason, "pushed fact quarantined");
        ids.push(Uuid::now_v7());
        devices.push(uuid(event.device_id));
        seqs.push(to_i64("seq", event.seq)?);
        details.push(json!({ "code": reason.code(), "reason": reason.to_string() }));
    }
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
             SELECT t.tenant_id, u.id, 'quarantine', u.device, u.seq, u.detail, $6
               FROM tenants t,
                    (SELECT unnest($2::uuid[]) AS id, unnest($3::uuid[]) AS device,
                            unnest($4::bigint[]) AS seq, unnest($5::jsonb[]) AS detail) AS u
              WHERE t.tenant_id = $1",
        )
        .await?,
        &[&tenant, &ids, &devices, &seqs, &details, &to_i64("time", now)?],
    )
    .await?;
    Ok(())
}

/// Locks `device`'s stored tip for this transaction (genesis if it has none).
async fn lock_tip(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
) -> Result<(ChainTip, Option<Hlc>, u64), LogError> {
    // Statements on the push path are prepared once per pooled connection (see `tenant_tx`).
    let lock_tip = tx
        .prepare_cached(
            "SELECT t.seq, t.hash, e.hlc_wall_ms, e.hlc_counter, t.stored_bytes
               FROM chain_tips t
               LEFT JOIN events e ON e.tenant_id = t.tenant_id AND e.device_id = t.device_id
                                 AND e.seq = t.seq
              WHERE t.tenant_id = $1 AND t.device_id = $2 FOR UPDATE OF t",
        )
        .await?;
    let Some(row) = tx.query_opt(&lock_tip, &[&tenant, &uuid(device)]).await? else {
        return Ok((ChainTip::GENESIS, None, 0));
    };
    let tip = ChainTip { seq: row.get::<_, i64>(0) as u64, hash: hash_of(row.get(1))? };
    let stamp = match (row.get::<_, Option<i64>>(2), row.get::<_, Option<i64>>(3)) {
        (Some(wall), Some(counter)) => Some(Hlc { wall_ms: wall as u64, counter: counter as u32 }),
        _ => None,
    };
    Ok((tip, stamp, row.get::<_, i64>(4).max(0) as u64))
}

/// `(seq, hash)` of `device`'s stored events `from..=to`, in seq order.
async fn held_hashes(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device: DeviceId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Hash32)>, LogError> {
    let rows = tx
        .query(
            "SELECT seq, hash FROM events WHERE tenant_id = $1 AND device_id = $2
                AND seq BETWEEN $3 AND $4 ORDER BY seq",
            &[&tenant, &uuid(device), &to_i64("seq", from)?, &to_i64("seq", to)?],
        )
        .await?;
    rows.iter().map(|row| Ok((row.get::<_, i64>(0) as u64, hash_of(row.get(1))?))).collect()
}

/// Stores verified events in one statement (arrays of columns, not a round trip per
/// event), each with the signature of its checkpoint if it has one. `new` must be a
/// linked run ending at `tip` (verified, or built by the hub): each event's hash is then
/// its successor's `prev_hash` and the last one's `tip.hash`, so none is recomputed
/// (hashing every event again was a tenth of the hub's CPU in the ingest bench) and none
/// is sent twice (the statement takes each from the next row).
async fn insert_events(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    device_id: DeviceId,
    new: &[(&Event, Option<Signature>)],
    tip: ChainTip,
    now: u64,
) -> Result<(), LogError> {
    if new.is_empty() {
        return Ok(());
    }
    let mut seqs = Vec::with_capacity(new.len());
    let mut walls = Vec::with_capacity(new.len());
    let mut counters = Vec::with_capacity(new.len());
    let mut kinds = Vec::with_capacity(new.len());
    for (i, (event, _)) in new.iter().enumerate() {
        let hash = match new.get(i + 1) {
            Some((next, _)) => &next.prev_hash,
            None if tip.seq == event.seq => &tip.hash,
            None => {
                return Err(Fault::Corrupt("a run to store does not end at its tip".into()).into());
            }
        };
        debug_assert_eq!(*hash, event.hash(), "insert_events needs a linked run");
        debug_assert!(i == 0 || new[i - 1].0.seq + 1 == event.seq, "a run's seqs are consecutive");
        seqs.push(to_i64("seq", event.seq)?);
        walls.push(to_i64("HLC wall time", event.hlc.wall_ms)?);
        counters.push(i64::from(event.hlc.counter));
        kinds.push(event.kind.as_str());
    }
    // Set-returning functions in the select list run in lockstep without the tuplestore
    // that `FROM unnest(...)` fills first (a fifth less time for this statement). The
    // tenant id comes from the tenant's own row (see `crate::projection`'s `write`): on
    // Citus that makes this a statement on the tenant's shard alone.
    let prev_hashes = wire.column(new.iter().map(|(e, _)| Some(e.prev_hash.0.as_slice())));
    let tip_hash = wire.column(std::iter::once(Some(tip.hash.0.as_slice())));
    let payloads = wire.column(new.iter().map(|(e, _)| Some(e.payload.as_slice())));
    let signatures = wire.column(new.iter().map(|(_, s)| s.as_ref().map(|s| s.0.as_slice())));
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO events (tenant_id, device_id, seq, hlc_wall_ms, hlc_counter, prev_hash,
                 hash, kind, payload, signature, received_at_ms)
             SELECT t.tenant_id, $2, u.seq, u.wall, u.counter, {}, {}, u.kind, {}, {}, $11
               FROM tenants t,
                    (SELECT unnest($3::bigint[]) AS seq, unnest($4::bigint[]) AS wall,
                            unnest($5::bigint[]) AS counter, unnest({}) AS prev_hash,
                            unnest($8::text[]) AS kind, unnest({}) AS payload,
                            unnest({}) AS signature) AS u
              WHERE t.tenant_id = $1",
            wire.bytes("u.prev_hash"),
            // $7 holds the tip's hash alone: the last event's.
            wire.bytes(&format!(
                "COALESCE(lead(u.prev_hash) OVER (PARTITION BY t.tenant_id ORDER BY u.seq), ({})[1])",
                wire.array(7)
            )),
            wire.bytes("u.payload"),
            wire.bytes("u.signature"),
            wire.array(6),
            wire.array(9),
            wire.array(10),
        ))
        .await?;
    tx.execute(
        &insert,
        &[
            &tenant,
            &uuid(device_id),
            &seqs,
            &walls,
            &counters,
            prev_hashes.param(),
            tip_hash.param(),
            &kinds,
            payloads.param(),
            signatures.param(),
            &to_i64("time", now)?,
        ],
    )
    .await
    .map_err(|e| concurrent(e, device_id))?;
    Ok(())
}

/// Moves a device's stored tip forward.
async fn upsert_tip(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device_id: DeviceId,
    tip: ChainTip,
    stored_bytes: u64,
    now: u64,
) -> Result<(), LogError> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO chain_tips (tenant_id, device_id, seq, hash, updated_at_ms, stored_bytes)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, device_id) DO UPDATE
             SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at_ms = EXCLUDED.updated_at_ms,
                 stored_bytes = EXCLUDED.stored_bytes",
        )
        .await?,
        &[
            &tenant,
            &uuid(device_id),
            &to_i64("seq", tip.seq)?,
            &tip.hash.0.as_slice(),
            &to_i64("time", now)?,
            &to_i64("bytes", stored_bytes)?,
        ],
    )
    .await
    .map_err(|e| concurrent(e, device_id))?;
    Ok(())
}

/// Wakes long-polls on every hub process when `tx` commits (see `crate::live`).
async fn notify_on_commit(tx: &Transaction<'_>, tenant: Uuid) -> Result<(), LogError> {
    tx.execute(
        &tx.prepare_cached("SELECT pg_notify($1, $2)").await?,
        &[&crate::live::CHANNEL, &tenant.to_string()],
    )
    .await?;
    Ok(())
}

/// A unique violation here means another push for the same device won a race.
fn concurrent(e: tokio_postgres::Error, device: DeviceId) -> LogError {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        LogError::Concurrent(device)
    } else {
        e.into()
    }
}

/// The key that must have signed `device_id`'s events, and that device's location: the
/// caller's own, or (relay) another enrolled, unrevoked device of the caller's tenant.
async fn signer(
    tx: &Transaction<'_>,
    caller: &Caller,
    device_id: DeviceId,
) -> Result<Signer, LogError> {
    if device_id == caller.device_id {
        return Ok(Signer {
            key: caller.public_key,
            location: caller.location_id,
            author: Author::Device {
                id: device_id,
                role: caller.role,
                location: LocationId(caller.location_id),
            },
            revoked_at_ms: None,
        });
    }
    if device_id == hub_log(caller.tenant_id)
        || device_id == dispatch_log(caller.tenant_id, caller.device_id)
        || (device_id == staff_log(caller.tenant_id, caller.location_id)
            && caller.role != Role::Technician)
        || device_id == retired_staff_log(caller.tenant_id)
    {
        // The tenant's reference-data log, the caller's location's staff log, its own
        // dispatch log or the staff log of earlier versions, relayed back: signed with the
        // tenant key.
        let row = tx
            .query_one("SELECT public_key FROM tenants WHERE tenant_id = $1", &[&caller.tenant_id])
            .await?;
        return Ok(Signer {
            key: public_key(row.get(0))?,
            location: Uuid::nil(),
            author: Author::Hub,
            revoked_at_ms: None,
        });
    }
    // RLS limits this to the caller's tenant: another tenant's device is simply not found.
    let row = tx
        .query_opt(
            "SELECT public_key, location_id, revoked_at_ms, role FROM devices
              WHERE tenant_id = $1 AND device_id = $2",
            &[&caller.tenant_id, &uuid(device_id)],
        )
        .await?
        .ok_or(LogError::NotInTenant(device_id))?;
    let location: Uuid = row.get(1);
    let role = Role::parse(row.get(3))
        .ok_or_else(|| Fault::Corrupt(format!("device {device_id} has an unknown role")))?;
    Ok(Signer {
        key: public_key(row.get(0))?,
        location,
        author: Author::Device { id: device_id, role, location: LocationId(location) },
        revoked_at_ms: row.get::<_, Option<i64>>(2).map(|at| at as u64),
    })
}

/// Who signed a run of a push, as the hub's records say.
struct Signer {
    /// The key its checkpoints must verify with.
    key: PublicKey,
    /// Its location (nil for the tenant's hub-signed logs).
    location: Uuid,
    /// Who may have written what it carries.
    author: Author,
    /// When its device was revoked: a relayed fact of a revoked device stamped before this
    /// is kept and folded, one stamped after is quarantined.
    revoked_at_ms: Option<u64>,
}

/// A stored public key.
pub(crate) fn public_key(bytes: &[u8]) -> Result<PublicKey, Fault> {
    Ok(PublicKey(
        bytes.try_into().map_err(|_| Fault::Corrupt("a public key is not 32 bytes".into()))?,
    ))
}

pub(crate) fn hash_of(bytes: &[u8]) -> Result<Hash32, Fault> {
    Ok(Hash32(bytes.try_into().map_err(|_| Fault::Corrupt("a hash is not 32 bytes".into()))?))
}

/// Records a fork alert in a transaction of its own, after the push's was rolled back.
async fn record_fork(store: &Store, tenant: Uuid, fork: &Fork) -> Result<(), LogError> {
    tracing::warn!(%tenant, device = %fork.device, seq = fork.seq, "fork refused");
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    // One alert per distinct fork: a device retrying the same forked push adds none.
    tx.execute(
        "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
         SELECT t.tenant_id, $2, 'fork', $3, $4, $5, $6 FROM tenants t
          WHERE t.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM alerts WHERE tenant_id = $1 AND kind = 'fork'
                               AND device_id = $3 AND seq = $4 AND detail = $5)",
        &[
            &tenant,
            &Uuid::now_v7(),
            &uuid(fork.device),
            &to_i64("seq", fork.seq)?,
            &json!({ "held_hash": fork.held, "received_hash": fork.received }),
            &to_i64("time", store.now_ms())?,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One page of what `caller` lacks beyond `have`, at most `limit` events (capped by the
/// hub), per the module docs, and the hub's tips in its scope.
pub async fn page(
    store: &Store,
    caller: &Caller,
    have: &VersionVector,
    limit: Option<usize>,
) -> Result<Page, LogError> {
    let cap = store.limits.max_pull_events;
    let limit = limit.unwrap_or(cap).clamp(1, cap);
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, caller.tenant_id).await?;
    let tips = scope_tips(&tx, caller).await?;
    let mut page = Page {
        tips: tips
            .iter()
            .map(|row| {
                (
                    DeviceId::from_bytes(*row.get::<_, Uuid>(0).as_bytes()),
                    row.get::<_, i64>(1) as u64,
                )
            })
            .collect(),
        ..Page::default()
    };
    for row in tips {
        let d: Uuid = row.get(0);
        let device_id = DeviceId::from_bytes(*d.as_bytes());
        let tip = row.get::<_, i64>(1) as u64;
        let have = have.get(&device_id);
        if tip <= have {
            continue;
        }
        let budget = limit.saturating_sub(page.batch.events.len());
        if budget == 0 {
            page.more = true;
            break;
        }
        let have_i64 = to_i64("seq", have)?;
        // Cut the page at the last signed event so the caller can verify it; if none is
        // within budget, extend to the next one (every push ends with a signed event).
        let next_signed: i64 = tx
            .query_one(
                "SELECT min(seq) FROM events WHERE tenant_id = $1 AND device_id = $2 AND seq > $3
                    AND signature IS NOT NULL",
                &[&caller.tenant_id, &d, &have_i64],
            )
            .await?
            .get::<_, Option<i64>>(0)
            .ok_or_else(|| {
                Fault::Corrupt(format!("device {device_id} has no signed event after {have}"))
            })?;
        let mut upto = have + budget as u64;
        if (next_signed as u64) > upto {
            if !page.batch.events.is_empty() {
                // Extending would overshoot a page that already holds events: next page.
                page.more = true;
                break;
            }
            // One commit is bigger than the page: send it whole (at most one push's worth,
            // which the hub capped at the codec's batch limit on the way in).
            upto = next_signed as u64;
        }
        let last_signed: i64 = tx
            .query_one(
                "SELECT max(seq) FROM events WHERE tenant_id = $1 AND device_id = $2
                    AND seq BETWEEN $3 AND $4 AND signature IS NOT NULL",
                &[&caller.tenant_id, &d, &next_signed, &to_i64("seq", upto)?],
            )
            .await?
            .get::<_, Option<i64>>(0)
            .unwrap_or(next_signed);
        let rows = tx
            .query(
                "SELECT seq, hlc_wall_ms, hlc_counter, prev_hash, kind, payload, signature, hash
                   FROM events WHERE tenant_id = $1 AND device_id = $2 AND seq > $3 AND seq <= $4
                  ORDER BY seq",
                &[&caller.tenant_id, &d, &have_i64, &last_signed],
            )
            .await?;
        for row in &rows {
            let (event, checkpoint) = stored_event(device_id, row, last_signed as u64)?;
            page.batch.events.push(event);
            page.batch.checkpoints.extend(checkpoint);
        }
        if (last_signed as u64) < tip {
            page.more = true;
        }
    }
    tx.commit().await?;
    Ok(page)
}

/// The hub's tips of the logs in `caller`'s scope, by device id.
async fn scope_tips(
    tx: &Transaction<'_>,
    caller: &Caller,
) -> Result<Vec<tokio_postgres::Row>, LogError> {
    // Scope: the devices of the caller's location, the tenant's reference-data log (device
    // id = tenant id) and the location's staff log; for a technician, the reference-data log, its own
    // log and its dispatch log only: no staff, no PIN hashes. Dispatch logs are no enrolled device's, so the location join never
    // selects one. RLS keeps it to the caller's tenant regardless.
    let rows = if caller.role == Role::Technician {
        let logs = [
            caller.tenant_id,
            uuid(caller.device_id),
            uuid(dispatch_log(caller.tenant_id, caller.device_id)),
        ];
        tx.query(
            "SELECT device_id, seq FROM chain_tips
              WHERE tenant_id = $1 AND device_id = ANY($2) ORDER BY device_id",
            &[&caller.tenant_id, &logs.as_slice()],
        )
        .await?
    } else {
        tx.query(
            "SELECT t.device_id, t.seq FROM chain_tips t
               LEFT JOIN devices d ON d.tenant_id = t.tenant_id AND d.device_id = t.device_id
              WHERE t.tenant_id = $1 AND (d.location_id = $2 OR t.device_id IN ($1, $3))
              ORDER BY t.device_id",
            &[
                &caller.tenant_id,
                &caller.location_id,
                &uuid(staff_log(caller.tenant_id, caller.location_id)),
            ],
        )
        .await?
    };
    Ok(rows)
}

/// An event row as the envelope, with its checkpoint if it is the page's signed end.
pub(crate) fn stored_event(
    device_id: DeviceId,
    row: &tokio_postgres::Row,
    last_signed: u64,
) -> Result<(Event, Option<Checkpoint>), Fault> {
    let kind: &str = row.get(4);
    let event = Event {
        device_id,
        seq: row.get::<_, i64>(0) as u64,
        hlc: Hlc { wall_ms: row.get::<_, i64>(1) as u64, counter: row.get::<_, i64>(2) as u32 },
        prev_hash: hash_of(row.get(3))?,
        kind: EventKind::new(kind).map_err(|e| Fault::Corrupt(e.to_string()))?,
        payload: row.get(5),
    };
    let checkpoint = match row.get::<_, Option<&[u8]>>(6) {
        Some(sig) if event.seq == last_signed => Some(Checkpoint {
            device_id,
            seq: event.seq,
            hash: hash_of(row.get(7))?,
            signature: Signature(
                sig.try_into().map_err(|_| Fault::Corrupt("a signature is not 64 bytes".into()))?,
            ),
        }),
        _ => None,
    };
    Ok((event, checkpoint))
}

/// Appends `domain` to `tenant`'s hub-signed log `log` (its reference log, [`hub_log`], or
/// a work order log of [`crate::dispatch`]) inside `tx`, which runs under that tenant:
/// signs the new tip with the tenant key and folds the events into the projections, so the
/// caller's own writes (a device row, a revocation) and their publication commit together.
/// Returns the first and last seq written. The caller commits, then wakes live pulls with
/// [`Store::notify`].
pub async fn append(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    log: DeviceId,
    domain: Vec<DomainEvent>,
) -> Result<(u64, u64), LogError> {
    append_copy(store, tx, tenant, log, domain, Fold::Yes).await
}

/// Whether [`append_copy`] folds what it appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// Into the projections, like any fact.
    Yes,
    /// Not: a copy of a fact the hub folded from another of its logs (a location's staff
    /// log repeats the tenant's staff records for that location's terminals).
    No,
}

/// [`append`], folding or not.
pub async fn append_copy(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    log: DeviceId,
    domain: Vec<DomainEvent>,
    fold: Fold,
) -> Result<(u64, u64), LogError> {
    let now = store.now_ms();
    let pkcs8 = store.tenant_pkcs8(tx, tenant).await?.ok_or(LogError::NoTenant(tenant))?;
    let key = DeviceKey::from_pkcs8(&pkcs8).map_err(|e| Fault::Corrupt(e.to_string()))?;
    // Lock the log's tip so two publications cannot both take the next seq.
    let (tip, last_hlc, stored) = lock_tip(tx, tenant, log).await?;
    let mut clock =
        HlcClock::with_last(last_hlc.unwrap_or_default(), store.limits.max_clock_ahead_ms);
    let mut events: Vec<Event> = Vec::with_capacity(domain.len());
    let mut to_fold = Vec::with_capacity(domain.len());
    let mut prev = tip;
    for d in domain {
        let event = Event {
            device_id: log,
            seq: prev.seq + 1,
            hlc: clock.tick(now),
            prev_hash: prev.hash,
            kind: EventKind::new(d.kind()).map_err(|e| Fault::Corrupt(e.to_string()))?,
            payload: d.encode_payload(),
        };
        prev = ChainTip::of(&event);
        to_fold.push(ToFold {
            meta: EventMeta { hlc: event.hlc, id: event.id() },
            event: d,
            location: Uuid::nil(),
            author: Author::Hub,
            received_ms: None,
        });
        events.push(event);
    }
    let checkpoint = key.sign_checkpoint(log, prev);
    let signed: Vec<(&Event, Option<Signature>)> = events
        .iter()
        .map(|e| (e, (e.seq == checkpoint.seq).then_some(checkpoint.signature)))
        .collect();
    let wire = store.wire(tx).await?;
    insert_events(tx, wire, tenant, log, &signed, prev, now).await?;
    // Counted like a device's, never refused: the hub's own logs have no quota.
    let stored = stored + events.iter().map(stored_size).sum::<u64>();
    upsert_tip(tx, tenant, log, prev, stored, now).await?;
    if fold == Fold::No {
        to_fold.clear();
    }
    let refused = projection::fold(tx, wire, tenant, &to_fold, now).await?;
    if let Some((event, reason)) = refused.first() {
        // The hub's own publications pass what they publish through the domain first.
        return Err(
            Fault::Corrupt(format!("the hub's own event {event} was refused: {reason}")).into()
        );
    }
    notify_on_commit(tx, tenant).await?;
    Ok((tip.seq + 1, prev.seq))
}
