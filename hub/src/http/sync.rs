//! `POST /api/v1/sync/push` and `POST /api/v1/sync/pull`.
//!
//! # Push
//!
//! Body: a batch, binary (`thorbis_sync_protocol::encode_batch`, any content type) or JSON
//! (`batch_to_json`, with `Content-Type: application/json`). Every event is verified before
//! anything is stored: its device is the caller or an enrolled, unrevoked device of the
//! caller's tenant (relay), each device's run links to what the hub holds and ends at a
//! checkpoint in the batch signed by that device's key, and no HLC stamp is further ahead
//! of the hub's clock than allowed. Events already held with the same hash are skipped, so
//! replays change nothing. A signed event that differs from the one held at its
//! `(device, seq)` is a fork: refused with 409 and recorded in `alerts` in its own
//! transaction, never merged. New events, chain tips and projections are written in one
//! transaction under the caller's tenant.
//!
//! Response: `{"accepted": n, "duplicates": n, "tips": {"<device>": seq}}`.
//!
//! # Pull
//!
//! Body: `{"have": {"<device>": seq, ...}, "limit": n}` (JSON, signed like a push). The
//! answer holds the events that the caller lacks of the devices at its location and of its
//! tenant's reference-data log (see [`crate::http::reference`]); a technician device gets
//! instead the reference-data log, its own events and its dispatch log (the work orders
//! assigned to it, see [`crate::dispatch`]), and no other device gets a dispatch log; in
//! pages of at most `limit` events (the hub's cap applies), each device's run ending at a
//! signed checkpoint so the caller can verify it with `verify_chain`. Binary batch by
//! default, with `x-thorbis-more: true|false`; with `Accept: application/json`,
//! `{"batch": <batch JSON>, "more": bool, "tips": {...}}`. Every answer also says what the
//! hub holds of the devices in the caller's scope (`x-thorbis-tips: <device>=<seq>,...`, or
//! `tips` in JSON), so a device that restarted knows where to resume pushing its own
//! events without guessing.
//!
//! Live mode is a long-poll: with `"wait_ms": n` (capped by the hub), a pull that finds
//! nothing waits until a push for the caller's tenant commits on any hub process (see
//! [`crate::live`]) or the time is up, then answers as usual (possibly empty).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Transaction;
use serde::Deserialize;
use serde_json::json;
use thorbis_domain::{DomainEvent, EventMeta};
use thorbis_sync_protocol::{
    Batch, ChainTip, Checkpoint, DeviceId, Event, EventKind, Hash32, Hlc, HlcClock, PublicKey,
    Signature, VersionVector, batch_from_json, decode_batch, encode_batch, verify_chain,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::auth::{Caller, authenticate};
use super::reference::hub_log;
use super::{AppState, Error, Result, body_bytes, json_body};
use crate::db::tenant_tx;
use crate::dispatch::dispatch_log;
use crate::identity::Role;
use crate::projection::{self, ToFold};

const PUSH_PATH: &str = "/api/v1/sync/push";
const PULL_PATH: &str = "/api/v1/sync/pull";

fn is_json(headers: &HeaderMap, name: header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

pub(super) async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = push_inner(&state, &headers, body).await;
    let response = result.into_response();
    state.0.metrics.push(response.status());
    response
}

async fn push_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>> {
    let body = body_bytes(body)?;
    let device = authenticate(state, headers, "POST", PUSH_PATH, &body).await?;
    let batch = if is_json(headers, header::CONTENT_TYPE) {
        let text = std::str::from_utf8(&body)
            .map_err(|_| Error::BadRequest("JSON batch is not UTF-8".into()))?;
        batch_from_json(text)
    } else {
        decode_batch(&body)
    }
    .map_err(|e| Error::BadRequest(format!("malformed batch: {e}")))?;
    let max = state.0.limits.max_batch_events;
    if batch.events.len() > max {
        return Err(Error::PayloadTooLarge(format!(
            "batch has {} events; the hub accepts at most {max} per push",
            batch.events.len()
        )));
    }
    let report = match ingest(state, &device, &batch).await? {
        Ok(report) => report,
        Err(fork) => {
            record_fork(state, device.tenant_id, &fork).await?;
            return Err(Error::Conflict(format!(
                "fork: device {} already has a different event at seq {} (held hash {}, \
                 received {}); the push was refused and an alert raised",
                fork.device_id, fork.seq, fork.held, fork.received
            )));
        }
    };
    state.0.metrics.ingested(report.accepted);
    if report.accepted > 0 {
        let newest = batch.events.iter().map(|e| e.hlc.wall_ms).max().unwrap_or_default();
        state.0.metrics.lag(state.now_ms(), newest);
        state.0.notifier.notify(device.tenant_id);
    }
    Ok(Json(json!({
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "tips": report.tips,
    })))
}

#[derive(Debug, Default)]
struct PushReport {
    accepted: u64,
    duplicates: u64,
    tips: BTreeMap<String, u64>,
}

/// Two different signed events at one `(device, seq)`.
#[derive(Debug)]
struct Fork {
    device_id: DeviceId,
    seq: u64,
    held: Hash32,
    received: Hash32,
}

pub(super) fn uuid(device: DeviceId) -> Uuid {
    Uuid::from_bytes(device.0)
}

fn to_i64(what: &str, value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::Unprocessable(format!("{what} {value} is out of range")))
}

