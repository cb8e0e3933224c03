//! Folding events into state.
//!
//! State is a pure function of the *set* of events a replica holds. Every aggregate's
//! [`Aggregate::apply`] is commutative: facts are kept in maps keyed by their own ids,
//! amounts are sums, and where two facts compete for one slot (two devices closing the same
//! order, two bumps of one ticket) the winner is chosen by [`EventMeta`]'s total order, not
//! by arrival order. Idempotence comes from the caller applying each event id once: the
//! in-memory [`State`] keeps the set of applied ids, the agent's store keys its event table
//! by `(device, seq)`.
//!
//! [`project`] routes an event to the aggregates it touches through the [`Projections`]
//! trait, so the in-memory [`State`] (used by tests and simulations) and the agent's SQLite
//! store run exactly the same code.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thorbis_sync_protocol::{EventId, Hlc};
use uuid::Uuid;

use crate::catalog::{Category, Item, ModifierGroup, Staff};
use crate::device::Device;
use crate::drawer::DrawerSession;
use crate::events::DomainEvent;
use crate::kitchen::Ticket;
use crate::order::Order;
use crate::stock::{Availability, StockLevel};
use crate::tax::{TaxCategory, TaxRate};
use crate::work_order::WorkOrder;

/// Where an event sits in the total order used to break ties: clock stamp, then device,
/// then sequence number. Two distinct events never compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventMeta {
    /// The event's hybrid logical clock stamp.
    pub hlc: Hlc,
    /// The event's identity.
    pub id: EventId,
}

/// A value and the event that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    /// The event that set the value.
    pub meta: EventMeta,
    /// The value.
    pub value: T,
}

impl<T> Stamped<T> {
    fn new(meta: EventMeta, value: T) -> Self {
        Self { meta, value }
    }
}

/// Keeps the value of the earliest event (first writer wins), whatever the arrival order.
pub(crate) fn keep_first<T: Clone>(slot: &mut Option<Stamped<T>>, meta: &EventMeta, value: &T) {
    if slot.as_ref().is_none_or(|s| *meta < s.meta) {
        *slot = Some(Stamped::new(*meta, value.clone()));
    }
}

/// Keeps the value of the latest event (last writer wins), whatever the arrival order.
pub(crate) fn keep_last<T: Clone>(slot: &mut Option<Stamped<T>>, meta: &EventMeta, value: &T) {
    if slot.as_ref().is_none_or(|s| *meta > s.meta) {
        *slot = Some(Stamped::new(*meta, value.clone()));
    }
}

/// [`keep_last`] for a map entry.
pub(crate) fn insert_last<K: Ord, T: Clone>(
    map: &mut BTreeMap<K, Stamped<T>>,
    key: K,
    meta: &EventMeta,
    value: &T,
) {
    let mut slot = map.remove(&key);
    keep_last(&mut slot, meta, value);
    if let Some(s) = slot {
        map.insert(key, s);
    }
}

/// [`keep_first`] for a map entry.
pub(crate) fn insert_first<K: Ord, T: Clone>(
    map: &mut BTreeMap<K, Stamped<T>>,
    key: K,
    meta: &EventMeta,
    value: &T,
) {
    let mut slot = map.remove(&key);
    keep_first(&mut slot, meta, value);
    if let Some(s) = slot {
        map.insert(key, s);
    }
}

/// A piece of state that events fold into, stored under a UUID.
pub trait Aggregate: Default + Clone + Serialize + DeserializeOwned + 'static {
    /// A short stable name, used as the storage key's first part.
    const KIND: &'static str;

    /// Folds one event in. Must be commutative with every other event.
    fn apply(&mut self, id: Uuid, meta: &EventMeta, event: &DomainEvent);

    /// Whether the aggregate is still "live" (open order, unbumped ticket, open drawer):
    /// stores index on it so the screens' queries stay cheap.
    fn is_active(&self) -> bool;

    /// When the aggregate stopped being live (a ticket's bump, a drawer's close), so
    /// stores can index "the most recently finished few" instead of listing every one
    /// ever finished. `None` while live, and for kinds that never finish.
    fn finished_at(&self) -> Option<Hlc> {
        None
    }

    /// The aggregate it belongs to (a ticket's order), so stores can index one's parts.
    fn owner(&self) -> Option<Uuid> {
        None
    }

    /// The map holding this aggregate in an in-memory [`State`].
    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self>;

    /// Read access to that map.
    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self>;
}

