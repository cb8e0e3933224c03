//! Work orders as Automerge documents: concurrent edits from two devices merge to the same
//! document whatever order the events arrive in, replays change nothing, totals follow
//! the one rounding rule, and edits are refused when they should be.

use proptest::prelude::*;
use thorbis_domain::command::{Command, CommandError, IdSource, Policy, decide};
use thorbis_domain::events::{WorkOrderChanged, WorkOrderDispatched};
use thorbis_domain::ids::{ChecklistItemId, LocationId, WorkOrderId};
use thorbis_domain::work_order::{
    ChecklistDraft, ScheduledWindow, WorkOrder, WorkOrderDraft, WorkOrderEdit, WorkOrderError,
    WorkOrderStatus, create,
};
use thorbis_domain::{Aggregate, Currency, DomainEvent, EventMeta, Money, Qty, State};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

const DESK: DeviceId = DeviceId::from_bytes([0xd0; 16]);
const LOG_A: DeviceId = DeviceId::from_bytes([0xa0; 16]);
const LOG_B: DeviceId = DeviceId::from_bytes([0xb0; 16]);
const TECH_A: DeviceId = DeviceId::from_bytes([0xa1; 16]);
const TECH_B: DeviceId = DeviceId::from_bytes([0xb1; 16]);
const WO: WorkOrderId = WorkOrderId(Uuid::from_u128(0x77));
const LOCATION: LocationId = LocationId(Uuid::from_u128(0x10));
const ITEM_1: ChecklistItemId = ChecklistItemId(Uuid::from_u128(0x101));
const ITEM_2: ChecklistItemId = ChecklistItemId(Uuid::from_u128(0x102));

struct NoIds;

impl IdSource for NoIds {
    fn next_id(&mut self) -> Uuid {
        unreachable!("work order edits mint no ids")
    }
}

fn draft() -> WorkOrderDraft {
    WorkOrderDraft {
        title: "Replace water heater".into(),
        customer: "R. Diaz".into(),
        site_address: "12 Elm St".into(),
        window: ScheduledWindow { start_ms: 1_000, end_ms: 5_000 },
        currency: Currency::USD,
        checklist: vec![
            ChecklistDraft { id: ITEM_1, label: "Shut off gas".into() },
            ChecklistDraft { id: ITEM_2, label: "Test relief valve".into() },
        ],
        vehicle: None,
    }
}

fn meta(device: DeviceId, seq: u64, wall_ms: u64) -> EventMeta {
    EventMeta { hlc: Hlc { wall_ms, counter: 0 }, id: EventId { device_id: device, seq } }
}

/// The work order as the hub dispatches it to `technician` through `log`.
fn dispatch(log: DeviceId, technician: DeviceId, wall_ms: u64) -> (EventMeta, DomainEvent) {
    let first = create(&draft(), DESK, 900).unwrap();
    let event = DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: WO,
        location_id: LOCATION,
        technician,
        changes: vec![first],
    });
    (meta(log, 1, wall_ms), event)
}

fn fold<'a>(events: impl IntoIterator<Item = &'a (EventMeta, DomainEvent)>) -> State {
    let mut state = State::default();
    for (meta, event) in events {
        state.apply(meta, event);
    }
    state
}

fn edit(sel: u8, n: u8) -> WorkOrderEdit {
    match sel % 7 {
        0 => WorkOrderEdit::SetStatus {
            status: [WorkOrderStatus::EnRoute, WorkOrderStatus::OnSite, WorkOrderStatus::Done]
                [usize::from(n % 3)],
        },
        1 => WorkOrderEdit::AddNote { text: format!("note {n}") },
        2 => WorkOrderEdit::TickChecklistItem {
            item_id: if n.is_multiple_of(2) { ITEM_1 } else { ITEM_2 },
            done: !n.is_multiple_of(3),
        },
        3 => WorkOrderEdit::AddPart {
            name: format!("part {n}"),
            sku: n.is_multiple_of(2).then(|| format!("SKU-{n}")),
            qty: Qty::milli(i64::from(n) * 250 + 1),
            unit_price: Money(i64::from(n) * 137),
        },
        4 => WorkOrderEdit::AddLabour { minutes: u32::from(n) + 1, rate_per_hour: Money(85_00) },
        5 => WorkOrderEdit::AddChecklistItem {
            item_id: ChecklistItemId(Uuid::from_u128(0x200 + u128::from(n))),
            label: format!("extra {n}"),
        },
        _ => WorkOrderEdit::CaptureSignature {
            signer: format!("signer {n}"),
            signed_at_ms: 4_000,
            drawing: None,
        },
    }
}

