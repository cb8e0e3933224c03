//! One device's configuration: its name, printers (each with a backup), the kitchen
//! stations it shows and where each station's tickets print, and its tables. Saving
//! publishes the whole configuration as a hub-signed `device.configured`; the terminal
//! applies it when it next syncs. The currency is the device's location's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use thorbis_domain::device::{DeviceConfig, PrinterAssignment, PrinterPurpose};
use thorbis_web::components::{Input, Message, labelled, message, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, see_other};
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::http::{AppState, Error};
use crate::locations;
use crate::tenants;

/// Blank printer rows the form offers beyond the configured ones.
const SPARE_PRINTER_ROWS: usize = 2;

fn lines(items: &[String]) -> String {
    items.join("\n")
}

/// The accessible names of a printer row's inputs (the table's headers name the columns).
struct RowLabels {
    name: String,
    address: String,
    station: String,
    backup: String,
}

fn printer_row(
    i: usize,
    p: Option<&PrinterAssignment>,
    fields: &Fields,
    read_only: bool,
) -> Markup {
    let typed = |name: &str, stored: Option<&str>| -> String {
        if fields.is_empty() {
            stored.unwrap_or_default().to_owned()
        } else {
            fields.get(&format!("{name}_{i}")).to_owned()
        }
    };
    let name = typed("printer", p.map(|p| p.name.as_str()));
    let address = typed("address", p.map(|p| p.address.as_str()));
    let station = typed("station", p.and_then(|p| p.station.as_deref()));
    let backup = typed("backup", p.and_then(|p| p.backup.as_deref()));
    let purpose = if fields.is_empty() {
        match p.map(|p| p.purpose) {
            Some(PrinterPurpose::Kitchen) => "kitchen".to_owned(),
            _ => "receipt".to_owned(),
        }
    } else {
        fields.get(&format!("purpose_{i}")).to_owned()
    };
    let n = i + 1;
    let labels = RowLabels {
        name: format!("Printer {n} name"),
        address: format!("Printer {n} address"),
        station: format!("Printer {n} station"),
        backup: format!("Printer {n} backup printer"),
    };
    html! {
        tr.printer {
            td { (Input::new(&format!("printer_{i}")).aria_label(&labels.name).value(&name).maxlength(200).disabled(read_only)
                .placeholder("Front counter")) }
            td { (Input::new(&format!("address_{i}")).aria_label(&labels.address).value(&address).maxlength(200).disabled(read_only)
                .placeholder("192.168.1.50:9100")) }
            td {
                select name=(format!("purpose_{i}")) aria-label=(format!("Printer {n} prints")) disabled[read_only] {
                    option value="receipt" selected[purpose == "receipt"] { "Receipts" }
                    option value="kitchen" selected[purpose == "kitchen"] { "Kitchen tickets" }
                }
            }
            td { (Input::new(&format!("station_{i}")).aria_label(&labels.station).value(&station).maxlength(40).disabled(read_only)
                .placeholder("grill")) }
            td { (Input::new(&format!("backup_{i}")).aria_label(&labels.backup).value(&backup).maxlength(200).disabled(read_only)) }
        }
    }
}

