//! The event envelope, its canonical bytes and the per-device hash chain.
//!
//! Every fact a device records travels as an [`Event`]: who wrote it (`device_id`, `seq`),
//! when (`hlc`), what came before it (`prev_hash`), and an opaque `kind` and `payload` that
//! only `thorbis-domain` interprets. This crate validates the envelope and never looks
//! inside the payload, so a build that does not know a kind still stores, forwards and
//! verifies it unchanged.
//!
//! # Canonical layout, version 1
//!
//! Hashes and signatures cover these bytes, never JSON or any other serde output: a fixed
//! binary layout is the only way to guarantee that every build, platform and future
//! version computes the same hash for the same event. Integers are big-endian; there is
//! no padding, and each event has exactly one encoding.
//!
//! | Offset   | Size | Field               | Notes                                    |
//! |----------|------|---------------------|------------------------------------------|
//! | 0        | 1    | layout version      | always 1 ([`EVENT_LAYOUT_VERSION`])      |
//! | 1        | 16   | `device_id`         | UUID bytes                               |
//! | 17       | 8    | `seq`               | `u64`, starts at 1                       |
//! | 25       | 8    | `hlc.wall_ms`       | `u64`                                    |
//! | 33       | 4    | `hlc.counter`       | `u32`                                    |
//! | 37       | 32   | `prev_hash`         | all zeros for seq 1                      |
//! | 69       | 1    | `kind_len` = *k*    | 1 ..= [`MAX_KIND_LEN`]                   |
//! | 70       | *k*  | `kind`              | ASCII `[a-z0-9._-]`                      |
//! | 70 + *k* | 4    | `payload_len` = *p* | `u32`, at most [`MAX_PAYLOAD_LEN`]       |
//! | 74 + *k* | *p*  | `payload`           | opaque bytes                             |
//!
//! The leading version byte means a future layout hashes differently by construction,
//! and an old decoder refuses it instead of misreading it.
//!
//! # Hash chain
//!
//! Each device numbers its events 1, 2, 3, … and event *n* carries
//! `prev_hash = hash(event n-1)` (event 1 carries [`Hash32::ZERO`]). Signing only the hash
//! of the latest event (a [`Checkpoint`](crate::Checkpoint)) then vouches for the whole
//! history before it; see [`verify_chain`](crate::verify_chain).

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::codec::DecodeError;
use crate::hlc::Hlc;
use crate::ids::{DeviceId, EventId, Hash32};
use crate::wire::Reader;

mod kind;

pub use kind::{EventKind, MAX_KIND_LEN};

/// Largest accepted event payload, in bytes. Events are facts, not file transfers; the
/// limit bounds what one malformed or hostile event can make a peer allocate.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

/// Version byte at the start of every canonical event.
pub const EVENT_LAYOUT_VERSION: u8 = 1;

/// Canonical bytes before the kind: version, `device_id`, `seq`, hlc, `prev_hash`, `kind_len`.
const HEADER_LEN: usize = 1 + 16 + 8 + 8 + 4 + 32 + 1;

/// Size of the smallest possible canonical event (one-byte kind, empty payload). The batch
/// decoder uses it to bound preallocation by what the input can actually hold.
pub(crate) const MIN_CANONICAL_LEN: usize = HEADER_LEN + 1 + 4;

/// Why an event or event kind is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The kind is empty or longer than [`MAX_KIND_LEN`].
    #[error("event kind must be 1 to {MAX_KIND_LEN} bytes long, got {len}")]
    KindLength {
        /// Length of the rejected kind in bytes.
        len: usize,
    },
    /// The kind contains a byte outside `[a-z0-9._-]`.
    #[error(
        "event kind has byte {byte:#04x} at index {index}; only a-z, 0-9, '.', '_' and '-' are allowed"
    )]
    KindByte {
        /// Index of the first invalid byte.
        index: usize,
        /// The invalid byte.
        byte: u8,
    },
    /// The payload exceeds [`MAX_PAYLOAD_LEN`].
    #[error("event payload is {len} bytes; the limit is {MAX_PAYLOAD_LEN}")]
    PayloadTooLarge {
        /// Length of the rejected payload in bytes.
        len: usize,
    },
    /// The event has `seq` 0, which no event can have.
    #[error("event seq is 0; each device numbers its events from 1")]
    ZeroSeq,
}

