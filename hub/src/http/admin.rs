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
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thorbis_domain::DomainEvent;
use thorbis_domain::device::{DeviceConfig, DeviceConfigured, DeviceRevoked};
use uuid::Uuid;

use super::{AppState, Error, JsonBody, Result};
use crate::db::tenant_tx;
use crate::identity::{Role, TenantKey, hex, new_enrollment_code};

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
    let tenant_id = Uuid::now_v7();
    let (key, pkcs8) = TenantKey::generate().map_err(|e| Error::Internal(e.into()))?;
    let public_key = key.public_key();
    let (stored, sealed) = state.store_pkcs8(tenant_id, pkcs8)?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    tx.execute(
        "INSERT INTO tenants (tenant_id, name, public_key, signing_key, signing_key_encrypted,
             created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant_id,
            &req.name,
            &public_key.0.as_slice(),
            &stored,
            &sealed,
            &(state.now_ms() as i64),
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, "tenant created");
    Ok(Json(json!({ "tenant_id": tenant_id, "public_key": public_key })))
}

pub(super) async fn create_location(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<NewTenant>,
) -> Result<Json<Value>> {
    location_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

/// Creates a location in `tenant_id`: the one implementation behind the admin and console
/// endpoints, which differ only in where the tenant comes from.
pub(super) async fn location_in(
    state: &AppState,
    tenant_id: Uuid,
    req: NewTenant,
) -> Result<Json<Value>> {
    check_name(&req.name)?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    if tx.query_opt("SELECT 1 FROM tenants WHERE tenant_id = $1", &[&tenant_id]).await?.is_none() {
        return Err(Error::NotFound(format!("no tenant {tenant_id}")));
    }
    let location_id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO locations (tenant_id, location_id, name, created_at_ms) VALUES ($1, $2, $3, $4)",
        &[&tenant_id, &location_id, &req.name, &(state.now_ms() as i64)],
    )
    .await?;
    tx.commit().await?;
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

#[derive(Serialize)]
struct CodeIssued {
    code: String,
    expires_at_ms: u64,
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
    let ttl = req.ttl_ms.unwrap_or(state.0.limits.enrollment_code_ttl_ms);
    if ttl == 0 || ttl > 30 * 24 * 3600 * 1000 {
        return Err(Error::BadRequest("ttl_ms must be between 1 ms and 30 days".into()));
    }
    let now = state.now_ms();
    let expires_at_ms = now + ttl;
    let (code, hash) = new_enrollment_code().map_err(|e| Error::Internal(e.into()))?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    if tx
        .query_opt(
            "SELECT 1 FROM locations WHERE tenant_id = $1 AND location_id = $2",
            &[&tenant_id, &req.location_id],
        )
        .await?
        .is_none()
    {
        return Err(Error::NotFound(format!(
            "no location {} in tenant {tenant_id}",
            req.location_id
        )));
    }
    tx.execute(
        "INSERT INTO enrollment_codes (tenant_id, code_hash, location_id, role, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant_id,
            &hash.as_slice(),
            &req.location_id,
            &req.role.as_str(),
            &(now as i64),
            &(expires_at_ms as i64),
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, code_hash = %hex(&hash[..4]), "enrollment code issued");
    Ok(Json(
        serde_json::to_value(CodeIssued { code, expires_at_ms })
            .map_err(|e| Error::Internal(e.into()))?,
    ))
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
    let now = state.now_ms();
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    let row = tx
        .query_opt(
            "SELECT revoked_at_ms FROM devices WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
            &[&tenant_id, &device_id],
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {device_id} in tenant {tenant_id}")))?;
    let revoked_at_ms = if let Some(earlier) = row.get::<_, Option<i64>>(0) {
        earlier
    } else {
        tx.execute(
            "UPDATE devices SET revoked_at_ms = $3 WHERE tenant_id = $1 AND device_id = $2",
            &[&tenant_id, &device_id, &(now as i64)],
        )
        .await?;
        let revoked = DeviceRevoked { device_id, revoked_at_ms: now };
        super::reference::append(state, &tx, tenant_id, vec![DomainEvent::DeviceRevoked(revoked)])
            .await?;
        now as i64
    };
    tx.commit().await?;
    state.0.notifier.notify(tenant_id);
    tracing::warn!(%tenant_id, %device_id, "device revoked");
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
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    let row = tx
        .query_opt(
            "SELECT revoked_at_ms FROM devices WHERE tenant_id = $1 AND device_id = $2 FOR SHARE",
            &[&tenant_id, &device_id],
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {device_id} in tenant {tenant_id}")))?;
    if row.get::<_, Option<i64>>(0).is_some() {
        return Err(Error::Conflict(format!("device {device_id} is revoked")));
    }
    let configured = DeviceConfigured { device_id, config };
    let (seq, _) = super::reference::append(
        state,
        &tx,
        tenant_id,
        vec![DomainEvent::DeviceConfigured(configured)],
    )
    .await?;
    tx.commit().await?;
    state.0.notifier.notify(tenant_id);
    tracing::info!(%tenant_id, %device_id, seq, "device configured");
    Ok(Json(json!({ "device_id": device_id, "seq": seq })))
}

/// One device as the console lists it.
#[derive(Serialize)]
struct DeviceRow {
    device_id: Uuid,
    location_id: Uuid,
    role: String,
    enrolled_at_ms: i64,
    credential_expires_at_ms: i64,
    revoked_at_ms: Option<i64>,
    /// The highest seq of its log the hub holds, and when it last pushed.
    seq: Option<i64>,
    last_push_at_ms: Option<i64>,
}

/// The devices of `tenant_id` with their sync position (console).
pub(super) async fn devices_in(state: &AppState, tenant_id: Uuid) -> Result<Json<Value>> {
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    let rows = tx
        .query(
            "SELECT d.device_id, d.location_id, d.role, d.enrolled_at_ms,
                    d.credential_expires_at_ms, d.revoked_at_ms, t.seq, t.updated_at_ms
               FROM devices d
               LEFT JOIN chain_tips t ON t.tenant_id = d.tenant_id AND t.device_id = d.device_id
              WHERE d.tenant_id = $1
              ORDER BY d.enrolled_at_ms, d.device_id",
            &[&tenant_id],
        )
        .await?;
    tx.commit().await?;
    let devices: Vec<DeviceRow> = rows
        .iter()
        .map(|r| DeviceRow {
            device_id: r.get(0),
            location_id: r.get(1),
            role: r.get(2),
            enrolled_at_ms: r.get(3),
            credential_expires_at_ms: r.get(4),
            revoked_at_ms: r.get(5),
            seq: r.get(6),
            last_push_at_ms: r.get(7),
        })
        .collect();
    Ok(Json(json!({ "devices": devices })))
}
