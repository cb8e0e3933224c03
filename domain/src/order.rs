//! Orders: lines, discounts, comps, voids, kitchen sends, payments, refunds, and the totals
//! computed from them.
//!
//! The aggregate stores facts only; every figure (subtotal, tax, balance) is computed by
//! [`Order::totals`] when asked, so there is no running total that could depend on the
//! order in which facts arrived.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::{
    CourseChanged, DiscountApplied, DiscountRule, DiscountScope, DomainEvent, LineAdded,
    LineComped, LineRepriced, LineVoided, LinesMovedIn, OrderClosed, OrderMerged, OrderOpened,
    OrderTransferred, PaymentTaken, RefundIssued,
};
use crate::fold::{
    Aggregate, EventMeta, Stamped, State, insert_first, insert_last, keep_first, keep_last,
};
use crate::ids::{DiscountId, LineId, OrderId, PaymentId, RefundId, StaffId, TicketId};
use crate::money::{Currency, Money, Qty};
use crate::tax::{self, TaxBreakdown};

use uuid::Uuid;

/// Everything recorded about one order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// How and when it was opened.
    pub opened: Option<Stamped<OrderOpened>>,
    /// Every line ever added, voided ones included.
    pub lines: BTreeMap<LineId, Stamped<LineAdded>>,
    /// Voids by line.
    pub voids: BTreeMap<LineId, Stamped<LineVoided>>,
    /// Comps by line.
    pub comps: BTreeMap<LineId, Stamped<LineComped>>,
    /// Discounts.
    pub discounts: BTreeMap<DiscountId, Stamped<DiscountApplied>>,
    /// Which ticket each sent line went out on.
    pub sent: BTreeMap<LineId, TicketId>,
    /// Payments.
    pub payments: BTreeMap<PaymentId, Stamped<PaymentTaken>>,
    /// Refunds.
    pub refunds: BTreeMap<RefundId, Stamped<RefundIssued>>,
    /// Closing, if closed.
    pub closed: Option<Stamped<OrderClosed>>,
    /// Price overrides made after a line was added (the latest per line wins).
    #[serde(default)]
    pub repriced: BTreeMap<LineId, Stamped<LineRepriced>>,
    /// Lines that left for another order (split, merge), with where they went. They no
    /// longer count here at all: not in the lines, the totals or the voids.
    #[serde(default)]
    pub moved_out: BTreeMap<LineId, Stamped<OrderId>>,
    /// The latest transfer to another table or server.
    #[serde(default)]
    pub transferred: Option<Stamped<OrderTransferred>>,
    /// Set when the order was merged into another: it is finished, like a closed one.
    #[serde(default)]
    pub merged: Option<Stamped<OrderMerged>>,
    /// Courses put on hold, by course number (the first hold of each).
    #[serde(default)]
    pub held_courses: BTreeMap<u16, Stamped<CourseChanged>>,
    /// Courses fired, by course number. A fired course is no longer held, whichever fact
    /// arrived first.
    #[serde(default)]
    pub fired_courses: BTreeMap<u16, Stamped<CourseChanged>>,
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Facts about it arrived but not its opening yet (events from another terminal out of
    /// order). Commands refuse to touch it.
    Unknown,
    /// Taking lines and payments.
    Open,
    /// Paid and closed.
    Closed,
}

/// One line's figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTotal {
    /// The line.
    pub line_id: LineId,
    /// `(unit price + modifiers) * qty`, before any discount.
    pub gross: Money,
    /// Line discounts.
    pub line_discount: Money,
    /// Its share of order-level discounts.
    pub order_discount: Money,
    /// The comped amount (the whole line after its line discounts, if comped).
    pub comp: Money,
    /// What the customer pays for it (before exclusive tax).
    pub net: Money,
    /// Voided lines count in the voids figure and nowhere else.
    pub voided: bool,
}

