//! The writer threads: one per printer, each with its own SQLite connection, taking that
//! printer's jobs oldest first. All decisions come from [`super::policy`]; this file only
//! moves bytes and rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;
use thorbis_drivers::drawer::{
    DrawerEvent, DrawerMonitor, DrawerMonitorConfig, DrawerSensorPolarity,
};
use thorbis_drivers::encoder::Encoder;
use thorbis_drivers::printer::Printer;
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::status::PrinterStatus as DeviceStatus;
use thorbis_drivers::transport::{ByteSink, ByteSource, Connect, TransportError};

use super::policy::{self, Timing};
use super::{JobState, PrintJob, jobs, render, reroute_queued, set_state};
use crate::clock::Clock;
use crate::error::StoreError;

/// A connection to a printer, whatever carries it: TCP, serial, USB.
pub trait Link: ByteSink + ByteSource {}

impl<T: ByteSink + ByteSource> Link for T {}

impl ByteSink for Box<dyn Link> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        (**self).write_all(bytes)
    }
}

impl ByteSource for Box<dyn Link> {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        (**self).read(buf, timeout)
    }
}

/// Opens [`Link`]s to one printer. Every transport configuration of the drivers crate
/// (`TcpConfig`, `SerialConfig`, `UsbLpConfig`) is one.
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// A fresh connection.
    fn open(&self) -> Result<Box<dyn Link>, TransportError>;
}

impl<C> Connector for C
where
    C: Connect + Sync + std::fmt::Debug,
    C::Conn: Link + 'static,
{
    fn open(&self) -> Result<Box<dyn Link>, TransportError> {
        Ok(Box::new(self.connect()?))
    }
}

/// One printer the service drives.
#[derive(Clone, Debug)]
pub struct PrinterConfig {
    /// Its name, as used in routing.
    pub name: String,
    /// How to reach it.
    pub connector: Arc<dyn Connector>,
    /// Paper width, code pages, features.
    pub profile: PrinterProfile,
    /// How its drawer sensor is wired, if a drawer with a sensor hangs off it.
    pub drawer: Option<DrawerSensorPolarity>,
    /// The printer that takes over its queued jobs when it stays unreachable.
    pub backup: Option<String>,
    /// Timing rules.
    pub timing: Timing,
    /// When an open drawer counts as left open.
    pub drawer_alert: DrawerMonitorConfig,
}

/// What the queue knows about a printer, for the screens and (later) the hub.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PrinterStatus {
    /// The printer.
    pub name: String,
    /// Whether the last connection attempt or query succeeded.
    pub reachable: bool,
    /// The last status it reported (drawer sensor included).
    pub health: Option<DeviceStatus>,
    /// Why it is not printing, in words, if it is not.
    pub problem: Option<String>,
    /// What a person does about the problem ("load paper").
    pub remedy: Option<&'static str>,
    /// When it last answered.
    pub last_contact_ms: Option<u64>,
    /// Since when it has not answered.
    pub down_since_ms: Option<u64>,
    /// Unfinished jobs.
    pub queue_depth: usize,
    /// Jobs printed since the service started.
    pub printed: u64,
    /// How long the cash drawer on this printer has been left open, once past the limit.
    pub drawer_left_open_ms: Option<u64>,
}

type Board = Arc<Mutex<BTreeMap<String, PrinterStatus>>>;

/// The running writer threads.
#[derive(Debug)]
pub struct PrintService {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    board: Board,
}

/// How often a writer looks for new jobs when idle.
const POLL: Duration = Duration::from_millis(20);

/// How often an idle writer refreshes its printer's status.
const IDLE_STATUS_EVERY: Duration = Duration::from_secs(1);

/// How long to wait for each status answer before calling the printer unreachable.
const STATUS_TIMEOUT: Duration = Duration::from_millis(1500);

