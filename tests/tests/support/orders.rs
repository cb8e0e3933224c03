//! Kitchen orders for the agent's sync tests and benches: a dine-in check with a burger and
//! fries sent to the kitchen, and the tickets a store's KDS queue holds for it.

// Shared by tests and benches through `#[path]`; each uses part of it.
#![allow(dead_code)]

use anyhow::Result;
use thorbis_agent::seed;
use thorbis_agent::sync::SharedStore;
use thorbis_domain::Command;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{LineId, OrderId};
use thorbis_domain::{Currency, Qty};

/// Opens a check at `table` with a burger and fries and sends it to the kitchen, in one
/// commit on `pos`.
pub fn send_order(pos: &SharedStore, table: &str) -> Result<OrderId> {
    let (order_id, burger, fries) =
        pos.with(|s| (OrderId(s.new_id()), LineId(s.new_id()), LineId(s.new_id())));
    pos.execute(&[
        Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some(table.into()),
            guests: Some(2),
            staff: None,
        },
        seed::line(order_id, burger, seed::BURGER, Qty::ONE, vec![seed::MEDIUM_RARE]),
        seed::line(order_id, fries, seed::FRIES, Qty::ONE, vec![]),
        Command::SendToKitchen { order_id },
    ])?;
    Ok(order_id)
}

/// Opens an empty dine-in check at `table` on `pos`: something to sync that needs no menu.
pub fn open_check(pos: &SharedStore, table: &str) -> Result<OrderId> {
    let order_id = pos.with(|s| OrderId(s.new_id()));
    pos.execute(&[seed::open_order(order_id, Some(table))])?;
    Ok(order_id)
}

/// Whether `store` holds the tenant's menu (it comes from the hub's reference log).
pub fn has_menu(store: &SharedStore) -> Result<bool> {
    Ok(!store.with(|s| s.items())?.is_empty())
}

/// The tickets `store`'s KDS queue holds for `order`.
pub fn tickets_for(store: &SharedStore, order: OrderId) -> Result<usize> {
    Ok(store.with(|s| s.kds_queue(None))?.iter().filter(|t| t.order_id == order).count())
}
