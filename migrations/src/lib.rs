//! Schema migrations, forward-only: the agent's SQLite store (`agent/`) and the hub's
//! Postgres database (`hub/`, when the hub lands).
//!
//! Each migration is a numbered SQL file embedded at compile time. A migration that has
//! shipped is never edited: its checksum is recorded when applied, and a store refuses to
//! open if a recorded checksum no longer matches the file (someone changed history). Fixes
//! go in a new, higher-numbered file.
//!
//! This crate only lists the files; applying them belongs to each store, which knows its
//! database.

/// One migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Its number: 1, 2, ... with no gaps.
    pub version: u32,
    /// The file name without the number, for messages.
    pub name: &'static str,
    /// The SQL to run, in one transaction.
    pub sql: &'static str,
}

impl Migration {
    /// A stable checksum of the SQL (64-bit FNV-1a), recorded when applied.
    #[must_use]
    pub fn checksum(&self) -> i64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.sql.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }
}

macro_rules! migrations {
    ($dir:literal: $($version:literal => $name:literal,)*) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../", $dir, "/", stringify!($version), "_", $name, ".sql")),
        },)*]
    };
}

/// The agent's SQLite migrations, in order.
pub const AGENT: &[Migration] = migrations!("agent":
    1 => "event_log",
    2 => "projections",
    3 => "print_jobs",
    4 => "sign_in",
    5 => "sync",
    6 => "ui_reads",
    7 => "sign_in_backoff",
    8 => "print_decisions",
    9 => "quarantine",
    10 => "peer_credentials",
    11 => "technician_pin",
    12 => "blob_uploads",
);

/// The hub's Postgres migrations, in order.
pub const HUB: &[Migration] = migrations!("hub":
    1 => "tenancy_and_events",
    2 => "aggregate_storage",
    3 => "console_sessions",
    4 => "work_orders",
    5 => "aggregate_json",
    6 => "closed_order_refs",
    7 => "tenant_policy_initplan",
    8 => "citus_distribution",
    9 => "request_nonces_and_quotas",
    10 => "quarantine_waiting",
    11 => "location_settings",
    12 => "console_links_and_totp",
    13 => "api_tokens",
    14 => "exception_index",
    15 => "drawer_session_details",
    16 => "payment_staff",
    17 => "work_order_workflow",
    18 => "blobs",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_contiguous_from_one() {
        for (i, m) in AGENT.iter().enumerate().chain(HUB.iter().enumerate()) {
            assert_eq!(m.version as usize, i + 1, "{} is out of sequence", m.name);
            assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
        }
    }
}
