//! `/api/v1/blobs/{id}/...`: the bytes of work orders' photos, drawn signatures and files,
//! moved apart from events (see `thorbis_sync_protocol::blob` and [`crate::blobs`]). Every
//! request is signed by the device, like a pull, and served once.
//!
//! * `GET .../upload`: what the hub holds of a blob this device named,
//!   `{"received": n, "complete": bool, "size": n}`; 404 while no admitted change of the
//!   device names it.
//! * `POST .../upload/{offset}`: a chunk (at most `BLOB_CHUNK_BYTES`) at `offset`; the new
//!   state. An offset other than what the hub holds is answered 409 with the state, so
//!   the device goes on from there; bytes that do not hash to the id, 422 (dropped); past
//!   the tenant's quota, 507.
//! * `GET .../from/{offset}`: up to `MAX_READ_BYTES` of a complete blob from `offset`, with
//!   `x-thorbis-blob-size`, for a device a work order assigned to it names the blob; 404
//!   otherwise (whether or not it exists: no one learns of another's blobs).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thorbis_sync_protocol::BlobId;

use super::auth::{Signed, authenticate, replayed};
use super::{AppState, Error, Result, body_bytes};
use crate::blobs::{self, BlobsError, UploadState};
use crate::tenants::spend_nonce_alone;

fn blob_id(text: &str) -> Result<BlobId> {
    text.parse().map_err(|_| {
        Error::BadRequest(format!("`{text}` is not a blob id (64 lowercase hex digits)"))
    })
}

/// Authenticates a blob request and spends its nonce.
async fn signed(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Signed> {
    let signed = authenticate(state, headers, method, path, body).await?;
    if !spend_nonce_alone(state.store(), &signed.caller, &signed.nonce).await? {
        return Err(replayed(&signed.nonce));
    }
    Ok(signed)
}

pub(super) async fn upload_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<UploadState>> {
    let id = blob_id(&id)?;
    let Signed { caller, .. } =
        signed(&state, &headers, "GET", &format!("{}/upload", id.path()), &[]).await?;
    Ok(Json(blobs::upload_state(state.store(), caller.tenant_id, caller.device_id, id).await?))
}

pub(super) async fn upload(
    State(state): State<AppState>,
    Path((id, offset)): Path<(String, u64)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let id = blob_id(&id)?;
        let body = body_bytes(body)?;
        let path = format!("{}/upload/{offset}", id.path());
        let Signed { caller, .. } = signed(&state, &headers, "POST", &path, &body).await?;
        let appended =
            blobs::append(state.store(), caller.tenant_id, caller.device_id, id, offset, &body)
                .await;
        match appended {
            Ok(held) => Ok(Json(held).into_response()),
            // The state, so the device resumes where the hub is.
            Err(BlobsError::Offset(held)) => Ok((StatusCode::CONFLICT, Json(held)).into_response()),
            Err(e) => Err(Error::from(e)),
        }
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn download(
    State(state): State<AppState>,
    Path((id, offset)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = blob_id(&id)?;
    let path = format!("{}/from/{offset}", id.path());
    let Signed { caller, .. } = signed(&state, &headers, "GET", &path, &[]).await?;
    let (bytes, size) =
        blobs::read_for_device(state.store(), caller.tenant_id, caller.device_id, id, offset)
            .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::HeaderName::from_static("x-thorbis-blob-size"), size.to_string()),
        ],
        bytes,
    )
        .into_response())
}
