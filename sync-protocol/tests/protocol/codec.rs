//! Batch codec: round trips, hostile input, limits and error reporting.

use proptest::collection::vec;
use proptest::prelude::*;
use thorbis_sync_protocol::{
    Batch, CODEC_VERSION, DecodeError, DeviceId, Event, EventKind, Hash32, Hlc,
    MAX_BATCH_CHECKPOINTS, MAX_BATCH_EVENTS, batch_from_json, batch_to_json, decode_batch,
    encode_batch,
};

use crate::strategies;

/// Magic, version and both counts.
fn header(events: u32, checkpoints: u32) -> Vec<u8> {
    let mut bytes = b"TBE".to_vec();
    bytes.push(CODEC_VERSION);
    bytes.extend_from_slice(&events.to_be_bytes());
    bytes.extend_from_slice(&checkpoints.to_be_bytes());
    bytes
}

proptest! {
    #[test]
    fn binary_round_trip(batch in strategies::batch()) {
        let bytes = encode_batch(&batch);
        prop_assert_eq!(decode_batch(&bytes), Ok(batch));
    }

    #[test]
    fn json_round_trip(batch in strategies::batch()) {
        prop_assert_eq!(batch_from_json(&batch_to_json(&batch)), Ok(batch));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_batch(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        events in 0..4_u32,
        checkpoints in 0..3_u32,
        body in vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = header(events, checkpoints);
        bytes.extend_from_slice(&body);
        if let Ok(batch) = decode_batch(&bytes) {
            prop_assert_eq!(encode_batch(&batch), bytes);
        }
    }

    #[test]
    fn corrupted_encodings_never_panic_and_stay_canonical(
        batch in strategies::batch(),
        flips in vec((any::<prop::sample::Index>(), 1..=255_u8), 1..4),
    ) {
        let mut bytes = encode_batch(&batch);
        prop_assume!(!bytes.is_empty());
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        // Whatever still decodes has exactly one encoding: the input.
        if let Ok(decoded) = decode_batch(&bytes) {
            prop_assert_eq!(encode_batch(&decoded), bytes);
        }
    }

    #[test]
    fn every_truncation_is_an_error(batch in strategies::batch()) {
        let bytes = encode_batch(&batch);
        for cut in 0..bytes.len() {
            let is_truncated = matches!(decode_batch(&bytes[..cut]), Err(DecodeError::Truncated { .. }));
            prop_assert!(is_truncated, "prefix of {} bytes", cut);
        }
    }
}

#[test]
fn empty_batch() {
    let bytes = encode_batch(&Batch::default());
    assert_eq!(bytes, header(0, 0));
    assert_eq!(decode_batch(&bytes), Ok(Batch::default()));
}

#[test]
fn rejects_other_formats_and_versions() {
    assert_eq!(decode_batch(b"{\"events\":[]}"), Err(DecodeError::BadMagic { found: *b"{\"e" }));
    let mut bytes = header(0, 0);
    bytes[3] = 2;
    assert_eq!(
        decode_batch(&bytes),
        Err(DecodeError::UnsupportedVersion { offset: 3, found: 2, supported: 1 })
    );
    assert_eq!(
        decode_batch(b"TB"),
        Err(DecodeError::Truncated { offset: 0, field: "magic", needed: 3, available: 2 })
    );
}

#[test]
fn rejects_oversize_counts_before_reading_items() {
    let too_many = MAX_BATCH_EVENTS as u32 + 1;
    assert_eq!(
        decode_batch(&header(too_many, 0)),
        Err(DecodeError::TooManyEvents { offset: 4, count: too_many as usize })
    );
    assert_eq!(
        decode_batch(&header(u32::MAX, 0)),
        Err(DecodeError::TooManyEvents { offset: 4, count: u32::MAX as usize })
    );
    let too_many = MAX_BATCH_CHECKPOINTS as u32 + 1;
    assert_eq!(
        decode_batch(&header(0, too_many)),
        Err(DecodeError::TooManyCheckpoints { offset: 8, count: too_many as usize })
    );
}

#[test]
fn counts_at_the_limit_with_nothing_behind_them_are_truncated() {
    // The decoder must not trust the count: nothing is preallocated for it.
    assert_eq!(
        decode_batch(&header(MAX_BATCH_EVENTS as u32, 0)),
        Err(DecodeError::Truncated {
            offset: 12,
            field: "event layout version",
            needed: 1,
            available: 0
        })
    );
    assert_eq!(
        decode_batch(&header(0, 1)),
        Err(DecodeError::Truncated {
            offset: 12,
            field: "checkpoint device_id",
            needed: 16,
            available: 0
        })
    );
}

#[test]
fn rejects_trailing_bytes() {
    let mut bytes = header(0, 0);
    bytes.extend_from_slice(b"xyz");
    assert_eq!(decode_batch(&bytes), Err(DecodeError::TrailingBytes { offset: 12, count: 3 }));
}

#[test]
fn errors_inside_a_batch_carry_absolute_offsets() {
    let event = minimal_event();
    let mut bytes = header(2, 0);
    let first_len = event.canonical_len();
    bytes.extend_from_slice(&event.canonical_bytes());
    let mut second = event.canonical_bytes();
    second[0] = 9;
    bytes.extend_from_slice(&second);
    assert_eq!(
        decode_batch(&bytes),
        Err(DecodeError::UnsupportedEventLayout { offset: 12 + first_len, found: 9, supported: 1 })
    );
}

fn minimal_event() -> Event {
    Event {
        device_id: DeviceId([1; 16]),
        seq: 1,
        hlc: Hlc::default(),
        prev_hash: Hash32::ZERO,
        kind: EventKind::new("a").unwrap(),
        payload: vec![],
    }
}

#[test]
fn json_enforces_limits_and_explains_errors() {
    assert_eq!(batch_from_json("{}"), Ok(Batch::default()));

    let err = batch_from_json("{\"events\": 3}").unwrap_err();
    assert!(matches!(&err, DecodeError::Json(msg) if msg.contains("line 1")), "{err}");

    let cp = serde_json::json!({
        "device_id": "01010101-0101-0101-0101-010101010101",
        "seq": 1,
        "hash": "00".repeat(32),
        "signature": "00".repeat(64),
    });
    let at_limit = serde_json::json!({ "checkpoints": vec![cp.clone(); MAX_BATCH_CHECKPOINTS] });
    assert!(batch_from_json(&at_limit.to_string()).is_ok());
    let over = serde_json::json!({ "checkpoints": vec![cp; MAX_BATCH_CHECKPOINTS + 1] });
    let err = batch_from_json(&over.to_string()).unwrap_err();
    assert!(err.to_string().contains("the limit is 10000"), "{err}");
}
