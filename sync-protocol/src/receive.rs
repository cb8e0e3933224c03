//! What a receiver takes of a batch: the one verification every receiver of events runs,
//! whether a terminal hearing from a LAN peer or the hub, the hub taking a push, or the
//! simulation standing in for either.
//!
//! A batch is split into per-device runs ([`Runs`]); each run is checked against the
//! receiver's tip for its device ([`Runs::check`]): the part the receiver already holds,
//! the new events that continue its tip, verified segment by segment against the origin
//! device's key (each segment ends at a checkpoint of the batch, so every signature kept
//! has been checked), and what cannot be taken now.
//!
//! Receivers differ in one thing only, [`Strictness`]: what they answer for what they
//! cannot take now. A peer defers it (skipped, not acknowledged, sent again later); the
//! hub refuses the push and says why, because its caller is waiting for an answer about
//! every event it sent.
//!
//! No IO: the caller looks up the tip (and, under [`Strictness::Refuse`], compares what
//! the run repeats of its log, [`CheckedRun::fork`]) in its own store.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::chain::{VerifyError, chain};
use crate::codec::Batch;
use crate::event::{ChainTip, Event};
use crate::hlc::HlcError;
use crate::ids::{DeviceId, Hash32};
use crate::sign::{Checkpoint, PublicKey, Signature};

/// Who may write events: device id → Ed25519 public key (enrolled, unrevoked devices of
/// the tenant). Supplied by the caller.
pub trait KeyRing {
    /// The device's public key, or `None` if it is unknown or revoked.
    fn public_key(&self, device: &DeviceId) -> Option<PublicKey>;
}

/// A ring of one key: a receiver that has looked up the one device it is checking.
impl KeyRing for (DeviceId, PublicKey) {
    fn public_key(&self, device: &DeviceId) -> Option<PublicKey> {
        (*device == self.0).then_some(self.1)
    }
}

/// What a receiver answers for the part of a run it cannot take now: events that do not
/// continue its tip (a gap), that follow no checkpoint of the batch, or that are stamped
/// further ahead of its clock than it tolerates.
///
/// This is the only way receivers differ; the checks themselves are the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// A sync peer (terminal, LAN peer): take what verifies, skip the rest unread and
    /// leave it unacknowledged, so the sender resends it once it can be taken (after the
    /// events it overtook, or once the local clock has caught up). Events at or below the
    /// local tip are skipped unread.
    #[default]
    Defer,
    /// The hub: refuse the whole push with the reason ([`SyncError::Gap`],
    /// [`SyncError::Unsigned`], [`SyncError::TooFarAhead`]), since the pusher waits for an
    /// answer about every event it sent and resends from the tips the hub reports. A run
    /// is verified whole, from the event it claims to follow, so what it repeats of the
    /// receiver's log is signed and a difference from the log is a fork
    /// ([`CheckedRun::fork`]), not noise.
    Refuse,
}

/// The receiver's rules for one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Events stamped more than this ahead of the receiver's time are not taken (see
    /// [`HlcClock::observe`](crate::HlcClock::observe)).
    pub max_ahead_ms: u64,
    /// What happens to what is not taken now.
    pub strictness: Strictness,
}

/// Why a message or a push was refused. Nothing of it should be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// An event's device is not in the key ring (unknown or revoked).
    #[error("events from unknown or revoked device {device}")]
    UnknownDevice {
        /// The device.
        device: DeviceId,
    },
    /// A run failed verification: altered, forged, reordered or a fork.
    #[error("events of device {device} fail verification: {source}")]
    Verify {
        /// The origin device.
        device: DeviceId,
        /// What failed.
        source: VerifyError,
    },
    /// [`Strictness::Refuse`]: a run starts after a gap in what the receiver holds.
    #[error(
        "device {device}'s events start at seq {first} but the receiver holds up to seq \
         {held}: send seq {next} onwards",
        next = .held.saturating_add(1)
    )]
    Gap {
        /// The origin device.
        device: DeviceId,
        /// The receiver's tip for it.
        held: u64,
        /// The run's first seq.
        first: u64,
    },
    /// [`Strictness::Refuse`]: a run does not end at a checkpoint of the batch.
    #[error("no checkpoint in the batch covers device {device}'s last event (seq {seq})")]
    Unsigned {
        /// The origin device.
        device: DeviceId,
        /// The run's last seq.
        seq: u64,
    },
    /// [`Strictness::Refuse`]: an event is stamped too far ahead of the receiver's clock.
    #[error("event {seq} of device {device}: {source}")]
    TooFarAhead {
        /// The origin device.
        device: DeviceId,
        /// The event's seq.
        seq: u64,
        /// The stamp and the bound.
        source: HlcError,
    },
    /// [`Strictness::Refuse`]: a run differs from the receiver's log where they overlap.
    #[error(transparent)]
    Fork(#[from] Fork),
}

