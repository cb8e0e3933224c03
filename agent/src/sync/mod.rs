//! The sync shell: tokio tasks that move events between this terminal's [`Store`] and its
//! peers, driving the sans-IO [`PeerState`](thorbis_sync_protocol::sync::PeerState).
//!
//! # Design
//!
//! * **One task per peer**, the same loop for every peer ([`peer`]); what differs is the
//!   [`Transport`]: [`hub::HubTransport`] speaks the hub's HTTP push/pull,
//!   [`lan::LanTransport`] a store terminal's authenticated TLS connection
//!   ([`SyncHandle::start_lan`] dials the configured peers and accepts the others). A
//!   round says everything the protocol has to say (`Hello`, pushes in batches of at most
//!   `max_batch_events`, bounded per round), then listens: for the hub a long-poll, for a
//!   LAN peer its connection, so new events arrive within milliseconds of their commit,
//!   cut short the moment this terminal writes something to send.
//! * **The store stays usable**: it is shared as [`SharedStore`] (an `Arc<Mutex<Store>>`);
//!   the shell takes the lock only on the blocking pool (`spawn_blocking`) and only for one
//!   step (generate a message, or verify and store one received message in one
//!   transaction). Screens and commands lock it the same way, briefly. Commands run through
//!   [`SharedStore::execute`] wake the peers so a sale leaves at once.
//! * **Failures back off** ([`backoff`]): exponential with seeded jitter for an unreachable
//!   hub, 5xx or a refused exchange (the peer's state is then forgotten and the next round
//!   starts with `Hello`, which is how a restarted hub is picked up); `Retry-After` for 429;
//!   a slow, steady retry while the hub rejects the credential (401/403). No path loops
//!   without waiting on the network or a timer.
//! * **Status** ([`SyncStatus`]) per peer, readable at any time from the [`SyncHandle`].
//! * **Blobs** (photos, drawn signatures, files) move in a task of their own beside the
//!   hub's (`blobs.rs`): lazily, resumably, verified by hash.

pub mod backoff;
mod blobs;
pub mod hub;
pub mod lan;
mod peer;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use thorbis_domain::Command;
use thorbis_sync_protocol::clock::Clock;
use thorbis_sync_protocol::sync::{Message, SyncConfig, SyncError};
use thorbis_sync_protocol::{Credential, DeviceId, VersionVector};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use backoff::{Failure, RetryPolicy};
pub use blobs::BlobStatus;

use crate::{Committed, Store, StoreError};

/// The store shared between the screens, commands and the sync tasks.
///
/// Lock it briefly: every holder blocks the others. From async code use [`Self::run`],
/// which takes the lock on the blocking pool.
#[derive(Clone, Debug)]
pub struct SharedStore {
    store: Arc<Mutex<Store>>,
    /// Bumped whenever the log gained events, so peers know there is something to send.
    changes: Arc<watch::Sender<u64>>,
}

impl SharedStore {
    /// Shares `store`.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store: Arc::new(Mutex::new(store)), changes: Arc::new(watch::Sender::new(0)) }
    }

    /// Runs `f` with the store locked, on this thread. For synchronous callers (a command
    /// handler, a screen); async code uses [`Self::run`]. If `f` committed events to this
    /// device's log, the peers are woken (see [`Self::subscribe`]): a write never waits
    /// for a listen to time out before it syncs, whichever way it was made.
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        // A panic while the lock was held rolled back its transaction (rusqlite rolls back
        // on drop) and the store only updates its in-memory state after a commit.
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let before = store.tip().seq;
        let r = f(&mut store);
        let wrote = store.tip().seq != before;
        drop(store);
        if wrote {
            self.notify_changed();
        }
        r
    }

    /// Runs `f` with the store locked, on the blocking pool.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> R + Send + 'static,
    ) -> R {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.with(f)).await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Runs commands in one transaction (see [`Store::execute_all`]); like every write
    /// through [`Self::with`], it wakes the peers if anything was written.
    pub fn execute(&self, commands: &[Command]) -> Result<Committed, StoreError> {
        self.with(|s| s.execute_all(commands))
    }

    /// Tells the peers the log gained events (written some other way than
    /// [`Self::execute`]).
    pub fn notify_changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver woken whenever the log gained events (local commits and stored remote
    /// events alike), for whatever waits on news (a screen, a measurement).
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// How a peer is reached. The hub is [`hub::HubTransport`]; a LAN peer is another
/// implementation. Both carry the protocol's [`Message`]s; the transport translates them to
/// whatever its peer speaks.
pub trait Transport: Send + 'static {
    /// The peer's name in [`SyncStatus`].
    fn name(&self) -> String;

    /// Delivers `msg` and returns what the peer answered.
    fn send(
        &mut self,
        msg: Message,
    ) -> impl Future<Output = Result<Vec<Message>, TransportError>> + Send;

    /// Waits up to `wait` for messages from the peer: events it holds beyond `have`, and
    /// what it holds. Returns early when it has something.
    fn listen(
        &mut self,
        have: VersionVector,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Message>, TransportError>> + Send;

    /// Requests made so far, for the status.
    fn requests(&self) -> u64;

    /// The credential the transport itself authenticated for its peer (a LAN peer's
    /// tenant-signed credential): its key is trusted besides the store's key ring for the
    /// peer's own events, and its role and location admit them until the peer's device
    /// record arrives. The hub vouches for nothing this way: `None`.
    fn vouched(&self) -> Option<Credential> {
        None
    }

    /// Whether the transport can never carry another message (a connection a peer opened
    /// to us has ended: it is the peer's to open again). The peer's task then ends.
    fn closed(&self) -> bool {
        false
    }
}

/// Why an exchange with a peer failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection, a timeout, a dropped connection.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// The peer failed (5xx).
    #[error("peer error: {0}")]
    Server(String),
    /// The peer asked us to slow down (429).
    #[error("rate limited: {message}")]
    RateLimited {
        /// `Retry-After`, in milliseconds.
        retry_after_ms: Option<u64>,
        /// What it said.
        message: String,
    },
    /// The peer does not accept this device's credential (401/403): expired, revoked,
    /// unknown.
    #[error("credential rejected: {0}")]
    CredentialRejected(String),
    /// The peer refused the request (another 4xx), e.g. a push that does not continue what
    /// it holds.
    #[error("refused: {0}")]
    Refused(String),
    /// The peer's answer makes no sense.
    #[error("bad answer: {0}")]
    Protocol(String),
}