/// Each device's events in batch order, devices in order of first appearance.
fn runs(batch: &Batch) -> Vec<(DeviceId, Vec<&Event>)> {
    let mut runs: Vec<(DeviceId, Vec<&Event>)> = Vec::new();
    for event in &batch.events {
        match runs.iter_mut().find(|(d, _)| *d == event.device_id) {
            Some((_, run)) => run.push(event),
            None => runs.push((event.device_id, vec![event])),
        }
    }
    runs
}

/// Verifies and stores a batch in one transaction. `Ok(Err(fork))` means nothing was
/// stored because of a fork; the transaction is rolled back when it drops.
async fn ingest(
    state: &AppState,
    device: &Caller,
    batch: &Batch,
) -> Result<Result<PushReport, Fork>> {
    if batch.events.is_empty() {
        return Ok(Ok(PushReport::default()));
    }
    let runs = runs(batch);
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, device.tenant_id).await?;
    let mut out = Ingested::default();
    for (device_id, run) in &runs {
        if let Some(fork) = ingest_run(&tx, state, device, batch, *device_id, run, &mut out).await?
        {
            return Ok(Err(fork));
        }
    }
    if out.report.accepted > 0 {
        notify_on_commit(&tx, device.tenant_id).await?;
    }
    projection::fold(&tx, device.tenant_id, &out.to_fold)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    tx.commit().await?;
    Ok(Ok(out.report))
}

/// What verified runs add up to before the transaction commits.
#[derive(Debug, Default)]
struct Ingested {
    report: PushReport,
    to_fold: Vec<ToFold>,
}

