//! Technician edits of work orders: status, notes, checklist, parts, labour, signature.
//!
//! Each edit loads the work order's merged document from state, applies the edit as the
//! editing device's Automerge actor with the command's timestamp, and records the new
//! change as `work_order.changed`. Only the device the work order is assigned to may edit
//! it; the hub's dispatcher edits through the same [`WorkOrder::edit`] on the hub.

use thorbis_sync_protocol::DeviceId;

use crate::events::{DomainEvent as E, WorkOrderChanged};
use crate::ids::WorkOrderId;
use crate::work_order::{WorkOrder, WorkOrderEdit};

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
