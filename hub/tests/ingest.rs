//! Push paths the ingest bench does not exercise: an order whose events arrive over several
//! pushes (its stored document is loaded, folded further and its lines replaced, not
//! duplicated), a relayed batch that interleaves two devices' events, and terminals pushing
//! at the same moment facts about one shared aggregate (none may be lost).

mod support;

use anyhow::{Result, ensure};
use reqwest::StatusCode;
use support::{NOW_MS, TestHub};
use thorbis_domain::DomainEvent;
use thorbis_domain::device::{DeviceRegistered, DeviceRole};
use thorbis_domain::events::{StockMoved, StockReason};
use thorbis_domain::ids::ItemId;
use thorbis_domain::money::Qty;
use thorbis_sync_protocol::Batch;

#[tokio::test]
async fn an_order_pushed_in_parts_is_projected_once() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Parts Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    let order = pos.sale(1, NOW_MS);
    // Opened with its line, then paid and closed in a later push.
    for (from, to) in [(1, 2), (3, 4)] {
        let (status, body) = hub.push(&pos, &pos.batch(from, to)).await?;
        ensure!(status == StatusCode::OK && body["accepted"] == 2, "{status} {body}");
    }
    let db = hub.superuser().await?;
    let row = db
        .query_one("SELECT status, total, paid, balance FROM orders WHERE order_id = $1", &[&order])
        .await?;
    ensure!(row.get::<_, String>(0) == "closed");
    ensure!((row.get::<_, i64>(1), row.get::<_, i64>(2), row.get::<_, i64>(3)) == (756, 756, 0));
    let lines: i64 = db
        .query_one("SELECT count(*) FROM order_lines WHERE order_id = $1", &[&order])
        .await?
        .get(0);
    ensure!(lines == 1, "the line was stored {lines} times");
    // The stored document is JSON Postgres can read, holding the whole order.
    let parts: i64 = db
        .query_one(
            "SELECT count(*) FROM aggregates WHERE kind = 'order' AND id = $1
                AND state::jsonb -> 'payments' IS NOT NULL AND state::jsonb -> 'closed' IS NOT NULL
                AND state::jsonb -> 'opened' IS NOT NULL",
            &[&order],
        )
        .await?
        .get(0);
    ensure!(parts == 1, "the order document misses a part");

    // A replay of both parts at once changes nothing.
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK && body["duplicates"] == 4, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM order_lines").await? == 1);
    hub.stop().await
}

#[tokio::test]
async fn a_relayed_batch_may_interleave_devices() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Relay Co").await?;
    let mut a = hub.agent(tenant, location, 1).await?;
    let mut b = hub.agent(tenant, location, 2).await?;
    a.sale(1, NOW_MS);
    b.sale(2, NOW_MS);
    // A carries B's events, interleaved with its own: A1 B1 A2 B2 ...
    let (own, relayed) = (a.all(), b.all());
    let mut batch = Batch::default();
    for (x, y) in own.events.iter().zip(&relayed.events) {
        batch.events.push(x.clone());
        batch.events.push(y.clone());
    }
    batch.checkpoints = [own.checkpoints, relayed.checkpoints].concat();
    let (status, body) = hub.push(&a, &batch).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 8, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await? == 2);

    // A relayed event whose chain is broken is refused, and nothing of the batch is kept.
    a.sale(3, NOW_MS + 10);
    b.sale(4, NOW_MS + 10);
    let (own, relayed) = (a.batch(5, 8), b.batch(5, 8));
    let mut batch = Batch::default();
    for (x, y) in own.events.iter().zip(&relayed.events) {
        batch.events.push(x.clone());
        batch.events.push(y.clone());
    }
    batch.events[3].payload.push(0);
    batch.checkpoints = [own.checkpoints, relayed.checkpoints].concat();
    let (status, body) = hub.push(&a, &batch).await?;
    ensure!(status.is_client_error(), "tampered relay accepted: {status} {body}");
    ensure!(hub.count("SELECT count(*) FROM events WHERE device_id <> tenant_id").await? == 8);
    hub.stop().await
}

/// Two terminals selling the same item push at the same moment, round after round: the
/// hub's stock level must count every movement. Without a lock per aggregate around the
/// fold, both pushes of a round load the same stored level and the later commit silently
/// drops the other's movement.
#[tokio::test]
async fn concurrent_pushes_to_one_aggregate_lose_nothing() -> Result<()> {
    const ROUNDS: u64 = 25;
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Shared Stock Co").await?;
    let mut a = hub.agent(tenant, location, 1).await?;
    let mut b = hub.agent(tenant, location, 2).await?;
    let item = ItemId(uuid::Uuid::from_u128(0x5eed));
    let moved = |milli: i64| {
        DomainEvent::StockMoved(StockMoved {
            item_id: item,
            delta: Qty(milli),
            reason: StockReason::Receive { note: "delivery".into() },
        })
    };
    for round in 0..ROUNDS {
        a.append(&moved(1_000), NOW_MS + round);
        b.append(&moved(10), NOW_MS + round);
        let (ta, tb) = (a.tip().seq, b.tip().seq);
        let (batch_a, batch_b) = (a.batch(ta, ta), b.batch(tb, tb));
        let (ra, rb) = tokio::join!(hub.push(&a, &batch_a), hub.push(&b, &batch_b));
        for (status, body) in [ra?, rb?] {
            ensure!(status == StatusCode::OK, "round {round}: {status} {body}");
        }
    }
    let on_hand = hub.count("SELECT on_hand_milli FROM stock_levels").await?;
    let expected = i64::try_from(ROUNDS)? * 1_010;
    ensure!(on_hand == expected, "stock level {on_hand}, expected {expected}: movements were lost");
    hub.stop().await
}

/// A terminal cannot vouch for a device key in its own log: device records come only from
/// the hub's signed reference log, so a push carrying one is refused and stores nothing.
#[tokio::test]
async fn a_terminal_cannot_publish_device_records() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Forger Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    let forged = DomainEvent::DeviceRegistered(DeviceRegistered {
        device_id: uuid::Uuid::now_v7(),
        location_id: location,
        role: DeviceRole::Pos,
        public_key: thorbis_sync_protocol::DeviceKey::from_seed(&[66; 32])?.public_key(),
        credential_expires_at_ms: NOW_MS + 1_000_000,
    });
    pos.append(&forged, NOW_MS);
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {body}");
    ensure!(body.to_string().contains("only the hub writes"), "{body}");
    ensure!(hub.count("SELECT count(*) FROM events WHERE device_id <> tenant_id").await? == 0);
    hub.stop().await
}