/// Tuning of the shell.
#[derive(Clone, Copy, Debug)]
pub struct ShellConfig {
    /// The protocol's batch size, clock bound and resend timing.
    pub protocol: SyncConfig,
    /// The retry schedule after failures.
    pub retry: RetryPolicy,
    /// How long one live listen (long-poll) waits for news.
    pub long_poll: Duration,
    /// Most events one pull page may carry.
    pub pull_limit: usize,
    /// Most messages sent in one round before listening (bounds a round's length).
    pub max_messages_per_round: usize,
    /// Seeds the retry jitter.
    pub seed: u64,
}

impl Default for ShellConfig {
    fn default() -> Self {
        Self {
            protocol: SyncConfig::default(),
            retry: RetryPolicy::default(),
            long_poll: Duration::from_secs(25),
            pull_limit: 1_000,
            max_messages_per_round: 64,
            seed: 0,
        }
    }
}

/// Whether the peer accepts this device's credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CredentialState {
    /// Not asked yet.
    #[default]
    Unknown,
    /// The last request was accepted.
    Accepted,
    /// The peer rejected it (expired or revoked): retrying slowly until someone enrolls
    /// the terminal again.
    Rejected {
        /// What the peer said.
        reason: String,
    },
}

/// One peer's sync state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStatus {
    /// Whether the last exchange succeeded.
    pub online: bool,
    /// When the peer last answered, Unix milliseconds.
    pub last_contact_ms: Option<u64>,
    /// Events held here that the peer is not known to hold.
    pub outbox_depth: u64,
    /// The last failure, kept until the next success.
    pub last_error: Option<String>,
    /// Whether the peer accepts this device's credential.
    pub credential: CredentialState,
    /// Requests made to the peer.
    pub requests: u64,
    /// Events received from the peer and stored.
    pub events_received: u64,
}

/// Every peer's state, by peer name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Per peer.
    pub peers: BTreeMap<String, PeerStatus>,
    /// The blobs (attachments) exchanged with the hub.
    pub blobs: BlobStatus,
}

/// Reads the running shell's [`SyncStatus`] (see [`SyncHandle::status_source`]).
#[derive(Clone, Debug)]
pub struct StatusSource(Arc<Mutex<SyncStatus>>);

impl StatusSource {
    /// Every peer's state now.
    #[must_use]
    pub fn get(&self) -> SyncStatus {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Why the shell could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The terminal is not enrolled with a hub.
    #[error("this terminal is not enrolled; run `thorbis-agent enroll` first")]
    NotEnrolled,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The LAN transport could not be set up (TLS, the listener).
    #[error("LAN: {0}")]
    Lan(String),
}

/// What went wrong in one round with a peer.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("peer sent events that do not verify: {0}")]
    Verify(#[from] SyncError),
    #[error("peer sent events of devices this terminal has no key for: {0:?}")]
    Unverifiable(Vec<DeviceId>),
    #[error(
        "{0} events received could not be stored yet (stamped too far ahead of this \
         terminal's clock, or not continuing its log); they come again after a wait"
    )]
    Deferred(usize),
}

impl RoundError {
    fn failure(&self) -> Failure {
        match self {
            RoundError::Transport(TransportError::CredentialRejected(_)) => {
                Failure::CredentialRejected
            }
            RoundError::Transport(TransportError::RateLimited { retry_after_ms, .. }) => {
                Failure::RateLimited { retry_after_ms: *retry_after_ms }
            }
            _ => Failure::Transient,
        }
    }
}

