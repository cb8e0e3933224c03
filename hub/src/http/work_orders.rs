//! Work orders in the console and the admin API: create, assign (dispatch) and edit a work
//! order, list and read them. How they reach technicians is [`crate::dispatch`]'s: every
//! write here appends hub-signed events to the tenant's desk log or a technician's
//! dispatch log and folds them like any other events, so the `aggregates` row (the merged
//! Automerge change set) and the `work_orders` summary row move together.
//!
//! * `POST /api/v1/console/work-orders` (manager), `POST /api/v1/admin/tenants/{tenant_id}/work-orders`:
//!   `{title, customer, site_address, window_start_ms, window_end_ms, currency, checklist: [label]}`
//!   → `{work_order_id}`.
//! * `POST /api/v1/console/work-orders/{id}/assign` (manager), and its admin twin:
//!   `{technician: <device id>}` → `{work_order_id, technician, dispatched}`. The device must
//!   be an unrevoked technician of the tenant. The new technician's dispatch log gets the
//!   full document; the previous one's gets only the news that the job moved on.
//! * `POST /api/v1/console/work-orders/{id}/edit` (manager): a `WorkOrderEdit` as JSON
//!   (`{"edit": "add_note", "text": "..."}`), written by the dispatch log of the assigned
//!   technician (so it reaches them) or by the desk log.
//! * `GET /api/v1/console/work-orders` (viewer): the summary rows;
//!   `GET /api/v1/console/work-orders/{id}` (viewer): the full `WorkOrderView`.
//!
//! Every operation takes the tenant from the session (or the admin URL) and runs under its
//! RLS, so another tenant's work order or device is simply not found.

use axum::Json;
use axum::extract::{Path, State};
use deadpool_postgres::Transaction;
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::events::{WorkOrderChanged, WorkOrderDispatched};
use thorbis_domain::ids::{ChecklistItemId, LocationId, WorkOrderId};
use thorbis_domain::work_order::{
    ChecklistDraft, ScheduledWindow, WorkOrder, WorkOrderDraft, WorkOrderEdit, WorkOrderError,
    create,
};
use thorbis_domain::{Currency, DomainEvent};
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

use super::admin::{Admin, parse_uuid};
use super::console::{ConsoleRole, ConsoleUser};
use super::reference::append_to;
use super::{AppState, Error, JsonBody, Result};
use crate::db::tenant_tx;
use crate::dispatch::{desk_log, dispatch_log};

