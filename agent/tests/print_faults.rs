//! Print faults through the real TCP path: the agent's print queue drives virtual ESC/POS
//! printers (the simulator, parsing real bytes) while the test runs the printer out of
//! paper mid-job, opens its cover, takes it offline, makes it unreachable, drops the
//! connection right after a job arrived, and fails it over to a backup. Every job must come
//! out exactly once.
//!
//! Prints `RESULT print_faults jobs=<n> missing=<n> duplicates=<n> uncertain=<n>`.
//! Its own harness (`harness = false`), because it is one long scenario.

#![allow(clippy::print_stdout)] // A harness reports on its terminal.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use thorbis_agent::print::{
    Document, JobState, PrintRouting, PrintService, PrinterConfig, PrinterStatus, policy::Timing,
    short,
};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock};
use thorbis_domain::ids::{DrawerSessionId, LineId, OrderId};
use thorbis_domain::{Command, Qty};
use thorbis_drivers::drawer::DrawerMonitorConfig;
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::transport::TcpConfig;
use thorbis_simulators::printer::Paper;
use thorbis_simulators::server::{PrinterConfig as SimConfig, PrinterHandle};

fn main() -> Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let main_sim = PrinterHandle::new(SimConfig::default());
    let backup_sim = PrinterHandle::new(SimConfig::default());
    let main_addr = main_sim.listen_tcp("127.0.0.1:0")?;
    let backup_addr = backup_sim.listen_tcp("127.0.0.1:0")?;
    let proxy = Proxy::start(main_addr)?;

    let routing = PrintRouting {
        stations: BTreeMap::from([
            ("grill".into(), "kitchen".into()),
            ("fryer".into(), "kitchen".into()),
        ]),
        receipt_printer: Some("kitchen".into()),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let path = dir.path().join("agent.db");
    let mut store = Store::open(StoreConfig {
        print: routing,
        clock: Arc::clone(&clock),
        ..StoreConfig::new(&path)
    })?;
    store.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;

    let service = PrintService::start(
        &path,
        vec![printer("kitchen", proxy.addr, Some("expo"))?, printer("expo", backup_addr, None)?],
        &clock,
    )?;
    let mut scenario = Scenario { store: &mut store, drawer, created: 0 };
    let printed_during_paper_out =
        run_faults(&mut scenario, &service, &main_sim, &backup_sim, &proxy)?;
    let created = scenario.created;
    wait("queue drained", || store_pending(&path).is_ok_and(|n| n == 0))?;
    drop(service);

    let jobs = store.print_jobs(&JobState::ALL)?;
    let texts: Vec<String> =
        main_sim.jobs().into_iter().chain(backup_sim.jobs()).map(|j| j.text).collect();
    let (missing, duplicates) = account(&jobs, &texts);
    let uncertain = jobs.iter().filter(|j| j.state == JobState::Uncertain).count();
    let on_backup = backup_sim.jobs().len();
    println!(
        "RESULT print_faults jobs={} missing={missing} duplicates={duplicates} uncertain={uncertain} failed_over={on_backup}",
        jobs.len()
    );
    if printed_during_paper_out > 0 {
        bail!("{printed_during_paper_out} jobs printed while the paper was out");
    }
    if jobs.len() != created || missing + duplicates > 0 || on_backup == 0 {
        bail!("print faults lost, repeated or misrouted jobs");
    }
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    Ok(())
}

/// A printer on raw TCP with short timeouts and a quick failover.
fn printer(name: &str, addr: SocketAddr, backup: Option<&str>) -> Result<PrinterConfig> {
    let mut tcp = TcpConfig::new(addr.to_string());
    tcp.connect_timeout = Duration::from_millis(500);
    tcp.write_timeout = Duration::from_secs(5);
    Ok(PrinterConfig {
        name: name.into(),
        connector: Arc::new(tcp),
        profile: PrinterProfile::builtin("epson-tm-t88")?,
        drawer: None,
        backup: backup.map(Into::into),
        timing: Timing {
            stale_after_ms: 10 * 60_000,
            failover_after_ms: 1_500,
            retry_min_ms: 50,
            retry_max_ms: 300,
        },
        drawer_alert: DrawerMonitorConfig::default(),
    })
}

