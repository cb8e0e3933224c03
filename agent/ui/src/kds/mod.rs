//! The kitchen display: open tickets per station, oldest first, with an age timer that
//! changes colour as a ticket waits, modifiers and seat/course per line, bump and recall,
//! and the station's all-day counts (what is still to make, by item and modifiers). The
//! expo view (`/kds/expo`) shows every order with tickets in the kitchen, which stations
//! are done with it, and bumps (or recalls) an order's tickets together.
//!
//! Screens update without a reload over server-sent events (one stream per screen, one
//! event per region that changed), and the page beeps when a new ticket arrives. A stream
//! looks for change by the store's [`change_mark`](thorbis_agent::Store::change_mark) (the chain
//! tips), and renders only when it moved. The expo view is `expo.rs`.

mod expo;

pub(crate) use expo::{expo, expo_bump, expo_events, expo_recall};

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::ids::TicketId;
use thorbis_domain::{Command, Qty};
use thorbis_web::components::{hidden, plural};
use thorbis_web::respond::{Href, post_then_redirect};
use uuid::Uuid;

use super::access::KitchenStaff;
use super::action::{run, store_currency};
use super::html::{Message, message, page};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::{SignedIn, Store, StoreError, TicketView};

/// A ticket older than this shows as waiting too long (amber).
pub(crate) const WARN_MS: u64 = 5 * 60 * 1000;
/// A ticket older than this shows as late (red).
pub(crate) const LATE_MS: u64 = 10 * 60 * 1000;

/// How often a live page's stream looks for writes made outside this UI (sync, another
/// process); writes through the UI wake it at once.
const POLL: Duration = Duration::from_millis(500);

/// How many recently bumped tickets the recall list shows.
const RECALLABLE: usize = 5;

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

/// The class and text of an age, drawn server-side only when `now_ms` is given.
fn age(sent_ms: u64, now_ms: Option<u64>) -> (&'static str, String) {
    now_ms.map_or(("", String::new()), |now| {
        let age = now.saturating_sub(sent_ms);
        (age_class(age), age_text(age))
    })
}

/// `2 × ` before a name, nothing for one.
fn qty_prefix(qty: Qty) -> String {
    if qty == Qty::ONE { String::new() } else { format!("{qty} × ") }
}

/// "seat 2", "course 1": where a line goes, as tags.
pub(crate) fn seat_and_course(seat: Option<u16>, course: Option<u16>) -> Vec<String> {
    seat.map(|s| format!("seat {s}"))
        .into_iter()
        .chain(course.map(|c| format!("course {c}")))
        .collect()
}

/// What the kitchen screens read from their address.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct KdsQuery {
    station: Option<String>,
    msg: Option<String>,
    /// The store's change mark the page was rendered at: the stream stays quiet until it
    /// changes, so it never replaces a list the page already shows (a tap may be landing
    /// on it).
    since: Option<u64>,
}

fn station_of(q: Option<&str>) -> Option<String> {
    q.map(str::trim).filter(|s| !s.is_empty() && s.len() <= 40).map(str::to_owned)
}

