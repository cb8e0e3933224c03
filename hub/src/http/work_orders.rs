//! Work orders in the console and the admin API: create, assign (dispatch) and edit a work
//! order, list and read them, through [`crate::work_orders`]. How they reach technicians is
//! [`crate::dispatch`]'s: every write appends hub-signed events to the tenant's desk log or
//! a technician's dispatch log and folds them like any other events, so the `aggregates`
//! row (the merged Automerge change set) and the `work_orders` summary row move together.
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
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::Currency;
use thorbis_domain::ids::ChecklistItemId;
use thorbis_domain::vin::Vin;
use thorbis_domain::work_order::{
    ChecklistDraft, ScheduledWindow, VehicleDraft, WorkOrderDraft, WorkOrderEdit,
};
use uuid::Uuid;

use super::admin::{Admin, parse_uuid};
use super::console::{ConsoleRole, ConsoleUser};
use super::{AppState, Error, JsonBody, Result};
use crate::work_orders;

/// Most checklist items a new work order may carry.
const MAX_CHECKLIST: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWorkOrder {
    pub(super) title: String,
    pub(super) customer: String,
    pub(super) site_address: String,
    pub(super) window_start_ms: i64,
    pub(super) window_end_ms: i64,
    pub(super) currency: String,
    #[serde(default)]
    pub(super) checklist: Vec<String>,
    /// For a repair order.
    #[serde(default)]
    pub(super) vehicle: Option<NewVehicle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewVehicle {
    pub(super) vin: String,
    pub(super) year: u16,
    pub(super) make: String,
    pub(super) model: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Assign {
    technician: Uuid,
}

pub(super) fn currency(code: &str) -> Result<Currency> {
    [Currency::USD, Currency::EUR, Currency::GBP, Currency::JPY]
        .into_iter()
        .find(|c| c.code() == code)
        .ok_or_else(|| {
            Error::BadRequest(format!("currency must be USD, EUR, GBP or JPY, not {code:?}"))
        })
}

/// Creates a work order in `tenant` (admin and console).
pub(super) async fn create_in(
    state: &AppState,
    tenant: Uuid,
    req: NewWorkOrder,
) -> Result<Json<Value>> {
    let draft = draft_of(req)?;
    let work_order_id = work_orders::create(state.store(), tenant, &draft).await?;
    Ok(Json(json!({ "work_order_id": work_order_id })))
}

/// The draft a request describes, its checklist items given fresh ids.
pub(super) fn draft_of(req: NewWorkOrder) -> Result<WorkOrderDraft> {
    if req.checklist.len() > MAX_CHECKLIST {
        return Err(Error::BadRequest(format!("at most {MAX_CHECKLIST} checklist items")));
    }
    let vehicle = match req.vehicle {
        Some(v) => Some(VehicleDraft {
            vin: Vin::parse(&v.vin).map_err(|e| Error::BadRequest(e.to_string()))?,
            year: v.year,
            make: v.make,
            model: v.model,
        }),
        None => None,
    };
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
        vehicle,
    };
    Ok(draft)
}

/// Assigns (or reassigns) a work order to a technician device (admin and console).
pub(super) async fn assign_in(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    req: Assign,
) -> Result<Json<Value>> {
    let (technician, dispatched) =
        work_orders::assign(state.store(), tenant, id, req.technician).await?;
    Ok(Json(json!({ "work_order_id": id, "technician": technician, "dispatched": dispatched })))
}

/// A dispatcher's edit of a work order (console).
async fn edit_in(
    state: &AppState,
    tenant: Uuid,
    id: Uuid,
    edit: &WorkOrderEdit,
) -> Result<Json<Value>> {
    if matches!(
        edit,
        WorkOrderEdit::UsePart { .. }
            | WorkOrderEdit::StartTimer
            | WorkOrderEdit::StopTimer { .. }
            | WorkOrderEdit::DiscardTimer
            | WorkOrderEdit::IssueInvoice { .. }
    ) {
        return Err(Error::BadRequest(
            "parts from a technician's stock, labour timers and invoices are recorded on the \
             technician's laptop; record a part with add_part and labour with add_labour"
                .to_owned(),
        ));
    }
    work_orders::edit(state.store(), tenant, id, edit).await?;
    Ok(Json(json!({ "work_order_id": id })))
}

async fn list_in(state: &AppState, tenant: Uuid) -> Result<Json<Value>> {
    let list = work_orders::list(state.store(), tenant).await?;
    Ok(Json(json!({ "work_orders": list })))
}

async fn get_in(state: &AppState, tenant: Uuid, id: Uuid) -> Result<Json<Value>> {
    let view = work_orders::get(state.store(), tenant, id).await?;
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

pub(super) async fn admin_edit(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
    JsonBody(edit): JsonBody<WorkOrderEdit>,
) -> Result<Json<Value>> {
    let tenant = parse_uuid("tenant id", &tenant_id)?;
    edit_in(&state, tenant, parse_uuid("work order id", &id)?, &edit).await
}

pub(super) async fn admin_get(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let tenant = parse_uuid("tenant id", &tenant_id)?;
    get_in(&state, tenant, parse_uuid("work order id", &id)?).await
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
            "checklist": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_CHECKLIST },
            "vehicle": { "type": "object", "required": ["vin", "year", "make", "model"],
                "description": "For a repair order: the VIN is checked with its check digit.",
                "properties": { "vin": { "type": "string", "minLength": 17, "maxLength": 17 },
                    "year": { "type": "integer" }, "make": { "type": "string" }, "model": { "type": "string" } } } } } } } });
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
        "/api/v1/admin/tenants/{tenant_id}/work-orders/{id}": { "get": {
            "summary": "One work order's merged document (as the console's read).",
            "security": admin, "parameters": [tenant, id],
            "responses": { "200": { "description": "A `WorkOrderView` with `work_order_id`." }, "404": error("No such work order in the tenant.") } } },
        "/api/v1/admin/tenants/{tenant_id}/work-orders/{id}/edit": { "post": {
            "summary": "A dispatcher's edit, as the console's (`{\"edit\": \"add_note\", \"text\": ...}`).",
            "security": admin, "parameters": [tenant, id],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["edit"] } } } },
            "responses": { "200": { "description": "`{work_order_id}`" }, "400": error("Invalid text or value, or an edit only a technician's laptop records."),
                           "404": error("No such work order."), "409": error("The edit conflicts with the job's state (a status it cannot move to, a cancelled or invoiced job).") } } },
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
            "summary": "A dispatcher's edit (`{\"edit\": \"add_note\", \"text\": ...}`, `set_status`, `set_window`, `add_checklist_item`, `tick_checklist_item`, `add_part`, `add_labour`, `capture_signature`); reaches the assigned technician through its dispatch log.",
            "security": session, "parameters": [csrf, id],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["edit"] } } } },
            "responses": { "200": { "description": "`{work_order_id}`" }, "400": error("Invalid text or value."),
                           "404": error("No such work order or checklist item."), "409": error("The work order is cancelled, or the checklist item exists.") } } },
    })
}
