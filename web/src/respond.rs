//! Answers to form posts, and the URLs they lead to.
//!
//! Every post that writes answers with a redirect (303 See Other) to the page that shows
//! the result, so a reload never repeats a sale; a refused post answers with the same
//! screen again, the refusal inline and what was typed kept (422), and nothing written.
//! [`post_then_redirect`] is that rule, once.

use std::fmt::Write as _;
use std::future::Future;

use axum::response::{IntoResponse, Redirect, Response};

/// The answer to a form post: with no `refusal`, a redirect to `to()`; with one, the page
/// `refused` renders with it (which sets its own status).
pub async fn post_then_redirect<E, F>(
    refusal: Option<String>,
    to: impl FnOnce() -> String,
    refused: impl FnOnce(String) -> F,
) -> Result<Response, E>
where
    F: Future<Output = Result<Response, E>>,
{
    match refusal {
        None => Ok(see_other(&to())),
        Some(e) => refused(e).await,
    }
}

/// A redirect after a post (303: the browser follows it with a `GET`).
#[must_use]
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A URL: a path and query parameters, each value percent-encoded.
#[derive(Clone, Debug)]
#[must_use]
pub struct Href(String, bool);

impl Href {
    /// The path alone.
    pub fn new(path: impl Into<String>) -> Self {
        Href(path.into(), false)
    }

    /// Adds `name=value`.
    pub fn param(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.0.push(if self.1 { '&' } else { '?' });
        self.1 = true;
        self.0.push_str(name);
        self.0.push('=');
        self.0.push_str(&url_encode(&value.to_string()));
        self
    }

    /// Adds `name=value` when there is a value.
    pub fn param_opt(self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(v) => self.param(name, v),
            None => self,
        }
    }

    /// The URL.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl maud::Render for Href {
    fn render_to(&self, buffer: &mut String) {
        self.0.as_str().render_to(buffer);
    }
}

/// Percent-encodes a query value (anything but unreserved characters).
#[must_use]
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A file a device uploaded (a job's photo, drawn signature or PDF), as a response: shown
/// in the page when `inline` (a picture), offered as a download otherwise; never sniffed
/// for another type, never run (a sandbox with no script, plug-in or form); cached for
/// good, since its address names the hash of its bytes.
#[must_use]
pub fn stored_file(bytes: Vec<u8>, media_type: &str, name: &str, inline: bool) -> Response {
    use axum::http::header;
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    let how = if inline { "inline" } else { "attachment" };
    (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("{how}; filename=\"{name}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_their_values() {
        assert_eq!(url_encode("grill"), "grill");
        assert_eq!(url_encode("cold & hot"), "cold%20%26%20hot");
        let href = Href::new("/kds").param("since", 3).param_opt("station", Some("a&b"));
        assert_eq!(href.clone().into_string(), "/kds?since=3&station=a%26b");
        // In an attribute, the template escapes the `&`.
        let html = maud::html! { a href=(href) {} }.into_string();
        assert_eq!(html, "<a href=\"/kds?since=3&amp;station=a%26b\"></a>");
        assert_eq!(Href::new("/x").param_opt("a", None::<u8>).into_string(), "/x");
    }
}
