//! The hub end to end: real Postgres (a throwaway cluster for this binary, a fresh database
//! per test), real HTTP on 127.0.0.1:0, agent-side data built with the protocol and domain
//! crates.

mod support;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    Agent, BODY_LIMIT, CONSOLE_PASSWORD, MAX_BATCH_EVENTS, NOW_MS, TestHub, signed_post,
};
use thorbis_domain::DomainEvent;
use thorbis_domain::events::{
    DrawerOpened, OrderClosed, PaymentTaken, StockMoved, StockReason, Tender,
};
use thorbis_domain::ids::{DrawerSessionId, ItemId, OrderId, PaymentId};
use thorbis_domain::money::{Currency, Money, Qty};
use thorbis_hub::identity::{Credential, Role};
use thorbis_hub::testing::Backend;
use thorbis_sync_protocol::{
    Batch, ChainTip, DeviceId, DeviceKey, PublicKey, Signature, batch_to_json, verify_chain,
};
use uuid::Uuid;

/// Runs each named test, an `async fn(Backend) -> Result<()>` of this file, on plain
/// Postgres and on Citus (a coordinator and two workers): `postgres::<name>` and
/// `citus::<name>`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test]
            async fn $test() -> anyhow::Result<()> {
                super::$test(thorbis_hub::testing::Backend::Postgres).await
            })*
        }
        mod citus {
            $(#[tokio::test]
            async fn $test() -> anyhow::Result<()> {
                super::$test(thorbis_hub::testing::Backend::Citus).await
            })*
        }
    };
}

on_every_backend!(
    rls_audit,
    push_replays_are_idempotent,
    a_fork_is_refused_and_raises_an_alert,
    tenant_isolation,
    live_pull_across_two_hubs,
    live_pull_from_a_second_hub_process,
    a_fact_ahead_of_what_it_refers_to_folds_once_that_arrives,
);

/// Tables and counts that a refused request must leave unchanged. Device records that enrollments publish in the tenant's reference log are left out.
const STORED: &str = "SELECT (SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%')
    + (SELECT count(*) FROM chain_tips WHERE device_id <> tenant_id)
    + (SELECT count(*) FROM aggregates WHERE kind <> 'device') + (SELECT count(*) FROM orders)
    + (SELECT count(*) FROM order_lines) + (SELECT count(*) FROM payments)";

async fn rls_audit(backend: Backend) -> Result<()> {
    let hub = TestHub::start_on_backend(backend).await?;
    let db = hub.superuser().await?;
    let unprotected: Vec<String> = db
        .query(
            "SELECT c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND a.attname = 'tenant_id' AND NOT a.attisdropped)
                AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ensure!(unprotected.is_empty(), "tenant tables without ENABLE+FORCE RLS: {unprotected:?}");
    let tenant_tables: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind = 'r'
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')",
            &[],
        )
        .await?
        .get(0);
    ensure!(tenant_tables >= 16, "expected the 16 tenant tables, found {tenant_tables}");
    // Every tenant table's primary key leads with tenant_id.
    let bad_pk: Vec<String> = db
        .query(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE i.indisprimary AND n.nspname = 'public'
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
                AND (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = i.indkey[0]) <> 'tenant_id'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ensure!(bad_pk.is_empty(), "primary keys not led by tenant_id: {bad_pk:?}");
    let role = db
        .query_one(
            "SELECT rolsuper, rolbypassrls,
                    (SELECT count(*) FROM pg_class WHERE relowner = r.oid),
                    (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
               FROM pg_roles r WHERE rolname = 'thorbis_app'",
            &[],
        )
        .await?;
    ensure!(!role.get::<_, bool>(0), "app role is superuser");
    ensure!(!role.get::<_, bool>(1), "app role has BYPASSRLS");
    ensure!(role.get::<_, i64>(2) == 0, "app role owns {} relations", role.get::<_, i64>(2));
    ensure!(role.get::<_, i64>(3) == 0, "app role owns a schema");
    let views: Vec<(String, bool)> = db
        .query(
            "SELECT c.relname, coalesce('security_invoker=true' = ANY(c.reloptions), false)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
                -- An extension's own views (Citus's catalog views) are not the hub's.
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                   AND d.deptype = 'e')",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    ensure!(!views.is_empty(), "expected at least one view");
    ensure!(views.iter().all(|(_, invoker)| *invoker), "views without security_invoker: {views:?}");

    // Fail closed: with data present and no tenant set, the app role sees nothing.
    let (tenant, _) = hub.tenant("Audit Co").await?;
    let app = hub.app_role().await?;
    for table in ["tenants", "locations", "events", "orders"] {
        let n: i64 = app.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await?.get(0);
        ensure!(n == 0, "{table}: {n} rows visible with no tenant set");
    }
    // A transaction-local tenant does not outlive its transaction.
    app.batch_execute(&format!("BEGIN; SET LOCAL app.tenant_id = '{tenant}'")).await?;
    let n: i64 = app.query_one("SELECT count(*) FROM tenants", &[]).await?.get(0);
    ensure!(n == 1, "tenant set: expected its row, saw {n}");
    app.batch_execute("COMMIT").await?;
    let n: i64 = app.query_one("SELECT count(*) FROM tenants", &[]).await?.get(0);
    ensure!(n == 0, "after commit: {n} rows visible");
    // And the app role cannot switch RLS off or write without a tenant.
    ensure!(app.batch_execute("ALTER TABLE events NO FORCE ROW LEVEL SECURITY").await.is_err());
    ensure!(
        app.execute(
            "INSERT INTO locations (tenant_id, location_id, name, created_at_ms) VALUES ($1, $2, 'x', 0)",
            &[&tenant, &Uuid::now_v7()],
        )
        .await
        .is_err(),
        "insert without a tenant set must be refused"
    );
    if backend == Backend::Citus {
        citus_audit(&hub, tenant).await?;
    }
    hub.stop().await
}

/// On Citus: every tenant table is distributed by `tenant_id` and co-located with
/// `tenants` (the device directory is a reference table), and on every worker each shard
/// has ENABLE + FORCE row-level security and the tenant policy, and fails closed for the
/// app role connected to the worker itself.
async fn citus_audit(hub: &TestHub, tenant: Uuid) -> Result<()> {
    let db = hub.superuser().await?;
    let tables: Vec<(String, String, String, bool)> = db
        .query(
            "SELECT c.relname::text, coalesce(t.citus_table_type, 'local'),
                    coalesce(t.distribution_column, ''),
                    t.colocation_id IS NOT DISTINCT FROM
                      (SELECT colocation_id FROM citus_tables WHERE table_name = 'tenants'::regclass)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN citus_tables t ON t.table_name = c.oid
              WHERE n.nspname = 'public' AND c.relkind = 'r'
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    ensure!(tables.len() >= 17, "expected every tenant table, found {tables:?}");
    for (table, kind, column, colocated) in &tables {
        let ok = if table == "device_directory" {
            kind == "reference"
        } else {
            kind == "distributed" && column == "tenant_id" && *colocated
        };
        ensure!(ok, "{table}: {kind} by {column:?}, co-located: {colocated}");
    }
    // Each placement of a tenant table's shard, with the port of the worker holding it.
    let placements: Vec<(String, i32)> = db
        .query(
            "SELECT shard_name::text, nodeport FROM citus_shards
              WHERE nodeport <> inet_server_port()",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut tenant_rows = 0;
    for worker in &hub.db.workers {
        let su = support::connect(&worker.superuser_url).await?;
        // Citus hides shards from catalog queries unless asked.
        su.batch_execute("SET citus.show_shards_for_app_name_prefixes = '*'").await?;
        let port: i32 = su.query_one("SELECT inet_server_port()", &[]).await?.get(0);
        let shards: Vec<&str> =
            placements.iter().filter(|p| p.1 == port).map(|p| p.0.as_str()).collect();
        ensure!(!shards.is_empty(), "worker {port} holds no shards");
        for shard in &shards {
            let row = su
                .query_one(
                    "SELECT c.relrowsecurity AND c.relforcerowsecurity,
                            (SELECT count(*) FROM pg_policy p
                              WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
                       FROM pg_class c WHERE c.oid = to_regclass($1)",
                    &[shard],
                )
                .await
                .with_context(|| format!("shard {shard} on worker {port}"))?;
            ensure!(row.get::<_, bool>(0), "{shard} on worker {port}: RLS not ENABLE + FORCE");
            ensure!(row.get::<_, i64>(1) == 1, "{shard} on worker {port}: no tenant policy");
        }
        // Fail closed on the worker itself: the app role with no tenant sees no row of any
        // shard and cannot write one; with the tenant set it sees that tenant's rows.
        let app = support::connect(&worker.app_url).await?;
        for shard in shards.iter().filter(|s| s.starts_with("tenants_")) {
            let stored: i64 =
                su.query_one(&format!("SELECT count(*) FROM {shard}"), &[]).await?.get(0);
            tenant_rows += stored;
            let n: i64 = app.query_one(&format!("SELECT count(*) FROM {shard}"), &[]).await?.get(0);
            ensure!(n == 0, "{shard} on worker {port}: {n} rows visible with no tenant set");
            app.batch_execute(&format!("BEGIN; SET LOCAL app.tenant_id = '{tenant}'")).await?;
            let mine: i64 =
                app.query_one(&format!("SELECT count(*) FROM {shard}"), &[]).await?.get(0);
            app.batch_execute("ROLLBACK").await?;
            ensure!(
                mine == stored.min(1),
                "{shard} on worker {port}: saw {mine} with the tenant set"
            );
        }
        for shard in shards.iter().filter(|s| s.starts_with("locations_")) {
            let insert = format!(
                "INSERT INTO {shard} (tenant_id, location_id, name, created_at_ms)
                 VALUES ('{tenant}', '{}', 'x', 0)",
                Uuid::now_v7()
            );
            ensure!(
                app.batch_execute(&insert).await.is_err(),
                "{shard} on worker {port}: insert without a tenant set must be refused"
            );
        }
    }
    ensure!(tenant_rows >= 1, "the audit's tenant is on no worker's shard");
    Ok(())
}

#[tokio::test]
async fn healthz_metrics_and_openapi() -> Result<()> {
    let hub = TestHub::start().await?;
    let health = hub.http.get(format!("{}/healthz", hub.base)).send().await?;
    ensure!(health.status() == StatusCode::OK);
    let (tenant, location) = hub.tenant("Metrics Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    agent.sale(1, NOW_MS);
    let (status, _) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK);
    // Not public: only with the admin token.
    let anonymous = hub.http.get(format!("{}/metrics", hub.base)).send().await?;
    ensure!(anonymous.status() == StatusCode::UNAUTHORIZED, "{}", anonymous.status());
    let metrics = hub.http.get(format!("{}/metrics", hub.base)).bearer_auth(support::ADMIN_TOKEN);
    let text = metrics.send().await?.text().await?;
    ensure!(text.contains("thorbis_hub_events_ingested_total 4"), "{text}");
    ensure!(text.contains("thorbis_hub_push_requests_total{outcome=\"ok\"} 1"), "{text}");
    ensure!(text.contains("thorbis_hub_live_connections 0"), "{text}");
    let newest = agent.events.iter().map(|e| e.hlc.wall_ms).max().unwrap_or_default();
    let lag = hub.clock_now().saturating_sub(newest);
    let expected = format!("\nthorbis_hub_ingest_lag_seconds {}.{:03}\n", lag / 1000, lag % 1000);
    ensure!(text.contains(&expected), "{expected:?} in {text}");
    let doc: Value =
        hub.http.get(format!("{}/api/openapi.json", hub.base)).send().await?.json().await?;
    ensure!(doc["openapi"] == "3.1.0");
    for path in [
        "/healthz",
        "/metrics",
        "/api/v1/enroll",
        "/api/v1/sync/push",
        "/api/v1/sync/pull",
        "/api/v1/admin/tenants",
        "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/revoke",
        "/api/v1/admin/tenants/{tenant_id}/console-users",
        "/api/v1/console/login",
        "/api/v1/console/logout",
        "/api/v1/console/me",
        "/api/v1/console/locations",
        "/api/v1/console/enrollment-codes",
        "/api/v1/console/devices/{device_id}/revoke",
        "/api/v1/console/reference-events",
        "/api/v1/console/staff",
        "/api/v1/admin/tenants/{tenant_id}/staff",
        "/api/v1/admin/tenants/{tenant_id}/work-orders",
        "/api/v1/console/work-orders",
        "/api/v1/console/work-orders/{id}/assign",
        "/api/v1/console/work-orders/{id}/edit",
        "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/config",
        "/api/v1/console/devices",
        "/api/v1/console/devices/{device_id}/config",
        "/api/v1/console/users/{user_id}/deactivate",
        "/api/v1/console/password",
    ] {
        ensure!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    ensure!(doc["paths"]["/api/v1/console/users"]["get"].is_object());
    hub.stop().await
}

#[tokio::test]
async fn the_admin_api_makes_a_location_with_its_settings_or_none_at_all() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Harbour Foods").await?;
    let path = format!("/api/v1/admin/tenants/{tenant}/locations");
    for bad in [
        json!({ "name": "Quay", "time_zone": "Mars/Olympus_Mons", "currency": "EUR" }),
        json!({ "name": "Quay", "currency": "EURO" }),
        json!({ "name": "Quay", "colour": "red" }),
        json!({ "name": "Quay", "default_tax_bps": 20_000 }),
    ] {
        let (status, body) = hub.admin(&path, &bad).await?;
        ensure!(status.is_client_error(), "{bad}: {status} {body}");
    }
    ensure!(hub.count("SELECT count(*) FROM locations WHERE name = 'Quay'").await? == 0);
    let settings = json!({ "name": "Quay", "time_zone": "Europe/Dublin", "currency": "eur", "default_tax_bps": 2300 });
    let (status, body) = hub.admin(&path, &settings).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let stored = hub
        .count(
            "SELECT count(*) FROM locations WHERE name = 'Quay' AND time_zone = 'Europe/Dublin'
                AND currency_code = 'EUR' AND currency_exponent = 2 AND default_tax_bps = 2300",
        )
        .await?;
    ensure!(stored == 1, "the settings were not stored");
    Ok(())
}

#[tokio::test]
async fn enrollment_issues_a_credential_signed_by_the_tenant() -> Result<()> {
    let hub = TestHub::start().await?;
    let (status, body) = hub.admin("/api/v1/admin/tenants", &json!({ "name": "Cafe" })).await?;
    ensure!(status == StatusCode::OK, "{body}");
    let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
    let tenant_key: PublicKey = serde_json::from_value(body["public_key"].clone())?;
    let location = hub.location(tenant, "Front").await?;
    let code = hub.code(tenant, location, "kds").await?;
    ensure!(
        hub.count("SELECT count(*) FROM enrollment_codes WHERE code_hash = sha256(convert_to('x', 'UTF8'))").await? == 0
    );
    // Only the hash is stored: the code text appears nowhere in the table.
    let db = hub.superuser().await?;
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM enrollment_codes WHERE encode(code_hash, 'hex') = $1 OR code_hash = sha256(convert_to($1, 'UTF8'))",
            &[&code],
        )
        .await?
        .get(0);
    ensure!(stored == 1, "the code's hash should match exactly one row");

    let key = DeviceKey::from_seed(&[3; 32])?;
    let (status, body) = hub.enroll_raw(&code, &key).await?;
    ensure!(status == StatusCode::OK, "{body}");
    let credential: Credential = serde_json::from_value(body["credential"].clone())?;
    let signature: Signature = serde_json::from_value(body["signature"].clone())?;
    ensure!(credential.tenant_id == tenant && credential.location_id == location);
    ensure!(credential.role == Role::Kds && credential.public_key == key.public_key());
    ensure!(credential.expires_at_ms > NOW_MS);
    ensure!(
        credential.verify(&tenant_key, &signature),
        "credential must verify with the tenant key"
    );
    ensure!(
        body["credential_bytes"].as_str()
            == Some(thorbis_hub::identity::hex(&credential.canonical_bytes()).as_str())
    );
    ensure!(hub.count("SELECT count(*) FROM devices").await? == 1);
    // The tenant's signing key is sealed at rest: no PKCS#8 Ed25519 OID in the column.
    ensure!(
        hub.count(
            "SELECT count(*) FROM tenants WHERE signing_key_encrypted
                AND position('\\x06032b6570'::bytea in signing_key) = 0"
        )
        .await?
            == 1
    );

    // Reused code: refused, no second device.
    let (status, body) = hub.enroll_raw(&code, &DeviceKey::from_seed(&[4; 32])?).await?;
    ensure!(status == StatusCode::CONFLICT, "reused code: {status} {body}");
    ensure!(body["error"].as_str().unwrap_or_default().contains("already used"));
    ensure!(hub.count("SELECT count(*) FROM devices").await? == 1);

    // Expired code: refused.
    let code = hub.code(tenant, location, "pos").await?;
    hub.clock.set(NOW_MS + 600_001);
    let (status, body) = hub.enroll_raw(&code, &key).await?;
    ensure!(status == StatusCode::GONE, "expired code: {status} {body}");
    ensure!(body["error"].as_str().unwrap_or_default().contains("expired"));

    // Unknown code and malformed requests.
    let (status, _) = hub.enroll_raw(&"0".repeat(64), &key).await?;
    ensure!(status == StatusCode::NOT_FOUND);
    let response =
        hub.http.post(format!("{}/api/v1/enroll", hub.base)).body("{nope").send().await?;
    ensure!(response.status() == StatusCode::BAD_REQUEST);
    ensure!(hub.count("SELECT count(*) FROM devices").await? == 1);

    // Admin API without the token.
    let response = hub
        .http
        .post(format!("{}/api/v1/admin/tenants", hub.base))
        .json(&json!({ "name": "x" }))
        .send()
        .await?;
    ensure!(response.status() == StatusCode::UNAUTHORIZED);
    hub.stop().await
}

#[tokio::test]
async fn push_verifies_stores_and_projects_a_sale() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Shop").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    let order = agent.sale(1, NOW_MS);
    // An event of a kind this build does not know: stored, not folded.
    agent.append_raw("future.kind", b"opaque".to_vec(), NOW_MS + 10);
    // JSON batches are accepted too.
    let response = hub
        .signed(
            &agent,
            "/api/v1/sync/push",
            batch_to_json(&agent.all()).into_bytes(),
            &[("content-type", "application/json")],
        )
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status == StatusCode::OK, "{body}");
    ensure!(body["accepted"] == 5 && body["duplicates"] == 0, "{body}");
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%'").await? == 5);
    ensure!(
        hub.count(
            "SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%' AND signature IS NOT NULL"
        )
        .await?
            == 1
    );
    let db = hub.superuser().await?;
    let row = db
        .query_one(
            "SELECT status, subtotal, tax, total, paid, balance, location_id FROM orders WHERE order_id = $1",
            &[&order],
        )
        .await?;
    ensure!(row.get::<_, String>(0) == "closed");
    ensure!(
        row.get::<_, i64>(1) == 7_00 && row.get::<_, i64>(2) == 56 && row.get::<_, i64>(3) == 7_56
    );
    ensure!(row.get::<_, i64>(4) == 7_56 && row.get::<_, i64>(5) == 0);
    ensure!(row.get::<_, Option<Uuid>>(6) == Some(location));
    ensure!(
        hub.count("SELECT count(*) FROM order_lines WHERE qty_milli = 2000 AND net = 700").await?
            == 1
    );
    ensure!(
        hub.count("SELECT count(*) FROM payments WHERE tender = 'cash' AND amount = 756").await?
            == 1
    );
    ensure!(hub.count("SELECT count(*) FROM daily_sales").await? == 1);

    // Incremental push continues the chain.
    agent.sale(2, NOW_MS + 1000);
    let (status, body) = hub.push(&agent, &agent.batch(6, 9)).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 4, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await? == 2);
    ensure!(hub.count("SELECT seq FROM chain_tips WHERE device_id <> tenant_id").await? == 9);

    // Drawer and stock projections, with the domain's figures.
    let session = DrawerSessionId(Uuid::from_bytes([5; 16]));
    let item = ItemId(Uuid::from_bytes([9; 16]));
    for event in [
        DomainEvent::DrawerOpened(DrawerOpened {
            session_id: session,
            currency: Currency::USD,
            float: Money(100_00),
            opened_by: None,
        }),
        DomainEvent::PaymentTaken(PaymentTaken {
            order_id: OrderId(order),
            payment_id: PaymentId(Uuid::from_bytes([6; 16])),
            amount: Money(5_00),
            tip: Money(1_00),
            tender: Tender::Cash { tendered: Money(6_00), change: Money(0) },
            drawer_session: Some(session),
            taken_by: None,
        }),
        DomainEvent::StockMoved(StockMoved {
            item_id: item,
            delta: Qty(-2000),
            reason: StockReason::Sale { order_id: OrderId(order) },
        }),
        DomainEvent::StockMoved(StockMoved {
            item_id: item,
            delta: Qty(10_000),
            reason: StockReason::Receive { note: "delivery".into() },
        }),
    ] {
        agent.append(&event, NOW_MS + 2000);
    }
    let (status, body) = hub.push(&agent, &agent.batch(10, 13)).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(
        hub.count("SELECT expected_cash FROM drawer_sessions WHERE open").await? == 106_00,
        "float 100.00 + cash 5.00 + tip 1.00"
    );
    ensure!(hub.count("SELECT on_hand_milli FROM stock_levels").await? == 8000);
    ensure!(
        hub.count("SELECT count(*) FROM aggregate_links WHERE relation = 'drawer_order'").await?
            == 1
    );
    hub.stop().await
}

