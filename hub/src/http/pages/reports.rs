//! Reports for one location over a range of its local days: the summary, sales by hour
//! and by day (bar charts drawn on the server as SVG, readable without JavaScript, each
//! with its table), by item and by tender. Every section downloads as CSV; the page
//! prints without the console's bar and forms.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use thorbis_domain::{Currency, Money, Qty};
use thorbis_web::components::{Input, labelled};
use thorbis_web::respond::Href;
use thorbis_web::{Markup, html};

use super::{PageResult, PageUser, shell};
use crate::http::{AppState, Error};
use crate::reports::{self, Bucket, Range, Report, ReportLocation, Section};

/// The longest range a report covers, in days.
const MAX_DAYS: i64 = 366;

/// A report's location and dates, as a query string.
#[derive(serde::Deserialize, Default)]
pub(in crate::http) struct Filter {
    location: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date, if it is one.
fn days(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    let (y, m, d): (i64, i64, i64) =
        (date[..4].parse().ok()?, date[5..7].parse().ok()?, date[8..].parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[usize::try_from(m - 1).ok()?] || y < 1971 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The range a filter asks for, defaulting to today at the first location; or why not.
pub(in crate::http) fn range(
    filter: &Filter,
    places: &[ReportLocation],
) -> Result<(Range, ReportLocation), String> {
    let place = match filter.location.as_deref().filter(|l| !l.is_empty()) {
        Some(id) => places
            .iter()
            .find(|p| p.location_id.to_string() == id)
            .ok_or("Choose a location from the list")?,
        None => places.first().ok_or("Add a location first: reports are per location")?,
    };
    let pick = |raw: Option<&String>| raw.map_or(place.today.clone(), |s| s.trim().to_owned());
    let (from, to) = (pick(filter.from.as_ref()), pick(filter.to.as_ref()));
    let (Some(a), Some(b)) = (days(&from), days(&to)) else {
        return Err("Dates are written YYYY-MM-DD, like 2024-07-03".into());
    };
    if b < a {
        return Err("The last day comes before the first".into());
    }
    if b - a >= MAX_DAYS {
        return Err(format!("A report covers at most {MAX_DAYS} days"));
    }
    Ok((Range { location: place.location_id, from, to }, place.clone()))
}

fn money(minor: i64, currency: Option<Currency>) -> String {
    currency.map_or_else(|| minor.to_string(), |c| Money(minor).format(c))
}

/// A bar chart of net sales per bucket; `every` labels every that-many bars.
fn chart(
    id: &str,
    title: &str,
    buckets: &[Bucket],
    currency: Option<Currency>,
    every: usize,
) -> Markup {
    const W: i64 = 720;
    const H: i64 = 220;
    const BASE: i64 = 190;
    let n = i64::try_from(buckets.len().max(1)).unwrap_or(1);
    let top = buckets.iter().map(|b| b.net).max().unwrap_or(0).max(1);
    let slot = W / n;
    let bar = (slot * 3 / 4).max(1);
    let busiest = buckets.iter().max_by_key(|b| b.net).filter(|b| b.net > 0);
    let label = match busiest {
        Some(b) => format!("{title}: the most, {}, at {}", money(b.net, currency), b.label),
        None => format!("{title}: no sales"),
    };
    html! {
        svg.chart id=(id) xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}"))
            role="img" aria-label=(label) {
            line x1="0" y1=(BASE) x2=(W) y2=(BASE) stroke="#2a2a2a" {}
            text x="4" y="14" fill="#9a9a9a" font-size="12" { (money(top, currency)) }
            @for (i, b) in buckets.iter().enumerate() {
                @let x = i64::try_from(i).unwrap_or(0) * slot + (slot - bar) / 2;
                @let h = (BASE - 20) * b.net.max(0) / top;
                rect x=(x) y=(BASE - h) width=(bar) height=(h) fill="#1C8BFF" {
                    title { (b.label) ": " (money(b.net, currency)) ", " (b.orders) " orders" }
                }
                @if i % every.max(1) == 0 {
                    text x=(x + bar / 2) y=(BASE + 16) fill="#9a9a9a" font-size="11" text-anchor="middle" { (b.label) }
                }
            }
        }
    }
}

fn bucket_table(id: &str, head: &str, buckets: &[Bucket], currency: Option<Currency>) -> Markup {
    html! {
        table.list id=(id) {
            thead { tr { th { (head) } th { "Orders" } th { "Net sales" } } }
            tbody { @for b in buckets.iter().filter(|b| b.orders > 0) {
                tr { td { (b.label) } td { (b.orders) } td.money { (money(b.net, currency)) } }
            } }
        }
    }
}

fn csv_link(range: &Range, kind: &str) -> Markup {
    let href = Href::new(format!("/console/reports/{kind}.csv"))
        .param("location", range.location)
        .param("from", &range.from)
        .param("to", &range.to)
        .into_string();
    html! { a.btn.no-print href=(href) download { "CSV" } }
}

fn report_body(range: &Range, place: &ReportLocation, r: &Report) -> Markup {
    let c = place.currency;
    let s = &r.summary;
    let hour_labels = 2;
    let day_labels = (r.by_day.len() / 12).max(1);
    html! {
        p.muted { (place.name) ", " (range.from) " to " (range.to) " (" (place.time_zone) ")"
            @if c.is_none() { " · amounts in minor units: set the location's currency" } }
        section.report #summary {
            h2 { "Summary " (csv_link(range, "summary")) }
            dl.totals {
                dt { "Orders" } dd #summary-orders { (s.orders) }
                dt { "Gross sales" } dd.money { (money(s.gross, c)) }
                dt { "Discounts" } dd.money { (money(s.discounts, c)) }
                dt { "Comps" } dd.money { (money(s.comps, c)) }
                dt { "Voids" } dd.money { (money(s.voids, c)) }
                dt { "Net sales" } dd.money #summary-net { (money(s.net, c)) }
                dt { "Tax" } dd.money { (money(s.tax, c)) }
                dt { "Tips" } dd.money { (money(s.tips, c)) }
                dt { "Refunds" } dd.money { (money(s.refunded, c)) }
            }
        }
        section.report #hours {
            h2 { "Sales by hour " (csv_link(range, "hours")) }
            (chart("hour-chart", "Net sales by hour", &r.by_hour, c, hour_labels))
            (bucket_table("hour-table", "Hour", &r.by_hour, c))
        }
        section.report #days {
            h2 { "Sales by day " (csv_link(range, "days")) }
            (chart("day-chart", "Net sales by day", &r.by_day, c, day_labels))
            (bucket_table("day-table", "Day", &r.by_day, c))
        }
        section.report #items {
            h2 { "Sales by item " (csv_link(range, "items")) }
            table.list #item-table {
                thead { tr { th { "Item" } th { "Quantity" } th { "Net sales" } } }
                tbody { @for i in &r.by_item { tr { td { (i.name) } td { (Qty(i.qty_milli)) } td.money { (money(i.net, c)) } } } }
            }
        }
        section.report #tenders {
            h2 { "Takings by tender " (csv_link(range, "tenders")) }
            table.list #tender-table {
                thead { tr { th { "Tender" } th { "Payments" } th { "Amount" } th { "Tips" } } }
                tbody { @for t in &r.by_tender { tr { td { (t.tender) } td { (t.payments) } td.money { (money(t.amount, c)) } td.money { (money(t.tips, c)) } } } }
            }
        }
        section.report #staff {
            h2 { "Takings by staff " (csv_link(range, "staff")) }
            table.list #staff-table {
                thead { tr { th { "Staff" } th { "Payments" } th { "Amount" } th { "Tips" } } }
                tbody { @for t in &r.by_staff { tr { td { (t.name) } td { (t.payments) } td.money { (money(t.amount, c)) } td.money { (money(t.tips, c)) } } } }
            }
        }
        (exceptions_section(range, r, c))
        (drawers_section(range, r, c))
        (quarantined_section(range, r))
        (stock_section(range, r))
    }
}

