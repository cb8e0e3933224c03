//! The retail register: one sale at a time, rung up by scanning or searching.
//!
//! The scan field takes a keyboard-wedge scanner's burst or a cashier's typing; the page's
//! script tells them apart by inter-key timing (`via=scan` or `via=typed`). A scan must be a
//! barcode: an unknown one is refused inline. Typed text rings up a barcode it matches, and
//! otherwise searches item names. Scale labels (variable-measure EAN-13, prefix `2x`) are
//! decoded by `thorbis_drivers::variable_measure` with the terminal's layouts
//! ([`UiState::with_scale_labels`]); what a label means for an item is `domain::scan`'s rule.
//! Each line shows the stock on hand; price overrides (the line is voided and rung again at
//! the new price) and discounts ask a manager's PIN inline. Cash needs an open drawer; a card
//! tender records brand, last four digits and authorization only. Closing the sale prints
//! the receipt with its receipt-number barcode, which returns (`returns.rs`) scan.
//!
//! Like the POS, forms post and redirect; a refusal re-renders the screen with the message
//! inline, the typed values kept, status 422, and nothing written.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use thorbis_domain::catalog::{Item, Staff};
use thorbis_domain::command::{PriceOverride, TenderInput};
use thorbis_domain::events::{DiscountRule, DiscountScope, ServiceMode, Tender};
use thorbis_domain::ids::{DiscountId, ItemId, LineId, OrderId, PaymentId, StaffId};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::scan::{self, Embedded, Label};
use thorbis_domain::{Command, Currency, Money, Qty};
use thorbis_drivers::variable_measure::{
    Measure, PriceCheck, ValueKind, VariableMeasureConfig, VariableMeasureLayout,
};
use uuid::Uuid;

use super::action::{currency_of, order_id, order_view, run};
use super::form::{self, Fields};
use super::html::{Message, esc, message, page};
use super::pos::totals;
use super::{UiError, UiState, may_use_register, read};
use crate::print::{Document, receipt_number};
use crate::{OrderView, SignedIn, Store, StoreError};

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

pub(crate) fn require_register(who: &SignedIn) -> Result<(), UiError> {
    if may_use_register(who.role) { Ok(()) } else { Err(UiError::Forbidden) }
}

/// Staff who may approve, for the inline approval fields.
pub(crate) fn approvers(store: &Store) -> Result<Vec<Staff>, StoreError> {
    Ok(read::active_staff(store)?.into_iter().filter(|s| s.role.can_approve()).collect())
}

/// The inline approval fields: a chip per manager and a PIN field (no pop-over).
pub(crate) fn approval_fields(approvers: &[Staff], typed: &Fields, required: bool) -> String {
    let mut out = format!(
        "<fieldset class=\"group approval\"><legend>Manager approval{}</legend><div class=\"row\">",
        if required { "" } else { " (if over the limit)" }
    );
    for s in approvers {
        let id = s.id.0.to_string();
        let _ = write!(
            out,
            "<label class=\"choice\"><input type=\"radio\" name=\"approver\" value=\"{id}\" data-approver=\"{name}\"{checked}>{name}</label>",
            name = esc(&s.name),
            checked = if typed.get("approver") == id { " checked" } else { "" },
        );
    }
    out.push_str(
        "</div><label>Manager PIN <input type=\"password\" name=\"approver_pin\" class=\"approver-pin\" inputmode=\"numeric\" autocomplete=\"off\"></label></fieldset>",
    );
    out
}