async fn push_replays_are_idempotent(backend: Backend) -> Result<()> {
    let hub = TestHub::start_on_backend(backend).await?;
    let (tenant, location) = hub.tenant("Replay Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    agent.sale(1, NOW_MS);
    agent.sale(2, NOW_MS + 100);
    let counts =
        "SELECT (SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%') * 1000000 + (SELECT count(*) FROM orders) * 10000
        + (SELECT count(*) FROM order_lines) * 100 + (SELECT count(*) FROM payments)";
    let (status, _) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK);
    let first = hub.count(counts).await?;
    let totals = hub.count("SELECT sum(total + paid)::bigint FROM orders").await?;
    for round in 0..3 {
        let (status, body) = hub.push(&agent, &agent.all()).await?;
        ensure!(status == StatusCode::OK, "replay {round}: {status} {body}");
        ensure!(body["accepted"] == 0 && body["duplicates"] == 8, "{body}");
        // A replay of a prefix is harmless too.
        let (status, _) = hub.push(&agent, &agent.batch(1, 4)).await?;
        ensure!(status == StatusCode::OK);
        ensure!(hub.count(counts).await? == first, "replay {round} changed row counts");
        ensure!(hub.count("SELECT sum(total + paid)::bigint FROM orders").await? == totals);
    }
    ensure!(first == 8_000_000 + 2 * 10_000 + 2 * 100 + 2, "unexpected counts {first}");
    hub.stop().await
}

async fn a_fork_is_refused_and_raises_an_alert(backend: Backend) -> Result<()> {
    let hub = TestHub::start_on_backend(backend).await?;
    let (tenant, location) = hub.tenant("Fork Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    agent.sale(1, NOW_MS);
    let (status, _) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK);
    // A restored backup: the same device rewrites seq 3 onwards differently and signs it.
    let mut restored = Agent::new(agent.device_id, 1, tenant);
    restored.events = agent.events[..2].to_vec();
    restored.append_raw("note.added", b"different".to_vec(), NOW_MS + 50);
    restored.append_raw("note.added", b"more".to_vec(), NOW_MS + 51);
    restored.append_raw("note.added", b"and more".to_vec(), NOW_MS + 52);
    let before = hub.count(STORED).await?;
    let (status, body) = hub.push(&restored, &restored.batch(3, 5)).await?;
    ensure!(status == StatusCode::CONFLICT, "{status} {body}");
    ensure!(body["error"].as_str().unwrap_or_default().contains("fork"), "{body}");
    ensure!(hub.count(STORED).await? == before, "a fork must store nothing");
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'fork' AND seq = 3").await? == 1);
    // Retrying the same forked push is refused again without piling up alerts.
    let (status, _) = hub.push(&restored, &restored.batch(3, 5)).await?;
    ensure!(status == StatusCode::CONFLICT);
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'fork' AND seq = 3").await? == 1);
    // Diverging before the batch's first event is caught at the link.
    let (status, _) = hub.push(&restored, &restored.batch(5, 5)).await?;
    ensure!(status == StatusCode::CONFLICT);
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'fork'").await? == 2);
    ensure!(hub.count(STORED).await? == before);
    // The original chain still syncs.
    let (status, _) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK);
    hub.stop().await
}

/// A revoked device cannot push or pull. What it wrote before its revocation still counts
/// when a healthy terminal relays it; what it wrote after is stored (the relay's push is not
/// refused: the relaying terminal's own sales must reach the hub) but quarantined.
#[tokio::test]
async fn a_revoked_device_is_refused_and_its_later_facts_are_quarantined() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Revoke Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    let mut relay = hub.agent(tenant, location, 2).await?;
    agent.sale(1, NOW_MS - 60_000);
    let (status, _) = hub.push(&agent, &agent.batch(1, 2)).await?;
    ensure!(status == StatusCode::OK);
    let (status, body) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant}/devices/{}/revoke", agent.device_id),
            &json!({}),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let before = hub.count(STORED).await?;
    let (status, body) = hub.push(&agent, &agent.batch(3, 4)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status} {body}");
    ensure!(body["error"].as_str().unwrap_or_default().contains("revoked"));
    let (status, _, _) = hub.pull(&agent, &json!({}), 10).await?;
    ensure!(status == StatusCode::FORBIDDEN);
    ensure!(hub.count(STORED).await? == before);

    // A second sale, a minute after the revocation; a healthy terminal relays both sales
    // along with one of its own.
    agent.sale(2, NOW_MS + 60_000);
    relay.sale(7, NOW_MS);
    let mut batch = agent.batch(3, 8);
    let own = relay.all();
    batch.events.extend(own.events);
    batch.checkpoints.extend(own.checkpoints);
    let (status, body) = hub.push(&relay, &batch).await?;
    ensure!(status == StatusCode::OK, "relay: {status} {body}");
    ensure!(body["accepted"] == 10, "{body}");
    let quarantined = body["quarantined"].as_array().context("quarantined")?;
    let seqs: Vec<u64> = quarantined.iter().filter_map(|q| q["seq"].as_u64()).collect();
    ensure!(seqs == [5, 6, 7, 8], "{body}");
    ensure!(quarantined.iter().all(|q| q["code"] == "revoked"), "{body}");
    // The first sale (before the revocation) and the relay's are folded; the second is not.
    ensure!(hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await? == 2);
    ensure!(
        hub.count("SELECT count(*) FROM alerts WHERE kind = 'quarantine' AND seq >= 5").await? == 4
    );
    // The relay's retry of the same batch adds nothing.
    let (status, body) = hub.push(&relay, &batch).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 0, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'quarantine'").await? == 4);
    hub.stop().await
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "a list of attempts, one after the other")]
async fn bad_input_gets_a_4xx_and_stores_nothing() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Bad Input Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    let mut other = hub.agent(tenant, location, 2).await?;
    agent.sale(1, NOW_MS);
    other.sale(2, NOW_MS);
    let mut cases: Vec<(&str, StatusCode, StatusCode, Value)> = Vec::new();

    let response = hub.signed(&agent, "/api/v1/sync/push", b"TBE\x01garbage".to_vec(), &[]).await?;
    cases.push((
        "malformed binary",
        StatusCode::BAD_REQUEST,
        response.status(),
        response.json().await?,
    ));
    let response = hub
        .signed(
            &agent,
            "/api/v1/sync/push",
            b"{\"events\": 3}".to_vec(),
            &[("content-type", "application/json")],
        )
        .await?;
    cases.push((
        "malformed JSON",
        StatusCode::BAD_REQUEST,
        response.status(),
        response.json().await?,
    ));

    let mut big = Agent::new(agent.device_id, 1, tenant);
    for i in 0..=MAX_BATCH_EVENTS as u64 {
        big.append_raw("note.added", vec![], NOW_MS + i);
    }
    let (status, body) = hub.push(&agent, &big.all()).await?;
    cases.push(("oversized batch", StatusCode::PAYLOAD_TOO_LARGE, status, body));
    let response = hub.signed(&agent, "/api/v1/sync/push", vec![0; BODY_LIMIT + 1], &[]).await?;
    cases.push((
        "oversized body",
        StatusCode::PAYLOAD_TOO_LARGE,
        response.status(),
        response.json().await?,
    ));

    let stranger = Agent::new("0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f".parse()?, 9, tenant);
    let (status, body) = hub.push(&stranger, &agent.all()).await?;
    cases.push(("unknown device", StatusCode::UNAUTHORIZED, status, body));

    let mut impostor = Agent::new(agent.device_id, 9, tenant);
    impostor.events.clone_from(&agent.events);
    let (status, body) = hub.push(&impostor, &agent.all()).await?;
    cases.push(("request signed by the wrong key", StatusCode::UNAUTHORIZED, status, body));

    // Another device's events, signed with the pusher's key.
    let mut forged = Agent::new(other.device_id, 1, tenant);
    forged.events.clone_from(&other.events);
    let (status, body) = hub.push(&agent, &forged.all()).await?;
    cases.push((
        "event of another device, wrong key",
        StatusCode::UNPROCESSABLE_ENTITY,
        status,
        body,
    ));

    let mut ahead = Agent::new(agent.device_id, 1, tenant);
    ahead.append_raw("note.added", vec![], NOW_MS + 3_600_000);
    let (status, body) = hub.push(&agent, &ahead.all()).await?;
    cases.push(("clock stamp too far ahead", StatusCode::UNPROCESSABLE_ENTITY, status, body));

    let mut tampered = agent.all();
    tampered.events[1].payload = b"{}".to_vec();
    let (status, body) = hub.push(&agent, &tampered).await?;
    cases.push(("tampered event", StatusCode::UNPROCESSABLE_ENTITY, status, body));

    let mut unsigned = agent.all();
    unsigned.checkpoints.clear();
    let (status, body) = hub.push(&agent, &unsigned).await?;
    cases.push(("no checkpoint", StatusCode::UNPROCESSABLE_ENTITY, status, body));

    let (status, body) = hub.push(&agent, &agent.batch(3, 4)).await?;
    cases.push(("gap after the stored tip", StatusCode::CONFLICT, status, body));

    let body = thorbis_sync_protocol::encode_batch(&agent.all());
    let stale =
        signed_post(&hub.http, &hub.base, &agent, "/api/v1/sync/push", NOW_MS - 3_600_000, &body)?;
    let response = stale.body(body).send().await?;
    cases.push((
        "stale request timestamp",
        StatusCode::UNAUTHORIZED,
        response.status(),
        response.json().await?,
    ));

    let response =
        hub.http.post(format!("{}/api/v1/sync/push", hub.base)).body(vec![1, 2]).send().await?;
    cases.push((
        "no credentials",
        StatusCode::UNAUTHORIZED,
        response.status(),
        response.json().await?,
    ));

    for (name, expected, status, body) in &cases {
        ensure!(status == expected, "{name}: expected {expected}, got {status} {body}");
        let message = body["error"].as_str().unwrap_or_default();
        ensure!(message.len() > 10, "{name}: expected a message, got {body}");
    }
    // An unknown device and a known one signed with the wrong key read the same: nobody
    // learns which device ids exist.
    let said = |name: &str, device: DeviceId| {
        cases.iter().find(|c| c.0 == name).map(|c| {
            c.3["error"].as_str().unwrap_or_default().replace(&device.to_string(), "<device>")
        })
    };
    ensure!(
        said("unknown device", stranger.device_id)
            == said("request signed by the wrong key", agent.device_id),
        "{cases:?}"
    );
    ensure!(hub.count(STORED).await? == 0, "refused pushes stored something");
    ensure!(hub.count("SELECT count(*) FROM alerts").await? == 0);
    // And the genuine batch still goes through afterwards.
    let (status, body) = hub.push(&agent, &agent.all()).await?;
    ensure!(status == StatusCode::OK, "{body}");
    hub.stop().await
}

