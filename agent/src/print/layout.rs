//! What a kitchen ticket, a customer receipt, a refund receipt and a drawer's Z report look
//! like: domain state in, the drivers' receipt model out. Widths are left to the encoder,
//! which fits rows to each printer's paper.
//!
//! Receipts carry their **receipt number** as a Code 128 barcode: the order id as 39
//! decimal digits ([`receipt_number`]), which a return scans to find the sale
//! ([`parse_receipt_number`]).

use thorbis_domain::drawer::ZReport;
use thorbis_domain::events::Tender;
use thorbis_domain::ids::{DrawerSessionId, OrderId, RefundId};
use thorbis_drivers::receipt::{
    Align, Barcode, Cell, CutKind, DrawerPulse, Paragraph, Receipt, Row, Size, Symbology,
};

use crate::store::{OrderView, TicketView};

/// The number printed (and barcoded) on a sale's receipt: its order id as decimal digits.
/// Code 128 packs digits two per symbol, so the full id fits an 80 mm receipt, and a
/// keyboard-wedge scanner types nothing but digits.
#[must_use]
pub fn receipt_number(order: OrderId) -> String {
    order.0.as_u128().to_string()
}

/// The order a receipt number names: the digits [`receipt_number`] prints, or the order id
/// itself. `None` for anything else.
#[must_use]
pub fn parse_receipt_number(text: &str) -> Option<OrderId> {
    let text = text.trim();
    if !text.is_empty() && text.len() <= 39 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u128>().ok().map(|n| OrderId(uuid::Uuid::from_u128(n)));
    }
    uuid::Uuid::try_parse(text).ok().map(OrderId)
}

/// Printed at the top of reprints so nobody mistakes one for a new order.
const COPY_BANNER: &str = "*** COPY ***";

/// An empty document, under the copy banner when it is a reprint.
fn begin(copy: bool) -> Receipt {
    let r = Receipt::new();
    if copy { r.paragraph(Paragraph::new(COPY_BANNER).bold().align(Align::Center)) } else { r }
}

/// The store's name heading a customer's receipt or refund.
fn store_name() -> Paragraph {
    Paragraph::new("THORBIS EDGE").bold().size(Size::DOUBLE).align(Align::Center)
}

/// A kitchen ticket: big station and table, one line per item with its modifiers, seat
/// and course, so the line cook reads it from a metre away.
#[must_use]
pub fn kitchen_ticket(ticket: &TicketView, copy: bool) -> Receipt {
    let mut r = begin(copy);
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
    let currency = order.currency;
    let money = |m: thorbis_domain::Money| m.format(currency);
    let mut r = begin(copy);
    // Cash went into the drawer (or change comes out of it): the drawer opens as the
    // receipt prints. A copy never opens it.
    let cash = order.order.payments.values().any(|p| matches!(p.value.tender, Tender::Cash { .. }));
    if cash && !copy {
        r = r.kick_drawer(DrawerPulse::default());
    }
    let mut r = r
        .paragraph(store_name())
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
        r = r.row(total_row(&tender_label(&p.tender), money(p.amount)));
        if p.tip.as_minor() != 0 {
            r = r.row(total_row("Tip", money(p.tip)));
        }
        if let Tender::Cash { tendered, change } = &p.tender {
            r = r.row(total_row("Tendered", money(*tendered)));
            r = r.row(total_row("Change", money(*change)));
        }
    }
    r.rule('-')
        .paragraph(Paragraph::new("Receipt for returns").align(Align::Center))
        .barcode(Barcode::new(Symbology::Code128, receipt_number(order.id)))
        .paragraph(Paragraph::new("Thank you").align(Align::Center))
        .feed(2)
        .cut(CutKind::Partial)
}

fn tender_label(tender: &Tender) -> String {
    match tender {
        Tender::Cash { .. } => "Cash".to_owned(),
        Tender::Card { brand, last4, .. } => format!("{brand} **** {last4}"),
        Tender::Other { name } => name.clone(),
    }
}

