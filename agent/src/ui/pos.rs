//! The restaurant POS: open checks, a new check, and one check's screen: the menu grid by
//! category, the inline modifier panel (seat, course, quantity), the lines and totals, send
//! to kitchen, cash tender with change due, and the receipt with its copy.
//!
//! Forms post and redirect back (so a reload never repeats a sale); a refusal re-renders
//! the same screen with the message inline and the typed values kept, with status 422.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use thorbis_domain::catalog::{Category, Item, ModifierGroup};
use thorbis_domain::command::{CommandError, TenderInput};
use thorbis_domain::events::{ServiceMode, Tender};
use thorbis_domain::ids::{
    CategoryId, DrawerSessionId, ItemId, LineId, ModifierGroupId, ModifierId, OrderId, PaymentId,
};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::{Command, Currency, Money, Qty};
use uuid::Uuid;

use super::form::{self, Fields};
use super::html::{Message, esc, message, page};
use super::{UiError, UiState, may_use_pos, read};
use crate::print::{Document, JobState, PrintJob};
use crate::{OrderView, SignedIn, Store, StoreError};

const ALL_JOB_STATES: [JobState; 7] = [
    JobState::Queued,
    JobState::Sending,
    JobState::Sent,
    JobState::Printed,
    JobState::Uncertain,
    JobState::Held,
    JobState::Discarded,
];

fn require_pos(who: &SignedIn) -> Result<(), UiError> {
    if may_use_pos(who.role) { Ok(()) } else { Err(UiError::Forbidden) }
}

/// Text for a refused command, with amounts in the order's currency.
pub(crate) fn refusal_text(e: &CommandError, currency: Currency) -> String {
    let m = |x: &Money| x.format(currency);
    match e {
        CommandError::TenderTooSmall { tendered, amount } => {
            format!("Cash of {} does not cover {} due.", m(tendered), m(amount))
        }
        CommandError::ChangeTooLarge { change, limit } => format!(
            "Change of {} is over the {} limit: check the amount tendered.",
            m(change),
            m(limit)
        ),
        CommandError::TenderExceedsBalance { amount, balance } => {
            format!("{} is more than the {} balance.", m(amount), m(balance))
        }
        CommandError::OrderUnpaid { balance, .. } => format!("{} is still to pay.", m(balance)),
        CommandError::NothingToSend => "Nothing new to send to the kitchen.".into(),
        CommandError::Modifiers(e) => {
            let text = e.to_string();
            let mut chars = text.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            format!("{}{}.", first.unwrap_or_default(), chars.as_str())
        }
        other => format!("{other}."),
    }
}

/// Runs `commands`; a refusal comes back as its text (nothing was written).
async fn run(
    state: &UiState,
    commands: Vec<Command>,
    currency: Currency,
) -> Result<Result<(), String>, UiError> {
    let result = state
        .with_store(move |store| match store.execute_all(&commands) {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Refused(e)) => Ok(Err(refusal_text(&e, currency))),
            Err(other) => Err(other),
        })
        .await?;
    if result.is_ok() {
        state.notify();
    }
    Ok(result)
}

fn table_of(o: &OrderView) -> String {
    o.order.opened.as_ref().and_then(|x| x.value.table.clone()).unwrap_or_else(|| "—".into())
}

fn currency_of(o: &OrderView) -> Currency {
    o.order.currency().unwrap_or(Currency::USD)
}

/// The open checks and the new-check form.
pub(crate) async fn checks(
    State(state): State<UiState>,
    who: SignedIn,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    render_checks(&state, &who, None, &Fields::default(), StatusCode::OK).await
}