#[tokio::test]
async fn pull_returns_what_the_device_lacks_in_verifiable_pages() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Pull Co").await?;
    let elsewhere = hub.location(tenant, "Other street").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    let kds = hub.agent(tenant, location, 2).await?;
    let mut far = hub.agent(tenant, elsewhere, 3).await?;
    // Three commits of four events each.
    for n in 0..3u8 {
        pos.sale(n, NOW_MS + u64::from(n) * 10);
        let tip = pos.tip().seq;
        let (status, _) = hub.push(&pos, &pos.batch(tip - 3, tip)).await?;
        ensure!(status == StatusCode::OK);
    }
    far.sale(9, NOW_MS);
    let (status, _) = hub.push(&far, &far.all()).await?;
    ensure!(status == StatusCode::OK);

    // Page by page with a small limit; every page verifies against the device's key. The
    // reference log (the three devices' records) is held already.
    let log = hub.log_tip(tenant).await?;
    ensure!(log == 3, "one device record per enrollment, not {log}");
    let mut have = ChainTip::GENESIS;
    let mut pages = 0;
    loop {
        let vector = json!({ pos.device_id.to_string(): have.seq, tenant.to_string(): log });
        let (status, batch, more) = hub.pull(&kds, &vector, 5).await?;
        ensure!(status == StatusCode::OK);
        let batch = batch.unwrap_or_default();
        ensure!(batch.events.iter().all(|e| e.device_id == pos.device_id), "other location leaked");
        if batch.events.is_empty() {
            ensure!(!more);
            break;
        }
        let checkpoint =
            batch.checkpoints.last().cloned().unwrap_or_else(|| panic!("page without checkpoint"));
        have = verify_chain(&pos.key.public_key(), have, &batch.events, &checkpoint)?;
        pages += 1;
        if !more {
            break;
        }
    }
    ensure!(have.seq == 12 && pages >= 3, "pulled up to {} in {pages} pages", have.seq);

    // A commit larger than the page comes whole, so it can be verified.
    let (_, batch, more) = hub.pull(&kds, &json!({ tenant.to_string(): log }), 2).await?;
    let batch = batch.unwrap_or_default();
    ensure!(batch.events.len() == 4 && batch.checkpoints.len() == 1 && more);

    // A caught-up device gets nothing; binary pulls work too.
    let body = serde_json::to_vec(
        &json!({ "have": { pos.device_id.to_string(): 12, tenant.to_string(): log } }),
    )?;
    let response = hub.signed(&kds, "/api/v1/sync/pull", body, &[]).await?;
    ensure!(response.status() == StatusCode::OK);
    ensure!(response.headers()["x-thorbis-more"] == "false");
    let batch = thorbis_sync_protocol::decode_batch(&response.bytes().await?)?;
    ensure!(batch == Batch::default());
    let response = hub.signed(&kds, "/api/v1/sync/pull", b"{\"have\": 7}".to_vec(), &[]).await?;
    ensure!(response.status() == StatusCode::BAD_REQUEST);
    hub.stop().await
}

