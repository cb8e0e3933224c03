//! Moving lines between checks (split by seat or by item, merge) and moving a check to
//! another table or server.
//!
//! A move is two events, each touching one order: `order.lines_moved_out` on the source
//! (the lines stop counting there) and `order.lines_moved_in` on the target, which carries
//! each line whole under a new line id: the price in force, its comp, its line discounts
//! (under new ids) and the kitchen ticket it went out on, so the target prices, taxes and
//! routes it exactly as the source did and nothing is sent to the kitchen twice. New ids
//! mean a line can move back and forth without colliding with its own past.
//!
//! Money already taken stays where it was taken: a check with payments applied gives up no
//! lines (what the payment covered would no longer add up), and says so.

use crate::catalog::Staff;
use crate::events::{
    DiscountScope, DomainEvent as E, LineComped, LinesMovedIn, LinesMovedOut, MovedLine,
    OrderMerged, OrderTransferred,
};
use crate::fold::Versioned;
use crate::ids::{DiscountId, LineId, OrderId, StaffId};
use crate::order::Order;

use super::check::{live_line, open_order, text};
use super::{CommandError, Cx, Decided, IdSource, ReadModel};

pub(super) fn move_lines(
    cx: &Cx<'_, impl ReadModel>,
    from: OrderId,
    to: OrderId,
    lines: &[LineId],
    staff: Option<StaffId>,
    ids: &mut impl IdSource,
) -> Decided {
    if from == to {
        return Err(CommandError::SameOrder);
    }
    if lines.is_empty() {
        return Err(CommandError::NothingToMove);
    }
    let source = open_order(cx.state, from)?;
    let target = open_order(cx.state, to)?;
    movable(&source, from, &target)?;
    for (i, line) in lines.iter().enumerate() {
        if lines[..i].contains(line) {
            return Err(CommandError::LineTwice(*line));
        }
        live_line(&source, from, *line)?;
    }
    Ok(moves(&source, from, to, lines, staff, ids))
}

/// Whether lines may leave `source` for `target`.
fn movable(source: &Order, from: OrderId, target: &Order) -> Result<(), CommandError> {
    if !source.payments.is_empty() {
        return Err(CommandError::PaymentsApplied(from));
    }
    if let (Some(a), Some(b)) = (source.currency(), target.currency())
        && a != b
    {
        return Err(CommandError::CurrencyMismatch {
            got: a.code().to_owned(),
            expected: b.code().to_owned(),
        });
    }
    Ok(())
}

/// The pair of events that moves `lines` (all live on `source`) from `from` to `to`.
fn moves(
    source: &Order,
    from: OrderId,
    to: OrderId,
    lines: &[LineId],
    by: Option<StaffId>,
    ids: &mut impl IdSource,
) -> Vec<E> {
    let mut moved = Vec::with_capacity(lines.len());
    for &from_line in lines {
        let mut line = source.lines[&from_line].value.clone();
        let new_id = LineId(ids.next_id());
        // The price in force travels as the line's price; its approver with it.
        if let Some(r) = source.repriced.get(&from_line) {
            line.unit_price = r.value.unit_price;
            line.price_override_by = r.value.approved_by;
        }
        line.order_id = to;
        line.line_id = new_id;
        let comp = source.comps.get(&from_line).map(|c| LineComped {
            order_id: to,
            line_id: new_id,
            ..c.value.clone()
        });
        let discounts = source
            .discounts
            .values()
            .filter(|d| d.value.scope == DiscountScope::Line(from_line))
            .map(|d| {
                let mut d = d.value.clone();
                d.order_id = to;
                d.discount_id = DiscountId(ids.next_id());
                d.scope = DiscountScope::Line(new_id);
                d
            })
            .collect();
        let sent = source.sent.get(&from_line).copied();
        moved.push(MovedLine { from_line, line, comp, discounts, sent });
    }
    vec![
        E::LinesMovedOut(LinesMovedOut { order_id: from, to, lines: lines.to_vec(), by }),
        E::LinesMovedIn(LinesMovedIn { order_id: to, from, lines: moved, by }),
    ]
}

pub(super) fn transfer_order(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    table: Option<&str>,
    server: Option<StaffId>,
    by: Option<StaffId>,
) -> Decided {
    let order = open_order(cx.state, order_id)?;
    if let Some(t) = table {
        text(t, "a table")?;
    }
    if let Some(s) = server {
        let staff = cx
            .state
            .get::<Versioned<Staff>>(s.0)?
            .and_then(|v| v.current)
            .ok_or(CommandError::UnknownStaff(s))?;
        if !staff.value.active {
            return Err(CommandError::InactiveStaff(s));
        }
    }
    let new_table = table.map(str::trim).filter(|t| Some(*t) != order.table());
    let new_server = server.filter(|s| Some(*s) != order.server());
    if new_table.is_none() && new_server.is_none() {
        return Err(CommandError::NothingToTransfer);
    }
    // The event says where the check stands afterwards, both parts, so the latest
    // transfer alone is the answer whatever order transfers arrive in.
    Ok(vec![E::OrderTransferred(OrderTransferred {
        order_id,
        table: new_table.or(order.table()).map(str::to_owned),
        server: new_server.or(order.server()),
        by,
    })])
}

pub(super) fn merge_orders(
    cx: &Cx<'_, impl ReadModel>,
    into: OrderId,
    from: OrderId,
    by: Option<StaffId>,
    ids: &mut impl IdSource,
) -> Decided {
    if into == from {
        return Err(CommandError::SameOrder);
    }
    let source = open_order(cx.state, from)?;
    let target = open_order(cx.state, into)?;
    movable(&source, from, &target)?;
    if source.discounts.values().any(|d| d.value.scope == DiscountScope::Order) {
        return Err(CommandError::CheckDiscountWouldBeLost(from));
    }
    let lines: Vec<LineId> = source.live_lines().map(|l| l.line_id).collect();
    let mut events =
        if lines.is_empty() { Vec::new() } else { moves(&source, from, into, &lines, by, ids) };
    events.push(E::OrderMerged(OrderMerged { order_id: from, into, by }));
    Ok(events)
}
