//! Feeds arbitrary bytes to the GS1 element string parsers.
//!
//! Neither parser may panic. Whatever the scanned-form parser accepts must survive a round
//! trip: rebuilt with GS only where a separator is required, it parses to the same elements,
//! and so does its human-readable form when no value contains a parenthesis.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thorbis_drivers::gs1::{self, GS};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gs1::parse_hri(text);
    }
    let Ok(msg) = gs1::parse(data) else { return };
    let mut raw = Vec::new();
    for field in msg.symbol_fields() {
        match field {
            Some(f) => raw.extend_from_slice(f.as_bytes()),
            None => raw.push(GS),
        }
    }
    assert_eq!(gs1::parse(&raw).as_ref(), Ok(&msg), "minimal form does not round-trip");
    if msg.elements.iter().all(|e| !e.value.contains(['(', ')'])) {
        assert_eq!(gs1::parse_hri(&msg.to_string()).as_ref(), Ok(&msg), "HRI form does not round-trip");
    }
});
