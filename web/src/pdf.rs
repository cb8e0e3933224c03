//! A work order's invoice as a PDF: one A4 page drawn with `pdf-writer` in the standard
//! Helvetica faces (every PDF reader has them, so nothing is embedded), with the figures the
//! invoice fixed when it was issued. Text is encoded as `WinAnsi`; a character outside it
//! prints as `?`. No figure is computed here: every amount comes from the domain's view.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use thorbis_domain::Money;
use thorbis_domain::work_order::WorkOrderView;

use crate::when::when;

/// A4, in points.
const PAGE: (f32, f32) = (595.0, 842.0);
const LEFT: f32 = 56.0;
const RIGHT: f32 = PAGE.0 - 56.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// The invoice of `view` from `business` (its name on the header), or `None` when the job
/// has no invoice yet.
#[must_use]
pub fn invoice(view: &WorkOrderView, business: &str) -> Option<Vec<u8>> {
    let invoice = view.invoice.as_ref()?;
    let cur = view.currency;
    let money = |m: Money| format!("{} {}", cur.code(), m.format(cur));
    let mut page = Page { content: Content::new(), y: PAGE.1 - 64.0 };

    page.text(BOLD, 20.0, LEFT, business);
    page.right(BOLD, 20.0, RIGHT, &format!("Invoice {}", invoice.number));
    page.down(18.0);
    page.right(REGULAR, 10.0, RIGHT, &format!("Issued {} UTC", when(invoice.issued_at_ms)));
    page.down(30.0);
    page.text(BOLD, 11.0, LEFT, "Bill to");
    page.down(15.0);
    page.text(REGULAR, 11.0, LEFT, &view.customer);
    page.down(14.0);
    page.text(REGULAR, 11.0, LEFT, &view.site_address);
    if let Some(v) = &view.vehicle {
        page.down(14.0);
        page.text(
            REGULAR,
            11.0,
            LEFT,
            &format!("{} {} {} - VIN {}", v.year, v.make, v.model, v.vin),
        );
        if let (Some(i), Some(o)) = (v.mileage_in, v.mileage_out) {
            page.down(14.0);
            page.text(REGULAR, 11.0, LEFT, &format!("Mileage in {i}, out {o}"));
        }
    }
    page.down(24.0);
    page.text(BOLD, 11.0, LEFT, &view.title);
    page.down(22.0);

    // The lines: parts, then labour.
    page.text(BOLD, 10.0, LEFT, "Description");
    page.right(BOLD, 10.0, 380.0, "Qty");
    page.right(BOLD, 10.0, 460.0, "Unit price");
    page.right(BOLD, 10.0, RIGHT, "Amount");
    page.down(6.0);
    page.rule();
    for part in &view.parts {
        page.down(15.0);
        page.text(REGULAR, 10.0, LEFT, &part.name);
        page.right(REGULAR, 10.0, 380.0, &part.qty.to_string());
        page.right(REGULAR, 10.0, 460.0, &part.unit_price.format(cur));
        page.right(REGULAR, 10.0, RIGHT, &part.amount.format(cur));
    }
    for labour in &view.labour {
        page.down(15.0);
        page.text(REGULAR, 10.0, LEFT, "Labour");
        page.right(REGULAR, 10.0, 380.0, &format!("{} min", labour.minutes));
        page.right(REGULAR, 10.0, 460.0, &format!("{}/h", labour.rate_per_hour.format(cur)));
        page.right(REGULAR, 10.0, RIGHT, &labour.amount.format(cur));
    }
    page.down(8.0);
    page.rule();

    page.down(18.0);
    page.figure(REGULAR, "Subtotal", &money(invoice.subtotal));
    for tax in &invoice.taxes {
        page.down(15.0);
        // A rate's name often says its rate already ("Sales tax 8.875%").
        let rate = percent(tax.ppm);
        let mut label =
            if tax.name.contains('%') { tax.name.clone() } else { format!("{} {rate}", tax.name) };
        if tax.inclusive {
            label.push_str(" (included)");
        }
        page.figure(REGULAR, &label, &money(tax.tax));
    }
    page.down(20.0);
    page.figure(BOLD, "Total", &money(invoice.total));

    page.down(30.0);
    match &view.payment {
        Some(p) if p.amount.0 > 0 => {
            let how = p.reference.as_ref().map_or(String::new(), |r| format!(", reference {r}"));
            let paid = format!(
                "Paid {} by {}{how}, {} UTC",
                money(p.amount),
                p.method.label(),
                when(p.at_ms)
            );
            page.text(REGULAR, 10.0, LEFT, &paid);
        }
        _ => page.text(BOLD, 10.0, LEFT, &format!("Amount due: {}", money(invoice.total))),
    }
    if let Some(e) = &view.estimate {
        page.down(15.0);
        let approved = format!(
            "Estimate of {} approved by {}, {} UTC",
            money(e.total),
            e.signer,
            when(e.approved_at_ms)
        );
        page.text(REGULAR, 10.0, LEFT, &approved);
    }
    if let Some(s) = &view.signature {
        page.down(15.0);
        let signed =
            format!("Work accepted and signed by {}, {} UTC", s.signer, when(s.signed_at_ms));
        page.text(REGULAR, 10.0, LEFT, &signed);
    }
    Some(page.finish())
}

