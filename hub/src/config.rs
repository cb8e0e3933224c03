//! The hub's configuration: parsed once at start-up into typed values, then passed down.
//! Nothing else in the crate reads the environment.

use std::net::SocketAddr;

/// Everything the hub needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; `127.0.0.1:8080` by default.
    pub listen: SocketAddr,
    /// Database connections; `None` means "run a private cluster under
    /// [`Config::data_dir`]" (the `thorbis-hub` binary's default).
    pub database: Option<DatabaseConfig>,
    /// Data folder of the private cluster.
    pub data_dir: std::path::PathBuf,
    /// The bootstrap admin API's bearer token; `None` disables `/api/v1/admin/*`.
    pub admin_token: Option<String>,
    /// Limits and windows applied to requests.
    pub limits: Limits,
    /// PEM certificate chain and key; `None` serves plain HTTP (loopback only).
    pub tls: Option<TlsFiles>,
    /// Key-encryption key for tenant signing keys at rest; `None` stores them in plain.
    pub key_encryption_key: Option<[u8; 32]>,
}

/// Where the TLS certificate chain and private key are, both PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

/// The two roles' connection strings (libpq key=value or `postgres://` URL).
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// The owner role: runs migrations, never serves requests.
    pub owner_url: String,
    /// The app role: every request runs as this role, under row-level security.
    pub app_url: String,
    /// Most connections the app pool opens.
    pub pool_size: usize,
}

/// Request limits and time windows.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body of a device's signed sync request (a push's batch), in bytes.
    pub body_limit_bytes: usize,
    /// Most events one push may carry (at most the codec's own limit).
    pub max_batch_events: usize,
    /// Most events one pull page returns.
    pub max_pull_events: usize,
    /// Longest a pull may wait for new events (long-poll), in milliseconds.
    pub max_wait_ms: u64,
    /// How far a signed request's timestamp may be from the hub's clock.
    pub request_window_ms: u64,
    /// How far ahead of the hub's clock an event's HLC stamp may be.
    pub max_clock_ahead_ms: u64,
    /// How long a device credential is valid.
    pub credential_ttl_ms: u64,
    /// How long an enrollment code is valid when the request names no expiry.
    pub enrollment_code_ttl_ms: u64,
    /// Longest a request may take, reading its body included, before it is answered 408:
    /// a client trickling its body or a stuck handler cannot hold a connection and its
    /// memory for long. Never less than a long-poll's wait plus five seconds.
    pub request_timeout_ms: u64,
    /// How long a connection may sit without sending a complete request head: a client
    /// that connects and says nothing, or keeps an idle keep-alive connection, is closed
    /// after this long.
    pub idle_timeout_ms: u64,
    /// Most connections the process holds open at once; further clients wait in the
    /// kernel's accept queue.
    pub max_connections: usize,
    /// Most connections one IP address holds open at once; more from it are closed as
    /// soon as they are accepted. A store's terminals behind one NAT share an address, so
    /// this is generous; it stops one address from taking every slot.
    pub max_connections_per_address: usize,
    /// Largest body of a request that needs no signature, session or token (console
    /// sign-in, enrollment), in bytes.
    pub anonymous_body_limit_bytes: usize,
    /// Largest body of a console or admin request, in bytes (reference-data publications
    /// and imports included).
    pub console_body_limit_bytes: usize,
    /// Most bytes of events the hub stores for one device; a push past it is refused with
    /// 507 and raises an alert, so one device cannot fill the tenant's database.
    pub device_quota_bytes: u64,
    /// Most bytes of blobs (work orders' photos, drawn signatures and files) the hub keeps
    /// for one tenant; an upload past it is refused with 507.
    pub tenant_blob_quota_bytes: u64,
}