/// Runs every fault in turn, each with fresh jobs, waiting for them to come out. Returns
/// how many jobs printed while the paper was out (must be none).
fn run_faults(
    s: &mut Scenario<'_>,
    service: &PrintService,
    main_sim: &PrinterHandle,
    backup_sim: &PrinterHandle,
    proxy: &Proxy,
) -> Result<usize> {
    let count = || main_sim.jobs().len() + backup_sim.jobs().len();
    // Each fault is held until the print service has seen it with jobs waiting, so every
    // fault is really met, however slow the machine.
    let seen = |what: &str, fault: fn(&PrinterStatus) -> bool| {
        wait(what, || service.status().iter().any(|p| p.name == "kitchen" && fault(p)))
    };

    // 1. Normal service.
    s.jobs(4)?;
    wait("normal jobs", || count() >= s.created)?;

    // 2. Paper out before the jobs arrive: nothing prints until paper is back.
    main_sim.set_paper(Paper::Out);
    let before = count();
    s.jobs(3)?;
    seen("paper out seen", |p| p.problem.as_deref() == Some("paper out"))?;
    let printed_during_paper_out = count() - before;
    main_sim.set_paper(Paper::Ok);
    wait("jobs after paper out", || count() >= s.created)?;

    // 3. Paper out in the middle of a job: the printer is slowed down so the job is still
    //    printing when the paper runs out; it resumes when paper is loaded.
    main_sim.set_speed(Some(600));
    s.jobs(1)?;
    wait("a job printing", || {
        count() >= s.created
            || s.store.print_jobs(&[JobState::Sending, JobState::Sent]).is_ok_and(|j| !j.is_empty())
    })?;
    main_sim.set_paper(Paper::Out);
    // The roll stays out for a while (a scenario step, not a wait for an event): the
    // service is busy writing and cannot notice before the paper is back.
    std::thread::sleep(Duration::from_millis(600));
    main_sim.set_paper(Paper::Ok);
    wait("job after paper out mid-job", || count() >= s.created)?;
    main_sim.set_speed(None);

    // 4. Cover open.
    main_sim.set_cover_open(true);
    s.jobs(2)?;
    seen("cover open seen", |p| p.problem.as_deref() == Some("cover open"))?;
    main_sim.set_cover_open(false);
    wait("jobs after cover open", || count() >= s.created)?;

    // 5. Printer offline, then back online.
    main_sim.set_online(false);
    s.jobs(2)?;
    seen("offline seen", |p| p.problem.as_deref() == Some("printer offline"))?;
    main_sim.set_online(true);
    wait("jobs after offline", || count() >= s.created)?;

    // 6. Unreachable for less than the failover limit, then back.
    proxy.set(Mode::Down);
    s.jobs(2)?;
    seen("unreachable seen", |p| !p.reachable)?;
    proxy.set(Mode::Pass);
    wait("jobs after an unreachable spell", || count() >= s.created)?;

    // 7. The connection drops right after a job's last byte (its cut) reached the printer.
    proxy.set(Mode::DropAfterCut);
    s.jobs(3)?;
    wait("jobs after dropped connections", || count() >= s.created)?;
    proxy.set(Mode::Pass);

    // 8. Unreachable past the failover limit: queued jobs move to the backup printer.
    proxy.set(Mode::Down);
    s.jobs(3)?;
    wait("jobs failed over to the backup", || count() >= s.created)?;
    proxy.set(Mode::Pass);
    Ok(printed_during_paper_out)
}

