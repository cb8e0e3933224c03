//! What the console's pages read about a tenant's business: today so far per location, and
//! the state of its fleet. Every figure is read under the tenant's row-level security from
//! the projections [`crate::projection`] keeps; a location's day is its local day, computed
//! by Postgres from the location's time zone.

use thorbis_domain::catalog::{Item, Staff};
use thorbis_domain::fold::{CatalogRecord, Versioned};
use thorbis_domain::ids::{LineId, OrderId, StaffId};
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
    // daylight-saving change still compares the same hours of the day). MATERIALIZED:
    // computed once per location, so the orders are found by a range scan of
    // `orders_closed_by_location` rather than each compared with a fresh computation.
    let rows = tx
        .query(
            "WITH spans AS MATERIALIZED (
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

/// What a report covers: one location, from one local date to another (both included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// The location.
    pub location: Uuid,
    /// First day, `YYYY-MM-DD`, local to the location.
    pub from: String,
    /// Last day, included.
    pub to: String,
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No such location in the tenant.
    #[error("no location {0}")]
    NoLocation(Uuid),
    /// Not the caller's fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

crate::store::faults!(ReportError);

/// A location's report context: its name, currency, time zone and today's local date.
#[derive(Clone, Debug)]
pub struct ReportLocation {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its currency, if set.
    pub currency: Option<Currency>,
    /// Its time zone.
    pub time_zone: String,
    /// Today there, `YYYY-MM-DD`.
    pub today: String,
}

/// Every location of `tenant` with its local date now, by name.
pub async fn report_locations(store: &Store, tenant: Uuid) -> Result<Vec<ReportLocation>, Fault> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let rows = tx
        .query(
            "SELECT location_id, name, currency_code, currency_exponent, time_zone,
                    to_char(to_timestamp($2::bigint / 1000.0) AT TIME ZONE time_zone, 'YYYY-MM-DD')
               FROM locations WHERE tenant_id = $1 ORDER BY name, location_id",
            &[&tenant, &store.now_i64()],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| ReportLocation {
            location_id: r.get(0),
            name: r.get(1),
            currency: currency_from(r.get(2), r.get(3)),
            time_zone: r.get(4),
            today: r.get(5),
        })
        .collect())
}

/// The sales of a range in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Orders closed.
    pub orders: i64,
    /// Before discounts, comps and voids.
    pub gross: i64,
    /// Discounts.
    pub discounts: i64,
    /// Comps.
    pub comps: i64,
    /// Voids.
    pub voids: i64,
    /// Net sales.
    pub net: i64,
    /// Tax.
    pub tax: i64,
    /// Tips.
    pub tips: i64,
    /// Refunded.
    pub refunded: i64,
}

/// Net sales and orders per bucket (an hour of the day, or a day).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// The hour (`"09"`) or the day (`"2024-07-03"`).
    pub label: String,
    /// Orders closed in it.
    pub orders: i64,
    /// Their net.
    pub net: i64,
}

/// One item's sales.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ItemSales {
    /// The item.
    pub item_id: Uuid,
    /// Its name as sold.
    pub name: String,
    /// Quantity sold, thousandths.
    pub qty_milli: i64,
    /// Net.
    pub net: i64,
}

/// One tender's takings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TenderTakings {
    /// The tender's label (`cash`, `card`, a custom name).
    pub tender: String,
    /// Payments.
    pub payments: i64,
    /// Amount taken.
    pub amount: i64,
    /// Tips.
    pub tips: i64,
}

/// Everything the reports page shows for one range.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// In total.
    pub summary: Summary,
    /// By hour of the day (0–23, local), every hour present.
    pub by_hour: Vec<Bucket>,
    /// By local day, every day of the range present.
    pub by_day: Vec<Bucket>,
    /// By item, best-selling first.
    pub by_item: Vec<ItemSales>,
    /// By tender.
    pub by_tender: Vec<TenderTakings>,
    /// Voids, comps, price overrides, discounts and refunds, oldest first (at most
    /// [`EXCEPTIONS_LIMIT`]).
    pub exceptions: Vec<Exception>,
    /// Drawer sessions opened in the range, oldest first (at most [`DRAWERS_LIMIT`]).
    pub drawers: Vec<DrawerRow>,
    /// Facts of the location's devices the hub quarantined in the range, oldest first (at
    /// most [`QUARANTINED_LIMIT`]).
    pub quarantined: Vec<QuarantinedRow>,
    /// Every tracked item's stock on hand now, the low ones first.
    pub stock: Vec<StockRow>,
    /// Payments by the staff member who took them, most first.
    pub by_staff: Vec<StaffTakings>,
}

