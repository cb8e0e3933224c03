//! What a replica checks before it folds a fact: trust no device.
//!
//! A signature proves which device wrote a fact; it says nothing about whether that device
//! was allowed to, or whether what it wrote makes sense. A stolen kitchen screen signs
//! perfectly good events. So [`admit`] is for the hub and every terminal to run on each
//! fact, against their own state, before folding it, whether it came from its author, from
//! a LAN peer or from the hub: the authoring terminal's own checks ([`crate::command`]) are
//! not enough, because the attacker is the authoring terminal.
//!
//! A fact that fails is to be **quarantined**, not dropped: kept in the log (the chain stays
//! whole and auditable, and it is relayed like any other) but not folded. The [`Quarantine`]
//! says why, in a stable code for metrics and alerts and in words a manager can read. The
//! verdict on one fact never depends on whether another was quarantined, so one bad fact
//! need not stop the facts after it.
//!
//! Some reasons depend on facts that may simply not have arrived yet (a line for an order
//! whose opening is still on its way from another terminal); those are not final
//! ([`Quarantine::is_final`]): the replica admits the fact again once it has more.
//!
//! The checks, in order: who wrote it ([`Author`], revocation); whether its kind lets
//! them ([`crate::authority`]); its clock stamp ([`ClockBounds`]); what it says (currency
//! exponents, amounts and quantities in range, PIN-hash cost, no card number in any text);
//! what it touches (orders, drawers and tickets of the author's own location, work orders
//! assigned to the author, approvers who are active managers or owners); and the
//! first-writer-wins slots it claims ([`crate::slot`]).
//!
//! A replica supplies its state through [`AdmitContext`] and asks about each fact before
//! folding it:
//!
//! ```
//! use std::collections::BTreeMap;
//! use thorbis_domain::admit::{AdmitContext, FactMeta, admit_payload};
//! use thorbis_domain::command::{ReadError, ReadModel};
//! use thorbis_domain::{Aggregate, EventMeta, State};
//! use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
//!
//! struct Replica {
//!     state: State,
//!     reference_log: DeviceId,
//!     stored_ms: BTreeMap<EventId, u64>,
//! }
//!
//! impl ReadModel for Replica {
//!     fn get<A: Aggregate>(&self, id: uuid::Uuid) -> Result<Option<A>, ReadError> {
//!         <State as ReadModel>::get(&self.state, id)
//!     }
//! }
//!
//! impl AdmitContext for Replica {
//!     fn is_hub_log(&self, device: DeviceId) -> bool {
//!         device == self.reference_log
//!     }
//!     fn first_seen_ms(&self, event: EventId) -> Option<u64> {
//!         self.stored_ms.get(&event).copied()
//!     }
//! }
//!
//! let replica = Replica {
//!     state: State::default(),
//!     reference_log: DeviceId::from_bytes([0xaa; 16]),
//!     stored_ms: BTreeMap::new(),
//! };
//! // A terminal nobody registered pushes an order: not folded, and worth asking again
//! // once the hub's record of that terminal has arrived.
//! let stamp = Hlc { wall_ms: 1_800_000_000_000, counter: 0 };
//! let id = EventId { device_id: DeviceId::from_bytes([1; 16]), seq: 1 };
//! let fact = FactMeta {
//!     meta: EventMeta { hlc: stamp, id },
//!     previous: None,
//!     received_ms: stamp.wall_ms,
//!     from_author: true,
//! };
//! let payload = br#"{"order_id": "0192a3b4-0000-7000-8000-000000000001",
//!                    "currency": {"code": [85, 83, 68], "exponent": 2}, "mode": "take_out"}"#;
//! let verdict = admit_payload(&fact, "order.opened", payload, &replica).expect("reads work");
//! let quarantine = verdict.expect_err("an unknown author");
//! assert_eq!(quarantine.code(), "unknown_author");
//! assert!(!quarantine.is_final());
//! ```

use serde_json::Value;
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

use crate::approval::may_approve;
use crate::authority::Author;
use crate::catalog::{PinHashCost, Staff};
use crate::command::{ReadError, ReadModel, looks_like_card_number};
use crate::device::{Device, DeviceRole};
use crate::drawer::DrawerSession;
use crate::events::{
    DiscountApplied, DiscountRule, DomainEvent, LineAdded, StockReason, Tender, TicketLine,
    WorkOrderPartUsed,
};
use crate::fold::{EventMeta, Versioned};
use crate::ids::{DrawerSessionId, LocationId, OrderId, StaffId, TicketId, WorkOrderId};
use crate::kitchen::Ticket;
use crate::money::{Currency, Money, Qty};
use crate::order::Order;
use crate::slot::{Claim, Held, Refused, Slot, contest};
use crate::tax::TaxRate;
use crate::work_order::{ChangeBytes, MAX_PART_QTY, WorkOrder};

/// The largest amount a single price, tender, float or movement may carry: ten times the
/// default policy's limit, so a location that raised its own limit is not quarantined,
/// while nothing near `i64`'s range (where sums would wrap) gets in.
pub const MAX_AMOUNT: Money = Money(1_000_000_000_00);
/// The largest figure in a Z report, which sums a whole shift.
pub const MAX_TOTAL: Money = Money(1_000_000_000_000_00);
/// The largest quantity on a line, a ticket or a refund (a million units).
pub const MAX_QTY: Qty = Qty::units(1_000_000);
/// The largest stock movement or count (a billion units).
pub const MAX_STOCK: Qty = Qty::units(1_000_000_000);
/// The longest text any field may hold, in characters: a work order's note, the longest
/// the terminals write.
pub const MAX_TEXT: usize = crate::work_order::MAX_TEXT;
/// A tax rate of 100 % in parts per million.
const MAX_TAX_PPM: u32 = 1_000_000;
/// 100 % in basis points.
const MAX_BPS: u32 = 10_000;

