//! The store-outage scenario, with real processes: the `thorbis-hub` binary on a throwaway
//! Postgres; three `thorbis-agent run` processes (POS, KDS, register), each reaching the hub
//! through its own chaos proxy (`thorbis-sim chaos`) and the other two over the LAN.
//!
//! Orders are taken on the POS and the register through their terminal UI (HTTP, signed in
//! with the demo cashier's PIN). The internet is cut (every proxy partitions: a black hole,
//! as an unplugged uplink looks) for a while: orders taken meanwhile must reach the KDS's
//! projection over the LAN, and none reaches the hub. After the heal the hub must hold every
//! event of every agent's log exactly once (counted per `(device, seq)` in Postgres and
//! compared by hash), and the replicas' event sets and the agents' projections must agree.
//! Prints `RESULT store_outage lost=<n> duplicates=<n> converged=<bool>`.
//!
//! Its own harness (`harness = false`): `cargo build --bins && cargo test -p thorbis-tests
//! --test store_outage` (the binaries come from the same target directory, see
//! `support/bins.rs`). Every wait is bounded.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A harness reports on its terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};
use thorbis_agent::{Store, StoreConfig, seed};
use thorbis_hub::testing::fresh_database;
use uuid::Uuid;

#[path = "support/bins.rs"]
mod bins;
#[path = "support/proc.rs"]
mod proc;
#[path = "support/ui.rs"]
mod ui;

use bins::binary;
use proc::Proc;
use ui::Ui;

const ADMIN_TOKEN: &str = "store-outage-admin-token";
/// Orders each trading terminal takes before, during and after the outage.
const ORDERS_PER_PHASE: usize = 4;
/// How long the internet stays cut after the orders taken during the outage arrived.
const OUTAGE_HOLD: Duration = Duration::from_secs(3);
/// Longest any single wait may take.
const WAIT: Duration = Duration::from_secs(90);

/// One event's identity and content hash.
type EventKey = (Vec<u8>, i64, Vec<u8>);

fn main() -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(scenario());
    if let Err(e) = &result {
        println!("RESULT store_outage failed: {e:#}");
    }
    result
}

/// Sends one command to a chaos proxy's control port.
fn chaos(control: &str, command: &str) -> Result<()> {
    let mut stream = TcpStream::connect(control)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    writeln!(stream, "{command}")?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    ensure!(answer.trim() == "ok", "chaos {command}: {answer}");
    Ok(())
}

/// Waits until every table in `tables` shows on the KDS.
async fn on_kds(kds: &Ui, tables: &[String], within: Duration) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let html = kds.tickets().await?;
        let missing: Vec<_> =
            tables.iter().filter(|t| !html.contains(&format!("Table {t}</span>"))).collect();
        if missing.is_empty() {
            return Ok(started.elapsed());
        }
        ensure!(started.elapsed() < within, "not on the KDS after {within:?}: {missing:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event a store's file holds, read beside the running agent (WAL readers do not
/// block it).
fn agent_events(db: &Path) -> Result<BTreeSet<EventKey>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare("SELECT device_id, seq, hash FROM events")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The hub's events of `tenant` that its terminals hold too (all but its staff record log,
/// which no device pulls), with how many rows each `(device, seq)` has.
async fn hub_events(
    client: &tokio_postgres::Client,
    tenant: Uuid,
) -> Result<BTreeMap<(Vec<u8>, i64), (Vec<u8>, i64)>> {
    let records = Uuid::from_bytes(thorbis_hub::staff::record_log(tenant).0);
    let rows = client
        .query(
            "SELECT device_id, seq, (array_agg(hash))[1], count(*) FROM events
              WHERE tenant_id = $1 AND device_id <> $2
              GROUP BY device_id, seq",
            &[&tenant, &records],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let device: Uuid = r.get(0);
            ((device.as_bytes().to_vec(), r.get(1)), (r.get(2), r.get(3)))
        })
        .collect())
}

