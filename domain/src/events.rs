//! The business events: every fact the system records, and how each is encoded as the
//! payload of a signed envelope (`thorbis_sync_protocol::Event`).
//!
//! The envelope's `kind` names the event (`order.line_added`); the payload is the JSON of
//! the matching struct below. JSON is used for payloads, not for the envelope: a payload is
//! hashed and signed as the exact bytes stored, so its encoding needs no canonical form, and
//! JSON lets a newer terminal add optional fields that an older one ignores.
//!
//! A kind this build does not know decodes to `None` (see [`DomainEvent::decode`]): the
//! event is still stored and relayed, just not folded.

use serde::{Deserialize, Serialize};

use crate::authority::Authority;
use crate::catalog::{Category, Item, ModifierGroup, Staff, Station};
use crate::device::{DeviceConfigured, DeviceRegistered, DeviceRevoked};
use crate::drawer::ZReport;
use crate::ids::{
    DiscountId, DrawerSessionId, ItemId, LineId, LocationId, ModifierId, OrderId, PartLineId,
    PaymentId, RefundId, StaffId, TicketId, WorkOrderId,
};
use crate::money::{Currency, Money, Qty};
use crate::tax::{TaxCategory, TaxRate};
use crate::work_order::ChangeBytes;
use thorbis_sync_protocol::DeviceId;

/// How an order is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMode {
    /// Table service.
    DineIn,
    /// Counter or phone order to take away.
    TakeOut,
    /// A retail sale at a register.
    Retail,
}

/// A check or sale was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderOpened {
    pub order_id: OrderId,
    pub currency: Currency,
    pub mode: ServiceMode,
    /// Table name for dine-in ("12", "Patio 3").
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub guests: Option<u16>,
    #[serde(default)]
    pub opened_by: Option<StaffId>,
}

/// A modifier as recorded on a line: a copy of the catalog's at the time of sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineModifier {
    pub modifier_id: ModifierId,
    pub name: String,
    pub price_delta: Money,
}

/// A line was added. It carries everything needed to price, tax and route it, copied from
/// the catalog, so the hub and every terminal compute the same totals without a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAdded {
    pub order_id: OrderId,
    pub line_id: LineId,
    pub item_id: ItemId,
    pub name: String,
    /// Unit price before modifiers (the catalog's, or an approved override).
    pub unit_price: Money,
    pub qty: Qty,
    #[serde(default)]
    pub modifiers: Vec<LineModifier>,
    #[serde(default)]
    pub seat: Option<u16>,
    #[serde(default)]
    pub course: Option<u16>,
    #[serde(default)]
    pub taxes: Vec<TaxRate>,
    #[serde(default)]
    pub station: Option<Station>,
    #[serde(default)]
    pub note: Option<String>,
    /// Set when the cashier overrode the catalog price: who approved it.
    #[serde(default)]
    pub price_override_by: Option<StaffId>,
}

/// A line was voided (removed before payment). Voids are a reported figure, so the line
/// stays in the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineVoided {
    pub order_id: OrderId,
    pub line_id: LineId,
    pub reason: String,
    pub approved_by: Option<StaffId>,
}

/// A line was given away (made, served, not charged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineComped {
    pub order_id: OrderId,
    pub line_id: LineId,
    pub reason: String,
    pub approved_by: Option<StaffId>,
}

/// What a discount applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "on", content = "line_id")]
pub enum DiscountScope {
    /// One line.
    Line(LineId),
    /// The whole order, spread over its lines in proportion to their amounts.
    Order,
}

/// How much a discount takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountRule {
    /// Basis points of the amount (1000 = 10 %).
    PercentBps(u32),
    /// A fixed amount, capped at what it applies to.
    Amount(Money),
}

/// A discount was applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountApplied {
    pub order_id: OrderId,
    pub discount_id: DiscountId,
    pub scope: DiscountScope,
    pub rule: DiscountRule,
    pub reason: String,
    pub approved_by: Option<StaffId>,
}

/// A line's unit price was overridden after it was added (before modifiers). A later
/// override replaces an earlier one; every override names the manager who approved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRepriced {
    pub order_id: OrderId,
    pub line_id: LineId,
    pub unit_price: Money,
    pub approved_by: Option<StaffId>,
}

/// Lines left this order for another one (a split or a merge). They no longer count here;
/// the matching [`LinesMovedIn`] on the other order carries them whole. Each of the pair
/// touches one order, so each folds into one aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinesMovedOut {
    pub order_id: OrderId,
    /// Where they went.
    pub to: OrderId,
    pub lines: Vec<LineId>,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// One line as it arrives on another order: under a new line id, with everything that
