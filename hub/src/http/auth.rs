//! Device authentication for the sync endpoints: the signed-request headers described in
//! [`crate::identity`], checked against the device's enrolled key.
//!
//! The device is found through `hub_device_auth`, the one narrow path that reads devices
//! before a tenant is known; everything after runs under the device's tenant.

use axum::http::HeaderMap;
use thorbis_sync_protocol::{DeviceId, PublicKey, Signature};
use uuid::Uuid;

use super::{AppState, Error, Result};
use crate::identity::{
    DEVICE_HEADER, Role, SIGNATURE_HEADER, TIMESTAMP_HEADER, request_message, verify_request,
};

/// A device whose request signature verified.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub device_id: DeviceId,
    pub tenant_id: Uuid,
    pub location_id: Uuid,
    pub public_key: PublicKey,
    /// What the device is for; a technician's pull scope differs (see `sync`).
    pub role: Role,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    headers
        .get(name)
        .ok_or_else(|| Error::Unauthorized(format!("missing `{name}` header")))?
        .to_str()
        .map_err(|_| Error::Unauthorized(format!("`{name}` header is not ASCII")))
}

/// Checks the request's signature headers over `body`.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Caller> {
    let device_id: DeviceId = header(headers, DEVICE_HEADER)?
        .parse()
        .map_err(|e| Error::Unauthorized(format!("`{DEVICE_HEADER}` is not a device id: {e}")))?;
    let timestamp_ms: u64 = header(headers, TIMESTAMP_HEADER)?.parse().map_err(|_| {
        Error::Unauthorized(format!("`{TIMESTAMP_HEADER}` must be Unix milliseconds"))
    })?;
    let signature: Signature = header(headers, SIGNATURE_HEADER)?
        .parse()
        .map_err(|e| Error::Unauthorized(format!("`{SIGNATURE_HEADER}`: {e}")))?;
    let now = state.now_ms();
    let window = state.0.limits.request_window_ms;
    if timestamp_ms.abs_diff(now) > window {
        return Err(Error::Unauthorized(format!(
            "request timestamp {timestamp_ms} is more than {window} ms from the hub's clock ({now}); \
             check the device's clock"
        )));
    }
    let client = state.0.pool.get().await?;
    let rows = client
        .query("SELECT * FROM hub_device_auth($1)", &[&Uuid::from_bytes(device_id.0)])
        .await?;
    let [row] = rows.as_slice() else {
        return Err(Error::Unauthorized(format!("device {device_id} is not enrolled")));
    };
    let key: &[u8] = row.get("public_key");
    let public_key = PublicKey(
        key.try_into()
            .map_err(|_| Error::Internal(anyhow::anyhow!("stored public key is not 32 bytes")))?,
    );
    if !verify_request(&public_key, &signature, &request_message(method, path, timestamp_ms, body))
    {
        return Err(Error::Unauthorized(format!(
            "request signature does not verify with device {device_id}'s enrolled key"
        )));
    }
    if row.get::<_, bool>("revoked") {
        return Err(Error::Forbidden(format!("device {device_id} has been revoked")));
    }
    if row.get::<_, i64>("credential_expires_at_ms") <= now as i64 {
        return Err(Error::Unauthorized(format!(
            "device {device_id}'s credential has expired; enroll again"
        )));
    }
    Ok(Caller {
        device_id,
        tenant_id: row.get("tenant_id"),
        location_id: row.get("location_id"),
        public_key,
        role: Role::parse(row.get("role")).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "stored device role {:?} is unknown",
                row.get::<_, &str>("role")
            ))
        })?,
    })
}
