//! A tenant's locations and their settings: address, time zone (a report day is a local
//! day of its location), currency and default tax rate.
//!
//! Time zones are the IANA names Postgres knows (`pg_timezone_names`), so every local day
//! the reports compute is computed by the database that stores the orders, with its own
//! time zone rules.

use thorbis_domain::Currency;
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::store::{Fault, Store, faults};

/// Why a location change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// No such location in the tenant.
    #[error("no location {0}")]
    NoLocation(Uuid),
    /// The currency was set and is in use: sales or catalog prices are in it.
    #[error(
        "the location's currency is {0} and it has sales or the catalog has prices in it: it \
         cannot change (open a new location for another currency)"
    )]
    CurrencyInUse(String),
    /// The time zone is not one Postgres knows.
    #[error("{0:?} is not a time zone name such as Europe/Paris or America/New_York")]
    UnknownTimeZone(String),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

faults!(LocationError);

/// A location as the console shows and edits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The location.
    pub location_id: Uuid,
    /// Its settings.
    pub settings: LocationSettings,
}

/// What a manager sets on a location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationSettings {
    /// Its name.
    pub name: String,
    /// Its street address, free text.
    pub address: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// Its currency, once set.
    pub currency: Option<Currency>,
    /// Its default tax rate in basis points.
    pub default_tax_bps: u32,
}

pub(crate) fn currency_from(code: Option<String>, exponent: Option<i16>) -> Option<Currency> {
    let code: [u8; 3] = code?.into_bytes().try_into().ok()?;
    Some(Currency { code, exponent: u8::try_from(exponent?).ok()? })
}

/// The locations of `tenant`, by name.
pub async fn locations(store: &Store, tenant: Uuid) -> Result<Vec<Location>, LocationError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT location_id, name, address, time_zone, currency_code, currency_exponent,
                    default_tax_bps
               FROM locations WHERE tenant_id = $1 ORDER BY name, location_id",
            &[&tenant],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| Location {
            location_id: r.get(0),
            settings: LocationSettings {
                name: r.get(1),
                address: r.get(2),
                time_zone: r.get(3),
                currency: currency_from(r.get(4), r.get(5)),
                default_tax_bps: r.get::<_, i32>(6).try_into().unwrap_or(0),
            },
        })
        .collect())
}

/// Whether Postgres knows `time_zone` (an IANA name), as [`update_location`] will check it.
pub async fn check_time_zone(store: &Store, time_zone: &str) -> Result<(), LocationError> {
    let client = store.pool.get().await?;
    let known =
        client.query_opt("SELECT 1 FROM pg_timezone_names WHERE name = $1", &[&time_zone]).await?;
    known.map(drop).ok_or_else(|| LocationError::UnknownTimeZone(time_zone.to_owned()))
}

/// Replaces the settings of `tenant`'s `location`. The caller has checked the fields'
/// lengths and ranges; the time zone is checked here, against the database's list.
pub async fn update_location(
    store: &Store,
    tenant: Uuid,
    location: Uuid,
    settings: &LocationSettings,
) -> Result<(), LocationError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let known = tx
        .query_opt("SELECT 1 FROM pg_timezone_names WHERE name = $1", &[&settings.time_zone])
        .await?;
    if known.is_none() {
        return Err(LocationError::UnknownTimeZone(settings.time_zone.clone()));
    }
    // Amounts are stored in minor units of the currency they were made in: once sales or
    // prices exist in a location's currency, another would misread every one of them.
    let stored = tx
        .query_opt(
            "SELECT currency_code, currency_exponent FROM locations
              WHERE tenant_id = $1 AND location_id = $2 FOR UPDATE",
            &[&tenant, &location],
        )
        .await?
        .ok_or(LocationError::NoLocation(location))?;
    if let Some(old) = currency_from(stored.get(0), stored.get(1))
        && settings.currency != Some(old)
    {
        let in_use = tx
            .query_opt(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM orders WHERE tenant_id = $1 AND location_id = $2)
                    OR EXISTS (SELECT 1 FROM aggregates WHERE tenant_id = $1
                                  AND kind IN ('item', 'modifier_group'))",
                &[&tenant, &location],
            )
            .await?;
        if in_use.is_some() {
            return Err(LocationError::CurrencyInUse(old.code().to_owned()));
        }
    }
    let code = settings.currency.map(|c| c.code().to_owned());
    let exponent = settings.currency.map(|c| i16::from(c.exponent));
    let tax = i32::try_from(settings.default_tax_bps).unwrap_or(i32::MAX);
    let updated = tx
        .execute(
            "UPDATE locations SET name = $3, address = $4, time_zone = $5, currency_code = $6,
                    currency_exponent = $7, default_tax_bps = $8
              WHERE tenant_id = $1 AND location_id = $2",
            &[
                &tenant,
                &location,
                &settings.name,
                &settings.address,
                &settings.time_zone,
                &code,
                &exponent,
                &tax,
            ],
        )
        .await?;
    if updated == 0 {
        return Err(LocationError::NoLocation(location));
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, location_id = %location, "location settings changed");
    Ok(())
}
