//! Chain verification: valid chains pass, every kind of tampering is caught and named.

use proptest::prelude::*;
use proptest::sample::Index;
use thorbis_sync_protocol::{
    ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventKind, Hash32, PublicKey, VerifyError,
    verify_chain, verify_links,
};

use crate::strategies::{self, Chain};

/// A field of one event that can be altered in place.
#[derive(Clone, Copy, Debug)]
enum Field {
    Payload,
    Kind,
    Hlc,
}

/// One way an attacker or a bug can damage a signed run of events.
#[derive(Clone, Debug)]
enum Mutation {
    Alter(Field, Index),
    Seq(Index),
    PrevHash(Index),
    Device(Index),
    Remove(Index),
    Swap(Index, Index),
    InsertCopy(Index, Index),
    InsertForged(Index),
    /// Alter one event and re-link every later one: all links hold, the final hash moves.
    RewriteSuffix(Index),
    Truncate(Index),
    WrongKey,
    /// Alter the last event and sign a fresh checkpoint with a key that is not the device's.
    ForgedCheckpoint,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = || any::<Index>();
    let field = prop_oneof![Just(Field::Payload), Just(Field::Kind), Just(Field::Hlc)];
    prop_oneof![
        (field, at()).prop_map(|(field, at)| Mutation::Alter(field, at)),
        at().prop_map(Mutation::Seq),
        at().prop_map(Mutation::PrevHash),
        at().prop_map(Mutation::Device),
        at().prop_map(Mutation::Remove),
        (at(), at()).prop_map(|(first, second)| Mutation::Swap(first, second)),
        (at(), at()).prop_map(|(from, to)| Mutation::InsertCopy(from, to)),
        at().prop_map(Mutation::InsertForged),
        at().prop_map(Mutation::RewriteSuffix),
        at().prop_map(Mutation::Truncate),
        Just(Mutation::WrongKey),
        Just(Mutation::ForgedCheckpoint),
    ]
}

fn alter(event: &mut Event, field: Field) {
    match field {
        Field::Payload => match event.payload.first_mut() {
            Some(byte) => *byte ^= 0x01,
            None => event.payload.push(0),
        },
        Field::Kind => {
            let other = if event.kind.as_str() == "x" { "y" } else { "x" };
            event.kind = EventKind::new(other).unwrap();
        }
        Field::Hlc => event.hlc.counter = event.hlc.counter.wrapping_add(1),
    }
}

/// Seq of the event at index `index` of an untouched chain from genesis.
fn seq(index: usize) -> u64 {
    index as u64 + 1
}

/// A damaged copy of a chain, and the error it must produce when there is one clear
/// answer.
struct Tampered {
    events: Vec<Event>,
    checkpoint: Checkpoint,
    key: PublicKey,
    expected: Option<VerifyError>,
}

fn tamper(chain: &Chain, mutation: &Mutation) -> Tampered {
    let mut events = chain.events.clone();
    let mut checkpoint = chain.checkpoint.clone();
    let mut key = chain.key.public_key();
    let len = events.len();
    let last = len - 1;
    let attacker = DeviceKey::from_seed(&[0xee; 32]).unwrap();
    let final_hash_moved = |events: &[Event]| VerifyError::CheckpointHash {
        seq: seq(last),
        expected: chain.checkpoint.hash,
        found: events[last].hash(),
    };

    let expected = match *mutation {
        Mutation::Alter(field, at) => {
            let index = at.index(len);
            alter(&mut events[index], field);
            Some(if index == last {
                final_hash_moved(&events)
            } else {
                VerifyError::BrokenLink {
                    seq: seq(index + 1),
                    expected: events[index].hash(),
                    found: chain.events[index].hash(),
                }
            })
        }
        Mutation::Seq(at) => {
            events[at.index(len)].seq += 1 + len as u64;
            None
        }
        Mutation::PrevHash(at) => {
            let index = at.index(len);
            events[index].prev_hash.0[0] ^= 0x80;
            Some(VerifyError::BrokenLink {
                seq: seq(index),
                expected: chain.events[index].prev_hash,
                found: events[index].prev_hash,
            })
        }
        Mutation::Device(at) => {
            events[at.index(len)].device_id.0[15] ^= 1;
            None
        }
        Mutation::Remove(at) => {
            let index = at.index(len);
            events.remove(index);
            Some(if index == last {
                VerifyError::CheckpointSeq { checkpoint_seq: seq(last), last_seq: seq(last - 1) }
            } else {
                VerifyError::SeqGap { expected: seq(index), found: seq(index + 1) }
            })
        }
        Mutation::Swap(first, second) => {
            // Two distinct indices, low < high.
            let low = first.index(len - 1);
            let high = low + 1 + second.index(len - 1 - low);
            events.swap(low, high);
            Some(VerifyError::SeqReordered { expected: seq(low), found: seq(high) })
        }
        Mutation::InsertCopy(from, to) => {
            let copy = events[from.index(len)].clone();
            events.insert(to.index(len + 1), copy);
            None
        }
        Mutation::InsertForged(at) => {
            // Correct seq and link for its position; the attacker just cannot sign.
            let index = at.index(len + 1);
            let prev =
                if index == 0 { ChainTip::GENESIS } else { ChainTip::of(&events[index - 1]) };
            let forged = Event {
                seq: prev.next_seq(),
                prev_hash: prev.hash,
                payload: b"forged".to_vec(),
                ..events[0].clone()
            };
            events.insert(index, forged);
            None
        }
        Mutation::RewriteSuffix(at) => {
            let index = at.index(len);
            alter(&mut events[index], Field::Payload);
            for later in index + 1..len {
                events[later].prev_hash = events[later - 1].hash();
            }
            Some(final_hash_moved(&events))
        }
        Mutation::Truncate(at) => {
            let keep = 1 + at.index(len - 1);
            events.truncate(keep);
            Some(VerifyError::CheckpointSeq { checkpoint_seq: seq(last), last_seq: seq(keep - 1) })
        }
        Mutation::WrongKey => {
            key = attacker.public_key();
            Some(VerifyError::BadSignature { device_id: checkpoint.device_id, seq: checkpoint.seq })
        }
        Mutation::ForgedCheckpoint => {
            alter(&mut events[last], Field::Payload);
            checkpoint =
                attacker.sign_checkpoint(checkpoint.device_id, ChainTip::of(&events[last]));
            Some(VerifyError::BadSignature { device_id: checkpoint.device_id, seq: checkpoint.seq })
        }
    };
    Tampered { events, checkpoint, key, expected }
}