/// priced and routed it on the order it left (the price in force, its comp, its line
/// discounts under new ids, and the kitchen ticket it already went out on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedLine {
    /// Its id on the order it came from.
    pub from_line: LineId,
    /// The line as it now stands on this order (this order's id, its new line id).
    pub line: LineAdded,
    #[serde(default)]
    pub comp: Option<LineComped>,
    #[serde(default)]
    pub discounts: Vec<DiscountApplied>,
    /// The kitchen ticket it was sent on, if it was.
    #[serde(default)]
    pub sent: Option<TicketId>,
}

/// Lines arrived from another order (see [`LinesMovedOut`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinesMovedIn {
    pub order_id: OrderId,
    /// Where they came from.
    pub from: OrderId,
    pub lines: Vec<MovedLine>,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The check moved to another table and/or server. It names both as they stand after the
/// transfer, and the latest transfer wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTransferred {
    pub order_id: OrderId,
    /// The table from now on.
    #[serde(default)]
    pub table: Option<String>,
    /// The server from now on.
    #[serde(default)]
    pub server: Option<StaffId>,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The order was merged into another (its lines moved there in the same command): it is
/// finished, with nothing to pay and no receipt of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderMerged {
    pub order_id: OrderId,
    /// The order that took its lines.
    pub into: OrderId,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// One line as a kitchen sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub line_id: LineId,
    pub name: String,
    pub qty: Qty,
    #[serde(default)]
    pub modifiers: Vec<String>,
    #[serde(default)]
    pub seat: Option<u16>,
    #[serde(default)]
    pub course: Option<u16>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The lines of one send for one station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KitchenTicket {
    pub ticket_id: TicketId,
    pub station: Station,
    pub lines: Vec<TicketLine>,
}

/// Unsent lines were sent to the kitchen, split into one ticket per station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentToKitchen {
    pub order_id: OrderId,
    #[serde(default)]
    pub table: Option<String>,
    pub tickets: Vec<KitchenTicket>,
}

/// A course of a check was held (its lines stay off "send to kitchen") or fired (released:
/// its unsent lines go out in the same command). Once fired, a course is never held again,
/// so the two facts fold the same in any order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseChanged {
    pub order_id: OrderId,
    pub course: u16,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// A kitchen ticket was bumped (done) or recalled (back on the screen).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketStateChanged {
    pub ticket_id: TicketId,
    #[serde(default)]
    pub station: Option<Station>,
}

/// The means of payment. Card tenders record only what a receipt and a dispute need; a
/// card number is never recorded anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Tender {
    /// Cash: what was handed over and the change given back.
    Cash { tendered: Money, change: Money },
    /// A card processed by an external terminal.
    Card {
        /// "VISA", "MC", "AMEX".
        brand: String,
        /// The last four digits, exactly four ASCII digits.
        last4: String,
        /// The processor's authorization code.
        auth_code: String,
    },
    /// Anything else (voucher, house account), by name.
    Other { name: String },
}

impl Tender {
    /// A short name for reports: `cash`, `card`, or the other tender's name.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            Tender::Cash { .. } => "cash",
            Tender::Card { .. } => "card",
            Tender::Other { name } => name,
        }
    }
}

/// A payment was taken against an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTaken {
    pub order_id: OrderId,
    pub payment_id: PaymentId,
    /// What this tender paid of the order's total.
    pub amount: Money,
    /// Gratuity on top of `amount`.
    #[serde(default)]
    pub tip: Money,
    pub tender: Tender,
    /// The drawer session (shift) the payment belongs to, for cash-up and Z reports.
    #[serde(default)]
    pub drawer_session: Option<DrawerSessionId>,
    #[serde(default)]
    pub taken_by: Option<StaffId>,
}

/// The order was closed (fully paid, or nothing to pay).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderClosed {
    pub order_id: OrderId,
    #[serde(default)]
    pub closed_by: Option<StaffId>,
}

/// One line returned in a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_id: LineId,
    pub item_id: ItemId,
    pub qty: Qty,
}

/// Money was given back against a closed order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundIssued {
    pub refund_id: RefundId,
    pub order_id: OrderId,
    pub amount: Money,
    /// The goods returned, if any (a goodwill refund returns none).
    #[serde(default)]
    pub lines: Vec<RefundLine>,
    pub tender: Tender,
    pub reason: String,
    pub approved_by: Option<StaffId>,
    #[serde(default)]
    pub drawer_session: Option<DrawerSessionId>,
}

/// A drawer session (a cashier's shift on one drawer) began with a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerOpened {
    pub session_id: DrawerSessionId,
    pub currency: Currency,
    pub float: Money,
    #[serde(default)]
    pub opened_by: Option<StaffId>,
}

