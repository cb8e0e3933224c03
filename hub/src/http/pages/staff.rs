//! Staff who sign in on the terminals: their role, where they work, their PIN (set or
//! reset here, hashed on the hub, never shown or stored in clear), and whether they may
//! sign in at all.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use thorbis_domain::catalog::{Role, Staff};
use thorbis_web::components::{Input, Message, labelled, message, submit_or_cancel};
use thorbis_web::form::Fields;
use thorbis_web::respond::see_other;
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::super::staff::{Pin, StaffRequest, save};
use super::{PageForm, PageResult, PageUser, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::catalog;
use crate::http::{AppState, Error};
use crate::locations::{self, Location};

const SCREEN: &str = "console-staff";
const ROLES: [(&str, &str); 5] = [
    ("cashier", "Cashier"),
    ("server", "Server"),
    ("kitchen", "Kitchen"),
    ("manager", "Manager"),
    ("owner", "Owner"),
];

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Cashier => "Cashier",
        Role::Server => "Server",
        Role::Kitchen => "Kitchen",
        Role::Manager => "Manager",
        Role::Owner => "Owner",
        Role::Technician => "Technician",
    }
}

fn role_value(role: Role) -> &'static str {
    ROLES.iter().find(|(_, label)| *label == role_name(role)).map_or("cashier", |(v, _)| v)
}

async fn everyone(state: &AppState, tenant: Uuid) -> Result<(Vec<Staff>, Vec<Location>), Error> {
    let mut staff: Vec<Staff> = catalog::records(state.store(), tenant).await?;
    staff.sort_by(|a, b| (!a.active, &a.name).cmp(&(!b.active, &b.name)));
    Ok((staff, locations::locations(state.store(), tenant).await?))
}