/// The running sync shell: its peer tasks and their status. Dropping it stops the tasks at
/// their next step; [`Self::shutdown`] stops them and waits.
#[derive(Debug)]
pub struct SyncHandle {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    config: ShellConfig,
    status: Arc<Mutex<SyncStatus>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SyncHandle {
    /// A shell with no peers yet.
    #[must_use]
    pub fn new(store: SharedStore, config: ShellConfig) -> Self {
        let clock = store.with(|s| Arc::clone(&s.clock));
        Self {
            store,
            clock,
            config,
            status: Arc::new(Mutex::new(SyncStatus::default())),
            shutdown: watch::Sender::new(false),
            tasks: Vec::new(),
        }
    }

    /// Starts syncing with the hub this terminal enrolled with (or `hub_url` instead).
    /// Call inside a tokio runtime.
    pub fn start_hub(
        store: SharedStore,
        config: ShellConfig,
        hub_url: Option<&str>,
    ) -> Result<Self, StartError> {
        Self::start_hub_with(store, config, hub_url, hub::http_client()?)
    }

    /// [`Self::start_hub`] with a given HTTP client (e.g. one that trusts the hub's own CA,
    /// [`hub::http_client_trusting`]).
    pub fn start_hub_with(
        store: SharedStore,
        config: ShellConfig,
        hub_url: Option<&str>,
        client: reqwest::Client,
    ) -> Result<Self, StartError> {
        let (enrollment, signer) =
            store.with(|s| Ok::<_, StoreError>((s.enrollment()?, s.request_signer())))?;
        let enrollment = enrollment.ok_or(StartError::NotEnrolled)?;
        let mut handle = Self::new(store, config);
        let transport = hub::HubTransport::new(
            client,
            hub_url.unwrap_or(&enrollment.hub_url),
            signer,
            Arc::clone(&handle.clock),
            config.pull_limit,
        );
        let blobs = blobs::BlobSync {
            store: handle.store.clone(),
            hub: transport.clone(),
            status: Arc::clone(&handle.status),
        };
        handle.tasks.push(tokio::spawn(blobs.run(handle.shutdown.subscribe())));
        handle.add_peer(transport);
        Ok(handle)
    }

    /// Starts a task syncing with one more peer. Call inside a tokio runtime.
    pub fn add_peer<T: Transport>(&mut self, transport: T) {
        let task = self.spawner().spawn(transport, self.config.retry);
        self.tasks.push(task);
    }

    /// What starting peer tasks takes, for tasks that start them later (the LAN listener).
    fn spawner(&self) -> Spawner {
        Spawner {
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            config: self.config,
            status: Arc::clone(&self.status),
            shutdown: self.shutdown.subscribe(),
        }
    }

    /// A cheap, cloneable view of the peers' state, for screens that outlive a borrow of
    /// the handle.
    #[must_use]
    pub fn status_source(&self) -> StatusSource {
        StatusSource(Arc::clone(&self.status))
    }

    /// Every peer's state now.
    #[must_use]
    pub fn status(&self) -> SyncStatus {
        self.status.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The store the shell syncs.
    #[must_use]
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Stops every peer task (an exchange in flight is abandoned; it is safe to repeat) and
    /// waits for them.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a sync task panicked");
            }
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// Starts peer tasks sharing one shell's store, clock, status and shutdown signal.
#[derive(Clone)]
struct Spawner {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    config: ShellConfig,
    status: Arc<Mutex<SyncStatus>>,
    shutdown: watch::Receiver<bool>,
}

impl Spawner {
    /// Starts a task syncing with the peer `transport` reaches, retrying by `retry`.
    fn spawn<T: Transport>(&self, transport: T, retry: RetryPolicy) -> JoinHandle<()> {
        let name = transport.name();
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peers
            .entry(name.clone())
            .or_default();
        let task = peer::PeerTask {
            seed: self.config.seed ^ fnv1a(name.as_bytes()),
            name,
            transport,
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            config: ShellConfig { retry, ..self.config },
            status: Arc::clone(&self.status),
            changes: self.store.subscribe(),
            shutdown: self.shutdown.clone(),
            known: VersionVector::new(),
        };
        tokio::spawn(task.run())
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }
}

/// A stable hash of a peer's name, so each peer's jitter differs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreConfig;

    #[test]
    fn a_write_made_through_with_wakes_the_peers_and_a_read_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        let shared = SharedStore::new(store);
        let mut peers = shared.subscribe();
        shared.with(|s| s.items().map(drop)).unwrap();
        assert!(!peers.has_changed().unwrap());
        // Written on the store itself, not through `execute`, as a seeding routine does.
        shared.with(|s| s.execute_all(&crate::seed::catalog())).unwrap();
        assert!(peers.has_changed().unwrap());
        peers.mark_unchanged();
        let refused = shared.execute(&[]);
        assert!(refused.is_ok_and(|c| c.events.is_empty()));
        assert!(!peers.has_changed().unwrap());
    }
}
