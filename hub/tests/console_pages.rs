//! The web console's pages over real HTTP and Postgres: signing in with the form (and its
//! login-CSRF token), each form's CSRF token and origin, roles, a location's settings,
//! today's figures from pushed sales in the location's own day, enrollment codes and
//! revocation, and that one tenant's session sees nothing of another's.

mod support;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use support::pages::{Browser, field};
use support::{CONSOLE_PASSWORD, NOW_MS, TestHub};
use uuid::Uuid;

#[tokio::test]
async fn signing_in_needs_the_form_token_and_the_right_password() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    let mut browser = Browser::new(&hub.base)?;

    let home = browser.get("/console").await?;
    ensure!(home.status == StatusCode::SEE_OTHER, "{}", home.status);
    ensure!(home.location.as_deref() == Some("/console/signin"), "{:?}", home.location);

    // The form's token without its cookie (a form posted from elsewhere) is refused.
    let page = browser.get(&format!("/console/signin?business={tenant}")).await?;
    ensure!(page.body.contains(&format!("value=\"{tenant}\"")), "the business is filled in");
    let token = field(&page.body, "login_token")?;
    let mut stranger = Browser::new(&hub.base)?;
    let business = tenant.to_string();
    let forged = stranger
        .post(
            "/console/signin",
            &[
                ("login_token", &token),
                ("business", &business),
                ("email", "owner@bistro.example"),
                ("password", CONSOLE_PASSWORD),
            ],
        )
        .await?;
    ensure!(forged.status == StatusCode::FORBIDDEN, "{}", forged.status);
    ensure!(stranger.cookie("thorbis_console").is_none(), "no session without the token");

    // Another site's form is refused by its origin, token or not.
    let evil = browser
        .http
        .post(format!("{}/console/signin", hub.base))
        .header(ORIGIN, "https://evil.example")
        .header(COOKIE, browser.cookie_header())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("login_token={token}&business={tenant}&email=owner%40bistro.example"));
    ensure!(evil.send().await?.status() == StatusCode::FORBIDDEN);

    let wrong = browser.sign_in(tenant, "owner@bistro.example", "not the password").await?;
    ensure!(wrong.status == StatusCode::UNAUTHORIZED, "{}", wrong.status);
    ensure!(wrong.body.contains("do not match"), "{}", wrong.body);
    ensure!(browser.cookie("thorbis_console").is_none());

    let ok = browser.sign_in(tenant, "Owner@Bistro.example", CONSOLE_PASSWORD).await?;
    ensure!(ok.status == StatusCode::SEE_OTHER, "{} {}", ok.status, ok.body);
    ensure!(ok.location.as_deref() == Some("/console"));
    let session = browser.cookie("thorbis_console").context("a session cookie")?.to_owned();
    let home = browser.get("/console").await?;
    ensure!(home.status == StatusCode::OK, "{}", home.status);
    ensure!(home.body.contains("owner@bistro.example · owner"), "{}", home.body);
    ensure!(home.body.contains("Main street"), "{}", home.body);

    // Signing out ends the session: the old cookie no longer opens a page.
    let csrf = field(&home.body, "csrf")?;
    let out = browser.post("/console/signout", &[("csrf", &csrf)]).await?;
    ensure!(out.status == StatusCode::SEE_OTHER);
    ensure!(browser.cookie("thorbis_console").is_none(), "the cookie is cleared");
    browser.cookies.push(("thorbis_console".into(), session));
    let after = browser.get("/console").await?;
    ensure!(after.status == StatusCode::SEE_OTHER, "a revoked session: {}", after.status);
    hub.stop().await
}

const HOUR: u64 = 3_600_000;

#[tokio::test]
async fn a_location_s_day_is_local_and_today_compares_with_last_week() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    hub.console_user(tenant, "viewer@bistro.example", "viewer").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );

    // NOW_MS is 2024-07-03 09:46:40 UTC: 05:46 in New York, so New York's day began at
    // 04:00 UTC, and a sale at 03:00 UTC was yesterday there (but today in UTC).
    let page = owner.get(&format!("/console/locations/{location}")).await?;
    let csrf = field(&page.body, "csrf")?;
    let path = format!("/console/locations/{location}");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "Bistro Downtown"),
        ("address", "1 Main St"),
        ("time_zone", "Mars/Olympus_Mons"),
        ("currency", "usd"),
        ("tax", "8.875"),
    ];
    let refused = owner.post(&path, &form).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("Percent must be"), "{}", refused.body);
    form[5] = ("tax", "8.88");
    let refused = owner.post(&path, &form).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("not a time zone name"), "{}", refused.body);
    ensure!(refused.body.contains("value=\"Bistro Downtown\""), "what was typed is kept");
    ensure!(hub.count("SELECT count(*) FROM locations WHERE name = 'Bistro Downtown'").await? == 0);
    form[3] = ("time_zone", "America/New_York");
    let saved = owner.post(&path, &form).await?;
    ensure!(saved.status == StatusCode::SEE_OTHER, "{} {}", saved.status, saved.body);
    let list = owner.get("/console/locations").await?;
    ensure!(list.body.contains("America/New_York") && list.body.contains("8.88%"), "{}", list.body);

    // A form without the session's token, or from a viewer, changes nothing.
    let no_token = owner.post(&path, &form[1..]).await?;
    ensure!(no_token.status == StatusCode::FORBIDDEN, "{}", no_token.status);
    let mut viewer = Browser::new(&hub.base)?;
    ensure!(
        viewer.sign_in(tenant, "viewer@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let viewer_page = viewer.get(&path).await?;
    ensure!(viewer_page.status == StatusCode::OK && viewer_page.body.contains("disabled"));
    let viewer_csrf = field(&viewer_page.body, "csrf")?;
    let mut as_viewer = form.clone();
    as_viewer[0] = ("csrf", viewer_csrf.as_str());
    as_viewer[1] = ("name", "Renamed by a viewer");
    let denied = viewer.post(&path, &as_viewer).await?;
    ensure!(denied.status == StatusCode::FORBIDDEN, "{}", denied.status);
    ensure!(
        hub.count("SELECT count(*) FROM locations WHERE name = 'Renamed by a viewer'").await? == 0
    );

    // Sales: one this morning in New York, one before its midnight, one a week ago by now,
    // from a terminal enrolled eight days ago (a fact from before its device enrolled would
    // be quarantined).
    hub.clock.set(NOW_MS - 8 * 24 * HOUR);
    let mut agent = hub.agent(tenant, location, 1).await?;
    // Each pushed when it happened: the hub holds back facts stamped far behind its clock.
    hub.clock.set(NOW_MS - 7 * 24 * HOUR);
    agent.sale(3, NOW_MS - 7 * 24 * HOUR - HOUR);
    let (status, body) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    hub.clock.set(NOW_MS);
    let pushed = agent.tip().seq;
    agent.sale(2, NOW_MS - 7 * HOUR);
    agent.sale(1, NOW_MS - HOUR);
    let (status, body) = hub.push(&agent, &agent.batch(pushed + 1, agent.tip().seq)).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await? == 3, "{body}");

    let home = owner.get("/console").await?;
    let section = home.body.split("data-location").nth(1).context("a location section")?;
    ensure!(section.contains("Bistro Downtown"), "{section}");
    // Net of one sale (2 × 3.50) today; last Wednesday had one sale by this time.
    ensure!(section.contains("<dd class=\"net\"><span class=\"money\">7.00"), "{section}");
    ensure!(section.contains("<dd class=\"orders\">1</dd>"), "{section}");
    ensure!(section.contains("±0% vs last Wednesday"), "{section}");
    ensure!(home.body.contains("<dd id=\"devices-online\">1</dd>"), "{}", home.body);
    // With sales in dollars, the location's currency cannot change.
    form[4] = ("currency", "EUR");
    let changed = owner.post(&path, &form).await?;
    ensure!(
        changed.status == StatusCode::UNPROCESSABLE_ENTITY
            && changed.body.contains("cannot change"),
        "{}",
        changed.body
    );
    reports_cover_local_days(&mut owner, location).await?;
    hub.stop().await
}

