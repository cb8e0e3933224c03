//! The bootstrap admin API: create tenants and their first console user; also locations,
//! enrollment codes and device revocation, which a tenant's managers do through the console
//! API ([`super::console`]) once they can sign in. Protected by one configured bearer token.
//! Every write runs under the target tenant's RLS like any other request.
//!
//! Each tenant-scoped operation is one `*_in(state, tenant, request)` function; the admin
//! handler takes the tenant from the URL, the console handler from the session.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ring::digest::{SHA256, digest};
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::device::DeviceConfig;
use uuid::Uuid;

use super::{AppState, Error, JsonBody, Result};
use crate::identity::Role;
use crate::tenants;

pub(super) fn check_token(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let Some(expected) = &state.0.admin_token else {
        return Err(Error::Forbidden(
            "the admin API is disabled: no admin token is configured".into(),
        ));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Error::Unauthorized("missing `Authorization: Bearer <admin token>`".into())
        })?;
    // Compare digests so the comparison time does not depend on the token's bytes.
    if digest(&SHA256, given.as_bytes()).as_ref() != digest(&SHA256, expected.as_bytes()).as_ref() {
        return Err(Error::Unauthorized("wrong admin token".into()));
    }
    Ok(())
}

/// Extracting this checks the admin token, so a handler that takes it is admin-only.
pub(super) struct Admin;

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self> {
        check_token(state, &parts.headers).map(|()| Admin)
    }
}

pub(super) fn parse_uuid(what: &str, s: &str) -> Result<Uuid> {
    s.parse().map_err(|e| Error::BadRequest(format!("{what} `{s}` is not a UUID: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTenant {
    pub(super) name: String,
}

/// A new location: its name, and optionally its time zone (IANA), currency (ISO code) and
/// default tax rate, as the console's location settings set them later.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewLocation {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    default_tax_bps: Option<u32>,
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::BadRequest("name must be 1 to 200 characters".into()));
    }
    Ok(())
}

pub(super) async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<NewTenant>,
) -> Result<Json<Value>> {
    check_name(&req.name)?;
    let created = tenants::create_tenant(state.store(), &req.name).await?;
    Ok(Json(json!({ "tenant_id": created.tenant_id, "public_key": created.public_key })))
}

