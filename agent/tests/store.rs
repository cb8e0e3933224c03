//! The store end to end on a real SQLite file: commands, refusals, reopening, the event log,
//! agreement with the in-memory reference fold, and schema upgrades.

use std::sync::Arc;

use anyhow::Result;
use rusqlite::{Connection, params};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{ManualClock, Store, StoreConfig, StoreError};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{DrawerSessionId, LineId, OrderId, PaymentId};
use thorbis_domain::order::{Order, OrderStatus};
use thorbis_domain::{Command, CommandError, Currency, DomainEvent, EventMeta, Money, Qty, State};
use thorbis_sync_protocol::{ChainTip, DeviceKey, Event, EventKind};
use uuid::Uuid;

fn config(dir: &tempfile::TempDir) -> StoreConfig {
    StoreConfig {
        clock: Arc::new(ManualClock::new(1_790_000_000_000)),
        id_seed: Some(42),
        device_key_seed: Some([9; 32]),
        ..StoreConfig::new(dir.path().join("agent.db"))
    }
}

fn seeded(dir: &tempfile::TempDir) -> Result<(Store, DrawerSessionId)> {
    let mut store = Store::open(config(dir))?;
    store.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;
    Ok((store, drawer))
}

#[test]
fn a_sale_is_stored_projected_and_survives_reopening() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, drawer) = seeded(&dir)?;
    let ids = SaleIds::new(|| store.new_id());
    let committed = store.execute_all(&seed::typical_sale(ids, drawer))?;
    assert_eq!(committed.events.len(), 6);
    let device = store.device_id();
    let tip = store.tip();
    drop(store);

    let store = Store::open(config(&dir))?;
    assert_eq!(store.device_id(), device, "identity persists");
    assert_eq!(store.tip(), tip, "the chain continues where it was");
    let order = store.order(ids.order)?.expect("the sale is there");
    assert_eq!(order.order.status(), OrderStatus::Closed);
    assert_eq!(order.totals.total, seed::TYPICAL_SALE_TOTAL);
    assert!(store.open_orders()?.is_empty());
    let z = store.z_report(drawer)?.expect("drawer exists");
    assert_eq!(z.orders, 1);
    assert_eq!(z.expected_cash, Money(100_00) + seed::TYPICAL_SALE_TOTAL);
    let report = store.verify_log()?;
    assert_eq!(report.events, tip.seq);
    assert_eq!(report.signatures, 3, "one checkpoint per transaction");
    assert_eq!(store.integrity_check()?, "ok");
    Ok(())
}

#[test]
fn kitchen_queue_and_stock_read_from_projections() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let order_id = OrderId(store.new_id());
    let line = |store: &mut Store, item, modifiers| Command::AddLine {
        order_id,
        line_id: LineId(store.new_id()),
        item_id: item,
        qty: Qty::ONE,
        modifiers,
        seat: Some(1),
        course: None,
        note: None,
        price_override: None,
    };
    let commands = vec![
        Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some("7".into()),
            guests: Some(2),
            staff: None,
        },
        line(&mut store, seed::BURGER, vec![seed::WELL_DONE, seed::BACON]),
        line(&mut store, seed::FRIES, vec![]),
        line(&mut store, seed::SODA, vec![]),
        Command::SendToKitchen { order_id },
    ];
    store.execute_all(&commands)?;
    let queue = store.kds_queue(None)?;
    assert_eq!(queue.len(), 2, "grill and fryer; the soda has no station");
    let grill = store.kds_queue(Some("grill"))?;
    assert_eq!(grill[0].ticket.lines[0].modifiers, vec!["Well done", "Bacon"]);
    assert_eq!(grill[0].table.as_deref(), Some("7"));
    store.execute(&Command::BumpTicket { ticket_id: grill[0].id })?;
    assert_eq!(store.kds_queue(None)?.len(), 1);
    assert_eq!(store.open_orders()?.len(), 1);

    store.execute(&Command::ReceiveStock {
        item_id: seed::COFFEE_BEANS,
        qty: Qty::units(12),
        note: "delivery".into(),
    })?;
    store.execute(&Command::AdjustStock {
        item_id: seed::COFFEE_BEANS,
        delta: Qty::units(-1),
        note: "damaged".into(),
    })?;
    assert_eq!(store.stock_on_hand(seed::COFFEE_BEANS)?, Qty::units(11));
    store.execute(&Command::SetAvailability {
        item_id: seed::FRIES,
        available: false,
        by: None,
    })?;
    assert_eq!(store.unavailable_items()?, vec![seed::FRIES]);
    Ok(())
}

