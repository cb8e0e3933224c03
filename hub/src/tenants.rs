//! Tenants and what they own: locations, enrollment codes, devices (enrollment,
//! revocation, configuration, the console's list) and the lookup that authenticates a
//! device's request.
//!
//! Every write runs under the target tenant's row-level security ([`tenant_tx`]); the
//! only reads before a tenant is known are the two narrow `SECURITY DEFINER` lookups
//! (`hub_device_auth`, `hub_enrollment_lookup`). A device's enrollment, revocation and
//! configuration append `device.registered` / `device.revoked` / `device.configured` to the
//! tenant's reference log ([`log::append`]) in the same transaction as their own rows, so
//! a device row never exists without its published record.

use deadpool_postgres::Transaction;
use thorbis_domain::DomainEvent;
use thorbis_domain::device::{
    Device, DeviceConfig, DeviceConfigured, DeviceRegistered, DeviceRevoked,
};
use thorbis_domain::fold::Aggregate;
use thorbis_sync_protocol::{DeviceId, Nonce, PublicKey, Signature};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::identity::{Credential, Role, TenantKey, code_hash, hex, new_enrollment_code};
use crate::log::{self, LogError, hub_log};
use crate::store::{Fault, Store, faults};

/// A device whose request signature verified: who is asking, for the log and its scope.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The device.
    pub device_id: DeviceId,
    /// Its tenant: every query of the request runs under it.
    pub tenant_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// Its enrolled key.
    pub public_key: PublicKey,
    /// What the device is for; a technician's pull scope differs (see [`crate::log`]).
    pub role: Role,
}

/// Why a tenant operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// No such tenant.
    #[error("no tenant {0}")]
    NoTenant(Uuid),
    /// No such location in the tenant.
    #[error("no location {location} in tenant {tenant}")]
    NoLocation {
        /// The tenant.
        tenant: Uuid,
        /// The location asked for.
        location: Uuid,
    },
    /// No such device in the tenant (another tenant's is not visible).
    #[error("no device {device} in tenant {tenant}")]
    NoDevice {
        /// The tenant.
        tenant: Uuid,
        /// The device asked for.
        device: Uuid,
    },
    /// The device is revoked, so it cannot be configured.
    #[error("device {0} is revoked")]
    Revoked(Uuid),
    /// No enrollment code with that hash.
    #[error("no such enrollment code")]
    NoCode,
    /// The code was used (possibly by a concurrent enrollment).
    #[error("this enrollment code was already used; ask for a new one")]
    CodeUsed,
    /// The code expired.
    #[error("this enrollment code has expired; ask for a new one")]
    CodeExpired,
    /// Publishing to the reference log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(TenantError);

/// A tenant just created.
#[derive(Debug)]
pub struct NewTenant {
    /// Its id.
    pub tenant_id: Uuid,
    /// The public half of its signing key.
    pub public_key: PublicKey,
}

/// Creates a tenant with a fresh signing key (sealed if the hub has a key-encryption key).
pub async fn create_tenant(store: &Store, name: &str) -> Result<NewTenant, TenantError> {
    let tenant_id = Uuid::now_v7();
    let (key, pkcs8) = TenantKey::generate()?;
    let public_key = key.public_key();
    let (stored, sealed) = store.store_pkcs8(tenant_id, pkcs8)?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant_id).await?;
    tx.execute(
        "INSERT INTO tenants (tenant_id, name, public_key, signing_key, signing_key_encrypted,
             created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&tenant_id, &name, &public_key.0.as_slice(), &stored, &sealed, &store.now_i64()],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%tenant_id, "tenant created");
    Ok(NewTenant { tenant_id, public_key })
}

/// Refuses a tenant that does not exist (under its own RLS, the only one visible).
pub(crate) async fn require_tenant(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
) -> Result<(), TenantError> {
    if tx.query_opt("SELECT 1 FROM tenants WHERE tenant_id = $1", &[&tenant]).await?.is_none() {
        return Err(TenantError::NoTenant(tenant));
    }
    Ok(())
}