/// `8.875%` from parts per million.
fn percent(ppm: u32) -> String {
    let text = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Text as `WinAnsi` bytes: Latin-1 passes, anything else is `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance widths in thousandths of the size, for right-aligned figures:
/// exact for digits and punctuation, an average for letters.
fn width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            '.' | ',' | ' ' | '/' | ':' | 'i' | 'l' | 'j' | 'I' | 't' | 'f' | 'r' => 278,
            '-' | '(' | ')' => 333,
            '%' => 889,
            'm' | 'M' | 'W' | 'w' => 833,
            // Digits (556 each, exactly), and an average for the rest.
            _ => 556,
        })
        .sum();
    #[allow(clippy::cast_precision_loss, reason = "a line's width in points")]
    let units = units as f32;
    units * size / 1000.0
}

struct Page {
    content: Content,
    /// The baseline of the next line.
    y: f32,
}

impl Page {
    fn down(&mut self, by: f32) {
        self.y -= by;
    }

    fn text(&mut self, font: Name<'_>, size: f32, x: f32, text: &str) {
        let bytes = win_ansi(text);
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, self.y);
        self.content.show(Str(&bytes));
        self.content.end_text();
    }

    /// Text ending at `x`.
    fn right(&mut self, font: Name<'_>, size: f32, x: f32, text: &str) {
        let w = width(text, size);
        self.text(font, size, x - w, text);
    }

    /// A label and its amount on the totals' side.
    fn figure(&mut self, font: Name<'_>, label: &str, amount: &str) {
        self.text(font, 11.0, 330.0, label);
        self.right(font, 11.0, RIGHT, amount);
    }

    fn rule(&mut self) {
        self.content.set_line_width(0.5);
        self.content.move_to(LEFT, self.y).line_to(RIGHT, self.y).stroke();
    }

    fn finish(self) -> Vec<u8> {
        let (catalog, tree, page_id, regular, bold, content_id) =
            (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids([page_id]).count(1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular);
        fonts.pair(BOLD, bold);
        fonts.finish();
        resources.finish();
        page.finish();
        for (id, face) in [(regular, Name(b"Helvetica")), (bold, Name(b"Helvetica-Bold"))] {
            pdf.type1_font(id).base_font(face).encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        let stream = self.content.finish();
        pdf.stream(content_id, &stream);
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_text_print_as_written() {
        assert_eq!(percent(88_750), "8.875%");
        assert_eq!(percent(200_000), "20%");
        assert_eq!(percent(50_000), "5%");
        assert_eq!(win_ansi("Café ☕"), b"Caf\xe9 ?");
        assert!((width("12.50", 10.0) - 25.02).abs() < 0.01);
    }
}