/// How far a fact's clock stamp may stray. Stamps decide first-writer-wins slots and
/// last-writer-wins values, so a device that could stamp freely could win any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockBounds {
    /// How far behind its author's previous stamp a fact may be. A device's hybrid logical
    /// clock only moves forward, so an honest device never goes back at all.
    pub max_behind_own_ms: u64,
    /// How far behind the receiver's clock a fact arriving straight from its author may
    /// be: how long a terminal may stay offline and still have its facts taken.
    pub max_behind_receiver_ms: u64,
    /// How far ahead of the receiver's clock any fact may be (the sync layer's bound).
    pub max_ahead_ms: u64,
    /// How long after a first-writer-wins slot was filled a back-dated claim from another
    /// device may still take it ([`crate::slot`]): concurrent claims crossing on the LAN.
    pub contest_grace_ms: u64,
}

impl Default for ClockBounds {
    fn default() -> Self {
        const MINUTE: u64 = 60 * 1000;
        Self {
            max_behind_own_ms: 0,
            max_behind_receiver_ms: 7 * 24 * 60 * MINUTE,
            max_ahead_ms: 5 * MINUTE,
            contest_grace_ms: 5 * MINUTE,
        }
    }
}

/// A fact as the receiver holds it, beside its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactMeta {
    /// Its stamp and identity (author device, seq).
    pub meta: EventMeta,
    /// The stamp of its author's previous event (seq - 1), which a receiver always holds
    /// since it stores chains contiguously; `None` for a device's first event.
    pub previous: Option<Hlc>,
    /// The receiver's clock when it stored the fact (its `stored_ms` or `received_at_ms`,
    /// also when re-admitting later or rebuilding).
    pub received_ms: u64,
    /// Whether it came straight from its author (the author's own push to the hub, a LAN
    /// peer's own events), rather than relayed or pulled from history. Only such facts are
    /// held to [`ClockBounds::max_behind_receiver_ms`]: a month-old fact pulled by a
    /// terminal enrolled today is history, not back-dating. A rebuild that did not record
    /// it passes `false`, which forgoes only that bound.
    pub from_author: bool,
}

/// What a replica knows that [`admit`] asks about. Aggregates come through
/// [`ReadModel`] (the same reads commands use): device records (role, location,
/// revocation), staff, orders, drawers, tickets, work orders.
pub trait AdmitContext: ReadModel {
    /// Whether `device` is one of the tenant's hub-signed logs (the reference log, a
    /// dispatch log, the desk log): those are the hub's, not an enrolled device's.
    fn is_hub_log(&self, device: DeviceId) -> bool;

    /// When this replica stored `event`, by the clock of [`FactMeta::received_ms`], if it
    /// holds it. Decides contested slots.
    fn first_seen_ms(&self, event: EventId) -> Option<u64>;

    /// What `device`'s tenant-signed credential says of it (role, location), when this
    /// replica holds one it verified (a LAN peer proves its credential before its device
    /// record has reached this replica). Consulted only when there is no device record;
    /// revocation is always the record's.
    fn credential(&self, device: DeviceId) -> Option<(DeviceRole, LocationId)> {
        let _ = device;
        None
    }

    /// The clock bounds in force.
    fn clock_bounds(&self) -> ClockBounds {
        ClockBounds::default()
    }
}

/// Why a fact is kept but not folded. [`Quarantine::code`] is stable for metrics and
/// alerts; the `Display` text is for the manager who reads the alert (it never repeats a
/// card number it found).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)]
pub enum Quarantine {
    #[error("\"{kind}\" is a kind of record this version does not know")]
    UnknownKind { kind: String },
    #[error("a \"{kind}\" record is malformed: {reason}")]
    Malformed { kind: String, reason: String },
    #[error("written by device {device}, which this replica does not know (yet)")]
    UnknownAuthor { device: DeviceId },
    #[error("written by device {device} after it was revoked")]
    Revoked { device: DeviceId },
    #[error("{author} may not record \"{kind}\"")]
    NotAllowed { kind: &'static str, author: String },
    #[error("stamped {behind_ms} ms before the same device's previous record")]
    BehindOwnClock { behind_ms: u64 },
    #[error("stamped {behind_ms} ms before it was received, more than a device may be offline")]
    BehindReceiver { behind_ms: u64 },
    #[error("stamped {ahead_ms} ms ahead of this replica's clock")]
    AheadOfReceiver { ahead_ms: u64 },
    #[error("the currency {code:?} with {exponent} decimals does not exist")]
    InvalidCurrency { code: String, exponent: u8 },
    #[error("{what} is out of range")]
    OutOfRange { what: &'static str },
    #[error("a staff PIN hash that is not argon2id or costs more than a terminal can afford")]
    PinHashCost,
    #[error("the field \"{field}\" holds what looks like a card number, which is never recorded")]
    CardNumber { field: String },
    #[error("the field \"{field}\" is longer than {MAX_TEXT} characters")]
    TextTooLong { field: String },
    #[error("the field \"{field}\" holds a control character (only tab and line breaks are text)")]
    ControlCharacter { field: String },
    #[error("this device configuration cannot be used: {0}")]
    InvalidConfig(String),
    #[error("{what} {id} is not known here (yet)")]
    UnknownTarget { what: &'static str, id: Uuid },
    #[error("{what} {id} belongs to another location than its writer's")]
    WrongLocation { what: &'static str, id: Uuid },
    #[error("the drawer's currency is not the order's")]
    CurrencyMismatch,
    #[error("work order {work_order} is not assigned to device {device}")]
    NotAssigned { work_order: WorkOrderId, device: DeviceId },
    #[error("{what} needs a manager's approval and names none")]
    ApprovalMissing { what: &'static str },
    #[error("approver {0} is not known here (yet)")]
    UnknownApprover(StaffId),
    #[error("staff {0} is not an active manager or owner")]
    NotAnApprover(StaffId),
    /// `holder` is the device whose record holds the slot here: when a forger's copy
    /// arrived first, the alert names both, and a manager sees which to revoke.
    #[error("device {holder} already recorded {slot}")]
    SlotTaken { slot: Slot, holder: DeviceId },
    #[error(
        "device {holder} already recorded {slot} here; a later record stamped earlier cannot replace it"
    )]
    Backdated { slot: Slot, holder: DeviceId },
}

impl Quarantine {
    /// A short stable name for metrics and alerts.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Quarantine::UnknownKind { .. } => "unknown_kind",
            Quarantine::Malformed { .. } => "malformed",
            Quarantine::UnknownAuthor { .. } => "unknown_author",
            Quarantine::Revoked { .. } => "revoked",
            Quarantine::NotAllowed { .. } => "not_allowed",
            Quarantine::BehindOwnClock { .. } => "behind_own_clock",
            Quarantine::BehindReceiver { .. } => "behind_receiver",
            Quarantine::AheadOfReceiver { .. } => "ahead_of_receiver",
            Quarantine::InvalidCurrency { .. } => "invalid_currency",
            Quarantine::OutOfRange { .. } => "out_of_range",
            Quarantine::PinHashCost => "pin_hash_cost",
            Quarantine::CardNumber { .. } => "card_number",
            Quarantine::TextTooLong { .. } => "text_too_long",
            Quarantine::ControlCharacter { .. } => "control_character",
            Quarantine::InvalidConfig(_) => "invalid_config",
            Quarantine::UnknownTarget { .. } => "unknown_target",
            Quarantine::WrongLocation { .. } => "wrong_location",
            Quarantine::CurrencyMismatch => "currency_mismatch",
            Quarantine::NotAssigned { .. } => "not_assigned",
            Quarantine::ApprovalMissing { .. } => "approval_missing",
            Quarantine::UnknownApprover(_) => "unknown_approver",
            Quarantine::NotAnApprover(_) => "not_an_approver",
            Quarantine::SlotTaken { .. } => "slot_taken",
            Quarantine::Backdated { .. } => "backdated",
        }
    }

    /// Whether the verdict stands whatever arrives later. `false` when it rests on a fact
    /// this replica lacks (the author's registration, an order's opening, an approver's
    /// record): admit the fact again once more has arrived.
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Quarantine::UnknownAuthor { .. }
                | Quarantine::UnknownTarget { .. }
                | Quarantine::UnknownApprover(_)
        )
    }
}

