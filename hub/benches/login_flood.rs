//! Device sync while the console's sign-in is flooded: terminals' pushes timed one after
//! another on a quiet hub, then again while 200 clients at once send wrong console
//! passwords as fast as they are answered. A password check costs tens of milliseconds of
//! a core; the per-address allowance and the account lockout keep a flood from spending
//! the hub's CPU on them, so sync barely notices.
//!
//! Run with `cargo bench -p thorbis-hub --bench login_flood`; prints `METRIC
//! sync_push_p99_ms` (quiet), `METRIC sync_push_p99_ms_under_login_flood` and `METRIC
//! login_flood_push_ratio` (their ratio; goal ≤ 2), measured in one run, and how the
//! flood's attempts were answered. `THORBIS_FLOOD_PUSHES` changes the pushes per phase
//! (default 1,000; 40 when the test command runs it as a check).

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::json;
use support::{Agent, NOW_MS, TestHub};

/// Clients flooding the sign-in at once.
const FLOODERS: usize = 200;

/// Times `pushes` pushes of one sale each by `agent`; the 99th percentile, milliseconds.
async fn push_p99(hub: &TestHub, agent: &mut Agent, pushes: usize, first: u32) -> Result<f64> {
    let mut took = Vec::with_capacity(pushes);
    for n in 0..pushes {
        let from = agent.tip().seq + 1;
        agent.sale_numbered(first + n as u32, NOW_MS);
        let batch = agent.batch(from, agent.tip().seq);
        let started = Instant::now();
        let (status, body) = hub.push(agent, &batch).await?;
        took.push(started.elapsed());
        ensure!(status == StatusCode::OK, "push: {status} {body}");
    }
    took.sort_unstable();
    let i = (took.len() * 99 / 100).min(took.len() - 1);
    Ok(took[i].as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let pushes: usize = match std::env::var("THORBIS_FLOOD_PUSHES") {
        Ok(v) => v.parse().context("THORBIS_FLOOD_PUSHES must be a number")?,
        Err(_) if benching => 1_000,
        Err(_) => 40,
    };
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let hub = Arc::new(TestHub::start_with(db, thorbis_hub::Limits::default()).await?);
    let (tenant, location) = hub.tenant("Flood Co").await?;
    hub.console_user(tenant, "owner@flood.example", "owner").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    // Warm-up, untimed: the pool's connections and prepared statements.
    push_p99(&hub, &mut agent, 10, 0).await?;

    let quiet = push_p99(&hub, &mut agent, pushes, 1_000).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let answers: Arc<[AtomicU64; 3]> = Arc::default();
    let mut flood = tokio::task::JoinSet::new();
    // Each client says when its first attempt was answered: the flood is under way.
    let (started_tx, mut started_rx) = tokio::sync::mpsc::channel::<()>(FLOODERS);
    for client in 0..FLOODERS {
        let (hub, stop, answers) = (Arc::clone(&hub), Arc::clone(&stop), Arc::clone(&answers));
        let started = started_tx.clone();
        flood.spawn(async move {
            // Bounded: stops when told, and after 10,000 attempts in any case.
            for n in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let password = format!("wrong {client} {n}");
                let body = json!({ "tenant_id": tenant, "email": "owner@flood.example", "password": password });
                let url = format!("{}/api/v1/console/login", hub.base);
                let status = hub.http.post(url).json(&body).send().await.map(|r| r.status());
                let slot = match status {
                    Ok(StatusCode::UNAUTHORIZED) => 0,
                    Ok(StatusCode::TOO_MANY_REQUESTS) => 1,
                    _ => 2,
                };
                answers[slot].fetch_add(1, Ordering::Relaxed);
                if n == 0 {
                    let _ = started.send(()).await;
                }
            }
        });
    }
    drop(started_tx);
    // Every client answered once before the clock starts.
    let under_way = async {
        for _ in 0..FLOODERS {
            started_rx.recv().await.context("a flooding client ended before its first answer")?;
        }
        Ok::<_, anyhow::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(30), under_way)
        .await
        .context("the flood did not start")??;
    let flooded = push_p99(&hub, &mut agent, pushes, 100_000).await;
    stop.store(true, Ordering::Relaxed);
    while flood.join_next().await.is_some() {}
    let flooded = flooded?;
    let [refused, throttled, other] = answers.each_ref().map(|a| a.load(Ordering::Relaxed));
    ensure!(other == 0, "{other} sign-in attempts failed otherwise than refused or throttled");

    println!("METRIC sync_push_p99_ms {quiet:.3}");
    println!("METRIC sync_push_p99_ms_under_login_flood {flooded:.3}");
    println!("METRIC login_flood_push_ratio {:.2}", flooded / quiet);
    println!("login flood: {refused} refused after a check or as locked, {throttled} throttled");
    Ok(())
}
