//! Push paths the ingest bench does not exercise: an order whose events arrive over several
//! pushes (its stored document is loaded, folded further and its lines replaced, not
//! duplicated), an event reaching an order after it closed (rebuilt from the event log, as
//! closed orders keep no document), a relayed batch that interleaves two devices' events,
//! and terminals pushing at the same moment facts about one shared aggregate (none may be
//! lost).

mod support;

use anyhow::{Result, ensure};
use reqwest::StatusCode;
use support::{NOW_MS, TestHub};
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::{Role, Staff};
use thorbis_domain::device::{DeviceRegistered, DeviceRole};
use thorbis_domain::events::{
    OrderOpened, RefundIssued, ServiceMode, StockMoved, StockReason, Tender,
};
use thorbis_domain::ids::{ItemId, OrderId, RefundId, StaffId};
use thorbis_domain::money::{Currency, Money, Qty};
use thorbis_sync_protocol::Batch;
use uuid::Uuid;

#[tokio::test]
async fn an_order_pushed_in_parts_is_projected_once() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Parts Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    let order = pos.sale(1, NOW_MS);
    let db = hub.superuser().await?;
    // Opened with its line, then paid and closed in a later push.
    let (status, body) = hub.push(&pos, &pos.batch(1, 2)).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 2, "{status} {body}");
    // While open, the order is kept as a document Postgres can read, holding both events.
    let parts: i64 = db
        .query_one(
            "SELECT count(*) FROM aggregates WHERE kind = 'order' AND id = $1
                AND state::jsonb -> 'opened' IS NOT NULL AND state::jsonb -> 'lines' <> '{}'",
            &[&order],
        )
        .await?
        .get(0);
    ensure!(parts == 1, "the open order's document misses a part");
    let (status, body) = hub.push(&pos, &pos.batch(3, 4)).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 2, "{status} {body}");
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
    // Closed, it keeps no document; its row lists its four events instead.
    ensure!(hub.count("SELECT count(*) FROM aggregates WHERE kind = 'order'").await? == 0);
    ensure!(hub.count("SELECT length(event_refs)::bigint FROM orders").await? == 4 * 24);

    // A replay of both parts at once changes nothing.
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK && body["duplicates"] == 4, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM order_lines").await? == 1);
    hub.stop().await
}

/// A refund of `amount` on `order`, approved by `manager`.
fn refund(order: Uuid, amount: i64, manager: StaffId) -> DomainEvent {
    DomainEvent::RefundIssued(RefundIssued {
        refund_id: RefundId(Uuid::from_u128(0x0123_4567_89ab_7def_8123_4567_89ab_cdef)),
        order_id: OrderId(order),
        amount: Money(amount),
        lines: vec![],
        tender: Tender::Cash { tendered: Money(0), change: Money(0) },
        reason: "goodwill".into(),
        approved_by: Some(manager),
        drawer_session: None,
    })
}

/// A closed order keeps no document: an event that reaches it later (here another
/// terminal's refund) has it rebuilt from the events its row lists, so nothing of the sale
/// is lost and nothing is counted twice.
#[tokio::test]
async fn an_event_after_the_close_rebuilds_the_order_from_its_events() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Late Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    let mut other = hub.agent(tenant, location, 2).await?;
    let order = pos.sale(1, NOW_MS);
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 4, "{status} {body}");
    ensure!(hub.count("SELECT count(*) FROM aggregates WHERE kind = 'order'").await? == 0);

    // A refund needs a manager's approval: one the tenant has.
    let manager = hub.manager(tenant, "Morgan").await?;
    other.append(&refund(order, 200, manager), NOW_MS + 10);
    let (status, body) = hub.push(&other, &other.all()).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 1, "{status} {body}");
    let db = hub.superuser().await?;
    let row = db
        .query_one(
            "SELECT status, total, paid, refunded, length(event_refs) FROM orders
              WHERE order_id = $1",
            &[&order],
        )
        .await?;
    ensure!(row.get::<_, String>(0) == "closed");
    let figures = (row.get::<_, i64>(1), row.get::<_, i64>(2), row.get::<_, i64>(3));
    ensure!(figures == (756, 756, 200), "total, paid, refunded: {figures:?}");
    ensure!(row.get::<_, i32>(4) == 5 * 24, "the refund is not listed with the order");
    ensure!(hub.count("SELECT count(*) FROM order_lines").await? == 1);
    ensure!(hub.count("SELECT count(*) FROM payments").await? == 1);
    ensure!(hub.count("SELECT count(*) FROM aggregates WHERE kind = 'order'").await? == 0);

    // A row whose event list is not known (written before the lists were kept) keeps its
    // document, closed or not, and its figures still follow every event.
    let open = pos.sale(2, NOW_MS + 20);
    let tip = pos.tip().seq;
    let (status, body) = hub.push(&pos, &pos.batch(tip - 3, tip - 2)).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 2, "{status} {body}");
    db.execute("UPDATE orders SET event_refs = NULL WHERE order_id = $1", &[&open]).await?;
    let (status, body) = hub.push(&pos, &pos.batch(tip - 1, tip)).await?;
    ensure!(status == StatusCode::OK && body["accepted"] == 2, "{status} {body}");
    let row = db
        .query_one(
            "SELECT status, paid, event_refs IS NULL FROM orders WHERE order_id = $1",
            &[&open],
        )
        .await?;
    ensure!(row.get::<_, String>(0) == "closed" && row.get::<_, i64>(1) == 756);
    ensure!(row.get::<_, bool>(2), "an unknown event list became a partial one");
    let docs = hub.count("SELECT count(*) FROM aggregates WHERE kind = 'order'").await?;
    ensure!(docs == 1, "{docs} order documents");
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

