//! Device authentication for the sync endpoints: the signed-request headers described in
//! [`crate::identity`], checked against the device's enrolled key.
//!
//! The device is found through `hub_device_auth` ([`crate::tenants::enrolled_device`]), the
//! one narrow path that reads devices before a tenant is known; everything after runs
//! under the device's tenant.

use axum::http::HeaderMap;
use thorbis_sync_protocol::{DeviceId, Nonce, Signature};

use super::{AppState, Error, Result};
use crate::identity::{
    DEVICE_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, request_message,
    verify_request,
};
use crate::tenants::{Caller, RequestNonce, enrolled_device};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    headers
        .get(name)
        .ok_or_else(|| Error::Unauthorized(format!("missing `{name}` header")))?
        .to_str()
        .map_err(|_| Error::Unauthorized(format!("`{name}` header is not ASCII")))
}

/// A request whose signature verified: who sent it, and the nonce it must spend before it
/// is served (see [`crate::tenants::spend_nonce`]).
pub(super) struct Signed {
    pub(super) caller: Caller,
    pub(super) nonce: RequestNonce,
}

/// The answer to a request whose nonce was spent already (or that went stale while it
/// waited).
pub(super) fn replayed(nonce: &RequestNonce) -> Error {
    Error::Unauthorized(format!(
        "this request (nonce {}) was received before, or is no longer fresh; sign every \
         request anew",
        nonce.nonce
    ))
}

/// Checks the request's signature headers over `body`.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Signed> {
    let device_id: DeviceId = header(headers, DEVICE_HEADER)?
        .parse()
        .map_err(|e| Error::Unauthorized(format!("`{DEVICE_HEADER}` is not a device id: {e}")))?;
    let timestamp_ms: u64 = header(headers, TIMESTAMP_HEADER)?.parse().map_err(|_| {
        Error::Unauthorized(format!("`{TIMESTAMP_HEADER}` must be Unix milliseconds"))
    })?;
    let nonce: Nonce = header(headers, NONCE_HEADER)?
        .parse()
        .map_err(|e| Error::Unauthorized(format!("`{NONCE_HEADER}`: {e}")))?;
    let signature: Signature = header(headers, SIGNATURE_HEADER)?
        .parse()
        .map_err(|e| Error::Unauthorized(format!("`{SIGNATURE_HEADER}`: {e}")))?;
    let now = state.now_ms();
    let window = state.limits().request_window_ms;
    if timestamp_ms.abs_diff(now) > window {
        return Err(Error::Unauthorized(format!(
            "request timestamp {timestamp_ms} is more than {window} ms from the hub's clock ({now}); \
             check the device's clock"
        )));
    }
    // An unknown device and a wrong signature get the same answer: a stranger cannot ask
    // which device ids exist.
    let unverified = || {
        Error::Unauthorized(format!(
            "the request signature does not verify for device {device_id}: sign with the key \
             enrolled for it, or enroll again"
        ))
    };
    let Some(enrolled) = enrolled_device(state.store(), device_id).await? else {
        return Err(unverified());
    };
    let caller = enrolled.caller;
    if !verify_request(
        &caller.public_key,
        &signature,
        &request_message(method, path, timestamp_ms, &nonce, body),
    ) {
        return Err(unverified());
    }
    if enrolled.revoked {
        // Its signature verified: the revoked device itself (or its stolen key) is trying.
        // The refusal stands whether or not the alert could be written.
        if let Err(e) = crate::alerts::revoked_device_seen(
            state.store(),
            caller.tenant_id,
            crate::log::uuid(device_id),
        )
        .await
        {
            tracing::warn!(error = %e, %device_id, "could not raise the revoked-device alert");
        }
        return Err(Error::Forbidden(format!("device {device_id} has been revoked")));
    }
    if enrolled.credential_expires_at_ms <= now as i64 {
        return Err(Error::Unauthorized(format!(
            "device {device_id}'s credential has expired; enroll again"
        )));
    }
    let nonce = RequestNonce {
        nonce,
        fresh_until_ms: timestamp_ms.saturating_add(window),
        window_ms: window,
    };
    Ok(Signed { caller, nonce })
}
