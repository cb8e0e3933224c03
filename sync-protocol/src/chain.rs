//! Verifying runs of events against a known tip and a signed checkpoint.
//!
//! The receiver knows where each device's chain ended last time (its [`ChainTip`], or
//! [`ChainTip::GENESIS`]). A run of new events is accepted only if it continues that tip
//! link by link — contiguous seqs, each `prev_hash` equal to the previous event's hash —
//! and its last event is exactly what the device signed in a [`Checkpoint`]. Since every
//! hash commits to everything before it, altering, removing, reordering or inserting any
//! event breaks either a link or the final hash, and forging a replacement needs the
//! device's private key.

use std::borrow::Borrow;

use crate::event::{ChainTip, Event};
use crate::ids::{DeviceId, Hash32};
use crate::sign::{Checkpoint, PublicKey, verify_checkpoint};

/// Why a run of events or a checkpoint was rejected. Each variant names the seq where the
/// problem was found and the likely tampering behind it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// There were no events to verify.
    #[error("no events to verify")]
    Empty,
    /// An event belongs to a different device than the first event of the run.
    #[error("event seq {seq} belongs to device {found}, but this run is for device {expected}")]
    WrongDevice {
        /// Seq of the offending event.
        seq: u64,
        /// The run's device.
        expected: DeviceId,
        /// The offending event's device.
        found: DeviceId,
    },
    /// A seq was skipped and never appears: events were removed.
    #[error("event seq {expected} is missing: the next event has seq {found}")]
    SeqGap {
        /// The seq that should have come next.
        expected: u64,
        /// The seq that came instead.
        found: u64,
    },
    /// The expected seq does appear, but later: events were reordered.
    #[error("events are out of order: expected seq {expected} next, found seq {found}")]
    SeqReordered {
        /// The seq that should have come next.
        expected: u64,
        /// The seq that came instead.
        found: u64,
    },
    /// A seq at or below one already in the chain: an event was duplicated or inserted.
    #[error(
        "event seq {found} repeats a seq already in the chain (expected {expected}): \
         duplicated or inserted event"
    )]
    SeqRepeated {
        /// The seq that should have come next.
        expected: u64,
        /// The repeated seq.
        found: u64,
    },
    /// The chain cannot grow past `u64::MAX`.
    #[error("chain tip is at seq {seq}; no further event can follow it")]
    SeqOverflow {
        /// The tip's seq.
        seq: u64,
    },
    /// An event's `prev_hash` is not the hash of the event before it: that earlier event
    /// (or the receiver's tip) differs from what this event was chained to.
    #[error(
        "event seq {seq} does not link to its predecessor: prev_hash is {found}, but the \
         previous event hashes to {expected} (an earlier event was altered or replaced)"
    )]
    BrokenLink {
        /// Seq of the event whose link is broken.
        seq: u64,
        /// Hash of the previous event (or of the starting tip).
        expected: Hash32,
        /// The event's `prev_hash`.
        found: Hash32,
    },
    /// The checkpoint is for a different device than the events.
    #[error("checkpoint is for device {checkpoint}, but the events are from device {events}")]
    CheckpointDevice {
        /// The events' device.
        events: DeviceId,
        /// The checkpoint's device.
        checkpoint: DeviceId,
    },
    /// The events do not end where the checkpoint does: truncated or extended.
    #[error(
        "checkpoint covers up to seq {checkpoint_seq}, but the events end at seq {last_seq} \
         (events were truncated or appended)"
    )]
    CheckpointSeq {
        /// Seq the checkpoint vouches for.
        checkpoint_seq: u64,
        /// Seq of the last event in the run.
        last_seq: u64,
    },
    /// The last event hashes differently from what the checkpoint signed: it was altered.
    #[error(
        "event seq {seq} hashes to {found}, but the checkpoint signed {expected} \
         (the event was altered)"
    )]
    CheckpointHash {
        /// Seq of the last event.
        seq: u64,
        /// Hash in the checkpoint.
        expected: Hash32,
        /// Hash of the event received.
        found: Hash32,
    },
    /// The checkpoint's signature does not verify with the key given.
    #[error(
        "checkpoint signature for device {device_id} at seq {seq} does not verify \
         (wrong key, or the checkpoint was altered)"
    )]
    BadSignature {
        /// The checkpoint's device.
        device_id: DeviceId,
        /// The checkpoint's seq.
        seq: u64,
    },
}

