//! Technician edits of work orders: status, notes, checklist, parts, labour, signature.
//!
//! Each edit loads the work order's merged document from state, applies the edit as the
//! editing device's Automerge actor with the command's timestamp, and records the new
//! change as `work_order.changed`. Only the device the work order is assigned to may edit
//! it; the hub's dispatcher edits through the same [`WorkOrder::edit`] on the hub.

use thorbis_sync_protocol::DeviceId;

use crate::events::{DomainEvent as E, WorkOrderChanged, WorkOrderPartUsed};
use crate::ids::{ItemId, PartLineId, WorkOrderId};
use crate::money::Qty;
use crate::tax;
use crate::work_order::{WorkOrder, WorkOrderEdit, invoice_number};

use super::check::{item, taxes};

use super::{CommandError, Cx, Decided, ReadModel};

/// The work order, if it exists and is assigned to `device`.
fn assigned(
    state: &impl ReadModel,
    work_order_id: WorkOrderId,
    device: DeviceId,
) -> Result<WorkOrder, CommandError> {
    let order = state
        .get::<WorkOrder>(work_order_id.0)?
        .filter(WorkOrder::exists)
        .ok_or(CommandError::UnknownWorkOrder(work_order_id))?;
    if order.technician() != Some(device) {
        return Err(CommandError::NotAssigned { work_order: work_order_id, device });
    }
    Ok(order)
}

pub(super) fn edit_work_order(
    cx: &Cx<'_, impl ReadModel>,
    work_order_id: WorkOrderId,
    device: DeviceId,
    at_ms: i64,
    edit: &WorkOrderEdit,
) -> Decided {
    let order = assigned(cx.state, work_order_id, device)?;
    let change = order.edit(edit, device, at_ms)?;
    Ok(vec![E::WorkOrderChanged(WorkOrderChanged { work_order_id, change })])
}

/// A part from the catalog, as a technician picks it.
#[derive(Clone, Copy)]
pub(super) struct PartUse {
    pub line_id: PartLineId,
    pub item_id: ItemId,
    pub qty: Qty,
}

pub(super) fn use_part(
    cx: &Cx<'_, impl ReadModel>,
    work_order_id: WorkOrderId,
    device: DeviceId,
    at_ms: i64,
    part: PartUse,
) -> Decided {
    let order = assigned(cx.state, work_order_id, device)?;
    let item = item(cx.state, part.item_id)?;
    if !item.active {
        return Err(CommandError::ItemRetired(item.name));
    }
    let edit = WorkOrderEdit::UsePart {
        line_id: part.line_id,
        item_id: part.item_id,
        // A barcode is not shown as the SKU: an EAN can pass the card-number check.
        sku: None,
        name: item.name,
        qty: part.qty,
        unit_price: item.price,
    };
    let change = order.edit(&edit, device, at_ms)?;
    Ok(vec![E::WorkOrderPartUsed(WorkOrderPartUsed {
        work_order_id,
        line_id: part.line_id,
        item_id: part.item_id,
        qty: part.qty,
        change,
    })])
}

pub(super) fn invoice(
    cx: &Cx<'_, impl ReadModel>,
    work_order_id: WorkOrderId,
    device: DeviceId,
    at_ms: i64,
) -> Decided {
    let order = assigned(cx.state, work_order_id, device)?;
    let view = order.view().ok_or(CommandError::UnknownWorkOrder(work_order_id))?;
    let mut lines = Vec::new();
    for part in &view.parts {
        let rates = match part.item_id {
            Some(id) => match item(cx.state, id) {
                Ok(item) => taxes(cx.state, &item)?,
                // An item retired from the catalog since keeps no rates here.
                Err(CommandError::UnknownItem(_)) => Vec::new(),
                Err(e) => return Err(e),
            },
            None => Vec::new(),
        };
        lines.push((part.amount, rates));
    }
    let taxes = tax::compute(lines.iter().map(|(amount, rates)| (*amount, rates.as_slice())));
    let edit = WorkOrderEdit::IssueInvoice {
        number: invoice_number(work_order_id),
        issued_at_ms: at_ms,
        taxes,
    };
    let change = order.edit(&edit, device, at_ms)?;
    Ok(vec![E::WorkOrderChanged(WorkOrderChanged { work_order_id, change })])
}
