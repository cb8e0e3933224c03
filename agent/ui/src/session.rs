//! Staff sessions. A sign-in starts a session, kept in this process's memory and named
//! by a random 128-bit cookie; a restart signs everyone out, which suits a terminal. A
//! session ends when its member signs out, when a manager ends it (the sessions screen),
//! after [`IDLE_MS`] untouched or [`SESSION_MS`] after sign-in. Every request re-reads the
//! staff record, so a member disabled by the hub loses access at once.
//!
//! The [`SessionKey`] signs the forms' CSRF tokens, bound to the session's cookie.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};
use thorbis_domain::ids::StaffId;

use super::{UiError, UiState};
use thorbis_agent::SignedIn;

/// The start of the session cookie's name; the terminal's port ends it ([`cookie_name`]).
pub(crate) const COOKIE: &str = "thorbis_session";

/// How long a sign-in lasts at most: one long shift.
pub(crate) const SESSION_MS: u64 = 12 * 60 * 60 * 1000;

/// How long a session lasts untouched: a terminal left signed in signs out by itself.
pub(crate) const IDLE_MS: u64 = 60 * 60 * 1000;

/// The most sessions a terminal keeps; a new one beyond it ends the longest idle.
const MAX_SESSIONS: usize = 64;

/// One signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    /// Who.
    pub(crate) staff_id: StaffId,
    /// What the sessions screen calls it (not the cookie, which would let a manager take
    /// it over).
    pub(crate) handle: String,
    /// When it started and when it was last used (UI clock, ms).
    pub(crate) started_ms: u64,
    pub(crate) seen_ms: u64,
}

impl Session {
    fn live_at(&self, now_ms: u64) -> bool {
        now_ms >= self.started_ms
            && now_ms - self.started_ms <= SESSION_MS
            && now_ms.saturating_sub(self.seen_ms) <= IDLE_MS
    }
}

/// The terminal's sessions, by cookie value.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_cookie: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Session>) -> T) -> T {
        // A panic while holding the map cannot leave a session half-written: recover it.
        let mut map = self.by_cookie.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut map)
    }

    /// Starts a session for `staff` at `now_ms`; its cookie value.
    pub(crate) fn start(&self, staff_id: StaffId, now_ms: u64) -> Result<String, UiError> {
        let (cookie, handle) = (random_hex()?, random_hex()?);
        self.with(|map| {
            map.retain(|_, s| s.live_at(now_ms));
            if map.len() >= MAX_SESSIONS
                && let Some(idlest) =
                    map.iter().min_by_key(|(_, s)| s.seen_ms).map(|(c, _)| c.clone())
            {
                map.remove(&idlest);
            }
            map.insert(
                cookie.clone(),
                Session { staff_id, handle, started_ms: now_ms, seen_ms: now_ms },
            );
        });
        Ok(cookie)
    }

    /// The session of cookie value `cookie` if it is live at `now_ms`, marked as used.
    pub(crate) fn touch(&self, cookie: &str, now_ms: u64) -> Option<Session> {
        self.with(|map| {
            let session = map.get_mut(cookie)?;
            if !session.live_at(now_ms) {
                map.remove(cookie);
                return None;
            }
            session.seen_ms = session.seen_ms.max(now_ms);
            Some(session.clone())
        })
    }

    /// Ends the session of cookie value `cookie` (signing out).
    pub(crate) fn end(&self, cookie: &str) {
        self.with(|map| map.remove(cookie));
    }

    /// Ends the session shown as `handle`; whether there was one.
    pub(crate) fn end_handle(&self, handle: &str) -> bool {
        self.with(|map| {
            let before = map.len();
            map.retain(|_, s| s.handle != handle);
            map.len() < before
        })
    }

    /// Ends every session but the one shown as `keep`; how many ended.
    pub(crate) fn end_all_but(&self, keep: &str) -> usize {
        self.with(|map| {
            let before = map.len();
            map.retain(|_, s| s.handle == keep);
            before - map.len()
        })
    }

    /// The live sessions at `now_ms`, the most recently used first.
    pub(crate) fn list(&self, now_ms: u64) -> Vec<Session> {
        let mut live: Vec<Session> =
            self.with(|map| map.values().filter(|s| s.live_at(now_ms)).cloned().collect());
        live.sort_by(|a, b| b.seen_ms.cmp(&a.seen_ms).then_with(|| a.handle.cmp(&b.handle)));
        live
    }
}

/// 128 random bits as hex.
fn random_hex() -> Result<String, UiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| UiError::Internal("no OS randomness for a session".into()))?;
    Ok(hex(&bytes))
}

/// The key the forms' CSRF tokens are signed with, random per process.
pub struct SessionKey(hmac::Key);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// A fresh random key.
    pub fn random() -> Result<Self, ring::error::Unspecified> {
        let rng = ring::rand::SystemRandom::new();
        hmac::Key::generate(hmac::HMAC_SHA256, &rng).map(SessionKey)
    }

    /// A key from fixed bytes, for tests.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        SessionKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
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
}

/// The session cookie's name for a request: [`COOKIE`] and the port the request was
/// addressed to. Browsers keep cookies per host name, not per port, and one machine may
/// serve several terminals (the demo's, a manager's browser on two screens): without the
/// port, signing in on one would sign the others' tabs out.
pub(crate) fn cookie_name(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let port =
        host.rsplit_once(':').map(|(_, p)| p).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    format!("{COOKIE}_{}", port.unwrap_or("80"))
}

