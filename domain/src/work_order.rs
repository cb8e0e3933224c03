//! Work orders: a field-service job (at a site or on a vehicle) as an Automerge document.
//!
//! Several people edit a work order at once (the dispatcher in the console, the technician
//! on a laptop that is offline for hours), so it is a CRDT document rather than a ledger of
//! facts. Its Automerge changes travel inside events (`work_order.dispatched`,
//! `work_order.changed`), and the [`WorkOrder`] aggregate keeps the *set* of changes keyed
//! by change hash: a set is commutative and idempotent by construction, and the document is
//! materialized from it on read ([`WorkOrder::view`]), applying changes in hash order so
//! that even a malformed set gives every replica the same document.
//!
//! Determinism: an editor's Automerge actor is derived from its device id ([`actor_for`]),
//! and a change's timestamp is passed in by the caller, never read from a clock, so the
//! same edit on the same state always produces the same change bytes. (One documented
//! exception to "no randomness": `Automerge::new` draws a throwaway random actor id, which
//! is replaced before any change is written and never used when only reading, so no
//! output depends on it.)
//!
//! The document's shape (root map):
//!
//! | key | value |
//! |---|---|
//! | `title`, `customer`, `site_address` | text scalars |
//! | `window_start_ms`, `window_end_ms` | integers (Unix ms): the window as created |
//! | `window` | map `{start_ms, end_ms}`: the window as last moved (one object, so concurrent moves never mix) |
//! | `currency`, `currency_exponent` | text, integer: the currency of every amount |
//! | `status` | text: a [`WorkOrderStatus`]'s stored name; concurrent changes settle by its precedence |
//! | `status_log` | list of maps `{status, at_ms, by}`: every status change, with its time and device |
//! | `notes` | list of maps `{text, by, at_ms}` |
//! | `checklist` | list of maps `{id, label, done}`: ticked by id, so concurrent inserts never move the target |
//! | `parts` | list of maps `{name, sku?, qty_milli, unit_price, line_id?, item_id?}` (the last two for a part from the catalog, taken from the technician's stock) |
//! | `labour` | list of maps `{minutes, rate_per_hour}` |
//! | `timers` | map from a device id to the Unix ms its running labour timer started |
//! | `vehicle` | map `{vin, year, make, model, mileage_in?, mileage_out?}`, for a repair order |
//! | `estimate` | map `{signer, approved_at_ms, total, drawing?}`: the customer approved the job's total as it stood |
//! | `invoice` | map `{number, issued_at_ms, subtotal, taxes: [{name, ppm, inclusive, base, tax}], tax_inclusive, tax_exclusive, total}`, figures fixed at issue |
//! | `payment` | map `{method, amount, reference?, at_ms}` |
//! | `signature` | map `{signer, signed_at_ms, drawing?}`, absent until captured; `drawing` names the drawn signature's blob |
//! | `attachment:<blob id>` | map `{blob, media_type, bytes, kind, name, by, at_ms}`: one root key per attachment ([`crate::attachment`]); the bytes are a blob kept beside the store |
//!
//! Every object is created by the first change (the dispatcher's), so concurrent edits
//! never create two competing `notes` lists; a signature captured on two devices at once
//! is a register conflict that Automerge resolves the same way everywhere.
//!
//! Totals are figures computed from the facts in minor units, never stored: each part line
//! is `unit_price × qty` and each labour entry `rate_per_hour × minutes / 60`, each rounded
//! once with the domain's one rule (half away from zero, [`crate::money::div_round`]).

use std::collections::BTreeMap;
use std::fmt;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, Change, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use thorbis_sync_protocol::{BlobId, DeviceId};
use uuid::Uuid;

use crate::attachment::{Attachment, AttachmentKind, BlobRef, MediaType};
use crate::command::looks_like_card_number;
use crate::events::DomainEvent;
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_last};
use crate::ids::{ChecklistItemId, ItemId, LocationId, PartLineId};
use crate::money::{Currency, Money, Qty, div_round};
use crate::tax::TaxBreakdown;
use crate::vin::Vin;

/// The longest free text (title, note, part name) a work order accepts, in characters.
pub const MAX_TEXT: usize = 2_000;
/// The most labour one entry may record: a day and a half.
pub const MAX_LABOUR_MINUTES: u32 = 36 * 60;
/// The largest quantity of one part line (9,999 units).
pub const MAX_PART_QTY: Qty = Qty::units(9_999);
/// The largest price or rate (one million in major units of a two-decimal currency).
pub const MAX_AMOUNT: Money = Money(100_000_000);

/// The Automerge actor of a device: its 16 id bytes, so the same device always writes as
/// the same actor and no randomness is involved.
#[must_use]
pub fn actor_for(device: DeviceId) -> ActorId {
    ActorId::from(*device.as_bytes())
}

/// Where a work order stands. The workflow is scheduled → dispatched → en route → on site
/// → completed → invoiced; a job may be put on hold (and resumed) or cancelled while it is
/// worked, and a completed job is invoiced. [`WorkOrderStatus::may_become`] is the rule.
///
/// **Concurrent changes.** Two replicas that set the status without seeing each other's
/// change leave a conflict in the document; every replica resolves it the same way: the
/// status with the highest [`WorkOrderStatus::precedence`] wins. What happened in the field
/// outranks what the office planned: an invoice outranks everything (money changed hands),
/// then completion (the work was done), then a cancellation, then a hold, then the working
/// steps in workflow order. A later change, made having seen both, replaces the conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    /// Planned, not yet sent to a technician.
    Scheduled,
    /// Sent to the technician, who has not set out.
    Dispatched,
    /// The technician is travelling to the site.
    EnRoute,
    /// The technician is working at the site.
    OnSite,
    /// Paused (waiting for parts, for the customer...).
    OnHold,
    /// The job is finished (stored as `done`).
    Done,
    /// The customer has been invoiced; the job's figures are final.
    Invoiced,
    /// The job will not be done.
    Cancelled,
}

impl WorkOrderStatus {
    /// Every status, in workflow order.
    pub const ALL: [Self; 8] = [
        Self::Scheduled,
        Self::Dispatched,
        Self::EnRoute,
        Self::OnSite,
        Self::OnHold,
        Self::Done,
        Self::Invoiced,
        Self::Cancelled,
    ];

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Dispatched => "dispatched",
            Self::EnRoute => "en_route",
            Self::OnSite => "on_site",
            Self::OnHold => "on_hold",
            Self::Done => "done",
            Self::Invoiced => "invoiced",
            Self::Cancelled => "cancelled",
        }
    }

    /// The name a screen shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Dispatched => "Dispatched",
            Self::EnRoute => "En route",
            Self::OnSite => "On site",
            Self::OnHold => "On hold",
            Self::Done => "Completed",
            Self::Invoiced => "Invoiced",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The rank that settles concurrent status changes (see the type's docs): higher wins.
    #[must_use]
    pub fn precedence(self) -> u8 {
        match self {
            Self::Scheduled => 0,
            Self::Dispatched => 1,
            Self::EnRoute => 2,
            Self::OnSite => 3,
            Self::OnHold => 4,
            Self::Cancelled => 5,
            Self::Done => 6,
            Self::Invoiced => 7,
        }
    }

    /// Whether the job is still being worked (its parts, labour and checklist may change).
    #[must_use]
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Invoiced | Self::Cancelled)
    }

    /// Whether a job at `self` may be moved to `next`: the working steps (scheduled to on
    /// site) may move to one another, to on hold or to cancelled; a held job resumes at a
    /// working step or is cancelled; completing needs the technician on the way or on site;
    /// only a completed job is invoiced; invoiced and cancelled jobs move no more.
    #[must_use]
    pub fn may_become(self, next: Self) -> bool {
        use WorkOrderStatus as S;
        let working = |s: Self| matches!(s, S::Scheduled | S::Dispatched | S::EnRoute | S::OnSite);
        if self == next {
            return false;
        }
        match self {
            S::Invoiced | S::Cancelled => false,
            S::Done => next == S::Invoiced,
            S::OnHold => working(next) || next == S::Cancelled,
            S::EnRoute | S::OnSite if next == S::Done => true,
            _ => working(next) || matches!(next, S::OnHold | S::Cancelled),
        }
    }
}

