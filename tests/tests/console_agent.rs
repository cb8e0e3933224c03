//! The web console driving a real terminal, with real processes: the `thorbis-hub` binary on
//! a throwaway Postgres and a `thorbis-agent` enrolled with a code made on the console's
//! devices page. Through the console's pages (over HTTP, as a browser without JavaScript
//! posts them) a manager sets the location's time zone and currency, configures the
//! terminal's name and a kitchen printer, and adds a menu item with a modifier group; the
//! terminal shows the printer and the item, a cashier rings the item up and the card pays
//! it; the sale then shows in the console's hourly report and item CSV, the terminal's log
//! audits intact, and once the console revokes it the hub refuses the terminal and raises an
//! alert. (The console's own pages run in headless Chromium in `thorbis-hub`'s
//! `console_browser` test.)
//!
//! Needs the workspace's binaries: `cargo test --workspace` builds them first; alone, run
//! `cargo build --bins` before `cargo test -p thorbis-tests --test console_agent`.

#[path = "support/bins.rs"]
mod bins;
#[path = "../../hub/tests/support/pages.rs"]
mod pages;
#[path = "support/proc.rs"]
mod proc;
#[path = "support/ui.rs"]
mod ui;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use pages::{Browser, field};
use proc::Proc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use thorbis_agent::seed;
use ui::Ui;
use uuid::Uuid;

const ADMIN_TOKEN: &str = "console-agent-admin-token";
const PASSWORD: &str = "a long console password";
/// Longest any one wait may take.
const WAIT: Duration = Duration::from_secs(90);

