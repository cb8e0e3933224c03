//! Staff published to the terminals, location by location.
//!
//! A member of staff is a `catalog.staff_upserted` record carrying only the argon2id hash
//! of their PIN (hashed by [`crate::accounts::hash_pin`]), and the locations they work at
//! (none: every location). The hub keeps the records on the tenant's **staff record log**
//! ([`record_log`]: hub-signed, folded into the `Staff` aggregate, pulled by no device) and
//! copies each to the **staff log of every location where they work**
//! ([`thorbis_sync_protocol::staff_log`]), which that location's store terminals pull. So a
//! terminal holds the PIN hashes of its own location's staff only, and a technician's
//! laptop none.
//!
//! - A record naming no location is copied to every location's log, and to a new
//!   location's log when the location is created ([`copy_to_new_location`]).
//! - When someone stops working at a location, that location's log gets their new record
//!   (which no longer names it, so its terminals stop signing them in) with the PIN hash it
//!   already held: a location never receives the hash of someone who does not work there.
//!
//! Publications of one tenant's staff, and the creation of its locations, take the
//! tenant's row lock ([`lock`]) in turn, so a record and the list of locations it is
//! copied to cannot change under each other.

use deadpool_postgres::Transaction;
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::{Role, Staff, looks_like_argon2id_phc};
use thorbis_domain::fold::{CatalogRecord, Versioned};
use thorbis_domain::ids::{LocationId, StaffId};
use thorbis_sync_protocol::{DeviceId, staff_log, tenant_log};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::log::{self, Fold, LogError, hub_log};
use crate::store::{Fault, Store, faults};

/// Why staff could not be published.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// An update without a PIN for staff the tenant does not have.
    #[error("no staff {0} in this tenant; to create them, send a pin (4 to 8 digits)")]
    NoStaff(Uuid),
    /// A record names a location the tenant does not have.
    #[error("no location {0} in this tenant")]
    NoLocation(Uuid),
    /// Publishing to a log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(StaffError);

/// The tenant's staff record log: every staff record the hub published, in order.
#[must_use]
pub fn record_log(tenant: Uuid) -> DeviceId {
    tenant_log(b"thorbis-edge staff records\0", tenant, None)
}

/// Takes `tenant`'s staff lock for the rest of `tx` (see the module docs): the tenant's row
/// (`FOR NO KEY UPDATE`, so rows referencing the tenant can still be written meanwhile),
/// then the tips of the logs a publication may write, in id order like a push takes its
/// tips, so the two cannot wait for each other: the staff record log, every location's
/// staff log and, with `reference`, the reference log.
pub(crate) async fn lock(tx: &Transaction<'_>, tenant: Uuid, reference: bool) -> Result<(), Fault> {
    tx.execute("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR NO KEY UPDATE", &[&tenant]).await?;
    let mut logs: Vec<Uuid> =
        locations(tx, tenant).await?.into_iter().map(|l| log::uuid(staff_log(tenant, l))).collect();
    logs.push(log::uuid(record_log(tenant)));
    if reference {
        logs.push(log::uuid(hub_log(tenant)));
    }
    tx.query(
        "SELECT 1 FROM chain_tips WHERE tenant_id = $1 AND device_id = ANY($2)
          ORDER BY device_id FOR UPDATE",
        &[&tenant, &logs],
    )
    .await?;
    Ok(())
}