proptest! {
    #[test]
    fn valid_chains_verify(chain in strategies::chain(1..=10)) {
        let tip = verify_chain(&chain.key.public_key(), ChainTip::GENESIS, &chain.events, &chain.checkpoint);
        prop_assert_eq!(tip, Ok(chain.checkpoint.tip()));
        prop_assert_eq!(verify_links(ChainTip::GENESIS, &chain.events), Ok(chain.checkpoint.tip()));
    }

    #[test]
    fn chains_verify_in_pieces(chain in strategies::chain(2..=10), at in any::<Index>()) {
        // A receiver that already holds a prefix verifies only the rest from its tip.
        let split = 1 + at.index(chain.events.len() - 1);
        let (head, tail) = chain.events.split_at(split);
        let tip = verify_links(ChainTip::GENESIS, head).unwrap();
        prop_assert_eq!(tip, ChainTip::of(&head[split - 1]));
        let end = verify_chain(&chain.key.public_key(), tip, tail, &chain.checkpoint);
        prop_assert_eq!(end, Ok(chain.checkpoint.tip()));
        // ...but not from the wrong tip.
        let stale = verify_chain(&chain.key.public_key(), ChainTip::GENESIS, tail, &chain.checkpoint);
        prop_assert!(stale.is_err());
    }

    #[test]
    fn every_tampering_is_rejected(chain in strategies::chain(2..=8), mutation in mutation()) {
        let t = tamper(&chain, &mutation);
        let result = verify_chain(&t.key, ChainTip::GENESIS, &t.events, &t.checkpoint);
        prop_assert!(result.is_err(), "{:?} was accepted", mutation);
        if let (Err(err), Some(expected)) = (result, t.expected) {
            prop_assert_eq!(err, expected);
        }
    }
}

fn small_chain(len: usize) -> Chain {
    let key = DeviceKey::from_seed(&[1; 32]).unwrap();
    let device = DeviceId([0x42; 16]);
    let contents =
        (0..len).map(|i| (EventKind::new("test.event").unwrap(), vec![i as u8])).collect();
    let events = strategies::extend(device, ChainTip::GENESIS, 1_000, contents);
    let checkpoint = key.sign_checkpoint(device, ChainTip::of(&events[len - 1]));
    Chain { key, events, checkpoint }
}

#[test]
fn empty_runs_are_rejected() {
    let chain = small_chain(1);
    assert_eq!(verify_links(ChainTip::GENESIS, &[]), Err(VerifyError::Empty));
    assert_eq!(
        verify_chain(&chain.key.public_key(), ChainTip::GENESIS, &[], &chain.checkpoint),
        Err(VerifyError::Empty)
    );
}

#[test]
fn mixed_devices_are_rejected() {
    let mut chain = small_chain(3);
    chain.events[2].device_id = DeviceId([0x43; 16]);
    assert_eq!(
        verify_links(ChainTip::GENESIS, &chain.events),
        Err(VerifyError::WrongDevice {
            seq: 3,
            expected: DeviceId([0x42; 16]),
            found: DeviceId([0x43; 16])
        })
    );
}

#[test]
fn checkpoint_for_another_device_is_rejected() {
    let chain = small_chain(2);
    let other = DeviceId([0x43; 16]);
    let cp = chain.key.sign_checkpoint(other, chain.checkpoint.tip());
    assert_eq!(
        verify_chain(&chain.key.public_key(), ChainTip::GENESIS, &chain.events, &cp),
        Err(VerifyError::CheckpointDevice { events: DeviceId([0x42; 16]), checkpoint: other })
    );
}

#[test]
fn replayed_events_are_named_as_repeats() {
    let chain = small_chain(3);
    let tip = ChainTip::of(&chain.events[2]);
    assert_eq!(
        verify_links(tip, &chain.events[1..]),
        Err(VerifyError::SeqRepeated { expected: 4, found: 2 })
    );
}

#[test]
fn a_chain_at_the_end_of_seq_space_cannot_grow() {
    let chain = small_chain(1);
    let tip = ChainTip { seq: u64::MAX, hash: Hash32::ZERO };
    assert_eq!(verify_links(tip, &chain.events), Err(VerifyError::SeqOverflow { seq: u64::MAX }));
}
