//! What a kitchen ticket and a customer receipt look like: domain state in, the drivers'
//! receipt model out. Widths are left to the encoder, which fits rows to each printer's paper.

use thorbis_domain::Currency;
use thorbis_drivers::receipt::{
    Align, Barcode, Cell, CutKind, Paragraph, Receipt, Row, Size, Symbology,
};

use crate::store::{OrderView, TicketView};

/// Printed at the top of reprints so nobody mistakes one for a new order.
const COPY_BANNER: &str = "*** COPY ***";

/// A kitchen ticket: big station and table, one line per item with its modifiers, seat
/// and course, so the line cook reads it from a metre away.
#[must_use]
pub fn kitchen_ticket(ticket: &TicketView, copy: bool) -> Receipt {
    let mut r = Receipt::new();
    if copy {
        r = r.paragraph(Paragraph::new(COPY_BANNER).bold().align(Align::Center));
    }
    let table =
        ticket.table.as_deref().map_or_else(|| "TO GO".to_owned(), |t| format!("TABLE {t}"));
    r = r
        .paragraph(Paragraph::new(ticket.ticket.station.to_uppercase()).bold().align(Align::Center))
        .paragraph(Paragraph::new(table).bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new(format!("Ticket {}", short(ticket.id.0))).align(Align::Center))
        .rule('-');
    for line in &ticket.ticket.lines {
        let mut tags = Vec::new();
        if let Some(seat) = line.seat {
            tags.push(format!("S{seat}"));
        }
        if let Some(course) = line.course {
            tags.push(format!("C{course}"));
        }
        r = r.row(
            Row::new([
                Cell::fixed(5, format!("{}x", line.qty)).bold(),
                Cell::fill(line.name.clone()).bold(),
                Cell::fixed(7, tags.join(" ")).right(),
            ])
            .size(Size::DOUBLE_HEIGHT),
        );
        for modifier in &line.modifiers {
            r = r.row(Row::new([Cell::fixed(5, ""), Cell::fill(format!("+ {modifier}"))]));
        }
        if let Some(note) = &line.note {
            r = r.row(Row::new([Cell::fixed(5, ""), Cell::fill(format!("! {note}"))]));
        }
    }
    r.rule('-').feed(2).cut(CutKind::Partial)
}

/// A customer receipt: lines, discounts, taxes, tenders and change, and a barcode of the
/// order id so a return can look the sale up by scanning.
#[must_use]
pub fn customer_receipt(order: &OrderView, copy: bool) -> Receipt {
    let currency = order.order.currency().unwrap_or(Currency::USD);
    let money = |m: thorbis_domain::Money| m.format(currency);
    let mut r = Receipt::new();
    if copy {
        r = r.paragraph(Paragraph::new(COPY_BANNER).bold().align(Align::Center));
    }
    r = r
        .paragraph(Paragraph::new("THORBIS EDGE").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new(format!("Order {}", short(order.id.0))).align(Align::Center))
        .rule('-');
    let totals = &order.totals;
    for (stamped, figures) in order.order.lines_in_order().into_iter().zip(&totals.lines) {
        let line = &stamped.value;
        if figures.voided {
            continue;
        }
        r = r.row(Row::new([
            Cell::fixed(6, format!("{}", line.qty)),
            Cell::fill(line.name.clone()),
            Cell::fixed(10, money(figures.gross)).right(),
        ]));
        for m in &line.modifiers {
            r = r.row(Row::new([Cell::fixed(6, ""), Cell::fill(format!("+ {}", m.name))]));
        }
        if figures.comp.as_minor() != 0 {
            r = r.row(Row::new([
                Cell::fixed(6, ""),
                Cell::fill("Comp"),
                Cell::fixed(10, money(-figures.comp)).right(),
            ]));
        }
    }
    r = r.rule('-');
    let total_row = |label: &str, amount: String| {
        Row::new([Cell::fill(label.to_owned()), Cell::fixed(12, amount).right()])
    };
    r = r.row(total_row("Subtotal", money(totals.subtotal)));
    if totals.discounts.as_minor() != 0 {
        r = r.row(total_row("Discounts", money(-totals.discounts)));
    }
    for tax in &totals.tax.lines {
        let label = if tax.inclusive { format!("{} (incl.)", tax.name) } else { tax.name.clone() };
        r = r.row(total_row(&label, money(tax.tax)));
    }
    r = r.row(
        Row::new([Cell::fill("TOTAL").bold(), Cell::fixed(12, money(totals.total)).right().bold()])
            .size(Size::DOUBLE_HEIGHT),
    );
    for payment in order.order.payments.values() {
        let p = &payment.value;
        let label = match &p.tender {
            thorbis_domain::events::Tender::Cash { .. } => "Cash".to_owned(),
            thorbis_domain::events::Tender::Card { brand, last4, .. } => {
                format!("{brand} **** {last4}")
            }
            thorbis_domain::events::Tender::Other { name } => name.clone(),
        };
        r = r.row(total_row(&label, money(p.amount)));
        if p.tip.as_minor() != 0 {
            r = r.row(total_row("Tip", money(p.tip)));
        }
        if let thorbis_domain::events::Tender::Cash { tendered, change } = &p.tender {
            r = r.row(total_row("Tendered", money(*tendered)));
            r = r.row(total_row("Change", money(*change)));
        }
    }
    r.rule('-')
        // The id as 39 decimal digits: Code 128 packs digits two per symbol, so the full
        // id fits an 80 mm receipt and a scanner at the register can find the sale.
        .barcode(Barcode::new(Symbology::Code128, order.id.0.as_u128().to_string()))
        .paragraph(Paragraph::new("Thank you").align(Align::Center))
        .feed(2)
        .cut(CutKind::Partial)
}

/// The last 8 hex digits of an id (random bits; a UUIDv7's first digits are its time):
/// enough for a person to match a ticket to a screen.
#[must_use]
pub fn short(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_owned()
}