/// Creates a location in `tenant`; returns its id.
pub async fn create_location(store: &Store, tenant: Uuid, name: &str) -> Result<Uuid, TenantError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    require_tenant(&tx, tenant).await?;
    // Staff who work everywhere work here too: their records go to the new location's
    // staff log with it (see `crate::staff`).
    crate::staff::lock(&tx, tenant, false).await?;
    let location_id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO locations (tenant_id, location_id, name, created_at_ms) VALUES ($1, $2, $3, $4)",
        &[&tenant, &location_id, &name, &store.now_i64()],
    )
    .await?;
    crate::staff::copy_to_new_location(store, &tx, tenant, location_id).await?;
    tx.commit().await?;
    store.notify(tenant);
    Ok(location_id)
}

/// An enrollment code just issued: the code itself is shown once and never stored.
#[derive(Debug)]
pub struct CodeIssued {
    /// The code to type or scan on the device.
    pub code: String,
    /// When it stops working.
    pub expires_at_ms: u64,
}

/// Issues an enrollment code for a device of `role` at `location` of `tenant`, valid for
/// `ttl_ms`. Only the code's hash is stored.
pub async fn create_enrollment_code(
    store: &Store,
    tenant: Uuid,
    location: Uuid,
    role: Role,
    ttl_ms: u64,
) -> Result<CodeIssued, TenantError> {
    let now = store.now_ms();
    let expires_at_ms = now.saturating_add(ttl_ms);
    let (code, hash) = new_enrollment_code()?;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    if tx
        .query_opt(
            "SELECT 1 FROM locations WHERE tenant_id = $1 AND location_id = $2",
            &[&tenant, &location],
        )
        .await?
        .is_none()
    {
        return Err(TenantError::NoLocation { tenant, location });
    }
    tx.execute(
        "INSERT INTO enrollment_codes (tenant_id, code_hash, location_id, role, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant,
            &hash.as_slice(),
            &location,
            &role.as_str(),
            &(now as i64),
            &(expires_at_ms as i64),
        ],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, code_hash = %hex(&hash[..4]), "enrollment code issued");
    Ok(CodeIssued { code, expires_at_ms })
}

/// A device just enrolled.
#[derive(Debug)]
pub struct Enrolled {
    /// What its tenant vouches for about it.
    pub credential: Credential,
    /// The tenant key's signature over the credential's canonical bytes.
    pub signature: Signature,
    /// The tenant's public key, which verifies the credential and the hub-signed logs.
    pub tenant_public_key: PublicKey,
}

