//! The hub as a sync peer over HTTP: `POST /api/v1/sync/push` and `/api/v1/sync/pull`
//! (long-poll), every request signed with the device key, and enrollment
//! (`POST /api/v1/enroll`).
//!
//! The hub does not speak the protocol's messages itself; this transport translates:
//!
//! | protocol message out | HTTP | messages back |
//! |---|---|---|
//! | `Hello{our vector}` | pull, no wait | `Ack{hub's tips}`, `Events` if it had any |
//! | `Events{batch}` | push | `Ack{tips the hub reported}` |
//! | `Ack` | nothing: the next pull's `have` says it | none |
//! | (listen) | pull with `wait_ms` | `Ack{hub's tips}`, `Events` if any |
//!
//! The hub's tips (`x-thorbis-tips`) are what make a restart cheap: the agent learns what
//! the hub holds of its own chain and pushes only the rest.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use thorbis_sync_protocol::clock::Clock;
use thorbis_sync_protocol::sync::Message;
use thorbis_sync_protocol::{
    Credential, DeviceId, PublicKey, Signature, VersionVector, decode_batch, encode_batch,
};

use super::{SharedStore, Transport, TransportError};
use crate::store::{Enrollment, RequestSigner};

const PUSH_PATH: &str = "/api/v1/sync/push";
const PULL_PATH: &str = "/api/v1/sync/pull";
const ENROLL_PATH: &str = "/api/v1/enroll";
/// Longest a connection attempt may take before the hub counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a push or a non-waiting pull may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle connection to the hub is kept for the next request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP client for the hub: bounded connection times; `https://` hubs are checked
/// against the operating system's trusted roots.
pub fn http_client() -> Result<reqwest::Client, TransportError> {
    http_client_trusting(None)
}

/// [`http_client`], also trusting the CA certificate(s) in `ca_pem` (a hub with its own
/// certificate authority, or a self-signed certificate).
pub fn http_client_trusting(ca_pem: Option<&[u8]>) -> Result<reqwest::Client, TransportError> {
    let failed = |e: reqwest::Error| {
        TransportError::Unreachable(format!("building the HTTP client: {}", error_chain(&e)))
    };
    // Idle connections are dropped before the hub's own idle timeout (30 s by default)
    // closes them, so a request is never sent down a connection the hub is closing.
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    if let Some(pem) = ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(failed)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(failed)
}

/// The hub, reached over HTTP as this device.
#[derive(Clone, Debug)]
pub struct HubTransport {
    client: reqwest::Client,
    base: String,
    signer: RequestSigner,
    clock: Arc<dyn Clock>,
    pull_limit: usize,
    /// Requests sent, shared by clones (for the status).
    requests: Arc<AtomicU64>,
    /// Bumped after every push the hub accepted (the blob sync waits on it: the hub takes
    /// a blob once a pushed change names it).
    pushed: Arc<tokio::sync::watch::Sender<u64>>,
}