/// What one staff member took in a range.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StaffTakings {
    /// The staff member, if the payments named one.
    pub staff_id: Option<Uuid>,
    /// Their name ("(not named)" for payments naming nobody).
    pub name: String,
    /// Payments taken.
    pub payments: i64,
    /// Their amount, minor units.
    pub amount: i64,
    /// Tips on them.
    pub tips: i64,
}

/// A tracked item's stock on hand (the tenant's, whatever the range: the domain keeps one
/// level per item).
#[derive(Clone, Debug, serde::Serialize)]
pub struct StockRow {
    /// The item.
    pub item_id: Uuid,
    /// Its name.
    pub name: String,
    /// On hand, thousandths of a unit.
    pub on_hand_milli: i64,
    /// Its reorder point, if it has one.
    pub reorder_point_milli: Option<i64>,
    /// At or below its reorder point.
    pub low: bool,
}

/// A fact the hub stored but would not fold: who sent it, what it was and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QuarantinedRow {
    /// When the hub quarantined it, in the location's time (`YYYY-MM-DD HH:MM`).
    pub at: String,
    /// The device that wrote it: role and short id.
    pub device: String,
    /// Its place in that device's log.
    pub seq: i64,
    /// Its kind (`order.line_voided`, ...).
    pub kind: Option<String>,
    /// The reason's code (`not_authorized`, ...).
    pub code: String,
    /// The reason, in words.
    pub reason: String,
}

/// Most quarantined facts one report lists.
pub const QUARANTINED_LIMIT: i64 = 1_000;

/// One drawer session: a cashier's shift on one drawer, with its count and Z report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DrawerRow {
    /// The session.
    pub session_id: Uuid,
    /// When it opened, in the location's time (`YYYY-MM-DD HH:MM`).
    pub opened: String,
    /// When it closed, if it did.
    pub closed: Option<String>,
    /// The device whose drawer it is: role and short id.
    pub device: String,
    /// Who opened it, if named.
    pub opened_by: Option<String>,
    /// Who closed it, if named.
    pub closed_by: Option<String>,
    /// Opening float, minor units.
    pub float: i64,
    /// Cash that should be in the drawer.
    pub expected: i64,
    /// Cash counted, if counted.
    pub counted: Option<i64>,
    /// `counted - expected`: positive over, negative short.
    pub over_short: Option<i64>,
    /// Cash put in outside sales.
    pub paid_in: i64,
    /// Cash taken out outside sales.
    pub paid_out: i64,
    /// No-sale openings.
    pub no_sales: i32,
    /// The Z report issued at closing, as printed, if one was.
    pub z_report: Option<thorbis_domain::drawer::ZReport>,
}

/// Most drawer sessions one report lists.
pub const DRAWERS_LIMIT: i64 = 1_000;

/// What kind of exception to the normal sale an [`Exception`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// A line removed before payment.
    Void,
    /// A line given away.
    Comp,
    /// A line's price overridden.
    PriceOverride,
    /// A discount applied.
    Discount,
    /// Money given back.
    Refund,
}

impl ExceptionKind {
    /// How the console names it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Void => "Void",
            Self::Comp => "Comp",
            Self::PriceOverride => "Price override",
            Self::Discount => "Discount",
            Self::Refund => "Refund",
        }
    }
}

/// One void, comp, price override, discount or refund: an admitted fact of a device of
/// the location (quarantined facts are on the alerts page).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Exception {
    /// When the device recorded it (Unix ms).
    pub at_ms: i64,
    /// The same, in the location's time, `YYYY-MM-DD HH:MM`.
    pub local_time: String,
    /// What it is.
    pub kind: ExceptionKind,
    /// The order.
    pub order_id: Uuid,
    /// The line's name, for a void, comp, price override or line discount.
    pub item: Option<String>,
    /// In minor units: the line's amount voided or comped, the new unit price, a fixed
    /// discount, the refund. `None` for a percentage discount (see `detail`).
    pub amount: Option<i64>,
    /// The rule of a discount ("10 %", "fixed", "whole order"), the tender of a refund.
    pub detail: String,
    /// The reason given.
    pub reason: String,
    /// The staff member who approved it, when one had to.
    pub approved_by: Option<String>,
    /// The device that recorded it: role and short id.
    pub device: String,
}

