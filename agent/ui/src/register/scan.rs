//! The scan field and what it rings up: a scanner's burst or a typed barcode (scale labels
//! decoded with the terminal's layouts), or typed text that searches item names; tapping a
//! search result adds it.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::catalog::Item;
use thorbis_domain::command::PriceOverride;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{ItemId, LineId, OrderId};
use thorbis_domain::scan::{self, DateWarning, Day, Embedded, Label};
use thorbis_domain::{Command, Currency, Money, Qty};
use thorbis_drivers::gs1;
use thorbis_drivers::variable_measure::{Measure, VariableMeasureConfig};
use thorbis_web::components::{Input, hidden, labelled};
use thorbis_web::respond::{Href, post_then_redirect, see_other};
use uuid::Uuid;

use super::super::access::Cashier;
use super::super::action::{capitalised, order_id, run};
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{SaleData, Screen, on_hand, parse_qty, render};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;

/// The scan field, with what was typed kept after a refusal.
pub(super) fn scan_form(data: &SaleData, screen: &Screen) -> Markup {
    let order = data.order.as_ref().map(|o| o.id.0.to_string()).unwrap_or_default();
    html! {
        form.stack.panel #scan-form method="post" action="/register/scan" data-wedge
            data-live=[data.scanner.then_some("/register/scans")] {
            (csrf_field())
            (hidden("order", &order))
            input #via type="hidden" name="via" value="typed";
            div.row {
                label.grow {
                    "Scan or search "
                    (Input::new("code").id("scan").value(&screen.code).autofocus())
                }
                label.short {
                    "Qty / kg "
                    (Input::new("qty").id("qty").value(&screen.qty).decimal().placeholder("1"))
                }
            }
            button.btn.primary #scan-go type="submit" { "Enter" }
        }
    }
}

/// Items whose names contain `q` (at most 24), each a tile that adds it.
pub(super) fn results(data: &SaleData, q: &str, base: &str) -> Markup {
    let needle = q.trim().to_lowercase();
    let found: Vec<&Item> =
        data.items.iter().filter(|i| i.name.to_lowercase().contains(&needle)).take(24).collect();
    let order = data.order.as_ref().map(|o| o.id.0.to_string()).unwrap_or_default();
    html! {
        section.panel #results {
            h2 { "Items matching “" (q) "”" }
            @if found.is_empty() { p.muted { "Nothing matches." } }
            div.grid {
                @for item in found {
                    form.tile-form method="post" action="/register/add" {
                        (csrf_field())
                        (hidden("order", &order))
                        (hidden("item", item.id.0))
                        (hidden("back", base))
                        button.tile type="submit" data-item=(item.name) {
                            (item.name)
                            span.money {
                                (item.price.format(data.currency))
                                @if item.sold_by_weight { " / kg" }
                            }
                            @if let Some(q) = on_hand(data, item.id) {
                                span.muted.stock { "on hand " (q) }
                            }
                        }
                        @if item.sold_by_weight {
                            (labelled("Weight kg", Input::new("qty").class("weight").decimal()))
                        }
                    }
                }
            }
        }
    }
}

/// Decodes a scanned code as a scale label if a layout claims it.
pub(super) fn label_of(
    config: &VariableMeasureConfig,
    code: &str,
) -> Result<Option<(String, Embedded)>, String> {
    let digits = (code.len() == 12 || code.len() == 13) && code.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Ok(None);
    }
    match config.decode(code) {
        Ok(Some(v)) => {
            let embedded = match v.measure {
                Measure::Weight { grams } => Embedded::Weight { grams },
                Measure::Price { minor } => Embedded::Price { price: Money(minor) },
            };
            Ok(Some((v.catalog_code, embedded)))
        }
        Ok(None) => Ok(None),
        // A code that is not an EAN at all may still be listed as typed (an in-house code).
        Err(thorbis_drivers::variable_measure::VariableMeasureError::CheckDigit) => {
            Err(format!("Barcode {code} does not read right (check digit): scan it again."))
        }
        Err(e) => Err(format!("Barcode {code} cannot be read: {e}.")),
    }
}