impl HubTransport {
    /// A transport to the hub at `base` (e.g. `http://127.0.0.1:8080`), signing as `signer`.
    #[must_use]
    pub fn new(
        client: reqwest::Client,
        base: &str,
        signer: RequestSigner,
        clock: Arc<dyn Clock>,
        pull_limit: usize,
    ) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            signer,
            clock,
            pull_limit,
            requests: Arc::new(AtomicU64::new(0)),
            pushed: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// A receiver woken after every push the hub accepted.
    pub(crate) fn pushes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pushed.subscribe()
    }

    /// Sends a signed POST and returns the successful response.
    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, TransportError> {
        check(self.send_signed(reqwest::Method::POST, path, body, content_type, timeout).await?)
            .await
    }

    /// Sends a request signed as this device; the response whatever its status.
    pub(crate) async fn send_signed(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        // A failing random number generator leaves this round unsent; it is retried like a
        // network failure.
        let signed = self
            .signer
            .sign(method.as_str(), path, self.clock.now_ms(), &body)
            .map_err(|e| TransportError::Unreachable(format!("could not sign the request: {e}")))?;
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        request
            .header(CONTENT_TYPE, content_type)
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| TransportError::Unreachable(error_chain(&e)))
    }

    /// A pull: what the hub has beyond `have`, waiting up to `wait` for something new.
    async fn pull(
        &self,
        have: &VersionVector,
        wait: Duration,
    ) -> Result<Vec<Message>, TransportError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let body = serde_json::to_vec(&serde_json::json!({
            "have": have,
            "limit": self.pull_limit,
            "wait_ms": wait_ms,
        }))
        .map_err(|e| TransportError::Protocol(e.to_string()))?;
        let response =
            self.post(PULL_PATH, body, "application/json", REQUEST_TIMEOUT + wait).await?;
        let tips = tips_header(response.headers())?;
        let more = response.headers().get("x-thorbis-more").is_some_and(|v| v == "true");
        let bytes =
            response.bytes().await.map_err(|e| TransportError::Unreachable(error_chain(&e)))?;
        let batch = decode_batch(&bytes)
            .map_err(|e| TransportError::Protocol(format!("pulled batch does not decode: {e}")))?;
        let mut messages = vec![Message::Ack { vector: tips }];
        if !batch.events.is_empty() {
            messages.push(Message::Events { batch, more });
        }
        Ok(messages)
    }

    async fn push(
        &self,
        batch: &thorbis_sync_protocol::Batch,
    ) -> Result<Vec<Message>, TransportError> {
        #[derive(Deserialize)]
        struct Report {
            tips: std::collections::BTreeMap<DeviceId, u64>,
        }
        let response = self
            .post(PUSH_PATH, encode_batch(batch), "application/octet-stream", REQUEST_TIMEOUT)
            .await?;
        let bytes =
            response.bytes().await.map_err(|e| TransportError::Unreachable(error_chain(&e)))?;
        let report: Report = serde_json::from_slice(&bytes)
            .map_err(|e| TransportError::Protocol(format!("push report: {e}")))?;
        self.pushed.send_modify(|n| *n = n.wrapping_add(1));
        Ok(vec![Message::Ack { vector: report.tips.into_iter().collect() }])
    }
}

impl Transport for HubTransport {
    fn name(&self) -> String {
        "hub".into()
    }

    fn send(
        &mut self,
        msg: Message,
    ) -> impl Future<Output = Result<Vec<Message>, TransportError>> + Send {
        let this = self.clone();
        async move {
            match msg {
                Message::Hello { vector } => this.pull(&vector, Duration::ZERO).await,
                Message::Events { batch, .. } => this.push(&batch).await,
                // The hub learns what we hold from the next pull's `have`.
                Message::Ack { .. } => Ok(Vec::new()),
            }
        }
    }

    fn listen(
        &mut self,
        have: VersionVector,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Message>, TransportError>> + Send {
        let this = self.clone();
        async move { this.pull(&have, wait).await }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// Parses `x-thorbis-tips: <device>=<seq>,...`.
fn tips_header(headers: &HeaderMap) -> Result<VersionVector, TransportError> {
    let bad = |why: &str| TransportError::Protocol(format!("x-thorbis-tips: {why}"));
    let value = headers
        .get("x-thorbis-tips")
        .ok_or_else(|| bad("missing; the hub is older than this agent"))?
        .to_str()
        .map_err(|_| bad("not ASCII"))?;
    let mut vector = VersionVector::new();
    for entry in value.split(',').filter(|e| !e.is_empty()) {
        let (device, seq) = entry.split_once('=').ok_or_else(|| bad("entry without `=`"))?;
        let device: DeviceId = device.parse().map_err(|_| bad("bad device id"))?;
        let seq: u64 = seq.parse().map_err(|_| bad("bad seq"))?;
        vector.advance(device, seq);
    }
    Ok(vector)
}

/// Maps a non-success status to the error the retry policy acts on.
pub(crate) async fn check(
    response: reqwest::Response,
) -> Result<reqwest::Response, TransportError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after_ms = retry_after_ms(response.headers());
    let message = response.text().await.unwrap_or_default();
    let message = format!("{status}: {}", message.chars().take(500).collect::<String>());
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            TransportError::CredentialRejected(message)
        }
        StatusCode::TOO_MANY_REQUESTS => TransportError::RateLimited { retry_after_ms, message },
        s if s.is_server_error() => TransportError::Server(message),
        _ => TransportError::Refused(message),
    })
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the hub and is ignored).
fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s.saturating_mul(1000))
}