/// Most exceptions one report lists.
pub const EXCEPTIONS_LIMIT: i64 = 5_000;

/// A report's span: the location's time zone and its local midnights as instants,
/// computed once by Postgres (`$1` tenant, `$2` location, `$3` first date, `$4` last date).
const SPAN: &str = "SELECT time_zone,
        (extract(epoch FROM $3::text::date::timestamp AT TIME ZONE time_zone) * 1000)::bigint,
        (extract(epoch FROM ($4::text::date + 1)::timestamp AT TIME ZONE time_zone) * 1000)::bigint
   FROM locations WHERE tenant_id = $1 AND location_id = $2";

// The closed orders of a span: `$1` tenant, `$2` location, `$3` and `$4` its instants (a
// range scan of `orders_closed_by_location`).
macro_rules! closed {
    () => {
        " FROM orders o
         WHERE o.tenant_id = $1 AND o.location_id = $2 AND o.status = 'closed'
           AND o.closed_at_ms >= $3 AND o.closed_at_ms < $4 "
    };
}

// Closed orders by quarter hour of the Unix epoch: every time zone's offset is a whole
// number of quarter hours, so each quarter lies in one local hour and one local day, and
// only the quarters (not every order) are turned into local time, with `$5` the zone.
macro_rules! quarters {
    () => {
        concat!(
            "WITH q AS (SELECT o.closed_at_ms / 900000 AS quarter, count(*) AS orders,
                               sum(o.net) AS net",
            closed!(),
            "GROUP BY 1),
             local AS (SELECT to_timestamp(quarter * 900) AT TIME ZONE $5::text AS wall, orders, net
                         FROM q) "
        )
    };
}

const SUMMARY: &str = concat!(
    "SELECT count(o.order_id), coalesce(sum(o.subtotal), 0)::bigint,
            coalesce(sum(o.discounts), 0)::bigint, coalesce(sum(o.comps), 0)::bigint,
            coalesce(sum(o.voids), 0)::bigint, coalesce(sum(o.net), 0)::bigint,
            coalesce(sum(o.tax), 0)::bigint, coalesce(sum(o.tips), 0)::bigint,
            coalesce(sum(o.refunded), 0)::bigint",
    closed!()
);

const BY_HOUR: &str = concat!(
    quarters!(),
    "SELECT to_char(h, 'FM00'), coalesce(s.orders, 0)::bigint, coalesce(s.net, 0)::bigint
       FROM generate_series(0, 23) h
       LEFT JOIN (SELECT extract(hour FROM wall)::int AS hour, sum(orders) AS orders,
                         sum(net) AS net FROM local GROUP BY 1) s ON s.hour = h
      ORDER BY h"
);

/// `$6`, `$7`: the first and last dates, for a row per day.
const BY_DAY: &str = concat!(
    quarters!(),
    "SELECT to_char(d, 'YYYY-MM-DD'), coalesce(s.orders, 0)::bigint, coalesce(s.net, 0)::bigint
       FROM generate_series($6::text::date, $7::text::date, interval '1 day') d
       LEFT JOIN (SELECT wall::date AS day, sum(orders) AS orders, sum(net) AS net
                    FROM local GROUP BY 1) s ON s.day = d::date
      ORDER BY d"
);

const BY_ITEM: &str = "SELECT l.item_id, min(l.name), sum(l.qty_milli)::bigint, sum(l.net)::bigint
       FROM order_lines l
       JOIN orders o ON o.tenant_id = l.tenant_id AND o.order_id = l.order_id
      WHERE l.tenant_id = $1 AND NOT l.voided AND o.location_id = $2
        AND o.status = 'closed' AND o.closed_at_ms >= $3 AND o.closed_at_ms < $4
      GROUP BY l.item_id ORDER BY 4 DESC, 2";