/// One technician's session: starting from `seen`, each edit is decided against the
/// technician's own state and recorded in its log.
fn session(
    seen: &[(EventMeta, DomainEvent)],
    device: DeviceId,
    edits: &[(u8, u8)],
    wall_start: u64,
) -> Vec<(EventMeta, DomainEvent)> {
    let mut state = fold(seen);
    let mut out = Vec::new();
    for (i, (sel, n)) in edits.iter().enumerate() {
        let at = wall_start + i as u64;
        let command = Command::EditWorkOrder {
            work_order_id: WO,
            device,
            at_ms: at as i64,
            edit: edit(*sel, *n),
        };
        // Some random edits are refused (a duplicate checklist id, a cancelled job): a
        // refusal writes nothing, as on a terminal.
        let Ok(events) = decide(&command, &state, &Policy::default(), &mut NoIds) else {
            continue;
        };
        for event in events {
            let m = meta(device, out.len() as u64 + 1, at);
            state.apply(&m, &event);
            out.push((m, event));
        }
    }
    out
}

/// A's offline edits, and B's after the job was reassigned to B (B never saw A's).
fn concurrent_history(a_edits: &[(u8, u8)], b_edits: &[(u8, u8)]) -> Vec<(EventMeta, DomainEvent)> {
    let to_a = dispatch(LOG_A, TECH_A, 1_000);
    let to_b = dispatch(LOG_B, TECH_B, 2_000);
    let mut all = vec![to_a.clone(), to_b.clone()];
    all.extend(session(&[to_a], TECH_A, a_edits, 1_500));
    all.extend(session(&[to_b], TECH_B, b_edits, 1_500));
    all
}

fn edits() -> impl Strategy<Value = Vec<(u8, u8)>> {
    prop::collection::vec((any::<u8>(), any::<u8>()), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn concurrent_edits_merge_to_the_same_document_in_any_order(
        a in edits(),
        b in edits(),
        order in prop::collection::vec(any::<prop::sample::Index>(), 20),
    ) {
        let events = concurrent_history(&a, &b);
        let reference = fold(&events);
        let mut shuffled: Vec<_> = events.iter().collect();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, order[i % order.len()].index(i + 1));
        }
        let permuted = fold(shuffled.iter().copied());
        prop_assert_eq!(&reference, &permuted);
        let view = reference.work_orders[&WO.0].view().unwrap();
        prop_assert_eq!(Some(view.clone()), permuted.work_orders[&WO.0].view());
        // Every note either side wrote survives the merge, and the later dispatch wins.
        let notes = |edits: &[(u8, u8)]| edits.iter().filter(|(s, _)| s % 7 == 1).count();
        prop_assert!(view.notes.len() <= notes(&a) + notes(&b));
        prop_assert_eq!(view.technician, Some(TECH_B));
    }

    #[test]
    fn replaying_events_changes_nothing(
        a in edits(),
        b in edits(),
        dupes in prop::collection::vec(any::<prop::sample::Index>(), 1..10),
    ) {
        let events = concurrent_history(&a, &b);
        let reference = fold(&events);
        // Applied straight to the aggregate, bypassing the state's set of applied ids:
        // the aggregate itself is idempotent.
        let mut order = WorkOrder::default();
        for (m, e) in &events {
            order.apply(WO.0, m, e);
        }
        for d in &dupes {
            let (m, e) = &events[d.index(events.len())];
            order.apply(WO.0, m, e);
        }
        prop_assert_eq!(&order, &reference.work_orders[&WO.0]);
    }
}

