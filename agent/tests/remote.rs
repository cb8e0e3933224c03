//! Taking in other devices' events: a POS store's events reach a KDS store through the sans-IO
//! sync protocol, verified with the store's key ring, stored in one transaction each, folded
//! into the same projections; replays change nothing; forks and gaps store nothing.

use std::sync::Arc;

use anyhow::{Result, ensure};
use thorbis_agent::seed;
use thorbis_agent::{ManualClock, Store, StoreConfig, StoreError, StoreKeys};
use thorbis_domain::Command;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{LineId, OrderId};
use thorbis_domain::{Currency, Qty};
use thorbis_sync_protocol::sync::{EventSource, PeerState, SyncConfig};
use thorbis_sync_protocol::{Event, Signature};

/// One message's verified events, as the protocol returned them.
type Verified = Vec<(Event, Option<Signature>)>;

const NOW: u64 = 1_790_000_000_000;

fn open(dir: &tempfile::TempDir, name: &str, seed: u8, clock: &Arc<ManualClock>) -> Result<Store> {
    Ok(Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(u64::from(seed)),
        device_key_seed: Some([seed; 32]),
        ..StoreConfig::new(dir.path().join(name))
    })?)
}

/// The POS: catalog, a dine-in check sent to the kitchen.
fn pos_sends_an_order(pos: &mut Store) -> Result<OrderId> {
    pos.execute_all(&seed::catalog())?;
    let order_id = OrderId(pos.new_id());
    let (burger, fries) = (LineId(pos.new_id()), LineId(pos.new_id()));
    pos.execute_all(&[
        Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some("7".into()),
            guests: Some(2),
            staff: None,
        },
        seed::line(order_id, burger, seed::BURGER, Qty::ONE, vec![seed::MEDIUM_RARE, seed::CHEESE]),
        seed::line(order_id, fries, seed::FRIES, Qty::ONE, vec![]),
        Command::SendToKitchen { order_id },
    ])?;
    Ok(order_id)
}

/// A POS store that sent an order to the kitchen, and an empty KDS store, on one clock.
fn pos_with_an_order_and_a_kds(dir: &tempfile::TempDir) -> Result<(Store, Store)> {
    let clock = Arc::new(ManualClock::new(NOW));
    let mut pos = open(dir, "pos.db", 1, &clock)?;
    let kds = open(dir, "kds.db", 2, &clock)?;
    pos_sends_an_order(&mut pos)?;
    Ok((pos, kds))
}

/// Runs the protocol from `from` to `to` until quiet; returns every batch of verified events
/// `to` stored, as received.
fn sync(from: &Store, to: &mut Store, keys: &StoreKeys) -> Result<Vec<Verified>> {
    let config = SyncConfig { max_batch_events: 7, ..SyncConfig::default() };
    let mut sender = PeerState::new(config);
    let mut receiver = PeerState::new(config);
    let mut batches = Vec::new();
    for _ in 0..1_000 {
        let mut quiet = true;
        while let Some(msg) = sender.generate_message(from, NOW) {
            quiet = false;
            let got = receiver.receive_message(&*to, keys, msg, NOW)?;
            to.apply_remote(&got.events)?;
            if !got.events.is_empty() {
                batches.push(got.events);
            }
        }
        while let Some(msg) = receiver.generate_message(&*to, NOW) {
            quiet = false;
            sender.receive_message(from, keys, msg, NOW)?;
        }
        if quiet {
            return Ok(batches);
        }
    }
    anyhow::bail!("sync did not go quiet")
}

