//! The test harness (feature `testing`): one private throwaway Postgres cluster per test
//! binary on `/dev/shm`, a migrated template database, and a fresh database per test made
//! from it with `CREATE DATABASE ... TEMPLATE` (tens of milliseconds).
//!
//! `cargo test` needs no pre-existing database. The cluster is stopped (`-m immediate`) and
//! its directory removed by a small watchdog process once the test binary exits, however
//! it exits: statics are never dropped, so the binary cannot do it itself.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::DatabaseConfig;
use crate::pg::{APP_ROLE, ClusterError, Durability, LocalCluster, OWNER_ROLE};

const TEMPLATE: &str = "thorbis_tmpl";

static CLUSTER: OnceLock<Result<LocalCluster, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

fn cluster() -> &'static LocalCluster {
    CLUSTER
        .get_or_init(|| start().map_err(|e| e.to_string()))
        .as_ref()
        .unwrap_or_else(|e| panic!("test Postgres cluster could not start: {e}"))
}

fn start() -> Result<LocalCluster, ClusterError> {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    // Short on purpose: the directory holds the Unix socket, whose path is limited.
    let dir = PathBuf::from(format!("{base}/thub-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = LocalCluster::start(&dir, Durability::Throwaway)?;
    // The watchdog outlives us by design: it polls our pid and cleans up after we exit.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        stop = cluster.stop_command(),
        dir = cluster.dir().display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ClusterError::Spawn { command: "sh (watchdog)".into(), source })?;
    cluster.ensure_database(TEMPLATE)?;
    let owner_url = cluster.url(OWNER_ROLE, TEMPLATE);
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
    Ok(cluster)
}

/// A fresh, migrated database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Connection strings for the hub (owner and app roles).
    pub config: DatabaseConfig,
    /// A superuser connection string, for audits that read the catalog.
    pub superuser_url: String,
}

/// Creates a database from the migrated template. Blocking (a few tens of milliseconds);
/// call it before starting async work or from `spawn_blocking`.
#[must_use]
pub fn fresh_database() -> TestDatabase {
    let cluster = cluster();
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let sql = format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {OWNER_ROLE}");
    // Two copies of one template at the same moment can collide ("being accessed by other
    // users"); retry briefly rather than serialize every test.
    let mut attempt = 0;
    loop {
        match cluster.psql("postgres", &sql) {
            Ok(_) => break,
            Err(e) if attempt < 50 => {
                attempt += 1;
                tracing::debug!(error = %e, "retrying CREATE DATABASE");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("could not create test database {name}: {e}"),
        }
    }
    TestDatabase {
        config: DatabaseConfig {
            owner_url: cluster.url(OWNER_ROLE, &name),
            app_url: cluster.url(APP_ROLE, &name),
            pool_size: 8,
        },
        superuser_url: cluster.url(crate::pg::SUPERUSER, &name),
        name,
    }
}
