//! The sessions screen, for managers: who is signed in on this terminal and since when,
//! and a way to end a session (a cashier who walked away signed in) or every session but
//! one's own. Ending takes effect on the next request of that session.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use thorbis_web::components::{Message, hidden, message};
use thorbis_web::respond::{Href, see_other};

use super::access::Manager;
use super::html::{ago, page};
use super::session::cookie_value;
use super::{UiError, UiState};
use crate::guard::csrf_field;

/// The screen's address.
const PATH: &str = "/sessions";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    ended: Option<usize>,
}

/// `GET /sessions`.
pub(crate) async fn list(
    State(state): State<UiState>,
    who: Manager,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let now = state.now_ms();
    let own = own_handle(&state, &headers);
    let sessions = state.sessions.list(now);
    let staff = state.with_store(|store| store.active_staff()).await?;
    let name_of =
        |id| staff.iter().find(|s| s.id == id).map_or("(no longer on staff)", |s| &s.name);
    let msg = q.ended.map(|n| {
        Message::Info(match n {
            1 => "1 session ended.".to_owned(),
            n => format!("{n} sessions ended."),
        })
    });
    let body = html! {
        h1 { "Signed in on this terminal" }
        (message(msg.as_ref()))
        table.list #sessions {
            thead { tr { th { "Who" } th { "Signed in" } th { "Last used" } th {} } }
            tbody {
                @for s in &sessions {
                    tr data-session=(s.handle) {
                        td { (name_of(s.staff_id)) }
                        td { (ago(now, s.started_ms)) }
                        td { (ago(now, s.seen_ms)) }
                        td {
                            @if own.as_deref() == Some(s.handle.as_str()) {
                                "this session"
                            } @else {
                                form.inline method="post" action="/sessions/end" {
                                    (csrf_field())
                                    (hidden("session", &s.handle))
                                    button.btn.ghost type="submit" { "End" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if sessions.len() > 1 {
            form method="post" action="/sessions/end" {
                (csrf_field())
                (hidden("others", "1"))
                button.btn.primary #end-others type="submit" { "End every other session" }
            }
        }
    };
    Ok(page("Sessions", "sessions", Some(&who), &state.indicators(), body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EndForm {
    #[serde(default)]
    session: String,
    #[serde(default)]
    others: String,
}

/// `POST /sessions/end`: one session by its handle, or every other one.
pub(crate) async fn end(
    State(state): State<UiState>,
    who: Manager,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Result<Response, UiError> {
    let own = own_handle(&state, &headers).unwrap_or_default();
    let ended = if form.others == "1" {
        state.sessions.end_all_but(&own)
    } else {
        usize::from(form.session != own && state.sessions.end_handle(&form.session))
    };
    tracing::info!(manager = %who.staff_id, ended, "sessions ended from the terminal");
    Ok(see_other(&Href::new(PATH).param("ended", ended).into_string()))
}

/// The handle of the request's own session.
fn own_handle(state: &UiState, headers: &HeaderMap) -> Option<String> {
    cookie_value(headers)
        .and_then(|cookie| state.sessions.touch(&cookie, state.now_ms()))
        .map(|s| s.handle)
}