// Payments of a span grouped by a column, most first: `$1` tenant, `$2` location, `$3` and
// `$4` its instants.
macro_rules! payments_by {
    ($column:literal) => {
        concat!(
            "SELECT ",
            $column,
            ", count(*), sum(p.amount)::bigint, sum(p.tip)::bigint
               FROM payments p
               JOIN orders o ON o.tenant_id = p.tenant_id AND o.order_id = p.order_id
              WHERE p.tenant_id = $1 AND o.location_id = $2
                AND p.taken_at_ms >= $3 AND p.taken_at_ms < $4
              GROUP BY ",
            $column,
            " ORDER BY 3 DESC, 1"
        )
    };
}

const BY_TENDER: &str = payments_by!("p.tender");

/// The admitted exception facts of devices of a location in a span (`$5` the zone), by
/// the partial index `events_exceptions` (migration 14), whose kinds these are.
const EXCEPTIONS: &str = "SELECT e.hlc_wall_ms,
            to_char(to_timestamp(e.hlc_wall_ms / 1000.0) AT TIME ZONE $5::text,
                    'YYYY-MM-DD HH24:MI'),
            e.kind, e.payload, d.role, d.device_id
       FROM events e
       JOIN devices d ON d.tenant_id = e.tenant_id AND d.device_id = e.device_id
      WHERE e.tenant_id = $1 AND d.location_id = $2
        AND e.hlc_wall_ms >= $3 AND e.hlc_wall_ms < $4
        AND e.kind IN ('order.line_voided', 'order.line_comped', 'order.line_repriced',
                       'order.discount_applied', 'order.refund_issued')
        AND NOT EXISTS (SELECT 1 FROM alerts a
                         WHERE a.tenant_id = e.tenant_id AND a.kind = 'quarantine'
                           AND a.device_id = e.device_id AND a.seq = e.seq)
        AND NOT EXISTS (SELECT 1 FROM quarantine_waiting w
                         WHERE w.tenant_id = e.tenant_id AND w.device_id = e.device_id
                           AND w.seq = e.seq)
      ORDER BY e.hlc_wall_ms, e.device_id, e.seq
      LIMIT $6";

/// The facts of devices of a location the hub quarantined in a span (`$5` the zone), with
/// their kinds where the hub holds them.
const QUARANTINED: &str = "SELECT
            to_char(to_timestamp(a.created_at_ms / 1000.0) AT TIME ZONE $5::text,
                    'YYYY-MM-DD HH24:MI'),
            d.role, d.device_id, a.seq, e.kind, a.detail ->> 'code', a.detail ->> 'reason'
       FROM alerts a
       JOIN devices d ON d.tenant_id = a.tenant_id AND d.device_id = a.device_id
       LEFT JOIN events e ON e.tenant_id = a.tenant_id AND e.device_id = a.device_id
                         AND e.seq = a.seq
      WHERE a.tenant_id = $1 AND a.kind = 'quarantine' AND d.location_id = $2
        AND a.created_at_ms >= $3 AND a.created_at_ms < $4
      ORDER BY a.created_at_ms, a.device_id, a.seq
      LIMIT $6";

/// Payments of a span by who took them.
const BY_STAFF: &str = payments_by!("p.taken_by");

/// A section of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// [`Report::summary`].
    Summary,
    /// [`Report::by_hour`].
    Hours,
    /// [`Report::by_day`].
    Days,
    /// [`Report::by_item`].
    Items,
    /// [`Report::by_tender`].
    Tenders,
    /// [`Report::exceptions`].
    Exceptions,
    /// [`Report::drawers`].
    Drawers,
    /// [`Report::quarantined`].
    Quarantined,
    /// [`Report::stock`].
    Stock,
    /// [`Report::by_staff`].
    Staff,
}

impl Section {
    /// Every section, in the page's order.
    pub const ALL: [Section; 10] = [
        Section::Summary,
        Section::Hours,
        Section::Days,
        Section::Items,
        Section::Tenders,
        Section::Staff,
        Section::Exceptions,
        Section::Drawers,
        Section::Quarantined,
        Section::Stock,
    ];

    /// The section a URL names: `summary`, `hours`, `days`, `items`, `tenders`,
    /// `staff`, `exceptions`, `drawers`, `quarantined` or `stock`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Section> {
        match name {
            "summary" => Some(Section::Summary),
            "hours" => Some(Section::Hours),
            "days" => Some(Section::Days),
            "items" => Some(Section::Items),
            "tenders" => Some(Section::Tenders),
            "exceptions" => Some(Section::Exceptions),
            "drawers" => Some(Section::Drawers),
            "quarantined" => Some(Section::Quarantined),
            "stock" => Some(Section::Stock),
            "staff" => Some(Section::Staff),
            _ => None,
        }
    }
}

