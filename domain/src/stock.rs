//! Stock on hand and item availability.
//!
//! Stock is the sum of its movements, never "set to N": a count records the difference the
//! counting terminal saw, so a sale made elsewhere during the count still counts.
//! Availability (the 86 list) is a last-writer-wins register by [`EventMeta`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::DomainEvent;
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_last};
use crate::money::Qty;

/// Stock of one item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Sum of all movements.
    pub on_hand: Qty,
    /// How many movements made it.
    pub movements: u64,
}

impl Aggregate for StockLevel {
    const KIND: &'static str = "stock";

    fn apply(&mut self, _id: Uuid, _meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::StockMoved(e) => {
                self.on_hand += e.delta;
                self.movements += 1;
            }
            DomainEvent::WorkOrderPartUsed(e) => {
                self.on_hand += Qty(-e.qty.0);
                self.movements += 1;
            }
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        true
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.stock
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.stock
    }
}

/// Whether an item can be sold right now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// The latest setting; none means available.
    pub latest: Option<Stamped<bool>>,
}

impl Availability {
    /// False when the item is 86'd.
    #[must_use]
    pub fn is_available(&self) -> bool {
        self.latest.as_ref().is_none_or(|s| s.value)
    }
}

impl Aggregate for Availability {
    const KIND: &'static str = "availability";

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        if let DomainEvent::AvailabilitySet(e) = event {
            keep_last(&mut self.latest, meta, &e.available);
        }
    }

    fn is_active(&self) -> bool {
        !self.is_available()
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.availability
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.availability
    }
}
