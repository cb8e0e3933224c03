//! Console accounts: users, their passwords, sign-in with lockout, and server-side
//! sessions. The HTTP side (cookies, the CSRF header, roles per route) is
//! `http/console.rs`'s; this module owns the rows and the secrets.
//!
//! **Passwords** are hashed with argon2id (version 0x13) at the crate's default cost, which
//! is OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt
//! from `ring`'s `SystemRandom`, 32-byte output. The PHC string (`$argon2id$v=19$m=19456,
//! t=2,p=1$<salt>$<hash>`) is what is stored, so the cost can be raised later and old hashes
//! still verify. Hashing and verifying take tens of milliseconds of CPU and run in
//! `spawn_blocking`, never on the async workers, at most [`MAX_CONCURRENT_HASHES`] at once.
//! Staff PINs ([`hash_pin`]) are hashed the same way.
//!
//! **Sign-in** ([`login`]): unknown tenant, unknown or inactive user, locked account and
//! wrong password are one error and cost the same argon2 verification (a dummy hash stands
//! in when there is no user). After [`MAX_FAILED_LOGINS`] consecutive failures the account
//! is locked for [`LOCKOUT_MS`]; the counter resets on success. Each attempt is counted
//! before its password is checked, so concurrent guesses cannot check more passwords than
//! the limit; no database connection is held while a hash is computed.
//!
//! **Sessions**: a fresh 256-bit secret and a 256-bit CSRF token per sign-in; only their
//! SHA-256 digests are stored, and compared in constant time.

pub mod links;
pub mod tokens;

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::identity::hex;
use crate::store::{Fault, Store, faults};
use crate::tenants::{TenantError, require_tenant};

/// How long a session lasts from login: a working day, then sign in again.
pub const SESSION_TTL_MS: u64 = 12 * 3600 * 1000;
/// Consecutive failed logins that lock an account.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: u64 = 60 * 1000;
/// Bounds the argon2 input and the stored strings; longer passwords gain nothing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// At most this many argon2 computations at once, process-wide. Each holds 19 MiB and a
/// core for tens of milliseconds; without a bound a burst of logins would fill the blocking
/// pool (hundreds of threads) and its memory. Excess logins wait their turn asynchronously.
pub const MAX_CONCURRENT_HASHES: usize = 4;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_HASHES);

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
    /// The role by its stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "manager" => Some(Self::Manager),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// Its stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Manager => "manager",
            Self::Owner => "owner",
        }
    }
}

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Any failed sign-in: the one answer, so it reveals nothing about which part was wrong.
    #[error(
        "wrong tenant, email or password, or too many failed attempts (wait a minute and \
         try again)"
    )]
    LoginFailed,
    /// A password change gave the wrong current password.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The email is taken in the tenant.
    #[error("a console user {0} already exists")]
    EmailTaken(String),
    /// No such user in the tenant.
    #[error("no console user {0}")]
    NoUser(Uuid),
    /// The user holds as many API tokens as allowed.
    #[error("you hold {0} API tokens already: revoke one first")]
    TooManyTokens(i64),
    /// The tenant does not exist.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(AccountError);

/// Runs an argon2 computation on the blocking pool, within [`MAX_CONCURRENT_HASHES`].
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Fault> + Send + 'static,
) -> Result<T, Fault> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| Fault::Corrupt(format!("argon2 semaphore closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Fault::Corrupt(format!("argon2 task failed: {e}")))?
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

fn random<const N: usize>() -> Result<[u8; N], Fault> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Fault::Corrupt("the OS random source failed".into()))?;
    Ok(bytes)
}