/// The verdict on one fact: `Ok` to fold it.
pub type Verdict = Result<(), Quarantine>;

/// Decodes a stored envelope's payload and admits it: the one call for a raw fact. An
/// unknown kind or a malformed payload is a quarantine like any other.
pub fn admit_payload(
    fact: &FactMeta,
    kind: &str,
    payload: &[u8],
    cx: &impl AdmitContext,
) -> Result<Result<DomainEvent, Quarantine>, ReadError> {
    let event = match decoded(kind, payload) {
        Ok(event) => event,
        Err(q) => return Ok(Err(q)),
    };
    Ok(verdict(check(fact, &event, payload, cx))?.map(|()| event))
}

/// What a replica can check of a raw fact without the aggregates it touches: that its kind
/// is known and its payload decodes, that `author` may write it (and, for a device revoked
/// at `revoked_at_ms`, that it was written before), its stamp, and what it says. The hub
/// runs this on every push, where the author's role comes from its device record; a
/// terminal runs the whole of [`admit_payload`], which includes it.
pub fn admit_by(
    fact: &FactMeta,
    author: &Author,
    revoked_at_ms: Option<u64>,
    kind: &str,
    payload: &[u8],
) -> Result<DomainEvent, Quarantine> {
    let event = decoded(kind, payload)?;
    if let Author::Device { id, .. } = author
        && revoked_at_ms.is_some_and(|at| fact.meta.hlc.wall_ms > at)
    {
        return Err(Quarantine::Revoked { device: *id });
    }
    by_whom(fact, &event, author, payload, &ClockBounds::default())?;
    Ok(event)
}

/// May `author` write `event`, stamped so, saying this? The hub's logs are stamped by the
/// hub's clock and signed with the tenant key: only devices are held to the clock bounds.
fn by_whom(
    fact: &FactMeta,
    event: &DomainEvent,
    author: &Author,
    payload: &[u8],
    bounds: &ClockBounds,
) -> Result<(), Quarantine> {
    if !event.authority().allows(author) {
        return Err(Quarantine::NotAllowed { kind: event.kind(), author: who(author) });
    }
    if let Author::Device { .. } = author {
        clock(fact, bounds)?;
    }
    says(event, payload)
}

/// The event a stored envelope carries; an unknown kind or a malformed payload is a
/// quarantine like any other.
fn decoded(kind: &str, payload: &[u8]) -> Result<DomainEvent, Quarantine> {
    match DomainEvent::decode(kind, payload) {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(Quarantine::UnknownKind { kind: withheld(kind) }),
        Err(e) => Err(Quarantine::Malformed { kind: e.kind, reason: withheld(&e.reason) }),
    }
}

/// Checks `event`, stamped and identified by `fact`, against what this replica knows
/// (see the module docs). `Err` only when reading state failed.
pub fn admit(
    fact: &FactMeta,
    event: &DomainEvent,
    cx: &impl AdmitContext,
) -> Result<Verdict, ReadError> {
    verdict(check(fact, event, &event.encode_payload(), cx))
}

/// Text a forger chose, as an alert may repeat it: short, and never a card number (a
/// decoder's message quotes the value it choked on).
fn withheld(text: &str) -> String {
    if looks_like_card_number(text) {
        "(withheld: it contains what looks like a card number)".to_owned()
    } else {
        text.chars().take(200).collect()
    }
}

fn verdict(checked: Result<(), Failure>) -> Result<Verdict, ReadError> {
    match checked {
        Ok(()) => Ok(Ok(())),
        Err(Failure::Read(e)) => Err(e),
        Err(Failure::Quarantine(q)) => Ok(Err(q)),
    }
}

/// `payload` is the event's JSON as stored: its text is read there rather than from the
/// decoded event, so a field this build does not know (and ignores) is read too.
fn check(
    fact: &FactMeta,
    event: &DomainEvent,
    payload: &[u8],
    cx: &impl AdmitContext,
) -> Result<(), Failure> {
    let author = author(fact, cx)?;
    by_whom(fact, event, &author, payload, &cx.clock_bounds())?;
    in_context(fact, event, &author, cx)
}

/// The checks of [`admit`] that need the replica's state, for a fact whose author and
/// content [`admit_by`] already passed: where a device writes, who approved, contested
/// slots. The hub runs this as it folds a push, against the aggregates it loaded.
pub fn admit_in_context(
    fact: &FactMeta,
    event: &DomainEvent,
    author: &Author,
    cx: &impl AdmitContext,
) -> Result<Verdict, ReadError> {
    verdict(in_context(fact, event, author, cx))
}