#[test]
fn two_devices_edit_offline_and_both_edits_survive() {
    let events = concurrent_history(&[(1, 1), (2, 2)], &[(1, 2), (3, 4)]);
    let view = fold(&events).work_orders[&WO.0].view().unwrap();
    let mut notes: Vec<&str> = view.notes.iter().map(|n| n.text.as_str()).collect();
    notes.sort_unstable();
    assert_eq!(notes, ["note 1", "note 2"]);
    assert!(view.checklist.iter().find(|i| i.id == ITEM_1).unwrap().done);
    assert_eq!(view.parts.len(), 1);
    assert_eq!(view.notes.iter().find(|n| n.text == "note 1").unwrap().by, Some(TECH_A));
}

#[test]
fn totals_round_each_line_once_in_minor_units() {
    let mut state = fold([&dispatch(LOG_A, TECH_A, 1_000)]);
    let edits = [
        // 0.375 m of pipe at 12.99 = 4.87125 -> 4.87
        WorkOrderEdit::AddPart {
            name: "Copper pipe".into(),
            sku: Some("CP-15".into()),
            qty: Qty::milli(375),
            unit_price: Money(12_99),
        },
        WorkOrderEdit::AddPart {
            name: "Valve".into(),
            sku: None,
            qty: Qty::units(2),
            unit_price: Money(8_50),
        },
        // 85.00/h for 7 min = 9.9166 -> 9.92; for 50 min = 70.8333 -> 70.83
        WorkOrderEdit::AddLabour { minutes: 7, rate_per_hour: Money(85_00) },
        WorkOrderEdit::AddLabour { minutes: 50, rate_per_hour: Money(85_00) },
    ];
    for (i, e) in edits.into_iter().enumerate() {
        let command =
            Command::EditWorkOrder { work_order_id: WO, device: TECH_A, at_ms: 2_000, edit: e };
        for event in decide(&command, &state, &Policy::default(), &mut NoIds).unwrap() {
            state.apply(&meta(TECH_A, i as u64 + 1, 2_000), &event);
        }
    }
    let view = state.work_orders[&WO.0].view().unwrap();
    assert_eq!(view.totals.parts, Money(4_87 + 17_00));
    assert_eq!(view.totals.labour, Money(9_92 + 70_83));
    assert_eq!(view.totals.total, Money(4_87 + 17_00 + 9_92 + 70_83));
    assert_eq!(view.currency, Currency::USD);
}

#[test]
fn the_same_edit_on_the_same_state_gives_the_same_change() {
    let state = fold([&dispatch(LOG_A, TECH_A, 1_000)]);
    let command = Command::EditWorkOrder {
        work_order_id: WO,
        device: TECH_A,
        at_ms: 3_000,
        edit: WorkOrderEdit::AddNote { text: "Arrived".into() },
    };
    let first = decide(&command, &state, &Policy::default(), &mut NoIds).unwrap();
    let second = decide(&command, &state, &Policy::default(), &mut NoIds).unwrap();
    assert_eq!(first, second);
    let DomainEvent::WorkOrderChanged(WorkOrderChanged { change, .. }) = &first[0] else {
        panic!("expected a change, got {first:?}");
    };
    assert_eq!(change.parse().unwrap().timestamp(), 3_000);
}

#[test]
fn edits_are_refused_with_a_reason() {
    let state = fold([&dispatch(LOG_A, TECH_A, 1_000)]);
    let run = |work_order_id, device, edit| {
        let command = Command::EditWorkOrder { work_order_id, device, at_ms: 2_000, edit };
        decide(&command, &state, &Policy::default(), &mut NoIds).unwrap_err()
    };
    let note = || WorkOrderEdit::AddNote { text: "x".into() };
    assert!(matches!(
        run(WorkOrderId(Uuid::from_u128(1)), TECH_A, note()),
        CommandError::UnknownWorkOrder(_)
    ));
    assert!(matches!(
        run(WO, TECH_B, note()),
        CommandError::NotAssigned { device, .. } if device == TECH_B
    ));
    let invalid = [
        WorkOrderEdit::AddNote { text: "  ".into() },
        WorkOrderEdit::AddNote { text: "card 4111 1111 1111 1111".into() },
        WorkOrderEdit::AddPart { name: "x".into(), sku: None, qty: Qty(0), unit_price: Money(1) },
        WorkOrderEdit::AddPart {
            name: "x".into(),
            sku: None,
            qty: Qty::ONE,
            unit_price: Money(-1),
        },
        WorkOrderEdit::AddLabour { minutes: 0, rate_per_hour: Money(1) },
        WorkOrderEdit::CaptureSignature { signer: String::new(), signed_at_ms: 1, drawing: None },
    ];
    for e in invalid {
        let err = run(WO, TECH_A, e.clone());
        assert!(
            matches!(
                err,
                CommandError::WorkOrder(
                    WorkOrderError::InvalidText(_) | WorkOrderError::InvalidValue { .. }
                )
            ),
            "{e:?}: {err:?}"
        );
    }
    let unknown = ChecklistItemId(Uuid::from_u128(9));
    assert!(matches!(
        run(WO, TECH_A, WorkOrderEdit::TickChecklistItem { item_id: unknown, done: true }),
        CommandError::WorkOrder(WorkOrderError::UnknownChecklistItem(id)) if id == unknown
    ));
}

