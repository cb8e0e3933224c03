//! The sans-IO sync core: message codec, verification of relayed events, idempotence,
//! restarts, and batches cut at signed events.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use thorbis_sync_protocol::sync::{
    EventSource, KeyRing, Message, MessageError, PeerState, Received, Rules, Runs, Strictness,
    SyncConfig, SyncError, decode_message, encode_message,
};
use thorbis_sync_protocol::{
    Batch, ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventKind, Hlc, PublicKey, Signature,
    VerifyError, VersionVector,
};

use crate::strategies;

const NOW: u64 = 1_750_000_000_000;

#[derive(Clone, Debug, Default)]
struct Log(BTreeMap<DeviceId, Vec<(Event, Option<Signature>)>>);

impl EventSource for Log {
    fn vector(&self) -> VersionVector {
        self.0.iter().map(|(d, run)| (*d, run.len() as u64)).collect()
    }

    fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Vec<(Event, Option<Signature>)> {
        let run = self.0.get(&device).map_or(&[][..], Vec::as_slice);
        run.iter().skip(after_seq as usize).take(limit).cloned().collect()
    }
}

impl Log {
    fn store(&mut self, received: Received) {
        for (event, sig) in received.events {
            let run = self.0.entry(event.device_id).or_default();
            assert_eq!(event.seq, run.len() as u64 + 1, "stored out of order");
            run.push((event, sig));
        }
    }
}

struct Keys(BTreeMap<DeviceId, PublicKey>);

impl KeyRing for Keys {
    fn public_key(&self, device: &DeviceId) -> Option<PublicKey> {
        self.0.get(device).copied()
    }
}

/// A device's log of `len` events, signed after every `sign_every`-th event and at the end.
fn device_log(n: u8, len: u64, sign_every: u64) -> (DeviceId, DeviceKey, Log) {
    let device = DeviceId([n; 16]);
    let key = DeviceKey::from_seed(&[n; 32]).unwrap();
    let mut log = Log::default();
    let mut tip = ChainTip::GENESIS;
    for seq in 1..=len {
        let event = Event {
            device_id: device,
            seq,
            hlc: Hlc { wall_ms: NOW + seq, counter: 0 },
            prev_hash: tip.hash,
            kind: EventKind::new("test.event").unwrap(),
            payload: seq.to_be_bytes().to_vec(),
        };
        tip = ChainTip::of(&event);
        let sig = (seq % sign_every == 0 || seq == len)
            .then(|| key.sign_checkpoint(device, tip).signature);
        log.0.entry(device).or_default().push((event, sig));
    }
    (device, key, log)
}

fn config(max_batch_events: usize) -> SyncConfig {
    SyncConfig { max_batch_events, ..SyncConfig::default() }
}

/// Lets `from` (holding `from_log`) talk to `to` until `from` is quiet, storing what `to`
/// receives; `to`'s answers go straight back. Returns the messages `from` sent.
fn pump(
    from: &mut PeerState,
    from_log: &Log,
    to: &mut PeerState,
    to_log: &mut Log,
    keys: &Keys,
) -> Vec<Message> {
    let mut sent = Vec::new();
    for _ in 0..100 {
        let Some(msg) = from.generate_message(from_log, NOW) else { break };
        sent.push(msg.clone());
        let received = to.receive_message(to_log, keys, msg, NOW).unwrap();
        to_log.store(received);
        while let Some(answer) = to.generate_message(to_log, NOW) {
            from.receive_message(from_log, keys, answer, NOW).unwrap();
        }
    }
    sent
}

fn vector() -> impl Strategy<Value = VersionVector> {
    vec((strategies::device(), 0..u64::MAX), 0..8).prop_map(|pairs| pairs.into_iter().collect())
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        vector().prop_map(|vector| Message::Hello { vector }),
        vector().prop_map(|vector| Message::Ack { vector }),
        (strategies::batch(), any::<bool>())
            .prop_map(|(batch, more)| Message::Events { batch, more }),
    ]
}

proptest! {
    #[test]
    fn messages_round_trip(msg in message()) {
        let bytes = encode_message(&msg);
        prop_assert_eq!(decode_message(&bytes), Ok(msg));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(msg) = decode_message(&bytes) {
            prop_assert_eq!(encode_message(&msg), bytes);
        }
    }

    #[test]
    fn decoding_mutated_messages_never_panics(
        msg in message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode_message(&msg);
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(msg) = decode_message(&bytes) {
            prop_assert_eq!(encode_message(&msg), bytes);
        }
    }
}