async fn config_page(
    state: &AppState,
    user: &PageUser,
    device: Uuid,
    status: StatusCode,
    fields: &Fields,
    msg: Option<&Message>,
) -> PageResult {
    let (_, config) = tenants::device_config(state.store(), user.tenant_id, device).await?;
    let config = config.unwrap_or_default();
    let read_only = !user.can(ConsoleRole::Manager);
    let typed = |name: &str, stored: String| {
        if fields.is_empty() { stored } else { fields.get(name).to_owned() }
    };
    let name = typed("name", config.name.clone());
    let tables = typed("tables", lines(&config.tables));
    let stations = typed("stations", config.stations.join(", "));
    let rows = config.printers.len() + SPARE_PRINTER_ROWS;
    let body = html! {
        h1 { "Configure " (if config.name.is_empty() { "device" } else { config.name.as_str() }) }
        p.muted { "Device " code { (device) } ". Saved settings reach the terminal when it next syncs; its currency is its location's." }
        (message(msg))
        form.stack.settings method="post" action=(format!("/console/devices/{device}")) {
            (csrf(user))
            (labelled("Name shown on the terminal", Input::new("name").id("device-name").value(&name).maxlength(200).disabled(read_only)))
            label { "Tables of its floor plan, one per line"
                textarea name="tables" id="tables" rows="4" disabled[read_only] { (tables) } }
            (labelled("Kitchen stations it shows (comma-separated; empty: all)",
                Input::new("stations").id("stations").value(&stations).maxlength(2000).disabled(read_only)))
            fieldset.group {
                legend { "Printers" }
                p.muted { "A kitchen printer prints its station's tickets. A backup takes over a printer's jobs when it fails." }
                table.list #printers {
                    thead { tr { th { "Name" } th { "Address" } th { "Prints" } th { "Station" } th { "Backup printer" } } }
                    tbody { @for i in 0..rows { (printer_row(i, config.printers.get(i), fields, read_only)) } }
                }
            }
            @if !read_only { (submit_or_cancel("save-device", "Save and send to the terminal", "/console/devices")) }
        }
    };
    Ok(with_status(status, shell(user, "Configure device", "console-devices", body)))
}

/// `GET /console/devices/{id}`.
pub(in crate::http) async fn edit(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let device = path_id(&id, "device")?;
    config_page(&state, &user, device, StatusCode::OK, &Fields::default(), None).await
}

/// The configuration a form asks for (the currency is added by the caller), or why it
/// cannot be.
fn parse(fields: &Fields) -> Result<DeviceConfig, String> {
    let name = form::text(fields.get("name"), "Name", 200)?;
    let tables = fields
        .get("tables")
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let stations = fields
        .get("stations")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let mut printers = Vec::new();
    for i in 0..64 {
        let field = |name: &str| fields.get(&format!("{name}_{i}")).to_owned();
        let (printer, address) = (field("printer"), field("address"));
        if fields.0.iter().all(|(n, _)| n != &format!("printer_{i}")) {
            break;
        }
        if printer.is_empty() && address.is_empty() {
            continue;
        }
        let purpose = match field("purpose").as_str() {
            "kitchen" => PrinterPurpose::Kitchen,
            _ => PrinterPurpose::Receipt,
        };
        let optional = |s: String| (!s.is_empty()).then_some(s);
        printers.push(PrinterAssignment {
            name: printer,
            address,
            purpose,
            station: optional(field("station")),
            profile: None,
            backup: optional(field("backup")),
        });
    }
    let config = DeviceConfig { name, printers, stations, tables, currency: None };
    match config.problem() {
        Some(problem) => Err(format!("Cannot save: {problem}")),
        None => Ok(config),
    }
}

/// `POST /console/devices/{id}`.
pub(in crate::http) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let device = path_id(&id, "device")?;
    let (location, old) = tenants::device_config(state.store(), user.tenant_id, device).await?;
    let mut config = match parse(&fields) {
        Ok(config) => config,
        Err(e) => {
            let msg = Message::Error(e);
            return config_page(
                &state,
                &user,
                device,
                StatusCode::UNPROCESSABLE_ENTITY,
                &fields,
                Some(&msg),
            )
            .await;
        }
    };
    // Driver profiles are not edited here: a printer keeps the one it had.
    for p in &mut config.printers {
        p.profile = old
            .as_ref()
            .and_then(|o| o.printers.iter().find(|q| q.name == p.name))
            .and_then(|q| q.profile.clone());
    }
    config.currency = locations::locations(state.store(), user.tenant_id)
        .await?
        .into_iter()
        .find(|l| l.location_id == location)
        .and_then(|l| l.settings.currency);
    tenants::configure_device(state.store(), user.tenant_id, device, config).await?;
    tracing::info!(tenant_id = %user.tenant_id, device_id = %device, by = %user.user_id, "device configured from the console");
    Ok(see_other(&Href::new("/console/devices").param("configured", device).into_string()))
}

