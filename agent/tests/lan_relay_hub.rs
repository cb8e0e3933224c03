//! A terminal with no internet reaches the hub through a LAN peer that has it: the register
//! syncs with a real hub (throwaway Postgres, the hub on 127.0.0.1:0) and with the POS over
//! the LAN; the POS talks to no hub at all. The POS's events reach the hub through the
//! register (verified there by the POS's signature), and from the hub a KDS that knows only
//! the hub. And a terminal the tenant revokes loses its live LAN connection once its peer
//! hears of the revocation from the hub. Every wait is bounded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};
use thorbis_agent::seed;
use thorbis_agent::sync::hub::{enroll, http_client};
use thorbis_agent::sync::lan::LanConfig;
use thorbis_agent::sync::{RetryPolicy, SharedStore, ShellConfig, SyncHandle};
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_domain::Command;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{LineId, OrderId};
use thorbis_domain::{Currency, Qty};
use thorbis_hub::identity::KeyWrap;
use thorbis_hub::testing::fresh_database;
use thorbis_hub::{AppState, Limits, Settings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

const NOW_MS: u64 = 1_790_000_000_000;
const ADMIN_TOKEN: &str = "agent-lan-relay-test-token";

fn shell_config(seed: u64) -> ShellConfig {
    ShellConfig {
        retry: RetryPolicy { base_ms: 20, max_ms: 400, credential_retry_ms: 2_000 },
        long_poll: Duration::from_secs(1),
        seed,
        ..ShellConfig::default()
    }
}

fn lan_config(listener: Option<TcpListener>, peers: Vec<std::net::SocketAddr>) -> LanConfig {
    LanConfig {
        listener,
        peers,
        retry: RetryPolicy { base_ms: 20, max_ms: 200, credential_retry_ms: 2_000 },
        keepalive: Duration::from_millis(500),
        handshake_timeout: Duration::from_secs(2),
    }
}

/// Polls `check` every 20 ms for up to `secs` seconds.
async fn wait_for(what: &str, secs: u64, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    for _ in 0..secs * 50 {
        if check()? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("timed out after {secs} s waiting for {what}")
}

async fn admin(http: &reqwest::Client, base: &str, path: &str, body: &Value) -> Result<Value> {
    let response =
        http.post(format!("{base}{path}")).bearer_auth(ADMIN_TOKEN).json(body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.is_success(), "{path}: {status} {body}");
    Ok(body)
}

/// A hub on a fresh database, serving on 127.0.0.1:0, with a tenant and one location.
struct Hub {
    base: String,
    http: reqwest::Client,
    tenant: Uuid,
    location: Uuid,
    clock: Arc<ManualClock>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Hub {
    async fn start() -> Result<Self> {
        let clock = Arc::new(ManualClock::new(NOW_MS));
        let db = tokio::task::spawn_blocking(fresh_database).await?;
        let state: AppState = thorbis_hub::prepare(
            &db.config,
            clock.clone(),
            Settings {
                limits: Limits { max_wait_ms: 2_000, ..Limits::default() },
                admin_token: Some(ADMIN_TOKEN.into()),
                key_wrap: Some(Arc::new(KeyWrap::new(&[0x4b; 32])?)),
                secure_cookies: false,
            },
        )
        .await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(thorbis_hub::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let http = http_client()?;
        let tenant =
            admin(&http, &base, "/api/v1/admin/tenants", &json!({ "name": "Bistro" })).await?;
        let tenant: Uuid = serde_json::from_value(tenant["tenant_id"].clone())?;
        let location = admin(
            &http,
            &base,
            &format!("/api/v1/admin/tenants/{tenant}/locations"),
            &json!({ "name": "Main" }),
        )
        .await?;
        let location: Uuid = serde_json::from_value(location["location_id"].clone())?;
        Ok(Self { base, http, tenant, location, clock, stop, server })
    }

    /// Fresh stores enrolled in `roles`, seeded by their index from `first_seed`.
    async fn enroll(
        &self,
        dir: &tempfile::TempDir,
        roles: &[&str],
        first_seed: u8,
    ) -> Result<Vec<SharedStore>> {
        let mut stores = Vec::new();
        for (seed, role) in (first_seed..).zip(roles) {
            let store = SharedStore::new(Store::open(StoreConfig {
                clock: self.clock.clone(),
                id_seed: Some(u64::from(seed)),
                device_key_seed: Some([seed; 32]),
                ..StoreConfig::new(dir.path().join(format!("{seed}.db")))
            })?);
            let code = admin(
                &self.http,
                &self.base,
                &format!("/api/v1/admin/tenants/{}/enrollment-codes", self.tenant),
                &json!({ "location_id": self.location, "role": role, "ttl_ms": 600_000 }),
            )
            .await?;
            let code = code["code"].as_str().context("code")?;
            enroll(&store, &self.http, &self.base, code).await?;
            stores.push(store);
        }
        Ok(stores)
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.server).await???;
        Ok(())
    }
}

fn send_order(pos: &SharedStore, table: &str) -> Result<OrderId> {
    let (order_id, burger) = pos.with(|s| (OrderId(s.new_id()), LineId(s.new_id())));
    pos.execute(&[
        Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some(table.into()),
            guests: Some(1),
            staff: None,
        },
        seed::line(order_id, burger, seed::BURGER, Qty::ONE, vec![seed::MEDIUM_RARE]),
        Command::SendToKitchen { order_id },
    ])?;
    Ok(order_id)
}

fn has_order(store: &SharedStore, order: OrderId) -> Result<bool> {
    Ok(store.with(|s| s.kds_queue(None))?.iter().any(|t| t.order_id == order))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_without_internet_reaches_the_hub_through_a_lan_peer() -> Result<()> {
    let hub = Hub::start().await?;
    let dir = tempfile::tempdir()?;
    let [pos, register, kds] =
        <[SharedStore; 3]>::try_from(hub.enroll(&dir, &["pos", "pos", "kds"], 41).await?)
            .expect("three stores");

    // The register: the hub and the LAN. The POS: the LAN only (its hub is unreachable).
    // The KDS: the hub only.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let register_addr = listener.local_addr()?;
    let mut register_sync = SyncHandle::start_hub(register.clone(), shell_config(42), None)?;
    register_sync.start_lan(lan_config(Some(listener), vec![]))?;
    let mut pos_sync = SyncHandle::new(pos.clone(), shell_config(41));
    pos_sync.start_lan(lan_config(None, vec![register_addr]))?;
    let kds_sync = SyncHandle::start_hub(kds.clone(), shell_config(43), None)?;

    pos.execute(&seed::catalog())?;
    let order_id = send_order(&pos, "3")?;

    wait_for("the POS's order on the hub-only KDS", 30, || has_order(&kds, order_id)).await?;
    let pos_device = pos.with(|s| s.device_id());
    let pos_tip = pos.with(|s| s.tip());
    wait_for("the POS's whole chain on the KDS", 30, || {
        Ok(kds.with(|s| s.chain_tip(pos_device))? == pos_tip)
    })
    .await?;
    // The register's outbox to the hub drains: the hub holds the POS's events too.
    wait_for("the register's outbox to the hub to drain", 30, || {
        let status = register_sync.status();
        Ok(status.peers["hub"].online && status.peers["hub"].outbox_depth == 0)
    })
    .await?;
    ensure!(pos_sync.status().peers.keys().all(|name| name.starts_with("lan ")));
    wait_for("the POS and the KDS to hold the same events", 30, || {
        Ok(pos.with(|s| s.version_vector())? == kds.with(|s| s.version_vector())?)
    })
    .await?;
    ensure!(pos.with(|s| s.projection_digest())? == kds.with(|s| s.projection_digest())?);

    pos_sync.shutdown().await;
    register_sync.shutdown().await;
    kds_sync.shutdown().await;
    hub.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_terminal_loses_its_live_lan_connection() -> Result<()> {
    let hub = Hub::start().await?;
    let dir = tempfile::tempdir()?;
    let [pos, register] =
        <[SharedStore; 2]>::try_from(hub.enroll(&dir, &["pos", "pos"], 51).await?)
            .expect("two stores");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let register_addr = listener.local_addr()?;
    let mut register_sync = SyncHandle::start_hub(register.clone(), shell_config(52), None)?;
    register_sync.start_lan(lan_config(Some(listener), vec![]))?;
    let mut pos_sync = SyncHandle::new(pos.clone(), shell_config(51));
    pos_sync.start_lan(lan_config(None, vec![register_addr]))?;
    pos.execute(&seed::catalog())?;
    let first = send_order(&pos, "1")?;
    wait_for("the first order on the register", 30, || has_order(&register, first)).await?;

    // The tenant revokes the POS; the register learns it from the hub and drops the live
    // connection within a keepalive period, and refuses the POS when it dials again.
    let device = pos.with(|s| s.device_id());
    admin(
        &hub.http,
        &hub.base,
        &format!("/api/v1/admin/tenants/{}/devices/{device}/revoke", hub.tenant),
        &json!({}),
    )
    .await?;
    wait_for("the register to drop the POS", 30, || {
        let status = register_sync.status();
        Ok(status.peers.iter().any(|(name, s)| {
            name.starts_with("lan pos ")
                && !s.online
                && s.last_error.as_deref().is_some_and(|e| e.contains("revoked"))
        }))
    })
    .await?;
    let second = send_order(&pos, "2")?;
    wait_for("the POS to be refused", 30, || {
        let status = pos_sync.status();
        let s = &status.peers[&format!("lan {register_addr}")];
        Ok(!s.online && s.requests >= 2)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(!has_order(&register, second)?, "a revoked terminal's new order got through");

    pos_sync.shutdown().await;
    register_sync.shutdown().await;
    hub.stop().await
}