/// Checks that `events`, all from one device, extend `from` link by link, without
/// checking any signature. Returns the new tip.
///
/// Use it for the events of a batch that precede a checkpoint later in the same batch,
/// then [`verify_chain`] from the returned tip up to the checkpoint.
pub fn verify_links(from: ChainTip, events: &[Event]) -> Result<ChainTip, VerifyError> {
    links(from, events)
}

/// [`verify_links`] over owned events or references (a run picked out of a batch).
pub(crate) fn links<E: Borrow<Event>>(
    from: ChainTip,
    events: &[E],
) -> Result<ChainTip, VerifyError> {
    let device = events.first().ok_or(VerifyError::Empty)?.borrow().device_id;
    let mut tip = from;
    for (i, event) in events.iter().enumerate() {
        let event = event.borrow();
        if event.device_id != device {
            return Err(VerifyError::WrongDevice {
                seq: event.seq,
                expected: device,
                found: event.device_id,
            });
        }
        let expected = tip.seq.checked_add(1).ok_or(VerifyError::SeqOverflow { seq: tip.seq })?;
        if event.seq != expected {
            return Err(seq_error(expected, event.seq, &events[i + 1..]));
        }
        if event.prev_hash != tip.hash {
            return Err(VerifyError::BrokenLink {
                seq: event.seq,
                expected: tip.hash,
                found: event.prev_hash,
            });
        }
        tip = ChainTip::of(event);
    }
    Ok(tip)
}

/// Names what an out-of-place seq most likely means, looking ahead in the run to tell a
/// reordering from a removal. Only runs on the error path.
fn seq_error<E: Borrow<Event>>(expected: u64, found: u64, rest: &[E]) -> VerifyError {
    if found < expected {
        VerifyError::SeqRepeated { expected, found }
    } else if rest.iter().any(|e| e.borrow().seq == expected) {
        VerifyError::SeqReordered { expected, found }
    } else {
        VerifyError::SeqGap { expected, found }
    }
}

/// Verifies that `events`, all from one device, extend `from` (the receiver's current tip
/// for that device, [`ChainTip::GENESIS`] if none) and end exactly at `cp`, a checkpoint
/// signed by `key`. Returns the new tip.
///
/// Rejects an empty run, and any altered, removed, reordered or inserted event, each with
/// its own [`VerifyError`] variant. The caller is responsible for `key` being the key it
/// paired with `cp.device_id`.
pub fn verify_chain(
    key: &PublicKey,
    from: ChainTip,
    events: &[Event],
    cp: &Checkpoint,
) -> Result<ChainTip, VerifyError> {
    chain(key, from, events, cp)
}

/// [`verify_chain`] over owned events or references (a run picked out of a batch).
pub(crate) fn chain<E: Borrow<Event>>(
    key: &PublicKey,
    from: ChainTip,
    events: &[E],
    cp: &Checkpoint,
) -> Result<ChainTip, VerifyError> {
    let tip = links(from, events)?;
    // `links` succeeded, so there is at least one event and all share a device.
    let device = events[0].borrow().device_id;
    if cp.device_id != device {
        return Err(VerifyError::CheckpointDevice { events: device, checkpoint: cp.device_id });
    }
    if cp.seq != tip.seq {
        return Err(VerifyError::CheckpointSeq { checkpoint_seq: cp.seq, last_seq: tip.seq });
    }
    if cp.hash != tip.hash {
        return Err(VerifyError::CheckpointHash {
            seq: tip.seq,
            expected: cp.hash,
            found: tip.hash,
        });
    }
    verify_checkpoint(key, cp)?;
    Ok(tip)
}
