//! The catalog's taxes: tax categories (what an item points at) and their rates, each a
//! hub-signed `catalog.tax_rate_upserted` / `catalog.tax_category_upserted` record that
//! terminals apply to every line of an item in that category. A rate is typed as a percent
//! with up to four decimals (8.875 is 88,750 parts per million) and is either included in
//! prices (VAT) or added on top (sales tax).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use thorbis_domain::DomainEvent;
use thorbis_domain::ids::{TaxCategoryId, TaxRateId};
use thorbis_domain::tax::{TaxCategory, TaxRate};
use thorbis_web::components::{Input, Message, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::see_other;
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::catalog::{Catalog, catalog_page, load, publish};
use super::{PageForm, PageResult, PageUser, csrf, path_id};
use crate::accounts::ConsoleRole;
use crate::http::AppState;

/// A rate as a percent: `ppm` parts per million, with no trailing zeros (`8.875`).
fn percent(ppm: u32) -> String {
    let text = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A percent typed as `20` or `8.875`, to parts per million: above 0, at most 100, at most
/// four decimals.
fn parse_percent(raw: &str) -> Result<u32, String> {
    form::fixed_point(raw.trim().trim_end_matches('%').trim(), 3, 4)
        .and_then(|ppm| u32::try_from(ppm).ok())
        .filter(|ppm| (1..=1_000_000).contains(ppm))
        .ok_or_else(|| "A rate is a percent above 0 and at most 100, like 20 or 8.875".to_owned())
}

/// The taxes section of the catalog page: each category with its rates, a form to add a
/// tax, and (for managers) one to change each rate.
pub(super) fn section(user: &PageUser, c: &Catalog) -> Markup {
    let manager = user.can(ConsoleRole::Manager);
    let rate = |id: &TaxRateId| c.tax_rates.iter().find(|r| r.id == *id);
    html! {
        h2 { "Taxes" }
        @if c.tax_categories.is_empty() { p.muted { "No taxes yet: items are sold untaxed." } }
        ul.lines #taxes {
            @for t in &c.tax_categories {
                li.line data-tax=(t.id.0) {
                    span { (t.name) }
                    span.muted { @for r in t.rates.iter().filter_map(rate) {
                        (r.name) " " (percent(r.ppm)) "% "
                        @if r.inclusive { "(included in prices)" } @else { "(added on top)" } "; "
                    } }
                }
            }
        }
        @if manager {
            @for r in &c.tax_rates {
                form.row method="post" action=(format!("/console/catalog/taxes/rates/{}", r.id.0)) data-rate=(r.id.0) {
                    (csrf(user))
                    (labelled(html! { (r.name) " (%)" },
                        Input::new("percent").id(&format!("rate-{}", r.id.0)).value(&percent(r.ppm)).decimal().maxlength(9)))
                    button.btn type="submit" { "Change rate" }
                }
            }
            form.row method="post" action="/console/catalog/taxes" {
                (csrf(user))
                (labelled("Tax category (\"Food\", \"Alcohol\")", Input::new("category").id("tax-category").maxlength(100)))
                (labelled("Rate name, as printed", Input::new("name").id("tax-name").maxlength(100)))
                (labelled("Rate (%)", Input::new("percent").id("tax-percent").decimal().maxlength(9)))
                label.choice { input type="checkbox" name="inclusive" value="1" id="tax-inclusive"; "Included in prices (VAT)" }
                button.btn type="submit" id="add-tax" { "Add tax" }
            }
        }
    }
}

/// A new tax category with its one rate, from the add form.
fn parse_tax(fields: &Fields) -> Result<(TaxRate, TaxCategory), String> {
    let category = form::text(fields.get("category"), "Tax category", 100)?;
    let name = form::text(fields.get("name"), "Rate name", 100)?;
    let ppm = parse_percent(fields.get("percent"))?;
    let rate = TaxRate {
        id: TaxRateId(Uuid::now_v7()),
        name,
        ppm,
        inclusive: !fields.get("inclusive").is_empty(),
    };
    let category =
        TaxCategory { id: TaxCategoryId(Uuid::now_v7()), name: category, rates: vec![rate.id] };
    Ok((rate, category))
}

/// Publishes `events` (or refuses what the form held), then shows the catalog.
async fn save(
    state: &AppState,
    user: &PageUser,
    events: Result<Vec<DomainEvent>, String>,
) -> PageResult {
    let outcome = match events {
        Ok(events) => publish(state, user, events).await?,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other("/console/catalog")),
        Err(e) => {
            let c = load(state, user.tenant_id).await?;
            Ok(catalog_page(user, &c, Some(&Message::Error(e)), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// `POST /console/catalog/taxes`: adds a tax category with its rate, in one publication.
pub(in crate::http) async fn add_tax(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let events = parse_tax(&fields).map(|(rate, category)| {
        vec![DomainEvent::TaxRateUpserted(rate), DomainEvent::TaxCategoryUpserted(category)]
    });
    save(&state, &user, events).await
}

/// `POST /console/catalog/taxes/rates/{id}`: changes a rate's percent (its name and
/// whether it is included stay).
pub(in crate::http) async fn update_rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let id = TaxRateId(path_id(&id, "tax rate")?);
    let c = load(&state, user.tenant_id).await?;
    let Some(rate) = c.tax_rates.iter().find(|r| r.id == id) else {
        return Err(crate::http::Error::NotFound(format!("no tax rate {}", id.0)).into());
    };
    let events = parse_percent(fields.get("percent"))
        .map(|ppm| vec![DomainEvent::TaxRateUpserted(TaxRate { ppm, ..rate.clone() })]);
    save(&state, &user, events).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_percents_with_up_to_four_decimals() {
        assert_eq!(parse_percent("8.875"), Ok(88_750));
        assert_eq!(parse_percent("20 %"), Ok(200_000));
        assert_eq!(parse_percent("100"), Ok(1_000_000));
        for bad in ["0", "100.0001", "-5", "8.87501", ".", "", "abc"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(
            (percent(88_750), percent(200_000), percent(5)),
            ("8.875".into(), "20".into(), "0.0005".into())
        );
    }
}
