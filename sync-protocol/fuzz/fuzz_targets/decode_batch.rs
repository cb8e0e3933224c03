//! Feeds arbitrary bytes to the batch decoder.
//!
//! The decoder must never panic, and because the binary format has exactly one encoding
//! per batch, anything it accepts must re-encode to the very bytes it came from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thorbis_sync_protocol::{decode_batch, encode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_batch(data) {
        assert_eq!(encode_batch(&batch), data, "accepted input is not canonical");
    }
});
