//! Blob sync with the hub: the photos, drawn signatures and files that this device's work
//! orders name travel here, apart from events (see `thorbis_sync_protocol::blob`).
//!
//! One task, woken whenever the store gained events (a new attachment, here or from the
//! hub) or the hub accepted a push (which may carry the change naming a blob), and
//! otherwise every [`IDLE`]. Each round reads the attachments of every work order
//! the store holds, then:
//!
//! * **downloads** each blob that is not on this device, in chunks appended to a partial
//!   file, so a cut connection or a restart resumes at the byte it stopped; the finished
//!   file is kept only if it hashes to its id;
//! * **uploads** each blob this device attached that the hub has not confirmed: it asks how
//!   much the hub holds and sends the rest. The hub takes a blob only once an admitted
//!   change names it, so an upload that runs ahead of its change's push waits for a later
//!   round ([`RETRY`]).
//!
//! One blob that fails (the hub lacks it for now, its bytes do not match) never stops the
//! others; an unreachable hub ends the round.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use thorbis_domain::attachment::BlobRef;
use thorbis_sync_protocol::{BLOB_CHUNK_BYTES, BlobId};
use tokio::sync::watch;

use super::hub::{HubTransport, check, error_chain};
use super::{SharedStore, SyncStatus, TransportError};
use crate::blobs::{BlobError, BlobStore};

/// How long the task sleeps when nothing is pending (it wakes earlier on news).
const IDLE: Duration = Duration::from_secs(60);
/// How soon a round that left something pending is tried again.
const RETRY: Duration = Duration::from_secs(2);
/// How long one blob request may take: a chunk or an answer (at most 1 MiB) still gets
/// through a link of about 9 KB/s, a basement's weak signal.
const BLOB_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the task lets news gather before a round.
const COALESCE: Duration = Duration::from_millis(200);
/// How long the task waits after the hub could not be reached.
const UNREACHABLE: Duration = Duration::from_secs(10);

/// The blob sync's state, part of [`SyncStatus`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobStatus {
    /// Blobs named by this device's work orders that are not on it yet.
    pub missing: u64,
    /// Blobs this device attached that the hub has not confirmed yet.
    pub unconfirmed: u64,
    /// Blobs downloaded and kept since start.
    pub downloaded: u64,
    /// Blobs the hub confirmed since start.
    pub uploaded: u64,
    /// The last failure, kept until a round succeeds.
    pub last_error: Option<String>,
}

/// What the hub holds of an upload.
#[derive(Debug, Deserialize)]
struct UploadState {
    received: u64,
    complete: bool,
}

/// The blob sync task's parts.
pub(super) struct BlobSync {
    pub(super) store: SharedStore,
    pub(super) hub: HubTransport,
    pub(super) status: Arc<Mutex<SyncStatus>>,
}

/// What a round left to do.
#[derive(Default)]
struct Round {
    missing: u64,
    unconfirmed: u64,
    downloaded: u64,
    uploaded: u64,
    error: Option<String>,
}

