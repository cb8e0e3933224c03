//! LAN peers in the sync shell: terminals of one store syncing with each other over
//! [`crate::lan`]'s mutually authenticated TLS connections, with the same protocol and the
//! same peer task as the hub.
//!
//! * **Dialled peers** (a configured address list; mDNS discovery is not built): one task
//!   per address connects, syncs, and on any failure drops the connection, backs off
//!   ([`LanConfig::retry`], shorter than the hub's: a peer on the LAN is back within
//!   seconds) and connects again with a fresh protocol state.
//! * **The listener** accepts connections, runs the handshake ([`Lan::accept`] refuses
//!   anyone who is not a live device of this tenant and location) and starts one peer task
//!   per connection, named after the device. A newer connection from the same device
//!   replaces the older one (the peer restarted, or the old connection is half dead). When
//!   a connection ends its task ends: it is the peer's to dial again.
//! * **Both directions on one connection.** Each end holds one `PeerState` for the other,
//!   so each serves every event it holds (its own and relayed ones) and acknowledges what
//!   it receives. A reader task and a writer task own the connection's halves, so the peer
//!   task can stop listening at any moment (a local commit) without cutting a frame in two;
//!   the reader's queue does not block the reader, so that two ends writing at once can
//!   never wait on each other (each end only writes what its protocol state allows, which
//!   bounds it); a peer that sends far more than that ([`MAX_QUEUED_BYTES`]) is cut off.
//! * **Liveness.** When a connection is quiet for [`LanConfig::keepalive`] each end sends
//!   an `Ack` of what it holds (true, and harmless to the protocol); an end that heard
//!   nothing for three keepalives counts the connection dead. Every keepalive period each
//!   end also checks its peer again as the handshake did (revoked since, by the device
//!   records the store holds now? credential expired?) and drops the connection if not.
//! * **What arrives is verified by signature** like everything else, against the store's
//!   key ring plus the key the peer's tenant-signed credential vouches for (its own events
//!   only), so two terminals that have never reached the hub since the other enrolled still
//!   sync. Relayed events of third devices need the tenant's device records.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use thorbis_sync_protocol::clock::Clock;
use thorbis_sync_protocol::sync::{Message, decode_message, encode_message};
use thorbis_sync_protocol::{Credential, DeviceId, VersionVector};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::{RetryPolicy, SharedStore, Spawner, StartError, SyncHandle, Transport, TransportError};
use crate::lan::{Lan, LanError, PeerConnection, PeerReader, PeerWriter, Revocations};

/// Most handshakes the listener runs at once; further connections wait in the kernel's
/// backlog, so a flood of silent sockets cannot starve the store's terminals for long.
const MAX_HANDSHAKES: usize = 16;

/// Most handshakes at once from one address: a single host with silent sockets cannot
/// take every slot from the store's other terminals; its further connections are closed.
const MAX_HANDSHAKES_PER_HOST: usize = 4;

/// Frames queued for the writer before `send` waits for it.
const WRITE_QUEUE: usize = 64;

/// Bytes of frames read and not yet taken by the peer task. The protocol keeps far less in
/// flight; a peer that sends more is misbehaving and its connection is closed, so an
/// authenticated but compromised terminal cannot fill another's memory.
const MAX_QUEUED_BYTES: usize = 4 * thorbis_sync_protocol::peer::MAX_FRAME;

/// A read frame (or the connection's end) and its size on the wire.
type Incoming = (usize, Result<Message, TransportError>);

/// How this terminal takes part in its store's LAN.
#[derive(Debug)]
pub struct LanConfig {
    /// Where to accept peers (bound by the caller, e.g. on port 0 in tests), if at all.
    pub listener: Option<TcpListener>,
    /// Peers to dial.
    pub peers: Vec<SocketAddr>,
    /// The retry schedule of dialled peers.
    pub retry: RetryPolicy,
    /// Quiet time after which an end says it is still there.
    pub keepalive: Duration,
    /// How long a peer gets for TLS and its hello.
    pub handshake_timeout: Duration,
}