/// A refund receipt: the goods handed back, the amount and how it was paid back, under
/// the sale's receipt number.
#[must_use]
pub fn refund_receipt(order: &OrderView, refund_id: RefundId, copy: bool) -> Option<Receipt> {
    let refund = &order.order.refunds.get(&refund_id)?.value;
    let currency = order.currency;
    let money = |m: thorbis_domain::Money| m.format(currency);
    let mut r = begin(copy);
    // Cash paid back comes out of the drawer.
    if matches!(refund.tender, Tender::Cash { .. }) && !copy {
        r = r.kick_drawer(DrawerPulse::default());
    }
    let mut r = r
        .paragraph(store_name())
        .paragraph(Paragraph::new("REFUND").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new(format!("Refund {}", short(refund_id.0))).align(Align::Center))
        .paragraph(Paragraph::new(format!("Order {}", short(order.id.0))).align(Align::Center))
        .rule('-');
    for returned in &refund.lines {
        let name = order
            .order
            .lines
            .get(&returned.line_id)
            .map_or_else(|| "Item".to_owned(), |l| l.value.name.clone());
        r = r.row(Row::new([Cell::fixed(6, format!("{}", returned.qty)), Cell::fill(name)]));
    }
    r = r.rule('-').row(
        Row::new([
            Cell::fill("REFUNDED").bold(),
            Cell::fixed(12, money(refund.amount)).right().bold(),
        ])
        .size(Size::DOUBLE_HEIGHT),
    );
    r = r
        .row(Row::new([
            Cell::fill(tender_label(&refund.tender)),
            Cell::fixed(12, money(refund.amount)).right(),
        ]))
        .row(Row::new([Cell::fill(format!("Reason: {}", refund.reason))]));
    Some(
        r.rule('-')
            .barcode(Barcode::new(Symbology::Code128, receipt_number(order.id)))
            .feed(2)
            .cut(CutKind::Partial),
    )
}

/// A no-sale slip: opens the cash drawer (the kick goes with the slip, so the drawer opens
/// only once the no-sale is on record) and says who opened it and why.
#[must_use]
pub fn no_sale_slip(
    session_id: DrawerSessionId,
    reason: &str,
    by: Option<&str>,
    copy: bool,
) -> Receipt {
    let mut r = begin(copy);
    if !copy {
        r = r.kick_drawer(DrawerPulse::default());
    }
    r.paragraph(Paragraph::new("NO SALE").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new(format!("Drawer {}", short(session_id.0))).align(Align::Center))
        .rule('-')
        .row(Row::new([Cell::fill(format!("By: {}", by.unwrap_or("unknown")))]))
        .row(Row::new([Cell::fill(format!("Reason: {reason}"))]))
        .feed(2)
        .cut(CutKind::Partial)
}

/// A drawer session's Z report: takings by tender, cash in and out, no-sales, and the
/// expected cash against the blind count.
#[must_use]
pub fn z_report(session_id: DrawerSessionId, z: &ZReport, copy: bool) -> Receipt {
    let money = |m: thorbis_domain::Money| m.format(z.currency);
    let row = |label: String, amount: String| {
        Row::new([Cell::fill(label), Cell::fixed(14, amount).right()])
    };
    let mut r = begin(copy);
    r = r
        .paragraph(Paragraph::new("Z REPORT").bold().size(Size::DOUBLE).align(Align::Center))
        .paragraph(Paragraph::new(format!("Drawer {}", short(session_id.0))).align(Align::Center))
        .rule('-')
        .row(row("Orders".into(), z.orders.to_string()))
        .row(row("Gross sales".into(), money(z.gross_sales)))
        .row(row("Discounts".into(), money(z.discounts)))
        .row(row("Comps".into(), money(z.comps)))
        .row(row("Voids".into(), money(z.voids)))
        .row(row("Net sales".into(), money(z.net_sales)))
        .row(row("Tax".into(), money(z.tax)))
        .rule('-')
        .paragraph(Paragraph::new("TENDERS").bold());
    for (tender, t) in &z.tenders {
        r = r.row(row(format!("{tender} ({})", t.count), money(t.amount)));
        if t.tips.as_minor() != 0 {
            r = r.row(row(format!("{tender} tips"), money(t.tips)));
        }
        if t.refunds.as_minor() != 0 {
            r = r.row(row(format!("{tender} refunds"), money(-t.refunds)));
        }
    }
    r = r
        .rule('-')
        .paragraph(Paragraph::new("CASH").bold())
        .row(row("Float".into(), money(z.float)))
        .row(row("Pay-ins".into(), money(z.paid_in)))
        .row(row("Pay-outs".into(), money(-z.paid_out)))
        .row(row("No-sales".into(), z.no_sales.to_string()))
        .row(row("Expected".into(), money(z.expected_cash)))
        .row(row("Counted".into(), z.counted_cash.map_or_else(|| "not counted".to_owned(), money)));
    if let Some(over_short) = z.over_short {
        let label = match over_short.as_minor().signum() {
            1 => "OVER",
            -1 => "SHORT",
            _ => "EVEN",
        };
        r = r.row(
            Row::new([Cell::fill(label).bold(), Cell::fixed(14, money(over_short)).right().bold()])
                .size(Size::DOUBLE_HEIGHT),
        );
    }
    r.rule('-').feed(2).cut(CutKind::Partial)
}

