//! LAN peers in the sync shell, with no hub: terminals of one store (enrolled with
//! credentials a test tenant signs, as a hub would) sync over real TLS on 127.0.0.1; a
//! POS's order reaches the KDS, the KDS's bump reaches the POS, a restarted KDS catches up,
//! and a terminal of another tenant is refused. Every wait is bounded.

use std::sync::Arc;

use anyhow::{Context as _, Result, ensure};
use thorbis_agent::seed;
use thorbis_agent::sync::{SharedStore, SyncHandle};
use thorbis_agent::{Enrollment, ManualClock, Store, StoreConfig};
use thorbis_domain::Command;
use thorbis_sync_protocol::{Credential, DeviceId, DeviceKey, DeviceRole};
use tokio::net::TcpListener;
use uuid::Uuid;

#[path = "support/hub.rs"]
mod hub;
#[path = "support/orders.rs"]
mod orders;

use hub::{NOW_MS, lan_config, shell_config, wait_for};
use orders::{send_order, tickets_for};

/// A tenant with one store, issuing credentials as the hub does at enrollment.
struct Tenant {
    key: DeviceKey,
    id: Uuid,
    location: Uuid,
    log: DeviceId,
}

impl Tenant {
    fn new(seed: u8) -> Result<Self> {
        Ok(Self {
            key: DeviceKey::from_seed(&[seed; 32])?,
            id: Uuid::from_bytes([seed; 16]),
            location: Uuid::from_bytes([seed.wrapping_add(1); 16]),
            log: DeviceId([seed.wrapping_add(2); 16]),
        })
    }

    /// A fresh store enrolled as device `seed` in `role`, holding the tenant's catalog.
    fn terminal(
        &self,
        dir: &tempfile::TempDir,
        clock: &Arc<ManualClock>,
        role: DeviceRole,
        seed: u8,
    ) -> Result<SharedStore> {
        let store = self.bare_terminal(dir, clock, role, seed)?;
        // The menu and staff come from the tenant's reference and staff logs, as a hub
        // would serve them: a terminal never writes them.
        let logs =
            seed::reference_log(&self.key, self.id, self.location, self.log, NOW_MS - 60_000)?;
        store.with(|s| s.apply_remote(&logs))?;
        Ok(store)
    }

    /// A fresh store enrolled as device `seed` in `role`, holding nothing yet.
    fn bare_terminal(
        &self,
        dir: &tempfile::TempDir,
        clock: &Arc<ManualClock>,
        role: DeviceRole,
        seed: u8,
    ) -> Result<SharedStore> {
        let mut store = Store::open(StoreConfig {
            clock: clock.clone(),
            id_seed: Some(u64::from(seed)),
            device_key_seed: Some([seed; 32]),
            ..StoreConfig::new(dir.path().join(format!("{seed}.db")))
        })?;
        let credential = Credential {
            device_id: DeviceId([seed; 16]),
            tenant_id: self.id,
            location_id: self.location,
            role,
            public_key: store.public_key(),
            expires_at_ms: NOW_MS + 86_400_000,
        };
        store.record_enrollment(&Enrollment {
            // No hub in these tests: nothing dials it.
            hub_url: "http://127.0.0.1:9".into(),
            device_id: credential.device_id,
            tenant_id: self.id,
            location_id: self.location,
            role: role.as_str().into(),
            tenant_public_key: self.key.public_key(),
            reference_log_id: self.log,
            credential: credential.canonical_bytes(),
            credential_signature: self.key.sign_credential(&credential),
            expires_at_ms: credential.expires_at_ms,
        })?;
        Ok(SharedStore::new(store))
    }
}

/// Starts a LAN-only shell: listening on `listener`, dialling `peers`.
fn start(
    store: &SharedStore,
    seed: u64,
    listener: Option<TcpListener>,
    peers: Vec<std::net::SocketAddr>,
) -> Result<SyncHandle> {
    let mut handle = SyncHandle::new(store.clone(), shell_config(seed));
    handle.start_lan(lan_config(listener, peers))?;
    Ok(handle)
}