/// One entry in a device's append-only log.
///
/// Fields are public for easy construction; [`Event::validate`] checks what the type
/// system cannot (`seq` ≥ 1, payload size). Decoders validate on the way in. In JSON the
/// payload is a hex string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EventRepr")]
pub struct Event {
    /// The device that wrote the event.
    pub device_id: DeviceId,
    /// Position in the device's chain, starting at 1.
    pub seq: u64,
    /// When the event happened, as a hybrid logical clock stamp.
    pub hlc: Hlc,
    /// Hash of the device's previous event; [`Hash32::ZERO`] for seq 1.
    pub prev_hash: Hash32,
    /// What the event records.
    pub kind: EventKind,
    /// What `thorbis-domain` needs to apply the event; opaque here.
    #[serde(serialize_with = "payload_hex::serialize")]
    pub payload: Vec<u8>,
}

impl Event {
    /// The event's globally unique id.
    #[must_use]
    pub fn id(&self) -> EventId {
        EventId { device_id: self.device_id, seq: self.seq }
    }

    /// Checks the invariants the field types cannot express.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.seq == 0 {
            return Err(EventError::ZeroSeq);
        }
        if self.payload.len() > MAX_PAYLOAD_LEN {
            return Err(EventError::PayloadTooLarge { len: self.payload.len() });
        }
        Ok(())
    }

    /// Length of the canonical bytes.
    #[must_use]
    pub fn canonical_len(&self) -> usize {
        HEADER_LEN + self.kind.as_str().len() + 4 + self.payload.len()
    }

    /// Appends the canonical bytes (see the [module docs](self)) to `out`.
    ///
    /// Encoding does not validate: an event with an oversize payload encodes, but no
    /// decoder accepts it. Call [`Event::validate`] on events you create.
    ///
    /// # Panics
    ///
    /// If the payload is longer than `u32::MAX` bytes, which the layout cannot express.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let kind = self.kind.as_str().as_bytes();
        let kind_len = u8::try_from(kind.len()).expect("EventKind is at most 64 bytes");
        let payload_len = u32::try_from(self.payload.len())
            .expect("payload longer than u32::MAX bytes cannot be encoded");
        out.reserve(self.canonical_len());
        out.push(EVENT_LAYOUT_VERSION);
        out.extend_from_slice(self.device_id.as_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.hlc.wall_ms.to_be_bytes());
        out.extend_from_slice(&self.hlc.counter.to_be_bytes());
        out.extend_from_slice(&self.prev_hash.0);
        out.push(kind_len);
        out.extend_from_slice(kind);
        out.extend_from_slice(&payload_len.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }

    /// The canonical bytes (see the [module docs](self)).
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.canonical_len());
        self.write_canonical(&mut out);
        out
    }

    /// SHA-256 of the canonical bytes: the event's identity in the hash chain.
    #[must_use]
    pub fn hash(&self) -> Hash32 {
        let digest = digest::digest(&digest::SHA256, &self.canonical_bytes());
        let mut hash = [0; 32];
        hash.copy_from_slice(digest.as_ref());
        Hash32(hash)
    }

    /// Decodes one canonical event from the start of `bytes`, returning it and the number
    /// of bytes it occupied. Bytes after the event are left for the caller.
    pub fn decode_canonical(bytes: &[u8]) -> Result<(Event, usize), DecodeError> {
        let mut reader = Reader::new(bytes);
        let event = Self::read(&mut reader)?;
        Ok((event, reader.position()))
    }

    /// Reads one canonical event, validating it; errors carry offsets from the reader's
    /// origin so the batch decoder reports positions within the whole batch.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
        let invalid = |offset, source| DecodeError::InvalidEvent { offset, source };

        let offset = r.position();
        let version = r.u8("event layout version")?;
        if version != EVENT_LAYOUT_VERSION {
            return Err(DecodeError::UnsupportedEventLayout {
                offset,
                found: version,
                supported: EVENT_LAYOUT_VERSION,
            });
        }
        let device_id = DeviceId(r.array("device_id")?);
        let seq_offset = r.position();
        let seq = r.u64("seq")?;
        if seq == 0 {
            return Err(invalid(seq_offset, EventError::ZeroSeq));
        }
        let hlc = Hlc { wall_ms: r.u64("hlc.wall_ms")?, counter: r.u32("hlc.counter")? };
        let prev_hash = Hash32(r.array("prev_hash")?);

        let kind_len_offset = r.position();
        let kind_len = usize::from(r.u8("kind_len")?);
        if !(1..=MAX_KIND_LEN).contains(&kind_len) {
            return Err(invalid(kind_len_offset, EventError::KindLength { len: kind_len }));
        }
        let kind_offset = r.position();
        let kind = EventKind::from_bytes(r.take(kind_len, "kind")?)
            .map_err(|e| invalid(kind_offset, e))?;

        let payload_len_offset = r.position();
        let payload_len = r.u32("payload_len")? as usize;
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(invalid(
                payload_len_offset,
                EventError::PayloadTooLarge { len: payload_len },
            ));
        }
        // `take` checks the bytes are present before anything is allocated.
        let payload = r.take(payload_len, "payload")?.to_vec();

        Ok(Event { device_id, seq, hlc, prev_hash, kind, payload })
    }
}

