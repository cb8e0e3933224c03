//! A private Postgres cluster run from the PostgreSQL 15 binaries: the hub's own store when
//! no database is configured (`thorbis-hub` with no arguments) and the test harness's
//! throwaway cluster; [`citus`] makes a Citus cluster of several.
//!
//! It owns creating, starting and stopping one data directory and the two roles the hub
//! expects (see `migrations/hub/README.md`). It never touches a cluster it did not create.
//! Postgres refuses to run as root, so when the hub runs as root every command goes
//! through `runuser -u postgres` and the directory is handed to that user first. A
//! directory that user cannot reach (one inside a home folder of mode 0700, say) is not
//! opened up: the cluster lives instead under [`RELOCATED_ROOT`], which that user owns, and
//! a `cluster-location` file in the requested directory names where, so the same directory
//! always finds the same cluster and a fresh directory gets a fresh one.

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod citus;

/// Where Debian's PostgreSQL 15 puts its server binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Where clusters live whose requested directory the `postgres` user cannot reach (see
/// the module docs): inside that user's home, which it owns.
pub const RELOCATED_ROOT: &str = "/var/lib/postgresql/thorbis";
/// The file, in a requested directory, that names its relocated cluster.
const LOCATION_FILE: &str = "cluster-location";

/// The superuser created by `initdb`; used only to create roles and databases.
pub const SUPERUSER: &str = "postgres";
/// The role that owns the schema and runs migrations.
pub const OWNER_ROLE: &str = "thorbis_owner";
/// The role the service connects as: owns nothing, no SUPERUSER, no BYPASSRLS.
pub const APP_ROLE: &str = "thorbis_app";

/// Why the local cluster could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A command could not be started at all.
    #[error("could not run {command}: {source}")]
    Spawn {
        /// The program.
        command: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("{command} failed: {output}")]
    Failed {
        /// The program and its first arguments.
        command: String,
        /// Its stderr and stdout.
        output: String,
    },
    /// Filesystem trouble around the data directory.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Who the cluster lets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Over TCP, only with the cluster's generated password (SCRAM), which is kept in a
    /// file of mode 0600 in the cluster's folder; the Unix socket, in that folder of mode
    /// 0700, only for its owner. Another local user gets nowhere.
    Private,
    /// Anyone on 127.0.0.1, as for the nodes of a throwaway Citus test cluster, which
    /// connect to each other as the connecting role. Never for a store that is kept.
    LoopbackTrust,
}

/// The file, in a cluster's folder, holding its generated password.
const SECRET_FILE: &str = "secret";

/// How durable the cluster must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A real store: fsync and full page writes stay on.
    Durable,
    /// Thrown away after the run: fsync, synchronous commit and full page writes off.
    Throwaway,
}

/// One running cluster listening on 127.0.0.1.
pub struct LocalCluster {
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// The password of every role it makes (see [`Access::Private`]).
    secret: String,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("as_postgres", &self.as_postgres)
            .finish_non_exhaustive()
    }
}

impl LocalCluster {
    /// Initializes `dir/data` unless it exists, starts the server on a free port, and makes
    /// sure the owner and app roles exist, every role with the cluster's password
    /// ([`Access::Private`]). `dir` must be short (it holds the Unix socket).
    pub fn start(dir: &Path, durability: Durability) -> Result<Self, ClusterError> {
        Self::start_with(dir, durability, Access::Private, &[])
    }

