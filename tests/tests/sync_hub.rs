//! Agents syncing through a real hub: a throwaway Postgres (the hub's test harness), the hub
//! on 127.0.0.1:0, agents with real stores enrolled with one-time codes and running the sync
//! shell. Every wait is bounded.

#![allow(clippy::print_stdout)] // Prints a METRIC line (latency is reported, never asserted).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use thorbis_agent::sync::hub::enroll;
use thorbis_agent::sync::{CredentialState, SharedStore};
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_hub::testing::fresh_database;
use thorbis_sync_protocol::sync::EventSource;

#[path = "support/bins.rs"]
mod bins;
#[path = "support/hub.rs"]
mod hub;
#[path = "support/orders.rs"]
mod orders;

use hub::{Agent, Hub, NOW_MS, wait_for};
use orders::{has_menu, open_check, send_order, tickets_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_sent_on_the_pos_reaches_the_kds_and_replays_change_nothing() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let pos = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 1).await?;
    let mut kds = Agent::enroll(&hub, &dir, &clock, tenant, "kds", 2).await?;
    wait_for("the menu from the hub", 20, || has_menu(&pos.store)).await?;

    let order = send_order(&pos.store, "12")?;
    let sent = std::time::Instant::now();
    wait_for("the tickets on the KDS", 20, || Ok(tickets_for(&kds.store, order)? == 2)).await?;
    println!("METRIC agent_pos_to_kds_ms {}", sent.elapsed().as_millis());

    // Both hold the same events (the POS's, the tenant's device records, none of the KDS's
    // own): the same projections.
    let (pos_store, kds_store) = (pos.store.clone(), kds.store.clone());
    wait_for("the replicas to agree", 20, || {
        Ok(pos_store.with(|s| s.version_vector())? == kds_store.with(|s| s.version_vector())?)
    })
    .await?;
    let digest = kds.store.with(|s| s.projection_digest())?;
    ensure!(digest == pos.store.with(|s| s.projection_digest())?);
    wait_for("the POS's outbox to drain", 20, || Ok(pos.status().outbox_depth == 0)).await?;
    // The status is updated just after the store: wait for it, as a screen would.
    wait_for("the KDS's status to count what it received", 20, || {
        let status = kds.status();
        Ok(status.events_received > 0 && status.last_contact_ms.is_some())
    })
    .await?;
    let status = kds.status();
    ensure!(status.online && status.credential == CredentialState::Accepted, "{status:?}");

    // Replays: the POS's events again, straight into the store and through a restarted
    // shell (a fresh Hello, the hub sends from the KDS's vector) change nothing.
    let pos_device = pos.store.with(|s| s.device_id());
    let events = kds.store.with(|s| EventSource::events_after(&*s, pos_device, 0, 100_000));
    let count = kds.store.with(|s| s.event_count())?;
    let applied = kds.store.with(|s| s.apply_remote(&events))?;
    ensure!(applied.stored == 0 && applied.duplicates == events.len(), "{applied:?}");
    kds.restart_sync().await?;
    wait_for("the restarted shell online", 20, || Ok(kds.status().online)).await?;
    ensure!(kds.store.with(|s| s.projection_digest())? == digest);
    ensure!(kds.store.with(|s| s.event_count())? == count);
    ensure!(kds.store.with(|s| s.tip().seq) == 0, "the KDS wrote nothing of its own");
    ensure!(kds.store.with(|s| s.verify_log())?.events == count);

    drop(pos);
    drop(kds);
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_reconnect_after_the_hub_restarts() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let pos = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 3).await?;
    let kds = Agent::enroll(&hub, &dir, &clock, tenant, "kds", 4).await?;
    wait_for("the menu from the hub", 20, || has_menu(&pos.store)).await?;
    let first = send_order(&pos.store, "1")?;
    wait_for("the first order on the KDS", 20, || Ok(tickets_for(&kds.store, first)? == 2)).await?;

    // The hub goes away; the POS keeps trading.
    let addr = hub.addr;
    let db = hub.stop().await?;
    let second = send_order(&pos.store, "2")?;
    wait_for("the POS offline with the order in its outbox", 20, || {
        let status = pos.status();
        Ok(!status.online && status.last_error.is_some() && status.outbox_depth > 0)
    })
    .await?;
    ensure!(tickets_for(&kds.store, second)? == 0);

    // A new hub process on the same database and address: both reconnect and catch up.
    let hub = Hub::start(db, clock.clone(), &addr.to_string()).await?;
    wait_for("the second order on the KDS", 30, || Ok(tickets_for(&kds.store, second)? == 2))
        .await?;
    wait_for("both online", 20, || Ok(pos.status().online && kds.status().online)).await?;
    wait_for("the outbox to drain", 20, || Ok(pos.status().outbox_depth == 0)).await?;
    let pos_device = pos.store.with(|s| s.device_id());
    let pos_tip = pos.store.with(|s| s.tip());
    ensure!(
        kds.store.with(|s| s.chain_tip(pos_device))? == pos_tip,
        "the KDS holds the whole chain"
    );
    drop(pos);
    drop(kds);
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_terminal_is_told_so_and_retries_slowly() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let pos = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 5).await?;
    wait_for("online", 20, || Ok(pos.status().online)).await?;

    let device = pos.store.with(|s| s.device_id());
    hub.admin(&format!("/api/v1/admin/tenants/{}/devices/{device}/revoke", tenant.0), &json!({}))
        .await?;
    open_check(&pos.store, "1")?;
    wait_for("the credential rejected", 20, || {
        Ok(matches!(pos.status().credential, CredentialState::Rejected { .. }))
    })
    .await?;
    let status = pos.status();
    ensure!(!status.online && status.last_error.is_some(), "{status:?}");

    // It keeps trying, at the credential pace (a jittered 1-2 s here), not in a loop: two
    // more requests span at least one whole pause. (The pause itself is the pure retry
    // policy's, tested in `sync::backoff`.)
    let before = pos.status().requests;
    let start = std::time::Instant::now();
    wait_for("two more tries", 30, || Ok(pos.status().requests >= before + 2)).await?;
    let took = start.elapsed();
    ensure!(took >= Duration::from_secs(1), "two retries {took:?} apart: not at credential pace");
    ensure!(matches!(pos.status().credential, CredentialState::Rejected { .. }));
    drop(pos);
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_enrolls_and_runs() -> Result<()> {
    // The binary reads the system clock: the hub's clock starts at the same time, so signed
    // requests fall inside its window.
    use thorbis_agent::Clock as _;
    let clock = Arc::new(ManualClock::new(thorbis_agent::SystemClock.now_ms()));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let code = hub.code(tenant.0, tenant.1, "pos").await?;
    let dir = tempfile::tempdir()?;
    // A folder the agent makes itself (0700): it refuses one others can read.
    let data = dir.path().join("agent").to_str().context("temp path")?.to_owned();
    let agent_bin = bins::binary("thorbis-agent")?;
    let agent = |args: Vec<String>| {
        let agent_bin = agent_bin.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(agent_bin).args(args).env("RUST_LOG", "warn").output()
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let out =
        agent(args(&["enroll", "--hub", &hub.base, "--code", &code, "--data", &data])).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.contains("Enrolled"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The code is single use.
    let again =
        agent(args(&["enroll", "--hub", &hub.base, "--code", &code, "--data", &data])).await??;
    ensure!(!again.status.success(), "a used code enrolls nothing");

    let out = agent(args(&["run", "--for", "2", "--data", &data])).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.contains("sync hub: online") && stdout.contains("Accepted"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    hub.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_hub_is_trusted_through_its_ca_and_only_then() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start_tls(db, clock.clone()).await?;
    ensure!(hub.base.starts_with("https://"));
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;

    // Without the hub's CA the certificate is not trusted: nothing is sent, nothing stored.
    let store = SharedStore::new(Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(7),
        device_key_seed: Some([7; 32]),
        ..StoreConfig::new(dir.path().join("untrusting.db"))
    })?);
    let code = hub.code(tenant.0, tenant.1, "pos").await?;
    let refused = enroll(&store, &thorbis_agent::sync::hub::http_client()?, &hub.base, &code).await;
    ensure!(refused.is_err(), "an untrusted certificate must not be accepted");
    ensure!(store.with(|s| s.enrollment())?.is_none());

    // With it, enrollment (the same code, still unused) and sync work over TLS.
    let pos = Agent::enroll(&hub, &dir, &clock, tenant, "pos", 8).await?;
    wait_for("the menu pulled over TLS", 20, || has_menu(&pos.store)).await?;
    open_check(&pos.store, "1")?;
    wait_for("the check pushed over TLS", 20, || {
        let s = pos.status();
        Ok(s.online && s.outbox_depth == 0 && s.credential == CredentialState::Accepted)
    })
    .await?;
    drop(pos);
    hub.stop().await?;
    Ok(())
}

/// A technician's laptop trusts its own dispatch log, as the hub signs it: the job assigned
/// to it arrives and folds (nothing is held back), and no staff record comes with it. When
/// the job moves to another technician, the laptop learns so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_receives_the_job_assigned_to_it() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let laptop = Agent::enroll(&hub, &dir, &clock, tenant, "technician", 5).await?;
    let colleague = Agent::enroll_offline(&hub, &dir, &clock, tenant, "technician", 6).await?;
    let job = hub
        .admin(
            &format!("/api/v1/admin/tenants/{}/work-orders", tenant.0),
            &json!({ "title": "Boiler service", "customer": "Ada", "site_address": "1 Mill Lane",
                     "window_start_ms": NOW_MS, "window_end_ms": NOW_MS + 7_200_000,
                     "currency": "USD", "checklist": ["Check the pressure"] }),
        )
        .await?;
    let job: uuid::Uuid = serde_json::from_value(job["work_order_id"].clone())?;
    let assign = format!("/api/v1/admin/tenants/{}/work-orders/{job}/assign", tenant.0);
    let me = laptop.store.with(|s| s.device_id());
    hub.admin(&assign, &json!({ "technician": uuid::Uuid::from_bytes(me.0) })).await?;
    let holds = |technician: thorbis_sync_protocol::DeviceId| {
        let store = laptop.store.clone();
        move || {
            Ok(store.with(|s| s.work_orders())?.iter().any(|(id, view)| {
                *id == job
                    && view.title == "Boiler service"
                    && view.checklist.len() == 1
                    && view.technician.map(|t| t.0) == Some(technician.0)
            }))
        }
    };
    wait_for("the job on the laptop", 20, holds(me)).await?;
    ensure!(laptop.store.with(|s| s.quarantined(10))?.is_empty(), "the dispatch was held back");
    ensure!(laptop.store.with(|s| s.active_staff())?.is_empty(), "a laptop received staff");

    // Reassigned: the laptop's dispatch log says the job moved on, and to whom.
    let them = colleague.store.with(|s| s.device_id());
    hub.admin(&assign, &json!({ "technician": uuid::Uuid::from_bytes(them.0) })).await?;
    wait_for("the news that the job moved on", 20, holds(them)).await?;
    hub.stop().await?;
    Ok(())
}