/// A session's CSRF token: derived from its secret, so a page rendered for the session can
/// put it in its forms without the hub storing it (only its digest is stored), and
/// unguessable without the secret, which only the session's cookie holds.
fn csrf_token(secret: &[u8; 32]) -> String {
    let mut input = b"thorbis-console-csrf-v1\0".to_vec();
    input.extend_from_slice(secret);
    hex(&sha256(&input))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Equal in time independent of where the inputs differ.
/// Whether two secrets are equal, compared as digests in constant time (their lengths may
/// differ without telling an attacker where).
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    constant_time_eq(&sha256(a), &sha256(b))
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hashes `secret` (a password, or a PIN already checked to be 4 to 8 digits) to its
/// argon2id PHC string with a fresh 16-byte salt, off the async workers. The secret is
/// moved in and dropped on the blocking thread; it is never logged.
async fn hash_secret(secret: String) -> Result<String, Fault> {
    hashing(move || {
        let salt = random::<16>()?;
        argon2()
            .hash_password_with_salt(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Fault::Corrupt(format!("argon2 hashing failed: {e}")))
    })
    .await
}

/// Hashes a staff PIN (already checked to be 4 to 8 digits) at the passwords' cost.
pub async fn hash_pin(pin: String) -> Result<String, Fault> {
    hash_secret(pin).await
}

/// Verifies a password against a stored PHC string, or against a dummy hash when there is
/// no user so that "no such user" costs as much as "wrong password".
async fn verify_password(password: String, stored: Option<String>) -> Result<bool, Fault> {
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

/// Adds a console user to `tenant`; returns its id. `email` is normalized and `password`
/// checked by the caller.
pub async fn create_user(
    store: &Store,
    tenant: Uuid,
    email: &str,
    password: String,
    role: ConsoleRole,
) -> Result<Uuid, AccountError> {
    let password_hash = hash_secret(password).await?;
    let user_id = Uuid::now_v7();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    require_tenant(&tx, tenant).await?;
    let inserted = tx
        .execute(
            "INSERT INTO console_users (tenant_id, user_id, email, password_hash, role, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING",
            &[&tenant, &user_id, &email, &password_hash, &role.as_str(), &store.now_i64()],
        )
        .await?;
    if inserted == 0 {
        return Err(AccountError::EmailTaken(email.to_owned()));
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, %user_id, role = role.as_str(), "console user created");
    Ok(user_id)
}

/// Wrong second-factor codes in a row (with the right password) that lock an account.
pub const MAX_WRONG_CODES: i32 = 10;
/// How long they lock it.
pub const WRONG_CODES_LOCKOUT_MS: i64 = 3_600_000;

/// Counts a wrong second-factor code for `user`, who gave the right password: every
/// [`MAX_WRONG_CODES`] in a row lock the account for [`WRONG_CODES_LOCKOUT_MS`] and raise an
/// alert, since someone else may know the password. (The password's own lockout alone would
/// let a guesser try thousands of codes a day.)
async fn wrong_code(
    store: &Store,
    tenant: Uuid,
    user: Uuid,
    email: &str,
) -> Result<(), AccountError> {
    let now = store.now_i64();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let failures: i32 = tx
        .query_one(
            "UPDATE console_users SET totp_failures = totp_failures + 1
              WHERE tenant_id = $1 AND user_id = $2 RETURNING totp_failures",
            &[&tenant, &user],
        )
        .await?
        .get(0);
    if failures % MAX_WRONG_CODES == 0 {
        tx.execute(
            "UPDATE console_users SET locked_until_ms = $3 WHERE tenant_id = $1 AND user_id = $2",
            &[&tenant, &user, &(now + WRONG_CODES_LOCKOUT_MS)],
        )
        .await?;
        tx.execute(
            "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
             VALUES ($1, $2, 'second_factor', NULL, NULL, $3, $4)",
            &[
                &tenant,
                &Uuid::now_v7(),
                &serde_json::json!({ "email": email, "wrong_codes": failures }),
                &now,
            ],
        )
        .await?;
        tracing::warn!(tenant_id = %tenant, user_id = %user, failures, "console account locked: wrong second-factor codes");
    }
    tx.commit().await?;
    Ok(())
}

/// A session just opened: the secrets are returned once and only their digests stored.
#[derive(Debug)]
pub struct NewSession {
    /// The user.
    pub user_id: Uuid,
    /// Their role's stored name.
    pub role: String,
    /// The session secret, for the cookie.
    pub secret: [u8; 32],
    /// The CSRF token to echo on state-changing requests (hex).
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at_ms: i64,
}

/// Signs `email` (lowercased) in to `tenant` with `password` (see the module docs).
pub async fn login(
    store: &Store,
    tenant: Uuid,
    email: &str,
    password: String,
    totp_code: Option<&str>,
) -> Result<NewSession, AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::LoginFailed);
    }
    let now = store.now_i64();
    // The attempt is counted as a failure before the password is checked, in one
    // statement: concurrent guesses each take a slot of the allowance, so no more than
    // MAX_FAILED_LOGINS of them are ever checked before the account locks. A success gives
    // its slot back. No connection is held while the hash is computed.
    let account = {
        let mut client = store.pool.get().await?;
        let tx = tenant_tx(&mut client, tenant).await?;
        let row = tx
            .query_opt(
                "UPDATE console_users
                    SET failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0
                                             ELSE failed_logins + 1 END,
                        locked_until_ms = CASE WHEN failed_logins + 1 >= $3 THEN $4
                                               ELSE locked_until_ms END
                  WHERE tenant_id = $1 AND email = $2 AND active AND locked_until_ms <= $5
              RETURNING user_id, password_hash, role, totp_secret, totp_last_step",
                &[&tenant, &email, &MAX_FAILED_LOGINS, &(now + LOCKOUT_MS as i64), &now],
            )
            .await?;
        tx.commit().await?;
        row
    };
    if account.is_some() {
        store.password_checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    // Unknown, inactive and locked accounts cost the same (dummy) verification.
    let ok = verify_password(password, account.as_ref().map(|r| r.get(1))).await?;
    let (Some(row), true) = (account, ok) else {
        tracing::info!(tenant_id = %tenant, "console login refused");
        return Err(AccountError::LoginFailed);
    };
    let user_id: Uuid = row.get(0);
    // With the second factor on, the code must be this step's (or a neighbour's) and newer
    // than the last one accepted; a wrong or missing code is the same failure as a wrong
    // password, and counted as one.
    let totp_step = match row.get::<_, Option<Vec<u8>>>(3) {
        None => None,
        Some(totp_secret) => {
            let last = u64::try_from(row.get::<_, i64>(4)).unwrap_or(0);
            let step = totp_code
                .and_then(|code| crate::totp::verify(&totp_secret, code, store.now_ms(), last));
            let Some(step) = step else {
                tracing::info!(tenant_id = %tenant, "console login refused: second factor");
                wrong_code(store, tenant, user_id, email).await?;
                return Err(AccountError::LoginFailed);
            };
            Some(i64::try_from(step).unwrap_or(i64::MAX))
        }
    };
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    if let Some(step) = totp_step {
        let spent = tx
            .execute(
                "UPDATE console_users SET totp_last_step = $3
                  WHERE tenant_id = $1 AND user_id = $2 AND totp_last_step < $3",
                &[&tenant, &user_id, &step],
            )
            .await?;
        if spent == 0 {
            // A concurrent sign-in spent this code first.
            return Err(AccountError::LoginFailed);
        }
        tx.execute(
            "UPDATE console_users SET totp_failures = 0 WHERE tenant_id = $1 AND user_id = $2",
            &[&tenant, &user_id],
        )
        .await?;
    }
    let secret = random::<32>()?;
    let csrf_token = csrf_token(&secret);
    let expires_at_ms = now + SESSION_TTL_MS as i64;
    tx.execute(
        "UPDATE console_users SET failed_logins = 0, locked_until_ms = 0
          WHERE tenant_id = $1 AND user_id = $2",
        &[&tenant, &user_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO console_sessions (tenant_id, session_hash, user_id, csrf_hash, created_at_ms,
             expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant,
            &sha256(&secret).as_slice(),
            &user_id,
            &sha256(csrf_token.as_bytes()).as_slice(),
            &now,
            &expires_at_ms,
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, %user_id, "console login");
    Ok(NewSession { user_id, role: row.get(2), secret, csrf_token, expires_at_ms })
}

/// A live session's user.
#[derive(Clone, Debug)]
pub struct SessionUser {
    /// The session's tenant.
    pub tenant_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// Their role.
    pub role: ConsoleRole,
    /// Whether the request came with an API token rather than a browser session: no CSRF
    /// token applies, and the session's own operations (sign out, password) do not either.
    pub by_token: bool,
    session_hash: [u8; 32],
    csrf_hash: [u8; 32],
    csrf_token: String,
}

impl SessionUser {
    /// Whether `token` is this session's CSRF token (compared as digests, in constant time).
    #[must_use]
    pub fn csrf_matches(&self, token: &[u8]) -> bool {
        constant_time_eq(&sha256(token), &self.csrf_hash)
    }

    /// The session's CSRF token, for the forms of pages rendered for it.
    #[must_use]
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The user of the unrevoked, unexpired session of `tenant` with `secret`, if any.
pub async fn session(
    store: &Store,
    tenant: Uuid,
    secret: &[u8; 32],
) -> Result<Option<SessionUser>, AccountError> {
    let session_hash = sha256(secret);
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT s.user_id, u.email, u.role, s.csrf_hash
               FROM console_sessions s
               JOIN console_users u ON u.tenant_id = s.tenant_id AND u.user_id = s.user_id
              WHERE s.tenant_id = $1 AND s.session_hash = $2 AND s.revoked_at_ms IS NULL
                AND s.expires_at_ms > $3 AND u.active",
            &[&tenant, &session_hash.as_slice(), &store.now_i64()],
        )
        .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let csrf: &[u8] = row.get(3);
    let role: String = row.get(2);
    Ok(Some(SessionUser {
        tenant_id: tenant,
        user_id: row.get(0),
        email: row.get(1),
        role: ConsoleRole::parse(&role)
            .ok_or_else(|| Fault::Corrupt(format!("stored console role {role:?} is unknown")))?,
        by_token: false,
        session_hash,
        csrf_token: csrf_token(secret),
        csrf_hash: csrf
            .try_into()
            .map_err(|_| Fault::Corrupt("a stored CSRF hash is not 32 bytes".into()))?,
    }))
}

/// Ends `user`'s session.
pub async fn logout(store: &Store, user: &SessionUser) -> Result<(), AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    tx.execute(
        "UPDATE console_sessions SET revoked_at_ms = $3
          WHERE tenant_id = $1 AND session_hash = $2 AND revoked_at_ms IS NULL",
        &[&user.tenant_id, &user.session_hash.as_slice(), &store.now_i64()],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "console logout");
    Ok(())
}

/// A console user as listed.
#[derive(Debug, serde::Serialize)]
pub struct UserRow {
    /// The user.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// Their role's stored name.
    pub role: String,
    /// Whether they can sign in.
    pub active: bool,
    /// When they were added.
    pub created_at_ms: i64,
}

/// The tenant's console users, by email.
pub async fn users(store: &Store, tenant: Uuid) -> Result<Vec<UserRow>, AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT user_id, email, role, active, created_at_ms FROM console_users
              WHERE tenant_id = $1 ORDER BY email",
            &[&tenant],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| UserRow {
            user_id: r.get(0),
            email: r.get(1),
            role: r.get(2),
            active: r.get(3),
            created_at_ms: r.get(4),
        })
        .collect())
}