#[test]
fn another_devices_order_reaches_the_kitchen_and_replays_change_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW));
    let mut pos = open(&dir, "pos.db", 1, &clock)?;
    let mut kds = open(&dir, "kds.db", 2, &clock)?;
    let order = pos_sends_an_order(&mut pos)?;
    let mut keys = kds.key_ring()?;
    keys.insert(pos.device_id(), pos.public_key());

    let batches = sync(&pos, &mut kds, &keys)?;
    ensure!(!batches.is_empty());
    let queue = kds.kds_queue(None)?;
    ensure!(
        queue.len() == 2 && queue.iter().all(|t| t.order_id == order),
        "grill and fryer tickets are on the KDS: {queue:?}"
    );
    ensure!(kds.projection_digest()? == pos.projection_digest()?, "same events, same state");
    ensure!(kds.version_vector()? == pos.version_vector()?);
    ensure!(kds.tip().seq == 0, "the KDS's own chain is untouched");
    // Relaying: the KDS serves the POS's events with the origin's checkpoints.
    let relayed = EventSource::events_after(&kds, pos.device_id(), 0, 10_000);
    let original = EventSource::events_after(&pos, pos.device_id(), 0, 10_000);
    ensure!(relayed == original, "events and signatures held exactly as received");
    ensure!(kds.verify_log()?.events == pos.tip().seq);

    // Replays: every batch again, and all of it at once, change nothing.
    let digest = kds.projection_digest()?;
    let count = kds.event_count()?;
    for batch in &batches {
        let applied = kds.apply_remote(batch)?;
        ensure!(applied.stored == 0 && applied.duplicates == batch.len(), "{applied:?}");
    }
    let all: Vec<_> = batches.concat();
    ensure!(kds.apply_remote(&all)?.stored == 0);
    ensure!(sync(&pos, &mut kds, &keys)?.is_empty(), "nothing left to send");
    ensure!(kds.projection_digest()? == digest && kds.event_count()? == count);

    // The KDS's clock absorbed the POS's stamps: its next event is ordered after them.
    let last_pos = original.last().expect("events").0.hlc;
    kds.execute(&Command::ReceiveStock {
        item_id: seed::COFFEE_BEANS,
        qty: Qty::units(1),
        note: "count".into(),
    })?;
    let own = EventSource::events_after(&kds, kds.device_id(), 0, 10);
    ensure!(own.len() == 1 && own[0].0.hlc > last_pos, "local stamp after remote ones");
    ensure!(own[0].0.seq == 1, "own chain starts at 1");

    // Reopened, everything is still there, and the clock still runs after the remote stamps.
    let device = kds.device_id();
    drop(kds);
    let mut kds = open(&dir, "kds.db", 2, &clock)?;
    ensure!(kds.device_id() == device);
    ensure!(kds.kds_queue(None)?.len() == 2);
    ensure!(kds.verify_log()?.devices == 2);
    ensure!(kds.apply_remote(&all)?.stored == 0);
    Ok(())
}

#[test]
fn a_fork_or_a_gap_stores_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (pos, mut kds) = pos_with_an_order_and_a_kds(&dir)?;
    let events = EventSource::events_after(&pos, pos.device_id(), 0, 10_000);
    ensure!(events.len() > 4);

    // A gap: seq 3 onwards without 1 and 2 is skipped, not stored.
    let applied = kds.apply_remote(&events[2..])?;
    ensure!(applied.stored == 0 && applied.skipped == events.len() - 2, "{applied:?}");
    ensure!(kds.event_count()? == 0);

    // A fork: seq 2 linking to something else than the held seq 1. Nothing of the call is
    // stored, not even the good events before it.
    kds.apply_remote(&events[..1])?;
    let mut forged = events[1].clone();
    forged.0.prev_hash = thorbis_sync_protocol::Hash32([7; 32]);
    let digest = kds.projection_digest()?;
    let err = kds.apply_remote(&[forged]).expect_err("a fork is refused");
    ensure!(matches!(err, StoreError::Conflict(_)), "{err}");
    ensure!(kds.event_count()? == 1 && kds.projection_digest()? == digest);

    // This device's own events never come from a peer.
    let own = kds.device_id();
    let mut mine = events[1].clone();
    mine.0.device_id = own;
    ensure!(kds.apply_remote(&[mine])?.skipped == 1);
    ensure!(kds.tip().seq == 0);
    Ok(())
}

