//! Ingest throughput on Citus (a coordinator and two workers on this machine) beside
//! single-node Postgres, in one run: the same verified pushes through HTTP, from terminals
//! of several tenants spread evenly over the workers. Run with `cargo bench -p thorbis-hub
//! --bench citus_ingest`; prints `METRIC single_ingest_events_per_s`,
//! `citus_ingest_events_per_s`, `citus_vs_single_ratio` (goal: at least 0.5) and, per
//! worker, the events it stored per second of the run (`citus_worker_<n>_events_per_s`, the workers numbered from 1).
//!
//! On one 2-core machine the coordinator, both workers, the hub and the simulated
//! terminals share the same cores, so the ratio measures Citus's overhead, not its scale;
//! `hub/CITUS.md` reasons from the per-worker figures to what separate machines give.
//!
//! The machine's speed swings from one second to the next, so both hubs run side by side
//! and the bench alternates between them for several rounds, each with fresh terminals;
//! it prints the medians (of each rate, and of the rounds' ratios).

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use anyhow::{Context as _, Result, ensure};
use support::{Agent, NOW_MS, TestHub};
use thorbis_hub::testing::{Backend, database_on};
use uuid::Uuid;

/// Tenants, half on each worker.
const TENANTS: usize = 4;
/// Terminals per tenant.
const DEVICES: u8 = 2;
/// Sales per terminal and round; four events each.
const SALES: u32 = 750;
/// Events per push, as an agent catching up after an outage would send them.
const BATCH: u64 = 1_000;
/// Rounds when benching; the test command's smoke run does one.
const ROUNDS: u8 = 5;

#[tokio::main]
async fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let mut single = Side::start(Backend::Postgres).await?;
    let mut citus = Side::start(Backend::Citus).await?;
    let mut rounds = Vec::new();
    // Events each worker stored, and the seconds Citus took, over every round.
    let mut workers: Vec<(i32, u64)> = Vec::new();
    let mut citus_secs = 0.0;
    for round in 0..if benching { ROUNDS } else { 1 } {
        let (single_rate, _) = single.round(round).await?;
        let (citus_rate, stored) = citus.round(round).await?;
        println!("round {round}: single {single_rate:.0} events/s, citus {citus_rate:.0} events/s");
        rounds.push((single_rate, citus_rate));
        citus_secs += stored.iter().map(|s| s.1).sum::<u64>() as f64 / citus_rate;
        for (worker, events) in stored {
            match workers.iter_mut().find(|w| w.0 == worker) {
                Some(w) => w.1 += events,
                None => workers.push((worker, events)),
            }
        }
    }
    single.stop().await?;
    citus.stop().await?;
    println!("METRIC single_ingest_events_per_s {:.0}", median(rounds.iter().map(|r| r.0)));
    println!("METRIC citus_ingest_events_per_s {:.0}", median(rounds.iter().map(|r| r.1)));
    println!("METRIC citus_vs_single_ratio {:.3}", median(rounds.iter().map(|r| r.1 / r.0)));
    // Workers by their order, not their (changing) port, so the names stay the same.
    workers.sort_by_key(|w| w.0);
    for (n, (_port, events)) in workers.into_iter().enumerate() {
        println!("METRIC citus_worker_{}_events_per_s {:.0}", n + 1, events as f64 / citus_secs);
    }
    Ok(())
}

/// One backend's hub, its tenants (with the port of the worker holding each, 0 on a single
/// node) and the events its terminals pushed so far.
struct Side {
    hub: TestHub,
    tenants: Vec<(Uuid, Uuid, i32)>,
    pushed: u64,
}

impl Side {
    /// A hub on `backend` with tenants spread evenly over the workers, warmed up.
    async fn start(backend: Backend) -> Result<Self> {
        let db = tokio::task::spawn_blocking(move || database_on(backend)).await?;
        let hub = TestHub::start_with(db, thorbis_hub::Limits::default()).await?;
        let su = hub.superuser().await?;
        // Tenant ids are random: make tenants until each worker has its half.
        let mut tenants: Vec<(Uuid, Uuid, i32)> = Vec::new();
        let per_worker = if backend == Backend::Postgres { TENANTS } else { TENANTS / 2 };
        for n in 0..TENANTS * 8 {
            let (tenant, location) = hub.tenant(&format!("Bench Co {n}")).await?;
            let worker = worker_of(&su, backend, tenant).await?;
            if tenants.iter().filter(|t| t.2 == worker).count() < per_worker {
                tenants.push((tenant, location, worker));
            }
            if tenants.len() == TENANTS {
                break;
            }
        }
        ensure!(tenants.len() == TENANTS, "tenants did not spread over the workers: {tenants:?}");
        // Warm-up, untimed: so the pool's connections exist and have prepared the push
        // path's statements, as on a hub that has been running.
        let mut warm = Vec::new();
        for (t, &(tenant, location, _)) in tenants.iter().enumerate() {
            let mut agent: Agent = hub.agent(tenant, location, 200 + u8::try_from(t)?).await?;
            agent.sale_numbered(0xff00_0000 | u32::try_from(t)?, NOW_MS);
            warm.push(agent);
        }
        support::push_each(&hub, &warm).await?;
        let pushed = warm.iter().map(|a| a.tip().seq).sum();
        Ok(Self { hub, tenants, pushed })
    }

    /// Pushes `round`'s sales from fresh terminals; returns events per second and the
    /// events stored on each worker (by port).
    async fn round(&mut self, round: u8) -> Result<(f64, Vec<(i32, u64)>)> {
        let mut agents = Vec::new();
        for (t, &(tenant, location, _)) in self.tenants.iter().enumerate() {
            for d in 0..DEVICES {
                let seed = (round * TENANTS as u8 + u8::try_from(t)?) * DEVICES + d + 1;
                let mut agent = self.hub.agent(tenant, location, seed).await?;
                for n in 0..SALES {
                    agent.sale_numbered(u32::from(seed) << 24 | n, NOW_MS + u64::from(n));
                }
                agents.push(agent);
            }
        }
        let secs = support::timed_pushes(&self.hub, &agents, BATCH).await?;
        let total: u64 = agents.iter().map(|a| a.tip().seq).sum();
        self.pushed += total;
        // Terminals' events only: enrollment also wrote each device's record to the
        // reference log.
        let stored =
            self.hub.count("SELECT count(*) FROM events WHERE device_id <> tenant_id").await?;
        ensure!(stored == i64::try_from(self.pushed)?, "stored {stored} events");
        let mut workers: Vec<(i32, u64)> = Vec::new();
        for agent in &agents {
            let worker = self
                .tenants
                .iter()
                .find(|t| t.0 == agent.tenant)
                .map(|t| t.2)
                .context("the agent's tenant")?;
            match workers.iter_mut().find(|w| w.0 == worker) {
                Some(w) => w.1 += agent.tip().seq,
                None => workers.push((worker, agent.tip().seq)),
            }
        }
        Ok((total as f64 / secs, workers))
    }

    async fn stop(self) -> Result<()> {
        self.hub.stop().await
    }
}

/// The port of the worker holding `tenant`'s shards (0 on a single node).
async fn worker_of(su: &tokio_postgres::Client, backend: Backend, tenant: Uuid) -> Result<i32> {
    if backend == Backend::Postgres {
        return Ok(0);
    }
    let row = su
        .query_one(
            "SELECT nodeport FROM citus_shards WHERE table_name = 'events'::regclass
                AND shardid = get_shard_id_for_distribution_column('events', $1::uuid)",
            &[&tenant],
        )
        .await?;
    Ok(row.get(0))
}

/// The middle value (the upper one of an even count).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}