/// An error with its causes, which is where reqwest says "connection refused".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why enrollment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The hub could not be reached or answered with an error.
    #[error("enrollment request failed: {0}")]
    Transport(#[from] TransportError),
    /// The hub's answer is not a credential for this device.
    #[error("the hub's answer is not a valid credential: {0}")]
    Invalid(String),
    /// The store could not record it.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

#[derive(Deserialize)]
struct EnrollResponse {
    credential: Credential,
    signature: Signature,
    tenant_public_key: PublicKey,
    credential_bytes: String,
    reference_log_device_id: DeviceId,
}

/// Enrolls this terminal with the hub at `hub_url` using a one-time `code`: sends the
/// store's public key, checks that the credential that comes back is signed by the tenant
/// key and names this key, and records it (with the tenant key, hub URL and location) in
/// the store. The store takes the device id the hub assigned.
pub async fn enroll(
    store: &SharedStore,
    client: &reqwest::Client,
    hub_url: &str,
    code: &str,
) -> Result<Enrollment, EnrollError> {
    let base = hub_url.trim_end_matches('/');
    let public_key = store.with(|s| s.public_key());
    let body = serde_json::json!({ "code": code, "public_key": public_key });
    let response = client
        .post(format!("{base}{ENROLL_PATH}"))
        .json(&body)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| TransportError::Unreachable(error_chain(&e)))?;
    let bytes = check(response)
        .await?
        .bytes()
        .await
        .map_err(|e| TransportError::Unreachable(error_chain(&e)))?;
    let answer: EnrollResponse =
        serde_json::from_slice(&bytes).map_err(|e| EnrollError::Invalid(e.to_string()))?;
    let credential = verify_credential(&answer, public_key)?;
    let enrollment = Enrollment {
        hub_url: base.to_owned(),
        device_id: answer.credential.device_id,
        tenant_id: answer.credential.tenant_id,
        location_id: answer.credential.location_id,
        role: answer.credential.role.as_str().to_owned(),
        tenant_public_key: answer.tenant_public_key,
        reference_log_id: answer.reference_log_device_id,
        credential,
        credential_signature: answer.signature,
        expires_at_ms: answer.credential.expires_at_ms,
    };
    let recorded = enrollment.clone();
    store.run(move |s| s.record_enrollment(&recorded)).await?;
    Ok(enrollment)
}

/// Checks that the credential is signed by the tenant key and names this device's key, and
/// that the bytes the hub says it signed are exactly the credential's. Returns those bytes.
fn verify_credential(answer: &EnrollResponse, ours: PublicKey) -> Result<Vec<u8>, EnrollError> {
    let invalid = |why: &str| EnrollError::Invalid(why.to_owned());
    let credential = &answer.credential;
    if credential.public_key != ours {
        return Err(invalid("the credential is for another key"));
    }
    if !credential.verify(&answer.tenant_public_key, &answer.signature) {
        return Err(invalid("the credential's signature does not verify with the tenant key"));
    }
    let bytes = credential.canonical_bytes();
    if hex_decode(&answer.credential_bytes).as_deref() != Some(bytes.as_slice()) {
        return Err(invalid("credential_bytes differ from the credential"));
    }
    Ok(bytes)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}
