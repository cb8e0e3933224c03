//! A device's log as the hub stores it, exported whole for an audit
//! ([`thorbis_sync_protocol::export`]): every event and every checkpoint the device signed,
//! the tenant's public key and, for a terminal, its credential signed by the tenant key.
//! The console verifies the export the same way `thorbis-hub verify-export` does offline.

use thorbis_sync_protocol::export::{EXPORT_FORMAT, LogExport};
use thorbis_sync_protocol::{Credential, DeviceId, DeviceKey, DeviceRole, PublicKey};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::log::stored_event;
use crate::store::{Fault, Store, faults};

/// Why no export was made.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The tenant holds no log by that id.
    #[error("no log of device {0} in this tenant")]
    NoLog(Uuid),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(AuditError);

/// The whole log of `device` in `tenant`, for [`thorbis_sync_protocol::export::audit`]:
/// an enrolled device's, or the tenant's reference log (`device` = the tenant id). The
/// staff and dispatch logs are not exported: staff records carry PIN hashes, which a
/// 4-digit PIN does not protect once they leave the hub.
pub async fn export(store: &Store, tenant: Uuid, device: Uuid) -> Result<LogExport, AuditError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let tenant_key: Vec<u8> = tx
        .query_one("SELECT public_key FROM tenants WHERE tenant_id = $1", &[&tenant])
        .await?
        .get(0);
    let tenant_public_key = PublicKey(
        tenant_key.try_into().map_err(|_| Fault::Corrupt("a tenant key is not 32 bytes".into()))?,
    );
    let device_id = DeviceId::from_bytes(device.into_bytes());
    let enrolled = tx
        .query_opt(
            "SELECT location_id, role, public_key, credential_expires_at_ms FROM devices
              WHERE tenant_id = $1 AND device_id = $2",
            &[&tenant, &device],
        )
        .await?;
    let rows = tx
        .query(
            "SELECT seq, hlc_wall_ms, hlc_counter, prev_hash, kind, payload, signature, hash
               FROM events WHERE tenant_id = $1 AND device_id = $2 ORDER BY seq",
            &[&tenant, &device],
        )
        .await?;
    let credential = match &enrolled {
        Some(row) => {
            let role: String = row.get(1);
            let key: Vec<u8> = row.get(2);
            let credential = Credential {
                device_id,
                tenant_id: tenant,
                location_id: row.get(0),
                role: DeviceRole::parse(&role)
                    .ok_or_else(|| Fault::Corrupt(format!("stored role {role:?}")))?,
                public_key: PublicKey(
                    key.try_into()
                        .map_err(|_| Fault::Corrupt("a device key is not 32 bytes".into()))?,
                ),
                expires_at_ms: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
            };
            let pkcs8 = store
                .tenant_pkcs8(&tx, tenant)
                .await?
                .ok_or_else(|| Fault::Corrupt(format!("tenant {tenant} has no key")))?;
            let signer =
                DeviceKey::from_pkcs8(&pkcs8).map_err(|e| Fault::Corrupt(e.to_string()))?;
            let signature = signer.sign_credential(&credential);
            Some((credential, signature))
        }
        None => None,
    };
    tx.commit().await?;
    if enrolled.is_none() && device != tenant {
        return Err(AuditError::NoLog(device));
    }
    let mut events = Vec::with_capacity(rows.len());
    let mut checkpoints = Vec::new();
    for row in &rows {
        let seq = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        // Every signed row is a checkpoint of the export.
        let (event, checkpoint) = stored_event(device_id, row, seq)?;
        events.push(event);
        checkpoints.extend(checkpoint);
    }
    Ok(LogExport {
        format: EXPORT_FORMAT.into(),
        device_id,
        tenant_public_key,
        credential,
        events,
        checkpoints,
    })
}
