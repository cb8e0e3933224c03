//! One-time links: an owner invites a new console user (an email and a role), or resets a
//! user's password. The link carries a 256-bit token; only its SHA-256 is stored. A link
//! works once ([`redeem`] marks it used in the same transaction as what it does) and not
//! after it expires, nor once its owner is deactivated or no longer an owner; a reset
//! also ends every session of the user, and only a user's newest reset link works.

use uuid::Uuid;

use super::{AccountError, ConsoleRole, end_sessions, hash_secret, random, sha256};
use crate::db::tenant_tx;
use crate::identity::{hex, parse_hex};
use crate::store::{Fault, Store};

/// How long a link works.
pub const LINK_TTL_MS: u64 = 7 * 24 * 3600 * 1000;

/// What a link does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// Creates a user with this role.
    Invite(ConsoleRole),
    /// Sets this user's password.
    Reset(Uuid),
}

/// A link as its page shows it before it is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// What it does.
    pub kind: LinkKind,
    /// The email it is for.
    pub email: String,
}

async fn issue(
    store: &Store,
    tenant: Uuid,
    by: Uuid,
    kind: &str,
    email: &str,
    role: Option<ConsoleRole>,
    user: Option<Uuid>,
) -> Result<String, AccountError> {
    let token = random::<32>()?;
    let now = store.now_i64();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    if let Some(user) = user {
        // Only a user's newest reset link works.
        void_resets(&tx, tenant, user, now).await?;
    }
    tx.execute(
        "INSERT INTO console_links (tenant_id, token_hash, kind, email, role, user_id, created_by,
             created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &tenant,
            &sha256(&token).as_slice(),
            &kind,
            &email,
            &role.map(ConsoleRole::as_str),
            &user,
            &by,
            &now,
            &now.saturating_add(i64::try_from(LINK_TTL_MS).unwrap_or(i64::MAX)),
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, %by, kind, "console link issued");
    Ok(hex(&token))
}

/// An invitation for `email` (normalized by the caller) as `role`, from owner `by`; the
/// token for its link. Refused when the email is a user already.
pub async fn invite(
    store: &Store,
    tenant: Uuid,
    by: Uuid,
    email: &str,
    role: ConsoleRole,
) -> Result<String, AccountError> {
    let taken = {
        let mut client = store.pool.get().await?;
        let tx = tenant_tx(&mut client, tenant).await?;
        let row = tx
            .query_opt(
                "SELECT 1 FROM console_users WHERE tenant_id = $1 AND email = $2",
                &[&tenant, &email],
            )
            .await?;
        tx.commit().await?;
        row.is_some()
    };
    if taken {
        return Err(AccountError::EmailTaken(email.to_owned()));
    }
    issue(store, tenant, by, "invite", email, Some(role), None).await
}

/// A password reset of `user`, from owner `by`; the token for its link.
pub async fn reset(
    store: &Store,
    tenant: Uuid,
    by: Uuid,
    user: Uuid,
) -> Result<String, AccountError> {
    let email: String = {
        let mut client = store.pool.get().await?;
        let tx = tenant_tx(&mut client, tenant).await?;
        let row = tx
            .query_opt(
                "SELECT email FROM console_users WHERE tenant_id = $1 AND user_id = $2 AND active",
                &[&tenant, &user],
            )
            .await?;
        tx.commit().await?;
        row.ok_or(AccountError::NoUser(user))?.get(0)
    };
    issue(store, tenant, by, "reset", &email, None, Some(user)).await
}

/// Voids `user`'s unused reset links (a newer one, or a new password, replaces them).
pub(super) async fn void_resets(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
    user: Uuid,
    now_ms: i64,
) -> Result<(), Fault> {
    tx.execute(
        "UPDATE console_links SET used_at_ms = $3
          WHERE tenant_id = $1 AND kind = 'reset' AND user_id = $2 AND used_at_ms IS NULL",
        &[&tenant, &user, &now_ms],
    )
    .await?;
    Ok(())
}

