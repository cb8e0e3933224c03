//! The home page: each location's day so far beside the same weekday last week, open
//! checks, and the fleet at a glance.

use axum::extract::State;
use axum::response::IntoResponse;
use thorbis_domain::{Currency, Money};
use thorbis_web::components::plural;
use thorbis_web::{Markup, html};

use super::{PageResult, PageUser, shell};
use crate::http::AppState;
use crate::reports::{self, LocationToday, Sales};

/// `GET /console`.
pub(in crate::http) async fn page(State(state): State<AppState>, user: PageUser) -> PageResult {
    let home = reports::home(state.store(), user.tenant_id).await?;
    let body = html! {
        h1 { "Today so far" }
        @if home.locations.is_empty() {
            p { "No locations yet. " a href="/console/locations" { "Add your first location" } "." }
        }
        div.grid.today {
            @for location in &home.locations { (today(location)) }
        }
        h2 { "Fleet" }
        dl.totals #fleet {
            dt { "Devices online" } dd #devices-online { (home.devices_online) }
            dt { "Devices offline" } dd #devices-offline { (home.devices_offline) }
            dt { "Open alerts" } dd #open-alerts { (home.open_alerts) }
        }
        p { a href="/console/devices" { "See every device" } " · " a href="/console/alerts" { "See the alerts" } }
    };
    Ok(shell(&user, "Home", "console-home", body).into_response())
}

/// An amount in the location's currency, or a nudge to set it.
pub(super) fn amount(money: Money, currency: Option<Currency>) -> Markup {
    match currency {
        Some(c) => html! { span.money { (money.format(c)) " " span.muted { (c.code()) } } },
        None => {
            html! { span.money { (money.0) } " " span.muted { "(minor units: set the currency)" } }
        }
    }
}

/// Today against last week, as "+12%", "−5%", "no sales last Monday".
fn change(today: &Sales, last_week: &Sales, weekday: &str) -> String {
    if last_week.net.0 == 0 {
        return format!("no sales last {weekday} by this time");
    }
    let pct = thorbis_domain::money::div_round(
        i128::from(today.net.0 - last_week.net.0) * 100,
        i128::from(last_week.net.0.abs()),
    );
    let sign = match pct.cmp(&0) {
        std::cmp::Ordering::Greater => "+",
        std::cmp::Ordering::Less => "−",
        std::cmp::Ordering::Equal => "±",
    };
    format!("{sign}{}% vs last {weekday} by this time", pct.abs())
}

fn today(l: &LocationToday) -> Markup {
    html! {
        section.panel.location-today data-location=(l.location_id) {
            h2 { (l.name) }
            dl.totals {
                dt { "Net sales" } dd.net { (amount(l.today.net, l.currency)) }
                dt { "Orders" } dd.orders { (l.today.orders) }
                dt { "Average check" }
                dd.average {
                    @match l.today.average() {
                        Some(avg) => (amount(avg, l.currency)),
                        None => span.muted { "—" },
                    }
                }
                dt { "Open checks" } dd.open-checks { (l.open_checks) }
            }
            p.muted.trend { (change(&l.today, &l.last_week, &l.weekday)) }
            p.muted { "Last " (l.weekday) " by now: " (plural(usize::try_from(l.last_week.orders).unwrap_or(0), "order")) ", "
                (amount(l.last_week.net, l.currency)) " · " (l.time_zone) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_reads_in_words() {
        let sales = |net| Sales { orders: 1, net: Money(net) };
        assert_eq!(
            change(&sales(1120), &sales(1000), "Monday"),
            "+12% vs last Monday by this time"
        );
        assert_eq!(change(&sales(950), &sales(1000), "Monday"), "−5% vs last Monday by this time");
        assert_eq!(change(&sales(1000), &sales(1000), "Monday"), "±0% vs last Monday by this time");
        assert_eq!(change(&sales(500), &sales(0), "Friday"), "no sales last Friday by this time");
    }

    #[test]
    fn amounts_show_their_currency_or_ask_for_it() {
        let eur = amount(Money(1250), Some(Currency::EUR)).into_string();
        assert!(eur.contains("12.50") && eur.contains("EUR"), "{eur}");
        let unset = amount(Money(1250), None).into_string();
        assert!(unset.contains("1250") && unset.contains("set the currency"), "{unset}");
    }
}