/// A device of tenant A tries to read and write tenant B's data through every endpoint,
/// with forged ids. Every attempt must be refused or return none of B's rows, and B's
/// rows must be unchanged.
#[allow(clippy::too_many_lines, reason = "a list of attempts, one after the other")]
async fn tenant_isolation(backend: Backend) -> Result<()> {
    let hub = TestHub::start_on_backend(backend).await?;
    let (tenant_a, location_a) = hub.tenant("Tenant A").await?;
    let (tenant_b, location_b) = hub.tenant("Tenant B").await?;
    let mut a = hub.agent(tenant_a, location_a, 1).await?;
    let mut b = hub.agent(tenant_b, location_b, 2).await?;
    b.sale(1, NOW_MS);
    let (status, _) = hub.push(&b, &b.all()).await?;
    ensure!(status == StatusCode::OK);
    a.sale(2, NOW_MS);
    let (status, _) = hub.push(&a, &a.all()).await?;
    ensure!(status == StatusCode::OK);
    // B also has reference data of its own.
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant_b}/reference-events"),
            &json!({ "events": [{ "kind": "catalog.item_upserted", "payload": {
                "id": Uuid::from_bytes([8; 16]), "name": "B's secret recipe", "category": null,
                "price": 100, "tax_category": null } }] }),
        )
        .await?;
    ensure!(status == StatusCode::OK);
    // ... and staff of its own.
    let (status, body) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant_b}/staff"),
            &json!({ "name": "B's cashier", "role": "cashier", "pin": "5511", "active": true }),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{body}");
    let b_staff: Uuid = serde_json::from_value(body["staff_id"].clone())?;
    // Each tenant has a console manager, signed in.
    hub.console_user(tenant_a, "manager@a.example", "manager").await?;
    hub.console_user(tenant_b, "manager@b.example", "manager").await?;
    let console_a = hub.console_session(tenant_a, "manager@a.example").await?;
    let _console_b = hub.console_session(tenant_b, "manager@b.example").await?;
    // Each tenant has a technician with a work order dispatched to it.
    let tech_a = hub.agent_as(tenant_a, location_a, 3, "technician").await?;
    let tech_b = hub.agent_as(tenant_b, location_b, 4, "technician").await?;
    let mut work_orders = Vec::new();
    for (tenant, tech) in [(tenant_a, &tech_a), (tenant_b, &tech_b)] {
        let (status, body) = hub
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/work-orders"),
                &json!({ "title": "Boiler service", "customer": "C", "site_address": "S",
                         "window_start_ms": 0, "window_end_ms": 1, "currency": "USD" }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{body}");
        let id: Uuid = serde_json::from_value(body["work_order_id"].clone())?;
        let (status, body) = hub
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/work-orders/{id}/assign"),
                &json!({ "technician": tech.device_id.to_string() }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{body}");
        work_orders.push(id);
    }
    let (a_work_order, b_work_order) = (work_orders[0], work_orders[1]);
    let b_rows = "SELECT (SELECT count(*) FROM events WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM enrollment_codes WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM console_users WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM console_sessions WHERE tenant_id = '{B}' AND revoked_at_ms IS NULL)
        + (SELECT count(*) FROM orders WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM devices WHERE tenant_id = '{B}' AND revoked_at_ms IS NULL)
        + (SELECT count(*) FROM locations WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM chain_tips WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM alerts WHERE tenant_id = '{B}')
        + (SELECT count(*) FROM work_orders WHERE tenant_id = '{B}' AND technician IS NOT NULL)
        + (SELECT count(*) FROM aggregates WHERE tenant_id = '{B}')"
        .replace("{B}", &tenant_b.to_string());
    let b_before = hub.count(&b_rows).await?;
    let b_hashes = "SELECT string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FROM events WHERE tenant_id = '{B}'"
        .replace("{B}", &tenant_b.to_string());
    let db = hub.superuser().await?;
    let hashes_before: Option<String> = db.query_one(&b_hashes, &[]).await?.get(0);

    let mut attempts = 0;
    let mut leaks = 0;
    let b_device = b.device_id.to_string();
    let mut leaked: Vec<String> = Vec::new();
    let mut refused = |name: &str, ok: bool| {
        attempts += 1;
        if !ok {
            leaks += 1;
            leaked.push(name.to_owned());
        }
    };

    // Pull B's device by id in the version vector: nothing of B comes back.
    for limit in [1, 1000] {
        let (status, batch, _) = hub.pull(&a, &json!({ b_device.clone(): 0 }), limit).await?;
        let leaked = batch.is_some_and(|b2| b2.events.iter().any(|e| e.device_id == b.device_id));
        refused("pull with B's device in the vector", status == StatusCode::OK && !leaked);
    }
    // Pull naming B's reference log; relay B's reference log through A.
    let (status, batch, _) = hub.pull(&a, &json!({ tenant_b.to_string(): 0 }), 1000).await?;
    let shown = batch
        .as_ref()
        .is_some_and(|b2| b2.events.iter().any(|e| e.device_id.0 == *tenant_b.as_bytes()));
    refused("pull B's reference log", status == StatusCode::OK && !shown);
    let (_, b_log, _) = hub.pull(&b, &json!({}), 1000).await?;
    let mut b_log = b_log.unwrap_or_default();
    let b_log_id = *tenant_b.as_bytes();
    b_log.events.retain(|e| e.device_id.0 == b_log_id);
    b_log.checkpoints.retain(|c| c.device_id.0 == b_log_id);
    // B's two device records (terminal and technician) and the item; its staff member is
    // on B's staff log.
    ensure!(b_log.events.len() == 3 && !b_log.checkpoints.is_empty());
    let (status, _) = hub.push(&a, &b_log).await?;
    refused("relay B's reference log through A", status == StatusCode::FORBIDDEN);
    let (_, staff_batch, _) = hub.pull(&b, &json!({}), 1000).await?;
    let mut staff_batch = staff_batch.unwrap_or_default();
    let b_staff_log = thorbis_sync_protocol::staff_log(tenant_b, location_b);
    staff_batch.events.retain(|e| e.device_id == b_staff_log);
    staff_batch.checkpoints.retain(|c| c.device_id == b_staff_log);
    ensure!(staff_batch.events.len() == 1 && !staff_batch.checkpoints.is_empty());
    let (status, _) = hub.push(&a, &staff_batch).await?;
    refused("relay B's staff log through A", status == StatusCode::FORBIDDEN);
    let (status, batch, _) = hub.pull(&a, &json!({ b_staff_log.to_string(): 0 }), 1000).await?;
    let shown = batch.is_some_and(|b2| b2.events.iter().any(|e| e.device_id == b_staff_log));
    refused("pull B's staff log", status == StatusCode::OK && !shown);
    // Push B's events (B-signed) as A: relay across tenants.
    let (status, _) = hub.push(&a, &b.all()).await?;
    refused("relay B's events through A", status == StatusCode::FORBIDDEN);
    // Push events claiming B's device id, signed by A's key.
    let mut forged = Agent::new(b.device_id, 1, tenant_a);
    forged.events.clone_from(&b.events);
    forged.append_raw("note.added", vec![], NOW_MS);
    let (status, _) = hub.push(&a, &forged.batch(5, 5)).await?;
    refused("append to B's chain with A's key", status.is_client_error());
    // Fork B's chain through A.
    let mut fork = Agent::new(b.device_id, 1, tenant_a);
    fork.append_raw("note.added", b"x".to_vec(), NOW_MS);
    let (status, _) = hub.push(&a, &fork.all()).await?;
    refused("fork B's chain through A", status.is_client_error());
    // Impersonate B's device: its id in the header, A's key signing.
    let impostor = Agent::new(b.device_id, 1, tenant_a);
    let (status, _) = hub.push(&impostor, &a.all()).await?;
    refused("impersonate B's device on push", status == StatusCode::UNAUTHORIZED);
    let (status, _, _) = hub.pull(&impostor, &json!({}), 100).await?;
    refused("impersonate B's device on pull", status == StatusCode::UNAUTHORIZED);
    // Admin API with B's ids but without/with a wrong token.
    for path in [
        format!("/api/v1/admin/tenants/{tenant_b}/locations"),
        format!("/api/v1/admin/tenants/{tenant_b}/enrollment-codes"),
        format!("/api/v1/admin/tenants/{tenant_b}/devices/{b_device}/revoke"),
        format!("/api/v1/admin/tenants/{tenant_b}/staff"),
    ] {
        let response = hub
            .http
            .post(format!("{}{path}", hub.base))
            .header(thorbis_hub::identity::DEVICE_HEADER, a.device_id.to_string())
            .json(&json!({ "name": "x", "location_id": location_b, "role": "pos" }))
            .send()
            .await?;
        refused("admin API with device credentials", response.status() == StatusCode::UNAUTHORIZED);
    }
    // Admin mix-ups that name B's location or device under A's tenant id.
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant_a}/enrollment-codes"),
            &json!({ "location_id": location_b, "role": "pos" }),
        )
        .await?;
    refused("code for B's location under A", status == StatusCode::NOT_FOUND);
    let (status, _) = hub
        .admin(&format!("/api/v1/admin/tenants/{tenant_a}/devices/{b_device}/revoke"), &json!({}))
        .await?;
    refused("revoke B's device under A", status == StatusCode::NOT_FOUND);
    // A's console manager, with B's ids: the tenant is the session's, so B's rows are not
    // found; a tenant named in the body is refused; the cookie re-pointed at B is no session.
    let (cookie, csrf) = (Some(console_a.cookie.as_str()), Some(console_a.csrf.as_str()));
    let (status, _) = hub
        .console(
            &format!("/api/v1/console/devices/{b_device}/revoke"),
            cookie,
            csrf,
            Some(&json!({})),
        )
        .await?;
    refused("console: revoke B's device", status == StatusCode::NOT_FOUND);
    let (status, _) = hub
        .console(
            "/api/v1/console/enrollment-codes",
            cookie,
            csrf,
            Some(&json!({ "location_id": location_b, "role": "pos" })),
        )
        .await?;
    refused("console: code for B's location", status == StatusCode::NOT_FOUND);
    // B's staff member, updated through A's console by id without a PIN: not found (the
    // hash is read under A's tenant only), and B's log is untouched.
    let (status, _) = hub
        .console(
            "/api/v1/console/staff",
            cookie,
            csrf,
            Some(
                &json!({ "staff_id": b_staff, "name": "Stolen", "role": "owner", "active": true }),
            ),
        )
        .await?;
    refused("console: update B's staff without a PIN", status == StatusCode::NOT_FOUND);
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant_a}/staff"),
            &json!({ "staff_id": b_staff, "name": "Stolen", "role": "owner", "active": true }),
        )
        .await?;
    refused("admin: B's staff under A's tenant", status == StatusCode::NOT_FOUND);
    // B's device configured through A's console or A's admin path; B's devices and users
    // listed or deactivated from A.
    let config = json!({ "name": "Hijacked", "printers": [], "stations": [] });
    let (status, _) = hub
        .console(&format!("/api/v1/console/devices/{b_device}/config"), cookie, csrf, Some(&config))
        .await?;
    refused("console: configure B's device", status == StatusCode::NOT_FOUND);
    let (status, _) = hub
        .admin(&format!("/api/v1/admin/tenants/{tenant_a}/devices/{b_device}/config"), &config)
        .await?;
    refused("admin: B's device under A's tenant", status == StatusCode::NOT_FOUND);
    let (status, list) = hub.console("/api/v1/console/devices", cookie, None, None).await?;
    refused(
        "console: list devices",
        status == StatusCode::OK && !list.to_string().contains(&b_device),
    );
    let (status, list) = hub.console("/api/v1/console/users", cookie, None, None).await?;
    refused(
        "console: list users",
        status == StatusCode::OK && !list.to_string().contains("b.example"),
    );
    hub.console_user(tenant_a, "owner@a.example", "owner").await?;
    let owner_a = hub.console_session(tenant_a, "owner@a.example").await?;
    let b_user: Uuid = db
        .query_one("SELECT user_id FROM console_users WHERE tenant_id = $1 LIMIT 1", &[&tenant_b])
        .await?
        .get(0);
    let (status, _) = hub
        .console(
            &format!("/api/v1/console/users/{b_user}/deactivate"),
            Some(&owner_a.cookie),
            Some(&owner_a.csrf),
            Some(&json!({})),
        )
        .await?;
    refused("console: deactivate B's user", status == StatusCode::NOT_FOUND);
    for (path, body) in [
        ("/api/v1/console/locations", json!({ "name": "x", "tenant_id": tenant_b })),
        (
            "/api/v1/console/enrollment-codes",
            json!({ "location_id": location_b, "role": "pos", "tenant_id": tenant_b }),
        ),
        ("/api/v1/console/reference-events", json!({ "events": [], "tenant_id": tenant_b })),
        (
            "/api/v1/console/staff",
            json!({ "name": "x", "role": "cashier", "pin": "1234", "active": true,
                    "tenant_id": tenant_b }),
        ),
    ] {
        let (status, _) = hub.console(path, cookie, csrf, Some(&body)).await?;
        refused("console: tenant named in the body", status == StatusCode::BAD_REQUEST);
    }
    let retenanted = console_a.cookie.replace(&tenant_a.to_string(), &tenant_b.to_string());
    for (path, body) in [
        ("/api/v1/console/me", None),
        ("/api/v1/console/locations", Some(json!({ "name": "x" }))),
        (
            "/api/v1/console/enrollment-codes",
            Some(json!({ "location_id": location_b, "role": "pos" })),
        ),
        (
            "/api/v1/console/users",
            Some(
                json!({ "email": "evil@a.example", "password": "correct horse battery staple", "role": "owner" }),
            ),
        ),
        (
            "/api/v1/console/staff",
            Some(json!({ "name": "x", "role": "owner", "pin": "1234", "active": true })),
        ),
        ("/api/v1/console/logout", Some(json!({}))),
        ("/api/v1/console/devices", None),
        ("/api/v1/console/users", None),
        (
            "/api/v1/console/password",
            Some(
                json!({ "current_password": "correct horse battery staple", "new_password": "another long passphrase" }),
            ),
        ),
    ] {
        let (status, _) = hub.console(path, Some(&retenanted), csrf, body.as_ref()).await?;
        refused("console: A's session re-pointed at B", status == StatusCode::UNAUTHORIZED);
    }
    // Work orders: A's console and A's technician, with B's ids.
    let b_tech = tech_b.device_id.to_string();
    for (path, body) in [
        (format!("/api/v1/console/work-orders/{b_work_order}"), None),
        (
            format!("/api/v1/console/work-orders/{b_work_order}/edit"),
            Some(json!({ "edit": "add_note", "text": "x" })),
        ),
        (
            format!("/api/v1/console/work-orders/{b_work_order}/assign"),
            Some(json!({ "technician": tech_a.device_id.to_string() })),
        ),
        (
            format!("/api/v1/console/work-orders/{a_work_order}/assign"),
            Some(json!({ "technician": b_tech })),
        ),
    ] {
        let (status, _) = hub.console(&path, cookie, csrf, body.as_ref()).await?;
        refused("console: B's work order or technician", status == StatusCode::NOT_FOUND);
    }
    let (status, list) = hub.console("/api/v1/console/work-orders", cookie, None, None).await?;
    refused(
        "console: list shows only A's work orders",
        status == StatusCode::OK
            && list["work_orders"]
                .as_array()
                .is_some_and(|l| l.len() == 1 && l[0]["work_order_id"] == json!(a_work_order)),
    );
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant_a}/work-orders/{b_work_order}/assign"),
            &json!({ "technician": tech_a.device_id.to_string() }),
        )
        .await?;
    refused("admin: B's work order under A's tenant", status == StatusCode::NOT_FOUND);
    let (status, _) = hub
        .console(
            "/api/v1/console/work-orders",
            cookie,
            csrf,
            Some(&json!({ "title": "x", "customer": "y", "site_address": "z",
                          "window_start_ms": 0, "window_end_ms": 1, "currency": "USD",
                          "tenant_id": tenant_b })),
        )
        .await?;
    refused("console: work order with a tenant in the body", status == StatusCode::BAD_REQUEST);
    let (status, _) =
        hub.console("/api/v1/console/work-orders", Some(&retenanted), None, None).await?;
    refused(
        "console: A's session re-pointed at B lists work orders",
        status == StatusCode::UNAUTHORIZED,
    );
    let b_dispatch = thorbis_hub::dispatch::dispatch_log(tenant_b, tech_b.device_id);
    let (status, batch, _) =
        hub.pull(&tech_a, &json!({ b_dispatch.to_string(): 0, b_tech.clone(): 0 }), 1000).await?;
    let shown = batch.is_some_and(|b2| {
        b2.events.iter().any(|e| e.device_id == b_dispatch || e.device_id == tech_b.device_id)
    });
    refused("technician: pull B's dispatch log", status == StatusCode::OK && !shown);
    let (status, _, _) = hub.console_login(tenant_b, "manager@a.example", CONSOLE_PASSWORD).await?;
    refused("console: A's user logs in to B", status == StatusCode::UNAUTHORIZED);
    let (status, me) = hub.console("/api/v1/console/me", cookie, None, None).await?;
    refused(
        "console: A's session is A's",
        status == StatusCode::OK && me["tenant_id"] == json!(tenant_a),
    );
    // The app role itself, with A's tenant set, sees none of B's rows in any tenant table.
    let app = hub.app_role().await?;
    app.batch_execute(&format!("BEGIN; SET LOCAL app.tenant_id = '{tenant_a}'")).await?;
    for table in [
        "tenants",
        "locations",
        "devices",
        "enrollment_codes",
        "events",
        "chain_tips",
        "alerts",
        "aggregates",
        "orders",
        "order_lines",
        "payments",
        "console_users",
        "console_sessions",
        "work_orders",
        "daily_sales",
    ] {
        let n: i64 = app
            .query_one(&format!("SELECT count(*) FROM {table} WHERE tenant_id <> $1"), &[&tenant_a])
            .await?
            .get(0);
        refused(table, n == 0);
        let updated = app
            .execute(
                &format!("UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1"),
                &[&tenant_b],
            )
            .await
            .unwrap_or(0);
        refused(table, updated == 0);
    }
    let inserted = app
        .execute(
            "INSERT INTO alerts (tenant_id, alert_id, kind, detail, created_at_ms) VALUES ($1, $2, 'x', '{}', 0)",
            &[&tenant_b, &Uuid::now_v7()],
        )
        .await;
    refused("insert a row for B with A's tenant set", inserted.is_err());
    app.batch_execute("ROLLBACK").await?;
    // The device-auth lookup gives nothing beyond a device's own credential fields.
    let cols: i64 = db
        .query_one(
            "SELECT count(*) FROM information_schema.routines r
               JOIN information_schema.parameters p ON p.specific_name = r.specific_name
              WHERE r.routine_name = 'hub_device_auth' AND p.parameter_mode = 'OUT'
                AND p.parameter_name IN ('signing_key', 'payload')",
            &[],
        )
        .await?
        .get(0);
    refused("device-auth lookup exposes secrets", cols == 0);

    let b_after = hub.count(&b_rows).await?;
    let hashes_after: Option<String> = db.query_one(&b_hashes, &[]).await?.get(0);
    refused("B's rows changed", b_after == b_before && hashes_after == hashes_before);

    #[allow(clippy::print_stdout, reason = "the reliability result line is the test's report")]
    {
        println!(
            "RESULT tenant_isolation backend={} attempts={attempts} leaks={leaks}",
            backend.name()
        );
    }
    ensure!(leaks == 0, "{leaks} of {attempts} attempts leaked: {leaked:?}");
    hub.stop().await
}

/// Two hub processes on one database: a device long-polling hub 2 receives, within
/// milliseconds, events pushed to hub 1 (woken by `LISTEN/NOTIFY`, not by hub 1's memory).
async fn live_pull_across_two_hubs(backend: Backend) -> Result<()> {
    let hub1 = TestHub::start_on_backend(backend).await?;
    let hub2 = TestHub::start_on(hub1.db.clone()).await?;
    let (tenant, location) = hub1.tenant("Live Co").await?;
    let mut pos = hub1.agent(tenant, location, 1).await?;
    let kds = hub1.agent(tenant, location, 2).await?;
    let (other_tenant, other_location) = hub1.tenant("Other Co").await?;
    let mut other = hub1.agent(other_tenant, other_location, 3).await?;

    // Nothing yet beyond the device records: a short wait comes back empty.
    let log = hub1.log_tip(tenant).await?;
    let (status, batch, _) =
        hub2.pull_waiting(&kds, &json!({ tenant.to_string(): log }), 100, 50).await?;
    ensure!(status == StatusCode::OK && batch.is_some_and(|b| b.events.is_empty()));

    for waiting_hub in [&hub2, &hub1] {
        let have = pos.tip().seq;
        let vector = json!({ pos.device_id.to_string(): have, tenant.to_string(): log });
        let waiter = {
            let (base, kds) = (waiting_hub, &kds);
            async move {
                let started = std::time::Instant::now();
                // The longest wait the hub allows: a pull the push does not wake answers only
                // when it runs out, far later than the bounds below.
                let result = base.pull_waiting(kds, &vector, 100, 30_000).await;
                (result, started.elapsed())
            }
        };
        let pusher = async {
            // The pull waits first (the hub counts it live); another tenant's push must not
            // answer it.
            live_pulls(&waiting_hub.http, &waiting_hub.base, 1).await?;
            other.sale(have as u8 + 1, NOW_MS);
            let tip = other.tip().seq;
            hub1.push(&other, &other.batch(tip - 3, tip)).await?;
            pos.sale(have as u8 + 1, NOW_MS);
            let tip = pos.tip().seq;
            let pushed_at = std::time::Instant::now();
            let (status, _) = hub1.push(&pos, &pos.batch(tip - 3, tip)).await?;
            ensure!(status == StatusCode::OK);
            Ok::<_, anyhow::Error>(pushed_at)
        };
        let ((result, wait_time), push_result) = tokio::join!(waiter, pusher);
        let pushed_at = push_result?;
        let (status, batch, _) = result?;
        ensure!(status == StatusCode::OK);
        let batch = batch.unwrap_or_default();
        ensure!(batch.events.len() == 4, "expected the 4 new events, got {}", batch.events.len());
        ensure!(batch.events.iter().all(|e| e.device_id == pos.device_id));
        ensure!(wait_time < std::time::Duration::from_secs(20), "waited {wait_time:?}");
        let lag = pushed_at.elapsed();
        ensure!(lag < std::time::Duration::from_secs(15), "delivered {lag:?} after the push");
    }
    hub2.stop().await?;
    hub1.stop().await
}

