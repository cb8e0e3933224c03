//! The signed-in user's own account: their password, signing out everywhere, and the
//! optional second factor (an authenticator app's six-digit codes, RFC 6238).

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::response::IntoResponse;
use thorbis_web::components::{Input, Message, hidden, labelled, message};
use thorbis_web::html;
use thorbis_web::respond::see_other;

use super::super::console::{header_value, session_cookie_cleared};
use super::{PageForm, PageResult, PageUser, ago, csrf, path_id, qr, shell};
use crate::accounts::tokens::{self, Scope};
use crate::accounts::{self, AccountError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::http::{AppState, Error};
use crate::identity::{hex, parse_hex};
use crate::totp;

/// A new password from a form's two copies, or why not.
pub(super) fn new_password(password: &str, again: &str) -> Result<String, String> {
    if password != again {
        return Err("The two passwords differ".into());
    }
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("A password is at least {MIN_PASSWORD_CHARS} characters"));
    }
    Ok(password.to_owned())
}

async fn account_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    msg: Option<&Message>,
) -> PageResult {
    account_page_with(state, user, status, msg, None).await
}

/// The account page, with a token just made (`new_token`) shown once.
async fn account_page_with(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    msg: Option<&Message>,
    new_token: Option<&str>,
) -> PageResult {
    let totp_on = accounts::has_totp(state.store(), user).await?;
    let held = tokens::list(state.store(), user).await?;
    let now = state.store().now_i64();
    // A candidate secret for turning the second factor on: it is stored only once a code
    // from the app proves the app holds it.
    let candidate = accounts::new_totp_secret()?;
    let body = html! {
        h1 { "Your account" }
        p { (user.email) " · " (user.role.as_str()) }
        (message(msg))
        section.panel {
            h2 { "Change your password" }
            form.stack.settings method="post" action="/console/account/password" {
                (csrf(user))
                (labelled("Current password", Input::new("current").id("current-password").kind("password").maxlength(1024)))
                (labelled("New password (at least 12 characters)", Input::new("new").id("new-password").kind("password").maxlength(1024)))
                (labelled("New password again", Input::new("again").id("new-password-again").kind("password").maxlength(1024)))
                button.btn.primary type="submit" id="change-password" { "Change password" }
            }
        }
        section.panel #two-step {
            h2 { "Two-step sign-in" }
            @if totp_on {
                p #totp-on { "On: signing in asks for a code from your authenticator app." }
                form.row method="post" action="/console/account/totp/off" {
                    (csrf(user))
                    (labelled("Your password, to turn it off", Input::new("password").id("totp-off-password").kind("password").maxlength(1024)))
                    button.btn type="submit" id="totp-off" { "Turn off" }
                }
            } @else {
                p { "Off. To turn it on, scan this code with an authenticator app (or type the key), then enter the code it shows." }
                @if let Some(svg) = qr::svg(&totp::uri(&candidate, &user.email), "Two-step sign-in key as a QR code") { (svg) }
                p { "Key: " code #totp-key { (totp::base32(&candidate)) } }
                form.row method="post" action="/console/account/totp/on" {
                    (csrf(user))
                    (hidden("secret", hex(&candidate)))
                    (labelled("Code from the app", Input::new("code").id("totp-code").numeric().maxlength(6)))
                    button.btn.primary type="submit" id="totp-on-button" { "Turn on" }
                }
            }
        }
        section.panel #api-tokens {
            h2 { "API tokens" }
            p { "For scripts that read reports, the catalog and orders, or (write) do what your role may, through the API ("
                a href="/api/openapi.json" { "its description" } "). Send one as " code { "Authorization: Bearer <token>" } "." }
            @if let Some(token) = new_token {
                p.msg.ok role="status" { "Your new token, shown once: " code #new-token { (token) } }
            }
            table.list #tokens {
                thead { tr { th { "Name" } th { "Scope" } th { "Made" } th { "Last used" } th { span.sr-only { "Actions" } } } }
                tbody {
                    @for t in &held {
                        tr data-token=(t.token_id) {
                            td { (t.name) } td { (t.scope.as_str()) } td { (ago(t.created_at_ms, now)) } td { (ago(t.last_used_at_ms, now)) }
                            td { form.inline method="post" action=(format!("/console/account/tokens/{}/revoke", t.token_id)) {
                                (csrf(user))
                                button.btn type="submit" aria-label=(format!("Revoke the token {}", t.name)) { "Revoke" }
                            } }
                        }
                    }
                }
            }
            form.row method="post" action="/console/account/tokens" {
                (csrf(user))
                (labelled("Name", Input::new("name").id("token-name").maxlength(100).placeholder("Nightly export")))
                (labelled("Your password", Input::new("password").id("token-password").kind("password").maxlength(1024)))
                label { "Scope"
                    select name="scope" id="token-scope" {
                        option value="read" { "Read only" }
                        option value="write" { "Read and write (as your role)" }
                    }
                }
                button.btn type="submit" id="create-token" { "Create token" }
            }
        }
        section.panel {
            h2 { "Sign out everywhere" }
            p { "Ends every session of your account, on every browser, this one too." }
            form.inline method="post" action="/console/account/sign-out-everywhere" {
                (csrf(user))
                button.btn type="submit" id="sign-out-everywhere" { "Sign out everywhere" }
            }
        }
    };
    let page = shell(user, "Account", "console-account", body);
    Ok((status, [(CACHE_CONTROL, "no-store")], page).into_response())
}

