//! Commands: what a terminal asks for, checked against current state, turned into events.
//!
//! [`decide`] is pure: it reads state through [`ReadModel`], mints ids through
//! [`IdSource`], and returns the events to record or a [`CommandError`] that says what is
//! wrong. Nothing is written when it refuses. The agent's store runs it inside the
//! transaction that appends the events, so the check and the write see the same state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::{
    Category, Item, ModifierError, ModifierGroup, Staff, looks_like_argon2id_phc, resolve_modifiers,
};
use crate::drawer::DrawerSession;
use crate::events::{
    AvailabilitySet, DiscountApplied, DiscountRule, DiscountScope, DomainEvent, DrawerCashMoved,
    DrawerClosed, DrawerCounted, DrawerNoSale, DrawerOpened, KitchenTicket, LineAdded, LineComped,
    LineModifier, LineVoided, OrderClosed, OrderOpened, PaymentTaken, RefundIssued, RefundLine,
    SentToKitchen, ServiceMode, StockMoved, StockReason, Tender, TicketLine, TicketStateChanged,
};
use crate::fold::{Aggregate, State, Versioned};
use crate::ids::{
    DiscountId, DrawerSessionId, ItemId, LineId, ModifierId, OrderId, PaymentId, RefundId, StaffId,
    TicketId,
};
use crate::kitchen::Ticket;
use crate::money::{Currency, Money, Qty};
use crate::order::{Order, OrderStatus};
use crate::stock::{Availability, StockLevel};
use crate::tax::{TaxCategory, TaxRate};

/// Read access to current state, by aggregate type and id.
pub trait ReadModel {
    /// The aggregate stored under `id`, if any.
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError>;
}

impl ReadModel for State {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        Ok(State::get::<A>(self, id).cloned())
    }
}

/// Storage failed while a command was being checked.
#[derive(Debug, thiserror::Error)]
#[error("reading state failed: {0}")]
pub struct ReadError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// A source of fresh ids (UUIDv7 in the agent, a counter in tests).
pub trait IdSource {
    /// A new, never used id.
    fn next_id(&mut self) -> Uuid;
}

/// Business limits a location may tune.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The most change a cash tender may give back; above it the cashier mistyped.
    pub max_change: Money,
    /// The largest tip, in basis points of the amount it is on.
    pub max_tip_bps: u32,
    /// Discounts above this many basis points need a manager.
    pub discount_approval_bps: u32,
    /// Fixed discounts above this amount need a manager.
    pub discount_approval_amount: Money,
    /// The largest quantity on one line.
    pub max_line_qty: Qty,
    /// The largest amount anywhere (prices, tenders, floats).
    pub max_amount: Money,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_change: Money(500_00),
            max_tip_bps: 10_000,
            discount_approval_bps: 1_000,
            discount_approval_amount: Money(10_00),
            max_line_qty: Qty::units(9_999),
            max_amount: Money(100_000_000_00),
        }
    }
}

/// What a cashier hands over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum TenderInput {
    /// Cash: the amount handed over. Change is computed.
    Cash { tendered: Money },
    /// An external card terminal approved the payment.
    Card { brand: String, last4: String, auth_code: String },
    /// Voucher, house account.
    Other { name: String },
}

/// A manager's price override on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// The new unit price.
    pub unit_price: Money,
    /// Who approved it.
    pub approved_by: StaffId,
}