/// With a certificate configured the same API is served over TLS (rustls), and shuts down
/// gracefully.
#[tokio::test]
async fn serves_over_tls() -> Result<()> {
    use rustls::pki_types::pem::PemObject as _;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let cert = include_bytes!("tls/cert.pem");
    let key = include_bytes!("tls/key.pem");
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let state = thorbis_hub::prepare(
        &db.config,
        Arc::new(thorbis_hub::clock::ManualClock::new(NOW_MS)),
        thorbis_hub::Settings::default(),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(thorbis_hub::serve_tls(
        listener,
        state,
        thorbis_hub::server_config(cert, key)?,
        async {
            let _ = stopped.await;
        },
    ));

    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert) {
        roots.add(c?)?;
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = connector.connect("localhost".try_into()?, tcp).await?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    ensure!(response.starts_with("HTTP/1.1 200"), "{response}");
    ensure!(response.ends_with("ok\n"), "{response}");

    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::get(format!("http://{addr}/healthz")).await;
    ensure!(plain.is_err() || !plain?.status().is_success());

    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Reference data: the hub appends catalog events to the tenant's own log, signed with the
/// tenant key; devices pull and verify them like any other chain, and may relay them back.
#[tokio::test]
async fn reference_data_is_published_signed_and_pulled() -> Result<()> {
    let hub = TestHub::start().await?;
    let (status, body) = hub.admin("/api/v1/admin/tenants", &json!({ "name": "Menu Co" })).await?;
    ensure!(status == StatusCode::OK);
    let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
    let tenant_key: PublicKey = serde_json::from_value(body["public_key"].clone())?;
    let location = hub.location(tenant, "Kitchen").await?;
    let kds = hub.agent(tenant, location, 2).await?;
    let (other_tenant, other_location) = hub.tenant("Elsewhere").await?;
    let stranger = hub.agent(other_tenant, other_location, 3).await?;
    let item = Uuid::from_bytes([9; 16]);
    let espresso = |price: i64| {
        json!({ "kind": "catalog.item_upserted", "payload": {
            "id": item, "name": "Espresso", "category": null, "price": price, "tax_category": null } })
    };
    let path = format!("/api/v1/admin/tenants/{tenant}/reference-events");

    // Refused: not reference data, or a payload that does not fit its kind.
    for bad in [
        json!({ "events": [{ "kind": "order.opened", "payload": {} }] }),
        json!({ "events": [{ "kind": "catalog.item_upserted", "payload": { "id": 3 } }] }),
        json!({ "events": [] }),
    ] {
        let (status, body) = hub.admin(&path, &bad).await?;
        ensure!(status == StatusCode::BAD_REQUEST, "{bad}: {status} {body}");
    }
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%'").await? == 0);

    // The log already holds the device's record, published when it enrolled.
    ensure!(hub.log_tip(tenant).await? == 1);
    let (status, body) =
        hub.admin(&path, &json!({ "events": [espresso(250), espresso(275)] })).await?;
    ensure!(status == StatusCode::OK, "{body}");
    ensure!(body["from_seq"] == 2 && body["to_seq"] == 3, "{body}");
    let (status, body) = hub.admin(&path, &json!({ "events": [espresso(300)] })).await?;
    ensure!(status == StatusCode::OK && body["to_seq"] == 4, "{body}");
    ensure!(
        hub.count(&format!(
            "SELECT count(*) FROM aggregates WHERE id = '{item}' AND state::text LIKE '%300%'"
        ))
        .await?
            == 1,
        "the catalog projection holds the latest price"
    );

    // The device pulls the log and verifies it with the tenant key from its enrollment.
    let (status, batch, more) = hub.pull(&kds, &json!({}), 100).await?;
    ensure!(status == StatusCode::OK && !more);
    let batch = batch.unwrap_or_default();
    ensure!(batch.events.len() == 4);
    ensure!(batch.events.iter().all(|e| e.device_id.0 == *tenant.as_bytes()));
    let checkpoint = batch.checkpoints.last().cloned().unwrap_or_else(|| panic!("no checkpoint"));
    let tip = verify_chain(&tenant_key, ChainTip::GENESIS, &batch.events, &checkpoint)?;
    ensure!(tip.seq == 4);
    ensure!(batch.events[0].kind.as_str() == "device.registered");

    // Relayed back by the device: verified with the tenant key, already held.
    let (status, body) = hub.push(&kds, &batch).await?;
    ensure!(status == StatusCode::OK && body["duplicates"] == 4, "{status} {body}");
    // Another tenant's device sees none of it, even naming the log (only its own tenant's
    // device record comes back).
    let (status, other, _) = hub.pull(&stranger, &json!({ tenant.to_string(): 0 }), 100).await?;
    ensure!(status == StatusCode::OK);
    let other = other.unwrap_or_default();
    ensure!(other.events.iter().all(|e| e.device_id.0 == *other_tenant.as_bytes()), "leaked");
    ensure!(other.events.len() == 1);
    let (status, _) = hub.push(&stranger, &batch).await?;
    ensure!(status == StatusCode::FORBIDDEN);
    hub.stop().await
}

/// A fact that reaches the hub before what it refers to (a second till's payment on a
/// check whose till has not pushed yet) is held back, then folded once the check arrives;
/// one that refers to something that never comes keeps waiting.
async fn a_fact_ahead_of_what_it_refers_to_folds_once_that_arrives(backend: Backend) -> Result<()> {
    let hub = TestHub::start_on_backend(backend).await?;
    let (tenant, location) = hub.tenant("Early Co").await?;
    let mut till = hub.agent(tenant, location, 1).await?;
    let mut other = hub.agent(tenant, location, 2).await?;
    // The first till rings a sale, which reached the second over the LAN; the second
    // takes a payment of its own on that check, and one on a check that never comes.
    let order = OrderId(till.sale(1, NOW_MS));
    let payment = |n: u128, order_id: OrderId| {
        DomainEvent::PaymentTaken(PaymentTaken {
            order_id,
            payment_id: PaymentId(Uuid::from_u128(n)),
            amount: Money(1_00),
            tip: Money(0),
            tender: Tender::Other { name: "voucher".into() },
            drawer_session: None,
            taken_by: None,
        })
    };
    other.append(&payment(0xfee, order), NOW_MS + 10);
    other.append(&payment(0xfef, OrderId(Uuid::from_u128(0x9605))), NOW_MS + 11);
    let (status, body) = hub.push(&other, &other.all()).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let quarantined = body["quarantined"].as_array().context("quarantined")?;
    ensure!(quarantined.iter().all(|q| q["code"] == "unknown_target"), "{body}");
    ensure!(quarantined.len() == 2, "{body}");
    let payments = "SELECT count(*) FROM payments";
    let waiting = "SELECT count(*) FROM quarantine_waiting";
    ensure!(hub.count(payments).await? == 0 && hub.count(waiting).await? == 2);

    // The first till comes online: its sale, then the held-back payment, are folded.
    let (status, body) = hub.push(&till, &till.all()).await?;
    ensure!(status == StatusCode::OK && body["released"] == 1, "{status} {body}");
    ensure!(hub.count(payments).await? == 2, "the early payment was not folded");
    ensure!(hub.count(waiting).await? == 1, "the ghost check's payment stopped waiting");
    // Folded once: a later push touching the same check finds nothing waiting for it.
    till.append(&payment(0xff0, order), NOW_MS + 20);
    let (status, body) = hub.push(&till, &till.all()).await?;
    ensure!(status == StatusCode::OK && body["released"] == 0, "{status} {body}");
    ensure!(hub.count(payments).await? == 3);

    // In one relayed push, a payment folded before the check it pays (its device's run
    // comes first) is released within the push: neither quarantined nor alerted.
    let mut payer = hub.agent(tenant, location, 3).await?;
    let mut late = hub.agent(tenant, location, 4).await?;
    ensure!(payer.device_id < late.device_id, "the payer's run must come first");
    let check = OrderId(late.sale(2, NOW_MS + 30));
    payer.append(&payment(0xff1, check), NOW_MS + 40);
    let mut batch = payer.all();
    let relayed = late.all();
    batch.events.extend(relayed.events);
    batch.checkpoints.extend(relayed.checkpoints);
    let alerts = "SELECT count(*) FROM alerts WHERE kind = 'quarantine'";
    let before = hub.count(alerts).await?;
    let (status, body) = hub.push(&payer, &batch).await?;
    ensure!(status == StatusCode::OK && body["released"] == 1, "{status} {body}");
    ensure!(body["quarantined"] == json!([]), "{body}");
    ensure!(hub.count(alerts).await? == before && hub.count(payments).await? == 5);
    hub.stop().await
}

/// A fact about two checks (lines moved from one to the other) is admitted against the
/// other check as the hub holds it, though that check's own events came in an earlier push.
#[tokio::test]
async fn a_move_into_a_check_of_an_earlier_push_is_admitted() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Move Co").await?;
    let mut till = hub.agent(tenant, location, 1).await?;
    let from = OrderId(till.sale(1, NOW_MS));
    let to = OrderId(till.sale(2, NOW_MS + 10));
    let (status, body) = hub.push(&till, &till.all()).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let pushed = till.tip().seq;
    let moved = DomainEvent::LinesMovedOut(thorbis_domain::events::LinesMovedOut {
        order_id: from,
        to,
        lines: Vec::new(),
        by: None,
    });
    till.append(&moved, NOW_MS + 20);
    let (status, body) = hub.push(&till, &till.batch(pushed + 1, till.tip().seq)).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(body["quarantined"] == json!([]), "the move was held back: {body}");
    hub.stop().await
}

/// With an external database the hub binary will not store tenant keys in plain: it
/// refuses to start without a key-encryption key, and says which.
#[test]
fn the_hub_binary_wants_a_key_encryption_key_for_an_external_database() -> Result<()> {
    let url = "postgres://nobody@127.0.0.1:1/none";
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_thorbis-hub"))
        .env("THORBIS_HUB_DATABASE_URL", url)
        .env("THORBIS_HUB_APP_DATABASE_URL", url)
        .env_remove("THORBIS_HUB_KEY_ENCRYPTION_KEY")
        .env("THORBIS_HUB_LISTEN", "127.0.0.1:0")
        .stdin(std::process::Stdio::null())
        .output()?;
    ensure!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(stderr.contains("THORBIS_HUB_KEY_ENCRYPTION_KEY is not set"), "{stderr}");
    Ok(())
}

/// Two hub processes for real: the `thorbis-hub` binary on the same database as this
/// test's hub. A device long-polling the binary receives events pushed to the in-process
/// hub, woken by `LISTEN/NOTIFY`; the binary then stops gracefully on SIGTERM.
async fn live_pull_from_a_second_hub_process(backend: Backend) -> Result<()> {
    use std::process::Command;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    let hub = TestHub::start_on_backend(backend).await?;
    let db = hub.db.clone();
    let (mut binary, base) = tokio::task::spawn_blocking(move || {
        support::hub_binary(env!("CARGO_BIN_EXE_thorbis-hub"), &db, &[])
    })
    .await??;
    let result = async {
        // The binary runs on the system clock; align this hub's so credentials and request
        // timestamps agree between the two.
        let system_now = || -> Result<u64> {
            Ok(u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?)
        };
        hub.clock.set(system_now()?);
        let (tenant, location) = hub.tenant("Two Process Co").await?;
        let mut pos = hub.agent(tenant, location, 1).await?;
        let kds = hub.agent(tenant, location, 2).await?;
        let log = hub.log_tip(tenant).await?;
        let body =
            serde_json::to_vec(&json!({ "have": { tenant.to_string(): log }, "wait_ms": 30_000 }))?;
        let ts = system_now()?;
        let pull = signed_post(&hub.http, &base, &kds, "/api/v1/sync/pull", ts, &body)?
            .header("accept", "application/json")
            .body(body)
            .send();
        let push = async {
            // The pull waits first: the second process counts it live.
            live_pulls(&hub.http, &base, 1).await?;
            pos.sale(1, system_now()?);
            let (status, body) = hub.push(&pos, &pos.all()).await?;
            ensure!(status == StatusCode::OK, "{body}");
            Ok::<_, anyhow::Error>(Instant::now())
        };
        let (response, pushed_at) = tokio::join!(pull, push);
        let pushed_at = pushed_at?;
        let response = response?;
        let lag = pushed_at.elapsed();
        ensure!(response.status() == StatusCode::OK, "{}", response.text().await?);
        let value: Value = response.json().await?;
        let batch: Batch = serde_json::from_value(value["batch"].clone())?;
        ensure!(
            batch.events.len() == 4,
            "expected the pushed sale, got {} events",
            batch.events.len()
        );
        // A pull the push did not wake would answer only when its 30 s wait ran out.
        ensure!(lag < Duration::from_secs(15), "delivered {lag:?} after the push");
        Ok(())
    }
    .await;
    // Graceful stop: SIGTERM to the process this test started, by its pid.
    let stopped = Command::new("kill").args(["-TERM", &binary.id().to_string()]).status()?;
    let exit = binary.wait()?;
    result?;
    ensure!(stopped.success() && exit.success(), "second hub did not stop cleanly: {exit}");
    hub.stop().await
}

/// Console login: one 401 for every failure, a hashed session in an `HttpOnly`,
/// `SameSite=Strict` cookie, CSRF on logout, logout ends the session, and a short lock
/// after repeated failures.
#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one login story, step by step")]
async fn console_login_sessions_and_logout() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Console Co").await?;
    let (other, _) = hub.tenant("Other Co").await?;
    hub.console_user(tenant, "Owner@Example.com", "owner").await?;
    // The same email again (in any case) is a conflict; weak passwords and bad roles are
    // refused; an unknown tenant is not found.
    let path = format!("/api/v1/admin/tenants/{tenant}/console-users");
    for (body, want) in [
        (
            json!({ "email": "owner@example.com", "password": CONSOLE_PASSWORD, "role": "viewer" }),
            409,
        ),
        (json!({ "email": "x@example.com", "password": "short", "role": "viewer" }), 400),
        (json!({ "email": "x@example.com", "password": CONSOLE_PASSWORD, "role": "root" }), 400),
        (json!({ "email": "nobody", "password": CONSOLE_PASSWORD, "role": "viewer" }), 400),
    ] {
        let (status, reply) = hub.admin(&path, &body).await?;
        ensure!(status.as_u16() == want, "{body}: {status} {reply}");
    }
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{}/console-users", Uuid::now_v7()),
            &json!({ "email": "x@example.com", "password": CONSOLE_PASSWORD, "role": "owner" }),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    // The stored hash is an argon2id PHC string at the documented cost, never the password.
    let db = hub.superuser().await?;
    let phc: String = db
        .query_one("SELECT password_hash FROM console_users WHERE tenant_id = $1", &[&tenant])
        .await?
        .get(0);
    ensure!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");

    // Wrong password, unknown email, wrong tenant: one status, one message.
    let mut messages = Vec::new();
    for (t, email, password) in [
        (tenant, "owner@example.com", "not the password"),
        (tenant, "nobody@example.com", CONSOLE_PASSWORD),
        (other, "owner@example.com", CONSOLE_PASSWORD),
        (Uuid::now_v7(), "owner@example.com", CONSOLE_PASSWORD),
    ] {
        let (status, body, session) = hub.console_login(t, email, password).await?;
        ensure!(status == StatusCode::UNAUTHORIZED && session.is_none(), "{status} {body}");
        messages.push(body["error"].clone());
    }
    ensure!(messages.windows(2).all(|w| w[0] == w[1]), "login failures differ: {messages:?}");

    // A login posted as a form or text (what a cross-site page can send without a CORS
    // preflight) is refused before any credential is checked.
    let response = hub
        .http
        .post(format!("{}/api/v1/console/login", hub.base))
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .body(
            json!({ "tenant_id": tenant, "email": "owner@example.com", "password": CONSOLE_PASSWORD })
                .to_string(),
        )
        .send()
        .await?;
    ensure!(
        response.status() == StatusCode::BAD_REQUEST,
        "text/plain login: {}",
        response.status()
    );

    // Success: the cookie's flags, and only hashes stored.
    let (status, body, session) =
        hub.console_login(tenant, " OWNER@example.com ", CONSOLE_PASSWORD).await?;
    ensure!(status == StatusCode::OK, "{body}");
    let session = session.context("no session")?;
    let flags = &session.set_cookie;
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        ensure!(flags.contains(flag), "cookie lacks {flag}: {flags}");
    }
    ensure!(!flags.contains("Secure"), "no TLS in this test, so no Secure flag: {flags}");
    ensure!(body["role"] == "owner" && body["tenant_id"] == json!(tenant), "{body}");
    let secret = session.cookie.rsplit('.').next().context("cookie")?.to_owned();
    let raw: i64 = db
        .query_one(
            "SELECT count(*) FROM console_sessions
              WHERE encode(session_hash, 'hex') IN ($1, $2) OR encode(csrf_hash, 'hex') IN ($1, $2)",
            &[&secret, &session.csrf],
        )
        .await?
        .get(0);
    ensure!(raw == 0, "a session secret or CSRF token is stored in the clear");

    // The session works; no, a garbled or re-tenanted cookie does not.
    let (status, me) = hub.console("/api/v1/console/me", Some(&session.cookie), None, None).await?;
    ensure!(status == StatusCode::OK && me["email"] == "owner@example.com", "{status} {me}");
    let retenanted = session.cookie.replace(&tenant.to_string(), &other.to_string());
    for cookie in [
        None,
        Some("thorbis_console=garbage".to_owned()),
        Some(format!("thorbis_console={tenant}.{}", "0".repeat(64))),
        Some(retenanted),
    ] {
        let (status, body) =
            hub.console("/api/v1/console/me", cookie.as_deref(), None, None).await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "{cookie:?}: {status} {body}");
    }
    // A session is found among other cookies.
    let cookie = format!("theme=dark; {}; lang=en", session.cookie);
    let (status, _) = hub.console("/api/v1/console/me", Some(&cookie), None, None).await?;
    ensure!(status == StatusCode::OK);

    // Logout is state-changing: it needs the CSRF token, then the session is gone.
    let logout = "/api/v1/console/logout";
    let empty = json!({});
    for csrf in [None, Some("wrong"), Some(&*"0".repeat(64))] {
        let (status, _) = hub.console(logout, Some(&session.cookie), csrf, Some(&empty)).await?;
        ensure!(status == StatusCode::FORBIDDEN, "logout with CSRF {csrf:?}: {status}");
    }
    let (status, _) =
        hub.console(logout, Some(&session.cookie), Some(&session.csrf), Some(&empty)).await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = hub.console("/api/v1/console/me", Some(&session.cookie), None, None).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "a logged-out session still works");

    // Sessions expire.
    let session = hub.console_session(tenant, "owner@example.com").await?;
    hub.clock.advance(43_200_001);
    let (status, _) = hub.console("/api/v1/console/me", Some(&session.cookie), None, None).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "an expired session still works");

    // Five failures lock the account for a minute, even against the right password; the
    // answer is the same 401 as any failure.
    for _ in 0..5 {
        let (status, _, _) = hub.console_login(tenant, "owner@example.com", "guess").await?;
        ensure!(status == StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) =
        hub.console_login(tenant, "owner@example.com", CONSOLE_PASSWORD).await?;
    ensure!(status == StatusCode::UNAUTHORIZED && body["error"] == messages[0], "{body}");
    hub.clock.advance(60_001);
    hub.console_session(tenant, "owner@example.com").await?;
    hub.stop().await
}

