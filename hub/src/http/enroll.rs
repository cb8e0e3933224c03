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
use thorbis_sync_protocol::PublicKey;

use super::{AppState, Result, body_bytes, json_body};
use crate::identity::hex;
use crate::log::hub_log;
use crate::tenants;

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
    let enrolled = tenants::enroll(state.store(), &req.code, req.public_key).await?;
    let credential = &enrolled.credential;
    Ok(Json(json!({
        "credential": credential,
        "signature": enrolled.signature,
        "tenant_public_key": enrolled.tenant_public_key,
        "credential_bytes": hex(&credential.canonical_bytes()),
        "reference_log_device_id": hub_log(credential.tenant_id),
    })))
}
