//! The sync shell's failure handling against scripted peers, on tokio's paused clock: every
//! schedule below runs in virtual time, so minutes of retries take milliseconds and the
//! request counts are exact consequences of the retry policy, not of machine speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Result, ensure};
use thorbis_agent::sync::{
    CredentialState, RetryPolicy, SharedStore, ShellConfig, SyncHandle, Transport, TransportError,
};
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_sync_protocol::sync::Message;
use thorbis_sync_protocol::{
    Batch, ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventKind, Hash32, Hlc, VersionVector,
};

const NOW: u64 = 1_790_000_000_000;

type Answer = Result<Vec<Message>, TransportError>;

/// A peer that answers every request the same way.
#[derive(Clone)]
struct Scripted {
    requests: Arc<AtomicU64>,
    answer: Arc<dyn Fn() -> Answer + Send + Sync>,
}

impl Transport for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    async fn send(&mut self, _msg: Message) -> Result<Vec<Message>, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        (self.answer)()
    }

    async fn listen(
        &mut self,
        _have: VersionVector,
        _wait: Duration,
    ) -> Result<Vec<Message>, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        (self.answer)()
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

const POLICY: RetryPolicy =
    RetryPolicy { base_ms: 100, max_ms: 2_000, credential_retry_ms: 60_000 };

/// Runs a shell against `answer` (given the terminal's device id) for `secs` virtual
/// seconds; returns the requests made and the final status.
async fn run_against(
    answer: impl Fn(DeviceId) -> Answer + Send + Sync + 'static,
    secs: u64,
) -> Result<(u64, thorbis_agent::sync::PeerStatus)> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig {
        clock: Arc::new(ManualClock::new(NOW)),
        id_seed: Some(1),
        device_key_seed: Some([1; 32]),
        ..StoreConfig::new(dir.path().join("agent.db"))
    })?;
    let config = ShellConfig { retry: POLICY, seed: 5, ..ShellConfig::default() };
    let device = store.device_id();
    let mut handle = SyncHandle::new(SharedStore::new(store), config);
    let requests = Arc::new(AtomicU64::new(0));
    let answer = Arc::new(move || answer(device));
    handle.add_peer(Scripted { requests: Arc::clone(&requests), answer });
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let status = handle.status().peers["scripted"].clone();
    handle.shutdown().await;
    Ok((requests.load(Ordering::Relaxed), status))
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_peer_is_retried_with_capped_exponential_backoff() -> Result<()> {
    let (requests, status) =
        run_against(|_| Err(TransportError::Unreachable("connection refused".into())), 60).await?;
    // Steps 100, 200, ... capped at 2 s, each at least half its step: the first five fit in
    // 3.1 s, then at least one per 2 s and at most one per second.
    ensure!((30..=70).contains(&requests), "{requests} requests in 60 s");
    ensure!(!status.online && status.last_error.as_deref().is_some_and(|e| e.contains("refused")));
    ensure!(status.credential == CredentialState::Unknown);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_too() -> Result<()> {
    let (requests, status) =
        run_against(|_| Err(TransportError::Server("503 Service Unavailable".into())), 60).await?;
    ensure!((30..=70).contains(&requests), "{requests} requests in 60 s");
    ensure!(!status.online);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() -> Result<()> {
    let (requests, _) = run_against(
        |_| {
            Err(TransportError::RateLimited {
                retry_after_ms: Some(10_000),
                message: "429 Too Many Requests".into(),
            })
        },
        60,
    )
    .await?;
    ensure!((5..=7).contains(&requests), "{requests} requests in 60 s with Retry-After: 10");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_rejected_credential_is_retried_slowly_never_in_a_loop() -> Result<()> {
    let (requests, status) = run_against(
        |_| Err(TransportError::CredentialRejected("403 Forbidden: device revoked".into())),
        600,
    )
    .await?;
    // 30 to 60 s apart: between 10 and 21 requests in ten minutes.
    ensure!((10..=21).contains(&requests), "{requests} requests in 600 s");
    ensure!(
        matches!(&status.credential, CredentialState::Rejected { reason } if reason.contains("revoked")),
        "{status:?}"
    );
    Ok(())
}

/// A peer that keeps sending one signed event of `device` (key seed 1), stamped an hour
/// ahead of the terminal's clock.
fn from_the_future(device: DeviceId) -> Answer {
    let key =
        DeviceKey::from_seed(&[1; 32]).map_err(|e| TransportError::Protocol(e.to_string()))?;
    let event = Event {
        device_id: device,
        seq: 1,
        hlc: Hlc { wall_ms: NOW + 3_600_000, counter: 0 },
        prev_hash: Hash32::ZERO,
        kind: EventKind::new("order.opened")
            .map_err(|e| TransportError::Protocol(e.to_string()))?,
        payload: b"{}".to_vec(),
    };
    let Checkpoint { signature, .. } = key.sign_checkpoint(device, ChainTip::of(&event));
    let checkpoint = Checkpoint { device_id: device, seq: 1, hash: event.hash(), signature };
    Ok(vec![
        Message::Ack { vector: VersionVector::new() },
        Message::Events {
            batch: Batch { events: vec![event], checkpoints: vec![checkpoint] },
            more: false,
        },
    ])
}

#[tokio::test(start_paused = true)]
async fn events_that_cannot_be_stored_yet_do_not_make_a_busy_loop() -> Result<()> {
    // A device without a key here: unverifiable, not stored, and asked for again only after
    // a backoff.
    let (requests, status) = run_against(|_| from_the_future(DeviceId([0; 16])), 60).await?;
    ensure!((15..=70).contains(&requests), "{requests} requests in 60 s");
    ensure!(
        status.last_error.as_deref().is_some_and(|e| e.contains("no key"))
            && status.events_received == 0,
        "{status:?}"
    );
    // A key known (seed 1 is this terminal's own), but the stamp is an hour ahead: deferred,
    // and the same backoff.
    let (requests, status) = run_against(from_the_future, 60).await?;
    ensure!((15..=70).contains(&requests), "{requests} requests in 60 s");
    ensure!(
        status.last_error.as_deref().is_some_and(|e| e.contains("ahead"))
            && status.events_received == 0,
        "{status:?}"
    );
    Ok(())
}