/// Guessing a console password in parallel gains nothing: of forty wrong passwords at
/// once, the address's burst is taken and the rest refused unchecked, at most the
/// lockout's allowance of passwords are checked, and the account locks as if they had
/// come one by one.
#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_lockout_limit() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Guess Co").await?;
    hub.console_user(tenant, "owner@guess.example", "owner").await?;
    let checks = || async {
        let metrics =
            hub.http.get(format!("{}/metrics", hub.base)).bearer_auth(support::ADMIN_TOKEN);
        let text = metrics.send().await?.text().await?;
        text.lines()
            .find_map(|l| l.strip_prefix("thorbis_hub_console_password_checks_total "))
            .and_then(|v| v.parse::<u64>().ok())
            .context("no password check counter")
    };
    let before = checks().await?;
    let guesses = (0..40).map(|i| {
        let hub = &hub;
        async move { hub.console_login(tenant, "owner@guess.example", &format!("guess {i}")).await }
    });
    let mut throttled = 0;
    for result in futures_util::future::join_all(guesses).await {
        match result?.0 {
            StatusCode::UNAUTHORIZED => {}
            // One address gets a burst of attempts, then one every few seconds.
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => anyhow::bail!("a guess got {other}"),
        }
    }
    ensure!(throttled >= 40 - 10, "only {throttled} of 40 guesses from one address throttled");
    let checked = checks().await? - before;
    let limit = u64::try_from(thorbis_hub::accounts::MAX_FAILED_LOGINS)?;
    ensure!(checked <= limit, "{checked} passwords checked, the limit is {limit}");
    // Locked: even the right password is refused, unchecked, until the lockout ends.
    hub.clock.advance(i64::try_from(thorbis_hub::http::console::LOGIN_REFILL_MS)?);
    let (status, _, _) = hub.console_login(tenant, "owner@guess.example", CONSOLE_PASSWORD).await?;
    ensure!(status == StatusCode::UNAUTHORIZED && checks().await? - before == checked);
    hub.clock.advance(i64::try_from(thorbis_hub::accounts::LOCKOUT_MS)? + 1);
    hub.console_session(tenant, "owner@guess.example").await?;
    hub.stop().await
}

/// The console's tenant operations: a manager with the CSRF token can run each one (the
/// same code as the admin API), a viewer cannot run any, and a missing or wrong token
/// refuses the request before anything is written.
#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one attempt per operation and role")]
async fn console_operations_need_a_manager_and_the_csrf_token() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Console Ops").await?;
    hub.console_user(tenant, "owner@example.com", "owner").await?;
    let owner = hub.console_session(tenant, "owner@example.com").await?;
    // Owners add users through the console; managers cannot.
    for (email, role) in [("manager@example.com", "manager"), ("viewer@example.com", "viewer")] {
        let (status, body) = hub
            .console(
                "/api/v1/console/users",
                Some(&owner.cookie),
                Some(&owner.csrf),
                Some(&json!({ "email": email, "password": CONSOLE_PASSWORD, "role": role })),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {body}");
    }
    let manager = hub.console_session(tenant, "manager@example.com").await?;
    let viewer = hub.console_session(tenant, "viewer@example.com").await?;
    let (status, _) = hub
        .console(
            "/api/v1/console/users",
            Some(&manager.cookie),
            Some(&manager.csrf),
            Some(
                &json!({ "email": "x@example.com", "password": CONSOLE_PASSWORD, "role": "owner" }),
            ),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "a manager added a user");

    let mut device = hub.agent(tenant, location, 1).await?;
    device.sale(1, NOW_MS);
    let item = json!({ "events": [{ "kind": "catalog.item_upserted", "payload": {
        "id": Uuid::from_bytes([7; 16]), "name": "Flat white", "category": null, "price": 450,
        "tax_category": null } }] });
    let ops = [
        ("/api/v1/console/locations".to_owned(), json!({ "name": "Harbour" })),
        (
            "/api/v1/console/enrollment-codes".to_owned(),
            json!({ "location_id": location, "role": "kds" }),
        ),
        (format!("/api/v1/console/devices/{}/revoke", device.device_id), json!({})),
        ("/api/v1/console/reference-events".to_owned(), item),
    ];
    let written =
        "SELECT (SELECT count(*) FROM locations) + (SELECT count(*) FROM enrollment_codes)
        + (SELECT count(*) FROM devices WHERE revoked_at_ms IS NOT NULL)
        + (SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%')";
    let before = hub.count(written).await?;
    for (path, body) in &ops {
        // No session, a viewer (with its own valid token), a manager without or with another
        // session's token: all refused.
        let (status, _) = hub.console(path, None, None, Some(body)).await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "{path} without a session: {status}");
        let (status, _) =
            hub.console(path, Some(&viewer.cookie), Some(&viewer.csrf), Some(body)).await?;
        ensure!(status == StatusCode::FORBIDDEN, "{path} as a viewer: {status}");
        let (status, _) = hub.console(path, Some(&manager.cookie), None, Some(body)).await?;
        ensure!(status == StatusCode::FORBIDDEN, "{path} without CSRF: {status}");
        let (status, _) =
            hub.console(path, Some(&manager.cookie), Some(&viewer.csrf), Some(body)).await?;
        ensure!(status == StatusCode::FORBIDDEN, "{path} with another session's CSRF: {status}");
    }
    ensure!(hub.count(written).await? == before, "a refused console request wrote something");

    // The manager, properly: every operation works and does what the admin API does.
    let mut replies = Vec::new();
    for (path, body) in &ops {
        let (status, reply) =
            hub.console(path, Some(&manager.cookie), Some(&manager.csrf), Some(body)).await?;
        ensure!(status == StatusCode::OK, "{path}: {status} {reply}");
        replies.push(reply);
    }
    ensure!(hub.count(written).await? == before + 4, "expected one row per operation");
    let code = replies[1]["code"].as_str().context("code")?;
    let (status, body) = hub.enroll_raw(code, &DeviceKey::from_seed(&[9; 32])?).await?;
    ensure!(status == StatusCode::OK, "a console-issued code does not enroll: {body}");
    let (status, _) = hub.push(&device, &device.all()).await?;
    ensure!(status == StatusCode::FORBIDDEN, "the console-revoked device can still push");
    // The log: the device's record (1), its revocation (2), then the item (3).
    ensure!(replies[3]["from_seq"] == 3 && replies[3]["to_seq"] == 3, "{}", replies[3]);
    ensure!(
        hub.count(&format!(
            "SELECT count(*) FROM events WHERE tenant_id = '{tenant}' AND device_id = '{tenant}'
               AND seq = 2 AND kind = 'device.revoked'"
        ))
        .await?
            == 1,
        "the revocation was not published"
    );
    // Owners include managers.
    let (status, _) = hub
        .console(
            "/api/v1/console/locations",
            Some(&owner.cookie),
            Some(&owner.csrf),
            Some(&json!({ "name": "Owner's" })),
        )
        .await?;
    ensure!(status == StatusCode::OK);
    hub.stop().await
}

/// The staff records a device of `location` pulled from its location's staff log, in
/// order.
async fn pulled_staff(
    hub: &TestHub,
    device: &Agent,
    location: Uuid,
    tenant_key: &PublicKey,
) -> Result<Vec<thorbis_domain::catalog::Staff>> {
    let (status, batch, _) = hub.pull(device, &json!({}), 1000).await?;
    ensure!(status == StatusCode::OK, "pull: {status}");
    let batch = batch.unwrap_or_default();
    let log = thorbis_sync_protocol::staff_log(device.tenant, location);
    if batch.events.iter().all(|e| e.device_id != log) {
        return Ok(Vec::new());
    }
    let events: Vec<_> = batch.events.into_iter().filter(|e| e.device_id == log).collect();
    let checkpoint =
        batch.checkpoints.into_iter().rfind(|c| c.device_id == log).context("no checkpoint")?;
    verify_chain(tenant_key, ChainTip::GENESIS, &events, &checkpoint)?;
    let mut staff = Vec::new();
    for event in &events {
        ensure!(event.kind.as_str() == "catalog.staff_upserted", "{}", event.kind);
        match DomainEvent::decode(event.kind.as_str(), &event.payload)? {
            Some(DomainEvent::StaffUpserted(s)) => staff.push(s),
            other => anyhow::bail!("not a staff record: {other:?}"),
        }
    }
    Ok(staff)
}

