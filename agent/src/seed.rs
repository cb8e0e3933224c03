//! A small demo catalog (a burger bar that also sells coffee beans and bananas) and the
//! commands of a typical sale. The demo command, the benchmarks and the crash test all use
//! these, so they exercise the same realistic shapes.
//!
//! Two demo staff sign in with the PINs below. Their hashes are made here, at seeding, so a
//! plain PIN exists nowhere but in this file.

use std::sync::OnceLock;

use thorbis_domain::catalog::{Category, Item, Modifier, ModifierGroup, Role, Staff};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{
    CategoryId, DrawerSessionId, ItemId, LineId, ModifierGroupId, ModifierId, OrderId, PaymentId,
    StaffId, TaxCategoryId, TaxRateId,
};
use thorbis_domain::tax::{TaxCategory, TaxRate};
use thorbis_domain::{Command, Currency, Money, Qty};
use uuid::Uuid;

use crate::staff::{PinCost, hash_pin};

const fn id(n: u128) -> Uuid {
    // Fixed, readable ids for reference data: 5eed0000-...-00000000000n.
    Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 | n)
}

/// The sales tax rate (8.875 %, added on top).
pub const SALES_TAX: TaxRateId = TaxRateId(id(1));
/// The tax category of prepared food and drinks.
pub const FOOD_TAX: TaxCategoryId = TaxCategoryId(id(2));
/// Cooking temperature: pick exactly one.
pub const COOKING: ModifierGroupId = ModifierGroupId(id(10));
/// Medium rare.
pub const MEDIUM_RARE: ModifierId = ModifierId(id(11));
/// Well done.
pub const WELL_DONE: ModifierId = ModifierId(id(12));
/// Extras: up to three.
pub const EXTRAS: ModifierGroupId = ModifierGroupId(id(20));
/// Extra cheese, +1.00.
pub const CHEESE: ModifierId = ModifierId(id(21));
/// Bacon, +1.50.
pub const BACON: ModifierId = ModifierId(id(22));
/// Burger, 12.50, grill.
pub const BURGER: ItemId = ItemId(id(100));
/// Fries, 4.50, fryer.
pub const FRIES: ItemId = ItemId(id(101));
/// Soda, 2.50, poured at the till (no station).
pub const SODA: ItemId = ItemId(id(102));
/// Coffee beans 500 g, 14.99, stock tracked, untaxed.
pub const COFFEE_BEANS: ItemId = ItemId(id(103));
/// Bananas, 2.49 a kilogram, sold by weight, stock tracked.
pub const BANANAS: ItemId = ItemId(id(104));

/// Sam, a cashier (cannot approve).
pub const CASHIER: StaffId = StaffId(id(200));
/// Sam's PIN.
pub const CASHIER_PIN: &str = "1234";
/// Morgan, a manager (approves voids, refunds, large discounts).
pub const MANAGER: StaffId = StaffId(id(201));
/// Morgan's PIN.
pub const MANAGER_PIN: &str = "9999";

/// The commands that publish the demo staff.
///
/// Hashed at the production cost ([`PinCost::OWASP`]) so the demo signs in the way a real
/// terminal does. The hashes are made once per process (argon2 at that cost takes tens of
/// milliseconds, and tests seed many stores), with each member's id as the salt so the demo
/// catalog's events are the same on every run; real staff get random salts from the hub.
#[must_use]
pub fn staff() -> Vec<Command> {
    static HASHES: OnceLock<[String; 2]> = OnceLock::new();
    let [cashier, manager] = HASHES.get_or_init(|| {
        let hash = |who: StaffId, pin| {
            hash_pin(pin, who.0.as_bytes(), PinCost::OWASP).expect("demo PINs are valid")
        };
        [hash(CASHIER, CASHIER_PIN), hash(MANAGER, MANAGER_PIN)]
    });
    vec![
        Command::PublishStaff(Staff {
            id: CASHIER,
            name: "Sam".into(),
            role: Role::Cashier,
            pin_hash: cashier.clone(),
            active: true,
            locations: Vec::new(),
        }),
        Command::PublishStaff(Staff {
            id: MANAGER,
            name: "Morgan".into(),
            role: Role::Manager,
            pin_hash: manager.clone(),
            active: true,
            locations: Vec::new(),
        }),
    ]
}

