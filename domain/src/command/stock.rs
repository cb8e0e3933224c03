//! Stock on hand: deliveries, adjustments and counts.

use crate::events::{DomainEvent as E, StockMoved, StockReason};
use crate::ids::ItemId;
use crate::money::Qty;
use crate::stock::StockLevel;

use super::check::{item, text};
use super::{CommandError, Cx, Decided, ReadModel};

pub(super) fn receive_stock(
    cx: &Cx<'_, impl ReadModel>,
    item_id: ItemId,
    qty: Qty,
    note: &str,
) -> Decided {
    item(cx.state, item_id)?;
    if qty.0 <= 0 {
        return Err(CommandError::InvalidQuantity { got: qty, max: cx.policy.max_line_qty });
    }
    text(note, "a note")?;
    let reason = StockReason::Receive { note: note.to_owned() };
    Ok(vec![E::StockMoved(StockMoved { item_id, delta: qty, reason })])
}

pub(super) fn adjust_stock(
    cx: &Cx<'_, impl ReadModel>,
    item_id: ItemId,
    delta: Qty,
    note: &str,
) -> Decided {
    item(cx.state, item_id)?;
    if delta.0 == 0 {
        return Err(CommandError::InvalidQuantity { got: delta, max: cx.policy.max_line_qty });
    }
    text(note, "a note")?;
    let reason = StockReason::Adjust { note: note.to_owned() };
    Ok(vec![E::StockMoved(StockMoved { item_id, delta, reason })])
}

pub(super) fn count_stock(cx: &Cx<'_, impl ReadModel>, item_id: ItemId, counted: Qty) -> Decided {
    item(cx.state, item_id)?;
    if counted.0 < 0 {
        return Err(CommandError::InvalidQuantity { got: counted, max: cx.policy.max_line_qty });
    }
    let on_hand = cx.state.get::<StockLevel>(item_id.0)?.unwrap_or_default().on_hand;
    let reason = StockReason::Count { counted };
    Ok(vec![E::StockMoved(StockMoved { item_id, delta: counted - on_hand, reason })])
}