/// Trades a one-time enrollment `code` and a device's `public_key` for a credential
/// signed by the code's tenant, and publishes `device.registered`.
pub async fn enroll(
    store: &Store,
    code: &str,
    public_key: PublicKey,
) -> Result<Enrolled, TenantError> {
    let hash = code_hash(code);
    let now = store.now_ms();
    let mut client = store.pool.get().await?;
    // The code names its tenant; nothing else is known before it is checked.
    let row = client
        .query_opt("SELECT * FROM hub_enrollment_lookup($1)", &[&hash.as_slice()])
        .await?
        .ok_or(TenantError::NoCode)?;
    let tenant_id: Uuid = row.get("tenant_id");
    let location_id: Uuid = row.get("location_id");
    let role_name: String = row.get("role");
    let expires_at_ms: i64 = row.get("expires_at_ms");
    if row.get::<_, bool>("used") {
        return Err(TenantError::CodeUsed);
    }
    if expires_at_ms <= now as i64 {
        return Err(TenantError::CodeExpired);
    }
    let role = Role::parse(&role_name)
        .ok_or_else(|| Fault::Corrupt(format!("stored role {role_name:?} is unknown")))?;
    let device_uuid = Uuid::now_v7();
    let tx = tenant_tx(&mut client, tenant_id).await?;
    // Claiming is the conditional update: of two concurrent enrollments one wins.
    let claimed = tx
        .execute(
            "UPDATE enrollment_codes SET used_at_ms = $3, device_id = $4
              WHERE tenant_id = $1 AND code_hash = $2 AND used_at_ms IS NULL AND expires_at_ms > $3",
            &[&tenant_id, &hash.as_slice(), &(now as i64), &device_uuid],
        )
        .await?;
    if claimed == 0 {
        return Err(TenantError::CodeUsed);
    }
    let pkcs8 = store
        .tenant_pkcs8(&tx, tenant_id)
        .await?
        .ok_or_else(|| Fault::Corrupt(format!("tenant {tenant_id} of a valid code has no row")))?;
    let tenant_key = TenantKey::from_pkcs8(&pkcs8)?;
    let credential = Credential {
        device_id: DeviceId::from_bytes(*device_uuid.as_bytes()),
        tenant_id,
        location_id,
        role,
        public_key,
        expires_at_ms: now + store.limits.credential_ttl_ms,
    };
    tx.execute(
        "INSERT INTO devices (tenant_id, device_id, location_id, role, public_key,
             credential_expires_at_ms, enrolled_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &tenant_id,
            &device_uuid,
            &location_id,
            &role.as_str(),
            &public_key.0.as_slice(),
            &(credential.expires_at_ms as i64),
            &(now as i64),
        ],
    )
    .await?;
    // Device authentication finds the tenant here first (see hub_device_auth).
    tx.execute(
        "INSERT INTO device_directory (tenant_id, device_id) VALUES ($1, $2)",
        &[&tenant_id, &device_uuid],
    )
    .await?;
    let signature = tenant_key.sign(&credential);
    // Every device of the tenant learns the newcomer's key from the reference log, in the
    // same transaction.
    let registered = DeviceRegistered {
        device_id: device_uuid,
        location_id,
        role,
        public_key,
        credential_expires_at_ms: credential.expires_at_ms,
    };
    log::append(
        store,
        &tx,
        tenant_id,
        hub_log(tenant_id),
        vec![DomainEvent::DeviceRegistered(registered)],
    )
    .await?;
    tx.commit().await?;
    store.notify(tenant_id);
    tracing::info!(%tenant_id, device_id = %device_uuid, role = role.as_str(), "device enrolled");
    Ok(Enrolled { credential, signature, tenant_public_key: tenant_key.public_key() })
}

/// Revokes a device of `tenant`; returns when it was revoked. A device of another tenant is
/// not visible under this tenant's RLS, so it is simply not found. The first revocation is
/// published as `device.revoked` in the same transaction, so LAN peers stop trusting the
/// device too; revoking again changes nothing.
pub async fn revoke_device(store: &Store, tenant: Uuid, device: Uuid) -> Result<i64, TenantError> {
    let now = store.now_ms();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT revoked_at_ms FROM devices WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
            &[&tenant, &device],
        )
        .await?
        .ok_or(TenantError::NoDevice { tenant, device })?;
    let revoked_at_ms = if let Some(earlier) = row.get::<_, Option<i64>>(0) {
        earlier
    } else {
        tx.execute(
            "UPDATE devices SET revoked_at_ms = $3 WHERE tenant_id = $1 AND device_id = $2",
            &[&tenant, &device, &(now as i64)],
        )
        .await?;
        let revoked = DeviceRevoked { device_id: device, revoked_at_ms: now };
        log::append(store, &tx, tenant, hub_log(tenant), vec![DomainEvent::DeviceRevoked(revoked)])
            .await?;
        now as i64
    };
    tx.commit().await?;
    store.notify(tenant);
    tracing::warn!(tenant_id = %tenant, device_id = %device, "device revoked");
    Ok(revoked_at_ms)
}

/// Publishes a device's whole configuration as `device.configured`; returns its seq in the
/// reference log. The device must be enrolled in `tenant` and not revoked.
pub async fn configure_device(
    store: &Store,
    tenant: Uuid,
    device: Uuid,
    config: DeviceConfig,
) -> Result<u64, TenantError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT revoked_at_ms FROM devices WHERE tenant_id = $1 AND device_id = $2 FOR SHARE",
            &[&tenant, &device],
        )
        .await?
        .ok_or(TenantError::NoDevice { tenant, device })?;
    if row.get::<_, Option<i64>>(0).is_some() {
        return Err(TenantError::Revoked(device));
    }
    let configured = DeviceConfigured { device_id: device, config };
    let (seq, _) = log::append(
        store,
        &tx,
        tenant,
        hub_log(tenant),
        vec![DomainEvent::DeviceConfigured(configured)],
    )
    .await?;
    tx.commit().await?;
    store.notify(tenant);
    tracing::info!(tenant_id = %tenant, device_id = %device, seq, "device configured");
    Ok(seq)
}

