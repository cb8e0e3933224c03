//! The print service reports each printer's condition (paper, cover, drawer) for the
//! screens, and notices a cash drawer left open, through a real TCP link to the simulator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

const WAIT: Duration = Duration::from_secs(10);
use thorbis_agent::print::{PrintService, PrinterConfig, PrinterStatus, policy::Timing};
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock};
use thorbis_drivers::drawer::{DrawerMonitorConfig, DrawerSensorPolarity};
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::status::{DrawerState, PaperLevel};
use thorbis_drivers::transport::TcpConfig;
use thorbis_simulators::printer::Paper;
use thorbis_simulators::server::{PrinterConfig as SimConfig, PrinterHandle};

fn until(
    what: &str,
    service: &PrintService,
    done: impl Fn(&PrinterStatus) -> bool,
) -> Result<PrinterStatus> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = service.status().into_iter().next().filter(|s| done(s)) {
            return Ok(s);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}: {:?}", service.status());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn reports_paper_and_a_drawer_left_open() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = SimConfig::default();
    config.conditions.drawer.connected = true;
    let sim = PrinterHandle::new(config);
    let addr = sim.listen_tcp("127.0.0.1:0")?;
    let path = dir.path().join("agent.db");
    drop(Store::open(StoreConfig::new(&path))?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let printer = PrinterConfig {
        name: "front".into(),
        connector: Arc::new(TcpConfig::new(addr.to_string())),
        profile: PrinterProfile::builtin("epson-tm-t88")?,
        drawer: Some(DrawerSensorPolarity::OpenWhenHigh),
        backup: None,
        timing: Timing::default(),
        drawer_alert: DrawerMonitorConfig {
            left_open_after: Duration::from_millis(300),
            remind_every: None,
        },
    };
    let service = PrintService::start(&path, vec![printer], &clock)?;

    let s = until("first status", &service, |s| s.reachable)?;
    assert_eq!(s.health.map(|h| h.drawer), Some(Some(DrawerState::Closed)));

    sim.set_paper(Paper::NearEnd);
    let s = until("paper near end", &service, |s| {
        s.health.is_some_and(|h| h.paper == PaperLevel::NearEnd)
    })?;
    assert_eq!(s.problem, None, "a near-end roll still prints");
    sim.set_paper(Paper::Out);
    let s = until("paper out", &service, |s| s.health.is_some_and(|h| h.paper == PaperLevel::Out))?;
    assert!(s.reachable);
    assert_eq!(s.problem.as_deref(), Some("paper out"));

    sim.set_drawer_open(true);
    let s = until("drawer left open", &service, |s| s.drawer_left_open_ms.is_some())?;
    assert!(s.drawer_left_open_ms.unwrap() >= 300);
    sim.set_drawer_open(false);
    until("drawer closed", &service, |s| s.drawer_left_open_ms.is_none())?;

    sim.shutdown();
    until("printer gone", &service, |s| !s.reachable)?;
    Ok(())
}

/// After a long outage, kitchen tickets that never went out are held for a decision rather
/// than printed in a flood; releasing one prints it once.
#[test]
fn stale_kitchen_tickets_are_held_not_flooded() -> Result<()> {
    use std::collections::BTreeMap;

    use thorbis_agent::ManualClock;
    use thorbis_agent::print::{Decision, JobState, PrintRouting};
    use thorbis_agent::seed;

    use thorbis_domain::ids::{LineId, OrderId};
    use thorbis_domain::{Command, Qty};

    let dir = tempfile::tempdir()?;
    let sim = PrinterHandle::new(SimConfig::default());
    let addr = sim.listen_tcp("127.0.0.1:0")?;
    sim.set_paper(Paper::Out);
    let manual = Arc::new(ManualClock::new(1_800_000_000_000));
    let clock: Arc<dyn Clock> = manual.clone();
    let path = dir.path().join("agent.db");
    let print = PrintRouting {
        stations: BTreeMap::from([("fryer".into(), "kitchen".into())]),
        receipt_printer: None,
    };
    let mut store =
        Store::open(StoreConfig { clock: Arc::clone(&clock), print, ..StoreConfig::new(&path) })?;
    store.execute_all(&seed::catalog())?;
    let send_ticket = |store: &mut Store| -> Result<()> {
        let order_id = OrderId(store.new_id());
        let line_id = LineId(store.new_id());
        store.execute_all(&[
            seed::open_order(order_id, None),
            seed::line(order_id, line_id, seed::FRIES, Qty::ONE, vec![]),
            Command::SendToKitchen { order_id },
        ])?;
        Ok(())
    };
    send_ticket(&mut store)?;
    let printer = PrinterConfig {
        name: "kitchen".into(),
        connector: Arc::new(TcpConfig::new(addr.to_string())),
        profile: PrinterProfile::builtin("epson-tm-t88")?,
        drawer: None,
        backup: None,
        timing: Timing::default(),
        drawer_alert: DrawerMonitorConfig::default(),
    };
    let service = PrintService::start(&path, vec![printer], &clock)?;
    until("paper out seen", &service, |s| s.problem.as_deref() == Some("paper out"))?;
    // Eleven minutes pass with no paper.
    manual.advance(11 * 60_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.print_jobs(&[JobState::Held])?.is_empty() {
        if Instant::now() > deadline {
            bail!("the stale ticket was not held");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    sim.set_paper(Paper::Ok);
    // A ticket sent now is a marker: it prints, and the older, held one must not go out
    // before it or with it.
    send_ticket(&mut store)?;
    assert_eq!(sim.wait_for_jobs(1, WAIT).len(), 1);
    assert_eq!(sim.jobs().len(), 1, "a held ticket must not print by itself");
    let held = store.print_jobs(&[JobState::Held])?.remove(0);
    store.decide_print_job(held.id, Decision::Print, seed::MANAGER)?;
    let audit = store.print_decisions(10)?;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].job_id, audit[0].by), (held.id, seed::MANAGER));
    assert!(audit[0].decision == Decision::Print && !audit[0].was_uncertain);
    assert_eq!(sim.wait_for_jobs(2, WAIT).len(), 2);
    // A third ticket prints after the released one; by then a second copy of it would
    // have gone out too.
    send_ticket(&mut store)?;
    let jobs = sim.wait_for_jobs(3, WAIT);
    assert_eq!(jobs.len(), 3);
    assert_eq!(sim.jobs().len(), 3, "the released ticket printed once");
    assert!(jobs.iter().all(|j| j.duplicate_of.is_none()), "no job printed twice");
    drop(service);
    Ok(())
}
