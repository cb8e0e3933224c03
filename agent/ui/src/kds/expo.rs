//! The expo view: every order with tickets in the kitchen, which stations are done with
//! it, and the orders most recently finished by every station; bumps (or recalls) an
//! order's tickets together.

use std::convert::Infallible;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::Command;
use thorbis_domain::ids::{OrderId, TicketId};
use thorbis_web::components::hidden;
use thorbis_web::respond::{Href, post_then_redirect};
use uuid::Uuid;

use super::super::access::KitchenStaff;
use super::super::action::refusal_text;
use super::super::html::{Message, message, page};
use super::super::{UiError, UiState};
use super::{KdsQuery, LATE_MS, WARN_MS, age, live, qty_prefix, tabs};
use crate::guard::csrf_field;
use thorbis_agent::{SignedIn, Store, StoreError, TicketView};

/// An order as expo sees it: each of its tickets, done (bumped) or still being made.
#[derive(Debug)]
pub(crate) struct ExpoOrder {
    pub(crate) order_id: OrderId,
    pub(crate) table: Option<String>,
    /// The first send, which the age timer counts from.
    pub(crate) sent_at: thorbis_sync_protocol::Hlc,
    /// Tickets by station, each with whether its station is done with it.
    pub(crate) tickets: Vec<(TicketView, bool)>,
}

impl ExpoOrder {
    /// An order from its tickets (at least one), sorted by station.
    fn new(order_id: OrderId, mut tickets: Vec<(TicketView, bool)>) -> Option<ExpoOrder> {
        tickets.sort_by(|(a, _), (b, _)| {
            (&a.ticket.station, a.sent_at, a.id).cmp(&(&b.ticket.station, b.sent_at, b.id))
        });
        let sent_at = tickets.iter().map(|(t, _)| t.sent_at).min()?;
        let table = tickets.first()?.0.table.clone();
        Some(ExpoOrder { order_id, table, sent_at, tickets })
    }
}

/// How many orders whose tickets are all done expo still lists (most recent first), so a
/// ticket bumped by mistake can be called back.
const EXPO_READY: usize = 5;

/// How many of the most recent bumps expo looks through for finished orders.
const READY_LOOKBACK: usize = 100;

/// Orders with a ticket still in the kitchen (oldest first), and the orders most recently
/// finished by every station (at most [`EXPO_READY`]). Reads the open queue, each of
/// those orders' tickets, and the latest bumps: never every ticket ever bumped.
pub(crate) fn expo_orders(store: &Store) -> Result<(Vec<ExpoOrder>, Vec<ExpoOrder>), StoreError> {
    let mut open_ids: Vec<OrderId> = Vec::new();
    for t in store.kds_queue(None)? {
        if !open_ids.contains(&t.order_id) {
            open_ids.push(t.order_id);
        }
    }
    let mut open = Vec::new();
    for id in open_ids {
        open.extend(ExpoOrder::new(id, store.order_tickets(id)?));
    }
    open.sort_by_key(|o| (o.sent_at, o.order_id));
    let mut ready = Vec::new();
    for t in store.recently_bumped(None, READY_LOOKBACK)? {
        if ready.len() == EXPO_READY {
            break;
        }
        let id = t.order_id;
        if open.iter().chain(ready.iter()).any(|o: &ExpoOrder| o.order_id == id) {
            continue;
        }
        ready.extend(ExpoOrder::new(id, store.order_tickets(id)?));
    }
    Ok((open, ready))
}

/// The expo region: open orders with their stations, then the finished ones. With `now`,
/// ages are drawn server-side; the live stream passes none (the script draws them).
fn expo_html(open: &[ExpoOrder], ready: &[ExpoOrder], now_ms: Option<u64>) -> Markup {
    html! {
        div.tickets #expo-orders {
            @if open.is_empty() { p.muted.empty { "No orders in the kitchen." } }
            @for o in open {
                @let (class, age) = age(o.sent_at.wall_ms, now_ms);
                @let done = o.tickets.iter().filter(|(_, d)| *d).count();
                article class={ "ticket expo " (class) } data-order=(o.order_id.0)
                    data-sent=(o.sent_at.wall_ms) {
                    header {
                        span.big { "Table " (o.table.as_deref().unwrap_or("—")) }
                        span.progress.muted { (done) " of " (o.tickets.len()) " done" }
                        span.age { (age) }
                    }
                    ul {
                        @for (t, done) in &o.tickets {
                            @let state = if *done { "done" } else { "making" };
                            li class={ "stn " (state) } data-ticket=(t.id.0)
                                data-station=(t.ticket.station) {
                                span.name { (t.ticket.station) " · " b.state { (state) } }
                                span.mods { (items(t)) }
                            }
                        }
                    }
                    form method="post" action="/kds/expo/bump" {
                        (csrf_field())
                        (hidden("order", o.order_id.0))
                        button.btn.primary.wide.bump type="submit" { "Bump order" }
                    }
                }
            }
        }
        section.panel #ready {
            h2 { "All stations done" }
            @if ready.is_empty() { p.muted { "None." } }
            @for o in ready {
                @let stations: Vec<&str> =
                    o.tickets.iter().map(|(t, _)| t.ticket.station.as_str()).collect();
                form.row method="post" action="/kds/expo/recall" data-order=(o.order_id.0) {
                    (csrf_field())
                    (hidden("order", o.order_id.0))
                    span { "Table " (o.table.as_deref().unwrap_or("—")) " · " (stations.join(", ")) }
                    button.btn type="submit" { "Recall" }
                }
            }
        }
    }
}

