//! Growing a Citus cluster under load: every shard starts on one worker (as if the second
//! had just been added), eight terminals of four tenants keep pushing sales, and
//! `citus_rebalance_start` moves half the shards to the other worker while they do. No
//! acknowledged event may be lost or stored twice, and afterwards the hub holds exactly
//! what each terminal holds, spread over both workers.
//!
//! The terminals push until the rebalance has finished and each has pushed a few more
//! times; `THORBIS_REBALANCE_SECS=60` keeps them pushing at least that long.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use support::{Agent, NOW_MS, TestHub};
use thorbis_hub::testing::{Backend, database_on};

const TERMINALS: u8 = 8;
/// Pushes each terminal makes after the rebalance finished.
const PUSHES_AFTER: u64 = 3;
/// A terminal rings up a sale and pushes it this often: a busy store's pace, which leaves
/// the shard moves the machine's time to catch up (terminals pushing flat out on the same
/// two cores would starve them).
const SALE_EVERY: Duration = Duration::from_millis(100);
/// The longest the rebalance may take before the test fails.
const REBALANCE_LIMIT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citus_rebalance_while_terminals_push() -> Result<()> {
    let db = tokio::task::spawn_blocking(|| database_on(Backend::Citus)).await?;
    let hub = TestHub::start_on(db).await?;
    let su = hub.superuser().await?;
    gather_on_one_worker(&su).await?;
    ensure!(workers_with_shards(&su).await? == 1, "the shards should start on one worker");

    let mut terminals = Vec::new();
    for t in 0..TERMINALS / 2 {
        let (tenant, location) = hub.tenant(&format!("Growing Co {t}")).await?;
        for d in 0..2 {
            terminals.push(hub.agent(tenant, location, t * 2 + d + 1).await?);
        }
    }
    let least = Duration::from_secs(
        std::env::var("THORBIS_REBALANCE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0),
    );
    let started = Instant::now();
    let rebalanced = AtomicBool::new(false);
    let (acknowledged, retries) = (AtomicU64::new(0), AtomicU64::new(0));
    let (hub_ref, flags) = (&hub, (&rebalanced, &acknowledged, &retries));
    let pushing = terminals.iter_mut().zip(1u32..).map(|(agent, n)| async move {
        let (rebalanced, acknowledged, retries) = flags;
        let (mut sent, mut after) = (0, 0);
        let mut sale = 0u32;
        let mut pace = tokio::time::interval(SALE_EVERY);
        while after < PUSHES_AFTER || started.elapsed() < least {
            pace.tick().await;
            if rebalanced.load(Ordering::SeqCst) {
                after += 1;
            }
            sale += 1;
            // Order ids from the terminal and the sale: every sale is its own order.
            agent.sale_numbered(n << 24 | sale, NOW_MS + u64::from(sale));
            let batch = agent.batch(sent + 1, agent.tip().seq);
            // A terminal retries until the hub acknowledges: a push refused or cut off
            // while a shard changes hands is sent again (a replay is harmless).
            let mut attempts = 0;
            loop {
                match hub_ref.push(agent, &batch).await {
                    Ok((StatusCode::OK, _)) => break,
                    outcome => {
                        attempts += 1;
                        retries.fetch_add(1, Ordering::Relaxed);
                        ensure!(attempts < 200, "push never acknowledged: {outcome:?}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            sent = agent.tip().seq;
            acknowledged.fetch_add(1, Ordering::Relaxed);
        }
        Ok::<_, anyhow::Error>(())
    });
    let rebalance = async {
        // Start once every terminal is pushing.
        while acknowledged.load(Ordering::Relaxed) < u64::from(TERMINALS) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Block writes to a shard group while it is copied: a logical-replication move
        // (the default) cannot apply changes into shards with FORCE row-level security on
        // PostgreSQL 15 (see hub/CITUS.md). A push to a moving tenant waits, then lands
        // on the new worker.
        su.execute("SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')", &[])
            .await?;
        let waited =
            tokio::time::timeout(REBALANCE_LIMIT, su.execute("SELECT citus_rebalance_wait()", &[]))
                .await;
        rebalanced.store(true, Ordering::SeqCst);
        waited
            .context("the rebalance did not finish in time")?
            .context("waiting for the rebalance")?;
        Ok::<_, anyhow::Error>(())
    };
    let (outcomes, rebalance) = tokio::join!(futures_util::future::join_all(pushing), rebalance);
    rebalance?;
    for result in outcomes {
        result?;
    }
    let state: String = su
        .query_one(
            "SELECT state::text FROM citus_rebalance_status() ORDER BY job_id DESC LIMIT 1",
            &[],
        )
        .await?
        .get(0);
    ensure!(state == "finished", "rebalance ended {state}");

    let (lost, duplicates, converged) = compare(&hub, &su, &terminals).await?;
    #[allow(clippy::print_stdout, reason = "the reliability result line is the test's report")]
    {
        println!(
            "RESULT citus_rebalance lost={lost} duplicates={duplicates} converged={converged} \
             pushes={} retries={} secs={:.1}",
            acknowledged.load(Ordering::Relaxed),
            retries.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
    }
    ensure!(lost == 0 && duplicates == 0 && converged, "the rebalance lost or split data");
    hub.stop().await
}

/// Events acknowledged but not stored, and stored more than once (events, and closed
/// orders against sales), and whether the hub holds exactly each terminal's chain with
/// the shards on both workers.
async fn compare(
    hub: &TestHub,
    su: &tokio_postgres::Client,
    terminals: &[Agent],
) -> Result<(i64, i64, bool)> {
    let (mut lost, mut duplicates, mut converged) = (0, 0, workers_with_shards(su).await? == 2);
    for agent in terminals {
        let row = su
            .query_one(
                "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0),
                        (SELECT seq FROM chain_tips WHERE tenant_id = $1 AND device_id = $2),
                        (SELECT string_agg(encode(hash, 'hex'), '' ORDER BY seq) FROM events
                          WHERE tenant_id = $1 AND device_id = $2)
                   FROM events WHERE tenant_id = $1 AND device_id = $2",
                &[&agent.tenant, &thorbis_hub::log::uuid(agent.device_id)],
            )
            .await?;
        let (stored, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let tip = i64::try_from(agent.tip().seq)?;
        lost += (tip - distinct).max(0);
        duplicates += stored - distinct;
        let hashes: String =
            agent.events.iter().map(|e| thorbis_hub::identity::hex(&e.hash().0)).collect();
        converged &= max == tip
            && row.get::<_, Option<i64>>(3) == Some(tip)
            && row.get::<_, Option<String>>(4).as_deref() == Some(hashes.as_str());
    }
    // Each sale is one closed order, projected once.
    let sales: i64 = terminals.iter().map(|a| i64::try_from(a.tip().seq / 4).unwrap_or(0)).sum();
    let orders = hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await?;
    duplicates += (orders - sales).max(0);
    lost += (sales - orders).max(0);
    Ok((lost, duplicates, converged))
}

/// Moves every shard group onto the first worker: the second starts empty, as a newly
/// added one does.
async fn gather_on_one_worker(su: &tokio_postgres::Client) -> Result<()> {
    let ports: Vec<i32> = su
        .query("SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let [first, second] = ports.as_slice() else {
        anyhow::bail!("expected two workers: {ports:?}")
    };
    let on_second: Vec<i64> = su
        .query(
            "SELECT shardid FROM citus_shards WHERE table_name = 'tenants'::regclass AND nodeport = $1",
            &[second],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for shard in on_second {
        su.execute(
            "SELECT citus_move_shard_placement($1, '127.0.0.1', $2, '127.0.0.1', $3,
                                               shard_transfer_mode => 'block_writes')",
            &[&shard, second, first],
        )
        .await?;
    }
    Ok(())
}

/// How many workers hold shards of the tenant tables.
async fn workers_with_shards(su: &tokio_postgres::Client) -> Result<i64> {
    Ok(su
        .query_one(
            "SELECT count(DISTINCT nodeport) FROM citus_shards
              WHERE table_name = 'tenants'::regclass",
            &[],
        )
        .await?
        .get(0))
}
