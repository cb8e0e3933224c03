//! Sign-in: pick your name, type your PIN on the pad. The PIN is checked offline by
//! [`Store::sign_in`](crate::Store::sign_in) (argon2id hashes, lockout); a wrong PIN or a
//! lockout is shown on the pad itself.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use thorbis_domain::ids::StaffId;
use uuid::Uuid;

use super::form::Fields;
use super::html::{Message, esc, message, page};
use super::session::{MaybeSignedIn, clear_cookie, set_cookie};
use super::{UiError, UiState, home_of, read};
use crate::SignInError;
use crate::staff::is_valid_pin;

/// The staff picker.
pub(crate) async fn pick_staff(
    State(state): State<UiState>,
    MaybeSignedIn(who): MaybeSignedIn,
) -> Result<Response, UiError> {
    let staff = state.with_store(|store| read::active_staff(store)).await?;
    let mut body = String::from("<h1>Who is signing in?</h1><div class=\"grid staff\">");
    for s in &staff {
        let _ = write!(
            body,
            "<a class=\"tile\" href=\"/signin/{}\" data-staff=\"{}\">{}</a>",
            s.id.0,
            esc(&s.name),
            esc(&s.name)
        );
    }
    if staff.is_empty() {
        body.push_str("<p class=\"msg\">No staff are published to this terminal yet.</p>");
    }
    body.push_str("</div>");
    Ok(page("Sign in", "signin", who.as_ref(), &state.indicators(), &body).into_response())
}

/// The PIN pad for one member of staff.
pub(crate) async fn pin_pad(
    State(state): State<UiState>,
    Path(staff): Path<String>,
) -> Result<Response, UiError> {
    let id = Uuid::try_parse(&staff).map_err(|_| UiError::NotFound)?;
    render_pad(&state, StaffId(id), None, StatusCode::OK).await
}

async fn render_pad(
    state: &UiState,
    id: StaffId,
    msg: Option<Message>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let staff = state
        .with_store(move |store| read::staff(store, id))
        .await?
        .filter(|s| s.active)
        .ok_or(UiError::NotFound)?;
    let mut keys = String::new();
    for d in ["1", "2", "3", "4", "5", "6", "7", "8", "9"] {
        let _ =
            write!(keys, "<button type=\"button\" class=\"key\" data-digit=\"{d}\">{d}</button>");
    }
    keys.push_str(
        "<button type=\"button\" class=\"key\" data-clear>Clear</button>\
         <button type=\"button\" class=\"key\" data-digit=\"0\">0</button>\
         <button type=\"submit\" class=\"key go\" id=\"pin-ok\">OK</button>",
    );
    let body = format!(
        "<h1>PIN for {name}</h1>{msg}<form method=\"post\" action=\"/signin\" class=\"pinpad\" id=\"pinpad\">\
<input type=\"hidden\" name=\"staff\" value=\"{id}\">\
<input id=\"pin\" name=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"16\" autofocus aria-label=\"PIN\">\
<div class=\"keys\">{keys}</div></form><p><a class=\"btn ghost\" href=\"/signin\">Not {name}?</a></p>",
        name = esc(&staff.name),
        msg = message(msg.as_ref()),
        id = id.0,
    );
    Ok((status, page("Sign in", "pin", None, &state.indicators(), &body)).into_response())
}

/// Checks the PIN; signs in and goes to the role's screen, or shows why not.
pub(crate) async fn submit(
    State(state): State<UiState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let fields = Fields(fields);
    let id = Uuid::try_parse(fields.get("staff")).map_err(|_| UiError::NotFound)?;
    let id = StaffId(id);
    let pin = fields.get("pin").to_owned();
    if !is_valid_pin(&pin) {
        let msg = Message::Error("A PIN is 4 to 8 digits.".into());
        return render_pad(&state, id, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let now = state.now_ms();
    let result = state.with_store(move |store| Ok(store.sign_in(id, &pin))).await?;
    match result {
        Ok(who) => {
            let cookie = set_cookie(&state.key.sign(who.staff_id, now));
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(home_of(&who))).into_response())
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(SignInError::LockedOut { until_ms }) => {
            let minutes = until_ms.saturating_sub(state.now_ms()).div_ceil(60_000).max(1);
            let msg = Message::Error(format!(
                "Too many wrong PINs: sign-in is locked for {minutes} more minute{}.",
                if minutes == 1 { "" } else { "s" }
            ));
            render_pad(&state, id, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => {
            let msg = Message::Error(format!("{}.", capitalise(&e.to_string())));
            render_pad(&state, id, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Signs out.
pub(crate) async fn sign_out() -> Response {
    ([(header::SET_COOKIE, clear_cookie())], Redirect::to("/signin")).into_response()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