/// The ticket list, as the page and the live stream show it. The stream passes no `now`:
/// its list then depends only on the queue (the page's script draws ages from
/// `data-sent`), so an unchanged queue renders the same bytes and is not resent.
fn tickets_html(queue: &[TicketView], station: Option<&str>, now_ms: Option<u64>) -> Markup {
    html! {
        @if queue.is_empty() { p.muted.empty { "No tickets." } }
        @for t in queue {
            @let (class, age) = age(t.sent_at.wall_ms, now_ms);
            article class={ "ticket " (class) } data-ticket=(t.id.0) data-sent=(t.sent_at.wall_ms) {
                header {
                    span.big { "Table " (t.table.as_deref().unwrap_or("—")) }
                    span.station { (t.ticket.station) }
                    span.age { (age) }
                }
                ul {
                    @for line in &t.ticket.lines {
                        @let tags = seat_and_course(line.seat, line.course);
                        li {
                            span.name { (qty_prefix(line.qty)) (line.name) }
                            @if !line.modifiers.is_empty() {
                                span.mods { (line.modifiers.join(", ")) }
                            }
                            @if let Some(note) = &line.note { span.mods { (note) } }
                            @if !tags.is_empty() { span.tags { (tags.join(" · ")) } }
                        }
                    }
                }
                form method="post" action="/kds/bump" {
                    (csrf_field())
                    (hidden("ticket", t.id.0))
                    (hidden("station", station.unwrap_or("")))
                    button.btn.primary.wide.bump type="submit" { "Bump" }
                }
            }
        }
    }
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
fn all_day_html(queue: &[TicketView]) -> Markup {
    let rows = all_day(queue);
    html! {
        @if rows.is_empty() {
            p.muted { "Nothing to make." }
        } @else {
            ul.allday {
                @for row in &rows {
                    li data-allday=(row.name) {
                        b.count { (row.qty) }
                        span.name { (row.name) }
                        @if !row.modifiers.is_empty() { span.mods { (row.modifiers.join(", ")) } }
                    }
                }
            }
        }
    }
}

/// A screen region the live stream keeps fresh: the element id it replaces, and its HTML.
type Part = (&'static str, String);

/// Server-sent events for a live screen: after the store's change mark moves from the
/// page's `since`, each region `parts` renders is sent again when its HTML differs from
/// what was sent last (as an event named after the region). Woken by this UI's writes at
/// once, and by a cheap look at the chain tips for writes from elsewhere (sync, another
/// process).
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
    // The regions' forms carry the token of the page that opened the stream.
    let token = crate::guard::token();
    futures_util::stream::unfold(start, move |(state, mut rx, mut seen, mut sent)| {
        let (parts, token) = (parts.clone(), token.clone());
        async move {
            loop {
                if seen.is_some() {
                    tokio::select! {
                        r = rx.changed() => if r.is_err() { tokio::time::sleep(POLL).await },
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                let (render, token) = (parts.clone(), token.clone());
                let known = seen;
                // The regions are rendered only when the mark moved (a poll that finds
                // nothing new costs one read of the chain tips).
                let read = state
                    .with_store(move |store| {
                        let mark = store.change_mark()?;
                        if known == Some(mark) {
                            return Ok((mark, None));
                        }
                        Ok((mark, Some(crate::guard::with_token(token, || render(store))?)))
                    })
                    .await;
                let (mark, now) = match read {
                    Ok((_, None)) => continue,
                    Ok((mark, Some(now))) => (mark, now),
                    Err(e) => {
                        tracing::warn!(error = %e, "a live kitchen screen could not read the store");
                        seen = Some(0);
                        continue;
                    }
                };
                seen = Some(mark);
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

/// The station tabs and the sound switch, `on` naming the open tab.
fn tabs(stations: &[String], station: Option<&str>, expo: bool) -> Markup {
    html! {
        nav.tabs #stations {
            a.tab.on[station.is_none() && !expo] href="/kds" { "All stations" }
            @for s in stations {
                a.tab.on[station == Some(s.as_str())] href=(Href::new("/kds").param("station", s))
                    data-station=(s) { (s) }
            }
            @if expo {
                a.tab.on href="/kds/expo" { "Expo" }
            } @else {
                a.tab #expo-link href="/kds/expo" { "Expo" }
            }
            button.btn.ghost #sound type="button" data-sound { "Sound on" }
        }
    }
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
    let (mark, queue, bumped, mut stations) = state
        .with_store(move |store| {
            let mut stations: Vec<String> =
                store.items()?.into_iter().filter_map(|i| i.station).collect();
            let mark = store.change_mark()?;
            let queue = store.kds_queue(st.as_deref())?;
            stations.extend(queue.iter().map(|t| t.ticket.station.clone()));
            Ok((mark, queue, store.recently_bumped(st.as_deref(), RECALLABLE)?, stations))
        })
        .await?;
    stations.sort();
    stations.dedup();
    let now = state.now_ms();
    let live_url =
        Href::new("/kds/events").param("since", mark).param_opt("station", station.as_deref());
    let body = html! {
        (tabs(&stations, station.as_deref(), false))
        (message(msg.as_ref()))
        section.panel #allday-panel {
            h2 { "All day" }
            div #allday { (all_day_html(&queue)) }
        }
        div #tickets .tickets data-now=(now) data-warn-ms=(WARN_MS) data-late-ms=(LATE_MS)
            data-live=(live_url) data-parts="tickets allday" {
            (tickets_html(&queue, station.as_deref(), Some(now)))
        }
        section.panel #recall {
            h2 { "Recently bumped" }
            @if bumped.is_empty() { p.muted { "None." } }
            @for t in &bumped {
                form.row method="post" action="/kds/recall" data-ticket=(t.id.0) {
                    (csrf_field())
                    (hidden("ticket", t.id.0))
                    (hidden("station", station.as_deref().unwrap_or("")))
                    span {
                        "Table " (t.table.as_deref().unwrap_or("—")) " · " (t.ticket.station)
                        " · " (plural(t.ticket.lines.len(), "item"))
                    }
                    button.btn type="submit" { "Recall" }
                }
            }
        }
    };
    Ok((status, page("Kitchen", "kds", Some(who), &state.indicators(), body)).into_response())
}

/// `GET /kds`.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: KitchenStaff,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
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
    _who: KitchenStaff,
    Query(q): Query<KdsQuery>,
) -> Result<Response, UiError> {
    let station = station_of(q.station.as_deref());
    let st = station.clone();
    let queue = state.with_store(move |store| store.kds_queue(st.as_deref())).await?;
    Ok(tickets_html(&queue, station.as_deref(), Some(state.now_ms())).into_response())
}

/// `GET /kds/events`: the ticket list and the all-day counts again whenever they change.
/// The stream passes no `now`: its list then depends only on the queue (the page's script
/// draws ages from `data-sent`), so an unchanged queue renders the same bytes and is not
/// resent.
pub(crate) async fn events(
    State(state): State<UiState>,
    _who: KitchenStaff,
    Query(q): Query<KdsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let station = station_of(q.station.as_deref());
    let stream = live(state, q.since, move |store| {
        let queue = store.kds_queue(station.as_deref())?;
        Ok(vec![
            ("tickets", tickets_html(&queue, station.as_deref(), None).into_string()),
            ("allday", all_day_html(&queue).into_string()),
        ])
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A bump or recall of one ticket, from the station screen.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    station: String,
}

async fn ticket_command(
    state: UiState,
    who: &SignedIn,
    form: TicketForm,
    make: fn(TicketId) -> Command,
    done: &str,
) -> Result<Response, UiError> {
    let station = station_of(Some(&form.station));
    let ticket = TicketId(Uuid::try_parse(form.ticket.trim()).map_err(|_| UiError::NotFound)?);
    let currency = store_currency(&state).await?;
    let refusal = run(&state, vec![make(ticket)], currency).await?.err();
    let to = || {
        Href::new("/kds").param_opt("station", station.as_deref()).param("msg", done).into_string()
    };
    post_then_redirect(refusal, to, |e| {
        render(&state, who, station.clone(), Some(Message::Error(e)), StatusCode::CONFLICT)
    })
    .await
}

/// `POST /kds/bump`.
pub(crate) async fn bump(
    State(state): State<UiState>,
    who: KitchenStaff,
    Form(form): Form<TicketForm>,
) -> Result<Response, UiError> {
    ticket_command(state, &who, form, |ticket_id| Command::BumpTicket { ticket_id }, "bumped").await
}

/// `POST /kds/recall`.
pub(crate) async fn recall(
    State(state): State<UiState>,
    who: KitchenStaff,
    Form(form): Form<TicketForm>,
) -> Result<Response, UiError> {
    ticket_command(state, &who, form, |ticket_id| Command::RecallTicket { ticket_id }, "recalled")
        .await
}

#[cfg(test)]
pub(super) mod tests {
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

    pub(super) fn ticket(n: u128, station: &str, lines: &[(&str, i64, &[&str])]) -> TicketView {
        use thorbis_domain::events::{KitchenTicket, TicketLine};
        use thorbis_domain::ids::{LineId, OrderId};
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
        let html = all_day_html(&[ticket(4, "grill", &[("<b>", 1, &["&"])])]).into_string();
        assert!(
            html.contains("&lt;b&gt;") && html.contains("&amp;") && !html.contains("<b>"),
            "{html}"
        );
    }

    #[test]
    fn station_links_encode_their_names() {
        let html = tabs(&["cold & hot".into()], None, false).into_string();
        assert!(html.contains("href=\"/kds?station=cold%20%26%20hot\""), "{html}");
        assert!(html.contains("data-station=\"cold &amp; hot\""), "{html}");
    }
}
