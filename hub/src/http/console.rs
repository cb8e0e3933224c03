//! The console API: a tenant's people sign in with an email and password and act on their
//! own tenant, replacing the bootstrap admin token for day-to-day work.
//!
//! **Passwords** are argon2id PHC strings, hashed and verified off the async workers by
//! [`crate::accounts`], which owns the users, their passwords and sessions.
//!
//! **Login** (`POST /api/v1/console/login {tenant_id, email, password}`) names its tenant,
//! so the user is looked up under that tenant's RLS and no pre-tenant lookup function is
//! needed (the console knows its tenant from its URL or a first-run prompt). Unknown tenant,
//! unknown or inactive user, locked account and wrong password all get the same 401 and
//! cost the same argon2 verification (a dummy hash stands in when there is no user), so
//! the answer tells an attacker nothing about which emails exist. After
//! [`crate::accounts::MAX_FAILED_LOGINS`] consecutive failures the account is locked for
//! [`crate::accounts::LOCKOUT_MS`];
//! the counter resets on success. That bounds online guessing to a handful per minute per
//! account at the price of letting someone who knows an email lock it for a minute, which
//! is the usual trade; concurrent guesses racing the counter can each get one try.
//!
//! **Sessions**: login sets the cookie `thorbis_console=<tenant id>.<64 hex>` where the hex
//! is a fresh 256-bit secret; only its SHA-256 is stored. The cookie is `HttpOnly` (script
//! cannot read it), `SameSite=Strict` (other sites' requests do not carry it), `Path=/`,
//! `Max-Age` = the session lifetime, and `Secure` when the hub serves TLS. The tenant id in
//! the cookie only says under which tenant's RLS to look the secret up: a forged tenant id
//! finds no session. Logout revokes the row, so a copied cookie stops working too.
//!
//! **CSRF**: login also returns a random 256-bit CSRF token in its body (only its hash is
//! stored with the session). Every state-changing console request (any method but GET,
//! HEAD and OPTIONS) must echo it in `X-CSRF-Token`; the comparison is of SHA-256 digests in
//! constant time. This is the synchronizer-token pattern on top of `SameSite=Strict`, so a
//! cross-site form post fails even in a browser that ignores `SameSite`. A console that loses
//! the token (a reload) signs in again.
//!
//! **API tokens** (`Authorization: Bearer thb_...`, made on the console's account page, see
//! [`crate::accounts::tokens`]) stand in for a session on every console endpoint but sign-out
//! and password changes: no cookie carries them, so no CSRF token is asked for; a `read`
//! token acts as a viewer, a `write` token as its user.
//!
//! **Roles**: owner ⊇ manager ⊇ viewer. Managers run the tenant's operations (locations,
//! enrollment codes, device revocation, reference data, staff and their PINs); owners also add console users;
//! viewers can only read. The tenant of every operation is the session's, never a URL or
//! body field, so a session of one tenant cannot name another's rows.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use thorbis_domain::allowance::Allowance;
use uuid::Uuid;

use crate::accounts::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, SessionUser, tokens};
pub use crate::accounts::{ConsoleRole, LOCKOUT_MS, MAX_FAILED_LOGINS, SESSION_TTL_MS};

