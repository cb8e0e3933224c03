//! Signing in and out of the console in a browser.
//!
//! The sign-in form names the business (the tenant id: from the link the owner was given,
//! remembered by this browser after the first sign-in), the email and the password, and
//! signs in through [`crate::accounts::login`] like the API does: the same throttle per
//! client address, the same lockout, the same single answer for every failure.
//!
//! **Login CSRF**: the sign-in page sets a random token in a `SameSite=Strict` cookie and
//! in the form; a post whose two copies differ is refused, so another site cannot sign a
//! visitor in to an account of its choosing. The `Origin`, when sent, must be this host.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use ring::rand::{SecureRandom, SystemRandom};
use thorbis_web::components::{Input, Message, hidden, labelled, message};
use thorbis_web::form::Fields;
use thorbis_web::layout::Page;
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::super::console::{
    cookie, header_value, session_cookie_cleared, session_cookie_value, throttle,
};
use super::{PageForm, PageResult, form_fields, same_origin};
use crate::accounts::links::{self, Link, LinkKind};
use crate::accounts::{self, AccountError};
use crate::http::{AppState, Error};
use crate::identity::hex;

/// The cookie holding the sign-in form's token.
const LOGIN_COOKIE: &str = "thorbis_console_login";
/// The cookie remembering the business this browser signs in to.
const BUSINESS_COOKIE: &str = "thorbis_console_business";

#[derive(serde::Deserialize)]
pub(in crate::http) struct SignInQuery {
    business: Option<String>,
    welcome: Option<u8>,
}

fn form(token: &str, business: &str, email: &str, msg: Option<&Message>) -> Markup {
    let body = html! {
        h1 { "Sign in to the console" }
        (message(msg))
        form.stack.signin method="post" action="/console/signin" {
            (hidden("login_token", token))
            (labelled("Business ID", Input::new("business").id("business").value(business)
                .maxlength(36)))
            (labelled("Email", Input::new("email").id("email").kind("email").value(email)
                .maxlength(254).autofocus()))
            (labelled("Password", Input::new("password").id("password").kind("password")
                .maxlength(1024)))
            (labelled("Authenticator code (if you turned two-step sign-in on)",
                Input::new("code").id("code").numeric().maxlength(6)))
            button.btn.primary type="submit" id="sign-in" { "Sign in" }
        }
        p.muted { "Your Business ID is in the link you were given to the console." }
    };
    Page { title: "Sign in", screen: "console-signin", scripts: &[], swap: false }
        .render(html! {}, body)
}

/// The sign-in page, with a fresh form token.
fn signin_page(
    state: &AppState,
    status: StatusCode,
    business: &str,
    email: &str,
    msg: Option<&Message>,
) -> PageResult {
    let mut token = [0u8; 16];
    SystemRandom::new()
        .fill(&mut token)
        .map_err(|_| Error::Internal(anyhow::anyhow!("no randomness for a sign-in token")))?;
    let token = hex(&token);
    let set = format!(
        "{LOGIN_COOKIE}={token}; Path=/console/signin; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if state.0.secure_cookies { "; Secure" } else { "" },
    );
    let page = form(&token, business, email, msg);
    Ok((status, [(SET_COOKIE, header_value(&set)?)], page).into_response())
}

/// `GET /console/signin[?business=<id>]`.
pub(in crate::http) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> PageResult {
    let business = query
        .business
        .as_deref()
        .or_else(|| cookie(&headers, BUSINESS_COOKIE))
        .unwrap_or_default()
        .to_owned();
    let welcome =
        query.welcome.map(|_| Message::Info("Your password is set: sign in with it.".into()));
    signin_page(&state, StatusCode::OK, &business, "", welcome.as_ref())
}