/// A GS1 element string read at the register: the GTIN that names the item, the weight or
/// price it carries, and whether one of its dates has passed.
#[derive(Debug, PartialEq)]
pub(super) struct Gs1Read {
    gtin: String,
    embedded: Option<Embedded>,
    warning: Option<DateWarning>,
}

/// Reads `code` as a GS1 element string (GS1-128, `DataBar`, a GS1 2D symbol) if it is one:
/// it starts with a GS1 symbology identifier (`]C1`...) or the human-readable form's `(`,
/// holds a field separator (GS), or is digits starting with AI 01 and longer than a GTIN.
/// `None` for any other code; `Some(Err)` says why a GS1 code cannot be rung up. Prices
/// are read in `currency`; dates are compared with `today`.
pub(super) fn gs1_of(
    code: &str,
    currency: Currency,
    today: Day,
) -> Option<Result<Gs1Read, String>> {
    let marked = gs1::has_gs1_identifier(code.as_bytes()) || code.contains('\u{1d}');
    // `(01)...`, not a search for "(large) tea".
    let readable =
        code.strip_prefix('(').and_then(|rest| rest.split_once(')')).is_some_and(|(ai, _)| {
            (2..=4).contains(&ai.len()) && ai.bytes().all(|b| b.is_ascii_digit())
        });
    let digits =
        code.len() > 14 && code.starts_with("01") && code.bytes().all(|b| b.is_ascii_digit());
    if !(marked || readable || digits) {
        return None;
    }
    let message = match if readable { gs1::parse_hri(code) } else { gs1::parse(code.as_bytes()) } {
        Ok(message) => message,
        // A long in-house code that merely starts with 01.
        Err(_) if digits && !marked => return None,
        Err(e) => {
            return Some(Err(format!(
                "This GS1 barcode does not read right ({e}): scan it again."
            )));
        }
    };
    let Some(gtin) = message.gtin() else {
        return Some(Err(
            "This GS1 barcode names no item (it has no GTIN): scan the item's own barcode.".into(),
        ));
    };
    // The printed price is what the customer pays: it wins over a weight beside it.
    let embedded = if let Some(price) = message.price() {
        let Some(minor) = price.rescale(currency.exponent) else {
            return Some(Err(
                "The price on this GS1 barcode is out of range: key the item instead.".into(),
            ));
        };
        Some(Embedded::Price { price: Money(minor) })
    } else {
        message.net_weight_grams().map(|grams| Embedded::Weight { grams })
    };
    let day = |d: gs1::Gs1Date| {
        let year = d.year(today.year);
        // Day 00 is the month's last day.
        // (and 29 February of a year that has none is its 28th).
        let last = Day::days_in_month(year, d.month);
        let day = if d.day == 0 { last } else { d.day.min(last) };
        Day { year, month: d.month, day }
    };
    let warning =
        scan::date_warning(message.expiry().map(day), message.best_before().map(day), today);
    Some(Ok(Gs1Read { gtin: gtin.to_owned(), embedded, warning }))
}

/// The scan field's form.
#[derive(Debug, Deserialize)]
pub(crate) struct ScanForm {
    /// The sale rung up so far; empty for a new sale.
    #[serde(default)]
    order: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    qty: String,
    /// `scan` when the page's script saw a scanner's burst, else `typed`.
    #[serde(default)]
    via: String,
}

/// The sale a form names, if any (empty: a new sale).
fn sale_of(raw: &str) -> Result<Option<OrderId>, UiError> {
    match raw.trim() {
        "" => Ok(None),
        raw => order_id(raw).map(Some),
    }
}