/// Voids, comps, discounts and refunds, with their approvers.
fn exceptions_section(range: &Range, r: &Report, c: Option<Currency>) -> Markup {
    html! {
    section.report #exceptions {
        h2 { "Voids, comps, discounts and refunds " (csv_link(range, "exceptions")) }
        @if r.exceptions.is_empty() {
            p.muted { "None in this range." }
        } @else {
            table.list #exception-table {
                thead { tr {
                    th { "Time" } th { "What" } th { "Item" } th { "Amount" } th { "Detail" }
                    th { "Reason" } th { "Approved by" } th { "Device" }
                } }
                tbody { @for x in &r.exceptions { tr {
                    td { (x.local_time) }
                    td { (x.kind.label()) }
                    td { (x.item.as_deref().unwrap_or("—")) }
                    td.money { @if let Some(a) = x.amount { (money(a, c)) } @else { "—" } }
                    td { (x.detail) }
                    td { (x.reason) }
                    td { (x.approved_by.as_deref().unwrap_or("—")) }
                    td { (x.device) }
                } } }
            }
            @if r.exceptions.len() as i64 >= reports::EXCEPTIONS_LIMIT {
                p.muted { "Only the first " (reports::EXCEPTIONS_LIMIT) " are listed: narrow the range to see the rest." }
            }
        }
    }
    }
}

