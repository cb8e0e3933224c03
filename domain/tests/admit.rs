//! Admission: what every replica checks before it folds a fact. An honest store's facts
//! are all admitted; each forgery a stolen device could sign is quarantined with its reason.

use std::collections::BTreeMap;

use proptest::prelude::*;
use thorbis_domain::admit::{FactMeta, Quarantine, admit_payload, check_content};
use thorbis_domain::catalog::{Item, Role, Staff};
use thorbis_domain::command::TenderInput;
use thorbis_domain::device::{DeviceConfig, DeviceConfigured, DeviceRevoked};
use thorbis_domain::events::{
    AvailabilitySet, DiscountRule, DomainEvent, DrawerCashMoved, LineComped, LineModifier,
    LineVoided, LinesMovedIn, MovedLine, OrderClosed, OrderTransferred, RefundIssued, ServiceMode,
    StockMoved, StockReason, Tender, WorkOrderChanged, WorkOrderDispatched,
};
use thorbis_domain::ids::{
    DrawerSessionId, LineId, ModifierId, PaymentId, RefundId, StaffId, WorkOrderId,
};
use thorbis_domain::slot::Slot;
use thorbis_domain::tax::TaxRate;
use thorbis_domain::work_order::{
    ChangeBytes, ScheduledWindow, WorkOrder, WorkOrderDraft, WorkOrderEdit, actor_for, create,
};
use thorbis_domain::{Command, Currency, Money, Policy, Qty, decide};
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

mod support;

use support::*;

#[test]
fn an_honest_day_is_admitted_everywhere() {
    let mut r = Replica::store();
    let drawer = DrawerSessionId(u(0xD));
    let o = order(1);
    r.run(
        POS,
        &Command::OpenDrawer {
            session_id: drawer,
            currency: Currency::USD,
            float: Money(100_00),
            staff: Some(CASHIER),
        },
    );
    r.run(
        POS,
        &Command::OpenOrder {
            order_id: o,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some("4".into()),
            guests: Some(2),
            staff: Some(CASHIER),
        },
    );
    for (n, note) in [(1, None), (2, Some("no onions".to_owned()))] {
        r.run(
            POS2,
            &Command::AddLine {
                order_id: o,
                line_id: LineId(u(0x0_200 + n)),
                item_id: BURGER,
                qty: Qty::ONE,
                modifiers: vec![],
                seat: None,
                course: None,
                note,
                price_override: None,
            },
        );
    }
    r.run(POS, &Command::SendToKitchen { order_id: o });
    r.run(
        POS,
        &Command::VoidLine {
            order_id: o,
            line_id: LineId(u(0x0_201)),
            reason: "customer changed mind".into(),
            approved_by: Some(MANAGER),
        },
    );
    let ticket_id = *r.state.tickets.keys().next().expect("the send made a ticket");
    r.run(KDS, &Command::BumpTicket { ticket_id: thorbis_domain::ids::TicketId(ticket_id) });
    r.run(
        POS,
        &Command::TakePayment {
            order_id: o,
            payment_id: PaymentId(u(0x0_301)),
            tender: TenderInput::Cash { tendered: Money(20_00) },
            amount: None,
            tip: Money::ZERO,
            drawer_session: Some(drawer),
            staff: Some(CASHIER),
        },
    );
    r.run(POS, &Command::CloseOrder { order_id: o, staff: Some(CASHIER) });
    r.run(KDS, &Command::SetAvailability { item_id: BURGER, available: false, by: None });
    assert_eq!(r.state.orders[&o.0].status(), thorbis_domain::order::OrderStatus::Closed);
}

#[test]
fn reference_data_from_a_terminal_is_quarantined() {
    let mut r = Replica::store();
    let takeover = DomainEvent::StaffUpserted(Staff {
        id: StaffId(u(0x666)),
        name: "Owner".into(),
        role: Role::Owner,
        pin_hash: PIN_HASH.into(),
        active: true,
        locations: Vec::new(),
    });
    let price = DomainEvent::ItemUpserted(Item {
        price: Money(1),
        ..r.state
            .get::<thorbis_domain::fold::Versioned<Item>>(BURGER.0)
            .unwrap()
            .value()
            .unwrap()
            .clone()
    });
    let tax = DomainEvent::TaxRateUpserted(TaxRate {
        id: thorbis_domain::ids::TaxRateId(u(9)),
        name: "zero".into(),
        ppm: 0,
        inclusive: false,
    });
    let config = DomainEvent::DeviceConfigured(DeviceConfigured {
        device_id: Uuid::from_bytes(KDS.0),
        config: DeviceConfig { name: "Mine now".into(), ..DeviceConfig::default() },
    });
    let dispatch = DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: WorkOrderId(u(0x77)),
        location_id: location(TECH),
        technician: TECH,
        changes: vec![],
    });
    for forged in [takeover, price, tax, config, dispatch] {
        for device in [POS, KDS, TECH] {
            let q = r.refuse(device, &forged);
            assert_eq!(q.code(), "not_allowed", "{} from {device}: {q}", forged.kind());
            assert!(q.is_final());
        }
    }
    // The staff takeover signs nobody in: the record does not exist.
    assert!(!r.state.staff.contains_key(&u(0x666)));
}

#[test]
fn a_device_writes_only_what_its_role_does() {
    let (mut r, _) = store_with_order();
    let pay = DomainEvent::PaymentTaken(payment(order(1), 1, 12_50));
    for device in [KDS, TECH] {
        assert_eq!(r.refuse(device, &pay).code(), "not_allowed");
    }
    assert_eq!(r.refuse(TECH, &opened(order(2))).code(), "not_allowed");
    let eighty_six = DomainEvent::AvailabilitySet(AvailabilitySet {
        item_id: BURGER,
        available: false,
        by: None,
    });
    assert_eq!(r.refuse(TECH, &eighty_six).code(), "not_allowed");
    assert_eq!(r.send(KDS, &eighty_six), Ok(()));
}

