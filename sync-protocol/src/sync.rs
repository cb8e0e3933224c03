//! The sync protocol as a sans-IO state machine: one [`PeerState`] per peer, the same for
//! agent↔hub and agent↔agent.
//!
//! # What it owns
//!
//! * **What we believe the peer holds** (its [`VersionVector`], learnt from its
//!   [`Message::Hello`] and [`Message::Ack`] and from the events it sends us), what we have
//!   sent beyond that and not yet had acknowledged, and when to resend (exponential
//!   backoff).
//! * **The messages** ([`Message`]) and their bytes ([`encode_message`],
//!   [`decode_message`]): a type byte, then a version vector or a batch in the existing
//!   codec.
//! * **Verification of what arrives**: every event is checked against the *origin*
//!   device's public key (from the caller's [`KeyRing`]) by [`Runs::check`], the check
//!   the hub runs on a push too, whoever relayed it; a relay is never trusted for being
//!   the relay.
//!
//! # What it never does
//!
//! No IO, no clock, no threads, no storage. The caller reads its store through
//! [`EventSource`], passes `now_ms` in, stores [`Received::events`] itself and moves bytes
//! however it likes (HTTP, WebSocket, a test's in-memory queue).
//!
//! # The protocol
//!
//! * A fresh `PeerState` knows nothing of the peer and sends `Hello{our vector}` (again,
//!   with backoff, until the peer answers). A `Hello` tells the receiver to forget what it
//!   believed about the sender (it may have restarted) and to answer with an `Ack`.
//! * `Events{batch, more}` carries what the peer lacks: per device, a contiguous run that
//!   ends at a signed event, so the receiver verifies it with [`crate::verify_chain`]. Every
//!   checkpoint inside the run travels too, so a relay can cut its own batches where the
//!   origin signed.
//! * `Ack{vector}` answers every `Events` (also a duplicate: that is what heals a lost
//!   `Ack`) with the receiver's vector after storing. Vectors only grow, so acks merge.
//! * Sent and not acknowledged after the backoff: resend from what the peer acknowledged.
//!
//! Events are authenticated end to end (by their origin's signature); `Hello` and `Ack`
//! are not, so the transport must protect their integrity (TLS does). A peer that lies
//! in them only starves itself.
//!
//! Receiving anything twice is harmless: events at or below the local tip are skipped,
//! vectors merge. A run that does not start right after the local tip (a later batch
//! overtook an earlier one) is skipped and comes again on resend. A run stamped further
//! ahead of local time than the clock bound ([`SyncConfig::max_ahead_ms`]) is deferred the
//! same way: not acknowledged, so resent until the local clock has caught up. (With
//! [`Strictness::Refuse`], the hub's rule, such a message is refused whole instead; it
//! is resent from what was acknowledged all the same.)
//!
//! A fork (another event at a seq the receiver holds) shows when its run reaches the
//! receiver: it does not link to the local tip and the message is refused
//! ([`crate::VerifyError::BrokenLink`]). Events at or below the local tip are skipped
//! unread, so a fork entirely below it is not noticed by a terminal; with
//! [`Strictness::Refuse`] they are verified and compared with the log
//! ([`SyncError::Fork`]).
//!
//! # Example
//!
//! Two peers, one with two signed events, sync through byte buffers:
//!
//! ```
//! use std::collections::BTreeMap;
//! use thorbis_sync_protocol::sync::{
//!     EventSource, KeyRing, PeerState, SyncConfig, decode_message, encode_message,
//! };
//! use thorbis_sync_protocol::*;
//!
//! #[derive(Default)]
//! struct Log(BTreeMap<DeviceId, Vec<(Event, Option<Signature>)>>);
//!
//! // The caller's store: here every device's events in a Vec.
//! impl EventSource for Log {
//!     fn vector(&self) -> VersionVector {
//!         self.0.iter().map(|(d, run)| (*d, run.len() as u64)).collect()
//!     }
//!     fn events_after(&self, d: DeviceId, after: u64, n: usize) -> Vec<(Event, Option<Signature>)> {
//!         let run = self.0.get(&d).map_or(&[][..], Vec::as_slice);
//!         run.iter().skip(after as usize).take(n).cloned().collect()
//!     }
//! }
//!
//! // The enrolled devices' keys: here just one.
//! struct Keys(DeviceId, PublicKey);
//! impl KeyRing for Keys {
//!     fn public_key(&self, d: &DeviceId) -> Option<PublicKey> {
//!         (*d == self.0).then_some(self.1)
//!     }
//! }
//!
//! // Device A writes two events and signs the tip.
//! let key = DeviceKey::from_seed(&[7; 32])?;
//! let dev = DeviceId([1; 16]);
//! let mut clock = HlcClock::new(5 * 60 * 1000);
//! let first = Event {
//!     device_id: dev,
//!     seq: 1,
//!     hlc: clock.tick(1_000),
//!     prev_hash: Hash32::ZERO,
//!     kind: EventKind::new("order.opened")?,
//!     payload: b"{}".to_vec(),
//! };
//! let second = Event { seq: 2, hlc: clock.tick(1_001), prev_hash: first.hash(), ..first.clone() };
//! let signature = key.sign_checkpoint(dev, ChainTip::of(&second)).signature;
//! let mut a = Log::default();
//! a.0.insert(dev, vec![(first, None), (second, Some(signature))]);
//! let mut b = Log::default();
//! let keys = Keys(dev, key.public_key());
//!
//! // Each side keeps one `PeerState` for the other. Exchange messages, as bytes, until
//! // neither has anything to say.
//! let mut a_to_b = PeerState::new(SyncConfig::default());
//! let mut b_to_a = PeerState::new(SyncConfig::default());
//! let now = 2_000;
//! loop {
//!     let mut quiet = true;
//!     while let Some(msg) = a_to_b.generate_message(&a, now) {
//!         quiet = false;
//!         let msg = decode_message(&encode_message(&msg))?;
//!         let received = b_to_a.receive_message(&b, &keys, msg, now)?;
//!         for (event, sig) in received.events {
//!             b.0.entry(event.device_id).or_default().push((event, sig));
//!         }
//!     }
//!     while let Some(msg) = b_to_a.generate_message(&b, now) {
//!         quiet = false;
//!         let msg = decode_message(&encode_message(&msg))?;
//!         a_to_b.receive_message(&a, &keys, msg, now)?;
//!     }
//!     if quiet {
//!         break;
//!     }
//! }
//! assert_eq!(b.vector(), a.vector());
//! assert_eq!(b.0, a.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use crate::codec::{Batch, DecodeError, MAX_BATCH_EVENTS, decode_batch, encode_batch};
use crate::event::{ChainTip, Event};
use crate::ids::DeviceId;
pub use crate::receive::{KeyRing, Rules, Runs, Strictness, SyncError};
use crate::sign::{Checkpoint, Signature};
use crate::vector::VersionVector;
use crate::wire::Reader;

