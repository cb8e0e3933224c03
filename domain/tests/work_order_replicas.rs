//! A technician offline and a dispatcher at the desk edit one job at once; two to four
//! replicas receive every event in their own order, some more than once. They converge on
//! identical documents, projections and stock, every note and part from both sides
//! survives, and each part from the catalog takes its quantity from stock exactly once.

use proptest::prelude::*;
use thorbis_domain::catalog::Item;
use thorbis_domain::command::{Command, IdSource, Policy, decide};
use thorbis_domain::events::{WorkOrderChanged, WorkOrderDispatched};
use thorbis_domain::ids::{ChecklistItemId, ItemId, LocationId, PartLineId, WorkOrderId};
use thorbis_domain::work_order::{
    ChecklistDraft, ScheduledWindow, WorkOrderDraft, WorkOrderEdit, WorkOrderStatus, create,
};
use thorbis_domain::{Currency, DomainEvent, EventMeta, Money, Qty, State};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

/// The hub's desk log: it creates the job and writes the dispatcher's edits.
const DESK: DeviceId = DeviceId::from_bytes([0xd0; 16]);
/// The hub's reference log (the catalog).
const REFERENCE: DeviceId = DeviceId::from_bytes([0xc0; 16]);
/// The technician's dispatch log.
const DISPATCH: DeviceId = DeviceId::from_bytes([0xa0; 16]);
const TECH: DeviceId = DeviceId::from_bytes([0xa1; 16]);
const WO: WorkOrderId = WorkOrderId(Uuid::from_u128(0x77));
const LOCATION: LocationId = LocationId(Uuid::from_u128(0x10));
const CHECK: ChecklistItemId = ChecklistItemId(Uuid::from_u128(0x101));
const VALVE: ItemId = ItemId(Uuid::from_u128(0x501));
const PIPE: ItemId = ItemId(Uuid::from_u128(0x502));

struct NoIds;

impl IdSource for NoIds {
    fn next_id(&mut self) -> Uuid {
        unreachable!("work order edits mint no ids")
    }
}

type Stamped = (EventMeta, DomainEvent);

fn meta(device: DeviceId, seq: u64, wall_ms: u64) -> EventMeta {
    EventMeta { hlc: Hlc { wall_ms, counter: 0 }, id: EventId { device_id: device, seq } }
}

fn item(id: ItemId, name: &str, price: i64) -> DomainEvent {
    DomainEvent::ItemUpserted(Item {
        id,
        name: name.into(),
        category: None,
        price: Money(price),
        tax_category: None,
        barcodes: Vec::new(),
        station: None,
        modifier_groups: Vec::new(),
        track_stock: true,
        sold_by_weight: false,
        reorder_point: None,
        active: true,
    })
}

/// The catalog, and the job as created at the desk and dispatched to the technician.
fn start() -> Vec<Stamped> {
    let draft = WorkOrderDraft {
        title: "Boiler service".into(),
        customer: "Ada".into(),
        site_address: "1 Mill Lane".into(),
        window: ScheduledWindow { start_ms: 1_000, end_ms: 5_000 },
        currency: Currency::USD,
        checklist: vec![ChecklistDraft { id: CHECK, label: "Check the pressure".into() }],
        vehicle: None,
    };
    let first = create(&draft, DESK, 900).unwrap();
    vec![
        (meta(REFERENCE, 1, 100), item(VALVE, "Valve", 8_50)),
        (meta(REFERENCE, 2, 100), item(PIPE, "Copper pipe", 12_99)),
        (
            meta(DESK, 1, 900),
            DomainEvent::WorkOrderChanged(WorkOrderChanged {
                work_order_id: WO,
                change: first.clone(),
            }),
        ),
        (
            meta(DISPATCH, 1, 1_000),
            DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
                work_order_id: WO,
                location_id: LOCATION,
                technician: TECH,
                changes: vec![first],
            }),
        ),
    ]
}

fn fold<'a>(events: impl IntoIterator<Item = &'a Stamped>) -> State {
    let mut state = State::default();
    for (meta, event) in events {
        state.apply(meta, event);
    }
    state
}

const STATUSES: [WorkOrderStatus; 5] = [
    WorkOrderStatus::Dispatched,
    WorkOrderStatus::EnRoute,
    WorkOrderStatus::OnSite,
    WorkOrderStatus::OnHold,
    WorkOrderStatus::Done,
];

