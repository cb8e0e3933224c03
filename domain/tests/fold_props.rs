//! The fold is commutative and idempotent: any permutation of a set of events from several
//! devices gives the same state, and applying an event twice changes nothing.
//!
//! Events are drawn from small pools of ids so that they collide on the same orders,
//! lines, tickets and drawers, and clock stamps are drawn from a narrow range so that
//! ties (broken by device and seq) are common.

use proptest::prelude::*;
use thorbis_domain::catalog::{Item, Role, Staff};
use thorbis_domain::drawer::{DrawerSession, ZReport};
use thorbis_domain::events::{
    AvailabilitySet, CourseChanged, DiscountApplied, DiscountRule, DiscountScope, DrawerCashMoved,
    DrawerClosed, DrawerCounted, DrawerOpened, DrawerZReported, KitchenTicket, LineAdded,
    LineComped, LineModifier, LineRepriced, LineVoided, LinesMovedIn, LinesMovedOut, MovedLine,
    OrderClosed, OrderMerged, OrderOpened, OrderTransferred, PaymentTaken, RefundIssued,
    SentToKitchen, ServiceMode, StockMoved, StockReason, Tender, TicketLine, TicketStateChanged,
};
use thorbis_domain::ids::TaxRateId;
use thorbis_domain::ids::{
    DiscountId, DrawerSessionId, ItemId, LineId, ModifierId, OrderId, PaymentId, RefundId, StaffId,
    TicketId,
};
use thorbis_domain::tax::TaxRate;
use thorbis_domain::{Currency, DomainEvent, EventMeta, Money, Qty, State};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

fn id(pool: u8, n: u8) -> Uuid {
    Uuid::from_u128((u128::from(pool) << 64) | u128::from(n % 3))
}