/// Somewhere aggregates live: the in-memory [`State`] or a database.
pub trait Projections {
    /// What the storage can fail with.
    type Error;

    /// Loads the aggregate (or its default), lets `f` change it, stores it back.
    fn update<A: Aggregate>(&mut self, id: Uuid, f: impl FnOnce(&mut A))
    -> Result<(), Self::Error>;

    /// Records that `from` relates to `to` (a drawer session to an order paid in it), so
    /// readers can find one from the other without scanning. Links are a set: recording
    /// one twice is harmless.
    fn link(&mut self, relation: Relation, from: Uuid, to: Uuid) -> Result<(), Self::Error>;
}

/// The relations between aggregates that [`project`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// A drawer session to an order with a payment in it.
    DrawerOrder,
}

impl Relation {
    /// A stable name for storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::DrawerOrder => "drawer_order",
        }
    }
}

/// Folds one event into every aggregate it touches.
pub fn project<P: Projections>(
    store: &mut P,
    meta: &EventMeta,
    event: &DomainEvent,
) -> Result<(), P::Error> {
    use DomainEvent as E;
    let fold = |store: &mut P, id: Uuid, kind: Target| -> Result<(), P::Error> {
        match kind {
            Target::Order => store.update::<Order>(id, |a| a.apply(id, meta, event)),
            Target::Ticket => store.update::<Ticket>(id, |a| a.apply(id, meta, event)),
            Target::Drawer => store.update::<DrawerSession>(id, |a| a.apply(id, meta, event)),
            Target::Stock => store.update::<StockLevel>(id, |a| a.apply(id, meta, event)),
            Target::Availability => store.update::<Availability>(id, |a| a.apply(id, meta, event)),
            Target::Item => store.update::<Versioned<Item>>(id, |a| a.apply(id, meta, event)),
            Target::Category => {
                store.update::<Versioned<Category>>(id, |a| a.apply(id, meta, event))
            }
            Target::ModifierGroup => {
                store.update::<Versioned<ModifierGroup>>(id, |a| a.apply(id, meta, event))
            }
            Target::TaxRate => store.update::<Versioned<TaxRate>>(id, |a| a.apply(id, meta, event)),
            Target::TaxCategory => {
                store.update::<Versioned<TaxCategory>>(id, |a| a.apply(id, meta, event))
            }
            Target::Staff => store.update::<Versioned<Staff>>(id, |a| a.apply(id, meta, event)),
            Target::WorkOrder => store.update::<WorkOrder>(id, |a| a.apply(id, meta, event)),
            Target::Device => store.update::<Device>(id, |a| a.apply(id, meta, event)),
        }
    };
    match event {
        E::ItemUpserted(e) => fold(store, e.id.0, Target::Item),
        E::CategoryUpserted(e) => fold(store, e.id.0, Target::Category),
        E::ModifierGroupUpserted(e) => fold(store, e.id.0, Target::ModifierGroup),
        E::TaxRateUpserted(e) => fold(store, e.id.0, Target::TaxRate),
        E::TaxCategoryUpserted(e) => fold(store, e.id.0, Target::TaxCategory),
        E::StaffUpserted(e) => fold(store, e.id.0, Target::Staff),
        E::AvailabilitySet(e) => fold(store, e.item_id.0, Target::Availability),
        E::OrderOpened(e) => fold(store, e.order_id.0, Target::Order),
        E::LineAdded(e) => fold(store, e.order_id.0, Target::Order),
        E::LineVoided(e) => fold(store, e.order_id.0, Target::Order),
        E::LineComped(e) => fold(store, e.order_id.0, Target::Order),
        E::DiscountApplied(e) => fold(store, e.order_id.0, Target::Order),
        E::LineRepriced(e) => fold(store, e.order_id.0, Target::Order),
        E::LinesMovedOut(e) => fold(store, e.order_id.0, Target::Order),
        E::LinesMovedIn(e) => fold(store, e.order_id.0, Target::Order),
        E::OrderTransferred(e) => fold(store, e.order_id.0, Target::Order),
        E::OrderMerged(e) => fold(store, e.order_id.0, Target::Order),
        E::OrderClosed(e) => fold(store, e.order_id.0, Target::Order),
        E::CourseHeld(e) | E::CourseFired(e) => fold(store, e.order_id.0, Target::Order),
        E::SentToKitchen(e) => {
            fold(store, e.order_id.0, Target::Order)?;
            for t in &e.tickets {
                fold(store, t.ticket_id.0, Target::Ticket)?;
            }
            Ok(())
        }
        E::TicketBumped(e) | E::TicketRecalled(e) => fold(store, e.ticket_id.0, Target::Ticket),
        E::PaymentTaken(e) => {
            fold(store, e.order_id.0, Target::Order)?;
            match e.drawer_session {
                Some(session) => {
                    fold(store, session.0, Target::Drawer)?;
                    store.link(Relation::DrawerOrder, session.0, e.order_id.0)
                }
                None => Ok(()),
            }
        }
        E::RefundIssued(e) => {
            fold(store, e.order_id.0, Target::Order)?;
            match e.drawer_session {
                Some(session) => fold(store, session.0, Target::Drawer),
                None => Ok(()),
            }
        }
        E::DrawerOpened(e) => fold(store, e.session_id.0, Target::Drawer),
        E::DrawerPaidIn(e) | E::DrawerPaidOut(e) => fold(store, e.session_id.0, Target::Drawer),
        E::DrawerNoSale(e) => fold(store, e.session_id.0, Target::Drawer),
        E::DrawerCounted(e) => fold(store, e.session_id.0, Target::Drawer),
        E::DrawerClosed(e) => fold(store, e.session_id.0, Target::Drawer),
        E::DrawerZReported(e) => fold(store, e.session_id.0, Target::Drawer),
        E::StockMoved(e) => fold(store, e.item_id.0, Target::Stock),
        E::WorkOrderDispatched(e) => fold(store, e.work_order_id.0, Target::WorkOrder),
        E::WorkOrderChanged(e) => fold(store, e.work_order_id.0, Target::WorkOrder),
        E::WorkOrderPartUsed(e) => {
            fold(store, e.work_order_id.0, Target::WorkOrder)?;
            fold(store, e.item_id.0, Target::Stock)
        }
        E::DeviceRegistered(e) => fold(store, e.device_id, Target::Device),
        E::DeviceRevoked(e) => fold(store, e.device_id, Target::Device),
        E::DeviceConfigured(e) => fold(store, e.device_id, Target::Device),
    }
}

