//! Taking in another device's events: a POS's sales (one signed commit per sale, six events
//! each) taken in by a second store, each batch verified against the origin's key (hash
//! chain and checkpoint signatures, with the key ring read from the store as the sync shell
//! does) and stored, folded and committed in one transaction.
//!
//! `cargo bench -p thorbis-agent --bench apply_events` prints
//! * `METRIC agent_apply_events_per_s`: pages as the hub's pull serves them (up to 1,000
//!   events, the hub's default page, each device's run ending at one checkpoint), verify +
//!   store + fold;
//! * `METRIC agent_apply_peer_batches_events_per_s`: batches of 500 as a peer's
//!   `PeerState` cuts them, carrying every checkpoint, so one signature is verified per
//!   sale;
//! * `METRIC agent_verify_events_per_s`: the protocol's verification alone, hub pages.
//!
//! `THORBIS_BENCH_SALES` sets the number of sales (default 4000, about 24,000 events). The
//! source store is built on tmpfs when there is one (its commits are not measured); the
//! receiving stores live in the system temp dir, so their commits pay a real fsync.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{ManualClock, Store, StoreConfig, StoreKeys};
use thorbis_domain::ids::DrawerSessionId;
use thorbis_sync_protocol::sync::{EventSource, Message, PeerState, SyncConfig};
use thorbis_sync_protocol::{Batch, Checkpoint, VersionVector};

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

    let pos_device = pos.device_id();

    // Hub pages: what the hub's pull answers, one checkpoint at the end of each page.
    let mut pages = Vec::new();
    let mut have = 0;
    while have < total {
        let run = EventSource::events_after(&pos, pos_device, have, 1_000);
        let last = run.iter().rposition(|(_, sig)| sig.is_some()).context("a signed event")?;
        let (event, signature) = &run[last];
        let checkpoint = Checkpoint {
            device_id: pos_device,
            seq: event.seq,
            hash: event.hash(),
            signature: signature.context("signed")?,
        };
        have = event.seq;
        let events = run.into_iter().take(last + 1).map(|(e, _)| e).collect();
        pages.push(Message::Events {
            batch: Batch { events, checkpoints: vec![checkpoint] },
            more: have < total,
        });
    }
    let (apply, verify) = take_in(&target_dir, "hub.db", &clock, &pos, pages)?;
    println!("METRIC agent_apply_events_per_s {:.0}", per_s(total, apply));
    println!("METRIC agent_verify_events_per_s {:.0}", per_s(total, verify));

    // Peer batches: every checkpoint inside each run travels and is verified.
    let config = SyncConfig { max_batch_events: 500, ..SyncConfig::default() };
    let mut sender = PeerState::new(config);
    sender.receive_message(
        &pos,
        &StoreKeys::new(),
        Message::Hello { vector: VersionVector::new() },
        NOW,
    )?;
    let mut batches = Vec::new();
    while let Some(msg) = sender.generate_message(&pos, NOW) {
        if matches!(msg, Message::Events { .. }) {
            batches.push(msg);
        }
        ensure!(batches.len() < 100_000, "the sender does not stop");
    }
    let (apply, _) = take_in(&target_dir, "peer.db", &clock, &pos, batches)?;
    println!("METRIC agent_apply_peer_batches_events_per_s {:.0}", per_s(total, apply));
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // A rate for a METRIC line.
fn per_s(events: u64, d: Duration) -> f64 {
    events as f64 / d.as_secs_f64()
}

/// A fresh store takes in `messages` as the sync shell does (key ring read per message,
/// verify, store in one transaction); returns the time in all and in verification.
fn take_in(
    dir: &tempfile::TempDir,
    name: &str,
    clock: &Arc<ManualClock>,
    pos: &Store,
    messages: Vec<Message>,
) -> Result<(Duration, Duration)> {
    let mut kds = Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(2),
        device_key_seed: Some([2; 32]),
        ..StoreConfig::new(dir.path().join(name))
    })?;
    let mut from_pos = PeerState::new(SyncConfig::default());
    let mut verify = Duration::ZERO;
    let started = Instant::now();
    let mut stored = 0;
    for msg in messages {
        let t = Instant::now();
        let mut keys = kds.key_ring()?;
        keys.insert(pos.device_id(), pos.public_key());
        let received = from_pos.receive_message(&kds, &keys, msg, NOW)?;
        verify += t.elapsed();
        stored += kds.apply_remote(&received.events)?.stored;
    }
    let elapsed = started.elapsed();
    ensure!(stored as u64 == pos.tip().seq, "stored {stored} of {}", pos.tip().seq);
    ensure!(kds.projection_digest()? == pos.projection_digest()?, "replicas differ");
    Ok((elapsed, verify))
}
