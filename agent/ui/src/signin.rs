//! Sign-in: pick your name, type your PIN on the pad. The PIN is checked offline by
//! [`Store::sign_in`](thorbis_agent::Store::sign_in) (argon2id hashes, lockout); a wrong PIN or a
//! lockout is shown on the pad itself.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use thorbis_domain::ids::StaffId;
use thorbis_web::components::{Input, link_button};
use uuid::Uuid;

use super::access::home_of;
use super::html::{Message, message, page};
use super::pins::{self, PinRefused, THROTTLED, locked_text};
use super::session::{MaybeSignedIn, clear_cookie, cookie_value, set_cookie};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::SignInError;
use thorbis_agent::staff::is_valid_pin;

/// The staff picker.
pub(crate) async fn pick_staff(
    State(state): State<UiState>,
    MaybeSignedIn(who): MaybeSignedIn,
) -> Result<Response, UiError> {
    let (staff, technician) =
        state.with_store(|store| Ok((store.active_staff()?, store.is_technician()?))).await?;
    let body = html! {
        h1 { "Who is signing in?" }
        div.grid.staff {
            @for s in &staff {
                a.tile href={ "/signin/" (s.id.0) } data-staff=(s.name) { (s.name) }
            }
            @if staff.is_empty() && technician {
                p.msg #no-technician-pin {
                    "This laptop's technician PIN is not set. Its owner sets it with "
                    code { "thorbis-agent technician-pin --data <data folder>" } "."
                }
            } @else if staff.is_empty() {
                p.msg { "No staff are published to this terminal yet." }
            }
        }
    };
    Ok(page("Sign in", "signin", who.as_ref(), &state.indicators(), body).into_response())
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
        .with_store(move |store| store.staff(id))
        .await?
        .filter(|s| s.active)
        .ok_or(UiError::NotFound)?;
    let body = html! {
        h1 { "PIN for " (staff.name) }
        (message(msg.as_ref()))
        form.pinpad #pinpad method="post" action="/signin" {
            (csrf_field())
            input type="hidden" name="staff" value=(id.0);
            (Input::new("pin").id("pin").pin().maxlength(16).autofocus())
            div.keys {
                @for d in 1..=9 {
                    button.key type="button" data-digit=(d) { (d) }
                }
                button.key type="button" data-clear { "Clear" }
                button.key type="button" data-digit="0" { "0" }
                button.key.go #pin-ok type="submit" { "OK" }
            }
        }
        p { (link_button("btn ghost", "/signin", None, html! { "Not " (staff.name) "?" })) }
    };
    Ok((status, page("Sign in", "pin", None, &state.indicators(), body)).into_response())
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    staff: String,
    #[serde(default)]
    pin: String,
}

/// Checks the PIN; signs in and goes to the role's screen, or shows why not.
pub(crate) async fn submit(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, UiError> {
    let id = StaffId(Uuid::try_parse(form.staff.trim()).map_err(|_| UiError::NotFound)?);
    let pin = form.pin.trim().to_owned();
    let refused = |text: String| {
        render_pad(&state, id, Some(Message::Error(text)), StatusCode::UNPROCESSABLE_ENTITY)
    };
    if !is_valid_pin(&pin) {
        return refused("A PIN is 4 to 8 digits.".into()).await;
    }
    match pins::sign_in(&state, id, pin).await? {
        Ok(who) => {
            let session = state.sessions.start(who.staff_id, state.now_ms())?;
            let cookie = set_cookie(&headers, &session);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(home_of(&who))).into_response())
        }
        Err(PinRefused::Throttled) => {
            render_pad(
                &state,
                id,
                Some(Message::Error(THROTTLED.into())),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(PinRefused::Refused(SignInError::LockedOut { until_ms })) => {
            refused(locked_text("sign-in", state.now_ms(), until_ms)).await
        }
        Err(PinRefused::Refused(e)) => {
            refused(format!("{}.", super::action::capitalised(&e.to_string()))).await
        }
    }
}

/// Signs out: the session ends here, whatever the browser does with its cookie.
pub(crate) async fn sign_out(State(state): State<UiState>, headers: HeaderMap) -> Response {
    if let Some(cookie) = cookie_value(&headers) {
        state.sessions.end(&cookie);
    }
    ([(header::SET_COOKIE, clear_cookie(&headers))], Redirect::to("/signin")).into_response()
}