/// The `sections` of the report of `range` in `tenant` (the others are left empty): closed
/// orders by their closing time, payments by when they were taken, all in the location's
/// days.
pub async fn report(
    store: &Store,
    tenant: Uuid,
    range: &Range,
    sections: &[Section],
) -> Result<Report, ReportError> {
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let span = tx
        .query_opt(SPAN, &[&tenant, &range.location, &range.from, &range.to])
        .await?
        .ok_or(ReportError::NoLocation(range.location))?;
    let (tz, t0, t1): (String, i64, i64) = (span.get(0), span.get(1), span.get(2));
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&tenant, &range.location, &t0, &t1];
    let local: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&tenant, &range.location, &t0, &t1, &tz];
    let days: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
        [&tenant, &range.location, &t0, &t1, &tz, &range.from, &range.to];
    let buckets = |rows: Vec<tokio_postgres::Row>| -> Vec<Bucket> {
        rows.iter().map(|r| Bucket { label: r.get(0), orders: r.get(1), net: r.get(2) }).collect()
    };
    let mut report = Report::default();
    for section in sections {
        match section {
            Section::Summary => {
                let r = tx.query_one(SUMMARY, &params).await?;
                report.summary = Summary {
                    orders: r.get(0),
                    gross: r.get(1),
                    discounts: r.get(2),
                    comps: r.get(3),
                    voids: r.get(4),
                    net: r.get(5),
                    tax: r.get(6),
                    tips: r.get(7),
                    refunded: r.get(8),
                };
            }
            Section::Hours => report.by_hour = buckets(tx.query(BY_HOUR, &local).await?),
            Section::Days => report.by_day = buckets(tx.query(BY_DAY, &days).await?),
            Section::Items => {
                report.by_item = tx
                    .query(BY_ITEM, &params)
                    .await?
                    .iter()
                    .map(|r| ItemSales {
                        item_id: r.get(0),
                        name: r.get(1),
                        qty_milli: r.get(2),
                        net: r.get(3),
                    })
                    .collect();
            }
            Section::Exceptions => {
                report.exceptions = exceptions(&tx, &local).await?;
            }
            Section::Drawers => report.drawers = drawers(&tx, &local).await?,
            Section::Stock => report.stock = stock(&tx, tenant).await?,
            Section::Staff => report.by_staff = by_staff(&tx, &params).await?,
            Section::Quarantined => report.quarantined = quarantined(&tx, &local).await?,
            Section::Tenders => {
                report.by_tender = tx
                    .query(BY_TENDER, &params)
                    .await?
                    .iter()
                    .map(|r| TenderTakings {
                        tender: r.get(0),
                        payments: r.get(1),
                        amount: r.get(2),
                        tips: r.get(3),
                    })
                    .collect();
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// What an exception fact says, before its line and approver are looked up.
struct Said {
    kind: ExceptionKind,
    order: Uuid,
    line: Option<Uuid>,
    amount: Option<i64>,
    detail: String,
    reason: String,
    approver: Option<Uuid>,
}

impl Said {
    /// A void or comp of a line, whose amount is the line's.
    fn line(
        kind: ExceptionKind,
        order: OrderId,
        line: LineId,
        reason: String,
        approver: Option<StaffId>,
    ) -> Self {
        Said {
            kind,
            order: order.0,
            line: Some(line.0),
            amount: None,
            detail: String::new(),
            reason,
            approver: approver.map(|a| a.0),
        }
    }
}

/// What `event` says, if it is an exception to the normal sale.
fn said(event: thorbis_domain::DomainEvent) -> Option<Said> {
    use thorbis_domain::DomainEvent as E;
    use thorbis_domain::events::{DiscountRule, DiscountScope};
    Some(match event {
        E::LineVoided(e) => {
            Said::line(ExceptionKind::Void, e.order_id, e.line_id, e.reason, e.approved_by)
        }
        E::LineComped(e) => {
            Said::line(ExceptionKind::Comp, e.order_id, e.line_id, e.reason, e.approved_by)
        }
        E::LineRepriced(e) => Said {
            kind: ExceptionKind::PriceOverride,
            order: e.order_id.0,
            line: Some(e.line_id.0),
            amount: Some(e.unit_price.0),
            detail: "new unit price".to_owned(),
            reason: String::new(),
            approver: e.approved_by.map(|a| a.0),
        },
        E::DiscountApplied(e) => {
            let (amount, rule) = match e.rule {
                DiscountRule::PercentBps(bps) => {
                    (None, format!("{}.{:02} %", bps / 100, bps % 100))
                }
                DiscountRule::Amount(m) => (Some(m.0), "fixed".to_owned()),
            };
            let (line, detail) = match e.scope {
                DiscountScope::Line(l) => (Some(l.0), rule),
                DiscountScope::Order => (None, format!("{rule}, whole order")),
            };
            Said {
                kind: ExceptionKind::Discount,
                order: e.order_id.0,
                line,
                amount,
                detail,
                reason: e.reason,
                approver: e.approved_by.map(|a| a.0),
            }
        }
        E::RefundIssued(e) => Said {
            kind: ExceptionKind::Refund,
            order: e.order_id.0,
            line: None,
            amount: Some(e.amount.0),
            detail: e.tender.label().to_owned(),
            reason: e.reason,
            approver: e.approved_by.map(|a| a.0),
        },
        _ => return None,
    })
}

/// Names of staff members, by id.
struct StaffNames(Vec<(Uuid, String)>);

impl StaffNames {
    /// `id`'s name, or a placeholder for someone the tenant does not have.
    fn name(&self, id: Uuid) -> String {
        self.0
            .iter()
            .find(|(s, _)| *s == id)
            .map_or_else(|| "(unknown staff)".to_owned(), |(_, name)| name.clone())
    }
}

/// The names of staff members `ids` (`tenant` the tenant parameter). Staff records are
/// folded documents (see `crate::staff`).
async fn staff_names(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &(dyn tokio_postgres::types::ToSql + Sync),
    ids: &[Uuid],
) -> Result<StaffNames, Fault> {
    let kind = <Staff as CatalogRecord>::KIND;
    let rows = tx
        .query(
            "SELECT id, state FROM aggregates WHERE tenant_id = $1 AND kind = $2 AND id = ANY($3)",
            &[tenant, &kind, &ids],
        )
        .await?;
    Ok(StaffNames(
        rows.iter()
            .filter_map(|r| {
                let folded: Versioned<Staff> = serde_json::from_value(r.get(1)).ok()?;
                Some((r.get(0), folded.value()?.name.clone()))
            })
            .collect(),
    ))
}

/// The device a report names: its role and the end of its id.
fn device_label(role: &str, device: Uuid) -> String {
    let short = device.simple().to_string();
    format!("{role} {}", &short[short.len() - 6..])
}

/// Payments of a span (`params`: tenant, location, instants) by who took them.
async fn by_staff(
    tx: &deadpool_postgres::Transaction<'_>,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync); 4],
) -> Result<Vec<StaffTakings>, Fault> {
    let rows = tx.query(BY_STAFF, params).await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.get(0)).collect();
    let names = staff_names(tx, params[0], &ids).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let staff_id: Option<Uuid> = r.get(0);
            StaffTakings {
                staff_id,
                name: staff_id.map_or_else(|| "(not named)".to_owned(), |s| names.name(s)),
                payments: r.get(1),
                amount: r.get(2),
                tips: r.get(3),
            }
        })
        .collect())
}