// One arm per event kind; splitting it would only scatter the pools.
/// Builds one event of kind `sel` over the pools, with `a`, `b` picking ids and `amt` an
/// amount.
#[allow(clippy::too_many_lines)]
fn event(sel: u8, a: u8, b: u8, amt: i64) -> DomainEvent {
    let order = OrderId(id(1, a));
    let line = LineId(id(2, b));
    let ticket = TicketId(id(3, b));
    let drawer = DrawerSessionId(id(4, a));
    let item = ItemId(id(5, b));
    let money = Money(amt.rem_euclid(10_000));
    match sel % 26 {
        0 => DomainEvent::OrderOpened(OrderOpened {
            order_id: order,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some(format!("T{b}")),
            guests: None,
            opened_by: None,
        }),
        1 | 2 => DomainEvent::LineAdded(LineAdded {
            order_id: order,
            line_id: line,
            item_id: item,
            name: format!("item {b}"),
            unit_price: money,
            qty: Qty::units(i64::from(a % 3) + 1),
            modifiers: vec![LineModifier {
                modifier_id: ModifierId(id(6, a)),
                name: "extra".into(),
                price_delta: Money(50),
            }],
            seat: Some(u16::from(a)),
            course: None,
            taxes: vec![TaxRate {
                id: TaxRateId(id(7, 0)),
                name: "tax".into(),
                ppm: 88_750,
                inclusive: b.is_multiple_of(2),
            }],
            station: Some("grill".into()),
            note: None,
            price_override_by: None,
        }),
        3 => DomainEvent::LineVoided(LineVoided {
            order_id: order,
            line_id: line,
            reason: "wrong".into(),
            approved_by: None,
        }),
        4 => DomainEvent::LineComped(LineComped {
            order_id: order,
            line_id: line,
            reason: "cold".into(),
            approved_by: None,
        }),
        5 => DomainEvent::DiscountApplied(DiscountApplied {
            order_id: order,
            discount_id: DiscountId(id(8, b)),
            scope: if a.is_multiple_of(2) {
                DiscountScope::Order
            } else {
                DiscountScope::Line(line)
            },
            rule: if b.is_multiple_of(2) {
                DiscountRule::PercentBps(u32::try_from(amt.rem_euclid(10_000)).unwrap())
            } else {
                DiscountRule::Amount(money)
            },
            reason: "promo".into(),
            approved_by: None,
        }),
        6 => DomainEvent::SentToKitchen(SentToKitchen {
            order_id: order,
            table: None,
            tickets: vec![KitchenTicket {
                ticket_id: ticket,
                station: "grill".into(),
                lines: vec![TicketLine {
                    line_id: line,
                    name: "x".into(),
                    qty: Qty::ONE,
                    modifiers: vec![],
                    seat: None,
                    course: None,
                    note: None,
                }],
            }],
        }),
        7 => DomainEvent::TicketBumped(TicketStateChanged { ticket_id: ticket, station: None }),
        8 => DomainEvent::TicketRecalled(TicketStateChanged { ticket_id: ticket, station: None }),
        9 | 10 => DomainEvent::PaymentTaken(PaymentTaken {
            order_id: order,
            payment_id: PaymentId(id(9, b)),
            amount: money,
            tip: Money(amt.rem_euclid(300)),
            tender: if a.is_multiple_of(2) {
                Tender::Cash { tendered: money, change: Money::ZERO }
            } else {
                Tender::Card { brand: "VISA".into(), last4: "4242".into(), auth_code: "A1".into() }
            },
            drawer_session: Some(drawer),
            taken_by: None,
        }),
        11 => DomainEvent::OrderClosed(OrderClosed { order_id: order, closed_by: None }),
        12 => DomainEvent::RefundIssued(RefundIssued {
            refund_id: RefundId(id(10, b)),
            order_id: order,
            amount: money,
            lines: vec![],
            tender: Tender::Cash { tendered: money, change: Money::ZERO },
            reason: "returned".into(),
            approved_by: None,
            drawer_session: Some(drawer),
        }),
        13 => DomainEvent::DrawerOpened(DrawerOpened {
            session_id: drawer,
            currency: Currency::USD,
            float: money,
            opened_by: None,
        }),
        14 => DomainEvent::DrawerPaidIn(DrawerCashMoved {
            session_id: drawer,
            amount: money,
            reason: "float top-up".into(),
            by: None,
        }),
        15 => DomainEvent::DrawerPaidOut(DrawerCashMoved {
            session_id: drawer,
            amount: money,
            reason: "supplier".into(),
            by: None,
        }),
        16 => DomainEvent::DrawerCounted(DrawerCounted {
            session_id: drawer,
            counted: money,
            by: None,
        }),
        17 => DomainEvent::DrawerClosed(DrawerClosed { session_id: drawer, by: None }),
        18 => DomainEvent::StockMoved(StockMoved {
            item_id: item,
            delta: Qty(amt % 5000),
            reason: StockReason::Adjust { note: "x".into() },
        }),
        19 => DomainEvent::LineRepriced(LineRepriced {
            order_id: order,
            line_id: line,
            unit_price: money,
            approved_by: None,
        }),
        20 => DomainEvent::LinesMovedOut(LinesMovedOut {
            order_id: order,
            to: OrderId(id(1, a.wrapping_add(1))),
            lines: vec![line],
            by: None,
        }),
        21 => {
            let moved = LineId(id(11, b));
            DomainEvent::LinesMovedIn(LinesMovedIn {
                order_id: order,
                from: OrderId(id(1, a.wrapping_add(1))),
                lines: vec![MovedLine {
                    from_line: line,
                    line: LineAdded {
                        order_id: order,
                        line_id: moved,
                        item_id: item,
                        name: "moved".into(),
                        unit_price: money,
                        qty: Qty::ONE,
                        modifiers: vec![],
                        seat: Some(2),
                        course: None,
                        taxes: vec![],
                        station: None,
                        note: None,
                        price_override_by: None,
                    },
                    comp: a.is_multiple_of(2).then(|| LineComped {
                        order_id: order,
                        line_id: moved,
                        reason: "moved".into(),
                        approved_by: None,
                    }),
                    discounts: vec![DiscountApplied {
                        order_id: order,
                        discount_id: DiscountId(id(12, b)),
                        scope: DiscountScope::Line(moved),
                        rule: DiscountRule::Amount(Money(amt.rem_euclid(500))),
                        reason: "moved".into(),
                        approved_by: None,
                    }],
                    sent: b.is_multiple_of(2).then_some(ticket),
                }],
                by: None,
            })
        }
        22 => DomainEvent::OrderTransferred(OrderTransferred {
            order_id: order,
            table: Some(format!("T{b}")),
            server: None,
            by: None,
        }),
        23 => DomainEvent::OrderMerged(OrderMerged {
            order_id: order,
            into: OrderId(id(1, a.wrapping_add(1))),
            by: None,
        }),
        // Holds and fires compete for a few courses of the same orders.
        24 => DomainEvent::CourseHeld(CourseChanged {
            order_id: order,
            course: u16::from(b % 3),
            by: Some(StaffId(id(6, a))),
        }),
        25 => DomainEvent::CourseFired(CourseChanged {
            order_id: order,
            course: u16::from(b % 3),
            by: Some(StaffId(id(6, a))),
        }),
        _ => match a % 4 {
            // Z reports compete for a session's one slot: the first by event order wins.
            3 => DomainEvent::DrawerZReported(DrawerZReported {
                session_id: drawer,
                report: ZReport::new(&DrawerSession::default(), []),
                by: Some(StaffId(id(6, b))),
            }),
            0 => DomainEvent::AvailabilitySet(AvailabilitySet {
                item_id: item,
                available: b.is_multiple_of(2),
                by: None,
            }),
            // Staff records compete for a few ids, so last-writer-wins is exercised.
            1 => DomainEvent::StaffUpserted(Staff {
                id: StaffId(id(6, b)),
                name: format!("staff v{amt}"),
                role: if b.is_multiple_of(2) { Role::Cashier } else { Role::Manager },
                pin_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${amt:032x}"),
                active: amt % 3 == 0,
                locations: Vec::new(),
            }),
            _ => DomainEvent::ItemUpserted(Item {
                id: item,
                name: format!("item v{a}"),
                category: None,
                price: money,
                tax_category: None,
                barcodes: vec![],
                station: None,
                modifier_groups: vec![],
                track_stock: true,
                sold_by_weight: false,
                reorder_point: None,
                active: true,
            }),
        },
    }
}