async fn render_checks(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    typed: &Fields,
    status: StatusCode,
) -> Result<Response, UiError> {
    let orders = state.with_store(|store| store.open_orders()).await?;
    let mut body = String::from("<div class=\"cols\"><section class=\"col\"><h1>Open checks</h1>");
    if orders.is_empty() {
        body.push_str("<p class=\"muted\">No open checks.</p>");
    }
    body.push_str("<div class=\"grid checks\" id=\"open-checks\">");
    for o in &orders {
        let cur = currency_of(o);
        let guests =
            o.order.opened.as_ref().and_then(|x| x.value.guests).map_or(String::new(), |g| {
                format!("<span class=\"muted\">{g} guest{}</span>", if g == 1 { "" } else { "s" })
            });
        let _ = write!(
            body,
            "<a class=\"tile check\" href=\"/pos/checks/{id}\" data-table=\"{table}\">\
<span class=\"big\">Table {table}</span>{guests}<span>{lines} items</span><span class=\"money\">{due}</span></a>",
            id = o.id.0,
            table = esc(&table_of(o)),
            lines = o.order.live_lines().count(),
            due = esc(&o.totals.balance.format(cur)),
        );
    }
    body.push_str("</div></section>");
    let _ = write!(
        body,
        "<section class=\"col narrow\"><h2>New check</h2>{msg}\
<form method=\"post\" action=\"/pos/checks\" id=\"new-check\" class=\"stack\">\
<label>Table <input name=\"table\" id=\"table\" value=\"{table}\" autocomplete=\"off\"></label>\
<label>Guests <input name=\"guests\" id=\"guests\" inputmode=\"numeric\" value=\"{guests}\" autocomplete=\"off\"></label>\
<button class=\"btn primary\" type=\"submit\" id=\"open-check\">Open check</button></form></section></div>",
        msg = message(msg.as_ref()),
        table = esc(typed.get("table")),
        guests = esc(typed.get("guests")),
    );
    Ok((status, page("Checks", "pos", Some(who), &state.indicators(), &body)).into_response())
}

