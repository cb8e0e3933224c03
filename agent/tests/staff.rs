//! Staff sign-in and manager approval against the demo staff: PINs verified offline
//! against their published hashes, lockout by the store's clock, and approvals recorded in
//! the events they approve.

use std::sync::Arc;

use anyhow::Result;
use thorbis_agent::seed::{self, CASHIER, CASHIER_PIN, MANAGER, MANAGER_PIN};
use thorbis_agent::staff::{LOCKOUT_MS, MAX_FAILURES, PinCost, hash_pin};
use thorbis_agent::{ManualClock, SignInError, Store, StoreConfig};
use thorbis_domain::catalog::{Role, Staff};
use thorbis_domain::ids::{LineId, OrderId, StaffId};
use thorbis_domain::{Command, CommandError, DomainEvent, Qty};
use uuid::Uuid;

const START_MS: u64 = 1_790_000_000_000;

fn seeded(dir: &tempfile::TempDir) -> Result<(Store, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::new(START_MS));
    let mut store = Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(7),
        device_key_seed: Some([3; 32]),
        ..StoreConfig::new(dir.path().join("agent.db"))
    })?;
    store.execute_all(&seed::catalog())?;
    Ok((store, clock))
}

#[test]
fn staff_sign_in_with_their_pin() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let events = store.event_count()?;

    let cashier = store.sign_in(CASHIER, CASHIER_PIN)?;
    assert_eq!(
        (cashier.staff_id, cashier.name.as_str(), cashier.role),
        (CASHIER, "Sam", Role::Cashier)
    );
    assert_eq!(store.sign_in(MANAGER, MANAGER_PIN)?.role, Role::Manager);

    let wrong = store.sign_in(CASHIER, "1235").unwrap_err();
    assert!(matches!(wrong, SignInError::WrongPin), "{wrong:?}");
    let unknown = store.sign_in(StaffId(Uuid::from_u128(1)), CASHIER_PIN).unwrap_err();
    assert!(matches!(unknown, SignInError::UnknownStaff), "{unknown:?}");
    // Nothing tells a guesser whether the id exists.
    assert_eq!(wrong.to_string(), unknown.to_string());
    // Another staff member's PIN is just a wrong PIN.
    assert!(matches!(store.sign_in(CASHIER, MANAGER_PIN), Err(SignInError::WrongPin)));

    // Sign-in attempts are local security state, never business events.
    assert_eq!(store.event_count()?, events);
    Ok(())
}

#[test]
fn repeated_wrong_pins_lock_out_until_the_period_passes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, clock) = seeded(&dir)?;

    // A correct PIN clears the count: four misses, a success, four misses is no lockout.
    for _ in 1..MAX_FAILURES {
        assert!(matches!(store.sign_in(CASHIER, "0000"), Err(SignInError::WrongPin)));
    }
    store.sign_in(CASHIER, CASHIER_PIN)?;
    for _ in 1..MAX_FAILURES {
        assert!(matches!(store.sign_in(CASHIER, "0000"), Err(SignInError::WrongPin)));
    }
    // The fifth consecutive miss locks the id...
    let locked = store.sign_in(CASHIER, "0000").unwrap_err();
    assert!(
        matches!(locked, SignInError::LockedOut { until_ms } if until_ms == START_MS + LOCKOUT_MS),
        "{locked:?}"
    );
    // ...even for the right PIN, and across a restart of the terminal.
    assert!(matches!(store.sign_in(CASHIER, CASHIER_PIN), Err(SignInError::LockedOut { .. })));
    drop(store);
    let mut store = Store::open(StoreConfig {
        clock: clock.clone(),
        id_seed: Some(8),
        ..StoreConfig::new(dir.path().join("agent.db"))
    })?;
    assert!(matches!(store.sign_in(CASHIER, CASHIER_PIN), Err(SignInError::LockedOut { .. })));
    // Other staff are not affected.
    store.sign_in(MANAGER, MANAGER_PIN)?;

    clock.advance(i64::try_from(LOCKOUT_MS)? - 1);
    assert!(matches!(store.sign_in(CASHIER, CASHIER_PIN), Err(SignInError::LockedOut { .. })));
    clock.advance(1);
    store.sign_in(CASHIER, CASHIER_PIN)?;

    // Unknown ids lock out the same way, so the lockout reveals nothing either.
    let nobody = StaffId(Uuid::from_u128(2));
    for _ in 1..MAX_FAILURES {
        assert!(matches!(store.sign_in(nobody, "1234"), Err(SignInError::UnknownStaff)));
    }
    assert!(matches!(store.sign_in(nobody, "1234"), Err(SignInError::LockedOut { .. })));
    Ok(())
}

#[test]
fn disabled_staff_cannot_sign_in_or_approve() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let gone = StaffId(Uuid::from_u128(3));
    let record = Staff {
        id: gone,
        name: "Alex".into(),
        role: Role::Owner,
        pin_hash: hash_pin("4321", b"alex-salt", PinCost::FAST_FOR_TESTS)?,
        active: true,
        locations: Vec::new(),
    };
    store.execute(&Command::PublishStaff(record.clone()))?;
    assert_eq!(store.approve(gone, "4321")?, gone);
    store.execute(&Command::PublishStaff(Staff { active: false, ..record }))?;
    assert!(matches!(store.sign_in(gone, "4321"), Err(SignInError::Inactive)));
    assert!(matches!(store.approve(gone, "4321"), Err(SignInError::Inactive)));
    // A wrong PIN still reads as a wrong PIN: being disabled is only said to the right PIN.
    assert!(matches!(store.sign_in(gone, "4322"), Err(SignInError::WrongPin)));
    Ok(())
}

