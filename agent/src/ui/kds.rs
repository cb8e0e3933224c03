//! The kitchen display: open tickets per station, oldest first, with an age timer that
//! changes colour as a ticket waits, modifiers and seat/course per line, bump and recall,
//! and the station's all-day counts (what is still to make, by item and modifiers). The
//! expo view (`/kds/expo`) shows every order with tickets in the kitchen, which stations
//! are done with it, and bumps (or recalls) an order's tickets together.
//!
//! Screens update without a reload over server-sent events (one stream per screen, one
//! event per region that changed), and the page beeps when a new ticket arrives.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::{Stream, StreamExt as _};
use serde::Deserialize;
use thorbis_domain::ids::{OrderId, TicketId};
use thorbis_domain::{Command, Currency, Qty};
use uuid::Uuid;

use super::action::{refusal_text, run};
use super::form::Fields;
use super::html::{Message, esc, message, page};
use super::{UiError, UiState, may_use_kds, read};
use crate::{SignedIn, Store, StoreError, TicketView};

/// A ticket older than this shows as waiting too long (amber).
pub(crate) const WARN_MS: u64 = 5 * 60 * 1000;
/// A ticket older than this shows as late (red).
pub(crate) const LATE_MS: u64 = 10 * 60 * 1000;

/// How often a live page's stream looks for writes made outside this UI (sync, another
/// process); writes through the UI wake it at once.
const POLL: Duration = Duration::from_millis(500);

/// The colour class of a ticket `age_ms` old.
pub(crate) fn age_class(age_ms: u64) -> &'static str {
    if age_ms >= LATE_MS {
        "late"
    } else if age_ms >= WARN_MS {
        "warn"
    } else {
        "fresh"
    }
}

