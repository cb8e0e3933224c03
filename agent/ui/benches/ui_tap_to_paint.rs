//! Tap to paint on the POS screen, in real headless Chromium: from a real mouse tap on a
//! menu tile to the frame that shows the new line on the check (the page's script posts the
//! tile's form, the agent commits the line and redirects, and the answer's `<main>`
//! replaces the page's; without the script it is a full page load, measured the same way).
//!
//! Both ends are read from the browser's clock. The tap is the `pointerup` event's own time
//! stamp (the release that makes the click; when the input reached the page). The paint is
//! the browser's Element Timing record of the new line's text (the line is marked for it the
//! moment it enters the DOM); a double `requestAnimationFrame` after that moment gives a
//! later bound, used when Element Timing reports nothing (and after a full page load, from
//! `DOMContentLoaded`). Polling from the bench blurs neither. Prints
//! `METRIC ui_tap_to_paint_ms_p50` and `_p95`; a `RESULT` line adds the double-rAF bound,
//! the figures counted from the `pointerdown` and from before the bench asks for the click
//! (adding the `DevTools` round trips of the click itself), and the post and redirect's
//! own time.
//!
//! `cargo bench -p thorbis-terminal-ui --bench ui_tap_to_paint` (`THORBIS_UI_TAPS=N`, default 40;
//! three under `cargo test --benches`).

#![allow(clippy::print_stdout)] // A bench's output is its figures.

#[path = "../tests/support/browser.rs"]
mod browser;

use std::sync::Arc;

use anyhow::{Context, Result, ensure};
use browser::{Chromium, click_and_load, eval, fill, wait_for};
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock, seed};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

/// Installed in every new document: the tap's time (its `pointerup`, the release that makes
/// the click, and its `pointerdown`), and a watcher
/// the bench arms before each tap (`__watch(n)`). Once the check shows `n` lines, the new
/// line is marked for the browser's Element Timing (`__shown`: when its text was painted,
/// as the browser records it), and a double `requestAnimationFrame` gives a later bound
/// (`__painted`: a frame after the one that drew it); `__fetch` is how long the post and its
/// redirect took, seen from the page. A freshly loaded document gets the rAF bound at load.
const PAINT_PROBE: &str = "
addEventListener('pointerdown', e => { window.__down = performance.timeOrigin + e.timeStamp; }, true);
addEventListener('pointerup', e => { window.__tap = performance.timeOrigin + e.timeStamp; }, true);
new PerformanceObserver(list => { for (const e of list.getEntries()) {
  if (e.identifier === 'tap-' + window.__want && window.__shown === undefined) {
    window.__shown = performance.timeOrigin + (e.renderTime || e.loadTime); } } })
  .observe({ type: 'element', buffered: true });
const __mark = () => requestAnimationFrame(() => requestAnimationFrame(() => {
  window.__painted = performance.timeOrigin + performance.now(); }));
