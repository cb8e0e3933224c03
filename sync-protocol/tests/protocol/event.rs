//! Canonical encoding, validation and forward compatibility of single events.

use proptest::prelude::*;
use thorbis_sync_protocol::{
    Batch, DecodeError, DeviceId, Event, EventError, EventKind, Hash32, Hlc, MAX_PAYLOAD_LEN,
    batch_from_json, batch_to_json, decode_batch, encode_batch,
};

use crate::strategies;

fn sample(kind: &str, payload: Vec<u8>) -> Event {
    Event {
        device_id: DeviceId([0xd1; 16]),
        seq: 1,
        hlc: Hlc { wall_ms: 1_000, counter: 0 },
        prev_hash: Hash32::ZERO,
        kind: EventKind::new(kind).unwrap(),
        payload,
    }
}

/// Offset of `kind_len` in the canonical layout.
const KIND_LEN_AT: usize = 69;

proptest! {
    #[test]
    fn canonical_round_trip(event in strategies::event(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = event.canonical_bytes();
        prop_assert_eq!(bytes.len(), event.canonical_len());
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        // Decoding stops at the end of the event and reports how far it read.
        prop_assert_eq!(Event::decode_canonical(&bytes), Ok((event, len)));
    }

    #[test]
    fn canonical_truncations_are_errors(event in strategies::event()) {
        let bytes = event.canonical_bytes();
        for cut in 0..bytes.len() {
            let is_truncated = matches!(Event::decode_canonical(&bytes[..cut]), Err(DecodeError::Truncated { .. }));
            prop_assert!(is_truncated, "prefix of {} bytes", cut);
        }
    }

    #[test]
    fn json_round_trip(event in strategies::event()) {
        let json = serde_json::to_string(&event).unwrap();
        prop_assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }

    #[test]
    fn hash_commits_to_every_byte(event in strategies::event(), at in any::<prop::sample::Index>()) {
        // Flip one bit anywhere in the canonical bytes; if the result still decodes, it
        // is a different event with a different hash.
        let mut bytes = event.canonical_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1;
        if let Ok((other, _)) = Event::decode_canonical(&bytes) {
            prop_assert_ne!(other.hash(), event.hash());
        }
    }
}

#[test]
fn unknown_kind_survives_decode_and_reencode_byte_for_byte() {
    // Bytes as a newer build would write them, for a kind this build has never heard of.
    let mut bytes = vec![1];
    bytes.extend_from_slice(&[0xab; 16]); // device_id
    bytes.extend_from_slice(&9_u64.to_be_bytes()); // seq
    bytes.extend_from_slice(&1_800_000_000_000_u64.to_be_bytes()); // hlc.wall_ms
    bytes.extend_from_slice(&4_u32.to_be_bytes()); // hlc.counter
    bytes.extend_from_slice(&[0x5a; 32]); // prev_hash
    bytes.push(15);
    bytes.extend_from_slice(b"future.thing_v9");
    let payload = [0x00, 0xff, 0xc3, 0x28, 0x7b]; // not even UTF-8: opaque means opaque
    bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&payload);

    let (event, used) = Event::decode_canonical(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(event.kind.as_str(), "future.thing_v9");
    assert_eq!(event.payload, payload);
    assert_eq!(event.canonical_bytes(), bytes);

    // Inside a batch, through the binary codec and through JSON.
    let batch = Batch { events: vec![event], checkpoints: vec![] };
    let encoded = encode_batch(&batch);
    assert_eq!(&encoded[12..], &bytes[..]);
    let decoded = decode_batch(&encoded).unwrap();
    assert_eq!(encode_batch(&decoded), encoded);
    let json = batch_to_json(&decoded);
    assert!(json.contains("\"future.thing_v9\""));
    let from_json = batch_from_json(&json).unwrap();
    assert_eq!(from_json, batch);
    assert_eq!(encode_batch(&from_json), encoded);
}

#[test]
fn validate_checks_seq_and_payload_size() {
    assert_eq!(sample("a", vec![]).validate(), Ok(()));
    let zero = Event { seq: 0, ..sample("a", vec![]) };
    assert_eq!(zero.validate(), Err(EventError::ZeroSeq));
    assert_eq!(sample("a", vec![0; MAX_PAYLOAD_LEN]).validate(), Ok(()));
    assert_eq!(
        sample("a", vec![0; MAX_PAYLOAD_LEN + 1]).validate(),
        Err(EventError::PayloadTooLarge { len: MAX_PAYLOAD_LEN + 1 })
    );
}

#[test]
fn payload_limit_is_enforced_by_the_decoder() {
    let at_limit = sample("a", vec![7; MAX_PAYLOAD_LEN]).canonical_bytes();
    assert!(Event::decode_canonical(&at_limit).is_ok());

    let over = sample("a", vec![7; MAX_PAYLOAD_LEN + 1]).canonical_bytes();
    let payload_len_at = KIND_LEN_AT + 1 + 1;
    assert_eq!(
        Event::decode_canonical(&over),
        Err(DecodeError::InvalidEvent {
            offset: payload_len_at,
            source: EventError::PayloadTooLarge { len: MAX_PAYLOAD_LEN + 1 }
        })
    );

    // A huge claimed length with no payload behind it is refused before allocating.
    let mut lying = sample("a", vec![]).canonical_bytes();
    lying[payload_len_at..payload_len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        Event::decode_canonical(&lying),
        Err(DecodeError::InvalidEvent { source: EventError::PayloadTooLarge { .. }, .. })
    ));
    let mut short = sample("a", vec![]).canonical_bytes();
    short[payload_len_at..payload_len_at + 4].copy_from_slice(&1000_u32.to_be_bytes());
    assert_eq!(
        Event::decode_canonical(&short),
        Err(DecodeError::Truncated {
            offset: payload_len_at + 4,
            field: "payload",
            needed: 1000,
            available: 0
        })
    );
}