/// The reports of New York's July 2 and 3: each sale in its local hour and day.
async fn reports_cover_local_days(owner: &mut Browser, location: Uuid) -> Result<()> {
    let query = format!("location={location}&from=2024-07-02&to=2024-07-03");
    let page = owner.get(&format!("/console/reports?{query}")).await?;
    ensure!(page.status == StatusCode::OK, "{}", page.status);
    ensure!(page.body.contains("<dd id=\"summary-orders\">2</dd>"), "{}", page.body);
    ensure!(
        page.body.contains("<dd class=\"money\" id=\"summary-net\">14.00</dd>"),
        "{}",
        page.body
    );
    ensure!(page.body.contains("<title>04: 7.00, 1 orders</title>"), "a bar at 04:00 local");
    ensure!(page.body.contains("<title>22: 7.00, 1 orders</title>"), "a bar at 22:00 local");
    let hours = owner.get(&format!("/console/reports/hours.csv?{query}")).await?;
    ensure!(hours.status == StatusCode::OK);
    ensure!(hours.body.lines().count() == 25, "a header and every hour: {}", hours.body);
    ensure!(
        hours.body.contains("\r\n04,1,7.00\r\n") && hours.body.contains("\r\n22,1,7.00\r\n"),
        "{}",
        hours.body
    );
    let days = owner.get(&format!("/console/reports/days.csv?{query}")).await?;
    ensure!(
        days.body == "day,orders,net\r\n2024-07-02,1,7.00\r\n2024-07-03,1,7.00\r\n",
        "{}",
        days.body
    );
    let items = owner.get(&format!("/console/reports/items.csv?{query}")).await?;
    let rows: Vec<&str> = items.body.lines().collect();
    ensure!(rows.len() == 2 && rows[1].ends_with(",Coffee,4,14.00"), "{}", items.body);
    let tenders = owner.get(&format!("/console/reports/tenders.csv?{query}")).await?;
    ensure!(tenders.body.lines().nth(1) == Some("cash,2,15.12,0.00"), "{}", tenders.body);
    // A bad range is refused in words, and a CSV of it is not made.
    let bad = owner
        .get(&format!("/console/reports?location={location}&from=2024-02-30&to=2024-03-01"))
        .await?;
    ensure!(bad.body.contains("YYYY-MM-DD"), "{}", bad.body);
    let bad_csv = owner
        .get(&format!(
            "/console/reports/items.csv?location={location}&from=2024-07-03&to=2024-07-01"
        ))
        .await?;
    ensure!(bad_csv.status == StatusCode::BAD_REQUEST, "{}", bad_csv.status);
    Ok(())
}

#[tokio::test]
async fn devices_get_codes_and_are_revoked_and_tenants_see_only_their_own() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    let (other, other_location) = hub.tenant("Other").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    hub.console_user(other, "owner@other.example", "owner").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );

    let page = owner.get("/console/devices").await?;
    let csrf = field(&page.body, "csrf")?;
    let (issued, code) = issue_code(&mut owner, &csrf, location, "kds").await?;
    ensure!(issued.contains("<svg class=\"qr\""), "a QR code is drawn");
    let key = thorbis_sync_protocol::DeviceKey::from_seed(&[42; 32])?;
    let (status, enrolled) = hub.enroll_raw(&code, &key).await?;
    ensure!(status == StatusCode::OK, "{status} {enrolled}");
    let device: Uuid =
        enrolled["credential"]["device_id"].as_str().context("device id")?.parse()?;

    // Another tenant's code for its own location cannot be made here.
    let foreign = other_location.to_string();
    let refused = owner
        .post(
            "/console/devices/codes",
            &[("csrf", &csrf), ("location_id", &foreign), ("role", "pos")],
        )
        .await?;
    ensure!(refused.status == StatusCode::NOT_FOUND, "{}", refused.status);

    let list = owner.get("/console/devices").await?;
    ensure!(list.body.contains(&format!("data-device=\"{device}\"")), "{}", list.body);
    ensure!(list.body.contains("Kitchen display"));

    configure(&hub, &mut owner, &csrf, device).await?;

    // The other tenant's owner sees neither the device, the location nor its settings,
    // and cannot revoke the device.
    let mut stranger = Browser::new(&hub.base)?;
    ensure!(
        stranger.sign_in(other, "owner@other.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let theirs = stranger.get("/console/devices").await?;
    ensure!(!theirs.body.contains(&device.to_string()), "a foreign device is listed");
    let foreign_edit = stranger.get(&format!("/console/locations/{location}")).await?;
    ensure!(foreign_edit.status == StatusCode::NOT_FOUND, "{}", foreign_edit.status);
    let their_csrf = field(&theirs.body, "csrf")?;
    let revoke = format!("/console/devices/{device}/revoke");
    let denied = stranger.post(&revoke, &[("csrf", &their_csrf)]).await?;
    ensure!(denied.status == StatusCode::NOT_FOUND, "{}", denied.status);
    ensure!(hub.count("SELECT count(*) FROM devices WHERE revoked_at_ms IS NOT NULL").await? == 0);
    // Nor does its session cookie with our tenant's id in it.
    let forged = stranger.cookie("thorbis_console").context("session")?.replacen(
        &other.to_string(),
        &tenant.to_string(),
        1,
    );
    stranger.cookies.retain(|(n, _)| n != "thorbis_console");
    stranger.cookies.push(("thorbis_console".into(), forged));
    ensure!(stranger.get("/console/devices").await?.status == StatusCode::SEE_OTHER);

    let revoked = owner.post(&revoke, &[("csrf", &csrf)]).await?;
    ensure!(revoked.status == StatusCode::SEE_OTHER, "{}", revoked.status);
    let list = owner.get(revoked.location.as_deref().context("redirect")?).await?;
    ensure!(
        list.body.contains("is revoked") && list.body.contains("revoked</span>"),
        "{}",
        list.body
    );
    ensure!(hub.count("SELECT count(*) FROM devices WHERE revoked_at_ms IS NOT NULL").await? == 1);
    hub.stop().await
}

/// Configures `device` through its page: refused without a kitchen printer's station,
/// published once with it.
async fn configure(hub: &TestHub, owner: &mut Browser, csrf: &str, device: Uuid) -> Result<()> {
    // Its configuration: a kitchen printer with a station, a receipt printer backing it up.
    let config_path = format!("/console/devices/{device}");
    let config_page = owner.get(&config_path).await?;
    ensure!(config_page.status == StatusCode::OK, "{}", config_page.status);
    let mut config = vec![
        ("csrf", csrf),
        ("name", "Grill KDS"),
        ("tables", ""),
        ("stations", "grill"),
        ("printer_0", "Grill"),
        ("address_0", "127.0.0.1:9100"),
        ("purpose_0", "kitchen"),
        ("station_0", ""),
        ("backup_0", "Front"),
        ("printer_1", "Front"),
        ("address_1", "127.0.0.1:9101"),
        ("purpose_1", "receipt"),
        ("station_1", ""),
        ("backup_1", ""),
    ];
    let refused = owner.post(&config_path, &config).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("needs a station"), "{}", refused.body);
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind = 'device.configured'").await? == 0);
    config[7] = ("station_0", "grill");
    let saved = owner.post(&config_path, &config).await?;
    ensure!(saved.status == StatusCode::SEE_OTHER, "{} {}", saved.status, saved.body);
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind = 'device.configured'").await? == 1);
    let again = owner.get(&config_path).await?;
    ensure!(again.body.contains("value=\"Grill KDS\"") && again.body.contains("value=\"Front\""));
    Ok(())
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one scenario, from an empty catalog to a terminal's pull"
)]
async fn the_catalog_publishes_items_with_modifier_groups_in_the_location_currency() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let page = owner.get("/console/catalog").await?;
    ensure!(
        page.body.contains("set a location&#39;s currency first")
            || page.body.contains("set a location's currency first"),
        "{}",
        page.body
    );
    let csrf = field(&page.body, "csrf")?;
    let path = format!("/console/locations/{location}");
    let settings = [
        ("csrf", csrf.as_str()),
        ("name", "Main street"),
        ("address", ""),
        ("time_zone", "Europe/Paris"),
        ("currency", "EUR"),
        ("tax", ""),
    ];
    ensure!(owner.post(&path, &settings).await?.status == StatusCode::SEE_OTHER);

    ensure!(
        owner
            .post(
                "/console/catalog/categories",
                &[("csrf", &csrf), ("name", "Coffee"), ("position", "1")]
            )
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
    ensure!(owner.post("/console/catalog/groups", &group).await?.status == StatusCode::SEE_OTHER);
    let form = owner.get("/console/catalog/items/new").await?;
    let group_id = form
        .body
        .split("name=\"groups\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the group is offered")?
        .to_owned();
    let category_id = form
        .body
        .split("<option value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the category is offered")?
        .to_owned();
    let mut item = vec![
        ("csrf", csrf.as_str()),
        ("name", "Flat white"),
        ("price", "3.805"),
        ("category", category_id.as_str()),
        ("tax_category", ""),
        ("station", "bar"),
        ("barcodes", ""),
        ("groups", group_id.as_str()),
        ("active", "1"),
    ];
    let refused = owner.post("/console/catalog/items", &item).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("value=\"Flat white\""), "what was typed is kept");
    ensure!(
        hub.count("SELECT count(*) FROM events WHERE kind = 'catalog.item_upserted'").await? == 0
    );
    item[2] = ("price", "3.80");
    let saved = owner.post("/console/catalog/items", &item).await?;
    ensure!(saved.status == StatusCode::SEE_OTHER, "{} {}", saved.status, saved.body);
    ensure!(
        hub.count("SELECT count(*) FROM events WHERE kind = 'catalog.item_upserted'").await? == 1
    );
    let catalog = owner.get("/console/catalog").await?;
    let row = catalog.body.split("data-item=").nth(1).context("the item is listed")?;
    ensure!(
        row.contains("Flat white")
            && row.contains("3.80")
            && row.contains("Milk")
            && row.contains("Coffee"),
        "{row}"
    );
    ensure!(catalog.body.contains("Oat (0.40)"), "{}", catalog.body);
    taxes_are_added_and_their_rates_changed(&mut owner, &csrf).await?;
    let item_id: Uuid = row.split('"').nth(1).context("the item's id")?.parse()?;
    stock_is_reported_low_at_its_reorder_point(
        &hub,
        &mut owner,
        (tenant, location),
        &item,
        item_id,
    )
    .await?;
    items_are_imported_from_csv_after_a_preview(&hub, &mut owner, &csrf, location).await?;

    // A terminal of the tenant pulls the item from the reference log, as hub-signed data.
    let agent = hub.agent(tenant, location, 7).await?;
    let (status, batch, _) = hub.pull(&agent, &serde_json::json!({}), 100).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let batch = batch.context("a batch")?;
    ensure!(
        batch.events.iter().any(|e| e.kind.as_str() == "catalog.item_upserted"),
        "{:?}",
        batch.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>()
    );
    hub.stop().await
}

