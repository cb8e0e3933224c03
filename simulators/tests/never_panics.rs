//! Property tests: no byte sequence makes the parser, the interpreter or the renderers
//! panic, and how the bytes are split across reads never changes what is printed.

use proptest::prelude::*;
use thorbis_simulators::escpos::{self, Parser};
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::{Effect, Finished, Interpreter, interpret_all};
use thorbis_simulators::render;

/// Bytes biased towards command prefixes and small parameters, so random input reaches
/// deep into the grammar instead of printing text.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => prop::sample::select(vec![0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x00]),
        2 => prop::sample::select(b"@!EaMt-dJ3 kvV(L8*pGhwHf0AB".to_vec()),
        1 => 0u8..8,
    ];
    prop::collection::vec(byte, 0..600)
}

fn interpret_split(data: &[u8], at: usize) -> Vec<Finished> {
    let mut parser = Parser::new();
    let mut interp = Interpreter::new(SimProfile::default());
    let mut out = Vec::new();
    for part in [&data[..at], &data[at..]] {
        for event in parser.feed(part) {
            if let Some(Effect::Cut(f)) = interp.apply_event(event) {
                out.push(f);
            }
        }
    }
    if let Some(d) = parser.finish() {
        interp.diagnose(d);
    }
    out.extend(interp.flush());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = escpos::parse_all(&data);
        for f in interpret_all(&SimProfile::default(), &data) {
            let _ = render::text(&f.receipt);
        }
    }

    #[test]
    fn command_soup_never_panics_and_renders(data in stream()) {
        for f in interpret_all(&SimProfile::default(), &data) {
            let _ = render::text(&f.receipt);
            let _ = render::png(&f.receipt);
        }
    }

    #[test]
    fn splitting_a_stream_changes_nothing(data in stream(), cut in any::<prop::sample::Index>()) {
        let at = cut.index(data.len() + 1);
        let whole = interpret_all(&SimProfile::default(), &data);
        prop_assert_eq!(interpret_split(&data, at), whole);
    }
}