    /// [`LocalCluster::start`] with a choice of access and extra server settings, each
    /// `name=value` (an extension's, say: see [`citus`]).
    pub fn start_with(
        dir: &Path,
        durability: Durability,
        access: Access,
        settings: &[&str],
    ) -> Result<Self, ClusterError> {
        let as_postgres = running_as_root();
        std::fs::create_dir_all(dir).map_err(|source| ClusterError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let mut dir = dir.canonicalize().map_err(|source| ClusterError::Io {
            what: format!("resolving {}", dir.display()),
            source,
        })?;
        if as_postgres && !reachable_by_postgres(&dir) {
            dir = relocated(&dir)?;
            tracing::info!(cluster = %dir.display(), "the postgres user cannot reach the data folder; the cluster lives here");
        }
        // The folder holds the Unix socket, which trusts whoever reaches it: its owner only.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |source| ClusterError::Io { what: format!("making {} private", dir.display()), source },
        )?;
        let secret = secret(&dir)?;
        let cluster = Self { dir, port: free_port()?, as_postgres, secret };
        let data = cluster.data_dir();
        if !Path::new(&data).join("PG_VERSION").exists() {
            if as_postgres {
                cluster.run("chown", &["-R", "postgres:postgres", &cluster.dir_str()], false)?;
            }
            cluster.run(
                &format!("{PG_BIN}/initdb"),
                &["-A", "trust", "-U", SUPERUSER, "-N", "-E", "UTF8", "--locale=C", "-D", &data],
                as_postgres,
            )?;
        }
        // Written at every start, so a cluster made by an older version (which trusted
        // loopback) is closed too.
        let host = match access {
            Access::Private => "scram-sha-256",
            Access::LoopbackTrust => "trust",
        };
        let hba = format!(
            "# Written by the hub at every start (see thorbis_hub::pg::Access).\n\
             local all all trust\nhost all all 127.0.0.1/32 {host}\n"
        );
        let hba_path = format!("{data}/pg_hba.conf");
        std::fs::write(&hba_path, hba)
            .map_err(|source| ClusterError::Io { what: format!("writing {hba_path}"), source })?;
        if as_postgres {
            cluster.run("chown", &["-R", "postgres:postgres", &cluster.dir_str()], false)?;
        }
        if Path::new(&data).join("postmaster.pid").exists() {
            // A previous run died without stopping its server; stop it so we own the port.
            let _ = cluster.run(
                &format!("{PG_BIN}/pg_ctl"),
                &["-D", &data, "stop", "-m", "fast"],
                as_postgres,
            );
        }
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            cluster.port,
            cluster.dir_str()
        );
        if durability == Durability::Throwaway {
            options.push_str(
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off",
            );
        }
        for setting in settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = format!("{}/log", cluster.dir_str());
        cluster.run(
            &format!("{PG_BIN}/pg_ctl"),
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
            as_postgres,
        )?;
        for role in [OWNER_ROLE, APP_ROLE] {
            let sql = format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN \
                 CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; \
                 END IF; END $$"
            );
            cluster.psql("postgres", &sql)?;
        }
        // The secret is hex, so it needs no quoting.
        for role in [SUPERUSER, OWNER_ROLE, APP_ROLE] {
            cluster
                .psql("postgres", &format!("ALTER ROLE {role} PASSWORD '{}'", cluster.secret))?;
        }
        Ok(cluster)
    }

    /// The port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding `data/`, the log and the socket.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A connection string for `role` on `database`, with the cluster's password.
    #[must_use]
    pub fn url(&self, role: &str, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={role} password={} dbname={database}",
            self.port, self.secret
        )
    }

    /// Creates `database` owned by the owner role unless it exists.
    pub fn ensure_database(&self, database: &str) -> Result<(), ClusterError> {
        let exists = self
            .psql("postgres", &format!("SELECT 1 FROM pg_database WHERE datname = '{database}'"))?;
        if exists.trim() != "1" {
            self.psql("postgres", &format!("CREATE DATABASE {database} OWNER {OWNER_ROLE}"))?;
        }
        Ok(())
    }

    /// Runs one SQL command as the superuser through `psql` (over the Unix socket in the
    /// cluster's private folder) and returns its unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, ClusterError> {
        let port = self.port.to_string();
        let socket = self.dir_str();
        self.run(
            &format!("{PG_BIN}/psql"),
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &socket,
                "-p",
                &port,
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            false,
        )
    }

    /// Stops the server (`fast`: clean shutdown) and leaves the data in place.
    pub fn stop(&self) -> Result<(), ClusterError> {
        self.run(
            &format!("{PG_BIN}/pg_ctl"),
            &["-D", &self.data_dir(), "stop", "-m", "fast"],
            self.as_postgres,
        )
        .map(drop)
    }

    /// The command line that stops the server immediately, for a watchdog outliving us.
    #[must_use]
    pub fn stop_command(&self) -> String {
        let pg_ctl = format!("{PG_BIN}/pg_ctl -D {} stop -m immediate", self.data_dir());
        if self.as_postgres { format!("runuser -u postgres -- {pg_ctl}") } else { pg_ctl }
    }

    fn data_dir(&self) -> String {
        format!("{}/data", self.dir_str())
    }

    fn dir_str(&self) -> String {
        self.dir.display().to_string()
    }

    fn run(&self, program: &str, args: &[&str], as_postgres: bool) -> Result<String, ClusterError> {
        let mut command = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        // Null stdin and piped output: a server started by pg_ctl must not inherit our
        // stdout, or `cargo test` would wait for it to close.
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ClusterError::Spawn { command: program.to_owned(), source })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(ClusterError::Failed {
                command: format!("{program} {}", args.first().copied().unwrap_or_default()),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stderr),
                    String::from_utf8_lossy(&output.stdout)
                ),
            })
        }
    }
}

/// The cluster's password, from `dir`'s secret file (mode 0600), made on first use.
fn secret(dir: &Path) -> Result<String, ClusterError> {
    let path = dir.join(SECRET_FILE);
    crate::secret::load_or_make(&path, 24).map_err(|source| ClusterError::Io {
        what: format!("the secret {}", path.display()),
        source,
    })
}

/// Asks the OS for a free port by binding port 0, then releases it for Postgres.
fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| ClusterError::Io { what: "finding a free port".into(), source })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| ClusterError::Io { what: "finding a free port".into(), source })
}

/// Whether the `postgres` user can enter `dir` (every folder above it included).
fn reachable_by_postgres(dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The cluster directory under [`RELOCATED_ROOT`] that `requested` names in its
/// `cluster-location` file, chosen (a new, unique folder) and recorded on first use.
fn relocated(requested: &Path) -> Result<PathBuf, ClusterError> {
    let pointer = requested.join(LOCATION_FILE);
    let io = |what: String| move |source| ClusterError::Io { what, source };
    match std::fs::read_to_string(&pointer) {
        Ok(location) => return Ok(PathBuf::from(location.trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("reading {}", pointer.display()))(e)),
    }
    // A short name: the directory holds the server's Unix socket, whose path is limited.
    let dir = Path::new(RELOCATED_ROOT).join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let status = Command::new("chown")
        .args(["postgres:postgres", RELOCATED_ROOT])
        .arg(&dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|source| ClusterError::Spawn { command: "chown".into(), source })?;
    if !status.success() {
        return Err(ClusterError::Failed {
            command: "chown".into(),
            output: format!("could not hand {} to the postgres user", dir.display()),
        });
    }
    std::fs::write(&pointer, format!("{}\n", dir.display()))
        .map_err(io(format!("writing {}", pointer.display())))?;
    Ok(dir)
}

fn running_as_root() -> bool {
    // `id -u` rather than libc: the workspace denies unsafe code.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