impl BlobSync {
    /// Runs rounds until `shutdown`.
    pub(super) async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.store.subscribe();
        let mut pushes = self.hub.pushes();
        // Rounds in a row that left something pending and moved nothing: the wait doubles,
        // so a blob the hub does not have yet (its laptop is offline) costs little.
        let mut stuck = 0u32;
        loop {
            // Marked before the round: news that arrives during it wakes the next one.
            changes.mark_unchanged();
            pushes.mark_unchanged();
            let wait = match self.round().await {
                Ok(round) => {
                    let pending = round.missing + round.unconfirmed > 0;
                    let moved = round.downloaded + round.uploaded > 0;
                    stuck = if pending && !moved { stuck.saturating_add(1) } else { 0 };
                    self.report(&round, None);
                    let backoff = 2u32.saturating_pow(stuck.saturating_sub(1).min(5));
                    if pending { (RETRY * backoff).min(IDLE) } else { IDLE }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "blob sync: the hub is unreachable");
                    self.report(&Round::default(), Some(e.to_string()));
                    UNREACHABLE
                }
            };
            tokio::select! {
                _ = changes.changed() => {}
                _ = pushes.changed() => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                return;
            }
            // News comes in bursts (a pull of many events): one round after the burst.
            tokio::time::sleep(COALESCE).await;
        }
    }

    fn report(&self, round: &Round, unreachable: Option<String>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let blobs = &mut status.blobs;
        if unreachable.is_none() {
            blobs.missing = round.missing;
            blobs.unconfirmed = round.unconfirmed;
        }
        blobs.downloaded += round.downloaded;
        blobs.uploaded += round.uploaded;
        blobs.last_error = unreachable.or_else(|| round.error.clone());
    }

    /// One pass over every attachment (see the module docs).
    async fn round(&self) -> Result<Round, TransportError> {
        let (orders, me, blobs) = self
            .store
            .run(|s| Ok::<_, crate::StoreError>((s.work_orders()?, s.device_id(), s.blobs())))
            .await
            .map_err(|e| TransportError::Protocol(format!("reading the store: {e}")))?;
        let mut round = Round::default();
        // Per blob: whether a job of this laptop names it (it comes here), and whether this
        // laptop attached it anywhere (it goes to the hub; a job moved to someone else
        // since included).
        let mut wanted: BTreeMap<BlobId, (BlobRef, bool, bool)> = BTreeMap::new();
        for (_, view) in orders {
            let mine = view.technician == Some(me);
            for a in view.attachments {
                let entry = wanted.entry(a.blob.id).or_insert((a.blob, false, false));
                entry.1 |= mine;
                entry.2 |= a.by == Some(me);
            }
        }
        for (blob, mine, attached_here) in wanted.into_values() {
            if !blobs.has(blob.id) {
                if !mine {
                    continue;
                }
                match self.download(&blobs, blob).await {
                    Ok(true) => round.downloaded += 1,
                    Ok(false) => round.missing += 1,
                    Err(Failed::Hub(e)) => return Err(e),
                    Err(Failed::Blob(e)) => {
                        round.missing += 1;
                        round.error = Some(e);
                    }
                }
                continue;
            }
            if !attached_here || self.confirmed(blob.id).await {
                continue;
            }
            match self.upload(&blobs, blob).await {
                Ok(true) => {
                    round.uploaded += 1;
                    let id = blob.id;
                    let marked = self.store.run(move |s| s.mark_blob_uploaded(id)).await;
                    if let Err(e) = marked {
                        round.error = Some(e.to_string());
                    }
                }
                Ok(false) => round.unconfirmed += 1,
                Err(Failed::Hub(e)) => return Err(e),
                Err(Failed::Blob(e)) => {
                    round.unconfirmed += 1;
                    round.error = Some(e);
                }
            }
        }
        Ok(round)
    }

    async fn confirmed(&self, id: BlobId) -> bool {
        self.store.run(move |s| s.blob_uploaded(id)).await.unwrap_or(false)
    }

    /// Fetches the rest of `blob` from the hub; whether it is now kept (false: the hub
    /// does not have it yet).
    async fn download(&self, blobs: &BlobStore, blob: BlobRef) -> Result<bool, Failed> {
        loop {
            let have = blobs.partial_len(blob.id);
            if have >= blob.bytes {
                return match blobs.finish_partial(blob.id) {
                    Ok(()) => Ok(true),
                    Err(e) => Err(Failed::Blob(e.to_string())),
                };
            }
            let path = format!("{}/from/{have}", blob.id.path());
            let response = self.send(Method::GET, &path, Vec::new()).await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(false);
            }
            let chunk = check(response)
                .await
                .map_err(Failed::Hub)?
                .bytes()
                .await
                .map_err(|e| Failed::Hub(TransportError::Unreachable(error_chain(&e))))?;
            if chunk.is_empty() || have + chunk.len() as u64 > blob.bytes {
                return Err(Failed::Blob(format!(
                    "blob {}: the hub sent {} bytes at {have} of {}",
                    blob.id,
                    chunk.len(),
                    blob.bytes
                )));
            }
            blobs.append_partial(blob.id, have, &chunk).map_err(Failed::blob)?;
        }
    }

    /// Sends what the hub lacks of `blob`; whether the hub now holds it in full (false: it
    /// does not take it yet, its change not being there).
    async fn upload(&self, blobs: &BlobStore, blob: BlobRef) -> Result<bool, Failed> {
        let Some(bytes) = blobs.get(blob.id).map_err(Failed::blob)? else {
            return Ok(false);
        };
        let state_path = format!("{}/upload", blob.id.path());
        let response = self.send(Method::GET, &state_path, Vec::new()).await?;
        // Not named at the hub yet, or another device is sending it: a later round.
        if matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::TOO_MANY_REQUESTS) {
            return Ok(false);
        }
        let mut state: UploadState = json(response).await?;
        while !state.complete {
            let at = usize::try_from(state.received).unwrap_or(usize::MAX).min(bytes.len());
            let end = bytes.len().min(at + BLOB_CHUNK_BYTES);
            let path = format!("{}/upload/{at}", blob.id.path());
            let chunk = bytes[at..end].to_vec();
            let response = self.send(Method::POST, &path, chunk).await?;
            state = match response.status() {
                // Another try got there first: go on from what the hub says it holds.
                StatusCode::CONFLICT | StatusCode::OK => json(response).await?,
                StatusCode::TOO_MANY_REQUESTS => return Ok(false),
                _ => {
                    let refused = check(response).await.err();
                    return Err(Failed::Blob(format!(
                        "blob {}: the hub refused it: {}",
                        blob.id,
                        refused.map(|e| e.to_string()).unwrap_or_default()
                    )));
                }
            };
            if !state.complete && state.received as usize == at {
                return Err(Failed::Blob(format!("blob {}: the hub kept nothing", blob.id)));
            }
        }
        Ok(true)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, Failed> {
        self.hub
            .send_signed(method, path, body, "application/octet-stream", BLOB_TIMEOUT)
            .await
            .map_err(Failed::Hub)
    }
}

/// Why one blob did not move.
enum Failed {
    /// The hub could not be reached (or refused the device): the round ends.
    Hub(TransportError),
    /// This blob only.
    Blob(String),
}

impl Failed {
    #[allow(clippy::needless_pass_by_value, reason = "a `map_err` argument")]
    fn blob(e: BlobError) -> Self {
        Self::Blob(e.to_string())
    }
}

async fn json<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, Failed> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failed::Hub(TransportError::Unreachable(error_chain(&e))))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failed::Hub(TransportError::Protocol(format!("blob upload state: {e}"))))
}