/// The bytes of one Automerge change; base64 text in JSON payloads and stored aggregates.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ChangeBytes(pub Vec<u8>);

impl fmt::Debug for ChangeBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangeBytes({} bytes)", self.0.len())
    }
}

impl Serialize for ChangeBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for ChangeBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(ChangeBytes)
            .map_err(serde::de::Error::custom)
    }
}

impl ChangeBytes {
    /// Parses the change, or `None` if the bytes are not one.
    #[must_use]
    pub fn parse(&self) -> Option<Change> {
        Change::from_bytes(self.0.clone()).ok()
    }

    /// Every piece of text the change writes (`None` if it does not parse): each string
    /// value, the change's message, and the characters it inserts into text objects run
    /// together, so a card number typed one character per operation is still one run.
    #[must_use]
    ///
    /// An id the document keeps under an id key (`id`, `line_id`, `item_id`, `by`) in the
    /// canonical hyphenated form is not text anyone typed, and is left out: its digits can
    /// look like a card number. So is a blob id under `blob` or `drawing`.
    pub fn texts(&self) -> Option<Vec<String>> {
        let change = self.parse()?.decode();
        let mut texts: Vec<String> = change.message.into_iter().collect();
        let mut inserted = String::new();
        for op in &change.operations {
            if let Some(ScalarValue::Str(s)) = op.primitive_value() {
                if op.insert {
                    inserted.push_str(&s);
                }
                let key = match &op.key {
                    automerge::legacy::Key::Map(k) => k.as_str(),
                    automerge::legacy::Key::Seq(_) => "",
                };
                let id_key = matches!(key, "id" | "line_id" | "item_id" | "by");
                if id_key && is_canonical_uuid(&s) {
                    continue;
                }
                // A blob's name is its hash's hex, which can hold long runs of digits.
                if matches!(key, "blob" | "drawing") && s.parse::<BlobId>().is_ok() {
                    continue;
                }
                texts.push(s.to_string());
            }
        }
        texts.push(inserted);
        Some(texts)
    }
}

impl ChangeBytes {
    /// Whether every device the change names as a writer (each value it puts under a `by`
    /// key: a note's, a status step's, an attachment's) is `author`: a change says who
    /// wrote it, never someone else. `None` if the bytes are not a change.
    #[must_use]
    pub fn names_only(&self, author: DeviceId) -> Option<bool> {
        let change = self.parse()?.decode();
        let author = author.to_string();
        Some(change.operations.iter().all(|op| {
            let by = matches!(&op.key, automerge::legacy::Key::Map(k) if k.as_str() == "by");
            !by || matches!(op.primitive_value(), Some(ScalarValue::Str(s)) if s.as_str() == author)
        }))
    }
}

/// Whether `s` is a UUID as this crate writes one: 36 characters, lower-case hex in
/// hyphenated groups.
fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36 && Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// When the job is planned, as Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledWindow {
    /// Earliest arrival.
    pub start_ms: i64,
    /// Latest finish.
    pub end_ms: i64,
}

/// A checklist item as the dispatcher writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistDraft {
    /// The item's id (minted by the caller).
    pub id: ChecklistItemId,
    /// What to check.
    pub label: String,
}

/// Everything needed to create a work order's document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderDraft {
    pub title: String,
    pub customer: String,
    pub site_address: String,
    pub window: ScheduledWindow,
    pub currency: Currency,
    #[serde(default)]
    pub checklist: Vec<ChecklistDraft>,
    /// The vehicle, for a repair order (none for a job at a customer's site).
    #[serde(default)]
    pub vehicle: Option<VehicleDraft>,
}

/// The vehicle of a repair order, as the service writer enters it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleDraft {
    /// Checked with its check digit.
    pub vin: Vin,
    pub year: u16,
    pub make: String,
    pub model: String,
}

/// The earliest and latest model years a vehicle may have (the VIN's era, and next year's
/// models).
pub const MODEL_YEARS: std::ops::RangeInclusive<u16> = 1981..=2100;

/// The most miles an odometer reading may show.
pub const MAX_MILEAGE: u32 = 9_999_999;

/// Which odometer reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MileageAt {
    /// When the vehicle came in.
    In,
    /// When it went back to the customer.
    Out,
}

/// One edit of a work order, by a technician or a dispatcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "edit", deny_unknown_fields)]
pub enum WorkOrderEdit {
    /// Moves the job along (or cancels it).
    SetStatus { status: WorkOrderStatus },
    /// Records the vehicle's odometer when it came in or went out.
    SetMileage { at: MileageAt, miles: u32 },
    /// Moves the job's time window (the dispatcher, usually).
    SetWindow { window: ScheduledWindow },
    /// Appends a note.
    AddNote { text: String },
    /// Adds an item to the checklist.
    AddChecklistItem { item_id: ChecklistItemId, label: String },
    /// Ticks (or unticks) a checklist item.
    TickChecklistItem { item_id: ChecklistItemId, done: bool },
    /// Records a part used.
    AddPart { name: String, sku: Option<String>, qty: Qty, unit_price: Money },
    /// Records a part from the catalog, taken from the technician's own stock. Only a
    /// technician's device records one (the command that does also moves the stock, once).
    UsePart {
        line_id: PartLineId,
        item_id: ItemId,
        name: String,
        sku: Option<String>,
        qty: Qty,
        unit_price: Money,
    },
    /// Records labour.
    AddLabour { minutes: u32, rate_per_hour: Money },
    /// Starts the editing device's labour timer.
    StartTimer,
    /// Stops the editing device's labour timer and records the time since it started, in
    /// whole minutes rounded up, at `rate_per_hour`.
    StopTimer { rate_per_hour: Money },
    /// Stops the editing device's labour timer without recording anything.
    DiscardTimer,
    /// Records that the customer signed: who, when, and the signature as drawn on the
    /// screen (a PNG blob, also kept as an attachment), when there is a drawing.
    CaptureSignature {
        signer: String,
        signed_at_ms: i64,
        #[serde(default)]
        drawing: Option<BlobRef>,
    },
    /// The customer approves the estimate (the job's total as it stands) by signing.
    ApproveEstimate {
        signer: String,
        approved_at_ms: i64,
        #[serde(default)]
        drawing: Option<BlobRef>,
    },
    /// Attaches a blob the editing device holds (a photo, a file).
    AddAttachment { blob: BlobRef, kind: AttachmentKind, name: String },
    /// Issues the invoice of a completed job, with its taxes as the domain computed them
    /// ([`crate::command::Command::InvoiceWorkOrder`]), and marks the job invoiced.
    IssueInvoice { number: String, issued_at_ms: i64, taxes: TaxBreakdown },
    /// Records how the invoice is paid.
    RecordPayment { method: PaymentMethod, reference: Option<String> },
}

/// How a job's invoice is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Cash, taken by the technician.
    Cash,
    /// A card, on a payment terminal of its own (its reference recorded, no card data).
    Card,
    /// Not paid on site: the office collects it.
    InvoiceLater,
}

impl PaymentMethod {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
            Self::InvoiceLater => "invoice_later",
        }
    }

    /// The name a screen shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Cash => "Cash",
            Self::Card => "Card (payment terminal)",
            Self::InvoiceLater => "Invoice later",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Cash, Self::Card, Self::InvoiceLater].into_iter().find(|m| m.as_str() == s)
    }
}

