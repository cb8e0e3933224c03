//! Compiled-in assets: every byte a page needs is in the binary, so screens work with the
//! internet down.

use std::sync::OnceLock;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The shared stylesheet.
pub const STYLESHEET: &str = include_str!("../assets/app.css");

/// Where pages link the stylesheet from ([`stylesheet`] serves it).
pub const STYLESHEET_PATH: &str = "/assets/app.css";

/// Serves [`STYLESHEET`] (for [`STYLESHEET_PATH`]), revalidated against the request's
/// `headers`.
#[must_use]
pub fn stylesheet(headers: &HeaderMap) -> Response {
    static ETAG: OnceLock<String> = OnceLock::new();
    asset(headers, "text/css; charset=utf-8", STYLESHEET, &ETAG)
}

/// Serves a compiled-in asset with an `ETag` (a hash of its bytes), so a page load after a
/// tap revalidates it with an empty 304 instead of downloading it again. `etag` caches the
/// tag; give each asset its own.
pub fn asset(
    headers: &HeaderMap,
    content_type: &'static str,
    body: &'static str,
    etag: &'static OnceLock<String>,
) -> Response {
    let etag = etag.get_or_init(|| format!("\"{:016x}\"", fnv1a(body.as_bytes())));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let common = [(header::CACHE_CONTROL, "no-cache".to_owned()), (header::ETAG, etag.clone())];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// FNV-1a, 64 bits: stable across builds and platforms, which is all an `ETag` of a
/// compiled-in file needs (it is no defence against anyone).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_revalidate_by_etag() {
        static ETAG: OnceLock<String> = OnceLock::new();
        let first = asset(&HeaderMap::new(), "text/css", "body{}", &ETAG);
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(asset(&headers, "text/css", "body{}", &ETAG).status(), StatusCode::NOT_MODIFIED);
        headers.insert(header::IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert_eq!(asset(&headers, "text/css", "body{}", &ETAG).status(), StatusCode::OK);
    }
}