fn in_context(
    fact: &FactMeta,
    event: &DomainEvent,
    author: &Author,
    cx: &impl AdmitContext,
) -> Result<(), Failure> {
    if let Author::Device { id, location, .. } = *author {
        places(event, id, location, cx)?;
    }
    approvals(fact, event, author, cx)?;
    slots(fact, event, cx)
}

/// A read failure or a quarantine, so the checks can use `?` for both.
enum Failure {
    Read(ReadError),
    Quarantine(Quarantine),
}

impl From<ReadError> for Failure {
    fn from(e: ReadError) -> Self {
        Failure::Read(e)
    }
}

impl From<Quarantine> for Failure {
    fn from(q: Quarantine) -> Self {
        Failure::Quarantine(q)
    }
}

fn who(author: &Author) -> String {
    match author {
        Author::Hub => "the hub".to_owned(),
        Author::Device { id, role, .. } => format!("a {} device ({id})", role.as_str()),
    }
}

/// Who wrote the fact: one of the hub's logs, or an enrolled device not revoked before
/// the fact's stamp. Facts a device wrote before its revocation stay good.
fn author(fact: &FactMeta, cx: &impl AdmitContext) -> Result<Author, Failure> {
    let device = fact.meta.id.device_id;
    if cx.is_hub_log(device) {
        return Ok(Author::Hub);
    }
    let record = cx.get::<Device>(Uuid::from_bytes(*device.as_bytes()))?.unwrap_or_default();
    if record.revoked.as_ref().is_some_and(|r| fact.meta.hlc.wall_ms > r.value.revoked_at_ms) {
        return Err(Quarantine::Revoked { device }.into());
    }
    let Some((role, location)) = place(device, &record, cx) else {
        return Err(Quarantine::UnknownAuthor { device }.into());
    };
    Ok(Author::Device { id: device, role, location })
}

/// A device's role and location: its registration, or else the credential it proved.
fn place(
    device: DeviceId,
    record: &Device,
    cx: &impl AdmitContext,
) -> Option<(DeviceRole, LocationId)> {
    match record.registration() {
        Some(r) => Some((r.role, LocationId(r.location_id))),
        None => cx.credential(device),
    }
}

fn clock(fact: &FactMeta, bounds: &ClockBounds) -> Result<(), Quarantine> {
    let wall = fact.meta.hlc.wall_ms;
    if let Some(previous) = fact.previous
        && wall.saturating_add(bounds.max_behind_own_ms) < previous.wall_ms
    {
        return Err(Quarantine::BehindOwnClock { behind_ms: previous.wall_ms - wall });
    }
    if fact.from_author && wall.saturating_add(bounds.max_behind_receiver_ms) < fact.received_ms {
        return Err(Quarantine::BehindReceiver { behind_ms: fact.received_ms - wall });
    }
    if wall > fact.received_ms.saturating_add(bounds.max_ahead_ms) {
        return Err(Quarantine::AheadOfReceiver { ahead_ms: wall - fact.received_ms });
    }
    Ok(())
}

// ---- What the fact says ----------------------------------------------------------------

fn currency(c: Currency) -> Result<(), Quarantine> {
    if c.is_valid() {
        Ok(())
    } else {
        Err(Quarantine::InvalidCurrency {
            code: String::from_utf8_lossy(&c.code).into_owned(),
            exponent: c.exponent,
        })
    }
}

fn within(value: Money, min: Money, max: Money, what: &'static str) -> Result<(), Quarantine> {
    if (min..=max).contains(&value) { Ok(()) } else { Err(Quarantine::OutOfRange { what }) }
}

/// A price, tender or movement: zero up to [`MAX_AMOUNT`].
fn amount(value: Money, what: &'static str) -> Result<(), Quarantine> {
    within(value, Money::ZERO, MAX_AMOUNT, what)
}

/// A quantity sold, sent or returned: above zero, up to [`MAX_QTY`].
fn qty(value: Qty, what: &'static str) -> Result<(), Quarantine> {
    if value > Qty::ZERO && value <= MAX_QTY {
        Ok(())
    } else {
        Err(Quarantine::OutOfRange { what })
    }
}

fn taxes(rates: &[TaxRate]) -> Result<(), Quarantine> {
    if rates.iter().all(|r| r.ppm <= MAX_TAX_PPM) {
        Ok(())
    } else {
        Err(Quarantine::OutOfRange { what: "a tax rate" })
    }
}

fn line(l: &LineAdded) -> Result<(), Quarantine> {
    amount(l.unit_price, "a line's unit price")?;
    qty(l.qty, "a line's quantity")?;
    for m in &l.modifiers {
        within(m.price_delta, -MAX_AMOUNT, MAX_AMOUNT, "a modifier's price")?;
    }
    taxes(&l.taxes)
}

fn discount(d: &DiscountApplied) -> Result<(), Quarantine> {
    match d.rule {
        DiscountRule::PercentBps(bps) if bps > MAX_BPS => {
            Err(Quarantine::OutOfRange { what: "a discount's percentage" })
        }
        DiscountRule::PercentBps(_) => Ok(()),
        DiscountRule::Amount(a) => amount(a, "a discount's amount"),
    }
}

fn tender(t: &Tender) -> Result<(), Quarantine> {
    match t {
        Tender::Cash { tendered, change } => {
            amount(*tendered, "cash tendered")?;
            amount(*change, "change given")
        }
        Tender::Card { last4, .. }
            if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Err(Quarantine::OutOfRange { what: "a card's last four digits" })
        }
        Tender::Card { .. } | Tender::Other { .. } => Ok(()),
    }
}

fn ticket_lines(lines: &[TicketLine]) -> Result<(), Quarantine> {
    lines.iter().try_for_each(|l| qty(l.qty, "a ticket line's quantity"))
}

/// What [`admit`] checks of what a fact says, whoever writes it and whatever the state:
/// ranges, currencies, PIN-hash cost, card numbers and text lengths. For the hub's own
/// publishing (reference data, device configuration) to refuse up front what every
/// replica would quarantine.
pub fn check_content(event: &DomainEvent) -> Verdict {
    says(event, &event.encode_payload())
}

fn says(event: &DomainEvent, payload: &[u8]) -> Verdict {
    // Text first: later reasons may quote a field (a device configuration's problem).
    texts(payload)?;
    content(event)
}