pub(super) async fn create_location(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<NewLocation>,
) -> Result<Json<Value>> {
    location_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

/// Creates a location in `tenant_id`: the one implementation behind the admin and console
/// endpoints, which differ only in where the tenant comes from.
pub(super) async fn location_in(
    state: &AppState,
    tenant_id: Uuid,
    req: NewLocation,
) -> Result<Json<Value>> {
    check_name(&req.name)?;
    let currency = req
        .currency
        .as_deref()
        .map(|code| {
            thorbis_domain::Currency::iso(code).ok_or_else(|| {
                Error::BadRequest(format!("{code:?} is not an ISO currency code such as EUR"))
            })
        })
        .transpose()?;
    if req.default_tax_bps.is_some_and(|bps| bps > 10_000) {
        return Err(Error::BadRequest("default_tax_bps must be 0 to 10000 (100%)".into()));
    }
    let settings = (req.time_zone.is_some() || currency.is_some() || req.default_tax_bps.is_some())
        .then(|| crate::locations::LocationSettings {
            name: req.name.clone(),
            address: String::new(),
            time_zone: req.time_zone.unwrap_or_else(|| "UTC".into()),
            currency,
            default_tax_bps: req.default_tax_bps.unwrap_or(0),
        });
    if let Some(settings) = &settings {
        // Checked first, so that a bad one adds no location.
        crate::locations::check_time_zone(state.store(), &settings.time_zone).await?;
    }
    let location_id = tenants::create_location(state.store(), tenant_id, &req.name).await?;
    if let Some(settings) = settings {
        crate::locations::update_location(state.store(), tenant_id, location_id, &settings).await?;
    }
    Ok(Json(json!({ "location_id": location_id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCode {
    location_id: Uuid,
    role: Role,
    #[serde(default)]
    ttl_ms: Option<u64>,
}

pub(super) async fn create_enrollment_code(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<NewCode>,
) -> Result<Json<Value>> {
    enrollment_code_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

/// Issues an enrollment code for a location of `tenant_id` (admin and console).
pub(super) async fn enrollment_code_in(
    state: &AppState,
    tenant_id: Uuid,
    req: NewCode,
) -> Result<Json<Value>> {
    let ttl = req.ttl_ms.unwrap_or(state.limits().enrollment_code_ttl_ms);
    if ttl == 0 || ttl > 30 * 24 * 3600 * 1000 {
        return Err(Error::BadRequest("ttl_ms must be between 1 ms and 30 days".into()));
    }
    let issued =
        tenants::create_enrollment_code(state.store(), tenant_id, req.location_id, req.role, ttl)
            .await?;
    Ok(Json(json!({ "code": issued.code, "expires_at_ms": issued.expires_at_ms })))
}

pub(super) async fn revoke_device(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, device_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let tenant_id = parse_uuid("tenant id", &tenant_id)?;
    revoke_device_in(&state, tenant_id, parse_uuid("device id", &device_id)?).await
}

/// Revokes a device of `tenant_id` (admin and console). A device of another tenant is not
/// visible under this tenant's RLS, so it is simply not found. The first revocation is
/// published as `device.revoked` in the tenant's reference log, in the same transaction, so
/// LAN peers stop trusting the device too; revoking again changes nothing.
pub(super) async fn revoke_device_in(
    state: &AppState,
    tenant_id: Uuid,
    device_id: Uuid,
) -> Result<Json<Value>> {
    let revoked_at_ms = tenants::revoke_device(state.store(), tenant_id, device_id).await?;
    Ok(Json(json!({ "device_id": device_id, "revoked_at_ms": revoked_at_ms })))
}

pub(super) async fn configure_device(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, device_id)): Path<(String, String)>,
    JsonBody(config): JsonBody<Value>,
) -> Result<Json<Value>> {
    let tenant_id = parse_uuid("tenant id", &tenant_id)?;
    configure_device_in(&state, tenant_id, parse_uuid("device id", &device_id)?, config).await
}

/// The first field of `given` that `known` (the same document after a round trip through
/// its type) does not have, as a path: the domain's payload types accept unknown fields so
/// that newer terminals can add some, but a person typing `colour` into the API should hear
/// about it.
fn unknown_field(given: &Value, known: &Value) -> Option<String> {
    match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            given.iter().find_map(|(key, value)| match known.get(key) {
                None => Some(key.clone()),
                Some(known) => unknown_field(value, known).map(|path| format!("{key}.{path}")),
            })
        }
        (Value::Array(given), Value::Array(known)) => given
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (g, k))| unknown_field(g, k).map(|path| format!("{i}.{path}"))),
        _ => None,
    }
}

/// Publishes a device's whole configuration (name, printers, stations) as
/// `device.configured` (admin and console). The device must be enrolled in `tenant_id` and
/// not revoked.
pub(super) async fn configure_device_in(
    state: &AppState,
    tenant_id: Uuid,
    device_id: Uuid,
    body: Value,
) -> Result<Json<Value>> {
    let config: DeviceConfig = serde_json::from_value(body.clone())
        .map_err(|e| Error::BadRequest(format!("device configuration: {e}")))?;
    let known = serde_json::to_value(&config).map_err(|e| Error::Internal(e.into()))?;
    if let Some(field) = unknown_field(&body, &known) {
        return Err(Error::BadRequest(format!("device configuration: unknown field `{field}`")));
    }
    if let Some(problem) = config.problem() {
        return Err(Error::BadRequest(format!("device configuration: {problem}")));
    }
    let seq = tenants::configure_device(state.store(), tenant_id, device_id, config).await?;
    Ok(Json(json!({ "device_id": device_id, "seq": seq })))
}

/// The devices of `tenant_id` with their sync position (console).
pub(super) async fn devices_in(state: &AppState, tenant_id: Uuid) -> Result<Json<Value>> {
    let devices = tenants::devices(state.store(), tenant_id).await?;
    Ok(Json(json!({ "devices": devices })))
}
