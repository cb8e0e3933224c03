//! A store as one replica sees it, for the admission tests and bench: the hub's reference
//! data, devices of each role at two locations, and helpers that write facts as a terminal
//! would.

#![allow(dead_code, reason = "the tests and the bench each use part of it")]

use std::collections::BTreeMap;

use thorbis_domain::admit::{AdmitContext, FactMeta, Quarantine, Verdict, admit};
use thorbis_domain::catalog::{Item, Role, Staff};
use thorbis_domain::command::{ReadError, ReadModel};
use thorbis_domain::device::DeviceRegistered;
use thorbis_domain::events::{
    DiscountApplied, DiscountRule, DiscountScope, DomainEvent, LineAdded, LineVoided, OrderOpened,
    PaymentTaken, ServiceMode, Tender,
};
use thorbis_domain::ids::{DiscountId, ItemId, LineId, LocationId, OrderId, PaymentId, StaffId};
use thorbis_domain::{
    Aggregate, Command, Currency, EventMeta, IdSource, Money, Policy, Qty, State, decide,
};
use thorbis_sync_protocol::{DeviceId, DeviceRole, EventId, Hlc, PublicKey};
use uuid::Uuid;

pub const HUB: DeviceId = DeviceId([0xAA; 16]);
pub const POS: DeviceId = DeviceId([1; 16]);
pub const POS2: DeviceId = DeviceId([2; 16]);
pub const POS3: DeviceId = DeviceId([7; 16]);
pub const KDS: DeviceId = DeviceId([3; 16]);
pub const TECH: DeviceId = DeviceId([4; 16]);
pub const TECH2: DeviceId = DeviceId([6; 16]);
/// A POS of another location of the same tenant.
pub const ELSEWHERE: DeviceId = DeviceId([5; 16]);

pub const MANAGER: StaffId = StaffId(Uuid::from_u128(0x5_01));
pub const CASHIER: StaffId = StaffId(Uuid::from_u128(0x5_02));
pub const BURGER: ItemId = ItemId(Uuid::from_u128(0x1_01));
pub const PIN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
/// A Luhn-valid test card number.
pub const PAN: &str = "4111 1111 1111 1111";
pub const START_MS: u64 = 1_800_000_000_000;

pub fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn location(device: DeviceId) -> LocationId {
    LocationId(if device == ELSEWHERE { u(0xB) } else { u(0xA) })
}

/// One replica: its state, when it stored each fact, each author's chain so far, a clock.
pub struct Replica {
    pub state: State,
    pub seen: BTreeMap<EventId, u64>,
    pub chains: BTreeMap<DeviceId, (u64, Option<Hlc>)>,
    pub now_ms: u64,
    pub ids: u128,
}

impl ReadModel for Replica {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        <State as ReadModel>::get(&self.state, id)
    }
}

impl AdmitContext for Replica {
    fn is_hub_log(&self, device: DeviceId) -> bool {
        device == HUB
    }

    fn first_seen_ms(&self, event: EventId) -> Option<u64> {
        self.seen.get(&event).copied()
    }
}

impl IdSource for Replica {
    fn next_id(&mut self) -> Uuid {
        self.ids += 1;
        u(0xF000_0000 + self.ids)
    }
}

impl Replica {
    /// A store with its devices, staff and menu published by the hub.
    pub fn store() -> Self {
        let mut r = Replica {
            state: State::default(),
            seen: BTreeMap::new(),
            chains: BTreeMap::new(),
            now_ms: START_MS,
            ids: 0,
        };
        for (device, role) in [
            (POS, DeviceRole::Pos),
            (POS2, DeviceRole::Pos),
            (POS3, DeviceRole::Pos),
            (KDS, DeviceRole::Kds),
            (TECH, DeviceRole::Technician),
            (TECH2, DeviceRole::Technician),
            (ELSEWHERE, DeviceRole::Pos),
        ] {
            r.hub(&DomainEvent::DeviceRegistered(DeviceRegistered {
                device_id: Uuid::from_bytes(device.0),
                location_id: location(device).0,
                role,
                public_key: PublicKey([device.0[0]; 32]),
                credential_expires_at_ms: u64::MAX,
            }));
        }
        r.hub(&DomainEvent::StaffUpserted(staff(MANAGER, Role::Manager)));
        r.hub(&DomainEvent::StaffUpserted(staff(CASHIER, Role::Cashier)));
        r.hub(&DomainEvent::ItemUpserted(Item {
            id: BURGER,
            name: "Burger".into(),
            category: None,
            price: Money(12_50),
            tax_category: None,
            // A barcode is digits by design, even one that passes the Luhn check.
            barcodes: vec!["4222222222222".into()],
            station: Some("grill".into()),
            modifier_groups: vec![],
            track_stock: false,
            sold_by_weight: false,
            reorder_point: None,
            active: true,
        }));
        r
    }

