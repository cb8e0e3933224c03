//! Batches on the wire: a compact binary form and a JSON form for debugging.
//!
//! # Binary layout, codec version 1
//!
//! Integers are big-endian. Each batch has exactly one encoding, so
//! `encode_batch(&decode_batch(bytes)?) == bytes` for every accepted input.
//!
//! | Offset | Size         | Field                 | Notes                                      |
//! |--------|--------------|-----------------------|--------------------------------------------|
//! | 0      | 3            | magic                 | `b"TBE"`                                   |
//! | 3      | 1            | codec version         | [`CODEC_VERSION`]                          |
//! | 4      | 4            | event count *e*       | `u32`, at most [`MAX_BATCH_EVENTS`]        |
//! | 8      | 4            | checkpoint count *c*  | `u32`, at most [`MAX_BATCH_CHECKPOINTS`]   |
//! | 12     | varies       | *e* events            | each in the canonical event layout         |
//! | …      | 120 × *c*    | *c* checkpoints       | see below                                  |
//!
//! A checkpoint is `device_id` (16) | `seq` (`u64`) | `hash` (32) | `signature` (64).
//!
//! The magic turns "someone posted JSON (or a JPEG) to the sync endpoint" into a clear
//! [`DecodeError::BadMagic`] at byte 0. The counts come first so an oversize batch is
//! refused before any item is read. Events reuse their canonical layout, so the bytes a
//! peer hashes are the bytes it received.
//!
//! # Decoding untrusted input
//!
//! [`decode_batch`] never panics, checks every length against the input that remains
//! before reading or allocating, and never preallocates more items than the remaining
//! bytes could hold, so a forged count cannot make it allocate. Every error says what was
//! wrong and at which byte offset.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventError, MIN_CANONICAL_LEN};
use crate::ids::{DeviceId, Hash32};
use crate::sign::{Checkpoint, Signature};
use crate::wire::Reader;

/// Version byte after the magic. Bump it for any layout change.
pub const CODEC_VERSION: u8 = 1;

/// Most events one batch may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// Most checkpoints one batch may carry: at most one per event is ever useful.
pub const MAX_BATCH_CHECKPOINTS: usize = MAX_BATCH_EVENTS;

const MAGIC: [u8; 3] = *b"TBE";
/// Magic, version and the two counts.
const BATCH_HEADER_LEN: usize = 3 + 1 + 4 + 4;
const CHECKPOINT_LEN: usize = 16 + 8 + 32 + 64;

/// Events and the checkpoints that vouch for them, as exchanged between peers.
///
/// Events of several devices may be mixed; each device's events appear in seq order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BatchRepr")]
pub struct Batch {
    /// Events, each device's in seq order.
    pub events: Vec<Event>,
    /// Signed checkpoints covering (some of) the events.
    pub checkpoints: Vec<Checkpoint>,
}

/// Why bytes or JSON could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended in the middle of a field.
    #[error(
        "input ends at byte {offset} while reading {field}: it needs {needed} bytes, \
         {available} remain"
    )]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// The input does not start with `b"TBE"`.
    #[error("not a Thorbis batch: expected magic \"TBE\" at byte 0, found {found:02x?}")]
    BadMagic {
        /// The first three bytes.
        found: [u8; 3],
    },
    /// The batch uses a codec version this build does not know.
    #[error(
        "unsupported batch codec version {found} at byte {offset}; this build reads version {supported}"
    )]
    UnsupportedVersion {
        /// Offset of the version byte.
        offset: usize,
        /// The version in the input.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// An event uses a canonical layout version this build does not know.
    #[error(
        "unsupported event layout version {found} at byte {offset}; this build reads version {supported}"
    )]
    UnsupportedEventLayout {
        /// Offset of the event's version byte.
        offset: usize,
        /// The version in the input.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The batch declares more events than [`MAX_BATCH_EVENTS`].
    #[error("batch declares {count} events at byte {offset}; the limit is {MAX_BATCH_EVENTS}")]
    TooManyEvents {
        /// Offset of the count.
        offset: usize,
        /// The declared count.
        count: usize,
    },
    /// The batch declares more checkpoints than [`MAX_BATCH_CHECKPOINTS`].
    #[error(
        "batch declares {count} checkpoints at byte {offset}; the limit is {MAX_BATCH_CHECKPOINTS}"
    )]
    TooManyCheckpoints {
        /// Offset of the count.
        offset: usize,
        /// The declared count.
        count: usize,
    },
    /// An event field holds an invalid value (kind, seq or payload length).
    #[error("invalid event field at byte {offset}: {source}")]
    InvalidEvent {
        /// Offset of the invalid field.
        offset: usize,
        /// What is wrong with it.
        source: EventError,
    },
    /// Bytes remain after the last checkpoint.
    #[error("{count} unexpected bytes after the end of the batch at byte {offset}")]
    TrailingBytes {
        /// Where the batch ended.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
    /// The JSON form is malformed or violates a limit.
    #[error("invalid batch JSON: {0}")]
    Json(String),
}

