//! Thin IO shells around [`crate::printer`]: a TCP server (port 9100 in the binary, port 0 in
//! tests), a serial pseudo-terminal, the output folder, and the in-memory job list behind
//! [`PrinterHandle`].
//!
//! Plain std threads and sockets with short timeouts: every loop checks the shutdown flag at
//! least every [`POLL`], so tests can stop a printer and its threads end promptly. The
//! shells hold no printer logic: they move bytes between a stream and a
//! [`Session`](crate::printer::Session) and file what comes out.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::escpos::Diagnostic;
use crate::printer::{Conditions, DEFAULT_RX_CAPACITY, Paper, Session};
use crate::profile::SimProfile;
use crate::receipt::{Finished, Receipt};
use crate::render;

/// How often shells wake up to check for shutdown and let the printer print.
pub const POLL: Duration = Duration::from_millis(10);

/// Largest number of simultaneous host connections; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 8;

/// Errors of the shells.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: io::Error,
    },
    /// A pseudo-terminal could not be created.
    #[error("pseudo-terminal: {0}")]
    Pty(#[from] serialport::Error),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> SimError {
    let context = context.into();
    move |source| SimError::Io { context, source }
}

/// How to set up a virtual printer.
#[derive(Clone, Debug)]
pub struct PrinterConfig {
    /// Paper width and code page table.
    pub profile: SimProfile,
    /// Receive buffer size in bytes.
    pub rx_capacity: usize,
    /// Folder for `NNNN.txt`, `NNNN.png` and `jobs.jsonl`; `None` keeps jobs in memory only.
    pub out_dir: Option<PathBuf>,
    /// Starting conditions (a connected drawer, paper out from the start, ...).
    pub conditions: Conditions,
}

impl Default for PrinterConfig {
    fn default() -> PrinterConfig {
        PrinterConfig {
            profile: SimProfile::default(),
            rx_capacity: DEFAULT_RX_CAPACITY,
            out_dir: None,
            conditions: Conditions::default(),
        }
    }
}

/// A completed print job.
#[derive(Clone, Debug)]
pub struct Job {
    /// 1-based, in completion order.
    pub seq: u64,
    /// Where it came from: `tcp 127.0.0.1:50312` or `serial /dev/pts/4`.
    pub source: String,
    /// What was printed.
    pub receipt: Receipt,
    /// The text rendering.
    pub text: String,
    /// Problems found in the stream.
    pub diagnostics: Vec<Diagnostic>,
    /// SHA-256 (hex) of the printed content, to spot the same receipt printed twice.
    pub hash: String,
    /// The earlier job with the same content, if any.
    pub duplicate_of: Option<u64>,
}

impl Job {
    /// Whether the job ended with a cut (otherwise the host hung up mid-receipt).
    #[must_use]
    pub fn is_cut(&self) -> bool {
        self.receipt.is_cut()
    }

    /// The PNG rendering.
    pub fn png(&self) -> Result<Vec<u8>, render::RenderError> {
        render::png(&self.receipt)
    }
}