/// Polls `check` until it is true, at most [`WAIT`].
async fn until<F: AsyncFnMut() -> Result<bool>>(what: &str, mut check: F) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while !check().await? {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one scenario across two processes, page by page")]
async fn a_manager_sets_up_and_watches_a_real_terminal_from_the_console() -> Result<()> {
    let (hub_bin, agent_bin) = (bins::binary("thorbis-hub")?, bins::binary("thorbis-agent")?);
    let dir = tempfile::tempdir()?;
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let mut command = Command::new(&hub_bin);
    command
        .env("THORBIS_HUB_DATABASE_URL", &db.config.owner_url)
        .env("THORBIS_HUB_APP_DATABASE_URL", &db.config.app_url)
        .env("THORBIS_HUB_LISTEN", "127.0.0.1:0")
        .env("THORBIS_HUB_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("THORBIS_HUB_KEY_ENCRYPTION_KEY", "4b".repeat(32))
        .env("RUST_LOG", "warn");
    let hub = Proc::spawn("hub", command, dir.path())?;
    let base = hub.wait_line("listening on ")?;
    let http = reqwest::Client::new();
    let admin = async |path: String, body: Value| -> Result<Value> {
        let response =
            http.post(format!("{base}{path}")).bearer_auth(ADMIN_TOKEN).json(&body).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    };
    // The tenant, its first location, the staff and menu terminals sign in with, its owner.
    let tenant: Uuid = serde_json::from_value(admin("/api/v1/admin/tenants".into(), json!({ "name": "Corner Bistro" })).await?["tenant_id"].clone())?;
    let location: Uuid = serde_json::from_value(
        admin(
            format!("/api/v1/admin/tenants/{tenant}/locations"),
            json!({ "name": "Main street" }),
        )
        .await?["location_id"]
            .clone(),
    )?;
    let catalog = Command::new(&agent_bin).arg("demo-catalog").output()?;
    ensure!(catalog.status.success(), "demo-catalog: {}", String::from_utf8_lossy(&catalog.stderr));
    admin(
        format!("/api/v1/admin/tenants/{tenant}/reference-events"),
        serde_json::from_slice(&catalog.stdout)?,
    )
    .await?;
    admin(
        format!("/api/v1/admin/tenants/{tenant}/console-users"),
        json!({ "email": "owner@bistro.example", "password": PASSWORD, "role": "owner" }),
    )
    .await?;

    // The console: the location's settings, then an enrollment code for a POS.
    let mut console = Browser::new(&base)?;
    ensure!(
        console.sign_in(tenant, "owner@bistro.example", PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&console.get("/console").await?.body, "csrf")?;
    let settings = [
        ("csrf", csrf.as_str()),
        ("name", "Main street"),
        ("address", "1 Main St"),
        ("time_zone", "America/New_York"),
        ("currency", "USD"),
        ("tax", "8"),
    ];
    ensure!(
        console.post(&format!("/console/locations/{location}"), &settings).await?.status
            == StatusCode::SEE_OTHER
    );
    let place = location.to_string();
    let issued = console
        .post(
            "/console/devices/codes",
            &[("csrf", &csrf), ("location_id", &place), ("role", "pos")],
        )
        .await?;
    let code = issued
        .body
        .split("id=\"enrollment-code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the code")?
        .to_owned();

    // The terminal enrolls with it.
    let data = dir.path().join("pos");
    let out = Command::new(&agent_bin)
        .args(["enroll", "--hub", &base, "--code", &code])
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()?;
    ensure!(out.status.success(), "enroll: {}", String::from_utf8_lossy(&out.stderr));
    let devices = console.get("/console/devices").await?.body;
    let device = devices
        .split("data-device=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the device is listed")?
        .to_owned();

    // Its configuration, and a menu item with a modifier group, from the console.
    let config = [
        ("csrf", csrf.as_str()),
        ("name", "Front POS"),
        ("tables", "Patio 1\nPatio 2"),
        ("stations", ""),
        ("printer_0", "Console Grill"),
        ("address_0", "127.0.0.1:9"),
        ("purpose_0", "kitchen"),
        ("station_0", "grill"),
        ("backup_0", ""),
    ];
    ensure!(
        console.post(&format!("/console/devices/{device}"), &config).await?.status
            == StatusCode::SEE_OTHER
    );
    ensure!(
        console
            .post("/console/catalog/categories", &[("csrf", &csrf), ("name", "Coffee")])
            .await?
            .status
            == StatusCode::SEE_OTHER
    );
    let group = [
        ("csrf", csrf.as_str()),
        ("name", "Milk"),
        ("min", "0"),
        ("max", "1"),
        ("options", "Whole\nOat = 0.40"),
    ];
    ensure!(console.post("/console/catalog/groups", &group).await?.status == StatusCode::SEE_OTHER);
    let form = console.get("/console/catalog/items/new").await?.body;
    let group_id = form
        .split("name=\"groups\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the group")?
        .to_owned();
    let category_id = form
        .split("<option value=\"")
        .find(|o| o.contains("\">Coffee<"))
        .and_then(|o| o.split('"').next())
        .context("the category")?
        .to_owned();
    let item = [
        ("csrf", csrf.as_str()),
        ("name", "Console Latte"),
        ("price", "4.50"),
        ("category", category_id.as_str()),
        ("station", "grill"),
        ("groups", group_id.as_str()),
        ("active", "1"),
    ];
    ensure!(console.post("/console/catalog/items", &item).await?.status == StatusCode::SEE_OTHER);
    let catalog = console.get("/console/catalog").await?.body;
    let item_id = catalog
        .split("<tr data-item=\"")
        .find(|row| row.contains("Console Latte"))
        .and_then(|row| row.split('"').next())
        .context("the item")?
        .to_owned();

    // The terminal runs, pulls all that, and shows it.
    let mut command = Command::new(&agent_bin);
    command.args(["run", "--ui-port", "0", "--data"]).arg(&data).env("RUST_LOG", "warn");
    let agent = Proc::spawn("pos", command, dir.path())?;
    let ui_base = agent.wait_line("Terminal UI ")?.trim_end_matches('/').to_owned();
    let pos = Ui::sign_in(&ui_base, seed::CASHIER.0, seed::CASHIER_PIN, WAIT).await?;
    until("the console's floor plan on the POS", async || {
        Ok(pos.get("/pos").await?.contains("Patio 2"))
    })
    .await?;
    let check = pos
        .post("/pos/checks", &[("table", "Patio 1".to_owned()), ("guests", "2".to_owned())])
        .await?;
    let check = check.split('?').next().unwrap_or_default().to_owned();
    until("the console's item on the POS", async || {
        Ok(pos.get(&format!("{check}?cat={category_id}")).await?.contains("Console Latte"))
    })
    .await?;
    pos.post(&format!("{check}/lines"), &[("item", item_id.clone())]).await?;
    let paid = pos
        .post(
            &format!("{check}/card"),
            &[
                ("brand", "VISA".to_owned()),
                ("last4", "4242".to_owned()),
                ("auth", "A1".to_owned()),
            ],
        )
        .await?;
    ensure!(!paid.contains("error"), "{paid}");

    // The sale reaches the console's reports, in New York's day.
    let today = location_today(&mut console).await?;
    let range = format!("location={location}&from={today}&to={today}");
    until("the sale in the item report", async || {
        let items = console.get(&format!("/console/reports/items.csv?{range}")).await?.body;
        Ok(items.contains("Console Latte,1,4.50"))
    })
    .await?;
    let hours = console.get(&format!("/console/reports/hours.csv?{range}")).await?.body;
    ensure!(hours.lines().skip(1).any(|l| l.ends_with(",1,4.50")), "{hours}");
    let report = console.get(&format!("/console/reports?{range}")).await?.body;
    ensure!(report.contains("4.50, 1 orders</title>"), "a bar of the hourly chart holds the sale");

    // The terminal's log audits intact; revoked, the hub refuses it and raises an alert.
    let audit = console.get(&format!("/console/devices/{device}/audit")).await?.body;
    ensure!(audit.contains("The chain is intact"), "{audit}");
    ensure!(
        console
            .post(&format!("/console/devices/{device}/revoke"), &[("csrf", &csrf)])
            .await?
            .status
            == StatusCode::SEE_OTHER
    );
    let again = pos
        .post("/pos/checks", &[("table", "Patio 2".to_owned()), ("guests", "1".to_owned())])
        .await?;
    ensure!(!again.is_empty());
    until("the revoked terminal's alert", async || {
        Ok(console.get("/console/alerts").await?.body.contains("A revoked device tried to sync"))
    })
    .await?;
    agent.stop()?;
    drop(hub);
    // The whole configuration reached the terminal's store: its name and its printer.
    let store = thorbis_agent::Store::open(thorbis_agent::StoreConfig::new(data.join("agent.db")))?;
    let config = store.own_device_config()?.context("the terminal holds its configuration")?;
    ensure!(config.name == "Front POS", "{config:?}");
    ensure!(
        config
            .printers
            .iter()
            .any(|p| p.name == "Console Grill" && p.station.as_deref() == Some("grill")),
        "{config:?}"
    );
    ensure!(
        config.currency.map(|c| c.code().to_owned()).as_deref() == Some("USD"),
        "the location's currency"
    );
    Ok(())
}

/// Today in the location's time zone, as the reports page defaults to it.
async fn location_today(console: &mut Browser) -> Result<String> {
    let page = console.get("/console/reports").await?.body;
    field(&page, "from")
}