/// Most checklist items a new work order may carry.
const MAX_CHECKLIST: usize = 100;
/// Most work orders one list answer holds (newest first).
const MAX_LIST: i64 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWorkOrder {
    title: String,
    customer: String,
    site_address: String,
    window_start_ms: i64,
    window_end_ms: i64,
    currency: String,
    #[serde(default)]
    checklist: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Assign {
    technician: Uuid,
}

fn currency(code: &str) -> Result<Currency> {
    [Currency::USD, Currency::EUR, Currency::GBP, Currency::JPY]
        .into_iter()
        .find(|c| c.code() == code)
        .ok_or_else(|| {
            Error::BadRequest(format!("currency must be USD, EUR, GBP or JPY, not {code:?}"))
        })
}

/// The domain's refusal as an HTTP error.
fn refused(e: WorkOrderError) -> Error {
    match e {
        WorkOrderError::InvalidText(_) | WorkOrderError::InvalidValue { .. } => {
            Error::BadRequest(e.to_string())
        }
        WorkOrderError::UnknownChecklistItem(_) => Error::NotFound(e.to_string()),
        WorkOrderError::ChecklistItemExists(_) | WorkOrderError::Cancelled => {
            Error::Conflict(e.to_string())
        }
        WorkOrderError::Incomplete | WorkOrderError::Document(_) => Error::Internal(e.into()),
    }
}

fn now_i64(state: &AppState) -> i64 {
    state.now_ms() as i64
}

/// Appends `events` to the hub-signed log `log` of `tenant` and folds them, inside `tx`.
/// The caller holds the lock that orders writes to the work order (its `work_orders` row).
async fn append(
    state: &AppState,
    tx: &Transaction<'_>,
    tenant: Uuid,
    log: DeviceId,
    events: Vec<DomainEvent>,
) -> Result<()> {
    append_to(state, tx, tenant, log, events).await.map(|_| ())
}

/// The work order's row, locked for this transaction: its assigned technician, if any.
async fn lock(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<Option<DeviceId>> {
    let row = tx
        .query_opt(
            "SELECT technician FROM work_orders WHERE tenant_id = $1 AND work_order_id = $2
                FOR UPDATE",
            &[&tenant, &id],
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("no work order {id}")))?;
    Ok(row.get::<_, Option<Uuid>>(0).map(|t| DeviceId::from_bytes(*t.as_bytes())))
}

/// The folded work order (every change the hub holds).
async fn load(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<WorkOrder> {
    let row = tx
        .query_opt(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 AND id = $3",
            &[&tenant, &<WorkOrder as thorbis_domain::Aggregate>::KIND, &id],
        )
        .await?;
    match row {
        Some(row) => serde_json::from_value(row.get(0)).map_err(|e| Error::Internal(e.into())),
        None => Ok(WorkOrder::default()),
    }
}

async fn commit(state: &AppState, tx: Transaction<'_>, tenant: Uuid) -> Result<()> {
    tx.commit().await?;
    state.0.notifier.notify(tenant);
    Ok(())
}

/// Creates a work order in `tenant` (admin and console).
pub(super) async fn create_in(
    state: &AppState,
    tenant: Uuid,
    req: NewWorkOrder,
) -> Result<Json<Value>> {
    if req.checklist.len() > MAX_CHECKLIST {
        return Err(Error::BadRequest(format!("at most {MAX_CHECKLIST} checklist items")));
    }
    let draft = WorkOrderDraft {
        title: req.title,
        customer: req.customer,
        site_address: req.site_address,
        window: ScheduledWindow { start_ms: req.window_start_ms, end_ms: req.window_end_ms },
        currency: currency(&req.currency)?,
        checklist: req
            .checklist
            .into_iter()
            .map(|label| ChecklistDraft { id: ChecklistItemId(Uuid::now_v7()), label })
            .collect(),
    };
    let work_order_id = WorkOrderId(Uuid::now_v7());
    let first = create(&draft, desk_log(tenant), now_i64(state)).map_err(refused)?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    if tx.query_opt("SELECT 1 FROM tenants WHERE tenant_id = $1", &[&tenant]).await?.is_none() {
        return Err(Error::NotFound(format!("no tenant {tenant}")));
    }
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
            &now_i64(state),
        ],
    )
    .await?;
    let changed = DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id, change: first });
    append(state, &tx, tenant, desk_log(tenant), vec![changed]).await?;
    commit(state, tx, tenant).await?;
    tracing::info!(%tenant, work_order = %work_order_id, "work order created");
    Ok(Json(json!({ "work_order_id": work_order_id })))
}

/// Assigns (or reassigns) a work order to a technician device (admin and console).
pub(super) async fn assign_in(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    req: Assign,
) -> Result<Json<Value>> {
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let previous = lock(&tx, tenant, id).await?;
    let device = tx
        .query_opt(
            "SELECT location_id, role, revoked_at_ms FROM devices
              WHERE tenant_id = $1 AND device_id = $2",
            &[&tenant, &req.technician],
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {} in this tenant", req.technician)))?;
    if device.get::<_, &str>(1) != "technician" {
        return Err(Error::Unprocessable(format!(
            "device {} is a {} device; work orders go to technician devices",
            req.technician,
            device.get::<_, &str>(1)
        )));
    }
    if device.get::<_, Option<i64>>(2).is_some() {
        return Err(Error::Conflict(format!("device {} has been revoked", req.technician)));
    }
    let location_id: Uuid = device.get(0);
    let technician = DeviceId::from_bytes(*req.technician.as_bytes());
    if previous == Some(technician) {
        tx.commit().await?;
        return Ok(Json(
            json!({ "work_order_id": id, "technician": technician, "dispatched": false }),
        ));
    }
    let order = load(&tx, tenant, id).await?;
    let dispatched = |changes| {
        DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
            work_order_id: WorkOrderId(id),
            location_id: LocationId(location_id),
            technician,
            changes,
        })
    };
    append(
        state,
        &tx,
        tenant,
        dispatch_log(tenant, technician),
        vec![dispatched(order.snapshot())],
    )
    .await?;
    if let Some(old) = previous {
        // The previous technician learns that the job moved on, and gets nothing more of it.
        append(state, &tx, tenant, dispatch_log(tenant, old), vec![dispatched(Vec::new())]).await?;
    }
    tx.execute(
        "UPDATE work_orders SET technician = $3, location_id = $4
          WHERE tenant_id = $1 AND work_order_id = $2",
        &[&tenant, &id, &req.technician, &location_id],
    )
    .await?;
    commit(state, tx, tenant).await?;
    tracing::info!(%tenant, work_order = %id, %technician, "work order dispatched");
    Ok(Json(json!({ "work_order_id": id, "technician": technician, "dispatched": true })))
}