/// Ranges, currencies, PIN-hash cost and work order changes' text.
#[allow(clippy::too_many_lines, reason = "one arm per kind, so a new kind must decide")]
fn content(event: &DomainEvent) -> Result<(), Quarantine> {
    use DomainEvent as E;
    match event {
        E::ItemUpserted(i) => amount(i.price, "an item's price")?,
        E::ModifierGroupUpserted(g) => {
            for m in &g.modifiers {
                within(m.price_delta, -MAX_AMOUNT, MAX_AMOUNT, "a modifier's price")?;
            }
        }
        E::TaxRateUpserted(r) => taxes(std::slice::from_ref(r))?,
        E::StaffUpserted(s) => {
            // The technician role belongs to a laptop's own PIN, never to published staff.
            if s.role == crate::catalog::Role::Technician {
                return Err(Quarantine::OutOfRange { what: "a staff member's role" });
            }
            pin_hash(s)?;
        }
        E::OrderOpened(o) => currency(o.currency)?,
        E::LineAdded(l) => line(l)?,
        E::DiscountApplied(d) => discount(d)?,
        E::LineRepriced(r) => amount(r.unit_price, "a line's unit price")?,
        E::LinesMovedIn(m) => {
            for moved in &m.lines {
                line(&moved.line)?;
                moved.discounts.iter().try_for_each(discount)?;
            }
        }
        E::SentToKitchen(s) => {
            for t in &s.tickets {
                ticket_lines(&t.lines)?;
            }
        }
        E::PaymentTaken(p) => {
            amount(p.amount, "a payment's amount")?;
            amount(p.tip, "a tip")?;
            tender(&p.tender)?;
        }
        E::RefundIssued(r) => {
            amount(r.amount, "a refund's amount")?;
            tender(&r.tender)?;
            r.lines.iter().try_for_each(|l| qty(l.qty, "a returned quantity"))?;
        }
        E::DrawerOpened(d) => {
            currency(d.currency)?;
            amount(d.float, "a drawer's float")?;
        }
        E::DrawerPaidIn(d) | E::DrawerPaidOut(d) => amount(d.amount, "cash paid in or out")?,
        E::DrawerCounted(d) => amount(d.counted, "a drawer count")?,
        E::DrawerZReported(z) => {
            let r = &z.report;
            currency(r.currency)?;
            let figures = [
                r.gross_sales,
                r.discounts,
                r.comps,
                r.voids,
                r.net_sales,
                r.tax,
                r.float,
                r.paid_in,
                r.paid_out,
                r.expected_cash,
            ];
            let tenders = r.tenders.values().flat_map(|t| [t.amount, t.tips, t.refunds]);
            let counted = r.counted_cash.into_iter().chain(r.over_short);
            for f in figures.into_iter().chain(tenders).chain(counted) {
                within(f, -MAX_TOTAL, MAX_TOTAL, "a Z report figure")?;
            }
        }
        E::StockMoved(m) => {
            if m.delta.0.unsigned_abs() > MAX_STOCK.0.unsigned_abs() {
                return Err(Quarantine::OutOfRange { what: "a stock movement" });
            }
            if let StockReason::Count { counted } = m.reason
                && !(Qty::ZERO..=MAX_STOCK).contains(&counted)
            {
                return Err(Quarantine::OutOfRange { what: "a stock count" });
            }
        }
        E::DeviceConfigured(c) => {
            if let Some(problem) = c.config.problem() {
                return Err(Quarantine::InvalidConfig(problem));
            }
        }
        E::WorkOrderDispatched(d) => d.changes.iter().try_for_each(change_texts)?,
        E::WorkOrderChanged(c) => change_texts(&c.change)?,
        E::WorkOrderPartUsed(p) => {
            if p.qty.0 <= 0 || p.qty > MAX_PART_QTY {
                return Err(Quarantine::OutOfRange { what: "a part's quantity" });
            }
            change_texts(&p.change)?;
        }
        E::CategoryUpserted(_)
        | E::TaxCategoryUpserted(_)
        | E::AvailabilitySet(_)
        | E::LineVoided(_)
        | E::LineComped(_)
        | E::LinesMovedOut(_)
        | E::OrderTransferred(_)
        | E::OrderMerged(_)
        | E::CourseHeld(_)
        | E::CourseFired(_)
        | E::OrderClosed(_)
        | E::TicketBumped(_)
        | E::TicketRecalled(_)
        | E::DrawerNoSale(_)
        | E::DrawerClosed(_)
        | E::DeviceRegistered(_)
        | E::DeviceRevoked(_) => {}
    }
    Ok(())
}

fn pin_hash(staff: &Staff) -> Result<(), Quarantine> {
    if PinHashCost::is_publishable(&staff.pin_hash) { Ok(()) } else { Err(Quarantine::PinHashCost) }
}

/// Fields whose strings are not free text: hashes, keys, barcodes and Automerge changes
/// (base64 or digits by design; the changes are read by [`change_texts`]).
const NOT_TEXT: &[&str] = &["pin_hash", "public_key", "barcodes", "change", "changes"];

/// Every string of the payload, found by walking its JSON, so a field added to any event
/// later (or one only a newer build knows) is covered without anyone remembering to list
/// it. Ids are skipped: a UUID is not text anyone typed.
fn texts(payload: &[u8]) -> Result<(), Quarantine> {
    // The payload decoded as its kind, so it is JSON.
    let Ok(json) = serde_json::from_slice::<Value>(payload) else {
        return Ok(());
    };
    walk(&json, "", &mut |field, s| text(field, s))
}

fn walk(
    value: &Value,
    field: &str,
    check: &mut impl FnMut(&str, &str) -> Result<(), Quarantine>,
) -> Result<(), Quarantine> {
    match value {
        Value::String(s) if Uuid::try_parse(s).is_err() => check(field, s),
        Value::Array(items) => items.iter().try_for_each(|v| walk(v, field, check)),
        // Keys are text too: a Z report's tenders are keyed by the tender's name.
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !NOT_TEXT.contains(&k.as_str()))
            .try_for_each(|(k, v)| check(field, k).and_then(|()| walk(v, k, check))),
        _ => Ok(()),
    }
}

