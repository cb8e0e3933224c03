//! POS → KDS over the store's LAN: two agents in one process (each its own store file and
//! sync shell) on loopback, the KDS listening and the POS dialling it over the mutually
//! authenticated TLS transport. The POS takes orders at a steady pace, each a check with
//! two lines sent to the kitchen, committed in one transaction; the time measured is from
//! that commit returning on the POS to the KDS's store having stored and folded the
//! order's events (its projection holds the tickets: one transaction does both).
//!
//! `cargo bench -p thorbis-tests --bench lan` prints `METRIC lan_pos_to_kds_p50_ms`,
//! `METRIC lan_pos_to_kds_p99_ms` (goal ≤ 10 / ≤ 50) and `METRIC lan_pos_to_kds_max_ms`.
//! `THORBIS_LAN_ORDERS` sets the number of orders (default 1,000 at 100 orders/s: ten
//! seconds; 100 when run without `--bench`, as the test command does). The stores live in
//! the system temp dir, so every commit pays a real fsync on both sides.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use thorbis_agent::seed;
use thorbis_agent::sync::lan::LanConfig;
use thorbis_agent::sync::{SharedStore, ShellConfig, SyncHandle};
use thorbis_agent::{Clock as _, Enrollment, Store, StoreConfig, SystemClock};
use thorbis_sync_protocol::{Credential, DeviceId, DeviceKey, DeviceRole};
use tokio::net::TcpListener;
use uuid::Uuid;

#[path = "../tests/support/orders.rs"]
mod orders;

use orders::send_order;

/// Orders per second the POS takes.
const RATE: u64 = 100;

/// A store enrolled in a test tenant (credentials signed here, as a hub signs them).
fn terminal(
    dir: &tempfile::TempDir,
    tenant: &DeviceKey,
    role: DeviceRole,
    n: u8,
) -> Result<SharedStore> {
    let mut store = Store::open(StoreConfig {
        id_seed: Some(u64::from(n)),
        device_key_seed: Some([n; 32]),
        ..StoreConfig::new(dir.path().join(format!("{n}.db")))
    })?;
    let credential = Credential {
        device_id: DeviceId([n; 16]),
        tenant_id: Uuid::from_bytes([1; 16]),
        location_id: Uuid::from_bytes([2; 16]),
        role,
        public_key: store.public_key(),
        expires_at_ms: SystemClock.now_ms() + 86_400_000,
    };
    store.record_enrollment(&Enrollment {
        hub_url: "http://127.0.0.1:9".into(),
        device_id: credential.device_id,
        tenant_id: credential.tenant_id,
        location_id: credential.location_id,
        role: role.as_str().into(),
        tenant_public_key: tenant.public_key(),
        reference_log_id: DeviceId([3; 16]),
        credential: credential.canonical_bytes(),
        credential_signature: tenant.sign_credential(&credential),
        expires_at_ms: credential.expires_at_ms,
    })?;
    // The menu and staff come from the tenant's logs, as a hub would serve them.
    store.apply_remote(&seed::reference_log(
        tenant,
        credential.tenant_id,
        credential.location_id,
        DeviceId([3; 16]),
        SystemClock.now_ms() - 60_000,
    )?)?;
    Ok(SharedStore::new(store))
}

/// One check with a burger and fries, sent to the kitchen; returns the POS's tip after it.
fn take_order(pos: &SharedStore, table: &str) -> Result<u64> {
    send_order(pos, table)?;
    Ok(pos.with(|s| s.tip().seq))
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let orders: usize = match std::env::var("THORBIS_LAN_ORDERS") {
        Ok(v) => v.parse().context("THORBIS_LAN_ORDERS must be a number")?,
        Err(_) if benching => 1_000,
        Err(_) => 100,
    };
    let dir = tempfile::tempdir()?;
    let tenant = DeviceKey::from_seed(&[9; 32])?;
    let pos = terminal(&dir, &tenant, DeviceRole::Pos, 10)?;
    let kds = terminal(&dir, &tenant, DeviceRole::Kds, 11)?;
    let pos_device = pos.with(|s| s.device_id());

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut kds_sync = SyncHandle::new(kds.clone(), ShellConfig::default());
    kds_sync.start_lan(LanConfig { listener: Some(listener), ..LanConfig::default() })?;
    let mut pos_sync = SyncHandle::new(pos.clone(), ShellConfig::default());
    pos_sync.start_lan(LanConfig { peers: vec![addr], ..LanConfig::default() })?;

    // The KDS side: every time its log grows, when the POS's chain reached which seq.
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let mut changes = kds.subscribe();
    let watcher = {
        let (kds, seen) = (kds.clone(), Arc::clone(&seen));
        tokio::spawn(async move {
            let mut last = 0;
            while changes.changed().await.is_ok() {
                let tip = kds.run(move |s| s.chain_tip(pos_device)).await?.seq;
                if tip > last {
                    last = tip;
                    seen.lock().unwrap_or_else(PoisonError::into_inner).push((tip, Instant::now()));
                }
            }
            Ok::<_, anyhow::Error>(())
        })
    };
    let reached = |seq: u64| {
        seen.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(tip, _)| *tip >= seq)
            .map(|(_, at)| *at)
    };
    let wait_for = async |seq: u64, within: Duration| -> Result<()> {
        let deadline = Instant::now() + within;
        while reached(seq).is_none() {
            ensure!(Instant::now() < deadline, "the KDS did not reach seq {seq} in {within:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    };

    // A few warm-up orders, not measured.
    let p = pos.clone();
    let mut tip = tokio::task::spawn_blocking(move || {
        let mut tip = 0;
        for i in 0..10 {
            tip = take_order(&p, &format!("w{i}"))?;
        }
        Ok::<_, anyhow::Error>(tip)
    })
    .await??;
    wait_for(tip, Duration::from_secs(30)).await?;

    // The measured orders, at RATE per second.
    let mut commits = Vec::with_capacity(orders);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..orders {
        tick.tick().await;
        let p = pos.clone();
        tip = tokio::task::spawn_blocking(move || take_order(&p, &format!("t{i}"))).await??;
        commits.push((tip, Instant::now()));
    }
    wait_for(tip, Duration::from_secs(60)).await?;

    let mut latencies: Vec<Duration> = commits
        .iter()
        .map(|(seq, at)| {
            reached(*seq).map_or(Duration::MAX, |seen| seen.saturating_duration_since(*at))
        })
        .collect();
    latencies.sort_unstable();
    let tickets = kds.with(|s| s.kds_queue(None))?.len();
    ensure!(tickets == 2 * (orders + 10), "the KDS shows {tickets} tickets");
    println!("METRIC lan_pos_to_kds_p50_ms {:.2}", percentile(&latencies, 50));
    println!("METRIC lan_pos_to_kds_p99_ms {:.2}", percentile(&latencies, 99));
    println!("METRIC lan_pos_to_kds_max_ms {:.2}", percentile(&latencies, 100));
    println!("orders {orders} at {RATE}/s");

    pos_sync.shutdown().await;
    kds_sync.shutdown().await;
    watcher.abort();
    Ok(())
}