/// Most devices a vector on the wire may list. Far above any tenant, low enough that a
/// forged count is refused before anything is read.
pub const MAX_VECTOR_DEVICES: usize = 1 << 16;

const TYPE_HELLO: u8 = 1;
const TYPE_EVENTS: u8 = 2;
const TYPE_ACK: u8 = 3;
const VECTOR_ENTRY_LEN: usize = 16 + 8;

/// The caller's event log, read-only: what the protocol needs to know to send.
///
/// The agent's `Store` has exactly these two queries (`version_vector`, `events_after`).
pub trait EventSource {
    /// Per device, the highest seq held contiguously from 1.
    fn vector(&self) -> VersionVector;

    /// Up to `limit` events of `device` with seq > `after_seq`, in seq order, each with the
    /// signature of the checkpoint the device made at it, if it made one there.
    fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Vec<(Event, Option<Signature>)>;

    /// Where `device`'s chain ends locally. The default asks [`Self::vector`] and reads the
    /// tip event back; a store that keeps its tips can answer directly.
    fn tip(&self, device: DeviceId) -> ChainTip {
        let seq = self.vector().get(&device);
        if seq == 0 {
            return ChainTip::GENESIS;
        }
        self.events_after(device, seq - 1, 1)
            .first()
            .map_or(ChainTip::GENESIS, |(event, _)| ChainTip::of(event))
    }
}