use super::admin::{Admin, NewCode, NewLocation, parse_uuid};
use super::reference::Publish;
use super::staff::StaffRequest;
use super::{AppState, Error, JsonBody, Result};
use crate::identity::{hex, parse_hex};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "thorbis_console";
/// The header that must carry the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub(super) fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(Error::BadRequest("email must look like name@example.com".into()));
    }
    Ok(email)
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::BadRequest(format!(
            "password must be {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConsoleUser {
    email: String,
    password: String,
    role: String,
}

pub(super) async fn admin_create_user(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(req): JsonBody<NewConsoleUser>,
) -> Result<Json<Value>> {
    create_user_in(&state, parse_uuid("tenant id", &tenant_id)?, req).await
}

/// Adds a console user to `tenant_id` (admin bootstrap and console owners).
async fn create_user_in(
    state: &AppState,
    tenant_id: Uuid,
    req: NewConsoleUser,
) -> Result<Json<Value>> {
    let email = normalize_email(&req.email)?;
    let role = ConsoleRole::parse(&req.role).ok_or_else(|| {
        Error::BadRequest(format!("role must be owner, manager or viewer, not {:?}", req.role))
    })?;
    check_password(&req.password)?;
    let user_id =
        accounts::create_user(state.store(), tenant_id, &email, req.password, role).await?;
    Ok(Json(json!({ "user_id": user_id, "email": email, "role": role.as_str() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    tenant_id: Uuid,
    email: String,
    password: String,
    /// The authenticator app's code, for a user with the second factor on.
    #[serde(default)]
    totp_code: Option<String>,
}

/// Console sign-ins a client address may try at once after a quiet spell.
pub const LOGIN_BURST: u64 = 10;
/// Then one more per this many milliseconds.
pub const LOGIN_REFILL_MS: u64 = 3_000;
/// How long a throttled sign-in waits for its refusal, at least.
const THROTTLED_ANSWER_DELAY: Duration = Duration::from_millis(500);
/// Addresses remembered at most; beyond it, idle ones are forgotten first.
const LOGIN_CLIENTS: usize = 10_000;

/// Console sign-ins per client address ([`Allowance`]): a password check costs tens of
/// milliseconds of a core, so one address flooding the login gets refused without one,
/// after a pause, and device sync keeps its CPU. Per account, the lockout still applies
/// ([`accounts::login`]).
#[derive(Debug, Default)]
pub(super) struct LoginThrottle(std::sync::Mutex<std::collections::HashMap<IpAddr, Allowance>>);

impl LoginThrottle {
    /// Spends one of `client`'s attempts at `now_ms`; whether it had one.
    fn take(&self, client: IpAddr, now_ms: u64) -> bool {
        let mut clients = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() >= LOGIN_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, allowance| !allowance.is_full(now_ms));
            if clients.len() >= LOGIN_CLIENTS {
                return false;
            }
        }
        clients
            .entry(client)
            .or_insert_with(|| Allowance::full(LOGIN_BURST, LOGIN_REFILL_MS))
            .take(now_ms)
    }
}

/// Spends one of `client`'s sign-in attempts, or refuses it (late) when it has none left.
pub(super) async fn throttle(state: &AppState, client: SocketAddr) -> Result<()> {
    if state.0.logins.take(client.ip(), state.now_ms()) {
        return Ok(());
    }
    // Answered late: a client that retries as soon as it is answered (a flood) then
    // costs about one cheap request a second, not thousands. Spread by the client's
    // port, so many clients throttled at once do not all come back at once.
    let spread = u64::from(client.port()) * 7_919 % 1_000;
    tokio::time::sleep(THROTTLED_ANSWER_DELAY + Duration::from_millis(spread)).await;
    Err(Error::TooManyRequests(
        "too many sign-in attempts from this address: wait a few seconds and try again".into(),
    ))
}

pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<Login>,
) -> Result<Response> {
    throttle(&state, client).await?;
    // Login has no session and so no CSRF token yet. Requiring a JSON content type makes a
    // cross-site login attempt a CORS-preflighted request that browsers do not send, so a
    // hostile page cannot sign a visitor in to the attacker's account (login CSRF); an HTML
    // form can only send form or text content types.
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(Error::BadRequest("login needs `Content-Type: application/json`".into()));
    }
    let tenant_id = req.tenant_id;
    let email = req.email.trim().to_lowercase();
    let session =
        accounts::login(state.store(), tenant_id, &email, req.password, req.totp_code.as_deref())
            .await?;
    let cookie = session_cookie_value(&state, tenant_id, &session.secret);
    let body = json!({
        "tenant_id": tenant_id,
        "user_id": session.user_id,
        "email": email,
        "role": session.role,
        "csrf_token": session.csrf_token,
        "expires_at_ms": session.expires_at_ms,
    });
    Ok(([(SET_COOKIE, header_value(&cookie)?)], Json(body)).into_response())
}

/// The `Set-Cookie` value that gives the browser its session (see the module docs).
pub(super) fn session_cookie_value(state: &AppState, tenant_id: Uuid, secret: &[u8; 32]) -> String {
    format!(
        "{SESSION_COOKIE}={tenant_id}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hex(secret),
        SESSION_TTL_MS / 1000,
        if state.0.secure_cookies { "; Secure" } else { "" },
    )
}

/// The `Set-Cookie` value that ends the browser's session cookie.
pub(super) fn session_cookie_cleared(state: &AppState) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if state.0.secure_cookies { "; Secure" } else { "" },
    )
}

/// The user of the request's session cookie, if it names a live session.
pub(super) async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>> {
    let Some((tenant_id, secret)) = session_cookie(headers) else { return Ok(None) };
    Ok(accounts::session(state.store(), tenant_id, &secret).await?)
}

pub(super) fn header_value(s: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(s).map_err(|e| Error::Internal(e.into()))
}

/// The value of the cookie `name`, from any of the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, value) = pair.trim().split_once('=')?;
            (n == name).then_some(value)
        })
}

/// The session cookie's tenant and secret.
fn session_cookie(headers: &HeaderMap) -> Option<(Uuid, [u8; 32])> {
    let (tenant, secret) = cookie(headers, SESSION_COOKIE)?.split_once('.')?;
    Some((tenant.parse().ok()?, parse_hex(secret)?))
}

/// A signed-in console user. Extracting it checks the session cookie and, on a
/// state-changing request, the CSRF token; handlers then check the role with
/// [`ConsoleUser::require`].
#[derive(Clone, Debug)]
pub(super) struct ConsoleUser(SessionUser);

impl std::ops::Deref for ConsoleUser {
    type Target = SessionUser;

