//! Feeds arbitrary bytes to the sync message decoder (what a peer or the hub receives).
//!
//! The decoder must never panic, and anything it accepts must re-encode to the same bytes:
//! a message has exactly one encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thorbis_sync_protocol::sync::{decode_message, encode_message};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = decode_message(data) {
        assert_eq!(encode_message(&message), data, "accepted input is not canonical");
    }
});