/// `GET /console/account`.
pub(in crate::http) async fn page(State(state): State<AppState>, user: PageUser) -> PageResult {
    account_page(&state, &user, StatusCode::OK, None).await
}

/// `POST /console/account/password`.
pub(in crate::http) async fn change_password(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    let new = match new_password(fields.get("new"), fields.get("again")) {
        Ok(new) => new,
        Err(e) => {
            return account_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&Message::Error(e)),
            )
            .await;
        }
    };
    match accounts::change_password(state.store(), &user, fields.get("current").to_owned(), new)
        .await
    {
        Ok(()) => {
            account_page(
                &state,
                &user,
                StatusCode::OK,
                Some(&Message::Info("Password changed. Your other sessions have ended.".into())),
            )
            .await
        }
        Err(AccountError::WrongPassword) => {
            account_page(
                &state,
                &user,
                StatusCode::FORBIDDEN,
                Some(&Message::Error("The current password is wrong".into())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/account/sign-out-everywhere`.
pub(in crate::http) async fn sign_out_everywhere(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    accounts::sign_out_everywhere(state.store(), &form.user).await?;
    let mut response = see_other("/console/signin");
    response.headers_mut().append(SET_COOKIE, header_value(&session_cookie_cleared(&state))?);
    Ok(response)
}

/// `POST /console/account/totp/on`.
pub(in crate::http) async fn totp_on(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    let Some(secret) = parse_hex::<{ totp::SECRET_BYTES }>(fields.get("secret")) else {
        return Err(Error::BadRequest("the form's key is damaged: reload the page".into()).into());
    };
    if accounts::enable_totp(state.store(), &user, &secret, fields.get("code")).await? {
        account_page(
            &state,
            &user,
            StatusCode::OK,
            Some(&Message::Info("Two-step sign-in is on.".into())),
        )
        .await
    } else {
        let msg = Message::Error("That code is not the app's current code for this key: scan the code again and enter the six digits it shows".into());
        account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, Some(&msg)).await
    }
}

/// `POST /console/account/totp/off`.
pub(in crate::http) async fn totp_off(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    match accounts::disable_totp(state.store(), &user, fields.get("password").to_owned()).await {
        Ok(()) => {
            account_page(
                &state,
                &user,
                StatusCode::OK,
                Some(&Message::Info("Two-step sign-in is off.".into())),
            )
            .await
        }
        Err(AccountError::WrongPassword) => {
            account_page(
                &state,
                &user,
                StatusCode::FORBIDDEN,
                Some(&Message::Error("The password is wrong".into())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/account/tokens`: a new API token, shown once.
pub(in crate::http) async fn create_token(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    let name = match thorbis_web::form::text(fields.get("name"), "Name", 100) {
        Ok(name) => name,
        Err(e) => {
            return account_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&Message::Error(e)),
            )
            .await;
        }
    };
    let Some(scope) = Scope::parse(fields.get("scope")) else {
        let msg = Message::Error("Choose read or write".into());
        return account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, Some(&msg)).await;
    };
    // A token outlives the session that made it: a stolen session alone cannot make one.
    match accounts::confirm_password(state.store(), &user, fields.get("password").to_owned()).await
    {
        Ok(()) => {}
        Err(AccountError::WrongPassword) => {
            let msg = Message::Error("The password is wrong".into());
            return account_page(&state, &user, StatusCode::FORBIDDEN, Some(&msg)).await;
        }
        Err(e) => return Err(e.into()),
    }
    match tokens::create(state.store(), &user, &name, scope).await {
        Ok(token) => account_page_with(&state, &user, StatusCode::OK, None, Some(&token)).await,
        Err(e @ AccountError::TooManyTokens(_)) => {
            account_page(&state, &user, StatusCode::CONFLICT, Some(&Message::Error(e.to_string())))
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/account/tokens/{id}/revoke`.
pub(in crate::http) async fn revoke_token(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: PageForm,
) -> PageResult {
    let token = path_id(&id, "token")?;
    if !tokens::revoke(state.store(), &form.user, token).await? {
        return Err(Error::NotFound(format!("no live token {token} of yours")).into());
    }
    account_page(&state, &form.user, StatusCode::OK, Some(&Message::Info("Token revoked.".into())))
        .await
}