    /// The fact `device` signs next, stamped `behind_ms` before this replica's clock.
    pub fn next_fact(&mut self, device: DeviceId, behind_ms: u64) -> FactMeta {
        self.now_ms += 10;
        let (seq, previous) = self.chains.get(&device).copied().unwrap_or((0, None));
        let hlc = Hlc { wall_ms: self.now_ms - behind_ms, counter: 0 };
        self.chains.insert(device, (seq + 1, Some(hlc)));
        FactMeta {
            meta: EventMeta { hlc, id: EventId { device_id: device, seq: seq + 1 } },
            previous,
            received_ms: self.now_ms,
            from_author: true,
        }
    }

    /// Admits a fact and folds it if admitted; it is logged either way.
    pub fn take(&mut self, fact: &FactMeta, event: &DomainEvent) -> Verdict {
        let verdict = admit(fact, event, self).expect("in-memory reads do not fail");
        if verdict.is_ok() {
            self.state.apply(&fact.meta, event);
            self.seen.insert(fact.meta.id, fact.received_ms);
        }
        verdict
    }

    pub fn send(&mut self, device: DeviceId, event: &DomainEvent) -> Verdict {
        let fact = self.next_fact(device, 0);
        self.take(&fact, event)
    }

    pub fn hub(&mut self, event: &DomainEvent) {
        self.send(HUB, event).expect("the hub's reference data is admitted");
    }

    /// Runs a command on `device` as its terminal would, and has every fact admitted.
    pub fn run(&mut self, device: DeviceId, command: &Command) {
        let events = decide(command, &self.state, &Policy::default(), &mut Counter(self.ids))
            .expect("an honest command");
        self.ids += 100;
        for event in events {
            let verdict = self.send(device, &event);
            assert_eq!(verdict, Ok(()), "{} from {device}", event.kind());
        }
    }

    pub fn refuse(&mut self, device: DeviceId, event: &DomainEvent) -> Quarantine {
        let before = self.state.clone();
        let q = self.send(device, event).expect_err("should be quarantined");
        assert_eq!(before, self.state, "a quarantined fact changed state");
        q
    }
}

pub struct Counter(pub u128);

impl IdSource for Counter {
    fn next_id(&mut self) -> Uuid {
        self.0 += 1;
        u(0xE000_0000 + self.0)
    }
}

pub fn staff(id: StaffId, role: Role) -> Staff {
    Staff {
        id,
        name: format!("{role:?}"),
        role,
        pin_hash: PIN_HASH.into(),
        active: true,
        locations: Vec::new(),
    }
}

pub fn order(n: u128) -> OrderId {
    OrderId(u(0x0_100 + n))
}

pub fn opened(id: OrderId) -> DomainEvent {
    DomainEvent::OrderOpened(OrderOpened {
        order_id: id,
        currency: Currency::USD,
        mode: ServiceMode::DineIn,
        table: Some("12".into()),
        guests: Some(2),
        opened_by: Some(CASHIER),
    })
}

pub fn line(order_id: OrderId, n: u128) -> LineAdded {
    LineAdded {
        order_id,
        line_id: LineId(u(0x0_200 + n)),
        item_id: BURGER,
        name: "Burger".into(),
        unit_price: Money(12_50),
        qty: Qty::ONE,
        modifiers: vec![],
        seat: None,
        course: None,
        taxes: vec![],
        station: Some("grill".into()),
        note: None,
        price_override_by: None,
    }
}

pub fn payment(order_id: OrderId, n: u128, amount: i64) -> PaymentTaken {
    PaymentTaken {
        order_id,
        payment_id: PaymentId(u(0x0_300 + n)),
        amount: Money(amount),
        tip: Money::ZERO,
        tender: Tender::Card { brand: "VISA".into(), last4: "1111".into(), auth_code: "A1".into() },
        drawer_session: None,
        taken_by: Some(CASHIER),
    }
}

pub fn void(order_id: OrderId, line: &LineAdded, approved_by: Option<StaffId>) -> DomainEvent {
    DomainEvent::LineVoided(LineVoided {
        order_id,
        line_id: line.line_id,
        reason: "wrong item".into(),
        approved_by,
    })
}

pub fn discount(rule: DiscountRule, reason: &str, approved_by: StaffId) -> DomainEvent {
    DomainEvent::DiscountApplied(DiscountApplied {
        order_id: order(1),
        discount_id: DiscountId(u(0x401)),
        scope: DiscountScope::Order,
        rule,
        reason: reason.into(),
        approved_by: Some(approved_by),
    })
}

/// A store with order 1 opened by the POS and a burger on it.
pub fn store_with_order() -> (Replica, LineAdded) {
    let mut r = Replica::store();
    r.send(POS, &opened(order(1))).unwrap();
    let l = line(order(1), 1);
    r.send(POS, &DomainEvent::LineAdded(l.clone())).unwrap();
    (r, l)
}
