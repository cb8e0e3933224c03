//! Tap to paint on the POS screen, in real headless Chromium: from a real mouse tap on a
//! menu tile to the next frame painted with the new line on the check (the form posts, the
//! agent commits the line, redirects, and the page is rendered again).
//!
//! The tap time and the paint time are both read from the browser's clock (the paint one in
//! a double `requestAnimationFrame` after the new document loads), so polling does not blur
//! the figure. Prints `METRIC ui_tap_to_paint_ms_p50` and `_p95`.
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

/// Records, in every new document, when its first frame after load was painted.
const PAINT_PROBE: &str = "addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => \
requestAnimationFrame(() => { window.__painted = performance.timeOrigin + performance.now(); })));";

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
    let mut samples = result?;
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!("METRIC ui_tap_to_paint_ms_p50 {:.1}", at(0.50));
    println!("METRIC ui_tap_to_paint_ms_p95 {:.1}", at(0.95));
    println!(
        "RESULT ui_tap_to_paint taps={} min_ms={:.1} max_ms={:.1}",
        samples.len(),
        samples[0],
        samples[samples.len() - 1]
    );
    Ok(())
}

async fn run(chromium: &Chromium, base: &str, taps: usize) -> Result<Vec<f64>> {
    let page = chromium.open(&format!("{base}/signin")).await?;
    page.evaluate_on_new_document(PAINT_PROBE).await.context("installing the paint probe")?;
    click_and_load(&page, "[data-staff='Sam']", "!!document.getElementById('pin')").await?;
    fill(&page, "#pin", seed::CASHIER_PIN).await?;
    click_and_load(&page, "#pin-ok", "location.pathname === '/pos'").await?;
    fill(&page, "#table", "B1").await?;
    fill(&page, "#guests", "2").await?;
    click_and_load(&page, "#open-check", "!!document.getElementById('items')").await?;
    let mut samples = Vec::with_capacity(taps);
    for i in 0..taps {
        let lines = i + 1;
        let tapped = eval(&page, "window.__tap = performance.timeOrigin + performance.now()")
            .await
            .and_then(|v| v.as_f64())
            .context("reading the tap time")?;
        click_and_load(
            &page,
            "[data-item='Fries']",
            &format!("document.querySelectorAll('#lines li.line').length === {lines} && window.__painted !== undefined"),
        )
        .await?;
        wait_for(&page, "the paint probe", "typeof window.__painted === 'number'").await?;
        let painted =
            eval(&page, "window.__painted").await.and_then(|v| v.as_f64()).context("paint time")?;
        ensure!(painted >= tapped, "paint {painted} before tap {tapped}");
        samples.push(painted - tapped);
    }
    Ok(samples)
}