/// Everything a terminal can ask the domain to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
#[allow(missing_docs)]
pub enum Command {
    PublishItem(Item),
    PublishCategory(Category),
    PublishModifierGroup(ModifierGroup),
    PublishTaxRate(TaxRate),
    PublishTaxCategory(TaxCategory),
    PublishStaff(Staff),
    SetAvailability {
        item_id: ItemId,
        available: bool,
        by: Option<StaffId>,
    },
    OpenOrder {
        order_id: OrderId,
        currency: Currency,
        mode: ServiceMode,
        table: Option<String>,
        guests: Option<u16>,
        staff: Option<StaffId>,
    },
    AddLine {
        order_id: OrderId,
        line_id: LineId,
        item_id: ItemId,
        qty: Qty,
        modifiers: Vec<ModifierId>,
        seat: Option<u16>,
        course: Option<u16>,
        note: Option<String>,
        price_override: Option<PriceOverride>,
    },
    VoidLine {
        order_id: OrderId,
        line_id: LineId,
        reason: String,
        approved_by: Option<StaffId>,
    },
    CompLine {
        order_id: OrderId,
        line_id: LineId,
        reason: String,
        approved_by: Option<StaffId>,
    },
    ApplyDiscount {
        order_id: OrderId,
        discount_id: DiscountId,
        scope: DiscountScope,
        rule: DiscountRule,
        reason: String,
        approved_by: Option<StaffId>,
    },
    SendToKitchen {
        order_id: OrderId,
    },
    BumpTicket {
        ticket_id: TicketId,
    },
    RecallTicket {
        ticket_id: TicketId,
    },
    TakePayment {
        order_id: OrderId,
        payment_id: PaymentId,
        tender: TenderInput,
        /// What this tender pays; `None` pays the whole balance (split tenders name it).
        amount: Option<Money>,
        tip: Money,
        drawer_session: Option<DrawerSessionId>,
        staff: Option<StaffId>,
    },
    CloseOrder {
        order_id: OrderId,
        staff: Option<StaffId>,
    },
    Refund {
        order_id: OrderId,
        refund_id: RefundId,
        amount: Money,
        lines: Vec<(LineId, Qty)>,
        tender: TenderInput,
        reason: String,
        approved_by: Option<StaffId>,
        drawer_session: Option<DrawerSessionId>,
    },
    OpenDrawer {
        session_id: DrawerSessionId,
        currency: Currency,
        float: Money,
        staff: Option<StaffId>,
    },
    PayIn {
        session_id: DrawerSessionId,
        amount: Money,
        reason: String,
        staff: Option<StaffId>,
    },
    PayOut {
        session_id: DrawerSessionId,
        amount: Money,
        reason: String,
        staff: Option<StaffId>,
    },
    NoSale {
        session_id: DrawerSessionId,
        reason: String,
        staff: Option<StaffId>,
    },
    CountDrawer {
        session_id: DrawerSessionId,
        counted: Money,
        staff: Option<StaffId>,
    },
    CloseDrawer {
        session_id: DrawerSessionId,
        staff: Option<StaffId>,
    },
    ReceiveStock {
        item_id: ItemId,
        qty: Qty,
        note: String,
    },
    AdjustStock {
        item_id: ItemId,
        delta: Qty,
        note: String,
    },
    CountStock {
        item_id: ItemId,
        counted: Qty,
    },
}

