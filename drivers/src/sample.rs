//! A typical receipt, shared by the bench, the tests and the simulators' demos.
//!
//! Thirty printed lines on 48-column paper (header, twelve item lines, two of them wrapping,
//! totals, tender), accented text that needs a code page switch, a QR code, a cut. Money is
//! integer minor units, formatted here only because a receipt is text.

use crate::command::{Align, CutKind};
use crate::receipt::{Cell, Paragraph, Receipt, Row, Size};

/// `1234` → `"12.34"`.
fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// The café receipt: about thirty lines and a QR code.
#[must_use]
pub fn cafe_receipt() -> Receipt {
    const ITEMS: [(u32, &str, i64); 12] = [
        (2, "Flat white", 4_50),
        (1, "Oat milk cappuccino, extra hot", 5_20),
        (1, "Croissant", 3_10),
        (3, "Pain au chocolat", 3_40),
        (1, "Crème brûlée", 6_00),
        (2, "Sparkling water 750 ml", 3_50),
        (1, "Avocado toast on sourdough with chili flakes and lime", 12_90),
        (1, "Granola bowl", 8_40),
        (1, "Espresso", 2_80),
        (2, "Café au lait", 4_20),
        (1, "Muffin", 3_30),
        (1, "Orange juice", 4_60),
    ];
    let mut r = Receipt::new()
        .paragraph(Paragraph::new("THORBIS CAFÉ").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new("12 Rue de la Paix, 75002 Paris").align(Align::Center))
        .paragraph(Paragraph::new("VAT FR 40 123 456 789").align(Align::Center))
        .paragraph(Paragraph::new("Table 7 · Server: Zoë · Check #1042").align(Align::Center))
        .paragraph(Paragraph::new("Sat 21 Nov 2026 12:41").align(Align::Center))
        .rule('-');
    let mut subtotal = 0;
    for (qty, name, unit) in ITEMS {
        let line = i64::from(qty) * unit;
        subtotal += line;
        r = r.row(Row::new([
            Cell::fixed(3, format!("{qty}x")),
            Cell::fill(name),
            Cell::fixed(8, money(line)).right(),
        ]));
    }
    let tax = subtotal * 10 / 110;
    r.rule('-')
        .row(Row::new([Cell::fill("Subtotal"), Cell::fixed(10, money(subtotal)).right()]))
        .row(Row::new([Cell::fill("incl. VAT 10%"), Cell::fixed(10, money(tax)).right()]))
        .row(
            Row::new([
                Cell::fill("TOTAL €").bold(),
                Cell::fixed(10, money(subtotal)).right().bold(),
            ])
            .size(Size::DOUBLE_HEIGHT),
        )
        .row(Row::new([Cell::fill("Card •••• 4242"), Cell::fixed(10, money(subtotal)).right()]))
        .row(Row::new([Cell::fill("Change"), Cell::fixed(10, money(0)).right()]))
        .rule('=')
        .paragraph(Paragraph::new("Merci et à bientôt !").align(Align::Center))
        .qr("https://thorbis.example/r/01J9Z6W4X8QK3T2V5N7M0P1R2S")
        .paragraph(Paragraph::new("Scan for your e-receipt").align(Align::Center))
        .paragraph(Paragraph::new("Wi-Fi: thorbis-guest").align(Align::Center))
        .paragraph(Paragraph::new("Open daily 7:00–19:00").align(Align::Center))
        .feed(2)
        .cut(CutKind::Partial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::profile::PrinterProfile;

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(money(4_50), "4.50");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money(120_00), "120.00");
    }

    #[test]
    fn cafe_receipt_prints_about_thirty_lines_on_every_builtin() {
        for name in PrinterProfile::builtin_names() {
            let p = PrinterProfile::builtin(name).unwrap();
            let bytes = Encoder::new(&p).encode(&cafe_receipt()).unwrap();
            let lines: usize = bytes.iter().map(|&b| usize::from(b == b'\n')).sum();
            assert!((28..=40).contains(&lines), "{name}: {lines} lines");
        }
    }
}