/// Two different signed events at one `(device, seq)`: the receiver holds one, a run
/// carries (or links to) the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "fork: device {device} already has a different event at seq {seq} (held hash {held}, \
     received {received})"
)]
pub struct Fork {
    /// The origin device.
    pub device: DeviceId,
    /// Where the chains part.
    pub seq: u64,
    /// The receiver's event's hash.
    pub held: Hash32,
    /// The run's event's hash (or the `prev_hash` its successor links to).
    pub received: Hash32,
}

/// A batch split into per-device runs, with its checkpoints by `(device, seq)`.
#[derive(Debug)]
pub struct Runs<'b> {
    runs: BTreeMap<DeviceId, Vec<&'b Event>>,
    checkpoints: BTreeMap<(DeviceId, u64), &'b Checkpoint>,
}

/// One device's run checked against the receiver's tip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRun<'b> {
    /// The run's device.
    pub device: DeviceId,
    /// Verified events new to the receiver, in seq order, continuing its tip, each with
    /// the signature of the device's checkpoint at it if the batch has one. The last one
    /// always has one.
    pub accepted: Vec<(&'b Event, Option<Signature>)>,
    /// The receiver's tip after `accepted` (its tip as given if none).
    pub tip: ChainTip,
    /// Events at or below the receiver's tip.
    pub duplicates: usize,
    /// [`Strictness::Defer`]: events skipped because they do not continue the tip or
    /// follow no checkpoint. They come again on resend.
    pub out_of_order: usize,
    /// [`Strictness::Defer`]: events skipped because they are stamped too far ahead.
    pub deferred: usize,
    /// [`Strictness::Refuse`]: what the run asserts, verified, about the receiver's log at
    /// or below its tip: `(seq, hash)` of the event it links to and of those it repeats,
    /// unless it agrees with the tip.
    claimed: Vec<(u64, Hash32)>,
}

impl<'b> Runs<'b> {
    /// Splits `batch` by device.
    #[must_use]
    pub fn new(batch: &'b Batch) -> Self {
        let mut runs: BTreeMap<DeviceId, Vec<&Event>> = BTreeMap::new();
        for event in &batch.events {
            runs.entry(event.device_id).or_default().push(event);
        }
        let checkpoints = batch.checkpoints.iter().map(|cp| ((cp.device_id, cp.seq), cp)).collect();
        Self { runs, checkpoints }
    }