impl Limits {
    /// [`Limits::request_timeout_ms`], raised to cover a long-poll's wait.
    #[must_use]
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.request_timeout_ms.max(self.max_wait_ms.saturating_add(5_000)),
        )
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 16 * 1024 * 1024,
            max_batch_events: thorbis_sync_protocol::MAX_BATCH_EVENTS,
            max_pull_events: 1_000,
            max_wait_ms: 30_000,
            request_window_ms: 5 * 60 * 1000,
            max_clock_ahead_ms: 5 * 60 * 1000,
            credential_ttl_ms: 365 * 24 * 3600 * 1000,
            enrollment_code_ttl_ms: 24 * 3600 * 1000,
            request_timeout_ms: 60_000,
            idle_timeout_ms: 30_000,
            max_connections: 10_000,
            max_connections_per_address: 512,
            anonymous_body_limit_bytes: 16 * 1024,
            console_body_limit_bytes: 4 * 1024 * 1024,
            device_quota_bytes: 4 * 1024 * 1024 * 1024,
            tenant_blob_quota_bytes: 50 * 1024 * 1024 * 1024,
        }
    }
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl Config {
    /// Reads `THORBIS_HUB_*` variables through `get` (the environment, in `main`):
    /// `LISTEN`, `DATABASE_URL` + `APP_DATABASE_URL` (both or neither), `POOL_SIZE`,
    /// `DATA_DIR`, `ADMIN_TOKEN`, `BODY_LIMIT_BYTES`, `MAX_BATCH_EVENTS`, `MAX_CONNECTIONS`,
    /// `MAX_CONNECTIONS_PER_ADDRESS`, `DEVICE_QUOTA_BYTES`, `TENANT_BLOB_QUOTA_BYTES`, `TLS_CERT` +
    /// `TLS_KEY` (both or neither), `KEY_ENCRYPTION_KEY` (64 hex digits).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            value: Option<String>,
            default: T,
        ) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.map_or(Ok(default), |v| {
                v.parse().map_err(|e: T::Err| ConfigError { name, reason: e.to_string() })
            })
        }
        let mut limits = Limits::default();
        // Each limit from its variable, the default when unset.
        macro_rules! limit {
            ($($field:ident: $name:literal),* $(,)?) => {
                $(limits.$field = parse($name, get($name), limits.$field)?;)*
            };
        }
        limit! {
            body_limit_bytes: "THORBIS_HUB_BODY_LIMIT_BYTES",
            max_batch_events: "THORBIS_HUB_MAX_BATCH_EVENTS",
            max_connections: "THORBIS_HUB_MAX_CONNECTIONS",
            max_connections_per_address: "THORBIS_HUB_MAX_CONNECTIONS_PER_ADDRESS",
            device_quota_bytes: "THORBIS_HUB_DEVICE_QUOTA_BYTES",
            tenant_blob_quota_bytes: "THORBIS_HUB_TENANT_BLOB_QUOTA_BYTES",
        }
        limits.max_batch_events =
            limits.max_batch_events.min(thorbis_sync_protocol::MAX_BATCH_EVENTS);
        let database = match (get("THORBIS_HUB_DATABASE_URL"), get("THORBIS_HUB_APP_DATABASE_URL"))
        {
            (Some(owner_url), Some(app_url)) => Some(DatabaseConfig {
                owner_url,
                app_url,
                pool_size: parse("THORBIS_HUB_POOL_SIZE", get("THORBIS_HUB_POOL_SIZE"), 16)?,
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError {
                    name: "THORBIS_HUB_DATABASE_URL",
                    reason: "set both THORBIS_HUB_DATABASE_URL (owner role) and \
                             THORBIS_HUB_APP_DATABASE_URL (app role), or neither"
                        .into(),
                });
            }
        };
        let tls = match (get("THORBIS_HUB_TLS_CERT"), get("THORBIS_HUB_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.into(), key: key.into() }),
            (None, None) => None,
            _ => {
                return Err(ConfigError {
                    name: "THORBIS_HUB_TLS_CERT",
                    reason: "set both THORBIS_HUB_TLS_CERT and THORBIS_HUB_TLS_KEY, or neither"
                        .into(),
                });
            }
        };
        let key_encryption_key = match get("THORBIS_HUB_KEY_ENCRYPTION_KEY") {
            Some(hex) => {
                Some(crate::identity::parse_hex::<32>(&hex).ok_or_else(|| ConfigError {
                    name: "THORBIS_HUB_KEY_ENCRYPTION_KEY",
                    reason: "expected 64 hex digits (a 32-byte AES-256 key)".into(),
                })?)
            }
            None => None,
        };
        Ok(Self {
            tls,
            key_encryption_key,
            listen: parse(
                "THORBIS_HUB_LISTEN",
                get("THORBIS_HUB_LISTEN"),
                SocketAddr::from(([127, 0, 0, 1], 8080)),
            )?,
            database,
            data_dir: get("THORBIS_HUB_DATA_DIR")
                .unwrap_or_else(|| ".thorbis-hub-data".into())
                .into(),
            admin_token: get("THORBIS_HUB_ADMIN_TOKEN").filter(|t| !t.is_empty()),
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).into()))
    }

    #[test]
    fn limits_come_from_their_variables_or_their_defaults() {
        let defaults = config(&[]).unwrap().limits;
        assert_eq!(defaults.max_connections, Limits::default().max_connections);
        let set = config(&[
            ("THORBIS_HUB_MAX_CONNECTIONS", "64"),
            ("THORBIS_HUB_MAX_CONNECTIONS_PER_ADDRESS", "8"),
            ("THORBIS_HUB_DEVICE_QUOTA_BYTES", "1048576"),
            ("THORBIS_HUB_MAX_BATCH_EVENTS", "999999999"),
        ])
        .unwrap()
        .limits;
        assert_eq!((set.max_connections, set.max_connections_per_address), (64, 8));
        assert_eq!(set.device_quota_bytes, 1_048_576);
        assert_eq!(set.max_batch_events, thorbis_sync_protocol::MAX_BATCH_EVENTS, "capped");
        let bad = config(&[("THORBIS_HUB_MAX_CONNECTIONS", "lots")]).unwrap_err();
        assert_eq!(bad.name, "THORBIS_HUB_MAX_CONNECTIONS");
    }
}
