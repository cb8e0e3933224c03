//! The kitchen display: open tickets per station, oldest first, with an age timer that
//! changes colour as a ticket waits, modifiers and seat/course per line, bump and recall.
//! The ticket list updates without a reload over server-sent events, and the page beeps
//! when a new ticket arrives.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde::Deserialize;
use thorbis_domain::ids::TicketId;
use thorbis_domain::{Command, Qty};
use uuid::Uuid;

use super::form::Fields;
use super::html::{Message, esc, message, page};
use super::pos::refusal_text;
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
        "<button type=\"button\" class=\"btn ghost\" id=\"sound\" data-sound>Sound on</button></nav>{}\
<div id=\"tickets\" class=\"tickets\" data-now=\"{now}\" data-warn-ms=\"{WARN_MS}\" data-late-ms=\"{LATE_MS}\" data-live=\"/kds/events{q}\">{}</div>",
        message(msg.as_ref()),
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

/// `GET /kds/events`: the ticket list again whenever it changes.
pub(crate) async fn events(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<KdsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    require_kds(&who)?;
    let station = station_of(q.station.as_deref());
    let rx = state.changed.subscribe();
    let start = (state, station, rx, q.since, None::<String>);
    let stream =
        futures_util::stream::unfold(start, |(state, station, mut rx, seen, last)| async move {
            let mut seen = seen;
            loop {
                if seen.is_some() {
                    tokio::select! {
                        r = rx.changed() => if r.is_err() { tokio::time::sleep(POLL).await },
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                let st = station.clone();
                let read = state
                    .with_store(move |store| {
                        Ok((store.event_count()?, queue(store, st.as_deref())?))
                    })
                    .await;
                let (count, queue) = match read {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(error = %e, "kitchen stream could not read the queue");
                        seen = Some(0);
                        continue;
                    }
                };
                if seen == Some(count) {
                    continue;
                }
                seen = Some(count);
                let html = tickets_html(&queue, station.as_deref(), None);
                if last.as_ref() != Some(&html) {
                    let event = Event::default().event("tickets").data(html.clone());
                    return Some((Ok(event), (state, station, rx, seen, Some(html))));
                }
            }
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
    let result = state
        .with_store(move |store| match store.execute(&command) {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Refused(e)) => Ok(Err(refusal_text(&e, thorbis_domain::Currency::USD))),
            Err(e) => Err(e),
        })
        .await?;
    match result {
        Ok(()) => {
            state.notify();
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

    #[test]
    fn station_names_are_encoded_for_links() {
        assert_eq!(urlencode("grill"), "grill");
        assert_eq!(urlencode("cold & hot"), "cold%20%26%20hot");
    }
}