fn text(field: &str, s: &str) -> Result<(), Quarantine> {
    // A field's name is the forger's choice too when the field is one this build does not
    // know; it has passed this check itself, but may be long.
    let field = || field.chars().take(64).collect();
    if s.chars().count() > MAX_TEXT {
        return Err(Quarantine::TextTooLong { field: field() });
    }
    if looks_like_card_number(s) {
        return Err(Quarantine::CardNumber { field: field() });
    }
    // A NUL cannot be stored as text by Postgres (one would fail the whole push it came
    // in), and the others are printer and terminal commands, never typed text.
    if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(Quarantine::ControlCharacter { field: field() });
    }
    Ok(())
}

fn change_texts(change: &ChangeBytes) -> Result<(), Quarantine> {
    let texts = change.texts().ok_or_else(|| Quarantine::Malformed {
        kind: "work_order".to_owned(),
        reason: "a change that is not an Automerge change".to_owned(),
    })?;
    texts.iter().try_for_each(|s| text("work order", s))
}

// ---- What the fact touches --------------------------------------------------------------

/// The location of the device that wrote `meta`, from its registration.
fn location_of(meta: &EventMeta, cx: &impl AdmitContext) -> Result<Option<LocationId>, ReadError> {
    let device = meta.id.device_id;
    let record = cx.get::<Device>(Uuid::from_bytes(*device.as_bytes()))?.unwrap_or_default();
    Ok(place(device, &record, cx).map(|(_, location)| location))
}

/// Requires the aggregate opened by `opened` to be at `location`. Unknown (its opening not
/// here yet) is not final: the fact is admitted again later.
fn same_place(
    opened: Option<&EventMeta>,
    location: LocationId,
    what: &'static str,
    id: Uuid,
    cx: &impl AdmitContext,
) -> Result<(), Failure> {
    let unknown = || Quarantine::UnknownTarget { what, id };
    let opened = opened.ok_or_else(unknown)?;
    match location_of(opened, cx)? {
        Some(l) if l == location => Ok(()),
        Some(_) => Err(Quarantine::WrongLocation { what, id }.into()),
        None => Err(unknown().into()),
    }
}

fn order_at(id: OrderId, location: LocationId, cx: &impl AdmitContext) -> Result<Order, Failure> {
    let order = cx.get::<Order>(id.0)?.unwrap_or_default();
    same_place(order.opened.as_ref().map(|s| &s.meta), location, "order", id.0, cx)?;
    Ok(order)
}

fn drawer_at(
    id: DrawerSessionId,
    location: LocationId,
    cx: &impl AdmitContext,
) -> Result<DrawerSession, Failure> {
    let drawer = cx.get::<DrawerSession>(id.0)?.unwrap_or_default();
    same_place(drawer.opened.as_ref().map(|s| &s.meta), location, "drawer session", id.0, cx)?;
    Ok(drawer)
}

fn ticket_at(id: TicketId, location: LocationId, cx: &impl AdmitContext) -> Result<(), Failure> {
    let ticket = cx.get::<Ticket>(id.0)?.unwrap_or_default();
    same_place(ticket.content.as_ref().map(|s| &s.meta), location, "kitchen ticket", id.0, cx)
}

/// A payment or refund into a drawer: both at the writer's location, in one currency.
fn paid_into(
    order: OrderId,
    drawer: Option<DrawerSessionId>,
    location: LocationId,
    cx: &impl AdmitContext,
) -> Result<(), Failure> {
    let order = order_at(order, location, cx)?;
    if let Some(drawer) = drawer {
        let drawer = drawer_at(drawer, location, cx)?;
        let order_currency = order.opened.as_ref().map(|o| o.value.currency);
        if drawer.currency().is_some() && drawer.currency() != order_currency {
            return Err(Quarantine::CurrencyMismatch.into());
        }
    }
    Ok(())
}

/// A device writes only about orders, drawers and tickets of its own location, and edits
/// only work orders assigned to it.
fn places(
    event: &DomainEvent,
    device: DeviceId,
    location: LocationId,
    cx: &impl AdmitContext,
) -> Result<(), Failure> {
    use DomainEvent as E;
    let order = |id: OrderId| order_at(id, location, cx).map(drop);
    let drawer = |id: DrawerSessionId| drawer_at(id, location, cx).map(drop);
    match event {
        E::LineAdded(e) => order(e.order_id),
        E::LineVoided(e) => order(e.order_id),
        E::LineComped(e) => order(e.order_id),
        E::DiscountApplied(e) => order(e.order_id),
        E::LineRepriced(e) => order(e.order_id),
        E::LinesMovedOut(e) => order(e.order_id).and_then(|()| order(e.to)),
        E::LinesMovedIn(e) => order(e.order_id).and_then(|()| order(e.from)),
        E::OrderTransferred(e) => order(e.order_id),
        E::OrderMerged(e) => order(e.order_id).and_then(|()| order(e.into)),
        E::SentToKitchen(e) => order(e.order_id),
        E::CourseHeld(e) | E::CourseFired(e) => order(e.order_id),
        E::OrderClosed(e) => order(e.order_id),
        E::PaymentTaken(e) => paid_into(e.order_id, e.drawer_session, location, cx),
        E::RefundIssued(e) => paid_into(e.order_id, e.drawer_session, location, cx),
        E::TicketBumped(e) | E::TicketRecalled(e) => ticket_at(e.ticket_id, location, cx),
        E::DrawerPaidIn(e) | E::DrawerPaidOut(e) => drawer(e.session_id),
        E::DrawerNoSale(e) => drawer(e.session_id),
        E::DrawerCounted(e) => drawer(e.session_id),
        E::DrawerClosed(e) => drawer(e.session_id),
        E::DrawerZReported(e) => drawer(e.session_id),
        E::StockMoved(e) => match e.reason {
            StockReason::Sale { order_id } => order(order_id),
            StockReason::Refund { .. }
            | StockReason::Receive { .. }
            | StockReason::Adjust { .. }
            | StockReason::Count { .. } => Ok(()),
        },
        E::WorkOrderChanged(e) => {
            assigned(e.work_order_id, device, cx)?;
            written_by(&e.change, device)?;
            figures_hold(e.work_order_id, &e.change, device, cx)
        }
        E::WorkOrderPartUsed(e) => {
            assigned(e.work_order_id, device, cx)?;
            written_by(&e.change, device)?;
            part_added(e, device, cx)
        }
        // New aggregates take the writer's location; the rest are not a device's to
        // write (the authority check refused them) or belong to no location.
        E::OrderOpened(_)
        | E::DrawerOpened(_)
        | E::AvailabilitySet(_)
        | E::ItemUpserted(_)
        | E::CategoryUpserted(_)
        | E::ModifierGroupUpserted(_)
        | E::TaxRateUpserted(_)
        | E::TaxCategoryUpserted(_)
        | E::StaffUpserted(_)
        | E::WorkOrderDispatched(_)
        | E::DeviceRegistered(_)
        | E::DeviceRevoked(_)
        | E::DeviceConfigured(_) => Ok(()),
    }
}