/// Why a command was refused. Each says what is wrong in words a cashier's screen can show.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)]
pub enum CommandError {
    #[error("unknown item {0}")]
    UnknownItem(ItemId),
    #[error("item \"{0}\" is no longer sold")]
    ItemRetired(String),
    #[error("item \"{0}\" is 86'd (unavailable)")]
    ItemUnavailable(String),
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
    #[error("order {0} already exists")]
    OrderExists(OrderId),
    #[error("order {0} is closed")]
    OrderClosed(OrderId),
    #[error("order {0} is still open")]
    OrderOpen(OrderId),
    #[error("order {order} has no line {line}")]
    UnknownLine { order: OrderId, line: LineId },
    #[error("line {0} already exists")]
    LineExists(LineId),
    #[error("line {0} is already voided")]
    LineVoided(LineId),
    #[error("line {0} is already comped")]
    LineComped(LineId),
    #[error("{0} already exists")]
    DuplicateId(Uuid),
    #[error("quantity must be above zero and at most {max:?}, got {got:?}")]
    InvalidQuantity { got: Qty, max: Qty },
    #[error("\"{0}\" is sold in whole units")]
    WholeUnitsOnly(String),
    #[error("{what} must be {rule}")]
    InvalidAmount { what: &'static str, rule: &'static str },
    #[error(transparent)]
    Modifiers(#[from] ModifierError),
    #[error("{0}")]
    InvalidText(String),
    #[error(
        "a staff PIN must be published as its argon2id hash (a PHC string); plain PINs are never recorded"
    )]
    InvalidPinHash,
    #[error("{0} requires a manager's approval")]
    ApprovalRequired(&'static str),
    #[error("nothing to send to the kitchen")]
    NothingToSend,
    #[error("unknown kitchen ticket {0}")]
    UnknownTicket(TicketId),
    #[error("ticket {0} is already bumped")]
    AlreadyBumped(TicketId),
    #[error("ticket {0} is not bumped")]
    NotBumped(TicketId),
    #[error("nothing left to pay on order {0}")]
    NothingToPay(OrderId),
    #[error("tender of {amount:?} exceeds the balance of {balance:?}")]
    TenderExceedsBalance { amount: Money, balance: Money },
    #[error("change of {change:?} exceeds the limit of {limit:?}; check the amount tendered")]
    ChangeTooLarge { change: Money, limit: Money },
    #[error("tender of {tendered:?} does not cover {amount:?}")]
    TenderTooSmall { tendered: Money, amount: Money },
    #[error("tip of {tip:?} exceeds the limit of {limit:?}")]
    TipTooLarge { tip: Money, limit: Money },
    #[error("invalid card details: {0}")]
    InvalidCard(&'static str),
    #[error("order {order} still has {balance:?} to pay")]
    OrderUnpaid { order: OrderId, balance: Money },
    #[error("refund of {amount:?} exceeds the {refundable:?} still refundable")]
    RefundExceedsPaid { amount: Money, refundable: Money },
    #[error("cannot return {qty:?} of line {line}: only {left:?} left to return")]
    ReturnExceedsSold { line: LineId, qty: Qty, left: Qty },
    #[error("currency {got} does not match {expected}")]
    CurrencyMismatch { got: String, expected: String },
    #[error("cash needs an open drawer session")]
    DrawerRequired,
    #[error("unknown drawer session {0}")]
    UnknownDrawer(DrawerSessionId),
    #[error("drawer session {0} already exists")]
    DrawerExists(DrawerSessionId),
    #[error("drawer session {0} is closed")]
    DrawerClosed(DrawerSessionId),
    #[error("drawer session {0} must be counted before it is closed")]
    DrawerNotCounted(DrawerSessionId),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Checks `command` against state and returns the events that carry it out.
// One short arm per command reads better as one match than spread over helpers.
#[allow(clippy::too_many_lines)]
pub fn decide(
    command: &Command,
    state: &impl ReadModel,
    policy: &Policy,
    ids: &mut impl IdSource,
) -> Result<Vec<DomainEvent>, CommandError> {
    use Command as C;
    use DomainEvent as E;
    let one = |e: DomainEvent| Ok(vec![e]);
    match command {
        C::PublishItem(item) => {
            text(&item.name, "item name")?;
            amount(item.price, "price", policy)?;
            one(E::ItemUpserted(item.clone()))
        }
        C::PublishCategory(c) => {
            text(&c.name, "category name")?;
            one(E::CategoryUpserted(c.clone()))
        }
        C::PublishModifierGroup(g) => {
            text(&g.name, "modifier group name")?;
            if g.min > g.max {
                return Err(CommandError::InvalidText(format!(
                    "modifier group \"{}\": minimum {} is above maximum {}",
                    g.name, g.min, g.max
                )));
            }
            one(E::ModifierGroupUpserted(g.clone()))
        }
        C::PublishTaxRate(r) => {
            text(&r.name, "tax rate name")?;
            if r.ppm > 1_000_000 {
                return Err(CommandError::InvalidAmount {
                    what: "a tax rate",
                    rule: "at most 100%",
                });
            }
            one(E::TaxRateUpserted(r.clone()))
        }
        C::PublishTaxCategory(c) => {
            text(&c.name, "tax category name")?;
            one(E::TaxCategoryUpserted(c.clone()))
        }
        C::PublishStaff(s) => {
            text(&s.name, "staff name")?;
            // The hub hashes PINs; a record carrying anything but a hash (a plain PIN typed
            // into the wrong field) is refused before it reaches every terminal's log.
            if !looks_like_argon2id_phc(&s.pin_hash) {
                return Err(CommandError::InvalidPinHash);
            }
            one(E::StaffUpserted(s.clone()))
        }
        C::SetAvailability { item_id, available, by } => {
            item(state, *item_id)?;
            one(E::AvailabilitySet(AvailabilitySet {
                item_id: *item_id,
                available: *available,
                by: *by,
            }))
        }
        C::OpenOrder { order_id, currency, mode, table, guests, staff } => {
            if state.get::<Order>(order_id.0)?.is_some() {
                return Err(CommandError::OrderExists(*order_id));
            }
            if let Some(t) = table {
                text(t, "table")?;
            }
            one(E::OrderOpened(OrderOpened {
                order_id: *order_id,
                currency: *currency,
                mode: *mode,
                table: table.clone(),
                guests: *guests,
                opened_by: *staff,
            }))
        }
        C::AddLine {
            order_id,
            line_id,
            item_id,
            qty,
            modifiers,
            seat,
            course,
            note,
            price_override,
        } => {
            let order = open_order(state, *order_id)?;
            if order.lines.contains_key(line_id) {
                return Err(CommandError::LineExists(*line_id));
            }
            let item = item(state, *item_id)?;
            if !item.active {
                return Err(CommandError::ItemRetired(item.name));
            }
            if !state.get::<Availability>(item_id.0)?.unwrap_or_default().is_available() {
                return Err(CommandError::ItemUnavailable(item.name));
            }
            if qty.0 <= 0 || *qty > policy.max_line_qty {
                return Err(CommandError::InvalidQuantity { got: *qty, max: policy.max_line_qty });
            }
            if !item.sold_by_weight && !qty.is_whole() {
                return Err(CommandError::WholeUnitsOnly(item.name));
            }
            if let Some(n) = note {
                text(n, "note")?;
            }
            let groups = item
                .modifier_groups
                .iter()
                .map(|g| {
                    state
                        .get::<Versioned<ModifierGroup>>(g.0)
                        .map(|v| v.and_then(|v| v.current).map(|s| s.value))
                })
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?;
            let chosen = resolve_modifiers(&groups, modifiers)?
                .into_iter()
                .map(|m| LineModifier {
                    modifier_id: m.id,
                    name: m.name.clone(),
                    price_delta: m.price_delta,
                })
                .collect();
            let unit_price = match price_override {
                Some(o) => amount(o.unit_price, "an overridden price", policy)?,
                None => item.price,
            };
            one(E::LineAdded(LineAdded {
                order_id: *order_id,
                line_id: *line_id,
                item_id: *item_id,
                name: item.name.clone(),
                unit_price,
                qty: *qty,
                modifiers: chosen,
                seat: *seat,
                course: *course,
                taxes: taxes(state, &item)?,
                station: item.station.clone(),
                note: note.clone(),
                price_override_by: price_override.map(|o| o.approved_by),
            }))
        }
        C::VoidLine { order_id, line_id, reason, approved_by } => {
            let order = open_order(state, *order_id)?;
            live_line(&order, *order_id, *line_id)?;
            text(reason, "a reason")?;
            let approved_by = approved_by.ok_or(CommandError::ApprovalRequired("a void"))?;
            one(E::LineVoided(LineVoided {
                order_id: *order_id,
                line_id: *line_id,
                reason: reason.clone(),
                approved_by: Some(approved_by),
            }))
        }
        C::CompLine { order_id, line_id, reason, approved_by } => {
            let order = open_order(state, *order_id)?;
            live_line(&order, *order_id, *line_id)?;
            if order.comps.contains_key(line_id) {
                return Err(CommandError::LineComped(*line_id));
            }
            text(reason, "a reason")?;
            let approved_by = approved_by.ok_or(CommandError::ApprovalRequired("a comp"))?;
            one(E::LineComped(LineComped {
                order_id: *order_id,
                line_id: *line_id,
                reason: reason.clone(),
                approved_by: Some(approved_by),
            }))
        }
        C::ApplyDiscount { order_id, discount_id, scope, rule, reason, approved_by } => {
            let order = open_order(state, *order_id)?;
            if order.discounts.contains_key(discount_id) {
                return Err(CommandError::DuplicateId(discount_id.0));
            }
            if let DiscountScope::Line(line) = scope {
                live_line(&order, *order_id, *line)?;
            }
            text(reason, "a reason")?;
            let needs_approval = match rule {
                DiscountRule::PercentBps(bps) => {
                    if *bps == 0 || *bps > 10_000 {
                        return Err(CommandError::InvalidAmount {
                            what: "a discount",
                            rule: "between 0.01% and 100%",
                        });
                    }
                    *bps > policy.discount_approval_bps
                }
                DiscountRule::Amount(a) => {
                    positive(*a, "a discount", policy)?;
                    *a > policy.discount_approval_amount
                }
            };
            if needs_approval && approved_by.is_none() {
                return Err(CommandError::ApprovalRequired("a discount this large"));
            }
            one(E::DiscountApplied(DiscountApplied {
                order_id: *order_id,
                discount_id: *discount_id,
                scope: *scope,
                rule: *rule,
                reason: reason.clone(),
                approved_by: *approved_by,
            }))
        }
        C::SendToKitchen { order_id } => {
            let order = open_order(state, *order_id)?;
            let mut by_station: BTreeMap<&str, Vec<TicketLine>> = BTreeMap::new();
            for line in order.unsent_lines() {
                let Some(station) = &line.station else { continue };
                by_station.entry(station).or_default().push(TicketLine {
                    line_id: line.line_id,
                    name: line.name.clone(),
                    qty: line.qty,
                    modifiers: line.modifiers.iter().map(|m| m.name.clone()).collect(),
                    seat: line.seat,
                    course: line.course,
                    note: line.note.clone(),
                });
            }
            if by_station.is_empty() {
                return Err(CommandError::NothingToSend);
            }
            let tickets = by_station
                .into_iter()
                .map(|(station, lines)| KitchenTicket {
                    ticket_id: TicketId(ids.next_id()),
                    station: station.to_owned(),
                    lines,
                })
                .collect();
            let table = order.opened.and_then(|o| o.value.table);
            one(E::SentToKitchen(SentToKitchen { order_id: *order_id, table, tickets }))
        }
        C::BumpTicket { ticket_id } => {
            let ticket = ticket(state, *ticket_id)?;
            if ticket.is_bumped() {
                return Err(CommandError::AlreadyBumped(*ticket_id));
            }
            let station = ticket.station().cloned();
            one(E::TicketBumped(TicketStateChanged { ticket_id: *ticket_id, station }))
        }
        C::RecallTicket { ticket_id } => {
            let ticket = ticket(state, *ticket_id)?;
            if !ticket.is_bumped() {
                return Err(CommandError::NotBumped(*ticket_id));
            }
            let station = ticket.station().cloned();
            one(E::TicketRecalled(TicketStateChanged { ticket_id: *ticket_id, station }))
        }
        C::TakePayment {
            order_id,
            payment_id,
            tender,
            amount: asked,
            tip,
            drawer_session,
            staff,
        } => {
            let order = open_order(state, *order_id)?;
            if order.payments.contains_key(payment_id) {
                return Err(CommandError::DuplicateId(payment_id.0));
            }
            let currency = order.currency().unwrap_or(Currency::USD);
            let balance = order.totals().balance;
            if balance.as_minor() <= 0 {
                return Err(CommandError::NothingToPay(*order_id));
            }
            let pays = match asked {
                Some(a) => positive(*a, "a payment", policy)?,
                None => balance,
            };
            if pays > balance {
                return Err(CommandError::TenderExceedsBalance { amount: pays, balance });
            }
            if tip.is_negative() {
                return Err(CommandError::InvalidAmount { what: "a tip", rule: "zero or more" });
            }
            let tip_limit = pays.percent_bps(policy.max_tip_bps);
            if *tip > tip_limit {
                return Err(CommandError::TipTooLarge { tip: *tip, limit: tip_limit });
            }
            let tender = settle(tender, pays + *tip, policy)?;
            if let Some(session) = drawer_session {
                open_drawer(state, *session, currency)?;
            } else if matches!(tender, Tender::Cash { .. }) {
                return Err(CommandError::DrawerRequired);
            }
            one(E::PaymentTaken(PaymentTaken {
                order_id: *order_id,
                payment_id: *payment_id,
                amount: pays,
                tip: *tip,
                tender,
                drawer_session: *drawer_session,
                taken_by: *staff,
            }))
        }
        C::CloseOrder { order_id, staff } => {
            let order = open_order(state, *order_id)?;
            let balance = order.totals().balance;
            if balance.as_minor() > 0 {
                return Err(CommandError::OrderUnpaid { order: *order_id, balance });
            }
            let mut events =
                vec![E::OrderClosed(OrderClosed { order_id: *order_id, closed_by: *staff })];
            for line in order.live_lines() {
                if tracks_stock(state, line.item_id)? {
                    events.push(E::StockMoved(StockMoved {
                        item_id: line.item_id,
                        delta: -line.qty,
                        reason: StockReason::Sale { order_id: *order_id },
                    }));
                }
            }
            Ok(events)
        }
        C::Refund {
            order_id,
            refund_id,
            amount: refund,
            lines,
            tender,
            reason,
            approved_by,
            drawer_session,
        } => {
            let order = existing_order(state, *order_id)?;
            if order.status() != OrderStatus::Closed {
                return Err(CommandError::OrderOpen(*order_id));
            }
            if order.refunds.contains_key(refund_id) {
                return Err(CommandError::DuplicateId(refund_id.0));
            }
            text(reason, "a reason")?;
            let approved_by = approved_by.ok_or(CommandError::ApprovalRequired("a refund"))?;
            positive(*refund, "a refund", policy)?;
            let totals = order.totals();
            let refundable = totals.paid + totals.tips - totals.refunded;
            if *refund > refundable {
                return Err(CommandError::RefundExceedsPaid { amount: *refund, refundable });
            }
            let mut returned = Vec::with_capacity(lines.len());
            for (line_id, qty) in lines {
                let line = live_line(&order, *order_id, *line_id)?;
                let left = line.qty - order.refunded_qty(*line_id);
                if qty.0 <= 0 || *qty > left {
                    return Err(CommandError::ReturnExceedsSold {
                        line: *line_id,
                        qty: *qty,
                        left,
                    });
                }
                returned.push(RefundLine { line_id: *line_id, item_id: line.item_id, qty: *qty });
            }
            let currency = order.currency().unwrap_or(Currency::USD);
            let tender = match tender {
                // Cash refunds hand the amount back exactly: no change.
                TenderInput::Cash { .. } => Tender::Cash { tendered: *refund, change: Money::ZERO },
                other => settle(other, *refund, policy)?,
            };
            if let Some(session) = drawer_session {
                open_drawer(state, *session, currency)?;
            } else if matches!(tender, Tender::Cash { .. }) {
                return Err(CommandError::DrawerRequired);
            }
            let mut events = Vec::with_capacity(1 + returned.len());
            for l in &returned {
                if tracks_stock(state, l.item_id)? {
                    events.push(E::StockMoved(StockMoved {
                        item_id: l.item_id,
                        delta: l.qty,
                        reason: StockReason::Refund { refund_id: *refund_id },
                    }));
                }
            }
            events.insert(
                0,
                E::RefundIssued(RefundIssued {
                    refund_id: *refund_id,
                    order_id: *order_id,
                    amount: *refund,
                    lines: returned,
                    tender,
                    reason: reason.clone(),
                    approved_by: Some(approved_by),
                    drawer_session: *drawer_session,
                }),
            );
            Ok(events)
        }
        C::OpenDrawer { session_id, currency, float, staff } => {
            if state.get::<DrawerSession>(session_id.0)?.is_some_and(|d| d.opened.is_some()) {
                return Err(CommandError::DrawerExists(*session_id));
            }
            if float.is_negative() || *float > policy.max_amount {
                return Err(CommandError::InvalidAmount { what: "a float", rule: "zero or more" });
            }
            one(E::DrawerOpened(DrawerOpened {
                session_id: *session_id,
                currency: *currency,
                float: *float,
                opened_by: *staff,
            }))
        }
        C::PayIn { session_id, amount: a, reason, staff }
        | C::PayOut { session_id, amount: a, reason, staff } => {
            drawer(state, *session_id)?;
            positive(*a, "a pay-in or pay-out", policy)?;
            text(reason, "a reason")?;
            let moved = DrawerCashMoved {
                session_id: *session_id,
                amount: *a,
                reason: reason.clone(),
                by: *staff,
            };
            one(if matches!(command, C::PayIn { .. }) {
                E::DrawerPaidIn(moved)
            } else {
                E::DrawerPaidOut(moved)
            })
        }
        C::NoSale { session_id, reason, staff } => {
            drawer(state, *session_id)?;
            text(reason, "a reason")?;
            one(E::DrawerNoSale(DrawerNoSale {
                session_id: *session_id,
                reason: reason.clone(),
                by: *staff,
            }))
        }
        C::CountDrawer { session_id, counted, staff } => {
            drawer(state, *session_id)?;
            if counted.is_negative() || *counted > policy.max_amount {
                return Err(CommandError::InvalidAmount { what: "a count", rule: "zero or more" });
            }
            one(E::DrawerCounted(DrawerCounted {
                session_id: *session_id,
                counted: *counted,
                by: *staff,
            }))
        }
        C::CloseDrawer { session_id, staff } => {
            let session = drawer(state, *session_id)?;
            if session.count.is_none() {
                return Err(CommandError::DrawerNotCounted(*session_id));
            }
            one(E::DrawerClosed(DrawerClosed { session_id: *session_id, by: *staff }))
        }
        C::ReceiveStock { item_id, qty, note } => {
            item(state, *item_id)?;
            if qty.0 <= 0 {
                return Err(CommandError::InvalidQuantity { got: *qty, max: policy.max_line_qty });
            }
            text(note, "a note")?;
            one(E::StockMoved(StockMoved {
                item_id: *item_id,
                delta: *qty,
                reason: StockReason::Receive { note: note.clone() },
            }))
        }
        C::AdjustStock { item_id, delta, note } => {
            item(state, *item_id)?;
            if delta.0 == 0 {
                return Err(CommandError::InvalidQuantity {
                    got: *delta,
                    max: policy.max_line_qty,
                });
            }
            text(note, "a note")?;
            one(E::StockMoved(StockMoved {
                item_id: *item_id,
                delta: *delta,
                reason: StockReason::Adjust { note: note.clone() },
            }))
        }
        C::CountStock { item_id, counted } => {
            item(state, *item_id)?;
            if counted.0 < 0 {
                return Err(CommandError::InvalidQuantity {
                    got: *counted,
                    max: policy.max_line_qty,
                });
            }
            let on_hand = state.get::<StockLevel>(item_id.0)?.unwrap_or_default().on_hand;
            one(E::StockMoved(StockMoved {
                item_id: *item_id,
                delta: *counted - on_hand,
                reason: StockReason::Count { counted: *counted },
            }))
        }
    }
}

fn item(state: &impl ReadModel, id: ItemId) -> Result<Item, CommandError> {
    state
        .get::<Versioned<Item>>(id.0)?
        .and_then(|v| v.current)
        .map(|s| s.value)
        .ok_or(CommandError::UnknownItem(id))
}

fn tracks_stock(state: &impl ReadModel, id: ItemId) -> Result<bool, CommandError> {
    Ok(state
        .get::<Versioned<Item>>(id.0)?
        .and_then(|v| v.current)
        .is_some_and(|s| s.value.track_stock))
}

fn taxes(state: &impl ReadModel, item: &Item) -> Result<Vec<TaxRate>, CommandError> {
    let Some(category) = item.tax_category else { return Ok(Vec::new()) };
    let Some(category) = state.get::<Versioned<TaxCategory>>(category.0)?.and_then(|v| v.current)
    else {
        return Ok(Vec::new());
    };
    let mut rates = Vec::with_capacity(category.value.rates.len());
    for id in &category.value.rates {
        if let Some(rate) = state.get::<Versioned<TaxRate>>(id.0)?.and_then(|v| v.current) {
            rates.push(rate.value);
        }
    }
    Ok(rates)
}

fn existing_order(state: &impl ReadModel, id: OrderId) -> Result<Order, CommandError> {
    state
        .get::<Order>(id.0)?
        .filter(|o| o.status() != OrderStatus::Unknown)
        .ok_or(CommandError::UnknownOrder(id))
}

fn open_order(state: &impl ReadModel, id: OrderId) -> Result<Order, CommandError> {
    let order = existing_order(state, id)?;
    if order.status() == OrderStatus::Closed {
        return Err(CommandError::OrderClosed(id));
    }
    Ok(order)
}

fn live_line(
    order: &Order,
    order_id: OrderId,
    line_id: LineId,
) -> Result<&LineAdded, CommandError> {
    let line = order
        .lines
        .get(&line_id)
        .ok_or(CommandError::UnknownLine { order: order_id, line: line_id })?;
    if order.voids.contains_key(&line_id) {
        return Err(CommandError::LineVoided(line_id));
    }
    Ok(&line.value)
}

fn ticket(state: &impl ReadModel, id: TicketId) -> Result<Ticket, CommandError> {
    state
        .get::<Ticket>(id.0)?
        .filter(|t| t.content.is_some())
        .ok_or(CommandError::UnknownTicket(id))
}

fn drawer(state: &impl ReadModel, id: DrawerSessionId) -> Result<DrawerSession, CommandError> {
    let session = state
        .get::<DrawerSession>(id.0)?
        .filter(|d| d.opened.is_some())
        .ok_or(CommandError::UnknownDrawer(id))?;
    if !session.is_open() {
        return Err(CommandError::DrawerClosed(id));
    }
    Ok(session)
}

fn open_drawer(
    state: &impl ReadModel,
    id: DrawerSessionId,
    currency: Currency,
) -> Result<DrawerSession, CommandError> {
    let session = drawer(state, id)?;
    match session.currency() {
        Some(c) if c != currency => Err(CommandError::CurrencyMismatch {
            got: c.code().to_owned(),
            expected: currency.code().to_owned(),
        }),
        _ => Ok(session),
    }
}

/// Turns what the cashier entered into the recorded tender, for `due` (amount plus tip).
fn settle(input: &TenderInput, due: Money, policy: &Policy) -> Result<Tender, CommandError> {
    match input {
        TenderInput::Cash { tendered } => {
            amount(*tendered, "cash tendered", policy)?;
            if *tendered < due {
                return Err(CommandError::TenderTooSmall { tendered: *tendered, amount: due });
            }
            let change = *tendered - due;
            if change > policy.max_change {
                return Err(CommandError::ChangeTooLarge { change, limit: policy.max_change });
            }
            Ok(Tender::Cash { tendered: *tendered, change })
        }
        TenderInput::Card { brand, last4, auth_code } => {
            let brand = brand.trim();
            if brand.is_empty()
                || brand.len() > 20
                || !brand.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
            {
                return Err(CommandError::InvalidCard("brand must be 1 to 20 letters"));
            }
            if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CommandError::InvalidCard("exactly the last four digits are recorded"));
            }
            if auth_code.is_empty()
                || auth_code.len() > 12
                || !auth_code.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(CommandError::InvalidCard(
                    "authorization code must be 1 to 12 letters or digits",
                ));
            }
            Ok(Tender::Card {
                brand: brand.to_ascii_uppercase(),
                last4: last4.clone(),
                auth_code: auth_code.clone(),
            })
        }
        TenderInput::Other { name } => {
            text(name, "a tender name")?;
            Ok(Tender::Other { name: name.clone() })
        }
    }
}