/// A set of events from three devices, each with contiguous seqs and a stamp in a narrow
/// window.
fn events() -> impl Strategy<Value = Vec<(EventMeta, DomainEvent)>> {
    prop::collection::vec(
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<i64>(), 0u64..4, 0u32..3, 0u8..3),
        1..60,
    )
    .prop_map(|raw| {
        let mut seqs = [0u64; 3];
        raw.into_iter()
            .map(|(sel, a, b, amt, wall, counter, device)| {
                seqs[usize::from(device)] += 1;
                let meta = EventMeta {
                    hlc: Hlc { wall_ms: 1_000 + wall, counter },
                    id: EventId {
                        device_id: DeviceId::from_bytes([device + 1; 16]),
                        seq: seqs[usize::from(device)],
                    },
                };
                (meta, event(sel, a, b, amt))
            })
            .collect()
    })
}

fn fold<'a>(events: impl IntoIterator<Item = &'a (EventMeta, DomainEvent)>) -> State {
    let mut state = State::default();
    for (meta, event) in events {
        state.apply(meta, event);
    }
    state
}

proptest! {
    #[test]
    fn any_permutation_gives_the_same_state(
        events in events(),
        order in prop::collection::vec(any::<prop::sample::Index>(), 60),
    ) {
        let reference = fold(&events);
        // A permutation built from the random indexes (a Fisher-Yates shuffle).
        let mut shuffled: Vec<_> = events.iter().collect();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, order[i].index(i + 1));
        }
        let permuted = fold(shuffled.iter().copied());
        prop_assert_eq!(&reference, &permuted);
        // Derived figures agree too, not only the stored facts.
        for (id, o) in &reference.orders {
            prop_assert_eq!(o.totals(), permuted.orders[id].totals());
        }
    }

    #[test]
    fn applying_events_twice_changes_nothing(
        events in events(),
        dupes in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
    ) {
        let reference = fold(&events);
        let mut replayed: Vec<_> = events.iter().collect();
        for d in dupes {
            replayed.push(&events[d.index(events.len())]);
        }
        replayed.reverse();
        let twice = fold(replayed.iter().copied());
        prop_assert_eq!(reference, twice);
    }

    #[test]
    fn payloads_round_trip(sel in any::<u8>(), a in any::<u8>(), b in any::<u8>(), amt in any::<i64>()) {
        let e = event(sel, a, b, amt);
        let decoded = DomainEvent::decode(e.kind(), &e.encode_payload()).unwrap();
        prop_assert_eq!(Some(e), decoded);
    }
}

#[test]
fn unknown_kinds_decode_to_none() {
    assert_eq!(DomainEvent::decode("future.thing_v9", b"{\"x\":1}").unwrap(), None);
    assert!(DomainEvent::decode("order.opened", b"not json").is_err());
}
