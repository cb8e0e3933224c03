//! The database side of the hub: the app role's connection pool, migrations (run as the
//! owner role), and the one way to open a tenant-scoped transaction.
//!
//! tokio-postgres (with deadpool-postgres as a small pool) rather than sqlx: the hub's SQL
//! is a handful of hand-written statements that need binary `bytea`/`uuid` parameters,
//! per-transaction `set_config` and, later, `COPY` and `LISTEN/NOTIFY`, all of which
//! tokio-postgres exposes directly; it builds without proc-macros, offline query
//! checking or a bundled TLS stack (sqlx with `default-features = false` still pulls its
//! macro and driver crates), which keeps the hub's build lean on a 2-core machine.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use thorbis_migrations::{HUB, Migration};
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Why the database could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Postgres said no.
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("connection pool: {0}")]
    Pool(String),
    /// The database holds a migration this build does not ship, or a shipped one changed.
    #[error("migration {version} ({name}): {reason}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// Its name.
        name: String,
        /// What does not match.
        reason: String,
    },
}

/// A pool of connections as the app role (row-level security applies to every query).
pub fn app_pool(url: &str, size: usize) -> Result<Pool, DbError> {
    let config = app_config(url)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager).max_size(size).build().map_err(|e| DbError::Pool(e.to_string()))
}

/// The app role's connection settings from its URL, plus what every app session needs.
///
/// Each session asks for `citus.propagate_set_commands = 'local'`: on a Citus coordinator
/// that sends a transaction's `SET LOCAL` commands (the tenant, see [`tenant_tx`]) to the
/// workers it queries, whose shards' policies read the setting. It is set on these
/// sessions only, never on the workers (Citus's own sessions on a worker must not send
/// them on again). On Postgres without Citus it is an unused placeholder.
pub fn app_config(url: &str) -> Result<tokio_postgres::Config, DbError> {
    let mut config: tokio_postgres::Config = url.parse()?;
    let options = config.get_options().map(|o| format!("{o} ")).unwrap_or_default();
    config.options(format!("{options}-c citus.propagate_set_commands=local"));
    Ok(config)
}

/// Opens a transaction in which every query sees only `tenant`'s rows. The setting is
/// transaction-local (`SET LOCAL`), so it can never leak to the next user of the pooled
/// connection.
pub async fn tenant_tx(
    client: &mut deadpool_postgres::Object,
    tenant: Uuid,
) -> Result<Transaction<'_>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // The `SET LOCAL` statement, not `set_config(..., true)`: Citus sends statements to
    // the workers (see [`app_pool`]), not function calls. A statement takes no parameter;
    // a formatted UUID is hex digits and dashes only. One round trip, like the prepared
    // `set_config` it replaces.
    tx.batch_execute(&format!("SET LOCAL app.tenant_id = '{tenant}'")).await?;
    Ok(tx)
}

/// Applies the hub's migrations as the owner role: each in its own transaction, recorded
/// with its checksum. Several hubs starting at once serialize on an advisory lock.
pub async fn migrate(owner_url: &str) -> Result<(), DbError> {
    let (mut client, connection) = tokio_postgres::connect(owner_url, NoTls).await?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection ended");
        }
    });
    let result = apply(&mut client, HUB).await;
    drop(client);
    let _ = task.await;
    result
}

/// Key of the advisory lock held while migrating ("thorbis" in ASCII).
const MIGRATION_LOCK: i64 = 0x0074_686f_7262_6973;

async fn apply(
    client: &mut tokio_postgres::Client,
    migrations: &[Migration],
) -> Result<(), DbError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hub_migrations (
                 version    integer PRIMARY KEY,
                 name       text    NOT NULL,
                 checksum   bigint  NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied = client.query("SELECT version, name, checksum FROM hub_migrations", &[]).await?;
    for row in &applied {
        let version: i32 = row.get(0);
        let name: String = row.get(1);
        let checksum: i64 = row.get(2);
        let shipped = migrations.iter().find(|m| i64::from(m.version) == i64::from(version));
        let reason = match shipped {
            None => Some("the database was migrated by a newer build".to_owned()),
            Some(m) if m.checksum() != checksum => {
                Some("the shipped SQL differs from what was applied".to_owned())
            }
            Some(_) => None,
        };
        if let Some(reason) = reason {
            return Err(DbError::Migration { version: version as u32, name, reason });
        }
    }
    for m in migrations {
        if applied.iter().any(|r| r.get::<_, i32>(0) as u32 == m.version) {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql).await.map_err(|e| DbError::Migration {
            version: m.version,
            name: m.name.to_owned(),
            reason: e.as_db_error().map_or_else(|| e.to_string(), ToString::to_string),
        })?;
        tx.execute(
            "INSERT INTO hub_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&(m.version as i32), &m.name, &m.checksum()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied hub migration");
    }
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
    Ok(())
}

/// How statements pass columns of bytes (`bytea[]` parameters) to the database.
///
/// A Citus coordinator writes every parameter of a distributed `INSERT` into the
/// statement text it sends to the worker (it cannot send them apart), and a `bytea` there
/// is hex, twice its size, which the coordinator formats and the worker parses back: on
/// the ingest bench most of Citus's overhead. Base64 text is a third larger than the bytes
/// and needs no quoting, so on Citus those columns travel as base64 and the worker decodes
/// them; on plain Postgres they stay binary parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Binary `bytea[]` parameters.
    Binary,
    /// `text[]` parameters of base64, decoded by the statement.
    Base64,
}

impl Wire {
    /// What the database behind `client` needs: base64 when it has the `citus` extension.
    pub async fn detect(
        client: &impl deadpool_postgres::GenericClient,
    ) -> Result<Self, tokio_postgres::Error> {
        let row = client
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')", &[])
            .await?;
        Ok(if row.get(0) { Self::Base64 } else { Self::Binary })
    }

    /// SQL for parameter `$n`, a column of bytes built by [`Self::column`], as an array
    /// to `unnest`.
    #[must_use]
    pub fn array(self, n: usize) -> String {
        match self {
            Self::Binary => format!("${n}::bytea[]"),
            Self::Base64 => format!("${n}::text[]"),
        }
    }

    /// SQL for the bytes of `column`, an element of an [`Self::array`]. (The decoding
    /// names a column, never the parameter itself: Citus would evaluate a function of
    /// nothing but a parameter on the coordinator.)
    #[must_use]
    pub fn bytes(self, column: &str) -> String {
        match self {
            Self::Binary => column.to_owned(),
            Self::Base64 => format!("decode({column}, 'base64')"),
        }
    }

    /// A column of bytes as the parameter [`Self::unnest`] reads.
    pub fn column<'a>(self, values: impl Iterator<Item = Option<&'a [u8]>>) -> Blobs<'a> {
        match self {
            Self::Binary => Blobs::Binary(values.collect()),
            Self::Base64 => {
                use base64::Engine as _;
                let engine = &base64::engine::general_purpose::STANDARD;
                Blobs::Base64(values.map(|v| v.map(|v| engine.encode(v))).collect())
            }
        }
    }
}

/// A column of bytes, ready to pass as one parameter (see [`Wire`]).
#[derive(Debug)]
pub enum Blobs<'a> {
    /// As `bytea[]`.
    Binary(Vec<Option<&'a [u8]>>),
    /// As `text[]` of base64.
    Base64(Vec<Option<String>>),
}

impl Blobs<'_> {
    /// The statement parameter.
    #[must_use]
    pub fn param(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Self::Binary(v) => v,
            Self::Base64(v) => v,
        }
    }
}