/// Verifies the approval typed into [`approval_fields`]: `None` when none was given.
pub(crate) async fn approval(
    state: &UiState,
    fields: &Fields,
    required: bool,
) -> Result<Result<Option<StaffId>, String>, UiError> {
    let (who, pin) = (fields.get("approver"), fields.get("approver_pin").to_owned());
    if who.is_empty() && pin.is_empty() {
        return Ok(if required {
            Err("A manager's approval is required: choose a manager and enter their PIN.".into())
        } else {
            Ok(None)
        });
    }
    let Ok(manager) = Uuid::try_parse(who).map(StaffId) else {
        return Ok(Err("Choose the approving manager.".into()));
    };
    if !crate::staff::is_valid_pin(&pin) {
        return Ok(Err("The manager PIN is 4 to 8 digits.".into()));
    }
    let result = state
        .with_store(move |store| match store.approve(manager, &pin) {
            Ok(id) => Ok(Ok(Some(id))),
            Err(crate::SignInError::Store(e)) => Err(e),
            Err(e) => Ok(Err(format!("Approval refused: {e}."))),
        })
        .await?;
    Ok(result)
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

#[derive(Debug, Deserialize, Default)]
pub(crate) struct SaleQuery {
    q: Option<String>,
    line: Option<String>,
    panel: Option<String>,
    msg: Option<String>,
}

/// Everything the screen reads, in one store call.
#[derive(Debug)]
struct SaleData {
    order: Option<OrderView>,
    items: Vec<Item>,
    stock: Vec<(ItemId, Qty)>,
    approvers: Vec<Staff>,
    drawer: bool,
    receipt: Option<String>,
    parked: Vec<OrderView>,
    /// A serial scanner feeds this terminal's register pages.
    scanner: bool,
}

fn load(store: &Store, order_id: Option<OrderId>) -> Result<SaleData, StoreError> {
    let items: Vec<Item> = store.items()?.into_iter().filter(|i| i.active).collect();
    let mut stock = Vec::new();
    for item in items.iter().filter(|i| i.track_stock) {
        stock.push((item.id, store.stock_on_hand(item.id)?));
    }
    let order = order_id.map(|id| store.order(id)).transpose()?.flatten();
    let receipt = match &order {
        Some(o) if o.order.status() == OrderStatus::Closed => {
            read::original_job(store, &Document::Receipt { order_id: o.id })?
                .map(|j| format!("{:?}", j.state).to_lowercase())
        }
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
        approvers: approvers(store)?,
        drawer: !store.open_drawers()?.is_empty(),
        receipt,
        parked,
        scanner: false,
    })
}

/// A new sale: the scan field and parked sales.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<SaleQuery>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let screen = Screen { search: q.q.filter(|s| !s.trim().is_empty()), ..Screen::default() };
    render(&state, &who, None, screen, StatusCode::OK).await
}

/// One sale.
pub(crate) async fn sale(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Query(q): Query<SaleQuery>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let order_id = order_id(&order)?;
    let screen = Screen {
        // Confirmations after a redirect are chosen from a fixed list, never echoed.
        msg: match q.msg.as_deref() {
            Some("added") => Some(Message::Info("Added.".into())),
            Some("price") => Some(Message::Info("Price overridden.".into())),
            Some("discount") => Some(Message::Info("Discount applied.".into())),
            _ => None,
        },
        search: q.q.filter(|s| !s.trim().is_empty()),
        override_line: q.line.as_deref().and_then(|l| Uuid::try_parse(l).ok()).map(LineId),
        discount: q.panel.as_deref() == Some("discount"),
        ..Screen::default()
    };
    render(&state, &who, Some(order_id), screen, StatusCode::OK).await
}

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
    let body = body(&data, &screen);
    Ok((status, page("Register", "register", Some(who), &state.indicators(), &body))
        .into_response())
}

fn on_hand(data: &SaleData, item: ItemId) -> Option<Qty> {
    data.stock.iter().find(|(id, _)| *id == item).map(|(_, q)| *q)
}

