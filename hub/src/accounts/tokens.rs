//! API tokens: what a script uses instead of a browser session. Each belongs to one console
//! user and carries a scope: `read` acts as a viewer whatever the user's role, `write` as
//! the user. The token is `thb_` + the tenant id (32 hex digits, so the token is looked up
//! under its tenant's row-level security like a session cookie) + a 256-bit secret (64 hex
//! digits); only the secret's SHA-256 is stored, and the token is shown to its user once.

use uuid::Uuid;

use super::{AccountError, ConsoleRole, SessionUser, random, sha256};
use crate::db::tenant_tx;
use crate::identity::{hex, parse_hex};
use crate::store::{Fault, Store};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Read only, as a viewer.
    Read,
    /// What its user's role may do.
    Write,
}

impl Scope {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    /// The scope of a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// Tokens a user may hold at once.
pub const MAX_TOKENS_PER_USER: i64 = 20;
/// How often a token's last use is written, at most.
const USE_NOTED_EVERY_MS: i64 = 60_000;

/// A token as its user's list shows it.
#[derive(Clone, Debug)]
pub struct TokenRow {
    /// The token's id.
    pub token_id: Uuid,
    /// What its user called it.
    pub name: String,
    /// Its scope.
    pub scope: Scope,
    /// When it was made.
    pub created_at_ms: i64,
    /// When it was last used (0: never), to the minute.
    pub last_used_at_ms: i64,
}

/// A new token for `user`, named `name`; the token itself, shown once.
pub async fn create(
    store: &Store,
    user: &SessionUser,
    name: &str,
    scope: Scope,
) -> Result<String, AccountError> {
    let secret = random::<32>()?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    // The user's row, locked: two creations at once count each other.
    tx.execute(
        "SELECT 1 FROM console_users WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
        &[&user.tenant_id, &user.user_id],
    )
    .await?;
    let held: i64 = tx
        .query_one(
            "SELECT count(*) FROM api_tokens WHERE tenant_id = $1 AND user_id = $2 AND revoked_at_ms IS NULL",
            &[&user.tenant_id, &user.user_id],
        )
        .await?
        .get(0);
    if held >= MAX_TOKENS_PER_USER {
        return Err(AccountError::TooManyTokens(MAX_TOKENS_PER_USER));
    }
    tx.execute(
        "INSERT INTO api_tokens (tenant_id, token_id, user_id, name, token_hash, scope, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&user.tenant_id, &Uuid::now_v7(), &user.user_id, &name, &sha256(&secret).as_slice(), &scope.as_str(), &store.now_i64()],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.user_id, scope = scope.as_str(), "API token created");
    Ok(format!("thb_{}{}", user.tenant_id.simple(), hex(&secret)))
}

/// Revokes every token of `user` (their password was reset, or they signed out
/// everywhere: whoever held their session may have made one).
pub(super) async fn revoke_all(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
    user: Uuid,
    now_ms: i64,
) -> Result<(), Fault> {
    tx.execute(
        "UPDATE api_tokens SET revoked_at_ms = $3
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at_ms IS NULL",
        &[&tenant, &user, &now_ms],
    )
    .await?;
    Ok(())
}

/// `user`'s unrevoked tokens, newest first.
pub async fn list(store: &Store, user: &SessionUser) -> Result<Vec<TokenRow>, AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let rows = tx
        .query(
            "SELECT token_id, name, scope, created_at_ms, last_used_at_ms FROM api_tokens
              WHERE tenant_id = $1 AND user_id = $2 AND revoked_at_ms IS NULL
              ORDER BY created_at_ms DESC, token_id",
            &[&user.tenant_id, &user.user_id],
        )
        .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| {
            let scope: &str = r.get(2);
            Ok(TokenRow {
                token_id: r.get(0),
                name: r.get(1),
                scope: Scope::parse(scope)
                    .ok_or_else(|| Fault::Corrupt(format!("stored token scope {scope:?}")))?,
                created_at_ms: r.get(3),
                last_used_at_ms: r.get(4),
            })
        })
        .collect()
}

/// Revokes `user`'s token `token`; whether it was theirs and live.
pub async fn revoke(store: &Store, user: &SessionUser, token: Uuid) -> Result<bool, AccountError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, user.tenant_id).await?;
    let updated = tx
        .execute(
            "UPDATE api_tokens SET revoked_at_ms = $4
              WHERE tenant_id = $1 AND user_id = $2 AND token_id = $3 AND revoked_at_ms IS NULL",
            &[&user.tenant_id, &user.user_id, &token, &store.now_i64()],
        )
        .await?;
    tx.commit().await?;
    Ok(updated == 1)
}

/// The tenant and secret of a token's text, if it is one.
#[must_use]
pub fn parse(token: &str) -> Option<(Uuid, [u8; 32])> {
    let rest = token.strip_prefix("thb_")?;
    if rest.len() != 96 || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tenant = Uuid::try_parse(&rest[..32]).ok()?;
    let secret = parse_hex::<32>(&rest[32..])?;
    Some((tenant, secret))
}

/// The user a live token of `tenant` with `secret` acts as, with its scope applied.
pub async fn user(
    store: &Store,
    tenant: Uuid,
    secret: &[u8; 32],
) -> Result<Option<SessionUser>, AccountError> {
    let hash = sha256(secret);
    let now = store.now_i64();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT t.token_id, t.scope, u.user_id, u.email, u.role, t.last_used_at_ms
               FROM api_tokens t
               JOIN console_users u ON u.tenant_id = t.tenant_id AND u.user_id = t.user_id
              WHERE t.tenant_id = $1 AND t.token_hash = $2 AND t.revoked_at_ms IS NULL AND u.active",
            &[&tenant, &hash.as_slice()],
        )
        .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    if row.get::<_, i64>(5) < now - USE_NOTED_EVERY_MS {
        let token_id: Uuid = row.get(0);
        tx.execute(
            "UPDATE api_tokens SET last_used_at_ms = $3 WHERE tenant_id = $1 AND token_id = $2",
            &[&tenant, &token_id, &now],
        )
        .await?;
    }
    tx.commit().await?;
    let scope: &str = row.get(1);
    let role: &str = row.get(4);
    let role = ConsoleRole::parse(role)
        .ok_or_else(|| Fault::Corrupt(format!("stored console role {role:?}")))?;
    let role = match Scope::parse(scope) {
        Some(Scope::Write) => role,
        Some(Scope::Read) => ConsoleRole::Viewer,
        None => return Err(Fault::Corrupt(format!("stored token scope {scope:?}")).into()),
    };
    Ok(Some(SessionUser {
        tenant_id: tenant,
        user_id: row.get(2),
        email: row.get(3),
        role,
        by_token: true,
        session_hash: hash,
        csrf_hash: [0; 32],
        csrf_token: String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_tenant_and_secret() {
        let tenant = Uuid::from_bytes([0xab; 16]);
        let token = format!("thb_{}{}", tenant.simple(), "0f".repeat(32));
        assert_eq!(parse(&token), Some((tenant, [0x0f; 32])));
        for bad in [
            "",
            "thb_",
            &token[..token.len() - 1],
            &token.replace("thb_", "thx_"),
            &format!("{token}0"),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