fn pin_verifies(pin: &str, phc: &str) -> bool {
    use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
        .verify_password(pin.as_bytes(), phc)
        .is_ok()
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn staff_are_published_with_hub_hashed_pins() -> Result<()> {
    let hub = TestHub::start().await?;
    let (status, body) = hub.admin("/api/v1/admin/tenants", &json!({ "name": "Staff Co" })).await?;
    ensure!(status == StatusCode::OK);
    let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
    let tenant_key: PublicKey = serde_json::from_value(body["public_key"].clone())?;
    let location = hub.location(tenant, "Front").await?;
    let pos = hub.agent(tenant, location, 1).await?;
    hub.console_user(tenant, "manager@example.com", "manager").await?;
    hub.console_user(tenant, "viewer@example.com", "viewer").await?;
    let manager = hub.console_session(tenant, "manager@example.com").await?;
    let viewer = hub.console_session(tenant, "viewer@example.com").await?;
    let (cookie, csrf) = (Some(manager.cookie.as_str()), Some(manager.csrf.as_str()));
    let path = "/api/v1/console/staff";
    let pin = "40718263";

    // Refused, and nothing published: bad PINs, empty names, unknown roles, a new member
    // without a PIN, a viewer, a missing CSRF token.
    let staff = |name: &str, role: &str, pin: Value| json!({ "name": name, "role": role, "pin": pin, "active": true });
    for bad in [
        staff("Ana", "cashier", json!("123")),
        staff("Ana", "cashier", json!("123456789")),
        staff("Ana", "cashier", json!("12a4")),
        staff("Ana", "cashier", json!("１２３４")),
        staff("Ana", "cashier", json!(" 1234")),
        staff("Ana", "cashier", json!("")),
        staff("Ana", "cashier", json!(40_718_263)),
        staff("   ", "cashier", json!("1234")),
        staff("Ana", "janitor", json!("1234")),
        staff("Ana", "Cashier", json!("1234")),
        json!({ "name": "Ana", "role": "cashier", "active": true }),
        json!({ "name": "Ana", "role": "cashier", "pin": "1234" }),
    ] {
        let (status, body) = hub.console(path, cookie, csrf, Some(&bad)).await?;
        ensure!(status == StatusCode::BAD_REQUEST, "{bad}: {status} {body}");
        ensure!(!body.to_string().contains("40718263"), "the PIN was echoed: {body}");
    }
    let good = staff("Ana", "cashier", json!(pin));
    let (status, _) =
        hub.console(path, Some(&viewer.cookie), Some(&viewer.csrf), Some(&good)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "a viewer published staff: {status}");
    let (status, _) = hub.console(path, cookie, None, Some(&good)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "staff published without CSRF: {status}");
    let (status, _) = hub.console(path, cookie, csrf, Some(&staff("", "", json!(pin)))).await?;
    ensure!(status == StatusCode::BAD_REQUEST);
    let (status, body) = hub
        .console(
            path,
            cookie,
            csrf,
            Some(&json!({ "staff_id": Uuid::now_v7(), "name": "Nobody", "role": "cashier",
                          "active": true })),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND, "an update of no one: {status} {body}");
    ensure!(
        hub.count("SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%'").await? == 0,
        "a refused request published"
    );
    // The reference-events endpoint refuses a plain PIN in `pin_hash`.
    let (status, body) = hub
        .console(
            "/api/v1/console/reference-events",
            cookie,
            csrf,
            Some(&json!({ "events": [{ "kind": "catalog.staff_upserted", "payload": {
                "id": Uuid::now_v7(), "name": "Raw", "role": "cashier", "pin_hash": pin,
                "active": true } }] })),
        )
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "a plain PIN as pin_hash: {status} {body}");
    ensure!(
        hub.count("SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%'").await? == 0,
        "a refused request published"
    );

    // Published: a new UUIDv7 id, the PIN hashed on the hub, the reply without PIN or hash.
    let (status, reply) = hub.console(path, cookie, csrf, Some(&good)).await?;
    ensure!(status == StatusCode::OK, "{status} {reply}");
    let id: Uuid = serde_json::from_value(reply["staff_id"].clone())?;
    ensure!(id.get_version_num() == 7, "{id}");
    // Staff records have a log of their own (no device pulls it): this is its first record.
    ensure!(reply["role"] == "cashier" && reply["seq"] == 1, "{reply}");
    ensure!(reply.get("pin").is_none() && reply.get("pin_hash").is_none(), "{reply}");
    let stored: String = hub
        .superuser()
        .await?
        .query_one(
            "SELECT coalesce(string_agg(encode(payload, 'escape'), ''), '') FROM events",
            &[],
        )
        .await?
        .get(0);
    ensure!(!stored.contains(pin), "the plain PIN reached the event store");

    let pulled = pulled_staff(&hub, &pos, location, &tenant_key).await?;
    ensure!(pulled.len() == 1, "{pulled:?}");
    let ana = &pulled[0];
    ensure!(ana.id.0 == id && ana.name == "Ana" && ana.active);
    ensure!(ana.role == thorbis_domain::catalog::Role::Cashier);
    ensure!(ana.pin_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", ana.pin_hash);
    ensure!(thorbis_domain::catalog::looks_like_argon2id_phc(&ana.pin_hash));
    ensure!(!ana.pin_hash.contains(pin), "the hash contains the PIN");
    ensure!(pin_verifies(pin, &ana.pin_hash), "the hash does not verify the PIN");
    ensure!(!pin_verifies("40718264", &ana.pin_hash), "the hash verifies another PIN");

    // Update without `pin`: renamed, promoted, the hash kept.
    let (status, reply) = hub
        .console(
            path,
            cookie,
            csrf,
            Some(&json!({ "staff_id": id, "name": "Ana M.", "role": "manager", "active": true })),
        )
        .await?;
    ensure!(status == StatusCode::OK && reply["seq"] == 2, "{status} {reply}");
    let pulled = pulled_staff(&hub, &pos, location, &tenant_key).await?;
    ensure!(pulled.len() == 2);
    ensure!(pulled[1].name == "Ana M." && pulled[1].role == thorbis_domain::catalog::Role::Manager);
    ensure!(pulled[1].pin_hash == ana.pin_hash, "an update without a PIN changed the hash");

    // A bad PIN on an update is refused and publishes nothing; a new PIN gets a new salt.
    let (status, _) = hub
        .console(
            path,
            cookie,
            csrf,
            Some(&json!({ "staff_id": id, "name": "Ana M.", "role": "manager", "pin": "12",
                          "active": true })),
        )
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST);
    // Two publications, each on the record log and copied to the one location's staff log.
    ensure!(hub.count("SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%'").await? == 4);
    // The admin twin, with the same PIN: a fresh salt, so a different hash that verifies.
    let (status, reply) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant}/staff"),
            &json!({ "staff_id": id, "name": "Ana M.", "role": "manager", "pin": pin,
                     "active": false }),
        )
        .await?;
    ensure!(status == StatusCode::OK && reply["seq"] == 3, "{status} {reply}");
    let pulled = pulled_staff(&hub, &pos, location, &tenant_key).await?;
    let last = &pulled[2];
    // A technician's laptop at the same location gets no staff and no PIN hash.
    let laptop = hub.agent_as(tenant, location, 7, "technician").await?;
    let (status, batch, _) = hub.pull(&laptop, &json!({}), 1000).await?;
    let batch = batch.unwrap_or_default();
    ensure!(status == StatusCode::OK && !batch.events.is_empty(), "{status}");
    ensure!(
        batch.events.iter().all(|e| e.kind.as_str() != "catalog.staff_upserted"),
        "a technician received staff records"
    );
    ensure!(!last.active && last.pin_hash != ana.pin_hash);
    ensure!(pin_verifies(pin, &last.pin_hash));
    ensure!(
        hub.count(&format!(
            "SELECT count(*) FROM aggregates WHERE kind = 'staff' AND id = '{id}'
               AND state::text LIKE '%Ana M.%' AND state::text LIKE '%\"active\": false%'"
        ))
        .await?
            == 1,
        "the staff aggregate holds the latest version"
    );
    hub.stop().await
}

/// A terminal receives the records of its own location's staff only. Someone who moves
/// leaves behind a record that no longer names the old location, carrying the PIN hash
/// that location already held; a new location gets the staff who work everywhere.
#[tokio::test]
async fn staff_reach_only_the_locations_they_work_at() -> Result<()> {
    let hub = TestHub::start().await?;
    let (status, body) =
        hub.admin("/api/v1/admin/tenants", &json!({ "name": "Two Shops" })).await?;
    ensure!(status == StatusCode::OK);
    let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
    let key: PublicKey = serde_json::from_value(body["public_key"].clone())?;
    let (front, back) = (hub.location(tenant, "Front").await?, hub.location(tenant, "Back").await?);
    let (front_pos, back_pos) =
        (hub.agent(tenant, front, 1).await?, hub.agent(tenant, back, 2).await?);
    let path = format!("/api/v1/admin/tenants/{tenant}/staff");
    let publish = |body: Value| {
        let (hub, path) = (&hub, &path);
        async move { hub.admin(path, &body).await }
    };
    let (status, owner) = publish(json!({ "name": "Olga", "role": "owner", "pin": "9001",
                                          "active": true }))
    .await?;
    ensure!(status == StatusCode::OK, "{owner}");
    let (status, bea) = publish(json!({ "name": "Bea", "role": "cashier", "pin": "4455",
                                        "active": true, "locations": [back] }))
    .await?;
    ensure!(status == StatusCode::OK && bea["locations"] == json!([back]), "{bea}");
    let names = |staff: &[thorbis_domain::catalog::Staff]| -> Vec<String> {
        staff.iter().map(|s| s.name.clone()).collect()
    };
    ensure!(names(&pulled_staff(&hub, &front_pos, front, &key).await?) == ["Olga"]);
    let at_back = pulled_staff(&hub, &back_pos, back, &key).await?;
    ensure!(names(&at_back) == ["Olga", "Bea"], "{:?}", names(&at_back));
    let bea_hash = at_back[1].pin_hash.clone();
    // Front's terminal cannot even ask for Back's staff log.
    let back_log = thorbis_sync_protocol::staff_log(tenant, back);
    let (_, batch, _) = hub.pull(&front_pos, &json!({ back_log.to_string(): 0 }), 1000).await?;
    ensure!(batch.unwrap_or_default().events.iter().all(|e| e.device_id != back_log));

    // Bea moves to Front with a new PIN: Front gets her record; Back gets one that no
    // longer names it, with the hash Back already had, not the new one.
    let (status, reply) = publish(json!({ "staff_id": bea["staff_id"], "name": "Bea",
                                          "role": "cashier", "pin": "7788", "active": true,
                                          "locations": [front] }))
    .await?;
    ensure!(status == StatusCode::OK, "{reply}");
    let at_front = pulled_staff(&hub, &front_pos, front, &key).await?;
    ensure!(names(&at_front) == ["Olga", "Bea"]);
    ensure!(at_front[1].works_at(thorbis_domain::ids::LocationId(front)));
    ensure!(at_front[1].pin_hash != bea_hash);
    let at_back = pulled_staff(&hub, &back_pos, back, &key).await?;
    let left = at_back.last().context("a record")?;
    ensure!(left.name == "Bea" && !left.works_at(thorbis_domain::ids::LocationId(back)));
    ensure!(left.pin_hash == bea_hash, "the location Bea left received her new PIN hash");

    // An update that leaves `locations` out keeps them.
    let (status, reply) = publish(json!({ "staff_id": bea["staff_id"], "name": "Bea K.",
                                          "role": "cashier", "active": true }))
    .await?;
    ensure!(status == StatusCode::OK && reply["locations"] == json!([front]), "{reply}");
    // A location opened later gets the owner, who works everywhere, and nobody else.
    let third = hub.location(tenant, "Pop-up").await?;
    let pop_up = hub.agent(tenant, third, 3).await?;
    ensure!(names(&pulled_staff(&hub, &pop_up, third, &key).await?) == ["Olga"]);
    // A location of no one's.
    let (status, _) = publish(json!({ "name": "Cy", "role": "cashier", "pin": "1212",
                                      "active": true, "locations": [Uuid::now_v7()] }))
    .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    hub.stop().await
}

/// What a device folds from its tenant's reference log, verified with the tenant key.
async fn pulled_state(
    hub: &TestHub,
    device: &Agent,
    tenant_key: &PublicKey,
) -> Result<thorbis_domain::State> {
    let (status, batch, more) = hub.pull(device, &json!({}), 1000).await?;
    ensure!(status == StatusCode::OK && !more, "pull: {status}");
    let batch = batch.unwrap_or_default();
    let mut state = thorbis_domain::State::default();
    let log = batch.events.iter().filter(|e| e.device_id.0 == *device.tenant.as_bytes());
    let log: Vec<_> = log.cloned().collect();
    let checkpoint = batch
        .checkpoints
        .iter()
        .rfind(|c| c.device_id.0 == *device.tenant.as_bytes())
        .context("no checkpoint of the reference log")?;
    verify_chain(tenant_key, ChainTip::GENESIS, &log, checkpoint)?;
    for event in &log {
        let meta = thorbis_domain::EventMeta { hlc: event.hlc, id: event.id() };
        if let Some(domain) = DomainEvent::decode(event.kind.as_str(), &event.payload)? {
            state.apply(&meta, &domain);
        }
    }
    Ok(state)
}