fn digest(events: &BTreeSet<EventKey>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (device, seq, hash) in events {
        ctx.update(device);
        ctx.update(&seq.to_be_bytes());
        ctx.update(hash);
    }
    ctx.finish().as_ref().iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

struct Terminal {
    role: &'static str,
    data: PathBuf,
    control: String,
    proxy: Proc,
}

#[allow(clippy::too_many_lines)] // One scenario, read top to bottom.
async fn scenario() -> Result<()> {
    let (hub_bin, sim_bin, agent_bin) =
        (binary("thorbis-hub")?, binary("thorbis-sim")?, binary("thorbis-agent")?);
    let dir = tempfile::tempdir()?;
    let db = tokio::task::spawn_blocking(fresh_database).await?;

    // The hub, in its own process, on a port of its choosing, which it announces.
    let mut command = Command::new(&hub_bin);
    command
        .env("THORBIS_HUB_DATABASE_URL", &db.config.owner_url)
        .env("THORBIS_HUB_APP_DATABASE_URL", &db.config.app_url)
        .env("THORBIS_HUB_LISTEN", "127.0.0.1:0")
        .env("THORBIS_HUB_ADMIN_TOKEN", ADMIN_TOKEN)
        // With an external database the hub wants a key for tenant keys; any will do here.
        .env("THORBIS_HUB_KEY_ENCRYPTION_KEY", "4b".repeat(32))
        .env("RUST_LOG", "warn");
    let hub = Proc::spawn("hub", command, dir.path())?;
    let base = hub.wait_line("listening on ")?;
    let hub_addr = base.trim_start_matches("http://").to_owned();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let admin = |path: String, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let response = http.post(url).bearer_auth(ADMIN_TOKEN).json(&body).send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            ensure!(status.is_success(), "{path}: {status} {body}");
            Ok::<_, anyhow::Error>(body)
        }
    };
    let tenant = admin("/api/v1/admin/tenants".into(), json!({ "name": "Corner Bistro" })).await?;
    let tenant: Uuid = serde_json::from_value(tenant["tenant_id"].clone())?;
    let location = admin(
        format!("/api/v1/admin/tenants/{tenant}/locations"),
        json!({ "name": "Main street" }),
    )
    .await?;
    let location: Uuid = serde_json::from_value(location["location_id"].clone())?;
    // The menu and staff, published by the hub on the tenant's reference log, as a console
    // would: a terminal never writes them.
    let catalog = Command::new(&agent_bin).arg("demo-catalog").output()?;
    ensure!(catalog.status.success(), "demo-catalog: {}", String::from_utf8_lossy(&catalog.stderr));
    let catalog: Value = serde_json::from_slice(&catalog.stdout)?;
    admin(format!("/api/v1/admin/tenants/{tenant}/reference-events"), catalog).await?;

    // Each terminal: its chaos proxy to the hub, enrolled through it.
    let mut terminals = Vec::new();
    for (i, role) in ["pos", "kds", "register"].into_iter().enumerate() {
        let mut command = Command::new(&sim_bin);
        command.args([
            "chaos",
            "--upstream",
            &hub_addr,
            "--listen",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
            "--seed",
            &(i + 1).to_string(),
        ]);
        let proxy = Proc::spawn(&format!("chaos-{role}"), command, dir.path())?;
        let listen = proxy.wait_line("chaos tcp ")?;
        let listen = listen.split_whitespace().next().context("proxy address")?.to_owned();
        let control = proxy.wait_line("control tcp ")?;
        let code = admin(
            format!("/api/v1/admin/tenants/{tenant}/enrollment-codes"),
            json!({ "location_id": location, "role": role, "ttl_ms": 600_000 }),
        )
        .await?;
        let code = code["code"].as_str().context("code")?.to_owned();
        let data = dir.path().join(role);
        let out = Command::new(&agent_bin)
            .args(["enroll", "--hub", &format!("http://{listen}"), "--code", &code])
            .arg("--data")
            .arg(&data)
            .env("RUST_LOG", "warn")
            .output()?;
        ensure!(out.status.success(), "enrolling {role}: {}", String::from_utf8_lossy(&out.stderr));
        if role != "kds" {
            // The demo's own sales, on the catalog the terminal pulls from the hub.
            let out = Command::new(&agent_bin)
                .args(["demo", "--no-ui", "--data"])
                .arg(&data)
                .env("RUST_LOG", "warn")
                .output()?;
            ensure!(
                out.status.success(),
                "seeding {role}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        terminals.push(Terminal { role, data, control, proxy });
    }

    // The agents: the KDS listens; the POS listens and dials the KDS; the register dials
    // both.
    let mut agents: Vec<Proc> = Vec::new();
    let mut lan: Vec<String> = Vec::new();
    let mut uis: Vec<String> = Vec::new();
    for terminal in &terminals {
        let mut command = Command::new(&agent_bin);
        command
            .args(["run", "--ui-port", "0", "--lan-listen", "127.0.0.1:0", "--data"])
            .arg(&terminal.data)
            .env("RUST_LOG", "warn");
        for peer in &lan {
            command.args(["--peer", peer]);
        }
        let agent = Proc::spawn(terminal.role, command, dir.path())?;
        lan.push(agent.wait_line("LAN listening on ")?);
        let ui = agent.wait_line("Terminal UI ")?;
        uis.push(ui.trim_end_matches('/').to_owned());
        agents.push(agent);
    }
    let (pos_ui, kds_ui, register_ui) = (&uis[0], &uis[1], &uis[2]);
    let pos = Ui::sign_in(pos_ui, seed::CASHIER.0, seed::CASHIER_PIN, WAIT).await?;
    let register = Ui::sign_in(register_ui, seed::CASHIER.0, seed::CASHIER_PIN, WAIT).await?;
    // The KDS learns the staff from its peers; the manager sees every screen.
    let kds = Ui::sign_in(kds_ui, seed::MANAGER.0, seed::MANAGER_PIN, WAIT).await?;

    let mut tables = Vec::new();
    let take = async |phase: &str| -> Result<Vec<String>> {
        let mut taken = Vec::new();
        for i in 0..ORDERS_PER_PHASE {
            for (who, ui) in [("P", &pos), ("R", &register)] {
                let table = format!("{who}{phase}{i:02}");
                ui.take_order(&table).await?;
                taken.push(table);
            }
        }
        Ok(taken)
    };

    // Online: orders reach the kitchen.
    let before = take("a").await?;
    on_kds(&kds, &before, WAIT).await?;
    tables.extend(before);

    // The hub has caught up; then the internet goes: every uplink is a black hole.
    let pg = {
        let (client, connection) =
            tokio_postgres::connect(&db.superuser_url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
    };
    let dbs: Vec<PathBuf> = terminals.iter().map(|t| t.data.join("agent.db")).collect();
    let (lost, ..) = converge(&pg, tenant, &dbs).await?;
    ensure!(lost == 0, "the hub did not catch up before the outage: {lost} events missing");
    for terminal in &terminals {
        chaos(&terminal.control, "partition")?;
    }
    let at_cut = hub_events(&pg, tenant).await?.len();
    let during = take("b").await?;
    let lan_latency = on_kds(&kds, &during, WAIT).await?;
    println!("orders taken during the outage reached the KDS over the LAN within {lan_latency:?}");
    tables.extend(during);
    tokio::time::sleep(OUTAGE_HOLD).await;
    let in_outage = hub_events(&pg, tenant).await?.len();
    ensure!(in_outage == at_cut, "the hub received {} events while cut off", in_outage - at_cut);

    // The internet comes back; trading goes on.
    for terminal in &terminals {
        chaos(&terminal.control, "heal")?;
    }
    let after = take("c").await?;
    on_kds(&kds, &after, WAIT).await?;
    tables.extend(after);

    // Converged: the hub holds every event of every agent, and all hold the same set.
    let (lost, duplicates, sets, hub_set) = converge(&pg, tenant, &dbs).await?;

    for agent in agents {
        agent.stop()?;
    }
    for terminal in terminals {
        drop(terminal.proxy);
    }
    drop(hub);

    // The projections, read from the stopped agents' stores.
    let mut projections = BTreeSet::new();
    for db in &dbs {
        let store = Store::open(StoreConfig::new(db))?;
        projections.insert(store.projection_digest()?);
        let kds_tables: BTreeSet<String> =
            store.kds_queue(None)?.into_iter().filter_map(|t| t.table).collect();
        let missing = tables.iter().filter(|t| !kds_tables.contains(*t)).count();
        ensure!(missing == 0, "{} misses {missing} orders", db.display());
    }
    let digests: BTreeSet<String> = sets.iter().map(digest).collect();
    let converged =
        digests.len() == 1 && digests.contains(&digest(&hub_set)) && projections.len() == 1;
    println!(
        "events: hub {}, agents {:?}; event-set digest {}",
        hub_set.len(),
        sets.iter().map(BTreeSet::len).collect::<Vec<_>>(),
        digests.iter().next().map_or("-", |d| &d[..16]),
    );
    println!("RESULT store_outage lost={lost} duplicates={duplicates} converged={converged}");
    ensure!(lost == 0 && duplicates == 0 && converged, "the store did not converge");
    Ok(())
}

/// What the hub and the agents hold: events of agents' logs the hub lacks (or holds
/// different), extra rows per `(device, seq)` on the hub, each agent's set and the hub's.
type Convergence = (usize, i64, Vec<BTreeSet<EventKey>>, BTreeSet<EventKey>);

/// Waits (bounded) until the hub holds every agent's events and every agent holds the
/// hub's set; returns the last reading either way.
async fn converge(
    pg: &tokio_postgres::Client,
    tenant: Uuid,
    dbs: &[PathBuf],
) -> Result<Convergence> {
    let deadline = Instant::now() + WAIT;
    loop {
        let hub = hub_events(pg, tenant).await?;
        let mut lost = 0usize;
        let mut sets = Vec::new();
        for db in dbs {
            let events = agent_events(db)?;
            lost += events
                .iter()
                .filter(|(d, s, h)| hub.get(&(d.clone(), *s)).is_none_or(|(hash, _)| hash != h))
                .count();
            sets.push(events);
        }
        let duplicates: i64 = hub.values().map(|(_, n)| n - 1).sum();
        let hub_set: BTreeSet<EventKey> =
            hub.into_iter().map(|((d, s), (h, _))| (d, s, h)).collect();
        let agree = sets.iter().all(|s| *s == hub_set);
        if (lost == 0 && agree) || Instant::now() > deadline {
            return Ok((lost, duplicates, sets, hub_set));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