fn same_events(a: &SharedStore, b: &SharedStore) -> Result<bool> {
    Ok(a.with(|s| s.version_vector())? == b.with(|s| s.version_vector())?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_between_pos_and_kds_over_the_lan_with_no_hub() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let tenant = Tenant::new(1)?;
    let pos = tenant.terminal(&dir, &clock, DeviceRole::Pos, 10)?;
    let kds = tenant.terminal(&dir, &clock, DeviceRole::Kds, 11)?;

    // The KDS listens; the POS dials it. Neither has ever seen the other's device record:
    // each trusts the other's events through the credential its peer proved.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let kds_sync = start(&kds, 11, Some(listener), vec![])?;
    let pos_sync = start(&pos, 10, None, vec![addr])?;
    let order = send_order(&pos, "4")?;
    wait_for("the tickets on the KDS", 20, || Ok(tickets_for(&kds, order)? == 2)).await?;
    wait_for("the replicas to agree", 20, || same_events(&pos, &kds)).await?;
    ensure!(pos.with(|s| s.projection_digest())? == kds.with(|s| s.projection_digest())?);

    // The other way: the kitchen bumps a ticket, the POS sees it.
    let ticket = kds.with(|s| s.kds_queue(None))?[0].ticket.ticket_id;
    kds.execute(&[Command::BumpTicket { ticket_id: ticket }])?;
    wait_for("the bump on the POS", 20, || {
        Ok(pos.with(|s| s.kds_queue(None))?.iter().all(|t| t.ticket.ticket_id != ticket))
    })
    .await?;
    wait_for("the replicas to agree again", 20, || same_events(&pos, &kds)).await?;

    // The status shows each side's peer: online, in contact, nothing waiting.
    wait_for("empty outboxes", 20, || {
        let p = pos_sync.status().peers[&format!("lan {addr}")].clone();
        let k = kds_sync.status();
        let k = k.peers.iter().find(|(name, _)| name.starts_with("lan pos ")).map(|(_, s)| s);
        Ok(p.online
            && p.outbox_depth == 0
            && p.last_contact_ms.is_some()
            && k.is_some_and(|k| k.online && k.outbox_depth == 0 && k.events_received > 0))
    })
    .await?;

    // The KDS restarts on the same address; orders taken meanwhile arrive once it is back.
    kds_sync.shutdown().await;
    let during = send_order(&pos, "5")?;
    wait_for("the POS to notice the KDS is gone", 20, || {
        let p = pos_sync.status().peers[&format!("lan {addr}")].clone();
        Ok(!p.online && p.last_error.is_some() && p.outbox_depth > 0)
    })
    .await?;
    ensure!(tickets_for(&kds, during)? == 0);
    let listener = TcpListener::bind(addr).await.context("binding the KDS's address again")?;
    let kds_sync = start(&kds, 12, Some(listener), vec![])?;
    wait_for("the order taken meanwhile on the KDS", 20, || Ok(tickets_for(&kds, during)? == 2))
        .await?;
    wait_for("the replicas to agree after the restart", 20, || same_events(&pos, &kds)).await?;
    ensure!(pos.with(|s| s.projection_digest())? == kds.with(|s| s.projection_digest())?);
    ensure!(kds.with(|s| s.verify_log())?.events == kds.with(|s| s.event_count())?);

    pos_sync.shutdown().await;
    kds_sync.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_relays_a_third_terminals_events() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let tenant = Tenant::new(1)?;
    let pos = tenant.terminal(&dir, &clock, DeviceRole::Pos, 20)?;
    let register = tenant.terminal(&dir, &clock, DeviceRole::Pos, 21)?;
    let kds = tenant.terminal(&dir, &clock, DeviceRole::Kds, 22)?;

    // POS ↔ register ↔ KDS: the POS and the KDS never meet.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let register_addr = listener.local_addr()?;
    let register_sync = start(&register, 21, Some(listener), vec![])?;
    let pos_sync = start(&pos, 20, None, vec![register_addr])?;
    let order = send_order(&pos, "8")?;
    wait_for("the POS's events on the register", 20, || same_events(&pos, &register)).await?;

    // The KDS trusts only what the tenant's device records or a connected peer vouch
    // for: the POS's events reach it through the register, verified by the POS's key, once
    // the tenant's log (here: its device record, which only the hub's log may carry) says
    // so. Without it they are not stored at all.
    let kds_sync = start(&kds, 22, None, vec![register_addr])?;
    wait_for("the KDS to refuse what it cannot verify", 20, || {
        Ok(kds_sync
            .status()
            .peers
            .values()
            .any(|p| p.last_error.as_deref().is_some_and(|e| e.contains("no key for"))))
    })
    .await?;
    ensure!(tickets_for(&kds, order)? == 0, "events of a device no one vouched for are stored");
    let pos_device = pos.with(|s| s.device_id());
    ensure!(kds.with(|s| s.chain_tip(pos_device))?.seq == 0);

    // The POS dials the KDS too: now the KDS has the POS's credential and takes the
    // POS's events, from either peer.
    drop(pos_sync);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let kds_addr = listener.local_addr()?;
    kds_sync.shutdown().await;
    let kds_sync = start(&kds, 23, Some(listener), vec![register_addr])?;
    let pos_sync = start(&pos, 24, None, vec![register_addr, kds_addr])?;
    wait_for("the tickets on the KDS", 20, || Ok(tickets_for(&kds, order)? == 2)).await?;
    wait_for("all three to agree", 20, || {
        Ok(same_events(&pos, &register)? && same_events(&register, &kds)?)
    })
    .await?;

    // And the KDS's own events reach the POS through the register as well as directly.
    let ticket = kds.with(|s| s.kds_queue(None))?[0].ticket.ticket_id;
    kds.execute(&[Command::BumpTicket { ticket_id: ticket }])?;
    wait_for("the bump everywhere", 20, || {
        Ok(same_events(&pos, &kds)? && same_events(&register, &kds)?)
    })
    .await?;
    let digest = kds.with(|s| s.projection_digest())?;
    ensure!(pos.with(|s| s.projection_digest())? == digest);
    ensure!(register.with(|s| s.projection_digest())? == digest);

    pos_sync.shutdown().await;
    kds_sync.shutdown().await;
    register_sync.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_of_another_tenant_or_store_is_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let tenant = Tenant::new(1)?;
    let kds = tenant.terminal(&dir, &clock, DeviceRole::Kds, 30)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let kds_sync = start(&kds, 30, Some(listener), vec![])?;

    let other_tenant = Tenant::new(50)?;
    let stranger = other_tenant.terminal(&dir, &clock, DeviceRole::Pos, 31)?;
    let other_store = Tenant { location: Uuid::from_bytes([99; 16]), ..Tenant::new(1)? };
    let neighbour = other_store.terminal(&dir, &clock, DeviceRole::Pos, 32)?;
    let mut shells = Vec::new();
    for (who, store) in [("another tenant", &stranger), ("another store", &neighbour)] {
        send_order(store, "1")?;
        let shell = start(store, 31, None, vec![addr])?;
        let name = format!("lan {addr}");
        wait_for(&format!("{who} to be refused"), 20, || {
            let s = shell.status().peers[&name].clone();
            Ok(!s.online && s.last_error.is_some() && shell.status().peers[&name].requests >= 2)
        })
        .await?;
        shells.push(shell);
    }
    // A terminal of the KDS's own store connects after the strangers and its order
    // arrives: the KDS was listening and storing all along. It holds that terminal's events
    // and nothing else, and lists only that peer.
    let colleague = tenant.terminal(&dir, &clock, DeviceRole::Pos, 33)?;
    let order = send_order(&colleague, "2")?;
    let colleague_sync = start(&colleague, 33, None, vec![addr])?;
    wait_for("the colleague's order on the KDS", 30, || Ok(tickets_for(&kds, order)? > 0)).await?;
    ensure!(
        kds.with(|s| s.event_count())? == colleague.with(|s| s.event_count())?,
        "the KDS stored a stranger's events"
    );
    ensure!(kds_sync.status().peers.len() == 1, "{:?}", kds_sync.status());
    for shell in &shells {
        let status = shell.status();
        let s = status.peers.values().next().context("a peer")?;
        ensure!(!s.online && s.events_received == 0, "{s:?}");
    }
    for shell in shells {
        shell.shutdown().await;
    }
    colleague_sync.shutdown().await;
    kds_sync.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technicians_laptop_gets_the_menu_over_the_lan_but_no_staff() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let tenant = Tenant::new(1)?;
    let kds = tenant.terminal(&dir, &clock, DeviceRole::Kds, 40)?;
    let laptop = tenant.bare_terminal(&dir, &clock, DeviceRole::Technician, 41)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let kds_sync = start(&kds, 40, Some(listener), vec![])?;
    let laptop_sync = start(&laptop, 41, None, vec![addr])?;
    let menu = kds.with(|s| s.chain_tip(tenant.log))?;
    wait_for(
        "the menu on the laptop",
        20,
        || Ok(laptop.with(|s| s.chain_tip(tenant.log))? == menu),
    )
    .await?;
    // The kitchen display holds the staff log and withholds it from a technician.
    let staff = thorbis_sync_protocol::staff_log(tenant.id, tenant.location);
    ensure!(kds.with(|s| s.chain_tip(staff))?.seq > 0);
    ensure!(laptop.with(|s| s.chain_tip(staff))?.seq == 0, "the laptop received staff");
    ensure!(laptop.with(|s| s.active_staff())?.is_empty(), "the laptop knows staff");
    // And the display's outbox to the laptop drains all the same.
    wait_for("an empty outbox", 20, || {
        Ok(kds_sync.status().peers.values().all(|p| p.online && p.outbox_depth == 0))
    })
    .await?;
    laptop_sync.shutdown().await;
    kds_sync.shutdown().await;
    Ok(())
}
