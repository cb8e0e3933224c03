//! Sending orders to the kitchen, holding and firing courses, bumping and recalling
//! tickets.

use std::collections::BTreeMap;

use crate::events::{
    CourseChanged, DomainEvent as E, KitchenTicket, LineAdded, SentToKitchen, TicketLine,
    TicketStateChanged,
};
use crate::ids::{OrderId, StaffId, TicketId};
use crate::order::Order;

use super::check::{open_order, ticket};
use super::{CommandError, Cx, Decided, IdSource, ReadModel};

pub(super) fn send_to_kitchen(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    ids: &mut impl IdSource,
) -> Decided {
    let order = open_order(cx.state, order_id)?;
    // Lines of a held course wait for their course to be fired.
    let send = tickets_for(order_id, &order, |line| !order.is_line_held(line), ids)
        .ok_or(CommandError::NothingToSend)?;
    Ok(vec![E::SentToKitchen(send)])
}

/// One ticket per station for the order's unsent lines that `pick` selects; `None` when
/// none of them goes to a station.
fn tickets_for(
    order_id: OrderId,
    order: &Order,
    pick: impl Fn(&LineAdded) -> bool,
    ids: &mut impl IdSource,
) -> Option<SentToKitchen> {
    let mut by_station: BTreeMap<&str, Vec<TicketLine>> = BTreeMap::new();
    for line in order.unsent_lines().filter(|l| pick(l)) {
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
        return None;
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
    Some(SentToKitchen { order_id, table, tickets })
}

/// Holds a course: its unsent lines stay off the kitchen until it is fired.
pub(super) fn hold_course(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    course: u16,
    by: Option<StaffId>,
) -> Decided {
    let order = open_order(cx.state, order_id)?;
    if order.fired_courses.contains_key(&course) {
        return Err(CommandError::CourseFired(course));
    }
    if order.is_course_held(course) {
        return Err(CommandError::CourseHeld(course));
    }
    if !order.unsent_lines().any(|l| l.course == Some(course)) {
        return Err(CommandError::NothingToHold(course));
    }
    Ok(vec![E::CourseHeld(CourseChanged { order_id, course, by })])
}

/// Fires a held course: releases it and sends its unsent lines, a ticket per station.
pub(super) fn fire_course(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    course: u16,
    by: Option<StaffId>,
    ids: &mut impl IdSource,
) -> Decided {
    let order = open_order(cx.state, order_id)?;
    if !order.is_course_held(course) {
        return Err(CommandError::CourseNotHeld(course));
    }
    let mut events = vec![E::CourseFired(CourseChanged { order_id, course, by })];
    // A held course whose lines were all voided (or go to no station) is just released.
    if let Some(send) = tickets_for(order_id, &order, |line| line.course == Some(course), ids) {
        events.push(E::SentToKitchen(send));
    }
    Ok(events)
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
