//! Tenant isolation through the web console: tenant A's owner, signed in, aims every
//! console page and form at tenant B's locations, devices, catalog, staff, alerts and
//! users. Nothing of B may show (B's names are markers no answer may contain), no form may
//! change B (B's rows are compared before and after), and A's session cookie re-pointed at
//! B opens nothing. The console's JSON API is covered the same way by `hub.rs`'s
//! `tenant_isolation`.

mod support;

use std::fmt::Write as _;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use support::pages::{Browser, field};
use support::{CONSOLE_PASSWORD, NOW_MS, TestHub};
use uuid::Uuid;

/// Words only tenant B's data holds.
const MARKERS: [&str; 9] = [
    "Beta Secret Co",
    "Beta Secret Tax",
    "Beta Secret Rate",
    "Beta Secret Street",
    "Beta Secret Item",
    "Beta Secret Group",
    "Beta Secret Category",
    "Beta Secret Staff",
    "owner@beta-secret.example",
];

/// Everything of B's the attacker aims at.
struct Targets {
    tenant: Uuid,
    location: Uuid,
    device: Uuid,
    item: String,
    group: String,
    staff: String,
    alert: String,
    user: String,
    rate: String,
}

/// Tenant B, built through its own owner's console and a terminal.
#[allow(clippy::too_many_lines, reason = "a whole tenant, page by page")]
async fn tenant_b(hub: &TestHub) -> Result<Targets> {
    let (tenant, location) = hub.tenant("Beta Secret Co").await?;
    hub.console_user(tenant, "owner@beta-secret.example", "owner").await?;
    let mut b = Browser::new(&hub.base)?;
    ensure!(
        b.sign_in(tenant, "owner@beta-secret.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&b.get("/console").await?.body, "csrf")?;
    let ok = |s: StatusCode| s == StatusCode::SEE_OTHER;
    let place = [
        ("csrf", csrf.as_str()),
        ("name", "Beta Secret Street"),
        ("address", "9 Secret Rd"),
        ("time_zone", "UTC"),
        ("currency", "EUR"),
        ("tax", ""),
    ];
    ensure!(ok(b.post(&format!("/console/locations/{location}"), &place).await?.status));
    ensure!(ok(b
        .post("/console/catalog/categories", &[("csrf", &csrf), ("name", "Beta Secret Category")])
        .await?
        .status));
    let group = [
        ("csrf", csrf.as_str()),
        ("name", "Beta Secret Group"),
        ("min", "0"),
        ("max", "1"),
        ("options", "Beta Secret Option = 1.00"),
    ];
    ensure!(ok(b.post("/console/catalog/groups", &group).await?.status));
    let tax = [
        ("csrf", csrf.as_str()),
        ("category", "Beta Secret Tax"),
        ("name", "Beta Secret Rate"),
        ("percent", "7"),
    ];
    ensure!(ok(b.post("/console/catalog/taxes", &tax).await?.status));
    let form = b.get("/console/catalog/items/new").await?.body;
    let group_id = form
        .split("name=\"groups\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("group")?
        .to_owned();
    let category = form
        .split("<option value=\"")
        .find(|o| o.contains("\">Beta Secret Category<"))
        .and_then(|o| o.split('"').next())
        .context("category")?
        .to_owned();
    let item = [
        ("csrf", csrf.as_str()),
        ("name", "Beta Secret Item"),
        ("price", "9.99"),
        ("category", category.as_str()),
        ("groups", group_id.as_str()),
        ("active", "1"),
    ];
    ensure!(ok(b.post("/console/catalog/items", &item).await?.status));
    let staff = [
        ("csrf", csrf.as_str()),
        ("name", "Beta Secret Staff"),
        ("role", "manager"),
        ("pin", "8642"),
        ("active", "1"),
    ];
    ensure!(ok(b.post("/console/staff", &staff).await?.status));
    let catalog = b.get("/console/catalog").await?.body;
    let item_id = catalog
        .split("data-item=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("item")?
        .to_owned();
    let rate = catalog
        .split("data-rate=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("rate")?
        .to_owned();
    let staff_page = b.get("/console/staff").await?.body;
    let staff_id = staff_page
        .split("data-staff=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("staff")?
        .to_owned();
    let users = b.get("/console/users").await?.body;
    let user_id = users
        .split("data-user=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("user")?
        .to_owned();
    // A terminal that sells, is revoked, and tries again: an order and an alert.
    let mut agent = hub.agent(tenant, location, 77).await?;
    agent.sale(1, NOW_MS);
    ensure!(hub.push(&agent, &agent.all()).await?.0 == StatusCode::OK);
    let device = Uuid::from_bytes(*agent.device_id.as_bytes());
    ensure!(ok(b
        .post(&format!("/console/devices/{device}/revoke"), &[("csrf", &csrf)])
        .await?
        .status));
    agent.sale(2, NOW_MS);
    ensure!(hub.push(&agent, &agent.all()).await?.0 == StatusCode::FORBIDDEN);
    let alerts = b.get("/console/alerts").await?.body;
    let alert = alerts
        .split("data-alert=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("alert")?
        .to_owned();
    Ok(Targets {
        tenant,
        location,
        device,
        item: item_id,
        group: group_id,
        staff: staff_id,
        alert,
        user: user_id,
        rate,
    })
}

/// B's rows as text, read as the superuser: what no request of A's may change.
async fn b_state(hub: &TestHub, tenant: Uuid) -> Result<String> {
    let admin = hub.superuser().await?;
    let mut state = String::new();
    for table in [
        "locations",
        "devices",
        "events",
        "console_users",
        "console_links",
        "alerts",
        "aggregates",
        "orders",
        "enrollment_codes",
    ] {
        let row = admin
            .query_one(&format!("SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t WHERE tenant_id = $1"), &[&tenant])
            .await?;
        let _ = write!(state, "{table}:{}:{};", row.get::<_, i64>(0), row.get::<_, String>(1));
    }
    Ok(state)
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "every console route, listed where it is aimed")]
async fn console_pages_show_and_change_nothing_of_another_tenant() -> Result<()> {
    let hub = TestHub::start().await?;
    let b = tenant_b(&hub).await?;
    let (tenant_a, location_a) = hub.tenant("Alpha Co").await?;
    hub.console_user(tenant_a, "owner@alpha.example", "owner").await?;
    let mut a = Browser::new(&hub.base)?;
    ensure!(
        a.sign_in(tenant_a, "owner@alpha.example", CONSOLE_PASSWORD).await?.status
            == StatusCode::SEE_OTHER
    );
    let csrf = field(&a.get("/console").await?.body, "csrf")?;
    let before = b_state(&hub, b.tenant).await?;

    let range = format!("location={}&from=2024-07-01&to=2024-07-31", b.location);
    let reads = [
        "/console".to_owned(),
        "/console/locations".to_owned(),
        format!("/console/locations/{}", b.location),
        "/console/devices".to_owned(),
        format!("/console/devices/{}", b.device),
        format!("/console/devices/{}/audit", b.device),
        format!("/console/devices/{}/export", b.device),
        format!("/console/devices/{}/audit", b.tenant),
        format!("/console/devices/{}/export", b.tenant),
        "/console/catalog".to_owned(),
        "/console/catalog/items/new".to_owned(),
        format!("/console/catalog/items/{}", b.item),
        "/console/catalog/groups/new".to_owned(),
        "/console/catalog/import".to_owned(),
        format!("/console/catalog/groups/{}", b.group),
        "/console/reports".to_owned(),
        format!("/console/reports?{range}"),
        format!("/console/reports/items.csv?{range}"),
        format!("/console/reports/summary.csv?{range}"),
        format!("/console/reports/staff.csv?{range}"),
        format!("/console/reports/exceptions.csv?{range}"),
        format!("/console/reports/drawers.csv?{range}"),
        format!("/console/reports/quarantined.csv?{range}"),
        format!("/console/reports/stock.csv?{range}"),
        "/console/staff".to_owned(),
        "/console/staff/new".to_owned(),
        format!("/console/staff/{}", b.staff),
        "/console/alerts".to_owned(),
        "/console/users".to_owned(),
        "/console/account".to_owned(),
        format!("/console/accept?business={}&token={}", b.tenant, "0".repeat(64)),
        format!("/console/signin?business={}", b.tenant),
    ];
    let place = b.location.to_string();
    let writes: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/console/locations/{}", b.location),
            vec![("name", "Taken"), ("time_zone", "UTC"), ("currency", "USD")],
        ),
        ("/console/locations".into(), vec![("name", "Alpha annex")]),
        (format!("/console/devices/{}", b.device), vec![("name", "Taken")]),
        (format!("/console/devices/{}/revoke", b.device), vec![]),
        ("/console/devices/codes".into(), vec![("location_id", &place), ("role", "pos")]),
        (
            format!("/console/catalog/items/{}", b.item),
            vec![("name", "Taken"), ("price", "1"), ("active", "1")],
        ),
        (
            "/console/catalog/items".into(),
            vec![("name", "Alpha item"), ("price", "1"), ("groups", &b.group)],
        ),
        (
            format!("/console/catalog/groups/{}", b.group),
            vec![("name", "Taken"), ("min", "0"), ("max", "1"), ("options", "x")],
        ),
        ("/console/catalog/categories".into(), vec![("name", "Alpha category")]),
        (
            "/console/catalog/import".into(),
            vec![
                ("csv", "name,price,category\nBeta Secret Item,1,Beta Secret Category"),
                ("action", "apply"),
            ],
        ),
        (format!("/console/catalog/taxes/rates/{}", b.rate), vec![("percent", "5")]),
        (
            "/console/catalog/taxes".into(),
            vec![("category", "Alpha tax"), ("name", "Alpha rate"), ("percent", "5")],
        ),
        (
            format!("/console/staff/{}", b.staff),
            vec![("name", "Taken"), ("role", "owner"), ("pin", "1111"), ("active", "1")],
        ),
        (
            "/console/staff".into(),
            vec![
                ("name", "Alpha staff"),
                ("role", "cashier"),
                ("pin", "1234"),
                ("locations", &place),
            ],
        ),
        (format!("/console/alerts/{}/acknowledge", b.alert), vec![]),
        (format!("/console/users/{}/reset", b.user), vec![]),
        (format!("/console/users/{}/deactivate", b.user), vec![]),
        (
            "/console/users/invite".into(),
            vec![("email", "owner@beta-secret.example"), ("role", "owner")],
        ),
    ];
    let (mut attempts, mut leaks) = (0, Vec::new());
    for path in &reads {
        attempts += 1;
        let answer = a.get(path).await?;
        if let Some(marker) = MARKERS.iter().find(|m| answer.body.contains(**m)) {
            leaks.push(format!("GET {path} showed {marker:?}"));
        }
    }
    for (path, form) in &writes {
        attempts += 1;
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let answer = a.post(path, &fields).await?;
        // What the form itself sent may come back (an invitation of B's email is A's own
        // invitation); anything else of B's may not.
        let sent = |m: &str| form.iter().any(|(_, v)| v.contains(m));
        if let Some(marker) = MARKERS.iter().find(|m| answer.body.contains(**m) && !sent(m)) {
            leaks.push(format!("POST {path} showed {marker:?}"));
        }
    }
    // A's session cookie pointed at B: no page opens.
    let cookie = a.cookie("thorbis_console").context("A's session")?.replacen(
        &tenant_a.to_string(),
        &b.tenant.to_string(),
        1,
    );
    let mut forged = Browser::new(&hub.base)?;
    forged.cookies.push(("thorbis_console".into(), cookie));
    for path in &reads[..24] {
        attempts += 1;
        let answer = forged.get(path).await?;
        if answer.status != StatusCode::SEE_OTHER
            || MARKERS.iter().any(|m| answer.body.contains(*m))
        {
            leaks.push(format!("re-pointed cookie: GET {path} answered {}", answer.status));
        }
    }
    attempts += 1;
    if b_state(&hub, b.tenant).await? != before {
        leaks.push("B's rows changed".into());
    }
    // The attempts were real: A's own pages work, and A's own location is there.
    ensure!(a.get(&format!("/console/locations/{location_a}")).await?.status == StatusCode::OK);
    report(attempts, leaks.len());
    ensure!(leaks.is_empty(), "{} of {attempts} attempts leaked: {leaks:#?}", leaks.len());
    hub.stop().await
}

#[allow(clippy::print_stdout, reason = "the isolation result line is the test's report")]
fn report(attempts: usize, leaks: usize) {
    println!("RESULT console_isolation attempts={attempts} leaks={leaks}");
}