#[test]
fn approvers_must_be_active_managers_who_exist() {
    let (mut r, l) = store_with_order();
    assert_eq!(
        r.refuse(POS, &void(order(1), &l, Some(CASHIER))),
        Quarantine::NotAnApprover(CASHIER)
    );
    assert_eq!(r.refuse(POS, &void(order(1), &l, None)).code(), "approval_missing");
    let ghost = StaffId(u(0x999));
    let q = r.refuse(POS, &void(order(1), &l, Some(ghost)));
    assert_eq!(q, Quarantine::UnknownApprover(ghost));
    assert!(!q.is_final(), "the record may be on its way");
    let friends = discount(DiscountRule::PercentBps(5_000), "friends", CASHIER);
    assert_eq!(r.refuse(POS, &friends).code(), "not_an_approver");
    // A comp smuggled in with lines "moved" from another check is held to the same rule.
    r.send(POS, &opened(order(2))).unwrap();
    let mut moved = line(order(2), 9);
    moved.order_id = order(2);
    let smuggled = DomainEvent::LinesMovedIn(LinesMovedIn {
        order_id: order(2),
        from: order(1),
        lines: vec![MovedLine {
            from_line: l.line_id,
            line: moved,
            comp: Some(LineComped {
                order_id: order(2),
                line_id: LineId(u(0x0_209)),
                reason: "on the house".into(),
                approved_by: Some(CASHIER),
            }),
            discounts: vec![],
            sent: None,
        }],
        by: None,
    });
    assert_eq!(r.refuse(POS, &smuggled), Quarantine::NotAnApprover(CASHIER));
    assert_eq!(r.send(POS, &void(order(1), &l, Some(MANAGER))), Ok(()));

    // The manager leaves; what they approved before still stands on a replica that only
    // knows the new record, but nothing stamped after.
    let mut gone = staff(MANAGER, Role::Manager);
    gone.active = false;
    let mut later = Replica::store();
    later.send(POS, &opened(order(1))).unwrap();
    later.send(POS, &DomainEvent::LineAdded(l.clone())).unwrap();
    let approved_before = later.next_fact(POS, 0);
    later.hub(&DomainEvent::StaffUpserted(gone));
    assert_eq!(later.take(&approved_before, &void(order(1), &l, Some(MANAGER))), Ok(()));
    let l2 = line(order(1), 2);
    later.send(POS, &DomainEvent::LineAdded(l2.clone())).unwrap();
    assert_eq!(
        later.refuse(POS, &void(order(1), &l2, Some(MANAGER))),
        Quarantine::NotAnApprover(MANAGER)
    );
    // A cashier's record that changed later vouches for nothing before it either.
    let stamped_before = later.next_fact(POS, 0);
    later.hub(&DomainEvent::StaffUpserted(Staff {
        name: "Casey".into(),
        ..staff(CASHIER, Role::Cashier)
    }));
    let forged = void(order(1), &l2, Some(CASHIER));
    assert_eq!(later.take(&stamped_before, &forged), Err(Quarantine::NotAnApprover(CASHIER)));
}

#[test]
fn approvers_work_at_the_location_of_what_they_approve() {
    let (mut r, l) = store_with_order();
    // A manager of the other store (a location of their own) approves nothing here.
    let visitor = StaffId(u(0x5_09));
    let elsewhere = Staff { locations: vec![location(ELSEWHERE)], ..staff(visitor, Role::Manager) };
    r.hub(&DomainEvent::StaffUpserted(elsewhere.clone()));
    assert_eq!(
        r.refuse(POS, &void(order(1), &l, Some(visitor))),
        Quarantine::NotAnApprover(visitor)
    );
    // Once their record names this location too, they do.
    r.hub(&DomainEvent::StaffUpserted(Staff {
        locations: vec![location(ELSEWHERE), location(POS)],
        ..elsewhere.clone()
    }));
    assert_eq!(r.send(POS, &void(order(1), &l, Some(visitor))), Ok(()));

    // A manager who approved here and moved away later still vouches for what they
    // approved before: a replica that only knows the new record agrees.
    let mut later = Replica::store();
    later.send(POS, &opened(order(1))).unwrap();
    later.send(POS, &DomainEvent::LineAdded(l.clone())).unwrap();
    let approved_before = later.next_fact(POS, 0);
    later.hub(&DomainEvent::StaffUpserted(elsewhere));
    assert_eq!(later.take(&approved_before, &void(order(1), &l, Some(visitor))), Ok(()));
}

