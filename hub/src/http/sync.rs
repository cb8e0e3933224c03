//! `POST /api/v1/sync/push` and `POST /api/v1/sync/pull`.
//!
//! # Push
//!
//! Body: a batch, binary (`thorbis_sync_protocol::encode_batch`, any content type) or JSON
//! (`batch_to_json`, with `Content-Type: application/json`), verified and stored by
//! [`crate::log::push`] (see there). A batch that does not continue the hub's chain (a gap)
//! or forks it is refused with 409 (a fork also raises an alert); one that fails
//! verification, follows no checkpoint, or is stamped too far ahead with 422; events of a
//! device that is not the tenant's with 403. A verified fact that its author may not write
//! (or a revoked device wrote after its revocation, or whose values are out of bounds) does
//! not refuse the push: it is stored, quarantined and listed. A push that would take the
//! pushing device past its storage quota is refused with 507 (and raises an alert); a
//! relayed device over its quota has its events left out and listed, the rest is stored.
//!
//! Response: `{"accepted": n, "duplicates": n, "tips": {"<device>": seq}, "quarantined":
//! [{"device": id, "seq": n, "code": reason}], "over_quota": [device, ...], "released": n}`:
//! `released` counts facts of earlier pushes, quarantined for want of something this push
//! brought, folded now.
//!
//! # Pull
//!
//! Body: `{"have": {"<device>": seq, ...}, "limit": n}` (JSON, signed like a push). The
//! answer is a page of what the caller lacks in its scope ([`crate::log::page`]): at most
//! `limit` events (the hub's cap applies), each device's run ending at a signed
//! checkpoint so the caller can verify it with `verify_chain`. Binary batch by
//! default, with `x-thorbis-more: true|false`; with `Accept: application/json`,
//! `{"batch": <batch JSON>, "more": bool, "tips": {...}}`. Every answer also says what the
//! hub holds of the devices in the caller's scope (`x-thorbis-tips: <device>=<seq>,...`, or
//! `tips` in JSON), so a device that restarted knows where to resume pushing its own
//! events without guessing.
//!
//! Live mode is a long-poll: with `"wait_ms": n` (capped by the hub), a pull that finds
//! nothing waits until a push for the caller's tenant commits on any hub process (see
//! [`crate::live`]) or the time is up, then answers as usual (possibly empty).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use thorbis_sync_protocol::{VersionVector, batch_from_json, decode_batch, encode_batch};
use tokio::sync::broadcast;

use super::auth::{Signed, authenticate, replayed};
use super::{AppState, Error, Result, body_bytes, json_body};
use crate::log::{self, LogError, Page};
use crate::tenants::spend_nonce_alone;

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
    let Signed { caller: device, nonce } =
        authenticate(state, headers, "POST", PUSH_PATH, &body).await?;
    let batch = if is_json(headers, header::CONTENT_TYPE) {
        let text = std::str::from_utf8(&body)
            .map_err(|_| Error::BadRequest("JSON batch is not UTF-8".into()))?;
        batch_from_json(text)
    } else {
        decode_batch(&body)
    }
    .map_err(|e| Error::BadRequest(format!("malformed batch: {e}")))?;
    let max = state.limits().max_batch_events;
    if batch.events.len() > max {
        return Err(Error::PayloadTooLarge(format!(
            "batch has {} events; the hub accepts at most {max} per push",
            batch.events.len()
        )));
    }
    let pushed = match log::push(state.store(), &device, &batch, &nonce).await {
        Err(LogError::Replayed) => return Err(replayed(&nonce)),
        pushed => pushed?,
    };
    state.0.metrics.ingested(pushed.accepted, pushed.quarantined.len() as u64);
    if pushed.accepted > 0 {
        let newest = batch.events.iter().map(|e| e.hlc.wall_ms).max().unwrap_or_default();
        state.0.metrics.lag(state.now_ms(), newest);
    }
    let quarantined: Vec<_> = pushed
        .quarantined
        .iter()
        .map(|(event, reason)| {
            json!({ "device": event.device_id, "seq": event.seq, "code": reason.code() })
        })
        .collect();
    Ok(Json(json!({
        "accepted": pushed.accepted,
        "duplicates": pushed.duplicates,
        "tips": pushed.tips,
        "quarantined": quarantined,
        "over_quota": pushed.over_quota,
        "released": pushed.released.len(),
    })))
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
        Ok(Page { batch, more, tips }) => {
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
) -> Result<Page> {
    let body = body_bytes(body)?;
    let Signed { caller: device, nonce } =
        authenticate(state, headers, "POST", PULL_PATH, &body).await?;
    if !spend_nonce_alone(state.store(), &device, &nonce).await? {
        return Err(replayed(&nonce));
    }
    let req: PullRequest = json_body(&body)?;
    let wait = Duration::from_millis(req.wait_ms.unwrap_or(0).min(state.limits().max_wait_ms));
    // Subscribe before the first look, so a push committed in between still wakes us.
    let mut wakeups = state.store().notifier.subscribe();
    // Waiting uses the runtime's timer, not the injected clock: it bounds real latency,
    // and no business decision depends on it.
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let page = log::page(state.store(), &device, &req.have, req.limit).await?;
        if !page.batch.events.is_empty() || wait.is_zero() {
            return Ok(page);
        }
        // Sleep until this tenant (or everyone) is notified, or the wait is over.
        let _waiting = state.0.metrics.waiting();
        loop {
            match tokio::time::timeout_at(deadline, wakeups.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return Ok(page),
                Ok(Ok(tenant)) if tenant != device.tenant_id && tenant != crate::live::EVERYONE => {
                }
                Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => break,
            }
        }
    }
}