/// Finds each job's marker in what the printers printed: `(missing, extra copies)`.
fn account(jobs: &[thorbis_agent::print::PrintJob], texts: &[String]) -> (usize, usize) {
    let (mut missing, mut duplicates) = (0, 0);
    for job in jobs {
        let marker = match &job.document {
            Document::Kitchen { ticket_id } => format!("Ticket {}", short(ticket_id.0)),
            Document::Receipt { order_id } => format!("Order {}", short(order_id.0)),
            Document::Refund { refund_id, .. } => format!("Refund {}", short(refund_id.0)),
            Document::ZReport { .. } | Document::NoSale { .. } => continue,
        };
        match texts.iter().filter(|t| t.contains(&marker)).count() {
            0 => {
                missing += 1;
                println!("# missing: {marker} ({:?}, {:?})", job.state, job.last_error);
            }
            1 => {}
            n => {
                duplicates += n - 1;
                println!("# printed {n} times: {marker}");
            }
        }
    }
    (missing, duplicates)
}

/// Makes print jobs through real commands: sales (a receipt each) and kitchen sends.
struct Scenario<'a> {
    store: &'a mut Store,
    drawer: DrawerSessionId,
    created: usize,
}

impl Scenario<'_> {
    fn jobs(&mut self, n: usize) -> Result<()> {
        for i in 0..n {
            if i % 2 == 0 {
                let ids = SaleIds::new(|| self.store.new_id());
                self.store.execute_all(&seed::typical_sale(ids, self.drawer))?;
            } else {
                let order_id = OrderId(self.store.new_id());
                let line_id = LineId(self.store.new_id());
                self.store.execute_all(&[
                    seed::open_order(order_id, Some("9")),
                    seed::line(order_id, line_id, seed::FRIES, Qty::units(2), vec![]),
                    Command::SendToKitchen { order_id },
                ])?;
            }
            self.created += 1;
        }
        Ok(())
    }
}

fn store_pending(path: &std::path::Path) -> Result<usize> {
    let conn = rusqlite::Connection::open(path)?;
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM print_jobs WHERE state IN ('queued', 'sending', 'sent')",
        [],
        |r| r.get(0),
    )?)
}

/// Polls `done` for up to 20 s.
fn wait(what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Forward both ways.
    Pass = 0,
    /// Accept and hang up at once: the printer is unreachable.
    Down = 1,
    /// Forward, and hang up on the agent right after forwarding a cut (`GS V`).
    DropAfterCut = 2,
}

/// A TCP proxy between the agent and a virtual printer that can fail on command.
struct Proxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let m = Arc::clone(&mode);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let mode = m.load(Ordering::SeqCst);
                if mode == Mode::Down as u8 {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(printer) = TcpStream::connect(upstream) else { continue };
                let _ = pipe(client, printer, &m);
            }
        });
        Ok(Proxy { addr, mode })
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

/// Shuttles bytes until either side closes, or the mode turns `Down` (hanging up on a live
/// connection too, as a pulled cable would). Returns when the connection is over.
fn pipe(client: TcpStream, printer: TcpStream, mode: &AtomicU8) -> Result<()> {
    client.set_read_timeout(Some(Duration::from_millis(50)))?;
    let (mut c_read, mut p_write) = (client.try_clone()?, printer.try_clone()?);
    let (c_write, p_read) = (Arc::new(Mutex::new(client)), printer);
    let back = Arc::clone(&c_write);
    let mut p_read2 = p_read.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = p_read2.read(&mut buf) {
            if n == 0 || back.lock().expect("client lock").write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 4096];
    let mut last = 0u8;
    loop {
        let now = mode.load(Ordering::SeqCst);
        if now == Mode::Down as u8 {
            break;
        }
        let n = match c_read.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e).context("reading from the agent"),
        };
        p_write.write_all(&buf[..n])?;
        let cut =
            buf[..n].windows(2).any(|w| w == [0x1d, 0x56]) || (last == 0x1d && buf[0] == 0x56);
        last = buf[n - 1];
        if now == Mode::DropAfterCut as u8 && cut {
            // Give the printer the bytes, then hang up on the agent before it hears back.
            std::thread::sleep(Duration::from_millis(50));
            break;
        }
    }
    let _ = c_write.lock().expect("client lock").shutdown(Shutdown::Both);
    let _ = p_read.shutdown(Shutdown::Both);
    Ok(())
}