/// Why an edit or a draft was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkOrderError {
    /// Free text that is empty, too long, or looks like a card number.
    #[error("{0}")]
    InvalidText(String),
    /// A number out of its range.
    #[error("{what} must be {rule}")]
    InvalidValue { what: &'static str, rule: &'static str },
    /// The checklist has no such item.
    #[error("the checklist has no item {0}")]
    UnknownChecklistItem(ChecklistItemId),
    /// The checklist already has an item with this id.
    #[error("the checklist already has an item {0}")]
    ChecklistItemExists(ChecklistItemId),
    /// A cancelled job takes no more edits.
    #[error("the work order is cancelled")]
    Cancelled,
    /// An invoiced job's figures and checklist are final (notes may still be added).
    #[error("the work order is invoiced: its parts, labour, checklist and signature are final")]
    Invoiced,
    /// The status cannot move this way.
    #[error("a job that is {from} cannot become {to}")]
    Transition { from: &'static str, to: &'static str },
    /// A timer edit with no timer running (or starting one that runs).
    #[error("{0}")]
    Timer(&'static str),
    /// The edit changes nothing (a box ticked that was ticked already).
    #[error("that is recorded already: nothing changed")]
    Unchanged,
    /// A part line with this id is already recorded.
    #[error("this part is already recorded")]
    PartExists,
    /// The job has its invoice already (one per job).
    #[error("the job is invoiced already")]
    AlreadyInvoiced,
    /// Only a completed job is invoiced, and only an invoiced one paid.
    #[error("{0}")]
    NotReady(&'static str),
    /// The invoice's payment is recorded already.
    #[error("the payment is recorded already")]
    AlreadyPaid,
    /// The document is missing (no first change yet) or not shaped as a work order.
    #[error("the work order's document is incomplete")]
    Incomplete,
    /// Automerge refused the operation (a bug, not a user error).
    #[error("document operation failed: {0}")]
    Document(String),
}

fn doc_err(e: impl fmt::Display) -> WorkOrderError {
    WorkOrderError::Document(e.to_string())
}

fn text(value: &str, what: &str) -> Result<(), WorkOrderError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(WorkOrderError::InvalidText(format!("{what} is required")));
    }
    if trimmed.chars().count() > MAX_TEXT {
        return Err(WorkOrderError::InvalidText(format!(
            "{what} is longer than {MAX_TEXT} characters"
        )));
    }
    if looks_like_card_number(trimmed) {
        return Err(WorkOrderError::InvalidText(format!(
            "{what} looks like it contains a card number, which is never recorded"
        )));
    }
    Ok(())
}

fn amount(value: Money, what: &'static str) -> Result<(), WorkOrderError> {
    if value.is_negative() || value > MAX_AMOUNT {
        return Err(WorkOrderError::InvalidValue { what, rule: "between 0 and 1,000,000.00" });
    }
    Ok(())
}

fn check_window(window: ScheduledWindow) -> Result<(), WorkOrderError> {
    if window.end_ms < window.start_ms {
        return Err(WorkOrderError::InvalidValue {
            what: "the scheduled window",
            rule: "a start no later than its end",
        });
    }
    Ok(())
}

/// The first change of a new work order, written by `author` at `at_ms`.
pub fn create(
    draft: &WorkOrderDraft,
    author: DeviceId,
    at_ms: i64,
) -> Result<ChangeBytes, WorkOrderError> {
    text(&draft.title, "a title")?;
    text(&draft.customer, "a customer")?;
    text(&draft.site_address, "a site address")?;
    check_window(draft.window)?;
    for item in &draft.checklist {
        text(&item.label, "a checklist item")?;
    }
    if let Some(vehicle) = &draft.vehicle {
        text(&vehicle.make, "the vehicle's make")?;
        text(&vehicle.model, "the vehicle's model")?;
        if !MODEL_YEARS.contains(&vehicle.year) {
            return Err(WorkOrderError::InvalidValue {
                what: "the vehicle's model year",
                rule: "from 1981 (the 17-character VIN) to 2100",
            });
        }
    }
    let mut doc = Automerge::new().with_actor(actor_for(author));
    let mut tx = doc.transaction();
    tx.put(ROOT, "title", draft.title.trim()).map_err(doc_err)?;
    tx.put(ROOT, "customer", draft.customer.trim()).map_err(doc_err)?;
    tx.put(ROOT, "site_address", draft.site_address.trim()).map_err(doc_err)?;
    tx.put(ROOT, "window_start_ms", draft.window.start_ms).map_err(doc_err)?;
    tx.put(ROOT, "window_end_ms", draft.window.end_ms).map_err(doc_err)?;
    tx.put(ROOT, "currency", draft.currency.code()).map_err(doc_err)?;
    tx.put(ROOT, "currency_exponent", i64::from(draft.currency.exponent)).map_err(doc_err)?;
    tx.put(ROOT, "status", WorkOrderStatus::Scheduled.as_str()).map_err(doc_err)?;
    tx.put_object(ROOT, "notes", ObjType::List).map_err(doc_err)?;
    let checklist = tx.put_object(ROOT, "checklist", ObjType::List).map_err(doc_err)?;
    for (i, item) in draft.checklist.iter().enumerate() {
        let obj = tx.insert_object(&checklist, i, ObjType::Map).map_err(doc_err)?;
        tx.put(&obj, "id", item.id.to_string()).map_err(doc_err)?;
        tx.put(&obj, "label", item.label.trim()).map_err(doc_err)?;
        tx.put(&obj, "done", false).map_err(doc_err)?;
    }
    tx.put_object(ROOT, "parts", ObjType::List).map_err(doc_err)?;
    tx.put_object(ROOT, "labour", ObjType::List).map_err(doc_err)?;
    tx.put_object(ROOT, "timers", ObjType::Map).map_err(doc_err)?;
    if let Some(vehicle) = &draft.vehicle {
        let obj = tx.put_object(ROOT, "vehicle", ObjType::Map).map_err(doc_err)?;
        tx.put(&obj, "vin", vehicle.vin.as_str()).map_err(doc_err)?;
        tx.put(&obj, "year", i64::from(vehicle.year)).map_err(doc_err)?;
        tx.put(&obj, "make", vehicle.make.trim()).map_err(doc_err)?;
        tx.put(&obj, "model", vehicle.model.trim()).map_err(doc_err)?;
    }
    let log = tx.put_object(ROOT, "status_log", ObjType::List).map_err(doc_err)?;
    log_status(&mut tx, &log, WorkOrderStatus::Scheduled, author, at_ms)?;
    let (hash, _) = tx.commit_with(CommitOptions::default().with_time(at_ms));
    let hash = hash.ok_or(WorkOrderError::Incomplete)?;
    let change = doc.get_change_by_hash(&hash).ok_or(WorkOrderError::Incomplete)?;
    Ok(ChangeBytes(change.raw_bytes().to_vec()))
}

/// Who a work order is assigned to, as of the latest dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The technician's device.
    pub technician: DeviceId,
    /// The location that device belongs to.
    pub location_id: LocationId,
}

/// A work order as a replica holds it: the set of its document's changes, and its
/// assignment (last dispatch wins by [`EventMeta`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    /// Every change heard of, keyed by its Automerge hash (hex), in uncompressed form so
    /// that two encodings of one change store the same bytes.
    pub changes: BTreeMap<String, ChangeBytes>,
    /// The latest dispatch.
    pub assignment: Option<Stamped<Assignment>>,
}

impl WorkOrder {
    /// Adds a change to the set. Bytes that are not a change are ignored (they cannot be
    /// merged anyway), and so is a change a device tried to author for another actor
    /// (`only_actor`).
    fn add_change(&mut self, bytes: &ChangeBytes, only_actor: Option<&ActorId>) {
        let Some(change) = bytes.parse() else { return };
        if only_actor.is_some_and(|actor| change.actor_id() != actor) {
            return;
        }
        self.changes
            .entry(change.hash().to_string())
            .or_insert_with(|| ChangeBytes(change.raw_bytes().to_vec()));
    }

