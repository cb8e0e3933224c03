//! The store's error type.

use thorbis_domain::CommandError;
use thorbis_domain::events::PayloadError;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The command was refused; nothing was written.
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration error: {0}")]
    Migration(String),
    /// Stored data is not what this build expects.
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
    /// A stored payload does not decode.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request does not fit the current state.
    #[error("{0}")]
    Conflict(String),
    /// The device key could not be created or loaded.
    #[error("device key error: {0}")]
    Key(String),
}

impl StoreError {
    /// The refusal, when the command was refused for business reasons.
    #[must_use]
    pub fn refusal(&self) -> Option<&CommandError> {
        match self {
            StoreError::Refused(e) => Some(e),
            _ => None,
        }
    }
}
