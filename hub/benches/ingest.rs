//! Ingest throughput: verified pushes through HTTP into Postgres (RLS, hash chains,
//! checkpoint signatures, projections), against a raw `COPY` of the same rows into an
//! unconstrained copy of the events table. Run with `cargo bench -p thorbis-hub --bench
//! ingest`; prints `METRIC hub_ingest_events_per_s`, `raw_copy_rows_per_s` and
//! `ingest_vs_copy_ratio`. Goal: at least 20,000 events/s and a ratio of at least 0.5.
//!
//! One machine's disk and CPU swing a lot from one second to the next, so the bench runs
//! several rounds, each pushing fresh devices' sales and then copying the same rows, and
//! prints the medians: of each rate, and of the rounds' ratios (each measured side by side).

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Result, ensure};
use futures_util::SinkExt as _;
use support::{Agent, NOW_MS, TestHub};
use uuid::Uuid;

const DEVICES: u8 = 4;
/// Sales per device; four events each.
const SALES: u64 = 2_500;
/// Events per push, as an agent catching up after an outage would send them.
const BATCH: u64 = 1_000;
/// Rounds when benching; the test command's smoke run does one.
const ROUNDS: u8 = 5;

#[tokio::main]
async fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    // The hub's default limits (the tests' are deliberately small).
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let hub = TestHub::start_with(db, thorbis_hub::Limits::default()).await?;
    let (tenant, location) = hub.tenant("Bench Co").await?;
    // Warm-up, untimed: one sale each from as many other devices at once, so the pool's
    // connections exist and have prepared the push path's statements, as on a hub that
    // has been running. (Their rows are not in the counts below.)
    let mut warm = Vec::new();
    for seed in 1..=DEVICES {
        let mut agent = hub.agent(tenant, location, 200 + seed).await?;
        agent.sale_numbered(0xff00_0000 | u32::from(seed), NOW_MS);
        warm.push(agent);
    }
    support::push_each(&hub, &warm).await?;
    let owner = support::connect(&hub.db.config.owner_url).await?;
    owner.batch_execute("CREATE TABLE raw_events (LIKE events)").await?;

    let mut rounds = Vec::new();
    let mut pushed = warm.iter().map(|a| a.tip().seq).sum::<u64>();
    for round in 0..if benching { ROUNDS } else { 1 } {
        let mut agents = Vec::new();
        for device in 1..=DEVICES {
            let seed = round * DEVICES + device;
            let mut agent = hub.agent(tenant, location, seed).await?;
            for n in 0..SALES {
                agent.sale_numbered(u32::from(seed) << 24 | n as u32, NOW_MS + n);
            }
            agents.push(agent);
        }
        let total: u64 = agents.iter().map(|a| a.tip().seq).sum();
        pushed += total;
        let ingest_secs = support::timed_pushes(&hub, &agents, BATCH).await?;
        let copy_secs = copy(&owner, tenant, &agents, total).await?;
        let (ingest, copy) = (total as f64 / ingest_secs, total as f64 / copy_secs);
        println!("round {round}: ingest {ingest:.0} events/s, copy {copy:.0} rows/s");
        rounds.push((ingest, copy));
    }
    // Every round's sales are stored and folded: terminals' events only (enrollment also
    // wrote each device's record to the reference log).
    let sales = SALES as i64 * i64::from(DEVICES) * rounds.len() as i64;
    let stored = "SELECT count(*) FROM events WHERE device_id <> tenant_id";
    ensure!(hub.count(stored).await? == i64::try_from(pushed)?);
    let closed = "SELECT count(*) FROM orders WHERE status = 'closed'";
    ensure!(hub.count(closed).await? == sales + i64::from(DEVICES));

    let ingest = median(rounds.iter().map(|r| r.0));
    let copy = median(rounds.iter().map(|r| r.1));
    let ratio = median(rounds.iter().map(|r| r.0 / r.1));
    println!("METRIC hub_ingest_events_per_s {ingest:.0}");
    println!("METRIC raw_copy_rows_per_s {copy:.0}");
    println!("METRIC ingest_vs_copy_ratio {ratio:.3}");
    hub.stop().await
}

/// The baseline: `agents`' rows, copied (`COPY`) as text into a table with no keys or policies
/// (emptied first); seconds taken.
async fn copy(
    owner: &tokio_postgres::Client,
    tenant: Uuid,
    agents: &[Agent],
    total: u64,
) -> Result<f64> {
    owner.batch_execute("TRUNCATE raw_events").await?;
    let mut text = String::new();
    for agent in agents {
        for e in &agent.events {
            let _ = writeln!(
                text,
                "{tenant}\t{device}\t{}\t{}\t{}\t\\\\x{}\t\\\\x{}\t{}\t\\\\x{}\t\\N\t{NOW_MS}",
                e.seq,
                e.hlc.wall_ms,
                e.hlc.counter,
                thorbis_hub::identity::hex(&e.prev_hash.0),
                thorbis_hub::identity::hex(&e.hash().0),
                e.kind,
                thorbis_hub::identity::hex(&e.payload),
                device = agent.device_id,
            );
        }
    }
    let started = Instant::now();
    let sink = owner.copy_in("COPY raw_events FROM STDIN").await?;
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(text)).await?;
    let copied = sink.finish().await?;
    let secs = started.elapsed().as_secs_f64();
    ensure!(copied == total, "copied {copied} of {total}");
    Ok(secs)
}

/// The middle value (the upper one of an even count).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}