    /// Adds `bytes` as a change written by `device` itself; whether the set grew (false for
    /// bytes that are not a change, another actor's change, or one already held).
    #[must_use]
    pub fn add_own_change(&mut self, bytes: &ChangeBytes, device: DeviceId) -> bool {
        let before = self.changes.len();
        self.add_change(bytes, Some(&actor_for(device)));
        self.changes.len() > before
    }

    /// Whether the document has its first change.
    #[must_use]
    pub fn exists(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The device the work order is assigned to, if any.
    #[must_use]
    pub fn technician(&self) -> Option<DeviceId> {
        self.assignment.as_ref().map(|s| s.value.technician)
    }

    /// Every change, as event payload bytes (a full snapshot for a dispatch).
    #[must_use]
    pub fn snapshot(&self) -> Vec<ChangeBytes> {
        self.changes.values().cloned().collect()
    }

    /// The merged document. Changes are applied one at a time in hash order, so the
    /// result depends only on the set (a change that fails to apply is skipped the same
    /// way on every replica; one whose dependencies are missing waits for them).
    #[must_use]
    pub fn document(&self) -> Automerge {
        let changes: Vec<Change> = self.changes.values().filter_map(ChangeBytes::parse).collect();
        // All at once first: Automerge orders them causally itself, far faster than one by
        // one, and a CRDT's result does not depend on the order.
        let mut doc = Automerge::new();
        if doc.apply_changes(changes.iter().cloned()).is_ok() {
            return doc;
        }
        // A malformed or conflicting change from a broken device fails the batch: apply
        // one at a time in hash order and skip what fails, the same way on every replica,
        // which is what convergence needs.
        let mut doc = Automerge::new();
        for change in changes {
            let _ = doc.apply_changes([change]);
        }
        doc
    }

    /// The typed view of the merged document, or `None` before its first change arrived.
    #[must_use]
    pub fn view(&self) -> Option<WorkOrderView> {
        let doc = self.document();
        let mut view = read_view(&doc)?;
        view.technician = self.technician();
        view.location_id = self.assignment.as_ref().map(|s| s.value.location_id);
        Some(view)
    }

    /// The change that carries `edit`, written by `author` at `at_ms` on top of every
    /// change this replica holds. Checks the edit's values first; the caller checks who
    /// may edit.
    pub fn edit(
        &self,
        edit: &WorkOrderEdit,
        author: DeviceId,
        at_ms: i64,
    ) -> Result<ChangeBytes, WorkOrderError> {
        let mut doc = self.document().with_actor(actor_for(author));
        let view = read_view(&doc).ok_or(WorkOrderError::Incomplete)?;
        if view.status == WorkOrderStatus::Cancelled {
            return Err(WorkOrderError::Cancelled);
        }
        let final_figures = matches!(
            edit,
            WorkOrderEdit::AddChecklistItem { .. }
                | WorkOrderEdit::TickChecklistItem { .. }
                | WorkOrderEdit::AddPart { .. }
                | WorkOrderEdit::UsePart { .. }
                | WorkOrderEdit::AddLabour { .. }
                | WorkOrderEdit::StartTimer
                | WorkOrderEdit::StopTimer { .. }
                | WorkOrderEdit::CaptureSignature { .. }
                | WorkOrderEdit::ApproveEstimate { .. }
        );
        if final_figures && view.status == WorkOrderStatus::Invoiced {
            return Err(WorkOrderError::Invoiced);
        }
        let mut tx = doc.transaction();
        write_edit(&mut tx, &view, edit, author, at_ms)?;
        // Automerge writes no change for a value put again as it was.
        let (hash, _) = tx.commit_with(CommitOptions::default().with_time(at_ms));
        let hash = hash.ok_or(WorkOrderError::Unchanged)?;
        let change = doc.get_change_by_hash(&hash).ok_or(WorkOrderError::Incomplete)?;
        Ok(ChangeBytes(change.raw_bytes().to_vec()))
    }
}

/// Writes `edit` (checked against `view`, the document before it) into `tx`.
fn write_edit(
    tx: &mut impl Transactable,
    view: &WorkOrderView,
    edit: &WorkOrderEdit,
    author: DeviceId,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    match edit {
        WorkOrderEdit::SetStatus { status: WorkOrderStatus::Invoiced } => {
            return Err(WorkOrderError::NotReady("a job is invoiced by issuing its invoice"));
        }
        WorkOrderEdit::SetStatus { status } => {
            if !view.status.may_become(*status) {
                return Err(WorkOrderError::Transition {
                    from: view.status.label(),
                    to: status.label(),
                });
            }
            tx.put(ROOT, "status", status.as_str()).map_err(doc_err)?;
            // A document made before the log existed keeps no log.
            if let Ok(log) = list(tx, "status_log") {
                log_status(tx, &log, *status, author, at_ms)?;
            }
        }
        WorkOrderEdit::SetMileage { at, miles } => set_mileage(tx, view, *at, *miles)?,
        WorkOrderEdit::SetWindow { window } => {
            check_window(*window)?;
            // One new object for both ends, so concurrent moves settle on one window
            // (never the start of one and the end of another).
            let obj = tx.put_object(ROOT, "window", ObjType::Map).map_err(doc_err)?;
            tx.put(&obj, "start_ms", window.start_ms).map_err(doc_err)?;
            tx.put(&obj, "end_ms", window.end_ms).map_err(doc_err)?;
        }
        WorkOrderEdit::AddNote { text: note } => {
            text(note, "a note")?;
            let notes = list(tx, "notes")?;
            let at = tx.length(&notes);
            let obj = tx.insert_object(&notes, at, ObjType::Map).map_err(doc_err)?;
            tx.put(&obj, "text", note.trim()).map_err(doc_err)?;
            tx.put(&obj, "by", author.to_string()).map_err(doc_err)?;
            tx.put(&obj, "at_ms", at_ms).map_err(doc_err)?;
        }
        WorkOrderEdit::AddChecklistItem { item_id, label } => {
            text(label, "a checklist item")?;
            if view.checklist.iter().any(|i| i.id == *item_id) {
                return Err(WorkOrderError::ChecklistItemExists(*item_id));
            }
            let checklist = list(tx, "checklist")?;
            let at = tx.length(&checklist);
            let obj = tx.insert_object(&checklist, at, ObjType::Map).map_err(doc_err)?;
            tx.put(&obj, "id", item_id.to_string()).map_err(doc_err)?;
            tx.put(&obj, "label", label.trim()).map_err(doc_err)?;
            tx.put(&obj, "done", false).map_err(doc_err)?;
        }
        WorkOrderEdit::TickChecklistItem { item_id, done } => {
            let checklist = list(tx, "checklist")?;
            let target = find_checklist_item(tx, &checklist, *item_id)
                .ok_or(WorkOrderError::UnknownChecklistItem(*item_id))?;
            tx.put(&target, "done", *done).map_err(doc_err)?;
        }
        WorkOrderEdit::AddPart { name, sku, qty, unit_price } => {
            let part = PartDraft { name, sku: sku.as_deref(), qty: *qty, unit_price: *unit_price };
            part.check()?;
            part.insert(tx)?;
        }
        WorkOrderEdit::UsePart { line_id, item_id, name, sku, qty, unit_price } => {
            let part = PartDraft { name, sku: sku.as_deref(), qty: *qty, unit_price: *unit_price };
            part.check()?;
            if view.parts.iter().any(|p| p.line_id == Some(*line_id)) {
                return Err(WorkOrderError::PartExists);
            }
            let obj = part.insert(tx)?;
            tx.put(&obj, "line_id", line_id.to_string()).map_err(doc_err)?;
            tx.put(&obj, "item_id", item_id.to_string()).map_err(doc_err)?;
        }
        WorkOrderEdit::AddLabour { minutes, rate_per_hour } => {
            add_labour(tx, *minutes, *rate_per_hour)?;
        }
        WorkOrderEdit::StartTimer
        | WorkOrderEdit::StopTimer { .. }
        | WorkOrderEdit::DiscardTimer => timer(tx, edit, author, at_ms)?,
        WorkOrderEdit::CaptureSignature { signer, signed_at_ms, drawing } => {
            let obj = signed(tx, view, "signature", signer, *drawing, author, at_ms)?;
            tx.put(&obj, "signed_at_ms", *signed_at_ms).map_err(doc_err)?;
        }
        WorkOrderEdit::ApproveEstimate { signer, approved_at_ms, drawing } => {
            let obj = signed(tx, view, "estimate", signer, *drawing, author, at_ms)?;
            tx.put(&obj, "approved_at_ms", *approved_at_ms).map_err(doc_err)?;
            tx.put(&obj, "total", view.totals.total.0).map_err(doc_err)?;
        }
        WorkOrderEdit::AddAttachment { blob, kind, name } => {
            if *kind == AttachmentKind::Signature {
                return Err(WorkOrderError::NotReady("a signature is captured with its signer"));
            }
            if view.attachments.iter().any(|a| a.blob.id == blob.id) {
                return Err(WorkOrderError::Unchanged);
            }
            attach(tx, blob, *kind, name, author, at_ms)?;
        }
        WorkOrderEdit::IssueInvoice { number, issued_at_ms, taxes } => {
            issue_invoice(tx, view, number, *issued_at_ms, taxes, author, at_ms)?;
        }
        WorkOrderEdit::RecordPayment { method, reference } => {
            record_payment(tx, view, *method, reference.as_deref(), at_ms)?;
        }
    }
    Ok(())
}

/// Writes the map under `key` (the signature or the estimate) with its signer and, when
/// the customer drew it, the drawing, which is also kept as an attachment.
fn signed(
    tx: &mut impl Transactable,
    view: &WorkOrderView,
    key: &str,
    signer: &str,
    drawing: Option<BlobRef>,
    author: DeviceId,
    at_ms: i64,
) -> Result<ObjId, WorkOrderError> {
    text(signer, "the signer's name")?;
    if let Some(drawing) = &drawing
        && !view.attachments.iter().any(|a| a.blob.id == drawing.id)
    {
        attach(tx, drawing, AttachmentKind::Signature, &format!("{key}.png"), author, at_ms)?;
    }
    let obj = tx.put_object(ROOT, key, ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "signer", signer.trim()).map_err(doc_err)?;
    if let Some(drawing) = drawing {
        tx.put(&obj, "drawing", drawing.id.to_string()).map_err(doc_err)?;
    }
    Ok(obj)
}

/// Writes the attachment's own root key (`attachment:<blob id>`): one key per blob, so
/// attachments added on two devices at once both stay, and a document made before
/// attachments existed takes them with no container to create.
fn attach(
    tx: &mut impl Transactable,
    blob: &BlobRef,
    kind: AttachmentKind,
    name: &str,
    author: DeviceId,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    blob.check(kind).map_err(|e| WorkOrderError::InvalidText(e.to_string()))?;
    text(name, "a file name")?;
    let key = format!("{ATTACHMENT_KEY}{}", blob.id);
    let obj = tx.put_object(ROOT, key.as_str(), ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "blob", blob.id.to_string()).map_err(doc_err)?;
    tx.put(&obj, "media_type", blob.media_type.as_str()).map_err(doc_err)?;
    tx.put(&obj, "bytes", i64::try_from(blob.bytes).unwrap_or(i64::MAX)).map_err(doc_err)?;
    tx.put(&obj, "kind", kind.as_str()).map_err(doc_err)?;
    tx.put(&obj, "name", name.trim()).map_err(doc_err)?;
    tx.put(&obj, "by", author.to_string()).map_err(doc_err)?;
    tx.put(&obj, "at_ms", at_ms).map_err(doc_err)?;
    Ok(())
}

/// The prefix of an attachment's root key.
const ATTACHMENT_KEY: &str = "attachment:";

fn set_mileage(
    tx: &mut impl Transactable,
    view: &WorkOrderView,
    at: MileageAt,
    miles: u32,
) -> Result<(), WorkOrderError> {
    if miles > MAX_MILEAGE {
        return Err(WorkOrderError::InvalidValue { what: "a mileage", rule: "at most 9,999,999" });
    }
    let Some(vehicle) = &view.vehicle else {
        return Err(WorkOrderError::InvalidValue {
            what: "a mileage",
            rule: "recorded on a job with a vehicle",
        });
    };
    let (key, other) = match at {
        MileageAt::In => ("mileage_in", vehicle.mileage_out),
        MileageAt::Out => ("mileage_out", vehicle.mileage_in),
    };
    let out_before_in = match at {
        MileageAt::In => other.is_some_and(|out| miles > out),
        MileageAt::Out => other.is_some_and(|inn| miles < inn),
    };
    if out_before_in {
        return Err(WorkOrderError::InvalidValue {
            what: "the mileage out",
            rule: "no less than the mileage in",
        });
    }
    let Some((Value::Object(ObjType::Map), obj)) = tx.get(ROOT, "vehicle").map_err(doc_err)? else {
        return Err(WorkOrderError::Incomplete);
    };
    tx.put(&obj, key, i64::from(miles)).map_err(doc_err)?;
    Ok(())
}

fn issue_invoice(
    tx: &mut impl Transactable,
    view: &WorkOrderView,
    number: &str,
    issued_at_ms: i64,
    taxes: &TaxBreakdown,
    author: DeviceId,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    if view.invoice.is_some() {
        return Err(WorkOrderError::AlreadyInvoiced);
    }
    if view.status != WorkOrderStatus::Done {
        return Err(WorkOrderError::NotReady("only a completed job is invoiced"));
    }
    if !view.timers.is_empty() {
        return Err(WorkOrderError::NotReady(
            "a labour timer is running on this job: stop it (or discard it) first",
        ));
    }
    text(number, "an invoice number")?;
    let obj = tx.put_object(ROOT, "invoice", ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "number", number.trim()).map_err(doc_err)?;
    tx.put(&obj, "issued_at_ms", issued_at_ms).map_err(doc_err)?;
    tx.put(&obj, "subtotal", view.totals.total.0).map_err(doc_err)?;
    tx.put(&obj, "tax_inclusive", taxes.inclusive.0).map_err(doc_err)?;
    tx.put(&obj, "tax_exclusive", taxes.exclusive.0).map_err(doc_err)?;
    tx.put(&obj, "total", (view.totals.total + taxes.exclusive).0).map_err(doc_err)?;
    let lines = tx.put_object(&obj, "taxes", ObjType::List).map_err(doc_err)?;
    for (i, line) in taxes.lines.iter().enumerate() {
        let l = tx.insert_object(&lines, i, ObjType::Map).map_err(doc_err)?;
        tx.put(&l, "name", line.name.as_str()).map_err(doc_err)?;
        tx.put(&l, "ppm", i64::from(line.ppm)).map_err(doc_err)?;
        tx.put(&l, "inclusive", line.inclusive).map_err(doc_err)?;
        tx.put(&l, "base", line.base.0).map_err(doc_err)?;
        tx.put(&l, "tax", line.tax.0).map_err(doc_err)?;
    }
    tx.put(ROOT, "status", WorkOrderStatus::Invoiced.as_str()).map_err(doc_err)?;
    if let Ok(log) = list(tx, "status_log") {
        log_status(tx, &log, WorkOrderStatus::Invoiced, author, at_ms)?;
    }
    Ok(())
}

fn record_payment(
    tx: &mut impl Transactable,
    view: &WorkOrderView,
    method: PaymentMethod,
    reference: Option<&str>,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    let Some(invoice) = &view.invoice else {
        return Err(WorkOrderError::NotReady("a job is paid once its invoice is issued"));
    };
    // "Invoice later" is replaced by the payment when it comes; a payment is final.
    if view.payment.as_ref().is_some_and(|p| p.method != PaymentMethod::InvoiceLater)
        || (view.payment.is_some() && method == PaymentMethod::InvoiceLater)
    {
        return Err(WorkOrderError::AlreadyPaid);
    }
    if let Some(reference) = reference {
        text(reference, "the payment's reference")?;
    }
    let obj = tx.put_object(ROOT, "payment", ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "method", method.as_str()).map_err(doc_err)?;
    let amount = if method == PaymentMethod::InvoiceLater { 0 } else { invoice.total.0 };
    tx.put(&obj, "amount", amount).map_err(doc_err)?;
    if let Some(reference) = reference {
        tx.put(&obj, "reference", reference.trim()).map_err(doc_err)?;
    }
    tx.put(&obj, "at_ms", at_ms).map_err(doc_err)?;
    Ok(())
}

/// The editing device's labour timer: start, stop (recording the time) or discard.
fn timer(
    tx: &mut impl Transactable,
    edit: &WorkOrderEdit,
    author: DeviceId,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    let timers = timers(tx)?;
    let key = author.to_string();
    let started = int_at(tx, &timers, &key);
    match (edit, started) {
        (WorkOrderEdit::StartTimer, Some(_)) => {
            return Err(WorkOrderError::Timer("the timer is already running"));
        }
        (WorkOrderEdit::StartTimer, None) => {
            tx.put(&timers, key, at_ms).map_err(doc_err)?;
            return Ok(());
        }
        (_, None) => return Err(WorkOrderError::Timer("no timer is running")),
        (WorkOrderEdit::StopTimer { rate_per_hour }, Some(started)) => {
            let minutes = timer_minutes(started, at_ms).ok_or(WorkOrderError::Timer(
                "the timer ran longer than 36 hours: discard it and record the time by hand",
            ))?;
            add_labour(tx, minutes, *rate_per_hour)?;
        }
        (_, Some(_)) => {}
    }
    tx.delete(&timers, key).map_err(doc_err)
}

/// A part line's values, checked and written the same way for a free-form part and one
/// from the catalog.
struct PartDraft<'a> {
    name: &'a str,
    sku: Option<&'a str>,
    qty: Qty,
    unit_price: Money,
}

