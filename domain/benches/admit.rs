//! Admission cost: what checking a fact before folding it adds to every replica's ingest.
//! Run with `cargo bench -p thorbis-domain --bench admit`; prints `METRIC
//! fold_us_per_fact` (folding alone, on an in-memory store) and `METRIC admit_us_per_fact`
//! (what admitting each fact first adds), over openings, lines, payments and closes from
//! two tills (2,000 checks; 50 under `cargo test --benches`). Goal: admission at most 10 µs a fact, a fifth of the hub's ingest budget per
//! event (20,000 events/s).

#![allow(clippy::print_stdout, reason = "a bench reports its figures on stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::{POS, POS2, Replica, line, opened, order, payment};
use thorbis_domain::events::{DomainEvent, OrderClosed};
use thorbis_sync_protocol::DeviceId;

/// Lines on each check.
const LINES: u128 = 3;

/// A day of checks: two tills share each, one opening and closing it, the other ringing
/// lines and taking payment.
fn day(orders: u128) -> Vec<(DeviceId, DomainEvent)> {
    let mut facts = Vec::new();
    for n in 0..orders {
        let o = order(n);
        facts.push((POS, opened(o)));
        for l in 0..LINES {
            facts.push((POS2, DomainEvent::LineAdded(line(o, n * LINES + l))));
        }
        facts.push((POS2, DomainEvent::PaymentTaken(payment(o, n, 12_50 * LINES as i64))));
        facts.push((POS, DomainEvent::OrderClosed(OrderClosed { order_id: o, closed_by: None })));
    }
    facts
}

/// Seconds to take `facts` into a fresh store, admitting each first or not.
fn take(facts: &[(DeviceId, DomainEvent)], check: bool) -> f64 {
    let mut replica = Replica::store();
    let start = Instant::now();
    for (device, event) in facts {
        let fact = replica.next_fact(*device, 0);
        if check {
            replica.take(&fact, event).expect("an honest fact");
        } else {
            replica.state.apply(&fact.meta, event);
        }
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects a
    // quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let facts = day(if benching { 2_000 } else { 50 });
    // Warm up, then time folding alone and admitting then folding.
    take(&facts, true);
    let fold = take(&facts, false);
    let both = take(&facts, true);
    let per_fact_us = |s: f64| s * 1e6 / facts.len() as f64;
    println!("METRIC fold_us_per_fact {:.2}", per_fact_us(fold));
    println!("METRIC admit_us_per_fact {:.2}", per_fact_us(both - fold));
}
