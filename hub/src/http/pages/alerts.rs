//! Alerts and the fleet's health: what the hub raised (forks, quarantined facts, devices
//! over quota, revoked devices still syncing, console passwords used with wrong two-step
//! codes), each acknowledged by a manager once seen,
//! and the devices that have been silent too long.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use thorbis_web::respond::see_other;
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, ago, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::alerts::{self, Alert};
use crate::http::{AppState, Error};
use crate::tenants;

/// Alerts the page lists at most.
const SHOWN: i64 = 200;
/// A device not heard from for this long is listed as silent.
pub(super) const SILENT_AFTER_MS: i64 = 60 * 60 * 1000;

/// What an alert means, in words.
fn describe(a: &Alert) -> String {
    let seq = a.seq.map_or(String::new(), |s| format!(" (event {s})"));
    match a.kind.as_str() {
        "fork" => format!("Two different events were signed with the same number{seq}: the device's log forked. Its key may be copied; revoke it and enroll it again."),
        "quarantine" => {
            let reason = a.detail.get("reason").and_then(|r| r.as_str()).unwrap_or("refused");
            format!("A fact was stored but not counted{seq}: {reason}.")
        }
        "quota" => "The device went over its storage quota: its new events are refused until a manager looks into it.".into(),
        "revoked_device" => "A revoked device tried to sync (its requests are refused).".into(),
        "second_factor" => {
            let email = a.detail.get("email").and_then(|e| e.as_str()).unwrap_or("a console user");
            format!("{email} gave the right password and wrong two-step codes many times in a row: the account is locked for an hour. Someone else may know the password: reset it.")
        }
        other => format!("{other}{seq}"),
    }
}

fn device_label(id: Option<Uuid>) -> Markup {
    html! { @match id { Some(d) => code { (d.simple().to_string().get(..8).unwrap_or_default()) }, None => "—" } }
}

/// `GET /console/alerts`.
pub(in crate::http) async fn page(State(state): State<AppState>, user: PageUser) -> PageResult {
    let list = alerts::list(state.store(), user.tenant_id, SHOWN).await?;
    let devices = tenants::devices(state.store(), user.tenant_id).await?;
    let now = state.store().now_i64();
    let silent: Vec<_> = devices
        .iter()
        .filter(|d| d.revoked_at_ms.is_none() && d.last_seen_at_ms < now - SILENT_AFTER_MS)
        .collect();
    let manager = user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { "Alerts" }
        table.list #alerts {
            thead { tr { th { "When" } th { "Device" } th { "What happened" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for a in &list {
                    tr.alert data-alert=(a.alert_id) data-kind=(a.kind) .muted[a.acknowledged_at_ms.is_some()] {
                        td { (ago(a.created_at_ms, now)) }
                        td { (device_label(a.device_id)) }
                        td { (describe(a)) }
                        td {
                            @if let Some(at) = a.acknowledged_at_ms { "Acknowledged " (ago(at, now)) }
                            @else if manager {
                                form.inline method="post" action=(format!("/console/alerts/{}/acknowledge", a.alert_id)) {
                                    (csrf(&user))
                                    button.btn type="submit" aria-label=(format!("Acknowledge alert {}", a.alert_id)) { "Acknowledge" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if list.is_empty() { p.muted { "No alerts." } }
        h2 { "Silent devices" }
        p.muted { "Devices not heard from for over an hour: check their network and power." }
        ul.lines #silent {
            @for d in &silent { li.line { span { (device_label(Some(d.device_id))) " · " (d.role) } span.muted { "last seen " (ago(d.last_seen_at_ms, now)) } } }
        }
        @if silent.is_empty() { p { "Every device was heard from within the hour." } }
    };
    Ok(with_status(StatusCode::OK, shell(&user, "Alerts", "console-alerts", body)))
}

/// `POST /console/alerts/{id}/acknowledge`.
pub(in crate::http) async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, .. } = form;
    user.require(ConsoleRole::Manager)?;
    let alert = path_id(&id, "alert")?;
    if !alerts::acknowledge(state.store(), user.tenant_id, alert, user.user_id).await? {
        return Err(Error::NotFound(format!("no open alert {alert}")).into());
    }
    Ok(see_other("/console/alerts"))
}