impl PartDraft<'_> {
    fn check(&self) -> Result<(), WorkOrderError> {
        text(self.name, "a part name")?;
        if let Some(sku) = self.sku {
            text(sku, "a SKU")?;
        }
        if self.qty.0 <= 0 || self.qty > MAX_PART_QTY {
            return Err(WorkOrderError::InvalidValue {
                what: "a part's quantity",
                rule: "above zero and at most 9,999",
            });
        }
        amount(self.unit_price, "a part's unit price")
    }

    /// Appends the line to `parts`; the new line's map.
    fn insert(&self, tx: &mut impl Transactable) -> Result<ObjId, WorkOrderError> {
        let parts = list(tx, "parts")?;
        let at = tx.length(&parts);
        let obj = tx.insert_object(&parts, at, ObjType::Map).map_err(doc_err)?;
        tx.put(&obj, "name", self.name.trim()).map_err(doc_err)?;
        if let Some(sku) = self.sku {
            tx.put(&obj, "sku", sku.trim()).map_err(doc_err)?;
        }
        tx.put(&obj, "qty_milli", self.qty.0).map_err(doc_err)?;
        tx.put(&obj, "unit_price", self.unit_price.0).map_err(doc_err)?;
        Ok(obj)
    }
}

fn add_labour(
    tx: &mut impl Transactable,
    minutes: u32,
    rate_per_hour: Money,
) -> Result<(), WorkOrderError> {
    if minutes == 0 || minutes > MAX_LABOUR_MINUTES {
        return Err(WorkOrderError::InvalidValue {
            what: "labour minutes",
            rule: "above zero and at most 2,160 (36 hours)",
        });
    }
    amount(rate_per_hour, "a labour rate")?;
    let labour = list(tx, "labour")?;
    let at = tx.length(&labour);
    let obj = tx.insert_object(&labour, at, ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "minutes", i64::from(minutes)).map_err(doc_err)?;
    tx.put(&obj, "rate_per_hour", rate_per_hour.0).map_err(doc_err)?;
    Ok(())
}