/// Recognises the refusal a bad command must get.
type IsExpected = fn(&CommandError) -> bool;

#[test]
fn refused_commands_leave_the_store_unchanged() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, drawer) = seeded(&dir)?;
    let ids = SaleIds::new(|| store.new_id());
    let mut sale = seed::typical_sale(ids, drawer);
    let close = sale.pop().unwrap();
    let pay = sale.pop().unwrap();
    store.execute_all(&sale)?;
    let order_id = ids.order;

    let snapshot = |store: &Store| -> Result<_> {
        Ok((store.projection_digest()?, store.event_count()?, store.tip()))
    };
    let before = snapshot(&store)?;
    let add = |item, qty| Command::AddLine {
        order_id,
        line_id: LineId(Uuid::from_u128(77)),
        item_id: item,
        qty,
        modifiers: vec![],
        seat: None,
        course: None,
        note: None,
        price_override: None,
    };
    let card_over = Command::TakePayment {
        order_id,
        payment_id: PaymentId(Uuid::from_u128(78)),
        tender: TenderInput::Card {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "OK1".into(),
        },
        amount: Some(Money(1_000_00)),
        tip: Money::ZERO,
        drawer_session: Some(drawer),
        staff: None,
    };
    let bad: Vec<(Command, IsExpected)> = vec![
        (add(thorbis_domain::ids::ItemId(Uuid::from_u128(1)), Qty::ONE), |e| {
            matches!(e, CommandError::UnknownItem(_))
        }),
        (add(seed::SODA, Qty::units(-2)), |e| matches!(e, CommandError::InvalidQuantity { .. })),
        (card_over, |e| matches!(e, CommandError::TenderExceedsBalance { .. })),
        (Command::CloseOrder { order_id, staff: None }, |e| {
            matches!(e, CommandError::OrderUnpaid { .. })
        }),
    ];
    for (command, expected) in &bad {
        let err = store.execute(command).expect_err("must be refused");
        let refusal = err.refusal().expect("a business refusal");
        assert!(expected(refusal), "unexpected refusal: {refusal}");
        assert_eq!(snapshot(&store)?, before, "{refusal} changed the store");
    }
    // A batch whose last command is refused rolls back the commands before it too.
    let err = store.execute_all(&[pay.clone(), add(seed::SODA, Qty::ZERO)]).unwrap_err();
    assert!(matches!(err, StoreError::Refused(CommandError::InvalidQuantity { .. })));
    assert_eq!(snapshot(&store)?, before);
    // The store still works, and a closed order refuses more lines.
    store.execute_all(&[pay, close])?;
    let err = store.execute(&add(seed::SODA, Qty::ONE)).unwrap_err();
    assert!(matches!(err, StoreError::Refused(CommandError::OrderClosed(_))));
    Ok(())
}

#[test]
fn projections_equal_the_reference_fold_of_the_log() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, drawer) = seeded(&dir)?;
    for _ in 0..5 {
        let ids = SaleIds::new(|| store.new_id());
        store.execute_all(&seed::typical_sale(ids, drawer))?;
    }
    let mut reference = State::default();
    for (event, _) in store.events_after(store.device_id(), 0, usize::MAX >> 1)? {
        let decoded =
            DomainEvent::decode(event.kind.as_str(), &event.payload)?.expect("known kind");
        reference.apply(&EventMeta { hlc: event.hlc, id: event.id() }, &decoded);
    }
    let stored = store.all_orders()?;
    assert_eq!(stored.len(), reference.orders.len());
    for view in stored {
        assert_eq!(&view.order, reference.get::<Order>(view.id.0).unwrap());
    }
    let digest = store.projection_digest()?;
    store.rebuild_projections()?;
    assert_eq!(store.projection_digest()?, digest, "a rebuild gives the same projections");
    Ok(())
}

