//! What the console's pages read about a tenant's business: today so far per location, and
//! the state of its fleet. Every figure is read under the tenant's row-level security from
//! the projections [`crate::projection`] keeps; a location's day is its local day, computed
//! by Postgres from the location's time zone.

use thorbis_domain::{Currency, Money};
use uuid::Uuid;

use crate::db::tenant_tx;
use crate::locations::currency_from;
use crate::store::{Fault, Store};

/// A device heard from within this long is online.
pub const ONLINE_WITHIN_MS: i64 = 5 * 60 * 1000;

/// Sales of a span of a location's day: closed orders, and their net (after discounts,
/// comps and voids, before tax), in minor units of the location's currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sales {
    /// Orders closed.
    pub orders: i64,
    /// Their net.
    pub net: Money,
}

impl Sales {
    /// The average check, if any order closed.
    #[must_use]
    pub fn average(&self) -> Option<Money> {
        (self.orders > 0).then(|| {
            Money(thorbis_domain::money::div_round(i128::from(self.net.0), i128::from(self.orders)))
        })
    }
}

/// One location's day so far.
#[derive(Clone, Debug)]
pub struct LocationToday {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its time zone.
    pub time_zone: String,
    /// Its currency, if set.
    pub currency: Option<Currency>,
    /// From the location's midnight until now.
    pub today: Sales,
    /// The same weekday a week ago, from midnight until the same time of day.
    pub last_week: Sales,
    /// Orders open now.
    pub open_checks: i64,
    /// Today's weekday at the location, in English ("Monday").
    pub weekday: String,
}

/// What the console's home page shows.
#[derive(Clone, Debug, Default)]
pub struct Home {
    /// Each location, by name.
    pub locations: Vec<LocationToday>,
    /// Unrevoked devices heard from within [`ONLINE_WITHIN_MS`].
    pub devices_online: i64,
    /// Unrevoked devices not heard from since.
    pub devices_offline: i64,
    /// Alerts nobody acknowledged yet.
    pub open_alerts: i64,
}

/// Today so far for every location of `tenant`, and its fleet, at the store's time.
pub async fn home(store: &Store, tenant: Uuid) -> Result<Home, Fault> {
    let now = store.now_i64();
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    // A location's midnight, and a week before it and before now, as local wall times
    // turned back into instants by the location's own rules (so a week that crossed a
    // daylight-saving change still compares the same hours of the day).
    let rows = tx
        .query(
            "WITH spans AS (
                 SELECT l.location_id, l.name, l.time_zone, l.currency_code, l.currency_exponent,
                        local.wall, to_char(local.wall, 'FMDay') AS weekday,
                        (extract(epoch FROM date_trunc('day', local.wall) AT TIME ZONE l.time_zone)
                            * 1000)::bigint AS today_from,
                        (extract(epoch FROM (date_trunc('day', local.wall) - interval '7 days')
                            AT TIME ZONE l.time_zone) * 1000)::bigint AS week_from,
                        (extract(epoch FROM (local.wall - interval '7 days') AT TIME ZONE l.time_zone)
                            * 1000)::bigint AS week_to
                   FROM locations l,
                        LATERAL (SELECT to_timestamp($2::bigint / 1000.0) AT TIME ZONE l.time_zone AS wall) local
                  WHERE l.tenant_id = $1)
             SELECT s.location_id, s.name, s.time_zone, s.currency_code, s.currency_exponent,
                    today.orders, today.net, week.orders, week.net,
                    (SELECT count(*) FROM orders o
                      WHERE o.tenant_id = $1 AND o.location_id = s.location_id
                        AND o.status = 'open'),
                    s.weekday
               FROM spans s,
                    LATERAL (SELECT count(*) AS orders, coalesce(sum(net), 0)::bigint AS net
                               FROM orders o
                              WHERE o.tenant_id = $1 AND o.location_id = s.location_id
                                AND o.status = 'closed'
                                AND o.closed_at_ms >= s.today_from AND o.closed_at_ms <= $2) today,
                    LATERAL (SELECT count(*) AS orders, coalesce(sum(net), 0)::bigint AS net
                               FROM orders o
                              WHERE o.tenant_id = $1 AND o.location_id = s.location_id
                                AND o.status = 'closed'
                                AND o.closed_at_ms >= s.week_from AND o.closed_at_ms <= s.week_to) week
              ORDER BY s.name, s.location_id",
            &[&tenant, &now],
        )
        .await?;
    let fleet = tx
        .query_one(
            "SELECT count(*) FILTER (WHERE last_seen_at_ms >= $2),
                    count(*) FILTER (WHERE last_seen_at_ms < $2),
                    (SELECT count(*) FROM alerts
                      WHERE tenant_id = $1 AND acknowledged_at_ms IS NULL)
               FROM devices WHERE tenant_id = $1 AND revoked_at_ms IS NULL",
            &[&tenant, &(now - ONLINE_WITHIN_MS)],
        )
        .await?;
    tx.commit().await?;
    let locations = rows
        .iter()
        .map(|r| LocationToday {
            location_id: r.get(0),
            name: r.get(1),
            time_zone: r.get(2),
            currency: currency_from(r.get(3), r.get(4)),
            today: Sales { orders: r.get(5), net: Money(r.get(6)) },
            last_week: Sales { orders: r.get(7), net: Money(r.get(8)) },
            open_checks: r.get(9),
            weekday: r.get(10),
        })
        .collect();
    Ok(Home {
        locations,
        devices_online: fleet.get(0),
        devices_offline: fleet.get(1),
        open_alerts: fleet.get(2),
    })
}