/// Encodes `batch` in the binary layout above.
///
/// Like [`Event::write_canonical`], this does not validate: a batch over the limits
/// encodes, but [`decode_batch`] will refuse it. Producers split their batches.
///
/// # Panics
///
/// If the batch holds more than `u32::MAX` events or checkpoints, or an event payload
/// longer than `u32::MAX` bytes.
#[must_use]
pub fn encode_batch(batch: &Batch) -> Vec<u8> {
    let count = |n: usize| u32::try_from(n).expect("batch item count exceeds u32::MAX");
    let len = BATCH_HEADER_LEN
        + batch.events.iter().map(Event::canonical_len).sum::<usize>()
        + CHECKPOINT_LEN * batch.checkpoints.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MAGIC);
    out.push(CODEC_VERSION);
    out.extend_from_slice(&count(batch.events.len()).to_be_bytes());
    out.extend_from_slice(&count(batch.checkpoints.len()).to_be_bytes());
    for event in &batch.events {
        event.write_canonical(&mut out);
    }
    for cp in &batch.checkpoints {
        out.extend_from_slice(cp.device_id.as_bytes());
        out.extend_from_slice(&cp.seq.to_be_bytes());
        out.extend_from_slice(&cp.hash.0);
        out.extend_from_slice(&cp.signature.0);
    }
    out
}

/// Decodes a batch from untrusted bytes. See the module docs for the guarantees.
pub fn decode_batch(bytes: &[u8]) -> Result<Batch, DecodeError> {
    let mut r = Reader::new(bytes);
    let magic = r.array("magic")?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    let offset = r.position();
    let version = r.u8("codec version")?;
    if version != CODEC_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            offset,
            found: version,
            supported: CODEC_VERSION,
        });
    }
    let offset = r.position();
    let event_count = r.u32("event count")? as usize;
    if event_count > MAX_BATCH_EVENTS {
        return Err(DecodeError::TooManyEvents { offset, count: event_count });
    }
    let offset = r.position();
    let checkpoint_count = r.u32("checkpoint count")? as usize;
    if checkpoint_count > MAX_BATCH_CHECKPOINTS {
        return Err(DecodeError::TooManyCheckpoints { offset, count: checkpoint_count });
    }

    // Capacity is bounded by what the remaining input can hold, not by the claimed count.
    let mut events = Vec::with_capacity(event_count.min(r.remaining() / MIN_CANONICAL_LEN));
    for _ in 0..event_count {
        events.push(Event::read(&mut r)?);
    }
    let mut checkpoints = Vec::with_capacity(checkpoint_count.min(r.remaining() / CHECKPOINT_LEN));
    for _ in 0..checkpoint_count {
        checkpoints.push(Checkpoint {
            device_id: DeviceId(r.array("checkpoint device_id")?),
            seq: r.u64("checkpoint seq")?,
            hash: Hash32(r.array("checkpoint hash")?),
            signature: Signature(r.array("checkpoint signature")?),
        });
    }

    if r.remaining() > 0 {
        return Err(DecodeError::TrailingBytes { offset: r.position(), count: r.remaining() });
    }
    Ok(Batch { events, checkpoints })
}

/// The batch as pretty-printed JSON for logs, fixtures and debugging: ids as UUID strings,
/// hashes, signatures and payloads as hex. Not for the wire; use [`encode_batch`].
#[must_use]
pub fn batch_to_json(batch: &Batch) -> String {
    // Every value is a string, number, array or string-keyed map, which serde_json
    // always serializes successfully.
    serde_json::to_string_pretty(batch).expect("batch JSON serialization cannot fail")
}

/// Parses the JSON form written by [`batch_to_json`], with the same validation and
/// limits as the binary decoder.
pub fn batch_from_json(s: &str) -> Result<Batch, DecodeError> {
    serde_json::from_str(s).map_err(|e| DecodeError::Json(e.to_string()))
}

/// Serde mirror of [`Batch`]: deserializes, then `TryFrom` enforces the batch limits.
/// Both lists may be omitted in hand-written fixtures.
#[derive(Deserialize)]
struct BatchRepr {
    #[serde(default)]
    events: Vec<Event>,
    #[serde(default)]
    checkpoints: Vec<Checkpoint>,
}

impl TryFrom<BatchRepr> for Batch {
    type Error = String;

    fn try_from(r: BatchRepr) -> Result<Self, String> {
        if r.events.len() > MAX_BATCH_EVENTS {
            return Err(format!(
                "batch has {} events; the limit is {MAX_BATCH_EVENTS}",
                r.events.len()
            ));
        }
        if r.checkpoints.len() > MAX_BATCH_CHECKPOINTS {
            return Err(format!(
                "batch has {} checkpoints; the limit is {MAX_BATCH_CHECKPOINTS}",
                r.checkpoints.len()
            ));
        }
        Ok(Batch { events: r.events, checkpoints: r.checkpoints })
    }
}