#[test]
fn cost_and_range_bombs_are_quarantined() {
    let mut r = Replica::store();
    let mut bomb = opened(order(9));
    if let DomainEvent::OrderOpened(o) = &mut bomb {
        o.currency = Currency { code: *b"USD", exponent: 200 };
    }
    let q = r.refuse(POS, &bomb);
    assert_eq!(q.code(), "invalid_currency");
    assert!(q.to_string().contains("200 decimals"), "{q}");

    for params in ["m=4194304,t=2,p=1", "m=19456,t=100000,p=1", "m=19456,t=2,p=255"] {
        let mut s = staff(StaffId(u(0x5_10)), Role::Cashier);
        s.pin_hash = PIN_HASH.replace("m=19456,t=2,p=1", params);
        let fact = r.next_fact(HUB, 0);
        let verdict = r.take(&fact, &DomainEvent::StaffUpserted(s));
        assert_eq!(verdict, Err(Quarantine::PinHashCost), "{params}");
    }

    r.send(POS, &opened(order(1))).unwrap();
    let mut huge = line(order(1), 1);
    huge.unit_price = Money(i64::MAX);
    let mut none = line(order(1), 2);
    none.qty = Qty::ZERO;
    let mut taxed = line(order(1), 3);
    taxed.taxes = vec![TaxRate {
        id: thorbis_domain::ids::TaxRateId(u(1)),
        name: "tax".into(),
        ppm: 5_000_000,
        inclusive: false,
    }];
    let mut modifier = line(order(1), 4);
    modifier.modifiers = vec![LineModifier {
        modifier_id: ModifierId(u(1)),
        name: "x".into(),
        price_delta: Money(i64::MIN),
    }];
    for bad in [huge, none, taxed, modifier] {
        assert_eq!(r.refuse(POS, &DomainEvent::LineAdded(bad)).code(), "out_of_range");
    }
    let negative = DomainEvent::PaymentTaken(payment(order(1), 1, -5_00));
    assert_eq!(r.refuse(POS, &negative).code(), "out_of_range");
    let percent = discount(DiscountRule::PercentBps(20_000), "more than free", MANAGER);
    assert_eq!(r.refuse(POS, &percent).code(), "out_of_range");
    let stock = DomainEvent::StockMoved(StockMoved {
        item_id: BURGER,
        delta: Qty(i64::MIN),
        reason: StockReason::Adjust { note: "x".into() },
    });
    assert_eq!(r.refuse(POS, &stock).code(), "out_of_range");
}

/// Every text field a device or the hub can write, each holding a card number.
#[allow(clippy::too_many_lines, reason = "one entry per field, listed flat to be checked by eye")]
fn every_text_with_a_pan(pan: &str) -> Vec<(DeviceId, DomainEvent)> {
    let o = order(1);
    let mut events = Vec::new();
    let mut o2 = opened(order(2));
    if let DomainEvent::OrderOpened(e) = &mut o2 {
        e.table = Some(pan.into());
    }
    events.push((POS, o2));
    let mut named = line(o, 10);
    named.name = format!("Burger {pan}");
    events.push((POS, DomainEvent::LineAdded(named)));
    let mut noted = line(o, 11);
    noted.note = Some(format!("card {pan} thanks"));
    events.push((POS, DomainEvent::LineAdded(noted)));
    let mut modified = line(o, 12);
    modified.modifiers = vec![LineModifier {
        modifier_id: ModifierId(u(1)),
        name: pan.into(),
        price_delta: Money(0),
    }];
    events.push((POS, DomainEvent::LineAdded(modified)));
    let mut taxed = line(o, 13);
    taxed.taxes = vec![TaxRate {
        id: thorbis_domain::ids::TaxRateId(u(1)),
        name: pan.into(),
        ppm: 1,
        inclusive: false,
    }];
    events.push((POS, DomainEvent::LineAdded(taxed)));
    let first = line(o, 1);
    events.push((
        POS,
        DomainEvent::LineVoided(LineVoided {
            order_id: o,
            line_id: first.line_id,
            reason: pan.into(),
            approved_by: Some(MANAGER),
        }),
    ));
    events.push((POS, discount(DiscountRule::PercentBps(100), pan, MANAGER)));
    events.push((
        POS,
        DomainEvent::OrderTransferred(OrderTransferred {
            order_id: o,
            table: Some(pan.into()),
            server: None,
            by: None,
        }),
    ));
    for tender in [
        Tender::Other { name: pan.into() },
        Tender::Card { brand: pan.into(), last4: "1111".into(), auth_code: "A".into() },
        Tender::Card { brand: "VISA".into(), last4: "1111".into(), auth_code: pan.into() },
    ] {
        let mut p = payment(o, 1, 1_00);
        p.tender = tender;
        events.push((POS, DomainEvent::PaymentTaken(p)));
    }
    events.push((
        POS,
        DomainEvent::RefundIssued(RefundIssued {
            refund_id: RefundId(u(0x501)),
            order_id: o,
            amount: Money(1_00),
            lines: vec![],
            tender: Tender::Cash { tendered: Money(1_00), change: Money::ZERO },
            reason: pan.into(),
            approved_by: Some(MANAGER),
            drawer_session: None,
        }),
    ));
    events.push((
        POS,
        DomainEvent::DrawerPaidOut(DrawerCashMoved {
            session_id: DrawerSessionId(u(0xD)),
            amount: Money(1_00),
            reason: pan.into(),
            by: None,
        }),
    ));
    events.push((
        POS,
        DomainEvent::StockMoved(StockMoved {
            item_id: BURGER,
            delta: Qty::ONE,
            reason: StockReason::Receive { note: pan.into() },
        }),
    ));
    events.push((
        HUB,
        DomainEvent::StaffUpserted(Staff { name: pan.into(), ..staff(CASHIER, Role::Cashier) }),
    ));
    events.push((
        HUB,
        DomainEvent::DeviceConfigured(DeviceConfigured {
            device_id: Uuid::from_bytes(POS.0),
            config: DeviceConfig { name: pan.into(), ..DeviceConfig::default() },
        }),
    ));
    events
}

#[test]
fn no_field_of_any_fact_carries_a_card_number() {
    for pan in [PAN, "4111-1111-1111-1111", "4111111111111111", "378282246310005"] {
        let (mut r, _) = store_with_order();
        for (device, event) in every_text_with_a_pan(pan) {
            let q = r.refuse(device, &event);
            assert_eq!(q.code(), "card_number", "{}: {q}", event.kind());
            assert!(!q.to_string().contains(pan), "the alert repeats the number: {q}");
        }
    }
    // The same fields with ordinary text (and the item's barcode, which is digits by
    // design) pass the card check; whatever else they fail, it is not that.
    let (mut r, _) = store_with_order();
    for (device, event) in every_text_with_a_pan("table 4, 2 guests") {
        if let Err(q) = r.send(device, &event) {
            assert_ne!(q.code(), "card_number", "{}: {q}", event.kind());
        }
    }
}

