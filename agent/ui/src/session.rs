//! Staff sessions: a cookie holding the staff id and when it was issued, signed with an
//! HMAC key that lives only in this agent process. Nothing is stored server-side; a restart
//! (new key) signs everyone out, which suits a terminal. Every request re-reads the staff
//! record, so a member disabled by the hub loses access at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use ring::hmac;
use thorbis_domain::ids::StaffId;
use uuid::Uuid;

use super::{UiError, UiState};
use thorbis_agent::SignedIn;

/// The cookie's name.
pub(crate) const COOKIE: &str = "thorbis_session";

/// How long a sign-in lasts: one long shift.
pub(crate) const SESSION_MS: u64 = 12 * 60 * 60 * 1000;

/// The key sessions are signed with.
pub struct SessionKey(hmac::Key);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A fresh random key (sessions end when the process does).
    pub fn random() -> Result<Self, ring::error::Unspecified> {
        let rng = ring::rand::SystemRandom::new();
        hmac::Key::generate(hmac::HMAC_SHA256, &rng).map(SessionKey)
    }

    /// A key from fixed bytes, for tests.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        SessionKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The cookie value for `staff` signed in at `issued_ms`.
    pub(crate) fn sign(&self, staff: StaffId, issued_ms: u64) -> String {
        let body = format!("{}.{issued_ms}", staff.0.simple());
        let tag = hmac::sign(&self.0, body.as_bytes());
        format!("{body}.{}", hex(tag.as_ref()))
    }

    /// The form token for requests carrying the session cookie `cookie` (empty when there
    /// is none): bound to the session, so a token is worthless with another cookie.
    pub(crate) fn csrf_token(&self, cookie: &str) -> String {
        hex(hmac::sign(&self.0, &csrf_message(cookie)).as_ref())
    }

    /// Whether `token` is the form token for `cookie` (compared in constant time).
    pub(crate) fn verify_csrf_token(&self, cookie: &str, token: &str) -> bool {
        unhex(token).is_some_and(|tag| hmac::verify(&self.0, &csrf_message(cookie), &tag).is_ok())
    }

    /// The staff id of a cookie value that is authentic and not expired at `now_ms`.
    pub(crate) fn verify(&self, value: &str, now_ms: u64) -> Option<StaffId> {
        let (body, tag) = value.rsplit_once('.')?;
        let tag = unhex(tag)?;
        hmac::verify(&self.0, body.as_bytes(), &tag).ok()?;
        let (staff, issued) = body.split_once('.')?;
        let issued: u64 = issued.parse().ok()?;
        if now_ms < issued || now_ms - issued > SESSION_MS {
            return None;
        }
        Uuid::try_parse(staff).ok().map(StaffId)
    }
}

/// The `Set-Cookie` value that signs `staff` in.
pub(crate) fn set_cookie(value: &str) -> String {
    // HttpOnly: scripts never see it. SameSite=Strict: no other site can submit our forms
    // with it, which is the UI's CSRF defence on a loopback-only server.
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that signs out.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// What a form token signs: a domain tag, so no token is ever a valid session cookie tag.
fn csrf_message(cookie: &str) -> Vec<u8> {
    [b"thorbis-ui-csrf\0".as_slice(), cookie.as_bytes()].concat()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The cookie's value in a request, if present.
pub(crate) fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|h| {
        h.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
    })
}

/// Who is signed in, or `None`.
pub(crate) async fn current(parts: &Parts, state: &UiState) -> Result<Option<SignedIn>, UiError> {
    let Some(staff_id) =
        cookie_value(&parts.headers).and_then(|value| state.key.verify(&value, state.now_ms()))
    else {
        return Ok(None);
    };
    let staff = state.with_store(move |store| store.staff(staff_id)).await?;
    Ok(staff.filter(|s| s.active).map(|s| SignedIn { staff_id, name: s.name, role: s.role }))
}

impl FromRequestParts<UiState> for SignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        current(parts, state).await?.ok_or(UiError::SignIn)
    }
}

/// Who is signed in, if anyone: for pages that also serve the signed-out.
#[derive(Debug)]
pub(crate) struct MaybeSignedIn(pub(crate) Option<SignedIn>);

impl FromRequestParts<UiState> for MaybeSignedIn {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        current(parts, state).await.map(MaybeSignedIn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_verify_only_when_authentic_and_fresh() {
        let key = SessionKey::from_bytes(b"test key");
        let staff = StaffId(Uuid::from_u128(42));
        let value = key.sign(staff, 1_000);
        assert_eq!(key.verify(&value, 1_000), Some(staff));
        assert_eq!(key.verify(&value, 1_000 + SESSION_MS), Some(staff));
        assert_eq!(key.verify(&value, 1_001 + SESSION_MS), None, "expired");
        assert_eq!(key.verify(&value, 999), None, "issued in the future");
        // Another key, a changed staff id or time, or a mangled tag: refused.
        assert_eq!(SessionKey::from_bytes(b"other").verify(&value, 1_000), None);
        let other = key.sign(StaffId(Uuid::from_u128(43)), 1_000);
        let (_, tag) = other.rsplit_once('.').unwrap();
        let (body, _) = value.rsplit_once('.').unwrap();
        assert_eq!(key.verify(&format!("{body}.{tag}"), 1_000), None);
        assert_eq!(key.verify(&value.replace(".1000.", ".2000."), 2_000), None);
        for junk in ["", ".", "a.b.c", "zz", &value[..value.len() - 1]] {
            assert_eq!(key.verify(junk, 1_000), None, "{junk}");
        }
    }
}
