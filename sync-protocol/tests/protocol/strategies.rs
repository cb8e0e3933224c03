//! Generators shared by the property tests.

use proptest::collection::vec;
use proptest::prelude::*;
use thorbis_sync_protocol::{
    Batch, ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventKind, Hash32, Hlc, HlcClock,
    Signature,
};

pub fn device() -> impl Strategy<Value = DeviceId> {
    any::<[u8; 16]>().prop_map(DeviceId)
}

pub fn hash() -> impl Strategy<Value = Hash32> {
    any::<[u8; 32]>().prop_map(Hash32)
}

pub fn hlc() -> impl Strategy<Value = Hlc> {
    (any::<u64>(), any::<u32>()).prop_map(|(wall_ms, counter)| Hlc { wall_ms, counter })
}

pub fn kind() -> impl Strategy<Value = EventKind> {
    "[a-z0-9._-]{1,64}".prop_map(|s| EventKind::new(s).expect("regex matches the kind rules"))
}

pub fn payload() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..48)
}

pub fn event() -> impl Strategy<Value = Event> {
    (device(), 1..=u64::MAX, hlc(), hash(), kind(), payload()).prop_map(
        |(device_id, seq, hlc, prev_hash, kind, payload)| Event {
            device_id,
            seq,
            hlc,
            prev_hash,
            kind,
            payload,
        },
    )
}

pub fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (device(), any::<u64>(), hash(), any::<[u8; 64]>()).prop_map(|(device_id, seq, hash, sig)| {
        Checkpoint { device_id, seq, hash, signature: Signature(sig) }
    })
}

pub fn batch() -> impl Strategy<Value = Batch> {
    (vec(event(), 0..5), vec(checkpoint(), 0..3))
        .prop_map(|(events, checkpoints)| Batch { events, checkpoints })
}

/// A correctly chained and signed run of one device's events.
#[derive(Debug)]
pub struct Chain {
    pub key: DeviceKey,
    pub events: Vec<Event>,
    pub checkpoint: Checkpoint,
}

/// Appends events with the given kinds and payloads to the chain ending at `from`,
/// stamping them with a clock that starts at `start_ms`.
pub fn extend(
    device_id: DeviceId,
    from: ChainTip,
    start_ms: u64,
    contents: Vec<(EventKind, Vec<u8>)>,
) -> Vec<Event> {
    let mut clock = HlcClock::new(0);
    let mut tip = from;
    contents
        .into_iter()
        .enumerate()
        .map(|(i, (kind, payload))| {
            let event = Event {
                device_id,
                seq: tip.next_seq(),
                hlc: clock.tick(start_ms + 7 * i as u64),
                prev_hash: tip.hash,
                kind,
                payload,
            };
            tip = ChainTip::of(&event);
            event
        })
        .collect()
}

/// Chains of `len` events from genesis, signed at the end by a seed-derived key.
pub fn chain(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Chain> {
    (any::<[u8; 32]>(), device(), 0..u64::from(u32::MAX), vec((kind(), payload()), len)).prop_map(
        |(seed, device_id, start_ms, contents)| {
            let key = DeviceKey::from_seed(&seed).expect("any 32 bytes are a seed");
            let events = extend(device_id, ChainTip::GENESIS, start_ms, contents);
            let tip = ChainTip::of(events.last().expect("chains are non-empty"));
            let checkpoint = key.sign_checkpoint(device_id, tip);
            Chain { key, events, checkpoint }
        },
    )
}