/// One of the technician's actions: an edit, or a part from the catalog.
fn tech_command(sel: u8, n: u8, at_ms: i64) -> Command {
    let edit = match sel % 8 {
        0 => WorkOrderEdit::SetStatus { status: STATUSES[usize::from(n) % STATUSES.len()] },
        1 => WorkOrderEdit::AddNote { text: format!("tech note {n}") },
        2 => WorkOrderEdit::TickChecklistItem { item_id: CHECK, done: n.is_multiple_of(2) },
        3 | 4 => {
            return Command::UseWorkOrderPart {
                work_order_id: WO,
                device: TECH,
                at_ms,
                // Some ids repeat (a form posted twice): the second is refused.
                line_id: PartLineId(Uuid::from_u128(0x900 + u128::from(n % 6))),
                item_id: if n.is_multiple_of(2) { VALVE } else { PIPE },
                qty: Qty::milli(i64::from(n % 5) * 500 + 250),
            };
        }
        5 => WorkOrderEdit::StartTimer,
        6 => WorkOrderEdit::StopTimer { rate_per_hour: Money(85_00) },
        _ => WorkOrderEdit::AddLabour { minutes: u32::from(n) + 1, rate_per_hour: Money(85_00) },
    };
    Command::EditWorkOrder { work_order_id: WO, device: TECH, at_ms, edit }
}

/// One of the dispatcher's edits.
fn desk_edit(sel: u8, n: u8) -> WorkOrderEdit {
    match sel % 4 {
        0 => WorkOrderEdit::AddNote { text: format!("desk note {n}") },
        1 => WorkOrderEdit::SetWindow {
            window: ScheduledWindow {
                start_ms: i64::from(n) * 1_000,
                end_ms: i64::from(n) * 1_000 + 3_600_000,
            },
        },
        2 => WorkOrderEdit::SetStatus { status: STATUSES[usize::from(n) % STATUSES.len()] },
        _ => WorkOrderEdit::AddPart {
            name: format!("desk part {n}"),
            sku: None,
            qty: Qty::ONE,
            unit_price: Money(i64::from(n) * 10),
        },
    }
}

/// The technician's session offline, decided against its own state as on the laptop.
fn technician(seen: &[Stamped], actions: &[(u8, u8)]) -> Vec<Stamped> {
    let mut state = fold(seen);
    let mut out = Vec::new();
    for (i, (sel, n)) in actions.iter().enumerate() {
        let at = 2_000 + i as u64 * 600_000;
        // A refusal (a duplicate line id, a status that cannot follow) writes nothing.
        let Ok(events) =
            decide(&tech_command(*sel, *n, at as i64), &state, &Policy::default(), &mut NoIds)
        else {
            continue;
        };
        for event in events {
            let m = meta(TECH, out.len() as u64 + 1, at);
            state.apply(&m, &event);
            out.push((m, event));
        }
    }
    out
}

/// The dispatcher's session meanwhile, on the hub's copy (which never sees the laptop's).
fn dispatcher(seen: &[Stamped], edits: &[(u8, u8)]) -> Vec<Stamped> {
    let mut state = fold(seen);
    let mut out = Vec::new();
    for (i, (sel, n)) in edits.iter().enumerate() {
        let at = 2_500 + i as u64 * 700_000;
        let order = &state.work_orders[&WO.0];
        let Ok(change) = order.edit(&desk_edit(*sel, *n), DESK, at as i64) else { continue };
        let event = DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change });
        let m = meta(DESK, out.len() as u64 + 2, at);
        state.apply(&m, &event);
        out.push((m, event));
    }
    out
}

fn actions() -> impl Strategy<Value = Vec<(u8, u8)>> {
    prop::collection::vec((any::<u8>(), any::<u8>()), 0..16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn replicas_converge_and_parts_move_stock_once(
        tech in actions(),
        desk in actions(),
        replicas in 2_usize..=4,
        orders in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 40), 4),
        dupes in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..8), 4),
    ) {
        let start = start();
        let from_tech = technician(&start, &tech);
        let from_desk = dispatcher(&start, &desk);
        let mut all: Vec<Stamped> = start.clone();
        all.extend(from_tech.iter().cloned());
        all.extend(from_desk.iter().cloned());

        let reference = fold(&all);
        for r in 0..replicas {
            // This replica's delivery: a shuffle of every event, some delivered again.
            let mut delivery: Vec<&Stamped> = all.iter().collect();
            for i in (1..delivery.len()).rev() {
                delivery.swap(i, orders[r][i % orders[r].len()].index(i + 1));
            }
            for d in &dupes[r] {
                let again = delivery[d.index(delivery.len())];
                delivery.push(again);
            }
            let replica = fold(delivery);
            prop_assert_eq!(&replica, &reference, "replica {} diverged", r);
        }

        let view = reference.work_orders[&WO.0].view().unwrap();
        // Every note from either side survives.
        let written = |events: &[Stamped]| -> usize {
            events.iter().filter(|(_, e)| {
                let DomainEvent::WorkOrderChanged(c) = e else { return false };
                c.change.texts().unwrap().iter().any(|t| t.contains(" note "))
            }).count()
        };
        prop_assert_eq!(view.notes.len(), written(&from_tech) + written(&from_desk));
        // Each part used from the catalog is one line in the document and one movement.
        let used: Vec<_> = from_tech.iter().filter_map(|(_, e)| match e {
            DomainEvent::WorkOrderPartUsed(p) => Some(p.clone()),
            _ => None,
        }).collect();
        let lines: Vec<_> = view.parts.iter().filter(|p| p.line_id.is_some()).collect();
        prop_assert_eq!(lines.len(), used.len());
        for item in [VALVE, PIPE] {
            let taken: i64 = used.iter().filter(|p| p.item_id == item).map(|p| p.qty.0).sum();
            let count = used.iter().filter(|p| p.item_id == item).count() as u64;
            let stock = reference.stock.get(&item.0).cloned().unwrap_or_default();
            prop_assert_eq!(stock.on_hand, Qty(-taken));
            prop_assert_eq!(stock.movements, count);
            let in_doc: i64 = lines.iter().filter(|p| p.item_id == Some(item)).map(|p| p.qty.0).sum();
            prop_assert_eq!(in_doc, taken);
        }
        // The desk's parts are in the document too, and move no stock.
        let desk_parts = view.parts.iter().filter(|p| p.line_id.is_none()).count();
        prop_assert_eq!(desk_parts, from_desk.iter().filter(|(_, e)| matches!(e,
            DomainEvent::WorkOrderChanged(c) if c.change.texts().unwrap().iter().any(|t| t.starts_with("desk part")))).count());
    }
}