/// The rows of `sql` over a span: `local` (tenant, location, instants, zone) and `limit`
/// as `$6`.
async fn span_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    local: &[&(dyn tokio_postgres::types::ToSql + Sync); 5],
    limit: i64,
) -> Result<Vec<tokio_postgres::Row>, Fault> {
    let [t, location, t0, t1, tz] = *local;
    Ok(tx.query(sql, &[t, location, t0, t1, tz, &limit]).await?)
}

/// The facts of a span (`local`: tenant, location, instants, zone) the hub quarantined.
async fn quarantined(
    tx: &deadpool_postgres::Transaction<'_>,
    local: &[&(dyn tokio_postgres::types::ToSql + Sync); 5],
) -> Result<Vec<QuarantinedRow>, Fault> {
    Ok(span_rows(tx, QUARANTINED, local, QUARANTINED_LIMIT)
        .await?
        .iter()
        .map(|r| QuarantinedRow {
            at: r.get(0),
            device: device_label(r.get(1), r.get(2)),
            seq: r.get(3),
            kind: r.get(4),
            code: r.get::<_, Option<String>>(5).unwrap_or_default(),
            reason: r.get::<_, Option<String>>(6).unwrap_or_default(),
        })
        .collect())
}

/// Every tracked item of `tenant` with its stock on hand, the low ones first, then by name.
async fn stock(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: Uuid,
) -> Result<Vec<StockRow>, Fault> {
    let kind = <Item as CatalogRecord>::KIND;
    let items = tx
        .query("SELECT state FROM aggregates WHERE tenant_id = $1 AND kind = $2", &[&tenant, &kind])
        .await?;
    let levels: std::collections::HashMap<Uuid, i64> = tx
        .query("SELECT item_id, on_hand_milli FROM stock_levels WHERE tenant_id = $1", &[&tenant])
        .await?
        .iter()
        .map(|l| (l.get(0), l.get(1)))
        .collect();
    let mut rows: Vec<StockRow> = items
        .iter()
        .filter_map(|r| {
            let folded: Versioned<Item> = serde_json::from_value(r.get(0)).ok()?;
            let item = folded.value().filter(|i| i.track_stock)?;
            let on_hand = levels.get(&item.id.0).copied().unwrap_or(0);
            Some(StockRow {
                item_id: item.id.0,
                name: item.name.clone(),
                on_hand_milli: on_hand,
                reorder_point_milli: item.reorder_point.map(|q| q.0),
                low: item.is_low(thorbis_domain::Qty(on_hand)),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.low.cmp(&a.low).then_with(|| a.name.cmp(&b.name)));
    Ok(rows)
}

/// The drawer sessions of a span (`local`: tenant, location, instants, zone) opened by the
/// location's devices.
async fn drawers(
    tx: &deadpool_postgres::Transaction<'_>,
    local: &[&(dyn tokio_postgres::types::ToSql + Sync); 5],
) -> Result<Vec<DrawerRow>, Fault> {
    const DRAWERS: &str = "SELECT s.session_id,
            to_char(to_timestamp(s.opened_at_ms / 1000.0) AT TIME ZONE $5::text,
                    'YYYY-MM-DD HH24:MI'),
            to_char(to_timestamp(s.closed_at_ms / 1000.0) AT TIME ZONE $5::text,
                    'YYYY-MM-DD HH24:MI'),
            d.role, d.device_id, s.opened_by, s.closed_by, s.float_amount, s.expected_cash,
            s.counted, s.paid_in, s.paid_out, s.no_sales, s.z_report
       FROM drawer_sessions s
       JOIN devices d ON d.tenant_id = s.tenant_id AND d.device_id = s.device_id
      WHERE s.tenant_id = $1 AND d.location_id = $2
        AND s.opened_at_ms >= $3 AND s.opened_at_ms < $4
      ORDER BY s.opened_at_ms, s.session_id
      LIMIT $6";
    let rows = span_rows(tx, DRAWERS, local, DRAWERS_LIMIT).await?;
    let staff: Vec<Uuid> =
        rows.iter().flat_map(|r| [r.get::<_, Option<Uuid>>(5), r.get(6)]).flatten().collect();
    let names = staff_names(tx, local[0], &staff).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let (expected, counted): (i64, Option<i64>) = (r.get(8), r.get(9));
            DrawerRow {
                session_id: r.get(0),
                opened: r.get(1),
                closed: r.get(2),
                device: device_label(r.get(3), r.get(4)),
                opened_by: r.get::<_, Option<Uuid>>(5).map(|s| names.name(s)),
                closed_by: r.get::<_, Option<Uuid>>(6).map(|s| names.name(s)),
                float: r.get(7),
                expected,
                counted,
                over_short: thorbis_domain::drawer::over_short(Money(expected), counted.map(Money))
                    .map(|m| m.0),
                paid_in: r.get(10),
                paid_out: r.get(11),
                no_sales: r.get(12),
                z_report: r
                    .get::<_, Option<serde_json::Value>>(13)
                    .and_then(|z| serde_json::from_value(z).ok()),
            }
        })
        .collect())
}