/// A change written straight with Automerge, as a forger would, past the edit checks.
fn forged_change(
    doc: &WorkOrder,
    device: DeviceId,
    text: &str,
    as_text_object: bool,
) -> ChangeBytes {
    use automerge::ReadDoc as _;
    use automerge::transaction::Transactable as _;
    let mut am = doc.document().with_actor(actor_for(device));
    let mut tx = am.transaction();
    if as_text_object {
        let memo = tx.put_object(automerge::ROOT, "memo", automerge::ObjType::Text).unwrap();
        tx.splice_text(&memo, 0, 0, text).unwrap();
    } else {
        tx.put(automerge::ROOT, "title", text).unwrap();
    }
    let (hash, _) = tx.commit();
    ChangeBytes(am.get_change_by_hash(&hash.unwrap()).unwrap().raw_bytes().to_vec())
}

/// A store that holds a work order the hub dispatched to `TECH`.
fn job_at_tech() -> (Replica, WorkOrderId) {
    let mut r = Replica::store();
    let wo = WorkOrderId(u(0x77));
    let draft = WorkOrderDraft {
        title: "Boiler service".into(),
        customer: "Ada".into(),
        site_address: "1 Main St".into(),
        window: ScheduledWindow { start_ms: 1_000, end_ms: 5_000 },
        currency: Currency::USD,
        checklist: vec![],
        vehicle: None,
    };
    r.hub(&DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: wo,
        location_id: location(TECH),
        technician: TECH,
        changes: vec![create(&draft, HUB, 900).expect("a valid draft")],
    }));
    (r, wo)
}

#[test]
fn work_orders_take_edits_from_their_technician_and_no_card_numbers() {
    let (mut r, wo) = job_at_tech();
    let doc = r.state.work_orders[&wo.0].clone();
    let changed =
        |change| DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: wo, change });
    let note = |device, text: &str| {
        changed(doc.edit(&WorkOrderEdit::AddNote { text: text.into() }, device, 2).unwrap())
    };
    for as_text_object in [false, true] {
        let forged =
            changed(forged_change(&doc, TECH, &format!("paid with {PAN}"), as_text_object));
        assert_eq!(r.refuse(TECH, &forged).code(), "card_number");
    }
    assert_eq!(r.send(TECH, &note(TECH, "replaced the valve")), Ok(()));
    // Not theirs: another technician's edits are refused.
    assert_eq!(r.refuse(TECH2, &note(TECH2, "mine now")).code(), "not_assigned");
    // Reassigned: the first technician's laptop may no longer edit.
    r.hub(&DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: wo,
        location_id: location(TECH),
        technician: TECH2,
        changes: vec![],
    }));
    assert_eq!(r.refuse(TECH, &note(TECH, "still here")).code(), "not_assigned");
    assert_eq!(r.send(TECH2, &note(TECH2, "took over")), Ok(()));
    // The dispatcher edits through the hub's logs.
    assert_eq!(r.send(HUB, &note(HUB, "customer called")), Ok(()));
    // A job not dispatched here yet may still come; bytes that are no change never will.
    let elsewhere = DomainEvent::WorkOrderChanged(WorkOrderChanged {
        work_order_id: WorkOrderId(u(0x78)),
        change: doc.edit(&WorkOrderEdit::AddNote { text: "hi".into() }, TECH2, 3).unwrap(),
    });
    let q = r.refuse(TECH2, &elsewhere);
    assert_eq!(q.code(), "unknown_target");
    assert!(!q.is_final());
    assert_eq!(r.refuse(TECH2, &changed(ChangeBytes(vec![1, 2, 3]))).code(), "malformed");
}

/// A part used moves stock only as the part its own change adds: the same line, item
/// and quantity, new, and the writer's own change; an id is never read as a card number.
#[test]
fn a_part_used_is_the_part_its_change_adds_once() {
    use thorbis_domain::events::WorkOrderPartUsed;
    use thorbis_domain::ids::PartLineId;
    let (mut r, wo) = job_at_tech();
    let doc = r.state.work_orders[&wo.0].clone();
    // Digits of a line id that pass the card-number check are still only an id.
    let line = PartLineId(Uuid::parse_str("41111111-1111-4111-8111-111111111111").unwrap());
    let used = |device, line: PartLineId, qty: Qty, claimed: Qty| {
        let edit = WorkOrderEdit::UsePart {
            line_id: line,
            item_id: BURGER,
            name: "Valve".into(),
            sku: None,
            qty,
            unit_price: Money(8_50),
        };
        DomainEvent::WorkOrderPartUsed(WorkOrderPartUsed {
            work_order_id: wo,
            line_id: line,
            item_id: BURGER,
            qty: claimed,
            change: doc.edit(&edit, device, 2).unwrap(),
        })
    };
    // Claiming more than the change adds, or another device's change, is refused.
    assert_eq!(r.refuse(TECH, &used(TECH, line, Qty::ONE, Qty::units(50))).code(), "malformed");
    assert_eq!(r.refuse(TECH, &used(TECH2, line, Qty::ONE, Qty::ONE)).code(), "malformed");
    assert_eq!(r.send(TECH, &used(TECH, line, Qty::ONE, Qty::ONE)), Ok(()));
    assert_eq!(r.state.stock[&BURGER.0].on_hand, Qty(-1_000));
    // The same line again (a replay under a new event) moves nothing more.
    assert_eq!(r.refuse(TECH, &used(TECH, line, Qty::ONE, Qty::ONE)).code(), "malformed");
    assert_eq!(r.state.stock[&BURGER.0].on_hand, Qty(-1_000));
}