impl Default for LanConfig {
    fn default() -> Self {
        Self {
            listener: None,
            peers: Vec::new(),
            retry: RetryPolicy { base_ms: 100, max_ms: 5_000, ..RetryPolicy::default() },
            keepalive: Duration::from_secs(5),
            handshake_timeout: crate::lan::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// The tenant's revoked devices as the store last folded them, refreshed before every
/// handshake ([`Revocations`] is asked synchronously, inside the handshake) and every
/// keepalive period on live connections.
#[derive(Debug, Default)]
struct RevokedCache(RwLock<BTreeSet<DeviceId>>);

impl RevokedCache {
    async fn refresh(&self, store: &SharedStore) {
        match store.run(|s| s.revoked_devices()).await {
            Ok(revoked) => *self.0.write().unwrap_or_else(PoisonError::into_inner) = revoked,
            Err(e) => tracing::warn!(error = %e, "reading revoked devices"),
        }
    }
}

impl Revocations for RevokedCache {
    fn is_revoked(&self, device: DeviceId) -> bool {
        self.0.read().unwrap_or_else(PoisonError::into_inner).contains(&device)
    }
}

impl SyncHandle {
    /// Joins the store's LAN: accepts peers on `config.listener` and dials `config.peers`,
    /// as the enrolled device (its credential is what peers check). Returns the address
    /// the listener is bound to. Call inside a tokio runtime.
    pub fn start_lan(&mut self, config: LanConfig) -> Result<Option<SocketAddr>, StartError> {
        let identity = self.store.with(|s| s.lan_identity())?.ok_or(StartError::NotEnrolled)?;
        let revoked = Arc::new(RevokedCache::default());
        let lan = Lan::new(identity, Arc::clone(&self.clock), Arc::clone(&revoked) as _)
            .map_err(|e| StartError::Lan(e.to_string()))?
            .with_handshake_timeout(config.handshake_timeout);
        let lan = Arc::new(lan);
        let spawner = self.spawner();
        let checks = Checks {
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            revoked,
            keepalive: config.keepalive,
        };
        for addr in config.peers {
            let transport = LanTransport {
                name: format!("lan {addr}"),
                source: Source::Dial { lan: Arc::clone(&lan), addr },
                link: None,
                checks: checks.clone(),
                requests: Arc::new(AtomicU64::new(0)),
            };
            self.tasks.push(spawner.spawn(transport, config.retry));
        }
        let Some(listener) = config.listener else { return Ok(None) };
        let local = listener
            .local_addr()
            .map_err(|e| StartError::Lan(format!("the LAN listener's address: {e}")))?;
        tracing::info!(%local, "accepting LAN peers");
        let listen = Listener { lan, checks, spawner, retry: config.retry };
        self.tasks.push(tokio::spawn(listen.run(listener)));
        Ok(Some(local))
    }
}

/// The accept loop and the tasks of accepted peers.
struct Listener {
    lan: Arc<Lan>,
    checks: Checks,
    spawner: Spawner,
    /// After a failed round on a live connection (e.g. events that do not verify yet).
    retry: RetryPolicy,
}

impl Listener {
    async fn run(self, listener: TcpListener) {
        let mut shutdown = self.spawner.shutdown.clone();
        let mut handshakes: JoinSet<(IpAddr, Result<PeerConnection, LanError>)> = JoinSet::new();
        let mut per_host: HashMap<IpAddr, usize> = HashMap::new();
        let mut peers: HashMap<DeviceId, JoinHandle<()>> = HashMap::new();
        while !self.spawner.stopping() {
            tokio::select! {
                _ = shutdown.changed() => break,
                accepted = listener.accept(), if handshakes.len() < MAX_HANDSHAKES => {
                    match accepted {
                        Ok((tcp, from)) => {
                            let host = from.ip();
                            let busy = per_host.entry(host).or_default();
                            if *busy >= MAX_HANDSHAKES_PER_HOST {
                                tracing::warn!(%from, "LAN connection closed: too many handshakes from this host");
                                continue;
                            }
                            *busy += 1;
                            tracing::debug!(%from, "LAN connection");
                            self.checks.revoked.refresh(&self.checks.store).await;
                            let lan = Arc::clone(&self.lan);
                            handshakes.spawn(async move { (host, lan.accept(tcp).await) });
                        }
                        Err(e) => {
                            // Out of descriptors, usually: wait rather than spin.
                            tracing::warn!(error = %e, "accepting a LAN connection");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                Some(done) = handshakes.join_next() => {
                    // Refusals were logged by `Lan::accept`, with their reason.
                    let Ok((host, result)) = done else { continue };
                    if let Some(busy) = per_host.get_mut(&host) {
                        *busy -= 1;
                        if *busy == 0 {
                            per_host.remove(&host);
                        }
                    }
                    let Ok(conn) = result else { continue };
                    let device = conn.peer().device_id;
                    let transport = LanTransport::accepted(conn, self.checks.clone());
                    let task = self.spawner.spawn(transport, self.retry);
                    if let Some(older) = peers.insert(device, task) {
                        older.abort();
                    }
                    peers.retain(|_, task| !task.is_finished());
                }
            }
        }
        handshakes.abort_all();
        for (_, task) in peers {
            // Each sees the shutdown signal at its next step.
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a LAN peer task panicked");
            }
        }
    }
}

/// Where a [`LanTransport`]'s connections come from.
enum Source {
    /// It dials `addr` whenever it has no connection.
    Dial { lan: Arc<Lan>, addr: SocketAddr },
    /// The peer dialled us; once the connection ends there is no other.
    Accepted,
}

/// What a live connection's peer is checked against while it lasts, as at its handshake:
/// revocation (from the store's device records) and its credential's expiry.
#[derive(Clone)]
struct Checks {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    revoked: Arc<RevokedCache>,
    keepalive: Duration,
}

/// One live connection: the reader and writer tasks that own its halves.
struct Link {
    outgoing: mpsc::Sender<Vec<u8>>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    /// Bytes in `incoming`, counted by the reader against [`MAX_QUEUED_BYTES`].
    queued: Arc<AtomicUsize>,
    /// The peer's credential, as its handshake proved it.
    vouched: Credential,
    last_heard: Instant,
    last_checked: Instant,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Link {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Link {
    fn new(conn: PeerConnection) -> Self {
        let vouched = conn.peer().clone();
        let (reader, writer) = conn.split();
        let (in_tx, incoming) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let (outgoing, out_rx) = mpsc::channel(WRITE_QUEUE);
        let tasks = [
            tokio::spawn(read_loop(reader, in_tx.clone(), Arc::clone(&queued))),
            tokio::spawn(write_loop(writer, out_rx, in_tx)),
        ];
        let now = Instant::now();
        Self { outgoing, incoming, queued, vouched, last_heard: now, last_checked: now, tasks }
    }

    /// A frame taken from the queue: its bytes no longer count against the peer.
    fn took(&self, (size, item): Incoming) -> Result<Message, TransportError> {
        self.queued.fetch_sub(size, Ordering::AcqRel);
        item
    }

    /// Everything already received, without waiting.
    fn drain(&mut self, into: &mut Vec<Message>) -> Result<(), TransportError> {
        loop {
            match self.incoming.try_recv() {
                Ok(item) => {
                    into.push(self.took(item)?);
                    self.last_heard = Instant::now();
                }
                Err(mpsc::error::TryRecvError::Empty) => return Ok(()),
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    return Err(TransportError::Unreachable("LAN connection closed".into()));
                }
            }
        }
    }
}

/// Reads frames into the queue until the connection fails; the failure is the last item.
async fn read_loop(
    mut reader: PeerReader,
    incoming: mpsc::UnboundedSender<Incoming>,
    queued: Arc<AtomicUsize>,
) {
    loop {
        let (size, item) = match reader.recv().await {
            Ok(Some(frame)) => {
                let size = frame.len();
                if queued.fetch_add(size, Ordering::AcqRel) + size > MAX_QUEUED_BYTES {
                    let flood = "the peer sent more than the protocol lets it have in flight";
                    (0, Err(TransportError::Protocol(flood.into())))
                } else {
                    let msg = decode_message(&frame)
                        .map_err(|e| TransportError::Protocol(format!("LAN frame: {e}")));
                    (size, msg)
                }
            }
            Ok(None) => {
                (0, Err(TransportError::Unreachable("the peer closed the connection".into())))
            }
            Err(e) => (0, Err(TransportError::Unreachable(e.to_string()))),
        };
        let last = item.is_err();
        if incoming.send((size, item)).is_err() || last {
            return;
        }
    }
}

/// Writes queued frames; a failure is reported through the incoming queue.
async fn write_loop(
    mut writer: PeerWriter,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    incoming: mpsc::UnboundedSender<Incoming>,
) {
    while let Some(frame) = outgoing.recv().await {
        if let Err(e) = writer.send(&frame).await {
            let _ = incoming.send((0, Err(TransportError::Unreachable(e.to_string()))));
            return;
        }
    }
}

/// A LAN peer as the peer task sees it: `send` queues a frame and returns what already
/// arrived; `listen` waits for frames.
pub struct LanTransport {
    name: String,
    source: Source,
    link: Option<Link>,
    checks: Checks,
    requests: Arc<AtomicU64>,
}

impl std::fmt::Debug for LanTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanTransport")
            .field("name", &self.name)
            .field("connected", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

impl LanTransport {
    fn accepted(conn: PeerConnection, checks: Checks) -> Self {
        let peer = conn.peer();
        Self {
            name: format!("lan {} {}", peer.role.as_str(), peer.device_id),
            source: Source::Accepted,
            link: Some(Link::new(conn)),
            checks,
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The live connection; a dialling transport opens one if it has none. A connection is
    /// only opened for a `Hello`: after any transport failure the peer task starts over
    /// with one, so both ends of a new connection start from fresh protocol states.
    async fn link(&mut self, hello: bool) -> Result<&mut Link, TransportError> {
        if self.link.is_none() {
            let Source::Dial { lan, addr } = &self.source else {
                return Err(TransportError::Unreachable("the peer's connection ended".into()));
            };
            if !hello {
                return Err(TransportError::Unreachable("not connected".into()));
            }
            self.checks.revoked.refresh(&self.checks.store).await;
            let conn = lan.connect(*addr).await.map_err(|e| match e {
                LanError::Refused(_) | LanError::Revoked(_) => {
                    TransportError::Refused(format!("{addr}: {e}"))
                }
                e => TransportError::Unreachable(format!("{addr}: {e}")),
            })?;
            tracing::info!(peer = %conn.peer().device_id, %addr, "LAN peer connected");
            self.link = Some(Link::new(conn));
        }
        Ok(self.link.as_mut().expect("set above"))
    }

    /// Checks the connected peer again, as its handshake did: still not revoked (the
    /// device records may have changed since), credential not expired.
    async fn recheck(&mut self) -> Result<(), TransportError> {
        self.checks.revoked.refresh(&self.checks.store).await;
        let now = self.checks.clock.now_ms();
        let Some(link) = self.link.as_mut() else { return Ok(()) };
        link.last_checked = Instant::now();
        let device = link.vouched.device_id;
        if self.checks.revoked.is_revoked(device) {
            return Err(TransportError::Refused(format!("device {device} has been revoked")));
        }
        if link.vouched.expires_at_ms <= now {
            return Err(TransportError::Refused(format!(
                "the credential of device {device} expired at {} ms",
                link.vouched.expires_at_ms
            )));
        }
        Ok(())
    }

    /// Drops the link if `result` is a failure, so the next `Hello` connects afresh.
    fn check<R>(&mut self, result: Result<R, TransportError>) -> Result<R, TransportError> {
        if result.is_err() {
            self.link = None;
        }
        result
    }
}

impl Transport for LanTransport {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn send(&mut self, msg: Message) -> Result<Vec<Message>, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let hello = matches!(msg, Message::Hello { .. });
        let link = self.link(hello).await?;
        let result = async {
            link.outgoing
                .send(encode_message(&msg))
                .await
                .map_err(|_| TransportError::Unreachable("LAN connection closed".into()))?;
            let mut replies = Vec::new();
            link.drain(&mut replies)?;
            Ok(replies)
        }
        .await;
        self.check(result)
    }

    async fn listen(
        &mut self,
        have: VersionVector,
        wait: Duration,
    ) -> Result<Vec<Message>, TransportError> {
        let keepalive = self.checks.keepalive;
        if self.link.as_ref().is_some_and(|l| l.last_checked.elapsed() >= keepalive) {
            let result = self.recheck().await;
            self.check(result)?;
        }
        let Some(link) = self.link.as_mut() else {
            let e = TransportError::Unreachable("not connected".into());
            return Err(e);
        };
        let result = async {
            let mut messages = Vec::new();
            match tokio::time::timeout(wait.min(keepalive), link.incoming.recv()).await {
                Ok(Some(item)) => {
                    messages.push(link.took(item)?);
                    link.last_heard = Instant::now();
                    link.drain(&mut messages)?;
                }
                Ok(None) => {
                    return Err(TransportError::Unreachable("LAN connection closed".into()));
                }
                Err(_) if link.last_heard.elapsed() > keepalive * 3 => {
                    return Err(TransportError::Unreachable(format!(
                        "the peer has been silent for {:?}",
                        link.last_heard.elapsed()
                    )));
                }
                Err(_) => {
                    // Quiet: say we are here. A full queue is traffic enough.
                    let _ = link.outgoing.try_send(encode_message(&Message::Ack { vector: have }));
                }
            }
            Ok(messages)
        }
        .await;
        self.check(result)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn vouched(&self) -> Option<Credential> {
        self.link.as_ref().map(|l| l.vouched.clone())
    }

    fn closed(&self) -> bool {
        self.link.is_none() && matches!(self.source, Source::Accepted)
    }
}