/// Devices learn each other's keys, revocations and configuration from the reference log;
/// the console lists devices and manages its own users.
#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn device_records_configuration_and_console_users() -> Result<()> {
    use thorbis_domain::device::{Device, DeviceRole, PrinterPurpose};

    let hub = TestHub::start().await?;
    let (status, body) = hub.admin("/api/v1/admin/tenants", &json!({ "name": "Fleet Co" })).await?;
    ensure!(status == StatusCode::OK);
    let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
    let tenant_key: PublicKey = serde_json::from_value(body["public_key"].clone())?;
    let location = hub.location(tenant, "Depot").await?;
    let pos = hub.agent(tenant, location, 1).await?;
    let kds = hub.agent(tenant, location, 2).await?;
    let pos_id = Uuid::from_bytes(pos.device_id.0);

    // The KDS knows the POS's key from the log alone.
    let state = pulled_state(&hub, &kds, &tenant_key).await?;
    let record: &Device = state.get(pos_id).context("no record of the POS")?;
    let registered = record.registration().context("not registered")?;
    ensure!(registered.public_key == pos.key.public_key());
    ensure!(registered.location_id == location && registered.role == DeviceRole::Pos);
    ensure!(record.is_trusted_at(NOW_MS) && state.devices.len() == 2);

    // Configuration: refused when invalid (nothing published), published when valid.
    let config_path = format!("/api/v1/admin/tenants/{tenant}/devices/{pos_id}/config");
    let printer = |name: &str, purpose: &str, station: Value, backup: Value| {
        json!({ "name": name, "address": "127.0.0.1:9100", "purpose": purpose,
                "station": station, "backup": backup })
    };
    let before = hub.log_tip(tenant).await?;
    for bad in [
        json!({ "name": "", "printers": [] }),
        json!({ "name": "Bar", "printers": [printer("Grill", "kitchen", Value::Null, Value::Null)] }),
        json!({ "name": "Bar", "printers": [printer("Front", "receipt", Value::Null, json!("Gone"))] }),
        json!({ "name": "Bar", "printers": [printer("Front", "fax", Value::Null, Value::Null)] }),
        json!({ "name": "Bar", "colour": "red" }),
    ] {
        let (status, body) = hub.admin(&config_path, &bad).await?;
        ensure!(status.is_client_error(), "{bad}: {status} {body}");
    }
    let (status, _) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant}/devices/{}/config", Uuid::now_v7()),
            &json!({ "name": "Ghost" }),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    ensure!(hub.log_tip(tenant).await? == before, "a refused configuration was published");
    let good = json!({ "name": "Bar POS", "printers": [
        printer("Front", "receipt", Value::Null, json!("Grill")),
        printer("Grill", "kitchen", json!("grill"), Value::Null),
    ], "stations": [] });
    let (status, body) = hub.admin(&config_path, &good).await?;
    ensure!(status == StatusCode::OK && body["seq"] == before + 1, "{status} {body}");
    let state = pulled_state(&hub, &kds, &tenant_key).await?;
    let config = state.get::<Device>(pos_id).and_then(|d| d.config.clone()).context("config")?;
    ensure!(config.value.name == "Bar POS" && config.value.printers.len() == 2);
    ensure!(config.value.printers[1].purpose == PrinterPurpose::Kitchen);

    // Console: owners and managers manage devices; viewers only list them.
    hub.console_user(tenant, "owner@fleet.example", "owner").await?;
    hub.console_user(tenant, "manager@fleet.example", "manager").await?;
    hub.console_user(tenant, "viewer@fleet.example", "viewer").await?;
    let owner = hub.console_session(tenant, "owner@fleet.example").await?;
    let manager = hub.console_session(tenant, "manager@fleet.example").await?;
    let viewer = hub.console_session(tenant, "viewer@fleet.example").await?;
    let (status, list) =
        hub.console("/api/v1/console/devices", Some(&viewer.cookie), None, None).await?;
    ensure!(
        status == StatusCode::OK && list["devices"].as_array().map(Vec::len) == Some(2),
        "{list}"
    );
    let console_config = format!("/api/v1/console/devices/{pos_id}/config");
    let (status, _) =
        hub.console(&console_config, Some(&viewer.cookie), Some(&viewer.csrf), Some(&good)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "a viewer configured a device");
    let (status, _) = hub
        .console(&console_config, Some(&manager.cookie), Some(&manager.csrf), Some(&good))
        .await?;
    ensure!(status == StatusCode::OK);

    // Revocation reaches the other devices; a revoked device cannot be configured.
    let revoke = format!("/api/v1/console/devices/{pos_id}/revoke");
    let (status, _) =
        hub.console(&revoke, Some(&manager.cookie), Some(&manager.csrf), Some(&json!({}))).await?;
    ensure!(status == StatusCode::OK);
    let (status, _) =
        hub.console(&revoke, Some(&manager.cookie), Some(&manager.csrf), Some(&json!({}))).await?;
    ensure!(status == StatusCode::OK, "revoking twice is harmless");
    let state = pulled_state(&hub, &kds, &tenant_key).await?;
    let record: &Device = state.get(pos_id).context("no record")?;
    ensure!(record.is_revoked() && !record.is_trusted_at(NOW_MS));
    ensure!(record.public_key() == Some(pos.key.public_key()), "old events stay verifiable");
    ensure!(
        hub.count("SELECT count(*) FROM events WHERE kind = 'device.revoked'").await? == 1,
        "a second revocation published again"
    );
    let (status, _) = hub
        .console(&console_config, Some(&manager.cookie), Some(&manager.csrf), Some(&good))
        .await?;
    ensure!(status == StatusCode::CONFLICT);
    let (_, list) = hub.console("/api/v1/console/devices", Some(&owner.cookie), None, None).await?;
    let revoked: Vec<&Value> = list["devices"]
        .as_array()
        .context("devices")?
        .iter()
        .filter(|d| !d["revoked_at_ms"].is_null())
        .collect();
    ensure!(revoked.len() == 1 && revoked[0]["device_id"] == pos_id.to_string(), "{list}");

    // Console users: listed for managers, deactivated by owners only (never themselves).
    let (status, _) =
        hub.console("/api/v1/console/users", Some(&viewer.cookie), None, None).await?;
    ensure!(status == StatusCode::FORBIDDEN);
    let (status, users) =
        hub.console("/api/v1/console/users", Some(&manager.cookie), None, None).await?;
    ensure!(status == StatusCode::OK, "{users}");
    let users = users["users"].as_array().context("users")?.clone();
    ensure!(users.len() == 3 && users.iter().all(|u| u.get("password_hash").is_none()));
    let id_of = |email: &str| -> Result<String> {
        let user = users.iter().find(|u| u["email"] == email).context("listed")?;
        Ok(user["user_id"].as_str().context("id")?.to_owned())
    };
    let deactivate = |id: String| format!("/api/v1/console/users/{id}/deactivate");
    let viewer_id = id_of("viewer@fleet.example")?;
    let (status, _) = hub
        .console(
            &deactivate(viewer_id.clone()),
            Some(&manager.cookie),
            Some(&manager.csrf),
            Some(&json!({})),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "a manager deactivated a user");
    let (status, _) = hub
        .console(
            &deactivate(id_of("owner@fleet.example")?),
            Some(&owner.cookie),
            Some(&owner.csrf),
            Some(&json!({})),
        )
        .await?;
    ensure!(status == StatusCode::CONFLICT, "an owner deactivated themselves");
    let (status, _) = hub
        .console(&deactivate(viewer_id), Some(&owner.cookie), Some(&owner.csrf), Some(&json!({})))
        .await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = hub.console("/api/v1/console/me", Some(&viewer.cookie), None, None).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "a deactivated user's session still works");
    let (status, _, _) =
        hub.console_login(tenant, "viewer@fleet.example", CONSOLE_PASSWORD).await?;
    ensure!(status.is_client_error(), "a deactivated user signed in");

    // Password change: the current password is required; other sessions end.
    let other_session = hub.console_session(tenant, "manager@fleet.example").await?;
    let change = |current: &str| json!({ "current_password": current, "new_password": "a brand new passphrase" });
    let (status, _) = hub
        .console(
            "/api/v1/console/password",
            Some(&manager.cookie),
            Some(&manager.csrf),
            Some(&change("wrong password!")),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN);
    let (status, _) = hub
        .console(
            "/api/v1/console/password",
            Some(&manager.cookie),
            Some(&manager.csrf),
            Some(&json!({ "current_password": CONSOLE_PASSWORD, "new_password": "short" })),
        )
        .await?;
    ensure!(status == StatusCode::BAD_REQUEST);
    let (status, _) = hub
        .console(
            "/api/v1/console/password",
            Some(&manager.cookie),
            Some(&manager.csrf),
            Some(&change(CONSOLE_PASSWORD)),
        )
        .await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = hub.console("/api/v1/console/me", Some(&manager.cookie), None, None).await?;
    ensure!(status == StatusCode::OK, "the session that changed the password ended");
    let (status, _) =
        hub.console("/api/v1/console/me", Some(&other_session.cookie), None, None).await?;
    ensure!(status == StatusCode::UNAUTHORIZED, "another session survived a password change");
    let (status, _, _) =
        hub.console_login(tenant, "manager@fleet.example", CONSOLE_PASSWORD).await?;
    ensure!(status.is_client_error(), "the old password still works");
    let (status, _, _) =
        hub.console_login(tenant, "manager@fleet.example", "a brand new passphrase").await?;
    ensure!(status == StatusCode::OK);
    hub.stop().await
}

/// Waits (bounded) until the hub at `base` holds `n` live pulls waiting for news.
async fn live_pulls(http: &reqwest::Client, base: &str, n: u64) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        let metrics = http.get(format!("{base}/metrics")).bearer_auth(support::ADMIN_TOKEN);
        let metrics = metrics.send().await?.text().await?;
        if metrics.lines().any(|l| l == format!("thorbis_hub_live_connections {n}")) {
            return Ok(());
        }
        ensure!(started.elapsed() < std::time::Duration::from_secs(20), "no live pull: {metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// On Citus, the hot paths (push, pull, console pages, reports) each stay on one shard:
/// a hub whose sessions turn any statement planned over several shards into an error
/// (`citus.multi_task_query_log_level`) serves them all, and the report queries' plans
/// (`EXPLAIN`) have one task. Setup that may fan out (creating a tenant, enrolling: each
/// looks a code up across tenants) runs through a second, ordinary hub on the database.
#[tokio::test]
async fn citus_hot_paths_stay_on_one_shard() -> Result<()> {
    let setup = TestHub::start_on_backend(Backend::Citus).await?;
    let mut strict_db = setup.db.clone();
    strict_db.config.app_url.push_str(" options='-c citus.multi_task_query_log_level=error'");
    let hub = TestHub::start_on(strict_db).await?;
    // The guard is on: a statement that names no tenant is refused, and its plan shows
    // one task per shard.
    let strict = support::connect(&hub.db.config.app_url).await?;
    let refused = strict.query_one("SELECT count(*) FROM events", &[]).await;
    ensure!(
        refused.as_ref().is_err_and(|e| {
            e.as_db_error().is_some_and(|d| d.message().contains("multi-task query"))
        }),
        "a multi-shard statement must be refused: {refused:?}"
    );
    let ordinary = setup.app_role().await?;
    let fan_out = tasks(&ordinary, "SELECT count(*) FROM events", &[]).await?;
    ensure!(fan_out.iter().any(|&n| n > 1), "a scan of every shard has one task: {fan_out:?}");

    let (tenant, location) = setup.tenant("Hot Path Co").await?;
    let (other, other_location) = setup.tenant("Neighbour Co").await?;
    let mut pos = setup.agent(tenant, location, 1).await?;
    let kds = setup.agent_as(tenant, location, 2, "kds").await?;
    let mut neighbour = setup.agent(other, other_location, 3).await?;
    setup.console_user(tenant, "manager@hot.example", "manager").await?;
    let mut first = None;
    for n in 1..=3 {
        first = first.or(Some(pos.sale(n, NOW_MS + u64::from(n) * 1000)));
        neighbour.sale(n, NOW_MS);
    }
    let (status, body) = hub.push(&neighbour, &neighbour.all()).await?;
    ensure!(status == StatusCode::OK, "push: {status} {body}");
    // Push in two parts (the second extends a stored chain), then again (all duplicates).
    for batch in [pos.batch(1, 4), pos.all(), pos.all()] {
        let (status, body) = hub.push(&pos, &batch).await?;
        ensure!(status == StatusCode::OK, "push: {status} {body}");
    }
    // Another terminal closes a check the POS closed in an earlier push: admission reads
    // when the hub first stored the close it contests.
    let mut register = setup.agent(tenant, location, 4).await?;
    let order_id = OrderId(first.context("a sale")?);
    register.append(
        &DomainEvent::OrderClosed(OrderClosed { order_id, closed_by: None }),
        NOW_MS + 9_000,
    );
    let (status, body) = hub.push(&register, &register.all()).await?;
    ensure!(status == StatusCode::OK && body["quarantined"] == json!([]), "close: {status} {body}");
    for agent in [&kds, &pos] {
        let (status, batch, _) = hub.pull(agent, &json!({}), 1000).await?;
        ensure!(status == StatusCode::OK && batch.is_some_and(|b| !b.events.is_empty()));
    }
    let console = hub.console_session(tenant, "manager@hot.example").await?;
    for page in [
        "/api/v1/console/me",
        "/api/v1/console/devices",
        "/api/v1/console/users",
        "/api/v1/console/work-orders",
    ] {
        let (status, body) = hub.console(page, Some(&console.cookie), None, None).await?;
        ensure!(status == StatusCode::OK, "{page}: {status} {body}");
    }
    // The console's pages, with the same session.
    let report = format!("location={location}&from=2024-07-01&to=2024-07-31");
    for page in [
        "/console".to_owned(),
        "/console/locations".to_owned(),
        format!("/console/locations/{location}"),
        "/console/devices".to_owned(),
        format!("/console/devices/{}", kds.device_id),
        format!("/console/devices/{}/audit", pos.device_id),
        format!("/console/devices/{tenant}/audit"),
        "/console/catalog".to_owned(),
        "/console/staff".to_owned(),
        "/console/alerts".to_owned(),
        "/console/users".to_owned(),
        "/console/account".to_owned(),
        format!("/console/reports?{report}"),
        format!("/console/reports/items.csv?{report}"),
    ] {
        let (status, body) = hub.console(&page, Some(&console.cookie), None, None).await?;
        ensure!(status == StatusCode::OK, "{page}: {status} {body}");
    }

    // Reports read the projections under the tenant.
    let app = hub.app_role().await?;
    app.batch_execute(&format!("BEGIN; SET LOCAL app.tenant_id = '{tenant}'")).await?;
    for report in [
        "SELECT day, orders, total, tax, tips FROM daily_sales WHERE tenant_id = $1 ORDER BY day",
        "SELECT order_id, total, paid FROM orders WHERE tenant_id = $1 AND status = 'closed'
          ORDER BY closed_at_ms DESC LIMIT 50",
        "SELECT tender, sum(amount) FROM payments WHERE tenant_id = $1 GROUP BY tender",
    ] {
        let plan = tasks(&app, report, &[&tenant]).await?;
        ensure!(plan == [1], "{report}: tasks per distributed scan {plan:?}");
    }
    let closed: i64 = app
        .query_one(
            "SELECT count(*) FROM orders WHERE tenant_id = $1 AND status = 'closed'",
            &[&tenant],
        )
        .await?
        .get(0);
    app.batch_execute("COMMIT").await?;
    ensure!(closed == 3, "expected the 3 sales as closed orders, found {closed}");
    hub.stop().await?;
    setup.stop().await
}

/// The task count of each distributed scan in `sql`'s plan (`EXPLAIN`, with `params`).
async fn tasks(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<u32>> {
    let plan = client.query(&format!("EXPLAIN {sql}"), params).await?;
    plan.iter()
        .filter_map(|row| {
            let line: String = row.get(0);
            line.trim().strip_prefix("Task Count: ").map(|n| n.parse::<u32>().map_err(Into::into))
        })
        .collect()
}

/// A client that sends half a request and stalls is answered 408 once the request deadline
/// passes (a long-poll's wait plus five seconds at least), and the hub serves others
/// meanwhile.
#[tokio::test]
async fn a_trickled_request_is_cut_off() -> Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let limits = thorbis_hub::Limits {
        request_timeout_ms: 1_000,
        max_wait_ms: 100,
        ..thorbis_hub::Limits::default()
    };
    let hub = TestHub::start_with(db, limits).await?;
    let addr = hub.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await?;
    stream
        .write_all(
            b"POST /api/v1/console/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\"",
        )
        .await?;
    let started = std::time::Instant::now();
    let health = hub.http.get(format!("{}/healthz", hub.base)).send().await?;
    ensure!(health.status() == StatusCode::OK, "the hub stopped serving others");
    let mut answer = vec![0; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(60), stream.read(&mut answer))
        .await??;
    let answer = String::from_utf8_lossy(&answer[..n]);
    ensure!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Not before a long-poll could have ended (5.1 s here; a margin for a busy machine).
    ensure!(started.elapsed() >= std::time::Duration::from_secs(4), "cut off too early");
    hub.stop().await
}
