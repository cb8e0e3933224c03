//! An enrolled terminal admits other devices' facts before folding them: what a device may
//! not write, or writes with impossible values, is stored (the author's chain stays whole)
//! but never folded, and the honest facts around it fold as usual. Facts waiting for what
//! they refer to (their author's device record) fold once it arrives.

use std::sync::Arc;

use anyhow::{Context as _, Result, ensure};
use thorbis_agent::seed;
use thorbis_agent::{Enrollment, ManualClock, Store, StoreConfig};
use thorbis_domain::catalog::{Role, Staff};
use thorbis_domain::device::{DeviceRegistered, DeviceRole};
use thorbis_domain::events::{OrderClosed, OrderOpened, ServiceMode};
use thorbis_domain::ids::{LineId, OrderId};
use thorbis_domain::{Command, Currency, DomainEvent, Qty};
use thorbis_sync_protocol::sync::EventSource;
use thorbis_sync_protocol::{
    ChainTip, Credential, DeviceId, DeviceKey, Event, EventKind, Hlc, PublicKey, Signature,
};
use uuid::Uuid;

/// Stored facts with their checkpoint signatures, as `apply_remote` takes them.
type Facts = Vec<(Event, Option<Signature>)>;

const NOW: u64 = 1_790_000_000_000;
const TENANT: Uuid = Uuid::from_u128(0x7e);
const LOCATION: Uuid = Uuid::from_u128(0x10c);
const REFERENCE_LOG: DeviceId = DeviceId([0x7e; 16]);
const POS: DeviceId = DeviceId([0x01; 16]);
const KDS: DeviceId = DeviceId([0x02; 16]);
const STRANGER: DeviceId = DeviceId([0x03; 16]);
const LATE: DeviceId = DeviceId([0x04; 16]);
const FAR: DeviceId = DeviceId([0x05; 16]);

/// A store enrolled in the test tenant as `device`.
fn enrolled(dir: &tempfile::TempDir, device: DeviceId, seed: u8, role: &str) -> Result<Store> {
    let mut store = Store::open(StoreConfig {
        clock: Arc::new(ManualClock::new(NOW)),
        id_seed: Some(u64::from(seed)),
        device_key_seed: Some([seed; 32]),
        ..StoreConfig::new(dir.path().join(format!("{seed}.db")))
    })?;
    store.record_enrollment(&Enrollment {
        hub_url: "http://hub.test".into(),
        device_id: device,
        tenant_id: TENANT,
        location_id: LOCATION,
        role: role.into(),
        tenant_public_key: PublicKey([9; 32]),
        reference_log_id: REFERENCE_LOG,
        credential: vec![1],
        credential_signature: Signature([5; 64]),
        expires_at_ms: NOW + 86_400_000,
    })?;
    Ok(store)
}

/// `device`'s chain of `events`, continuing after `tip`, stamped from `wall_ms` on.
fn chain(
    device: DeviceId,
    tip: ChainTip,
    wall_ms: u64,
    events: &[(String, Vec<u8>)],
) -> Result<Facts> {
    let mut out = Vec::new();
    let mut prev = tip;
    for (i, (kind, payload)) in events.iter().enumerate() {
        let event = Event {
            device_id: device,
            seq: prev.seq + 1,
            hlc: Hlc { wall_ms: wall_ms + i as u64, counter: 0 },
            prev_hash: prev.hash,
            kind: EventKind::new(kind)?,
            payload: payload.clone(),
        };
        prev = ChainTip { seq: event.seq, hash: event.hash() };
        out.push((event, None));
    }
    Ok(out)
}

fn fact(event: &DomainEvent) -> (String, Vec<u8>) {
    (event.kind().to_owned(), event.encode_payload())
}

fn registered(device: DeviceId, role: DeviceRole, key_seed: u8) -> Result<DomainEvent> {
    Ok(DomainEvent::DeviceRegistered(DeviceRegistered {
        device_id: Uuid::from_bytes(device.0),
        location_id: LOCATION,
        role,
        public_key: DeviceKey::from_seed(&[key_seed; 32])?.public_key(),
        credential_expires_at_ms: NOW + 86_400_000,
    }))
}

