//! Reference data published by the hub: `POST /api/v1/admin/tenants/{tenant_id}/reference-events`
//! (bootstrap admin token) or `POST /api/v1/console/reference-events` (a manager's console
//! session) appends catalog events to the tenant's own log, which devices
//! pull like any other device's events.
//!
//! The log's device id is the tenant id ([`hub_log`]) and its checkpoints are signed with
//! the tenant key, whose public half every device received with its credential, so a
//! device (or a LAN peer relaying for it) verifies reference data exactly as it verifies
//! a terminal's events. Checkpoint signatures carry their own domain prefix, so the one
//! key signing credentials and checkpoints cannot have one taken for the other.
//!
//! Request: `{"events": [{"kind": "catalog.item_upserted", "payload": {...}}, ...]}`: only
//! `catalog.*` kinds this build understands, each payload valid for its kind (stored as the
//! domain's own encoding). Response: `{"device_id": <tenant id>, "from_seq": n, "to_seq": m}`.
//! A `catalog.staff_upserted` payload must carry an argon2id PHC string as its `pin_hash`
//! (never a plain PIN); staff are normally published through [`super::staff`], which
//! hashes the PIN on the hub.
//!
//! The same log carries the tenant's device records (`device.registered`, `device.revoked`,
//! `device.configured`, see [`thorbis_domain::device`]), which only the enrollment,
//! revocation and device-configuration endpoints write, through [`append`], in the same
//! transaction as their own rows.

use axum::Json;
use axum::extract::{Path, State};
use deadpool_postgres::Transaction;
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::catalog::looks_like_argon2id_phc;
use thorbis_domain::{DomainEvent, EventMeta};
use thorbis_sync_protocol::{ChainTip, DeviceId, DeviceKey, Event, EventKind, Hlc, HlcClock};
use uuid::Uuid;

use super::admin::{Admin, parse_uuid};
use super::sync::{hash_of, insert_events, notify_on_commit, upsert_tip};
use super::{AppState, Error, JsonBody, Result};
use crate::db::tenant_tx;
use crate::projection::{self, ToFold};

/// Most events one publication may carry.
const MAX_EVENTS: usize = 1_000;

/// The device id of a tenant's reference-data log: the tenant id itself.
#[must_use]
pub fn hub_log(tenant: Uuid) -> DeviceId {
    DeviceId::from_bytes(*tenant.as_bytes())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Publish {
    events: Vec<Published>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Published {
    kind: String,
    payload: Value,
}

/// Checks each requested event and returns it as the domain decodes it.
fn validate(req: &Publish) -> Result<Vec<DomainEvent>> {
    if req.events.is_empty() || req.events.len() > MAX_EVENTS {
        return Err(Error::BadRequest(format!("publish 1 to {MAX_EVENTS} events at a time")));
    }
    req.events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if !e.kind.starts_with("catalog.") {
                return Err(Error::BadRequest(format!(
                    "event {i}: only catalog.* reference events can be published, not {:?}",
                    e.kind
                )));
            }
            let bytes = serde_json::to_vec(&e.payload).map_err(|e| Error::Internal(e.into()))?;
            let event = DomainEvent::decode(&e.kind, &bytes)
                .map_err(|err| Error::BadRequest(format!("event {i}: {err}")))?
                .ok_or_else(|| {
                    Error::BadRequest(format!("event {i}: unknown kind {:?}", e.kind))
                })?;
            // A plain PIN in `pin_hash` would reach every terminal's log: only hashes pass.
            if let DomainEvent::StaffUpserted(staff) = &event
                && !looks_like_argon2id_phc(&staff.pin_hash)
            {
                return Err(Error::BadRequest(format!(
                    "event {i}: pin_hash must be an argon2id PHC string; send plain PINs to \
                     the staff endpoint, which hashes them"
                )));
            }
            Ok(event)
        })
        .collect()
}

pub(super) async fn publish(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(publish): JsonBody<Publish>,
) -> Result<Json<Value>> {
    publish_in(&state, parse_uuid("tenant id", &tenant_id)?, publish).await
}

/// Publishes reference events to `tenant`'s log: the one implementation behind the admin
/// and console endpoints.
pub(super) async fn publish_in(
    state: &AppState,
    tenant: Uuid,
    publish: Publish,
) -> Result<Json<Value>> {
    let domain = validate(&publish)?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let (from, to) = append(state, &tx, tenant, domain).await?;
    tx.commit().await?;
    state.0.notifier.notify(tenant);
    tracing::info!(%tenant, from, to, "reference events published");
    Ok(Json(json!({ "device_id": hub_log(tenant), "from_seq": from, "to_seq": to })))
}

/// Appends `domain` to `tenant`'s log inside `tx` (which runs under that tenant), signs the
/// new tip with the tenant key and folds the events into the hub's projections, so the
/// caller's own writes (a device row, a revocation) and their publication commit together.
/// Returns the first and last seq written. The caller commits and then wakes live pulls
/// with `state.0.notifier.notify(tenant)`.
pub(super) async fn append(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: Uuid,
    domain: Vec<DomainEvent>,
) -> Result<(u64, u64)> {
    let now = state.now_ms();
    let device = hub_log(tenant);
    let pkcs8 = state
        .tenant_pkcs8(tx, tenant)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no tenant {tenant}")))?;
    let key = DeviceKey::from_pkcs8(&pkcs8).map_err(|e| Error::Internal(e.into()))?;
    // Lock the log's tip so two publications cannot both take the next seq.
    let tip = match tx
        .query_opt(
            "SELECT seq, hash FROM chain_tips WHERE tenant_id = $1 AND device_id = $1 FOR UPDATE",
            &[&tenant],
        )
        .await?
    {
        Some(row) => ChainTip { seq: row.get::<_, i64>(0) as u64, hash: hash_of(row.get(1))? },
        None => ChainTip::GENESIS,
    };
    let last_hlc = tx
        .query_opt(
            "SELECT hlc_wall_ms, hlc_counter FROM events WHERE tenant_id = $1 AND device_id = $1
              ORDER BY seq DESC LIMIT 1",
            &[&tenant],
        )
        .await?
        .map_or(Hlc::default(), |r| Hlc {
            wall_ms: r.get::<_, i64>(0) as u64,
            counter: r.get::<_, i64>(1) as u32,
        });
    let mut clock = HlcClock::with_last(last_hlc, state.0.limits.max_clock_ahead_ms);
    let mut events: Vec<Event> = Vec::with_capacity(domain.len());
    let mut to_fold = Vec::with_capacity(domain.len());
    let mut prev = tip;
    for d in domain {
        let event = Event {
            device_id: device,
            seq: prev.seq + 1,
            hlc: clock.tick(now),
            prev_hash: prev.hash,
            kind: EventKind::new(d.kind()).map_err(|e| Error::Internal(e.into()))?,
            payload: d.encode_payload(),
        };
        prev = ChainTip::of(&event);
        to_fold.push(ToFold {
            meta: EventMeta { hlc: event.hlc, id: event.id() },
            event: d,
            location: Uuid::nil(),
        });
        events.push(event);
    }
    let checkpoint = key.sign_checkpoint(device, prev);
    let refs: Vec<&Event> = events.iter().collect();
    let refs: Vec<&&Event> = refs.iter().collect();
    insert_events(tx, tenant, device, &refs, &checkpoint, now).await?;
    upsert_tip(tx, tenant, device, prev, now).await?;
    projection::fold(tx, tenant, &to_fold).await.map_err(|e| Error::Internal(e.into()))?;
    notify_on_commit(tx, tenant).await?;
    Ok((tip.seq + 1, prev.seq))
}