fn body(data: &SaleData, screen: &Screen) -> String {
    let open = data.order.as_ref().is_none_or(|o| o.order.status() == OrderStatus::Open);
    let base =
        data.order.as_ref().map_or("/register".to_owned(), |o| format!("/register/{}", o.id.0));
    let mut out = String::from("<div class=\"cols\"><section class=\"col\">");
    out.push_str("<h1>Register</h1>");
    if open {
        out.push_str(&message(screen.msg.as_ref()));
        out.push_str(&scan_form(data, screen));
        if let Some(q) = &screen.search {
            out.push_str(&results(data, q, &base));
        }
        if let (Some(line), Some(o)) = (screen.override_line, &data.order) {
            out.push_str(&override_panel(data, o, line, screen, &base));
        }
        if screen.discount && data.order.is_some() {
            out.push_str(&discount_panel(data, screen, &base));
        }
    }
    if !data.parked.is_empty() {
        out.push_str("<h2>Other open sales</h2><div class=\"row\" id=\"parked\">");
        for o in &data.parked {
            let _ = write!(
                out,
                "<a class=\"btn\" href=\"/register/{}\">{} items · {}</a>",
                o.id.0,
                o.order.live_lines().count(),
                esc(&o.totals.balance.format(currency_of(o)))
            );
        }
        out.push_str("</div>");
    }
    out.push_str("<p><a class=\"btn ghost\" href=\"/returns\" id=\"returns-link\">Returns</a> <a class=\"btn ghost\" href=\"/drawer\">Drawer</a></p>");
    out.push_str("</section><section class=\"col narrow\" id=\"sale\">");
    match &data.order {
        None => {
            out.push_str("<h2>New sale</h2><p class=\"muted\">Scan an item or type its name.</p>");
        }
        Some(o) => {
            let cur = currency_of(o);
            out.push_str("<h2>Sale</h2>");
            if !open {
                out.push_str(&message(screen.msg.as_ref()));
            }
            out.push_str(&lines(data, o, cur, open, &base));
            out.push_str(&totals(o, cur));
            if open {
                out.push_str(&tenders(data, o, screen, &base, cur));
            } else {
                out.push_str(&paid(data, o, cur));
            }
        }
    }
    out.push_str("</section></div>");
    out
}

fn scan_form(data: &SaleData, screen: &Screen) -> String {
    let order = data.order.as_ref().map(|o| o.id.0.to_string()).unwrap_or_default();
    format!(
        "<form method=\"post\" action=\"/register/scan\" class=\"stack panel\" id=\"scan-form\" data-wedge{live}>\
<input type=\"hidden\" name=\"order\" value=\"{order}\"><input type=\"hidden\" name=\"via\" id=\"via\" value=\"typed\">\
<div class=\"row\"><label class=\"grow\">Scan or search <input name=\"code\" id=\"scan\" value=\"{code}\" autocomplete=\"off\" autofocus></label>\
<label class=\"short\">Qty / kg <input name=\"qty\" id=\"qty\" value=\"{qty}\" inputmode=\"decimal\" autocomplete=\"off\" placeholder=\"1\"></label></div>\
<button class=\"btn primary\" type=\"submit\" id=\"scan-go\">Enter</button></form>",
        code = esc(&screen.code),
        qty = esc(&screen.qty),
        live = if data.scanner { " data-live=\"/register/scans\"" } else { "" },
    )
}

fn results(data: &SaleData, q: &str, base: &str) -> String {
    let needle = q.trim().to_lowercase();
    let found: Vec<&Item> =
        data.items.iter().filter(|i| i.name.to_lowercase().contains(&needle)).take(24).collect();
    let mut out =
        format!("<section class=\"panel\" id=\"results\"><h2>Items matching “{}”</h2>", esc(q));
    if found.is_empty() {
        out.push_str("<p class=\"muted\">Nothing matches.</p>");
    }
    let order = data.order.as_ref().map(|o| o.id.0.to_string()).unwrap_or_default();
    out.push_str("<div class=\"grid\">");
    for item in found {
        let stock = on_hand(data, item.id)
            .map_or(String::new(), |q| format!("<span class=\"muted stock\">on hand {q}</span>"));
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/register/add\" class=\"tile-form\">\
<input type=\"hidden\" name=\"order\" value=\"{order}\"><input type=\"hidden\" name=\"item\" value=\"{id}\">\
<input type=\"hidden\" name=\"back\" value=\"{base}\">\
<button class=\"tile\" type=\"submit\" data-item=\"{name}\">{name}<span class=\"money\">{price}{per}</span>{stock}</button>\
{weight}</form>",
            id = item.id.0,
            name = esc(&item.name),
            price = esc(&item.price.format(Currency::USD)),
            per = if item.sold_by_weight { " / kg" } else { "" },
            weight = if item.sold_by_weight {
                "<label>Weight kg <input name=\"qty\" class=\"weight\" inputmode=\"decimal\" autocomplete=\"off\"></label>"
            } else {
                ""
            },
        );
    }
    out.push_str("</div></section>");
    out
}