#[test]
fn hostile_messages_are_refused_with_reasons() {
    assert_eq!(decode_message(&[]), Err(MessageError::Empty));
    assert_eq!(decode_message(&[9]), Err(MessageError::UnknownType(9)));
    // A vector claiming 4 billion devices is refused before anything is read.
    assert_eq!(
        decode_message(&[1, 0xff, 0xff, 0xff, 0xff]),
        Err(MessageError::TooManyDevices { count: u32::MAX as usize })
    );
    // Entries out of order, or with seq 0, have no place in the one canonical encoding.
    let mut bytes = vec![3, 0, 0, 0, 2];
    for device in [2u8, 1] {
        bytes.extend_from_slice(&[device; 16]);
        bytes.extend_from_slice(&1u64.to_be_bytes());
    }
    assert_eq!(decode_message(&bytes), Err(MessageError::NonCanonicalVector { offset: 28 }));
    assert_eq!(decode_message(&[2, 7]), Err(MessageError::BadFlag(7)));
    assert!(matches!(decode_message(&[2]), Err(MessageError::Codec(_))));
    assert!(matches!(
        decode_message(&[1, 0, 0, 0, 0, 5]),
        Err(MessageError::TrailingBytes { offset: 4, count: 1 })
    ));
}

#[test]
fn two_peers_converge_in_batches_that_end_at_signed_events() {
    let (device, key, a_log) = device_log(1, 10, 3);
    let keys = Keys([(device, key.public_key())].into());
    let mut b_log = Log::default();
    let (mut a, mut b) = (PeerState::new(config(4)), PeerState::new(config(4)));
    // A says Hello first and cannot send before B has answered.
    assert!(matches!(a.generate_message(&a_log, NOW), Some(Message::Hello { .. })));
    let hello = b.generate_message(&b_log, NOW).unwrap();
    a.receive_message(&a_log, &keys, hello, NOW).unwrap();
    let sent = pump(&mut a, &a_log, &mut b, &mut b_log, &keys);
    assert_eq!(b_log.vector(), a_log.vector());
    assert!(!a.has_unacknowledged());
    for msg in &sent {
        let Message::Events { batch, .. } = msg else { continue };
        assert!(batch.events.len() <= 4);
        let last = batch.events.last().unwrap();
        assert_eq!(batch.checkpoints.last().map(|cp| cp.seq), Some(last.seq));
    }
    // Every signature travelled, so B can relay with the same cut points.
    assert_eq!(b_log.0, a_log.0);
}

#[test]
fn duplicates_and_overtaken_batches_are_harmless() {
    let (device, key, a_log) = device_log(1, 6, 2);
    let keys = Keys([(device, key.public_key())].into());
    let mut a = PeerState::new(config(2));
    a.receive_message(&a_log, &keys, Message::Ack { vector: VersionVector::new() }, NOW).unwrap();
    let first = a.generate_message(&a_log, NOW).unwrap();
    let second = a.generate_message(&a_log, NOW).unwrap();

    let mut b_log = Log::default();
    let mut b = PeerState::new(config(2));
    b.receive_message(&b_log, &keys, Message::Ack { vector: a_log.vector() }, NOW).unwrap();
    // The second batch overtook the first: skipped, not an error.
    let received = b.receive_message(&b_log, &keys, second.clone(), NOW).unwrap();
    assert_eq!((received.events.len(), received.out_of_order), (0, 2));
    let received = b.receive_message(&b_log, &keys, first.clone(), NOW).unwrap();
    assert_eq!(received.events.len(), 2);
    b_log.store(received);
    // The first again: all duplicates.
    let received = b.receive_message(&b_log, &keys, first, NOW).unwrap();
    assert_eq!((received.events.len(), received.duplicates), (0, 2));
    let received = b.receive_message(&b_log, &keys, second, NOW).unwrap();
    b_log.store(received);
    assert_eq!(b_log.vector().get(&device), 4);
    // Every Events message is answered, duplicates too: that heals lost acks.
    assert!(matches!(b.generate_message(&b_log, NOW), Some(Message::Ack { .. })));
}