/// Verifies one device's run of a batch and stores its new events inside `tx`. Returns
/// the fork it found, if any, without storing anything for it.
async fn ingest_run(
    tx: &Transaction<'_>,
    state: &AppState,
    device: &Caller,
    batch: &Batch,
    device_id: DeviceId,
    run: &[&Event],
    out: &mut Ingested,
) -> Result<Option<Fork>> {
    let now = state.now_ms();
    let (key, location) = signer(tx, device, device_id).await?;
    let last = run[run.len() - 1];
    let checkpoint = verify_run(&key, batch, device_id, run)?;
    let first = run[0];
    let d = uuid(device_id);
    // Statements on the push path are prepared once per pooled connection (see `tenant_tx`).
    let lock_tip = tx
        .prepare_cached(
            "SELECT seq, hash FROM chain_tips WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
        )
        .await?;
    let tip = tx
        .query_opt(&lock_tip, &[&device.tenant_id, &d])
        .await?
        .map_or(Ok(ChainTip::GENESIS), |row| tip_of(row.get(0), row.get(1)))?;
    if first.seq > tip.seq + 1 {
        return Err(Error::Conflict(format!(
            "device {device_id}'s events start at seq {} but the hub holds up to seq {}: \
             push seq {} onwards",
            first.seq,
            tip.seq,
            tip.seq + 1
        )));
    }
    if let Some(fork) = find_fork(tx, device.tenant_id, device_id, run, tip).await? {
        return Ok(Some(fork));
    }
    let mut clock = HlcClock::new(state.0.limits.max_clock_ahead_ms);
    for event in run.iter().filter(|e| e.seq > tip.seq) {
        clock
            .observe(event.hlc, now)
            .map_err(|e| Error::Unprocessable(format!("event {}: {e}", event.id())))?;
        match DomainEvent::decode(event.kind.as_str(), &event.payload) {
            // A device's own log (hub logs have no location) may not carry what only the hub
            // writes: device records, work order assignments.
            Ok(Some(domain)) if location != Uuid::nil() && domain.is_hub_only() => {
                return Err(Error::Unprocessable(format!(
                    "event {}: only the hub writes {} events",
                    event.id(),
                    domain.kind()
                )));
            }
            Ok(Some(domain)) => out.to_fold.push(ToFold {
                meta: EventMeta { hlc: event.hlc, id: event.id() },
                event: domain,
                location,
            }),
            // Unknown kinds are stored and relayed, never folded.
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Unprocessable(format!("event {}: {e}", event.id())));
            }
        }
    }
    let new: Vec<&&Event> = run.iter().filter(|e| e.seq > tip.seq).collect();
    out.report.duplicates += (run.len() - new.len()) as u64;
    insert_events(tx, device.tenant_id, device_id, &new, checkpoint, now).await?;
    out.report.accepted += new.len() as u64;
    let new_tip = last.seq.max(tip.seq);
    if last.seq > tip.seq {
        // The checkpoint covers `last` and was checked against its hash.
        let tip = ChainTip { seq: last.seq, hash: checkpoint.hash };
        upsert_tip(tx, device.tenant_id, device_id, tip, now).await?;
    }
    out.report.tips.insert(device_id.to_string(), new_tip);
    Ok(None)
}

/// Checks that `run` is linked internally and ends at a checkpoint of the batch signed by
/// `key`. Where it starts is compared with the hub's chain afterwards.
fn verify_run<'b>(
    key: &PublicKey,
    batch: &'b Batch,
    device_id: DeviceId,
    run: &[&Event],
) -> Result<&'b Checkpoint> {
    let last = run[run.len() - 1];
    let checkpoint = batch
        .checkpoints
        .iter()
        .find(|c| c.device_id == device_id && c.seq == last.seq)
        .ok_or_else(|| {
            Error::Unprocessable(format!(
                "no checkpoint in the batch covers device {device_id}'s last event (seq {})",
                last.seq
            ))
        })?;
    let first = run[0];
    to_i64("seq", last.seq)?;
    if first.seq == 1 && first.prev_hash != Hash32::ZERO {
        return Err(Error::Unprocessable(format!(
            "device {device_id}'s event seq 1 must have a zero prev_hash"
        )));
    }
    let claimed = ChainTip { seq: first.seq - 1, hash: first.prev_hash };
    // A run is usually a stretch of the batch (one device per push); copy it only if not.
    let owned: Vec<Event>;
    let events = if let Some(events) = contiguous(&batch.events, run) {
        events
    } else {
        owned = run.iter().map(|e| (*e).clone()).collect();
        &owned
    };
    verify_chain(key, claimed, events, checkpoint)
        .map_err(|e| Error::Unprocessable(format!("events of device {device_id}: {e}")))?;

    Ok(checkpoint)
}

/// `run` as a slice of `events`, if its events are consecutive there.
fn contiguous<'b>(events: &'b [Event], run: &[&Event]) -> Option<&'b [Event]> {
    let start = events.iter().position(|e| std::ptr::eq(e, run[0]))?;
    let slice = events.get(start..start + run.len())?;
    slice.iter().zip(run).all(|(a, b)| std::ptr::eq(a, *b)).then_some(slice)
}