/// Tuning for one peer. Times in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// Most events in one `Events` message (clamped to [`MAX_BATCH_EVENTS`]). A run is cut
    /// at the last signed event that fits, so a message may hold fewer.
    pub max_batch_events: usize,
    /// Events stamped more than this ahead of local time are deferred (see
    /// [`HlcClock::observe`](crate::HlcClock::observe)); use the local clock's bound.
    pub max_ahead_ms: u64,
    /// First wait before resending an unanswered `Hello` or unacknowledged events.
    pub retry_base_ms: u64,
    /// The backoff doubles on every resend up to this.
    pub retry_max_ms: u64,
    /// What this side answers for events it cannot take now: [`Strictness::Defer`] for a
    /// terminal, [`Strictness::Refuse`] for a peer that stands in for the hub.
    pub strictness: Strictness,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            max_batch_events: 500,
            max_ahead_ms: 5 * 60 * 1000,
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
            strictness: Strictness::Defer,
        }
    }
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// "I know nothing of you (I just started): here is what I hold; answer with an `Ack`."
    Hello {
        /// The sender's vector.
        vector: VersionVector,
    },
    /// Events the receiver lacks, each device's run ending at a checkpoint in the batch.
    Events {
        /// The events and every checkpoint the sender holds for them.
        batch: Batch,
        /// Whether the sender had more to send when it cut this batch.
        more: bool,
    },
    /// "Here is what I hold now." Answers `Hello` and every `Events`.
    Ack {
        /// The sender's vector after storing what it received.
        vector: VersionVector,
    },
}

/// What [`PeerState::receive_message`] accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Verified events new to the local log, each device's in seq order, continuing the
    /// local tip, with the signature of the device's checkpoint at that event if any.
    /// Store them (a device's run in order, one transaction per message ideally); events
    /// not stored are simply not acknowledged and come again.
    pub events: Vec<(Event, Option<Signature>)>,
    /// Events skipped because the local log already holds them.
    pub duplicates: usize,
    /// Events skipped because they do not continue the local tip (a later batch overtook
    /// an earlier one), or follow no checkpoint in the batch. They come again on resend.
    pub out_of_order: usize,
    /// Events deferred because their stamp is too far ahead of local time.
    pub deferred: usize,
}

/// Why bytes are not a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// No bytes at all.
    #[error("empty sync message")]
    Empty,
    /// The type byte is not one this build knows.
    #[error("unknown sync message type {0:#04x}")]
    UnknownType(u8),
    /// A vector declares more devices than [`MAX_VECTOR_DEVICES`].
    #[error("vector declares {count} devices; the limit is {MAX_VECTOR_DEVICES}")]
    TooManyDevices {
        /// The declared count.
        count: usize,
    },
    /// A vector entry is out of device order, repeated, or has seq 0: vectors have one
    /// encoding.
    #[error("vector entry at byte {offset} is not in canonical form")]
    NonCanonicalVector {
        /// Offset of the entry.
        offset: usize,
    },
    /// The `more` flag is neither 0 nor 1.
    #[error("invalid `more` flag {0:#04x}")]
    BadFlag(u8),
    /// Bytes remain after the message.
    #[error("{count} unexpected bytes after the message at byte {offset}")]
    TrailingBytes {
        /// Where the message ended.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
    /// A field or the batch failed to decode.
    #[error(transparent)]
    Codec(#[from] DecodeError),
}

/// Encodes a message: a type byte (1 `Hello`, 2 `Events`, 3 `Ack`), then for `Hello` and
/// `Ack` a vector (`u32` count, then per device in order its 16-byte id and `u64` seq,
/// big-endian), for `Events` a `more` byte (0 or 1) and the batch in the codec's layout.
#[must_use]
pub fn encode_message(msg: &Message) -> Vec<u8> {
    match msg {
        Message::Hello { vector } => encode_vector(TYPE_HELLO, vector),
        Message::Ack { vector } => encode_vector(TYPE_ACK, vector),
        Message::Events { batch, more } => {
            let mut out = vec![TYPE_EVENTS, u8::from(*more)];
            out.extend_from_slice(&encode_batch(batch));
            out
        }
    }
}

fn encode_vector(kind: u8, vector: &VersionVector) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + VECTOR_ENTRY_LEN * vector.len());
    out.push(kind);
    let count = u32::try_from(vector.len()).expect("vector longer than u32::MAX devices");
    out.extend_from_slice(&count.to_be_bytes());
    for (device, seq) in vector.iter() {
        out.extend_from_slice(device.as_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
    }
    out
}