#[derive(Clone, Copy)]
enum Target {
    Order,
    Ticket,
    Drawer,
    Stock,
    Availability,
    Item,
    Category,
    ModifierGroup,
    TaxRate,
    TaxCategory,
    Staff,
    WorkOrder,
    Device,
}

/// A catalog record: the latest version published wins.
pub trait CatalogRecord: Clone + Serialize + DeserializeOwned + 'static {
    /// Storage kind name.
    const KIND: &'static str;
    /// The record carried by `event`, if it carries one of this type.
    fn from_event(event: &DomainEvent) -> Option<&Self>;
    /// The in-memory map.
    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Versioned<Self>>;
    /// Read access to the in-memory map.
    fn map_ref(state: &State) -> &BTreeMap<Uuid, Versioned<Self>>;
}

/// The current version of a catalog record (last writer wins by [`EventMeta`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
pub struct Versioned<T> {
    /// The latest version seen, if any.
    pub current: Option<Stamped<T>>,
}

impl<T> Default for Versioned<T> {
    fn default() -> Self {
        Self { current: None }
    }
}

impl<T> Versioned<T> {
    /// The current value.
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.current.as_ref().map(|s| &s.value)
    }
}

impl<T: CatalogRecord> Aggregate for Versioned<T> {
    const KIND: &'static str = T::KIND;

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        if let Some(record) = T::from_event(event) {
            keep_last(&mut self.current, meta, record);
        }
    }

    fn is_active(&self) -> bool {
        self.current.is_some()
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        T::map(state)
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        T::map_ref(state)
    }
}

