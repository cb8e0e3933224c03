//! Staff published to the terminals: a member of staff is a `catalog.staff_upserted`
//! event of the tenant's reference log, carrying only the argon2id hash of their PIN
//! (hashed by [`crate::accounts::hash_pin`]); the current record is the tenant's folded
//! `Staff` aggregate.

use deadpool_postgres::Transaction;
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::{Role, Staff, looks_like_argon2id_phc};
use thorbis_domain::fold::{CatalogRecord, Versioned};
use thorbis_domain::ids::StaffId;
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::log::{self, LogError};
use crate::store::{Fault, Store, faults};
use thorbis_sync_protocol::staff_log;

/// Why staff could not be published.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// An update without a PIN for staff the tenant does not have.
    #[error("no staff {0} in this tenant; to create them, send a pin (4 to 8 digits)")]
    NoStaff(Uuid),
    /// Publishing to the reference log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(StaffError);

/// A member of staff as published, without the PIN hash.
#[derive(Debug)]
pub struct Published {
    /// The record published.
    pub staff: Staff,
    /// Its seq in the reference log.
    pub seq: u64,
}

/// The current PIN hash of `staff`, from the tenant's folded `Staff` aggregate, read
/// inside `tx` after locking the tenant's reference log: a concurrent publication of the
/// same member (a PIN change) either committed before, and its hash is the one read, or
/// waits for this transaction, so an update without a PIN never restores an old PIN.
async fn current_pin_hash(
    tx: &Transaction<'_>,
    tenant: Uuid,
    staff: Uuid,
) -> Result<Option<String>, StaffError> {
    // Serialized with other publications of staff by the staff log's tip.
    tx.execute(
        "SELECT 1 FROM chain_tips WHERE tenant_id = $1 AND device_id = $2 FOR UPDATE",
        &[&tenant, &crate::log::uuid(staff_log(tenant))],
    )
    .await?;
    let row = tx
        .query_opt(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 AND id = $3",
            &[&tenant, &<Staff as CatalogRecord>::KIND, &staff],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let folded: Versioned<Staff> = serde_json::from_value(row.get(0))
        .map_err(|e| Fault::Corrupt(format!("stored staff aggregate: {e}")))?;
    Ok(folded.value().map(|s| s.pin_hash.clone()))
}

/// Creates or replaces member `id` of `tenant`'s staff and publishes it. Without
/// `new_pin_hash` the current PIN hash is kept (the member must exist).
pub async fn publish(
    store: &Store,
    tenant: Uuid,
    id: Uuid,
    name: String,
    role: Role,
    active: bool,
    new_pin_hash: Option<String>,
) -> Result<Published, StaffError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let pin_hash = match new_pin_hash {
        Some(hash) => hash,
        None => current_pin_hash(&tx, tenant, id).await?.ok_or(StaffError::NoStaff(id))?,
    };
    if !looks_like_argon2id_phc(&pin_hash) {
        return Err(Fault::Corrupt("a staff PIN hash is not an argon2id PHC".into()).into());
    }
    let staff = Staff { id: StaffId(id), name, role, pin_hash, active };
    let (_, seq) = log::append(
        store,
        &tx,
        tenant,
        staff_log(tenant),
        vec![DomainEvent::StaffUpserted(staff.clone())],
    )
    .await?;
    tx.commit().await?;
    store.notify(tenant);
    tracing::info!(%tenant, staff_id = %id, seq, "staff published");
    Ok(Published { staff, seq })
}
