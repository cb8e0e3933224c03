//! `POST /api/v1/enroll`: a device trades a one-time code and its locally generated public
//! key for a credential signed by its tenant's key.
//!
//! Request: `{"code": "<64 hex>", "public_key": "<64 hex>"}`. Response:
//! `{"credential": {device_id, tenant_id, location_id, role, public_key, expires_at_ms},
//!   "signature": "<128 hex>", "tenant_public_key": "<64 hex>", "credential_bytes": "<hex>",
//!   "reference_log_device_id": "<tenant id>"}`
//! where `signature` is the tenant key's Ed25519 signature over `credential_bytes`, the
//! layout in [`crate::identity`]. Unknown code: 404; used: 409; expired: 410.
//!
//! The enrollment also appends `device.registered` (device, location, role, public key,
//! credential expiry) to the tenant's reference log, so every terminal of the tenant can
//! verify the new device's events, relayed or not, without asking the hub.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::DomainEvent;
use thorbis_domain::device::DeviceRegistered;
use thorbis_sync_protocol::{DeviceId, PublicKey};
use uuid::Uuid;

use super::{AppState, Error, Result, body_bytes, json_body};
use crate::db::tenant_tx;
use crate::identity::{Credential, Role, TenantKey, code_hash, hex};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    code: String,
    public_key: PublicKey,
}

pub(super) async fn enroll(
    State(state): State<AppState>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<Value>> {
    let req: EnrollRequest = json_body(&body_bytes(body)?)?;
    let hash = code_hash(&req.code);
    let now = state.now_ms();
    let mut client = state.0.pool.get().await?;
    // The code names its tenant; nothing else is known before it is checked.
    let row = client
        .query_opt("SELECT * FROM hub_enrollment_lookup($1)", &[&hash.as_slice()])
        .await?
        .ok_or_else(|| Error::NotFound("no such enrollment code".into()))?;
    let tenant_id: Uuid = row.get("tenant_id");
    let location_id: Uuid = row.get("location_id");
    let role_name: String = row.get("role");
    let expires_at_ms: i64 = row.get("expires_at_ms");
    if row.get::<_, bool>("used") {
        return Err(Error::Conflict(
            "this enrollment code was already used; ask for a new one".into(),
        ));
    }
    if expires_at_ms <= now as i64 {
        return Err(Error::Gone("this enrollment code has expired; ask for a new one".into()));
    }
    let role = Role::parse(&role_name)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored role {role_name:?} is unknown")))?;
    let device_uuid = Uuid::now_v7();
    let tx = tenant_tx(&mut client, tenant_id).await?;
    // Claiming is the conditional update: of two concurrent enrollments one wins.
    let claimed = tx
        .execute(
            "UPDATE enrollment_codes SET used_at_ms = $3, device_id = $4
              WHERE tenant_id = $1 AND code_hash = $2 AND used_at_ms IS NULL AND expires_at_ms > $3",
            &[&tenant_id, &hash.as_slice(), &(now as i64), &device_uuid],
        )
        .await?;
    if claimed == 0 {
        return Err(Error::Conflict(
            "this enrollment code was already used; ask for a new one".into(),
        ));
    }
    let pkcs8 = state.tenant_pkcs8(&tx, tenant_id).await?.ok_or_else(|| {
        Error::Internal(anyhow::anyhow!("tenant {tenant_id} of a valid code has no row"))
    })?;
    let tenant_key = TenantKey::from_pkcs8(&pkcs8).map_err(|e| Error::Internal(e.into()))?;
    let credential = Credential {
        device_id: DeviceId::from_bytes(*device_uuid.as_bytes()),
        tenant_id,
        location_id,
        role,
        public_key: req.public_key,
        expires_at_ms: now + state.0.limits.credential_ttl_ms,
    };
    tx.execute(
        "INSERT INTO devices (tenant_id, device_id, location_id, role, public_key,
             credential_expires_at_ms, enrolled_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &tenant_id,
            &device_uuid,
            &location_id,
            &role.as_str(),
            &req.public_key.0.as_slice(),
            &(credential.expires_at_ms as i64),
            &(now as i64),
        ],
    )
    .await?;
    let signature = tenant_key.sign(&credential);
    // Every device of the tenant learns the newcomer's key from the reference log, in the
    // same transaction: a device row never exists without its published record.
    let registered = DeviceRegistered {
        device_id: device_uuid,
        location_id,
        role,
        public_key: req.public_key,
        credential_expires_at_ms: credential.expires_at_ms,
    };
    super::reference::append(
        &state,
        &tx,
        tenant_id,
        vec![DomainEvent::DeviceRegistered(registered)],
    )
    .await?;
    tx.commit().await?;
    state.0.notifier.notify(tenant_id);
    tracing::info!(%tenant_id, device_id = %device_uuid, role = role.as_str(), "device enrolled");
    Ok(Json(json!({
        "credential": credential,
        "signature": signature,
        "tenant_public_key": tenant_key.public_key(),
        "credential_bytes": hex(&credential.canonical_bytes()),
        "reference_log_device_id": super::reference::hub_log(tenant_id),
    })))
}
