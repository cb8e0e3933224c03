//! Staff published to the terminals: `POST /api/v1/console/staff` (a manager's console
//! session) and `POST /api/v1/admin/tenants/{tenant_id}/staff` (bootstrap admin token), one
//! implementation ([`staff_in`]) behind both.
//!
//! Request: `{"staff_id"?: uuid, "name": str, "role": "cashier"|"server"|"kitchen"|"manager"
//! |"owner", "pin"?: "4 to 8 digits", "active": bool, "locations"?: [uuid]}`. Without
//! `staff_id` a new member of staff is created (UUIDv7 id) and `pin` is required; with it,
//! the record is replaced and, when `pin` is absent, the current PIN hash (from the
//! tenant's folded `Staff` aggregate) is kept. `locations` are where they work (`[]`:
//! every location; absent: unchanged, or every location for a new member); only those
//! locations' terminals receive the record.
//!
//! **PINs** are hashed here, on the hub ([`crate::accounts::hash_pin`]), with argon2id
//! v0x13 at the OWASP cost (m = 19456 KiB, t = 2, p = 1) and a fresh 16-byte salt from
//! `ring`'s `SystemRandom`, on the blocking pool under the console's limit on concurrent
//! hashing. Only the PHC string leaves this module, in a `catalog.staff_upserted` event of
//! the staff logs of the locations where they work (hub-signed, pulled and verified by
//! those locations' terminals like any other reference event, see [`crate::staff`]). The plain PIN is never
//! stored, logged, echoed in an error or returned; the response does not carry the hash
//! either (4 to 8 digits are cheap to search offline, so the hash goes only where it must).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::catalog::Role;
use uuid::Uuid;

use super::admin::{Admin, parse_uuid};
use super::{AppState, Error, JsonBody, Result};
use crate::accounts::hash_pin;
use crate::staff;

/// A PIN as received: deserializes only from a JSON string and never prints its value, so
/// neither a parse error nor a stray `{:?}` can reveal it.
pub(super) struct Pin(pub(super) String);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Through `Value` so that a PIN sent as a number is refused without serde quoting it.
        match Value::deserialize(d)? {
            Value::String(pin) => Ok(Pin(pin)),
            _ => Err(serde::de::Error::custom("pin must be a string of 4 to 8 digits")),
        }
    }
}

/// Whether `pin` is 4 to 8 ASCII digits (what terminals accept at sign-in).
fn is_valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct StaffRequest {
    #[serde(default)]
    pub(super) staff_id: Option<Uuid>,
    pub(super) name: String,
    pub(super) role: String,
    #[serde(default)]
    pub(super) pin: Option<Pin>,
    pub(super) active: bool,
    #[serde(default)]
    pub(super) locations: Option<Vec<Uuid>>,
}

fn parse_role(role: &str) -> Result<Role> {
    // A technician signs in on a laptop with its own PIN, never as published staff.
    serde_json::from_value(Value::String(role.to_owned()))
        .ok()
        .filter(|r| *r != Role::Technician)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "role must be cashier, server, kitchen, manager or owner, not {role:?}"
            ))
        })
}

pub(super) async fn admin_upsert(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<StaffRequest>,
) -> Result<Json<Value>> {
    staff_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

/// Creates or replaces a member of `tenant`'s staff and publishes it to the staff logs of
/// their locations: the one implementation behind the admin and console endpoints and the
/// console's staff page.
pub(super) async fn save(
    state: &AppState,
    tenant: Uuid,
    req: StaffRequest,
) -> Result<staff::Published> {
    let StaffRequest { staff_id, name, role, pin, active, locations } = req;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::BadRequest("name must be 1 to 200 characters".into()));
    }
    let role = parse_role(&role)?;
    if let Some(Pin(pin)) = &pin
        && !is_valid_pin(pin)
    {
        return Err(Error::BadRequest("pin must be 4 to 8 digits (0-9)".into()));
    }
    // Hash before the transaction: argon2 takes a while and must not hold the log's lock.
    let new_hash = match pin {
        Some(Pin(pin)) => Some(hash_pin(pin).await?),
        None if staff_id.is_none() => {
            return Err(Error::BadRequest("new staff need a pin (4 to 8 digits)".into()));
        }
        None => None,
    };
    let id = staff_id.unwrap_or_else(Uuid::now_v7);
    let member = staff::Member { id, name, role, active, locations };
    Ok(staff::publish(state.store(), tenant, member, new_hash).await?)
}

/// [`save`], answered as JSON.
pub(super) async fn staff_in(
    state: &AppState,
    tenant: Uuid,
    req: StaffRequest,
) -> Result<Json<Value>> {
    let published = save(state, tenant, req).await?;
    let id = published.staff.id.0;
    let staff = published.staff;
    Ok(Json(json!({
        "staff_id": id,
        "name": staff.name,
        "role": staff.role,
        "active": staff.active,
        "locations": staff.locations,
        "device_id": staff::record_log(tenant),
        "seq": published.seq,
    })))
}