/// Drawer sessions with their counts and Z reports.
fn drawers_section(range: &Range, r: &Report, c: Option<Currency>) -> Markup {
    html! {
    section.report #drawers {
        h2 { "Drawer sessions " (csv_link(range, "drawers")) }
        @if r.drawers.is_empty() {
            p.muted { "No drawer opened in this range." }
        } @else {
            table.list #drawer-table {
                thead { tr {
                    th { "Opened" } th { "Closed" } th { "Device" } th { "Staff" }
                    th { "Float" } th { "Expected cash" } th { "Counted" } th { "Over / short" }
                    th { "Paid in / out" } th { "No sales" } th { "Z report" }
                } }
                tbody { @for d in &r.drawers { tr {
                    td { (d.opened) }
                    td { (d.closed.as_deref().unwrap_or("open")) }
                    td { (d.device) }
                    td { (d.opened_by.as_deref().unwrap_or("—"))
                        @if let Some(by) = &d.closed_by { " / " (by) } }
                    td.money { (money(d.float, c)) }
                    td.money { (money(d.expected, c)) }
                    td.money { @if let Some(n) = d.counted { (money(n, c)) } @else { "not counted" } }
                    td.money.over-short { @match d.over_short {
                        Some(0) => "even",
                        Some(n) if n > 0 => { (money(n, c)) " over" }
                        Some(n) => { (money(-n, c)) " short" }
                        None => "—",
                    } }
                    td.money { (money(d.paid_in, c)) " / " (money(d.paid_out, c)) }
                    td { (d.no_sales) }
                    td { @if let Some(z) = &d.z_report {
                        (z.orders) " orders, " (money(z.net_sales.0, c)) " net"
                    } @else { "—" } }
                } } }
            }
        }
    }
    }
}

/// Tracked items' stock on hand now, the low ones first.
fn stock_section(range: &Range, r: &Report) -> Markup {
    html! {
        section.report #stock {
            h2 { "Stock on hand " (csv_link(range, "stock")) }
            p.muted { "Now, whatever the range: stock is kept per item across locations." }
            @if r.stock.is_empty() {
                p.muted { "No item tracks its stock." }
            } @else {
                table.list #stock-table {
                    thead { tr { th { "Item" } th { "On hand" } th { "Reorder at" } th { "State" } } }
                    tbody { @for s in &r.stock { tr {
                        td { (s.name) }
                        td { (Qty(s.on_hand_milli)) }
                        td { @if let Some(p) = s.reorder_point_milli { (Qty(p)) } @else { "—" } }
                        td { @if s.low { strong.low { "Low: reorder" } } @else { "OK" } }
                    } } }
                }
            }
        }
    }
}

/// Facts the hub quarantined: stored, never counted.
fn quarantined_section(range: &Range, r: &Report) -> Markup {
    html! {
        section.report #quarantined {
            h2 { "Quarantined facts " (csv_link(range, "quarantined")) }
            p.muted { "Stored as sent and left out of every figure above (the alerts page has them all)." }
            @if r.quarantined.is_empty() {
                p.muted { "None in this range." }
            } @else {
                table.list #quarantined-table {
                    thead { tr { th { "Quarantined" } th { "Device" } th { "Fact" } th { "Why" } } }
                    tbody { @for q in &r.quarantined { tr {
                        td { (q.at) }
                        td { (q.device) " #" (q.seq) }
                        td { (q.kind.as_deref().unwrap_or("—")) }
                        td { (q.reason) }
                    } } }
                }
            }
        }
    }
}