/// The tenant's reference log: the POS and KDS device records, then the demo catalog and
/// staff (as the hub publishes them).
fn reference_log(dir: &tempfile::TempDir) -> Result<Facts> {
    let mut facts = vec![
        fact(&registered(POS, DeviceRole::Pos, 1)?),
        fact(&registered(KDS, DeviceRole::Kds, 2)?),
    ];
    // The catalog's facts as the domain decides them, taken from a scratch store's log.
    let mut scratch = Store::open(StoreConfig::new(dir.path().join("scratch.db")))?;
    scratch.execute_all(&seed::catalog())?;
    let id = scratch.device_id();
    for (event, _) in EventSource::events_after(&scratch, id, 0, 10_000) {
        facts.push((event.kind.as_str().to_owned(), event.payload.clone()));
    }
    chain(REFERENCE_LOG, ChainTip::GENESIS, NOW - 60_000, &facts)
}

/// The POS's own log after it opened a check and sent fries to the kitchen.
fn pos_order(pos: &mut Store) -> Result<(OrderId, Facts)> {
    let order_id = OrderId(pos.new_id());
    let line = LineId(pos.new_id());
    pos.execute_all(&[
        Command::OpenOrder {
            order_id,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some("7".into()),
            guests: Some(2),
            staff: None,
        },
        seed::line(order_id, line, seed::FRIES, Qty::ONE, vec![]),
        Command::SendToKitchen { order_id },
    ])?;
    Ok((order_id, EventSource::events_after(&*pos, POS, 0, 10_000)))
}

#[test]
fn a_terminal_folds_what_a_device_may_write_and_quarantines_the_rest() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut pos = enrolled(&dir, POS, 1, "pos")?;
    let mut kds = enrolled(&dir, KDS, 2, "kds")?;
    let reference = reference_log(&dir)?;
    ensure!(kds.apply_remote(&reference)?.quarantined == 0, "the hub's own log is admitted");
    pos.apply_remote(&reference)?;

    // The POS's honest order reaches the kitchen.
    let (order, honest) = pos_order(&mut pos)?;
    let applied = kds.apply_remote(&honest)?;
    ensure!(applied.quarantined == 0, "{applied:?}");
    ensure!(kds.kds_queue(None)?.iter().any(|t| t.order_id == order), "the fries ticket");

    // Then the POS (its key stolen) forges, on its own chain, between honest facts:
    // a new owner with a PIN of its choosing, an order whose currency would take every
    // screen down, and one more honest order after them.
    let owner = Staff {
        id: thorbis_domain::ids::StaffId(Uuid::from_u128(0x0b0)),
        name: "Mallory".into(),
        role: Role::Owner,
        pin_hash: thorbis_agent::staff::hash_pin(
            "1234",
            b"mallory-salt",
            thorbis_agent::staff::PinCost::FAST_FOR_TESTS,
        )?,
        active: true,
        locations: Vec::new(),
    };
    let bomb = DomainEvent::OrderOpened(OrderOpened {
        order_id: OrderId(Uuid::from_u128(0xb0b)),
        currency: Currency { code: *b"USD", exponent: 200 },
        mode: ServiceMode::TakeOut,
        table: None,
        guests: None,
        opened_by: None,
    });
    let tip = pos.chain_tip(POS)?;
    let last_wall = honest.last().context("events")?.0.hlc.wall_ms;
    let forged = chain(
        POS,
        tip,
        last_wall + 1,
        &[fact(&DomainEvent::StaffUpserted(owner.clone())), fact(&bomb)],
    )?;
    let (before, digest) = (kds.event_count()?, kds.projection_digest()?);
    let applied = kds.apply_remote(&forged)?;
    ensure!(applied.stored == 2 && applied.quarantined == 2, "{applied:?}");
    ensure!(kds.event_count()? == before + 2, "the chain is kept whole");
    ensure!(kds.projection_digest()? == digest, "nothing forged was folded");
    ensure!(kds.staff(owner.id)?.is_none(), "the forged owner cannot sign in");
    ensure!(kds.order(OrderId(Uuid::from_u128(0xb0b)))?.is_none());
    let signed_in = kds.sign_in(owner.id, "1234");
    ensure!(signed_in.is_err(), "{signed_in:?}");

    // An honest fact after the forgeries still folds: one bad fact blocks nothing.
    let after = chain(
        POS,
        ChainTip { seq: forged[1].0.seq, hash: forged[1].0.hash() },
        last_wall + 10,
        &[fact(&DomainEvent::OrderOpened(OrderOpened {
            order_id: OrderId(Uuid::from_u128(0x600d)),
            currency: Currency::USD,
            mode: ServiceMode::TakeOut,
            table: None,
            guests: None,
            opened_by: None,
        }))],
    )?;
    ensure!(kds.apply_remote(&after)?.quarantined == 0);
    ensure!(kds.order(OrderId(Uuid::from_u128(0x600d)))?.is_some());

    // A rebuild folds exactly what admission let through.
    let digest = kds.projection_digest()?;
    kds.rebuild_projections()?;
    ensure!(kds.projection_digest()? == digest, "a rebuild changed what was folded");
    Ok(())
}

