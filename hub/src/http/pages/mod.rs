//! The web console's pages: a tenant's owners, managers and viewers run their business
//! from a browser. Server-rendered with `maud` in the shared look (`thorbis-web`, the same
//! stylesheet as the terminals), each page usable without JavaScript and with the keyboard.
//!
//! **Sessions** are the console API's ([`super::console`]): the same cookie, the same
//! sessions table. A page's forms carry the session's CSRF token in a `csrf` field (the
//! API takes it in a header); [`PageForm`] checks it, and the `Origin` when the browser
//! sends one, before any handler runs. A page asked for without a session leads to the
//! sign-in page.
//!
//! **Roles**: every page reads as a viewer; a form that changes something asks for
//! manager (or owner) in its handler, and a viewer sees the page without its forms.
//!
//! Handlers parse, call the data layer ([`crate::tenants`], [`crate::locations`],
//! [`crate::reports`]) and render; a refused form answers with its page again, the
//! refusal inline and what was typed kept (422), nothing changed.

mod account;
mod alerts;
mod catalog;
mod device;
mod devices;
mod dispatch;
mod home;
mod import;
mod locations;
mod qr;
pub(super) mod reports;
mod signin;
mod staff;
mod taxes;
mod users;

use axum::Router;
use axum::extract::FromRequest;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use thorbis_web::components::Message;
use thorbis_web::form::Fields;
use thorbis_web::layout::{Page, bare_page};
use thorbis_web::{Markup, html};

use super::console::session_user;
use super::{AppState, Error};
use uuid::Uuid;

use crate::accounts::{ConsoleRole, SessionUser};

/// The console's routes (under `/console`) and the stylesheet they share with the
/// terminals.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(thorbis_web::assets::STYLESHEET_PATH, get(stylesheet))
        .route("/console/signin", get(signin::page).post(signin::submit))
        .route("/console/signout", post(signin::sign_out))
        .route("/console/accept", get(signin::accept_page).post(signin::accept))
        .route("/console/account", get(account::page))
        .route("/console/account/password", post(account::change_password))
        .route("/console/account/sign-out-everywhere", post(account::sign_out_everywhere))
        .route("/console/account/totp/on", post(account::totp_on))
        .route("/console/account/totp/off", post(account::totp_off))
        .route("/console/account/tokens", post(account::create_token))
        .route("/console/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/console/users", get(users::list))
        .route("/console/users/invite", post(users::invite))
        .route("/console/users/{id}/reset", post(users::reset))
        .route("/console/users/{id}/deactivate", post(users::deactivate))
        .route("/console", get(home::page))
        .route("/console/locations", get(locations::list).post(locations::create))
        .route("/console/locations/{id}", get(locations::edit).post(locations::update))
        .route("/console/catalog", get(catalog::page))
        .route("/console/catalog/categories", post(catalog::add_category))
        .route("/console/catalog/import", get(import::page).post(import::submit))
        .route("/console/catalog/taxes", post(taxes::add_tax))
        .route("/console/catalog/taxes/rates/{id}", post(taxes::update_rate))
        .route("/console/catalog/items", post(catalog::create_item))
        .route("/console/catalog/items/new", get(catalog::new_item))
        .route("/console/catalog/items/{id}", get(catalog::edit_item).post(catalog::update_item))
        .route("/console/catalog/groups", post(catalog::create_group))
        .route("/console/catalog/groups/new", get(catalog::new_group))
        .route("/console/catalog/groups/{id}", get(catalog::edit_group).post(catalog::update_group))
        .route("/console/reports", get(reports::page))
        .route("/console/reports/{file}", get(reports::download))
        .route("/console/staff", get(staff::list).post(staff::create))
        .route("/console/staff/new", get(staff::new))
        .route("/console/staff/{id}", get(staff::edit).post(staff::update))
        .route("/console/dispatch", get(dispatch::board))
        .route("/console/dispatch/jobs", post(dispatch::create))
        .route("/console/dispatch/jobs/{id}", get(dispatch::job))
        .route("/console/dispatch/jobs/{id}/files/{blob}", get(dispatch::file))
        .route("/console/dispatch/jobs/{id}/assign", post(dispatch::assign))
        .route("/console/dispatch/jobs/{id}/{what}", post(dispatch::edit))
        .route("/console/alerts", get(alerts::page))
        .route("/console/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/console/devices", get(devices::list))
        .route("/console/devices/codes", post(devices::create_code))
        .route("/console/devices/{id}", get(device::edit).post(device::update))
        .route("/console/devices/{id}/audit", get(device::audit))
        .route("/console/devices/{id}/export", get(device::export))
        .route("/console/devices/{id}/revoke", post(devices::revoke))
}

async fn stylesheet(headers: HeaderMap) -> Response {
    thorbis_web::assets::stylesheet(&headers)
}

/// Why a page was not served: no session (to the sign-in page), or an error shown as a
/// page.
pub(super) enum PageError {
    /// No valid session: sign in first.
    SignIn,
    /// Anything else, as an error page with its status.
    Error(Error),
}

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::Error(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => thorbis_web::respond::see_other("/console/signin"),
            PageError::Error(e) => {
                let status = e.status();
                let text = e.page_message();
                let body = html! {
                    h1 { (status.canonical_reason().unwrap_or("Error")) }
                    (Message::Error(text))
                    p { a href="/console" { "Back to the console" } }
                };
                (status, bare_page("Console", body)).into_response()
            }
        }
    }
}

type PageResult<T = Response> = Result<T, PageError>;