/// `m:ss` for an age.
pub(crate) fn age_text(age_ms: u64) -> String {
    let s = age_ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn require_kds(who: &SignedIn) -> Result<(), UiError> {
    if may_use_kds(who.role) { Ok(()) } else { Err(UiError::Forbidden) }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct KdsQuery {
    station: Option<String>,
    msg: Option<String>,
    /// The event count the page was rendered at: the stream stays quiet until it changes,
    /// so it never replaces a list the page already shows (a tap may be landing on it).
    since: Option<u64>,
}

fn station_of(q: Option<&str>) -> Option<String> {
    q.map(str::trim).filter(|s| !s.is_empty() && s.len() <= 40).map(str::to_owned)
}

/// The ticket list, as the page and the live stream show it. The stream passes no `now`:
/// its list then depends only on the queue (the page's script draws ages from
/// `data-sent`), so an unchanged queue renders the same bytes and is not resent.
fn tickets_html(queue: &[TicketView], station: Option<&str>, now_ms: Option<u64>) -> String {
    let mut out = String::new();
    if queue.is_empty() {
        out.push_str("<p class=\"muted empty\">No tickets.</p>");
    }
    for t in queue {
        let (class, age) = now_ms.map_or(("", String::new()), |now| {
            let age = now.saturating_sub(t.sent_at.wall_ms);
            (age_class(age), age_text(age))
        });
        let _ = write!(
            out,
            "<article class=\"ticket {class}\" data-ticket=\"{id}\" data-sent=\"{sent}\">\
<header><span class=\"big\">Table {table}</span><span class=\"station\">{st}</span><span class=\"age\">{age}</span></header><ul>",
            id = t.id.0,
            sent = t.sent_at.wall_ms,
            table = esc(t.table.as_deref().unwrap_or("—")),
            st = esc(&t.ticket.station),
        );
        for line in &t.ticket.lines {
            let qty =
                if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
            let mut tags = Vec::new();
            if let Some(s) = line.seat {
                tags.push(format!("seat {s}"));
            }
            if let Some(c) = line.course {
                tags.push(format!("course {c}"));
            }
            let _ = write!(out, "<li><span class=\"name\">{}{}</span>", esc(&qty), esc(&line.name));
            if !line.modifiers.is_empty() {
                let _ =
                    write!(out, "<span class=\"mods\">{}</span>", esc(&line.modifiers.join(", ")));
            }
            if let Some(note) = &line.note {
                let _ = write!(out, "<span class=\"mods\">{}</span>", esc(note));
            }
            if !tags.is_empty() {
                let _ = write!(out, "<span class=\"tags\">{}</span>", esc(&tags.join(" · ")));
            }
            out.push_str("</li>");
        }
        let _ = write!(
            out,
            "</ul><form method=\"post\" action=\"/kds/bump\"><input type=\"hidden\" name=\"ticket\" value=\"{}\">\
<input type=\"hidden\" name=\"station\" value=\"{}\"><button class=\"btn primary wide bump\" type=\"submit\">Bump</button></form></article>",
            t.id.0,
            esc(station.unwrap_or("")),
        );
    }
    out
}

fn queue(store: &Store, station: Option<&str>) -> Result<Vec<TicketView>, StoreError> {
    store.kds_queue(station)
}

/// One row of the all-day counts: an item made the same way, and how many are still to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AllDay {
    pub(crate) name: String,
    pub(crate) modifiers: Vec<String>,
    pub(crate) qty: Qty,
}

/// Items still to make across the open tickets of `queue`, by item and modifiers (a burger
/// medium rare and a burger well done are two rows), most first, then by name.
pub(crate) fn all_day(queue: &[TicketView]) -> Vec<AllDay> {
    let mut counts: BTreeMap<(&str, &[String]), Qty> = BTreeMap::new();
    for line in queue.iter().flat_map(|t| &t.ticket.lines) {
        *counts.entry((line.name.as_str(), line.modifiers.as_slice())).or_default() += line.qty;
    }
    let mut rows: Vec<AllDay> = counts
        .into_iter()
        .map(|((name, modifiers), qty)| AllDay {
            name: name.to_owned(),
            modifiers: modifiers.to_vec(),
            qty,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.qty.cmp(&a.qty).then_with(|| (&a.name, &a.modifiers).cmp(&(&b.name, &b.modifiers)))
    });
    rows
}

/// The all-day counts' list.
fn all_day_html(queue: &[TicketView]) -> String {
    let rows = all_day(queue);
    if rows.is_empty() {
        return "<p class=\"muted\">Nothing to make.</p>".into();
    }
    let mut out = String::from("<ul class=\"allday\">");
    for row in &rows {
        let _ = write!(
            out,
            "<li data-allday=\"{name}\"><b class=\"count\">{qty}</b><span class=\"name\">{name}</span>",
            qty = esc(&row.qty.to_string()),
            name = esc(&row.name),
        );
        if !row.modifiers.is_empty() {
            let _ = write!(out, "<span class=\"mods\">{}</span>", esc(&row.modifiers.join(", ")));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

/// A screen region the live stream keeps fresh: the element id it replaces, and its HTML.
type Part = (&'static str, String);

/// Server-sent events for a live screen: after the page's event count `since` changes,
/// each region `parts` renders is sent again when its HTML differs from what was sent
/// last (as an event named after the region). Woken by this UI's writes at once, and by a
/// cheap event-count poll for writes from elsewhere (sync, another process).
fn live<F>(
    state: UiState,
    since: Option<u64>,
    parts: F,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: Fn(&Store) -> Result<Vec<Part>, StoreError> + Clone + Send + Sync + 'static,
{
    let rx = state.changed.subscribe();
    let start = (state, rx, since, Vec::<Part>::new());
    futures_util::stream::unfold(start, move |(state, mut rx, mut seen, mut sent)| {
        let parts = parts.clone();
        async move {
            loop {
                if seen.is_some() {
                    tokio::select! {
                        r = rx.changed() => if r.is_err() { tokio::time::sleep(POLL).await },
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                let render = parts.clone();
                let known = seen;
                // The regions are rendered only when the event count moved (a poll that
                // finds nothing new costs one count).
                let read = state
                    .with_store(move |store| {
                        let count = store.event_count()?;
                        if known == Some(count) {
                            return Ok((count, None));
                        }
                        Ok((count, Some(render(store)?)))
                    })
                    .await;
                let (count, now) = match read {
                    Ok((_, None)) => continue,
                    Ok((count, Some(now))) => (count, now),
                    Err(e) => {
                        tracing::warn!(error = %e, "a live kitchen screen could not read the store");
                        seen = Some(0);
                        continue;
                    }
                };
                seen = Some(count);
                let events: Vec<Event> = now
                    .iter()
                    .filter(|part| !sent.contains(part))
                    .map(|(name, html)| Event::default().event(*name).data(html.clone()))
                    .collect();
                sent = now;
                if !events.is_empty() {
                    return Some((events, (state, rx, seen, sent)));
                }
            }
        }
    })
    .flat_map(|events| futures_util::stream::iter(events.into_iter().map(Ok)))
}

/// The kitchen display page, with an optional message.
pub(crate) async fn render(
    state: &UiState,
    who: &SignedIn,
    station: Option<String>,
    msg: Option<Message>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let st = station.clone();
    let (count, queue, bumped, mut stations) = state
        .with_store(move |store| {
            let mut stations: Vec<String> =
                store.items()?.into_iter().filter_map(|i| i.station).collect();
            let count = store.event_count()?;
            let queue = queue(store, st.as_deref())?;
            stations.extend(queue.iter().map(|t| t.ticket.station.clone()));
            Ok((count, queue, read::bumped_tickets(store, st.as_deref(), 5)?, stations))
        })
        .await?;
    stations.sort();
    stations.dedup();
    let now = state.now_ms();
    let mut body = String::from("<nav class=\"tabs\" id=\"stations\">");
    let _ = write!(
        body,
        "<a class=\"tab{}\" href=\"/kds\">All stations</a>",
        if station.is_none() { " on" } else { "" }
    );
    for s in &stations {
        let _ = write!(
            body,
            "<a class=\"tab{}\" href=\"/kds?station={}\" data-station=\"{}\">{}</a>",
            if station.as_deref() == Some(s) { " on" } else { "" },
            esc(&urlencode(s)),
            esc(s),
            esc(s)
        );
    }
    let _ = write!(
        body,
        "<a class=\"tab\" href=\"/kds/expo\" id=\"expo-link\">Expo</a>\
<button type=\"button\" class=\"btn ghost\" id=\"sound\" data-sound>Sound on</button></nav>{}\
<section class=\"panel\" id=\"allday-panel\"><h2>All day</h2><div id=\"allday\">{}</div></section>\
<div id=\"tickets\" class=\"tickets\" data-now=\"{now}\" data-warn-ms=\"{WARN_MS}\" data-late-ms=\"{LATE_MS}\" data-live=\"/kds/events{q}\" data-parts=\"tickets allday\">{}</div>",
        message(msg.as_ref()),
        all_day_html(&queue),
        tickets_html(&queue, station.as_deref(), Some(now)),
        q = station.as_deref().map_or(format!("?since={count}"), |s| {
            format!("?since={count}&amp;station={}", esc(&urlencode(s)))
        }),
    );
    body.push_str("<section class=\"panel\" id=\"recall\"><h2>Recently bumped</h2>");
    if bumped.is_empty() {
        body.push_str("<p class=\"muted\">None.</p>");
    }
    for t in &bumped {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/kds/recall\" class=\"row\" data-ticket=\"{id}\"><input type=\"hidden\" name=\"ticket\" value=\"{id}\">\
<input type=\"hidden\" name=\"station\" value=\"{st}\"><span>Table {table} · {station} · {n} item{s}</span>\
<button class=\"btn\" type=\"submit\">Recall</button></form>",
            id = t.id.0,
            st = esc(station.as_deref().unwrap_or("")),
            table = esc(t.table.as_deref().unwrap_or("—")),
            station = esc(&t.ticket.station),
            n = t.ticket.lines.len(),
            s = if t.ticket.lines.len() == 1 { "" } else { "s" },
        );
    }
    body.push_str("</section>");
    Ok((status, page("Kitchen", "kds", Some(who), &state.indicators(), &body)).into_response())
}

/// `GET /kds`.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
    require_kds(&who)?;
    let msg = match q.msg.as_deref() {
        Some("bumped") => Some(Message::Info("Bumped.".into())),
        Some("recalled") => Some(Message::Info("Recalled.".into())),
        _ => None,
    };
    render(&state, &who, station_of(q.station.as_deref()), msg, StatusCode::OK).await
}

/// `GET /kds/tickets`: the ticket list alone.
pub(crate) async fn fragment(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
    require_kds(&who)?;
    let station = station_of(q.station.as_deref());
    let st = station.clone();
    let queue = state.with_store(move |store| queue(store, st.as_deref())).await?;
    Ok(Html(tickets_html(&queue, station.as_deref(), Some(state.now_ms()))).into_response())
}

/// `GET /kds/events`: the ticket list and the all-day counts again whenever they change.
/// The stream passes no `now`: its list then depends only on the queue (the page's script
/// draws ages from `data-sent`), so an unchanged queue renders the same bytes and is not
/// resent.
pub(crate) async fn events(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    require_kds(&who)?;
    let station = station_of(q.station.as_deref());
    let stream = live(state, q.since, move |store| {
        let queue = queue(store, station.as_deref())?;
        Ok(vec![
            ("tickets", tickets_html(&queue, station.as_deref(), None)),
            ("allday", all_day_html(&queue)),
        ])
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn ticket_command(
    state: UiState,
    who: SignedIn,
    fields: Vec<(String, String)>,
    make: fn(TicketId) -> Command,
    done: &str,
) -> Result<Response, UiError> {
    require_kds(&who)?;
    let fields = Fields(fields);
    let station = station_of(Some(fields.get("station")));
    let ticket = TicketId(Uuid::try_parse(fields.get("ticket")).map_err(|_| UiError::NotFound)?);
    let command = make(ticket);
    match run(&state, vec![command], Currency::USD).await? {
        Ok(()) => {
            let q = station.map_or(String::new(), |s| format!("station={}&", urlencode(&s)));
            Ok(Redirect::to(&format!("/kds?{q}msg={done}")).into_response())
        }
        Err(e) => {
            render(&state, &who, station, Some(Message::Error(e)), StatusCode::CONFLICT).await
        }
    }
}

/// `POST /kds/bump`.
pub(crate) async fn bump(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    ticket_command(state, who, fields, |ticket_id| Command::BumpTicket { ticket_id }, "bumped")
        .await
}

/// `POST /kds/recall`.
pub(crate) async fn recall(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    ticket_command(state, who, fields, |ticket_id| Command::RecallTicket { ticket_id }, "recalled")
        .await
}

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

/// How many orders whose tickets are all done expo still lists (most recent first), so a
/// ticket bumped by mistake can be called back.
const EXPO_READY: usize = 5;

/// Orders with a ticket still in the kitchen (oldest first), and the orders most recently
/// finished by every station (at most [`EXPO_READY`]).
pub(crate) fn expo_orders(store: &Store) -> Result<(Vec<ExpoOrder>, Vec<ExpoOrder>), StoreError> {
    let open = store.kds_queue(None)?;
    // Most recently bumped first.
    let bumped = read::bumped_tickets(store, None, usize::MAX)?;
    let mut orders: Vec<ExpoOrder> = Vec::new();
    let add = |orders: &mut Vec<ExpoOrder>, t: &TicketView, done: bool| match orders
        .iter_mut()
        .find(|o| o.order_id == t.order_id)
    {
        Some(o) => {
            o.sent_at = o.sent_at.min(t.sent_at);
            o.tickets.push((t.clone(), done));
        }
        None => orders.push(ExpoOrder {
            order_id: t.order_id,
            table: t.table.clone(),
            sent_at: t.sent_at,
            tickets: vec![(t.clone(), done)],
        }),
    };
    for t in &open {
        add(&mut orders, t, false);
    }
    let mut ready: Vec<ExpoOrder> = Vec::new();
    for t in &bumped {
        if orders.iter().any(|o| o.order_id == t.order_id) {
            add(&mut orders, t, true);
        } else if ready.len() < EXPO_READY || ready.iter().any(|o| o.order_id == t.order_id) {
            add(&mut ready, t, true);
        }
    }
    for o in orders.iter_mut().chain(ready.iter_mut()) {
        o.tickets.sort_by(|(a, _), (b, _)| {
            (&a.ticket.station, a.sent_at, a.id).cmp(&(&b.ticket.station, b.sent_at, b.id))
        });
    }
    orders.sort_by_key(|o| (o.sent_at, o.order_id));
    Ok((orders, ready))
}

/// The expo region: open orders with their stations, then the finished ones. With `now`,
/// ages are drawn server-side; the live stream passes none (the script draws them).
fn expo_html(open: &[ExpoOrder], ready: &[ExpoOrder], now_ms: Option<u64>) -> String {
    let mut out = String::from("<div class=\"tickets\" id=\"expo-orders\">");
    if open.is_empty() {
        out.push_str("<p class=\"muted empty\">No orders in the kitchen.</p>");
    }
    for o in open {
        let (class, age) = now_ms.map_or(("", String::new()), |now| {
            let age = now.saturating_sub(o.sent_at.wall_ms);
            (age_class(age), age_text(age))
        });
        let done = o.tickets.iter().filter(|(_, d)| *d).count();
        let _ = write!(
            out,
            "<article class=\"ticket expo {class}\" data-order=\"{id}\" data-sent=\"{sent}\">\
<header><span class=\"big\">Table {table}</span><span class=\"progress muted\">{done} of {n} done</span><span class=\"age\">{age}</span></header><ul>",
            id = o.order_id.0,
            sent = o.sent_at.wall_ms,
            table = esc(o.table.as_deref().unwrap_or("—")),
            n = o.tickets.len(),
        );
        for (t, done) in &o.tickets {
            let items: Vec<String> = t
                .ticket
                .lines
                .iter()
                .map(|l| {
                    let qty =
                        if l.qty == Qty::ONE { String::new() } else { format!("{} × ", l.qty) };
                    if l.modifiers.is_empty() {
                        format!("{qty}{}", l.name)
                    } else {
                        format!("{qty}{} ({})", l.name, l.modifiers.join(", "))
                    }
                })
                .collect();
            let _ = write!(
                out,
                "<li class=\"stn {state}\" data-ticket=\"{id}\" data-station=\"{st}\"><span class=\"name\">{st} · <b class=\"state\">{label}</b></span><span class=\"mods\">{items}</span></li>",
                state = if *done { "done" } else { "making" },
                label = if *done { "done" } else { "making" },
                id = t.id.0,
                st = esc(&t.ticket.station),
                items = esc(&items.join(", ")),
            );
        }
        let _ = write!(
            out,
            "</ul><form method=\"post\" action=\"/kds/expo/bump\"><input type=\"hidden\" name=\"order\" value=\"{}\">\
<button class=\"btn primary wide bump\" type=\"submit\">Bump order</button></form></article>",
            o.order_id.0
        );
    }
    out.push_str("</div><section class=\"panel\" id=\"ready\"><h2>All stations done</h2>");
    if ready.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>");
    }
    for o in ready {
        let stations: Vec<&str> =
            o.tickets.iter().map(|(t, _)| t.ticket.station.as_str()).collect();
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/kds/expo/recall\" class=\"row\" data-order=\"{id}\"><input type=\"hidden\" name=\"order\" value=\"{id}\">\
<span>Table {table} · {stations}</span><button class=\"btn\" type=\"submit\">Recall</button></form>",
            id = o.order_id.0,
            table = esc(o.table.as_deref().unwrap_or("—")),
            stations = esc(&stations.join(", ")),
        );
    }
    out.push_str("</section>");
    out
}

/// The expo page, with an optional message.
async fn render_expo(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (count, (open, ready)) =
        state.with_store(|store| Ok((store.event_count()?, expo_orders(store)?))).await?;
    let now = state.now_ms();
    let body = format!(
        "<nav class=\"tabs\" id=\"stations\"><a class=\"tab\" href=\"/kds\">All stations</a>\
<a class=\"tab on\" href=\"/kds/expo\">Expo</a>\
<button type=\"button\" class=\"btn ghost\" id=\"sound\" data-sound>Sound on</button></nav>{msg}\
<div id=\"expo\" data-now=\"{now}\" data-warn-ms=\"{WARN_MS}\" data-late-ms=\"{LATE_MS}\" data-live=\"/kds/expo/events?since={count}\" data-parts=\"expo\">{html}</div>",
        msg = message(msg.as_ref()),
        html = expo_html(&open, &ready, Some(now)),
    );
    Ok((status, page("Expo", "expo", Some(who), &state.indicators(), &body)).into_response())
}

/// `GET /kds/expo`.
pub(crate) async fn expo(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
    require_kds(&who)?;
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
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    require_kds(&who)?;
    let stream = live(state, q.since, |store| {
        let (open, ready) = expo_orders(store)?;
        Ok(vec![("expo", expo_html(&open, &ready, None))])
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Bumps (or recalls) every ticket of one order that is still open (or done), together.
async fn expo_command(
    state: UiState,
    who: SignedIn,
    fields: Vec<(String, String)>,
    bump: bool,
) -> Result<Response, UiError> {
    require_kds(&who)?;
    let order =
        OrderId(Uuid::try_parse(Fields(fields).get("order")).map_err(|_| UiError::NotFound)?);
    let result = state
        .with_store(move |store| {
            let tickets: Vec<TicketId> = if bump {
                store.kds_queue(None)?
            } else {
                read::bumped_tickets(store, None, usize::MAX)?
            }
            .into_iter()
            .filter(|t| t.order_id == order)
            .map(|t| t.id)
            .collect();
            if tickets.is_empty() {
                let text = if bump {
                    "Nothing left to bump on this order."
                } else {
                    "Nothing to recall on this order."
                };
                return Ok(Err(text.to_owned()));
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
                Ok(_) => Ok(Ok(())),
                Err(StoreError::Refused(e)) => {
                    Ok(Err(refusal_text(&e, thorbis_domain::Currency::USD)))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    match result {
        Ok(()) => {
            state.notify();
            let done = if bump { "bumped" } else { "recalled" };
            Ok(Redirect::to(&format!("/kds/expo?msg={done}")).into_response())
        }
        Err(e) => render_expo(&state, &who, Some(Message::Error(e)), StatusCode::CONFLICT).await,
    }
}

/// `POST /kds/expo/bump`.
pub(crate) async fn expo_bump(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    expo_command(state, who, fields, true).await
}

/// `POST /kds/expo/recall`.
pub(crate) async fn expo_recall(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    expo_command(state, who, fields, false).await
}

/// Percent-encodes a query value (station names are free text from the catalog).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_age_from_fresh_to_late() {
        assert_eq!(age_class(0), "fresh");
        assert_eq!(age_class(WARN_MS - 1), "fresh");
        assert_eq!(age_class(WARN_MS), "warn");
        assert_eq!(age_class(LATE_MS), "late");
        assert_eq!(age_text(0), "0:00");
        assert_eq!(age_text(61_999), "1:01");
        assert_eq!(age_text(LATE_MS), "10:00");
    }

    fn ticket(n: u128, station: &str, lines: &[(&str, i64, &[&str])]) -> TicketView {
        use thorbis_domain::events::{KitchenTicket, TicketLine};
        use thorbis_domain::ids::LineId;
        TicketView {
            id: TicketId(Uuid::from_u128(n)),
            order_id: OrderId(Uuid::from_u128(1000 + n)),
            table: Some(format!("T{n}")),
            ticket: KitchenTicket {
                ticket_id: TicketId(Uuid::from_u128(n)),
                station: station.into(),
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(i, (name, qty, mods))| TicketLine {
                        line_id: LineId(Uuid::from_u128(n * 100 + i as u128)),
                        name: (*name).into(),
                        qty: Qty::units(*qty),
                        modifiers: mods.iter().map(|m| (*m).to_owned()).collect(),
                        seat: None,
                        course: None,
                        note: None,
                    })
                    .collect(),
            },
            sent_at: thorbis_sync_protocol::Hlc { wall_ms: 1_000 + n as u64, counter: 0 },
        }
    }

    #[test]
    fn all_day_counts_add_up_by_item_and_modifiers() {
        let queue = [
            ticket(1, "grill", &[("Burger", 1, &["Medium rare"]), ("Burger", 2, &["Well done"])]),
            ticket(2, "grill", &[("Burger", 1, &["Medium rare"]), ("Steak", 1, &[])]),
            ticket(3, "fryer", &[("Fries", 3, &[])]),
        ];
        let rows: Vec<(String, String, Qty)> =
            all_day(&queue).into_iter().map(|r| (r.name, r.modifiers.join(","), r.qty)).collect();
        assert_eq!(
            rows,
            [
                ("Fries".into(), String::new(), Qty::units(3)),
                ("Burger".into(), "Medium rare".into(), Qty::units(2)),
                ("Burger".into(), "Well done".into(), Qty::units(2)),
                ("Steak".into(), String::new(), Qty::units(1)),
            ]
        );
        assert!(all_day(&[]).is_empty());
        let html = all_day_html(&[ticket(4, "grill", &[("<b>", 1, &["&"])])]);
        assert!(
            html.contains("&lt;b&gt;") && html.contains("&amp;") && !html.contains("<b>"),
            "{html}"
        );
    }

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
        let html = expo_html(&[order], &[], Some(1_000 + 6 * 60 * 1000));
        assert!(html.contains("1 of 2 done") && html.contains("Table 12"), "{html}");
        assert!(html.contains("fryer · <b class=\"state\">done"), "{html}");
        assert!(html.contains("grill · <b class=\"state\">making"), "{html}");
        assert!(
            html.contains("Burger (Medium rare)") && html.contains("ticket expo warn"),
            "{html}"
        );
        assert!(html.contains("/kds/expo/bump"), "{html}");
    }

    #[test]
    fn station_names_are_encoded_for_links() {
        assert_eq!(urlencode("grill"), "grill");
        assert_eq!(urlencode("cold & hot"), "cold%20%26%20hot");
    }
}
