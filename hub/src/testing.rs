//! The test harness (feature `testing`): private throwaway Postgres clusters per test
//! binary on `/dev/shm`, a migrated template database, and a fresh database per test made
//! from it with `CREATE DATABASE ... TEMPLATE` (tens of milliseconds).
//!
//! Two backends, each started on first use: one plain Postgres cluster, and a Citus cluster
//! (a coordinator and two workers, see [`crate::pg::citus`]). On Citus the template exists
//! on every node, migrated (so distributed) through the coordinator, and a test's database
//! is copied from it on every node: the copies' Citus metadata and shards match as the
//! template's did.
//!
//! `cargo test` needs no pre-existing database. Each cluster is stopped (`-m immediate`)
//! and its directory removed by a small watchdog process once the test binary exits,
//! however it exits: statics are never dropped, so the binary cannot do it itself.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::DatabaseConfig;
use crate::pg::citus::CitusCluster;
use crate::pg::{APP_ROLE, ClusterError, Durability, LocalCluster, OWNER_ROLE, SUPERUSER};

const TEMPLATE: &str = "thorbis_tmpl";
/// Shards per distributed table in the test cluster: a few per worker, so that tenants
/// spread over both workers and a rebalance has shards to move, while a database is
/// still quick to copy.
const TEST_SHARD_COUNT: u32 = 4;
/// Workers in the test's Citus cluster.
const TEST_WORKERS: usize = 2;

/// Which database engine a test database lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One PostgreSQL 15 server.
    Postgres,
    /// Citus: a coordinator and two workers, the hub's tables distributed by tenant.
    Citus,
}

impl Backend {
    /// Its name in test reports (`backend=...`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Citus => "citus",
        }
    }
}

enum Servers {
    Plain(LocalCluster),
    Citus(CitusCluster),
}

impl Servers {
    /// Every node; the one the hub connects to first.
    fn nodes(&self) -> Vec<&LocalCluster> {
        match self {
            Self::Plain(cluster) => vec![cluster],
            Self::Citus(cluster) => cluster.nodes().collect(),
        }
    }

    fn stop_command(&self) -> String {
        match self {
            Self::Plain(cluster) => cluster.stop_command(),
            Self::Citus(cluster) => cluster.stop_command(),
        }
    }
}

static PLAIN: OnceLock<Result<Servers, String>> = OnceLock::new();
static CITUS: OnceLock<Result<Servers, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

fn servers(backend: Backend) -> &'static Servers {
    let cell = match backend {
        Backend::Postgres => &PLAIN,
        Backend::Citus => &CITUS,
    };
    cell.get_or_init(|| start(backend).map_err(|e| e.to_string()))
        .as_ref()
        .unwrap_or_else(|e| panic!("test {} cluster could not start: {e}", backend.name()))
}

fn start(backend: Backend) -> Result<Servers, ClusterError> {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    // Short on purpose: the directory holds the Unix sockets, whose paths are limited.
    let tag = match backend {
        Backend::Postgres => "thub",
        Backend::Citus => "tcit",
    };
    let dir = PathBuf::from(format!("{base}/{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let servers = match backend {
        Backend::Postgres => Servers::Plain(LocalCluster::start(&dir, Durability::Throwaway)?),
        Backend::Citus => {
            assert!(
                crate::pg::citus::installed(),
                "the Citus extension is not installed for PostgreSQL 15: \
                 run the vendored build script (scripts/test.sh does)"
            );
            Servers::Citus(CitusCluster::start(
                &dir,
                TEST_WORKERS,
                TEST_SHARD_COUNT,
                Durability::Throwaway,
            )?)
        }
    };
    // The watchdog outlives us by design: it polls our pid and cleans up after we exit.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf {dirs}",
        pid = std::process::id(),
        stop = servers.stop_command(),
        dirs = std::iter::once(dir.display().to_string())
            .chain(servers.nodes().iter().map(|n| n.dir().display().to_string()))
            .collect::<Vec<_>>()
            .join(" "),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ClusterError::Spawn { command: "sh (watchdog)".into(), source })?;
    match &servers {
        Servers::Plain(cluster) => cluster.ensure_database(TEMPLATE)?,
        Servers::Citus(cluster) => cluster.ensure_database(TEMPLATE)?,
    }
    let coordinator = servers.nodes()[0];
    let owner_url = coordinator.url(OWNER_ROLE, TEMPLATE);
    // Migrate on a thread of its own: we may be called from inside a test's runtime.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(crate::db::migrate(&owner_url))
            .map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| ClusterError::Failed { command: "migrate".into(), output: "panicked".into() })?
    .map_err(|output| ClusterError::Failed { command: "migrate".into(), output })?;
    // A template is copied only while nobody is connected to it; Citus keeps a maintenance
    // process in every database it runs in. Close the template to connections, then end
    // the ones left (coordinator first, so nothing reconnects to a worker's template).
    for node in servers.nodes() {
        node.psql(
            "postgres",
            &format!(
                "ALTER DATABASE {TEMPLATE} ALLOW_CONNECTIONS false;
                 SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                  WHERE datname = '{TEMPLATE}'"
            ),
        )?;
    }
    Ok(servers)
}

/// A fresh, migrated database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Which engine it lives on.
    pub backend: Backend,
    /// Connection strings for the hub (owner and app roles); on Citus, the coordinator's.
    pub config: DatabaseConfig,
    /// A superuser connection string, for audits that read the catalog.
    pub superuser_url: String,
    /// On Citus, the same database on each worker: superuser and app-role connection
    /// strings, for audits of the shards. Empty on plain Postgres.
    pub workers: Vec<WorkerUrls>,
}

/// One Citus worker's copy of a test database.
#[derive(Debug, Clone)]
pub struct WorkerUrls {
    /// As the superuser.
    pub superuser_url: String,
    /// As the app role.
    pub app_url: String,
}

/// Creates a plain Postgres database from the migrated template. Blocking (a few tens of
/// milliseconds); call it before starting async work or from `spawn_blocking`.
#[must_use]
pub fn fresh_database() -> TestDatabase {
    database_on(Backend::Postgres)
}

/// Creates a database on `backend` from its migrated template. Blocking, like
/// [`fresh_database`]; on Citus the first call starts the cluster (seconds).
#[must_use]
pub fn database_on(backend: Backend) -> TestDatabase {
    let servers = servers(backend);
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let sql = format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {OWNER_ROLE}");
    let nodes = servers.nodes();
    // Workers first: the coordinator's copy is the one the hub connects to.
    for node in nodes.iter().rev() {
        // Two copies of one template at the same moment can collide ("being accessed by
        // other users"); retry briefly rather than serialize every test.
        let mut attempt = 0;
        loop {
            match node.psql("postgres", &sql) {
                Ok(_) => break,
                Err(e) if attempt < 50 => {
                    attempt += 1;
                    tracing::debug!(error = %e, "retrying CREATE DATABASE");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("could not create test database {name}: {e}"),
            }
        }
    }
    let coordinator = nodes[0];
    TestDatabase {
        config: DatabaseConfig {
            owner_url: coordinator.url(OWNER_ROLE, &name),
            app_url: coordinator.url(APP_ROLE, &name),
            pool_size: 8,
        },
        superuser_url: coordinator.url(SUPERUSER, &name),
        workers: nodes[1..]
            .iter()
            .map(|w| WorkerUrls {
                superuser_url: w.url(SUPERUSER, &name),
                app_url: w.url(APP_ROLE, &name),
            })
            .collect(),
        backend,
        name,
    }
}
