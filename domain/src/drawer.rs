//! Cash drawer sessions: a float, the cash that came and went, a blind count, and the
//! Z report that closes the shift.
//!
//! Every figure is a sum of movements, so sessions fold commutatively; the count is the
//! latest one taken (a cashier may recount before closing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{
    DomainEvent, DrawerClosed, DrawerCounted, DrawerOpened, DrawerZReported, Tender,
};
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_first, keep_last};
use crate::money::{Currency, Money};
use crate::order::Order;

/// Takings of one kind of tender in a session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderTotal {
    /// Payments taken.
    pub count: u32,
    /// Amount paid towards orders.
    pub amount: Money,
    /// Tips on top.
    pub tips: Money,
    /// Refunded through this tender.
    pub refunds: Money,
}

/// One drawer session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerSession {
    /// Opening and float.
    pub opened: Option<Stamped<DrawerOpened>>,
    /// Takings per tender label (`cash`, `card`, ...).
    pub tenders: BTreeMap<String, TenderTotal>,
    /// Cash put in outside sales.
    pub paid_in: Money,
    /// Cash taken out outside sales.
    pub paid_out: Money,
    /// Times the drawer was opened without a sale.
    pub no_sales: u32,
    /// The latest blind count.
    pub count: Option<Stamped<DrawerCounted>>,
    /// Closing, if closed.
    pub closed: Option<Stamped<DrawerClosed>>,
    /// The Z report issued at closing, as printed.
    #[serde(default)]
    pub z_report: Option<Stamped<DrawerZReported>>,
}

impl DrawerSession {
    /// The cash that should be in the drawer: float, plus cash takings and tips, plus
    /// pay-ins, less cash refunds and pay-outs.
    #[must_use]
    pub fn expected_cash(&self) -> Money {
        let float = self.opened.as_ref().map_or(Money::ZERO, |o| o.value.float);
        let cash = self.tenders.get("cash").cloned().unwrap_or_default();
        float + cash.amount + cash.tips - cash.refunds + self.paid_in - self.paid_out
    }

    /// Open and not closed.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.opened.is_some() && self.closed.is_none()
    }

    /// The session's currency, once its opening is known.
    #[must_use]
    pub fn currency(&self) -> Option<Currency> {
        self.opened.as_ref().map(|o| o.value.currency)
    }

    fn tender(&mut self, tender: &Tender) -> &mut TenderTotal {
        self.tenders.entry(tender.label().to_owned()).or_default()
    }
}

impl Aggregate for DrawerSession {
    const KIND: &'static str = "drawer";

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::DrawerOpened(e) => keep_first(&mut self.opened, meta, e),
            DomainEvent::PaymentTaken(e) => {
                let t = self.tender(&e.tender);
                t.count += 1;
                t.amount += e.amount;
                t.tips += e.tip;
            }
            DomainEvent::RefundIssued(e) => self.tender(&e.tender).refunds += e.amount,
            DomainEvent::DrawerPaidIn(e) => self.paid_in += e.amount,
            DomainEvent::DrawerPaidOut(e) => self.paid_out += e.amount,
            DomainEvent::DrawerNoSale(_) => self.no_sales += 1,
            DomainEvent::DrawerCounted(e) => keep_last(&mut self.count, meta, e),
            DomainEvent::DrawerClosed(e) => keep_first(&mut self.closed, meta, e),
            DomainEvent::DrawerZReported(e) => keep_first(&mut self.z_report, meta, e),
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.closed.is_none()
    }

    fn finished_at(&self) -> Option<thorbis_sync_protocol::Hlc> {
        self.closed.as_ref().map(|c| c.meta.hlc)
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.drawers
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.drawers
    }
}

/// The end-of-shift figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZReport {
    /// Currency of every amount below.
    pub currency: Currency,
    /// Orders paid in the session.
    pub orders: u32,
    /// Sales before discounts and comps.
    pub gross_sales: Money,
    /// Discounts given.
    pub discounts: Money,
    /// Comps given.
    pub comps: Money,
    /// Voided amounts (not charged).
    pub voids: Money,
    /// Sales after discounts and comps.
    pub net_sales: Money,
    /// Tax collected (inclusive and exclusive).
    pub tax: Money,
    /// Takings per tender.
    pub tenders: BTreeMap<String, TenderTotal>,
    /// Opening float.
    pub float: Money,
    /// Cash put in.
    pub paid_in: Money,
    /// Cash taken out.
    pub paid_out: Money,
    /// No-sale openings.
    pub no_sales: u32,
    /// What should be in the drawer.
    pub expected_cash: Money,
    /// What was counted, if counted.
    pub counted_cash: Option<Money>,
    /// `counted - expected`: positive over, negative short.
    pub over_short: Option<Money>,
}

/// What a count says of a drawer: `counted - expected`, positive over, negative short;
/// `None` until the drawer is counted.
#[must_use]
pub fn over_short(expected: Money, counted: Option<Money>) -> Option<Money> {
    counted.map(|c| c - expected)
}

impl ZReport {
    /// Whether the drawer's own figures (everything but the sales, which come from the
    /// orders) are those of `session` now: what a recorded report is checked against.
    #[must_use]
    pub fn matches_drawer(&self, session: &DrawerSession) -> bool {
        let now = ZReport::new(session, std::iter::empty());
        self.currency == now.currency
            && self.tenders == now.tenders
            && self.float == now.float
            && self.paid_in == now.paid_in
            && self.paid_out == now.paid_out
            && self.no_sales == now.no_sales
            && self.expected_cash == now.expected_cash
            && self.counted_cash == now.counted_cash
            && self.over_short == now.over_short
    }

    /// The Z report of `session`, with the sales figures of `orders`: the orders paid in
    /// it, which projections link to the session by [`Relation::DrawerOrder`].
    ///
    /// [`Relation::DrawerOrder`]: crate::fold::Relation::DrawerOrder
    #[must_use]
    pub fn new<'a>(session: &DrawerSession, orders: impl IntoIterator<Item = &'a Order>) -> Self {
        let currency = session.currency().unwrap_or(Currency::USD);
        let expected_cash = session.expected_cash();
        let counted_cash = session.count.as_ref().map(|c| c.value.counted);
        let mut z = ZReport {
            currency,
            orders: 0,
            gross_sales: Money::ZERO,
            discounts: Money::ZERO,
            comps: Money::ZERO,
            voids: Money::ZERO,
            net_sales: Money::ZERO,
            tax: Money::ZERO,
            tenders: session.tenders.clone(),
            float: session.opened.as_ref().map_or(Money::ZERO, |o| o.value.float),
            paid_in: session.paid_in,
            paid_out: session.paid_out,
            no_sales: session.no_sales,
            expected_cash,
            counted_cash,
            over_short: over_short(expected_cash, counted_cash),
        };
        for order in orders {
            let t = order.totals();
            z.orders += 1;
            z.gross_sales += t.subtotal;
            z.discounts += t.discounts;
            z.comps += t.comps;
            z.voids += t.voids;
            z.net_sales += t.net - t.tax.inclusive;
            z.tax += t.tax.inclusive + t.tax.exclusive;
        }
        z
    }
}