/// A terminal's own log may not carry device records: a relayed or peer-sent one would make
/// this store trust a key of the sender's making. Only the tenant's hub-signed log may.
#[test]
fn device_records_are_taken_only_from_the_hubs_log() -> Result<()> {
    use thorbis_domain::DomainEvent;
    use thorbis_domain::device::{DeviceRegistered, DeviceRole};

    let dir = tempfile::tempdir()?;
    let (pos, mut kds) = pos_with_an_order_and_a_kds(&dir)?;
    let events = EventSource::events_after(&pos, pos.device_id(), 0, 10_000);
    kds.apply_remote(&events)?;
    let last = &events.last().expect("events").0;
    let record = DomainEvent::DeviceRegistered(DeviceRegistered {
        device_id: uuid::Uuid::from_u128(0xbad),
        location_id: uuid::Uuid::from_u128(1),
        role: DeviceRole::Pos,
        public_key: thorbis_sync_protocol::DeviceKey::from_seed(&[66; 32])?.public_key(),
        credential_expires_at_ms: NOW + 1_000_000,
    });
    let forged = Event {
        device_id: last.device_id,
        seq: last.seq + 1,
        hlc: last.hlc,
        prev_hash: last.hash(),
        kind: thorbis_sync_protocol::EventKind::new(record.kind())?,
        payload: record.encode_payload(),
    };
    let (count, digest) = (kds.event_count()?, kds.projection_digest()?);
    // Kept (the POS's chain stays whole and relayable) but never folded.
    let applied = kds.apply_remote(&[(forged, None)])?;
    ensure!(applied.stored == 1 && applied.quarantined == 1, "{applied:?}");
    ensure!(kds.event_count()? == count + 1 && kds.projection_digest()? == digest);
    // Nor by a rebuild.
    kds.rebuild_projections()?;
    ensure!(kds.projection_digest()? == digest, "a rebuild folded a quarantined fact");
    let forged_device = thorbis_sync_protocol::DeviceId::from_bytes(0xbad_u128.to_be_bytes());
    ensure!(
        thorbis_sync_protocol::sync::KeyRing::public_key(&kds.key_ring()?, &forged_device)
            .is_none(),
        "the forged key was trusted"
    );
    Ok(())
}

#[test]
fn events_of_an_unknown_device_are_refused_by_the_protocol() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (pos, mut kds) = pos_with_an_order_and_a_kds(&dir)?;
    let keys = kds.key_ring()?;
    ensure!(sync(&pos, &mut kds, &keys).is_err(), "the POS's key is not in the ring");
    ensure!(kds.event_count()? == 0);
    Ok(())
}

#[test]
fn enrolling_takes_the_hubs_device_id_only_before_trading() -> Result<()> {
    use thorbis_agent::Enrollment;
    use thorbis_sync_protocol::sync::KeyRing as _;
    use thorbis_sync_protocol::{DeviceId, PublicKey};
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW));
    let mut fresh = open(&dir, "fresh.db", 3, &clock)?;
    let enrollment = Enrollment {
        hub_url: "http://hub.test".into(),
        device_id: DeviceId([0x42; 16]),
        tenant_id: uuid::Uuid::from_bytes([1; 16]),
        location_id: uuid::Uuid::from_bytes([2; 16]),
        role: "kds".into(),
        tenant_public_key: PublicKey([9; 32]),
        reference_log_id: DeviceId([1; 16]),
        credential: vec![1, 2, 3],
        credential_signature: Signature([5; 64]),
        expires_at_ms: NOW + 1_000,
    };
    fresh.record_enrollment(&enrollment)?;
    ensure!(fresh.device_id() == enrollment.device_id);
    ensure!(fresh.enrollment()? == Some(enrollment.clone()));
    let keys = fresh.key_ring()?;
    ensure!(keys.public_key(&enrollment.reference_log_id) == Some(enrollment.tenant_public_key));
    ensure!(keys.public_key(&enrollment.device_id) == Some(fresh.public_key()));
    // Reopened: still enrolled, under the hub's id, and its first event carries it.
    drop(fresh);
    let mut fresh = open(&dir, "fresh.db", 3, &clock)?;
    ensure!(fresh.device_id() == enrollment.device_id && fresh.enrollment()?.is_some());
    fresh.execute_all(&seed::catalog())?;
    let own = EventSource::events_after(&fresh, enrollment.device_id, 0, 1);
    ensure!(own.len() == 1);
    // Renewing with the same id is fine; a different id after trading is refused.
    fresh.record_enrollment(&enrollment)?;
    let other = Enrollment { device_id: DeviceId([0x43; 16]), ..enrollment };
    let err = fresh.record_enrollment(&other).expect_err("the chain is under the old id");
    ensure!(matches!(err, StoreError::Conflict(_)), "{err}");
    ensure!(fresh.device_id() == DeviceId([0x42; 16]));
    Ok(())
}
