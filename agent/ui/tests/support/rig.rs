//! The UI's browser tests' rig: a store with the demo catalog, a simulated ESC/POS printer
//! over TCP and the UI on a free loopback port, plus the steps every screen test takes (sign
//! in by PIN, submit bad input and check nothing changed, find a printed job).

// Shared by the browser tests through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, ensure};
use chromiumoxide::page::Page;
use thorbis_agent::print::PrintService;
use thorbis_agent::print::setup::{front_printer, front_routing};
use thorbis_agent::sync::SharedStore;
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock, seed};
use thorbis_simulators::server::{Job, PrinterConfig as SimConfig, PrinterHandle};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

use crate::browser::{self, click_and_load, fill, text, wait_for};

/// A store, a printer simulator and the UI on a free loopback port.
pub struct Rig {
    pub store: SharedStore,
    pub sim: PrinterHandle,
    pub base: String,
    /// Where a serial scanner's codes go.
    pub scans: ui::ScanFeed,
    _print: Arc<PrintService>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Rig {
    pub async fn start() -> Result<Rig> {
        let dir = tempfile::tempdir()?;
        let sim = PrinterHandle::new(SimConfig::default());
        let printer_addr = sim.listen_tcp("127.0.0.1:0")?;
        let path = dir.path().join("agent.db");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut store = Store::open(StoreConfig {
            id_seed: Some(11),
            device_key_seed: Some([11; 32]),
            clock: Arc::clone(&clock),
            print: front_routing(),
            ..StoreConfig::new(&path)
        })?;
        store.execute_all(&seed::catalog())?;
        let print = Arc::new(PrintService::start(
            &path,
            vec![front_printer(printer_addr.to_string())?],
            &clock,
        )?);
        let store = SharedStore::new(store);
        let state = UiState::new(
            store.clone(),
            Some(Arc::clone(&print)),
            clock,
            SessionKey::from_bytes(b"ui e2e"),
        );
        let scans = state.scan_feed();
        let listener = ui::bind_loopback(0).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ui::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Rig { store, sim, base, scans, _print: print, _dir: dir, stop: Some(stop) })
    }

    /// The store's event count and projection digest: what bad input must leave alone.
    pub fn fingerprint(&self) -> Result<(u64, String)> {
        self.store
            .with(|store| Ok((store.event_count()?, format!("{:?}", store.projection_digest()?))))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sim.shutdown();
    }
}

/// The inline message's text, once the page shows one.
pub async fn message(page: &Page) -> Result<String> {
    wait_for(page, "an inline message", "!!document.getElementById('msg')").await?;
    text(page, "document.getElementById('msg').innerText").await
}

/// Submits `form_button` with the inputs set to `values`; the store must not change and
/// the page must show a message containing `expect`.
pub async fn refused(
    rig: &Rig,
    page: &Page,
    values: &[(&str, &str)],
    form_button: &str,
    expect: &str,
) -> Result<()> {
    let before = rig.fingerprint()?;
    for (selector, value) in values {
        fill(page, selector, value).await?;
    }
    click_and_load(page, form_button, "!!document.getElementById('msg')").await?;
    let msg = message(page).await?;
    ensure!(
        msg.contains(expect),
        "input {values:?} should be refused with {expect:?}, the page said {msg:?}"
    );
    ensure!(rig.fingerprint()? == before, "input {values:?} changed the store");
    Ok(())
}

/// Signs in on `page` as the staff member named `name`, tapping the PIN pad.
pub async fn sign_in(rig: &Rig, page: &Page, name: &str, pin: &str, then: &str) -> Result<()> {
    browser::sign_in(page, &rig.url("/signin"), name, pin, then).await
}

pub fn has(selector: &str, needle: &str) -> String {
    format!(
        "Array.from(document.querySelectorAll({})).some(e => e.innerText.includes({}))",
        serde_json::to_string(selector).unwrap(),
        serde_json::to_string(needle).unwrap()
    )
}

/// Waits (bounded) for a printed job whose text satisfies `matches`.
pub async fn wait_for_job(rig: &Rig, matches: impl Fn(&str) -> bool) -> Result<String> {
    Ok(wait_for_printed(rig, matches).await?.text)
}

/// [`wait_for_job`], the whole job as the simulator parsed it (drawer pulses included).
pub async fn wait_for_printed(rig: &Rig, matches: impl Fn(&str) -> bool) -> Result<Job> {
    let deadline = std::time::Instant::now() + browser::WAIT;
    loop {
        if let Some(job) = rig.sim.jobs().into_iter().find(|j| matches(&j.text)) {
            return Ok(job);
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "no such print job; printed: {:#?}",
            rig.sim.jobs().iter().map(|j| &j.text).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
