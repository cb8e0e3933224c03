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
//! | `window_start_ms`, `window_end_ms` | integers (Unix ms) |
//! | `currency`, `currency_exponent` | text, integer: the currency of every amount |
//! | `status` | text: `scheduled`, `en_route`, `on_site`, `done`, `cancelled` |
//! | `notes` | list of maps `{text, by, at_ms}` |
//! | `checklist` | list of maps `{id, label, done}`: ticked by id, so concurrent inserts never move the target |
//! | `parts` | list of maps `{name, sku?, qty_milli, unit_price}` |
//! | `labour` | list of maps `{minutes, rate_per_hour}` |
//! | `signature` | map `{signer, signed_at_ms}`, absent until captured (the image stays out) |
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
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

use crate::command::looks_like_card_number;
use crate::events::DomainEvent;
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_last};
use crate::ids::{ChecklistItemId, LocationId};
use crate::money::{Currency, Money, Qty, div_round};

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

/// Where a work order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    /// Planned, nobody on the way yet.
    Scheduled,
    /// The technician is travelling to the site.
    EnRoute,
    /// The technician is working at the site.
    OnSite,
    /// The job is finished.
    Done,
    /// The job will not be done.
    Cancelled,
}

impl WorkOrderStatus {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::EnRoute => "en_route",
            Self::OnSite => "on_site",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => Self::Scheduled,
            "en_route" => Self::EnRoute,
            "on_site" => Self::OnSite,
            "done" => Self::Done,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
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
    pub fn texts(&self) -> Option<Vec<String>> {
        let change = self.parse()?.decode();
        let mut texts: Vec<String> = change.message.into_iter().collect();
        let mut inserted = String::new();
        for op in &change.operations {
            if let Some(ScalarValue::Str(s)) = op.primitive_value() {
                if op.insert {
                    inserted.push_str(&s);
                }
                texts.push(s.to_string());
            }
        }
        texts.push(inserted);
        Some(texts)
    }
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
}