/// Money a device writes into a job must add up: a forged invoice or payment is held back,
/// the domain's own invoice and payment are not.
#[test]
fn a_forged_invoice_or_payment_is_held_back() {
    use automerge::ReadDoc as _;
    use automerge::transaction::Transactable as _;
    use thorbis_domain::work_order::{PaymentMethod, WorkOrderStatus};
    let (mut r, wo) = job_at_tech();
    let changed =
        |change| DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: wo, change });
    let edit =
        |r: &Replica, e: WorkOrderEdit| r.state.work_orders[&wo.0].edit(&e, TECH, 2).unwrap();
    for status in [WorkOrderStatus::EnRoute, WorkOrderStatus::Done] {
        let change = edit(&r, WorkOrderEdit::SetStatus { status });
        assert_eq!(r.send(TECH, &changed(change)), Ok(()));
    }
    // Written straight with Automerge: the job "invoiced" with no invoice, then an invoice
    // whose total is not its subtotal.
    let forge = |r: &Replica, total: Option<i64>| {
        let mut am = r.state.work_orders[&wo.0].document().with_actor(actor_for(TECH));
        let mut tx = am.transaction();
        tx.put(automerge::ROOT, "status", "invoiced").unwrap();
        if let Some(total) = total {
            let inv = tx.put_object(automerge::ROOT, "invoice", automerge::ObjType::Map).unwrap();
            tx.put(&inv, "number", "INV-1").unwrap();
            tx.put(&inv, "subtotal", 50_00_i64).unwrap();
            tx.put(&inv, "total", total).unwrap();
        }
        let (hash, _) = tx.commit();
        ChangeBytes(am.get_change_by_hash(&hash.unwrap()).unwrap().raw_bytes().to_vec())
    };
    assert_eq!(r.refuse(TECH, &changed(forge(&r, None))).code(), "malformed");
    assert_eq!(r.refuse(TECH, &changed(forge(&r, Some(1)))).code(), "malformed");
    // The domain's invoice and payment pass.
    let invoice = WorkOrderEdit::IssueInvoice {
        number: "INV-1".into(),
        issued_at_ms: 3,
        taxes: thorbis_domain::tax::TaxBreakdown::default(),
    };
    assert_eq!(r.send(TECH, &changed(edit(&r, invoice))), Ok(()));
    let paid = WorkOrderEdit::RecordPayment { method: PaymentMethod::Cash, reference: None };
    assert_eq!(r.send(TECH, &changed(edit(&r, paid))), Ok(()));
}

#[test]
fn a_device_writes_only_to_its_own_locations_orders() {
    let (mut r, l) = store_with_order();
    let q = r.refuse(ELSEWHERE, &DomainEvent::LineAdded(line(order(1), 5)));
    assert_eq!(q.code(), "wrong_location");
    assert_eq!(r.refuse(ELSEWHERE, &void(order(1), &l, Some(MANAGER))).code(), "wrong_location");
    assert_eq!(
        r.refuse(ELSEWHERE, &DomainEvent::PaymentTaken(payment(order(1), 1, 12_50))).code(),
        "wrong_location"
    );
    // Its own orders are fine, and an order nobody here has seen opened may yet arrive.
    assert_eq!(r.send(ELSEWHERE, &opened(order(2))), Ok(()));
    assert_eq!(r.send(ELSEWHERE, &DomainEvent::LineAdded(line(order(2), 6))), Ok(()));
    let q = r.refuse(POS, &DomainEvent::LineAdded(line(order(3), 7)));
    assert_eq!(q.code(), "unknown_target");
    assert!(!q.is_final());
}

#[test]
fn clocks_cannot_be_wound_back() {
    let (mut r, _) = store_with_order();
    let week = 7 * 24 * 3_600_000;
    // Behind its own previous stamp.
    let back = r.next_fact(POS, 1_000);
    let q = r.take(&back, &DomainEvent::LineAdded(line(order(1), 2))).unwrap_err();
    assert_eq!(q.code(), "behind_own_clock");
    // A device whose whole chain lags more than a week behind the receiver.
    let mut lagging = Replica::store();
    let old = lagging.next_fact(POS2, week + 1);
    assert_eq!(lagging.take(&old, &opened(order(4))).unwrap_err().code(), "behind_receiver");
    // The same fact relayed as history, a week later, is not back-dating.
    let mut relayed = lagging.next_fact(POS2, week + 1);
    relayed.from_author = false;
    assert_eq!(lagging.take(&relayed, &opened(order(5))), Ok(()));
    // Ahead of the receiver.
    let mut ahead = r.next_fact(POS, 0);
    ahead.meta.hlc.wall_ms += 6 * 60_000;
    assert_eq!(r.take(&ahead, &opened(order(6))).unwrap_err().code(), "ahead_of_receiver");
}

#[test]
fn a_backdated_payment_cannot_replace_one_already_seen() {
    let (mut r, _) = store_with_order();
    let honest = payment(order(1), 1, 12_50);
    r.send(POS, &DomainEvent::PaymentTaken(honest.clone())).unwrap();
    // Another terminal signs a payment under the same id, stamped before it.
    let mut forged = honest.clone();
    forged.tender = Tender::Other { name: "house account".into() };
    let mut fact = r.next_fact(POS2, 0);
    fact.meta.hlc.wall_ms = START_MS;
    let q = r.take(&fact, &DomainEvent::PaymentTaken(forged)).unwrap_err();
    let slot = Slot::Payment(order(1), honest.payment_id);
    assert_eq!(q, Quarantine::SlotTaken { slot, holder: POS });
    assert!(q.to_string().starts_with(&format!("device {POS} already recorded payment ")), "{q}");
    let kept = &r.state.orders[&order(1).0].payments[&honest.payment_id];
    assert_eq!(kept.value, honest);
}

