//! Sending orders to the kitchen, bumping and recalling tickets.

use std::collections::BTreeMap;

use crate::events::{
    DomainEvent as E, KitchenTicket, SentToKitchen, TicketLine, TicketStateChanged,
};
use crate::ids::{OrderId, TicketId};

use super::check::{open_order, ticket};
use super::{CommandError, Cx, Decided, IdSource, ReadModel};

pub(super) fn send_to_kitchen(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    ids: &mut impl IdSource,
) -> Decided {
    let order = open_order(cx.state, order_id)?;
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
    let table = order.table().map(str::to_owned);
    Ok(vec![E::SentToKitchen(SentToKitchen { order_id, table, tickets })])
}

pub(super) fn bump_ticket(cx: &Cx<'_, impl ReadModel>, ticket_id: TicketId) -> Decided {
    let ticket = ticket(cx.state, ticket_id)?;
    if ticket.is_bumped() {
        return Err(CommandError::AlreadyBumped(ticket_id));
    }
    let station = ticket.station().cloned();
    Ok(vec![E::TicketBumped(TicketStateChanged { ticket_id, station })])
}

pub(super) fn recall_ticket(cx: &Cx<'_, impl ReadModel>, ticket_id: TicketId) -> Decided {
    let ticket = ticket(cx.state, ticket_id)?;
    if !ticket.is_bumped() {
        return Err(CommandError::NotBumped(ticket_id));
    }
    let station = ticket.station().cloned();
    Ok(vec![E::TicketRecalled(TicketStateChanged { ticket_id, station })])
}