#[tokio::test]
async fn staff_get_pins_that_are_never_shown() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "manager@bistro.example", "manager").await?;
    let mut manager = Browser::new(&hub.base)?;
    ensure!(
        manager.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let page = manager.get("/console/staff/new").await?;
    let csrf = field(&page.body, "csrf")?;
    let place = location.to_string();
    let mut member = vec![
        ("csrf", csrf.as_str()),
        ("name", "Sam"),
        ("role", "cashier"),
        ("pin", "12"),
        ("locations", place.as_str()),
        ("active", "1"),
    ];
    let refused = manager.post("/console/staff", &member).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(
        refused.body.contains("4 to 8 digits") && refused.body.contains("value=\"Sam\""),
        "{}",
        refused.body
    );
    ensure!(!refused.body.contains("value=\"12\""), "a PIN is never echoed");
    let published = "SELECT count(*) FROM events WHERE kind = 'catalog.staff_upserted'";
    ensure!(hub.count(published).await? == 0);
    member[3] = ("pin", "2468");
    ensure!(manager.post("/console/staff", &member).await?.status == StatusCode::SEE_OTHER);
    let copies = hub.count(published).await?;
    ensure!(copies >= 1, "published to the staff logs");
    let list = manager.get("/console/staff").await?;
    ensure!(list.body.contains("Sam") && list.body.contains("Main street"), "{}", list.body);
    let id = list
        .body
        .split("data-staff=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("a row")?
        .to_owned();
    let edit = manager.get(&format!("/console/staff/{id}")).await?;
    ensure!(
        !edit.body.contains("argon2") && !edit.body.contains("2468"),
        "neither the PIN nor its hash is shown"
    );
    // Deactivating keeps the PIN hash (no PIN typed) and publishes again.
    let update = [
        ("csrf", csrf.as_str()),
        ("name", "Sam"),
        ("role", "cashier"),
        ("pin", ""),
        ("locations", place.as_str()),
    ];
    ensure!(
        manager.post(&format!("/console/staff/{id}"), &update).await?.status
            == StatusCode::SEE_OTHER
    );
    ensure!(hub.count(published).await? > copies);
    ensure!(manager.get("/console/staff").await?.body.contains("Deactivated"));
    hub.stop().await
}

#[tokio::test]
async fn a_revoked_device_that_syncs_raises_one_alert_a_manager_acknowledges() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "manager@bistro.example", "manager").await?;
    hub.console_user(tenant, "viewer@bistro.example", "viewer").await?;
    let mut agent = hub.agent(tenant, location, 5).await?;
    let device = support_uuid(&agent);
    let mut manager = Browser::new(&hub.base)?;
    ensure!(
        manager.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let page = manager.get("/console/alerts").await?;
    ensure!(page.body.contains("No alerts."), "{}", page.body);
    let csrf = field(&page.body, "csrf")?;
    ensure!(
        manager
            .post(&format!("/console/devices/{device}/revoke"), &[("csrf", &csrf)])
            .await?
            .status
            == StatusCode::SEE_OTHER
    );
    for n in 1..=3 {
        agent.sale(n, NOW_MS);
        let (status, body) = hub.push(&agent, &agent.all()).await?;
        ensure!(status == StatusCode::FORBIDDEN, "{status} {body}");
    }
    ensure!(
        hub.count("SELECT count(*) FROM alerts WHERE kind = 'revoked_device'").await? == 1,
        "one alert, however often it retries"
    );
    let page = manager.get("/console/alerts").await?;
    ensure!(page.body.contains("A revoked device tried to sync"), "{}", page.body);
    let alert = page
        .body
        .split("data-alert=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("an alert row")?
        .to_owned();
    let ack = format!("/console/alerts/{alert}/acknowledge");

    // A viewer sees it and cannot acknowledge it.
    let mut viewer = Browser::new(&hub.base)?;
    ensure!(
        viewer.sign_in(tenant, "viewer@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let seen = viewer.get("/console/alerts").await?;
    ensure!(seen.body.contains(&alert) && !seen.body.contains(&ack), "no button for a viewer");
    let viewer_csrf = field(&seen.body, "csrf")?;
    ensure!(viewer.post(&ack, &[("csrf", &viewer_csrf)]).await?.status == StatusCode::FORBIDDEN);

    ensure!(manager.post(&ack, &[("csrf", &csrf)]).await?.status == StatusCode::SEE_OTHER);
    ensure!(manager.get("/console/alerts").await?.body.contains("Acknowledged"));
    ensure!(manager.post(&ack, &[("csrf", &csrf)]).await?.status == StatusCode::NOT_FOUND, "once");
    ensure!(manager.get("/console").await?.body.contains("<dd id=\"open-alerts\">0</dd>"));
    // Trying again after the acknowledgement raises a new one.
    let (status, _) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::FORBIDDEN);
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'revoked_device'").await? == 2);
    hub.stop().await
}

fn support_uuid(agent: &support::Agent) -> Uuid {
    Uuid::from_bytes(*agent.device_id.as_bytes())
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one log, from the console's audit to the offline check")]
async fn a_device_log_is_verified_in_the_console_and_its_export_offline() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "viewer@bistro.example", "viewer").await?;
    let mut agent = hub.agent(tenant, location, 6).await?;
    for n in 1..=3 {
        agent.sale(n, NOW_MS);
        let (status, body) = hub.push(&agent, &agent.all()).await?;
        ensure!(status == StatusCode::OK, "{status} {body}");
    }
    let device = support_uuid(&agent);
    let events = agent.tip().seq;
    let mut viewer = Browser::new(&hub.base)?;
    ensure!(
        viewer.sign_in(tenant, "viewer@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let page = viewer.get(&format!("/console/devices/{device}/audit")).await?;
    ensure!(page.body.contains("The chain is intact"), "{}", page.body);
    ensure!(
        page.body.contains(&format!("{events} events from seq 1 to {events}")),
        "{}",
        page.body
    );
    let reference = viewer.get(&format!("/console/devices/{tenant}/audit")).await?;
    ensure!(
        reference.body.contains("The chain is intact")
            && reference.body.contains("by the tenant key"),
        "{}",
        reference.body
    );

    // Exports are a manager's; the staff logs (PIN hashes) are never exported.
    ensure!(
        viewer.get(&format!("/console/devices/{device}/export")).await?.status
            == StatusCode::FORBIDDEN
    );
    hub.console_user(tenant, "manager@bistro.example", "manager").await?;
    let mut manager = Browser::new(&hub.base)?;
    ensure!(
        manager.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let staff_log = thorbis_sync_protocol::staff_log(tenant, location);
    ensure!(
        manager.get(&format!("/console/devices/{staff_log}/export")).await?.status
            == StatusCode::NOT_FOUND
    );
    ensure!(
        manager.get(&format!("/console/devices/{staff_log}/audit")).await?.status
            == StatusCode::NOT_FOUND
    );
    // The export verifies offline, with the hub binary and no database; altered, it fails.
    let export = manager.get(&format!("/console/devices/{device}/export")).await?;
    ensure!(export.status == StatusCode::OK);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("export.json");
    std::fs::write(&file, &export.body)?;
    let verify = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_thorbis-hub"))
            .arg("verify-export")
            .arg(file)
            .output()
    };
    let ok = verify(&file)?;
    let said = String::from_utf8_lossy(&ok.stdout);
    // With the tenant key from the console's audit page: checked against it.
    let key = page
        .body
        .split("id=\"tenant-key\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the tenant key")?
        .to_owned();
    let other_key = "ab".repeat(32);
    let keyed = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_thorbis-hub"))
            .args(["verify-export", "--tenant-key", key])
            .arg(&file)
            .output()
    };
    ensure!(keyed(&key)?.status.success(), "the console's key checks the export");
    ensure!(!keyed(&other_key)?.status.success(), "another tenant key does not");
    ensure!(
        ok.status.success() && said.contains(&format!("{events} events")),
        "{said} {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut doc: serde_json::Value = serde_json::from_str(&export.body)?;
    doc["events"][1]["payload"] = serde_json::Value::String("00".into());
    let altered = dir.path().join("altered.json");
    std::fs::write(&altered, doc.to_string())?;
    let refused = verify(&altered)?;
    let why = String::from_utf8_lossy(&refused.stderr);
    ensure!(!refused.status.success() && why.contains("seq 3 does not link"), "{why}");

    // A row altered in the database is found by the console's audit.
    let admin = hub.superuser().await?;
    admin
        .execute(
            "UPDATE events SET payload = '\\x00' WHERE tenant_id = $1 AND device_id = $2 AND seq = 2",
            &[&tenant, &device],
        )
        .await?;
    let broken = viewer.get(&format!("/console/devices/{device}/audit")).await?;
    ensure!(
        broken.body.contains("The chain is broken") && broken.body.contains("seq 3"),
        "{}",
        broken.body
    );
    hub.stop().await
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one account's life: invited, reset, two-step, signed out"
)]
async fn invitations_and_resets_work_once_and_die_with_their_owner() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    hub.console_user(tenant, "manager@bistro.example", "manager").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&owner.get("/console/users").await?.body, "csrf")?;

    // Only an owner invites.
    let mut manager = Browser::new(&hub.base)?;
    ensure!(
        manager.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let manager_csrf = field(&manager.get("/console/users").await?.body, "csrf")?;
    let denied = manager
        .post(
            "/console/users/invite",
            &[("csrf", &manager_csrf), ("email", "x@bistro.example"), ("role", "owner")],
        )
        .await?;
    ensure!(denied.status == StatusCode::FORBIDDEN, "{}", denied.status);

    let invited = owner
        .post(
            "/console/users/invite",
            &[("csrf", &csrf), ("email", "New@Bistro.example"), ("role", "viewer")],
        )
        .await?;
    ensure!(invited.status == StatusCode::OK, "{} {}", invited.status, invited.body);
    let url = invited
        .body
        .split("<code id=\"link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the link")?
        .replace("&amp;", "&");
    let path = url
        .split_once("/console/")
        .map(|(_, p)| format!("/console/{p}"))
        .context("a console path")?;
    let token = path.split("token=").nth(1).context("a token")?.to_owned();
    let business = tenant.to_string();

    let mut newcomer = Browser::new(&hub.base)?;
    let page = newcomer.get(&path).await?;
    ensure!(
        page.status == StatusCode::OK && page.body.contains("new@bistro.example"),
        "{}",
        page.body
    );
    let accept = |password: &'static str, again: &'static str| {
        vec![
            ("business", business.clone()),
            ("token", token.clone()),
            ("password", password.to_owned()),
            ("again", again.to_owned()),
        ]
    };
    let post = async |b: &mut Browser, form: Vec<(&str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
        b.post("/console/accept", &pairs).await
    };
    let differ = post(&mut newcomer, accept("a long enough secret", "another long secret")).await?;
    ensure!(differ.status == StatusCode::UNPROCESSABLE_ENTITY && differ.body.contains("differ"));
    let done = post(&mut newcomer, accept("a long enough secret", "a long enough secret")).await?;
    ensure!(done.status == StatusCode::SEE_OTHER, "{} {}", done.status, done.body);
    let again = post(&mut newcomer, accept("yet another secret!", "yet another secret!")).await?;
    ensure!(again.status == StatusCode::GONE, "a link works once: {}", again.status);
    ensure!(newcomer.get(&path).await?.status == StatusCode::GONE);
    ensure!(
        newcomer.sign_in(tenant, "new@bistro.example", "a long enough secret").await?.status
            == StatusCode::SEE_OTHER
    );
    ensure!(newcomer.get("/console").await?.body.contains("new@bistro.example · viewer"));

    // The owner resets the newcomer's password: their session ends, the new password works.
    let users = owner.get("/console/users").await?;
    let row = users
        .body
        .split("<tr data-user=\"")
        .find(|r| r.contains("new@bistro.example"))
        .context("the newcomer's row")?;
    let id = row.split('"').next().context("an id")?.to_owned();
    let reset = owner.post(&format!("/console/users/{id}/reset"), &[("csrf", &csrf)]).await?;
    let url = reset
        .body
        .split("<code id=\"link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the reset link")?
        .replace("&amp;", "&");
    let reset_token = url.split("token=").nth(1).context("a token")?.to_owned();
    let form = vec![
        ("business", business.clone()),
        ("token", reset_token),
        ("password", "the new long secret".to_owned()),
        ("again", "the new long secret".to_owned()),
    ];
    ensure!(post(&mut Browser::new(&hub.base)?, form).await?.status == StatusCode::SEE_OTHER);
    ensure!(
        newcomer.get("/console").await?.status == StatusCode::SEE_OTHER,
        "the old session ended"
    );
    ensure!(
        newcomer.sign_in(tenant, "new@bistro.example", "a long enough secret").await?.status
            == StatusCode::UNAUTHORIZED
    );
    ensure!(
        newcomer.sign_in(tenant, "new@bistro.example", "the new long secret").await?.status
            == StatusCode::SEE_OTHER
    );

    // A link stops working once the owner who made it is deactivated.
    hub.console_user(tenant, "second@bistro.example", "owner").await?;
    let mut second = Browser::new(&hub.base)?;
    ensure!(
        second.sign_in(tenant, "second@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let second_csrf = field(&second.get("/console/users").await?.body, "csrf")?;
    let late = second
        .post(
            "/console/users/invite",
            &[("csrf", &second_csrf), ("email", "late@bistro.example"), ("role", "owner")],
        )
        .await?;
    let late_url = late
        .body
        .split("<code id=\"link\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the link")?
        .replace("&amp;", "&");
    let late_path =
        late_url.split_once("/console/").map(|(_, p)| format!("/console/{p}")).context("a path")?;
    ensure!(Browser::new(&hub.base)?.get(&late_path).await?.status == StatusCode::OK);
    let users = owner.get("/console/users").await?;
    let row = users
        .body
        .split("<tr data-user=\"")
        .find(|r| r.contains("second@bistro.example"))
        .context("row")?;
    let second_id = row.split('"').next().context("id")?.to_owned();
    ensure!(
        owner
            .post(&format!("/console/users/{second_id}/deactivate"), &[("csrf", &csrf)])
            .await?
            .status
            == StatusCode::SEE_OTHER
    );
    ensure!(
        Browser::new(&hub.base)?.get(&late_path).await?.status == StatusCode::GONE,
        "a deactivated owner's link"
    );

    hub.stop().await
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "a token's life: made, used in scope, moved, revoked")]
async fn api_tokens_are_scoped_shown_once_and_revocable() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bistro").await?;
    let (other, _) = hub.tenant("Other").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&owner.get("/console/account").await?.body, "csrf")?;
    let make = async |b: &mut Browser, name: &str, scope: &str| -> Result<String> {
        let page = b
            .post(
                "/console/account/tokens",
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("scope", scope),
                    ("password", CONSOLE_PASSWORD),
                ],
            )
            .await?;
        ensure!(page.status == StatusCode::OK, "{} {}", page.status, page.body);
        Ok(page
            .body
            .split("<code id=\"new-token\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .context("the token")?
            .to_owned())
    };
    let no_password = owner
        .post(
            "/console/account/tokens",
            &[("csrf", &csrf), ("name", "x"), ("scope", "write"), ("password", "wrong")],
        )
        .await?;
    ensure!(no_password.status == StatusCode::FORBIDDEN, "a stolen session alone makes no token");
    let read = make(&mut owner, "Nightly export", "read").await?;
    let write = make(&mut owner, "Menu sync", "write").await?;
    let listed = owner.get("/console/account").await?.body;
    ensure!(listed.contains("Nightly export") && !listed.contains(&read), "a token is shown once");

    let api = |token: &str, method: reqwest::Method, path: &str| {
        hub.http.request(method, format!("{}{path}", hub.base)).bearer_auth(token)
    };
    let range = format!("location={location}&from=2024-07-01&to=2024-07-03");
    for path in [
        format!("/api/v1/console/reports/items?{range}"),
        format!("/api/v1/console/orders?{range}"),
        "/api/v1/console/catalog".into(),
        "/api/v1/console/locations".into(),
    ] {
        let answer = api(&read, reqwest::Method::GET, &path).send().await?;
        ensure!(answer.status() == StatusCode::OK, "{path}: {}", answer.status());
    }
    let body =
        api(&read, reqwest::Method::GET, &format!("/api/v1/console/reports/summary?{range}"))
            .send()
            .await?
            .json::<serde_json::Value>()
            .await?;
    ensure!(body["rows"]["orders"] == 0 && body["time_zone"] == "UTC", "{body}");
    // Read tokens change nothing; write tokens do, without a CSRF header.
    let create = |token: &str| {
        api(token, reqwest::Method::POST, "/api/v1/console/locations")
            .json(&serde_json::json!({ "name": "Annex" }))
    };
    ensure!(create(&read).send().await?.status() == StatusCode::FORBIDDEN);
    ensure!(create(&write).send().await?.status() == StatusCode::OK);
    ensure!(
        api(&write, reqwest::Method::POST, "/api/v1/console/logout").send().await?.status()
            == StatusCode::FORBIDDEN,
        "a token is no session"
    );
    // The same secret under another tenant's id opens nothing; nor does a revoked token.
    let moved = write.replacen(&tenant.simple().to_string(), &other.simple().to_string(), 1);
    ensure!(
        api(&moved, reqwest::Method::GET, "/api/v1/console/catalog").send().await?.status()
            == StatusCode::UNAUTHORIZED
    );
    let page = owner.get("/console/account").await?.body;
    let row = page
        .split("<tr data-token=\"")
        .find(|r| r.contains("Menu sync"))
        .context("the write token's row")?;
    let id = row.split('"').next().context("id")?.to_owned();
    ensure!(
        owner
            .post(&format!("/console/account/tokens/{id}/revoke"), &[("csrf", &csrf)])
            .await?
            .status
            == StatusCode::OK
    );
    ensure!(
        api(&write, reqwest::Method::GET, "/api/v1/console/catalog").send().await?.status()
            == StatusCode::UNAUTHORIZED
    );
    ensure!(
        api(&read, reqwest::Method::GET, "/api/v1/console/catalog").send().await?.status()
            == StatusCode::OK
    );
    // Signing out everywhere revokes the user's tokens too.
    ensure!(
        owner.post("/console/account/sign-out-everywhere", &[("csrf", &csrf)]).await?.status
            == StatusCode::SEE_OTHER
    );
    ensure!(
        api(&read, reqwest::Method::GET, "/api/v1/console/catalog").send().await?.status()
            == StatusCode::UNAUTHORIZED
    );
    hub.stop().await
}

