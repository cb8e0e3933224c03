//! The web console in real headless Chromium against a real hub: a manager signs in,
//! sets a location's time zone and currency, creates an enrollment code (enrolled with
//! over HTTP as a terminal would), configures the device, builds a menu item with a
//! modifier group, sees a pushed sale in the hourly chart and the item report, and
//! revokes the device. Every page is screenshotted (`ui-artifacts/console-*.png`) and
//! audited with axe-core: no serious or critical violation passes.

mod support;

#[path = "../../agent/ui/tests/support/browser.rs"]
mod browser;

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail, ensure};
use browser::{Chromium, click_and_load, eval, fill, screenshot, text, wait_for, with_chromium};
use chromiumoxide::page::Page;
use reqwest::StatusCode;
use support::{CONSOLE_PASSWORD, NOW_MS, TestHub};
use uuid::Uuid;

/// axe-core's bundle, installed by `scripts/ensure-packages.sh test`.
fn axe_source() -> Result<String> {
    let path = std::env::var_os("THORBIS_AXE_JS").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/thorbis-edge/npm/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).with_context(|| {
        format!("reading {} (scripts/ensure-packages.sh test installs axe-core)", path.display())
    })
}

/// Pages audited so far.
static AUDITED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Screenshots the page as `console-<name>.png` and fails on any serious or critical
/// axe-core violation.
async fn audit(page: &Page, axe: &str, name: &str) -> Result<()> {
    screenshot(page, &format!("console-{name}")).await?;
    if eval(page, "typeof axe === 'object'").await != Some(serde_json::Value::Bool(true)) {
        page.evaluate(axe).await.context("loading axe-core")?;
    }
    let found = page
        .evaluate(
            "axe.run(document, { resultTypes: ['violations'] }).then(r => JSON.stringify(
                r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }))))",
        )
        .await
        .with_context(|| format!("running axe on {name}"))?;
    let found: String = found.into_value().context("axe's answer")?;
    if found != "[]" {
        bail!("accessibility violations on {name}: {found}");
    }
    AUDITED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

async fn go(page: &Page, url: &str, screen: &str) -> Result<()> {
    page.goto(url).await.with_context(|| format!("opening {url}"))?;
    wait_for(page, screen, &format!("document.body && document.body.dataset.screen === '{screen}'"))
        .await
}

#[tokio::test]
async fn a_manager_runs_the_store_from_the_console() -> Result<()> {
    let axe = axe_source()?;
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    let base = hub.base.clone();
    let result = with_chromium(async |chromium: &Chromium| {
        let page = chromium.open(&format!("{base}/console/signin?business={tenant}")).await?;
        scenario(&hub, &page, &axe, tenant, location).await
    })
    .await;
    hub.stop().await?;
    result?;
    report(AUDITED.load(std::sync::atomic::Ordering::Relaxed));
    Ok(())
}

#[allow(clippy::print_stdout, reason = "the audit's result line is the test's report")]
fn report(pages: usize) {
    println!("RESULT console_axe pages={pages} serious_or_critical=0");
}