/// A signed-in console user asking for a page.
pub(super) struct PageUser(SessionUser);

impl std::ops::Deref for PageUser {
    type Target = SessionUser;

    fn deref(&self) -> &SessionUser {
        &self.0
    }
}

impl PageUser {
    /// Whether the user's role includes `role`.
    fn can(&self, role: ConsoleRole) -> bool {
        self.role >= role
    }

    /// Refuses a user whose role does not include `role`.
    fn require(&self, role: ConsoleRole) -> PageResult<()> {
        if self.can(role) {
            return Ok(());
        }
        Err(PageError::Error(Error::Forbidden(format!(
            "this needs the {} role; you are {}",
            role.as_str(),
            self.role.as_str()
        ))))
    }
}

impl axum::extract::FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> PageResult<Self> {
        session_user(state, &parts.headers).await?.map(PageUser).ok_or(PageError::SignIn)
    }
}

/// A form posted from a console page by a signed-in user: its origin and CSRF token are
/// checked before the handler sees it.
pub(super) struct PageForm {
    user: PageUser,
    fields: Fields,
}

/// The most a console form may be.
const FORM_LIMIT: usize = 64 * 1024;

impl FromRequest<AppState> for PageForm {
    type Rejection = PageError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> PageResult<Self> {
        let (mut parts, body) = req.into_parts();
        same_origin(&parts.headers)?;
        let user = PageUser::from_request_parts(&mut parts, state).await?;
        let fields = form_fields(body).await?;
        if !user.csrf_matches(fields.get("csrf").as_bytes()) {
            return Err(PageError::Error(Error::Forbidden(
                "this form is out of date (its session ended or changed): reload the page and \
                 try again"
                    .into(),
            )));
        }
        Ok(PageForm { user, fields })
    }
}

use axum::extract::FromRequestParts as _;

/// A posted form's fields.
async fn form_fields(body: axum::body::Body) -> Result<Fields, Error> {
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| Error::PayloadTooLarge(format!("a form is at most {FORM_LIMIT} bytes")))?;
    Ok(Fields(form_urlencoded::parse(&bytes).into_owned().collect()))
}

/// Refuses a post whose `Origin` (when the browser sends one) is not this host: a form on
/// another site cannot post here, whatever its cookies.
fn same_origin(headers: &HeaderMap) -> Result<(), Error> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(Error::Forbidden("this form was posted from another site".into())),
    }
}

/// The id in a page's path; one that is not a UUID names nothing (404), like an unknown one.
fn path_id(id: &str, what: &str) -> Result<Uuid, Error> {
    id.parse().map_err(|_| Error::NotFound(format!("no {what} {id:?}")))
}

/// The sections of the console, in the bar's order: path, label, screen name.
const SECTIONS: [(&str, &str, &str); 9] = [
    ("/console", "Home", "console-home"),
    ("/console/reports", "Reports", "console-reports"),
    ("/console/locations", "Locations", "console-locations"),
    ("/console/devices", "Devices", "console-devices"),
    ("/console/dispatch", "Dispatch", "console-dispatch"),
    ("/console/catalog", "Catalog", "console-catalog"),
    ("/console/staff", "Staff", "console-staff"),
    ("/console/alerts", "Alerts", "console-alerts"),
    ("/console/users", "Users", "console-users"),
];

/// A console page: the bar (sections, who is signed in, sign out) and `body`. `screen` is
/// one of [`SECTIONS`]' screen names.
fn shell(user: &PageUser, title: &str, screen: &str, body: Markup) -> Markup {
    let bar = html! {
        nav aria-label="Console" {
            @for (href, label, name) in SECTIONS.iter().copied().filter(|s| s.2 != "console-users" || user.can(ConsoleRole::Manager)) {
                a.tab.on[name == screen] href=(href)
                    aria-current=[(name == screen).then_some("page")] { (label) }
            }
        }
        a.who href="/console/account" aria-current=[(screen == "console-account").then_some("page")] { (user.email) " · " (user.role.as_str()) }
        form.inline method="post" action="/console/signout" {
            (csrf(user))
            button.btn.ghost type="submit" id="sign-out" { "Sign out" }
        }
    };
    Page { title, screen, scripts: &[], swap: false }.render(bar, body)
}

/// The hidden CSRF field every console form carries.
fn csrf(user: &SessionUser) -> Markup {
    thorbis_web::components::hidden("csrf", user.csrf_token())
}

/// A page answered with `status` (a refused form: 422).
fn with_status(status: StatusCode, page: Markup) -> Response {
    (status, page).into_response()
}

/// How long ago `then_ms` was, from `now_ms`, in words: "just now", "4 min ago", "3 h ago",
/// "2 days ago"; "never" for 0.
fn ago(then_ms: i64, now_ms: i64) -> String {
    if then_ms <= 0 {
        return "never".into();
    }
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..60 => "just now".into(),
        60..3_600 => format!("{} min ago", secs / 60),
        3_600..172_800 => format!("{} h ago", secs / 3_600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_words() {
        let now = 1_000_000_000;
        assert_eq!(ago(0, now), "never");
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now + 5_000, now), "just now");
        assert_eq!(ago(now - 240_000, now), "4 min ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
    }

    #[test]
    fn only_this_host_may_post() {
        let headers = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, "hub.example:8080".parse().unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers(None)).is_ok());
        assert!(same_origin(&headers(Some("https://hub.example:8080"))).is_ok());
        assert!(same_origin(&headers(Some("https://evil.example"))).is_err());
        assert!(same_origin(&headers(Some("null"))).is_err());
    }
}