fn log_status(
    tx: &mut impl Transactable,
    log: &ObjId,
    status: WorkOrderStatus,
    author: DeviceId,
    at_ms: i64,
) -> Result<(), WorkOrderError> {
    let at = tx.length(log);
    let obj = tx.insert_object(log, at, ObjType::Map).map_err(doc_err)?;
    tx.put(&obj, "status", status.as_str()).map_err(doc_err)?;
    tx.put(&obj, "by", author.to_string()).map_err(doc_err)?;
    tx.put(&obj, "at_ms", at_ms).map_err(doc_err)?;
    Ok(())
}

/// The `timers` map of the root.
fn timers(doc: &impl ReadDoc) -> Result<ObjId, WorkOrderError> {
    match doc.get(ROOT, "timers").map_err(doc_err)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(WorkOrderError::Incomplete),
    }
}

/// A job's invoice number: `INV-` and the last twelve hex digits of its id (the random
/// part of a v7 UUID), so any replica, offline, gives a job the same number and two jobs
/// practically never share one.
#[must_use]
pub fn invoice_number(id: crate::ids::WorkOrderId) -> String {
    let hex = id.0.simple().to_string().to_uppercase();
    format!("INV-{}", &hex[hex.len() - 12..])
}

/// The minutes a timer ran from `started_ms` to `now_ms`, rounded up to a whole minute (at
/// least one); `None` beyond [`MAX_LABOUR_MINUTES`].
#[must_use]
pub fn timer_minutes(started_ms: i64, now_ms: i64) -> Option<u32> {
    let ms = now_ms.saturating_sub(started_ms).max(1);
    let minutes = u32::try_from(ms.saturating_add(59_999) / 60_000).ok()?;
    (minutes <= MAX_LABOUR_MINUTES).then_some(minutes)
}

impl Aggregate for WorkOrder {
    const KIND: &'static str = "work_order";

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::WorkOrderDispatched(e) => {
                // A dispatch comes from the hub's signed dispatch log and carries changes
                // of every author (a snapshot).
                for change in &e.changes {
                    self.add_change(change, None);
                }
                let assignment =
                    Assignment { technician: e.technician, location_id: e.location_id };
                keep_last(&mut self.assignment, meta, &assignment);
            }
            DomainEvent::WorkOrderChanged(e) => {
                // A device speaks only for itself: a change is accepted from the event of
                // the device whose actor wrote it.
                self.add_change(&e.change, Some(&actor_for(meta.id.device_id)));
            }
            DomainEvent::WorkOrderPartUsed(e) => {
                self.add_change(&e.change, Some(&actor_for(meta.id.device_id)));
            }
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.view().is_some_and(|v| {
            !matches!(
                v.status,
                WorkOrderStatus::Done | WorkOrderStatus::Invoiced | WorkOrderStatus::Cancelled
            )
        })
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.work_orders
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.work_orders
    }
}

/// A note on a work order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    /// The device that wrote it.
    pub by: Option<DeviceId>,
    pub at_ms: i64,
}

/// A checklist item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub id: ChecklistItemId,
    pub label: String,
    pub done: bool,
}

/// A part used, with its figure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub name: String,
    pub sku: Option<String>,
    /// The line's id, for a part from the catalog.
    pub line_id: Option<PartLineId>,
    /// The catalog item, for a part from the catalog (taken from the technician's stock).
    pub item_id: Option<ItemId>,
    pub qty: Qty,
    pub unit_price: Money,
    /// `unit_price × qty`, rounded once.
    pub amount: Money,
}

/// Labour recorded, with its figure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labour {
    pub minutes: u32,
    pub rate_per_hour: Money,
    /// `rate_per_hour × minutes / 60`, rounded once.
    pub amount: Money,
}