#[test]
fn concurrent_status_changes_settle_on_the_furthest_along() {
    let start = start();
    let state = fold(&start);
    let order = &state.work_orders[&WO.0];
    // The office puts the job on hold while the technician, offline, completes it.
    let mut laptop = state.clone();
    let steps = [WorkOrderStatus::EnRoute, WorkOrderStatus::OnSite, WorkOrderStatus::Done];
    let mut events = Vec::new();
    for (i, status) in steps.into_iter().enumerate() {
        let at = 2_000 + i as i64;
        let change =
            laptop.work_orders[&WO.0].edit(&WorkOrderEdit::SetStatus { status }, TECH, at).unwrap();
        let e = (
            meta(TECH, i as u64 + 1, at as u64),
            DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change }),
        );
        laptop.apply(&e.0, &e.1);
        events.push(e);
    }
    let hold = order
        .edit(&WorkOrderEdit::SetStatus { status: WorkOrderStatus::OnHold }, DESK, 2_500)
        .unwrap();
    events.push((
        meta(DESK, 2, 2_500),
        DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change: hold }),
    ));
    let merged = fold(start.iter().chain(&events));
    let view = merged.work_orders[&WO.0].view().unwrap();
    assert_eq!(view.status, WorkOrderStatus::Done, "completion outranks a concurrent hold");
    // Both sides' steps are in the history.
    let logged: Vec<_> = view.status_log.iter().map(|s| s.status).collect();
    for s in [WorkOrderStatus::Scheduled, WorkOrderStatus::OnHold, WorkOrderStatus::Done] {
        assert!(logged.contains(&s), "{logged:?}");
    }
    // Having seen both, the next change replaces the conflict.
    let invoiced = merged.work_orders[&WO.0]
        .edit(
            &WorkOrderEdit::IssueInvoice {
                number: "INV-1".into(),
                issued_at_ms: 3_000,
                taxes: thorbis_domain::tax::TaxBreakdown::default(),
            },
            DESK,
            3_000,
        )
        .unwrap();
    let mut after = merged.clone();
    after.apply(
        &meta(DESK, 3, 3_000),
        &DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change: invoiced }),
    );
    assert_eq!(after.work_orders[&WO.0].view().unwrap().status, WorkOrderStatus::Invoiced);
}

#[test]
fn the_workflow_refuses_steps_that_cannot_follow() {
    use WorkOrderStatus as S;
    assert!(S::Scheduled.may_become(S::Dispatched));
    assert!(S::OnSite.may_become(S::Done));
    assert!(!S::Scheduled.may_become(S::Done), "completing needs someone on the way or on site");
    assert!(S::Done.may_become(S::Invoiced));
    assert!(!S::OnSite.may_become(S::Invoiced));
    assert!(S::OnHold.may_become(S::OnSite) && !S::OnHold.may_become(S::Done));
    assert!(S::ALL.iter().all(|s| !S::Invoiced.may_become(*s) && !S::Cancelled.may_become(*s)));
    // Precedence is a total order: concurrent changes always settle.
    let mut ranks: Vec<u8> = S::ALL.iter().map(|s| s.precedence()).collect();
    ranks.sort_unstable();
    ranks.dedup();
    assert_eq!(ranks.len(), S::ALL.len());
}

#[test]
fn a_timer_records_whole_minutes_rounded_up() {
    use thorbis_domain::work_order::timer_minutes;
    assert_eq!(timer_minutes(0, 1), Some(1));
    assert_eq!(timer_minutes(0, 60_000), Some(1));
    assert_eq!(timer_minutes(0, 60_001), Some(2));
    assert_eq!(timer_minutes(0, 36 * 3_600_000), Some(2_160));
    assert_eq!(timer_minutes(0, 36 * 3_600_000 + 1), None);
    assert_eq!(timer_minutes(5_000, 0), Some(1), "a clock step back still records a minute");
}