/// The limit of deciding by what each replica has seen: a forged copy of a minted slot
/// that reaches a replica before the real one holds it there. The real one is then
/// quarantined on that replica, and its alert names the forger as the holder.
#[test]
fn whoever_reaches_a_replica_first_holds_a_minted_slot() {
    let honest = payment(order(1), 1, 12_50);
    let mut forged = honest.clone();
    forged.tender = Tender::Other { name: "house account".into() };
    let (mut r, _) = store_with_order();
    let real = r.next_fact(POS, 0);
    let copy = r.next_fact(POS3, 0);
    assert_eq!(r.take(&copy, &DomainEvent::PaymentTaken(forged)), Ok(()));
    let q = r.take(&real, &DomainEvent::PaymentTaken(honest.clone())).unwrap_err();
    assert_eq!(
        q,
        Quarantine::SlotTaken { slot: Slot::Payment(order(1), honest.payment_id), holder: POS3 }
    );
}

#[test]
fn a_late_backdated_close_is_refused_and_a_crossing_one_is_not() {
    let (mut r, _) = store_with_order();
    let close =
        |by| DomainEvent::OrderClosed(OrderClosed { order_id: order(1), closed_by: Some(by) });
    let stamp_before = r.now_ms;
    r.send(POS, &close(CASHIER)).unwrap();
    // POS2 closed it too, offline, a moment earlier: arriving within the grace period, the
    // earlier stamp wins as it always did.
    let mut crossing = r.next_fact(POS2, 0);
    crossing.meta.hlc.wall_ms = stamp_before;
    assert_eq!(r.take(&crossing, &close(MANAGER)), Ok(()));
    assert_eq!(r.state.orders[&order(1).0].closed.as_ref().unwrap().value.closed_by, Some(MANAGER));
    // An hour later, a close from a third terminal stamped before both is refused.
    r.now_ms += 3_600_000;
    let mut late = r.next_fact(POS3, 0);
    late.meta.hlc.wall_ms = stamp_before - 5;
    let q = r.take(&late, &close(CASHIER)).unwrap_err();
    assert_eq!(q, Quarantine::Backdated { slot: Slot::Closed(order(1)), holder: POS2 });
    // A late close stamped after the holder displaces nothing and folds as before.
    let after = r.next_fact(POS3, 0);
    assert_eq!(r.take(&after, &close(CASHIER)), Ok(()));
    assert_eq!(r.state.orders[&order(1).0].closed.as_ref().unwrap().value.closed_by, Some(MANAGER));
}

#[test]
fn a_revoked_device_is_heard_up_to_its_revocation() {
    let (mut r, _) = store_with_order();
    let before = r.next_fact(POS2, 0);
    r.hub(&DomainEvent::DeviceRevoked(DeviceRevoked {
        device_id: Uuid::from_bytes(POS2.0),
        revoked_at_ms: r.now_ms,
    }));
    assert_eq!(r.take(&before, &DomainEvent::LineAdded(line(order(1), 2))), Ok(()));
    assert_eq!(r.refuse(POS2, &DomainEvent::LineAdded(line(order(1), 3))).code(), "revoked");
    let stranger = DeviceId([0x42; 16]);
    let q = r.refuse(stranger, &opened(order(7)));
    assert_eq!(q.code(), "unknown_author");
    assert!(!q.is_final());
}

#[test]
fn unknown_kinds_and_malformed_payloads_are_quarantined() {
    let mut r = Replica::store();
    let fact = r.next_fact(POS, 0);
    let q = admit_payload(&fact, "catalog.price_bomb", b"{}", &r).unwrap().unwrap_err();
    assert_eq!(q.code(), "unknown_kind");
    let q = admit_payload(&fact, "order.opened", b"{\"x\":1}", &r).unwrap().unwrap_err();
    assert_eq!(q.code(), "malformed");
    // Alerts repeat neither a card number posing as a kind nor one a decoder quotes.
    let q = admit_payload(&fact, PAN, b"{}", &r).unwrap().unwrap_err();
    assert!(!q.to_string().contains(PAN), "{q}");
    let quoted = format!("{{\"order_id\": \"{PAN}\"}}");
    let q = admit_payload(&fact, "order.opened", quoted.as_bytes(), &r).unwrap().unwrap_err();
    assert_eq!(q.code(), "malformed");
    assert!(!q.to_string().contains(PAN), "{q}");
    let good = opened(order(1));
    let event = admit_payload(&fact, good.kind(), &good.encode_payload(), &r).unwrap().unwrap();
    assert_eq!(event, good);
    // A field this build does not know is ignored by the decoder, not by the card check.
    let mut json: serde_json::Value = serde_json::from_slice(&good.encode_payload()).unwrap();
    json["future_note"] = serde_json::Value::String(format!("card {PAN}"));
    let stashed = serde_json::to_vec(&json).unwrap();
    let q = admit_payload(&fact, good.kind(), &stashed, &r).unwrap().unwrap_err();
    assert_eq!(q, Quarantine::CardNumber { field: "future_note".into() });
}

#[test]
fn the_hub_can_ask_before_it_publishes() {
    let mut bomb = staff(CASHIER, Role::Cashier);
    bomb.pin_hash = PIN_HASH.replace("m=19456", "m=4194304");
    assert_eq!(check_content(&DomainEvent::StaffUpserted(bomb)), Err(Quarantine::PinHashCost));
    assert_eq!(check_content(&DomainEvent::StaffUpserted(staff(CASHIER, Role::Cashier))), Ok(()));
}

#[test]
fn codes_are_distinct() {
    let samples = [
        Quarantine::UnknownKind { kind: "x".into() },
        Quarantine::PinHashCost,
        Quarantine::CurrencyMismatch,
        Quarantine::NotAnApprover(MANAGER),
        Quarantine::UnknownApprover(MANAGER),
        Quarantine::SlotTaken { slot: Slot::Order(order(1)), holder: POS },
        Quarantine::Backdated { slot: Slot::Order(order(1)), holder: POS },
        Quarantine::CardNumber { field: "note".into() },
        Quarantine::TextTooLong { field: "note".into() },
    ];
    let codes: std::collections::BTreeSet<&str> = samples.iter().map(Quarantine::code).collect();
    assert_eq!(codes.len(), samples.len());
}

