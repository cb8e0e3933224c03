//! The console API: a tenant's people sign in with an email and password and act on their
//! own tenant, replacing the bootstrap admin token for day-to-day work.
//!
//! **Passwords** are hashed with argon2id (version 0x13) at the crate's default cost, which
//! is OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt
//! from `ring`'s `SystemRandom`, 32-byte output. The PHC string (`$argon2id$v=19$m=19456,
//! t=2,p=1$<salt>$<hash>`) is what is stored, so the cost can be raised later and old hashes
//! still verify. Hashing and verifying take tens of milliseconds of CPU and run in
//! `spawn_blocking`, never on the async workers, at most [`MAX_CONCURRENT_HASHES`] at once.
//!
//! **Login** (`POST /api/v1/console/login {tenant_id, email, password}`) names its tenant,
//! so the user is looked up under that tenant's RLS and no pre-tenant lookup function is
//! needed (the console knows its tenant from its URL or a first-run prompt). Unknown tenant,
//! unknown or inactive user, locked account and wrong password all get the same 401 and
//! cost the same argon2 verification (a dummy hash stands in when there is no user), so
//! the answer tells an attacker nothing about which emails exist. After
//! [`MAX_FAILED_LOGINS`] consecutive failures the account is locked for [`LOCKOUT_MS`];
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
//! **Roles**: owner ⊇ manager ⊇ viewer. Managers run the tenant's operations (locations,
//! enrollment codes, device revocation, reference data, staff and their PINs); owners also add console users;
//! viewers can only read. The tenant of every operation is the session's, never a URL or
//! body field, so a session of one tenant cannot name another's rows.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::admin::{Admin, NewCode, NewTenant, parse_uuid};
use super::reference::Publish;
use super::staff::StaffRequest;
use super::{AppState, Error, JsonBody, Result};
use crate::db::tenant_tx;
use crate::identity::hex;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "thorbis_console";
/// The header that must carry the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from login: a working day, then sign in again.
pub const SESSION_TTL_MS: u64 = 12 * 3600 * 1000;
/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: u64 = 60 * 1000;
/// The one answer to every failed login, so it reveals nothing about which part was wrong.
const LOGIN_FAILED: &str = "wrong tenant, email or password, or too many failed attempts \
                            (wait a minute and try again)";
/// Bounds the argon2 input and the stored strings; longer passwords gain nothing.
const MAX_PASSWORD_BYTES: usize = 1024;
const MIN_PASSWORD_CHARS: usize = 12;

/// A console role; each includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConsoleRole {
    /// Reads only.
    Viewer,
    /// Runs the tenant's operations.
    Manager,
    /// Also manages console users.
    Owner,
}

impl ConsoleRole {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "manager" => Some(Self::Manager),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Manager => "manager",
            Self::Owner => "owner",
        }
    }
}

/// At most this many argon2 computations at once, process-wide. Each holds 19 MiB and a
/// core for tens of milliseconds; without a bound a burst of logins would fill the blocking
/// pool (hundreds of threads) and its memory. Excess logins wait their turn asynchronously.
const MAX_CONCURRENT_HASHES: usize = 4;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

/// Runs an argon2 computation on the blocking pool, within [`MAX_CONCURRENT_HASHES`].
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 semaphore closed: {e}")))?;
    tokio::task::spawn_blocking(work).await?
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

fn random_32() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal(anyhow::anyhow!("the OS random source failed")))?;
    Ok(bytes)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Equal in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hashes a password to its PHC string, off the async workers.
async fn hash_password(password: String) -> Result<String> {
    hashing(move || {
        let salt = random_32()?;
        argon2()
            .hash_password_with_salt(password.as_bytes(), &salt[..16])
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
    })
    .await
}

/// Hashes a staff PIN (already checked to be 4 to 8 digits) to its argon2id PHC string at
/// the same OWASP cost, with a fresh 16-byte salt, under the same limit as passwords. The
/// PIN is moved in and dropped on the blocking thread; it is never logged.
pub(super) async fn hash_pin(pin: String) -> Result<String> {
    hashing(move || {
        let mut salt = [0u8; 16];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| Error::Internal(anyhow::anyhow!("the OS random source failed")))?;
        argon2()
            .hash_password_with_salt(pin.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
    })
    .await
}

/// Verifies a password against a stored PHC string, or against a dummy hash when there is
/// no user so that "no such user" costs as much as "wrong password".
async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    hashing(move || {
        let phc = match &stored {
            Some(phc) => phc.as_str(),
            None => DUMMY.get_or_init(|| {
                argon2()
                    .hash_password_with_salt(b"no such user", &[0u8; 16])
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            }),
        };
        let ok = argon2().verify_password(password.as_bytes(), phc).is_ok();
        Ok(ok && stored.is_some())
    })
    .await
}

