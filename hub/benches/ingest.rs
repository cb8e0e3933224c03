//! Ingest throughput: verified pushes through HTTP into Postgres (RLS, hash chains,
//! checkpoint signatures, projections), against a raw `COPY` of the same rows into an
//! unconstrained copy of the events table. Run with `cargo bench -p thorbis-hub --bench
//! ingest`; prints `METRIC hub_ingest_events_per_s`, `raw_copy_rows_per_s` and
//! `ingest_vs_copy_ratio`. Goal: at least 20,000 events/s and a ratio of at least 0.5.

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Result, ensure};
use futures_util::SinkExt as _;
use support::{NOW_MS, TestHub};

const DEVICES: u8 = 4;
/// Sales per device; four events each.
const SALES: u64 = 2_500;
/// Events per push, as an agent catching up after an outage would send them.
const BATCH: u64 = 1_000;

#[tokio::main]
async fn main() -> Result<()> {
    // The hub's default limits (the tests' are deliberately small).
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let hub = TestHub::start_with(db, thorbis_hub::Limits::default()).await?;
    let (tenant, location) = hub.tenant("Bench Co").await?;
    let mut agents = Vec::new();
    for seed in 1..=DEVICES {
        let mut agent = hub.agent(tenant, location, seed).await?;
        for n in 0..SALES {
            agent.sale_numbered(u32::from(seed) << 24 | n as u32, NOW_MS + n);
        }
        agents.push(agent);
    }
    let total: u64 = agents.iter().map(|a| a.tip().seq).sum();
    // Warm-up, untimed: one sale each from as many other devices at once, so the pool's
    // connections exist and have prepared the push path's statements, as on a hub that
    // has been running. (Their rows are not in the counts below.)
    let mut warm = Vec::new();
    for seed in 1..=DEVICES {
        let mut agent = hub.agent(tenant, location, 100 + seed).await?;
        agent.sale_numbered(0xff00_0000 | u32::from(seed), NOW_MS);
        warm.push(agent);
    }
    support::push_each(&hub, &warm).await?;
    let warm_events: i64 = warm.iter().map(|a| a.tip().seq as i64).sum();
    let ingest_secs = support::timed_pushes(&hub, &agents, BATCH).await?;
    // Terminals' events only: enrollment also wrote each device's record to the reference log.
    let stored = "SELECT count(*) FROM events WHERE device_id <> tenant_id";
    ensure!(hub.count(stored).await? == total as i64 + warm_events);
    ensure!(
        hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await?
            == i64::from(DEVICES) * (SALES as i64 + 1)
    );

    // The baseline: the same rows, COPYed as text into a table with no keys or policies.
    let owner = support::connect(&hub.db.config.owner_url).await?;
    owner.batch_execute("CREATE TABLE raw_events (LIKE events)").await?;
    let mut text = String::new();
    for agent in &agents {
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
    let copy_secs = started.elapsed().as_secs_f64();
    ensure!(copied == total, "copied {copied} of {total}");

    let ingest = total as f64 / ingest_secs;
    let copy = total as f64 / copy_secs;
    println!("METRIC hub_ingest_events_per_s {ingest:.0}");
    println!("METRIC raw_copy_rows_per_s {copy:.0}");
    println!("METRIC ingest_vs_copy_ratio {:.3}", ingest / copy);
    hub.stop().await
}