/// A change names its writer as the author of what it adds (a note, a status step, an
/// attachment): the hub takes an attachment's blob only from the device it names.
fn written_by(change: &ChangeBytes, device: DeviceId) -> Result<(), Quarantine> {
    if change.names_only(device) == Some(true) {
        return Ok(());
    }
    Err(Quarantine::Malformed {
        kind: "work_order".to_owned(),
        reason: "a change that names another device as the writer of what it adds".to_owned(),
    })
}

/// A part used is the part line its own change adds, and nothing else: the line is new,
/// its item and quantity are the fact's, and the change is the writer's own. So the stock
/// a fact moves is the part the document records, once per line.
fn part_added(e: &WorkOrderPartUsed, device: DeviceId, cx: &impl ReadModel) -> Result<(), Failure> {
    let refused = || Quarantine::Malformed {
        kind: "work_order.part_used".to_owned(),
        reason: "its change does not add the part it names".to_owned(),
    };
    let before = cx.get::<WorkOrder>(e.work_order_id.0)?.unwrap_or_default();
    let had = |order: &WorkOrder| {
        order.view().is_some_and(|v| v.parts.iter().any(|p| p.line_id == Some(e.line_id)))
    };
    if had(&before) {
        return Err(refused().into());
    }
    let mut after = before;
    if !after.add_own_change(&e.change, device) {
        return Err(refused().into());
    }
    let view = after.view().ok_or_else(refused)?;
    let line = view.parts.iter().find(|p| p.line_id == Some(e.line_id)).ok_or_else(refused)?;
    if line.item_id != Some(e.item_id) || line.qty != e.qty {
        return Err(refused().into());
    }
    Ok(())
}

/// A device's change leaves the job's money consistent: an invoice adds up (its total is
/// its subtotal and the tax added on top, its taxes sum to its tax figures, every amount in
/// range), a job is invoiced only with its invoice, and a payment is of the invoice's total
/// (nothing for "invoice later"). The domain's own edits always do; a forged change that
/// writes figures of its choosing does not.
fn figures_hold(
    id: WorkOrderId,
    change: &ChangeBytes,
    device: DeviceId,
    cx: &impl ReadModel,
) -> Result<(), Failure> {
    use crate::work_order::{PaymentMethod, WorkOrderStatus};
    let mut order = cx.get::<WorkOrder>(id.0)?.unwrap_or_default();
    let before = order.clone();
    // A change that is not the writer's own, or held already, changes nothing here.
    if !order.add_own_change(change, device) {
        return Ok(());
    }
    let Some(view) = order.view() else { return Ok(()) };
    let refused = |reason: &str| -> Failure {
        Quarantine::Malformed { kind: "work_order.changed".to_owned(), reason: reason.to_owned() }
            .into()
    };
    // Attachments: a change adds its writer's own and leaves every other as it was (the hub
    // takes a blob from the device an attachment names, with the size and type it names).
    if !view.attachments.is_empty() {
        let held = before.view().map(|v| v.attachments).unwrap_or_default();
        let kept = held.iter().all(|b| view.attachments.contains(b));
        let added_own = view
            .attachments
            .iter()
            .filter(|a| !held.contains(a))
            .all(|a| a.by == Some(device) && !held.iter().any(|b| b.blob.id == a.blob.id));
        if !kept || !added_own {
            return Err(refused("it alters an attachment, or adds one that is not its writer's"));
        }
    }
    if view.status == WorkOrderStatus::Invoiced && view.invoice.is_none() {
        return Err(refused("it marks the job invoiced without an invoice"));
    }
    let Some(invoice) = &view.invoice else {
        return if view.payment.is_some() {
            Err(refused("it records a payment with no invoice"))
        } else {
            Ok(())
        };
    };
    let sum = |inclusive: bool| -> Money {
        invoice.taxes.iter().filter(|t| t.inclusive == inclusive).map(|t| t.tax).sum()
    };
    let in_range = [invoice.subtotal, invoice.total, invoice.tax_exclusive, invoice.tax_inclusive]
        .into_iter()
        .chain(invoice.taxes.iter().flat_map(|t| [t.base, t.tax]))
        .all(|m| (Money::ZERO..=MAX_TOTAL).contains(&m));
    if !in_range
        || invoice.total != invoice.subtotal + invoice.tax_exclusive
        || invoice.tax_exclusive != sum(false)
        || invoice.tax_inclusive != sum(true)
    {
        return Err(refused("its invoice does not add up"));
    }
    if let Some(payment) = &view.payment {
        let due =
            if payment.method == PaymentMethod::InvoiceLater { Money::ZERO } else { invoice.total };
        if payment.amount != due {
            return Err(refused("its payment is not the invoice's total"));
        }
    }
    Ok(())
}

/// A technician edits only a work order assigned to it now. Edits made offline before a
/// reassignment and arriving after it are refused too: the job is someone else's, and the
/// dispatcher re-enters what still matters.
fn assigned(id: WorkOrderId, device: DeviceId, cx: &impl ReadModel) -> Result<(), Failure> {
    match cx.get::<WorkOrder>(id.0)?.and_then(|w| w.technician()) {
        Some(t) if t == device => Ok(()),
        Some(_) => Err(Quarantine::NotAssigned { work_order: id, device }.into()),
        None => Err(Quarantine::UnknownTarget { what: "work order", id: id.0 }.into()),
    }
}

// ---- Approvals --------------------------------------------------------------------------