fn lines(data: &SaleData, o: &OrderView, cur: Currency, open: bool, base: &str) -> String {
    let mut out = String::from("<ol class=\"lines\" id=\"lines\">");
    for stamped in o.order.lines_in_order() {
        let line = &stamped.value;
        let net = o.totals.lines.iter().find(|t| t.line_id == line.line_id);
        let voided = net.is_some_and(|t| t.voided);
        if voided {
            continue;
        }
        let qty = if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
        let _ = write!(
            out,
            "<li class=\"line\" data-line=\"{name}\"><span class=\"name\">{qty}{name}</span><span class=\"money\">{amount}</span>",
            name = esc(&line.name),
            qty = esc(&qty),
            amount = esc(&net.map_or(Money::ZERO, |t| t.net).format(cur)),
        );
        let by_weight = data.items.iter().any(|i| i.id == line.item_id && i.sold_by_weight);
        let per = if by_weight { "/ kg" } else { "each" };
        let mut tags = vec![format!("{} {per}", line.unit_price.format(cur))];
        if line.price_override_by.is_some() {
            tags.push("price overridden".into());
        }
        if let Some(stock) = on_hand(data, line.item_id) {
            tags.push(format!("on hand {stock}"));
        }
        let _ = write!(out, "<span class=\"tags\">{}</span>", esc(&tags.join(" · ")));
        if open {
            let _ = write!(
                out,
                "<a class=\"chip\" href=\"{base}?line={}\" data-override=\"{}\">Price</a>",
                line.line_id.0,
                esc(&line.name)
            );
        }
        out.push_str("</li>");
    }
    if o.order.live_lines().next().is_none() {
        out.push_str("<li class=\"muted\">Nothing yet: scan an item.</li>");
    }
    out.push_str("</ol>");
    out
}

fn override_panel(
    data: &SaleData,
    o: &OrderView,
    line: LineId,
    screen: &Screen,
    base: &str,
) -> String {
    let Some(added) = o.order.live_lines().find(|l| l.line_id == line) else {
        return String::new();
    };
    format!(
        "<section class=\"panel\" id=\"override\"><h2>New price for {name}</h2>\
<form method=\"post\" action=\"{base}/price\" class=\"stack\"><input type=\"hidden\" name=\"line\" value=\"{line}\">\
<label>Unit price (now {now}) <input name=\"price\" id=\"price\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{price}\"></label>\
<label>Reason <input name=\"reason\" id=\"override-reason\" autocomplete=\"off\" value=\"{reason}\"></label>{approval}\
<div class=\"row\"><button class=\"btn primary\" type=\"submit\" id=\"override-go\">Override price</button>\
<a class=\"btn ghost\" href=\"{base}\">Cancel</a></div></form></section>",
        name = esc(&added.name),
        line = line.0,
        now = esc(&added.unit_price.format(currency_of(o))),
        price = esc(screen.typed.get("price")),
        reason = esc(screen.typed.get("reason")),
        approval = approval_fields(&data.approvers, &screen.typed, true),
    )
}

fn discount_panel(data: &SaleData, screen: &Screen, base: &str) -> String {
    let kind = screen.typed.get("kind");
    format!(
        "<section class=\"panel\" id=\"discount\"><h2>Discount on the sale</h2>\
<form method=\"post\" action=\"{base}/discount\" class=\"stack\">\
<div class=\"row\"><label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"percent\"{pct}>Percent</label>\
<label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"amount\"{amt}>Amount</label></div>\
<label>Value <input name=\"value\" id=\"discount-value\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{value}\"></label>\
<label>Reason <input name=\"reason\" id=\"discount-reason\" autocomplete=\"off\" value=\"{reason}\"></label>{approval}\
<div class=\"row\"><button class=\"btn primary\" type=\"submit\" id=\"discount-go\">Apply discount</button>\
<a class=\"btn ghost\" href=\"{base}\">Cancel</a></div></form></section>",
        pct = if kind == "amount" { "" } else { " checked" },
        amt = if kind == "amount" { " checked" } else { "" },
        value = esc(screen.typed.get("value")),
        reason = esc(screen.typed.get("reason")),
        approval = approval_fields(&data.approvers, &screen.typed, false),
    )
}