/// The configuration the hub last published for `tenant`'s `device` (`None`: never
/// configured), and the device's location.
pub async fn device_config(
    store: &Store,
    tenant: Uuid,
    device: Uuid,
) -> Result<(Uuid, Option<DeviceConfig>), TenantError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let row = tx
        .query_opt(
            "SELECT d.location_id, a.state
               FROM devices d
               LEFT JOIN aggregates a ON a.tenant_id = d.tenant_id AND a.kind = $3
                                     AND a.id = d.device_id
              WHERE d.tenant_id = $1 AND d.device_id = $2",
            &[&tenant, &device, &<Device as Aggregate>::KIND],
        )
        .await?
        .ok_or(TenantError::NoDevice { tenant, device })?;
    tx.commit().await?;
    let config = match row.get::<_, Option<serde_json::Value>>(1) {
        None => None,
        Some(state) => serde_json::from_value::<Device>(state)
            .map_err(|e| Fault::Corrupt(format!("stored device aggregate: {e}")))?
            .config
            .map(|c| c.value),
    };
    Ok((row.get(0), config))
}

/// One device as the console lists it.
#[derive(Debug, serde::Serialize)]
pub struct DeviceRow {
    /// The device.
    pub device_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// Its role.
    pub role: String,
    /// When it enrolled.
    pub enrolled_at_ms: i64,
    /// When its credential expires.
    pub credential_expires_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
    /// The highest seq of its log the hub holds.
    pub seq: Option<i64>,
    /// When it last pushed.
    pub last_push_at_ms: Option<i64>,
    /// When it last made a signed request (0: never), to within
    /// [`SEEN_EVERY_MS`].
    pub last_seen_at_ms: i64,
}

/// The devices of `tenant` with their sync position.
pub async fn devices(store: &Store, tenant: Uuid) -> Result<Vec<DeviceRow>, TenantError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT d.device_id, d.location_id, d.role, d.enrolled_at_ms,
                    d.credential_expires_at_ms, d.revoked_at_ms, t.seq, t.updated_at_ms,
                    d.last_seen_at_ms
               FROM devices d
               LEFT JOIN chain_tips t ON t.tenant_id = d.tenant_id AND t.device_id = d.device_id
              WHERE d.tenant_id = $1
              ORDER BY d.enrolled_at_ms, d.device_id",
            &[&tenant],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| DeviceRow {
            device_id: r.get(0),
            location_id: r.get(1),
            role: r.get(2),
            enrolled_at_ms: r.get(3),
            credential_expires_at_ms: r.get(4),
            revoked_at_ms: r.get(5),
            seq: r.get(6),
            last_push_at_ms: r.get(7),
            last_seen_at_ms: r.get(8),
        })
        .collect())
}

/// What the hub holds about a device, for authenticating its requests: read through
/// `hub_device_auth`, before the tenant is known.
#[derive(Debug)]
pub struct EnrolledDevice {
    /// The device's enrolled identity.
    pub caller: Caller,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When its credential expires.
    pub credential_expires_at_ms: i64,
}

/// A signed request's nonce and until when its timestamp keeps it fresh: the hub serves
/// the request only if it spends the nonce first ([`spend_nonce`]).
#[derive(Clone, Copy, Debug)]
pub struct RequestNonce {
    /// The nonce.
    pub nonce: Nonce,
    /// After this the request's timestamp alone refuses it.
    pub fresh_until_ms: u64,
    /// The hub's window for request timestamps.
    pub window_ms: u64,
}

/// How often a device's `last_seen_at_ms` is written, at most: often enough for the
/// console's online/offline, rarely enough that a device's requests do not all write it.
pub const SEEN_EVERY_MS: i64 = 30_000;