/// Decodes a message from untrusted bytes. Never panics; allocates no more than the input
/// justifies; `encode_message(&decode_message(b)?) == b` for every accepted input.
pub fn decode_message(bytes: &[u8]) -> Result<Message, MessageError> {
    let (&kind, body) = bytes.split_first().ok_or(MessageError::Empty)?;
    match kind {
        TYPE_HELLO => Ok(Message::Hello { vector: decode_vector(body)? }),
        TYPE_ACK => Ok(Message::Ack { vector: decode_vector(body)? }),
        TYPE_EVENTS => {
            let (&flag, batch) = body.split_first().ok_or(DecodeError::Truncated {
                offset: 1,
                field: "more",
                needed: 1,
                available: 0,
            })?;
            let more = match flag {
                0 => false,
                1 => true,
                other => return Err(MessageError::BadFlag(other)),
            };
            Ok(Message::Events { batch: decode_batch(batch)?, more })
        }
        other => Err(MessageError::UnknownType(other)),
    }
}

/// Offsets in errors count from the byte after the type byte.
fn decode_vector(body: &[u8]) -> Result<VersionVector, MessageError> {
    let mut r = Reader::new(body);
    let count = r.u32("vector count")? as usize;
    if count > MAX_VECTOR_DEVICES {
        return Err(MessageError::TooManyDevices { count });
    }
    let mut map = BTreeMap::new();
    let mut previous: Option<DeviceId> = None;
    for _ in 0..count {
        let offset = r.position();
        let device = DeviceId(r.array("vector device_id")?);
        let seq = r.u64("vector seq")?;
        // Strictly increasing devices and no zero seq: the one encoding `encode_vector`
        // produces, so a vector decodes to exactly what re-encodes to the same bytes.
        if seq == 0 || previous.is_some_and(|p| p >= device) {
            return Err(MessageError::NonCanonicalVector { offset });
        }
        previous = Some(device);
        map.insert(device, seq);
    }
    if r.remaining() > 0 {
        return Err(MessageError::TrailingBytes { offset: r.position(), count: r.remaining() });
    }
    Ok(VersionVector::from(map))
}

/// What one side knows about one peer. Lose it (restart) and the next
/// [`generate_message`](Self::generate_message) says `Hello` and everything resynchronises.
#[derive(Clone, Debug)]
pub struct PeerState {
    config: SyncConfig,
    /// What the peer told us it holds (or sent us); `None` until it has said anything.
    theirs: Option<VersionVector>,
    /// `theirs` plus what we have sent since: where the next batch starts.
    sent: VersionVector,
    /// The peer said `Hello` or sent events: answer with an `Ack`.
    ack_due: bool,
    /// When to resend the `Hello`, or the events sent and not acknowledged.
    retry_at: Option<u64>,
    backoff_ms: u64,
}