macro_rules! catalog_records {
    ($($ty:ty => $kind:literal, $variant:ident, $field:ident;)*) => {$(
        impl CatalogRecord for $ty {
            const KIND: &'static str = $kind;
            fn from_event(event: &DomainEvent) -> Option<&Self> {
                match event {
                    DomainEvent::$variant(r) => Some(r),
                    _ => None,
                }
            }
            fn map(state: &mut State) -> &mut BTreeMap<Uuid, Versioned<Self>> {
                &mut state.$field
            }
            fn map_ref(state: &State) -> &BTreeMap<Uuid, Versioned<Self>> {
                &state.$field
            }
        }
    )*};
}

catalog_records! {
    Item => "item", ItemUpserted, items;
    Category => "category", CategoryUpserted, categories;
    ModifierGroup => "modifier_group", ModifierGroupUpserted, modifier_groups;
    TaxRate => "tax_rate", TaxRateUpserted, tax_rates;
    TaxCategory => "tax_category", TaxCategoryUpserted, tax_categories;
    Staff => "staff", StaffUpserted, staff;
}

/// Every aggregate in memory: the reference fold, used by property tests, simulations and
/// anything that wants state without a database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct State {
    /// Event ids already applied; a second application of one is a no-op.
    pub applied: BTreeSet<EventId>,
    pub orders: BTreeMap<Uuid, Order>,
    pub tickets: BTreeMap<Uuid, Ticket>,
    pub drawers: BTreeMap<Uuid, DrawerSession>,
    pub stock: BTreeMap<Uuid, StockLevel>,
    pub availability: BTreeMap<Uuid, Availability>,
    pub items: BTreeMap<Uuid, Versioned<Item>>,
    pub categories: BTreeMap<Uuid, Versioned<Category>>,
    pub modifier_groups: BTreeMap<Uuid, Versioned<ModifierGroup>>,
    pub tax_rates: BTreeMap<Uuid, Versioned<TaxRate>>,
    pub tax_categories: BTreeMap<Uuid, Versioned<TaxCategory>>,
    pub staff: BTreeMap<Uuid, Versioned<Staff>>,
    pub work_orders: BTreeMap<Uuid, WorkOrder>,
    pub devices: BTreeMap<Uuid, Device>,
    pub links: BTreeSet<(Relation, Uuid, Uuid)>,
}

impl State {
    /// Applies an event unless this id was applied before. Returns whether it was new.
    pub fn apply(&mut self, meta: &EventMeta, event: &DomainEvent) -> bool {
        if !self.applied.insert(meta.id) {
            return false;
        }
        let Ok(()) = project(self, meta, event);
        true
    }

    /// An aggregate by id.
    #[must_use]
    pub fn get<A: Aggregate>(&self, id: Uuid) -> Option<&A> {
        A::map_ref(self).get(&id)
    }

    /// The ids `from` is linked to by `relation`.
    pub fn linked(&self, relation: Relation, from: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.links
            .range((relation, from, Uuid::nil())..=(relation, from, Uuid::max()))
            .map(|(_, _, to)| *to)
    }
}

impl Projections for State {
    type Error = std::convert::Infallible;

    fn update<A: Aggregate>(
        &mut self,
        id: Uuid,
        f: impl FnOnce(&mut A),
    ) -> Result<(), Self::Error> {
        f(A::map(self).entry(id).or_default());
        Ok(())
    }

    fn link(&mut self, relation: Relation, from: Uuid, to: Uuid) -> Result<(), Self::Error> {
        self.links.insert((relation, from, to));
        Ok(())
    }
}