/// `GET /console/reports`.
pub(in crate::http) async fn page(
    State(state): State<AppState>,
    user: PageUser,
    Query(filter): Query<Filter>,
) -> PageResult {
    let places = reports::report_locations(state.store(), user.tenant_id).await?;
    let chosen = range(&filter, &places);
    let report = match &chosen {
        Ok((range, _)) => {
            Some(reports::report(state.store(), user.tenant_id, range, &Section::ALL).await?)
        }
        Err(_) => None,
    };
    let (location, from, to) = match &chosen {
        Ok((r, _)) => (Some(r.location), r.from.clone(), r.to.clone()),
        Err(_) => {
            (None, filter.from.clone().unwrap_or_default(), filter.to.clone().unwrap_or_default())
        }
    };
    let body = html! {
        h1 { "Reports" }
        form.row.no-print method="get" action="/console/reports" {
            label { "Location"
                select name="location" id="report-location" {
                    @for p in &places { option value=(p.location_id) selected[Some(p.location_id) == location] { (p.name) } }
                }
            }
            (labelled("From", Input::new("from").id("report-from").kind("date").value(&from).maxlength(10)))
            (labelled("To", Input::new("to").id("report-to").kind("date").value(&to).maxlength(10)))
            button.btn.primary type="submit" id="show-report" { "Show" }
        }
        @match (&chosen, &report) {
            (Ok((range, place)), Some(report)) => (report_body(range, place, report)),
            (Err(why), _) => p.msg.err role="alert" { (why) },
            _ => {}
        }
    };
    Ok(shell(&user, "Reports", "console-reports", body).into_response())
}

/// A CSV cell: quoted when it must be, and never read as a formula by a spreadsheet.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err()
    {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n").collect()
}

/// The rows of one report section, header first.
fn section_rows(section: Section, r: &Report, c: Option<Currency>) -> Vec<Vec<String>> {
    let m = |v: i64| money(v, c);
    match section {
        Section::Summary => {
            let s = &r.summary;
            vec![
                vec![
                    "orders".into(),
                    "gross".into(),
                    "discounts".into(),
                    "comps".into(),
                    "voids".into(),
                    "net".into(),
                    "tax".into(),
                    "tips".into(),
                    "refunds".into(),
                ],
                vec![
                    s.orders.to_string(),
                    m(s.gross),
                    m(s.discounts),
                    m(s.comps),
                    m(s.voids),
                    m(s.net),
                    m(s.tax),
                    m(s.tips),
                    m(s.refunded),
                ],
            ]
        }
        Section::Hours | Section::Days => {
            let (head, buckets) =
                if section == Section::Hours { ("hour", &r.by_hour) } else { ("day", &r.by_day) };
            std::iter::once(vec![head.into(), "orders".into(), "net".into()])
                .chain(
                    buckets.iter().map(|b| vec![b.label.clone(), b.orders.to_string(), m(b.net)]),
                )
                .collect()
        }
        Section::Items => {
            std::iter::once(vec!["item_id".into(), "item".into(), "quantity".into(), "net".into()])
                .chain(r.by_item.iter().map(|i| {
                    vec![
                        i.item_id.to_string(),
                        i.name.clone(),
                        Qty(i.qty_milli).to_string(),
                        m(i.net),
                    ]
                }))
                .collect()
        }
        Section::Tenders => std::iter::once(vec![
            "tender".into(),
            "payments".into(),
            "amount".into(),
            "tips".into(),
        ])
        .chain(
            r.by_tender
                .iter()
                .map(|t| vec![t.tender.clone(), t.payments.to_string(), m(t.amount), m(t.tips)]),
        )
        .collect(),
        Section::Drawers => drawer_rows(r, &m),
        Section::Exceptions => exception_rows(r, &m),
        Section::Staff => staff_rows(r, &m),
        Section::Stock => stock_rows(r),
        Section::Quarantined => quarantined_rows(r),
    }
}

/// The CSV rows of the takings by staff, header first.
fn staff_rows(r: &Report, m: &dyn Fn(i64) -> String) -> Vec<Vec<String>> {
    std::iter::once(["staff_id", "staff", "payments", "amount", "tips"].map(String::from).to_vec())
        .chain(r.by_staff.iter().map(|t| {
            vec![
                t.staff_id.map(|s| s.to_string()).unwrap_or_default(),
                t.name.clone(),
                t.payments.to_string(),
                m(t.amount),
                m(t.tips),
            ]
        }))
        .collect()
}

/// The CSV rows of the stock on hand, header first.
fn stock_rows(r: &Report) -> Vec<Vec<String>> {
    std::iter::once(["item_id", "item", "on_hand", "reorder_at", "low"].map(String::from).to_vec())
        .chain(r.stock.iter().map(|s| {
            vec![
                s.item_id.to_string(),
                s.name.clone(),
                Qty(s.on_hand_milli).to_string(),
                s.reorder_point_milli.map(|p| Qty(p).to_string()).unwrap_or_default(),
                s.low.to_string(),
            ]
        }))
        .collect()
}

/// The CSV rows of the quarantined facts, header first.
fn quarantined_rows(r: &Report) -> Vec<Vec<String>> {
    std::iter::once(
        ["quarantined", "device", "seq", "kind", "code", "reason"].map(String::from).to_vec(),
    )
    .chain(r.quarantined.iter().map(|q| {
        vec![
            q.at.clone(),
            q.device.clone(),
            q.seq.to_string(),
            q.kind.clone().unwrap_or_default(),
            q.code.clone(),
            q.reason.clone(),
        ]
    }))
    .collect()
}

