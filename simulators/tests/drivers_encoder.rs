//! Our own encoder's output (`thorbis-drivers`) through the simulator, for every built-in
//! printer profile: the simulator is independent of the encoder, so this checks both.

use thorbis_drivers::encoder::Encoder;
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::sample::cafe_receipt;
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::{Block, interpret_all};
use thorbis_simulators::render;

#[test]
fn the_cafe_receipt_prints_cleanly_on_every_profile() {
    for name in PrinterProfile::builtin_names() {
        let profile = PrinterProfile::builtin(name).unwrap();
        let bytes = Encoder::new(&profile).encode(&cafe_receipt()).unwrap();
        let sim =
            SimProfile { dots_per_line: profile.paper.dots_per_line, ..SimProfile::default() };
        let receipts = interpret_all(&sim, &bytes);
        assert_eq!(receipts.len(), 1, "{name}");
        let r = &receipts[0];
        assert!(r.diagnostics.is_empty(), "{name}: {:?}", r.diagnostics);
        let has_cutter = profile.features.cutter != thorbis_drivers::profile::Cutter::None;
        assert_eq!(r.receipt.is_cut(), has_cutter, "{name}: cut exactly when there is a cutter");
        let text = render::text(&r.receipt);
        for expected in ["THORBIS CAFÉ", "Zoë", "Crème brûlée", "TOTAL €", "[QR "] {
            assert!(text.contains(expected), "{name}: {expected:?} missing from\n{text}");
        }
        // The encoder lays text out for the profile's columns, so the printer never has to
        // wrap a line: every printed line fits the paper.
        for block in &r.receipt.blocks {
            if let Block::Line(line) = block {
                let dots: u32 = line
                    .runs
                    .iter()
                    .map(|run| {
                        run.text.chars().count() as u32
                            * run.style.font.cell().0
                            * u32::from(run.style.width)
                    })
                    .sum();
                assert!(dots <= u32::from(profile.paper.dots_per_line), "{name}: {}", line.text());
            }
        }
        render::png(&r.receipt).unwrap();
    }
}