    /// The devices with events in the batch, in id order (the order to take locks in).
    pub fn devices(&self) -> impl Iterator<Item = DeviceId> + '_ {
        self.runs.keys().copied()
    }

    /// `device`'s events, in batch order.
    #[must_use]
    pub fn run(&self, device: DeviceId) -> &[&'b Event] {
        self.runs.get(&device).map_or(&[], Vec::as_slice)
    }

    /// Checks `device`'s run against the receiver's `tip` for it, at receiver time `now_ms`.
    ///
    /// The key is looked up in `keys` only when there is something to verify. On `Err`
    /// nothing of the run may be stored; under [`Strictness::Refuse`], before storing,
    /// also compare the run with the log ([`CheckedRun::fork`]).
    pub fn check(
        &self,
        device: DeviceId,
        tip: ChainTip,
        keys: &impl KeyRing,
        now_ms: u64,
        rules: Rules,
    ) -> Result<CheckedRun<'b>, SyncError> {
        let run = self.run(device);
        let mut out = CheckedRun {
            device,
            accepted: Vec::new(),
            tip,
            duplicates: 0,
            out_of_order: 0,
            deferred: 0,
            claimed: Vec::new(),
        };
        let (Some(first), Some(last)) = (run.first(), run.last()) else { return Ok(out) };
        // What to verify, and the tip it must continue.
        let (events, from): (Vec<&Event>, ChainTip) = match rules.strictness {
            Strictness::Defer => {
                let fresh: Vec<&Event> = run.iter().copied().filter(|e| e.seq > tip.seq).collect();
                out.duplicates = run.len() - fresh.len();
                if fresh.first().is_none_or(|e| e.seq != tip.next_seq()) {
                    out.out_of_order = fresh.len();
                    return Ok(out);
                }
                (fresh, tip)
            }
            Strictness::Refuse => {
                if !self.checkpoints.contains_key(&(device, last.seq)) {
                    return Err(SyncError::Unsigned { device, seq: last.seq });
                }
                if first.seq > tip.next_seq() {
                    return Err(SyncError::Gap { device, held: tip.seq, first: first.seq });
                }
                // Verified from where it claims to start; whether that matches the log is
                // the fork check's question. Seq 1 can only follow genesis.
                let from = match first.seq.checked_sub(1) {
                    Some(seq) if seq > 0 => ChainTip { seq, hash: first.prev_hash },
                    _ => ChainTip::GENESIS,
                };
                (run.to_vec(), from)
            }
        };
        let key = keys.public_key(&device).ok_or(SyncError::UnknownDevice { device })?;
        let horizon = now_ms.saturating_add(rules.max_ahead_ms);
        let mut at = from;
        let mut start = 0;
        for (i, event) in events.iter().enumerate() {
            // A segment ends at each checkpoint on a new event (those signatures are kept)
            // and at the run's end; the one signature at its end covers what it repeats.
            let Some(cp) = self.checkpoints.get(&(device, event.seq)) else { continue };
            if event.seq <= tip.seq && i + 1 < events.len() {
                continue;
            }
            let segment = &events[start..=i];
            if let Some(ahead) = segment.iter().find(|e| e.seq > tip.seq && e.hlc.wall_ms > horizon)
            {
                if rules.strictness == Strictness::Refuse {
                    let source = HlcError::TooFarAhead {
                        remote_ms: ahead.hlc.wall_ms,
                        local_ms: now_ms,
                        max_ahead_ms: rules.max_ahead_ms,
                    };
                    return Err(SyncError::TooFarAhead { device, seq: ahead.seq, source });
                }
                // Leave it and what follows for later, without spending a signature check.
                out.deferred = events.len() - start;
                break;
            }
            at = chain(&key, at, segment, cp)
                .map_err(|source| SyncError::Verify { device, source })?;
            out.accepted.extend(
                segment
                    .iter()
                    .filter(|e| e.seq > tip.seq)
                    .map(|e| (*e, (e.seq == cp.seq).then_some(cp.signature))),
            );
            start = i + 1;
        }
        out.out_of_order = events.len() - start - out.deferred;
        if !out.accepted.is_empty() {
            out.tip = at;
        }
        if rules.strictness == Strictness::Refuse {
            out.duplicates = events.iter().take_while(|e| e.seq <= tip.seq).count();
            out.claimed = claims(&events, from, out.duplicates, tip, &self.checkpoints);
        }
        Ok(out)
    }
}

/// The verified `(seq, hash)` pairs a run asserts at or below the receiver's tip that the
/// receiver must compare with its log: the event it links to, then each of the `held`
/// events it repeats; none if it agrees with the tip. A hash is read off the link of the
/// event after it (or the checkpoint at the run's end), not computed again.
fn claims(
    events: &[&Event],
    from: ChainTip,
    held: usize,
    tip: ChainTip,
    checkpoints: &BTreeMap<(DeviceId, u64), &Checkpoint>,
) -> Vec<(u64, Hash32)> {
    let mut claimed = Vec::with_capacity(held + 1);
    if from.seq >= 1 && from.seq <= tip.seq {
        claimed.push((from.seq, from.hash));
    }
    for (i, event) in events.iter().take(held).enumerate() {
        let hash = match events.get(i + 1) {
            Some(next) => next.prev_hash,
            // The run ends here, at a checkpoint checked against this event's hash.
            None => checkpoints
                .get(&(event.device_id, event.seq))
                .map_or_else(|| event.hash(), |cp| cp.hash),
        };
        claimed.push((event.seq, hash));
    }
    // Each hash commits to everything before it: a run that agrees with the tip agrees
    // with the whole log below it, and there is nothing left to compare.
    if claimed.last() == Some(&(tip.seq, tip.hash)) {
        claimed.clear();
    }
    claimed
}

impl CheckedRun<'_> {
    /// [`Strictness::Refuse`]: the seqs of the receiver's log the run must be compared
    /// with, or `None` if there is nothing to compare (it repeats nothing, or agrees with
    /// the tip, which vouches for everything before it; and under [`Strictness::Defer`]).
    #[must_use]
    pub fn claimed_seqs(&self) -> Option<RangeInclusive<u64>> {
        Some(self.claimed.first()?.0..=self.claimed.last()?.0)
    }

    /// The first difference between what the run asserts and the receiver's log, given
    /// as `(seq, hash)` over [`Self::claimed_seqs`] in seq order: a fork. Every event the
    /// run asserts was verified with it, so the fork is signed by the device.
    pub fn fork(&self, held: impl IntoIterator<Item = (u64, Hash32)>) -> Option<Fork> {
        let claimed: BTreeMap<u64, Hash32> = self.claimed.iter().copied().collect();
        held.into_iter().find_map(|(seq, held)| {
            let received = *claimed.get(&seq)?;
            (received != held).then_some(Fork { device: self.device, seq, held, received })
        })
    }
}
