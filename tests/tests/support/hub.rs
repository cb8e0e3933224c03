//! A real hub for the agent's tests and benches: a throwaway Postgres (the hub's test
//! harness), the hub in this process on 127.0.0.1, its admin API (tenants, enrollment codes),
//! and terminals with real stores enrolled with one-time codes and running the sync shell.
//! Also the sync shell's and LAN transport's test settings (short retries) and the bounded
//! wait, which the LAN tests share. Every wait is bounded.

// Shared by tests and benches through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};
use thorbis_agent::sync::hub::{enroll, http_client_trusting};
use thorbis_agent::sync::lan::LanConfig;
use thorbis_agent::sync::{RetryPolicy, SharedStore, ShellConfig, SyncHandle};
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_hub::identity::KeyWrap;
use thorbis_hub::testing::TestDatabase;
use thorbis_hub::{AppState, Limits, Settings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

pub const NOW_MS: u64 = 1_790_000_000_000;
pub const ADMIN_TOKEN: &str = "agent-sync-test-token";
pub const HUB_CERT: &[u8] = include_bytes!("../../../hub/tests/tls/cert.pem");
pub const HUB_KEY: &[u8] = include_bytes!("../../../hub/tests/tls/key.pem");

/// One hub process over a database.
pub struct Hub {
    pub addr: std::net::SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Hub {
    pub async fn start(db: TestDatabase, clock: Arc<ManualClock>, addr: &str) -> Result<Self> {
        Self::start_serving(db, clock, addr, false).await
    }

    /// The hub serving TLS with the hub tests' self-signed certificate for 127.0.0.1.
    pub async fn start_tls(db: TestDatabase, clock: Arc<ManualClock>) -> Result<Self> {
        Self::start_serving(db, clock, "127.0.0.1:0", true).await
    }

    async fn start_serving(
        db: TestDatabase,
        clock: Arc<ManualClock>,
        addr: &str,
        tls: bool,
    ) -> Result<Self> {
        let state: AppState = thorbis_hub::prepare(
            &db.config,
            clock,
            Settings {
                limits: Limits { max_wait_ms: 2_000, ..Limits::default() },
                admin_token: Some(ADMIN_TOKEN.into()),
                key_wrap: Some(Arc::new(KeyWrap::new(&[0x4b; 32])?)),
                secure_cookies: false,
            },
        )
        .await?;
        // Binding the address a stopped hub used may need a moment.
        let mut listener = None;
        for _ in 0..100 {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let listener = listener.with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let stopped = async {
            let _ = rx.await;
        };
        let server = if tls {
            let config = thorbis_hub::server_config(HUB_CERT, HUB_KEY)?;
            tokio::spawn(thorbis_hub::serve_tls(listener, state, config, stopped))
        } else {
            tokio::spawn(thorbis_hub::serve(listener, state, stopped))
        };
        let scheme = if tls { "https" } else { "http" };
        Ok(Self {
            addr,
            base: format!("{scheme}://{addr}"),
            http: http_client_trusting(Some(HUB_CERT))?,
            db,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    pub async fn stop(mut self) -> Result<TestDatabase> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            // Graceful: in-flight long-polls finish within the hub's wait cap.
            tokio::time::timeout(Duration::from_secs(20), server).await???;
        }
        Ok(self.db.clone())
    }

    pub async fn admin(&self, path: &str, body: &Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    /// A `GET` of the admin API, as JSON.
    pub async fn admin_get(&self, path: &str) -> Result<Value> {
        let response =
            self.http.get(format!("{}{path}", self.base)).bearer_auth(ADMIN_TOKEN).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    /// A tenant with one location and the demo menu and staff, published on its
    /// reference log as a console would (a terminal never writes them): (tenant, location).
    pub async fn tenant(&self) -> Result<(Uuid, Uuid)> {
        let tenant = self.admin("/api/v1/admin/tenants", &json!({ "name": "Bistro" })).await?;
        let tenant: Uuid = serde_json::from_value(tenant["tenant_id"].clone())?;
        let menu = thorbis_agent::seed::catalog_publication()?;
        self.admin(&format!("/api/v1/admin/tenants/{tenant}/reference-events"), &menu).await?;
        let location = self
            .admin(&format!("/api/v1/admin/tenants/{tenant}/locations"), &json!({ "name": "Main" }))
            .await?;
        Ok((tenant, serde_json::from_value(location["location_id"].clone())?))
    }

    pub async fn code(&self, tenant: Uuid, location: Uuid, role: &str) -> Result<String> {
        let body = self
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/enrollment-codes"),
                &json!({ "location_id": location, "role": role, "ttl_ms": 600_000 }),
            )
            .await?;
        Ok(body["code"].as_str().context("code")?.to_owned())
    }
}

/// A terminal: its store, shared, and its running sync shell.
pub struct Agent {
    pub store: SharedStore,
    pub sync: Option<SyncHandle>,
}

pub fn shell_config(seed: u64) -> ShellConfig {
    ShellConfig {
        retry: RetryPolicy { base_ms: 20, max_ms: 400, credential_retry_ms: 2_000 },
        long_poll: Duration::from_secs(1),
        seed,
        ..ShellConfig::default()
    }
}

/// LAN transport settings for tests: listening on `listener`, dialling `peers`.
pub fn lan_config(listener: Option<TcpListener>, peers: Vec<std::net::SocketAddr>) -> LanConfig {
    LanConfig {
        listener,
        peers,
        retry: RetryPolicy { base_ms: 20, max_ms: 200, credential_retry_ms: 2_000 },
        keepalive: Duration::from_millis(500),
        handshake_timeout: Duration::from_secs(2),
    }
}

impl Agent {
    pub async fn enroll(
        hub: &Hub,
        dir: &tempfile::TempDir,
        clock: &Arc<ManualClock>,
        tenant: (Uuid, Uuid),
        role: &str,
        seed: u8,
    ) -> Result<Self> {
        let mut agent = Self::enroll_offline(hub, dir, clock, tenant, role, seed).await?;
        agent.go_online(u64::from(seed))?;
        Ok(agent)
    }

    /// Enrolled, with no sync shell running: the terminal trades offline until
    /// [`Self::go_online`].
    pub async fn enroll_offline(
        hub: &Hub,
        dir: &tempfile::TempDir,
        clock: &Arc<ManualClock>,
        tenant: (Uuid, Uuid),
        role: &str,
        seed: u8,
    ) -> Result<Self> {
        let store = Store::open(StoreConfig {
            clock: clock.clone(),
            id_seed: Some(u64::from(seed)),
            device_key_seed: Some([seed; 32]),
            ..StoreConfig::new(dir.path().join(format!("{role}-{seed}.db")))
        })?;
        let store = SharedStore::new(store);
        let code = hub.code(tenant.0, tenant.1, role).await?;
        let client = http_client_trusting(Some(HUB_CERT))?;
        let enrollment = enroll(&store, &client, &hub.base, &code).await?;
        ensure!(enrollment.location_id == tenant.1 && enrollment.role == role);
        ensure!(store.with(|s| s.device_id()) == enrollment.device_id, "the hub's id is taken");
        let lan = store.with(|s| s.lan_identity())?.context("a LAN identity once enrolled")?;
        ensure!(lan.credential.verify(&lan.tenant_key, &lan.credential_signature));
        ensure!(lan.credential.device_id == enrollment.device_id);
        Ok(Self { store, sync: None })
    }

    /// Starts the sync shell with the hub.
    pub fn go_online(&mut self, seed: u64) -> Result<()> {
        let client = http_client_trusting(Some(HUB_CERT))?;
        self.sync =
            Some(SyncHandle::start_hub_with(self.store.clone(), shell_config(seed), None, client)?);
        Ok(())
    }

    /// Stops the sync shell: the terminal is offline until [`Self::go_online`].
    pub async fn go_offline(&mut self) {
        if let Some(sync) = self.sync.take() {
            sync.shutdown().await;
        }
    }

    pub fn status(&self) -> thorbis_agent::sync::PeerStatus {
        self.sync.as_ref().map(|s| s.status().peers["hub"].clone()).unwrap_or_default()
    }

    pub async fn restart_sync(&mut self) -> Result<()> {
        self.go_offline().await;
        self.go_online(9)
    }
}

/// Polls `check` every 20 ms for up to `secs` seconds.
/// A one-hour job from now made through `hub`'s admin API and assigned to `laptop`,
/// once the laptop holds it; its id.
pub async fn dispatched_job(
    hub: &Hub,
    tenant: Uuid,
    laptop: &Agent,
    title: &str,
    currency: &str,
) -> Result<Uuid> {
    let admin = format!("/api/v1/admin/tenants/{tenant}/work-orders");
    let job = hub
        .admin(
            &admin,
            &json!({ "title": title, "customer": "Grace Hopper", "site_address": "2 Dock Road",
                     "window_start_ms": NOW_MS, "window_end_ms": NOW_MS + 3_600_000,
                     "currency": currency }),
        )
        .await?;
    let job: Uuid = serde_json::from_value(job["work_order_id"].clone())?;
    let technician = Uuid::from_bytes(laptop.store.with(|s| s.device_id()).0);
    hub.admin(&format!("{admin}/{job}/assign"), &json!({ "technician": technician })).await?;
    let store = laptop.store.clone();
    wait_for("the job on the laptop", 30, move || {
        let id = thorbis_domain::ids::WorkOrderId(job);
        Ok(store.with(|s| s.work_order(id))?.is_some())
    })
    .await?;
    Ok(job)
}

pub async fn wait_for(
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    for _ in 0..secs * 50 {
        if check()? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("timed out after {secs} s waiting for {what}")
}
