//! The retail register: one sale at a time, rung up by scanning or searching.
//!
//! The scan field takes a keyboard-wedge scanner's burst or a cashier's typing; the page's
//! script tells them apart by inter-key timing (`via=scan` or `via=typed`). A scan must be a
//! barcode: an unknown one is refused inline. Typed text rings up a barcode it matches, and
//! otherwise searches item names. Scale labels (variable-measure EAN-13, prefix `2x`) are
//! decoded by `thorbis_drivers::variable_measure` with the terminal's layouts
//! ([`UiState::with_scale_labels`]); what a label means for an item is `domain::scan`'s rule.
//! Each line shows the stock on hand; price overrides (the line repriced in place, its
//! modifiers kept) and discounts carry the POS's approval block (`ui::approval`). Cash needs an open drawer; a card
//! tender records brand, last four digits and authorization only. Closing the sale prints
//! the receipt with its receipt-number barcode, which returns (`returns.rs`) scan.
//!
//! Like the POS, forms post and redirect; a refusal re-renders the screen with the message
//! inline, the typed values kept, status 422, and nothing written.
//!
//! Modules by screen part: `scan` (the scan field, search results, ringing up), `adjust`
//! (price override and discount panels) and `tender` (cash, card, the paid sale).

mod adjust;
mod scan;
mod tender;

pub(crate) use adjust::{discount, override_price};
pub(crate) use scan::{add_item, scan};
pub(crate) use tender::{card, card_input, cash};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::catalog::{Item, Staff};
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{ItemId, LineId, OrderId};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::{Currency, Money, Qty};
use thorbis_drivers::variable_measure::{
    PriceCheck, ValueKind, VariableMeasureConfig, VariableMeasureLayout,
};
use thorbis_web::form::{self, Fields};
use uuid::Uuid;

use super::access::Cashier;
use super::action::{order_id, order_view};
use super::html::{Message, message, page};
use super::pos::totals;
use super::{UiError, UiState};
use thorbis_agent::print::Document;
use thorbis_agent::{OrderView, SignedIn, Store, StoreError};

/// The scale-label layouts a terminal uses unless configured otherwise: prefixes 20–24
/// carry a 5-digit item code and the weight in grams, 25–29 a 5-digit item code and the
/// price in minor units; no price check digit (the EAN check digit is always verified).
#[must_use]
pub fn default_scale_labels() -> VariableMeasureConfig {
    let layout = |prefixes: [&str; 5], value| VariableMeasureLayout {
        prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
        item_digits: 5,
        price_check: PriceCheck::Absent,
        value_digits: 5,
        value,
        scale: 1,
    };
    VariableMeasureConfig {
        layouts: vec![
            layout(["20", "21", "22", "23", "24"], ValueKind::Weight),
            layout(["25", "26", "27", "28", "29"], ValueKind::Price),
        ],
    }
}

/// A quantity typed for an item: whole units, or kilograms with up to three decimals for
/// an item sold by weight.
pub(crate) fn parse_qty(raw: &str, by_weight: bool) -> Result<Qty, String> {
    if by_weight {
        let message = || "Weight must be in kg, like 0.750, above 0 and at most 999".to_owned();
        let milli = form::fixed_point(raw, 3, 3).filter(|m| *m > 0).ok_or_else(message)?;
        return Ok(Qty::milli(milli));
    }
    let n = form::count(if raw.is_empty() { "1" } else { raw }, "Quantity", 1, 999)?;
    Ok(Qty::units(i64::from(n)))
}

/// What the sale's screen shows besides the order.
#[derive(Debug, Default)]
struct Screen {
    msg: Option<Message>,
    /// The scan field's text and the quantity field, kept after a refusal.
    code: String,
    qty: String,
    /// Search results for this text.
    search: Option<String>,
    /// The line whose price-override panel is open.
    override_line: Option<LineId>,
    /// The discount panel is open.
    discount: bool,
    /// Values typed into an open panel or tender form.
    typed: Fields,
}

