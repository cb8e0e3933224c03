//! The chaos proxy: a TCP proxy between agents and the hub (or LAN peers) that injects
//! network faults while real processes run, so the sync engine's tests can cut the link to
//! the hub for a while and watch it heal.
//!
//! - [`faults`]: what can be switched on (drop, delay, duplicate, cut, partition, reset) and
//!   the command language, without IO.
//! - [`schedule`]: seeded fault sequences, a pure function of spec and seed, for replay.
//! - This module: the IO shell ([`ChaosProxy`]), its counters and its control port (a
//!   [`LineService`] served by the same line server as the devices' control port).
//!
//! Plain std threads, like the other shells: per connection one thread reads each
//! direction and one writes it, joined by a bounded queue of timestamped chunks. Delay is a
//! due time on each chunk, so a chunk waits its latency once, chunks never overtake each
//! other and the reader keeps reading meanwhile. A held direction (cut, partition) stops
//! reading, so the sender's writes back up as over a dead link, and also holds what is
//! queued; nothing held is lost. Every blocking call has a [`POLL`] timeout so threads see
//! faults change, resets and shutdown promptly.
//!
//! A reset sets `SO_LINGER` to zero on both sockets of a connection and lets its threads
//! close them, so both ends see `RST`, not `FIN`. An error on one side (the peer reset, a
//! write failed) is passed on the same way to the other.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use thorbis_simulators::chaos::{ChaosConfig, ChaosProxy};
//!
//! let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
//! let proxy = ChaosProxy::start(
//!     "127.0.0.1:0".parse().unwrap(),
//!     upstream.local_addr().unwrap(),
//!     ChaosConfig::default(),
//! )
//! .unwrap();
//! let mut client = TcpStream::connect(proxy.local_addr()).unwrap();
//! let (mut server, _) = upstream.accept().unwrap();
//! assert_eq!(proxy.execute("delay 20 5"), "ok");
//! client.write_all(b"ping").unwrap();
//! let mut got = [0u8; 4];
//! server.read_exact(&mut got).unwrap();
//! assert_eq!(&got, b"ping");
//! assert_eq!(proxy.counters().up.forwarded, 4);
//! proxy.shutdown();
//! ```

pub mod faults;
pub mod schedule;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

pub use faults::{Delay, DirFaults, Direction, Dirs, FaultCommand, Faults, PartitionMode};
pub use schedule::{ScheduleSpec, Step};

use crate::control::{LineService, listen_lines};
use crate::server::{POLL, SimError, io_err};
use schedule::SplitMix64;

/// Largest chunk read at once; a duplicated chunk is at most this long.
const CHUNK: usize = 16 * 1024;
/// Chunks queued per direction (delayed or held) before the reader stops reading, which
/// bounds memory at `QUEUE * CHUNK` per direction and passes back-pressure to the sender.
const QUEUE: usize = 64;
/// Steps of the running schedule kept for [`ChaosProxy::applied_steps`].
const MAX_RECORDED_STEPS: usize = 10_000;

/// How to set up a proxy.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// Faults switched on from the start (default: clean forwarding).
    pub faults: Faults,
    /// Seed of the delay jitter.
    pub seed: u64,
    /// How long to wait for the upstream to accept a connection before resetting the
    /// client's.
    pub connect_timeout: Duration,
}

impl Default for ChaosConfig {
    fn default() -> ChaosConfig {
        ChaosConfig { faults: Faults::default(), seed: 0, connect_timeout: Duration::from_secs(5) }
    }
}

/// Byte counts of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirCounters {
    /// Bytes passed on (each once, duplicates not counted).
    pub forwarded: u64,
    /// Bytes read and discarded by `drop`.
    pub dropped: u64,
    /// Extra bytes written by `duplicate`.
    pub duplicated: u64,
}

/// What the proxy has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub active: u64,
    /// Connections reset by `reset` (current or new ones).
    pub resets: u64,
    /// New connections reset by a `partition refuse`.
    pub refused: u64,
    /// Client to upstream.
    pub up: DirCounters,
    /// Upstream to client.
    pub down: DirCounters,
}