/// A Luhn-valid number of `len` digits starting with `prefix` digits, computed here from
/// the published table of doubled digits rather than by the code under test.
fn luhn_number(prefix: &[u8], len: usize) -> String {
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut digits: Vec<u8> =
        prefix.iter().copied().chain(std::iter::repeat(0)).take(len - 1).collect();
    // Counting from the check digit (position 0), odd positions are doubled.
    let odd: u32 = digits.iter().rev().step_by(2).map(|&d| DOUBLED[usize::from(d)]).sum();
    let even: u32 = digits.iter().rev().skip(1).step_by(2).map(|&d| u32::from(d)).sum();
    digits.push(((10 - (odd + even) % 10) % 10) as u8);
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

proptest! {
    /// A card number of any length a card may have, split by spaces or dashes anywhere,
    /// inside any note, is quarantined.
    #[test]
    fn card_numbers_are_found_however_written(
        prefix in proptest::collection::vec(0u8..10, 1..8),
        len in 13usize..=19,
        splits in proptest::collection::vec((0usize..19, any::<bool>()), 0..4),
        before in "[a-z ]{0,12}",
        after in "[a-z ]{0,12}",
    ) {
        let number = luhn_number(&prefix, len);
        let mut written = String::new();
        for (i, c) in number.chars().enumerate() {
            if i > 0
                && let Some((_, dash)) = splits.iter().find(|(at, _)| *at == i)
            {
                written.push(if *dash { '-' } else { ' ' });
            }
            written.push(c);
        }
        let (mut r, _) = store_with_order();
        let mut noted = line(order(1), 2);
        noted.note = Some(format!("{before}x{written}x{after}"));
        let q = r.send(POS, &DomainEvent::LineAdded(noted)).unwrap_err();
        prop_assert_eq!(q.code(), "card_number");
    }
}

/// Deterministic choices for the property below.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// One step of an honest store: `(what, which till, which order)`.
fn honest_command(r: &Replica, (what, till, n): (u8, u8, u8)) -> (DeviceId, Command) {
    let device = if till == 0 { POS } else { POS2 };
    let order_id = order(u128::from(n));
    let first_line = r.state.orders.get(&order_id.0).and_then(|o| o.lines.keys().next().copied());
    let command = match what {
        0 | 8 | 9 => Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::TakeOut,
            table: None,
            guests: None,
            staff: Some(CASHIER),
        },
        1 | 2 => Command::AddLine {
            order_id,
            line_id: LineId(Uuid::from_u128(0x0_2000 + r.ids)),
            item_id: BURGER,
            qty: Qty::ONE,
            modifiers: vec![],
            seat: None,
            course: None,
            note: Some("no pickles".into()),
            price_override: None,
        },
        3 => Command::VoidLine {
            order_id,
            line_id: first_line.unwrap_or(LineId(Uuid::nil())),
            reason: "changed mind".into(),
            approved_by: Some(MANAGER),
        },
        4 => Command::SendToKitchen { order_id },
        5 => {
            let ticket = r.state.tickets.iter().find(|(_, t)| !t.is_bumped()).map(|(id, _)| *id);
            let ticket_id = thorbis_domain::ids::TicketId(ticket.unwrap_or(Uuid::nil()));
            return (KDS, Command::BumpTicket { ticket_id });
        }
        6 => Command::TakePayment {
            order_id,
            payment_id: PaymentId(Uuid::from_u128(0x0_3000 + r.ids)),
            tender: TenderInput::Card {
                brand: "VISA".into(),
                last4: "4242".into(),
                auth_code: "OK1".into(),
            },
            amount: None,
            tip: Money(1_00),
            drawer_session: None,
            staff: Some(CASHIER),
        },
        _ => Command::CloseOrder { order_id, staff: Some(CASHIER) },
    };
    (device, command)
}