/// The `Set-Cookie` value that signs in with session cookie `value`.
pub(crate) fn set_cookie(headers: &HeaderMap, value: &str) -> String {
    // HttpOnly: scripts never see it. SameSite=Strict: no other site's request carries it
    // (the form tokens and the guard's Host and Origin checks are the rest of the defence).
    format!("{}={value}; Path=/; HttpOnly; SameSite=Strict", cookie_name(headers))
}

/// The `Set-Cookie` value that signs out.
pub(crate) fn clear_cookie(headers: &HeaderMap) -> String {
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", cookie_name(headers))
}

/// What a form token signs: a domain tag, then the cookie.
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
    let ours = cookie_name(headers);
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|h| {
        h.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == ours).then(|| value.to_owned())
        })
    })
}

/// Who is signed in, or `None`.
pub(crate) async fn current(parts: &Parts, state: &UiState) -> Result<Option<SignedIn>, UiError> {
    let Some(session) =
        cookie_value(&parts.headers).and_then(|value| state.sessions.touch(&value, state.now_ms()))
    else {
        return Ok(None);
    };
    let staff_id = session.staff_id;
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
    use uuid::Uuid;

    use super::*;

    const T0: u64 = 1_000_000;

    #[test]
    fn sessions_end_idle_at_the_latest_after_a_shift_or_when_ended() {
        let sessions = Sessions::default();
        let sam = StaffId(Uuid::from_u128(42));
        let cookie = sessions.start(sam, T0).unwrap();
        assert_eq!(cookie.len(), 32);
        assert_eq!(sessions.touch(&cookie, T0 + IDLE_MS).map(|s| s.staff_id), Some(sam));
        // Used within the idle period, it lasts; left alone longer, it ends.
        let used = T0 + IDLE_MS;
        assert!(sessions.touch(&cookie, used + IDLE_MS).is_some());
        assert!(sessions.touch(&cookie, used + 3 * IDLE_MS).is_none(), "idle too long");
        assert!(sessions.touch(&cookie, used + IDLE_MS).is_none(), "ended for good");

        // However busy, a session ends a shift after sign-in.
        let busy = sessions.start(sam, T0).unwrap();
        let mut now = T0;
        while now + IDLE_MS / 2 <= T0 + SESSION_MS {
            now += IDLE_MS / 2;
            assert!(sessions.touch(&busy, now).is_some(), "at {now}");
        }
        assert!(sessions.touch(&busy, T0 + SESSION_MS + 1).is_none());

        // Unknown cookies are nobody; signing out and a manager's end both end.
        assert!(sessions.touch("", T0).is_none() && sessions.touch("00", T0).is_none());
        let (a, b, c) = (
            sessions.start(sam, T0).unwrap(),
            sessions.start(sam, T0).unwrap(),
            sessions.start(sam, T0).unwrap(),
        );
        sessions.end(&a);
        assert!(sessions.touch(&a, T0).is_none());
        let b_handle = sessions.touch(&b, T0).unwrap().handle;
        assert!(sessions.end_handle(&b_handle) && !sessions.end_handle(&b_handle));
        assert!(sessions.touch(&b, T0).is_none());
        let c_handle = sessions.touch(&c, T0).unwrap().handle;
        let d = sessions.start(sam, T0).unwrap();
        assert_eq!(sessions.end_all_but(&c_handle), 1);
        assert!(sessions.touch(&c, T0).is_some() && sessions.touch(&d, T0).is_none());
        assert_eq!(sessions.list(T0).len(), 1);
    }

    #[test]
    fn a_flood_of_sign_ins_keeps_a_bounded_number_of_sessions() {
        let sessions = Sessions::default();
        let first = sessions.start(StaffId(Uuid::from_u128(1)), T0).unwrap();
        for i in 0..(MAX_SESSIONS as u64 * 2) {
            sessions.start(StaffId(Uuid::from_u128(2)), T0 + 1 + i).unwrap();
        }
        assert_eq!(sessions.list(T0 + 1_000).len(), MAX_SESSIONS);
        assert!(sessions.touch(&first, T0 + 1_000).is_none(), "the idlest went first");
    }

    #[test]
    fn each_port_has_its_own_session_cookie() {
        let with = |host: &str, cookie: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().unwrap());
            headers.insert(header::COOKIE, cookie.parse().unwrap());
            headers
        };
        let both = "thorbis_session_8090=a; thorbis_session_8091=b";
        assert_eq!(cookie_value(&with("127.0.0.1:8090", both)).as_deref(), Some("a"));
        assert_eq!(cookie_value(&with("127.0.0.1:8091", both)).as_deref(), Some("b"));
        assert_eq!(cookie_value(&with("127.0.0.1:8092", both)), None);
        assert_eq!(cookie_value(&with("localhost", "thorbis_session_80=c")).as_deref(), Some("c"));
        assert!(
            set_cookie(&with("127.0.0.1:8091", ""), "x").starts_with("thorbis_session_8091=x;")
        );
    }

    #[test]
    fn form_tokens_are_bound_to_the_cookie_and_the_key() {
        let key = SessionKey::from_bytes(b"test key");
        let token = key.csrf_token("abc");
        assert!(key.verify_csrf_token("abc", &token));
        assert!(!key.verify_csrf_token("abd", &token));
        assert!(!key.verify_csrf_token("", &token));
        assert!(!SessionKey::from_bytes(b"other").verify_csrf_token("abc", &token));
        for junk in ["", "zz", &token[..token.len() - 1]] {
            assert!(!key.verify_csrf_token("abc", junk), "{junk}");
        }
    }
}
