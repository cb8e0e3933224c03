//! Taking in another device's events: a POS's sales (one signed commit per sale, six events
//! each) pulled by a second store through the sync protocol in batches of 500 events, each
//! batch verified against the origin's key (hash chain and checkpoint signatures, with the
//! key ring read from the store as the sync shell does) and stored, folded and committed in
//! one transaction.
//!
//! `cargo bench -p thorbis-agent --bench apply_events` prints
//! `METRIC agent_apply_events_per_s` (verify + store + fold), and for reference
//! `METRIC agent_verify_events_per_s` (the protocol's verification alone).
//!
//! `THORBIS_BENCH_SALES` sets the number of sales (default 4000, about 24,000 events). The
//! source store is built on tmpfs when there is one (its commits are not measured); the
//! receiving store lives in the system temp dir, so its commits pay a real fsync.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_domain::ids::DrawerSessionId;
use thorbis_sync_protocol::sync::{Message, PeerState, SyncConfig};

const NOW: u64 = 1_790_000_000_000;

fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let sales: usize = std::env::var("THORBIS_BENCH_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 4000 } else { 100 });
    let clock = Arc::new(ManualClock::new(NOW));
    let shm = std::path::Path::new("/dev/shm");
    let source_dir = if shm.is_dir() { tempfile::tempdir_in(shm)? } else { tempfile::tempdir()? };
    let target_dir = tempfile::tempdir_in(std::env::temp_dir())?;

    let mut pos = Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(1),
        device_key_seed: Some([1; 32]),
        ..StoreConfig::new(source_dir.path().join("pos.db"))
    })?;
    pos.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(pos.new_id());
    pos.execute(&seed::open_drawer(drawer))?;
    for _ in 0..sales {
        let ids = SaleIds::new(|| pos.new_id());
        pos.execute_all(&seed::typical_sale(ids, drawer))?;
    }
    let total = pos.tip().seq;

    let mut kds = Store::open(StoreConfig {
        clock,
        id_seed: Some(2),
        device_key_seed: Some([2; 32]),
        ..StoreConfig::new(target_dir.path().join("kds.db"))
    })?;
    let pos_device = pos.device_id();
    let pos_key = pos.public_key();

    // The batches as the sender cuts them; not measured.
    let config = SyncConfig { max_batch_events: 500, ..SyncConfig::default() };
    let mut sender = PeerState::new(config);
    sender.receive_message(
        &pos,
        &kds.key_ring()?,
        Message::Hello { vector: thorbis_sync_protocol::VersionVector::new() },
        NOW,
    )?;
    let mut messages = Vec::new();
    while let Some(msg) = sender.generate_message(&pos, NOW) {
        if matches!(msg, Message::Events { .. }) {
            messages.push(msg);
        }
        ensure!(messages.len() < 100_000, "the sender does not stop");
    }

    let mut from_pos = PeerState::new(config);
    let mut verify = Duration::ZERO;
    let started = Instant::now();
    let mut stored = 0;
    for msg in messages {
        let t = Instant::now();
        let mut keys = kds.key_ring()?;
        keys.insert(pos_device, pos_key);
        let received = from_pos.receive_message(&kds, &keys, msg, NOW)?;
        verify += t.elapsed();
        stored += kds.apply_remote(&received.events)?.stored;
    }
    let elapsed = started.elapsed();
    ensure!(stored as u64 == total, "stored {stored} of {total}");
    ensure!(kds.projection_digest()? == pos.projection_digest()?, "replicas differ");
    let per_s = |d: Duration| total as f64 / d.as_secs_f64();
    println!("METRIC agent_apply_events_per_s {:.0}", per_s(elapsed));
    println!("METRIC agent_verify_events_per_s {:.0}", per_s(verify));
    Ok(())
}