fn normalize_email(email: &str) -> Result<String> {
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
    let password_hash = hash_password(req.password).await?;
    let user_id = Uuid::now_v7();
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    if tx.query_opt("SELECT 1 FROM tenants WHERE tenant_id = $1", &[&tenant_id]).await?.is_none() {
        return Err(Error::NotFound(format!("no tenant {tenant_id}")));
    }
    let inserted = tx
        .execute(
            "INSERT INTO console_users (tenant_id, user_id, email, password_hash, role, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING",
            &[&tenant_id, &user_id, &email, &password_hash, &role.as_str(), &(state.now_ms() as i64)],
        )
        .await?;
    if inserted == 0 {
        return Err(Error::Conflict(format!("a console user {email} already exists")));
    }
    tx.commit().await?;
    tracing::info!(%tenant_id, %user_id, role = role.as_str(), "console user created");
    Ok(Json(json!({ "user_id": user_id, "email": email, "role": role.as_str() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    tenant_id: Uuid,
    email: String,
    password: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<Login>,
) -> Result<Response> {
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
    let failed = || Error::Unauthorized(LOGIN_FAILED.into());
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(failed());
    }
    let tenant_id = req.tenant_id;
    let email = req.email.trim().to_lowercase();
    let now = state.now_ms() as i64;
    let mut client = state.0.pool.get().await?;
    let user = {
        let tx = tenant_tx(&mut client, tenant_id).await?;
        let row = tx
            .query_opt(
                "SELECT user_id, password_hash, role, active, locked_until_ms
                   FROM console_users WHERE tenant_id = $1 AND email = $2",
                &[&tenant_id, &email],
            )
            .await?;
        tx.commit().await?;
        row
    };
    // Inactive and locked accounts are checked after the (dummy) verification so every
    // failure takes the same time.
    let usable = user.as_ref().filter(|r| r.get::<_, bool>(3) && r.get::<_, i64>(4) <= now);
    let ok = verify_password(req.password, usable.map(|r| r.get(1))).await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    let (Some(row), true) = (usable, ok) else {
        if let Some(row) = &user {
            let user_id: Uuid = row.get(0);
            // Count the failure; at the limit, lock and start counting again.
            tx.execute(
                "UPDATE console_users
                    SET failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0
                                             ELSE failed_logins + 1 END,
                        locked_until_ms = CASE WHEN failed_logins + 1 >= $3 THEN $4
                                               ELSE locked_until_ms END
                  WHERE tenant_id = $1 AND user_id = $2 AND locked_until_ms <= $5",
                &[&tenant_id, &user_id, &MAX_FAILED_LOGINS, &(now + LOCKOUT_MS as i64), &now],
            )
            .await?;
            tx.commit().await?;
        }
        tracing::info!(%tenant_id, "console login refused");
        return Err(failed());
    };
    let user_id: Uuid = row.get(0);
    let role: String = row.get(2);
    let secret = random_32()?;
    let csrf = random_32()?;
    let expires_at_ms = now + SESSION_TTL_MS as i64;
    tx.execute(
        "UPDATE console_users SET failed_logins = 0 WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant_id, &user_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO console_sessions (tenant_id, session_hash, user_id, csrf_hash, created_at_ms,
             expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant_id,
            &sha256(&secret).as_slice(),
            &user_id,
            &sha256(hex(&csrf).as_bytes()).as_slice(),
            &now,
            &expires_at_ms,
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, %user_id, "console login");
    let cookie = format!(
        "{SESSION_COOKIE}={tenant_id}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hex(&secret),
        SESSION_TTL_MS / 1000,
        if state.0.secure_cookies { "; Secure" } else { "" },
    );
    let body = json!({
        "tenant_id": tenant_id,
        "user_id": user_id,
        "email": email,
        "role": role,
        "csrf_token": hex(&csrf),
        "expires_at_ms": expires_at_ms,
    });
    Ok(([(SET_COOKIE, header_value(&cookie)?)], Json(body)).into_response())
}

fn header_value(s: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(s).map_err(|e| Error::Internal(e.into()))
}

/// The session cookie's tenant and secret, from any of the request's `Cookie` headers.
fn session_cookie(headers: &HeaderMap) -> Option<(Uuid, [u8; 32])> {
    let value = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then_some(value)
        })?;
    let (tenant, secret) = value.split_once('.')?;
    let tenant = tenant.parse().ok()?;
    if secret.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(secret.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((tenant, bytes))
}

/// A signed-in console user. Extracting it checks the session cookie and, on a
/// state-changing request, the CSRF token; handlers then check the role with
/// [`ConsoleUser::require`].
#[derive(Clone, Debug)]
pub(super) struct ConsoleUser {
    tenant_id: Uuid,
    user_id: Uuid,
    email: String,
    role: ConsoleRole,
    session_hash: [u8; 32],
}

impl ConsoleUser {
    /// Refuses a user whose role does not include `role`.
    fn require(&self, role: ConsoleRole) -> Result<()> {
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
        let no_session = || Error::Unauthorized("no valid console session; log in".into());
        let (tenant_id, secret) = session_cookie(&parts.headers).ok_or_else(no_session)?;
        let session_hash = sha256(&secret);
        let mut client = state.0.pool.get().await?;
        let tx = tenant_tx(&mut client, tenant_id).await?;
        let row = tx
            .query_opt(
                "SELECT s.user_id, u.email, u.role, s.csrf_hash
                   FROM console_sessions s
                   JOIN console_users u ON u.tenant_id = s.tenant_id AND u.user_id = s.user_id
                  WHERE s.tenant_id = $1 AND s.session_hash = $2 AND s.revoked_at_ms IS NULL
                    AND s.expires_at_ms > $3 AND u.active",
                &[&tenant_id, &session_hash.as_slice(), &(state.now_ms() as i64)],
            )
            .await?
            .ok_or_else(no_session)?;
        tx.commit().await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let stored: &[u8] = row.get(3);
            let stored: [u8; 32] = stored.try_into().map_err(|_| {
                Error::Internal(anyhow::anyhow!("stored CSRF hash is not 32 bytes"))
            })?;
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .ok_or_else(|| Error::Forbidden(format!("missing `{CSRF_HEADER}` header")))?;
            if !constant_time_eq(&sha256(given.as_bytes()), &stored) {
                return Err(Error::Forbidden(format!(
                    "`{CSRF_HEADER}` does not match this session's token"
                )));
            }
        }
        let role: String = row.get(2);
        Ok(ConsoleUser {
            tenant_id,
            user_id: row.get(0),
            email: row.get(1),
            role: ConsoleRole::parse(&role).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("stored console role {role:?} is unknown"))
            })?,
            session_hash,
        })
    }
}