/// The commands that publish the demo catalog, staff included.
#[must_use]
pub fn catalog() -> Vec<Command> {
    let kitchen = CategoryId(id(50));
    let retail = CategoryId(id(51));
    let item = |n: ItemId, name: &str, price: i64, category: CategoryId| Item {
        id: n,
        name: name.into(),
        category: Some(category),
        price: Money(price),
        tax_category: Some(FOOD_TAX),
        barcodes: Vec::new(),
        station: None,
        modifier_groups: Vec::new(),
        track_stock: false,
        sold_by_weight: false,
        reorder_point: None,
        active: true,
    };
    let modifier = |id: ModifierId, name: &str, delta: i64| Modifier {
        id,
        name: name.into(),
        price_delta: Money(delta),
    };
    let mut commands = vec![
        Command::PublishTaxRate(TaxRate {
            id: SALES_TAX,
            name: "Sales tax 8.875%".into(),
            ppm: 88_750,
            inclusive: false,
        }),
        Command::PublishTaxCategory(TaxCategory {
            id: FOOD_TAX,
            name: "Food".into(),
            rates: vec![SALES_TAX],
        }),
        Command::PublishCategory(Category { id: kitchen, name: "Kitchen".into(), position: 1 }),
        Command::PublishCategory(Category { id: retail, name: "Shop".into(), position: 2 }),
        Command::PublishModifierGroup(ModifierGroup {
            id: COOKING,
            name: "Cooking".into(),
            min: 1,
            max: 1,
            modifiers: vec![
                modifier(MEDIUM_RARE, "Medium rare", 0),
                modifier(WELL_DONE, "Well done", 0),
            ],
        }),
        Command::PublishModifierGroup(ModifierGroup {
            id: EXTRAS,
            name: "Extras".into(),
            min: 0,
            max: 3,
            modifiers: vec![modifier(CHEESE, "Cheese", 100), modifier(BACON, "Bacon", 150)],
        }),
        Command::PublishItem(Item {
            station: Some("grill".into()),
            modifier_groups: vec![COOKING, EXTRAS],
            ..item(BURGER, "Burger", 12_50, kitchen)
        }),
        Command::PublishItem(Item {
            station: Some("fryer".into()),
            ..item(FRIES, "Fries", 4_50, kitchen)
        }),
        Command::PublishItem(item(SODA, "Soda", 2_50, kitchen)),
        Command::PublishItem(Item {
            barcodes: vec!["0012345678905".into()],
            track_stock: true,
            tax_category: None,
            ..item(COFFEE_BEANS, "Coffee beans 500 g", 14_99, retail)
        }),
        Command::PublishItem(Item {
            barcodes: vec!["2012340000000".into()],
            track_stock: true,
            sold_by_weight: true,
            reorder_point: None,
            tax_category: None,
            ..item(BANANAS, "Bananas (kg)", 2_49, retail)
        }),
    ];
    commands.extend(staff());
    commands
}

/// Ids for one sale, minted by the caller (so retries can reuse them).
#[derive(Clone, Copy, Debug)]
pub struct SaleIds {
    /// The order.
    pub order: OrderId,
    /// Its three lines.
    pub lines: [LineId; 3],
    /// The cash payment.
    pub payment: PaymentId,
}

impl SaleIds {
    /// Fresh ids from `next`.
    pub fn new(mut next: impl FnMut() -> Uuid) -> Self {
        Self {
            order: OrderId(next()),
            lines: [LineId(next()), LineId(next()), LineId(next())],
            payment: PaymentId(next()),
        }
    }
}

/// The demo store's currency, and a terminal's until the hub configures one
/// ([`Store::currency`](crate::Store::currency)).
pub const CURRENCY: Currency = Currency::USD;

/// Opens an order in the demo currency: dine-in at `table`, or take-out without one.
#[must_use]
pub fn open_order(order_id: OrderId, table: Option<&str>) -> Command {
    Command::OpenOrder {
        order_id,
        currency: CURRENCY,
        mode: if table.is_some() { ServiceMode::DineIn } else { ServiceMode::TakeOut },
        table: table.map(str::to_owned),
        guests: None,
        staff: None,
    }
}

/// Adds `qty` of an item with `modifiers` (no seat, course, note or override).
#[must_use]
pub fn line(
    order_id: OrderId,
    line_id: LineId,
    item_id: ItemId,
    qty: Qty,
    modifiers: Vec<ModifierId>,
) -> Command {
    Command::AddLine {
        order_id,
        line_id,
        item_id,
        qty,
        modifiers,
        seat: None,
        course: None,
        note: None,
        price_override: None,
    }
}

/// A typical counter sale: open, a burger (medium rare, cheese), fries and a soda, paid in
/// cash with change, closed. Total 22.32 (20.50 plus 1.82 tax).
#[must_use]
pub fn typical_sale(ids: SaleIds, drawer: DrawerSessionId) -> Vec<Command> {
    let one = |line_id, item_id, modifiers| line(ids.order, line_id, item_id, Qty::ONE, modifiers);
    vec![
        open_order(ids.order, None),
        one(ids.lines[0], BURGER, vec![MEDIUM_RARE, CHEESE]),
        one(ids.lines[1], FRIES, Vec::new()),
        one(ids.lines[2], SODA, Vec::new()),
        Command::TakePayment {
            order_id: ids.order,
            payment_id: ids.payment,
            tender: TenderInput::Cash { tendered: Money(30_00) },
            amount: None,
            tip: Money::ZERO,
            drawer_session: Some(drawer),
            staff: None,
        },
        Command::CloseOrder { order_id: ids.order, staff: None },
    ]
}