/// One step of a job's status history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusStep {
    pub status: WorkOrderStatus,
    /// The device that set it.
    pub by: Option<DeviceId>,
    pub at_ms: i64,
}

/// The vehicle of a repair order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    pub vin: String,
    pub year: u16,
    pub make: String,
    pub model: String,
    pub mileage_in: Option<u32>,
    pub mileage_out: Option<u32>,
}

/// The estimate the customer approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    pub signer: String,
    pub approved_at_ms: i64,
    /// The signature as drawn, if the customer drew it.
    pub drawing: Option<BlobId>,
    /// The job's total when it was approved.
    pub total: Money,
}

/// The job's invoice, its figures fixed when it was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    pub issued_at_ms: i64,
    /// Parts and labour.
    pub subtotal: Money,
    pub taxes: Vec<InvoiceTax>,
    /// Tax contained in prices.
    pub tax_inclusive: Money,
    /// Tax added on top.
    pub tax_exclusive: Money,
    /// What the customer owes: the subtotal and the tax added on top.
    pub total: Money,
}

/// One tax rate's line on an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTax {
    pub name: String,
    pub ppm: u32,
    pub inclusive: bool,
    pub base: Money,
    pub tax: Money,
}

/// How the invoice was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub method: PaymentMethod,
    /// Zero for "invoice later".
    pub amount: Money,
    pub reference: Option<String>,
    pub at_ms: i64,
}

/// The customer's signature (who and when).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signer: String,
    pub signed_at_ms: i64,
    /// The signature as drawn, if the customer drew it.
    pub drawing: Option<BlobId>,
}

/// A work order's figures, in minor units of its currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderTotals {
    pub parts: Money,
    pub labour: Money,
    pub total: Money,
}

/// A work order as screens and the console show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderView {
    pub title: String,
    pub customer: String,
    pub site_address: String,
    /// The vehicle, for a repair order.
    pub vehicle: Option<Vehicle>,
    pub window: ScheduledWindow,
    pub currency: Currency,
    pub status: WorkOrderStatus,
    /// Every status change, in the document's order.
    pub status_log: Vec<StatusStep>,
    pub notes: Vec<Note>,
    pub checklist: Vec<ChecklistItem>,
    pub parts: Vec<Part>,
    pub labour: Vec<Labour>,
    pub signature: Option<Signature>,
    pub estimate: Option<Estimate>,
    pub invoice: Option<Invoice>,
    pub payment: Option<Payment>,
    /// Photos, drawn signatures and files, oldest first.
    pub attachments: Vec<Attachment>,
    /// The labour timers running, by device: when each started (Unix ms).
    pub timers: BTreeMap<DeviceId, i64>,
    pub totals: WorkOrderTotals,
    /// The assigned technician's device, if dispatched.
    pub technician: Option<DeviceId>,
    /// The location of that device.
    pub location_id: Option<LocationId>,
}

/// The list object under `key` of the root.
fn list(doc: &impl ReadDoc, key: &str) -> Result<ObjId, WorkOrderError> {
    match doc.get(ROOT, key).map_err(doc_err)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Err(WorkOrderError::Incomplete),
    }
}

/// The labour figure: `rate × minutes / 60`, rounded half away from zero.
#[must_use]
pub fn labour_amount(rate_per_hour: Money, minutes: u32) -> Money {
    Money(div_round(i128::from(rate_per_hour.0) * i128::from(minutes), 60))
}

fn scalar(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => Some(s.into_owned()),
        (Value::Object(_), _) => None,
    }
}

fn str_at(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    match scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

fn int_at(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<i64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Int(i) => Some(i),
        ScalarValue::Uint(u) => i64::try_from(u).ok(),
        _ => None,
    }
}

fn bool_at(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<bool> {
    match scalar(doc, obj, key)? {
        ScalarValue::Boolean(b) => Some(b),
        _ => None,
    }
}

/// The map objects of the list under `key` of the root.
fn maps_in(doc: &Automerge, key: &str) -> Vec<ObjId> {
    let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(ROOT, key) else {
        return Vec::new();
    };
    // One pass over the list: reading it index by index costs a walk per index.
    doc.list_range(&list, ..)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
        .map(|item| item.id())
        .collect()
}

fn find_checklist_item(doc: &impl ReadDoc, list: &ObjId, id: ChecklistItemId) -> Option<ObjId> {
    let wanted = id.to_string();
    (0..doc.length(list)).find_map(|i| match doc.get(list, i) {
        Ok(Some((Value::Object(ObjType::Map), obj)))
            if str_at(doc, &obj, "id").as_deref() == Some(wanted.as_str()) =>
        {
            Some(obj)
        }
        _ => None,
    })
}

/// The map under `key` of the root, if there is one.
fn map_at(doc: &Automerge, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Object(ObjType::Map), obj))) => Some(obj),
        _ => None,
    }
}