/// Opens a dine-in check.
pub(crate) async fn open_check(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let fields = Fields(fields);
    let parsed = form::text(fields.get("table"), "Table", 20)
        .and_then(|t| Ok((t, form::count(fields.get("guests"), "Guests", 1, 99)?)));
    let (table, guests) = match parsed {
        Ok(v) => v,
        Err(e) => {
            return render_checks(
                &state,
                &who,
                Some(Message::Error(e)),
                &fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let staff = who.staff_id;
    let order_id = state.with_store(|store| Ok(OrderId(store.new_id()))).await?;
    let command = Command::OpenOrder {
        order_id,
        currency: Currency::USD,
        mode: ServiceMode::DineIn,
        table: Some(table),
        guests: Some(guests),
        staff: Some(staff),
    };
    match run(&state, vec![command], Currency::USD).await? {
        Ok(()) => Ok(Redirect::to(&format!("/pos/checks/{}", order_id.0)).into_response()),
        Err(e) => {
            render_checks(
                &state,
                &who,
                Some(Message::Error(e)),
                &fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// What a check's screen shows besides the order.
#[derive(Debug, Default)]
struct Screen {
    category: Option<CategoryId>,
    seat: Option<u16>,
    course: Option<u16>,
    /// The item whose modifier panel is open, with the values typed into it.
    panel: Option<(ItemId, Fields)>,
    msg: Option<Message>,
    tendered: String,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct CheckQuery {
    cat: Option<String>,
    item: Option<String>,
    seat: Option<String>,
    course: Option<String>,
    msg: Option<String>,
}

fn parse_id(raw: Option<&str>) -> Option<Uuid> {
    raw.and_then(|s| Uuid::try_parse(s.trim()).ok())
}

/// One check.
pub(crate) async fn check(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let screen = Screen {
        category: parse_id(q.cat.as_deref()).map(CategoryId),
        seat: q.seat.as_deref().and_then(|s| form::count(s, "Seat", 1, 99).ok()),
        course: q.course.as_deref().and_then(|s| form::count(s, "Course", 1, 9).ok()),
        panel: parse_id(q.item.as_deref()).map(|id| (ItemId(id), Fields::default())),
        // Confirmations after a redirect are chosen from a fixed list, never echoed.
        msg: match q.msg.as_deref() {
            Some("sent") => Some(Message::Info("Sent to the kitchen.".into())),
            Some("copy") => Some(Message::Info("Receipt copy sent to the printer.".into())),
            Some("drawer") => Some(Message::Info("Drawer opened.".into())),
            _ => None,
        },
        tendered: String::new(),
    };
    render_check(&state, &who, order_id, screen, StatusCode::OK).await
}

/// Everything a check's screen reads, in one store call.
#[derive(Debug)]
struct CheckData {
    order: OrderView,
    items: Vec<Item>,
    categories: Vec<Category>,
    groups: BTreeMap<ModifierGroupId, ModifierGroup>,
    unavailable: Vec<ItemId>,
    drawer: Option<DrawerSessionId>,
    receipt: Option<PrintJob>,
    copies: usize,
}

fn load(store: &Store, order_id: OrderId) -> Result<Option<CheckData>, StoreError> {
    let Some(order) = store.order(order_id)? else { return Ok(None) };
    let jobs: Vec<PrintJob> = store
        .print_jobs(&ALL_JOB_STATES)?
        .into_iter()
        .filter(|j| j.document == Document::Receipt { order_id })
        .collect();
    let receipt = jobs.iter().find(|j| j.copy_of.is_none()).cloned();
    let copies = jobs.iter().filter(|j| j.copy_of.is_some()).count();
    Ok(Some(CheckData {
        order,
        items: store.items()?.into_iter().filter(|i| i.active).collect(),
        categories: read::categories(store)?,
        groups: read::modifier_groups(store)?,
        unavailable: store.unavailable_items()?,
        drawer: store.open_drawers()?.first().map(|(id, _)| *id),
        receipt,
        copies,
    }))
}

async fn render_check(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    screen: Screen,
    status: StatusCode,
) -> Result<Response, UiError> {
    let data =
        state.with_store(move |store| load(store, order_id)).await?.ok_or(UiError::NotFound)?;
    let body = check_body(&data, &screen);
    let title = format!("Table {}", table_of(&data.order));
    Ok((status, page(&title, "check", Some(who), &state.indicators(), &body)).into_response())
}

fn check_body(data: &CheckData, screen: &Screen) -> String {
    let o = &data.order;
    let cur = currency_of(o);
    let open = o.order.status() == OrderStatus::Open;
    let base = format!("/pos/checks/{}", o.id.0);
    let mut out = String::from("<div class=\"cols\">");
    if open {
        out.push_str("<section class=\"col menu\">");
        out.push_str(&menu(data, screen, &base));
        out.push_str("</section>");
    }
    out.push_str("<section class=\"col narrow check\" id=\"check\">");
    let guests = o.order.opened.as_ref().and_then(|x| x.value.guests);
    let _ = write!(
        out,
        "<h1>Table {}{}</h1>",
        esc(&table_of(o)),
        guests.map_or(String::new(), |g| format!(" <span class=\"muted\">· {g} guests</span>"))
    );
    out.push_str(&message(screen.msg.as_ref()));
    out.push_str(&lines(o, cur));
    out.push_str(&totals(o, cur));
    if open {
        out.push_str(&actions(data, screen, &base, cur));
    } else {
        out.push_str(&paid(data, &base, cur));
    }
    out.push_str("</section></div>");
    out
}

fn menu(data: &CheckData, screen: &Screen, base: &str) -> String {
    let mut out = String::new();
    let category = screen.category.or_else(|| data.categories.first().map(|c| c.id));
    let keep = |cat: Option<CategoryId>, seat: Option<u16>, course: Option<u16>| {
        let mut q = Vec::new();
        if let Some(c) = cat {
            q.push(format!("cat={}", c.0));
        }
        if let Some(s) = seat {
            q.push(format!("seat={s}"));
        }
        if let Some(c) = course {
            q.push(format!("course={c}"));
        }
        if q.is_empty() { base.to_owned() } else { format!("{base}?{}", q.join("&amp;")) }
    };
    out.push_str("<nav class=\"tabs\" id=\"categories\">");
    for c in &data.categories {
        let _ = write!(
            out,
            "<a class=\"tab{}\" href=\"{}\">{}</a>",
            if Some(c.id) == category { " on" } else { "" },
            keep(Some(c.id), screen.seat, screen.course),
            esc(&c.name)
        );
    }
    out.push_str("</nav><div class=\"pickers\"><span class=\"label\">Seat</span>");
    let guests = data.order.order.opened.as_ref().and_then(|x| x.value.guests).unwrap_or(4).min(12);
    let _ = write!(
        out,
        "<a class=\"chip{}\" href=\"{}\">—</a>",
        if screen.seat.is_none() { " on" } else { "" },
        keep(category, None, screen.course)
    );
    for s in 1..=guests {
        let _ = write!(
            out,
            "<a class=\"chip{}\" href=\"{}\" data-seat=\"{s}\">{s}</a>",
            if screen.seat == Some(s) { " on" } else { "" },
            keep(category, Some(s), screen.course)
        );
    }
    out.push_str("<span class=\"label\">Course</span>");
    for c in 1..=3 {
        let on = screen.course.unwrap_or(1) == c;
        let _ = write!(
            out,
            "<a class=\"chip{}\" href=\"{}\" data-course=\"{c}\">{c}</a>",
            if on { " on" } else { "" },
            keep(category, screen.seat, Some(c))
        );
    }
    out.push_str("</div>");
    if let Some((item_id, typed)) = &screen.panel
        && let Some(item) = data.items.iter().find(|i| i.id == *item_id)
    {
        out.push_str(&modifier_panel(
            data,
            item,
            typed,
            screen,
            base,
            &keep(category, screen.seat, screen.course),
        ));
        return out;
    }
    out.push_str("<div class=\"grid items\" id=\"items\">");
    for item in data.items.iter().filter(|i| i.category == category) {
        let cur = currency_of(&data.order);
        let price = esc(&item.price.format(cur));
        let name = esc(&item.name);
        if data.unavailable.contains(&item.id) {
            let _ = write!(
                out,
                "<span class=\"tile item off\" data-item=\"{name}\">{name}<span class=\"muted\">86'd</span></span>"
            );
        } else if item.modifier_groups.is_empty() {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"{base}/lines\" class=\"tile-form\">\
<input type=\"hidden\" name=\"item\" value=\"{id}\">{hidden}\
<button class=\"tile item\" type=\"submit\" data-item=\"{name}\">{name}<span class=\"money\">{price}</span></button></form>",
                id = item.id.0,
                hidden = hidden_position(category, screen.seat, screen.course),
            );
        } else {
            let _ = write!(
                out,
                "<a class=\"tile item\" href=\"{link}{sep}item={id}\" data-item=\"{name}\">{name}<span class=\"money\">{price}</span><span class=\"muted\">choices…</span></a>",
                link = keep(category, screen.seat, screen.course),
                sep = if keep(category, screen.seat, screen.course).contains('?') {
                    "&amp;"
                } else {
                    "?"
                },
                id = item.id.0,
            );
        }
    }
    out.push_str("</div>");
    out
}

fn hidden_position(category: Option<CategoryId>, seat: Option<u16>, course: Option<u16>) -> String {
    let mut out = String::new();
    if let Some(c) = category {
        let _ = write!(out, "<input type=\"hidden\" name=\"cat\" value=\"{}\">", c.0);
    }
    if let Some(s) = seat {
        let _ = write!(out, "<input type=\"hidden\" name=\"seat\" value=\"{s}\">");
    }
    let _ =
        write!(out, "<input type=\"hidden\" name=\"course\" value=\"{}\">", course.unwrap_or(1));
    out
}

fn modifier_panel(
    data: &CheckData,
    item: &Item,
    typed: &Fields,
    screen: &Screen,
    base: &str,
    back: &str,
) -> String {
    let cur = currency_of(&data.order);
    let chosen = typed.all("mod");
    let mut out = format!(
        "<section class=\"panel\" id=\"modifiers\"><h2>{} <span class=\"money\">{}</span></h2>\
<form method=\"post\" action=\"{base}/lines\" class=\"stack\" id=\"modifier-form\">\
<input type=\"hidden\" name=\"item\" value=\"{}\"><input type=\"hidden\" name=\"panel\" value=\"1\">",
        esc(&item.name),
        esc(&item.price.format(cur)),
        item.id.0
    );
    if let Some(c) = screen.category {
        let _ = write!(out, "<input type=\"hidden\" name=\"cat\" value=\"{}\">", c.0);
    }
    for group_id in &item.modifier_groups {
        let Some(group) = data.groups.get(group_id) else { continue };
        let rule = match (group.min, group.max) {
            (1, 1) => "choose 1".to_owned(),
            (0, max) => format!("optional, up to {max}"),
            (min, max) if min == max => format!("choose {min}"),
            (min, max) => format!("choose {min} to {max}"),
        };
        let kind = if group.max == 1 { "radio" } else { "checkbox" };
        let _ = write!(
            out,
            "<fieldset class=\"group\" data-group=\"{}\"><legend>{} <span class=\"muted\">{}</span></legend><div class=\"grid choices\">",
            esc(&group.name),
            esc(&group.name),
            esc(&rule)
        );
        for m in &group.modifiers {
            let id = m.id.0.to_string();
            let delta = if m.price_delta == Money::ZERO {
                String::new()
            } else {
                format!(" <span class=\"money\">+{}</span>", esc(&m.price_delta.format(cur)))
            };
            let _ = write!(
                out,
                "<label class=\"choice\"><input type=\"{kind}\" name=\"mod\" value=\"{id}\"{checked} data-modifier=\"{name}\"> {name}{delta}</label>",
                checked = if chosen.contains(&id.as_str()) { " checked" } else { "" },
                name = esc(&m.name),
            );
        }
        out.push_str("</div></fieldset>");
    }
    let seat = if typed.0.is_empty() {
        screen.seat.map(|s| s.to_string()).unwrap_or_default()
    } else {
        typed.get("seat").to_owned()
    };
    let course = if typed.0.is_empty() {
        screen.course.unwrap_or(1).to_string()
    } else {
        typed.get("course").to_owned()
    };
    let qty = if typed.0.is_empty() { "1".to_owned() } else { typed.get("qty").to_owned() };
    let _ = write!(
        out,
        "<div class=\"row\"><label>Seat <input name=\"seat\" id=\"seat\" inputmode=\"numeric\" value=\"{}\" autocomplete=\"off\"></label>\
<label>Course <input name=\"course\" id=\"course\" inputmode=\"numeric\" value=\"{}\" autocomplete=\"off\"></label>\
<label>Qty <input name=\"qty\" id=\"qty\" inputmode=\"numeric\" value=\"{}\" autocomplete=\"off\"></label></div>\
<div class=\"row\"><button class=\"btn primary\" type=\"submit\" id=\"add-item\">Add to check</button>\
<a class=\"btn ghost\" href=\"{back}\">Cancel</a></div></form></section>",
        esc(&seat),
        esc(&course),
        esc(&qty),
    );
    out
}

fn lines(o: &OrderView, cur: Currency) -> String {
    let mut out = String::from("<ol class=\"lines\" id=\"lines\">");
    for stamped in o.order.lines_in_order() {
        let line = &stamped.value;
        let net = o.totals.lines.iter().find(|t| t.line_id == line.line_id);
        let voided = net.is_some_and(|t| t.voided);
        let mut tags = Vec::new();
        if let Some(s) = line.seat {
            tags.push(format!("seat {s}"));
        }
        if let Some(c) = line.course {
            tags.push(format!("course {c}"));
        }
        if o.order.sent.contains_key(&line.line_id) {
            tags.push("sent".into());
        }
        let qty = if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
        let _ = write!(
            out,
            "<li class=\"line{}\" data-line=\"{}\"><span class=\"name\">{}{}</span><span class=\"money\">{}</span>",
            if voided { " void" } else { "" },
            esc(&line.name),
            esc(&qty),
            esc(&line.name),
            esc(&net.map_or(Money::ZERO, |t| t.net).format(cur)),
        );
        if !line.modifiers.is_empty() {
            let names: Vec<&str> = line.modifiers.iter().map(|m| m.name.as_str()).collect();
            let _ = write!(out, "<span class=\"mods\">{}</span>", esc(&names.join(", ")));
        }
        if !tags.is_empty() {
            let _ = write!(out, "<span class=\"tags\">{}</span>", esc(&tags.join(" · ")));
        }
        out.push_str("</li>");
    }
    if o.order.lines.is_empty() {
        out.push_str("<li class=\"muted\">Nothing yet: tap the menu.</li>");
    }
    out.push_str("</ol>");
    out
}

fn totals(o: &OrderView, cur: Currency) -> String {
    let t = &o.totals;
    let mut out = String::from("<dl class=\"totals\" id=\"totals\">");
    let mut row = |label: &str, id: &str, m: Money| {
        let _ = write!(
            out,
            "<dt>{label}</dt><dd id=\"{id}\" class=\"money\">{}</dd>",
            esc(&m.format(cur))
        );
    };
    row("Subtotal", "subtotal", t.subtotal);
    if t.discounts != Money::ZERO {
        row("Discounts", "discounts", t.discounts);
    }
    row("Tax", "tax", t.tax.exclusive);
    row("Total", "total", t.total);
    if t.paid != Money::ZERO {
        row("Paid", "paid", t.paid);
    }
    row("Due", "due", t.balance);
    out.push_str("</dl>");
    out
}

fn actions(data: &CheckData, screen: &Screen, base: &str, cur: Currency) -> String {
    let balance = data.order.totals.balance;
    let mut out = format!(
        "<form method=\"post\" action=\"{base}/send\"><button class=\"btn primary wide\" type=\"submit\" id=\"send\">Send to kitchen</button></form>"
    );
    let Some(_) = data.drawer else {
        let _ = write!(
            out,
            "<section class=\"panel\" id=\"drawer-panel\"><h2>Cash drawer</h2><p class=\"muted\">No drawer is open on this terminal: count the float to open it.</p>\
<form method=\"post\" action=\"/pos/drawer\" class=\"stack\"><input type=\"hidden\" name=\"order\" value=\"{}\">\
<label>Float <input name=\"float\" id=\"float\" inputmode=\"decimal\" autocomplete=\"off\"></label>\
<button class=\"btn\" type=\"submit\" id=\"open-drawer\">Open drawer</button></form></section>",
            data.order.id.0
        );
        return out;
    };
    let _ = write!(
        out,
        "<section class=\"panel\" id=\"pay\"><h2>Cash</h2><form method=\"post\" action=\"{base}/cash\" class=\"stack\" id=\"cash-form\">\
<label>Tendered <input name=\"tendered\" id=\"tendered\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\"></label><div class=\"row quick\">",
        esc(&screen.tendered)
    );
    let exact = balance.format(cur);
    let _ = write!(
        out,
        "<button type=\"button\" class=\"chip\" data-fill=\"{e}\">Exact {e}</button>",
        e = esc(&exact)
    );
    let scale = 10_i64.pow(u32::from(cur.exponent));
    let mut last = balance.0;
    for note in [5, 10, 20, 50, 100] {
        let round = (balance.0 + note * scale - 1) / (note * scale) * note * scale;
        if round > last && balance.0 > 0 {
            let v = Money(round).format(cur);
            let _ = write!(
                out,
                "<button type=\"button\" class=\"chip\" data-fill=\"{v}\">{v}</button>",
                v = esc(&v)
            );
            last = round;
        }
    }
    out.push_str("</div><button class=\"btn primary wide\" type=\"submit\" id=\"take-cash\">Take cash</button></form></section>");
    out
}

fn paid(data: &CheckData, base: &str, cur: Currency) -> String {
    let mut out = String::from("<section class=\"panel done\" id=\"paid\"><h2>Paid</h2>");
    for p in data.order.order.payments.values() {
        if let Tender::Cash { tendered, change } = &p.value.tender {
            let _ = write!(
                out,
                "<p>Cash <span class=\"money\">{}</span></p><p class=\"change\">Change due <span class=\"money\" id=\"change\">{}</span></p>",
                esc(&tendered.format(cur)),
                esc(&change.format(cur))
            );
        } else {
            let _ = write!(
                out,
                "<p>{} <span class=\"money\">{}</span></p>",
                esc(p.value.tender.label()),
                esc(&p.value.amount.format(cur))
            );
        }
    }
    match &data.receipt {
        Some(job) => {
            let state = format!("{:?}", job.state).to_lowercase();
            let _ = write!(
                out,
                "<p>Receipt: <span id=\"receipt-state\">{}</span>{}</p>\
<form method=\"post\" action=\"{base}/reprint\"><button class=\"btn\" type=\"submit\" id=\"reprint\">Print copy</button></form>",
                esc(&state),
                if data.copies > 0 {
                    format!(" · {} cop{}", data.copies, if data.copies == 1 { "y" } else { "ies" })
                } else {
                    String::new()
                }
            );
        }
        None => out.push_str("<p class=\"muted\">No receipt printer is configured.</p>"),
    }
    out.push_str("<a class=\"btn primary wide\" href=\"/pos\" id=\"new-check-link\">Back to checks</a></section>");
    out
}

/// Adds a line (from a menu tile or the modifier panel).
pub(crate) async fn add_line(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let fields = Fields(fields);
    let item_id = ItemId(Uuid::try_parse(fields.get("item")).map_err(|_| UiError::NotFound)?);
    let category = parse_id(Some(fields.get("cat"))).map(CategoryId);
    let from_panel = fields.get("panel") == "1";
    let parsed = (|| {
        let seat = form::optional_count(fields.get("seat"), "Seat", 1, 99)?;
        let course = form::optional_count(fields.get("course"), "Course", 1, 9)?;
        let qty = match fields.get("qty") {
            "" => 1,
            raw => form::count(raw, "Quantity", 1, 99)?,
        };
        let mut modifiers = Vec::new();
        for raw in fields.all("mod") {
            let id = Uuid::try_parse(raw).map_err(|_| "Unknown choice.".to_owned())?;
            modifiers.push(ModifierId(id));
        }
        Ok::<_, String>((seat, course, qty, modifiers))
    })();
    let refusal = match parsed {
        Err(e) => Some(e),
        Ok((seat, course, qty, modifiers)) => {
            let line_id = state.with_store(|store| Ok(LineId(store.new_id()))).await?;
            let command = Command::AddLine {
                order_id,
                line_id,
                item_id,
                qty: Qty::units(i64::from(qty)),
                modifiers,
                seat,
                course,
                note: None,
                price_override: None,
            };
            let currency = state
                .with_store(move |store| store.order(order_id))
                .await?
                .map_or(Currency::USD, |o| currency_of(&o));
            run(&state, vec![command], currency).await?.err()
        }
    };
    let seat = form::optional_count(fields.get("seat"), "Seat", 1, 99).ok().flatten();
    let course = form::optional_count(fields.get("course"), "Course", 1, 9).ok().flatten();
    match refusal {
        None => {
            let mut q = Vec::new();
            if let Some(c) = category {
                q.push(format!("cat={}", c.0));
            }
            if !from_panel && let Some(s) = seat {
                q.push(format!("seat={s}"));
            }
            if !from_panel && let Some(c) = course {
                q.push(format!("course={c}"));
            }
            let q = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
            Ok(Redirect::to(&format!("/pos/checks/{}{q}", order_id.0)).into_response())
        }
        Some(e) => {
            let screen = Screen {
                category,
                seat: if from_panel { None } else { seat },
                course: if from_panel { None } else { course },
                panel: from_panel.then_some((item_id, fields)),
                msg: Some(Message::Error(e)),
                tendered: String::new(),
            };
            render_check(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn order_currency(state: &UiState, order_id: OrderId) -> Result<Currency, UiError> {
    state
        .with_store(move |store| store.order(order_id))
        .await?
        .ok_or(UiError::NotFound)
        .map(|o| currency_of(&o))
}

/// Sends the check's new lines to the kitchen.
pub(crate) async fn send(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let currency = order_currency(&state, order_id).await?;
    match run(&state, vec![Command::SendToKitchen { order_id }], currency).await? {
        Ok(()) => Ok(Redirect::to(&format!("/pos/checks/{}?msg=sent", order_id.0)).into_response()),
        Err(e) => {
            let screen = Screen { msg: Some(Message::Error(e)), ..Screen::default() };
            render_check(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Takes cash for the whole balance and closes the check (which prints the receipt).
pub(crate) async fn cash(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let fields = Fields(fields);
    let currency = order_currency(&state, order_id).await?;
    let refusal = match form::money(fields.get("tendered"), currency, "Cash tendered") {
        Err(e) => Some(e),
        Ok(tendered) => {
            let drawer = state
                .with_store(|store| Ok(store.open_drawers()?.first().map(|(id, _)| *id)))
                .await?;
            let payment_id = state.with_store(|store| Ok(PaymentId(store.new_id()))).await?;
            let staff = Some(who.staff_id);
            let commands = vec![
                Command::TakePayment {
                    order_id,
                    payment_id,
                    tender: TenderInput::Cash { tendered },
                    amount: None,
                    tip: Money::ZERO,
                    drawer_session: drawer,
                    staff,
                },
                Command::CloseOrder { order_id, staff },
            ];
            run(&state, commands, currency).await?.err()
        }
    };
    match refusal {
        None => Ok(Redirect::to(&format!("/pos/checks/{}", order_id.0)).into_response()),
        Some(e) => {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                tendered: fields.get("tendered").to_owned(),
                ..Screen::default()
            };
            render_check(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Prints a copy of the check's receipt (marked COPY by the printer layout).
pub(crate) async fn reprint(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let done = state
        .with_store(move |store| {
            let original = store
                .print_jobs(&ALL_JOB_STATES)?
                .into_iter()
                .find(|j| j.document == Document::Receipt { order_id } && j.copy_of.is_none());
            original.map(|job| store.reprint(job.id)).transpose()
        })
        .await?;
    if done.is_none() {
        let screen = Screen {
            msg: Some(Message::Error("This check has no receipt to copy.".into())),
            ..Screen::default()
        };
        return render_check(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    Ok(Redirect::to(&format!("/pos/checks/{}?msg=copy", order_id.0)).into_response())
}

/// Opens a cash drawer session with the counted float, then returns to the check.
pub(crate) async fn open_drawer(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let fields = Fields(fields);
    let order_id = OrderId(Uuid::try_parse(fields.get("order")).map_err(|_| UiError::NotFound)?);
    let refusal = match form::money(fields.get("float"), Currency::USD, "Float") {
        Err(e) => Some(e),
        Ok(float) => {
            let session_id = state.with_store(|store| Ok(DrawerSessionId(store.new_id()))).await?;
            let command = Command::OpenDrawer {
                session_id,
                currency: Currency::USD,
                float,
                staff: Some(who.staff_id),
            };
            run(&state, vec![command], Currency::USD).await?.err()
        }
    };
    match refusal {
        None => Ok(Redirect::to(&format!("/pos/checks/{}?msg=drawer", order_id.0)).into_response()),
        Some(e) => {
            let screen = Screen { msg: Some(Message::Error(e)), ..Screen::default() };
            render_check(&state, &who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
