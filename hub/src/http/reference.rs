//! Reference data published by the hub: `POST /api/v1/admin/tenants/{tenant_id}/reference-events`
//! (bootstrap admin token) or `POST /api/v1/console/reference-events` (a manager's console
//! session) appends catalog events to the tenant's own log, which devices
//! pull like any other device's events.
//!
//! Staff records go to the staff logs of the locations where they work instead (see
//! [`crate::staff`]), which those locations' store terminals pull and technicians'
//! laptops never do: PIN hashes reach only the devices that sign those staff in. The
//! reference log's device id is the tenant id ([`hub_log`]); every hub log's checkpoints
//! are signed with the tenant key, whose public half every device received with its
//! credential, so a device (or a LAN peer relaying for it) verifies reference data exactly
//! as it verifies a terminal's events. Checkpoint signatures carry their own domain prefix, so the one
//! key signing credentials and checkpoints cannot have one taken for the other.
//!
//! Request: `{"events": [{"kind": "catalog.item_upserted", "payload": {...}}, ...]}`: only
//! `catalog.*` kinds this build understands, each payload valid for its kind (stored as the
//! domain's own encoding). Response: `{"device_id": <log>, "from_seq": n, "to_seq": m,
//! "logs": [...]}`: the first log written at the top level, every log written in `logs`.
//! A `catalog.staff_upserted` payload must carry an argon2id PHC string as its `pin_hash`
//! (never a plain PIN); staff are normally published through [`super::staff`], which
//! hashes the PIN on the hub.
//!
//! The same log carries the tenant's device records (`device.registered`, `device.revoked`,
//! `device.configured`, see [`thorbis_domain::device`]), which only the enrollment,
//! revocation and device-configuration endpoints write, through [`crate::log::append`], in
//! the same transaction as their own rows.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::looks_like_argon2id_phc;
use uuid::Uuid;

use super::admin::{Admin, parse_uuid};
use super::{AppState, Error, JsonBody, Result};
pub use crate::log::hub_log;

/// Most events one publication may carry.
const MAX_EVENTS: usize = 1_000;

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
            // What every replica would quarantine is refused before it is signed.
            thorbis_domain::admit::check_content(&event)
                .map_err(|why| Error::BadRequest(format!("event {i}: {why}")))?;
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
    let written = crate::staff::publish_reference(state.store(), tenant, domain).await?;
    let logs: Vec<Value> = written
        .iter()
        .map(|(log, from, to)| json!({ "device_id": log, "from_seq": from, "to_seq": to }))
        .collect();
    // The first log written also at the top level: the reference log, unless only staff
    // were published.
    let mut answer = logs.first().cloned().unwrap_or_else(|| json!({}));
    answer["logs"] = Value::Array(logs);
    Ok(Json(answer))
}