/// Records inside `tx` (under `caller`'s tenant) that `caller` used `nonce`, and forgets its
/// nonces that went stale a whole window before `now_ms` (so that another hub process
/// whose clock runs behind this one's still finds them). `false` when the nonce was used
/// already, or the request went stale since it was authenticated: either way it is not
/// served. A push spends its nonce in its own transaction, so a push that fails leaves its
/// nonce unspent, and the same signed push sent again may be served then.
pub(crate) async fn spend_nonce(
    store: &Store,
    tx: &Transaction<'_>,
    caller: &Caller,
    nonce: &RequestNonce,
    now_ms: u64,
) -> Result<bool, Fault> {
    if nonce.fresh_until_ms < now_ms {
        return Ok(false);
    }
    let device = log::uuid(caller.device_id);
    let time =
        |ms: u64| i64::try_from(ms).map_err(|_| Fault::Corrupt(format!("time {ms} out of range")));
    // The device's chores, at most once per `SEEN_EVERY_MS` from this process (two
    // statements fewer on most requests: on Citus each is a trip to a worker), both in one
    // round trip (the client pipelines them): forgetting stale nonces, and noting that the
    // device was seen (the statement skips a write made less than `SEEN_EVERY_MS` ago by
    // another process).
    let every = SEEN_EVERY_MS.unsigned_abs();
    let (forget, seen) = if store.chores_due(device, now_ms, every) {
        tokio::join!(
            async {
                tx.execute(
                    &tx.prepare_cached(
                        "DELETE FROM request_nonces
                      WHERE tenant_id = $1 AND device_id = $2 AND expires_at_ms < $3",
                    )
                    .await?,
                    &[&caller.tenant_id, &device, &time(now_ms.saturating_sub(nonce.window_ms))?],
                )
                .await
                .map_err(Fault::from)
            },
            async {
                let now = time(now_ms)?;
                tx.execute(
                    &tx.prepare_cached(
                        "UPDATE devices SET last_seen_at_ms = $3
                      WHERE tenant_id = $1 AND device_id = $2 AND last_seen_at_ms < $4",
                    )
                    .await?,
                    &[&caller.tenant_id, &device, &now, &now.saturating_sub(SEEN_EVERY_MS)],
                )
                .await
                .map_err(Fault::from)
            }
        )
    } else {
        (Ok(0), Ok(0))
    };
    forget?;
    seen?;
    let inserted = tx
        .execute(
            &tx.prepare_cached(
                "INSERT INTO request_nonces (tenant_id, device_id, nonce, expires_at_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .await?,
            &[&caller.tenant_id, &device, &nonce.nonce.0.as_slice(), &time(nonce.fresh_until_ms)?],
        )
        .await?;
    Ok(inserted == 1)
}

/// [`spend_nonce`] in a transaction of its own (for requests that write nothing else, like
/// a pull), committed without waiting for the disk: a crash can forget only nonces of the
/// last moments, and a replayed pull changes nothing.
pub async fn spend_nonce_alone(
    store: &Store,
    caller: &Caller,
    nonce: &RequestNonce,
) -> Result<bool, TenantError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, caller.tenant_id).await?;
    tx.batch_execute("SET LOCAL synchronous_commit = off").await?;
    let fresh = spend_nonce(store, &tx, caller, nonce, store.now_ms()).await?;
    tx.commit().await?;
    Ok(fresh)
}

/// The enrolled device `device`, if there is one.
pub async fn enrolled_device(
    store: &Store,
    device: DeviceId,
) -> Result<Option<EnrolledDevice>, TenantError> {
    let client = store.pool.get().await?;
    let rows = client.query("SELECT * FROM hub_device_auth($1)", &[&log::uuid(device)]).await?;
    let [row] = rows.as_slice() else { return Ok(None) };
    let role: &str = row.get("role");
    Ok(Some(EnrolledDevice {
        caller: Caller {
            device_id: device,
            tenant_id: row.get("tenant_id"),
            location_id: row.get("location_id"),
            public_key: log::public_key(row.get("public_key"))?,
            role: Role::parse(role)
                .ok_or_else(|| Fault::Corrupt(format!("stored device role {role:?} is unknown")))?,
        },
        revoked: row.get("revoked"),
        credential_expires_at_ms: row.get("credential_expires_at_ms"),
    }))
}