#[test]
fn a_cancelled_work_order_takes_no_more_edits() {
    let to_a = dispatch(LOG_A, TECH_A, 1_000);
    let order = &fold([&to_a]).work_orders[&WO.0];
    let change = order
        .edit(&WorkOrderEdit::SetStatus { status: WorkOrderStatus::Cancelled }, LOG_A, 1_100)
        .unwrap();
    let cancelled = (
        meta(LOG_A, 2, 1_100),
        DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change }),
    );
    let state = fold([&to_a, &cancelled]);
    assert_eq!(state.work_orders[&WO.0].view().unwrap().status, WorkOrderStatus::Cancelled);
    assert!(!state.work_orders[&WO.0].is_active());
    let command = Command::EditWorkOrder {
        work_order_id: WO,
        device: TECH_A,
        at_ms: 2_000,
        edit: WorkOrderEdit::AddNote { text: "too late".into() },
    };
    assert!(matches!(
        decide(&command, &state, &Policy::default(), &mut NoIds),
        Err(CommandError::WorkOrder(WorkOrderError::Cancelled))
    ));
}

#[test]
fn a_device_cannot_author_changes_for_another_actor() {
    let to_a = dispatch(LOG_A, TECH_A, 1_000);
    let order = &fold([&to_a]).work_orders[&WO.0];
    // B writes a change as itself but it arrives in A's log: it is not A's to record.
    let change =
        order.edit(&WorkOrderEdit::AddNote { text: "forged".into() }, TECH_B, 1_100).unwrap();
    let forged = (
        meta(TECH_A, 1, 1_100),
        DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change }),
    );
    let state = fold([&to_a, &forged]);
    assert!(state.work_orders[&WO.0].view().unwrap().notes.is_empty());
    // Garbage bytes are not a change and are ignored the same way everywhere.
    let garbage = (
        meta(TECH_A, 2, 1_200),
        DomainEvent::WorkOrderChanged(WorkOrderChanged {
            work_order_id: WO,
            change: thorbis_domain::work_order::ChangeBytes(vec![1, 2, 3]),
        }),
    );
    assert_eq!(fold([&to_a, &garbage]).work_orders, fold([&to_a]).work_orders);
}

#[test]
fn payloads_round_trip_with_base64_changes() {
    let (_, event) = dispatch(LOG_A, TECH_A, 1_000);
    let payload = event.encode_payload();
    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert!(json["changes"][0].is_string(), "{json}");
    assert_eq!(DomainEvent::decode(event.kind(), &payload).unwrap(), Some(event));
}

#[test]
fn a_reassigned_technician_is_told_and_refused() {
    let to_a = dispatch(LOG_A, TECH_A, 1_000);
    // What A's log receives when the job moves to B: the assignment, no changes.
    let moved = (
        meta(LOG_A, 2, 2_000),
        DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
            work_order_id: WO,
            location_id: LOCATION,
            technician: TECH_B,
            changes: vec![],
        }),
    );
    let state = fold([&to_a, &moved]);
    let command = Command::EditWorkOrder {
        work_order_id: WO,
        device: TECH_A,
        at_ms: 2_100,
        edit: WorkOrderEdit::AddNote { text: "still here".into() },
    };
    assert!(matches!(
        decide(&command, &state, &Policy::default(), &mut NoIds),
        Err(CommandError::NotAssigned { .. })
    ));
}