/// A ticket's items on one line: "2 × Burger (Medium rare), Fries".
fn items(t: &TicketView) -> String {
    let items: Vec<String> = t
        .ticket
        .lines
        .iter()
        .map(|l| {
            let name = format!("{}{}", qty_prefix(l.qty), l.name);
            if l.modifiers.is_empty() {
                name
            } else {
                format!("{name} ({})", l.modifiers.join(", "))
            }
        })
        .collect();
    items.join(", ")
}

/// The expo page, with an optional message.
async fn render_expo(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (mark, (open, ready)) =
        state.with_store(|store| Ok((store.change_mark()?, expo_orders(store)?))).await?;
    let now = state.now_ms();
    let body = html! {
        (tabs(&[], None, true))
        (message(msg.as_ref()))
        div #expo data-now=(now) data-warn-ms=(WARN_MS) data-late-ms=(LATE_MS)
            data-live=(Href::new("/kds/expo/events").param("since", mark)) data-parts="expo" {
            (expo_html(&open, &ready, Some(now)))
        }
    };
    Ok((status, page("Expo", "expo", Some(who), &state.indicators(), body)).into_response())
}

/// `GET /kds/expo`.
pub(crate) async fn expo(
    State(state): State<UiState>,
    who: KitchenStaff,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
    let msg = match q.msg.as_deref() {
        Some("bumped") => Some(Message::Info("Order bumped.".into())),
        Some("recalled") => Some(Message::Info("Order recalled.".into())),
        _ => None,
    };
    render_expo(&state, &who, msg, StatusCode::OK).await
}

/// `GET /kds/expo/events`: the expo region again whenever it changes.
pub(crate) async fn expo_events(
    State(state): State<UiState>,
    _who: KitchenStaff,
    Query(q): Query<KdsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let stream = live(state, q.since, |store| {
        let (open, ready) = expo_orders(store)?;
        Ok(vec![("expo", expo_html(&open, &ready, None).into_string())])
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A bump or recall of a whole order, from expo.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderForm {
    #[serde(default)]
    order: String,
}

/// Bumps (or recalls) every ticket of one order that is still open (or done), together.
async fn expo_command(
    state: UiState,
    who: &SignedIn,
    form: OrderForm,
    bump: bool,
) -> Result<Response, UiError> {
    let order = OrderId(Uuid::try_parse(form.order.trim()).map_err(|_| UiError::NotFound)?);
    let result = state
        .with_store(move |store| {
            // Bump what is still being made; recall what is done.
            let tickets: Vec<TicketId> = store
                .order_tickets(order)?
                .into_iter()
                .filter(|(_, done)| *done != bump)
                .map(|(t, _)| t.id)
                .collect();
            if tickets.is_empty() {
                let text = if bump {
                    "Nothing left to bump on this order."
                } else {
                    "Nothing to recall on this order."
                };
                return Ok(Some(text.to_owned()));
            }
            let commands: Vec<Command> = tickets
                .into_iter()
                .map(|ticket_id| {
                    if bump {
                        Command::BumpTicket { ticket_id }
                    } else {
                        Command::RecallTicket { ticket_id }
                    }
                })
                .collect();
            match store.execute_all(&commands) {
                Ok(_) => Ok(None),
                Err(StoreError::Refused(e)) => Ok(Some(refusal_text(&e, store.currency()?))),
                Err(e) => Err(e),
            }
        })
        .await?;
    if result.is_none() {
        state.notify();
    }
    let done = if bump { "bumped" } else { "recalled" };
    post_then_redirect(
        result,
        || Href::new("/kds/expo").param("msg", done).into_string(),
        |e| render_expo(&state, who, Some(Message::Error(e)), StatusCode::CONFLICT),
    )
    .await
}

/// `POST /kds/expo/bump`.
pub(crate) async fn expo_bump(
    State(state): State<UiState>,
    who: KitchenStaff,
    Form(form): Form<OrderForm>,
) -> Result<Response, UiError> {
    expo_command(state, &who, form, true).await
}

/// `POST /kds/expo/recall`.
pub(crate) async fn expo_recall(
    State(state): State<UiState>,
    who: KitchenStaff,
    Form(form): Form<OrderForm>,
) -> Result<Response, UiError> {
    expo_command(state, &who, form, false).await
}

#[cfg(test)]
mod tests {
    use super::super::tests::ticket;
    use super::*;

    #[test]
    fn expo_shows_which_stations_are_done() {
        let grill = ticket(1, "grill", &[("Burger", 1, &["Medium rare"])]);
        let mut fryer = ticket(2, "fryer", &[("Fries", 1, &[])]);
        fryer.order_id = grill.order_id;
        let order = ExpoOrder {
            order_id: grill.order_id,
            table: Some("12".into()),
            sent_at: grill.sent_at,
            tickets: vec![(fryer, true), (grill, false)],
        };
        let html = expo_html(&[order], &[], Some(1_000 + 6 * 60 * 1000)).into_string();
        assert!(html.contains("1 of 2 done") && html.contains("Table 12"), "{html}");
        assert!(html.contains("fryer · <b class=\"state\">done"), "{html}");
        assert!(html.contains("grill · <b class=\"state\">making"), "{html}");
        assert!(
            html.contains("Burger (Medium rare)") && html.contains("ticket expo warn"),
            "{html}"
        );
        assert!(html.contains("/kds/expo/bump"), "{html}");
    }
}
