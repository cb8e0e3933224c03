//! Locations: their list, a new one, and each one's settings (name, address, time zone,
//! currency, default tax rate).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use thorbis_domain::Currency;
use thorbis_web::components::{Input, Message, labelled, message, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, see_other};
use thorbis_web::{Markup, html};

use super::{PageError, PageForm, PageResult, PageUser, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::http::{AppState, Error};
use crate::locations::{self, Location, LocationError, LocationSettings};
use crate::tenants;

fn percent(bps: u32) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

/// The locations page, with `msg` above the list and what was typed into the new-location
/// form kept.
async fn list_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    msg: Option<&Message>,
    typed: &str,
) -> PageResult {
    let all = locations::locations(state.store(), user.tenant_id).await?;
    let body = html! {
        h1 { "Locations" }
        (message(msg))
        table.list #locations {
            thead { tr { th { "Name" } th { "Address" } th { "Time zone" } th { "Currency" }
                th { "Default tax" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for l in &all {
                    tr data-location=(l.location_id) {
                        td.name { (l.settings.name) }
                        td { (l.settings.address) }
                        td.tz { (l.settings.time_zone) }
                        td.currency {
                            @match l.settings.currency {
                                Some(c) => (c.code()),
                                None => span.problem { "not set" },
                            }
                        }
                        td { (percent(l.settings.default_tax_bps)) "%" }
                        td { a.btn href=(format!("/console/locations/{}", l.location_id)) { "Edit" } }
                    }
                }
            }
        }
        @if user.can(ConsoleRole::Manager) {
            h2 { "Add a location" }
            form.row method="post" action="/console/locations" {
                (csrf(user))
                (labelled("Name", Input::new("name").id("new-location-name").value(typed).maxlength(200)))
                button.btn.primary type="submit" id="add-location" { "Add location" }
            }
        }
    };
    Ok(with_status(status, shell(user, "Locations", "console-locations", body)))
}

/// `GET /console/locations`.
pub(in crate::http) async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let msg = notice.saved.map(|_| Message::Info("Saved.".into()));
    list_page(&state, &user, StatusCode::OK, msg.as_ref(), "").await
}

/// What the page after a post says.
#[derive(serde::Deserialize)]
pub(in crate::http) struct Notice {
    saved: Option<u8>,
    added: Option<u8>,
}

/// `POST /console/locations`: adds a location and opens its settings.
pub(in crate::http) async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let name = match form::text(fields.get("name"), "Name", 200) {
        Ok(name) => name,
        Err(e) => {
            let msg = Message::Error(e);
            return list_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&msg),
                fields.get("name"),
            )
            .await;
        }
    };
    let id = tenants::create_location(state.store(), user.tenant_id, &name).await?;
    Ok(see_other(&Href::new(format!("/console/locations/{id}")).param("added", 1).into_string()))
}

async fn find(state: &AppState, user: &PageUser, id: &str) -> PageResult<Location> {
    let id = path_id(id, "location")?;
    locations::locations(state.store(), user.tenant_id)
        .await?
        .into_iter()
        .find(|l| l.location_id == id)
        .ok_or_else(|| PageError::Error(Error::NotFound(format!("no location {id}"))))
}

fn edit_page(
    user: &PageUser,
    location: &Location,
    fields: &Fields,
    msg: Option<&Message>,
) -> Markup {
    let s = &location.settings;
    let value = |name: &str, stored: String| {
        if fields.is_empty() { stored } else { fields.get(name).to_owned() }
    };
    let name = value("name", s.name.clone());
    let address = value("address", s.address.clone());
    let tz = value("time_zone", s.time_zone.clone());
    let currency = value("currency", s.currency.map(|c| c.code().to_owned()).unwrap_or_default());
    let tax = value("tax", percent(s.default_tax_bps));
    let read_only = !user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { (s.name) }
        (message(msg))
        form.stack.settings method="post" action=(format!("/console/locations/{}", location.location_id)) {
            (csrf(user))
            (labelled("Name", Input::new("name").id("name").value(&name).maxlength(200).disabled(read_only)))
            (labelled("Address", Input::new("address").id("address").value(&address).maxlength(500).disabled(read_only)))
            (labelled("Time zone (every report day is a local day here)",
                Input::new("time_zone").id("time_zone").value(&tz).placeholder("Europe/Paris")
                    .maxlength(64).disabled(read_only)))
            (labelled("Currency (ISO code)", Input::new("currency").id("currency").value(&currency)
                .placeholder("EUR").maxlength(3).disabled(read_only)))
            (labelled("Default tax rate, percent", Input::new("tax").id("tax").value(&tax).decimal()
                .maxlength(6).disabled(read_only)))
            @if !read_only { (submit_or_cancel("save-location", "Save", "/console/locations")) }
        }
        @if read_only { p { a href="/console/locations" { "Back to locations" } } }
    };
    shell(user, &s.name, "console-locations", body)
}