impl Screen {
    /// The sale with `msg` said as a refusal.
    fn refused(msg: String) -> Self {
        Screen { msg: Some(Message::Error(msg)), ..Screen::default() }
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct SaleQuery {
    q: Option<String>,
    line: Option<String>,
    panel: Option<String>,
    msg: Option<String>,
    /// The date a warning names (`YYYY-MM-DD`).
    date: Option<String>,
}

/// Everything the screen reads, in one store call.
#[derive(Debug)]
struct SaleData {
    order: Option<OrderView>,
    items: Vec<Item>,
    stock: Vec<(ItemId, Qty)>,
    /// Active staff, for the approval block (its managers).
    staff: Vec<Staff>,
    drawer: bool,
    receipt: Option<String>,
    parked: Vec<OrderView>,
    /// A serial scanner feeds this terminal's register pages.
    scanner: bool,
    /// The store's currency: the catalog's prices are in it.
    currency: Currency,
}

fn load(store: &Store, order_id: Option<OrderId>) -> Result<SaleData, StoreError> {
    let items: Vec<Item> = store.items()?.into_iter().filter(|i| i.active).collect();
    let mut stock = Vec::new();
    for item in items.iter().filter(|i| i.track_stock) {
        stock.push((item.id, store.stock_on_hand(item.id)?));
    }
    let order = order_id.map(|id| store.order(id)).transpose()?.flatten();
    let receipt = match &order {
        Some(o) if o.order.status() == OrderStatus::Closed => store
            .original_print_job(&Document::Receipt { order_id: o.id })?
            .map(|j| format!("{:?}", j.state).to_lowercase()),
        _ => None,
    };
    let parked = store
        .open_orders()?
        .into_iter()
        .filter(|o| {
            o.order.opened.as_ref().is_some_and(|x| x.value.mode == ServiceMode::Retail)
                && Some(o.id) != order_id
        })
        .collect();
    Ok(SaleData {
        order,
        items,
        stock,
        staff: store.active_staff()?,
        drawer: !store.open_drawers()?.is_empty(),
        receipt,
        parked,
        scanner: false,
        currency: store.currency()?,
    })
}

/// A new sale: the scan field and parked sales.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: Cashier,
    Query(q): Query<SaleQuery>,
) -> Result<Response, UiError> {
    let screen = Screen { search: q.q.filter(|s| !s.trim().is_empty()), ..Screen::default() };
    render(&state, &who, None, screen, StatusCode::OK).await
}

/// One sale.
pub(crate) async fn sale(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Query(q): Query<SaleQuery>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let screen = Screen {
        // Confirmations after a redirect are chosen from a fixed list, never echoed.
        msg: match q.msg.as_deref() {
            Some("added") => Some(Message::Info("Added.".into())),
            Some("price") => Some(Message::Info("Price overridden.".into())),
            Some("discount") => Some(Message::Info("Discount applied.".into())),
            // The date is parsed and printed again, never echoed as sent.
            Some(kind @ ("use_by" | "best_before")) => q
                .date
                .as_deref()
                .and_then(|d| d.parse::<thorbis_domain::scan::Day>().ok())
                .map(|day| Message::Warning(date_warning_text(kind == "use_by", day))),
            _ => None,
        },
        search: q.q.filter(|s| !s.trim().is_empty()),
        override_line: q.line.as_deref().and_then(|l| Uuid::try_parse(l).ok()).map(LineId),
        discount: q.panel.as_deref() == Some("discount"),
        ..Screen::default()
    };
    render(&state, &who, Some(order_id), screen, StatusCode::OK).await
}

/// What the cashier sees after ringing up an item whose use-by (or best-before) date,
/// `day`, has passed.
fn date_warning_text(use_by: bool, day: thorbis_domain::scan::Day) -> String {
    if use_by {
        format!(
            "Added, but its use-by date ({day}) has passed: do not sell it. Void the line and \
             take the item off the shelf."
        )
    } else {
        format!("Added. Its best-before date ({day}) has passed: tell the customer.")
    }
}

/// The register screen (a new sale, or `order_id`'s) with `screen`'s message and panels.
async fn render(
    state: &UiState,
    who: &SignedIn,
    order_id: Option<OrderId>,
    screen: Screen,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut data = state.with_store(move |store| load(store, order_id)).await?;
    data.scanner = state.scans.is_attached();
    if order_id.is_some() && data.order.is_none() {
        return Err(UiError::NotFound);
    }
    let body = body(who, &data, &screen);
    Ok((status, page("Register", "register", Some(who), &state.indicators(), body)).into_response())
}

fn on_hand(data: &SaleData, item: ItemId) -> Option<Qty> {
    data.stock.iter().find(|(id, _)| *id == item).map(|(_, q)| *q)
}

fn body(who: &SignedIn, data: &SaleData, screen: &Screen) -> Markup {
    let open = data.order.as_ref().is_none_or(|o| o.order.status() == OrderStatus::Open);
    let base =
        data.order.as_ref().map_or("/register".to_owned(), |o| format!("/register/{}", o.id.0));
    html! {
        div.cols {
            section.col {
                h1 { "Register" }
                @if open {
                    (message(screen.msg.as_ref()))
                    (scan::scan_form(data, screen))
                    @if let Some(q) = &screen.search { (scan::results(data, q, &base)) }
                    @if let (Some(line), Some(o)) = (screen.override_line, &data.order) {
                        (adjust::override_panel(who, data, o, line, screen, &base))
                    }
                    @if screen.discount && data.order.is_some() {
                        (adjust::discount_panel(who, data, screen, &base))
                    }
                }
                @if !data.parked.is_empty() {
                    h2 { "Other open sales" }
                    div.row #parked {
                        @for o in &data.parked {
                            a.btn href={ "/register/" (o.id.0) } {
                                (o.order.live_lines().count()) " items · "
                                (o.totals.balance.format(o.currency))
                            }
                        }
                    }
                }
                p {
                    a.btn.ghost #returns-link href="/returns" { "Returns" } " "
                    a.btn.ghost href="/drawer" { "Drawer" }
                }
            }
            section.col.narrow #sale {
                @match &data.order {
                    None => {
                        h2 { "New sale" }
                        p.muted { "Scan an item or type its name." }
                    }
                    Some(o) => {
                        @let cur = o.currency;
                        h2 { "Sale" }
                        @if !open { (message(screen.msg.as_ref())) }
                        (lines(data, o, cur, open, &base))
                        (totals(o, cur))
                        @if open {
                            (tender::tenders(data, o, screen, &base, cur))
                        } @else {
                            (tender::paid(data, o, cur))
                        }
                    }
                }
            }
        }
    }
}

