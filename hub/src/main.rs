//! `thorbis-hub`: configuration from `THORBIS_HUB_*` variables (see `Config::from_vars`).
//! With no database configured it runs its own durable Postgres cluster under
//! `./.thorbis-hub-data`, applies migrations and serves on 127.0.0.1:8080 until Ctrl-C or
//! SIGTERM. Once it serves it prints `listening on <url>` on stdout.
//!
//! `thorbis-hub verify-export FILE` checks a device log exported from the console, offline
//! and without a database: it prints what the log holds and exits 0, or names the first
//! broken link and exits 1.

use std::sync::Arc;

use anyhow::Context as _;
use thorbis_hub::pg::{APP_ROLE, Durability, LocalCluster, OWNER_ROLE};
use thorbis_hub::{Config, DatabaseConfig, clock::SystemClock};

const DATABASE: &str = "thorbis_hub";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, file] if command == "verify-export" => {
            verify_export(std::path::Path::new(file), None)
        }
        [command, flag, key, file] if command == "verify-export" && flag == "--tenant-key" => {
            verify_export(std::path::Path::new(file), Some(key))
        }
        [flag] if flag == "--version" || flag == "-V" => {
            version();
            Ok(())
        }
        [] => serve(),
        _ => {
            anyhow::bail!("usage: thorbis-hub [--version | verify-export [--tenant-key HEX] FILE]")
        }
    }
}

#[allow(clippy::print_stdout, reason = "the version is the command's output")]
fn version() {
    println!("thorbis-hub {}", env!("CARGO_PKG_VERSION"));
}

/// `verify-export FILE`: see the module docs.
#[allow(clippy::print_stdout, reason = "the verdict is the command's output")]
fn verify_export(file: &std::path::Path, tenant_key: Option<&str>) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let export: thorbis_sync_protocol::export::LogExport = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a log export", file.display()))?;
    // The file names the key that vouches for it: without the tenant's key from elsewhere
    // (the console shows it), a forger's file re-signed with a key of its own would pass.
    match tenant_key {
        Some(key) => {
            let key: thorbis_sync_protocol::PublicKey =
                key.parse().map_err(|e| anyhow::anyhow!("--tenant-key: {e}"))?;
            anyhow::ensure!(
                key == export.tenant_public_key,
                "{}: signed under tenant key {}, not the one given",
                file.display(),
                export.tenant_public_key
            );
        }
        None => println!(
            "note: the tenant key in the file was trusted; pass --tenant-key <key from the console> to check it"
        ),
    }
    let audited = thorbis_sync_protocol::export::audit(&export).with_context(|| {
        format!("{}: the log of device {} does not verify", file.display(), export.device_id)
    })?;
    println!(
        "intact: device {} · {} events, seq 1 to {} · {} signed checkpoints · tip {} · {} · tenant key {}",
        export.device_id,
        audited.events,
        audited.tip.seq,
        audited.checkpoints,
        audited.tip.hash,
        if export.credential.is_some() {
            "signed by the device key its credential names"
        } else {
            "signed by the tenant key"
        },
        export.tenant_public_key,
    );
    Ok(())
}

#[tokio::main]
async fn serve() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_vars(|name| std::env::var(name).ok()).context("configuration")?;
    if config.database.is_some() && config.key_encryption_key.is_none() {
        anyhow::bail!(
            "THORBIS_HUB_KEY_ENCRYPTION_KEY is not set: with an external database the hub needs a \
             key-encryption key for tenant signing keys, kept outside the database (64 hex \
             digits, e.g. from `openssl rand -hex 32`)"
        );
    }
    // A data folder from before, without its key file: sealed keys (if any) will not open.
    let key_file = config.data_dir.join(KEY_FILE);
    let key_missing = config.database.is_none()
        && !key_file.exists()
        && std::fs::read_dir(&config.data_dir).is_ok_and(|mut entries| entries.next().is_some());
    let (database, cluster) = if let Some(database) = config.database.clone() {
        (database, None)
    } else {
        let dir = config.data_dir.clone();
        let cluster = tokio::task::spawn_blocking(move || {
            let cluster = LocalCluster::start(&dir, Durability::Durable)?;
            cluster.ensure_database(DATABASE)?;
            Ok::<_, thorbis_hub::pg::ClusterError>(cluster)
        })
        .await?
        .context("starting the local Postgres cluster")?;
        tracing::info!(port = cluster.port(), dir = %cluster.dir().display(), "local Postgres started");
        let database = DatabaseConfig {
            owner_url: cluster.url(OWNER_ROLE, DATABASE),
            app_url: cluster.url(APP_ROLE, DATABASE),
            pool_size: 16,
        };
        (database, Some(cluster))
    };
    // The hub's own cluster stops however serving ends, an error before it began included.
    let served = serve_on(&config, &database, key_missing, &key_file).await;
    if let Some(cluster) = cluster {
        let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await?;
        match (&served, stopped) {
            (_, Ok(())) => {}
            // The reason serving failed matters more; the stop's failure is logged.
            (Err(_), Err(e)) => tracing::error!(error = %e, "stopping the local Postgres cluster"),
            (Ok(()), Err(e)) => return Err(e).context("stopping Postgres"),
        }
    }
    served?;
    tracing::info!("thorbis-hub stopped");
    Ok(())
}

