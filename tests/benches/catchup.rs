//! Catching up after a long time offline: a terminal took orders with its internet down
//! while another terminal of the store kept trading online. When it reconnects, how long
//! until the hub holds everything it took and it holds everything it lacked?
//!
//! A real hub (in this process, over a throwaway Postgres), two enrolled terminals with
//! real stores and the real sync shell over HTTP. Each terminal takes `orders` complete
//! sales (open, two lines, send to kitchen, cash payment, close: six events) — the offline
//! one with no sync running, the online one pushing as it goes. The clock starts when the
//! offline terminal's sync shell starts and stops when its outbox to the hub is empty (the
//! hub acknowledged its last event) and it holds the other terminal's whole chain.
//! Afterwards the online terminal must receive every event of the returning one through
//! the hub, which proves the hub stored them.
//!
//! `cargo bench -p thorbis-tests --bench catchup` prints `METRIC catchup_5000_orders_s`
//! (5,000 orders taken offline plus 5,000 taken elsewhere meanwhile) and the event counts.
//! `THORBIS_BENCH_ORDERS` changes the number of orders per terminal.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

#[path = "../tests/support/hub.rs"]
mod hub;
#[path = "../tests/support/orders.rs"]
mod orders;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use thorbis_agent::ManualClock;
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::sync::SharedStore;
use thorbis_domain::ids::DrawerSessionId;
use thorbis_hub::testing::fresh_database;

use hub::{Agent, Hub, NOW_MS, wait_for};
use orders::has_menu;

fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let orders: usize = std::env::var("THORBIS_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 5_000 } else { 50 });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(orders))
}

async fn run(orders: usize) -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;

    // Both terminals start online and share the catalog, then one loses its link.
    let online = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 1).await?;
    let mut away = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 2).await?;
    let (online_device, away_device) =
        (online.store.with(|s| s.device_id()), away.store.with(|s| s.device_id()));
    wait_for("the menu on both terminals", 30, || {
        Ok(has_menu(&online.store)? && has_menu(&away.store)?)
    })
    .await?;
    let catalog_tip = online.store.with(|s| s.tip());
    away.go_offline().await;

    let traded = Instant::now();
    take_orders(&online.store, orders)?;
    take_orders(&away.store, orders)?;
    let online_tip = online.store.with(|s| s.tip());
    wait_for("the online terminal's sales at the hub", 300, || {
        Ok(online.status().outbox_depth == 0 && online.status().online)
    })
    .await?;
    let away_events = away.store.with(|s| s.tip().seq);
    let pulled = online_tip.seq - catalog_tip.seq;
    let set_up = traded.elapsed();

    // Back online: push what it took, pull what it lacks.
    let started = Instant::now();
    away.go_online(2)?;
    let deadline = started + Duration::from_secs(300);
    loop {
        let status = away.status();
        let caught_up = status.online
            && status.outbox_depth == 0
            && away.store.with(|s| s.chain_tip(online_device))? == online_tip;
        if caught_up {
            break;
        }
        if Instant::now() > deadline {
            bail!("not caught up after 300 s: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();

    // The hub really holds the returning terminal's chain: the other terminal gets all of it.
    let away_tip = away.store.with(|s| s.tip());
    wait_for("the returning terminal's sales on the other terminal", 300, || {
        Ok(online.store.with(|s| s.chain_tip(away_device))? == away_tip)
    })
    .await?;
    let (a, b) = (
        online.store.with(|s| s.projection_digest())?,
        away.store.with(|s| s.projection_digest())?,
    );
    ensure!(a == b, "the two terminals' projections differ after catching up");

    println!(
        "catchup: {orders} orders offline ({away_events} events pushed), {orders} elsewhere ({pulled} events pulled); set-up {:.1} s",
        set_up.as_secs_f64()
    );
    println!("METRIC catchup_events_pushed {away_events}");
    println!("METRIC catchup_events_pulled {pulled}");
    println!("METRIC catchup_{orders}_orders_s {:.3}", took.as_secs_f64());
    drop(online);
    drop(away);
    hub.stop().await.context("stopping the hub")?;
    Ok(())
}

/// `orders` complete cash sales on `store`, each one commit (the UI's commit per action is
/// not what this bench measures).
fn take_orders(store: &SharedStore, orders: usize) -> Result<()> {
    store.with(|s| -> Result<()> {
        let drawer = DrawerSessionId(s.new_id());
        s.execute(&seed::open_drawer(drawer))?;
        for _ in 0..orders {
            let ids = SaleIds::new(|| s.new_id());
            s.execute_all(&seed::typical_sale(ids, drawer))?;
        }
        Ok(())
    })?;
    // Commits made under `with` do not wake the peers; `execute` does. Nudge them.
    store.notify_changed();
    Ok(())
}