/// `POST /console/signin`: signs in and goes to the home page, or shows the form again
/// with why not.
pub(in crate::http) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> PageResult {
    same_origin(&headers)?;
    let fields: Fields = form_fields(body).await?;
    let business = fields.get("business");
    let email = fields.get("email").to_lowercase();
    let refuse = |status, text: &str| {
        signin_page(&state, status, business, &email, Some(&Message::Error(text.into())))
    };
    let sent = fields.get("login_token");
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if sent.is_empty() || !accounts::same_secret(sent.as_bytes(), expected.as_bytes()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This sign-in form expired or was not opened here: sign in again below.",
        );
    }
    if let Err(e) = throttle(&state, client).await {
        return refuse(e.status(), &e.to_string());
    }
    let Ok(tenant_id) = business.parse::<Uuid>() else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The Business ID is the long code in your console link, like 0190…-…",
        );
    };
    let password = fields.get("password").to_owned();
    let code = Some(fields.get("code")).filter(|c| !c.is_empty());
    let session = match accounts::login(state.store(), tenant_id, &email, password, code).await {
        Ok(session) => session,
        Err(AccountError::LoginFailed) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "That Business ID, email, password and code do not match an active account \
                 (after several failed tries an account waits a minute).",
            );
        }
        Err(e) => return Err(e.into()),
    };
    let remember = format!(
        "{BUSINESS_COOKIE}={tenant_id}; Path=/console; HttpOnly; SameSite=Lax; Max-Age=31536000{}",
        if state.0.secure_cookies { "; Secure" } else { "" },
    );
    let mut response = thorbis_web::respond::see_other("/console");
    let headers = response.headers_mut();
    headers.append(
        SET_COOKIE,
        header_value(&session_cookie_value(&state, tenant_id, &session.secret))?,
    );
    headers.append(SET_COOKIE, header_value(&remember)?);
    Ok(response)
}

/// `POST /console/signout`: ends this session and goes back to the sign-in page.
pub(in crate::http) async fn sign_out(State(state): State<AppState>, form: PageForm) -> PageResult {
    accounts::logout(state.store(), &form.user).await?;
    let mut response = thorbis_web::respond::see_other("/console/signin");
    response.headers_mut().append(SET_COOKIE, header_value(&session_cookie_cleared(&state))?);
    Ok(response)
}

#[derive(serde::Deserialize)]
pub(in crate::http) struct LinkQuery {
    business: Option<String>,
    token: Option<String>,
}

fn accept_form(business: &str, token: &str, link: &Link, msg: Option<&Message>) -> Markup {
    let (title, button) = match link.kind {
        LinkKind::Invite(role) => (format!("Join as {}", role.as_str()), "Create my account"),
        LinkKind::Reset(_) => ("Choose a new password".to_owned(), "Set my password"),
    };
    let body = html! {
        h1 { (title) }
        p { "For " strong { (link.email) } }
        (message(msg))
        form.stack.signin method="post" action="/console/accept" {
            (hidden("business", business))
            (hidden("token", token))
            (labelled("Password (at least 12 characters)", Input::new("password").id("password").kind("password").maxlength(1024)))
            (labelled("Password again", Input::new("again").id("again").kind("password").maxlength(1024)))
            button.btn.primary type="submit" id="accept" { (button) }
        }
    };
    Page { title: "Console link", screen: "console-accept", scripts: &[], swap: false }
        .render(html! {}, body)
}

fn link_gone() -> axum::response::Response {
    let body = html! {
        h1 { "This link does not work" }
        (Message::Error("It was used already, it expired, or it was copied wrong. Ask the owner for a new one.".into()))
        p { a href="/console/signin" { "Sign in" } }
    };
    let page = Page { title: "Console link", screen: "console-accept", scripts: &[], swap: false }
        .render(html! {}, body);
    (StatusCode::GONE, page).into_response()
}

/// `GET /console/accept?business=&token=`: an invitation or a password reset.
pub(in crate::http) async fn accept_page(
    State(state): State<AppState>,
    Query(query): Query<LinkQuery>,
) -> PageResult {
    let (Some(business), Some(token)) = (query.business, query.token) else {
        return Ok(link_gone());
    };
    let Ok(tenant) = business.parse::<Uuid>() else { return Ok(link_gone()) };
    match links::open(state.store(), tenant, &token).await? {
        Some(link) => Ok(accept_form(&business, &token, &link, None).into_response()),
        None => Ok(link_gone()),
    }
}

/// `POST /console/accept`: sets the password the link is for, then leads to sign-in.
pub(in crate::http) async fn accept(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> PageResult {
    same_origin(&headers)?;
    let fields = form_fields(body).await?;
    throttle(&state, client).await?;
    let (business, token) = (fields.get("business"), fields.get("token"));
    let Ok(tenant) = business.parse::<Uuid>() else { return Ok(link_gone()) };
    let Some(link) = links::open(state.store(), tenant, token).await? else {
        return Ok(link_gone());
    };
    let password = match super::account::new_password(fields.get("password"), fields.get("again")) {
        Ok(password) => password,
        Err(e) => {
            let page = accept_form(business, token, &link, Some(&Message::Error(e)));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match links::redeem(state.store(), tenant, token, password).await? {
        Some(_) => Ok(thorbis_web::respond::see_other(&format!(
            "/console/signin?business={tenant}&welcome=1"
        ))),
        None => Ok(link_gone()),
    }
}