/// Deactivates `target`: they can no longer sign in and their open sessions end now.
pub async fn deactivate(store: &Store, tenant: Uuid, target: Uuid) -> Result<(), AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let updated = tx
        .execute(
            "UPDATE console_users SET active = false WHERE tenant_id = $1 AND user_id = $2",
            &[&tenant, &target],
        )
        .await?;
    if updated == 0 {
        return Err(AccountError::NoUser(target));
    }
    end_sessions(&tx, tenant, target, None, store.now_i64()).await?;
    links::void_issued_by(&tx, tenant, target, store.now_i64()).await?;
    links::void_resets(&tx, tenant, target, store.now_i64()).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of `user`, this one included ("sign out everywhere").
pub async fn sign_out_everywhere(store: &Store, user: &SessionUser) -> Result<(), AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    end_sessions(&tx, user.tenant_id, user.user_id, None, store.now_i64()).await?;
    tokens::revoke_all(&tx, user.tenant_id, user.user_id, store.now_i64()).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "console user signed out everywhere");
    Ok(())
}

/// Checks `user`'s own password (before something a stolen session alone must not do).
pub async fn confirm_password(
    store: &Store,
    user: &SessionUser,
    password: String,
) -> Result<(), AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::WrongPassword);
    }
    let now = store.now_i64();
    // As at sign-in: the attempt is counted before the password is checked, and a locked
    // account is checked against nothing, so a session cannot guess its user's password
    // faster than the sign-in page could. No connection is held while the hash is computed.
    let stored: Option<String> = {
        let mut client = store.pool.get().await?;
        let tx = tenant_tx(&mut client, user.tenant_id).await?;
        let row = tx
            .query_opt(
                "UPDATE console_users
                    SET failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0
                                             ELSE failed_logins + 1 END,
                        locked_until_ms = CASE WHEN failed_logins + 1 >= $3 THEN $4
                                               ELSE locked_until_ms END
                  WHERE tenant_id = $1 AND user_id = $2 AND active AND locked_until_ms <= $5
              RETURNING password_hash",
                &[
                    &user.tenant_id,
                    &user.user_id,
                    &MAX_FAILED_LOGINS,
                    &(now + LOCKOUT_MS as i64),
                    &now,
                ],
            )
            .await?;
        tx.commit().await?;
        row.map(|r| r.get(0))
    };
    if !verify_password(password, stored).await? {
        return Err(AccountError::WrongPassword);
    }
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    tx.execute(
        "UPDATE console_users SET failed_logins = 0 WHERE tenant_id = $1 AND user_id = $2",
        &[&user.tenant_id, &user.user_id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `user` has the second factor on.
pub async fn has_totp(store: &Store, user: &SessionUser) -> Result<bool, AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let on = tx
        .query_opt(
            "SELECT totp_secret IS NOT NULL FROM console_users WHERE tenant_id = $1 AND user_id = $2",
            &[&user.tenant_id, &user.user_id],
        )
        .await?
        .is_some_and(|r| r.get(0));
    tx.commit().await?;
    Ok(on)
}

/// Turns `user`'s second factor on with `secret`, once `code` proves their app has it.
/// `false` (nothing stored) when the code is not the secret's.
pub async fn enable_totp(
    store: &Store,
    user: &SessionUser,
    secret: &[u8],
    code: &str,
) -> Result<bool, AccountError> {
    let Some(step) = crate::totp::verify(secret, code, store.now_ms(), 0) else {
        return Ok(false);
    };
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    // Only while it is off: a stolen session cannot swap in a key of its own.
    let updated = tx
        .execute(
            "UPDATE console_users SET totp_secret = $3, totp_last_step = $4, totp_failures = 0
              WHERE tenant_id = $1 AND user_id = $2 AND totp_secret IS NULL",
            &[&user.tenant_id, &user.user_id, &secret, &i64::try_from(step).unwrap_or(i64::MAX)],
        )
        .await?;
    tx.commit().await?;
    if updated == 1 {
        tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "second factor turned on");
    }
    Ok(updated == 1)
}