impl PrintService {
    /// Starts one writer per printer over the store at `db`.
    pub fn start(
        db: &Path,
        printers: Vec<PrinterConfig>,
        clock: &Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let stopped = Arc::new(Mutex::new(stopped));
        let board: Board = Arc::new(Mutex::new(BTreeMap::new()));
        let mut threads = Vec::with_capacity(printers.len());
        for (i, printer) in printers.into_iter().enumerate() {
            let conn = Connection::open(db)?;
            conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;")?;
            let writer = Writer {
                conn,
                printer: printer.clone(),
                clock: Arc::clone(clock),
                board: Arc::clone(&board),
                link: None,
                drawer: DrawerMonitor::new(printer.drawer_alert),
                last_status: None,
                failures: 0,
                down_since: None,
                random: 0x9e37_79b9_7f4a_7c15 ^ i as u64,
            };
            let stopped = Arc::clone(&stopped);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("printer-{i}"))
                    .spawn(move || writer.run(&stopped))
                    .map_err(|e| {
                        StoreError::Corrupt(format!("cannot start a printer thread: {e}"))
                    })?,
            );
        }
        Ok(Self { stop: Some(stop), threads, board })
    }

    /// Every printer's status.
    #[must_use]
    pub fn status(&self) -> Vec<PrinterStatus> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// Stops the writers, letting each finish the job in hand.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for PrintService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Writer {
    conn: Connection,
    printer: PrinterConfig,
    clock: Arc<dyn Clock>,
    board: Board,
    link: Option<Printer<Box<dyn Link>>>,
    drawer: DrawerMonitor,
    last_status: Option<Instant>,
    failures: u32,
    down_since: Option<u64>,
    random: u64,
}

