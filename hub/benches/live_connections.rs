//! Idle live connections one hub process holds: terminals long-polling `POST
//! /api/v1/sync/pull` with nothing new to receive, against the real `thorbis-hub` binary in
//! its own process (so its memory is measured alone), on a throwaway Postgres.
//!
//! Run with `cargo bench -p thorbis-hub --bench live_connections`; prints `METRIC
//! hub_live_connections` (waiting pulls the hub reports on `/metrics`, all of them
//! opened by this bench), `METRIC hub_rss_mb_at_connections` (the process's resident memory
//! with them all waiting) and `METRIC hub_live_fanout_ms` (one push, until every waiting
//! pull of the tenant has answered with it). Goal: at least 5,000 connections at no more
//! than 1 GB. `THORBIS_LIVE_CONNECTIONS` changes the count (default 5,000; 200 when the test
//! command runs it as a check).

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Child;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::json;
use support::{Agent, TestHub};

/// Devices sharing the connections (a device may hold several live pulls).
const DEVICES: u8 = 50;
/// How long every pull may wait: longer than the whole measurement.
const WAIT_MS: u64 = 60_000;

/// The hub binary, stopped when dropped.
struct HubProcess(Child);

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn system_now() -> Result<u64> {
    Ok(u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?)
}

/// The binary's resident set, from `/proc`.
fn rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")?;
    Ok(kib / 1024.0)
}

/// The hub's `thorbis_hub_live_connections` gauge.
async fn live_gauge(http: &reqwest::Client, base: &str) -> Result<u64> {
    let text = http.get(format!("{base}/metrics")).bearer_auth(support::ADMIN_TOKEN);
    let text = text.send().await?.text().await?;
    text.lines()
        .find_map(|l| l.strip_prefix("thorbis_hub_live_connections "))
        .and_then(|v| v.trim().parse().ok())
        .context("no live-connections gauge")
}

/// A live pull as a terminal sends it, signed at the system time.
fn live_pull(
    http: &reqwest::Client,
    base: &str,
    agent: &Agent,
    log_tip: u64,
) -> Result<reqwest::RequestBuilder> {
    let body = serde_json::to_vec(&json!({
        "have": { agent.tenant.to_string(): log_tip },
        "wait_ms": WAIT_MS,
    }))?;
    Ok(support::signed_post(http, base, agent, "/api/v1/sync/pull", system_now()?, &body)?
        .header("accept", "application/json")
        .body(body))
}

#[tokio::main]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; the test command runs this binary without it, as a
    // quick check of the same path with fewer connections.
    let benching = std::env::args().any(|a| a == "--bench");
    let connections: usize = match std::env::var("THORBIS_LIVE_CONNECTIONS") {
        Ok(v) => v.parse().context("THORBIS_LIVE_CONNECTIONS must be a number")?,
        Err(_) if benching => 5_000,
        Err(_) => 200,
    };
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    // This in-process hub sets the tenant up; the binary on the same database is measured.
    let setup = TestHub::start_with(db, thorbis_hub::Limits::default()).await?;
    setup.clock.set(system_now()?);
    let db = setup.db.clone();
    // Every connection comes from this one address.
    let per_address = (connections + 100).to_string();
    let (child, base) = tokio::task::spawn_blocking(move || {
        support::hub_binary(
            env!("CARGO_BIN_EXE_thorbis-hub"),
            &db,
            &[("THORBIS_HUB_MAX_CONNECTIONS_PER_ADDRESS", per_address)],
        )
    })
    .await??;
    let hub = HubProcess(child);
    let http = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let (tenant, location) = setup.tenant("Live Co").await?;
    let mut agents = Vec::with_capacity(usize::from(DEVICES));
    for seed in 1..=DEVICES {
        agents.push(setup.agent(tenant, location, seed).await?);
    }
    let log_tip = setup.log_tip(tenant).await?;
    let rss_idle = rss_mb(hub.0.id())?;

    // Open every live pull; each waits, since the device lacks nothing.
    let opened = Instant::now();
    let mut pulls = tokio::task::JoinSet::new();
    for i in 0..connections {
        let request = live_pull(&http, &base, &agents[i % agents.len()], log_tip)?;
        pulls.spawn(async move {
            let response = request.send().await?;
            ensure!(response.status() == StatusCode::OK, "pull: {}", response.status());
            let value: serde_json::Value = response.json().await?;
            Ok::<_, anyhow::Error>((
                Instant::now(),
                value["batch"]["events"].as_array().map_or(0, Vec::len),
            ))
        });
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let waiting = loop {
        let waiting = live_gauge(&http, &base).await?;
        if waiting >= connections as u64 {
            break waiting;
        }
        ensure!(Instant::now() < deadline, "only {waiting} of {connections} pulls are waiting");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let open_secs = opened.elapsed().as_secs_f64();
    // Let allocations settle, then read the memory with every connection held.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss = rss_mb(hub.0.id())?;
    ensure!(live_gauge(&http, &base).await? == waiting, "pulls ended before the measurement");

    // One push (through the in-process hub: the binary hears of it by NOTIFY): every
    // waiting pull answers with the new events.
    let mut pos = agents.swap_remove(0);
    pos.sale(1, system_now()?);
    let pushed = Instant::now();
    let (status, body) = setup.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK, "push: {status} {body}");
    let mut last = pushed;
    let mut answered = 0;
    while let Some(result) =
        tokio::time::timeout(Duration::from_secs(60), pulls.join_next()).await?
    {
        let (at, events) = result??;
        ensure!(events == 4, "a live pull answered with {events} events, not the sale's 4");
        last = last.max(at);
        answered += 1;
    }
    ensure!(answered == connections, "{answered} of {connections} pulls answered");

    println!("METRIC hub_live_connections {waiting}");
    println!("METRIC hub_rss_mb_at_connections {rss:.1}");
    println!("METRIC hub_rss_mb_idle {rss_idle:.1}");
    println!("METRIC hub_live_open_s {open_secs:.2}");
    println!("METRIC hub_live_fanout_ms {:.1}", (last - pushed).as_secs_f64() * 1e3);
    drop(hub);
    setup.stop().await
}
