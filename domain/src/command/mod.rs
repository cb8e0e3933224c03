//! Commands: what a terminal asks for, checked against current state, turned into events.
//!
//! [`decide`] is pure: it reads state through [`ReadModel`], mints ids through
//! [`IdSource`], and returns the events to record or a [`CommandError`] that says what is
//! wrong. Nothing is written when it refuses. The agent's store runs it inside the
//! transaction that appends the events, so the check and the write see the same state.
//!
//! The checks live in one private submodule per area (`catalog`, `order`, `payment`,
//! `kitchen`, `drawer`, `stock`, `work_order`), one short function per command; what several areas share
//! (lookups, amounts, free text, card details, tender settlement, approvers) is in `check`.
//! Whoever a command names as approving (`approved_by`, a price override's approver) must be
//! a published, active member of staff whose role can approve.

use serde::{Deserialize, Serialize};
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

use crate::catalog::{Category, Item, ModifierError, ModifierGroup, Staff};
use crate::drawer::ZReport;
use crate::events::{DiscountRule, DiscountScope, DomainEvent, ServiceMode};
use crate::fold::{Aggregate, State};
use crate::ids::{
    DiscountId, DrawerSessionId, ItemId, LineId, ModifierId, OrderId, PartLineId, PaymentId,
    RefundId, StaffId, TicketId, WorkOrderId,
};
use crate::money::{Currency, Money, Qty};
use crate::tax::{TaxCategory, TaxRate};
use crate::work_order::{WorkOrderEdit, WorkOrderError};

mod catalog;
mod check;
mod drawer;
mod kitchen;
mod order;
mod payment;
mod stock;
mod transfer;
mod work_order;

