//! Console reports over a large tenant: 1,000,000 order lines (200,000 closed orders of
//! five lines, over 90 days) for one tenant among 100 tenants on the same hub, the others
//! holding 10,000 lines each. Each report is fetched through HTTP with a console session,
//! as a browser would, over the whole 90-day range; the home page over the same data.
//! Run with `cargo bench -p thorbis-hub --bench reports`; prints
//! `METRIC report_sales_by_hour_p95_ms`, `METRIC report_by_item_p95_ms` and
//! `METRIC console_home_p95_ms` (goals: at most 200, 200 and 100). The rows are written
//! straight into the report projections (as the fold writes them); the ingest rate with
//! these projections in place is the `ingest` bench's.

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use support::{NOW_MS, TestHub};
use thorbis_domain::scan::Day;
use uuid::Uuid;

/// Requests timed per figure when benching.
const SAMPLES: usize = 40;
const DAY_MS: i64 = 86_400_000;

/// Writes `orders` closed orders of five lines each for `tenant` at `location`, spread
/// over the 90 days before `NOW_MS`.
async fn fill(
    db: &tokio_postgres::Client,
    tenant: Uuid,
    location: Uuid,
    orders: i64,
) -> Result<()> {
    let start = i64::try_from(NOW_MS)? - 90 * DAY_MS;
    db.execute(
        "INSERT INTO orders (tenant_id, order_id, location_id, status, currency, subtotal,
             discounts, comps, voids, net, tax, total, paid, tips, refunded, balance,
             opened_at_ms, closed_at_ms)
         SELECT $1, md5($1::uuid::text || g)::uuid, $2, 'closed', 'USD', 2000, 0, 0, 0, 2000, 160,
                2160, 2160, 0, 0, 0, t, t
           FROM (SELECT g, $3::bigint + g * (90 * 86400000::bigint) / $4 AS t
                   FROM generate_series(1, $4::bigint) g) s",
        &[&tenant, &location, &start, &orders],
    )
    .await?;
    db.execute(
        "INSERT INTO order_lines (tenant_id, order_id, line_id, position, item_id, name,
             qty_milli, gross, line_discount, order_discount, comp, net, voided)
         SELECT $1, md5($1::uuid::text || g)::uuid, md5($1::uuid::text || g || '-' || k)::uuid, k,
                md5('item' || (g * 7 + k) % 60)::uuid, 'Item ' || (g * 7 + k) % 60,
                1000, 400, 0, 0, 0, 400, false
           FROM generate_series(1, $2::bigint) g, generate_series(1, 5) k",
        &[&tenant, &orders],
    )
    .await?;
    Ok(())
}

/// The 95th percentile of `samples`, in milliseconds.
fn p95(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let at = (samples.len() * 95).div_ceil(100).saturating_sub(1);
    samples[at].as_secs_f64() * 1000.0
}

async fn time(hub: &TestHub, cookie: &str, path: &str, samples: usize) -> Result<f64> {
    let mut taken = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let (status, _) = hub.console(path, Some(cookie), None, None).await?;
        taken.push(started.elapsed());
        ensure!(status == reqwest::StatusCode::OK, "{path}: {status}");
    }
    Ok(p95(taken))
}

#[tokio::main]
async fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    // The smoke run of the test command proves the bench works on a small tenant.
    let (tenants, big, small, samples) =
        if benching { (100, 200_000, 2_000, SAMPLES) } else { (3, 2_000, 200, 2) };
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    let hub = TestHub::start_with(db, thorbis_hub::Limits::default()).await?;
    let superuser = hub.superuser().await?;
    let (tenant, location) = hub.tenant("Big Co").await?;
    let loaded = Instant::now();
    fill(&superuser, tenant, location, big).await?;
    for n in 1..tenants {
        let (other, other_location) = hub.tenant(&format!("Neighbour {n}")).await?;
        fill(&superuser, other, other_location, small).await?;
    }
    superuser.batch_execute("ANALYZE").await?;
    let lines = hub.count("SELECT count(*) FROM order_lines").await?;
    println!(
        "loaded {lines} order lines for {tenants} tenants in {:.1} s",
        loaded.elapsed().as_secs_f64()
    );
    hub.console_user(tenant, "owner@big.example", "owner").await?;
    let session = hub.console_session(tenant, "owner@big.example").await?;
    // UTC: the bench's location keeps the default time zone.
    let first = Day::of_unix_ms(NOW_MS - 89 * 86_400_000).to_string();
    let last = Day::of_unix_ms(NOW_MS).to_string();
    let range = format!("location={location}&from={first}&to={last}");
    let by_hour =
        time(&hub, &session.cookie, &format!("/console/reports/hours.csv?{range}"), samples)
            .await?;
    let by_item =
        time(&hub, &session.cookie, &format!("/console/reports/items.csv?{range}"), samples)
            .await?;
    let home = time(&hub, &session.cookie, "/console", samples).await?;
    println!("METRIC report_sales_by_hour_p95_ms {by_hour:.1}");
    println!("METRIC report_by_item_p95_ms {by_item:.1}");
    println!("METRIC console_home_p95_ms {home:.1}");
    hub.stop().await
}