#[test]
fn a_fact_waiting_for_its_authors_record_folds_once_the_record_arrives() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut kds = enrolled(&dir, KDS, 2, "kds")?;
    let reference = reference_log(&dir)?;
    kds.apply_remote(&reference)?;
    // A device the hub registered, whose record this terminal has not pulled yet.
    let opened = DomainEvent::OrderOpened(OrderOpened {
        order_id: OrderId(Uuid::from_u128(0x5e)),
        currency: Currency::USD,
        mode: ServiceMode::TakeOut,
        table: None,
        guests: None,
        opened_by: None,
    });
    let early = chain(STRANGER, ChainTip::GENESIS, NOW, &[fact(&opened)])?;
    let applied = kds.apply_remote(&early)?;
    ensure!(applied.quarantined == 1, "{applied:?}");
    ensure!(kds.order(OrderId(Uuid::from_u128(0x5e)))?.is_none());
    // The record arrives on the reference log: the waiting fact folds.
    let tip = ChainTip {
        seq: reference.last().context("events")?.0.seq,
        hash: reference.last().context("events")?.0.hash(),
    };
    let record =
        chain(REFERENCE_LOG, tip, NOW + 1, &[fact(&registered(STRANGER, DeviceRole::Pos, 3)?)])?;
    let applied = kds.apply_remote(&record)?;
    ensure!(applied.released == 1, "{applied:?}");
    ensure!(
        kds.order(OrderId(Uuid::from_u128(0x5e)))?.is_some(),
        "folded once its author is known"
    );
    Ok(())
}

/// A credential for `device` in the test tenant (its signature is the LAN handshake's to
/// check; the store keeps what a checked one says).
fn credential(device: DeviceId, role: DeviceRole, location: Uuid) -> Credential {
    Credential {
        device_id: device,
        tenant_id: TENANT,
        location_id: location,
        role,
        public_key: PublicKey([3; 32]),
        expires_at_ms: NOW + 86_400_000,
    }
}

fn take_out(order: u128) -> DomainEvent {
    DomainEvent::OrderOpened(OrderOpened {
        order_id: OrderId(Uuid::from_u128(order)),
        currency: Currency::USD,
        mode: ServiceMode::TakeOut,
        table: None,
        guests: None,
        opened_by: None,
    })
}

