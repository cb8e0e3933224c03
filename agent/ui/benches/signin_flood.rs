//! The POS under a sign-in flood: how long a tap on a menu tile takes (the form post that
//! adds a line, through the real router: guard, session, commit, redirect) while wrong PINs
//! arrive at 20 per second, beside the same taps with no flood, in one run.
//!
//! The flood posts the real sign-in form (with the PIN pad's token, as a page in the
//! terminal's own browser could) for staff members in turn with wrong PINs. The
//! terminal takes a few PIN checks and refuses the rest unhashed, and hashes off the store
//! lock, so the POS should not notice.
//!
//! `cargo bench -p thorbis-terminal-ui --bench signin_flood` prints
//! `METRIC pos_tap_p99_ms` (no flood), `METRIC pos_tap_p99_ms_under_signin_flood` and
//! `METRIC signin_flood_tap_ratio` (the second over the first; goal ≤ 2), plus the p50s and
//! how the flood's attempts were answered. `THORBIS_FLOOD_SECONDS` sets each phase's length
//! (default 10; 1 under `cargo test --benches`).

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use axum::Router;
use axum::http::StatusCode;
use support::percentile;
use thorbis_agent::seed;
use thorbis_agent::sync::SharedStore;
use thorbis_agent::{Store, StoreConfig, SystemClock};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

/// Wrong PINs per second during the flood.
const FLOOD_PER_S: u64 = 20;

/// Taps per second in each phase: a fast cashier.
const TAPS_PER_S: u64 = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let seconds = std::env::var("THORBIS_FLOOD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 10 } else { 1 });
    let phase = Duration::from_secs(seconds);

    let dir = tempfile::tempdir()?;
    let mut store = Store::open(StoreConfig::new(dir.path().join("agent.db")))?;
    store.execute_all(&seed::catalog())?;
    let state = UiState::new(
        SharedStore::new(store),
        None,
        Arc::new(SystemClock),
        SessionKey::from_bytes(b"signin flood bench"),
    );
    let app = ui::router(state);
    let session = support::sign_in(&app, seed::MANAGER, seed::MANAGER_PIN).await?;
    let opened = support::post(
        &app,
        "/pos/checks",
        &session.cookie,
        format!("table=7&guests=2&csrf={}", session.csrf),
    )
    .await?;
    let check = opened
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.split('?').next())
        .map(str::to_owned);
    let Some(check) = check else { anyhow::bail!("opening a check: {}", opened.status()) };

    let calm = taps(&app, &session, &check, phase).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(FloodAnswers::default());
    let flood = tokio::spawn(flood(app.clone(), Arc::clone(&stop), Arc::clone(&answers)));
    let flooded = taps(&app, &session, &check, phase).await?;
    stop.store(true, Ordering::Relaxed);
    flood.await??;

    let (mut calm, mut flooded) = (calm, flooded);
    let (calm_p50, calm_p99) = (percentile(&mut calm, 50.0), percentile(&mut calm, 99.0));
    let (flood_p50, flood_p99) = (percentile(&mut flooded, 50.0), percentile(&mut flooded, 99.0));
    println!(
        "# {} taps calm, {} under the flood; flood attempts: {} refused as wrong, {} throttled, {} other",
        calm.len(),
        flooded.len(),
        answers.wrong.load(Ordering::Relaxed),
        answers.throttled.load(Ordering::Relaxed),
        answers.other.load(Ordering::Relaxed),
    );
    println!("METRIC pos_tap_p50_ms {calm_p50:.3}");
    println!("METRIC pos_tap_p99_ms {calm_p99:.3}");
    println!("METRIC pos_tap_p50_ms_under_signin_flood {flood_p50:.3}");
    println!("METRIC pos_tap_p99_ms_under_signin_flood {flood_p99:.3}");
    println!("METRIC signin_flood_tap_ratio {:.2}", flood_p99 / calm_p99);
    ensure!(answers.other.load(Ordering::Relaxed) == 0, "a flood attempt got an unexpected answer");
    Ok(())
}

/// Taps the fries tile on `check` at [`TAPS_PER_S`] for `phase`; the time of each, in ms.
async fn taps(
    app: &Router,
    session: &support::Session,
    check: &str,
    phase: Duration,
) -> Result<Vec<f64>> {
    let form = format!("item={}&csrf={}", seed::FRIES.0, session.csrf);
    let path = format!("{check}/lines");
    let mut pace = tokio::time::interval(Duration::from_millis(1_000 / TAPS_PER_S));
    let mut times = Vec::new();
    let started = Instant::now();
    while started.elapsed() < phase {
        pace.tick().await;
        let t = Instant::now();
        let response = support::post(app, &path, &session.cookie, form.clone()).await?;
        let status = response.status();
        axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        ensure!(status == StatusCode::SEE_OTHER, "tap: {status}");
    }
    Ok(times)
}

/// How the flood's attempts were answered.
#[derive(Default)]
struct FloodAnswers {
    wrong: AtomicU64,
    throttled: AtomicU64,
    other: AtomicU64,
}

/// Posts wrong PINs at [`FLOOD_PER_S`] until `stop`, each on its own task so a slow answer
/// does not slow the flood.
async fn flood(app: Router, stop: Arc<AtomicBool>, answers: Arc<FloodAnswers>) -> Result<()> {
    let forms = [
        support::sign_in_form(&app, seed::CASHIER, "0000").await?,
        support::sign_in_form(&app, seed::MANAGER, "0000").await?,
    ];
    let mut pace = tokio::time::interval(Duration::from_millis(1_000 / FLOOD_PER_S));
    let mut attempts = tokio::task::JoinSet::new();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        pace.tick().await;
        let (app, form, answers) = (app.clone(), forms[n % forms.len()].clone(), answers.clone());
        n += 1;
        attempts.spawn(async move {
            let status = support::post(&app, "/signin", "", form).await?.status();
            let counter = match status {
                StatusCode::UNPROCESSABLE_ENTITY => &answers.wrong,
                StatusCode::TOO_MANY_REQUESTS => &answers.throttled,
                _ => &answers.other,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            anyhow::Ok(())
        });
    }
    while let Some(done) = attempts.join_next().await {
        done??;
    }
    Ok(())
}