/// An order's figures, all derived from its facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Per line, in the order they were added, voided lines included.
    pub lines: Vec<LineTotal>,
    /// Sum of gross amounts of lines that are not voided.
    pub subtotal: Money,
    /// Line and order discounts together.
    pub discounts: Money,
    /// Comps.
    pub comps: Money,
    /// Gross amount of voided lines (a reported figure; not charged).
    pub voids: Money,
    /// Subtotal less discounts and comps.
    pub net: Money,
    /// Taxes.
    pub tax: TaxBreakdown,
    /// What the customer owes: net plus exclusive taxes.
    pub total: Money,
    /// Paid by tenders (tips excluded).
    pub paid: Money,
    /// Tips.
    pub tips: Money,
    /// Refunded after closing.
    pub refunded: Money,
    /// `total - paid`: still to pay while open.
    pub balance: Money,
}

impl Order {
    /// Open, closed, or not known here yet.
    #[must_use]
    pub fn status(&self) -> OrderStatus {
        match (&self.opened, &self.closed) {
            (None, _) => OrderStatus::Unknown,
            (Some(_), None) if self.merged.is_none() => OrderStatus::Open,
            (Some(_), _) => OrderStatus::Closed,
        }
    }

    /// The order's currency, once its opening is known.
    #[must_use]
    pub fn currency(&self) -> Option<Currency> {
        self.opened.as_ref().map(|o| o.value.currency)
    }

    /// The table it is at now: the latest transfer's, else the one it was opened at.
    #[must_use]
    pub fn table(&self) -> Option<&str> {
        self.transferred
            .as_ref()
            .and_then(|t| t.value.table.as_deref())
            .or_else(|| self.opened.as_ref().and_then(|o| o.value.table.as_deref()))
    }

    /// Who serves it now: the latest transfer's server, else whoever opened it.
    #[must_use]
    pub fn server(&self) -> Option<StaffId> {
        self.transferred
            .as_ref()
            .and_then(|t| t.value.server)
            .or_else(|| self.opened.as_ref().and_then(|o| o.value.opened_by))
    }

    /// The unit price in force for a line (before modifiers): the latest override, else
    /// the price it was added at.
    #[must_use]
    pub fn unit_price(&self, line: &LineAdded) -> Money {
        self.repriced.get(&line.line_id).map_or(line.unit_price, |r| r.value.unit_price)
    }

    /// Whether a line is still on this order and not voided: the lines commands may act on.
    #[must_use]
    pub fn is_live(&self, line: LineId) -> bool {
        self.lines.contains_key(&line)
            && !self.voids.contains_key(&line)
            && !self.moved_out.contains_key(&line)
    }

    /// Every line on the order, voided ones included, in the order they were added. Lines
    /// moved to another order are not on this one any more.
    #[must_use]
    pub fn lines_in_order(&self) -> Vec<&Stamped<LineAdded>> {
        let mut lines: Vec<_> = self
            .lines
            .values()
            .filter(|l| !self.moved_out.contains_key(&l.value.line_id))
            .collect();
        lines.sort_by_key(|l| l.meta);
        lines
    }

    /// Lines that are not voided (nor moved away), in the order they were added.
    pub fn live_lines(&self) -> impl Iterator<Item = &LineAdded> {
        self.lines_in_order()
            .into_iter()
            .map(|l| &l.value)
            .filter(|l| !self.voids.contains_key(&l.line_id))
    }

    /// Live lines that have not gone to the kitchen yet.
    pub fn unsent_lines(&self) -> impl Iterator<Item = &LineAdded> {
        self.live_lines().filter(|l| !self.sent.contains_key(&l.line_id))
    }

    /// Whether a course is on hold: held and not fired since.
    #[must_use]
    pub fn is_course_held(&self, course: u16) -> bool {
        self.held_courses.contains_key(&course) && !self.fired_courses.contains_key(&course)
    }

    /// Whether a line belongs to a course on hold.
    #[must_use]
    pub fn is_line_held(&self, line: &LineAdded) -> bool {
        line.course.is_some_and(|c| self.is_course_held(c))
    }

    /// The courses of the live lines, in ascending order, each once.
    #[must_use]
    pub fn courses(&self) -> Vec<u16> {
        let mut courses: Vec<u16> = self.live_lines().filter_map(|l| l.course).collect();
        courses.sort_unstable();
        courses.dedup();
        courses
    }