/// Voids, comps, price overrides and refunds always name an approver; a discount or a
/// line's price override may. Whoever is named must be a manager or owner, active. Lines
/// moved from another check bring their comps and discounts along, approvers included.
/// The staff a fact names as approving something, whose records [`admit`] reads.
#[must_use]
pub fn approvers(event: &DomainEvent) -> Vec<StaffId> {
    named(event).into_iter().filter_map(|(staff, _)| staff).collect()
}

/// The checks [`admit`] reads for `event` besides the one it is about: the other check of
/// a move or a merge, a stock sale's check. A replica that loads only what a fact folds
/// into (the hub) loads these too before it admits.
#[must_use]
pub fn other_orders(event: &DomainEvent) -> Vec<OrderId> {
    use DomainEvent as E;
    match event {
        E::LinesMovedOut(e) => vec![e.to],
        E::LinesMovedIn(e) => vec![e.from],
        E::OrderMerged(e) => vec![e.into],
        E::StockMoved(e) => match e.reason {
            StockReason::Sale { order_id } => vec![order_id],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Who a fact names as approving something, and what needs someone named.
fn named(event: &DomainEvent) -> Vec<(Option<StaffId>, Option<&'static str>)> {
    use DomainEvent as E;
    let mut named: Vec<(Option<StaffId>, Option<&'static str>)> = match event {
        E::LineVoided(e) => vec![(e.approved_by, Some("a void"))],
        E::LineComped(e) => vec![(e.approved_by, Some("a comp"))],
        E::LineRepriced(e) => vec![(e.approved_by, Some("a price override"))],
        E::RefundIssued(e) => vec![(e.approved_by, Some("a refund"))],
        E::DiscountApplied(e) => vec![(e.approved_by, None)],
        E::LineAdded(e) => vec![(e.price_override_by, None)],
        _ => Vec::new(),
    };
    if let E::LinesMovedIn(e) = event {
        for moved in &e.lines {
            named.push((moved.line.price_override_by, None));
            named.extend(moved.comp.iter().map(|c| (c.approved_by, None)));
            named.extend(moved.discounts.iter().map(|d| (d.approved_by, None)));
        }
    }
    named
}

fn approvals(
    fact: &FactMeta,
    event: &DomainEvent,
    author: &Author,
    cx: &impl ReadModel,
) -> Result<(), Failure> {
    // A device's facts are approved by staff of its own location.
    let location = match *author {
        Author::Device { location, .. } => Some(location),
        Author::Hub => None,
    };
    for (approver, required) in named(event) {
        match (approver, required) {
            (Some(staff), _) => approver_at(staff, fact.meta.hlc, location, cx)?,
            (None, Some(what)) => return Err(Quarantine::ApprovalMissing { what }.into()),
            (None, None) => {}
        }
    }
    Ok(())
}

/// Only the latest version of a staff record is kept, so a manager who has left since
/// the fact cannot be asked whether they were active then, or where they worked: a record
/// deactivated, or moved to another location, after the fact's stamp still vouches for it.
/// Nothing else is forgiven, so a back-dated fact cannot name a cashier whose record merely
/// changed later. A record from before the fact must be active and, when the author has a
/// location, work there.
fn approver_at(
    id: StaffId,
    stamp: Hlc,
    location: Option<LocationId>,
    cx: &impl ReadModel,
) -> Result<(), Failure> {
    let Some(s) = cx.get::<Versioned<Staff>>(id.0)?.and_then(|v| v.current) else {
        return Err(Quarantine::UnknownApprover(id).into());
    };
    let changed_since = s.meta.hlc > stamp;
    let here = location.is_none_or(|l| s.value.works_at(l));
    if s.value.role.can_approve() && (changed_since || (may_approve(&s.value) && here)) {
        Ok(())
    } else {
        Err(Quarantine::NotAnApprover(id).into())
    }
}

// ---- Contested slots ---------------------------------------------------------------------

fn slots(fact: &FactMeta, event: &DomainEvent, cx: &impl AdmitContext) -> Result<(), Failure> {
    let grace = cx.clock_bounds().contest_grace_ms;
    let claim = Claim { meta: fact.meta, received_ms: fact.received_ms };
    for slot in Slot::claimed_by(event) {
        let Some(meta) = slot.holder(cx)? else { continue };
        let held = Held { meta, first_seen_ms: cx.first_seen_ms(meta.id) };
        match contest(slot, &held, &claim, grace) {
            Ok(()) => {}
            Err(refused) => {
                let holder = meta.id.device_id;
                return Err(match refused {
                    Refused::Taken => Quarantine::SlotTaken { slot, holder },
                    Refused::Backdated => Quarantine::Backdated { slot, holder },
                }
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(json: &str) -> Result<(), Quarantine> {
        let value: Value = serde_json::from_str(json).unwrap();
        walk(&value, "", &mut |field, s| text(field, s))
    }

    #[test]
    fn every_string_and_key_is_read_but_ids_and_hashes_are_not() {
        assert_eq!(
            scan(r#"{"a": {"b": ["x", "4111 1111 1111 1111"]}}"#).unwrap_err().code(),
            "card_number"
        );
        let keyed = scan(r#"{"tenders": {"4111111111111111": {"amount": 5}}}"#).unwrap_err();
        assert_eq!(keyed, Quarantine::CardNumber { field: "tenders".into() });
        let nul = scan(r#"{"report": {"tenders": {"cash\u0000": {"amount": 5}}}}"#).unwrap_err();
        assert_eq!(nul, Quarantine::ControlCharacter { field: "tenders".into() });
        assert_eq!(scan(r#"{"name": "Esc\u001b@"}"#).unwrap_err().code(), "control_character");
        assert_eq!(scan(r#"{"note": "no onions,\nextra\tcheese"}"#), Ok(()));
        // A nil-like id is 32 zeros in a row, which the Luhn check would take for a card.
        assert_eq!(scan(r#"{"order_id": "00000000-0000-0000-0000-000000000000"}"#), Ok(()));
        assert_eq!(
            scan(r#"{"barcodes": ["4222222222222"], "pin_hash": "$4111111111111111"}"#),
            Ok(())
        );
        let long = format!(r#"{{"note": "{}"}}"#, "a".repeat(MAX_TEXT + 1));
        assert_eq!(scan(&long).unwrap_err().code(), "text_too_long");
    }
}