/// Compares the part of `run` the hub already holds (and the event it links to) with the
/// stored chain: the first difference is a fork.
async fn find_fork(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device_id: DeviceId,
    run: &[&Event],
    tip: ChainTip,
) -> Result<Option<Fork>> {
    let d = uuid(device_id);
    let (first, last) = (run[0], run[run.len() - 1]);
    let overlap_from = first.seq - 1;
    let overlap_to = last.seq.min(tip.seq);
    if overlap_from <= overlap_to && overlap_to >= 1 {
        let held = tx
            .query(
                "SELECT seq, hash FROM events WHERE tenant_id = $1 AND device_id = $2
                    AND seq BETWEEN $3 AND $4 ORDER BY seq",
                &[&tenant, &d, &(overlap_from.max(1) as i64), &(overlap_to as i64)],
            )
            .await?;
        for row in held {
            let seq = row.get::<_, i64>(0) as u64;
            let held_hash = hash_of(row.get(1))?;
            let received = if seq == first.seq - 1 {
                first.prev_hash
            } else {
                run[(seq - first.seq) as usize].hash()
            };
            if held_hash != received {
                // A run linking to a different predecessor is a fork at that predecessor.
                return Ok(Some(Fork { device_id, seq, held: held_hash, received }));
            }
        }
    }
    Ok(None)
}

/// Stores verified events in one statement (arrays of columns, not a round trip per
/// event); the checkpoint's signature goes on the event it covers. `new` must be a linked
/// run ending at `checkpoint` (verified, or built by the hub): each event's hash is then
/// its successor's `prev_hash` and the last one's the checkpoint's, so none is recomputed
/// (hashing every event again was a tenth of the hub's CPU in the ingest bench).
pub(super) async fn insert_events(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device_id: DeviceId,
    new: &[&&Event],
    checkpoint: &Checkpoint,
    now: u64,
) -> Result<()> {
    let mut seqs = Vec::with_capacity(new.len());
    let mut walls = Vec::with_capacity(new.len());
    let mut counters = Vec::with_capacity(new.len());
    let mut prev_hashes = Vec::with_capacity(new.len());
    let mut hashes = Vec::with_capacity(new.len());
    let mut kinds = Vec::with_capacity(new.len());
    let mut payloads = Vec::with_capacity(new.len());
    for (i, event) in new.iter().enumerate() {
        let hash = match new.get(i + 1) {
            Some(next) => &next.prev_hash,
            None if checkpoint.seq == event.seq => &checkpoint.hash,
            None => {
                return Err(Error::Internal(anyhow::anyhow!("run does not end at its checkpoint")));
            }
        };
        debug_assert_eq!(*hash, event.hash(), "insert_events needs a linked run");
        seqs.push(event.seq as i64);
        walls.push(to_i64("HLC wall time", event.hlc.wall_ms)?);
        counters.push(i64::from(event.hlc.counter));
        prev_hashes.push(event.prev_hash.0.as_slice());
        hashes.push(hash.0.as_slice());
        kinds.push(event.kind.as_str());
        payloads.push(event.payload.as_slice());
    }
    if !new.is_empty() {
        // Set-returning functions in the select list run in lockstep without the tuplestore
        // that `FROM unnest(...)` fills first (a fifth less time for this statement).
        let insert = tx
            .prepare_cached(
                "INSERT INTO events (tenant_id, device_id, seq, hlc_wall_ms, hlc_counter, prev_hash,
                     hash, kind, payload, signature, received_at_ms)
                 SELECT $1, $2, u.seq, u.wall, u.counter, u.prev_hash, u.hash, u.kind, u.payload,
                        CASE WHEN u.seq = $10 THEN $11::bytea END, $12
                   FROM (SELECT unnest($3::bigint[]) AS seq, unnest($4::bigint[]) AS wall,
                                unnest($5::bigint[]) AS counter, unnest($6::bytea[]) AS prev_hash,
                                unnest($7::bytea[]) AS hash, unnest($8::text[]) AS kind,
                                unnest($9::bytea[]) AS payload) AS u",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &tenant,
                &uuid(device_id),
                &seqs,
                &walls,
                &counters,
                &prev_hashes,
                &hashes,
                &kinds,
                &payloads,
                &(checkpoint.seq as i64),
                &checkpoint.signature.0.as_slice(),
                &(now as i64),
            ],
        )
        .await
        .map_err(|e| concurrent(e, device_id))?;
    }
    Ok(())
}

