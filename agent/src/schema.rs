//! Opening the SQLite file: durability pragmas and forward-only migrations.

use rusqlite::{Connection, OptionalExtension, params};
use thorbis_migrations::Migration;

use crate::error::StoreError;

/// Sets the pragmas every connection to a store needs.
///
/// WAL lets readers run beside the writer; `synchronous = FULL` makes every commit reach
/// the disk before it returns, so a sale acknowledged to the cashier survives a power cut,
/// not only a crash of the process.
pub(crate) fn configure(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!("could not enable WAL (journal_mode is {mode})")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.pragma_update(None, "wal_autocheckpoint", crate::checkpoint::WRITER_AUTOCHECKPOINT_PAGES)?;
    Ok(())
}

/// Applies the migrations of `set` that this database lacks, each in its own transaction.
///
/// Refuses a database that a newer build has migrated further (we would not understand its
/// schema) or whose recorded history no longer matches the embedded files.
pub fn migrate(conn: &mut Connection, set: &[Migration]) -> Result<u32, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version  INTEGER PRIMARY KEY,
             name     TEXT    NOT NULL,
             checksum INTEGER NOT NULL,
             applied_ms INTEGER NOT NULL
         )",
    )?;
    let known = set.last().map_or(0, |m| m.version);
    let current: u32 =
        conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
    if current > known {
        return Err(StoreError::Migration(format!(
            "the store is at schema version {current}, newer than this build knows ({known}); \
             run a newer agent"
        )));
    }
    for m in set {
        let recorded: Option<i64> = conn
            .query_row(
                "SELECT checksum FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .optional()?;
        match recorded {
            Some(sum) if sum == m.checksum() => {}
            Some(_) => {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) was changed after it was applied; add a new migration instead",
                    m.version, m.name
                )));
            }
            None => {
                let tx = conn.transaction()?;
                tx.execute_batch(m.sql).map_err(|e| {
                    StoreError::Migration(format!(
                        "migration {} ({}) failed: {e}",
                        m.version, m.name
                    ))
                })?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_ms)
                     VALUES (?1, ?2, ?3, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                    params![m.version, m.name, m.checksum()],
                )?;
                tx.commit()?;
                tracing::info!(version = m.version, name = m.name, "applied migration");
            }
        }
    }
    Ok(known)
}