impl Counters {
    /// The counts of one direction.
    #[must_use]
    pub fn dir(&self, d: Direction) -> &DirCounters {
        match d {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }
}

/// `connections=3 active=1 resets=0 refused=0 up-forwarded=10 up-dropped=0 ...`.
impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connections={} active={} resets={} refused={}",
            self.connections, self.active, self.resets, self.refused
        )?;
        for d in [Direction::Up, Direction::Down] {
            let c = self.dir(d);
            let n = d.name();
            write!(
                f,
                " {n}-forwarded={} {n}-dropped={} {n}-duplicated={}",
                c.forwarded, c.dropped, c.duplicated
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct AtomicDir {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
}

impl AtomicDir {
    fn get(&self) -> DirCounters {
        DirCounters {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
        }
    }
}

/// Where the schedule runner is.
#[derive(Debug, Default)]
struct ScheduleState {
    /// Bumped to stop the runner of an older generation.
    generation: u64,
    /// Seed of the current or last schedule, and whether it still runs.
    seed: Option<u64>,
    running: bool,
    /// Steps switched on so far (the record below stops at [`MAX_RECORDED_STEPS`]).
    steps: u64,
    applied: Vec<Step>,
}

#[derive(Debug)]
struct Shared {
    local: SocketAddr,
    upstream: SocketAddr,
    config: ChaosConfig,
    faults: Mutex<Faults>,
    conns: Mutex<Vec<Weak<Conn>>>,
    jitter: Mutex<SplitMix64>,
    schedule: Mutex<ScheduleState>,
    shutdown: AtomicBool,
    connections: AtomicU64,
    resets: AtomicU64,
    refused: AtomicU64,
    up: AtomicDir,
    down: AtomicDir,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not take the whole proxy down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes the next close of `s` send `RST` instead of `FIN`.
fn linger_zero(s: &TcpStream) {
    if let Err(e) = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO)) {
        tracing::debug!(error = %e, "could not set SO_LINGER 0");
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// One proxied connection. Its sockets are shared by its threads through the `Arc` (never
/// duplicated), so they close, with `RST` after [`Conn::abort`], when the last thread ends.
#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    client: TcpStream,
    upstream: OnceLock<TcpStream>,
    aborted: AtomicBool,
}

impl Conn {
    fn abort(&self) {
        if !self.aborted.swap(true, Ordering::SeqCst) {
            linger_zero(&self.client);
            if let Some(u) = self.upstream.get() {
                linger_zero(u);
            }
        }
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// The socket bytes of `d` are read from and the one they are written to.
    fn ends(&self, d: Direction) -> Option<(&TcpStream, &TcpStream)> {
        let upstream = self.upstream.get()?;
        Some(match d {
            Direction::Up => (&self.client, upstream),
            Direction::Down => (upstream, &self.client),
        })
    }
}

enum Chunk {
    Data { bytes: Vec<u8>, due: Instant, duplicate: bool },
    Eof,
}

/// A running chaos proxy. Cheap to clone; all clones control the same proxy. It runs until
/// [`ChaosProxy::shutdown`].
#[derive(Clone, Debug)]
pub struct ChaosProxy {
    shared: Arc<Shared>,
}

impl ChaosProxy {
    /// Binds `listen` (port 0 for any free port) and forwards every connection to
    /// `upstream` on threads of its own.
    pub fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        config: ChaosConfig,
    ) -> Result<ChaosProxy, SimError> {
        let listener = TcpListener::bind(listen).map_err(io_err("binding the chaos proxy"))?;
        let local = listener.local_addr().map_err(io_err("chaos proxy local address"))?;
        listener.set_nonblocking(true).map_err(io_err("chaos proxy listener"))?;
        let proxy = ChaosProxy {
            shared: Arc::new(Shared {
                local,
                upstream,
                faults: Mutex::new(config.faults),
                jitter: Mutex::new(SplitMix64::new(config.seed)),
                config,
                conns: Mutex::new(Vec::new()),
                schedule: Mutex::new(ScheduleState::default()),
                shutdown: AtomicBool::new(false),
                connections: AtomicU64::new(0),
                resets: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                up: AtomicDir::default(),
                down: AtomicDir::default(),
            }),
        };
        tracing::info!(%local, %upstream, "chaos proxy listening");
        let me = proxy.clone();
        thread::spawn(move || me.accept_loop(&listener));
        Ok(proxy)
    }

    /// The address the proxy listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// The address it forwards to.
    #[must_use]
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The faults switched on now.
    #[must_use]
    pub fn faults(&self) -> Faults {
        *lock(&self.shared.faults)
    }

    /// Changes the faults; connections follow within a [`POLL`].
    pub fn update(&self, f: impl FnOnce(&mut Faults)) {
        let mut faults = lock(&self.shared.faults);
        f(&mut faults);
        tracing::info!(faults = %*faults, "chaos faults changed");
    }

    /// Runs one fault command (what the control port and the schedule do).
    pub fn apply(&self, command: FaultCommand) {
        let reset = {
            let mut faults = lock(&self.shared.faults);
            let reset = command.apply(&mut faults);
            tracing::info!(%command, faults = %*faults, "chaos command");
            reset
        };
        if reset {
            self.reset_connections();
        }
    }

    /// Back to clean forwarding (held bytes flow, black-holed connections go through).
    pub fn heal(&self) {
        self.apply(FaultCommand::Heal);
    }

    /// Resets every current connection (both ends see `RST`); returns how many.
    pub fn reset_connections(&self) -> usize {
        let conns: Vec<Arc<Conn>> =
            lock(&self.shared.conns).drain(..).filter_map(|w| w.upgrade()).collect();
        for c in &conns {
            tracing::info!(peer = %c.peer, "chaos reset");
            c.abort();
        }
        self.shared.resets.fetch_add(conns.len() as u64, Ordering::Relaxed);
        conns.len()
    }

    /// The counters so far.
    #[must_use]
    pub fn counters(&self) -> Counters {
        let s = &self.shared;
        Counters {
            connections: s.connections.load(Ordering::Relaxed),
            active: lock(&s.conns).iter().filter(|w| w.strong_count() > 0).count() as u64,
            resets: s.resets.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            up: s.up.get(),
            down: s.down.get(),
        }
    }

    /// The `status` line of the control port: faults, counters, schedule.
    #[must_use]
    pub fn status(&self) -> String {
        let schedule = {
            let s = lock(&self.shared.schedule);
            match (s.seed, s.running) {
                (None, _) => "schedule=off".to_owned(),
                (Some(seed), running) => format!(
                    "schedule={} seed={seed} steps={}",
                    if running { "running" } else { "done" },
                    s.steps
                ),
            }
        };
        format!("{} {} {schedule}", self.faults(), self.counters())
    }

    /// Serves the control protocol ([`ChaosProxy::execute`]) on `addr`; returns the bound
    /// address.
    pub fn listen_control(&self, addr: impl ToSocketAddrs) -> Result<SocketAddr, SimError> {
        listen_lines(addr, self.clone())
    }

    /// Runs one control line: a [`FaultCommand`], `status`, `schedule <seed> <spec>` or
    /// `schedule stop`. Answers `ok`, `error: ...` or the status line.
    #[must_use]
    pub fn execute(&self, line: &str) -> String {
        let line = line.trim();
        let mut words = line.splitn(3, char::is_whitespace);
        match (words.next(), words.next(), words.next()) {
            (Some("status"), None, None) => self.status(),
            (Some("schedule"), Some("stop"), None) => {
                self.stop_schedule();
                "ok".to_owned()
            }
            (Some("schedule"), Some(seed), Some(spec)) => {
                match (seed.parse::<u64>(), spec.parse::<ScheduleSpec>()) {
                    (Ok(seed), Ok(spec)) => {
                        self.run_schedule(spec, seed);
                        "ok".to_owned()
                    }
                    (Err(_), _) => format!("error: not a seed: {seed}"),
                    (_, Err(why)) => format!("error: {why}"),
                }
            }
            (Some("schedule"), ..) => "error: usage: schedule <seed> <spec> | schedule stop".into(),
            _ => match FaultCommand::parse(line) {
                Ok(command) => {
                    self.apply(command);
                    "ok".to_owned()
                }
                Err(why) => format!("error: {why}"),
            },
        }
    }

    /// Runs `spec` with `seed` on a thread: the steps of [`ScheduleSpec::plan`], each a
    /// clean gap, the fault, and a heal after its duration. Replaces a running schedule.
    /// While it runs, the schedule owns the faults: each step ends with a heal.
    pub fn run_schedule(&self, spec: ScheduleSpec, seed: u64) {
        let generation = {
            let mut s = lock(&self.shared.schedule);
            s.generation += 1;
            s.seed = Some(seed);
            s.running = true;
            s.steps = 0;
            s.applied.clear();
            s.generation
        };
        tracing::info!(seed, %spec, "chaos schedule starts");
        let me = self.clone();
        thread::spawn(move || {
            let count = spec.count.map_or(usize::MAX, |n| n as usize);
            for step in spec.plan(seed).take(count) {
                if !me.sleep_in_schedule(generation, step.gap) {
                    return;
                }
                {
                    let mut s = lock(&me.shared.schedule);
                    if s.generation != generation {
                        return;
                    }
                    s.steps += 1;
                    if s.applied.len() < MAX_RECORDED_STEPS {
                        s.applied.push(step);
                    }
                    tracing::info!(seed, step = s.steps, %step, "chaos schedule step");
                    // Under the schedule lock, so a stop cannot slip in between and be undone.
                    me.apply(step.command);
                }
                let finished = me.sleep_in_schedule(generation, step.duration);
                let s = lock(&me.shared.schedule);
                if s.generation == generation {
                    me.heal();
                }
                if !finished {
                    return;
                }
            }
            let mut s = lock(&me.shared.schedule);
            if s.generation == generation {
                s.running = false;
                tracing::info!(seed, steps = s.steps, "chaos schedule done");
            }
        });
    }

    /// Sleeps `d` unless the schedule is replaced or the proxy shuts down first.
    fn sleep_in_schedule(&self, generation: u64, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        loop {
            if self.is_shut_down() || lock(&self.shared.schedule).generation != generation {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(POLL));
        }
    }

    /// Stops the running schedule (if any) and heals.
    pub fn stop_schedule(&self) {
        {
            let mut s = lock(&self.shared.schedule);
            s.generation += 1;
            s.running = false;
        }
        self.heal();
    }

    /// The steps the current (or last) schedule has switched on so far, in order (the first
    /// 10 000): for a replay, they equal the start of [`ScheduleSpec::plan`] for its seed.
    #[must_use]
    pub fn applied_steps(&self) -> Vec<Step> {
        lock(&self.shared.schedule).applied.clone()
    }

    /// Stops accepting, stops the schedule and resets every connection (within a few
    /// [`POLL`]s), like a middlebox that died.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for c in lock(&self.shared.conns).drain(..).filter_map(|w| w.upgrade()) {
            c.abort();
        }
    }

    fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }

    fn accept_loop(&self, listener: &TcpListener) {
        while !self.is_shut_down() {
            match listener.accept() {
                Ok((client, peer)) => {
                    if let Err(e) = self.admit(client, peer) {
                        tracing::debug!(%peer, error = %e, "chaos connection failed at once");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
                Err(e) => {
                    tracing::warn!(error = %e, "chaos accept failed");
                    thread::sleep(POLL);
                }
            }
        }
    }

    /// Turns a new connection away, or registers it and starts its threads.
    fn admit(&self, client: TcpStream, peer: SocketAddr) -> io::Result<()> {
        self.shared.connections.fetch_add(1, Ordering::Relaxed);
        let faults = self.faults();
        if faults.reset_new || faults.partition == Some(PartitionMode::Refuse) {
            let counter = if faults.reset_new { &self.shared.resets } else { &self.shared.refused };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%peer, "chaos resets a new connection");
            linger_zero(&client);
            return Ok(());
        }
        client.set_nonblocking(false)?;
        client.set_nodelay(true)?;
        client.set_read_timeout(Some(POLL))?;
        client.set_write_timeout(Some(POLL))?;
        let conn = Arc::new(Conn {
            peer,
            client,
            upstream: OnceLock::new(),
            aborted: AtomicBool::new(false),
        });
        {
            let mut conns = lock(&self.shared.conns);
            conns.retain(|w| w.strong_count() > 0);
            conns.push(Arc::downgrade(&conn));
        }
        let me = self.clone();
        thread::spawn(move || me.connect_upstream(&conn));
        Ok(())
    }

    fn is_done(&self, conn: &Conn) -> bool {
        conn.is_aborted() || self.is_shut_down()
    }

    /// Connects a new connection to the upstream, after a partition if one is on (the
    /// black hole), then starts its four threads.
    fn connect_upstream(&self, conn: &Arc<Conn>) {
        while self.faults().partition.is_some() {
            if self.is_done(conn) {
                return;
            }
            thread::sleep(POLL);
        }
        let upstream = match TcpStream::connect_timeout(
            &self.shared.upstream,
            self.shared.config.connect_timeout,
        ) {
            Ok(u) => u,
            Err(e) => {
                // The client sees what a direct connection would have: a reset.
                tracing::info!(peer = %conn.peer, error = %e, "chaos upstream refused");
                conn.abort();
                return;
            }
        };
        let setup = upstream
            .set_nodelay(true)
            .and_then(|()| upstream.set_read_timeout(Some(POLL)))
            .and_then(|()| upstream.set_write_timeout(Some(POLL)));
        if let Err(e) = setup {
            tracing::debug!(error = %e, "chaos upstream socket setup failed");
            conn.abort();
        }
        let _ = conn.upstream.set(upstream);
        if conn.is_aborted() {
            // Reset while connecting: the upstream end gets its RST too.
            if let Some(u) = conn.upstream.get() {
                linger_zero(u);
            }
            return;
        }
        tracing::debug!(peer = %conn.peer, "chaos connection up");
        for d in [Direction::Up, Direction::Down] {
            let (tx, rx) = mpsc::sync_channel(QUEUE);
            let (me, c) = (self.clone(), Arc::clone(conn));
            thread::spawn(move || me.read_side(&c, d, &tx));
            let (me, c) = (self.clone(), Arc::clone(conn));
            thread::spawn(move || me.write_side(&c, d, &rx));
        }
    }

    fn counters_of(&self, d: Direction) -> &AtomicDir {
        match d {
            Direction::Up => &self.shared.up,
            Direction::Down => &self.shared.down,
        }
    }

    /// Reads direction `d` and queues what is not dropped, stamped with its due time.
    fn read_side(&self, conn: &Conn, d: Direction, tx: &SyncSender<Chunk>) {
        let Some((mut src, _)) = conn.ends(d) else { return };
        let mut buf = vec![0u8; CHUNK];
        while !self.is_done(conn) {
            if self.faults().holds(d) {
                thread::sleep(POLL);
                continue;
            }
            match src.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(Chunk::Eof);
                    return;
                }
                Ok(n) => {
                    // The faults of the moment the bytes arrived decide their fate.
                    let f = *self.faults().dir(d);
                    if f.drop {
                        self.counters_of(d).dropped.fetch_add(n as u64, Ordering::Relaxed);
                        continue;
                    }
                    let latency = f.delay.map_or(Duration::ZERO, |delay| {
                        let jitter = delay.jitter.as_millis() as u64;
                        let extra = lock(&self.shared.jitter).below(jitter + 1);
                        delay.base + Duration::from_millis(extra)
                    });
                    let chunk = Chunk::Data {
                        bytes: buf[..n].to_vec(),
                        due: Instant::now() + latency,
                        duplicate: f.duplicate,
                    };
                    if tx.send(chunk).is_err() {
                        return;
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => {
                    tracing::debug!(peer = %conn.peer, dir = d.name(), error = %e, "chaos read failed");
                    conn.abort();
                    return;
                }
            }
        }
    }

    /// Writes the queued chunks of direction `d` when due and not held; passes end of
    /// stream on as a half-close.
    fn write_side(&self, conn: &Conn, d: Direction, rx: &Receiver<Chunk>) {
        let Some((_, dst)) = conn.ends(d) else { return };
        loop {
            let chunk = match rx.recv_timeout(POLL) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) if !self.is_done(conn) => continue,
                Err(_) => return,
            };
            let (bytes, due, duplicate) = match chunk {
                Chunk::Eof => {
                    let _ = dst.shutdown(Shutdown::Write);
                    return;
                }
                Chunk::Data { bytes, due, duplicate } => (bytes, due, duplicate),
            };
            loop {
                if self.is_done(conn) {
                    return;
                }
                let left = due.saturating_duration_since(Instant::now());
                if left.is_zero() && !self.faults().holds(d) {
                    break;
                }
                thread::sleep(if left.is_zero() { POLL } else { left.min(POLL) });
            }
            let copies = if duplicate { 2 } else { 1 };
            for copy in 0..copies {
                let counter = if copy == 0 {
                    &self.counters_of(d).forwarded
                } else {
                    &self.counters_of(d).duplicated
                };
                // Counted before the write, so a reader that has received the bytes always
                // sees them counted; what a failed write did not deliver is taken back.
                counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if let Err((e, unsent)) = self.write_fully(conn, dst, &bytes) {
                    counter.fetch_sub(unsent as u64, Ordering::Relaxed);
                    tracing::debug!(peer = %conn.peer, dir = d.name(), error = %e, "chaos write failed");
                    conn.abort();
                    return;
                }
            }
        }
    }

    /// `write_all` that survives the [`POLL`] write timeout without losing track of what
    /// was written, and gives up when the connection is reset. A failure says how many
    /// bytes were not written.
    fn write_fully(
        &self,
        conn: &Conn,
        mut dst: &TcpStream,
        mut rest: &[u8],
    ) -> Result<(), (io::Error, usize)> {
        while !rest.is_empty() {
            if self.is_done(conn) {
                let e = io::Error::new(io::ErrorKind::ConnectionAborted, "reset by chaos");
                return Err((e, rest.len()));
            }
            match dst.write(rest) {
                Ok(0) => return Err((io::ErrorKind::WriteZero.into(), rest.len())),
                Ok(n) => rest = &rest[n..],
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err((e, rest.len())),
            }
        }
        Ok(())
    }
}

impl LineService for ChaosProxy {
    fn execute(&self, line: &str) -> String {
        ChaosProxy::execute(self, line)
    }
}
