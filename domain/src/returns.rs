//! Returns against a receipt: what handing back some of a sale's goods is worth.
//!
//! A returned quantity is refunded at what the customer actually paid for it: the line's
//! net (after its discounts, its share of order discounts, and comps) in proportion to the
//! quantity returned, plus the tax added on top of that amount, rounded as the order's tax
//! is (once per rate). When a return hands back everything still unreturned, it refunds
//! exactly what is left of the total, so a sale returned in parts refunds its total to the
//! minor unit. A refund never exceeds what is left of the total.

use crate::ids::LineId;
use crate::money::{Money, Qty, div_round};
use crate::order::Order;
use crate::tax;

/// The refund due for returning `lines` (line, quantity) of `order`. Lines or quantities
/// the order does not have count for nothing (the `Refund` command refuses them).
#[must_use]
pub fn refund_due(order: &Order, lines: &[(LineId, Qty)]) -> Money {
    let totals = order.totals();
    let left = (totals.total - totals.refunded).max(Money::ZERO);
    let mut shares = Vec::with_capacity(lines.len());
    for &(line_id, qty) in lines {
        let Some(added) = order.lines.get(&line_id).map(|l| &l.value) else { continue };
        let Some(figures) = totals.lines.iter().find(|t| t.line_id == line_id) else { continue };
        if figures.voided || added.qty.0 <= 0 || qty.0 <= 0 {
            continue;
        }
        let qty = qty.min(added.qty);
        let net = div_round(
            i128::from(figures.net.as_minor()) * i128::from(qty.0),
            i128::from(added.qty.0),
        );
        shares.push((Money(net), added.taxes.as_slice()));
    }
    let everything = order.live_lines().all(|l| {
        let returning: Qty =
            lines.iter().filter(|(id, _)| *id == l.line_id).fold(Qty::ZERO, |acc, (_, q)| acc + *q);
        order.refunded_qty(l.line_id) + returning >= l.qty
    });
    if everything {
        return left;
    }
    let net: Money = shares.iter().map(|(m, _)| *m).sum();
    let due = net + tax::compute(shares.iter().map(|(m, t)| (*m, *t))).exclusive;
    due.min(left)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::events::{
        DiscountApplied, DiscountRule, DiscountScope, DomainEvent, LineAdded, OrderOpened,
        RefundIssued, RefundLine, ServiceMode, Tender,
    };
    use crate::fold::{Aggregate, EventMeta};
    use crate::ids::{DiscountId, ItemId, OrderId, RefundId, TaxRateId};
    use crate::money::Currency;
    use crate::tax::TaxRate;

    const ORDER: OrderId = OrderId(Uuid::from_u128(1));

    fn meta(n: u64) -> EventMeta {
        EventMeta {
            hlc: thorbis_sync_protocol::Hlc { wall_ms: n, counter: 0 },
            id: thorbis_sync_protocol::EventId {
                device_id: thorbis_sync_protocol::DeviceId([9; 16]),
                seq: n,
            },
        }
    }

    fn line(n: u128, unit: i64, qty: Qty, taxed: bool) -> DomainEvent {
        DomainEvent::LineAdded(LineAdded {
            order_id: ORDER,
            line_id: LineId(Uuid::from_u128(n)),
            item_id: ItemId(Uuid::from_u128(n)),
            name: format!("item {n}"),
            unit_price: Money(unit),
            qty,
            modifiers: Vec::new(),
            seat: None,
            course: None,
            taxes: if taxed {
                vec![TaxRate {
                    id: TaxRateId(Uuid::from_u128(77)),
                    name: "Tax 10%".into(),
                    ppm: 100_000,
                    inclusive: false,
                }]
            } else {
                Vec::new()
            },
            station: None,
            note: None,
            price_override_by: None,
        })
    }

    fn order(events: &[DomainEvent]) -> Order {
        let mut o = Order::default();
        let open = DomainEvent::OrderOpened(OrderOpened {
            order_id: ORDER,
            currency: Currency::USD,
            mode: ServiceMode::Retail,
            table: None,
            guests: None,
            opened_by: None,
        });
        o.apply(ORDER.0, &meta(1), &open);
        for (i, e) in events.iter().enumerate() {
            o.apply(ORDER.0, &meta(i as u64 + 2), e);
        }
        o
    }

    fn id(n: u128) -> LineId {
        LineId(Uuid::from_u128(n))
    }

    #[test]
    fn a_part_is_its_net_share_plus_tax_and_the_rest_is_what_is_left() {
        // 3 × 3.33 taxed at 10 % with 1.00 off the order, and 0.750 kg at 2.49 untaxed.
        let mut o = order(&[
            line(10, 3_33, Qty::units(3), true),
            line(11, 2_49, Qty::milli(750), false),
            DomainEvent::DiscountApplied(DiscountApplied {
                order_id: ORDER,
                discount_id: DiscountId(Uuid::from_u128(5)),
                scope: DiscountScope::Order,
                rule: DiscountRule::Amount(Money(1_00)),
                reason: "loyalty".into(),
                approved_by: None,
            }),
        ]);
        let t = o.totals();
        // Gross 9.99 + 1.87 = 11.86; 1.00 off split 0.84 / 0.16; tax on 9.15 = 0.92 (0.915).
        assert_eq!(t.total, Money(11_86 - 1_00 + 92));
        // One of three: 9.15 / 3 = 3.05, tax 0.31 (0.305 rounds half away from zero).
        let one = refund_due(&o, &[(id(10), Qty::units(1))]);
        assert_eq!(one, Money(3_05 + 31));
        o.apply(
            ORDER.0,
            &meta(50),
            &DomainEvent::RefundIssued(RefundIssued {
                refund_id: RefundId(Uuid::from_u128(60)),
                order_id: ORDER,
                amount: one,
                lines: vec![RefundLine {
                    line_id: id(10),
                    item_id: ItemId(Uuid::from_u128(10)),
                    qty: Qty::units(1),
                }],
                tender: Tender::Cash { tendered: one, change: Money::ZERO },
                reason: "changed mind".into(),
                approved_by: None,
                drawer_session: None,
            }),
        );
        // The rest: exactly what is left, whatever the rounding of the parts.
        let rest = refund_due(&o, &[(id(10), Qty::units(2)), (id(11), Qty::milli(750))]);
        assert_eq!(one + rest, t.total);
        // Quantities above what was sold count only what was sold; unknown lines nothing.
        assert_eq!(refund_due(&o, &[(id(99), Qty::units(1))]), Money::ZERO);
        assert_eq!(
            refund_due(&o, &[(id(11), Qty::milli(5_000))]),
            refund_due(&o, &[(id(11), Qty::milli(750))])
        );
    }
}
