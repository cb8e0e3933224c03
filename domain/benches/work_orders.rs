//! Work order documents: what one edit costs a replica, and how big a job gets.
//! Run with `cargo bench -p thorbis-domain --bench work_orders`. Prints
//! `METRIC workorder_change_apply_us` (one small change folded into a work order with 1,000
//! changes of history and its view read back, as every replica does with each edit that
//! arrives; goal ≤ 500), `METRIC workorder_doc_bytes` (a typical completed job's document,
//! saved compressed) and `METRIC workorder_changes_bytes` (the same job as the set of its
//! changes that replicas keep, for reference), and `METRIC workorder_change_apply_live_us`
//! (the change applied to the document held live in memory, for reference: what a replica
//! that kept documents materialized would pay). `cargo test --benches` runs it small.

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

use std::time::Instant;

use thorbis_domain::events::WorkOrderChanged;
use thorbis_domain::ids::{ChecklistItemId, WorkOrderId};
use thorbis_domain::work_order::{
    ChecklistDraft, ScheduledWindow, WorkOrder, WorkOrderDraft, WorkOrderEdit, WorkOrderStatus,
    create,
};
use thorbis_domain::{Aggregate, Currency, DomainEvent, EventMeta, Money, Qty};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

const DESK: DeviceId = DeviceId::from_bytes([0xd0; 16]);
const TECH: DeviceId = DeviceId::from_bytes([0xa1; 16]);
const WO: WorkOrderId = WorkOrderId(Uuid::from_u128(0x77));

fn meta(device: DeviceId, seq: u64) -> EventMeta {
    EventMeta { hlc: Hlc { wall_ms: seq, counter: 0 }, id: EventId { device_id: device, seq } }
}

fn changed(order: &WorkOrder, edit: &WorkOrderEdit, device: DeviceId, at: i64) -> DomainEvent {
    let change = order.edit(edit, device, at).expect("a valid edit");
    DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change })
}

/// A new job with a five-item checklist, as the desk creates it.
fn new_job() -> WorkOrder {
    let checklist = (0..5)
        .map(|i| ChecklistDraft {
            id: ChecklistItemId(Uuid::from_u128(0x100 + i)),
            label: format!("Step {i}"),
        })
        .collect();
    let draft = WorkOrderDraft {
        title: "Replace water heater".into(),
        customer: "R. Diaz".into(),
        site_address: "12 Elm St, Springfield".into(),
        window: ScheduledWindow { start_ms: 1_000, end_ms: 7_201_000 },
        currency: Currency::USD,
        checklist,
        vehicle: None,
    };
    let first = create(&draft, DESK, 900).expect("a valid draft");
    let mut order = WorkOrder::default();
    order.apply(
        WO.0,
        &meta(DESK, 1),
        &DomainEvent::WorkOrderChanged(WorkOrderChanged { work_order_id: WO, change: first }),
    );
    order
}

/// The `n`th edit of a busy job's history: notes, ticks, parts and labour in turn.
fn history_edit(n: u64) -> WorkOrderEdit {
    match n % 4 {
        0 => WorkOrderEdit::AddNote { text: format!("Update {n}: checked and adjusted") },
        1 => WorkOrderEdit::TickChecklistItem {
            item_id: ChecklistItemId(Uuid::from_u128(0x100 + u128::from(n % 5))),
            // Each item comes round every 20 edits, ticked and unticked in turn.
            done: (n / 20).is_multiple_of(2),
        },
        2 => WorkOrderEdit::AddPart {
            name: format!("Fitting {n}"),
            sku: None,
            qty: Qty::units(1),
            unit_price: Money(3_25),
        },
        _ => WorkOrderEdit::AddLabour { minutes: 15, rate_per_hour: Money(85_00) },
    }
}

/// The job with `changes` edits of history (after its first change).
fn busy_job(changes: u64) -> WorkOrder {
    let mut order = new_job();
    for n in 0..changes {
        let event = changed(&order, &history_edit(n), TECH, 1_000 + n as i64);
        order.apply(WO.0, &meta(TECH, n + 1), &event);
    }
    order
}

/// A typical completed job: the steps of the day, a few notes, parts and labour, signed.
fn completed_job() -> WorkOrder {
    let mut order = new_job();
    let mut seq = 0;
    let mut edit = |order: &mut WorkOrder, e: WorkOrderEdit| {
        seq += 1;
        let event = changed(order, &e, TECH, 1_000 + seq as i64 * 60_000);
        order.apply(WO.0, &meta(TECH, seq), &event);
    };
    for status in [WorkOrderStatus::Dispatched, WorkOrderStatus::EnRoute, WorkOrderStatus::OnSite] {
        edit(&mut order, WorkOrderEdit::SetStatus { status });
    }
    for i in 0..5 {
        edit(
            &mut order,
            WorkOrderEdit::TickChecklistItem {
                item_id: ChecklistItemId(Uuid::from_u128(0x100 + i)),
                done: true,
            },
        );
    }
    for text in ["Old heater drained", "Customer asked for a quote on the softener", "All tested"] {
        edit(&mut order, WorkOrderEdit::AddNote { text: text.into() });
    }
    for n in 0..4 {
        edit(&mut order, history_edit(2 + 4 * n));
    }
    edit(&mut order, WorkOrderEdit::AddLabour { minutes: 135, rate_per_hour: Money(85_00) });
    edit(
        &mut order,
        WorkOrderEdit::CaptureSignature {
            signer: "R. Diaz".into(),
            signed_at_ms: 9_000_000,
            drawing: None,
        },
    );
    edit(&mut order, WorkOrderEdit::SetStatus { status: WorkOrderStatus::Done });
    order
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let (history, rounds) = if benching { (1_000, 50) } else { (50, 3) };
    let base = busy_job(history);
    // The next small change, written by the dispatcher on the same history.
    let next = changed(&base, &WorkOrderEdit::AddNote { text: "Gate code 4412".into() }, DESK, 5);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut order = base.clone();
        let start = Instant::now();
        order.apply(WO.0, &meta(DESK, 2), &next);
        let view = order.view().expect("the document");
        samples.push(start.elapsed().as_secs_f64() * 1e6);
        assert!(view.notes.iter().any(|n| n.text == "Gate code 4412"));
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!("METRIC workorder_change_apply_us {median:.1}");

    // The same change applied to the document held live in memory, as a replica that kept
    // its documents materialized would: the reference for what caching them would give.
    let DomainEvent::WorkOrderChanged(WorkOrderChanged { change, .. }) = &next else {
        unreachable!("an edit is a change")
    };
    let live = base.document();
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut doc = live.clone();
        let parsed = change.parse().expect("a change");
        let start = Instant::now();
        doc.apply_changes([parsed]).expect("it applies");
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    println!("METRIC workorder_change_apply_live_us {:.1}", samples[samples.len() / 2]);

    let job = completed_job();
    let saved = job.document().save();
    let changes: usize = job.changes.values().map(|c| c.0.len()).sum();
    println!("METRIC workorder_doc_bytes {}", saved.len());
    println!("METRIC workorder_changes_bytes {changes}");
}
