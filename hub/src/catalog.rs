//! The tenant's catalog as the hub folded it from its own reference log: items,
//! categories, modifier groups, tax categories and rates, for the console to show and edit.
//! Changes are published through [`crate::staff::publish_reference`], as hub-signed
//! reference events every terminal pulls.

use thorbis_domain::Currency;
use thorbis_domain::fold::{CatalogRecord, Versioned};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::locations::currency_from;
use crate::store::{Fault, Store};

/// Every current record of type `T` in `tenant`'s catalog, in id order.
pub async fn records<T: CatalogRecord>(store: &Store, tenant: Uuid) -> Result<Vec<T>, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2 ORDER BY id",
            &[&tenant, &T::KIND],
        )
        .await?;
    tx.commit().await?;
    rows.iter()
        .filter_map(|row| {
            let folded: Result<Versioned<T>, _> = serde_json::from_value(row.get(0));
            match folded {
                Ok(v) => v.current.map(|s| Ok(s.value)),
                Err(e) => Some(Err(Fault::Corrupt(format!("stored {} record: {e}", T::KIND)))),
            }
        })
        .collect()
}

/// The currency catalog prices are typed in: the one the tenant's locations have set, if
/// they agree on one. `Err` names the currencies when they do not.
pub async fn currency(store: &Store, tenant: Uuid) -> Result<Result<Currency, String>, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT DISTINCT currency_code, currency_exponent FROM locations
              WHERE tenant_id = $1 AND currency_code IS NOT NULL ORDER BY currency_code",
            &[&tenant],
        )
        .await?;
    tx.commit().await?;
    let currencies: Vec<Currency> =
        rows.iter().filter_map(|r| currency_from(r.get(0), r.get(1))).collect();
    Ok(match currencies.as_slice() {
        [one] => Ok(*one),
        [] => Err("set a location's currency first (Locations): prices are in it".into()),
        many => Err(format!(
            "the locations use {}: one catalog price cannot be in all of them",
            many.iter().map(Currency::code).collect::<Vec<_>>().join(", ")
        )),
    })
}