impl PeerState {
    /// A peer we know nothing about yet.
    #[must_use]
    pub fn new(config: SyncConfig) -> Self {
        let config = SyncConfig {
            max_batch_events: config.max_batch_events.clamp(1, MAX_BATCH_EVENTS),
            ..config
        };
        Self {
            config,
            theirs: None,
            sent: VersionVector::new(),
            ack_due: false,
            retry_at: Some(0),
            backoff_ms: config.retry_base_ms,
        }
    }

    /// What we believe the peer holds, once it has told us.
    #[must_use]
    pub fn their_vector(&self) -> Option<&VersionVector> {
        self.theirs.as_ref()
    }

    /// Whether events were sent that the peer has not acknowledged yet.
    #[must_use]
    pub fn has_unacknowledged(&self) -> bool {
        self.theirs.as_ref().is_some_and(|theirs| !theirs.dominates(&self.sent))
    }

    /// The next message to send to the peer at `now_ms`, or `None` if there is nothing to
    /// say now. Call it until `None` after every change (a message received, events
    /// written locally) and on a timer, so resends go out.
    pub fn generate_message(&mut self, local: &impl EventSource, now_ms: u64) -> Option<Message> {
        // A deadline further away than the longest backoff means the clock stepped back
        // since it was set: resend now rather than wait out the step (up to a day).
        let due = self
            .retry_at
            .is_some_and(|at| now_ms >= at || at > now_ms.saturating_add(self.config.retry_max_ms));
        let Some(theirs) = &self.theirs else {
            // Nothing heard yet: say Hello, and again with backoff until answered. A Hello
            // carries our vector, so it also answers events the peer sent meanwhile.
            if !due && !self.ack_due {
                return None;
            }
            self.ack_due = false;
            self.schedule_retry(now_ms);
            return Some(Message::Hello { vector: local.vector() });
        };
        if self.ack_due {
            self.ack_due = false;
            return Some(Message::Ack { vector: local.vector() });
        }
        if due {
            if theirs.dominates(&self.sent) {
                self.retry_at = None;
            } else {
                // Sent long ago and still not acknowledged: lost, overtaken and skipped,
                // or deferred by the peer's clock bound. Resend from what it acknowledged.
                self.sent = theirs.clone();
                self.schedule_retry(now_ms);
            }
        }
        let ours = local.vector();
        let (batch, more) = self.next_batch(local, &ours);
        if batch.events.is_empty() {
            return None;
        }
        for event in &batch.events {
            self.sent.advance(event.device_id, event.seq);
        }
        self.arm_retry(now_ms);
        Some(Message::Events { batch, more })
    }

    /// Doubles the backoff after a resend; the first resend waits `retry_base_ms`.
    fn schedule_retry(&mut self, now_ms: u64) {
        self.retry_at = Some(now_ms.saturating_add(self.backoff_ms));
        self.backoff_ms = self.backoff_ms.saturating_mul(2).min(self.config.retry_max_ms);
    }

    /// Up to `max_batch_events` events the peer lacks, each device's run cut at its last
    /// signed event, with every checkpoint inside the runs.
    fn next_batch(&self, local: &impl EventSource, ours: &VersionVector) -> (Batch, bool) {
        let mut batch = Batch::default();
        let mut more = false;
        for (device, range) in self.sent.missing_from(ours) {
            let budget = self.config.max_batch_events - batch.events.len();
            if budget == 0 {
                more = true;
                break;
            }
            let after = range.start() - 1;
            let mut run = local.events_after(device, after, budget);
            let mut last_signed = run.iter().rposition(|(_, sig)| sig.is_some());
            if last_signed.is_none() && batch.events.is_empty() {
                // The next signed event is beyond the budget: send one longer run rather
                // than nothing, up to the codec's limit.
                run = local.events_after(device, after, MAX_BATCH_EVENTS);
                last_signed = run.iter().rposition(|(_, sig)| sig.is_some());
            }
            let Some(last) = last_signed else {
                // Nothing signed to end a run at (yet): it cannot be verified, so skip.
                more = true;
                continue;
            };
            if last + 1 < run.len() || run[last].0.seq < *range.end() {
                more = true;
            }
            for (event, sig) in run.into_iter().take(last + 1) {
                if let Some(signature) = sig {
                    batch.checkpoints.push(Checkpoint {
                        device_id: device,
                        seq: event.seq,
                        hash: event.hash(),
                        signature,
                    });
                }
                batch.events.push(event);
            }
        }
        (batch, more)
    }