/// The hash of a receipt's content: its blocks as the model sees them. Styles, barcodes and
/// image dots all count; how the bytes were split or which encoder made them does not.
fn content_hash(receipt: &Receipt) -> String {
    /// Streams the `Debug` text into the digest instead of building a string the size of
    /// every image's dots.
    struct Digest(ring::digest::Context);
    impl std::fmt::Write for Digest {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut d = Digest(ring::digest::Context::new(&ring::digest::SHA256));
    let _ = write!(d, "{:?}", receipt.blocks);
    d.0.finish().as_ref().iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[derive(Debug)]
struct Shared {
    config: PrinterConfig,
    start: Instant,
    conditions: Mutex<Conditions>,
    jobs: Mutex<Vec<Job>>,
    jobs_changed: Condvar,
    shutdown: AtomicBool,
    connections: Mutex<usize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking shell thread must not take the whole simulator down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running virtual printer: its conditions, its jobs and its listeners. Cheap to clone;
/// all clones control the same printer.
#[derive(Clone, Debug)]
pub struct PrinterHandle {
    shared: Arc<Shared>,
}

impl PrinterHandle {
    /// A printer with no listener yet; add some with [`PrinterHandle::listen_tcp`] and
    /// [`PrinterHandle::open_serial`].
    #[must_use]
    pub fn new(config: PrinterConfig) -> PrinterHandle {
        let conditions = config.conditions.clone();
        PrinterHandle {
            shared: Arc::new(Shared {
                config,
                start: Instant::now(),
                conditions: Mutex::new(conditions),
                jobs: Mutex::new(Vec::new()),
                jobs_changed: Condvar::new(),
                shutdown: AtomicBool::new(false),
                connections: Mutex::new(0),
            }),
        }
    }

    fn now(&self) -> Duration {
        self.shared.start.elapsed()
    }

    /// Binds `addr` (port 0 for any free port) and serves it on a thread; returns the
    /// address actually bound.
    pub fn listen_tcp(&self, addr: impl ToSocketAddrs) -> Result<SocketAddr, SimError> {
        let listener = TcpListener::bind(addr).map_err(io_err("binding the printer port"))?;
        let local = listener.local_addr().map_err(io_err("printer local address"))?;
        self.serve_tcp(listener)?;
        Ok(local)
    }

    /// Serves an already bound listener on a thread.
    pub fn serve_tcp(&self, listener: TcpListener) -> Result<JoinHandle<()>, SimError> {
        listener.set_nonblocking(true).map_err(io_err("printer listener"))?;
        let me = self.clone();
        Ok(thread::spawn(move || me.accept_loop(&listener)))
    }

    fn accept_loop(&self, listener: &TcpListener) {
        while !self.is_shut_down() {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if *lock(&self.shared.connections) >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "too many printer connections, refusing");
                        continue;
                    }
                    *lock(&self.shared.connections) += 1;
                    let me = self.clone();
                    thread::spawn(move || {
                        if let Err(e) = me.serve_tcp_connection(stream, peer) {
                            tracing::debug!(%peer, error = %e, "printer connection ended");
                        }
                        *lock(&me.shared.connections) -= 1;
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
                Err(e) => {
                    tracing::warn!(error = %e, "printer accept failed");
                    thread::sleep(POLL);
                }
            }
        }
    }

    fn serve_tcp_connection(&self, stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        tracing::info!(%peer, "printer connection");
        self.run_stream(stream, writer, &format!("tcp {peer}"));
        Ok(())
    }

    /// Creates a serial pseudo-terminal the host can open like a printer's serial port and
    /// serves it on a thread; returns its path (`/dev/pts/N`).
    pub fn open_serial(&self) -> Result<String, SimError> {
        let pty = crate::pty::Pty::open()?;
        let path = pty.path.clone();
        let me = self.clone();
        let source = format!("serial {path}");
        thread::spawn(move || {
            let crate::pty::Pty { master, slave, .. } = pty;
            // Holding the slave open keeps the master readable while no host has it open.
            let _slave = slave;
            let Ok(writer) = master.try_clone() else { return };
            me.run_stream(master, writer, &source);
        });
        Ok(path)
    }

    /// The connection loop shared by TCP and serial: read what the buffer has room for,
    /// answer real-time requests, print, file finished jobs.
    fn run_stream(&self, mut reader: impl Read, mut writer: impl Write, source: &str) {
        let mut session =
            Session::new(self.shared.config.profile.clone(), self.shared.config.rx_capacity);
        let mut buf = vec![0u8; 4096];
        // A host that hangs up does not take back what it sent: the printer keeps printing
        // what it received, it just stops answering.
        let mut eof = false;
        let mut writable = true;
        while !self.is_shut_down() {
            let space = session.space(&lock(&self.shared.conditions));
            if eof || space == 0 {
                thread::sleep(POLL);
            } else {
                match reader.read(&mut buf[..space.min(4096)]) {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        let replies = {
                            let mut c = lock(&self.shared.conditions);
                            session.receive(&mut c, &buf[..n], self.now())
                        };
                        send(&mut writer, &replies, &mut writable, source);
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        tracing::debug!(source, error = %e, "read failed, treating as hang-up");
                        eof = true;
                    }
                }
            }
            let out = {
                let mut c = lock(&self.shared.conditions);
                session.process(&mut c, self.now())
            };
            send(&mut writer, &out.replies, &mut writable, source);
            for f in out.finished {
                self.file_job(f, source);
            }
            if eof && session.buffered() == 0 {
                break;
            }
        }
        if let Some(f) = session.close() {
            self.file_job(f, source);
        }
    }

    fn file_job(&self, finished: Finished, source: &str) {
        let Finished { receipt, diagnostics } = finished;
        let hash = content_hash(&receipt);
        let mut jobs = lock(&self.shared.jobs);
        let duplicate_of = jobs.iter().find(|j| j.hash == hash).map(|j| j.seq);
        let job = Job {
            seq: jobs.len() as u64 + 1,
            source: source.to_owned(),
            text: render::text(&receipt),
            receipt,
            diagnostics,
            hash,
            duplicate_of,
        };
        tracing::info!(seq = job.seq, source, diagnostics = job.diagnostics.len(), "job printed");
        if let Some(dir) = &self.shared.config.out_dir
            && let Err(e) = write_job(dir, &job)
        {
            tracing::warn!(error = %e, "could not write job to the output folder");
        }
        jobs.push(job);
        self.shared.jobs_changed.notify_all();
    }

    /// Every job completed so far, oldest first.
    #[must_use]
    pub fn jobs(&self) -> Vec<Job> {
        lock(&self.shared.jobs).clone()
    }

    /// Waits until at least `n` jobs are complete or `timeout` passes; returns the jobs.
    #[must_use]
    pub fn wait_for_jobs(&self, n: usize, timeout: Duration) -> Vec<Job> {
        let deadline = Instant::now() + timeout;
        let mut jobs = lock(&self.shared.jobs);
        while jobs.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            jobs = self
                .shared
                .jobs_changed
                .wait_timeout(jobs, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        jobs.clone()
    }

    /// A copy of the current conditions.
    #[must_use]
    pub fn conditions(&self) -> Conditions {
        let mut c = lock(&self.shared.conditions);
        c.tick(self.now());
        c.clone()
    }

    /// Changes the conditions (the control port's commands go through here).
    pub fn update(&self, f: impl FnOnce(&mut Conditions)) {
        let mut c = lock(&self.shared.conditions);
        f(&mut c);
    }

    /// Sets the paper sensors.
    pub fn set_paper(&self, paper: Paper) {
        self.update(|c| c.paper = paper);
    }

    /// Opens or closes the cover.
    pub fn set_cover_open(&self, open: bool) {
        self.update(|c| c.cover_open = open);
    }

    /// Takes the printer offline or back online.
    pub fn set_online(&self, online: bool) {
        self.update(|c| c.online = online);
    }

    /// Limits the print speed (`None`: full speed).
    pub fn set_speed(&self, bytes_per_second: Option<u32>) {
        self.update(|c| c.bytes_per_second = bytes_per_second);
    }

    /// Hangs now (`None`) or after printing `after` more bytes.
    pub fn hang(&self, after: Option<u64>) {
        self.update(|c| match after {
            None => c.hung = true,
            Some(n) => c.hang_after = Some(n),
        });
    }

    /// Ends a hang.
    pub fn resume(&self) {
        self.update(|c| {
            c.hung = false;
            c.hang_after = None;
        });
    }

    /// Closes (or opens) the drawer by hand.
    pub fn set_drawer_open(&self, open: bool) {
        let now = self.now();
        self.update(|c| {
            c.drawer.open = open;
            c.drawer.opened_at = open.then_some(now);
        });
    }

    /// Stops every listener and connection thread of this printer (within a few [`POLL`]s).
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
    }

    fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }
}