fn lines(data: &SaleData, o: &OrderView, cur: Currency, open: bool, base: &str) -> Markup {
    html! {
        ol.lines #lines {
            @for stamped in o.order.lines_in_order() {
                @let line = &stamped.value;
                @let net = o.totals.lines.iter().find(|t| t.line_id == line.line_id);
                @if !net.is_some_and(|t| t.voided) {
                    @let tags = line_tags(data, o, line, cur);
                    li.line data-line=(line.name) {
                        span.name {
                            @if line.qty != Qty::ONE { (line.qty) " × " }
                            (line.name)
                        }
                        span.money { (net.map_or(Money::ZERO, |t| t.net).format(cur)) }
                        span.tags { (tags) }
                        @if open {
                            a.chip href={ (base) "?line=" (line.line_id.0) } data-override=(line.name) {
                                "Price"
                            }
                        }
                    }
                }
            }
            @if o.order.live_lines().next().is_none() {
                li.muted { "Nothing yet: scan an item." }
            }
        }
    }
}

/// A sale line's tags: its unit price, an override, the stock on hand.
fn line_tags(
    data: &SaleData,
    o: &OrderView,
    line: &thorbis_domain::events::LineAdded,
    cur: Currency,
) -> String {
    let by_weight = data.items.iter().any(|i| i.id == line.item_id && i.sold_by_weight);
    let per = if by_weight { "/ kg" } else { "each" };
    let mut tags = vec![format!("{} {per}", o.order.unit_price(line).format(cur))];
    if line.price_override_by.is_some() || o.order.repriced.contains_key(&line.line_id) {
        tags.push("price overridden".into());
    }
    if let Some(stock) = on_hand(data, line.item_id) {
        tags.push(format!("on hand {stock}"));
    }
    tags.join(" · ")
}