#[test]
fn relayed_events_are_verified_with_the_origin_key() {
    let (device, key, origin) = device_log(1, 3, 3);
    let keys = Keys([(device, key.public_key())].into());
    let mut relay = PeerState::new(config(10));
    relay
        .receive_message(&origin, &keys, Message::Ack { vector: VersionVector::new() }, NOW)
        .unwrap();
    let Some(Message::Events { batch, more }) = relay.generate_message(&origin, NOW) else {
        panic!("expected events")
    };

    let receive = |batch, keys: &Keys| {
        PeerState::new(config(10)).receive_message(
            &Log::default(),
            keys,
            Message::Events { batch, more },
            NOW,
        )
    };
    let mut forged = batch.clone();
    forged.events[1].payload = b"forged".to_vec();
    assert!(matches!(
        receive(forged, &keys),
        Err(SyncError::Verify { source: VerifyError::BrokenLink { seq: 3, .. }, .. })
    ));
    let mut resigned = batch.clone();
    let impostor = DeviceKey::from_seed(&[2; 32]).unwrap();
    resigned.checkpoints[0] = impostor.sign_checkpoint(device, ChainTip::of(&batch.events[2]));
    assert!(matches!(
        receive(resigned, &keys),
        Err(SyncError::Verify { source: VerifyError::BadSignature { .. }, .. })
    ));
    assert_eq!(
        receive(batch.clone(), &Keys(BTreeMap::new())),
        Err(SyncError::UnknownDevice { device })
    );
    assert_eq!(receive(batch, &keys).unwrap().events.len(), 3);
}

#[test]
fn stamps_too_far_ahead_are_deferred_then_accepted() {
    let (device, key, a_log) = device_log(1, 2, 1);
    let keys = Keys([(device, key.public_key())].into());
    let mut a = PeerState::new(config(10));
    a.receive_message(&a_log, &keys, Message::Ack { vector: VersionVector::new() }, NOW).unwrap();
    let msg = a.generate_message(&a_log, NOW).unwrap();
    let mut b = PeerState::new(config(10));
    let b_log = Log::default();
    b.receive_message(&b_log, &keys, Message::Ack { vector: a_log.vector() }, NOW).unwrap();
    let behind = NOW - SyncConfig::default().max_ahead_ms - 1;
    // Event 1 is one millisecond beyond the bound: it and everything after it wait.
    let received = b.receive_message(&b_log, &keys, msg.clone(), behind).unwrap();
    assert_eq!((received.events.len(), received.deferred), (0, 2));
    // Unacknowledged, A resends after its backoff; by then B's clock is within the bound.
    let answer = b.generate_message(&b_log, behind).unwrap();
    a.receive_message(&a_log, &keys, answer, NOW).unwrap();
    assert!(a.has_unacknowledged());
    assert_eq!(a.generate_message(&a_log, NOW), None);
    let resent = a.generate_message(&a_log, NOW + SyncConfig::default().retry_base_ms).unwrap();
    assert_eq!(resent, msg);
    assert_eq!(b.receive_message(&b_log, &keys, resent, NOW).unwrap().events.len(), 2);
}

#[test]
fn a_restarted_peer_resynchronises_from_hello() {
    let (device, key, a_log) = device_log(1, 5, 1);
    let keys = Keys([(device, key.public_key())].into());
    let mut b_log = Log::default();
    let (mut a, mut b) = (PeerState::new(config(2)), PeerState::new(config(2)));
    a.receive_message(&a_log, &keys, Message::Ack { vector: VersionVector::new() }, NOW).unwrap();
    // A sends a first batch; B stores it, then crashes before acknowledging.
    let first = a.generate_message(&a_log, NOW).unwrap();
    b_log.store(b.receive_message(&b_log, &keys, first, NOW).unwrap());
    let mut b = PeerState::new(config(2));
    let hello = b.generate_message(&b_log, NOW).unwrap();
    assert_eq!(hello, Message::Hello { vector: b_log.vector() });
    a.receive_message(&a_log, &keys, hello, NOW).unwrap();
    assert_eq!(a.their_vector(), Some(&b_log.vector()));
    pump(&mut a, &a_log, &mut b, &mut b_log, &keys);
    assert_eq!(b_log.0, a_log.0);
    // Once in sync there is nothing left to say, until a resend would be due.
    assert_eq!(a.generate_message(&a_log, NOW + 3_600_000), None);
}

#[test]
fn a_clock_stepping_back_does_not_stall_resends() {
    let (device, key, a_log) = device_log(1, 2, 2);
    let keys = Keys([(device, key.public_key())].into());
    let mut a = PeerState::new(config(10));
    a.receive_message(&a_log, &keys, Message::Ack { vector: VersionVector::new() }, NOW).unwrap();
    let sent = a.generate_message(&a_log, NOW).unwrap();
    // The batch is lost; then the clock is set back a day. The resend does not wait a day.
    let day = 24 * 3_600_000;
    assert_eq!(a.generate_message(&a_log, NOW - day), Some(sent));
}