    fn deref(&self) -> &SessionUser {
        &self.0
    }
}

impl ConsoleUser {
    /// Refuses a user whose role does not include `role`.
    pub(super) fn require(&self, role: ConsoleRole) -> Result<()> {
        if self.role < role {
            return Err(Error::Forbidden(format!(
                "this needs the {} role; you are {}",
                role.as_str(),
                self.role.as_str()
            )));
        }
        Ok(())
    }
}

impl axum::extract::FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self> {
        // An API token: no cookie, so no cross-site request can carry it, and no CSRF token.
        if let Some(bearer) = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| t.starts_with("thb_"))
        {
            let invalid = || Error::Unauthorized("the API token is not valid (revoked?)".into());
            let (tenant, secret) = tokens::parse(bearer.trim()).ok_or_else(invalid)?;
            let user = tokens::user(state.store(), tenant, &secret).await?.ok_or_else(invalid)?;
            return Ok(ConsoleUser(user));
        }
        let user = session_user(state, &parts.headers)
            .await?
            .ok_or_else(|| Error::Unauthorized("no valid console session; log in".into()))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .ok_or_else(|| Error::Forbidden(format!("missing `{CSRF_HEADER}` header")))?;
            if !user.csrf_matches(given.as_bytes()) {
                return Err(Error::Forbidden(format!(
                    "`{CSRF_HEADER}` does not match this session's token"
                )));
            }
        }
        Ok(ConsoleUser(user))
    }
}

/// Refuses an API token where only a browser session makes sense.
fn session_only(user: &ConsoleUser) -> Result<()> {
    if user.by_token {
        return Err(Error::Forbidden("this needs a signed-in session, not an API token".into()));
    }
    Ok(())
}

pub(super) async fn logout(State(state): State<AppState>, user: ConsoleUser) -> Result<Response> {
    session_only(&user)?;
    accounts::logout(state.store(), &user).await?;
    let clear = session_cookie_cleared(&state);
    Ok(([(SET_COOKIE, header_value(&clear)?)], Json(json!({ "logged_out": true }))).into_response())
}

pub(super) async fn me(user: ConsoleUser) -> Json<Value> {
    Json(json!({
        "tenant_id": user.tenant_id,
        "user_id": user.user_id,
        "email": user.email,
        "role": user.role.as_str(),
    }))
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<NewConsoleUser>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Owner)?;
    create_user_in(&state, user.tenant_id, req).await
}

pub(super) async fn create_location(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<NewLocation>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    super::admin::location_in(&state, user.tenant_id, req).await
}

pub(super) async fn create_enrollment_code(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<NewCode>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    super::admin::enrollment_code_in(&state, user.tenant_id, req).await
}

pub(super) async fn revoke_device(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(device_id): Path<String>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    let device_id = parse_uuid("device id", &device_id)?;
    super::admin::revoke_device_in(&state, user.tenant_id, device_id).await
}

pub(super) async fn publish(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<Publish>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    super::reference::publish_in(&state, user.tenant_id, req).await
}

pub(super) async fn upsert_staff(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<StaffRequest>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    super::staff::staff_in(&state, user.tenant_id, req).await
}

pub(super) async fn devices(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Viewer)?;
    super::admin::devices_in(&state, user.tenant_id).await
}

pub(super) async fn configure_device(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(device_id): Path<String>,
    JsonBody(config): JsonBody<Value>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    let device_id = parse_uuid("device id", &device_id)?;
    super::admin::configure_device_in(&state, user.tenant_id, device_id, config).await
}

/// The tenant's console users (managers and owners; viewers see only themselves via `me`).
pub(super) async fn users(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>> {
    user.require(ConsoleRole::Manager)?;
    let users = accounts::users(state.store(), user.tenant_id).await?;
    Ok(Json(json!({ "users": users })))
}

/// Deactivates a console user (owners only): they can no longer sign in and their open
/// sessions end now. An owner cannot deactivate themselves, so a tenant always keeps the
/// owner who is acting.
pub(super) async fn deactivate_user(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    user.require(ConsoleRole::Owner)?;
    let target = parse_uuid("user id", &user_id)?;
    if target == user.user_id {
        return Err(Error::Conflict("you cannot deactivate your own account".into()));
    }
    accounts::deactivate(state.store(), user.tenant_id, target).await?;
    tracing::warn!(tenant_id = %user.tenant_id, user_id = %target, by = %user.user_id,
        "console user deactivated");
    Ok(Json(json!({ "user_id": target, "active": false })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the signed-in user's own password. The current one must be given (a session
/// left open on a shared screen is not enough); every other session of the user ends.
pub(super) async fn change_password(
    State(state): State<AppState>,
    user: ConsoleUser,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<Json<Value>> {
    session_only(&user)?;
    check_password(&req.new_password)?;
    accounts::change_password(state.store(), &user, req.current_password, req.new_password).await?;
    Ok(Json(json!({ "changed": true })))
}