/// `GET /console/staff`.
pub(in crate::http) async fn list(State(state): State<AppState>, user: PageUser) -> PageResult {
    let (staff, places) = everyone(&state, user.tenant_id).await?;
    let works = |s: &Staff| -> String {
        if s.locations.is_empty() {
            return "Every location".into();
        }
        s.locations
            .iter()
            .map(|l| {
                places
                    .iter()
                    .find(|p| p.location_id == l.0)
                    .map_or("?", |p| p.settings.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let body = html! {
        h1 { "Staff" }
        @if user.can(ConsoleRole::Manager) { p { a.btn.primary href="/console/staff/new" id="new-staff" { "Add a member of staff" } } }
        table.list #staff {
            thead { tr { th { "Name" } th { "Role" } th { "Works at" } th { "Signs in" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for s in &staff {
                    tr data-staff=(s.id.0) {
                        td { (s.name) }
                        td { (role_name(s.role)) }
                        td { (works(s)) }
                        td { @if s.active { "Yes" } @else { span.problem { "Deactivated" } } }
                        td { a.btn href=(format!("/console/staff/{}", s.id.0)) aria-label=(format!("Edit {}", s.name)) { "Edit" } }
                    }
                }
            }
        }
        @if staff.is_empty() { p.muted { "Nobody yet: terminals have no one to sign in." } }
    };
    Ok(with_status(StatusCode::OK, shell(&user, "Staff", SCREEN, body)))
}

fn form(
    user: &PageUser,
    member: Option<&Staff>,
    places: &[Location],
    fields: &Fields,
    msg: Option<&Message>,
) -> Markup {
    let typed = |name: &str, stored: String| {
        if fields.is_empty() { stored } else { fields.get(name).to_owned() }
    };
    let name = typed("name", member.map(|m| m.name.clone()).unwrap_or_default());
    let role = typed("role", member.map_or("cashier", |m| role_value(m.role)).to_owned());
    let active = if fields.is_empty() {
        member.is_none_or(|m| m.active)
    } else {
        !fields.get("active").is_empty()
    };
    let chosen: Vec<String> = if fields.is_empty() {
        member.map(|m| m.locations.iter().map(|l| l.0.to_string()).collect()).unwrap_or_default()
    } else {
        fields.all("locations").into_iter().map(str::to_owned).collect()
    };
    let action = member
        .map_or_else(|| "/console/staff".to_owned(), |m| format!("/console/staff/{}", m.id.0));
    let read_only = !user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { @match member { Some(m) => { "Edit " (m.name) }, None => "Add a member of staff" } }
        (message(msg))
        form.stack.settings method="post" action=(action) {
            (csrf(user))
            (labelled("Name", Input::new("name").id("staff-name").value(&name).maxlength(200).disabled(read_only)))
            label { "Role"
                select name="role" id="staff-role" disabled[read_only] {
                    @for (value, label) in ROLES { option value=(value) selected[role == value] { (label) } }
                }
            }
            (labelled(if member.is_some() { "New PIN (4 to 8 digits; leave empty to keep the current one)" } else { "PIN (4 to 8 digits)" },
                Input::new("pin").id("staff-pin").pin().maxlength(8).disabled(read_only)))
            fieldset.group {
                legend { "Works at (none ticked: every location)" }
                @for p in places {
                    label.choice { input type="checkbox" name="locations" value=(p.location_id) checked[chosen.contains(&p.location_id.to_string())] disabled[read_only]; (p.settings.name) }
                }
            }
            label.choice { input type="checkbox" name="active" value="1" id="staff-active" checked[active] disabled[read_only]; "May sign in" }
            @if !read_only { (submit_or_cancel("save-staff", "Save and publish", "/console/staff")) }
        }
    };
    shell(user, "Staff", SCREEN, body)
}

/// `GET /console/staff/new`.
pub(in crate::http) async fn new(State(state): State<AppState>, user: PageUser) -> PageResult {
    let places = locations::locations(state.store(), user.tenant_id).await?;
    Ok(with_status(StatusCode::OK, form(&user, None, &places, &Fields::default(), None)))
}

/// `GET /console/staff/{id}`.
pub(in crate::http) async fn edit(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "member of staff")?;
    let (staff, places) = everyone(&state, user.tenant_id).await?;
    let member = staff
        .iter()
        .find(|s| s.id.0 == id)
        .ok_or_else(|| Error::NotFound(format!("no member of staff {id}")))?;
    Ok(with_status(StatusCode::OK, form(&user, Some(member), &places, &Fields::default(), None)))
}

async fn save_member(
    state: &AppState,
    user: PageUser,
    fields: Fields,
    id: Option<Uuid>,
) -> PageResult {
    user.require(ConsoleRole::Manager)?;
    let (staff, places) = everyone(state, user.tenant_id).await?;
    let member = match id {
        Some(id) => Some(
            staff
                .iter()
                .find(|s| s.id.0 == id)
                .ok_or_else(|| Error::NotFound(format!("no member of staff {id}")))?,
        ),
        None => None,
    };
    let mut locations = Vec::new();
    for l in fields.all("locations") {
        match l.parse::<Uuid>() {
            Ok(l) if places.iter().any(|p| p.location_id == l) => locations.push(l),
            _ => return Err(Error::BadRequest("choose locations from the list".into()).into()),
        }
    }
    let pin = fields.get("pin");
    let request = StaffRequest {
        staff_id: id,
        name: fields.get("name").to_owned(),
        role: fields.get("role").to_owned(),
        pin: (!pin.is_empty()).then(|| Pin(pin.to_owned())),
        active: !fields.get("active").is_empty(),
        locations: Some(locations),
    };
    match save(state, user.tenant_id, request).await {
        Ok(_) => {
            tracing::info!(tenant_id = %user.tenant_id, by = %user.user_id, "staff changed from the console");
            Ok(see_other("/console/staff"))
        }
        Err(Error::BadRequest(why)) => {
            // What was typed is kept, except the PIN.
            let mut kept = Fields(fields.0.into_iter().filter(|(n, _)| n != "pin").collect());
            kept.push("kept", "1");
            let page = form(&user, member, &places, &kept, Some(&Message::Error(why)));
            Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/staff`.
pub(in crate::http) async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    Box::pin(save_member(&state, form.user, form.fields, None)).await
}

/// `POST /console/staff/{id}`.
pub(in crate::http) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let id = path_id(&id, "member of staff")?;
    Box::pin(save_member(&state, form.user, form.fields, Some(id))).await
}