/// `device`'s events `from..=to` of `log` with every checkpoint on them.
fn batch_of(log: &Log, device: DeviceId, from: u64, to: u64) -> Batch {
    let mut batch = Batch::default();
    for (event, sig) in log.events_after(device, from - 1, (to - from + 1) as usize) {
        if let Some(signature) = sig {
            let hash = event.hash();
            batch.checkpoints.push(Checkpoint {
                device_id: device,
                seq: event.seq,
                hash,
                signature,
            });
        }
        batch.events.push(event);
    }
    batch
}

#[test]
fn the_hub_refuses_what_a_terminal_defers() {
    // Signed at 2, 4 and 6; the receiver holds up to 2.
    let (device, key, log) = device_log(1, 6, 2);
    let keys = Keys([(device, key.public_key())].into());
    let tip = log.tip(device);
    let held = ChainTip::of(&log.0[&device][1].0);
    let defer =
        Rules { max_ahead_ms: SyncConfig::default().max_ahead_ms, strictness: Strictness::Defer };
    let refuse = Rules { strictness: Strictness::Refuse, ..defer };

    // A gap after the receiver's tip.
    let gap = batch_of(&log, device, 5, 6);
    let runs = Runs::new(&gap);
    assert_eq!(runs.check(device, held, &keys, NOW, defer).unwrap().out_of_order, 2);
    assert!(matches!(
        runs.check(device, held, &keys, NOW, refuse),
        Err(SyncError::Gap { held: 2, first: 5, .. })
    ));

    // A tail that follows no checkpoint.
    let mut unsigned = batch_of(&log, device, 3, 5);
    unsigned.checkpoints.retain(|cp| cp.seq == 4);
    let runs = Runs::new(&unsigned);
    let checked = runs.check(device, held, &keys, NOW, defer).unwrap();
    assert_eq!((checked.accepted.len(), checked.out_of_order), (2, 1));
    assert!(matches!(
        runs.check(device, held, &keys, NOW, refuse),
        Err(SyncError::Unsigned { seq: 5, .. })
    ));

    // Stamps too far ahead of the receiver's clock.
    let ahead = batch_of(&log, device, 3, 6);
    let runs = Runs::new(&ahead);
    let behind = NOW - defer.max_ahead_ms - 1;
    assert_eq!(runs.check(device, held, &keys, behind, defer).unwrap().deferred, 4);
    assert!(matches!(
        runs.check(device, held, &keys, behind, refuse),
        Err(SyncError::TooFarAhead { seq: 3, .. })
    ));

    // A run that repeats what the receiver holds: taken from the tip on, both ways, every
    // signature kept; agreeing with the tip, there is nothing left to compare.
    let all = batch_of(&log, device, 1, 6);
    let runs = Runs::new(&all);
    for rules in [defer, refuse] {
        let checked = runs.check(device, held, &keys, NOW, rules).unwrap();
        assert_eq!((checked.duplicates, checked.accepted.len(), checked.tip), (2, 4, tip));
        let signed: Vec<u64> =
            checked.accepted.iter().filter(|(_, sig)| sig.is_some()).map(|(e, _)| e.seq).collect();
        assert_eq!(signed, [4, 6]);
        assert_eq!(checked.claimed_seqs(), None);
    }
}

#[test]
fn the_hub_compares_what_a_run_repeats_with_its_log() {
    let (device, key, log) = device_log(1, 4, 1);
    let keys = Keys([(device, key.public_key())].into());
    // The same device, restored from a backup, rewrote seq 2 onwards and signed it.
    let mut restored = Log::default();
    let mut tip = ChainTip::GENESIS;
    for (seq, (event, _)) in (1..=3).zip(&log.0[&device]) {
        let event = Event {
            prev_hash: tip.hash,
            payload: if seq == 1 { event.payload.clone() } else { b"restored".to_vec() },
            ..event.clone()
        };
        tip = ChainTip::of(&event);
        let sig = key.sign_checkpoint(device, tip).signature;
        restored.0.entry(device).or_default().push((event, Some(sig)));
    }
    let forked = batch_of(&restored, device, 1, 3);
    let hub = SyncConfig { strictness: Strictness::Refuse, ..SyncConfig::default() };
    let receive = |config| {
        let mut peer = PeerState::new(config);
        peer.receive_message(
            &log,
            &keys,
            Message::Events { batch: forked.clone(), more: false },
            NOW,
        )
    };
    // A terminal skips what it holds unread; the hub compares it, and finds the fork.
    assert_eq!(receive(SyncConfig::default()).unwrap().duplicates, 3);
    let Err(SyncError::Fork(fork)) = receive(hub) else { panic!("expected a fork") };
    assert_eq!((fork.device, fork.seq), (device, 2));
    assert_eq!(fork.held, log.0[&device][1].0.hash());
}
