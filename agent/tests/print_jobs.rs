//! Print jobs are written with the sale that causes them, and only then.

use std::collections::BTreeMap;

use anyhow::Result;
use thorbis_agent::print::{Decision, Document, JobState, PrintRouting};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{Store, StoreConfig, StoreError};
use thorbis_domain::ids::{DrawerSessionId, LineId, OrderId};
use thorbis_domain::{Command, Qty};

fn store(dir: &tempfile::TempDir) -> Result<(Store, DrawerSessionId)> {
    let print = PrintRouting {
        stations: BTreeMap::from([
            ("grill".into(), "kitchen".into()),
            ("fryer".into(), "kitchen".into()),
        ]),
        receipt_printer: Some("front".into()),
    };
    let mut store = Store::open(StoreConfig {
        id_seed: Some(5),
        print,
        ..StoreConfig::new(dir.path().join("a.db"))
    })?;
    store.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;
    Ok((store, drawer))
}

#[test]
fn sends_and_sales_queue_their_tickets_and_receipts_atomically() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, drawer) = store(&dir)?;
    let order_id = OrderId(store.new_id());
    let mut check = vec![seed::open_order(order_id, Some("4"))];
    for item in [seed::FRIES, seed::SODA] {
        check.push(seed::line(order_id, LineId(store.new_id()), item, Qty::ONE, vec![]));
    }
    check.push(Command::SendToKitchen { order_id });
    // A refused batch queues nothing: the bad line rolls back the send too.
    let mut refused = check.clone();
    refused.insert(
        1,
        seed::line(order_id, LineId(store.new_id()), seed::FRIES, Qty::units(-1), vec![]),
    );
    assert!(store.execute_all(&refused).is_err());
    assert!(store.print_jobs(&[JobState::Queued])?.is_empty());

    store.execute_all(&check)?;
    let queued = store.print_jobs(&[JobState::Queued])?;
    assert_eq!(queued.len(), 1, "one ticket: only the fries have a station");
    assert_eq!(queued[0].printer, "kitchen");
    assert_eq!(queued[0].station.as_deref(), Some("fryer"));
    assert!(matches!(queued[0].document, Document::Kitchen { .. }));

    let ids = SaleIds::new(|| store.new_id());
    store.execute_all(&seed::typical_sale(ids, drawer))?;
    let queued = store.print_jobs(&[JobState::Queued])?;
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[1].document, Document::Receipt { order_id: ids.order });
    assert_eq!(queued[1].printer, "front");
    Ok(())
}

#[test]
fn reprints_are_explicit_copies_and_decisions_apply_only_to_waiting_jobs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, drawer) = store(&dir)?;
    let ids = SaleIds::new(|| store.new_id());
    store.execute_all(&seed::typical_sale(ids, drawer))?;
    let original = store.print_jobs(&[JobState::Queued])?[0].clone();
    let copy = store.reprint(original.id)?;
    let jobs = store.print_jobs(&[JobState::Queued])?;
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1].id, copy);
    assert_eq!(jobs[1].copy_of, Some(original.id));
    // A queued job is not waiting for a decision.
    let err = store.decide_print_job(original.id, Decision::Discard, seed::MANAGER).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(store.print_decisions(10)?.is_empty(), "a refused decision is not recorded");
    assert!(matches!(store.reprint(uuid::Uuid::nil()), Err(StoreError::NotFound(_))));
    Ok(())
}
