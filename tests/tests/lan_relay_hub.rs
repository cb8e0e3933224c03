//! A terminal with no internet reaches the hub through a LAN peer that has it: the register
//! syncs with a real hub (throwaway Postgres, the hub on 127.0.0.1:0) and with the POS over
//! the LAN; the POS talks to no hub at all. The POS's events reach the hub through the
//! register (verified there by the POS's signature), and from the hub a KDS that knows only
//! the hub. And a terminal the tenant revokes loses its live LAN connection once its peer
//! hears of the revocation from the hub. Every wait is bounded.

use std::sync::Arc;

use anyhow::{Result, ensure};
use serde_json::json;
use thorbis_agent::ManualClock;
use thorbis_agent::sync::{SharedStore, SyncHandle};
use thorbis_domain::ids::OrderId;
use thorbis_hub::testing::fresh_database;
use tokio::net::TcpListener;
use uuid::Uuid;

#[path = "support/hub.rs"]
mod hub;
#[path = "support/orders.rs"]
mod orders;

use hub::{Agent, Hub, NOW_MS, lan_config, shell_config, wait_for};
use orders::{has_menu, send_order, tickets_for};

/// A hub on a fresh database, serving on 127.0.0.1:0, with a tenant and one location.
async fn start_hub() -> Result<(Hub, Arc<ManualClock>, (Uuid, Uuid))> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    Ok((hub, clock, tenant))
}

/// Fresh stores enrolled in `roles`, seeded by their index from `first_seed`, with no sync
/// shell running yet.
async fn enroll_all(
    hub: &Hub,
    dir: &tempfile::TempDir,
    clock: &Arc<ManualClock>,
    tenant: (Uuid, Uuid),
    roles: &[&str],
    first_seed: u8,
) -> Result<Vec<SharedStore>> {
    let mut stores = Vec::new();
    for (seed, role) in (first_seed..).zip(roles) {
        stores.push(Agent::enroll_offline(hub, dir, clock, tenant, role, seed).await?.store);
    }
    Ok(stores)
}

fn has_order(store: &SharedStore, order: OrderId) -> Result<bool> {
    Ok(tickets_for(store, order)? > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_without_internet_reaches_the_hub_through_a_lan_peer() -> Result<()> {
    let (hub, clock, tenant) = start_hub().await?;
    let dir = tempfile::tempdir()?;
    let [pos, register, kds] = <[SharedStore; 3]>::try_from(
        enroll_all(&hub, &dir, &clock, tenant, &["pos", "pos", "kds"], 41).await?,
    )
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

    // The menu reaches the POS from the hub through the register.
    wait_for("the menu on the POS", 30, || has_menu(&pos)).await?;
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
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_terminal_loses_its_live_lan_connection() -> Result<()> {
    let (hub, clock, tenant) = start_hub().await?;
    let dir = tempfile::tempdir()?;
    let [pos, register] = <[SharedStore; 2]>::try_from(
        enroll_all(&hub, &dir, &clock, tenant, &["pos", "pos"], 51).await?,
    )
    .expect("two stores");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let register_addr = listener.local_addr()?;
    let mut register_sync = SyncHandle::start_hub(register.clone(), shell_config(52), None)?;
    register_sync.start_lan(lan_config(Some(listener), vec![]))?;
    let mut pos_sync = SyncHandle::new(pos.clone(), shell_config(51));
    pos_sync.start_lan(lan_config(None, vec![register_addr]))?;
    wait_for("the menu on the POS", 30, || has_menu(&pos)).await?;
    let first = send_order(&pos, "1")?;
    wait_for("the first order on the register", 30, || has_order(&register, first)).await?;

    // The tenant revokes the POS; the register learns it from the hub and drops the live
    // connection within a keepalive period, and refuses the POS when it dials again.
    let device = pos.with(|s| s.device_id());
    hub.admin(&format!("/api/v1/admin/tenants/{}/devices/{device}/revoke", tenant.0), &json!({}))
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
    let peer = format!("lan {register_addr}");
    let tried_before = pos_sync.status().peers[&peer].requests;
    let second = send_order(&pos, "2")?;
    // Two more dials, both made with the new order to offer, both refused: had the
    // register let the POS in, the order would have crossed on one of them.
    wait_for("the POS to be refused", 30, || {
        let s = pos_sync.status().peers[&peer].clone();
        Ok(!s.online && s.requests >= tried_before + 2)
    })
    .await?;
    ensure!(!has_order(&register, second)?, "a revoked terminal's new order got through");

    pos_sync.shutdown().await;
    register_sync.shutdown().await;
    hub.stop().await?;
    Ok(())
}
