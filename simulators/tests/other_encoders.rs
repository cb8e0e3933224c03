//! Streams made by other widely used encoders: python-escpos 3.1 (`fixtures/python-escpos`,
//! made by `gen.py` there) and `ReceiptPrinterEncoder` 4.0.1 for Node
//! (`fixtures/receipt-printer-encoder`, made by `gen.mjs`). The simulator must print what
//! their authors meant, without diagnostics.

use std::path::Path;

use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::{Block, interpret_all};
use thorbis_simulators::render;

fn fixtures() -> Vec<(String, Vec<u8>, String)> {
    fixtures_in("python-escpos")
}

fn fixtures_in(encoder: &str) -> Vec<(String, Vec<u8>, String)> {
    // Relative to the package, where `cargo test` runs a test: a path baked in at build
    // time would name the checkout that built it, not the one running it.
    let dir = Path::new("tests/fixtures").join(encoder);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let path = entry.expect("fixture entry").path();
        if path.extension().is_some_and(|e| e == "bin") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let text = std::fs::read_to_string(path.with_extension("txt"))
                .unwrap_or_else(|e| panic!("{name}.txt: {e}"));
            out.push((name, bytes, text));
        }
    }
    out.sort();
    out
}

fn check_all(encoder: &str, at_least: usize) {
    let all = fixtures_in(encoder);
    assert!(all.len() >= at_least, "{encoder} fixtures missing: {}", all.len());
    for (name, bytes, expected) in all {
        let receipts = interpret_all(&SimProfile::default(), &bytes);
        assert_eq!(receipts.len(), 1, "{name}: one receipt per stream");
        let r = &receipts[0];
        assert!(r.diagnostics.is_empty(), "{name}: {:?}", r.diagnostics);
        assert!(r.receipt.is_cut(), "{name}: ends with a cut");
        assert_eq!(render::text(&r.receipt), expected, "{name}");
        render::png(&r.receipt).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_python_escpos_fixture_renders_its_source_text() {
    check_all("python-escpos", 10);
}

#[test]
fn every_receipt_printer_encoder_fixture_renders_its_source_text() {
    check_all("receipt-printer-encoder", 7);
}

fn receipt(name: &str) -> thorbis_simulators::receipt::Receipt {
    let (_, bytes, _) = fixtures().into_iter().find(|(n, ..)| n == name).expect(name);
    interpret_all(&SimProfile::default(), &bytes).remove(0).receipt
}

#[test]
fn styles_are_applied() {
    let r = receipt("styles");
    let lines: Vec<_> = r
        .blocks
        .iter()
        .filter_map(|b| if let Block::Line(l) = b { Some(l) } else { None })
        .collect();
    let s = |i: usize| lines[i].runs[0].style;
    assert!(s(0).bold && s(0).width == 2 && s(0).height == 2);
    assert_eq!(lines[0].align, thorbis_simulators::receipt::Align::Center);
    assert_eq!(s(2).underline, 1);
    assert_eq!(s(3).underline, 2);
    assert!(s(4).invert);
    assert_eq!(s(5).font, thorbis_simulators::receipt::Font::B);
    assert_eq!((s(6).width, s(6).height), (3, 2));
    assert_eq!(lines[6].align, thorbis_simulators::receipt::Align::Right);
}

#[test]
fn the_three_image_encodings_print_the_same_picture() {
    let image = |name: &str| {
        receipt(name)
            .blocks
            .into_iter()
            .find_map(|b| if let Block::Image { bitmap, .. } = b { Some(bitmap) } else { None })
            .expect(name)
    };
    let raster = image("image_bitImageRaster");
    assert_eq!(image("image_graphics"), raster);
    assert_eq!(image("image_bitImageColumn"), raster);
}

#[test]
fn the_drawer_kick_and_partial_cut_of_the_full_receipt() {
    let r = receipt("full_receipt");
    assert!(r.blocks.contains(&Block::DrawerPulse { pin: 0 }));
    assert!(matches!(r.blocks.last(), Some(Block::Cut(c)) if c.partial));
}
