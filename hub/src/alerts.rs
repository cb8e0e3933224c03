//! What a manager must look at: forks, quarantined facts, devices over their storage
//! quota, revoked devices still trying to sync. The data layer that raises them lives with
//! what it watches ([`crate::log`]); this module lists them and records acknowledgements.

use uuid::Uuid;

use crate::db::tenant_tx;
use crate::store::{Fault, Store};

/// One alert.
#[derive(Clone, Debug)]
pub struct Alert {
    /// The alert.
    pub alert_id: Uuid,
    /// `fork`, `quarantine`, `quota`, `revoked_device`.
    pub kind: String,
    /// The device it is about, if one.
    pub device_id: Option<Uuid>,
    /// The event it is about, if one.
    pub seq: Option<i64>,
    /// What the hub recorded with it.
    pub detail: serde_json::Value,
    /// When it was raised.
    pub created_at_ms: i64,
    /// When a manager acknowledged it.
    pub acknowledged_at_ms: Option<i64>,
}

/// `tenant`'s alerts, unacknowledged first, newest first, at most `limit`.
pub async fn list(store: &Store, tenant: Uuid, limit: i64) -> Result<Vec<Alert>, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT alert_id, kind, device_id, seq, detail, created_at_ms, acknowledged_at_ms
               FROM alerts WHERE tenant_id = $1
              ORDER BY acknowledged_at_ms IS NOT NULL, created_at_ms DESC, alert_id
              LIMIT $2",
            &[&tenant, &limit],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| Alert {
            alert_id: r.get(0),
            kind: r.get(1),
            device_id: r.get(2),
            seq: r.get(3),
            detail: r.get(4),
            created_at_ms: r.get(5),
            acknowledged_at_ms: r.get(6),
        })
        .collect())
}

/// Records that console user `by` acknowledged `alert`; whether it was open.
pub async fn acknowledge(
    store: &Store,
    tenant: Uuid,
    alert: Uuid,
    by: Uuid,
) -> Result<bool, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let updated = tx
        .execute(
            "UPDATE alerts SET acknowledged_at_ms = $3, acknowledged_by = $4
              WHERE tenant_id = $1 AND alert_id = $2 AND acknowledged_at_ms IS NULL",
            &[&tenant, &alert, &store.now_i64(), &by],
        )
        .await?;
    tx.commit().await?;
    Ok(updated == 1)
}

/// Raises a `revoked_device` alert for `device` of `tenant`, which made a signed request
/// after it was revoked, unless one is open already (a device retrying raises one).
pub async fn revoked_device_seen(store: &Store, tenant: Uuid, device: Uuid) -> Result<(), Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    tx.execute(
        "INSERT INTO alerts (tenant_id, alert_id, kind, device_id, seq, detail, created_at_ms)
         SELECT t.tenant_id, $2, 'revoked_device', $3, NULL, '{}'::jsonb, $4 FROM tenants t
          WHERE t.tenant_id = $1
         ON CONFLICT (tenant_id, device_id) WHERE kind = 'revoked_device' AND acknowledged_at_ms IS NULL
         DO NOTHING",
        &[&tenant, &Uuid::now_v7(), &device, &store.now_i64()],
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(tenant_id = %tenant, device_id = %device, "a revoked device tried to sync");
    Ok(())
}