    /// Handles a message from the peer at local time `now_ms`: verifies events against
    /// their origin devices' keys in `keys` and the local tips in `local`, and updates
    /// what we believe the peer holds.
    ///
    /// On `Ok`, store [`Received::events`] before the next
    /// [`generate_message`](Self::generate_message), whose `Ack` reports the local vector.
    /// On `Err` nothing was accepted and the state is unchanged.
    pub fn receive_message(
        &mut self,
        local: &impl EventSource,
        keys: &impl KeyRing,
        msg: Message,
        now_ms: u64,
    ) -> Result<Received, SyncError> {
        match msg {
            Message::Hello { vector } => {
                // The peer (re)started and knows nothing of us: believe exactly what it
                // says, resend from there, and answer.
                self.sent = vector.clone();
                self.theirs = Some(vector);
                self.ack_due = true;
                self.reset_backoff();
                Ok(Received::default())
            }
            Message::Ack { vector } => {
                let progressed =
                    self.theirs.as_ref().is_none_or(|theirs| !theirs.dominates(&vector));
                self.merge_theirs(&vector);
                if progressed {
                    self.reset_backoff();
                }
                self.arm_retry(now_ms);
                Ok(Received::default())
            }
            Message::Events { batch, .. } => {
                let received = self.verify_batch(local, keys, &batch, now_ms)?;
                // The sender holds what it sent us, contiguously from 1: no need to send
                // it back. Only verified events count, so a garbled batch cannot make us
                // believe the peer holds more than it does (and starve it).
                let held: VersionVector =
                    received.events.iter().map(|(e, _)| (e.device_id, e.seq)).collect();
                if self.theirs.is_some() {
                    self.merge_theirs(&held);
                }
                self.ack_due = true;
                self.arm_retry(now_ms);
                Ok(received)
            }
        }
    }

    fn merge_theirs(&mut self, vector: &VersionVector) {
        self.theirs.get_or_insert_with(VersionVector::new).merge(vector);
        self.sent.merge(vector);
    }

    /// Makes sure a resend is scheduled while anything sent is unacknowledged.
    fn arm_retry(&mut self, now_ms: u64) {
        if self.retry_at.is_none() && self.has_unacknowledged() {
            self.retry_at = Some(now_ms.saturating_add(self.backoff_ms));
        }
    }

    fn reset_backoff(&mut self) {
        self.backoff_ms = self.config.retry_base_ms;
        self.retry_at = None;
    }

    fn verify_batch(
        &self,
        local: &impl EventSource,
        keys: &impl KeyRing,
        batch: &Batch,
        now_ms: u64,
    ) -> Result<Received, SyncError> {
        let runs = Runs::new(batch);
        let rules =
            Rules { max_ahead_ms: self.config.max_ahead_ms, strictness: self.config.strictness };
        let mut received = Received::default();
        for device in runs.devices() {
            let run = runs.check(device, local.tip(device), keys, now_ms, rules)?;
            if let Some(seqs) = run.claimed_seqs() {
                let (from, to) = seqs.into_inner();
                let held = local
                    .events_after(
                        device,
                        from - 1,
                        usize::try_from(to - from + 1).unwrap_or(usize::MAX),
                    )
                    .into_iter()
                    .map(|(e, _)| (e.seq, e.hash()));
                if let Some(fork) = run.fork(held) {
                    return Err(fork.into());
                }
            }
            received.duplicates += run.duplicates;
            received.out_of_order += run.out_of_order;
            received.deferred += run.deferred;
            received.events.extend(run.accepted.into_iter().map(|(e, sig)| (e.clone(), sig)));
        }
        Ok(received)
    }
}