fn tenders(data: &SaleData, o: &OrderView, screen: &Screen, base: &str, cur: Currency) -> String {
    if o.order.live_lines().next().is_none() {
        return String::new();
    }
    let mut out = format!(
        "<p><a class=\"btn\" href=\"{base}?panel=discount\" id=\"discount-link\">Discount</a></p>"
    );
    let typed = &screen.typed;
    if data.drawer {
        let _ = write!(
            out,
            "<section class=\"panel\" id=\"cash\"><h2>Cash</h2><form method=\"post\" action=\"{base}/cash\" class=\"stack\">\
<label>Tendered <input name=\"tendered\" id=\"tendered\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{t}\"></label>\
<div class=\"row quick\"><button type=\"button\" class=\"chip\" data-fill=\"{e}\">Exact {e}</button></div>\
<button class=\"btn primary wide\" type=\"submit\" id=\"take-cash\">Take cash</button></form></section>",
            t = esc(typed.get("tendered")),
            e = esc(&o.totals.balance.format(cur)),
        );
    } else {
        out.push_str("<section class=\"panel\" id=\"cash\"><h2>Cash</h2><p class=\"muted\">No drawer is open: <a href=\"/drawer\">open one</a> to take cash.</p></section>");
    }
    let _ = write!(
        out,
        "<section class=\"panel\" id=\"card\"><h2>Card</h2><form method=\"post\" action=\"{base}/card\" class=\"stack\">\
<div class=\"row\"><label>Brand <input name=\"brand\" id=\"brand\" autocomplete=\"off\" value=\"{brand}\"></label>\
<label>Last 4 <input name=\"last4\" id=\"last4\" inputmode=\"numeric\" autocomplete=\"off\" value=\"{last4}\"></label>\
<label>Auth code <input name=\"auth\" id=\"auth\" autocomplete=\"off\" value=\"{auth}\"></label></div>\
<button class=\"btn primary wide\" type=\"submit\" id=\"take-card\">Card approved</button></form></section>",
        brand = esc(typed.get("brand")),
        last4 = esc(typed.get("last4")),
        auth = esc(typed.get("auth")),
    );
    out
}

fn paid(data: &SaleData, o: &OrderView, cur: Currency) -> String {
    let mut out = String::from("<section class=\"panel done\" id=\"paid\"><h2>Paid</h2>");
    for p in o.order.payments.values() {
        match &p.value.tender {
            Tender::Cash { tendered, change } => {
                let _ = write!(
                    out,
                    "<p>Cash <span class=\"money\">{}</span></p><p class=\"change\">Change due <span class=\"money\" id=\"change\">{}</span></p>",
                    esc(&tendered.format(cur)),
                    esc(&change.format(cur))
                );
            }
            other => {
                let _ = write!(
                    out,
                    "<p>{} <span class=\"money\">{}</span></p>",
                    esc(other.label()),
                    esc(&p.value.amount.format(cur))
                );
            }
        }
    }
    let _ = write!(
        out,
        "<p>Receipt number <span class=\"money\" id=\"receipt-number\">{}</span></p>",
        esc(&receipt_number(o.id))
    );
    match &data.receipt {
        Some(state) => {
            let _ = write!(out, "<p>Receipt: <span id=\"receipt-state\">{}</span></p>", esc(state));
        }
        None => out.push_str("<p class=\"muted\">No receipt printer is configured.</p>"),
    }
    out.push_str(
        "<a class=\"btn primary wide\" href=\"/register\" id=\"new-sale\">New sale</a></section>",
    );
    out
}

