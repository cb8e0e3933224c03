//! A stolen terminal key against a real store: a real hub (throwaway Postgres), honest
//! terminals syncing with it (a POS and a kitchen display, each with its UI), an honest POS
//! that reaches the store only over the LAN through the kitchen display, and a thief who
//! holds a POS's device key and signs whatever it likes on that POS's chain: staff and
//! owners of its own making, prices and taxes, device records and revocations, dispatch,
//! impossible amounts and currencies, card numbers in every kind of text, forged and
//! missing approvals, payments into another store's orders or another terminal's drawer,
//! back-dated claims on another terminal's payment and close, stamps behind its own, and
//! a revoked device's later facts relayed in its push.
//!
//! Every forged fact is signed correctly, so every replica stores it (the chain stays
//! whole); none may be folded. Each honest terminal and the hub must hold each forgery
//! quarantined for the reason the attempt is about. The honest terminals keep syncing,
//! their screens stay up, and the staff the thief made cannot sign in.
//!
//! Prints `RESULT device_forgery attempts=<n> folded=<n> honest_sync_blocked=<n>
//! ui_down=<n>`, where `folded` counts forgeries folded (or quarantined for another reason)
//! on any replica.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the test reports its RESULT line and what failed"
)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};
use thorbis_agent::sync::{SharedStore, SyncHandle};
use thorbis_agent::{ManualClock, seed};
use thorbis_domain::catalog::{Role, Staff};
use thorbis_domain::device::{DeviceRegistered, DeviceRevoked, DeviceRole};
use thorbis_domain::events::{
    DrawerCashMoved, LineComped, LineRepriced, LineVoided, OrderClosed, OrderOpened, PaymentTaken,
    ServiceMode, StockMoved, StockReason, Tender, WorkOrderChanged, WorkOrderDispatched,
};
use thorbis_domain::ids::{
    DrawerSessionId, LineId, LocationId, OrderId, PaymentId, StaffId, WorkOrderId,
};
use thorbis_domain::work_order::ChangeBytes;
use thorbis_domain::{Currency, DomainEvent, Money, Qty};
use thorbis_hub::testing::fresh_database;
use thorbis_sync_protocol::clock::Clock as _;
use thorbis_sync_protocol::sync::EventSource;
use thorbis_sync_protocol::{Batch, ChainTip, DeviceId, DeviceKey, Event, EventId, EventKind};
use thorbis_terminal_ui::{self as terminal_ui, SessionKey, UiState};
use tokio::net::TcpListener;
use uuid::Uuid;

#[path = "support/hub.rs"]
mod hub;
#[path = "support/orders.rs"]
mod orders;
#[path = "support/ui.rs"]
mod ui;

use hub::{Agent, Hub, NOW_MS, lan_config, shell_config, wait_for};
use orders::{has_menu, send_order, tickets_for};
use ui::Ui;

/// Key seeds of the stolen POS and of the one the tenant revokes.
const THIEF: u8 = 66;
const REVOKED: u8 = 67;
/// The thief's PIN for the staff it forges.
const THIEF_PIN: &str = "4242";
const PAN: &str = "4111 1111 1111 1111";

/// A device's chain as its key signs it, written by hand: whatever the holder likes.
struct Forger {
    device: DeviceId,
    key: DeviceKey,
    tip: ChainTip,
    chain: Vec<Event>,
}

impl Forger {
    fn new(device: DeviceId, seed: u8) -> Result<Self> {
        Ok(Self {
            device,
            key: DeviceKey::from_seed(&[seed; 32])?,
            tip: ChainTip::GENESIS,
            chain: Vec::new(),
        })
    }

    /// Signs one more fact on the chain, stamped `wall_ms`.
    fn write(&mut self, kind: &str, payload: Vec<u8>, wall_ms: u64) -> Result<EventId> {
        let event = Event {
            device_id: self.device,
            seq: self.tip.seq + 1,
            hlc: thorbis_sync_protocol::Hlc { wall_ms, counter: 0 },
            prev_hash: self.tip.hash,
            kind: EventKind::new(kind)?,
            payload,
        };
        self.tip = ChainTip::of(&event);
        let id = event.id();
        self.chain.push(event);
        Ok(id)
    }

    fn event(&mut self, event: &DomainEvent, wall_ms: u64) -> Result<EventId> {
        self.write(event.kind(), event.encode_payload(), wall_ms)
    }