window.__watch = (n) => {
  window.__painted = undefined; window.__tap = undefined; window.__down = undefined; window.__shown = undefined;
  window.__fetch = undefined; window.__want = n;
  performance.clearResourceTimings();
  const seen = () => document.querySelectorAll('#lines li.line').length === n;
  const mo = new MutationObserver(() => {
    if (!seen()) return;
    mo.disconnect();
    const line = document.querySelectorAll('#lines li.line')[n - 1];
    line.setAttribute('elementtiming', 'tap-' + n);
    line.querySelectorAll('span').forEach(s => s.setAttribute('elementtiming', 'tap-' + n));
    const f = performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').pop();
    if (f) window.__fetch = f.duration;
    __mark();
  });
  mo.observe(document, { childList: true, subtree: true });
};
addEventListener('DOMContentLoaded', __mark);";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and wants a
    // quick smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let taps: usize = std::env::var("THORBIS_UI_TAPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if bench { 40 } else { 3 });
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
    let taps = result?;
    let mut from_tap: Vec<f64> = taps.iter().map(|t| t.painted - t.tapped).collect();
    let mut rafs: Vec<f64> = taps.iter().map(|t| t.frame_after - t.tapped).collect();
    let mut from_cdp: Vec<f64> = taps.iter().map(|t| t.painted - t.asked).collect();
    let mut from_press: Vec<f64> = taps.iter().map(|t| t.painted - t.pressed).collect();
    let mut fetches: Vec<f64> = taps.iter().filter_map(|t| t.fetch).collect();
    let element_timed = taps.iter().filter(|t| t.element_timed).count();
    for v in [&mut from_tap, &mut rafs, &mut from_cdp, &mut from_press, &mut fetches] {
        v.sort_by(f64::total_cmp);
    }
    let at = |v: &[f64], q: f64| {
        if v.is_empty() { f64::NAN } else { v[((v.len() as f64 - 1.0) * q).round() as usize] }
    };
    println!("METRIC ui_tap_to_paint_ms_p50 {:.1}", at(&from_tap, 0.50));
    println!("METRIC ui_tap_to_paint_ms_p95 {:.1}", at(&from_tap, 0.95));
    println!(
        "RESULT ui_tap_to_paint taps={} element_timed={element_timed} min_ms={:.1} max_ms={:.1} \
double_raf_p50_ms={:.1} double_raf_p95_ms={:.1} from_press_p50_ms={:.1} from_press_p95_ms={:.1} \
from_click_request_p50_ms={:.1} from_click_request_p95_ms={:.1} post_and_redirect_p50_ms={:.1} post_and_redirect_p95_ms={:.1}",
        from_tap.len(),
        from_tap[0],
        from_tap[from_tap.len() - 1],
        at(&rafs, 0.50),
        at(&rafs, 0.95),
        at(&from_press, 0.50),
        at(&from_press, 0.95),
        at(&from_cdp, 0.50),
        at(&from_cdp, 0.95),
        at(&fetches, 0.50),
        at(&fetches, 0.95),
    );
    Ok(())
}

/// One tap's times, in the browser's clock (ms since the epoch) and durations.
struct Tap {
    /// Before the bench asked the browser to click.
    asked: f64,
    /// The `pointerup` (or `asked`, when a page load took the tap's document away).
    tapped: f64,
    /// The `pointerdown` (or `asked`).
    pressed: f64,
    /// The new line painted: Element Timing's record, or else the frame after.
    painted: f64,
    /// The frame after the one that drew the line (double `requestAnimationFrame`).
    frame_after: f64,
    /// Whether `painted` is Element Timing's record.
    element_timed: bool,
    /// The post and its redirect, as the page's resource timing saw them.
    fetch: Option<f64>,
}

async fn run(chromium: &Chromium, base: &str, taps: usize) -> Result<Vec<Tap>> {
    let page = chromium.open(&format!("{base}/signin")).await?;
    page.evaluate_on_new_document(PAINT_PROBE).await.context("installing the paint probe")?;
    click_and_load(&page, "[data-staff='Sam']", "!!document.getElementById('pin')").await?;
    fill(&page, "#pin", seed::CASHIER_PIN).await?;
    click_and_load(&page, "#pin-ok", "location.pathname === '/pos'").await?;
    fill(&page, "#table", "B1").await?;
    fill(&page, "#guests", "2").await?;
    click_and_load(&page, "#open-check", "!!document.getElementById('items')").await?;
    let mut out = Vec::with_capacity(taps);
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
        // Element Timing reports through an observer callback, shortly after the paint;
        // give it a few frames (bounded), then fall back to the frame bound.
        for _ in 0..20 {
            if eval(&page, "typeof window.__shown === 'number'").await == Some(true.into()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let read = |expr: &'static str| async { eval(&page, expr).await.and_then(|v| v.as_f64()) };
        let frame_after = read("window.__painted").await.context("paint time")?;
        let shown = read("window.__shown").await;
        // After a full page load the tap's document is gone: count from the click request.
        let tapped = read("window.__tap").await.unwrap_or(asked);
        let pressed = read("window.__down").await.unwrap_or(asked);
        let painted = shown.unwrap_or(frame_after);
        ensure!(
            asked <= pressed && pressed <= tapped,
            "press {pressed} and release {tapped} out of order after the click was asked for {asked}"
        );
        ensure!(painted >= tapped, "paint {painted} before tap {tapped}");
        out.push(Tap {
            asked,
            tapped,
            pressed,
            painted,
            frame_after,
            element_timed: shown.is_some(),
            fetch: read("window.__fetch").await,
        });
    }
    Ok(out)
}