/// A signature proves who wrote a fact, not that they were allowed to. A POS (its key
/// stolen) pushes, between honest sales, what a POS may not write or what no one may: a
/// device record vouching for a key of its choosing, an owner with a PIN of its choosing,
/// a currency exponent that would take every screen down, a card number in a table name,
/// a payload that does not decode, a kind nobody knows. Each is stored (the chain stays
/// whole and auditable) but not folded, listed in the answer, and raised as an alert; the
/// honest sales around them fold, and nothing is refused.
#[tokio::test]
async fn a_devices_forbidden_facts_are_quarantined_and_the_honest_ones_fold() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Forger Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    pos.sale(1, NOW_MS);
    let forgeries = [
        DomainEvent::DeviceRegistered(DeviceRegistered {
            device_id: Uuid::now_v7(),
            location_id: location,
            role: DeviceRole::Pos,
            public_key: thorbis_sync_protocol::DeviceKey::from_seed(&[66; 32])?.public_key(),
            credential_expires_at_ms: NOW_MS + 1_000_000,
        }),
        DomainEvent::StaffUpserted(Staff {
            id: StaffId(Uuid::from_u128(0x0b0)),
            name: "Mallory".into(),
            role: Role::Owner,
            pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            active: true,
            locations: Vec::new(),
        }),
        DomainEvent::OrderOpened(OrderOpened {
            order_id: OrderId(Uuid::from_u128(0xb0b)),
            currency: Currency { code: *b"USD", exponent: 200 },
            mode: ServiceMode::TakeOut,
            table: None,
            guests: None,
            opened_by: None,
        }),
        DomainEvent::OrderOpened(OrderOpened {
            order_id: OrderId(Uuid::from_u128(0xca4d)),
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some("4111 1111 1111 1111".into()),
            guests: None,
            opened_by: None,
        }),
    ];
    for forged in &forgeries {
        pos.append(forged, NOW_MS);
    }
    pos.append_raw("order.opened", br#"{"nope": 1}"#.to_vec(), NOW_MS);
    pos.append_raw("future.kind", b"opaque".to_vec(), NOW_MS);
    pos.sale(2, NOW_MS);
    let (status, body) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(body["accepted"] == 14, "every fact is stored: {body}");
    let codes: Vec<&str> = body["quarantined"]
        .as_array()
        .map(|q| q.iter().filter_map(|q| q["code"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        codes
            == [
                "not_allowed",
                "not_allowed",
                "invalid_currency",
                "card_number",
                "malformed",
                "unknown_kind"
            ],
        "{body}"
    );
    ensure!(!body.to_string().contains("4111"), "a card number echoed back: {body}");
    // The honest sales folded; nothing forged did.
    ensure!(hub.count("SELECT count(*) FROM orders WHERE status = 'closed'").await? == 2);
    ensure!(hub.count("SELECT count(*) FROM orders").await? == 2);
    ensure!(hub.count("SELECT count(*) FROM aggregates WHERE kind = 'staff'").await? == 0);
    ensure!(hub.count("SELECT count(*) FROM devices").await? == 1);
    ensure!(hub.count("SELECT count(*) FROM alerts WHERE kind = 'quarantine'").await? == 6);
    ensure!(
        hub.count("SELECT count(*) FROM alerts WHERE detail::text LIKE '%4111%'").await? == 0,
        "an alert repeats the card number"
    );
    hub.stop().await
}