    /// Quantity of a line already refunded.
    #[must_use]
    pub fn refunded_qty(&self, line: LineId) -> Qty {
        self.refunds
            .values()
            .flat_map(|r| &r.value.lines)
            .filter(|l| l.line_id == line)
            .fold(Qty::ZERO, |acc, l| acc + l.qty)
    }

    /// Computes every figure of the order.
    #[must_use]
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        let lines = self.lines_in_order();
        for stamped in &lines {
            let line = &stamped.value;
            let unit = self.unit_price(line) + line.modifiers.iter().map(|m| m.price_delta).sum();
            let gross = unit.times(line.qty);
            let voided = self.voids.contains_key(&line.line_id);
            let line_discount = if voided {
                Money::ZERO
            } else {
                self.discounts
                    .values()
                    .filter(|d| d.value.scope == DiscountScope::Line(line.line_id))
                    .map(|d| discount_amount(d.value.rule, gross))
                    .sum::<Money>()
                    .min(gross)
            };
            let comp = if !voided && self.comps.contains_key(&line.line_id) {
                gross - line_discount
            } else {
                Money::ZERO
            };
            let net = if voided { Money::ZERO } else { gross - line_discount - comp };
            t.lines.push(LineTotal {
                line_id: line.line_id,
                gross,
                line_discount,
                order_discount: Money::ZERO,
                comp,
                net,
                voided,
            });
        }
        self.allocate_order_discounts(&mut t.lines);

        for l in &t.lines {
            if l.voided {
                t.voids += l.gross;
            } else {
                t.subtotal += l.gross;
                t.discounts += l.line_discount + l.order_discount;
                t.comps += l.comp;
                t.net += l.net;
            }
        }
        t.tax = tax::compute(
            t.lines
                .iter()
                .zip(&lines)
                .filter(|(l, _)| !l.voided)
                .map(|(l, added)| (l.net, added.value.taxes.as_slice())),
        );
        t.total = t.net + t.tax.exclusive;
        for p in self.payments.values() {
            t.paid += p.value.amount;
            t.tips += p.value.tip;
        }
        t.refunded = self.refunds.values().map(|r| r.value.amount).sum();
        t.balance = t.total - t.paid;
        t
    }

    /// Spreads order-level discounts over the live lines in proportion to their net
    /// amounts (largest remainder, ties to the earliest line), so that tax is computed on
    /// what was actually charged for each rate.
    fn allocate_order_discounts(&self, lines: &mut [LineTotal]) {
        let base: Money = lines.iter().map(|l| l.net).sum();
        if base.as_minor() <= 0 {
            return;
        }
        let total = self
            .discounts
            .values()
            .filter(|d| d.value.scope == DiscountScope::Order)
            .map(|d| discount_amount(d.value.rule, base))
            .sum::<Money>()
            .min(base);
        if total.as_minor() <= 0 {
            return;
        }
        let (total, base) = (i128::from(total.as_minor()), i128::from(base.as_minor()));
        let mut given = 0_i128;
        let mut remainders: Vec<(i128, usize)> = Vec::new();
        for (i, l) in lines.iter_mut().enumerate() {
            let exact = i128::from(l.net.as_minor()) * total;
            let share = exact / base;
            l.order_discount = Money(share as i64);
            given += share;
            remainders.push((exact % base, i));
        }
        // Highest remainder first; for equal remainders the earlier line (lower index).
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders.into_iter().take((total - given) as usize) {
            lines[i].order_discount += Money(1);
        }
        for l in lines.iter_mut() {
            l.net -= l.order_discount;
        }
    }
}

impl Order {
    /// Folds lines arriving from another order: each becomes a line of this order (keyed
    /// by its new id, so the fold stays commutative) with its comp, discounts and send.
    fn move_in(&mut self, meta: &EventMeta, e: &LinesMovedIn) {
        for moved in &e.lines {
            let id = moved.line.line_id;
            insert_first(&mut self.lines, id, meta, &moved.line);
            if let Some(comp) = &moved.comp {
                insert_first(&mut self.comps, id, meta, comp);
            }
            for d in &moved.discounts {
                insert_first(&mut self.discounts, d.discount_id, meta, d);
            }
            if let Some(ticket) = moved.sent {
                let entry = self.sent.entry(id).or_insert(ticket);
                if ticket < *entry {
                    *entry = ticket;
                }
            }
        }
    }
}