/// One edit of a work order, by a technician or a dispatcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "edit", deny_unknown_fields)]
pub enum WorkOrderEdit {
    /// Moves the job along (or cancels it).
    SetStatus { status: WorkOrderStatus },
    /// Appends a note.
    AddNote { text: String },
    /// Adds an item to the checklist.
    AddChecklistItem { item_id: ChecklistItemId, label: String },
    /// Ticks (or unticks) a checklist item.
    TickChecklistItem { item_id: ChecklistItemId, done: bool },
    /// Records a part used.
    AddPart { name: String, sku: Option<String>, qty: Qty, unit_price: Money },
    /// Records labour.
    AddLabour { minutes: u32, rate_per_hour: Money },
    /// Records that the customer signed (who and when; the image is kept elsewhere).
    CaptureSignature { signer: String, signed_at_ms: i64 },
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

/// The first change of a new work order, written by `author` at `at_ms`.
pub fn create(
    draft: &WorkOrderDraft,
    author: DeviceId,
    at_ms: i64,
) -> Result<ChangeBytes, WorkOrderError> {
    text(&draft.title, "a title")?;
    text(&draft.customer, "a customer")?;
    text(&draft.site_address, "a site address")?;
    if draft.window.end_ms < draft.window.start_ms {
        return Err(WorkOrderError::InvalidValue {
            what: "the scheduled window",
            rule: "a start no later than its end",
        });
    }
    for item in &draft.checklist {
        text(&item.label, "a checklist item")?;
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
        let mut doc = Automerge::new();
        for bytes in self.changes.values() {
            if let Some(change) = bytes.parse() {
                // A failure here means a malformed or conflicting change from a broken
                // device; skipping it is deterministic, which is what convergence needs.
                let _ = doc.apply_changes([change]);
            }
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
        let mut tx = doc.transaction();
        match edit {
            WorkOrderEdit::SetStatus { status } => {
                tx.put(ROOT, "status", status.as_str()).map_err(doc_err)?;
            }
            WorkOrderEdit::AddNote { text: note } => {
                text(note, "a note")?;
                let notes = list(&tx, "notes")?;
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
                let checklist = list(&tx, "checklist")?;
                let at = tx.length(&checklist);
                let obj = tx.insert_object(&checklist, at, ObjType::Map).map_err(doc_err)?;
                tx.put(&obj, "id", item_id.to_string()).map_err(doc_err)?;
                tx.put(&obj, "label", label.trim()).map_err(doc_err)?;
                tx.put(&obj, "done", false).map_err(doc_err)?;
            }
            WorkOrderEdit::TickChecklistItem { item_id, done } => {
                let checklist = list(&tx, "checklist")?;
                let target = find_checklist_item(&tx, &checklist, *item_id)
                    .ok_or(WorkOrderError::UnknownChecklistItem(*item_id))?;
                tx.put(&target, "done", *done).map_err(doc_err)?;
            }
            WorkOrderEdit::AddPart { name, sku, qty, unit_price } => {
                text(name, "a part name")?;
                if let Some(sku) = sku {
                    text(sku, "a SKU")?;
                }
                if qty.0 <= 0 || *qty > MAX_PART_QTY {
                    return Err(WorkOrderError::InvalidValue {
                        what: "a part's quantity",
                        rule: "above zero and at most 9,999",
                    });
                }
                amount(*unit_price, "a part's unit price")?;
                let parts = list(&tx, "parts")?;
                let at = tx.length(&parts);
                let obj = tx.insert_object(&parts, at, ObjType::Map).map_err(doc_err)?;
                tx.put(&obj, "name", name.trim()).map_err(doc_err)?;
                if let Some(sku) = sku {
                    tx.put(&obj, "sku", sku.trim()).map_err(doc_err)?;
                }
                tx.put(&obj, "qty_milli", qty.0).map_err(doc_err)?;
                tx.put(&obj, "unit_price", unit_price.0).map_err(doc_err)?;
            }
            WorkOrderEdit::AddLabour { minutes, rate_per_hour } => {
                if *minutes == 0 || *minutes > MAX_LABOUR_MINUTES {
                    return Err(WorkOrderError::InvalidValue {
                        what: "labour minutes",
                        rule: "above zero and at most 2,160 (36 hours)",
                    });
                }
                amount(*rate_per_hour, "a labour rate")?;
                let labour = list(&tx, "labour")?;
                let at = tx.length(&labour);
                let obj = tx.insert_object(&labour, at, ObjType::Map).map_err(doc_err)?;
                tx.put(&obj, "minutes", i64::from(*minutes)).map_err(doc_err)?;
                tx.put(&obj, "rate_per_hour", rate_per_hour.0).map_err(doc_err)?;
            }
            WorkOrderEdit::CaptureSignature { signer, signed_at_ms } => {
                text(signer, "the signer's name")?;
                let obj = tx.put_object(ROOT, "signature", ObjType::Map).map_err(doc_err)?;
                tx.put(&obj, "signer", signer.trim()).map_err(doc_err)?;
                tx.put(&obj, "signed_at_ms", *signed_at_ms).map_err(doc_err)?;
            }
        }
        let (hash, _) = tx.commit_with(CommitOptions::default().with_time(at_ms));
        let hash = hash.ok_or(WorkOrderError::Incomplete)?;
        let change = doc.get_change_by_hash(&hash).ok_or(WorkOrderError::Incomplete)?;
        Ok(ChangeBytes(change.raw_bytes().to_vec()))
    }
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
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.view().is_some_and(|v| {
            !matches!(v.status, WorkOrderStatus::Done | WorkOrderStatus::Cancelled)
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

/// The customer's signature (who and when).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signer: String,
    pub signed_at_ms: i64,
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
    pub window: ScheduledWindow,
    pub currency: Currency,
    pub status: WorkOrderStatus,
    pub notes: Vec<Note>,
    pub checklist: Vec<ChecklistItem>,
    pub parts: Vec<Part>,
    pub labour: Vec<Labour>,
    pub signature: Option<Signature>,
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
    (0..doc.length(&list))
        .filter_map(|i| match doc.get(&list, i) {
            Ok(Some((Value::Object(ObjType::Map), obj))) => Some(obj),
            _ => None,
        })
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

/// Reads the typed view out of a document; `None` if its first change is missing.
fn read_view(doc: &Automerge) -> Option<WorkOrderView> {
    let root = ROOT;
    let title = str_at(doc, &root, "title")?;
    let code = str_at(doc, &root, "currency")?;
    let code: [u8; 3] = code.as_bytes().try_into().ok()?;
    let exponent = u8::try_from(int_at(doc, &root, "currency_exponent")?).ok()?;
    let status = str_at(doc, &root, "status")
        .and_then(|s| WorkOrderStatus::parse(&s))
        .unwrap_or(WorkOrderStatus::Scheduled);
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
    let parts: Vec<Part> = maps_in(doc, "parts")
        .iter()
        .filter_map(|o| {
            let qty = Qty(int_at(doc, o, "qty_milli")?);
            let unit_price = Money(int_at(doc, o, "unit_price")?);
            Some(Part {
                name: str_at(doc, o, "name")?,
                sku: str_at(doc, o, "sku"),
                qty,
                unit_price,
                amount: unit_price.times(qty),
            })
        })
        .collect();
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
        }),
        _ => None,
    };
    let parts_total: Money = parts.iter().map(|p| p.amount).sum();
    let labour_total: Money = labour.iter().map(|l| l.amount).sum();
    Some(WorkOrderView {
        title,
        customer: str_at(doc, &root, "customer").unwrap_or_default(),
        site_address: str_at(doc, &root, "site_address").unwrap_or_default(),
        window: ScheduledWindow {
            start_ms: int_at(doc, &root, "window_start_ms").unwrap_or(0),
            end_ms: int_at(doc, &root, "window_end_ms").unwrap_or(0),
        },
        currency: Currency { code, exponent },
        status,
        notes,
        checklist,
        parts,
        labour,
        signature,
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