/// Turns `user`'s second factor off, given their password.
pub async fn disable_totp(
    store: &Store,
    user: &SessionUser,
    password: String,
) -> Result<(), AccountError> {
    confirm_password(store, user, password).await?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    tx.execute(
        "UPDATE console_users SET totp_secret = NULL WHERE tenant_id = $1 AND user_id = $2",
        &[&user.tenant_id, &user.user_id],
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(tenant_id = %user.tenant_id, user_id = %user.user_id, "second factor turned off");
    Ok(())
}

/// A new second-factor secret.
pub fn new_totp_secret() -> Result<[u8; crate::totp::SECRET_BYTES], Fault> {
    random()
}

/// Ends `user`'s open sessions, except `keep`.
async fn end_sessions(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
    user: Uuid,
    keep: Option<&[u8; 32]>,
    now_ms: i64,
) -> Result<(), AccountError> {
    let keep: &[u8] = keep.map_or(&[], |k| k.as_slice());
    tx.execute(
        "UPDATE console_sessions SET revoked_at_ms = $4
          WHERE tenant_id = $1 AND user_id = $2 AND session_hash <> $3 AND revoked_at_ms IS NULL",
        &[&tenant, &user, &keep, &now_ms],
    )
    .await?;
    Ok(())
}

/// Changes `user`'s own password, given the current one (checked as
/// [`confirm_password`] does, attempts counted); every other session of the user ends and
/// their API tokens are revoked.
pub async fn change_password(
    store: &Store,
    user: &SessionUser,
    current: String,
    new: String,
) -> Result<(), AccountError> {
    confirm_password(store, user, current).await?;
    let hash = hash_secret(new).await?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    tx.execute(
        "UPDATE console_users SET password_hash = $3 WHERE tenant_id = $1 AND user_id = $2",
        &[&user.tenant_id, &user.user_id, &hash],
    )
    .await?;
    end_sessions(&tx, user.tenant_id, user.user_id, Some(&user.session_hash), store.now_i64())
        .await?;
    links::void_resets(&tx, user.tenant_id, user.user_id, store.now_i64()).await?;
    tokens::revoke_all(&tx, user.tenant_id, user.user_id, store.now_i64()).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, "console password changed");
    Ok(())
}
