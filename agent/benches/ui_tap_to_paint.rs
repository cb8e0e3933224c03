//! Tap to paint on the POS screen, in real headless Chromium: from a real mouse tap on a
//! menu tile to the next frame painted with the new line on the check (the page's script
//! posts the tile's form, the agent commits the line and redirects, and the answer's
//! `<main>` replaces the page's; without the script it is a full page load, which the probe
//! measures the same way).
//!
//! Both ends are read from the browser's clock. The tap is the `pointerdown` event's own
//! time stamp (when the input reached the page); the paint is a double
//! `requestAnimationFrame` after the line appears in the DOM (seen by a `MutationObserver`,
//! or at `DOMContentLoaded` when a new document loads), so the frame that shows the line
//! has been produced. Polling from the bench does not blur either. Prints
//! `METRIC ui_tap_to_paint_ms_p50` and `_p95`, and in a `RESULT` line the same figures
//! counted from before the bench asks the browser to click (adding the `DevTools` round
//! trips of the click itself).
//!
//! `cargo bench -p thorbis-agent --bench ui_tap_to_paint` (`THORBIS_UI_TAPS=N`, default 40;
//! three under `cargo test --benches`).

#![allow(clippy::print_stdout)] // A bench's output is its figures.

#[path = "../tests/support/browser.rs"]
mod browser;

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use browser::{Chromium, click_and_load, eval, fill, wait_for};
use thorbis_agent::ui::{self, SessionKey, UiState};
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock, seed};

/// Installed in every new document: the tap's time from its `pointerdown`, a watcher the
/// bench arms before each tap (`__watch(n)`: paint time once the check shows `n` lines), and
/// the paint time of a freshly loaded document.
const PAINT_PROBE: &str = "
addEventListener('pointerdown', e => { window.__tap = performance.timeOrigin + e.timeStamp; }, true);
const __mark = () => requestAnimationFrame(() => requestAnimationFrame(() => {
  window.__painted = performance.timeOrigin + performance.now(); }));
window.__watch = (n) => {
  window.__painted = undefined; window.__tap = undefined;
  const seen = () => document.querySelectorAll('#lines li.line').length === n;
  const mo = new MutationObserver(() => { if (seen()) { mo.disconnect(); __mark(); } });
  mo.observe(document, { childList: true, subtree: true });
};
addEventListener('DOMContentLoaded', __mark);";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let taps: usize =
        std::env::var("THORBIS_UI_TAPS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let dir = tempfile::tempdir()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut store = Store::open(StoreConfig {
        clock: Arc::clone(&clock),
        ..StoreConfig::new(dir.path().join("agent.db"))
    })?;
    store.execute_all(&seed::catalog())?;
    let state = UiState::new(
        thorbis_agent::sync::SharedStore::new(store),
        None,
        clock,
        SessionKey::random().map_err(|_| anyhow::anyhow!("no OS randomness"))?,
    );
    let listener = ui::bind_loopback(0).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(ui::serve(listener, state, std::future::pending()));

    let chromium = Chromium::launch().await?;
    let result = run(&chromium, &base, taps).await;
    chromium.close().await;
    let (mut samples, mut from_cdp) = result?;
    samples.sort_by(f64::total_cmp);
    from_cdp.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!("METRIC ui_tap_to_paint_ms_p50 {:.1}", at(&samples, 0.50));
    println!("METRIC ui_tap_to_paint_ms_p95 {:.1}", at(&samples, 0.95));
    println!(
        "RESULT ui_tap_to_paint taps={} min_ms={:.1} max_ms={:.1} from_click_request_p50_ms={:.1} from_click_request_p95_ms={:.1}",
        samples.len(),
        samples[0],
        samples[samples.len() - 1],
        at(&from_cdp, 0.50),
        at(&from_cdp, 0.95),
    );
    Ok(())
}

async fn run(chromium: &Chromium, base: &str, taps: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let page = chromium.open(&format!("{base}/signin")).await?;
    page.evaluate_on_new_document(PAINT_PROBE).await.context("installing the paint probe")?;
    click_and_load(&page, "[data-staff='Sam']", "!!document.getElementById('pin')").await?;
    fill(&page, "#pin", seed::CASHIER_PIN).await?;
    click_and_load(&page, "#pin-ok", "location.pathname === '/pos'").await?;
    fill(&page, "#table", "B1").await?;
    fill(&page, "#guests", "2").await?;
    click_and_load(&page, "#open-check", "!!document.getElementById('items')").await?;
    let mut samples = Vec::with_capacity(taps);
    let mut from_cdp = Vec::with_capacity(taps);
    for i in 0..taps {
        let lines = i + 1;
        let asked = eval(
            &page,
            &format!("(() => {{ window.__watch({lines}); return performance.timeOrigin + performance.now(); }})()"),
        )
        .await
        .and_then(|v| v.as_f64())
        .context("arming the probe")?;
        click_and_load(
            &page,
            "[data-item='Fries']",
            &format!("document.querySelectorAll('#lines li.line').length === {lines}"),
        )
        .await?;
        wait_for(&page, "the paint probe", "typeof window.__painted === 'number'").await?;
        let painted =
            eval(&page, "window.__painted").await.and_then(|v| v.as_f64()).context("paint time")?;
        // After a full page load the tap's document is gone: count from the click request.
        let tapped = eval(&page, "window.__tap").await.and_then(|v| v.as_f64()).unwrap_or(asked);
        ensure!(tapped >= asked, "tap {tapped} before the click was asked for {asked}");
        ensure!(painted >= tapped, "paint {painted} before tap {tapped}");
        samples.push(painted - tapped);
        from_cdp.push(painted - asked);
    }
    Ok((samples, from_cdp))
}