    /// The whole chain, its tip signed.
    fn batch(&self) -> Batch {
        Batch {
            events: self.chain.clone(),
            checkpoints: vec![self.key.sign_checkpoint(self.device, self.tip)],
        }
    }
}

/// One forgery and the reason each replica must give for not folding it: the terminals
/// and the hub differ only where the hub knows more (another location's check).
struct Attempt {
    what: &'static str,
    event: EventId,
    terminal: &'static str,
    hub: &'static str,
}

/// A forgery every replica must quarantine as `code`.
fn attempt(attempts: &mut Vec<Attempt>, what: &'static str, event: EventId, code: &'static str) {
    attempts.push(Attempt { what, event, terminal: code, hub: code });
}

/// Pushes `batch` to the hub as `signer`, as a terminal's sync shell would.
async fn push(hub: &Hub, signer: &Forger, batch: &Batch, now_ms: u64) -> Result<Value> {
    let path = "/api/v1/sync/push";
    let body = thorbis_sync_protocol::encode_batch(batch);
    let headers = signer.key.sign_request(signer.device, "POST", path, now_ms, &body)?.headers();
    let mut request = hub.http.post(format!("{}{path}", hub.base));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.is_success(), "the forged push: {status} {body}");
    Ok(body)
}

/// Serves `store`'s terminal UI on a loopback port; its base URL.
async fn serve_ui(store: &SharedStore, clock: &Arc<ManualClock>) -> Result<String> {
    let clock: Arc<dyn thorbis_agent::Clock> = clock.clone();
    let state = UiState::new(store.clone(), None, clock, SessionKey::from_bytes(b"forgery"));
    let listener = terminal_ui::bind_loopback(0).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(terminal_ui::serve(listener, state, std::future::pending()));
    Ok(base)
}

/// An honest device's own facts, decoded.
fn own_facts(store: &SharedStore) -> Result<Vec<DomainEvent>> {
    store.with(|s| {
        let id = s.device_id();
        EventSource::events_after(s, id, 0, 10_000)
            .iter()
            .map(|(e, _)| DomainEvent::decode(e.kind.as_str(), &e.payload)?.context("kind"))
            .collect()
    })
}

fn device_uuid(store: &SharedStore) -> Uuid {
    Uuid::from_bytes(store.with(|s| s.device_id()).0)
}

