//! Feeds arbitrary bytes to the ESC/POS parser and the print buffer behind it.
//!
//! Nothing may panic, every command must fit in the bytes it came from, and splitting the
//! stream in two (at a point chosen by the first byte) must print exactly the same receipts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thorbis_simulators::escpos::{Parser, Step, step};
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::{Effect, Interpreter, interpret_all};
use thorbis_simulators::render;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    if let Step::Command { len, .. } | Step::Report { len, .. } = step(data) {
        assert!(len >= 1 && len <= data.len(), "step claimed {len} of {} bytes", data.len());
    }
    let whole = interpret_all(&SimProfile::default(), data);
    for f in &whole {
        let _ = render::text(&f.receipt);
    }
    let at = usize::from(split) * data.len() / 255;
    let mut parser = Parser::new();
    let mut interp = Interpreter::new(SimProfile::default());
    let mut parts = Vec::new();
    for part in [&data[..at], &data[at..]] {
        for event in parser.feed(part) {
            if let Some(Effect::Cut(f)) = interp.apply_event(event) {
                parts.push(f);
            }
        }
    }
    if let Some(d) = parser.finish() {
        interp.diagnose(d);
    }
    parts.extend(interp.flush());
    assert_eq!(parts, whole, "split at {at} changed the output");
});