async fn open_sale(state: &UiState, order: &str) -> Result<OrderView, UiError> {
    order_view(state, order_id(order)?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_units_or_kilograms_to_the_gram() {
        assert_eq!(parse_qty("", false), Ok(Qty::units(1)));
        assert_eq!(parse_qty("3", false), Ok(Qty::units(3)));
        for bad in ["0", "-1", "1.5", "abc", "1000", "99999999999"] {
            assert!(parse_qty(bad, false).is_err(), "{bad:?}");
        }
        assert_eq!(parse_qty("0.75", true), Ok(Qty::milli(750)));
        assert_eq!(parse_qty("1", true), Ok(Qty::milli(1000)));
        assert_eq!(parse_qty(".005", true), Ok(Qty::milli(5)));
        for bad in ["", "0", "0.000", "-1", "1.2345", "abc", "1000", "1e3", "."] {
            assert!(parse_qty(bad, true).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_price_override_reprices_the_line_and_keeps_its_modifiers() {
        use std::sync::Arc;

        use axum::Form;
        use axum::extract::{Path, State};
        use thorbis_domain::catalog::Role;

        use super::super::access::Allowed;
        use super::super::{SessionKey, UiState};
        use thorbis_agent::sync::SharedStore;
        use thorbis_agent::{SignedIn, StoreConfig, seed};

        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        store.execute_all(&seed::catalog()).unwrap();
        let (order_id, line_id) = (OrderId(Uuid::from_u128(1)), LineId(Uuid::from_u128(2)));
        let modifiers = vec![seed::MEDIUM_RARE, seed::CHEESE];
        store
            .execute_all(&[
                seed::open_order(order_id, None),
                seed::line(order_id, line_id, seed::BURGER, Qty::ONE, modifiers.clone()),
            ])
            .unwrap();
        let state = UiState::new(
            SharedStore::new(store),
            None,
            Arc::new(thorbis_agent::SystemClock),
            SessionKey::from_bytes(b"k"),
        );
        // A manager signed in approves their own override.
        let who = Allowed::for_test(SignedIn {
            staff_id: seed::MANAGER,
            name: "Morgan".into(),
            role: Role::Manager,
        });
        let fields =
            Fields(vec![("line".into(), line_id.0.to_string()), ("price".into(), "9.99".into())]);
        let response = adjust::override_price(
            State(state.clone()),
            who,
            Path(order_id.0.to_string()),
            Form(fields),
        )
        .await
        .unwrap();
        assert!(response.status().is_redirection(), "{:?}", response.status());

        let o = state.with_store(move |store| store.order(order_id)).await.unwrap().unwrap();
        let lines: Vec<_> = o.order.live_lines().collect();
        assert_eq!(lines.len(), 1, "repriced in place, not voided and rung again");
        assert_eq!(lines[0].line_id, line_id);
        assert_eq!(lines[0].modifiers.iter().map(|m| m.modifier_id).collect::<Vec<_>>(), modifiers);
        assert_eq!(o.order.unit_price(lines[0]), Money(9_99));
        assert!(o.order.voids.is_empty());
        assert_eq!(o.order.repriced[&line_id].value.approved_by, Some(seed::MANAGER));
    }

    #[test]
    fn the_default_scale_labels_read_weight_and_price() {
        use super::scan::label_of;
        use thorbis_domain::scan::Embedded;
        let config = default_scale_labels();
        assert_eq!(config.validate(), Ok(()));
        // 750 g of item 12340, and 3.75 of item 77777.
        let (key, weight) = label_of(&config, "2012340007500").unwrap().unwrap();
        assert_eq!((key.as_str(), weight), ("2012340000006", Embedded::Weight { grams: 750 }));
        let (_, price) = label_of(&config, "2577777003759").unwrap().unwrap();
        assert_eq!(price, Embedded::Price { price: Money(3_75) });
        assert!(label_of(&config, "2012340007501").is_err(), "wrong check digit");
        assert_eq!(label_of(&config, "0012345678905"), Ok(None));
        assert_eq!(label_of(&config, "SKU-1"), Ok(None));
    }
}
