//! Moving the WAL back into the database file off the commit path.
//!
//! With `synchronous = FULL`, a commit costs one fsync of the WAL. SQLite's automatic
//! checkpoint would, every thousand pages, also copy the WAL into the database and fsync
//! that, inside whichever commit crossed the line: a cashier would feel a random sale take
//! ten times longer. Instead the writer's automatic checkpoint is pushed far out (a safety
//! net only), and this thread, on its own connection, runs a `PASSIVE` checkpoint a few times
//! a second; passive checkpoints never block the writer.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// How often the background checkpoint runs.
const INTERVAL: Duration = Duration::from_millis(250);

/// WAL pages after which the writer checkpoints by itself, if this thread fell behind.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// The background checkpoint thread; stops when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the WAL of the database at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 1000;")?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "background checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