/// `balance` in `parts` tenders for an even split: each `balance / parts` (integer
/// division of minor units), the remainder cents on the last, so they add up exactly.
/// Empty when `parts` is zero or the balance is not above zero.
#[must_use]
pub fn even_split(balance: Money, parts: u16) -> Vec<Money> {
    if parts == 0 || balance.as_minor() <= 0 {
        return Vec::new();
    }
    let n = i64::from(parts);
    let each = balance.as_minor() / n;
    let mut split = vec![Money(each); usize::from(parts)];
    if let Some(last) = split.last_mut() {
        *last = Money(balance.as_minor() - each * (n - 1));
    }
    split
}

fn discount_amount(rule: DiscountRule, of: Money) -> Money {
    match rule {
        DiscountRule::PercentBps(bps) => of.percent_bps(bps.min(10_000)),
        DiscountRule::Amount(a) => a.min(of),
    }
}

impl Aggregate for Order {
    const KIND: &'static str = "order";

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::OrderOpened(e) => keep_first(&mut self.opened, meta, e),
            DomainEvent::LineAdded(e) => insert_first(&mut self.lines, e.line_id, meta, e),
            DomainEvent::LineVoided(e) => insert_first(&mut self.voids, e.line_id, meta, e),
            DomainEvent::LineComped(e) => insert_first(&mut self.comps, e.line_id, meta, e),
            DomainEvent::DiscountApplied(e) => {
                insert_first(&mut self.discounts, e.discount_id, meta, e);
            }
            DomainEvent::SentToKitchen(e) => {
                for ticket in &e.tickets {
                    for line in &ticket.lines {
                        // A line is sent once; if two terminals raced, the smaller ticket
                        // id is recorded, whichever arrived first.
                        let entry = self.sent.entry(line.line_id).or_insert(ticket.ticket_id);
                        if ticket.ticket_id < *entry {
                            *entry = ticket.ticket_id;
                        }
                    }
                }
            }
            DomainEvent::PaymentTaken(e) => insert_first(&mut self.payments, e.payment_id, meta, e),
            DomainEvent::RefundIssued(e) => insert_first(&mut self.refunds, e.refund_id, meta, e),
            DomainEvent::OrderClosed(e) => keep_first(&mut self.closed, meta, e),
            DomainEvent::LineRepriced(e) => insert_last(&mut self.repriced, e.line_id, meta, e),
            DomainEvent::LinesMovedOut(e) => {
                for line in &e.lines {
                    insert_first(&mut self.moved_out, *line, meta, &e.to);
                }
            }
            DomainEvent::LinesMovedIn(e) => self.move_in(meta, e),
            DomainEvent::OrderTransferred(e) => keep_last(&mut self.transferred, meta, e),
            DomainEvent::OrderMerged(e) => keep_first(&mut self.merged, meta, e),
            DomainEvent::CourseHeld(e) => insert_first(&mut self.held_courses, e.course, meta, e),
            DomainEvent::CourseFired(e) => {
                insert_first(&mut self.fired_courses, e.course, meta, e);
            }
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.status() != OrderStatus::Closed
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.orders
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_even_split_puts_the_remainder_cents_on_the_last_part() {
        assert_eq!(even_split(Money(10_00), 3), vec![Money(3_33), Money(3_33), Money(3_34)]);
        assert_eq!(even_split(Money(11), 4), vec![Money(2), Money(2), Money(2), Money(5)]);
        assert_eq!(even_split(Money(9_00), 3), vec![Money(3_00); 3]);
        assert_eq!(even_split(Money(2), 3), vec![Money(0), Money(0), Money(2)]);
        assert_eq!(even_split(Money(5_00), 1), vec![Money(5_00)]);
        assert!(even_split(Money(5_00), 0).is_empty());
        assert!(even_split(Money::ZERO, 2).is_empty());
        for (balance, n) in [(1_234_567, 7), (99, 10), (1, 1)] {
            let parts = even_split(Money(balance), n);
            assert_eq!(parts.iter().map(|m| m.as_minor()).sum::<i64>(), balance);
        }
    }
}