/// The estimate, the invoice and the payment, where the document has them.
fn read_billing(doc: &Automerge) -> (Option<Estimate>, Option<Invoice>, Option<Payment>) {
    let estimate = map_at(doc, "estimate").and_then(|o| {
        Some(Estimate {
            signer: str_at(doc, &o, "signer")?,
            approved_at_ms: int_at(doc, &o, "approved_at_ms").unwrap_or(0),
            drawing: blob_at(doc, &o, "drawing"),
            total: Money(int_at(doc, &o, "total")?),
        })
    });
    let invoice = map_at(doc, "invoice").and_then(|o| {
        let taxes = match doc.get(&o, "taxes") {
            Ok(Some((Value::Object(ObjType::List), list))) => (0..doc.length(&list))
                .filter_map(|i| match doc.get(&list, i) {
                    Ok(Some((Value::Object(ObjType::Map), l))) => Some(InvoiceTax {
                        name: str_at(doc, &l, "name")?,
                        ppm: u32::try_from(int_at(doc, &l, "ppm")?).ok()?,
                        inclusive: bool_at(doc, &l, "inclusive").unwrap_or(false),
                        base: Money(int_at(doc, &l, "base")?),
                        tax: Money(int_at(doc, &l, "tax")?),
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Some(Invoice {
            number: str_at(doc, &o, "number")?,
            issued_at_ms: int_at(doc, &o, "issued_at_ms").unwrap_or(0),
            subtotal: Money(int_at(doc, &o, "subtotal")?),
            taxes,
            tax_inclusive: Money(int_at(doc, &o, "tax_inclusive").unwrap_or(0)),
            tax_exclusive: Money(int_at(doc, &o, "tax_exclusive").unwrap_or(0)),
            total: Money(int_at(doc, &o, "total")?),
        })
    });
    let payment = map_at(doc, "payment").and_then(|o| {
        Some(Payment {
            method: PaymentMethod::parse(&str_at(doc, &o, "method")?)?,
            amount: Money(int_at(doc, &o, "amount").unwrap_or(0)),
            reference: str_at(doc, &o, "reference"),
            at_ms: int_at(doc, &o, "at_ms").unwrap_or(0),
        })
    });
    (estimate, invoice, payment)
}

/// The blob id under `key` of `obj`, in its one spelling.
fn blob_at(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<BlobId> {
    str_at(doc, obj, key)?.parse().ok()
}

/// The attachments: each `attachment:<id>` key of the root whose map names that blob, a
/// type its kind takes and a size within the cap (anything else a broken device wrote is
/// left out), oldest first.
fn read_attachments(doc: &Automerge) -> Vec<Attachment> {
    let mut attachments: Vec<Attachment> = doc
        .map_range(ROOT, ATTACHMENT_KEY.to_owned()..)
        .take_while(|item| item.key.starts_with(ATTACHMENT_KEY))
        .filter_map(|item| {
            let automerge::ValueRef::Object(ObjType::Map) = item.value else { return None };
            let obj = item.id();
            let id = blob_at(doc, &obj, "blob")?;
            if item.key.strip_prefix(ATTACHMENT_KEY) != Some(id.to_string().as_str()) {
                return None;
            }
            let blob = BlobRef {
                id,
                media_type: MediaType::parse(&str_at(doc, &obj, "media_type")?)?,
                bytes: u64::try_from(int_at(doc, &obj, "bytes")?).ok()?,
            };
            let kind = AttachmentKind::parse(&str_at(doc, &obj, "kind")?)?;
            blob.check(kind).ok()?;
            Some(Attachment {
                blob,
                kind,
                name: str_at(doc, &obj, "name").unwrap_or_default(),
                by: str_at(doc, &obj, "by").and_then(|s| s.parse().ok()),
                at_ms: int_at(doc, &obj, "at_ms").unwrap_or(0),
            })
        })
        .collect();
    attachments.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.blob.id.cmp(&b.blob.id)));
    attachments
}

/// The status (a conflict settled by precedence) and its history.
fn read_status(doc: &Automerge) -> Option<(WorkOrderStatus, Vec<StatusStep>)> {
    let root = ROOT;
    // Concurrent status changes leave a conflict: the highest precedence wins everywhere.
    let status = doc
        .get_all(&root, "status")
        .ok()?
        .into_iter()
        .filter_map(|(value, _)| match value {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(s) => WorkOrderStatus::parse(s),
                _ => None,
            },
            Value::Object(_) => None,
        })
        .max_by_key(|s| s.precedence())
        .unwrap_or(WorkOrderStatus::Scheduled);
    let status_log = maps_in(doc, "status_log")
        .iter()
        .filter_map(|o| {
            Some(StatusStep {
                status: WorkOrderStatus::parse(&str_at(doc, o, "status")?)?,
                by: str_at(doc, o, "by").and_then(|s| s.parse().ok()),
                at_ms: int_at(doc, o, "at_ms").unwrap_or(0),
            })
        })
        .collect();
    Some((status, status_log))
}

fn read_parts(doc: &Automerge) -> Vec<Part> {
    maps_in(doc, "parts")
        .iter()
        .filter_map(|o| {
            let qty = Qty(int_at(doc, o, "qty_milli")?);
            let unit_price = Money(int_at(doc, o, "unit_price")?);
            Some(Part {
                name: str_at(doc, o, "name")?,
                sku: str_at(doc, o, "sku"),
                line_id: str_at(doc, o, "line_id").and_then(|s| s.parse().ok()).map(PartLineId),
                item_id: str_at(doc, o, "item_id").and_then(|s| s.parse().ok()).map(ItemId),
                qty,
                unit_price,
                amount: unit_price.times(qty),
            })
        })
        .collect()
}

/// Reads the typed view out of a document; `None` if its first change is missing.
fn read_view(doc: &Automerge) -> Option<WorkOrderView> {
    let root = ROOT;
    let title = str_at(doc, &root, "title")?;
    let code = str_at(doc, &root, "currency")?;
    let code: [u8; 3] = code.as_bytes().try_into().ok()?;
    let exponent = u8::try_from(int_at(doc, &root, "currency_exponent")?).ok()?;
    let (status, status_log) = read_status(doc)?;
    let timers = match doc.get(ROOT, "timers") {
        Ok(Some((Value::Object(ObjType::Map), obj))) => {
            doc.keys(&obj).filter_map(|k| Some((k.parse().ok()?, int_at(doc, &obj, &k)?))).collect()
        }
        _ => BTreeMap::new(),
    };
    let notes = maps_in(doc, "notes")
        .iter()
        .filter_map(|o| {
            Some(Note {
                text: str_at(doc, o, "text")?,
                by: str_at(doc, o, "by").and_then(|s| s.parse().ok()),
                at_ms: int_at(doc, o, "at_ms").unwrap_or(0),
            })
        })
        .collect();
    let checklist = maps_in(doc, "checklist")
        .iter()
        .filter_map(|o| {
            Some(ChecklistItem {
                id: ChecklistItemId(str_at(doc, o, "id")?.parse().ok()?),
                label: str_at(doc, o, "label")?,
                done: bool_at(doc, o, "done").unwrap_or(false),
            })
        })
        .collect();
    let parts = read_parts(doc);
    let labour: Vec<Labour> = maps_in(doc, "labour")
        .iter()
        .filter_map(|o| {
            let minutes = u32::try_from(int_at(doc, o, "minutes")?).ok()?;
            let rate_per_hour = Money(int_at(doc, o, "rate_per_hour")?);
            Some(Labour { minutes, rate_per_hour, amount: labour_amount(rate_per_hour, minutes) })
        })
        .collect();
    let signature = match doc.get(ROOT, "signature") {
        Ok(Some((Value::Object(ObjType::Map), obj))) => Some(Signature {
            signer: str_at(doc, &obj, "signer")?,
            signed_at_ms: int_at(doc, &obj, "signed_at_ms").unwrap_or(0),
            drawing: blob_at(doc, &obj, "drawing"),
        }),
        _ => None,
    };
    // A malformed vehicle is left out; it never hides the job.
    let vehicle = map_at(doc, "vehicle").and_then(|obj| {
        Some(Vehicle {
            vin: str_at(doc, &obj, "vin")?,
            year: u16::try_from(int_at(doc, &obj, "year")?).ok()?,
            make: str_at(doc, &obj, "make").unwrap_or_default(),
            model: str_at(doc, &obj, "model").unwrap_or_default(),
            mileage_in: int_at(doc, &obj, "mileage_in").and_then(|m| u32::try_from(m).ok()),
            mileage_out: int_at(doc, &obj, "mileage_out").and_then(|m| u32::try_from(m).ok()),
        })
    });
    let (estimate, invoice, payment) = read_billing(doc);
    let parts_total: Money = parts.iter().map(|p| p.amount).sum();
    let labour_total: Money = labour.iter().map(|l| l.amount).sum();
    Some(WorkOrderView {
        title,
        customer: str_at(doc, &root, "customer").unwrap_or_default(),
        site_address: str_at(doc, &root, "site_address").unwrap_or_default(),
        vehicle,
        window: match doc.get(ROOT, "window") {
            // Moved since it was created.
            Ok(Some((Value::Object(ObjType::Map), obj))) => ScheduledWindow {
                start_ms: int_at(doc, &obj, "start_ms").unwrap_or(0),
                end_ms: int_at(doc, &obj, "end_ms").unwrap_or(0),
            },
            _ => ScheduledWindow {
                start_ms: int_at(doc, &root, "window_start_ms").unwrap_or(0),
                end_ms: int_at(doc, &root, "window_end_ms").unwrap_or(0),
            },
        },
        currency: Currency { code, exponent },
        status,
        status_log,
        notes,
        checklist,
        parts,
        labour,
        signature,
        estimate,
        invoice,
        payment,
        attachments: read_attachments(doc),
        timers,
        totals: WorkOrderTotals {
            parts: parts_total,
            labour: labour_total,
            total: parts_total + labour_total,
        },
        technician: None,
        location_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labour_rounds_once_half_away_from_zero() {
        // 85.00 an hour for 7 minutes = 9.91666... -> 9.92
        assert_eq!(labour_amount(Money(85_00), 7), Money(9_92));
        // 0.01 an hour for 30 minutes = 0.005 -> 0.01
        assert_eq!(labour_amount(Money(1), 30), Money(1));
        assert_eq!(labour_amount(Money(60_00), 90), Money(90_00));
    }

    #[test]
    fn change_bytes_are_base64_in_json() {
        let bytes = ChangeBytes(vec![0, 1, 2, 250]);
        let json = serde_json::to_string(&bytes).unwrap();
        assert_eq!(json, "\"AAEC+g==\"");
        assert_eq!(serde_json::from_str::<ChangeBytes>(&json).unwrap(), bytes);
    }
}