/// `GET /console/devices/{id}/audit`: verifies the device's stored log as an auditor
/// would verify its export, and says what it found.
pub(in crate::http) async fn audit(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let device = path_id(&id, "device")?;
    let export = crate::audit::export(state.store(), user.tenant_id, device).await?;
    let verdict = thorbis_sync_protocol::export::audit(&export);
    let body = html! {
        h1 { "Audit of device " code { (device.simple().to_string().get(..8).unwrap_or_default()) } }
        @match &verdict {
            Ok(a) => section.panel.done #audit-ok {
                h2 { "The chain is intact" }
                p { (a.events) " events from seq 1 to " (a.tip.seq) ", each linked to the one before; "
                    (a.checkpoints) " signed checkpoints, each over the hash its event has; the tip is signed"
                    @if export.credential.is_some() { ", by the key the tenant's credential names" } @else { ", by the tenant key" } "." }
                p.muted { "Tip hash " code { (a.tip.hash) } }
            },
            Err(e) => section.panel #audit-broken {
                h2.problem { "The chain is broken" }
                p role="alert" { (e) }
            },
        }
        p.muted { "Tenant public key " code #tenant-key { (export.tenant_public_key) } ": an export verifies against it offline with "
            code { "thorbis-hub verify-export --tenant-key " (export.tenant_public_key) " FILE" } "." }
        @if user.can(ConsoleRole::Manager) {
            p { a.btn.primary href=(format!("/console/devices/{device}/export")) download id="download-export" { "Download the log export" } }
        }
    };
    Ok(with_status(StatusCode::OK, shell(&user, "Audit", "console-devices", body)))
}

/// `GET /console/devices/{id}/export`: the device's log as a self-contained JSON export.
pub(in crate::http) async fn export(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    use axum::response::IntoResponse as _;
    user.require(ConsoleRole::Manager)?;
    let device = path_id(&id, "device")?;
    let export = crate::audit::export(state.store(), user.tenant_id, device).await?;
    let json = serde_json::to_vec(&export).map_err(|e| Error::Internal(e.into()))?;
    tracing::info!(tenant_id = %user.tenant_id, device_id = %device, by = %user.user_id, "device log exported");
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"device-{device}.json\"")),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        json,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_parses_from_its_form() {
        let config = parse(&Fields::from_pairs(&[
            ("name", "Bar POS"),
            ("tables", "T1\n\n T2 \n"),
            ("stations", "grill, bar,"),
            ("printer_0", "Front"),
            ("address_0", "10.0.0.5:9100"),
            ("purpose_0", "receipt"),
            ("station_0", ""),
            ("backup_0", "Grill"),
            ("printer_1", "Grill"),
            ("address_1", "10.0.0.6:9100"),
            ("purpose_1", "kitchen"),
            ("station_1", "grill"),
            ("backup_1", ""),
            ("printer_2", ""),
            ("address_2", ""),
            ("purpose_2", "receipt"),
        ]))
        .unwrap();
        assert_eq!(config.tables, ["T1", "T2"]);
        assert_eq!(config.stations, ["grill", "bar"]);
        assert_eq!(config.printers.len(), 2);
        assert_eq!(config.printers[0].backup.as_deref(), Some("Grill"));
        assert_eq!(config.printers[1].station.as_deref(), Some("grill"));
        let refused = parse(&Fields::from_pairs(&[
            ("name", "Bar POS"),
            ("printer_0", "Grill"),
            ("address_0", "10.0.0.6:9100"),
            ("purpose_0", "kitchen"),
        ]))
        .unwrap_err();
        assert!(refused.contains("kitchen printer needs a station"), "{refused}");
        let no_backup = parse(&Fields::from_pairs(&[
            ("name", "x"),
            ("printer_0", "A"),
            ("address_0", "a:1"),
            ("backup_0", "Nope"),
        ]))
        .unwrap_err();
        assert!(no_backup.contains("backup"), "{no_backup}");
    }
}