/// Cash put into or taken out of the drawer outside a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerCashMoved {
    pub session_id: DrawerSessionId,
    /// Always positive; the event kind says which way it went.
    pub amount: Money,
    pub reason: String,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The drawer was opened with no sale (audited).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerNoSale {
    pub session_id: DrawerSessionId,
    pub reason: String,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The cashier counted the drawer without being shown the expected amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerCounted {
    pub session_id: DrawerSessionId,
    pub counted: Money,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The drawer session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerClosed {
    pub session_id: DrawerSessionId,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The Z report that ended a drawer session, as printed: the figures at closing, kept as a
/// fact so the console reads the very report the cashier signed off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerZReported {
    pub session_id: DrawerSessionId,
    pub report: ZReport,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// Why stock moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum StockReason {
    Sale {
        order_id: OrderId,
    },
    Refund {
        refund_id: RefundId,
    },
    Receive {
        note: String,
    },
    Adjust {
        note: String,
    },
    /// A physical count: `delta` is `counted - on hand as the counting terminal saw it`, so
    /// concurrent sales elsewhere still add up instead of being overwritten.
    Count {
        counted: Qty,
    },
}

/// Stock of an item moved by `delta` (negative for sales).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMoved {
    pub item_id: ItemId,
    pub delta: Qty,
    pub reason: StockReason,
}

/// An item was 86'd (unavailable) or made available again. Last writer wins by HLC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilitySet {
    pub item_id: ItemId,
    pub available: bool,
    #[serde(default)]
    pub by: Option<StaffId>,
}

/// The hub assigned a work order to a technician's device. Published only by the hub, in
/// that technician's dispatch log: `changes` is every Automerge change of the document so
/// far (a full snapshot, base64 in JSON), so the technician needs nothing else. The
/// previous technician's log gets the same event naming the new one with no changes: it
/// says the job moved on (their device then refuses further edits) and carries nothing
/// more of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderDispatched {
    pub work_order_id: WorkOrderId,
    pub location_id: LocationId,
    /// The device the work order is assigned to from now on.
    pub technician: DeviceId,
    #[serde(default)]
    pub changes: Vec<ChangeBytes>,
}

/// A work order's document changed: one Automerge change (base64 in JSON), authored by
/// the actor of the device whose log holds the event (see `work_order::actor_for`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderChanged {
    pub work_order_id: WorkOrderId,
    pub change: ChangeBytes,
}

/// A technician used a part from the catalog on a job: `change` adds the part line to the
/// work order's document (as [`WorkOrderChanged`]'s does) and the same fact takes `qty` of
/// the item from the stock of the technician's location. One fact does both, so however
/// often the document merges, the stock moves once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderPartUsed {
    pub work_order_id: WorkOrderId,
    pub line_id: PartLineId,
    pub item_id: ItemId,
    pub qty: Qty,
    pub change: ChangeBytes,
}

macro_rules! domain_events {
    ($($kind:literal => $variant:ident($payload:ty) by $authority:ident,)*) => {
        /// Every business event this build understands.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum DomainEvent {
            $($variant($payload),)*
        }

        impl DomainEvent {
            /// Every kind this build understands, in declaration order.
            pub const KINDS: &'static [&'static str] = &[$($kind),*];

            /// The envelope kind of this event.
            #[must_use]
            pub fn kind(&self) -> &'static str {
                match self {
                    $(DomainEvent::$variant(_) => $kind,)*
                }
            }

            /// Who may author this event ([`crate::authority`]).
            #[must_use]
            pub fn authority(&self) -> Authority {
                match self {
                    $(DomainEvent::$variant(_) => Authority::$authority,)*
                }
            }

            /// Who may author events of `kind`; `None` for a kind this build does not know.
            #[must_use]
            pub fn authority_of_kind(kind: &str) -> Option<Authority> {
                match kind {
                    $($kind => Some(Authority::$authority),)*
                    _ => None,
                }
            }

            /// The payload bytes of this event.
            #[must_use]
            pub fn encode_payload(&self) -> Vec<u8> {
                // Serializing these plain structs cannot fail: no maps with non-string
                // keys, no custom serializers that return errors.
                let bytes = match self {
                    $(DomainEvent::$variant(p) => serde_json::to_vec(p),)*
                };
                bytes.expect("domain payloads always serialize")
            }

            /// Decodes a payload. `Ok(None)` for a kind this build does not know: such
            /// events are kept and relayed, just not folded.
            pub fn decode(kind: &str, payload: &[u8]) -> Result<Option<DomainEvent>, PayloadError> {
                let event = match kind {
                    $($kind => DomainEvent::$variant(serde_json::from_slice(payload)
                        .map_err(|e| PayloadError { kind: kind.to_owned(), reason: e.to_string() })?),)*
                    _ => return Ok(None),
                };
                Ok(Some(event))
            }
        }
    };
}