pub(super) async fn logout(State(state): State<AppState>, user: ConsoleUser) -> Result<Response> {
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    tx.execute(
        "UPDATE console_sessions SET revoked_at_ms = $3
          WHERE tenant_id = $1 AND session_hash = $2 AND revoked_at_ms IS NULL",
        &[&user.tenant_id, &user.session_hash.as_slice(), &(state.now_ms() as i64)],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "console logout");
    let clear = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if state.0.secure_cookies { "; Secure" } else { "" },
    );
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
    JsonBody(req): JsonBody<NewTenant>,
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
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let rows = tx
        .query(
            "SELECT user_id, email, role, active, created_at_ms FROM console_users
              WHERE tenant_id = $1 ORDER BY email",
            &[&user.tenant_id],
        )
        .await?;
    tx.commit().await?;
    let users: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "user_id": r.get::<_, Uuid>(0),
                "email": r.get::<_, String>(1),
                "role": r.get::<_, String>(2),
                "active": r.get::<_, bool>(3),
                "created_at_ms": r.get::<_, i64>(4),
            })
        })
        .collect();
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
    let now = state.now_ms() as i64;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let updated = tx
        .execute(
            "UPDATE console_users SET active = false WHERE tenant_id = $1 AND user_id = $2",
            &[&user.tenant_id, &target],
        )
        .await?;
    if updated == 0 {
        return Err(Error::NotFound(format!("no console user {target}")));
    }
    end_sessions(&tx, user.tenant_id, target, None, now).await?;
    tx.commit().await?;
    tracing::warn!(tenant_id = %user.tenant_id, user_id = %target, by = %user.user_id,
        "console user deactivated");
    Ok(Json(json!({ "user_id": target, "active": false })))
}

/// Ends `user`'s open sessions, except `keep`.
async fn end_sessions(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
    user: Uuid,
    keep: Option<&[u8; 32]>,
    now_ms: i64,
) -> Result<()> {
    let keep: &[u8] = keep.map_or(&[], |k| k.as_slice());
    tx.execute(
        "UPDATE console_sessions SET revoked_at_ms = $4
          WHERE tenant_id = $1 AND user_id = $2 AND session_hash <> $3 AND revoked_at_ms IS NULL",
        &[&tenant, &user, &keep, &now_ms],
    )
    .await?;
    Ok(())
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
    check_password(&req.new_password)?;
    let mut client = state.0.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let stored: Option<String> = tx
        .query_opt(
            "SELECT password_hash FROM console_users
              WHERE tenant_id = $1 AND user_id = $2 AND active FOR UPDATE",
            &[&user.tenant_id, &user.user_id],
        )
        .await?
        .map(|r| r.get(0));
    if !verify_password(req.current_password, stored).await? {
        return Err(Error::Forbidden("the current password is wrong".into()));
    }
    let hash = hash_password(req.new_password).await?;
    tx.execute(
        "UPDATE console_users SET password_hash = $3 WHERE tenant_id = $1 AND user_id = $2",
        &[&user.tenant_id, &user.user_id, &hash],
    )
    .await?;
    end_sessions(
        &tx,
        user.tenant_id,
        user.user_id,
        Some(&user.session_hash),
        state.now_ms() as i64,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "console password changed");
    Ok(Json(json!({ "changed": true })))
}