/// Serde mirror of [`Event`]: deserializes the fields, then `TryFrom` validates.
#[derive(Deserialize)]
struct EventRepr {
    device_id: DeviceId,
    seq: u64,
    hlc: Hlc,
    prev_hash: Hash32,
    kind: EventKind,
    #[serde(deserialize_with = "payload_hex::deserialize")]
    payload: Vec<u8>,
}

impl TryFrom<EventRepr> for Event {
    type Error = EventError;

    fn try_from(r: EventRepr) -> Result<Self, EventError> {
        let event = Event {
            device_id: r.device_id,
            seq: r.seq,
            hlc: r.hlc,
            prev_hash: r.prev_hash,
            kind: r.kind,
            payload: r.payload,
        };
        event.validate()?;
        Ok(event)
    }
}

/// Payload as a hex string in JSON; length-checked before decoding so a huge string is
/// refused without allocating its decoded form.
mod payload_hex {
    use std::fmt;

    use serde::{Deserializer, Serializer, de};

    use super::MAX_PAYLOAD_LEN;
    use crate::hex;

    #[expect(clippy::ptr_arg, reason = "serde's serialize_with passes &Vec<u8>")]
    pub(super) fn serialize<S: Serializer>(payload: &Vec<u8>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(payload))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(Visitor)
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the payload as a hex string")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
            if !s.len().is_multiple_of(2) {
                return Err(E::custom("payload hex has an odd number of digits"));
            }
            let len = s.len() / 2;
            if len > MAX_PAYLOAD_LEN {
                return Err(E::custom(super::EventError::PayloadTooLarge { len }));
            }
            let mut payload = vec![0; len];
            hex::decode_at(s, 0, &mut payload).map_err(E::custom)?;
            Ok(payload)
        }
    }
}

/// Where a device's chain ends: the seq and hash of its latest event, or
/// [`ChainTip::GENESIS`] before the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainTip {
    /// Seq of the latest event; 0 when there is none.
    pub seq: u64,
    /// Hash of the latest event; [`Hash32::ZERO`] when there is none.
    pub hash: Hash32,
}

impl ChainTip {
    /// The tip of an empty chain. Its hash is what event 1 must carry as `prev_hash`.
    pub const GENESIS: ChainTip = ChainTip { seq: 0, hash: Hash32::ZERO };

    /// The tip of a chain that ends with `event`.
    #[must_use]
    pub fn of(event: &Event) -> Self {
        Self { seq: event.seq, hash: event.hash() }
    }

    /// The seq the next event must carry. Saturates at `u64::MAX` instead of wrapping,
    /// although no device will ever write 2^64 events.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.seq.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis() {
        assert_eq!(ChainTip::GENESIS.next_seq(), 1);
        assert_eq!(ChainTip::GENESIS.hash, Hash32::ZERO);
    }
}