/// Moves a device's stored tip forward.
pub(super) async fn upsert_tip(
    tx: &Transaction<'_>,
    tenant: Uuid,
    device_id: DeviceId,
    tip: ChainTip,
    now: u64,
) -> Result<()> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO chain_tips (tenant_id, device_id, seq, hash, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, device_id) DO UPDATE
             SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at_ms = EXCLUDED.updated_at_ms",
        )
        .await?,
        &[&tenant, &uuid(device_id), &(tip.seq as i64), &tip.hash.0.as_slice(), &(now as i64)],
    )
    .await
    .map_err(|e| concurrent(e, device_id))?;
    Ok(())
}

/// Wakes long-polls on every hub process when `tx` commits (see `crate::live`).
pub(super) async fn notify_on_commit(tx: &Transaction<'_>, tenant: Uuid) -> Result<()> {
    tx.execute(
        &tx.prepare_cached("SELECT pg_notify($1, $2)").await?,
        &[&crate::live::CHANNEL, &tenant.to_string()],
    )
    .await?;
    Ok(())
}

/// A unique violation here means another push for the same device won a race.
fn concurrent(e: tokio_postgres::Error, device: DeviceId) -> Error {
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        Error::Conflict(format!(
            "another push for device {device} was stored at the same time; retry"
        ))
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
) -> Result<(PublicKey, Uuid)> {
    if device_id == caller.device_id {
        return Ok((caller.public_key, caller.location_id));
    }
    if device_id == hub_log(caller.tenant_id)
        || device_id == dispatch_log(caller.tenant_id, caller.device_id)
    {
        // The tenant's reference-data log, or the caller's own dispatch log, relayed back:
        // signed with the tenant key.
        let row = tx
            .query_one("SELECT public_key FROM tenants WHERE tenant_id = $1", &[&caller.tenant_id])
            .await?;
        return Ok((public_key(row.get(0))?, Uuid::nil()));
    }
    // RLS limits this to the caller's tenant: another tenant's device is simply not found.
    let row = tx
        .query_opt(
            "SELECT public_key, location_id, revoked_at_ms FROM devices
              WHERE tenant_id = $1 AND device_id = $2",
            &[&caller.tenant_id, &uuid(device_id)],
        )
        .await?
        .ok_or_else(|| {
            Error::Forbidden(format!(
                "the batch carries events of device {device_id}, which is not a device of your tenant"
            ))
        })?;
    if row.get::<_, Option<i64>>(2).is_some() {
        return Err(Error::Forbidden(format!(
            "the batch carries events of device {device_id}, which has been revoked"
        )));
    }
    Ok((public_key(row.get(0))?, row.get(1)))
}

fn public_key(bytes: &[u8]) -> Result<PublicKey> {
    Ok(PublicKey(
        bytes
            .try_into()
            .map_err(|_| Error::Internal(anyhow::anyhow!("stored public key is not 32 bytes")))?,
    ))
}

pub(super) fn hash_of(bytes: &[u8]) -> Result<Hash32> {
    Ok(Hash32(
        bytes
            .try_into()
            .map_err(|_| Error::Internal(anyhow::anyhow!("stored hash is not 32 bytes")))?,
    ))
}

fn tip_of(seq: i64, hash: &[u8]) -> Result<ChainTip> {
    Ok(ChainTip { seq: seq as u64, hash: hash_of(hash)? })
}