/// Voids the unused links `user` issued (they were deactivated: what they handed out stops
/// working with them).
pub(super) async fn void_issued_by(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
    user: Uuid,
    now_ms: i64,
) -> Result<(), Fault> {
    tx.execute(
        "UPDATE console_links SET used_at_ms = $3
          WHERE tenant_id = $1 AND created_by = $2 AND used_at_ms IS NULL",
        &[&tenant, &user, &now_ms],
    )
    .await?;
    Ok(())
}

/// The stored digest of a link's token (64 hex digits), if it is one.
fn token_hash(token: &str) -> Option<[u8; 32]> {
    parse_hex::<32>(token).map(|secret| sha256(&secret))
}

fn link_of(
    kind: &str,
    email: String,
    role: Option<&str>,
    user: Option<Uuid>,
) -> Result<Link, Fault> {
    let kind = match (kind, role.and_then(ConsoleRole::parse), user) {
        ("invite", Some(role), _) => LinkKind::Invite(role),
        ("reset", _, Some(user)) => LinkKind::Reset(user),
        _ => {
            return Err(Fault::Corrupt(format!(
                "a stored console link of kind {kind:?} is incomplete"
            )));
        }
    };
    Ok(Link { kind, email })
}

/// The unused, unexpired link of `token` in `tenant`, if there is one.
pub async fn open(store: &Store, tenant: Uuid, token: &str) -> Result<Option<Link>, AccountError> {
    let Some(hash) = token_hash(token) else { return Ok(None) };
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT l.kind, l.email, l.role, l.user_id FROM console_links l
               JOIN console_users c ON c.tenant_id = l.tenant_id AND c.user_id = l.created_by
              WHERE l.tenant_id = $1 AND l.token_hash = $2 AND l.used_at_ms IS NULL
                AND l.expires_at_ms > $3 AND c.active AND c.role = 'owner'",
            &[&tenant, &hash.as_slice(), &store.now_i64()],
        )
        .await?;
    tx.commit().await?;
    row.map(|r| link_of(r.get(0), r.get(1), r.get(2), r.get(3)).map_err(Into::into)).transpose()
}

/// Uses the link of `token`: creates its user, or sets its user's password (and ends
/// their sessions), with `password` (checked by the caller). `None` when the link is
/// unknown, used or expired (nothing changes then).
pub async fn redeem(
    store: &Store,
    tenant: Uuid,
    token: &str,
    password: String,
) -> Result<Option<Link>, AccountError> {
    let Some(hash) = token_hash(token) else { return Ok(None) };
    // Hash first (slow, no connection held); a bogus token was already turned away by the
    // page that asked for the password, and sign-in attempts are throttled per address.
    let password_hash = hash_secret(password).await?;
    let now = store.now_i64();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let Some(row) = tx
        .query_opt(
            "UPDATE console_links l SET used_at_ms = $3
              WHERE l.tenant_id = $1 AND l.token_hash = $2 AND l.used_at_ms IS NULL
                AND l.expires_at_ms > $3
                AND EXISTS (SELECT 1 FROM console_users c
                             WHERE c.tenant_id = $1 AND c.user_id = l.created_by AND c.active
                               AND c.role = 'owner')
          RETURNING l.kind, l.email, l.role, l.user_id",
            &[&tenant, &hash.as_slice(), &now],
        )
        .await?
    else {
        return Ok(None);
    };
    let link = link_of(row.get(0), row.get(1), row.get(2), row.get(3))?;
    match &link.kind {
        LinkKind::Invite(role) => {
            let inserted = tx
                .execute(
                    "INSERT INTO console_users (tenant_id, user_id, email, password_hash, role, created_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING",
                    &[&tenant, &Uuid::now_v7(), &link.email, &password_hash, &role.as_str(), &now],
                )
                .await?;
            if inserted == 0 {
                return Err(AccountError::EmailTaken(link.email));
            }
        }
        LinkKind::Reset(user) => {
            tx.execute(
                "UPDATE console_users SET password_hash = $3, failed_logins = 0, locked_until_ms = 0
                  WHERE tenant_id = $1 AND user_id = $2",
                &[&tenant, user, &password_hash],
            )
            .await?;
            end_sessions(&tx, tenant, *user, None, now).await?;
            super::tokens::revoke_all(&tx, tenant, *user, now).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, kind = ?link.kind, "console link used");
    Ok(Some(link))
}