#[tokio::test]
async fn two_step_sign_in_asks_for_each_code_once_and_sign_out_everywhere_ends_every_session()
-> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "manager@bistro.example", "manager").await?;
    let business = tenant.to_string();
    let mut manager = Browser::new(&hub.base)?;
    ensure!(
        manager.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let manager_csrf = field(&manager.get("/console/account").await?.body, "csrf")?;
    // Two-step sign-in: on with a code from the key, then required, and each code once.
    let account = manager.get("/console/account").await?;
    let secret = field(&account.body, "secret")?;
    let secret: Vec<u8> = (0..20)
        .map(|i| u8::from_str_radix(&secret[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()?;
    let code = |now: u64| {
        format!("{:06}", thorbis_hub::totp::code(&secret, thorbis_hub::totp::step_at(now)))
    };
    let wrong = manager
        .post(
            "/console/account/totp/on",
            &[
                ("csrf", &manager_csrf),
                ("secret", &field(&account.body, "secret")?),
                ("code", "000000"),
            ],
        )
        .await?;
    ensure!(wrong.status == StatusCode::UNPROCESSABLE_ENTITY || code(NOW_MS) == "000000");
    let on = manager
        .post(
            "/console/account/totp/on",
            &[
                ("csrf", &manager_csrf),
                ("secret", &field(&account.body, "secret")?),
                ("code", &code(NOW_MS)),
            ],
        )
        .await?;
    ensure!(on.status == StatusCode::OK && on.body.contains("id=\"totp-on\""), "{}", on.body);
    // With it on, a stolen session cannot swap in a key of its own, even with its code.
    let theirs = [0x11_u8; 20];
    let their_code =
        format!("{:06}", thorbis_hub::totp::code(&theirs, thorbis_hub::totp::step_at(NOW_MS)));
    let their_hex = "11".repeat(20);
    let swap = [
        ("csrf", manager_csrf.as_str()),
        ("secret", their_hex.as_str()),
        ("code", their_code.as_str()),
    ];
    ensure!(
        manager.post("/console/account/totp/on", &swap).await?.status
            == StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut other = Browser::new(&hub.base)?;
    ensure!(
        other.sign_in(tenant, "manager@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::UNAUTHORIZED,
        "the code is required"
    );
    hub.clock.set(NOW_MS + 30_000);
    let with_code = async |b: &mut Browser, code: &str| -> Result<StatusCode> {
        let page = b.get(&format!("/console/signin?business={tenant}")).await?;
        let token = field(&page.body, "login_token")?;
        let form = [
            ("login_token", token.as_str()),
            ("business", business.as_str()),
            ("email", "manager@bistro.example"),
            ("password", CONSOLE_PASSWORD),
            ("code", code),
        ];
        Ok(b.post("/console/signin", &form).await?.status)
    };
    ensure!(
        with_code(&mut other, &code(NOW_MS)).await? == StatusCode::UNAUTHORIZED,
        "a spent code"
    );
    let fresh = code(NOW_MS + 30_000);
    ensure!(with_code(&mut other, &fresh).await? == StatusCode::SEE_OTHER);
    ensure!(
        with_code(&mut Browser::new(&hub.base)?, &fresh).await? == StatusCode::UNAUTHORIZED,
        "a code works once"
    );

    // Signing out everywhere ends both of the manager's sessions.
    let other_csrf = field(&other.get("/console/account").await?.body, "csrf")?;
    ensure!(
        other.post("/console/account/sign-out-everywhere", &[("csrf", &other_csrf)]).await?.status
            == StatusCode::SEE_OTHER
    );
    ensure!(manager.get("/console").await?.status == StatusCode::SEE_OTHER);
    ensure!(other.get("/console").await?.status == StatusCode::SEE_OTHER);
    hub.stop().await
}

#[tokio::test]
async fn password_guesses_from_a_session_lock_the_account_like_sign_in() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Bistro").await?;
    hub.console_user(tenant, "owner@bistro.example", "owner").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&owner.get("/console/account").await?.body, "csrf")?;
    let change = |current: &'static str| {
        vec![
            ("current", current),
            ("new", "a brand new password"),
            ("again", "a brand new password"),
        ]
    };
    for _ in 0..thorbis_hub::http::console::MAX_FAILED_LOGINS {
        let mut form = change("not my password");
        form.insert(0, ("csrf", csrf.as_str()));
        ensure!(
            owner.post("/console/account/password", &form).await?.status == StatusCode::FORBIDDEN
        );
    }
    // Locked: the right password is refused too, here and at sign-in, until the lockout ends.
    let mut form = change(CONSOLE_PASSWORD);
    form.insert(0, ("csrf", csrf.as_str()));
    ensure!(owner.post("/console/account/password", &form).await?.status == StatusCode::FORBIDDEN);
    ensure!(
        Browser::new(&hub.base)?
            .sign_in(tenant, "owner@bistro.example", CONSOLE_PASSWORD)
            .await?
            .status
            == StatusCode::UNAUTHORIZED
    );
    hub.clock.set(NOW_MS + thorbis_hub::http::console::LOCKOUT_MS + 1);
    ensure!(owner.post("/console/account/password", &form).await?.status == StatusCode::OK);
    hub.stop().await
}

/// The exceptions report lists each void, comp, discount and refund of the location's
/// range with its amount, reason and approver, on the page and as CSV; a fact the hub
/// quarantined (approved by someone the tenant does not have) is not among them.
#[tokio::test]
async fn voids_comps_discounts_and_refunds_are_reported_with_who_approved_them() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Diner").await?;
    hub.console_user(tenant, "owner@diner.example", "owner").await?;
    let manager = Some(hub.manager(tenant, "Morgan").await?);
    let mut pos = hub.agent(tenant, location, 1).await?;
    for (i, fact) in exception_facts(manager).iter().enumerate() {
        pos.append(fact, NOW_MS - 60_000 + i as u64);
    }
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let quarantined = body["quarantined"].as_array().context("quarantined")?;
    ensure!(quarantined.len() == 1, "only the forged void is quarantined: {body}");

    let mut owner =
        Browser::signed_in(&hub.base, tenant, "owner@diner.example", CONSOLE_PASSWORD).await?;
    let query = format!("location={location}&from=2024-07-03&to=2024-07-03");
    let page = owner.get(&format!("/console/reports?{query}")).await?;
    ensure!(page.status == StatusCode::OK, "{}", page.status);
    let table = page.body.split("id=\"exception-table\"").nth(1).context("the exceptions")?;
    let table = table.split("</table>").next().unwrap_or_default();
    for expected in ["Comp", "Void", "Discount", "Refund", "Coffee", "Muffin", "rang twice"] {
        ensure!(table.contains(expected), "{expected} missing: {table}");
    }
    ensure!(table.matches("Morgan").count() == 4, "{table}");
    ensure!(!table.contains("forged"), "a quarantined fact is reported: {table}");
    let held = page.body.split("id=\"quarantined-table\"").nth(1).context("quarantined")?;
    let held = held.split("</table>").next().unwrap_or_default();
    ensure!(held.matches("<tr>").count() == 2 && held.contains("order.line_voided"), "{held}");

    let csv = owner.get(&format!("/console/reports/exceptions.csv?{query}")).await?;
    ensure!(csv.status == StatusCode::OK, "{}", csv.status);
    let rows: Vec<&str> = csv.body.lines().collect();
    ensure!(rows.len() == 5, "a header and four rows: {}", csv.body);
    ensure!(rows[0].starts_with("time,kind,order_id,item,amount"), "{}", rows[0]);
    let comp = rows.iter().find(|r| r.contains(",Comp,")).context("the comp")?;
    ensure!(comp.contains("Coffee") && comp.contains("350") && comp.contains("Morgan"), "{comp}");
    let discount = rows.iter().find(|r| r.contains(",Discount,")).context("the discount")?;
    ensure!(
        discount.contains("10.00 %, whole order") && discount.contains("regular"),
        "{discount}"
    );
    let refund = rows.iter().find(|r| r.contains(",Refund,")).context("the refund")?;
    ensure!(refund.contains("100") && refund.contains("cash"), "{refund}");
    let held = owner.get(&format!("/console/reports/quarantined.csv?{query}")).await?;
    ensure!(held.body.lines().count() == 2, "{}", held.body);
    hub.stop().await
}

/// A sale with a comp, a void, a discount and a refund, each approved by `manager`, and a
/// void approved by nobody the tenant has.
fn exception_facts(
    manager: Option<thorbis_domain::ids::StaffId>,
) -> Vec<thorbis_domain::DomainEvent> {
    use thorbis_domain::DomainEvent as E;
    use thorbis_domain::events::{
        DiscountApplied, DiscountRule, DiscountScope, LineComped, LineVoided, OrderClosed,
        PaymentTaken, RefundIssued, Tender,
    };
    use thorbis_domain::ids::{DiscountId, LineId, OrderId, PaymentId, RefundId, StaffId};
    use thorbis_domain::money::Money;

    let id = fact_id;
    let order = OrderId(id(1));
    vec![
        opened(order),
        line(order, 2, "Coffee"),
        line(order, 3, "Muffin"),
        line(order, 4, "Juice"),
        E::LineComped(LineComped {
            order_id: order,
            line_id: LineId(id(2)),
            reason: "cold".into(),
            approved_by: manager,
        }),
        E::LineVoided(LineVoided {
            order_id: order,
            line_id: LineId(id(3)),
            reason: "rang twice".into(),
            approved_by: manager,
        }),
        E::DiscountApplied(DiscountApplied {
            order_id: order,
            discount_id: DiscountId(id(5)),
            scope: DiscountScope::Order,
            rule: DiscountRule::PercentBps(1000),
            reason: "regular".into(),
            approved_by: manager,
        }),
        E::PaymentTaken(PaymentTaken {
            order_id: order,
            payment_id: PaymentId(id(6)),
            amount: Money(3_15),
            tip: Money(0),
            tender: Tender::Cash { tendered: Money(3_15), change: Money(0) },
            drawer_session: None,
            taken_by: None,
        }),
        E::OrderClosed(OrderClosed { order_id: order, closed_by: None }),
        E::RefundIssued(RefundIssued {
            refund_id: RefundId(id(7)),
            order_id: order,
            amount: Money(1_00),
            lines: vec![],
            tender: Tender::Cash { tendered: Money(0), change: Money(0) },
            reason: "goodwill".into(),
            approved_by: manager,
            drawer_session: None,
        }),
        // Approved by nobody the tenant has: quarantined, never reported.
        E::LineVoided(LineVoided {
            order_id: order,
            line_id: LineId(id(4)),
            reason: "forged".into(),
            approved_by: Some(StaffId(id(99))),
        }),
    ]
}

/// The drawer report lists a session opened by one of the location's terminals with its
/// float, expected and counted cash, and how far over or short the count was; the payment
/// into it counts for the staff member who took it.
#[tokio::test]
async fn drawer_sessions_are_reported_with_what_was_over_or_short() -> Result<()> {
    use thorbis_domain::DomainEvent as E;
    use thorbis_domain::events::{
        DrawerClosed, DrawerCounted, DrawerOpened, OrderClosed, PaymentTaken, Tender,
    };
    use thorbis_domain::ids::{DrawerSessionId, OrderId, PaymentId};
    use thorbis_domain::money::{Currency, Money};

    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Corner Shop").await?;
    hub.console_user(tenant, "owner@corner.example", "owner").await?;
    let manager = Some(hub.manager(tenant, "Robin").await?);
    let mut register = hub.agent(tenant, location, 1).await?;
    let id = fact_id;
    let (drawer, order) = (DrawerSessionId(id(1)), OrderId(id(2)));
    let facts = [
        E::DrawerOpened(DrawerOpened {
            session_id: drawer,
            currency: Currency::USD,
            float: Money(100_00),
            opened_by: manager,
        }),
        opened(order),
        line(order, 3, "Milk"),
        E::PaymentTaken(PaymentTaken {
            order_id: order,
            payment_id: PaymentId(id(5)),
            amount: Money(3_50),
            tip: Money(0),
            tender: Tender::Cash { tendered: Money(5_00), change: Money(1_50) },
            drawer_session: Some(drawer),
            taken_by: manager,
        }),
        E::OrderClosed(OrderClosed { order_id: order, closed_by: None }),
        E::DrawerCounted(DrawerCounted { session_id: drawer, counted: Money(103_00), by: manager }),
        E::DrawerClosed(DrawerClosed { session_id: drawer, by: manager }),
    ];
    for (i, fact) in facts.iter().enumerate() {
        register.append(fact, NOW_MS - 60_000 + i as u64);
    }
    let (status, body) = hub.push(&register, &register.all()).await?;
    ensure!(status == StatusCode::OK && body["quarantined"] == serde_json::json!([]), "{body}");

    let mut owner =
        Browser::signed_in(&hub.base, tenant, "owner@corner.example", CONSOLE_PASSWORD).await?;
    let query = format!("location={location}&from=2024-07-03&to=2024-07-03");
    let page = owner.get(&format!("/console/reports?{query}")).await?;
    let table = page.body.split("id=\"drawer-table\"").nth(1).context("the drawers")?;
    let row = table.split("</tr>").nth(1).context("a session")?;
    for expected in ["2024-07-03 09:45", "Robin / Robin", "10000", "10350", "10300", "50 short"] {
        ensure!(row.contains(expected), "{expected} missing: {row}");
    }
    let staff = page.body.split("id=\"staff-table\"").nth(1).context("by staff")?;
    let staff = staff.split("</table>").next().unwrap_or_default();
    ensure!(staff.contains("<td>Robin</td><td>1</td>") && staff.contains("350"), "{staff}");
    let csv = owner.get(&format!("/console/reports/drawers.csv?{query}")).await?;
    let rows: Vec<&str> = csv.body.lines().collect();
    ensure!(rows.len() == 2 && rows[1].contains(",10350,10300,-50,"), "{}", csv.body);
    hub.stop().await
}

/// The id numbered `n` of a test's facts.
fn fact_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

/// A retail order in dollars, opened.
fn opened(order: thorbis_domain::ids::OrderId) -> thorbis_domain::DomainEvent {
    thorbis_domain::DomainEvent::OrderOpened(thorbis_domain::events::OrderOpened {
        order_id: order,
        currency: thorbis_domain::money::Currency::USD,
        mode: thorbis_domain::events::ServiceMode::Retail,
        table: None,
        guests: None,
        opened_by: None,
    })
}

/// Line `n` of `order`: one `name` at 3.50, untaxed.
fn line(order: thorbis_domain::ids::OrderId, n: u128, name: &str) -> thorbis_domain::DomainEvent {
    use thorbis_domain::ids::{ItemId, LineId};
    use thorbis_domain::money::{Money, Qty};
    thorbis_domain::DomainEvent::LineAdded(thorbis_domain::events::LineAdded {
        order_id: order,
        line_id: LineId(fact_id(n)),
        item_id: ItemId(fact_id(100 + n)),
        name: name.into(),
        unit_price: Money(3_50),
        qty: Qty(1000),
        modifiers: vec![],
        seat: None,
        course: None,
        taxes: vec![],
        station: None,
        note: None,
        price_override_by: None,
    })
}

/// The item of `form` (saved as `item_id`) tracks its stock with a reorder point of 5: with
/// 4 received, the stock report lists it as low.
async fn stock_is_reported_low_at_its_reorder_point(
    hub: &TestHub,
    owner: &mut Browser,
    (tenant, location): (Uuid, Uuid),
    form: &[(&str, &str)],
    item_id: Uuid,
) -> Result<()> {
    use thorbis_domain::DomainEvent as E;
    use thorbis_domain::events::{StockMoved, StockReason};
    let path = format!("/console/catalog/items/{item_id}");
    let mut tracked = form.to_vec();
    tracked.extend([("track_stock", "1"), ("reorder_point", "-1")]);
    let refused = owner.post(&path, &tracked).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("reorder point is a quantity"), "{}", refused.body);
    tracked.last_mut().context("the reorder point")?.1 = "5";
    let saved = owner.post(&path, &tracked).await?;
    ensure!(saved.status == StatusCode::SEE_OTHER, "{} {}", saved.status, saved.body);
    let edit = owner.get(&path).await?;
    ensure!(edit.body.contains("value=\"5\""), "the reorder point is kept");

    let mut register = hub.agent(tenant, location, 8).await?;
    register.append(
        &E::StockMoved(StockMoved {
            item_id: thorbis_domain::ids::ItemId(item_id),
            delta: thorbis_domain::money::Qty::units(4),
            reason: StockReason::Receive { note: "delivery".into() },
        }),
        NOW_MS,
    );
    let (status, body) = hub.push(&register, &register.all()).await?;
    ensure!(status == StatusCode::OK && body["quarantined"] == serde_json::json!([]), "{body}");
    let query = format!("location={location}&from=2024-07-03&to=2024-07-03");
    let page = owner.get(&format!("/console/reports?{query}")).await?;
    let table = page.body.split("id=\"stock-table\"").nth(1).context("the stock")?;
    let row = table.split("</tr>").nth(1).context("the item")?;
    ensure!(row.contains("Flat white") && row.contains("Low: reorder"), "{row}");
    let csv = owner.get(&format!("/console/reports/stock.csv?{query}")).await?;
    ensure!(
        csv.body.lines().nth(1).is_some_and(|r| r.ends_with(",Flat white,4,5,true")),
        "{}",
        csv.body
    );
    Ok(())
}