/// Records a fork alert in a transaction of its own, after the push's was rolled back.
async fn record_fork(state: &AppState, tenant: Uuid, fork: &Fork) -> Result<()> {
    tracing::warn!(%tenant, device = %fork.device_id, seq = fork.seq, "fork refused");
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    // One alert per distinct fork: a device retrying the same forked push adds none.
    tx.execute(
        "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
         SELECT $1, $2, 'fork', $3, $4, $5, $6
          WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE tenant_id = $1 AND kind = 'fork'
                               AND device_id = $3 AND seq = $4 AND detail = $5)",
        &[
            &tenant,
            &Uuid::now_v7(),
            &uuid(fork.device_id),
            &(fork.seq as i64),
            &json!({ "held_hash": fork.held, "received_hash": fork.received }),
            &(state.now_ms() as i64),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullRequest {
    #[serde(default)]
    have: VersionVector,
    #[serde(default)]
    limit: Option<usize>,
    /// Long-poll: when there is nothing to send, wait up to this long for a push.
    #[serde(default)]
    wait_ms: Option<u64>,
}

pub(super) async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let response = match pull_inner(&state, &headers, body).await {
        Ok((batch, more, tips)) => {
            if is_json(&headers, header::ACCEPT) {
                let batch: serde_json::Value = serde_json::to_value(&batch).unwrap_or_default();
                Json(json!({ "batch": batch, "more": more, "tips": tips })).into_response()
            } else {
                let tips: Vec<String> = tips.iter().map(|(d, seq)| format!("{d}={seq}")).collect();
                (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                        (
                            header::HeaderName::from_static("x-thorbis-more"),
                            if more { "true" } else { "false" }.to_owned(),
                        ),
                        (header::HeaderName::from_static("x-thorbis-tips"), tips.join(",")),
                    ],
                    encode_batch(&batch),
                )
                    .into_response()
            }
        }
        Err(e) => e.into_response(),
    };
    state.0.metrics.pull(response.status());
    response
}

async fn pull_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<(Batch, bool, VersionVector)> {
    let body = body_bytes(body)?;
    let device = authenticate(state, headers, "POST", PULL_PATH, &body).await?;
    let req: PullRequest = json_body(&body)?;
    let wait = Duration::from_millis(req.wait_ms.unwrap_or(0).min(state.0.limits.max_wait_ms));
    // Subscribe before the first look, so a push committed in between still wakes us.
    let mut wakeups = state.0.notifier.subscribe();
    // Waiting uses the runtime's timer, not the injected clock: it bounds real latency,
    // and no business decision depends on it.
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let (batch, more, tips) = page(state, &device, &req).await?;
        if !batch.events.is_empty() || wait.is_zero() {
            return Ok((batch, more, tips));
        }
        // Sleep until this tenant (or everyone) is notified, or the wait is over.
        let _waiting = state.0.metrics.waiting();
        loop {
            match tokio::time::timeout_at(deadline, wakeups.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Ok((batch, more, tips));
                }
                Ok(Ok(tenant)) if tenant != device.tenant_id && tenant != crate::live::EVERYONE => {
                }
                Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => break,
            }
        }
    }
}

