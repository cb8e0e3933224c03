//! Pinned bytes. If one of these fails, the wire format changed: every stored hash and
//! signature in the field would stop verifying. Change the layout version instead.
//!
//! The expected values were computed outside this crate: the hash with Python's
//! `hashlib.sha256`, the public key and signature with `openssl pkeyutl -sign -rawin`.

use std::fmt::Write as _;

use thorbis_sync_protocol::{
    Batch, ChainTip, DeviceKey, Event, EventKind, Hash32, Hlc, decode_batch, encode_batch,
};

fn golden_event() -> Event {
    let mut prev_hash = [0; 32];
    for (i, byte) in prev_hash.iter_mut().enumerate() {
        *byte = i as u8;
    }
    Event {
        device_id: "0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f".parse().unwrap(),
        seq: 2,
        hlc: Hlc { wall_ms: 1_720_000_000_000, counter: 3 },
        prev_hash: Hash32(prev_hash),
        kind: EventKind::new("order.created").unwrap(),
        payload: br#"{"id":1}"#.to_vec(),
    }
}

const GOLDEN_EVENT_HEX: &str = concat!(
    "01",                                                               // layout version
    "0190c3a27b1e7c4d8e9f0a1b2c3d4e5f",                                 // device_id
    "0000000000000002",                                                 // seq
    "0000019077fd3000",                                                 // hlc.wall_ms
    "00000003",                                                         // hlc.counter
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", // prev_hash
    "0d",                                                               // kind_len = 13
    "6f726465722e63726561746564",                                       // "order.created"
    "00000008",                                                         // payload_len
    "7b226964223a317d",                                                 // {"id":1}
);
const GOLDEN_HASH: &str = "782f1b5b12908b859f02619d196c36f23fa0fdbe05b845198012310ebda94704";
const GOLDEN_PUBLIC_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const GOLDEN_SIGNATURE: &str = concat!(
    "7e8cb1c83275bcc4fc0efd575d248e38f66cedb0908eb1a24076e4b3e2afac69",
    "a1215efe86b045b190c083b8bf3acc9f6e56724964e25b36951e200da777a702",
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        write!(out, "{b:02x}").unwrap();
        out
    })
}

#[test]
fn canonical_bytes_and_hash_are_pinned() {
    let event = golden_event();
    assert_eq!(hex(&event.canonical_bytes()), GOLDEN_EVENT_HEX);
    assert_eq!(event.canonical_len(), GOLDEN_EVENT_HEX.len() / 2);
    assert_eq!(event.hash().to_string(), GOLDEN_HASH);
}

#[test]
fn checkpoint_signature_is_pinned() {
    // Ed25519 signatures are deterministic, so this pins the signed-message layout too.
    let key = DeviceKey::from_seed(&[7; 32]).unwrap();
    let event = golden_event();
    let cp = key.sign_checkpoint(event.device_id, ChainTip::of(&event));
    assert_eq!(key.public_key().to_string(), GOLDEN_PUBLIC_KEY);
    assert_eq!(cp.signature.to_string(), GOLDEN_SIGNATURE);
}

#[test]
fn batch_bytes_are_pinned() {
    let key = DeviceKey::from_seed(&[7; 32]).unwrap();
    let event = golden_event();
    let cp = key.sign_checkpoint(event.device_id, ChainTip::of(&event));
    let batch = Batch { events: vec![event], checkpoints: vec![cp] };
    let expected = [
        "544245",   // magic "TBE"
        "01",       // codec version
        "00000001", // event count
        "00000001", // checkpoint count
        GOLDEN_EVENT_HEX,
        "0190c3a27b1e7c4d8e9f0a1b2c3d4e5f", // checkpoint device_id
        "0000000000000002",                 // checkpoint seq
        GOLDEN_HASH,
        GOLDEN_SIGNATURE,
    ]
    .concat();
    let bytes = encode_batch(&batch);
    assert_eq!(hex(&bytes), expected);
    assert_eq!(decode_batch(&bytes), Ok(batch));
}

#[test]
fn json_form_is_pinned() {
    let json = serde_json::to_value(golden_event()).unwrap();
    let expected = serde_json::json!({
        "device_id": "0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f",
        "seq": 2,
        "hlc": { "wall_ms": 1_720_000_000_000_u64, "counter": 3 },
        "prev_hash": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "kind": "order.created",
        "payload": "7b226964223a317d",
    });
    assert_eq!(json, expected);
}
