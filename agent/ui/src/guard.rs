//! The gate every request passes before a handler sees it. The UI serves this terminal's
//! own screens on loopback, and anything else that reaches the port is hostile until
//! proven otherwise: a web page elsewhere in the terminal's browser, a page on a rebound
//! DNS name, another local user's process.
//!
//! - **Host.** A request must name a loopback host (`127.0.0.1`, `localhost`, `[::1]`). A
//!   site that rebinds its own name to 127.0.0.1 still sends its name, and is refused
//!   before it can read a page.
//! - **Origin.** A form post whose `Origin` is not this UI's own is refused.
//! - **CSRF token.** Every form that posts carries a token ([`csrf_field`]), an HMAC of the
//!   request's session cookie under the process's key; a post without the right one is
//!   refused. A page elsewhere can neither read the token nor compute it.
//! - **Size.** A form body is a few fields (or a drawn signature); one larger than
//!   [`MAX_FORM_BYTES`] is refused unread. A file upload (`multipart/form-data`, the
//!   technician's photos) carries its token in the address instead, and its body goes to
//!   its handler unread, bounded by that route's own limit.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::session::cookie_value;
use super::{UiError, UiState};

/// The form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

/// The largest form body the UI reads: a few fields, or a signature drawn on the pad (a
/// PNG as a data URL).
pub(crate) const MAX_FORM_BYTES: usize = 256 * 1024;

tokio::task_local! {
    /// The token of the request being answered, for the forms its page renders.
    static TOKEN: String;
}

/// The hidden field every posting form carries: the token of the request whose page it is
/// (empty outside a request, where nothing can post it anyway).
pub(crate) fn csrf_field() -> Markup {
    html! { input type="hidden" name=(FIELD) value=(token()); }
}

/// The form token a page rendered (in its first form): what a client that reads pages (a
/// test, a bench, a script) posts back with its forms.
#[must_use]
pub fn form_token_in(html: &str) -> Option<&str> {
    let marker = format!("name=\"{FIELD}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    html[start..].split('"').next()
}

/// The token of the request being answered.
pub(crate) fn token() -> String {
    TOKEN.try_with(Clone::clone).unwrap_or_default()
}

/// Runs `render` with `token` as the request's token: for HTML rendered away from the
/// request's task (a live screen's stream, on the blocking pool), whose forms post as
/// the page that opened the stream.
pub(crate) fn with_token<R>(token: String, render: impl FnOnce() -> R) -> R {
    TOKEN.sync_scope(token, render)
}

/// The middleware: refuses what is not this terminal's own, and makes the request's token
/// available to the page it renders.
pub(crate) async fn guard(State(state): State<UiState>, request: Request, next: Next) -> Response {
    match admit(&state, request).await {
        Ok((request, token)) => TOKEN.scope(token, next.run(request)).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn admit(state: &UiState, request: Request) -> Result<(Request, String), UiError> {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !is_loopback_host(host) {
        tracing::warn!(host, "UI request for a foreign host refused");
        return Err(UiError::ForeignHost);
    }
    let cookie = cookie_value(headers).unwrap_or_default();
    let token = state.key.csrf_token(&cookie);
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return Ok((request, token));
    }
    if !same_origin(headers, host) {
        tracing::warn!(host, origin = ?headers.get(header::ORIGIN), "UI post from a foreign origin refused");
        return Err(UiError::ForeignOrigin);
    }
    if is_multipart(headers) {
        let sent = request
            .uri()
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(name, _)| name == FIELD))
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if !state.key.verify_csrf_token(&cookie, &sent) {
            tracing::info!(path = %request.uri().path(), "UI upload without a valid form token refused");
            return Err(UiError::StaleForm);
        }
        return Ok((request, token));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| UiError::TooLarge)?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !state.key.verify_csrf_token(&cookie, &sent) {
        tracing::info!(path = %parts.uri.path(), "UI post without a valid form token refused");
        return Err(UiError::StaleForm);
    }
    Ok((Request::from_parts(parts, axum::body::Body::from(bytes)), token))
}

/// Whether the request is a file upload.
fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Whether `host` (a `Host` header: name and optional port) names this machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(name, _)| name),
        None => host.split_once(':').map_or(host, |(name, _)| name),
    };
    matches!(name, "127.0.0.1" | "localhost" | "::1")
}

/// Whether a post comes from a page of this UI: no `Origin` (not a browser's cross-site
/// post; the token still has to match) or exactly `http://<host>`.
fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            origin.to_str().is_ok_and(|o| o.strip_prefix("http://").is_some_and(|h| h == host))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_are_hosts_of_the_ui() {
        for ok in ["127.0.0.1:8123", "127.0.0.1", "localhost:80", "[::1]:8123", "[::1]"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example:8123",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
            "[::2]:8123",
            "192.168.1.10:8123",
            "127.0.0.2:8123",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn a_post_is_same_origin_only_for_its_own_host() {
        let with = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            headers
        };
        let host = "127.0.0.1:8123";
        assert!(same_origin(&HeaderMap::new(), host));
        assert!(same_origin(&with("http://127.0.0.1:8123"), host));
        for bad in
            ["http://127.0.0.1:9999", "http://evil.example", "null", "https://127.0.0.1:8123"]
        {
            assert!(!same_origin(&with(bad), host), "{bad}");
        }
    }
}
