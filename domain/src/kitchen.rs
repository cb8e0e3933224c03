//! Kitchen tickets: what a station has to make, and whether it is done.
//!
//! A send to the kitchen creates one ticket per station. Bumping (done) and recalling (back
//! on screen) are a last-writer-wins register ordered by [`EventMeta`], so two screens
//! bumping and recalling the same ticket agree on the outcome whatever order they hear of
//! it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalog::Station;
use crate::events::{DomainEvent, KitchenTicket};
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_first, keep_last};
use crate::ids::OrderId;

/// The contents of a ticket, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketContent {
    /// The order it belongs to.
    pub order_id: OrderId,
    /// The table, for dine-in.
    pub table: Option<String>,
    /// Station and lines.
    pub ticket: KitchenTicket,
}

/// A kitchen ticket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// What was sent, once known here.
    pub content: Option<Stamped<TicketContent>>,
    /// The latest bump (`true`) or recall (`false`).
    pub bumped: Option<Stamped<bool>>,
}

impl Ticket {
    /// True when the ticket has been bumped and not recalled since.
    #[must_use]
    pub fn is_bumped(&self) -> bool {
        self.bumped.as_ref().is_some_and(|b| b.value)
    }

    /// The station, once the content is known.
    #[must_use]
    pub fn station(&self) -> Option<&Station> {
        self.content.as_ref().map(|c| &c.value.ticket.station)
    }
}

impl Aggregate for Ticket {
    const KIND: &'static str = "ticket";

    fn apply(&mut self, id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::SentToKitchen(e) => {
                // One send carries a ticket per station; this aggregate is one of them.
                if let Some(t) = e.tickets.iter().find(|t| t.ticket_id.0 == id) {
                    let content = TicketContent {
                        order_id: e.order_id,
                        table: e.table.clone(),
                        ticket: t.clone(),
                    };
                    keep_first(&mut self.content, meta, &content);
                }
            }
            DomainEvent::TicketBumped(_) => keep_last(&mut self.bumped, meta, &true),
            DomainEvent::TicketRecalled(_) => keep_last(&mut self.bumped, meta, &false),
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.content.is_some() && !self.is_bumped()
    }

    fn finished_at(&self) -> Option<thorbis_sync_protocol::Hlc> {
        self.bumped.as_ref().filter(|b| b.value).map(|b| b.meta.hlc)
    }

    fn owner(&self) -> Option<Uuid> {
        self.content.as_ref().map(|c| c.value.order_id.0)
    }

    fn map(state: &mut State) -> &mut BTreeMap<Uuid, Self> {
        &mut state.tickets
    }

    fn map_ref(state: &State) -> &BTreeMap<Uuid, Self> {
        &state.tickets
    }
}