/// The CSV rows of the drawer sessions, header first.
fn drawer_rows(r: &Report, m: &dyn Fn(i64) -> String) -> Vec<Vec<String>> {
    std::iter::once(
        [
            "session_id",
            "opened",
            "closed",
            "device",
            "opened_by",
            "closed_by",
            "float",
            "expected",
            "counted",
            "over_short",
            "paid_in",
            "paid_out",
            "no_sales",
            "z_orders",
            "z_net_sales",
        ]
        .map(String::from)
        .to_vec(),
    )
    .chain(r.drawers.iter().map(|d| {
        vec![
            d.session_id.to_string(),
            d.opened.clone(),
            d.closed.clone().unwrap_or_default(),
            d.device.clone(),
            d.opened_by.clone().unwrap_or_default(),
            d.closed_by.clone().unwrap_or_default(),
            m(d.float),
            m(d.expected),
            d.counted.map(m).unwrap_or_default(),
            d.over_short.map(m).unwrap_or_default(),
            m(d.paid_in),
            m(d.paid_out),
            d.no_sales.to_string(),
            d.z_report.as_ref().map(|z| z.orders.to_string()).unwrap_or_default(),
            d.z_report.as_ref().map(|z| m(z.net_sales.0)).unwrap_or_default(),
        ]
    }))
    .collect()
}

/// The CSV rows of the exceptions, header first.
fn exception_rows(r: &Report, m: &dyn Fn(i64) -> String) -> Vec<Vec<String>> {
    std::iter::once(
        ["time", "kind", "order_id", "item", "amount", "detail", "reason", "approved_by", "device"]
            .map(String::from)
            .to_vec(),
    )
    .chain(r.exceptions.iter().map(|x| {
        vec![
            x.local_time.clone(),
            x.kind.label().to_owned(),
            x.order_id.to_string(),
            x.item.clone().unwrap_or_default(),
            x.amount.map(m).unwrap_or_default(),
            x.detail.clone(),
            x.reason.clone(),
            x.approved_by.clone().unwrap_or_default(),
            x.device.clone(),
        ]
    }))
    .collect()
}

/// `GET /console/reports/{kind}.csv`.
pub(in crate::http) async fn download(
    State(state): State<AppState>,
    user: PageUser,
    Path(file): Path<String>,
    Query(filter): Query<Filter>,
) -> PageResult {
    let (kind, section) = file
        .strip_suffix(".csv")
        .and_then(|kind| Some((kind, Section::parse(kind)?)))
        .ok_or_else(|| Error::NotFound(format!("no report {file:?}")))?;
    let places = reports::report_locations(state.store(), user.tenant_id).await?;
    let (range, place) = range(&filter, &places).map_err(Error::BadRequest)?;
    let report = reports::report(state.store(), user.tenant_id, &range, &[section]).await?;
    let rows = section_rows(section, &report, place.currency);
    let name = format!("{kind}-{}-{}.csv", range.from, range.to);
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        csv(&rows),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_calendar_days() {
        assert_eq!(days("1971-01-01"), Some(365));
        assert_eq!(days("2024-07-03"), Some(19_907));
        assert_eq!(days("2024-02-29").zip(days("2024-03-01")).map(|(a, b)| b - a), Some(1));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-7-3",
            "20240703",
            "2024-07-32",
            "1969-12-31",
            "1970-06-01",
            "abcd-ef-gh",
        ] {
            assert_eq!(days(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("Flat white"), "Flat white");
        assert_eq!(cell("Tea, green"), "\"Tea, green\"");
        assert_eq!(cell("6\" sub"), "\"6\"\" sub\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(csv(&[vec!["a".into(), "b".into()]]), "a,b\r\n");
    }

    #[test]
    fn a_chart_draws_a_bar_per_bucket() {
        let buckets: Vec<Bucket> =
            (0..24).map(|h| Bucket { label: format!("{h:02}"), orders: h, net: h * 100 }).collect();
        let svg = chart("c", "Net sales by hour", &buckets, Some(Currency::USD), 2).into_string();
        assert_eq!(svg.matches("<rect").count(), 24);
        assert!(svg.contains("aria-label=\"Net sales by hour: the most, 23.00, at 23\""), "{svg}");
        assert!(svg.contains("<title>09: 9.00, 9 orders</title>"), "{svg}");
    }
}