/// The folded record of member `id`, read under the lock.
async fn current(tx: &Transaction<'_>, tenant: Uuid, id: Uuid) -> Result<Option<Staff>, Fault> {
    let row = tx
        .query_opt(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 AND id = $3",
            &[&tenant, &<Staff as CatalogRecord>::KIND, &id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let folded: Versioned<Staff> = serde_json::from_value(row.get(0))
        .map_err(|e| Fault::Corrupt(format!("stored staff aggregate: {e}")))?;
    Ok(folded.value().cloned())
}

/// The tenant's locations, in id order.
async fn locations(tx: &Transaction<'_>, tenant: Uuid) -> Result<Vec<Uuid>, Fault> {
    let rows = tx
        .query(
            "SELECT location_id FROM locations WHERE tenant_id = $1 ORDER BY location_id",
            &[&tenant],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The locations of `all` where `staff` works.
fn working_at(staff: &Staff, all: &[Uuid]) -> Vec<Uuid> {
    all.iter().copied().filter(|l| staff.works_at(LocationId(*l))).collect()
}

/// Publishes `staff` inside `tx`, which holds the tenant's staff lock: on the record log
/// (folded), then copied to the staff logs of its locations and of those it left. Returns
/// each log written with its first and last seq.
async fn append(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    staff: Staff,
) -> Result<Vec<(DeviceId, u64, u64)>, StaffError> {
    let all = locations(tx, tenant).await?;
    if let Some(unknown) = staff.locations.iter().find(|l| !all.contains(&l.0)) {
        return Err(StaffError::NoLocation(unknown.0));
    }
    let previous = current(tx, tenant, staff.id.0).await?;
    let mut written = Vec::new();
    let record = record_log(tenant);
    let (from, to) =
        log::append(store, tx, tenant, record, vec![DomainEvent::StaffUpserted(staff.clone())])
            .await?;
    written.push((record, from, to));
    let now_at = working_at(&staff, &all);
    let mut copies: Vec<(Uuid, Staff)> = now_at.iter().map(|l| (*l, staff.clone())).collect();
    if let Some(previous) = previous {
        for left in working_at(&previous, &all).into_iter().filter(|l| !now_at.contains(l)) {
            copies.push((left, Staff { pin_hash: previous.pin_hash.clone(), ..staff.clone() }));
        }
    }
    for (location, copy) in copies {
        let log = staff_log(tenant, location);
        let (from, to) = log::append_copy(
            store,
            tx,
            tenant,
            log,
            vec![DomainEvent::StaffUpserted(copy)],
            Fold::No,
        )
        .await?;
        written.push((log, from, to));
    }
    Ok(written)
}

/// Copies the records of the staff who work at every location to the staff log of
/// `location`, just created inside `tx` (which holds the tenant's staff lock), so its
/// terminals sign them in.
pub(crate) async fn copy_to_new_location(
    store: &Store,
    tx: &Transaction<'_>,
    tenant: Uuid,
    location: Uuid,
) -> Result<(), LogError> {
    let rows = tx
        .query(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 ORDER BY id",
            &[&tenant, &<Staff as CatalogRecord>::KIND],
        )
        .await?;
    let mut everywhere = Vec::new();
    for row in rows {
        let folded: Versioned<Staff> = serde_json::from_value(row.get(0))
            .map_err(|e| Fault::Corrupt(format!("stored staff aggregate: {e}")))?;
        if let Some(staff) = folded.value().filter(|s| s.locations.is_empty()) {
            everywhere.push(DomainEvent::StaffUpserted(staff.clone()));
        }
    }
    if !everywhere.is_empty() {
        log::append_copy(store, tx, tenant, staff_log(tenant, location), everywhere, Fold::No)
            .await?;
    }
    Ok(())
}

/// Publishes reference data in one transaction and wakes live pulls: staff records as
/// the module docs say, everything else on the tenant's reference log ([`hub_log`]).
/// Returns each log written with its first and last seq, the reference log first.
pub async fn publish_reference(
    store: &Store,
    tenant: Uuid,
    domain: Vec<DomainEvent>,
) -> Result<Vec<(DeviceId, u64, u64)>, StaffError> {
    let (staff, reference): (Vec<_>, Vec<_>) =
        domain.into_iter().partition(|e| matches!(e, DomainEvent::StaffUpserted(_)));
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let mut written = Vec::new();
    if !staff.is_empty() {
        lock(&tx, tenant, true).await?;
    }
    if !reference.is_empty() {
        let (from, to) = log::append(store, &tx, tenant, hub_log(tenant), reference).await?;
        written.push((hub_log(tenant), from, to));
    }
    for event in staff {
        if let DomainEvent::StaffUpserted(record) = event {
            written.extend(append(store, &tx, tenant, record).await?);
        }
    }
    tx.commit().await?;
    store.notify(tenant);
    tracing::info!(%tenant, ?written, "reference data published");
    Ok(written)
}

/// A member of staff as published, without the PIN hash.
#[derive(Debug)]
pub struct Published {
    /// The record published.
    pub staff: Staff,
    /// Its seq in the staff record log.
    pub seq: u64,
}

/// What a staff publication says about a member.
#[derive(Debug)]
pub struct Member {
    /// Their id: new members get one from the caller.
    pub id: Uuid,
    /// Their name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Whether they may sign in.
    pub active: bool,
    /// Where they work, empty for every location; `None` keeps what the current record
    /// says (every location for a new member).
    pub locations: Option<Vec<Uuid>>,
}

/// Creates or replaces `member` of `tenant`'s staff and publishes it. Without
/// `new_pin_hash` the current PIN hash is kept (the member must exist).
pub async fn publish(
    store: &Store,
    tenant: Uuid,
    member: Member,
    new_pin_hash: Option<String>,
) -> Result<Published, StaffError> {
    let Member { id, name, role, active, locations } = member;
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    // Under the lock, a concurrent publication of the same member (a PIN change) either
    // committed before, and its hash is the one read, or waits for this one: an update
    // without a PIN never restores an old PIN.
    lock(&tx, tenant, false).await?;
    let current = current(&tx, tenant, id).await?;
    let pin_hash = match (new_pin_hash, &current) {
        (Some(hash), _) => hash,
        (None, Some(current)) => current.pin_hash.clone(),
        (None, None) => return Err(StaffError::NoStaff(id)),
    };
    if !looks_like_argon2id_phc(&pin_hash) {
        return Err(Fault::Corrupt("a staff PIN hash is not an argon2id PHC string".into()).into());
    }
    let mut locations: Vec<LocationId> = match (locations, current) {
        (Some(locations), _) => locations.into_iter().map(LocationId).collect(),
        (None, Some(current)) => current.locations,
        (None, None) => Vec::new(),
    };
    locations.sort_unstable_by_key(|l| l.0);
    locations.dedup();
    let staff = Staff { id: StaffId(id), name, role, pin_hash, active, locations };
    let written = append(store, &tx, tenant, staff.clone()).await?;
    tx.commit().await?;
    store.notify(tenant);
    let seq = written.first().map_or(0, |(_, _, to)| *to);
    tracing::info!(%tenant, staff_id = %id, seq, "staff published");
    Ok(Published { staff, seq })
}