async fn scenario(
    hub: &TestHub,
    page: &Page,
    axe: &str,
    tenant: Uuid,
    location: Uuid,
) -> Result<()> {
    let base = &hub.base;
    wait_for(page, "the sign-in page", "document.body.dataset.screen === 'console-signin'").await?;
    audit(page, axe, "signin").await?;
    fill(page, "#email", "owner@bistro.example").await?;
    fill(page, "#password", CONSOLE_PASSWORD).await?;
    click_and_load(page, "#sign-in", "document.body.dataset.screen === 'console-home'").await?;
    audit(page, axe, "home-empty").await?;

    // The location's time zone and currency.
    go(page, &format!("{base}/console/locations/{location}"), "console-locations").await?;
    audit(page, axe, "location").await?;
    fill(page, "#time_zone", "America/New_York").await?;
    fill(page, "#currency", "USD").await?;
    fill(page, "#tax", "8").await?;
    click_and_load(page, "#save-location", "!!document.getElementById('locations')").await?;
    let tz = text(page, "document.querySelector('#locations td.tz').innerText").await?;
    ensure!(tz == "America/New_York", "{tz}");
    audit(page, axe, "locations").await?;

    // An enrollment code, shown as text and as a QR code; a terminal enrolls with it.
    go(page, &format!("{base}/console/devices"), "console-devices").await?;
    fill(page, "#code-role", "kds").await?;
    click_and_load(page, "#create-code", "!!document.getElementById('enrollment-code')").await?;
    ensure!(
        eval(page, "!!document.querySelector('#issued-code svg.qr path')").await
            == Some(true.into())
    );
    audit(page, axe, "devices-code").await?;
    let code = text(page, "document.getElementById('enrollment-code').innerText").await?;
    let key = thorbis_sync_protocol::DeviceKey::from_seed(&[9; 32])?;
    let (status, enrolled) = hub.enroll_raw(code.trim(), &key).await?;
    ensure!(status == StatusCode::OK, "enroll: {status} {enrolled}");
    let device = enrolled["credential"]["device_id"].as_str().context("device id")?.to_owned();

    // Its configuration: a name and a kitchen printer.
    go(page, &format!("{base}/console/devices/{device}"), "console-devices").await?;
    audit(page, axe, "device-config").await?;
    fill(page, "#device-name", "Grill KDS").await?;
    fill(page, "[name=printer_0]", "Grill").await?;
    fill(page, "[name=address_0]", "127.0.0.1:9100").await?;
    fill(page, "[name=purpose_0]", "kitchen").await?;
    fill(page, "[name=station_0]", "grill").await?;
    click_and_load(page, "#save-device", "!!document.getElementById('devices')").await?;
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind = 'device.configured'").await? == 1);

    menu(page, axe, base).await?;

    // A sale from a terminal at the location reaches the home page and the reports.
    let mut pos = hub.agent(tenant, location, 3).await?;
    pos.sale(1, NOW_MS - 60_000);
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK, "push: {status} {body}");
    go(page, &format!("{base}/console"), "console-home").await?;
    let net = text(page, "document.querySelector('.location-today dd.net').innerText").await?;
    ensure!(net.starts_with("7.00"), "{net}");
    audit(page, axe, "home").await?;
    go(
        page,
        &format!("{base}/console/reports?location={location}&from=2024-07-03&to=2024-07-03"),
        "console-reports",
    )
    .await?;
    // NOW_MS is 05:46 in New York: the sale is in the 05:00 bar, and in the item table.
    let bar = text(page, "Array.from(document.querySelectorAll('#hour-chart rect title')).map(t => t.textContent).find(t => t.startsWith('05')) || ''").await?;
    ensure!(bar == "05: 7.00, 1 orders", "{bar}");
    let items = text(page, "document.getElementById('item-table').innerText").await?;
    ensure!(items.contains("Coffee") && items.contains("7.00"), "{items}");
    audit(page, axe, "reports").await?;

    staff_and_revocation(hub, page, axe, tenant, &device, pos.device_id).await
}

/// A category, a modifier group, and an item with both.
async fn menu(page: &Page, axe: &str, base: &str) -> Result<()> {
    // The menu: a category, a modifier group, an item with it.
    go(page, &format!("{base}/console/catalog"), "console-catalog").await?;
    fill(page, "#category-name", "Coffee").await?;
    click_and_load(page, "#add-category", "!!document.getElementById('items')").await?;
    click_and_load(page, "#new-group", "!!document.getElementById('group-name')").await?;
    audit(page, axe, "group").await?;
    fill(page, "#group-name", "Milk").await?;
    fill(page, "#group-options", "Whole\nOat = 0.40").await?;
    click_and_load(page, "#save-group", "!!document.getElementById('items')").await?;
    click_and_load(page, "#new-item", "!!document.getElementById('item-name')").await?;
    audit(page, axe, "item").await?;
    fill(page, "#item-name", "Flat white").await?;
    fill(page, "#item-price", "3.80").await?;
    eval(page, "(() => { document.querySelector('[name=groups]').checked = true; const c = document.getElementById('item-category'); c.value = c.options[0].value; return true; })()").await;
    click_and_load(page, "#save-item", "!!document.querySelector('[data-item]')").await?;
    let row = text(page, "document.querySelector('[data-item]').innerText").await?;
    ensure!(row.contains("Flat white") && row.contains("3.80") && row.contains("Milk"), "{row}");
    audit(page, axe, "catalog").await?;
    go(page, &format!("{base}/console/catalog/import"), "console-catalog").await?;
    audit(page, axe, "import").await?;

    Ok(())
}