/// What a stolen device tries in the middle of an honest day, against order `n`.
///
/// Not among them: a copy of another till's payment under its id. Whichever copy reaches a
/// replica first holds the slot there (see `whoever_reaches_a_replica_first_holds_a_minted_slot`),
/// so that one is no property of every interleaving.
fn forgery(r: &Replica, kind: u8, n: u8) -> (DeviceId, DomainEvent) {
    let order_id = order(u128::from(n));
    let held = r.state.orders.get(&order_id.0);
    match kind {
        // A kitchen screen takes a payment.
        0 => (KDS, DomainEvent::PaymentTaken(payment(order_id, 90, 1_00))),
        // Another location's till rings a line onto this store's check.
        1 => (ELSEWHERE, DomainEvent::LineAdded(line(order_id, 90))),
        // A till publishes an owner of its own making.
        2 => (POS, DomainEvent::StaffUpserted(staff(StaffId(u(0x666)), Role::Owner))),
        // A till voids a line on a cashier's say-so.
        _ => {
            let first = held.and_then(|o| o.lines.values().next()).map(|l| l.value.clone());
            (POS2, void(order_id, &first.unwrap_or_else(|| line(order_id, 92)), Some(CASHIER)))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Honest terminals are never quarantined and forgeries never folded: every fact a
    /// command decides is admitted where it is written, every forgery slipped in between is
    /// quarantined, and a replica that hears all of them relayed in another interleaving
    /// admits the same facts (retrying those that arrived before what they refer to) and
    /// ends in the same state.
    #[test]
    fn honest_facts_are_admitted_in_any_order_and_forgeries_never(
        steps in proptest::collection::vec((0u8..10, 0u8..2, 0u8..3, 0u8..12), 1..40),
        seed in any::<u64>(),
    ) {
        let mut author = Replica::store();
        let mut written: BTreeMap<DeviceId, Vec<(FactMeta, DomainEvent, bool)>> = BTreeMap::new();
        for (what, till, n, forge) in steps {
            if forge < 4 {
                let (device, event) = forgery(&author, forge, n);
                let fact = author.next_fact(device, 0);
                prop_assert!(author.take(&fact, &event).is_err(), "forged {}", event.kind());
                written.entry(device).or_default().push((fact, event, true));
            }
            let (device, command) = honest_command(&author, (what, till, n));
            let Ok(events) = decide(&command, &author.state, &Policy::default(), &mut Counter(author.ids)) else {
                continue;
            };
            author.ids += 100;
            for event in events {
                let fact = author.next_fact(device, 0);
                prop_assert_eq!(author.take(&fact, &event), Ok(()), "{}", event.kind());
                written.entry(device).or_default().push((fact, event, false));
            }
        }

        // Another replica hears each device's chain in order, the chains interleaved at
        // random, later, relayed.
        let mut other = Replica::store();
        other.now_ms = author.now_ms + 60_000;
        let mut queues: Vec<std::collections::VecDeque<(FactMeta, DomainEvent, bool)>> =
            written.into_values().map(Into::into).collect();
        let mut rng = Lcg(seed);
        let mut pending: Vec<(FactMeta, DomainEvent, bool)> = Vec::new();
        let mut forged_folded = 0;
        while queues.iter().any(|q| !q.is_empty()) {
            let live: Vec<usize> = (0..queues.len()).filter(|i| !queues[*i].is_empty()).collect();
            let (mut fact, event, forged) = queues[live[rng.below(live.len())]].pop_front().unwrap();
            other.now_ms += 10;
            fact.received_ms = other.now_ms;
            fact.from_author = false;
            match other.take(&fact, &event) {
                Ok(()) => {
                    forged_folded += usize::from(forged);
                    // Something new arrived: what waited for it may now be admitted.
                    let mut progress = true;
                    while progress {
                        let before = pending.len();
                        pending.retain(|(f, e, forged)| {
                            let taken = other.take(f, e).is_ok();
                            forged_folded += usize::from(taken && *forged);
                            !taken
                        });
                        progress = pending.len() < before;
                    }
                }
                Err(q) if forged => {
                    if !q.is_final() {
                        pending.push((fact, event, forged));
                    }
                }
                Err(q) => {
                    prop_assert!(!q.is_final(), "{}: {q}", event.kind());
                    pending.push((fact, event, forged));
                }
            }
        }
        prop_assert_eq!(forged_folded, 0);
        prop_assert!(pending.iter().all(|(_, _, forged)| *forged), "an honest fact never got in");
        prop_assert_eq!(&author.state, &other.state);
    }
}

#[test]
fn a_change_naming_another_writer_is_held_back() {
    use automerge::ReadDoc as _;
    use thorbis_domain::attachment::{AttachmentKind, BlobRef};
    let (mut r, wo) = job_at_tech();
    let changed =
        |change| DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: wo, change });
    let pdf = b"%PDF-1.4 a site report";
    let attach = WorkOrderEdit::AddAttachment {
        blob: BlobRef::of(pdf).unwrap(),
        kind: AttachmentKind::File,
        name: "report.pdf".into(),
    };
    // Written as TECH2's by TECH (the Automerge actor is TECH's): the hub would take the
    // blob from the device the change names.
    let doc = r.state.work_orders[&wo.0].clone();
    let mut am = doc.document().with_actor(actor_for(TECH));
    let forged = {
        use automerge::transaction::Transactable as _;
        let mut tx = am.transaction();
        let key = format!("attachment:{}", BlobRef::of(pdf).unwrap().id);
        let obj = tx.put_object(automerge::ROOT, key.as_str(), automerge::ObjType::Map).unwrap();
        tx.put(&obj, "blob", BlobRef::of(pdf).unwrap().id.to_string()).unwrap();
        tx.put(&obj, "media_type", "application/pdf").unwrap();
        tx.put(&obj, "bytes", 22_i64).unwrap();
        tx.put(&obj, "kind", "file").unwrap();
        tx.put(&obj, "name", "report.pdf").unwrap();
        tx.put(&obj, "by", TECH2.to_string()).unwrap();
        tx.put(&obj, "at_ms", 2_i64).unwrap();
        let (hash, _) = tx.commit();
        ChangeBytes(am.get_change_by_hash(&hash.unwrap()).unwrap().raw_bytes().to_vec())
    };
    assert_eq!(r.refuse(TECH, &changed(forged)).code(), "malformed");
    // The domain's own edit names its writer, and passes.
    let honest = r.state.work_orders[&wo.0].edit(&attach, TECH, 2).unwrap();
    assert_eq!(r.send(TECH, &changed(honest)), Ok(()));
    let view = r.state.work_orders[&wo.0].view().unwrap();
    assert_eq!(view.attachments.len(), 1);
    assert_eq!(view.attachments[0].by, Some(TECH));
    // Its own attachment, altered afterwards (a larger size: the hub would take more bytes
    // under the name): held back too.
    let mut am = r.state.work_orders[&wo.0].document().with_actor(actor_for(TECH));
    let altered = {
        use automerge::transaction::Transactable as _;
        let key = format!("attachment:{}", BlobRef::of(pdf).unwrap().id);
        let Some((_, obj)) = am.get(automerge::ROOT, key.as_str()).unwrap() else {
            panic!("the attachment's map")
        };
        let mut tx = am.transaction();
        tx.put(&obj, "bytes", 4_000_000_i64).unwrap();
        let (hash, _) = tx.commit();
        ChangeBytes(am.get_change_by_hash(&hash.unwrap()).unwrap().raw_bytes().to_vec())
    };
    assert_eq!(r.refuse(TECH, &changed(altered)).code(), "malformed");
}