domain_events! {
    "catalog.item_upserted" => ItemUpserted(Item) by HUB,
    "catalog.category_upserted" => CategoryUpserted(Category) by HUB,
    "catalog.modifier_group_upserted" => ModifierGroupUpserted(ModifierGroup) by HUB,
    "catalog.tax_rate_upserted" => TaxRateUpserted(TaxRate) by HUB,
    "catalog.tax_category_upserted" => TaxCategoryUpserted(TaxCategory) by HUB,
    "catalog.staff_upserted" => StaffUpserted(Staff) by HUB,
    "item.availability_set" => AvailabilitySet(AvailabilitySet) by STORE,
    "order.opened" => OrderOpened(OrderOpened) by TILLS,
    "order.line_added" => LineAdded(LineAdded) by TILLS,
    "order.line_voided" => LineVoided(LineVoided) by TILLS,
    "order.line_comped" => LineComped(LineComped) by TILLS,
    "order.discount_applied" => DiscountApplied(DiscountApplied) by TILLS,
    "order.line_repriced" => LineRepriced(LineRepriced) by TILLS,
    "order.lines_moved_out" => LinesMovedOut(LinesMovedOut) by TILLS,
    "order.lines_moved_in" => LinesMovedIn(LinesMovedIn) by TILLS,
    "order.transferred" => OrderTransferred(OrderTransferred) by TILLS,
    "order.merged" => OrderMerged(OrderMerged) by TILLS,
    "order.sent_to_kitchen" => SentToKitchen(SentToKitchen) by TILLS,
    "order.course_held" => CourseHeld(CourseChanged) by TILLS,
    "order.course_fired" => CourseFired(CourseChanged) by TILLS,
    "order.payment_taken" => PaymentTaken(PaymentTaken) by TILLS,
    "order.closed" => OrderClosed(OrderClosed) by TILLS,
    "order.refund_issued" => RefundIssued(RefundIssued) by TILLS,
    "kds.ticket_bumped" => TicketBumped(TicketStateChanged) by KITCHEN,
    "kds.ticket_recalled" => TicketRecalled(TicketStateChanged) by KITCHEN,
    "drawer.opened" => DrawerOpened(DrawerOpened) by TILLS,
    "drawer.paid_in" => DrawerPaidIn(DrawerCashMoved) by TILLS,
    "drawer.paid_out" => DrawerPaidOut(DrawerCashMoved) by TILLS,
    "drawer.no_sale" => DrawerNoSale(DrawerNoSale) by TILLS,
    "drawer.counted" => DrawerCounted(DrawerCounted) by TILLS,
    "drawer.closed" => DrawerClosed(DrawerClosed) by TILLS,
    "drawer.z_reported" => DrawerZReported(DrawerZReported) by TILLS,
    "stock.moved" => StockMoved(StockMoved) by TILLS,
    "work_order.dispatched" => WorkOrderDispatched(WorkOrderDispatched) by HUB,
    "work_order.changed" => WorkOrderChanged(WorkOrderChanged) by FIELD,
    "work_order.part_used" => WorkOrderPartUsed(WorkOrderPartUsed) by TECHNICIAN,
    "device.registered" => DeviceRegistered(DeviceRegistered) by HUB,
    "device.revoked" => DeviceRevoked(DeviceRevoked) by HUB,
    "device.configured" => DeviceConfigured(DeviceConfigured) by HUB,
}

impl DomainEvent {
    /// Whether only the hub's own signed logs may carry this event: the tenant's device
    /// records (a terminal that wrote one could vouch for a key of its own making) and work
    /// order assignments (it could hand itself a job or forge others' edits). The hub
    /// refuses them in a terminal's push. This is a subset of what [`Self::authority`]
    /// reserves to the hub; [`crate::admit`] applies the whole rule on fold.
    #[must_use]
    pub fn is_hub_only(&self) -> bool {
        matches!(
            self,
            DomainEvent::DeviceRegistered(_)
                | DomainEvent::DeviceRevoked(_)
                | DomainEvent::DeviceConfigured(_)
                | DomainEvent::WorkOrderDispatched(_)
        )
    }
}

/// A payload that does not match its kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("payload of a \"{kind}\" event is malformed: {reason}")]
pub struct PayloadError {
    /// The event kind.
    pub kind: String,
    /// What the decoder said.
    pub reason: String,
}