/// A dispatcher's edit of a work order (console).
async fn edit_in(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    edit: &WorkOrderEdit,
) -> Result<Json<Value>> {
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let technician = lock(&tx, tenant, id).await?;
    let order = load(&tx, tenant, id).await?;
    // The log that carries the change is also its author, so the fold accepts it: the
    // assigned technician's dispatch log (which is how the edit reaches them) or the desk.
    let author = technician.map_or_else(|| desk_log(tenant), |t| dispatch_log(tenant, t));
    let change = order.edit(edit, author, now_i64(state)).map_err(refused)?;
    let changed =
        DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WorkOrderId(id), change });
    append(state, &tx, tenant, author, vec![changed]).await?;
    commit(state, tx, tenant).await?;
    Ok(Json(json!({ "work_order_id": id })))
}

async fn list_in(state: &AppState, tenant: Uuid) -> Result<Json<Value>> {
    let mut client = state.0.pool.get().await?;
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
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "work_order_id": r.get::<_, Uuid>(0),
                "location_id": r.get::<_, Option<Uuid>>(1),
                "technician": r.get::<_, Option<Uuid>>(2),
                "title": r.get::<_, &str>(3),
                "customer": r.get::<_, &str>(4),
                "site_address": r.get::<_, &str>(5),
                "status": r.get::<_, &str>(6),
                "window_start_ms": r.get::<_, i64>(7),
                "window_end_ms": r.get::<_, i64>(8),
                "currency": r.get::<_, &str>(9),
                "parts_total": r.get::<_, i64>(10),
                "labour_total": r.get::<_, i64>(11),
                "total": r.get::<_, i64>(12),
                "notes": r.get::<_, i32>(13),
                "checklist_done": r.get::<_, i32>(14),
                "checklist_items": r.get::<_, i32>(15),
                "signed": r.get::<_, bool>(16),
                "created_at_ms": r.get::<_, i64>(17),
            })
        })
        .collect();
    Ok(Json(json!({ "work_orders": list })))
}

async fn get_in(state: &AppState, tenant: Uuid, id: Uuid) -> Result<Json<Value>> {
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let exists = tx
        .query_opt(
            "SELECT 1 FROM work_orders WHERE tenant_id = $1 AND work_order_id = $2",
            &[&tenant, &id],
        )
        .await?
        .is_some();
    if !exists {
        return Err(Error::NotFound(format!("no work order {id}")));
    }
    let order = load(&tx, tenant, id).await?;
    tx.commit().await?;
    let view = order
        .view()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("work order {id} has no document")))?;
    let mut body = serde_json::to_value(view).map_err(|e| Error::Internal(e.into()))?;
    body["work_order_id"] = json!(id);
    Ok(Json(body))
}