/// A tax category with its rate is added in one form (a percent with up to four decimals),
/// refused with a clear message when the rate is not a percent, then its rate changed.
async fn taxes_are_added_and_their_rates_changed(owner: &mut Browser, csrf: &str) -> Result<()> {
    let mut tax =
        vec![("csrf", csrf), ("category", "Food"), ("name", "Sales tax"), ("percent", "101")];
    let refused = owner.post("/console/catalog/taxes", &tax).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.body.contains("A rate is a percent"), "{}", refused.body);
    tax[3] = ("percent", "8.875");
    ensure!(owner.post("/console/catalog/taxes", &tax).await?.status == StatusCode::SEE_OTHER);
    let page = owner.get("/console/catalog").await?;
    let taxes = page.body.split("id=\"taxes\"").nth(1).context("the taxes")?;
    ensure!(taxes.contains("Food") && taxes.contains("Sales tax 8.875% (added on top)"), "{taxes}");
    let rate = page.body.split("data-rate=\"").nth(1).and_then(|s| s.split('"').next());
    let rate = rate.context("the rate's form")?;
    let path = format!("/console/catalog/taxes/rates/{rate}");
    let changed = owner.post(&path, &[("csrf", csrf), ("percent", "9")]).await?;
    ensure!(changed.status == StatusCode::SEE_OTHER, "{} {}", changed.status, changed.body);
    let page = owner.get("/console/catalog/items/new").await?;
    ensure!(page.body.contains(">Food</option>"), "items can be put in the tax category");
    let page = owner.get("/console/catalog").await?;
    ensure!(page.body.contains("Sales tax 9% (added on top)"), "{}", page.body);
    Ok(())
}