/// `GET /console/locations/{id}`.
pub(in crate::http) async fn edit(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> PageResult {
    let location = find(&state, &user, &id).await?;
    let msg = notice.added.map(|_| {
        Message::Info(
            "Location added. Set its time zone and currency before its first sale.".into(),
        )
    });
    Ok(edit_page(&user, &location, &Fields::default(), msg.as_ref()).into_response())
}

/// The settings a form asks for, or why they cannot be.
fn parse(fields: &Fields) -> Result<LocationSettings, String> {
    let name = form::text(fields.get("name"), "Name", 200)?;
    let address = fields.get("address");
    if address.chars().count() > 500 || address.chars().any(char::is_control) {
        return Err("Address is at most 500 characters, without control characters".into());
    }
    let time_zone = form::text(fields.get("time_zone"), "Time zone", 64)?;
    let currency = match fields.get("currency") {
        "" => None,
        code => Some(Currency::iso(code).ok_or_else(|| {
            format!("{code:?} is not an ISO currency code such as EUR, USD or JPY")
        })?),
    };
    let default_tax_bps = match fields.get("tax") {
        "" | "0" => 0,
        raw => form::percent_bps(raw)?,
    };
    Ok(LocationSettings { name, address: address.to_owned(), time_zone, currency, default_tax_bps })
}

/// `POST /console/locations/{id}`.
pub(in crate::http) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let location = find(&state, &user, &id).await?;
    let refused = |e: String| {
        let page = edit_page(&user, &location, &fields, Some(&Message::Error(e)));
        Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page))
    };
    let settings = match parse(&fields) {
        Ok(settings) => settings,
        Err(e) => return refused(e),
    };
    match locations::update_location(state.store(), user.tenant_id, location.location_id, &settings)
        .await
    {
        Ok(()) => Ok(see_other(&Href::new("/console/locations").param("saved", 1).into_string())),
        Err(e @ (LocationError::UnknownTimeZone(_) | LocationError::CurrencyInUse(_))) => {
            refused(e.to_string())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_or_say_why_not() {
        let ok = parse(&Fields::from_pairs(&[
            ("name", "Main St"),
            ("address", "1 Main St"),
            ("time_zone", "Europe/Paris"),
            ("currency", "eur"),
            ("tax", "8.25"),
        ]))
        .unwrap();
        assert_eq!(ok.currency, Some(Currency::EUR));
        assert_eq!(ok.default_tax_bps, 825);
        assert_eq!(percent(ok.default_tax_bps), "8.25");
        let no_currency =
            parse(&Fields::from_pairs(&[("name", "x"), ("time_zone", "UTC")])).unwrap();
        assert_eq!((no_currency.currency, no_currency.default_tax_bps), (None, 0));
        for (bad, says) in [
            (vec![("name", ""), ("time_zone", "UTC")], "Name"),
            (vec![("name", "x"), ("time_zone", "")], "Time zone"),
            (vec![("name", "x"), ("time_zone", "UTC"), ("currency", "EURO")], "ISO currency"),
            (vec![("name", "x"), ("time_zone", "UTC"), ("tax", "150")], "Percent"),
        ] {
            let e = parse(&Fields::from_pairs(&bad)).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }
}