pub(super) async fn admin_create(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<NewWorkOrder>,
) -> Result<Json<Value>> {
    create_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

pub(super) async fn admin_assign(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<Assign>,
) -> Result<Json<Value>> {
    let tenant = parse_uuid("tenant id", &tenant_id)?;
    assign_in(&state, tenant, parse_uuid("work order id", &id)?, req).await
}

pub(super) async fn console_create(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<NewWorkOrder>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    create_in(&state, user.tenant_id, req).await
}

pub(super) async fn console_assign(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<Assign>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    assign_in(&state, user.tenant_id, parse_uuid("work order id", &id)?, req).await
}

pub(super) async fn console_edit(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    JsonBody(edit): JsonBody<WorkOrderEdit>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    edit_in(&state, user.tenant_id, parse_uuid("work order id", &id)?, &edit).await
}

pub(super) async fn console_list(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    list_in(&state, user.tenant_id).await
}

pub(super) async fn console_get(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    get_in(&state, user.tenant_id, parse_uuid("work order id", &id)?).await
}

/// The work order paths of the `OpenAPI` document.
pub(super) fn openapi_paths() -> Value {
    let error = |why: &str| json!({ "description": why });
    let id = json!({ "name": "id", "in": "path", "required": true,
        "schema": { "type": "string", "format": "uuid" } });
    let tenant = json!({ "name": "tenant_id", "in": "path", "required": true,
        "schema": { "type": "string", "format": "uuid" } });
    let csrf = json!({ "name": "x-csrf-token", "in": "header", "required": true,
        "schema": { "type": "string" } });
    let session = json!([{ "consoleSession": [] }]);
    let admin = json!([{ "adminToken": [] }]);
    let new_work_order = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object",
        "required": ["title", "customer", "site_address", "window_start_ms", "window_end_ms", "currency"],
        "properties": {
            "title": { "type": "string" }, "customer": { "type": "string" },
            "site_address": { "type": "string" },
            "window_start_ms": { "type": "integer" }, "window_end_ms": { "type": "integer" },
            "currency": { "type": "string", "enum": ["USD", "EUR", "GBP", "JPY"] },
            "checklist": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_CHECKLIST } } } } } });
    let assign = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "required": ["technician"],
        "properties": { "technician": { "type": "string", "format": "uuid" } } } } } });
    let assigned = json!({
        "200": { "description": "`{work_order_id, technician, dispatched}`: the full document went to the technician's dispatch log (`dispatched: false` when it was already theirs)." },
        "404": error("No such work order or device in the tenant."),
        "409": error("The device is revoked."),
        "422": error("The device is not a technician.") });
    json!({
        "/api/v1/admin/tenants/{tenant_id}/work-orders": { "post": {
            "summary": "Create a work order (its first Automerge change, written by the tenant's desk log).",
            "security": admin, "parameters": [tenant], "requestBody": new_work_order,
            "responses": { "200": { "description": "`{work_order_id}`" }, "400": error("Empty text, bad window or currency.") } } },
        "/api/v1/admin/tenants/{tenant_id}/work-orders/{id}/assign": { "post": {
            "summary": "Assign or reassign a work order to a technician device.",
            "security": admin, "parameters": [tenant, id], "requestBody": assign, "responses": assigned } },
        "/api/v1/console/work-orders": {
            "get": { "summary": "The tenant's work orders (summary rows, newest first).", "security": session,
                     "responses": { "200": { "description": "`{work_orders: [...]}`" }, "401": error("No valid session.") } },
            "post": { "summary": "Create a work order.", "security": session, "parameters": [csrf],
                      "requestBody": new_work_order,
                      "responses": { "200": { "description": "`{work_order_id}`" }, "400": error("Empty text, bad window or currency."),
                                     "403": error("Missing CSRF token, or not a manager.") } } },
        "/api/v1/console/work-orders/{id}": { "get": {
            "summary": "One work order's merged document (status, notes, checklist, parts, labour, signature, totals).",
            "security": session, "parameters": [id],
            "responses": { "200": { "description": "A `WorkOrderView` with `work_order_id`." }, "404": error("No such work order in the session's tenant.") } } },
        "/api/v1/console/work-orders/{id}/assign": { "post": {
            "summary": "Assign or reassign a work order to a technician device.", "security": session,
            "parameters": [csrf, id], "requestBody": assign, "responses": assigned } },
        "/api/v1/console/work-orders/{id}/edit": { "post": {
            "summary": "A dispatcher's edit (`{\"edit\": \"add_note\", \"text\": ...}`, `set_status`, `add_checklist_item`, `tick_checklist_item`, `add_part`, `add_labour`, `capture_signature`); reaches the assigned technician through its dispatch log.",
            "security": session, "parameters": [csrf, id],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["edit"] } } } },
            "responses": { "200": { "description": "`{work_order_id}`" }, "400": error("Invalid text or value."),
                           "404": error("No such work order or checklist item."), "409": error("The work order is cancelled, or the checklist item exists.") } } },
    })
}
