//! The handle every data-layer module works through, and the failures they share.
//!
//! The modules that own the hub's SQL ([`crate::log`], [`crate::tenants`],
//! [`crate::accounts`], [`crate::staff`], [`crate::work_orders`]) take a [`Store`] and
//! return their own error enums; what is never the caller's fault is a [`Fault`] inside
//! them. They know nothing of HTTP: `http/` parses a request, calls one of them and maps
//! the error to a status code in one place (`http/error.rs`).

use std::sync::Arc;

use deadpool_postgres::{Pool, Transaction};
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Limits;
use crate::db::Wire;
use crate::identity::{IdentityError, KeyWrap};
use crate::live::Notifier;
use crate::projection::ProjectionError;

/// The app role's pool and what writes need besides: the clock, the key that seals
/// tenant signing keys, the notifier that wakes this process's long-polls, the limits.
#[derive(Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    clock: Arc<dyn Clock>,
    key_wrap: Option<Arc<KeyWrap>>,
    pub(crate) notifier: Notifier,
    pub(crate) limits: Limits,
    /// Console passwords actually verified (not refused up front as locked): see
    /// [`crate::accounts::login`].
    pub(crate) password_checks: Arc<std::sync::atomic::AtomicU64>,
    /// How columns of bytes reach this database, learned on first use.
    wire: tokio::sync::OnceCell<Wire>,
    /// Per device, when this process last did its chores (see [`Store::chores_due`]).
    chores: std::sync::Mutex<std::collections::HashMap<Uuid, u64>>,
}

/// Devices whose chores [`Store::chores_due`] remembers at most; past that it forgets them
/// all (each then does its chores once more than needed).
const CHORES_REMEMBERED: usize = 100_000;

/// A failure that is not the caller's: the database, the pool, a stored row that does not
/// parse, the projection, a tenant key.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// Postgres said no.
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection.
    #[error("connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Folding events into the projections failed.
    #[error("projection: {0}")]
    Projection(#[from] ProjectionError),
    /// A tenant key could not be opened, generated or used.
    #[error("tenant key: {0}")]
    Key(#[from] IdentityError),
    /// A stored value is not what this build wrote.
    #[error("stored data: {0}")]
    Corrupt(String),
}

/// `From` every [`Fault`] source for a module's error enum, whose `Fault` variant holds
/// it, so `?` works on database calls.
macro_rules! faults {
    ($error:ty) => {
        impl From<tokio_postgres::Error> for $error {
            fn from(e: tokio_postgres::Error) -> Self {
                Self::Fault(e.into())
            }
        }
        impl From<deadpool_postgres::PoolError> for $error {
            fn from(e: deadpool_postgres::PoolError) -> Self {
                Self::Fault(e.into())
            }
        }
        impl From<crate::projection::ProjectionError> for $error {
            fn from(e: crate::projection::ProjectionError) -> Self {
                Self::Fault(e.into())
            }
        }
        impl From<crate::identity::IdentityError> for $error {
            fn from(e: crate::identity::IdentityError) -> Self {
                Self::Fault(e.into())
            }
        }
    };
}
pub(crate) use faults;

impl Store {
    /// A store over `pool`.
    #[must_use]
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        key_wrap: Option<Arc<KeyWrap>>,
        notifier: Notifier,
        limits: Limits,
    ) -> Self {
        Self {
            pool,
            clock,
            key_wrap,
            notifier,
            limits,
            password_checks: Arc::default(),
            wire: tokio::sync::OnceCell::new(),
            chores: std::sync::Mutex::default(),
        }
    }

    /// How statements pass columns of bytes to this database (asked through `tx` the
    /// first time).
    pub(crate) async fn wire(&self, tx: &Transaction<'_>) -> Result<Wire, tokio_postgres::Error> {
        self.wire.get_or_try_init(|| Wire::detect(tx)).await.copied()
    }

    /// Whether a request of `device` at `now_ms` should do the device's chores (forget its
    /// stale nonces, note it was seen): when this process has not done them in the last
    /// `every_ms`. Counted as done from now on, even if the request's transaction then rolls
    /// back: they wait one more period at worst.
    pub(crate) fn chores_due(&self, device: Uuid, now_ms: u64, every_ms: u64) -> bool {
        let mut chores = self.chores.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if chores.len() >= CHORES_REMEMBERED {
            chores.clear();
        }
        match chores.get(&device) {
            Some(&done) if now_ms.saturating_sub(done) < every_ms && done <= now_ms => false,
            _ => {
                chores.insert(device, now_ms);
                true
            }
        }
    }

    /// How many console passwords were verified against their hash so far.
    #[must_use]
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The injected clock's time, Unix milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The same, as Postgres stores it (`bigint`).
    pub(crate) fn now_i64(&self) -> i64 {
        i64::try_from(self.now_ms()).unwrap_or(i64::MAX)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), Fault> {
        self.pool.get().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    /// Wakes this process's long-polls for `tenant` after a commit that added events
    /// (other processes hear of it through the `NOTIFY` the commit carried).
    pub fn notify(&self, tenant: Uuid) {
        self.notifier.notify(tenant);
    }

    /// A tenant's signing key as its PKCS#8 document, opened if it is sealed. `None` if
    /// there is no such tenant.
    pub(crate) async fn tenant_pkcs8(
        &self,
        tx: &Transaction<'_>,
        tenant: Uuid,
    ) -> Result<Option<Vec<u8>>, Fault> {
        let Some(row) = tx
            .query_opt(
                "SELECT signing_key, signing_key_encrypted FROM tenants WHERE tenant_id = $1",
                &[&tenant],
            )
            .await?
        else {
            return Ok(None);
        };
        let stored: Vec<u8> = row.get(0);
        if !row.get::<_, bool>(1) {
            return Ok(Some(stored));
        }
        let wrap = self.key_wrap.as_ref().ok_or_else(|| {
            Fault::Corrupt(format!(
                "tenant {tenant}'s key is sealed but no key-encryption key is configured"
            ))
        })?;
        Ok(Some(wrap.open(tenant, &stored)?))
    }

    /// The signing key's stored form for a new tenant: sealed when a key-encryption key is
    /// configured. Returns the bytes and whether they are sealed.
    pub(crate) fn store_pkcs8(
        &self,
        tenant: Uuid,
        pkcs8: Vec<u8>,
    ) -> Result<(Vec<u8>, bool), Fault> {
        match &self.key_wrap {
            Some(wrap) => Ok((wrap.seal(tenant, &pkcs8)?, true)),
            None => Ok((pkcs8, false)),
        }
    }
}