pub use check::looks_like_card_number;
use order::NewLine;
use payment::{NewPayment, NewRefund};

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
    /// A manager's price override on a line already on the check.
    RepriceLine {
        order_id: OrderId,
        line_id: LineId,
        unit_price: Money,
        approved_by: Option<StaffId>,
    },
    /// Moves live lines from one open check to another (split by seat or item: open the
    /// new check first in the same batch). Refused while `from` has payments applied.
    MoveLines {
        from: OrderId,
        to: OrderId,
        lines: Vec<LineId>,
        staff: Option<StaffId>,
    },
    /// Moves a check to another table and/or server.
    TransferOrder {
        order_id: OrderId,
        table: Option<String>,
        server: Option<StaffId>,
        staff: Option<StaffId>,
    },
    /// Merges check `from` into check `into`: every live line moves, and `from` is
    /// finished.
    MergeOrders {
        into: OrderId,
        from: OrderId,
        staff: Option<StaffId>,
    },
    SendToKitchen {
        order_id: OrderId,
    },
    /// Keeps a course's lines off "send to kitchen" until it is fired.
    HoldCourse {
        order_id: OrderId,
        course: u16,
        staff: Option<StaffId>,
    },
    /// Releases a held course and sends its unsent lines.
    FireCourse {
        order_id: OrderId,
        course: u16,
        staff: Option<StaffId>,
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
    /// Records the Z report of a closed session (once). The sales figures come from the
    /// orders the caller read; the drawer's figures must be the session's.
    IssueZReport {
        session_id: DrawerSessionId,
        report: ZReport,
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
    /// A technician's edit of a work order. The domain reads no clock and knows no device,
    /// so the command carries both: `device` is the editing device (its Automerge actor
    /// and the assignment checked), `at_ms` the change's timestamp.
    EditWorkOrder {
        work_order_id: WorkOrderId,
        device: DeviceId,
        at_ms: i64,
        edit: WorkOrderEdit,
    },
    /// Issues a completed work order's invoice: its number ([`crate::work_order::invoice_number`])
    /// and taxes (each part from the catalog taxed at its item's rates; labour and parts
    /// typed in by hand carry no tax).
    InvoiceWorkOrder {
        work_order_id: WorkOrderId,
        device: DeviceId,
        at_ms: i64,
    },
    /// A technician uses `qty` of a catalog item on a work order: a part line at the item's
    /// price, and the same quantity taken from the stock of the technician's location.
    UseWorkOrderPart {
        work_order_id: WorkOrderId,
        device: DeviceId,
        at_ms: i64,
        line_id: PartLineId,
        item_id: ItemId,
        qty: Qty,
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
    #[error("line {line} was moved to check {to}")]
    LineMoved { line: LineId, to: OrderId },
    #[error(
        "check {0} has payments applied, so its lines cannot move: finish paying it, or refund first"
    )]
    PaymentsApplied(OrderId),
    #[error("a check cannot take lines from itself")]
    SameOrder,
    #[error("choose at least one line to move")]
    NothingToMove,
    #[error("the same line is chosen twice")]
    LineTwice(LineId),
    #[error(
        "check {0} has a check discount, which would be lost in a merge: apply it on the other check instead"
    )]
    CheckDiscountWouldBeLost(OrderId),
    #[error("choose a new table or server")]
    NothingToTransfer,
    #[error("unknown staff {0}")]
    UnknownStaff(StaffId),
    #[error("staff {0} is not active")]
    InactiveStaff(StaffId),
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
        "a staff PIN must be published as its argon2id hash (a PHC string) at a cost every terminal can afford; plain PINs are never recorded"
    )]
    InvalidPinHash,
    #[error("{0} requires a manager's approval")]
    ApprovalRequired(&'static str),
    #[error("unknown approver {0}")]
    UnknownApprover(StaffId),
    #[error("staff {0} cannot approve: only an active manager or owner can")]
    NotAnApprover(StaffId),
    #[error("nothing to send to the kitchen")]
    NothingToSend,
    #[error("course {0} is already held")]
    CourseHeld(u16),
    #[error("course {0} was already fired")]
    CourseFired(u16),
    #[error("course {0} is not held")]
    CourseNotHeld(u16),
    #[error("course {0} has no unsent lines to hold")]
    NothingToHold(u16),
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
    #[error("drawer session {0} must be closed before its Z report")]
    DrawerNotClosed(DrawerSessionId),
    #[error("drawer session {0} already has its Z report")]
    ZReportExists(DrawerSessionId),
    #[error("the Z report's drawer figures are not those of session {0}")]
    ZReportMismatch(DrawerSessionId),
    #[error("unknown work order {0}")]
    UnknownWorkOrder(WorkOrderId),
    #[error("work order {work_order} is not assigned to this device ({device})")]
    NotAssigned { work_order: WorkOrderId, device: DeviceId },
    #[error(transparent)]
    WorkOrder(#[from] WorkOrderError),
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Checks `command` against state and returns the events that carry it out.
#[allow(clippy::too_many_lines, reason = "one arm per command, each only forwarding to its area")]
pub fn decide(
    command: &Command,
    state: &impl ReadModel,
    policy: &Policy,
    ids: &mut impl IdSource,
) -> Result<Vec<DomainEvent>, CommandError> {
    use Command as C;
    let cx = &Cx { state, policy };
    match command {
        C::PublishItem(item) => catalog::publish_item(cx, item),
        C::PublishCategory(category) => catalog::publish_category(category),
        C::PublishModifierGroup(group) => catalog::publish_modifier_group(group),
        C::PublishTaxRate(rate) => catalog::publish_tax_rate(rate),
        C::PublishTaxCategory(category) => catalog::publish_tax_category(category),
        C::PublishStaff(staff) => catalog::publish_staff(staff),
        C::SetAvailability { item_id, available, by } => {
            catalog::set_availability(cx, *item_id, *available, *by)
        }
        C::OpenOrder { order_id, currency, mode, table, guests, staff } => {
            order::open_order(cx, *order_id, *currency, *mode, table.as_deref(), *guests, *staff)
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
            let line = NewLine {
                order_id,
                line_id,
                item_id,
                qty,
                modifiers,
                seat,
                course,
                note,
                price_override,
            };
            order::add_line(cx, &line)
        }
        C::VoidLine { order_id, line_id, reason, approved_by } => {
            order::void_line(cx, *order_id, *line_id, reason, *approved_by)
        }
        C::CompLine { order_id, line_id, reason, approved_by } => {
            order::comp_line(cx, *order_id, *line_id, reason, *approved_by)
        }
        C::ApplyDiscount { order_id, discount_id, scope, rule, reason, approved_by } => {
            order::apply_discount(cx, *order_id, *discount_id, *scope, *rule, reason, *approved_by)
        }
        C::RepriceLine { order_id, line_id, unit_price, approved_by } => {
            order::reprice_line(cx, *order_id, *line_id, *unit_price, *approved_by)
        }
        C::MoveLines { from, to, lines, staff } => {
            transfer::move_lines(cx, *from, *to, lines, *staff, ids)
        }
        C::TransferOrder { order_id, table, server, staff } => {
            transfer::transfer_order(cx, *order_id, table.as_deref(), *server, *staff)
        }
        C::MergeOrders { into, from, staff } => {
            transfer::merge_orders(cx, *into, *from, *staff, ids)
        }
        C::SendToKitchen { order_id } => kitchen::send_to_kitchen(cx, *order_id, ids),
        C::HoldCourse { order_id, course, staff } => {
            kitchen::hold_course(cx, *order_id, *course, *staff)
        }
        C::FireCourse { order_id, course, staff } => {
            kitchen::fire_course(cx, *order_id, *course, *staff, ids)
        }
        C::BumpTicket { ticket_id } => kitchen::bump_ticket(cx, *ticket_id),
        C::RecallTicket { ticket_id } => kitchen::recall_ticket(cx, *ticket_id),
        C::TakePayment { order_id, payment_id, tender, amount, tip, drawer_session, staff } => {
            let payment =
                NewPayment { order_id, payment_id, tender, amount, tip, drawer_session, staff };
            payment::take_payment(cx, &payment)
        }
        C::CloseOrder { order_id, staff } => order::close_order(cx, *order_id, *staff),
        C::Refund {
            order_id,
            refund_id,
            amount,
            lines,
            tender,
            reason,
            approved_by,
            drawer_session,
        } => {
            let refund = NewRefund {
                order_id,
                refund_id,
                amount,
                lines,
                tender,
                reason,
                approved_by,
                drawer_session,
            };
            payment::refund(cx, &refund)
        }
        C::OpenDrawer { session_id, currency, float, staff } => {
            drawer::open_drawer(cx, *session_id, *currency, *float, *staff)
        }
        C::PayIn { session_id, amount, reason, staff } => {
            drawer::pay_in(cx, *session_id, *amount, reason, *staff)
        }
        C::PayOut { session_id, amount, reason, staff } => {
            drawer::pay_out(cx, *session_id, *amount, reason, *staff)
        }
        C::NoSale { session_id, reason, staff } => drawer::no_sale(cx, *session_id, reason, *staff),
        C::CountDrawer { session_id, counted, staff } => {
            drawer::count_drawer(cx, *session_id, *counted, *staff)
        }
        C::CloseDrawer { session_id, staff } => drawer::close_drawer(cx, *session_id, *staff),
        C::IssueZReport { session_id: s, report: r, staff } => drawer::z_report(cx, *s, r, *staff),
        C::ReceiveStock { item_id, qty, note } => stock::receive_stock(cx, *item_id, *qty, note),
        C::AdjustStock { item_id, delta, note } => stock::adjust_stock(cx, *item_id, *delta, note),
        C::CountStock { item_id, counted } => stock::count_stock(cx, *item_id, *counted),
        C::EditWorkOrder { work_order_id, device, at_ms, edit } => {
            work_order::edit_work_order(cx, *work_order_id, *device, *at_ms, edit)
        }
        C::InvoiceWorkOrder { work_order_id, device, at_ms } => {
            work_order::invoice(cx, *work_order_id, *device, *at_ms)
        }
        C::UseWorkOrderPart { work_order_id, device, at_ms, line_id, item_id, qty } => {
            let part = work_order::PartUse { line_id: *line_id, item_id: *item_id, qty: *qty };
            work_order::use_part(cx, *work_order_id, *device, *at_ms, part)
        }
    }
}

/// What every check reads: current state and the location's policy.
struct Cx<'a, R> {
    state: &'a R,
    policy: &'a Policy,
}

/// What a command decides: the events to record, or why it is refused.
type Decided = Result<Vec<DomainEvent>, CommandError>;