/// The demo catalog and staff as the facts the hub publishes on the tenant's reference
/// log (catalog, prices, taxes and staff are the hub's to write, never a terminal's),
/// decided by the domain from [`catalog`] like any command.
pub fn catalog_facts() -> Result<Vec<thorbis_domain::DomainEvent>, thorbis_domain::CommandError> {
    use thorbis_domain::{EventMeta, IdSource, Policy, State, decide, project};
    use thorbis_sync_protocol::{DeviceId, EventId, Hlc};

    /// Catalog commands carry their own ids; anything else gets a counter's.
    struct Counter(u128);
    impl IdSource for Counter {
        fn next_id(&mut self) -> Uuid {
            self.0 += 1;
            id(0xfff_0000 + self.0)
        }
    }
    let (mut state, mut ids, policy) = (State::default(), Counter(0), Policy::default());
    let mut facts = Vec::new();
    for command in catalog() {
        for event in decide(&command, &state, &policy, &mut ids)? {
            let seq = facts.len() as u64 + 1;
            let meta = EventMeta {
                hlc: Hlc { wall_ms: seq, counter: 0 },
                id: EventId { device_id: DeviceId([0; 16]), seq },
            };
            // Later commands are decided against the earlier ones' facts.
            let Ok(()) = project(&mut state, &meta, &event);
            facts.push(event);
        }
    }
    Ok(facts)
}

/// [`catalog_facts`] as a publication for the hub's reference-events endpoint:
/// `{"events": [{"kind": ..., "payload": {...}}, ...]}`.
pub fn catalog_publication() -> Result<serde_json::Value, thorbis_domain::CommandError> {
    let events: Vec<serde_json::Value> = catalog_facts()?
        .iter()
        .map(|event| {
            let payload: serde_json::Value = serde_json::from_slice(&event.encode_payload())
                .expect("an encoded payload is JSON");
            serde_json::json!({ "kind": event.kind(), "payload": payload })
        })
        .collect();
    Ok(serde_json::json!({ "events": events }))
}

/// [`catalog_facts`] as a hub serves them to the terminals of `location`: the menu on the
/// tenant's reference log `log`, the staff on the location's staff log
/// ([`thorbis_sync_protocol::staff_log`]), each a chain stamped from `wall_ms` with its tip
/// signed with the tenant's key. For a store that has no hub to pull from (tests, a
/// LAN-only rig) to take with [`Store::apply_remote`](crate::Store::apply_remote), and
/// relay to its peers.
pub fn reference_log(
    tenant_key: &thorbis_sync_protocol::DeviceKey,
    tenant: Uuid,
    location: Uuid,
    log: thorbis_sync_protocol::DeviceId,
    wall_ms: u64,
) -> Result<
    Vec<(thorbis_sync_protocol::Event, Option<thorbis_sync_protocol::Signature>)>,
    thorbis_domain::CommandError,
> {
    use thorbis_sync_protocol::{ChainTip, Event, EventKind, Hlc};

    let (staff, menu): (Vec<_>, Vec<_>) = catalog_facts()?
        .into_iter()
        .partition(|f| matches!(f, thorbis_domain::DomainEvent::StaffUpserted(_)));
    let mut chains = Vec::new();
    let staff_log = thorbis_sync_protocol::staff_log(tenant, location);
    for (device_id, facts) in [(log, menu), (staff_log, staff)] {
        let mut tip = ChainTip::GENESIS;
        let mut chain = Vec::with_capacity(facts.len());
        for (i, fact) in facts.iter().enumerate() {
            let event = Event {
                device_id,
                seq: tip.seq + 1,
                hlc: Hlc { wall_ms: wall_ms + i as u64, counter: 0 },
                prev_hash: tip.hash,
                kind: EventKind::new(fact.kind()).expect("the domain's kinds are valid"),
                payload: fact.encode_payload(),
            };
            tip = ChainTip { seq: event.seq, hash: event.hash() };
            chain.push((event, None));
        }
        if let Some((_, signature)) = chain.last_mut() {
            *signature = Some(tenant_key.sign_checkpoint(device_id, tip).signature);
        }
        chains.extend(chain);
    }
    Ok(chains)
}

/// Total of [`typical_sale`], for checks.
pub const TYPICAL_SALE_TOTAL: Money = Money(2232);

/// Opens a drawer session with a 100.00 float.
#[must_use]
pub fn open_drawer(session: DrawerSessionId) -> Command {
    Command::OpenDrawer {
        session_id: session,
        currency: CURRENCY,
        float: Money(100_00),
        staff: None,
    }
}