/// Of `attempts`, those `store` folded or holds quarantined for another reason.
fn folded_on(store: &SharedStore, attempts: &[Attempt]) -> Result<Vec<String>> {
    let held = store.with(|s| s.quarantined(u32::MAX))?;
    Ok(attempts
        .iter()
        .filter_map(|a| match held.iter().find(|q| q.event == a.event) {
            Some(q) if q.code == a.terminal => None,
            Some(q) => Some(format!("{}: quarantined as {} not {}", a.what, q.code, a.terminal)),
            None => Some(format!("{}: folded", a.what)),
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one scenario: the store, the attempts, the checks")]
async fn a_stolen_terminal_key_cannot_take_over_the_store() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let (tenant, location) = hub.tenant().await?;
    let far_location = hub
        .admin(&format!("/api/v1/admin/tenants/{tenant}/locations"), &json!({ "name": "Far" }))
        .await?;
    let far_location: Uuid = serde_json::from_value(far_location["location_id"].clone())?;
    let dir = tempfile::tempdir()?;

    // The honest store: a POS and a kitchen display on the hub; the kitchen display also
    // listens on the LAN, where a POS with no internet syncs through it. A POS at another
    // location of the tenant.
    let pos = Agent::enroll(&hub, &dir, &clock, (tenant, location), "pos", 1).await?;
    let mut kds = Agent::enroll(&hub, &dir, &clock, (tenant, location), "kds", 2).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let kds_lan = listener.local_addr()?;
    kds.sync.as_mut().context("kds sync")?.start_lan(lan_config(Some(listener), vec![]))?;
    let lan_pos = Agent::enroll_offline(&hub, &dir, &clock, (tenant, location), "pos", 3).await?;
    let mut lan_sync = SyncHandle::new(lan_pos.store.clone(), shell_config(3));
    lan_sync.start_lan(lan_config(None, vec![kds_lan]))?;
    let far = Agent::enroll(&hub, &dir, &clock, (tenant, far_location), "pos", 4).await?;
    // The stolen POS and one the tenant will revoke, enrolled at the store.
    let thief = Agent::enroll_offline(&hub, &dir, &clock, (tenant, location), "pos", THIEF).await?;
    let revoked = Agent::enroll_offline(&hub, &dir, &clock, (tenant, location), "pos", REVOKED);
    let revoked = revoked.await?;
    let honest = [&pos.store, &kds.store, &lan_pos.store];
    for store in [&pos.store, &kds.store, &lan_pos.store, &far.store] {
        wait_for("the menu on every terminal", 30, || has_menu(store)).await?;
    }

    // An honest shift: a cash sale into the POS's drawer, an open check in the kitchen, and
    // a check at the other location.
    let drawer = DrawerSessionId(pos.store.with(thorbis_agent::Store::new_id));
    pos.store.execute(&[seed::open_drawer(drawer)])?;
    let sale = seed::SaleIds::new(|| pos.store.with(thorbis_agent::Store::new_id));
    pos.store.execute(&seed::typical_sale(sale, drawer))?;
    let open_check = send_order(&pos.store, "5")?;
    let far_check = send_order(&far.store, "9")?;
    wait_for("the open check in the kitchen and on the LAN", 30, || {
        Ok(tickets_for(&kds.store, open_check)? > 0 && tickets_for(&lan_pos.store, open_check)? > 0)
    })
    .await?;
    wait_for("the POS's outbox to drain", 30, || Ok(pos.status().outbox_depth == 0)).await?;
    wait_for("the far POS's outbox to drain", 30, || Ok(far.status().outbox_depth == 0)).await?;
    let facts = own_facts(&pos.store)?;
    let paid = facts
        .iter()
        .find_map(|e| match e {
            DomainEvent::PaymentTaken(p) if p.order_id == sale.order => Some(p.clone()),
            _ => None,
        })
        .context("the honest payment")?;
    let line = facts
        .iter()
        .find_map(|e| match e {
            DomainEvent::LineAdded(l) => Some(l.clone()),
            _ => None,
        })
        .context("an honest line")?;

    // Ten minutes later the thief starts writing. The tenant revokes the other device.
    clock.advance(600_000);
    let revoke =
        format!("/api/v1/admin/tenants/{tenant}/devices/{}/revoke", device_uuid(&revoked.store));
    hub.admin(&revoke, &json!({})).await?;
    let revoked_id = revoked.store.with(|s| s.device_id());
    for store in [&pos.store, &kds.store, &lan_pos.store] {
        wait_for("the revocation on every terminal", 30, || {
            Ok(store.with(|s| s.revoked_devices())?.contains(&revoked_id))
        })
        .await?;
    }
    let t0 = clock.now_ms();
    let mut thief_chain = Forger::new(thief.store.with(|s| s.device_id()), THIEF)?;
    let mut attempts = Vec::new();
    let f = &mut thief_chain;

    // Back-dated claims first (the chain's own stamps only go forward afterwards).
    let stolen_payment = PaymentTaken { amount: Money(1), ..paid.clone() };
    let e = f.event(&DomainEvent::PaymentTaken(stolen_payment), NOW_MS - 1_000)?;
    attempt(
        &mut attempts,
        "back-dated payment under another terminal's payment id",
        e,
        "slot_taken",
    );
    let close = DomainEvent::OrderClosed(OrderClosed { order_id: sale.order, closed_by: None });
    let e = f.event(&close, NOW_MS - 1_000)?;
    attempt(&mut attempts, "back-dated close of another terminal's check", e, "backdated");

    // Its own check, honestly opened: the base of the approval attempts.
    let own = OrderId(Uuid::now_v7());
    let opened = |order_id, currency, table: Option<&str>| {
        DomainEvent::OrderOpened(OrderOpened {
            order_id,
            currency,
            mode: ServiceMode::DineIn,
            table: table.map(str::to_owned),
            guests: None,
            opened_by: None,
        })
    };
    let mut wall = t0;
    let mut next = || {
        wall += 1;
        wall
    };
    f.event(&opened(own, Currency::USD, Some("12")), next())?;
    let own_line = LineId(Uuid::now_v7());
    let on_own = |l: &thorbis_domain::events::LineAdded| thorbis_domain::events::LineAdded {
        order_id: own,
        line_id: LineId(Uuid::now_v7()),
        ..l.clone()
    };
    f.event(
        &DomainEvent::LineAdded(thorbis_domain::events::LineAdded {
            line_id: own_line,
            ..on_own(&line)
        }),
        next(),
    )?;
    let euro = OrderId(Uuid::now_v7());
    f.event(&opened(euro, Currency { code: *b"EUR", exponent: 2 }, None), next())?;

    // What only the hub may publish.
    let catalog = seed::catalog_facts()?;
    let mallory = Staff {
        id: StaffId(Uuid::now_v7()),
        name: "Mallory".into(),
        role: Role::Owner,
        pin_hash: thorbis_agent::staff::hash_pin(
            THIEF_PIN,
            b"thief-salt",
            thorbis_agent::staff::PinCost::FAST_FOR_TESTS,
        )?,
        active: true,
        locations: Vec::new(),
    };
    let e = f.event(&DomainEvent::StaffUpserted(mallory.clone()), next())?;
    attempt(&mut attempts, "a new owner with the thief's PIN", e, "not_allowed");
    let manager = catalog
        .iter()
        .find_map(|e| match e {
            DomainEvent::StaffUpserted(s) if s.id == seed::MANAGER => Some(s.clone()),
            _ => None,
        })
        .context("the manager")?;
    let taken_over = Staff { pin_hash: mallory.pin_hash.clone(), ..manager.clone() };
    let e = f.event(&DomainEvent::StaffUpserted(taken_over), next())?;
    attempt(&mut attempts, "the manager's PIN replaced", e, "not_allowed");
    let bomb = Staff {
        pin_hash: "$argon2id$v=19$m=4194304,t=4000,p=64$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        ..manager
    };
    let e = f.event(&DomainEvent::StaffUpserted(bomb), next())?;
    attempt(&mut attempts, "a PIN hash costing 4 GiB and 4,000 passes", e, "not_allowed");
    for published in &catalog {
        let what = match published {
            DomainEvent::ItemUpserted(_) => "an item's price",
            DomainEvent::TaxRateUpserted(_) => "a tax rate",
            DomainEvent::TaxCategoryUpserted(_) => "a tax category",
            DomainEvent::CategoryUpserted(_) => "a menu category",
            DomainEvent::ModifierGroupUpserted(_) => "a modifier group",
            _ => continue,
        };
        if attempts.iter().any(|a| a.what == what) {
            continue;
        }
        let forged = match published.clone() {
            DomainEvent::ItemUpserted(item) => {
                DomainEvent::ItemUpserted(thorbis_domain::catalog::Item { price: Money(1), ..item })
            }
            DomainEvent::TaxRateUpserted(rate) => {
                DomainEvent::TaxRateUpserted(thorbis_domain::tax::TaxRate { ppm: 0, ..rate })
            }
            other => other,
        };
        let e = f.event(&forged, next())?;
        attempt(&mut attempts, what, e, "not_allowed");
    }
    let planted = DomainEvent::DeviceRegistered(DeviceRegistered {
        device_id: Uuid::now_v7(),
        location_id: location,
        role: DeviceRole::Pos,
        public_key: DeviceKey::from_seed(&[99; 32])?.public_key(),
        credential_expires_at_ms: t0 + 86_400_000,
    });
    let e = f.event(&planted, next())?;
    attempt(&mut attempts, "a device record for a key of its own", e, "not_allowed");
    let kds_off = DomainEvent::DeviceRevoked(DeviceRevoked {
        device_id: device_uuid(&kds.store),
        revoked_at_ms: t0,
    });
    let e = f.event(&kds_off, next())?;
    attempt(&mut attempts, "the kitchen display revoked", e, "not_allowed");
    let job = WorkOrderId(Uuid::now_v7());
    let dispatched = DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: job,
        location_id: LocationId(location),
        technician: f.device,
        changes: Vec::new(),
    });
    let e = f.event(&dispatched, next())?;
    attempt(&mut attempts, "a work order dispatched to itself", e, "not_allowed");
    let edited = DomainEvent::WorkOrderChanged(WorkOrderChanged {
        work_order_id: job,
        change: ChangeBytes(vec![1, 2, 3]),
    });
    let e = f.event(&edited, next())?;
    attempt(&mut attempts, "a work order edited by a POS", e, "not_allowed");

    // Values no replica can show or sum.
    let e = f.event(
        &opened(OrderId(Uuid::now_v7()), Currency { code: *b"USD", exponent: 200 }, None),
        next(),
    )?;
    attempt(&mut attempts, "a currency exponent of 200", e, "invalid_currency");
    let e = f.event(
        &opened(OrderId(Uuid::now_v7()), Currency { code: *b"us$", exponent: 2 }, None),
        next(),
    )?;
    attempt(&mut attempts, "a currency code that is not one", e, "invalid_currency");
    let huge_price = thorbis_domain::events::LineAdded {
        unit_price: Money(thorbis_domain::admit::MAX_AMOUNT.0 + 1),
        ..on_own(&line)
    };
    let e = f.event(&DomainEvent::LineAdded(huge_price), next())?;
    attempt(&mut attempts, "a price beyond any limit", e, "out_of_range");
    let huge_qty = thorbis_domain::events::LineAdded { qty: Qty(i64::MAX), ..on_own(&line) };
    let e = f.event(&DomainEvent::LineAdded(huge_qty), next())?;
    attempt(&mut attempts, "a quantity beyond any limit", e, "out_of_range");
    let negative = PaymentTaken {
        order_id: own,
        payment_id: PaymentId(Uuid::now_v7()),
        amount: Money(-500_00),
        drawer_session: None,
        ..paid.clone()
    };
    let e = f.event(&DomainEvent::PaymentTaken(negative), next())?;
    attempt(&mut attempts, "a negative payment", e, "out_of_range");
    let stock = DomainEvent::StockMoved(StockMoved {
        item_id: line.item_id,
        delta: Qty(i64::MAX),
        reason: StockReason::Adjust { note: "found".into() },
    });
    let e = f.event(&stock, next())?;
    attempt(&mut attempts, "a stock movement beyond any limit", e, "out_of_range");
    let paid_out = DomainEvent::DrawerPaidOut(DrawerCashMoved {
        session_id: drawer,
        amount: Money(thorbis_domain::admit::MAX_AMOUNT.0 + 1),
        reason: "petty cash".into(),
        by: None,
    });
    let e = f.event(&paid_out, next())?;
    attempt(
        &mut attempts,
        "a paid-out beyond any limit from another terminal's drawer",
        e,
        "out_of_range",
    );

    // Card numbers, wherever text goes.
    let e = f.event(&opened(OrderId(Uuid::now_v7()), Currency::USD, Some(PAN)), next())?;
    attempt(&mut attempts, "a card number as a table name", e, "card_number");
    let noted =
        thorbis_domain::events::LineAdded { note: Some(format!("card {PAN}")), ..on_own(&line) };
    let e = f.event(&DomainEvent::LineAdded(noted), next())?;
    attempt(&mut attempts, "a card number in a line note", e, "card_number");
    let voided = DomainEvent::LineVoided(LineVoided {
        order_id: own,
        line_id: own_line,
        reason: PAN.replace(' ', ""),
        approved_by: Some(seed::MANAGER),
    });
    let e = f.event(&voided, next())?;
    attempt(&mut attempts, "a card number as a void reason", e, "card_number");
    let card = PaymentTaken {
        order_id: own,
        payment_id: PaymentId(Uuid::now_v7()),
        tender: Tender::Card { brand: "VISA".into(), last4: "1111".into(), auth_code: PAN.into() },
        drawer_session: None,
        ..paid.clone()
    };
    let e = f.event(&DomainEvent::PaymentTaken(card), next())?;
    attempt(&mut attempts, "a card number as an authorization code", e, "card_number");
    let mut unknown_field: Value = serde_json::from_slice(
        &opened(OrderId(Uuid::now_v7()), Currency::USD, None).encode_payload(),
    )?;
    unknown_field["memo"] = json!({ "card": PAN });
    let e = f.write("order.opened", serde_json::to_vec(&unknown_field)?, next())?;
    attempt(&mut attempts, "a card number in a field this build does not know", e, "card_number");
    let long = "x".repeat(thorbis_domain::admit::MAX_TEXT + 1);
    let e = f.event(&opened(OrderId(Uuid::now_v7()), Currency::USD, Some(&long)), next())?;
    attempt(&mut attempts, "a table name longer than any text", e, "text_too_long");
    let e = f.write("staff.promoted", br#"{"staff": "mallory"}"#.to_vec(), next())?;
    attempt(&mut attempts, "a kind nobody knows", e, "unknown_kind");
    let e = f.write("order.opened", br#"{"order_id": 7}"#.to_vec(), next())?;
    attempt(&mut attempts, "a payload that does not decode", e, "malformed");

    // Approvals the thief cannot have.
    let by_cashier = DomainEvent::LineVoided(LineVoided {
        order_id: own,
        line_id: own_line,
        reason: "changed mind".into(),
        approved_by: Some(seed::CASHIER),
    });
    let e = f.event(&by_cashier, next())?;
    attempt(&mut attempts, "a void approved by a cashier", e, "not_an_approver");
    let by_nobody = DomainEvent::LineVoided(LineVoided {
        order_id: own,
        line_id: own_line,
        reason: "changed mind".into(),
        approved_by: Some(mallory.id),
    });
    let e = f.event(&by_nobody, next())?;
    attempt(&mut attempts, "a void approved by the forged owner", e, "unknown_approver");
    let comped = DomainEvent::LineComped(LineComped {
        order_id: own,
        line_id: own_line,
        reason: "on the house".into(),
        approved_by: None,
    });
    let e = f.event(&comped, next())?;
    attempt(&mut attempts, "a comp nobody approved", e, "approval_missing");
    let repriced = DomainEvent::LineRepriced(LineRepriced {
        order_id: own,
        line_id: own_line,
        unit_price: Money(1),
        approved_by: None,
    });
    let e = f.event(&repriced, next())?;
    attempt(&mut attempts, "a price override nobody approved", e, "approval_missing");

    // Another location's check, another terminal's drawer.
    let far_payment = PaymentTaken {
        order_id: far_check,
        payment_id: PaymentId(Uuid::now_v7()),
        drawer_session: None,
        ..paid.clone()
    };
    let e = f.event(&DomainEvent::PaymentTaken(far_payment), next())?;
    // The terminals never see that check; the hub knows where it is.
    attempts.push(Attempt {
        what: "a payment on another location's check",
        event: e,
        terminal: "unknown_target",
        hub: "wrong_location",
    });
    let far_close = DomainEvent::OrderClosed(OrderClosed { order_id: far_check, closed_by: None });
    let e = f.event(&far_close, next())?;
    attempts.push(Attempt {
        what: "another location's check closed",
        event: e,
        terminal: "unknown_target",
        hub: "wrong_location",
    });
    let mismatched = PaymentTaken {
        order_id: euro,
        payment_id: PaymentId(Uuid::now_v7()),
        drawer_session: Some(drawer),
        ..paid.clone()
    };
    let e = f.event(&DomainEvent::PaymentTaken(mismatched), next())?;
    attempt(&mut attempts, "euros into another terminal's dollar drawer", e, "currency_mismatch");

    // Its own clock run backwards.
    let e = f.event(&opened(OrderId(Uuid::now_v7()), Currency::USD, None), t0 - 60_000)?;
    attempt(&mut attempts, "a stamp behind its own previous one", e, "behind_own_clock");

    // The revoked device's sales after its revocation, relayed in the thief's push.
    let mut relayed = Forger::new(revoked.store.with(|s| s.device_id()), REVOKED)?;
    for _ in 0..2 {
        let e = relayed.event(&opened(OrderId(Uuid::now_v7()), Currency::USD, None), next())?;
        attempt(&mut attempts, "a revoked device's later check, relayed", e, "revoked");
    }

    // The thief pushes all of it to the hub, the revoked device's run included.
    let mut batch = thief_chain.batch();
    let relayed_batch = relayed.batch();
    batch.events.extend(relayed_batch.events);
    batch.checkpoints.extend(relayed_batch.checkpoints);
    let answer = push(&hub, &thief_chain, &batch, clock.now_ms()).await?;
    let stored = answer["accepted"].as_u64().unwrap_or_default();
    ensure!(stored == batch.events.len() as u64, "the hub stored every forged fact: {answer}");

    // Every honest terminal gets the whole forged chain (the LAN one through the kitchen).
    let (thief_tip, relayed_tip) = (thief_chain.tip, relayed.tip);
    for store in honest {
        wait_for("the forged chains on every terminal", 30, || {
            Ok(store.with(|s| s.chain_tip(thief_chain.device))? == thief_tip
                && store.with(|s| s.chain_tip(relayed.device))? == relayed_tip)
        })
        .await?;
    }

    // Folded anywhere?
    let mut folded = Vec::new();
    for (name, store) in ["POS", "kitchen display", "LAN POS"].into_iter().zip(honest) {
        folded.extend(folded_on(store, &attempts)?.into_iter().map(|f| format!("{name}: {f}")));
    }
    let (pg, connection) =
        tokio_postgres::connect(&hub.db.superuser_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let alerts = pg
        .query(
            "SELECT device_id, seq, detail->>'code' FROM alerts
              WHERE tenant_id = $1 AND kind = 'quarantine'",
            &[&tenant],
        )
        .await?;
    let hub_code = |event: EventId| {
        alerts.iter().find_map(|r| {
            (r.get::<_, Uuid>(0) == Uuid::from_bytes(event.device_id.0)
                && r.get::<_, i64>(1) == event.seq as i64)
                .then(|| r.get::<_, String>(2))
        })
    };
    for a in &attempts {
        match hub_code(a.event) {
            Some(code) if code == a.hub => {}
            got => folded.push(format!("hub: {}: {got:?}, not {}", a.what, a.hub)),
        }
    }
    let digest = pos.store.with(|s| s.projection_digest())?;
    for store in &honest[1..] {
        ensure!(store.with(|s| s.projection_digest())? == digest, "honest replicas disagree");
    }

    // Honest work goes on: a new check on the POS reaches the kitchen, the LAN POS and the
    // hub.
    let mut honest_sync_blocked = 0;
    let after = send_order(&pos.store, "after")?;
    let reached = wait_for("the next check everywhere", 30, || {
        Ok(tickets_for(&kds.store, after)? > 0
            && tickets_for(&lan_pos.store, after)? > 0
            && pos.status().outbox_depth == 0)
    })
    .await;
    if let Err(e) = reached {
        eprintln!("honest sync blocked: {e:#}");
        honest_sync_blocked += 1;
    }
    let lan_check = send_order(&lan_pos.store, "lan")?;
    if wait_for("the LAN POS's check at the hub and the POS", 30, || {
        Ok(tickets_for(&pos.store, lan_check)? > 0)
    })
    .await
    .is_err()
    {
        honest_sync_blocked += 1;
    }

    // The screens: up, and nobody the thief made or changed signs in.
    let mut ui_down = 0;
    let pos_ui = serve_ui(&pos.store, &clock).await?;
    let kds_ui = serve_ui(&kds.store, &clock).await?;
    let wait = Duration::from_secs(10);
    let http = reqwest::Client::new();
    let forged_pad = http.get(format!("{pos_ui}/signin/{}", mallory.id.0)).send().await?;
    let status = forged_pad.status();
    ensure!(!status.is_success(), "the forged owner has a PIN pad: {status}");
    ensure!(
        Ui::sign_in(&pos_ui, seed::MANAGER.0, THIEF_PIN, wait).await.is_err(),
        "the thief's PIN signs the manager in"
    );
    for (base, pages) in [
        (
            &pos_ui,
            vec!["/pos".to_owned(), format!("/pos/checks/{}", open_check.0), "/drawer".into()],
        ),
        (&kds_ui, vec!["/kds".to_owned(), "/kds/expo".into()]),
    ] {
        match Ui::sign_in(base, seed::MANAGER.0, seed::MANAGER_PIN, wait).await {
            Ok(ui) => {
                for page in pages {
                    if let Err(e) = ui.get(&page).await {
                        eprintln!("{base}{page}: {e:#}");
                        ui_down += 1;
                    }
                }
            }
            Err(e) => {
                eprintln!("signing in at {base}: {e:#}");
                ui_down += 1;
            }
        }
    }

    println!(
        "RESULT device_forgery attempts={} folded={} honest_sync_blocked={honest_sync_blocked} ui_down={ui_down}",
        attempts.len(),
        folded.len()
    );
    ensure!(attempts.len() >= 30, "only {} attempts", attempts.len());
    ensure!(folded.is_empty(), "forgeries got through:\n{}", folded.join("\n"));
    ensure!(honest_sync_blocked == 0 && ui_down == 0);

    lan_sync.shutdown().await;
    drop((pos, kds, far, thief, revoked, lan_pos));
    hub.stop().await?;
    Ok(())
}