/// A cashier with a PIN; the device revoked from its row, and the alert its next sync
/// raises, acknowledged.
async fn staff_and_revocation(
    hub: &TestHub,
    page: &Page,
    axe: &str,
    tenant: Uuid,
    device: &str,
    pos_id: thorbis_sync_protocol::DeviceId,
) -> Result<()> {
    let base = &hub.base;
    // Staff: a cashier with a PIN.
    go(page, &format!("{base}/console/staff/new"), "console-staff").await?;
    audit(page, axe, "staff-member").await?;
    fill(page, "#staff-name", "Sam").await?;
    fill(page, "#staff-pin", "2468").await?;
    click_and_load(page, "#save-staff", "!!document.getElementById('staff')").await?;
    ensure!(text(page, "document.getElementById('staff').innerText").await?.contains("Sam"));
    audit(page, axe, "staff").await?;

    // The POS's log verifies.
    go(page, &format!("{base}/console/devices"), "console-devices").await?;
    let pos_audit = format!("[aria-label='Audit device {pos_id}']");
    click_and_load(page, &pos_audit, "!!document.querySelector('#audit-ok, #audit-broken')")
        .await?;
    ensure!(eval(page, "!!document.getElementById('audit-ok')").await == Some(true.into()));
    audit(page, axe, "device-audit").await?;

    // An invitation link, opened as the invited person would, and the account page.
    go(page, &format!("{base}/console/users"), "console-users").await?;
    fill(page, "#invite-email", "viewer@bistro.example").await?;
    fill(page, "#invite-role", "viewer").await?;
    click_and_load(page, "#invite", "!!document.getElementById('link')").await?;
    audit(page, axe, "users").await?;
    let link = text(page, "document.getElementById('link').innerText").await?;
    go(page, &format!("{base}/console/account"), "console-account").await?;
    audit(page, axe, "account").await?;
    go(page, link.trim(), "console-accept").await?;
    audit(page, axe, "accept").await?;

    // Revoke the device from its row.
    go(page, &format!("{base}/console/devices"), "console-devices").await?;
    let revoke = format!("[data-device='{device}'] button[type=submit]");
    click_and_load(page, &revoke, "!!document.getElementById('msg')").await?;
    let state = text(
        page,
        &format!("document.querySelector(\"[data-device='{device}'] td.state\").innerText"),
    )
    .await?;
    ensure!(state == "revoked", "{state}");
    audit(page, axe, "devices").await?;
    // The revoked device tries again: an alert a manager acknowledges.
    let mut revoked = support::Agent::new(device.parse()?, 9, tenant);
    revoked.sale(9, NOW_MS);
    let (status, _) = hub.push(&revoked, &revoked.all()).await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    go(page, &format!("{base}/console/alerts"), "console-alerts").await?;
    audit(page, axe, "alerts").await?;
    click_and_load(
        page,
        "[data-kind='revoked_device'] button",
        "document.body.dataset.screen === 'console-alerts'",
    )
    .await?;
    ensure!(
        text(page, "document.querySelector('[data-kind=revoked_device]').innerText")
            .await?
            .contains("Acknowledged")
    );
    Ok(())
}