#[test]
fn decoder_reports_invalid_fields_with_offsets() {
    let good = sample("ab", b"x".to_vec()).canonical_bytes();

    let mut bytes = good.clone();
    bytes[0] = 2;
    assert_eq!(
        Event::decode_canonical(&bytes),
        Err(DecodeError::UnsupportedEventLayout { offset: 0, found: 2, supported: 1 })
    );

    let mut bytes = good.clone();
    bytes[17..25].fill(0);
    assert_eq!(
        Event::decode_canonical(&bytes),
        Err(DecodeError::InvalidEvent { offset: 17, source: EventError::ZeroSeq })
    );

    let mut bytes = good.clone();
    bytes[KIND_LEN_AT] = 0;
    assert_eq!(
        Event::decode_canonical(&bytes),
        Err(DecodeError::InvalidEvent {
            offset: KIND_LEN_AT,
            source: EventError::KindLength { len: 0 }
        })
    );

    let mut bytes = good.clone();
    bytes[KIND_LEN_AT] = 65;
    assert_eq!(
        Event::decode_canonical(&bytes),
        Err(DecodeError::InvalidEvent {
            offset: KIND_LEN_AT,
            source: EventError::KindLength { len: 65 }
        })
    );

    let mut bytes = good;
    bytes[KIND_LEN_AT + 2] = b'B';
    assert_eq!(
        Event::decode_canonical(&bytes),
        Err(DecodeError::InvalidEvent {
            offset: KIND_LEN_AT + 1,
            source: EventError::KindByte { index: 1, byte: b'B' }
        })
    );
}

#[test]
fn json_rejects_invalid_events() {
    let json = serde_json::to_value(sample("a", vec![1, 2])).unwrap();

    let mut bad = json.clone();
    bad["seq"] = 0.into();
    assert!(serde_json::from_value::<Event>(bad).unwrap_err().to_string().contains("seq is 0"));

    let mut bad = json.clone();
    bad["kind"] = "Not.Valid".into();
    assert!(serde_json::from_value::<Event>(bad).is_err());

    let mut bad = json.clone();
    bad["payload"] = "abc".into();
    assert!(serde_json::from_value::<Event>(bad).unwrap_err().to_string().contains("odd"));

    let mut bad = json;
    bad["payload"] = "zz".into();
    assert!(serde_json::from_value::<Event>(bad).is_err());
}