/// The exceptions of a span (`local`: tenant, location, instants, zone), with the lines
/// and approvers they name looked up.
async fn exceptions(
    tx: &deadpool_postgres::Transaction<'_>,
    local: &[&(dyn tokio_postgres::types::ToSql + Sync); 5],
) -> Result<Vec<Exception>, Fault> {
    use thorbis_domain::DomainEvent as E;
    let t = local[0];
    let rows = span_rows(tx, EXCEPTIONS, local, EXCEPTIONS_LIMIT).await?;
    let mut found = Vec::with_capacity(rows.len());
    // (order, line) and approver of each, looked up below.
    let mut lines: Vec<(Uuid, Uuid)> = Vec::new();
    let mut approvers: Vec<Uuid> = Vec::new();
    for r in &rows {
        let (kind, payload): (&str, &[u8]) = (r.get(2), r.get(3));
        // Stored facts were admitted, so they decode; one that does not is skipped.
        let Ok(Some(event)) = E::decode(kind, payload) else { continue };
        let Some(Said { kind, order, line, amount, detail, reason, approver }) = said(event) else {
            continue;
        };
        if let Some(line) = line {
            lines.push((order, line));
        }
        approvers.extend(approver);

        found.push((
            Exception {
                at_ms: r.get(0),
                local_time: r.get(1),
                kind,
                order_id: order,
                item: None,
                amount,
                detail,
                reason,
                approved_by: None,
                device: device_label(r.get(4), r.get(5)),
            },
            line,
            approver,
        ));
    }
    let (orders, line_ids): (Vec<Uuid>, Vec<Uuid>) = lines.into_iter().unzip();
    let line_rows = tx
        .query(
            "SELECT l.order_id, l.line_id, l.name, l.gross, l.comp
               FROM unnest($2::uuid[], $3::uuid[]) AS k(order_id, line_id)
               JOIN order_lines l ON l.tenant_id = $1 AND l.order_id = k.order_id
                                 AND l.line_id = k.line_id",
            &[t, &orders, &line_ids],
        )
        .await?;
    let names = staff_names(tx, t, &approvers).await?;
    let line_rows: std::collections::HashMap<(Uuid, Uuid), &tokio_postgres::Row> =
        line_rows.iter().map(|r| ((r.get(0), r.get(1)), r)).collect();
    let line_of = |order: Uuid, line: Uuid| line_rows.get(&(order, line)).copied();
    Ok(found
        .into_iter()
        .map(|(mut x, line, approver)| {
            if let Some(l) = line.and_then(|line| line_of(x.order_id, line)) {
                x.item = Some(l.get(2));
                match x.kind {
                    ExceptionKind::Void => x.amount = Some(l.get(3)),
                    ExceptionKind::Comp => x.amount = Some(l.get(4)),
                    _ => {}
                }
            }
            x.approved_by = approver.map(|a| names.name(a));
            x
        })
        .collect())
}

