//! Our encoder end to end: receipts built with `thorbis-drivers`, encoded to ESC/POS, parsed
//! by the simulator (which never uses that encoder), rendered. The text must come back as
//! written in every code page the drivers support, and every barcode and QR code must read
//! back with standard decoders.

mod support;

use support::{decode_qr, zbarimg};
use thorbis_drivers::codepage::CodePage;
use thorbis_drivers::encoder::Encoder;
use thorbis_drivers::image::Bitmap;
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::receipt::{
    Align, Barcode, Block, Cell, CutKind, DrawerPulse, Font, Paragraph, Receipt, Row, Size,
    Symbology, Underline,
};
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::{Block as Printed, Receipt as Paper, interpret_all};
use thorbis_simulators::render;

fn print(profile: &PrinterProfile, receipt: &Receipt) -> Paper {
    let bytes = Encoder::new(profile).encode(receipt).expect("encodes");
    let sim = SimProfile { dots_per_line: profile.paper.dots_per_line, ..SimProfile::default() };
    let mut out = interpret_all(&sim, &bytes);
    assert_eq!(out.len(), 1, "one job");
    let job = out.remove(0);
    assert!(job.diagnostics.is_empty(), "{:?}", job.diagnostics);
    job.receipt
}

fn printed_lines(paper: &Paper) -> Vec<String> {
    paper
        .blocks
        .iter()
        .filter_map(|b| match b {
            Printed::Line(line) => Some(line.text().trim_end().to_owned()),
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn text_in_every_code_page_prints_as_written() {
    let base = PrinterProfile::builtin("epson-tm-t88").unwrap();
    for page in CodePage::ALL {
        // A printer that has only this page: every non-ASCII character must go through it.
        let mut profile = base.clone();
        profile.code_pages.retain(|slot| slot.page == page);
        let chars: String = (0x80..=0xFF_u8)
            .map(|b| page.decode(b))
            .filter(|c| *c != '\u{FFFD}' && !c.is_control() && !c.is_whitespace() && *c != '\u{AD}')
            .collect();
        let source: Vec<String> = chars
            .chars()
            .collect::<Vec<_>>()
            .chunks(32)
            .map(|chunk| chunk.iter().collect())
            .collect();
        let receipt = source
            .iter()
            .fold(Receipt::new(), |r, line| r.text(line.clone()))
            .cut(CutKind::Partial);
        let paper = print(&profile, &receipt);
        assert_eq!(printed_lines(&paper), source, "{}", page.name());
    }
}

#[test]
fn a_line_mixing_code_pages_switches_mid_line() {
    let profile = PrinterProfile::builtin("epson-tm-t88").unwrap();
    let source = "Café 5€ · Żurek 4zł · Борщ 3₽? · Smørbrød";
    // `₽` is in none of the pages: the encoder prints `?` for it.
    let expected = source.replace('₽', "?");
    let paper = print(&profile, &Receipt::new().text(source).cut(CutKind::Full));
    assert_eq!(printed_lines(&paper), [expected]);
}

#[test]
fn every_feature_comes_out_and_reads_back() {
    let profile = PrinterProfile::builtin("generic-80mm").unwrap();
    let logo = Bitmap::new(
        64,
        16,
        (0..16).flat_map(|y| [if y % 2 == 0 { 0xF0 } else { 0x0F }; 8]).collect(),
    )
    .unwrap();
    let receipt = Receipt::new()
        .image(logo, Align::Center)
        .paragraph(Paragraph::new("THORBIS BISTRO").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new("underlined").underline(Underline::Double))
        .paragraph(Paragraph::new("inverted").invert().align(Align::Right))
        .paragraph(Paragraph::new("small print in font B").font(Font::B))
        .rule('=')
        .row(Row::new([
            Cell::fixed(4, "2x"),
            Cell::fill("Flat white"),
            Cell::fixed(8, "9.00").right(),
        ]))
        .row(
            Row::new([Cell::fill("TOTAL").bold(), Cell::fixed(10, "9.00").right().bold()])
                .size(Size::DOUBLE_HEIGHT),
        )
        .barcode(Barcode::new(Symbology::Ean13, "4006381333931"))
        .barcode(Barcode::new(Symbology::Ean8, "96385074"))
        .barcode(Barcode::new(Symbology::UpcA, "036000291452"))
        .barcode(Barcode::new(Symbology::Code128, "THORBIS-42"))
        .barcode(Barcode::new(Symbology::Gs1_128, "(01)09506000134352(10)ABC123"))
        .qr("https://thorbis.example/r/123")
        .feed(2)
        .kick_drawer(DrawerPulse::default())
        .cut(CutKind::Partial);
    assert!(receipt.blocks.iter().any(|b| matches!(b, Block::Drawer(_))));
    let paper = print(&profile, &receipt);

    let lines = printed_lines(&paper);
    for expected in ["THORBIS BISTRO", "underlined", "inverted", "small print in font B"] {
        assert!(lines.iter().any(|l| l.trim() == expected), "{expected:?} not in {lines:#?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2x") && l.contains("Flat white") && l.ends_with("9.00"))
    );
    assert!(paper.blocks.iter().any(|b| matches!(b, Printed::Image { .. })));
    assert!(paper.blocks.iter().any(|b| matches!(b, Printed::DrawerPulse { .. })));
    assert!(paper.is_cut());

    let png = render::png(&paper).unwrap();
    assert_eq!(decode_qr(&png), ["https://thorbis.example/r/123"]);
    let mut bars = zbarimg(&png);
    bars.sort();
    let joined = bars.join("\n");
    for expected in
        ["EAN-13:4006381333931", "EAN-8:96385074", "UPC-A:036000291452", "CODE-128:THORBIS-42"]
    {
        assert!(bars.iter().any(|b| b == expected), "{expected} not decoded from:\n{joined}");
    }
    assert!(
        bars.iter().any(|b| b.contains("0109506000134352") && b.contains("10ABC123")),
        "GS1-128 not decoded from:\n{joined}"
    );
}