fn amount(value: Money, what: &'static str, policy: &Policy) -> Result<Money, CommandError> {
    if value.is_negative() || value > policy.max_amount {
        return Err(CommandError::InvalidAmount { what, rule: "zero or more, within the limit" });
    }
    Ok(value)
}

fn positive(value: Money, what: &'static str, policy: &Policy) -> Result<Money, CommandError> {
    if value.as_minor() <= 0 || value > policy.max_amount {
        return Err(CommandError::InvalidAmount { what, rule: "above zero, within the limit" });
    }
    Ok(value)
}

/// Free text (reasons, names, notes): not empty, not huge, and never anything that looks
/// like a card number, so a PAN typed into a note is refused rather than stored.
fn text(value: &str, what: &str) -> Result<(), CommandError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(CommandError::InvalidText(format!("{what} is required")));
    }
    if trimmed.chars().count() > 200 {
        return Err(CommandError::InvalidText(format!("{what} is longer than 200 characters")));
    }
    if looks_like_card_number(trimmed) {
        return Err(CommandError::InvalidText(format!(
            "{what} looks like it contains a card number, which is never recorded"
        )));
    }
    Ok(())
}

/// True when `s` holds 13 to 19 digits in a row (spaces and dashes allowed between them)
/// that pass the Luhn check.
#[must_use]
pub fn looks_like_card_number(s: &str) -> bool {
    let mut digits: Vec<u8> = Vec::new();
    let check = |digits: &mut Vec<u8>| {
        let found = (13..=19).contains(&digits.len()) && luhn(digits)
            || digits.len() > 19 && digits.windows(16).any(luhn);
        digits.clear();
        found
    };
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            ' ' | '-' if !digits.is_empty() => {}
            _ => {
                if check(&mut digits) {
                    return true;
                }
            }
        }
    }
    check(&mut digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