/// The scan field: a scan (or typed code) rings an item up; other typed text searches.
pub(crate) async fn scan(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<ScanForm>,
) -> Result<Response, UiError> {
    let order_id = sale_of(&form.order)?;
    let code = form.code.trim().to_owned();
    let typed_qty = form.qty.trim();
    let scanned = form.via.trim() == "scan";
    let refuse = |msg: String| Screen {
        msg: Some(Message::Error(msg)),
        code: code.clone(),
        qty: typed_qty.to_owned(),
        ..Screen::default()
    };
    if code.is_empty() {
        let screen = refuse("Scan a barcode or type an item's name.".into());
        return render(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if !crate::scans::fits(&code) {
        let screen = refuse("That is not a barcode or an item name.".into());
        return render(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let (items, currency) =
        state.with_store(|store| Ok((store.items()?, store.currency()?))).await?;
    let today = Day::of_unix_ms(state.now_ms());
    let mut warning = None;
    // A code the catalog lists as it is (an in-house code that happens to start with 01)
    // is that item, not a GS1 string.
    let listed = items.iter().any(|i| i.barcodes.contains(&code));
    let found = match gs1_of(&code, currency, today).filter(|_| !listed) {
        Some(Err(e)) => Err(e),
        Some(Ok(read)) => {
            warning = read.warning;
            scan::resolve_gtin(&items, &read.gtin, read.embedded)
                .map_err(|e| format!("{}.", capitalised(&e.to_string())))
        }
        None => match label_of(&state.scale_labels, &code) {
            Err(e) => Err(e),
            Ok(label) => {
                let label = label
                    .as_ref()
                    .map(|(key, embedded)| Label { catalog_code: key, embedded: *embedded });
                scan::resolve(&items, &code, label).map_err(|e| match e {
                    scan::ScanError::Unknown(_) if !scanned => String::new(),
                    other => format!("{}.", capitalised(&other.to_string())),
                })
            }
        },
    };
    let found = match found {
        Ok(found) => found,
        // Typed text that is no barcode: search by name.
        Err(e) if e.is_empty() => {
            let path = order_id.map_or("/register".to_owned(), |o| format!("/register/{}", o.0));
            return Ok(see_other(&Href::new(path).param("q", &code).into_string()));
        }
        Err(e) => {
            return render(&state, &who, order_id, refuse(e), StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        }
    };
    let by_weight = items.iter().any(|i| i.id == found.item_id && i.sold_by_weight);
    let qty = match found.qty {
        Some(q) if typed_qty.is_empty() => Ok(q),
        Some(_) => Err("A scale label sets its own quantity: clear the Qty field.".to_owned()),
        None if by_weight && typed_qty.is_empty() => {
            Err(format!("Weigh {}: type its weight in kg, then scan again.", found.name))
        }
        None => parse_qty(typed_qty, by_weight),
    };
    match qty {
        Ok(qty) => add(&state, &who, order_id, found.item_id, qty, None, warning).await,
        Err(e) => render(&state, &who, order_id, refuse(e), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// A search result's form: the item, and its weight when sold by weight.
#[derive(Debug, Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    order: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    qty: String,
}

/// A search result tapped.
pub(crate) async fn add_item(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<AddForm>,
) -> Result<Response, UiError> {
    let order_id = sale_of(&form.order)?;
    let item_id = ItemId(Uuid::try_parse(form.item.trim()).map_err(|_| UiError::NotFound)?);
    let by_weight = state
        .with_store(move |store| Ok(store.item(item_id)?.is_some_and(|i| i.sold_by_weight)))
        .await?;
    match parse_qty(form.qty.trim(), by_weight) {
        Ok(qty) => add(&state, &who, order_id, item_id, qty, None, None).await,
        Err(e) => {
            render(&state, &who, order_id, Screen::refused(e), StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
    }
}

/// Rings `qty` of an item up on the sale, opening the sale first if there is none; one
/// transaction either way. The sale's page then confirms it, with `warning` if its date
/// has passed.
async fn add(
    state: &UiState,
    who: &SignedIn,
    order_id: Option<OrderId>,
    item_id: ItemId,
    qty: Qty,
    price_override: Option<PriceOverride>,
    warning: Option<DateWarning>,
) -> Result<Response, UiError> {
    let (id, line_id, fresh, currency) = state
        .with_store(move |store| {
            let line = LineId(store.new_id());
            let currency = match order_id.map(|id| store.order(id)).transpose()?.flatten() {
                Some(o) => o.currency,
                None => store.currency()?,
            };
            Ok(match order_id {
                Some(id) => (id, line, false, currency),
                None => (OrderId(store.new_id()), line, true, currency),
            })
        })
        .await?;
    let mut commands = Vec::with_capacity(2);
    if fresh {
        commands.push(Command::OpenOrder {
            order_id: id,
            currency,
            mode: ServiceMode::Retail,
            table: None,
            guests: None,
            staff: Some(who.staff_id),
        });
    }
    commands.push(Command::AddLine {
        order_id: id,
        line_id,
        item_id,
        qty,
        modifiers: Vec::new(),
        seat: None,
        course: None,
        note: None,
        price_override,
    });
    let refusal = run(state, commands, currency).await?.err();
    post_then_redirect(
        refusal,
        || {
            let page = Href::new(format!("/register/{}", id.0));
            match warning {
                None => page.param("msg", "added"),
                Some(DateWarning::UseByPassed(day)) => {
                    page.param("msg", "use_by").param("date", day)
                }
                Some(DateWarning::BestBeforePassed(day)) => {
                    page.param("msg", "best_before").param("date", day)
                }
            }
            .into_string()
        },
        |e| render(state, who, order_id, Screen::refused(e), StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Day = Day { year: 2026, month: 12, day: 7 };

    fn read(code: &str) -> Option<Result<Gs1Read, String>> {
        gs1_of(code, Currency::USD, TODAY)
    }

    #[test]
    fn a_gs1_code_gives_its_gtin_measure_and_passed_date() {
        let weighed = read("]C1010950600013435231030012501720122510LOT7").unwrap().unwrap();
        assert_eq!(weighed.gtin, "09506000134352");
        assert_eq!(weighed.embedded, Some(Embedded::Weight { grams: 1_250 }));
        let passed = Day { year: 2020, month: 12, day: 25 };
        assert_eq!(weighed.warning, Some(DateWarning::UseByPassed(passed)));
        let priced = read("(01)09506000134352(3922)1299(15)270200").unwrap().unwrap();
        assert_eq!(priced.embedded, Some(Embedded::Price { price: Money(1_299) }));
        assert_eq!(priced.warning, None, "best before the end of February 2027");
        let stale = read("0109506000134352\u{1d}15261206").unwrap().unwrap();
        assert_eq!(stale.warning, Some(DateWarning::BestBeforePassed(Day { day: 6, ..TODAY })));
        let both = read("]C10109506000134352310300125039221299").unwrap().unwrap();
        assert_eq!(both.embedded, Some(Embedded::Price { price: Money(1_299) }), "the price wins");
        // 29 February of a year that has none is read as the 28th, a real day.
        let leap = read("(01)09506000134352(17)250229").unwrap().unwrap();
        let feb_28 = Day { year: 2025, month: 2, day: 28 };
        assert_eq!(leap.warning, Some(DateWarning::UseByPassed(feb_28)));
        let plain = read("0109506000134352").unwrap().unwrap();
        assert_eq!((plain.embedded, plain.warning), (None, None));
    }

    #[test]
    fn other_codes_are_not_gs1_and_a_broken_gs1_code_is_refused() {
        for code in [
            "0012345678905",
            "2012340007500",
            "0123",
            "SKU-01",
            "019999999999999999",
            "(large) tea",
        ] {
            assert_eq!(read(code), None, "{code}");
        }
        for code in ["]C1", "]C19912", "(01)123", "(10)LOT7"] {
            assert!(read(code).is_some_and(|r| r.is_err()), "{code}");
        }
    }
}