/// An import is previewed row by row (a change, a new item, a row in error), refused while
/// a row is in error, then published at once; the columns it leaves out keep their values.
async fn items_are_imported_from_csv_after_a_preview(
    hub: &TestHub,
    owner: &mut Browser,
    csrf: &str,
    location: Uuid,
) -> Result<()> {
    let published = "SELECT count(*) FROM events WHERE kind = 'catalog.item_upserted'";
    let before = hub.count(published).await?;
    ensure!(owner.get("/console/catalog/import").await?.status == StatusCode::OK);
    let bad = "name,price,category,tax_category\nFlat white,4.20,Coffee,Food\n\
               \"Espresso, double\",2.50,coffee,\nLatte,abc,Coffee,\n";
    let path = "/console/catalog/import";
    let page = owner.post(path, &[("csrf", csrf), ("csv", bad), ("action", "preview")]).await?;
    ensure!(page.status == StatusCode::OK, "{}", page.status);
    let table = page.body.split("id=\"import-table\"").nth(1).context("the preview")?;
    ensure!(table.contains("Changes price, tax category"), "{table}");
    ensure!(table.contains("Espresso, double</td><td>New"), "{table}");
    ensure!(table.contains("Error: ") && table.contains("Price"), "{table}");
    ensure!(!page.body.contains("id=\"import-apply\""), "no publishing with a row in error");
    let refused = owner.post(path, &[("csrf", csrf), ("csv", bad), ("action", "apply")]).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(hub.count(published).await? == before, "nothing was published");

    let good = bad.replace("Latte,abc", "Latte,3.90");
    let page = owner.post(path, &[("csrf", csrf), ("csv", &good), ("action", "preview")]).await?;
    ensure!(page.body.contains("id=\"import-apply\""), "{}", page.body);
    let done = owner.post(path, &[("csrf", csrf), ("csv", &good), ("action", "apply")]).await?;
    ensure!(done.status == StatusCode::SEE_OTHER, "{} {}", done.status, done.body);
    ensure!(hub.count(published).await? == before + 3, "three items published");
    let catalog = owner.get("/console/catalog").await?;
    let flat = catalog.body.split("data-item=").find(|r| r.contains("Flat white"));
    ensure!(flat.context("the item")?.contains("4.20"), "{}", catalog.body);
    // Left out of the file, its stock tracking and reorder point stay.
    let query = format!("location={location}&from=2024-07-03&to=2024-07-03");
    let stock = owner.get(&format!("/console/reports/stock.csv?{query}")).await?;
    ensure!(stock.body.contains(",Flat white,4,5,true"), "{}", stock.body);
    Ok(())
}