#[test]
fn a_lan_peers_own_facts_are_admitted_on_its_credential_until_its_record_arrives() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut kds = enrolled(&dir, KDS, 2, "kds")?;
    kds.apply_remote(&reference_log(&dir)?)?;

    // A POS met only over the LAN: no device record here, a credential proved at the
    // handshake. Its order folds on the credential's role and location; what a POS may
    // not write (staff) does not.
    let pos = credential(STRANGER, DeviceRole::Pos, LOCATION);
    let owner = seed::staff()
        .into_iter()
        .find_map(|c| match c {
            Command::PublishStaff(s) => Some(Staff { role: Role::Owner, ..s }),
            _ => None,
        })
        .context("demo staff")?;
    let facts = chain(
        STRANGER,
        ChainTip::GENESIS,
        NOW,
        &[fact(&take_out(0x1a)), fact(&DomainEvent::StaffUpserted(owner))],
    )?;
    let applied = kds.apply_from_peer(&facts, Some(&pos))?;
    ensure!(applied.stored == 2 && applied.quarantined == 1, "{applied:?}");
    ensure!(kds.order(OrderId(Uuid::from_u128(0x1a)))?.is_some(), "folded on its credential");

    // The same without a credential waits for the author's record; a credential of
    // another tenant is not kept, nor one for another location taken as this one's.
    let other_tenant = Credential {
        tenant_id: Uuid::from_u128(0xbad),
        ..credential(LATE, DeviceRole::Pos, LOCATION)
    };
    let early = chain(LATE, ChainTip::GENESIS, NOW, &[fact(&take_out(0x1b))])?;
    let applied = kds.apply_from_peer(&early, Some(&other_tenant))?;
    ensure!(applied.quarantined == 1, "{applied:?}");
    ensure!(kds.order(OrderId(Uuid::from_u128(0x1b)))?.is_none());

    // A POS of another location of the tenant, met over the LAN, writes only about its own
    // location's orders: closing this location's check is refused.
    let elsewhere = credential(FAR, DeviceRole::Pos, Uuid::from_u128(0xe15e));
    let close = DomainEvent::OrderClosed(OrderClosed {
        order_id: OrderId(Uuid::from_u128(0x1a)),
        closed_by: None,
    });
    let reach = chain(FAR, ChainTip::GENESIS, NOW + 1, &[fact(&close)])?;
    let applied = kds.apply_from_peer(&reach, Some(&elsewhere))?;
    ensure!(applied.quarantined == 1, "{applied:?}");
    ensure!(
        kds.order(OrderId(Uuid::from_u128(0x1a)))?.context("the order")?.order.closed.is_none()
    );
    Ok(())
}

#[test]
fn a_revoked_devices_later_facts_are_taken_back_when_the_revocation_arrives() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut kds = enrolled(&dir, KDS, 2, "kds")?;
    let reference = reference_log(&dir)?;
    kds.apply_remote(&reference)?;
    // The POS opens a check before the hub revokes it and one after; both reach the
    // kitchen before the revocation does, and both fold.
    let before = chain(POS, ChainTip::GENESIS, NOW + 1_000, &[fact(&take_out(0x2a))])?;
    let after = chain(POS, ChainTip::of(&before[0].0), NOW + 5_000, &[fact(&take_out(0x2b))])?;
    kds.apply_remote(&before)?;
    kds.apply_remote(&after)?;
    ensure!(kds.order(OrderId(Uuid::from_u128(0x2b)))?.is_some());
    // The revocation, dated between them, arrives.
    let revoked = DomainEvent::DeviceRevoked(thorbis_domain::device::DeviceRevoked {
        device_id: Uuid::from_bytes(POS.0),
        revoked_at_ms: NOW + 2_000,
    });
    let tip = ChainTip::of(&reference.last().context("events")?.0);
    let applied = kds.apply_remote(&chain(REFERENCE_LOG, tip, NOW + 6_000, &[fact(&revoked)])?)?;
    ensure!(applied.taken_back == 1, "{applied:?}");
    ensure!(kds.order(OrderId(Uuid::from_u128(0x2a)))?.is_some(), "written before: kept");
    ensure!(kds.order(OrderId(Uuid::from_u128(0x2b)))?.is_none(), "written after: taken back");
    let held = kds.quarantined(10)?;
    ensure!(
        held.iter().any(|q| q.event.device_id == POS && q.event.seq == 2 && q.code == "revoked")
    );
    // A rebuild agrees.
    let digest = kds.projection_digest()?;
    kds.rebuild_projections()?;
    ensure!(kds.projection_digest()? == digest);
    Ok(())
}
