//! The console's read endpoints for scripts: reports, catalog, orders and locations, as
//! JSON, with a console session or an API token (`Authorization: Bearer thb_...`; a `read`
//! token is enough). Ranges are a location's local days, as on the reports page.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use thorbis_domain::catalog::{Category, Item, ModifierGroup};

use super::console::ConsoleUser;
use super::pages::reports::{Filter, range};
use super::{AppState, Error, Result};
use crate::accounts::ConsoleRole;
use crate::reports::{self, Section};
use crate::{catalog, locations};

/// Orders one call lists at most.
const MAX_ORDERS: i64 = 1_000;

/// `GET /api/v1/console/reports/{section}`: `summary`, `hours`, `days`, `items` or
/// `tenders`.
pub(super) async fn report(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(section): Path<String>,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    let section = Section::parse(&section)
        .ok_or_else(|| Error::NotFound(format!("no report {section:?}")))?;
    let places = reports::report_locations(state.store(), user.tenant_id).await?;
    let (range, place) = range(&filter, &places).map_err(Error::BadRequest)?;
    let r = reports::report(state.store(), user.tenant_id, &range, &[section]).await?;
    let rows = match section {
        Section::Summary => json!(r.summary),
        Section::Hours => json!(r.by_hour),
        Section::Days => json!(r.by_day),
        Section::Items => json!(r.by_item),
        Section::Tenders => json!(r.by_tender),
        Section::Exceptions => json!(r.exceptions),
        Section::Drawers => json!(r.drawers),
        Section::Quarantined => json!(r.quarantined),
        Section::Stock => json!(r.stock),
        Section::Staff => json!(r.by_staff),
    };
    Ok(Json(json!({
        "location_id": range.location,
        "from": range.from,
        "to": range.to,
        "time_zone": place.time_zone,
        "currency": place.currency.map(|c| json!({ "code": c.code(), "exponent": c.exponent })),
        "rows": rows,
    })))
}

/// `GET /api/v1/console/orders`: closed orders of a range, latest first.
pub(super) async fn orders(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(filter): Query<Filter>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    let places = reports::report_locations(state.store(), user.tenant_id).await?;
    let (range, _) = range(&filter, &places).map_err(Error::BadRequest)?;
    let orders = reports::orders(state.store(), user.tenant_id, &range, MAX_ORDERS).await?;
    Ok(Json(json!({ "orders": orders, "limit": MAX_ORDERS })))
}

/// `GET /api/v1/console/catalog`.
pub(super) async fn catalog(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    let store = state.store();
    let items: Vec<Item> = catalog::records(store, user.tenant_id).await?;
    let categories: Vec<Category> = catalog::records(store, user.tenant_id).await?;
    let groups: Vec<ModifierGroup> = catalog::records(store, user.tenant_id).await?;
    Ok(Json(json!({ "items": items, "categories": categories, "modifier_groups": groups })))
}

/// `GET /api/v1/console/locations`.
pub(super) async fn locations(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    let all = locations::locations(state.store(), user.tenant_id).await?;
    let rows: Vec<Value> = all
        .iter()
        .map(|l| {
            json!({
                "location_id": l.location_id,
                "name": l.settings.name,
                "address": l.settings.address,
                "time_zone": l.settings.time_zone,
                "currency": l.settings.currency.map(|c| c.code().to_owned()),
                "default_tax_bps": l.settings.default_tax_bps,
            })
        })
        .collect();
    Ok(Json(json!({ "locations": rows })))
}