/// Decodes a scanned code as a scale label if a layout claims it.
fn label_of(
    config: &VariableMeasureConfig,
    code: &str,
) -> Result<Option<(String, Embedded)>, String> {
    let digits = (code.len() == 12 || code.len() == 13) && code.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Ok(None);
    }
    match config.decode(code) {
        Ok(Some(v)) => {
            let embedded = match v.measure {
                Measure::Weight { grams } => Embedded::Weight { grams },
                Measure::Price { minor } => Embedded::Price { price: Money(minor) },
            };
            Ok(Some((v.catalog_code, embedded)))
        }
        Ok(None) => Ok(None),
        // A code that is not an EAN at all may still be listed as typed (an in-house code).
        Err(thorbis_drivers::variable_measure::VariableMeasureError::CheckDigit) => {
            Err(format!("Barcode {code} does not read right (check digit): scan it again."))
        }
        Err(e) => Err(format!("Barcode {code} cannot be read: {e}.")),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// The scan field: a scan (or typed code) rings an item up; other typed text searches.
pub(crate) async fn scan(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let fields = Fields(fields);
    let order_id = match fields.get("order") {
        "" => None,
        raw => Some(order_id(raw)?),
    };
    let code = fields.get("code").to_owned();
    let scanned = fields.get("via") == "scan";
    let refuse = |msg: String| Screen {
        msg: Some(Message::Error(msg)),
        code: fields.get("code").to_owned(),
        qty: fields.get("qty").to_owned(),
        ..Screen::default()
    };
    if code.is_empty() {
        let screen = refuse("Scan a barcode or type an item's name.".into());
        return render(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if code.chars().count() > 64 || code.chars().any(char::is_control) {
        let screen = refuse("That is not a barcode or an item name.".into());
        return render(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let items = state.with_store(|store| store.items()).await?;
    let found = match label_of(&state.scale_labels, &code) {
        Err(e) => Err(e),
        Ok(label) => {
            let label = label
                .as_ref()
                .map(|(key, embedded)| Label { catalog_code: key, embedded: *embedded });
            scan::resolve(&items, &code, label).map_err(|e| match e {
                scan::ScanError::Unknown(_) if !scanned => String::new(),
                other => format!("{}.", capitalized(&other.to_string())),
            })
        }
    };
    let found = match found {
        Ok(found) => found,
        // Typed text that is no barcode: search by name.
        Err(e) if e.is_empty() => {
            let q = url_encode(&code);
            let to = match order_id {
                Some(o) => format!("/register/{}?q={q}", o.0),
                None => format!("/register?q={q}"),
            };
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => {
            return render(&state, &who, order_id, refuse(e), StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        }
    };
    let by_weight = items.iter().any(|i| i.id == found.item_id && i.sold_by_weight);
    let qty = match found.qty {
        Some(q) if fields.get("qty").is_empty() => Ok(q),
        Some(_) => Err("A scale label sets its own quantity: clear the Qty field.".to_owned()),
        None if by_weight && fields.get("qty").is_empty() => {
            Err(format!("Weigh {}: type its weight in kg, then scan again.", found.name))
        }
        None => parse_qty(fields.get("qty"), by_weight),
    };
    match qty {
        Ok(qty) => add(&state, &who, order_id, found.item_id, qty, None).await,
        Err(e) => render(&state, &who, order_id, refuse(e), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// A search result tapped.
pub(crate) async fn add_item(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let fields = Fields(fields);
    let order_id = match fields.get("order") {
        "" => None,
        raw => Some(order_id(raw)?),
    };
    let item_id = ItemId(Uuid::try_parse(fields.get("item")).map_err(|_| UiError::NotFound)?);
    let by_weight = state
        .with_store(move |store| {
            Ok(store.items()?.iter().any(|i| i.id == item_id && i.sold_by_weight))
        })
        .await?;
    match parse_qty(fields.get("qty"), by_weight) {
        Ok(qty) => add(&state, &who, order_id, item_id, qty, None).await,
        Err(e) => {
            let screen = Screen { msg: Some(Message::Error(e)), ..Screen::default() };
            render(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Rings `qty` of an item up on the sale, opening the sale first if there is none; one
/// transaction either way.
async fn add(
    state: &UiState,
    who: &SignedIn,
    order_id: Option<OrderId>,
    item_id: ItemId,
    qty: Qty,
    price_override: Option<PriceOverride>,
) -> Result<Response, UiError> {
    let (id, line_id, fresh) = state
        .with_store(move |store| {
            let line = LineId(store.new_id());
            Ok(match order_id {
                Some(id) => (id, line, false),
                None => (OrderId(store.new_id()), line, true),
            })
        })
        .await?;
    let mut commands = Vec::with_capacity(2);
    if fresh {
        commands.push(Command::OpenOrder {
            order_id: id,
            currency: Currency::USD,
            mode: ServiceMode::Retail,
            table: None,
            guests: None,
            staff: Some(who.staff_id),
        });
    }
    commands.push(Command::AddLine {
        order_id: id,
        line_id,
        item_id,
        qty,
        modifiers: Vec::new(),
        seat: None,
        course: None,
        note: None,
        price_override,
    });
    match run(state, commands, Currency::USD).await? {
        Ok(()) => Ok(Redirect::to(&format!("/register/{}?msg=added", id.0)).into_response()),
        Err(e) => {
            let screen = Screen { msg: Some(Message::Error(e)), ..Screen::default() };
            render(state, who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

async fn open_sale(state: &UiState, order: &str) -> Result<OrderView, UiError> {
    order_view(state, order_id(order)?).await
}

/// Overrides a line's unit price with a manager's approval: the line is voided (reason
/// "price override", approved) and rung again at the new price, in one transaction.
pub(crate) async fn override_price(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let o = open_sale(&state, &order).await?;
    let cur = currency_of(&o);
    let fields = Fields(fields);
    let line = Uuid::try_parse(fields.get("line")).map(LineId).map_err(|_| UiError::NotFound)?;
    let parsed = form::money(fields.get("price"), cur, "New price")
        .and_then(|price| Ok((price, form::text(fields.get("reason"), "Reason", 80)?)));
    let refusal = match parsed {
        Err(e) => Some(e),
        Ok((price, reason)) => match approval(&state, &fields, true).await? {
            Err(e) => Some(e),
            Ok(approved_by) => {
                let approved_by = approved_by.expect("required approval");
                match o.order.live_lines().find(|l| l.line_id == line) {
                    None => Some("That line is no longer on the sale.".into()),
                    Some(added) => {
                        let new_line = state.with_store(|store| Ok(LineId(store.new_id()))).await?;
                        let commands = vec![
                            Command::VoidLine {
                                order_id: o.id,
                                line_id: line,
                                reason: format!("price override: {reason}"),
                                approved_by: Some(approved_by),
                            },
                            Command::AddLine {
                                order_id: o.id,
                                line_id: new_line,
                                item_id: added.item_id,
                                qty: added.qty,
                                modifiers: Vec::new(),
                                seat: None,
                                course: None,
                                note: None,
                                price_override: Some(PriceOverride {
                                    unit_price: price,
                                    approved_by,
                                }),
                            },
                        ];
                        run(&state, commands, cur).await?.err()
                    }
                }
            }
        },
    };
    match refusal {
        None => Ok(Redirect::to(&format!("/register/{}?msg=price", o.id.0)).into_response()),
        Some(e) => {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                override_line: Some(line),
                typed: fields,
                ..Screen::default()
            };
            render(&state, &who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// A percentage typed as `10` or `12.5`, to basis points (above 0, at most 100 %).
fn percent_bps(raw: &str) -> Result<u32, String> {
    let message = || "Percent must be a number above 0 and at most 100, like 10 or 12.5".to_owned();
    form::fixed_point(raw, 3, 2)
        .and_then(|bps| u32::try_from(bps).ok())
        .filter(|bps| (1..=10_000).contains(bps))
        .ok_or_else(message)
}

/// A discount on the whole sale; the domain asks for a manager above the policy's limit.
pub(crate) async fn discount(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let o = open_sale(&state, &order).await?;
    let cur = currency_of(&o);
    let fields = Fields(fields);
    let rule = if fields.get("kind") == "amount" {
        form::money(fields.get("value"), cur, "Discount").and_then(|m| {
            if m.as_minor() > 0 {
                Ok(DiscountRule::Amount(m))
            } else {
                Err("Discount must be above 0".into())
            }
        })
    } else {
        percent_bps(fields.get("value")).map(DiscountRule::PercentBps)
    };
    let parsed = rule.and_then(|rule| Ok((rule, form::text(fields.get("reason"), "Reason", 80)?)));
    let refusal = match parsed {
        Err(e) => Some(e),
        Ok((rule, reason)) => match approval(&state, &fields, false).await? {
            Err(e) => Some(e),
            Ok(approved_by) => {
                let discount_id = state.with_store(|store| Ok(DiscountId(store.new_id()))).await?;
                let command = Command::ApplyDiscount {
                    order_id: o.id,
                    discount_id,
                    scope: DiscountScope::Order,
                    rule,
                    reason,
                    approved_by,
                };
                run(&state, vec![command], cur).await?.err().map(|e| {
                    if e.contains("requires a manager") {
                        format!("{e} Choose a manager and enter their PIN.")
                    } else {
                        e
                    }
                })
            }
        },
    };
    match refusal {
        None => Ok(Redirect::to(&format!("/register/{}?msg=discount", o.id.0)).into_response()),
        Some(e) => {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                discount: true,
                typed: fields,
                ..Screen::default()
            };
            render(&state, &who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Takes `tender` for the whole balance and closes the sale (which prints the receipt and
/// moves stock), in one transaction.
async fn pay(
    state: &UiState,
    who: &SignedIn,
    o: &OrderView,
    tender: TenderInput,
) -> Result<Option<String>, UiError> {
    let cash = matches!(tender, TenderInput::Cash { .. });
    let (payment_id, drawer) = state
        .with_store(|store| {
            let drawer = store.open_drawers()?.first().map(|(id, _)| *id);
            Ok((PaymentId(store.new_id()), drawer))
        })
        .await?;
    let commands = vec![
        Command::TakePayment {
            order_id: o.id,
            payment_id,
            tender,
            amount: None,
            tip: Money::ZERO,
            // Card takings count on the shift's drawer report too.
            drawer_session: if cash || drawer.is_some() { drawer } else { None },
            staff: Some(who.staff_id),
        },
        Command::CloseOrder { order_id: o.id, staff: Some(who.staff_id) },
    ];
    Ok(run(state, commands, currency_of(o)).await?.err())
}

/// Cash for the whole balance.
pub(crate) async fn cash(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let o = open_sale(&state, &order).await?;
    let fields = Fields(fields);
    let refusal = match form::money(fields.get("tendered"), currency_of(&o), "Cash tendered") {
        Err(e) => Some(e),
        Ok(tendered) => pay(&state, &who, &o, TenderInput::Cash { tendered }).await?,
    };
    tendered(&state, &who, &o, refusal, fields).await
}

/// An external card terminal's approval for the whole balance.
pub(crate) async fn card(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let o = open_sale(&state, &order).await?;
    let fields = Fields(fields);
    let refusal = match card_input(&fields) {
        Err(e) => Some(e),
        Ok(tender) => pay(&state, &who, &o, tender).await?,
    };
    tendered(&state, &who, &o, refusal, fields).await
}

/// The card fields: brand, last four digits, authorization code.
pub(crate) fn card_input(fields: &Fields) -> Result<TenderInput, String> {
    let brand = form::text(fields.get("brand"), "Card brand", 12)?;
    let last4 = fields.get("last4");
    if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Last 4 must be the card's last four digits".into());
    }
    let auth = form::text(fields.get("auth"), "Auth code", 12)?;
    Ok(TenderInput::Card { brand: brand.to_uppercase(), last4: last4.to_owned(), auth_code: auth })
}

async fn tendered(
    state: &UiState,
    who: &SignedIn,
    o: &OrderView,
    refusal: Option<String>,
    fields: Fields,
) -> Result<Response, UiError> {
    match refusal {
        None => Ok(Redirect::to(&format!("/register/{}", o.id.0)).into_response()),
        Some(e) => {
            let screen =
                Screen { msg: Some(Message::Error(e)), typed: fields, ..Screen::default() };
            render(state, who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
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

    #[test]
    fn percentages_become_basis_points() {
        assert_eq!(percent_bps("10"), Ok(1_000));
        assert_eq!(percent_bps("12.5"), Ok(1_250));
        assert_eq!(percent_bps("100"), Ok(10_000));
        for bad in ["", "0", "-5", "100.01", "abc", "5.555", "1e2", "99999999999"] {
            assert!(percent_bps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_scale_labels_read_weight_and_price() {
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
