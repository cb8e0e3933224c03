//! Work orders at the hub: create, assign (dispatch) and edit a work order, list and read
//! them. Every write appends hub-signed events to the tenant's desk log or a technician's
//! dispatch log ([`crate::dispatch`]) and folds them like any other events, so the
//! `aggregates` row (the merged Automerge change set) and the `work_orders` summary row
//! move together. The work order's row is locked for the transaction, which orders writes
//! to one work order.

use deadpool_postgres::Transaction;
use thorbis_domain::DomainEvent;
use thorbis_domain::events::{WorkOrderChanged, WorkOrderDispatched};
use thorbis_domain::ids::{LocationId, WorkOrderId};
use thorbis_domain::work_order::{
    WorkOrder, WorkOrderDraft, WorkOrderEdit, WorkOrderError, WorkOrderView, create as first_change,
};
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::dispatch::{desk_log, dispatch_log};
use crate::log::{self, LogError};
use crate::store::{Fault, Store, faults};
use crate::tenants::{TenantError, require_tenant};

/// Most work orders one list answer holds (newest first).
const MAX_LIST: i64 = 500;

/// Why a work order operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkOrdersError {
    /// No such work order in the tenant.
    #[error("no work order {0}")]
    NoWorkOrder(Uuid),
    /// No such device in the tenant.
    #[error("no device {0} in this tenant")]
    NoDevice(Uuid),
    /// Work orders go to technician devices only.
    #[error("device {device} is a {role} device; work orders go to technician devices")]
    NotTechnician {
        /// The device.
        device: Uuid,
        /// Its role.
        role: String,
    },
    /// The device was revoked.
    #[error("device {0} has been revoked")]
    Revoked(Uuid),
    /// The domain refused the work order or the edit.
    #[error(transparent)]
    Refused(#[from] WorkOrderError),
    /// The tenant does not exist.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// Appending to a hub-signed log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(WorkOrdersError);

/// The work order's row, locked for this transaction: its assigned technician, if any.
async fn lock(
    tx: &Transaction<'_>,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<DeviceId>, WorkOrdersError> {
    let row = tx
        .query_opt(
            "SELECT technician FROM work_orders WHERE tenant_id = $1 AND work_order_id = $2
                FOR UPDATE",
            &[&tenant, &id],
        )
        .await?
        .ok_or(WorkOrdersError::NoWorkOrder(id))?;
    Ok(row.get::<_, Option<Uuid>>(0).map(|t| DeviceId::from_bytes(*t.as_bytes())))
}

/// The folded work order (every change the hub holds).
async fn load(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<WorkOrder, WorkOrdersError> {
    let row = tx
        .query_opt(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 AND id = $3",
            &[&tenant, &<WorkOrder as thorbis_domain::Aggregate>::KIND, &id],
        )
        .await?;
    match row {
        Some(row) => serde_json::from_value(row.get(0))
            .map_err(|e| Fault::Corrupt(format!("work order {id}: {e}")).into()),
        None => Ok(WorkOrder::default()),
    }
}

/// Appends `events` to the hub-signed log `log` of `tenant` and folds them, inside `tx`.
async fn append(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    log: DeviceId,
    events: Vec<DomainEvent>,
) -> Result<(), WorkOrdersError> {
    log::append(store, tx, tenant, log, events).await?;
    Ok(())
}

async fn commit(store: &Store, tx: Transaction<'_>, tenant: Uuid) -> Result<(), WorkOrdersError> {
    tx.commit().await?;
    store.notify(tenant);
    Ok(())
}

/// Creates a work order in `tenant` from `draft`; its first change goes to the desk log.
pub async fn create(
    store: &Store,
    tenant: Uuid,
    draft: &WorkOrderDraft,
) -> Result<WorkOrderId, WorkOrdersError> {
    let work_order_id = WorkOrderId(Uuid::now_v7());
    let first = first_change(draft, desk_log(tenant), store.now_i64())?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    require_tenant(&tx, tenant).await?;
    // The row first, so the fold below finds it and fills in the figures.
    tx.execute(
        "INSERT INTO work_orders (tenant_id, work_order_id, title, customer, site_address,
             status, window_start_ms, window_end_ms, currency, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7, $8, $9)",
        &[
            &tenant,
            &work_order_id.0,
            &draft.title.trim(),
            &draft.customer.trim(),
            &draft.site_address.trim(),
            &draft.window.start_ms,
            &draft.window.end_ms,
            &draft.currency.code(),
            &store.now_i64(),
        ],
    )
    .await?;
    let changed = DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id, change: first });
    append(store, &tx, tenant, desk_log(tenant), vec![changed]).await?;
    commit(store, tx, tenant).await?;
    tracing::info!(%tenant, work_order = %work_order_id, "work order created");
    Ok(work_order_id)
}