#[test]
fn a_plain_pin_is_never_published() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let events = store.event_count()?;
    let refused = store
        .execute(&Command::PublishStaff(Staff {
            id: StaffId(Uuid::from_u128(4)),
            name: "Pat".into(),
            role: Role::Cashier,
            pin_hash: "1234".into(),
            active: true,
            locations: Vec::new(),
        }))
        .unwrap_err();
    assert!(matches!(refused.refusal(), Some(CommandError::InvalidPinHash)), "{refused:?}");
    assert_eq!(store.event_count()?, events);
    Ok(())
}

#[test]
fn a_void_records_the_manager_who_approved_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let order = OrderId(store.new_id());
    let line = LineId(store.new_id());
    store.execute_all(&[
        seed::open_order(order, Some("4")),
        seed::line(order, line, seed::SODA, Qty::ONE, Vec::new()),
    ])?;

    // A cashier's PIN, however correct, does not approve.
    assert!(matches!(store.approve(CASHIER, CASHIER_PIN), Err(SignInError::NotAManager)));
    assert!(matches!(store.approve(MANAGER, "1234"), Err(SignInError::WrongPin)));
    let approver = store.approve(MANAGER, MANAGER_PIN)?;
    assert_eq!(approver, MANAGER);

    let committed = store.execute(&Command::VoidLine {
        order_id: order,
        line_id: line,
        reason: "customer changed their mind".into(),
        approved_by: Some(approver),
    })?;
    let id = committed.events[0];
    let (event, _) =
        store.events_after(id.device_id, id.seq - 1, 1)?.pop().expect("the void's event is stored");
    let Some(DomainEvent::LineVoided(voided)) =
        DomainEvent::decode(event.kind.as_str(), &event.payload)?
    else {
        panic!("expected a void, got {}", event.kind.as_str());
    };
    assert_eq!(voided.approved_by, Some(MANAGER));
    let view = store.order(order)?.expect("order");
    assert_eq!(view.order.voids[&line].value.approved_by, Some(MANAGER));
    Ok(())
}

#[test]
fn only_a_published_manager_is_recorded_as_approver() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let order = OrderId(store.new_id());
    let line = LineId(store.new_id());
    store.execute_all(&[
        seed::open_order(order, Some("5")),
        seed::line(order, line, seed::SODA, Qty::ONE, Vec::new()),
    ])?;
    let void = |approved_by| Command::VoidLine {
        order_id: order,
        line_id: line,
        reason: "wrong drink".into(),
        approved_by: Some(approved_by),
    };
    let events = store.event_count()?;

    // An id nobody published is refused, and nothing is written.
    let nobody = StaffId(Uuid::from_u128(5));
    let refused = store.execute(&void(nobody)).unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(CommandError::UnknownApprover(id)) if *id == nobody),
        "{refused:?}"
    );
    assert_eq!(store.event_count()?, events);

    // A cashier is published but cannot approve: refused, and nothing is written.
    let refused = store.execute(&void(CASHIER)).unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(CommandError::NotAnApprover(id)) if *id == CASHIER),
        "{refused:?}"
    );
    assert_eq!(store.event_count()?, events);
    assert!(store.order(order)?.expect("order").order.voids.is_empty());

    store.execute(&void(MANAGER))?;
    assert_eq!(store.event_count()?, events + 1);
    Ok(())
}

#[test]
fn staff_of_another_location_cannot_sign_in_or_approve_here() -> Result<()> {
    use thorbis_agent::Enrollment;
    use thorbis_domain::ids::LocationId;
    use thorbis_sync_protocol::{DeviceId, PublicKey, Signature};

    let dir = tempfile::tempdir()?;
    let (mut store, _) = seeded(&dir)?;
    let here = Uuid::from_u128(0x10c);
    let elsewhere = LocationId(Uuid::from_u128(0x20c));
    store.record_enrollment(&Enrollment {
        hub_url: "http://hub.test".into(),
        device_id: store.device_id(),
        tenant_id: Uuid::from_u128(0x7e),
        location_id: here,
        role: "pos".into(),
        tenant_public_key: PublicKey([9; 32]),
        reference_log_id: DeviceId([0x7e; 16]),
        credential: vec![1],
        credential_signature: Signature([5; 64]),
        expires_at_ms: START_MS + 86_400_000,
    })?;
    let visitor = StaffId(Uuid::from_u128(4));
    let record = Staff {
        id: visitor,
        name: "Vi".into(),
        role: Role::Manager,
        pin_hash: hash_pin("5555", b"vi-salt-", PinCost::FAST_FOR_TESTS)?,
        active: true,
        locations: vec![elsewhere],
    };
    store.execute(&Command::PublishStaff(record.clone()))?;
    assert!(store.active_staff()?.iter().all(|s| s.id != visitor), "listed here");
    // Checked like an id this location does not have: nothing says they exist.
    assert!(matches!(store.sign_in(visitor, "5555"), Err(SignInError::UnknownStaff)));
    assert!(matches!(store.approve(visitor, "5555"), Err(SignInError::UnknownStaff)));
    // The demo staff name no location: they work everywhere, here included.
    assert_eq!(store.sign_in(CASHIER, CASHIER_PIN)?.staff_id, CASHIER);
    // Once their record names this location too, they sign in.
    let both = vec![elsewhere, LocationId(here)];
    store.execute(&Command::PublishStaff(Staff { locations: both, ..record }))?;
    assert_eq!(store.sign_in(visitor, "5555")?.staff_id, visitor);
    assert!(store.active_staff()?.iter().any(|s| s.id == visitor));
    Ok(())
}
