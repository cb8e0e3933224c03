//! A Citus cluster (distributed Postgres) made of [`LocalCluster`]s on loopback: one
//! coordinator and its workers, for tests and benches of the hub on Citus. The extension
//! itself is built and installed for the machine's PostgreSQL 15 by the vendored build
//! script (`scripts/test.sh` runs it); a production deployment runs its own Citus and
//! gives the hub the coordinator's URL like any database URL.
//!
//! Citus keeps its metadata per database: each database the hub uses gets the extension
//! on every node and the workers registered in its coordinator copy
//! ([`CitusCluster::ensure_database`]). The hub's migrations then distribute the tables.

use std::path::Path;

use super::{Access, ClusterError, Durability, LocalCluster, OWNER_ROLE};

/// Server settings every node needs: the extension loaded at start, and prepared
/// transactions (a write to a reference table commits on every node with two-phase
/// commit). The nodes of this cluster all listen on loopback, so they talk to each other in
/// clear, as the hub talks to its database in tests (with Citus's default,
/// `sslmode=require`, the ingest bench spent a few percent of the machine encrypting
/// loopback traffic); a cluster spread over machines keeps that default (see
/// `hub/CITUS.md`).
const NODE_SETTINGS: &[&str] = &[
    "shared_preload_libraries=citus",
    "max_prepared_transactions=100",
    "citus.node_conninfo=sslmode=disable",
];

/// Whether the Citus extension is installed for the machine's PostgreSQL 15.
#[must_use]
pub fn installed() -> bool {
    Path::new(super::PG_BIN).join("../lib/citus.so").exists()
}

/// A running coordinator and its workers, each a [`LocalCluster`] on 127.0.0.1.
#[derive(Debug)]
pub struct CitusCluster {
    coordinator: LocalCluster,
    workers: Vec<LocalCluster>,
}

impl CitusCluster {
    /// Starts `workers` workers and a coordinator under `dir` (in `w1`, `w2`, ... and `c`),
    /// with `shard_count` shards for each table distributed afterwards. `dir` must be short
    /// (each node's directory holds its Unix socket).
    pub fn start(
        dir: &Path,
        workers: usize,
        shard_count: u32,
        durability: Durability,
    ) -> Result<Self, ClusterError> {
        let shards = format!("citus.shard_count={shard_count}");
        let mut settings = NODE_SETTINGS.to_vec();
        settings.push(&shards);
        let workers = (1..=workers)
            .map(|n| {
                LocalCluster::start_with(
                    &dir.join(format!("w{n}")),
                    durability,
                    Access::LoopbackTrust,
                    &settings,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let coordinator =
            LocalCluster::start_with(&dir.join("c"), durability, Access::LoopbackTrust, &settings)?;
        Ok(Self { coordinator, workers })
    }

    /// The node the hub connects to.
    #[must_use]
    pub fn coordinator(&self) -> &LocalCluster {
        &self.coordinator
    }

    /// The nodes holding the shards.
    #[must_use]
    pub fn workers(&self) -> &[LocalCluster] {
        &self.workers
    }

    /// Every node, coordinator first.
    pub fn nodes(&self) -> impl Iterator<Item = &LocalCluster> {
        std::iter::once(&self.coordinator).chain(&self.workers)
    }

    /// Creates `database` (owned by the owner role) on every node unless it exists, with
    /// the `citus` extension, and registers the coordinator and the workers in its
    /// metadata. The hub's migrations then distribute its tables.
    pub fn ensure_database(&self, database: &str) -> Result<(), ClusterError> {
        for node in self.nodes() {
            node.ensure_database(database)?;
            node.psql(database, "CREATE EXTENSION IF NOT EXISTS citus")?;
            // Citus copies a shard it moves as the table's owner; with FORCE row-level
            // security the owner would read none of its rows (see hub/CITUS.md).
            node.psql(database, &format!("ALTER ROLE {OWNER_ROLE} BYPASSRLS"))?;
        }
        self.coordinator.psql(
            database,
            &format!("SELECT citus_set_coordinator_host('127.0.0.1', {})", self.coordinator.port()),
        )?;
        for worker in &self.workers {
            self.add_node(database, worker.port())?;
        }
        Ok(())
    }

    /// Registers a worker on `port` (127.0.0.1) in `database`'s metadata unless it is; its
    /// database must exist with the extension. It holds no shards until a rebalance.
    pub fn add_node(&self, database: &str, port: u16) -> Result<(), ClusterError> {
        self.coordinator
            .psql(
                database,
                &format!(
                    "SELECT citus_add_node('127.0.0.1', {port}) WHERE NOT EXISTS
                       (SELECT 1 FROM pg_dist_node WHERE nodename = '127.0.0.1' AND nodeport = {port})"
                ),
            )
            .map(drop)
    }

    /// Stops every node (`fast`), coordinator first, and leaves the data in place.
    pub fn stop(&self) -> Result<(), ClusterError> {
        let mut first_error = None;
        for node in self.nodes() {
            if let Err(e) = node.stop() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The command line that stops every node immediately, for a watchdog outliving us.
    #[must_use]
    pub fn stop_command(&self) -> String {
        self.nodes().map(LocalCluster::stop_command).collect::<Vec<_>>().join("; ")
    }
}