/// Prepares the database and serves until a shutdown signal.
async fn serve_on(
    config: &Config,
    database: &DatabaseConfig,
    key_missing: bool,
    key_file: &std::path::Path,
) -> anyhow::Result<()> {
    if config.admin_token.is_none() {
        tracing::warn!("THORBIS_HUB_ADMIN_TOKEN is not set: the admin API is disabled");
    }
    // New tenants' signing keys are sealed, with a key kept outside the database: the
    // configured one, or for the hub's own cluster one generated beside it.
    let kek = if let Some(kek) = config.key_encryption_key {
        kek
    } else {
        if key_missing {
            tracing::warn!(
                path = %key_file.display(),
                "the hub's data folder has no key-encryption key: making a new one. Tenant keys \
                 sealed with a lost one will not open; restore that file from a backup"
            );
        }
        local_key_encryption_key(key_file)?
    };
    let key_wrap = Some(Arc::new(thorbis_hub::identity::KeyWrap::new(&kek)?));
    let settings = thorbis_hub::Settings {
        limits: config.limits.clone(),
        admin_token: config.admin_token.clone(),
        key_wrap,
        secure_cookies: config.tls.is_some(),
    };
    let state = thorbis_hub::prepare(database, Arc::new(SystemClock), settings)
        .await
        .context("preparing the database")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, tls = config.tls.is_some(), "thorbis-hub serving");
    announce(config, addr)?;
    run(config, listener, state).await
}

/// Serves until a shutdown signal, over TLS when a certificate is configured.
async fn run(
    config: &Config,
    listener: tokio::net::TcpListener,
    state: thorbis_hub::AppState,
) -> anyhow::Result<()> {
    if let Some(files) = &config.tls {
        let cert = std::fs::read(&files.cert)
            .with_context(|| format!("reading {}", files.cert.display()))?;
        let key = std::fs::read(&files.key)
            .with_context(|| format!("reading {}", files.key.display()))?;
        let tls = thorbis_hub::server_config(&cert, &key).context("TLS")?;
        thorbis_hub::serve_tls(listener, state, tls, shutdown_signal()).await.context("serving")
    } else {
        if !config.listen.ip().is_loopback() {
            tracing::warn!("serving plain HTTP off loopback: configure THORBIS_HUB_TLS_CERT/KEY");
        }
        thorbis_hub::serve(listener, state, shutdown_signal()).await.context("serving")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The key-encryption key file in the hub's data folder, beside its own cluster.
const KEY_FILE: &str = "key-encryption-key";

/// The key-encryption key of the hub's own cluster, from `path` (64 hex digits, mode
/// 0600), made on the first start.
fn local_key_encryption_key(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    let hex = thorbis_hub::secret::load_or_make(path, 32)
        .with_context(|| format!("the key-encryption key {}", path.display()))?;
    thorbis_hub::identity::parse_hex::<32>(&hex)
        .with_context(|| format!("{} is not 64 hex digits", path.display()))
}

/// Says on stdout, once the listener is bound, where the hub serves: `listening on
/// <url>`. Whoever started it (a script, a test, with `THORBIS_HUB_LISTEN=127.0.0.1:0`)
/// reads the line instead of guessing a port or polling for one.
fn announce(config: &Config, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::io::Write as _;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {scheme}://{addr}")?;
    out.flush()?;
    Ok(())
}