/// Assigns (or reassigns) work order `id` to the technician device `technician`. The new
/// technician's dispatch log gets the full document; the previous one's gets only the news
/// that the job moved on. Returns the technician and whether anything was dispatched (not
/// when the work order was already theirs).
pub async fn assign(
    store: &Store,
    tenant: Uuid,
    id: Uuid,
    technician: Uuid,
) -> Result<(DeviceId, bool), WorkOrdersError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let previous = lock(&tx, tenant, id).await?;
    let device = tx
        .query_opt(
            "SELECT location_id, role, revoked_at_ms FROM devices
              WHERE tenant_id = $1 AND device_id = $2",
            &[&tenant, &technician],
        )
        .await?
        .ok_or(WorkOrdersError::NoDevice(technician))?;
    let role: &str = device.get(1);
    if role != "technician" {
        return Err(WorkOrdersError::NotTechnician { device: technician, role: role.to_owned() });
    }
    if device.get::<_, Option<i64>>(2).is_some() {
        return Err(WorkOrdersError::Revoked(technician));
    }
    let location_id: Uuid = device.get(0);
    let device_id = DeviceId::from_bytes(*technician.as_bytes());
    if previous == Some(device_id) {
        tx.commit().await?;
        return Ok((device_id, false));
    }
    let order = load(&tx, tenant, id).await?;
    let dispatched = |changes| {
        DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
            work_order_id: WorkOrderId(id),
            location_id: LocationId(location_id),
            technician: device_id,
            changes,
        })
    };
    append(store, &tx, tenant, dispatch_log(tenant, device_id), vec![dispatched(order.snapshot())])
        .await?;
    if let Some(old) = previous {
        // The previous technician learns that the job moved on, and gets nothing more of it.
        append(store, &tx, tenant, dispatch_log(tenant, old), vec![dispatched(Vec::new())]).await?;
    }
    tx.execute(
        "UPDATE work_orders SET technician = $3, location_id = $4
          WHERE tenant_id = $1 AND work_order_id = $2",
        &[&tenant, &id, &technician, &location_id],
    )
    .await?;
    commit(store, tx, tenant).await?;
    tracing::info!(%tenant, work_order = %id, technician = %device_id, "work order dispatched");
    Ok((device_id, true))
}

/// A dispatcher's edit of work order `id`.
pub async fn edit(
    store: &Store,
    tenant: Uuid,
    id: Uuid,
    edit: &WorkOrderEdit,
) -> Result<(), WorkOrdersError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let technician = lock(&tx, tenant, id).await?;
    let order = load(&tx, tenant, id).await?;
    // The log that carries the change is also its author, so the fold accepts it: the
    // assigned technician's dispatch log (which is how the edit reaches them) or the desk.
    let author = technician.map_or_else(|| desk_log(tenant), |t| dispatch_log(tenant, t));
    let change = order.edit(edit, author, store.now_i64())?;
    let changed =
        DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WorkOrderId(id), change });
    append(store, &tx, tenant, author, vec![changed]).await?;
    commit(store, tx, tenant).await
}

/// A work order's summary row, as the console lists it.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// The work order.
    pub work_order_id: Uuid,
    /// Its location, once assigned.
    pub location_id: Option<Uuid>,
    /// Its technician device, once assigned.
    pub technician: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Customer.
    pub customer: String,
    /// Site address.
    pub site_address: String,
    /// Status.
    pub status: String,
    /// Scheduled window start.
    pub window_start_ms: i64,
    /// Scheduled window end.
    pub window_end_ms: i64,
    /// Currency code.
    pub currency: String,
    /// Parts total, minor units.
    pub parts_total: i64,
    /// Labour total, minor units.
    pub labour_total: i64,
    /// Total, minor units.
    pub total: i64,
    /// Notes.
    pub notes: i32,
    /// Checklist items done.
    pub checklist_done: i32,
    /// Checklist items.
    pub checklist_items: i32,
    /// Whether the customer signed.
    pub signed: bool,
    /// When it was created.
    pub created_at_ms: i64,
}

/// The tenant's work orders, newest first, at most [`MAX_LIST`].
pub async fn list(store: &Store, tenant: Uuid) -> Result<Vec<Summary>, WorkOrdersError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT work_order_id, location_id, technician, title, customer, site_address, status,
                    window_start_ms, window_end_ms, currency, parts_total, labour_total, total,
                    notes, checklist_done, checklist_items, signed, created_at_ms
               FROM work_orders WHERE tenant_id = $1
              ORDER BY created_at_ms DESC, work_order_id DESC LIMIT $2",
            &[&tenant, &MAX_LIST],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| Summary {
            work_order_id: r.get(0),
            location_id: r.get(1),
            technician: r.get(2),
            title: r.get(3),
            customer: r.get(4),
            site_address: r.get(5),
            status: r.get(6),
            window_start_ms: r.get(7),
            window_end_ms: r.get(8),
            currency: r.get(9),
            parts_total: r.get(10),
            labour_total: r.get(11),
            total: r.get(12),
            notes: r.get(13),
            checklist_done: r.get(14),
            checklist_items: r.get(15),
            signed: r.get(16),
            created_at_ms: r.get(17),
        })
        .collect())
}

/// Work order `id` as the domain shows it.
pub async fn get(store: &Store, tenant: Uuid, id: Uuid) -> Result<WorkOrderView, WorkOrdersError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let exists = tx
        .query_opt(
            "SELECT 1 FROM work_orders WHERE tenant_id = $1 AND work_order_id = $2",
            &[&tenant, &id],
        )
        .await?
        .is_some();
    if !exists {
        return Err(WorkOrdersError::NoWorkOrder(id));
    }
    let order = load(&tx, tenant, id).await?;
    tx.commit().await?;
    Ok(order.view().ok_or_else(|| Fault::Corrupt(format!("work order {id} has no document")))?)
}