/// One closed order as the API lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OrderRow {
    /// The order.
    pub order_id: Uuid,
    /// When it closed (Unix ms).
    pub closed_at_ms: i64,
    /// Its currency's code.
    pub currency: Option<String>,
    /// Net sales, minor units.
    pub net: i64,
    /// Tax.
    pub tax: i64,
    /// Total.
    pub total: i64,
    /// Tips.
    pub tips: i64,
    /// Refunded.
    pub refunded: i64,
}

/// The closed orders of `range`, latest first, at most `limit`.
pub async fn orders(
    store: &Store,
    tenant: Uuid,
    range: &Range,
    limit: i64,
) -> Result<Vec<OrderRow>, ReportError> {
    const ORDERS: &str = concat!(
        "SELECT o.order_id, o.closed_at_ms, o.currency, o.net, o.tax, o.total, o.tips, o.refunded",
        closed!(),
        "ORDER BY o.closed_at_ms DESC, o.order_id LIMIT $5"
    );
    let mut client = store.pool.get().await?;
    let tx = tenant_tx(&mut client, tenant).await?;
    let span = tx
        .query_opt(SPAN, &[&tenant, &range.location, &range.from, &range.to])
        .await?
        .ok_or(ReportError::NoLocation(range.location))?;
    let (t0, t1): (i64, i64) = (span.get(1), span.get(2));
    let rows = tx.query(ORDERS, &[&tenant, &range.location, &t0, &t1, &limit]).await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| OrderRow {
            order_id: r.get(0),
            closed_at_ms: r.get(1),
            currency: r.get(2),
            net: r.get(3),
            tax: r.get(4),
            total: r.get(5),
            tips: r.get(6),
            refunded: r.get(7),
        })
        .collect())
}
