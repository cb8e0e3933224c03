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
/// Sales per terminal; four events each.
const SALES: u32 = 750;
/// Events per push, as an agent catching up after an outage would send them.
const BATCH: u64 = 1_000;

#[tokio::main]
async fn main() -> Result<()> {
    let (single, _) = run(Backend::Postgres).await?;
    let (citus, workers) = run(Backend::Citus).await?;
    println!("METRIC single_ingest_events_per_s {single:.0}");
    println!("METRIC citus_ingest_events_per_s {citus:.0}");
    println!("METRIC citus_vs_single_ratio {:.3}", citus / single);
    // Workers by their order, not their (changing) port, so the names stay the same.
    for (n, (_port, rate)) in workers.into_iter().enumerate() {
        println!("METRIC citus_worker_{}_events_per_s {rate:.0}", n + 1);
    }
    Ok(())
}

/// Ingests on `backend`; returns events per second and, on Citus, each worker's share.
async fn run(backend: Backend) -> Result<(f64, Vec<(i32, f64)>)> {
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
    let (mut agents, mut warm) = (Vec::new(), Vec::new());
    for (t, &(tenant, location, _)) in tenants.iter().enumerate() {
        for d in 0..DEVICES {
            let seed = u8::try_from(t)? * DEVICES + d + 1;
            let mut agent = hub.agent(tenant, location, seed).await?;
            for n in 0..SALES {
                agent.sale_numbered(u32::from(seed) << 24 | n, NOW_MS + u64::from(n));
            }
            agents.push(agent);
        }
        // Warm-up, untimed: so the pool's connections exist and have prepared the push
        // path's statements, as on a hub that has been running.
        let mut agent: Agent = hub.agent(tenant, location, 200 + u8::try_from(t)?).await?;
        agent.sale_numbered(0xff00_0000 | u32::try_from(t)?, NOW_MS);
        warm.push(agent);
    }
    support::push_each(&hub, &warm).await?;
    let secs = support::timed_pushes(&hub, &agents, BATCH).await?;
    let total: u64 = agents.iter().map(|a| a.tip().seq).sum();
    let warm_events: u64 = warm.iter().map(|a| a.tip().seq).sum();
    // Terminals' events only: enrollment also wrote each device's record to the reference log.
    let stored = hub.count("SELECT count(*) FROM events WHERE device_id <> tenant_id").await?;
    ensure!(stored == i64::try_from(total + warm_events)?, "stored {stored} events");
    let mut workers: Vec<(i32, f64)> = Vec::new();
    if backend == Backend::Citus {
        for agent in &agents {
            let worker = tenants
                .iter()
                .find(|t| t.0 == agent.tenant)
                .map(|t| t.2)
                .context("the agent's tenant")?;
            let rate = agent.tip().seq as f64 / secs;
            match workers.iter_mut().find(|w| w.0 == worker) {
                Some(w) => w.1 += rate,
                None => workers.push((worker, rate)),
            }
        }
        workers.sort_by_key(|w| w.0);
    }
    hub.stop().await?;
    Ok((total as f64 / secs, workers))
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