/// Writes replies to the host until a write fails; after that the host is gone and replies
/// are dropped.
fn send(writer: &mut impl Write, bytes: &[u8], writable: &mut bool, source: &str) {
    if *writable
        && !bytes.is_empty()
        && let Err(e) = writer.write_all(bytes).and_then(|()| writer.flush())
    {
        tracing::debug!(source, error = %e, "host stopped listening");
        *writable = false;
    }
}

#[derive(serde::Serialize)]
struct JobLine<'a> {
    seq: u64,
    source: &'a str,
    hash: &'a str,
    duplicate_of: Option<u64>,
    cut: bool,
    text: &'a str,
    png: String,
    diagnostics: &'a [Diagnostic],
}

fn write_job(dir: &std::path::Path, job: &Job) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    let stem = format!("{:04}", job.seq);
    let txt = dir.join(format!("{stem}.txt"));
    std::fs::write(&txt, &job.text).map_err(io_err(format!("writing {}", txt.display())))?;
    let png_name = format!("{stem}.png");
    match job.png() {
        Ok(png) => {
            let path = dir.join(&png_name);
            std::fs::write(&path, png).map_err(io_err(format!("writing {}", path.display())))?;
        }
        Err(e) => tracing::warn!(error = %e, seq = job.seq, "no PNG for this job"),
    }
    let line = JobLine {
        seq: job.seq,
        source: &job.source,
        hash: &job.hash,
        duplicate_of: job.duplicate_of,
        cut: job.is_cut(),
        text: &job.text,
        png: png_name,
        diagnostics: &job.diagnostics,
    };
    let mut json = serde_json::to_string(&line).unwrap_or_default();
    json.push('\n');
    let path = dir.join("jobs.jsonl");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(json.as_bytes()))
        .map_err(io_err(format!("appending to {}", path.display())))
}