/// A store created by an earlier build (only the first migration: the event log, no
/// projections) opens with this build: its events are kept, projections are built from
/// them, and its chain continues.
#[test]
fn upgrades_a_store_made_by_an_earlier_migration_set() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("agent.db");
    let key_seed = [3u8; 32];
    let key = DeviceKey::from_seed(&key_seed)?;
    let device = thorbis_sync_protocol::DeviceId::from_bytes(*Uuid::from_u128(0xd0).as_bytes());
    let order_id = OrderId(Uuid::from_u128(0x0dd));
    {
        let mut conn = Connection::open(&path)?;
        thorbis_agent::schema::migrate(&mut conn, &thorbis_migrations::AGENT[..1])?;
        conn.execute(
            "INSERT INTO device (singleton, device_id, signing_key, public_key, created_ms) VALUES (1, ?1, ?2, ?3, 0)",
            params![device.as_bytes(), key_seed.to_vec(), key.public_key().0],
        )?;
        let mut tip = ChainTip::GENESIS;
        let opened = DomainEvent::OrderOpened(thorbis_domain::events::OrderOpened {
            order_id,
            currency: Currency::EUR,
            mode: ServiceMode::TakeOut,
            table: None,
            guests: None,
            opened_by: None,
        });
        for (i, e) in [opened].iter().enumerate() {
            let event = Event {
                device_id: device,
                seq: tip.next_seq(),
                hlc: thorbis_sync_protocol::Hlc { wall_ms: 1_000 + i as u64, counter: 0 },
                prev_hash: tip.hash,
                kind: EventKind::new(e.kind())?,
                payload: e.encode_payload(),
            };
            tip = ChainTip { seq: event.seq, hash: event.hash() };
            let signature = key.sign_checkpoint(device, tip).signature;
            conn.execute(
                "INSERT INTO events (device_id, seq, hlc_wall, hlc_counter, prev_hash, hash, kind, payload, signature, stored_ms)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, 0)",
                params![device.as_bytes(), event.seq, event.hlc.wall_ms, event.prev_hash.0, tip.hash.0, event.kind.as_str(), event.payload, signature.0.to_vec()],
            )?;
            conn.execute(
                "INSERT OR REPLACE INTO chain_tips (device_id, seq, hash, hlc_wall, hlc_counter) VALUES (?1, ?2, ?3, ?4, 0)",
                params![device.as_bytes(), tip.seq, tip.hash.0, event.hlc.wall_ms],
            )?;
        }
    }
    let mut store = Store::open(StoreConfig { id_seed: Some(1), ..StoreConfig::new(&path) })?;
    assert_eq!(store.device_id(), device);
    let order = store.order(order_id)?.expect("the old order is projected");
    assert_eq!(order.order.currency(), Some(Currency::EUR));
    store.execute(&Command::CloseOrder { order_id, staff: None })?;
    assert_eq!(store.tip().seq, 2);
    assert_eq!(store.verify_log()?.signatures, 2);
    Ok(())
}

#[test]
fn refuses_a_store_from_a_newer_build_or_with_edited_history() -> Result<()> {
    let dir = tempfile::tempdir()?;
    drop(Store::open(config(&dir))?);
    let conn = Connection::open(dir.path().join("agent.db"))?;
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0, 0)", [])?;
    let err = Store::open(config(&dir)).unwrap_err();
    assert!(err.to_string().contains("newer than this build"), "{err}");
    conn.execute("DELETE FROM schema_migrations WHERE version = 999", [])?;
    conn.execute("UPDATE schema_migrations SET checksum = checksum + 1 WHERE version = 1", [])?;
    let err = Store::open(config(&dir)).unwrap_err();
    assert!(err.to_string().contains("was changed after it was applied"), "{err}");
    Ok(())
}
