//! Work order dispatch: the hub-signed logs that carry work orders, and the console's
//! `work_orders` summary rows.
//!
//! A technician must receive the work orders assigned to it and nothing else of its
//! location. Device logs cannot be filtered (a subset of a hash chain does not verify), so
//! the hub writes what a technician may see into a log of its own:
//!
//! * the **dispatch log** of each technician ([`dispatch_log`]): `work_order.dispatched`
//!   with a full snapshot (every Automerge change so far) when a work order is assigned to
//!   it, then `work_order.changed` for the dispatcher's edits while it stays assigned. When
//!   the work order is reassigned, the previous technician's log gets one last
//!   `work_order.dispatched` naming the new technician with no changes, and nothing more.
//! * the tenant's **desk log** ([`desk_log`]): the dispatcher's changes to work orders not
//!   assigned to anyone (the first change of each work order is written here). No device
//!   ever pulls it; it exists so that every change the hub knows is an event in a verified
//!   log, folded by the same `thorbis_domain::project` as everything else.
//!
//! Both are signed with the tenant key, like the reference-data log, and their device ids
//! are derived (SHA-256 of a label, the tenant and the technician, as a version-8 UUID), so
//! they never collide with an enrolled device (UUIDv7) or the reference log (the tenant id)
//! and need no table. Each log's device id is also the Automerge actor of the changes it
//! carries, which is what the domain's fold checks.
//!
//! Devices never write `work_order.dispatched` (`DomainEvent::is_hub_only`, checked on push).
//!
//! The summary rows are refreshed from the folded `WorkOrder` aggregate by
//! [`write_summaries`], called from the projection for every work order a fold touched,
//! whichever log the event came from (a technician's push included).

use deadpool_postgres::Transaction;
use thorbis_domain::work_order::WorkOrder;
use thorbis_sync_protocol::DeviceId;
use uuid::Uuid;

/// The device id of `technician`'s dispatch log in `tenant` (the protocol's derivation,
/// which the technician's agent uses too).
pub use thorbis_sync_protocol::dispatch_log;

/// The device id of `tenant`'s work order desk log.
#[must_use]
pub fn desk_log(tenant: Uuid) -> DeviceId {
    thorbis_sync_protocol::tenant_log(b"thorbis-edge work order desk\0", tenant, None)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Refreshes the summary rows of the work orders in `folded` from their merged documents.
/// Work orders the console never created (a change pushed for an unknown id) have no row
/// and are left alone.
pub async fn write_summaries(
    tx: &Transaction<'_>,
    tenant: Uuid,
    folded: &[(Uuid, WorkOrder)],
) -> Result<(), tokio_postgres::Error> {
    let views: Vec<_> =
        folded.iter().filter_map(|(id, order)| order.view().map(|v| (*id, v))).collect();
    if views.is_empty() {
        return Ok(());
    }
    // Boxed: it keeps the futures of every fold that ends here small.
    Box::pin(crate::blobs::write_files(tx, tenant, &views)).await?;
    let ids: Vec<Uuid> = views.iter().map(|(id, _)| *id).collect();
    let titles: Vec<&str> = views.iter().map(|(_, v)| v.title.as_str()).collect();
    let customers: Vec<&str> = views.iter().map(|(_, v)| v.customer.as_str()).collect();
    let sites: Vec<&str> = views.iter().map(|(_, v)| v.site_address.as_str()).collect();
    let statuses: Vec<&str> = views.iter().map(|(_, v)| v.status.as_str()).collect();
    let starts: Vec<i64> = views.iter().map(|(_, v)| v.window.start_ms).collect();
    let ends: Vec<i64> = views.iter().map(|(_, v)| v.window.end_ms).collect();
    let currencies: Vec<&str> = views.iter().map(|(_, v)| v.currency.code()).collect();
    let parts: Vec<i64> = views.iter().map(|(_, v)| v.totals.parts.0).collect();
    let labour: Vec<i64> = views.iter().map(|(_, v)| v.totals.labour.0).collect();
    let totals: Vec<i64> = views.iter().map(|(_, v)| v.totals.total.0).collect();
    let notes: Vec<i32> = views.iter().map(|(_, v)| count(v.notes.len())).collect();
    let done: Vec<i32> =
        views.iter().map(|(_, v)| count(v.checklist.iter().filter(|i| i.done).count())).collect();
    let items: Vec<i32> = views.iter().map(|(_, v)| count(v.checklist.len())).collect();
    let signed: Vec<bool> = views.iter().map(|(_, v)| v.signature.is_some()).collect();
    tx.execute(
        &tx.prepare_cached(
            "UPDATE work_orders w SET title = u.title, customer = u.customer,
                 site_address = u.site, status = u.status, window_start_ms = u.ws,
                 window_end_ms = u.we, currency = u.currency, parts_total = u.parts,
                 labour_total = u.labour, total = u.total, notes = u.notes,
                 checklist_done = u.done, checklist_items = u.items, signed = u.signed
               FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::bigint[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[],
                    $12::bigint[], $13::int[], $14::int[], $15::int[], $16::bool[])
                 AS u(id, title, customer, site, status, ws, we, currency, parts, labour,
                      total, notes, done, items, signed)
              WHERE w.tenant_id = $1 AND w.work_order_id = u.id",
        )
        .await?,
        &[
            &tenant,
            &ids,
            &titles,
            &customers,
            &sites,
            &statuses,
            &starts,
            &ends,
            &currencies,
            &parts,
            &labour,
            &totals,
            &notes,
            &done,
            &items,
            &signed,
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_logs_are_distinct_version_8_ids() {
        let tenant = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let tech_a = DeviceId::from_bytes([1; 16]);
        let tech_b = DeviceId::from_bytes([2; 16]);
        let ids = [desk_log(tenant), dispatch_log(tenant, tech_a), dispatch_log(tenant, tech_b)];
        for id in ids {
            assert_eq!(id.0[6] >> 4, 8, "{id}");
            assert_ne!(id.0, *tenant.as_bytes());
        }
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        assert_eq!(dispatch_log(tenant, tech_a), ids[1], "derivation is deterministic");
    }
}
