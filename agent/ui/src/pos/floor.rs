//! The POS's first screen: the floor plan (a tile per table), the open checks, and the
//! new-check form.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::OrderId;
use thorbis_domain::{Command, Money};
use thorbis_web::components::{Input, hidden, labelled, plural};
use thorbis_web::form;
use thorbis_web::respond::post_then_redirect;

use super::super::access::PosStaff;
use super::super::html::{Message, message, page};
use super::{UiError, UiState, run, table_of};
use crate::guard::csrf_field;
use thorbis_agent::{OrderView, SignedIn};

/// The tables shown when the terminal's configuration names none.
const DEFAULT_FLOOR: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

/// The new-check form (also posted by a free table's tile, with its table).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewCheck {
    #[serde(default)]
    table: String,
    #[serde(default)]
    guests: String,
}

/// `GET /pos`: the floor, the open checks and the new-check form.
pub(crate) async fn checks(
    State(state): State<UiState>,
    who: PosStaff,
) -> Result<Response, UiError> {
    render_checks(&state, &who, None, &NewCheck::default(), StatusCode::OK).await
}

async fn render_checks(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    typed: &NewCheck,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (orders, tables) = state
        .with_store(|store| {
            let tables = store.own_device_config()?.map(|c| c.tables).unwrap_or_default();
            Ok((store.open_orders()?, tables))
        })
        .await?;
    let body = html! {
        (floor(&orders, tables, state.now_ms()))
        div.cols {
            section.col {
                h1 { "Open checks" }
                @if orders.is_empty() { p.muted { "No open checks." } }
                div.grid.checks #open-checks {
                    @for o in &orders {
                        a.tile.check href={ "/pos/checks/" (o.id.0) } data-table=(table_of(o)) {
                            span.big { "Table " (table_of(o)) }
                            @if let Some(g) = o.order.opened.as_ref().and_then(|x| x.value.guests) {
                                span.muted { (plural(usize::from(g), "guest")) }
                            }
                            span { (o.order.live_lines().count()) " items" }
                            span.money { (o.totals.balance.format(o.currency)) }
                        }
                    }
                }
            }
            section.col.narrow {
                h2 { "New check" }
                (message(msg.as_ref()))
                form.stack #new-check method="post" action="/pos/checks" {
                    (csrf_field())
                    (labelled("Table", Input::new("table").id("table").value(&typed.table)))
                    (labelled("Guests", Input::new("guests").id("guests").numeric().value(&typed.guests)))
                    button.btn.primary #open-check type="submit" { "Open check" }
                }
            }
        }
    };
    Ok((status, page("Checks", "pos", Some(who), &state.indicators(), body)).into_response())
}

/// `POST /pos/checks`: opens a dine-in check.
pub(crate) async fn open_check(
    State(state): State<UiState>,
    who: PosStaff,
    Form(typed): Form<NewCheck>,
) -> Result<Response, UiError> {
    let parsed = form::text(typed.table.trim(), "Table", 20)
        .and_then(|t| Ok((t, form::count(typed.guests.trim(), "Guests", 1, 99)?)));
    let refused = |e| {
        render_checks(
            &state,
            &who,
            Some(Message::Error(e)),
            &typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let (table, guests) = match parsed {
        Ok(v) => v,
        Err(e) => return refused(e).await,
    };
    let (order_id, currency) =
        state.with_store(|store| Ok((OrderId(store.new_id()), store.currency()?))).await?;
    let command = Command::OpenOrder {
        order_id,
        currency,
        mode: ServiceMode::DineIn,
        table: Some(table),
        guests: Some(guests),
        staff: Some(who.staff_id),
    };
    let refusal = run(&state, vec![command], currency).await?.err();
    post_then_redirect(refusal, || format!("/pos/checks/{}", order_id.0), refused).await
}

/// The floor plan: a tile per table, the configured ones (else [`DEFAULT_FLOOR`]) then any
/// other table an open check is at. A free table's tile opens a check there; an occupied
/// one links to its check and shows guests, items, balance, minutes open and its state
/// (open, sent to the kitchen, paid awaiting close).
pub(super) fn floor(orders: &[OrderView], configured: Vec<String>, now_ms: u64) -> Markup {
    let mut tables =
        if configured.is_empty() { DEFAULT_FLOOR.map(String::from).to_vec() } else { configured };
    for o in orders {
        if let Some(t) = o.order.table()
            && !tables.iter().any(|x| x == t)
        {
            tables.push(t.to_owned());
        }
    }
    html! {
        section.floor {
            h1 { "Floor" }
            div.grid.tables #floor {
                @for table in &tables {
                    @let at: Vec<&OrderView> =
                        orders.iter().filter(|o| o.order.table() == Some(table.as_str())).collect();
                    @match at.first() {
                        None => form.tile-form method="post" action="/pos/checks" {
                            (csrf_field())
                            (hidden("table", table))
                            button.tile.table.free type="submit" data-table=(table) data-state="free" {
                                span.big { (table) }
                                span.state { "free" }
                            }
                            label.guests {
                                "Guests " (Input::new("guests").numeric().value("2"))
                            }
                        },
                        Some(first) => (occupied(table, first, &at, now_ms)),
                    }
                }
            }
        }
    }
}

/// The tile of a table with checks open at it (`first` is the one it links to).
fn occupied(table: &str, first: &OrderView, at: &[&OrderView], now_ms: u64) -> Markup {
    let (state, label) = table_state(first);
    let guests: u32 =
        at.iter().filter_map(|o| o.order.opened.as_ref()?.value.guests).map(u32::from).sum();
    let items: usize = at.iter().map(|o| o.order.live_lines().count()).sum();
    let balance: Money = at.iter().map(|o| o.totals.balance).sum();
    let opened = at
        .iter()
        .filter_map(|o| o.order.opened.as_ref().map(|x| x.meta.hlc.wall_ms))
        .min()
        .unwrap_or(now_ms);
    let minutes = now_ms.saturating_sub(opened) / 60_000;
    html! {
        a class={ "tile table " (state) } href={ "/pos/checks/" (first.id.0) } data-table=(table)
            data-state=(state) {
            span.big { (table) }
            span.state { (label) }
            @if at.len() > 1 { span.muted { (at.len()) " checks" } }
            span.muted {
                (plural(guests as usize, "guest")) " · " (plural(items, "item")) " · " (minutes) " min"
            }
            span.money { (balance.format(first.currency)) }
        }
    }
}

/// A check's state on the floor, as a class name and a label.
fn table_state(o: &OrderView) -> (&'static str, &'static str) {
    if o.totals.paid > Money::ZERO && o.totals.balance <= Money::ZERO {
        ("paid", "paid · to close")
    } else if !o.order.sent.is_empty() {
        ("sent", "sent to kitchen")
    } else {
        ("open", "open")
    }
}