/// The last 8 hex digits of an id (random bits; a UUIDv7's first digits are its time):
/// enough for a person to match a ticket to a screen.
#[must_use]
pub fn short(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use thorbis_domain::Currency;

    #[test]
    fn receipt_numbers_name_their_order_and_nothing_else() {
        for id in [uuid::Uuid::nil(), uuid::Uuid::max(), uuid::Uuid::from_u128(0x0193_abcd)] {
            let number = receipt_number(OrderId(id));
            assert!(number.len() <= 39 && number.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(parse_receipt_number(&number), Some(OrderId(id)));
            assert_eq!(parse_receipt_number(&format!(" {number} ")), Some(OrderId(id)));
            assert_eq!(parse_receipt_number(&id.to_string()), Some(OrderId(id)));
        }
        // Past u128, too long, signed, or not digits at all.
        let too_big = "340282366920938463463374607431768211456";
        for bad in ["", "abc", "-5", "1.5", too_big, &"9".repeat(40), "12 34"] {
            assert_eq!(parse_receipt_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_cash_receipt_opens_the_drawer_and_a_card_receipt_or_a_copy_does_not() {
        use thorbis_domain::command::TenderInput;
        use thorbis_domain::{Command, Money};
        use thorbis_drivers::receipt::Block;

        use crate::seed::{self, SaleIds};
        use crate::{Store, StoreConfig};

        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        store.execute_all(&seed::catalog()).unwrap();
        let drawer = DrawerSessionId(store.new_id());
        store.execute(&seed::open_drawer(drawer)).unwrap();
        let kicks = |receipt: &Receipt| {
            receipt.blocks.iter().filter(|b| matches!(b, Block::Drawer(_))).count()
        };

        let cash = SaleIds::new(|| store.new_id());
        store.execute_all(&seed::typical_sale(cash, drawer)).unwrap();
        let cash = store.order(cash.order).unwrap().unwrap();
        assert_eq!(kicks(&customer_receipt(&cash, false)), 1);
        assert_eq!(kicks(&customer_receipt(&cash, true)), 0, "a copy never opens the drawer");

        let card = SaleIds::new(|| store.new_id());
        let mut sale = seed::typical_sale(card, drawer);
        if let Some(Command::TakePayment { tender, .. }) = sale.get_mut(4) {
            *tender = TenderInput::Card {
                brand: "VISA".into(),
                last4: "4242".into(),
                auth_code: "A1".into(),
            };
        }
        store.execute_all(&sale).unwrap();
        let card = store.order(card.order).unwrap().unwrap();
        assert!(card.order.payments.values().all(|p| p.value.amount > Money::ZERO));
        assert_eq!(kicks(&customer_receipt(&card, false)), 0);
    }

    #[test]
    fn a_z_report_prints_every_drawer_figure() {
        use std::collections::BTreeMap;

        use thorbis_domain::Money;
        use thorbis_domain::drawer::TenderTotal;
        use thorbis_drivers::profile::PrinterProfile;

        let z = ZReport {
            currency: Currency::USD,
            orders: 2,
            gross_sales: Money(30_00),
            discounts: Money(1_00),
            comps: Money::ZERO,
            voids: Money(2_00),
            net_sales: Money(29_00),
            tax: Money(1_50),
            tenders: BTreeMap::from([(
                "cash".to_owned(),
                TenderTotal {
                    count: 2,
                    amount: Money(30_50),
                    tips: Money::ZERO,
                    refunds: Money(5_00),
                },
            )]),
            float: Money(100_00),
            paid_in: Money(20_00),
            paid_out: Money(3_00),
            no_sales: 1,
            expected_cash: Money(142_50),
            counted_cash: Some(Money(143_00)),
            over_short: Some(Money(50)),
        };
        let receipt = z_report(DrawerSessionId(uuid::Uuid::from_u128(7)), &z, false);
        let profile = PrinterProfile::builtin("epson-tm-t88").unwrap();
        let bytes = thorbis_drivers::encoder::Encoder::new(&profile).encode(&receipt).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "Z REPORT",
            "cash (2)",
            "30.50",
            "cash refunds",
            "-5.00",
            "Pay-ins",
            "20.00",
            "Pay-outs",
            "-3.00",
            "No-sales",
            "Expected",
            "142.50",
            "Counted",
            "143.00",
            "OVER",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from the Z report");
        }
    }
}
