//! Devices: every terminal with its location, role and when it was last heard from; new
//! enrollment codes (as text and as a QR code); revocation.

use axum::extract::{Path, Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use thorbis_web::components::{Message, message};
use thorbis_web::respond::{Href, see_other};
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, ago, csrf, path_id, qr, shell};
use crate::accounts::ConsoleRole;
use crate::http::AppState;
use crate::identity::Role;
use crate::locations;
use crate::reports::ONLINE_WITHIN_MS;
use crate::tenants::{self, CodeIssued};

#[derive(serde::Deserialize)]
pub(in crate::http) struct Notice {
    revoked: Option<Uuid>,
    configured: Option<Uuid>,
}

fn role_label(role: &str) -> &str {
    match role {
        "pos" => "POS",
        "kds" => "Kitchen display",
        "register" => "Register",
        "technician" => "Technician",
        other => other,
    }
}

/// The devices page; `issued` is a code just created, shown once.
async fn devices_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    msg: Option<&Message>,
    issued: Option<(&CodeIssued, Uuid, Role, &str)>,
) -> PageResult {
    let devices = tenants::devices(state.store(), user.tenant_id).await?;
    let places = locations::locations(state.store(), user.tenant_id).await?;
    let place = |id: Uuid| {
        places.iter().find(|l| l.location_id == id).map_or("?", |l| l.settings.name.as_str())
    };
    let now = state.store().now_i64();
    let manager = user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { "Devices" }
        (message(msg))
        @if let Some((code, location, role, hub)) = issued { (issued_code(code, place(location), role, hub, now)) }
        table.list #devices {
            thead { tr { th { "Device" } th { "Role" } th { "Location" } th { "State" }
                th { "Last seen" } th { "Events held" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for d in &devices {
                    @let online = d.last_seen_at_ms >= now - ONLINE_WITHIN_MS;
                    tr data-device=(d.device_id) {
                        td { code { (d.device_id.simple().to_string().get(..8).unwrap_or_default()) } }
                        td { (role_label(&d.role)) }
                        td { (place(d.location_id)) }
                        td.state {
                            @if d.revoked_at_ms.is_some() { span.problem { "revoked" } }
                            @else if online { span.ind.on { "online" } }
                            @else { span.ind.off { "offline" } }
                        }
                        td { (ago(d.last_seen_at_ms, now)) }
                        td { (d.seq.unwrap_or(0)) }
                        td {
                            @if d.revoked_at_ms.is_none() {
                                a.btn href=(format!("/console/devices/{}", d.device_id)) aria-label=(format!("Configure device {}", d.device_id)) { "Configure" }
                            }
                            a.btn href=(format!("/console/devices/{}/audit", d.device_id)) aria-label=(format!("Audit device {}", d.device_id)) { "Audit" }
                            @if manager && d.revoked_at_ms.is_none() {
                                form.inline method="post" action=(format!("/console/devices/{}/revoke", d.device_id)) {
                                    (csrf(user))
                                    button.btn type="submit" aria-label=(format!("Revoke device {}", d.device_id)) { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if devices.is_empty() { p.muted { "No device is enrolled yet." } }
        p { a href=(format!("/console/devices/{}/audit", user.tenant_id)) id="audit-reference" { "Audit the catalog and device records the hub publishes" } }
        @if manager && !places.is_empty() {
            h2 { "Add a device" }
            p.muted { "Create a one-time code, then enter it on the new terminal (or scan it)." }
            form.row method="post" action="/console/devices/codes" {
                (csrf(user))
                label { "Location"
                    select name="location_id" id="code-location" {
                        @for l in &places { option value=(l.location_id) { (l.settings.name) } }
                    }
                }
                label { "Role"
                    select name="role" id="code-role" {
                        @for r in Role::ALL { option value=(r.as_str()) { (role_label(r.as_str())) } }
                    }
                }
                button.btn.primary type="submit" id="create-code" { "Create code" }
            }
        }
    };
    let page = shell(user, "Devices", "console-devices", body);
    // A page with a one-time code is not kept by the browser's cache.
    Ok((status, [(CACHE_CONTROL, "no-store")], page).into_response())
}

fn issued_code(code: &CodeIssued, location: &str, role: Role, hub: &str, now_ms: i64) -> Markup {
    let minutes = (i64::try_from(code.expires_at_ms).unwrap_or(i64::MAX) - now_ms) / 60_000;
    html! {
        section.panel.issued #issued-code {
            h2 { "Enrollment code for a " (role_label(role.as_str())) " at " (location) }
            p.big { code #enrollment-code { (code.code) } }
            @if let Some(svg) = qr::svg(&code.code, "The enrollment code as a QR code") { (svg) }
            p.muted { "Shown once. It works for one device, for " (minutes) " minutes. On the terminal: "
                code { "thorbis-agent enroll --hub " (hub) " --code " (code.code) } }
        }
    }
}

/// `GET /console/devices`.
pub(in crate::http) async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let msg = match (notice.revoked, notice.configured) {
        (Some(id), _) => {
            Some(Message::Info(format!("Device {id} is revoked: the hub refuses it from now on.")))
        }
        (None, Some(id)) => Some(Message::Info(format!(
            "Device {id}'s configuration is saved: the terminal applies it when it next syncs."
        ))),
        (None, None) => None,
    };
    devices_page(&state, &user, StatusCode::OK, msg.as_ref(), None).await
}

/// `POST /console/devices/codes`: a new enrollment code, shown on the devices page.
pub(in crate::http) async fn create_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let (Ok(location), Some(role)) =
        (fields.get("location_id").parse::<Uuid>(), Role::parse(fields.get("role")))
    else {
        let msg = Message::Error("Choose a location and a role for the new device".into());
        return devices_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, Some(&msg), None)
            .await;
    };
    let ttl = state.limits().enrollment_code_ttl_ms;
    let code =
        tenants::create_enrollment_code(state.store(), user.tenant_id, location, role, ttl).await?;
    // The hub as this browser reaches it, for the command to type on the terminal.
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("HUB-ADDRESS");
    let hub = format!("{}://{host}", if state.0.secure_cookies { "https" } else { "http" });
    devices_page(&state, &user, StatusCode::OK, None, Some((&code, location, role, &hub))).await
}

/// `POST /console/devices/{id}/revoke`.
pub(in crate::http) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, .. } = form;
    user.require(ConsoleRole::Manager)?;
    let device = path_id(&id, "device")?;
    tenants::revoke_device(state.store(), user.tenant_id, device).await?;
    tracing::warn!(tenant_id = %user.tenant_id, device_id = %device, by = %user.user_id, "device revoked from the console");
    Ok(see_other(&Href::new("/console/devices").param("revoked", device).into_string()))
}