/// Posts `form` (owned values) as `owner`.
async fn post(
    owner: &mut Browser,
    path: &str,
    form: Vec<(&'static str, String)>,
) -> Result<support::pages::Answer> {
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    owner.post(path, &refs).await
}

/// Makes an enrollment code for `role` at `location` on the devices page: the page, and
/// the code it shows.
async fn issue_code(
    owner: &mut Browser,
    csrf: &str,
    location: Uuid,
    role: &str,
) -> Result<(String, String)> {
    let location_text = location.to_string();
    let issued = owner
        .post(
            "/console/devices/codes",
            &[("csrf", csrf), ("location_id", &location_text), ("role", role)],
        )
        .await?;
    ensure!(issued.status == StatusCode::OK, "{} {}", issued.status, issued.body);
    let code = issued
        .body
        .split("id=\"enrollment-code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the code is shown")?
        .to_owned();
    Ok((issued.body, code))
}

/// Enrolls a technician's laptop at `location` with a code made on the devices page.
async fn enroll_technician(
    hub: &TestHub,
    owner: &mut Browser,
    csrf: &str,
    location: Uuid,
) -> Result<Uuid> {
    let (_, code) = issue_code(owner, csrf, location, "technician").await?;
    let key = thorbis_sync_protocol::DeviceKey::from_seed(&[7; 32])?;
    let (status, enrolled) = hub.enroll_raw(&code, &key).await?;
    ensure!(status == StatusCode::OK, "{status} {enrolled}");
    Ok(enrolled["credential"]["device_id"].as_str().context("id")?.parse()?)
}

/// The dispatch board: a job made from the form (a repair order, its VIN checked), the
/// jobs nobody has, assigning one to a technician's laptop, and the job's page where the
/// dispatcher adds a note and moves the window, each shown in its history.
#[tokio::test]
async fn the_dispatch_board_makes_assigns_and_edits_jobs() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Plumbing").await?;
    hub.console_user(tenant, "owner@plumbing.example", "owner").await?;
    let mut owner = Browser::new(&hub.base)?;
    ensure!(
        owner.sign_in(tenant, "owner@plumbing.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    // A technician's laptop, enrolled with a code made on the devices page.
    let devices = owner.get("/console/devices").await?;
    let csrf = field(&devices.body, "csrf")?;
    let laptop = enroll_technician(&hub, &mut owner, &csrf, location).await?;

    let board = owner.get("/console/dispatch").await?;
    ensure!(
        board.status == StatusCode::OK
            && board.body.contains(&format!("data-technician=\"{laptop}\""))
    );
    let day = thorbis_domain::scan::Day::of_unix_ms(NOW_MS).to_string();
    let job = |vin: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", "Brake service".to_owned()),
            ("customer", "Grace Hopper".to_owned()),
            ("site_address", "Bay 2".to_owned()),
            ("day", day.clone()),
            ("start", "10:30".to_owned()),
            ("hours", "1.5".to_owned()),
            ("currency", "USD".to_owned()),
            ("checklist", "Check pads\nCheck discs".to_owned()),
            ("vin", vin.to_owned()),
            ("year", "2019".to_owned()),
            ("make", "Honda".to_owned()),
            ("model", "Civic".to_owned()),
        ]
    };
    // A mistyped VIN is refused with what to fix, the form kept.
    let refused = post(&mut owner, "/console/dispatch/jobs", job("1HGCM82633A004353")).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(
        refused.body.contains("check digit") && refused.body.contains("Grace Hopper"),
        "{}",
        refused.body
    );
    let made = post(&mut owner, "/console/dispatch/jobs", job("1HGCM82633A004352")).await?;
    ensure!(made.status == StatusCode::SEE_OTHER, "{} {}", made.status, made.body);
    let page = made.location.clone().context("the job's page")?;
    let id: Uuid = page
        .trim_start_matches("/console/dispatch/jobs/")
        .split('?')
        .next()
        .context("id")?
        .parse()?;
    let board = owner.get(&format!("/console/dispatch?day={day}")).await?;
    let unassigned = board.body.split("id=\"unassigned\"").nth(1).context("the unassigned list")?;
    ensure!(unassigned.contains(&format!("data-job=\"{id}\"")), "{}", board.body);

    let assigned = post(
        &mut owner,
        &format!("/console/dispatch/jobs/{id}/assign"),
        vec![("csrf", csrf.clone()), ("technician", laptop.to_string())],
    )
    .await?;
    ensure!(assigned.status == StatusCode::SEE_OTHER, "{}", assigned.status);
    let board = owner.get(&format!("/console/dispatch?day={day}")).await?;
    let theirs =
        board.body.split(&format!("data-technician=\"{laptop}\"")).nth(1).context("panel")?;
    ensure!(
        theirs.contains(&format!("data-job=\"{id}\"")) && theirs.contains("10:30"),
        "{}",
        board.body
    );

    for (what, form) in [
        ("note", vec![("csrf", csrf.clone()), ("text", "Customer waits in the lounge".to_owned())]),
        (
            "window",
            vec![
                ("csrf", csrf.clone()),
                ("day", day.clone()),
                ("start", "14:00".to_owned()),
                ("hours", "2".to_owned()),
            ],
        ),
    ] {
        let done = post(&mut owner, &format!("/console/dispatch/jobs/{id}/{what}"), form).await?;
        ensure!(done.status == StatusCode::SEE_OTHER, "{what}: {} {}", done.status, done.body);
    }
    let job_page = owner.get(&format!("/console/dispatch/jobs/{id}")).await?;
    ensure!(job_page.body.contains("Customer waits in the lounge"), "{}", job_page.body);
    ensure!(
        job_page.body.contains("14:00–16:00 UTC")
            && job_page.body.contains("VIN <code>1HGCM82633A004352"),
        "{}",
        job_page.body
    );
    ensure!(job_page.body.contains("Scheduled"), "the history starts: {}", job_page.body);
    hub.stop().await
}