impl Writer {
    fn run(mut self, stopped: &Mutex<mpsc::Receiver<()>>) {
        let mut wait = POLL;
        loop {
            // Every writer holds the receiver briefly; a closed channel means stop.
            let stop =
                stopped.lock().unwrap_or_else(PoisonError::into_inner).recv_timeout(Duration::ZERO);
            if !matches!(stop, Err(RecvTimeoutError::Timeout)) {
                return;
            }
            std::thread::sleep(wait);
            wait = match self.step() {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(printer = %self.printer.name, error = %e, "print queue error");
                    Duration::from_millis(500)
                }
            };
        }
    }

    /// Does one thing and says how long to wait before the next.
    fn step(&mut self) -> Result<Duration, StoreError> {
        let now = self.clock.now_ms();
        let name = self.printer.name.clone();
        let timing = self.printer.timing;
        let mut pending =
            jobs(&self.conn, Some(&name), &[JobState::Queued, JobState::Sending, JobState::Sent])?;
        for job in pending.iter().filter(|j| policy::is_stale(j, now, &timing)) {
            tracing::warn!(printer = %name, job = %job.id, "kitchen ticket went stale; held for a decision");
            set_state(
                &self.conn,
                job.id,
                JobState::Held,
                None,
                Some("stale after an outage"),
                now,
            )?;
        }
        pending.retain(|j| !policy::is_stale(j, now, &timing));
        self.update(|s| s.queue_depth = pending.len());
        let Some(job) = pending.into_iter().next() else {
            // Idle: keep the status (paper, cover, drawer) fresh for the screens.
            if self.last_status.is_none_or(|t| t.elapsed() >= IDLE_STATUS_EVERY)
                && let Err(e) = self.connect_and_query()
            {
                return self.unreachable(&e.to_string(), now);
            }
            return Ok(POLL);
        };

        let health = match self.connect_and_query() {
            Ok(h) => h,
            Err(e) => return self.unreachable(&e.to_string(), now),
        };
        let ready = policy::readiness(&health);
        match job.state {
            JobState::Sending => {
                // We stopped (crashed, or lost the link) in the middle of sending it.
                set_state(
                    &self.conn,
                    job.id,
                    JobState::Uncertain,
                    None,
                    Some("interrupted while sending"),
                    now,
                )?;
                Ok(Duration::ZERO)
            }
            JobState::Sent => {
                // The printer holds the job; it is printed once the printer is ready again.
                if ready.is_ok() {
                    self.printed(&job, now)?;
                    return Ok(Duration::ZERO);
                }
                Ok(Duration::from_millis(100))
            }
            _ if ready.is_err() => Ok(Duration::from_millis(100)),
            _ => self.send(&job, now),
        }
    }

    fn send(&mut self, job: &PrintJob, now: u64) -> Result<Duration, StoreError> {
        let Some(receipt) = render(&self.conn, job)? else {
            set_state(
                &self.conn,
                job.id,
                JobState::Held,
                None,
                Some("nothing to print: its order or ticket is unknown here"),
                now,
            )?;
            return Ok(Duration::ZERO);
        };
        let bytes = match Encoder::new(&self.printer.profile).encode(&receipt) {
            Ok(b) => b,
            Err(e) => {
                set_state(
                    &self.conn,
                    job.id,
                    JobState::Held,
                    None,
                    Some(&format!("cannot encode: {e}")),
                    now,
                )?;
                return Ok(Duration::ZERO);
            }
        };
        set_state(&self.conn, job.id, JobState::Sending, Some(0), None, now)?;
        let link = self.link.as_mut().expect("connected before sending");
        let (written, mut error) = match link.transport_mut().write_all(&bytes) {
            Ok(()) => (bytes.len(), None),
            Err(e) => (e.written, Some(e.to_string())),
        };
        let mut state = policy::after_send(written as u64, bytes.len() as u64);
        if state == JobState::Sent {
            // A status answer after the job proves the printer received every byte of it:
            // it answers in the order it receives.
            match link.status() {
                Ok(h) if policy::readiness(&h).is_ok() => {
                    set_state(&self.conn, job.id, JobState::Sent, Some(written as u64), None, now)?;
                    self.printed(job, now)?;
                    return Ok(Duration::ZERO);
                }
                Ok(_) => {}
                Err(e) => {
                    state = JobState::Uncertain;
                    error = Some(format!("no answer after sending: {e}"));
                }
            }
        }
        if let Some(e) = &error {
            tracing::warn!(printer = %self.printer.name, job = %job.id, written, error = %e, "print attempt cut short");
            self.link = None;
        }
        set_state(&self.conn, job.id, state, Some(written as u64), error.as_deref(), now)?;
        Ok(Duration::ZERO)
    }

    fn printed(&mut self, job: &PrintJob, now: u64) -> Result<(), StoreError> {
        set_state(&self.conn, job.id, JobState::Printed, None, None, now)?;
        self.update(|s| s.printed += 1);
        tracing::debug!(printer = %self.printer.name, job = %job.id, "printed");
        Ok(())
    }

    fn connect_and_query(&mut self) -> Result<DeviceStatus, TransportError> {
        if self.link.is_none() {
            let link = self.printer.connector.open()?;
            self.link = Some(
                Printer::new(link, self.printer.profile.clone(), self.printer.drawer)
                    .with_status_timeout(STATUS_TIMEOUT),
            );
        }
        let health = self.link.as_mut().expect("just connected").status();
        match health {
            Ok(h) => {
                let now = self.clock.now_ms();
                self.failures = 0;
                self.down_since = None;
                self.last_status = Some(Instant::now());
                self.watch_drawer(&h);
                self.update(|s| {
                    s.reachable = true;
                    let not_ready = policy::readiness(&h).err();
                    s.problem = not_ready.map(|p| p.to_string());
                    s.remedy = not_ready.map(policy::NotReady::remedy);
                    s.health = Some(h);
                    s.last_contact_ms = Some(now);
                    s.down_since_ms = None;
                });
                Ok(h)
            }
            Err(e) => {
                self.link = None;
                Err(e)
            }
        }
    }

    fn watch_drawer(&mut self, status: &DeviceStatus) {
        let at = Instant::now();
        let event = match status.drawer {
            Some(state) => self.drawer.observe(at, state),
            None => self.drawer.tick(at),
        };
        match event {
            Some(DrawerEvent::LeftOpen { open_for }) => {
                tracing::warn!(printer = %self.printer.name, ?open_for, "cash drawer left open");
                self.update(|s| s.drawer_left_open_ms = Some(open_for.as_millis() as u64));
            }
            Some(DrawerEvent::Closed { .. }) => self.update(|s| s.drawer_left_open_ms = None),
            Some(DrawerEvent::Opened) | None => {}
        }
    }

    fn unreachable(&mut self, error: &str, now: u64) -> Result<Duration, StoreError> {
        let down_since = *self.down_since.get_or_insert(now);
        self.update(|s| {
            s.reachable = false;
            s.problem = Some(format!("unreachable: {error}"));
            s.remedy = Some(policy::UNREACHABLE_REMEDY);
            s.down_since_ms = Some(down_since);
        });
        if let Some(backup) = &self.printer.backup
            && policy::should_fail_over(Some(down_since), now, &self.printer.timing)
        {
            let moved = reroute_queued(&self.conn, &self.printer.name, backup, now)?;
            if moved > 0 {
                tracing::warn!(printer = %self.printer.name, backup = %backup, moved, "failed over to the backup printer");
            }
        }
        self.random = self.random.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = policy::retry_delay_ms(self.failures, self.random >> 11, &self.printer.timing);
        self.failures = self.failures.saturating_add(1);
        Ok(Duration::from_millis(delay))
    }

    fn update(&self, f: impl FnOnce(&mut PrinterStatus)) {
        let mut board = self.board.lock().unwrap_or_else(PoisonError::into_inner);
        let status = board.entry(self.printer.name.clone()).or_insert_with(|| PrinterStatus {
            name: self.printer.name.clone(),
            ..PrinterStatus::default()
        });
        f(status);
    }
}