/// One page of what `device` lacks, per the module docs, and the hub's tips in its scope.
async fn page(
    state: &AppState,
    device: &Caller,
    req: &PullRequest,
) -> Result<(Batch, bool, VersionVector)> {
    let cap = state.0.limits.max_pull_events;
    let limit = req.limit.unwrap_or(cap).clamp(1, cap);
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, device.tenant_id).await?;
    // Scope: the devices of the caller's location and the tenant's reference-data log
    // (device id = tenant id); for a technician, the reference-data log, its own log and its
    // dispatch log only. Dispatch logs are no enrolled device's, so the location join never
    // selects one. RLS keeps it to the caller's tenant regardless.
    let tips = if device.role == Role::Technician {
        let logs = [
            device.tenant_id,
            uuid(device.device_id),
            uuid(dispatch_log(device.tenant_id, device.device_id)),
        ];
        tx.query(
            "SELECT device_id, seq FROM chain_tips
              WHERE tenant_id = $1 AND device_id = ANY($2) ORDER BY device_id",
            &[&device.tenant_id, &logs.as_slice()],
        )
        .await?
    } else {
        tx.query(
            "SELECT t.device_id, t.seq FROM chain_tips t
               LEFT JOIN devices d ON d.tenant_id = t.tenant_id AND d.device_id = t.device_id
              WHERE t.tenant_id = $1 AND (d.location_id = $2 OR t.device_id = $1)
              ORDER BY t.device_id",
            &[&device.tenant_id, &device.location_id],
        )
        .await?
    };
    let held: VersionVector = tips
        .iter()
        .map(|row| {
            (DeviceId::from_bytes(*row.get::<_, Uuid>(0).as_bytes()), row.get::<_, i64>(1) as u64)
        })
        .collect();
    let mut batch = Batch::default();
    let mut more = false;
    for row in tips {
        let d: Uuid = row.get(0);
        let device_id = DeviceId::from_bytes(*d.as_bytes());
        let tip = row.get::<_, i64>(1) as u64;
        let have = req.have.get(&device_id);
        if tip <= have {
            continue;
        }
        let budget = limit.saturating_sub(batch.events.len());
        if budget == 0 {
            more = true;
            break;
        }
        // Cut the page at the last signed event so the caller can verify it; if none is
        // within budget, extend to the next one (every push ends with a signed event).
        let next_signed: i64 = tx
            .query_one(
                "SELECT min(seq) FROM events WHERE tenant_id = $1 AND device_id = $2 AND seq > $3
                    AND signature IS NOT NULL",
                &[&device.tenant_id, &d, &(have as i64)],
            )
            .await?
            .get::<_, Option<i64>>(0)
            .ok_or_else(|| {
                Error::Internal(anyhow::anyhow!(
                    "device {device_id} has no signed event after {have}"
                ))
            })?;
        let mut upto = have + budget as u64;
        if (next_signed as u64) > upto {
            if !batch.events.is_empty() {
                // Extending would overshoot a page that already holds events: next page.
                more = true;
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
                &[&device.tenant_id, &d, &next_signed, &(upto as i64)],
            )
            .await?
            .get::<_, Option<i64>>(0)
            .unwrap_or(next_signed);
        let rows = tx
            .query(
                "SELECT seq, hlc_wall_ms, hlc_counter, prev_hash, kind, payload, signature, hash
                   FROM events WHERE tenant_id = $1 AND device_id = $2 AND seq > $3 AND seq <= $4
                  ORDER BY seq",
                &[&device.tenant_id, &d, &(have as i64), &last_signed],
            )
            .await?;
        for row in &rows {
            let (event, checkpoint) = stored_event(device_id, row, last_signed as u64)?;
            batch.events.push(event);
            batch.checkpoints.extend(checkpoint);
        }
        if (last_signed as u64) < tip {
            more = true;
        }
    }
    tx.commit().await?;
    Ok((batch, more, held))
}

/// An event row as the envelope, with its checkpoint if it is the page's signed end.
fn stored_event(
    device_id: DeviceId,
    row: &tokio_postgres::Row,
    last_signed: u64,
) -> Result<(Event, Option<Checkpoint>)> {
    let kind: &str = row.get(4);
    let event = Event {
        device_id,
        seq: row.get::<_, i64>(0) as u64,
        hlc: Hlc { wall_ms: row.get::<_, i64>(1) as u64, counter: row.get::<_, i64>(2) as u32 },
        prev_hash: hash_of(row.get(3))?,
        kind: EventKind::new(kind).map_err(|e| Error::Internal(e.into()))?,
        payload: row.get(5),
    };
    let checkpoint = match row.get::<_, Option<&[u8]>>(6) {
        Some(sig) if event.seq == last_signed => Some(Checkpoint {
            device_id,
            seq: event.seq,
            hash: hash_of(row.get(7))?,
            signature: Signature(sig.try_into().map_err(|_| {
                Error::Internal(anyhow::anyhow!("stored signature is not 64 bytes"))
            })?),
        }),
        _ => None,
    };
    Ok((event, checkpoint))
}
