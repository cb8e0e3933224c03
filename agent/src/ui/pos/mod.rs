//! The restaurant POS: open checks, a new check, and one check's screen: the menu grid by
//! category, the inline modifier panel (seat, course, quantity), the lines and totals, send
//! to kitchen, and the receipt with its copy. Check operations live in submodules, each an
//! inline panel on the same screen (never a dialog): `adjust` (void, comp, discount, price
//! override) with `approval` (a manager's PIN when the signed-in staff may not approve),
//! `tender` (cash with change, external card with tip, split tenders, even split) and
//! `split` (split by seat or item, transfer, merge).
//!
//! Forms post and redirect back (so a reload never repeats a sale); a refusal re-renders
//! the same screen with the message inline and the typed values kept, with status 422.

mod adjust;
mod approval;
mod split;
mod tender;

pub(crate) use adjust::{check_discount, line_op};
pub(crate) use split::{merge, split_check, transfer};
pub(crate) use tender::{card, cash, even};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use thorbis_domain::catalog::{Category, Item, ModifierGroup, Staff};
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{
    CategoryId, DrawerSessionId, ItemId, LineId, ModifierGroupId, ModifierId, OrderId,
};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::{Command, Currency, Money, Qty};
use uuid::Uuid;

use super::action::{currency_of, order_id, order_view, run};
use super::form::{self, Fields};
use super::html::{Message, esc, message, page};
use super::{UiError, UiState, may_use_pos, read};
use crate::print::{Document, JobState, PrintJob};
use crate::{OrderView, SignedIn, Store, StoreError};

fn require_pos(who: &SignedIn) -> Result<(), UiError> {
    if may_use_pos(who.role) { Ok(()) } else { Err(UiError::Forbidden) }
}

fn table_of(o: &OrderView) -> String {
    o.order.table().map_or_else(|| "—".into(), str::to_owned)
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
    let (orders, tables) = state
        .with_store(|store| {
            let tables = store.own_device_config()?.map(|c| c.tables).unwrap_or_default();
            Ok((store.open_orders()?, tables))
        })
        .await?;
    let mut body = floor(&orders, tables, state.now_ms());
    body.push_str("<div class=\"cols\"><section class=\"col\"><h1>Open checks</h1>");
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
    /// The line whose panel (void, comp, discount, price) is open.
    line: Option<LineId>,
    /// The check operation whose panel is open instead of the menu.
    op: Option<Op>,
    /// Which form the values in `typed` were typed into (a form id), so only that form
    /// shows them again.
    form: &'static str,
    /// Values typed into a refused form, shown again.
    typed: Fields,
    /// An even split being paid: the parts still to pay, in order.
    parts: Vec<Money>,
    msg: Option<Message>,
}

impl Screen {
    /// The check with `msg` said as a refusal, nothing else open.
    fn refused(msg: impl Into<String>) -> Self {
        Screen { msg: Some(Message::Error(msg.into())), ..Screen::default() }
    }

    /// What was typed into `field` of form `form`, if that form was the one refused.
    fn typed(&self, form: &str, field: &str) -> &str {
        if self.form == form { self.typed.get(field) } else { "" }
    }
}

/// The check operations that replace the menu with their panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Discount,
    Split,
    Transfer,
    Merge,
}

impl Op {
    fn parse(raw: &str) -> Option<Op> {
        match raw {
            "discount" => Some(Op::Discount),
            "split" => Some(Op::Split),
            "transfer" => Some(Op::Transfer),
            "merge" => Some(Op::Merge),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct CheckQuery {
    cat: Option<String>,
    item: Option<String>,
    seat: Option<String>,
    course: Option<String>,
    msg: Option<String>,
    line: Option<String>,
    op: Option<String>,
    parts: Option<String>,
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
    let order_id = order_id(&order)?;
    let screen = Screen {
        category: parse_id(q.cat.as_deref()).map(CategoryId),
        seat: q.seat.as_deref().and_then(|s| form::count(s, "Seat", 1, 99).ok()),
        course: q.course.as_deref().and_then(|s| form::count(s, "Course", 1, 9).ok()),
        panel: parse_id(q.item.as_deref()).map(|id| (ItemId(id), Fields::default())),
        line: parse_id(q.line.as_deref()).map(LineId),
        op: q.op.as_deref().and_then(Op::parse),
        parts: tender::parse_parts(q.parts.as_deref()),
        // Confirmations after a redirect are chosen from a fixed list, never echoed.
        msg: q.msg.as_deref().and_then(confirmation).map(|m| Message::Info(m.into())),
        ..Screen::default()
    };
    render_check(&state, &who, order_id, screen, StatusCode::OK).await
}

/// The confirmation shown after a redirect, by its key.
fn confirmation(key: &str) -> Option<&'static str> {
    Some(match key {
        "sent" => "Sent to the kitchen.",
        "copy" => "Receipt copy sent to the printer.",
        "drawer" => "Drawer opened.",
        "void" => "Line voided.",
        "comp" => "Line comped.",
        "discount" => "Discount applied.",
        "price" => "Price changed.",
        "paid" => "Payment taken.",
        "split" => "Split off to this new check.",
        "moved" => "Lines moved.",
        "transfer" => "Check transferred.",
        "merge" => "Checks merged into this one.",
        "held" => "Course held: sending skips it until it is fired.",
        "fired" => "Course fired.",
        _ => return None,
    })
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
    /// Active staff, for approvals (managers) and transfers (servers).
    staff: Vec<Staff>,
    /// The other open checks, read only for the merge panel.
    others: Vec<OrderView>,
}

fn load(store: &Store, order_id: OrderId, op: Option<Op>) -> Result<Option<CheckData>, StoreError> {
    let Some(order) = store.order(order_id)? else { return Ok(None) };
    let jobs: Vec<PrintJob> = store
        .print_jobs(&JobState::ALL)?
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
        staff: read::active_staff(store)?,
        others: if op == Some(Op::Merge) {
            store.open_orders()?.into_iter().filter(|o| o.id != order_id).collect()
        } else {
            Vec::new()
        },
    }))
}

/// The check again after a refused request (422): `screen` carries the refusal and what
/// was typed, and nothing was written.
async fn refuse(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    screen: Screen,
) -> Result<Response, UiError> {
    render_check(state, who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn render_check(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    screen: Screen,
    status: StatusCode,
) -> Result<Response, UiError> {
    let op = screen.op;
    let data =
        state.with_store(move |store| load(store, order_id, op)).await?.ok_or(UiError::NotFound)?;
    let body = check_body(who, &data, &screen);
    let title = format!("Table {}", table_of(&data.order));
    Ok((status, page(&title, "check", Some(who), &state.indicators(), &body)).into_response())
}

fn check_body(who: &SignedIn, data: &CheckData, screen: &Screen) -> String {
    let o = &data.order;
    let cur = currency_of(o);
    let open = o.order.status() == OrderStatus::Open;
    let base = format!("/pos/checks/{}", o.id.0);
    let mut out = String::from("<div class=\"cols\">");
    if open {
        out.push_str("<section class=\"col menu\">");
        let line = screen.line.filter(|l| o.order.is_live(*l));
        match (line, screen.op) {
            (Some(line), _) => out.push_str(&adjust::line_panel(who, data, screen, &base, line)),
            (None, Some(Op::Discount)) => {
                out.push_str(&adjust::check_discount_panel(who, data, screen, &base));
            }
            (None, Some(op)) => out.push_str(&split::panel(data, screen, &base, op)),
            (None, None) => out.push_str(&menu(data, screen, &base)),
        }
        out.push_str("</section>");
    }
    out.push_str("<section class=\"col narrow check\" id=\"check\">");
    let guests = o.order.opened.as_ref().and_then(|x| x.value.guests);
    let server = o
        .order
        .server()
        .and_then(|id| data.staff.iter().find(|s| s.id == id))
        .map_or(String::new(), |s| {
            format!(" <span class=\"muted\" id=\"server\">· {}</span>", esc(&s.name))
        });
    let _ = write!(
        out,
        "<h1>Table <span id=\"check-table\">{}</span>{}{server}</h1>",
        esc(&table_of(o)),
        guests.map_or(String::new(), |g| format!(" <span class=\"muted\">· {g} guests</span>"))
    );
    out.push_str(&message(screen.msg.as_ref()));
    out.push_str(&lines(o, cur, open.then_some(base.as_str()), screen.line));
    out.push_str(&totals(o, cur));
    out.push_str(&tender::payments(o, cur));
    if open {
        out.push_str(&actions(data, screen, &base, cur));
    } else {
        out.push_str(&paid(data, &base));
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

/// The check's lines. On an open check (`base` given) each live line's name opens its
/// panel; `selected` is the line whose panel is open.
fn lines(o: &OrderView, cur: Currency, base: Option<&str>, selected: Option<LineId>) -> String {
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
        } else if o.order.is_line_held(line) {
            tags.push("held".into());
        }
        if o.order.comps.contains_key(&line.line_id) {
            tags.push("comped".into());
        }
        if o.order.repriced.contains_key(&line.line_id) || line.price_override_by.is_some() {
            tags.push("price override".into());
        }
        let qty = if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
        let name = match base {
            Some(base) if !voided => format!(
                "<a class=\"name\" href=\"{base}?line={}\" data-line-id=\"{}\">{}{}</a>",
                line.line_id.0,
                line.line_id.0,
                esc(&qty),
                esc(&line.name)
            ),
            _ => format!("<span class=\"name\">{}{}</span>", esc(&qty), esc(&line.name)),
        };
        let _ = write!(
            out,
            "<li class=\"line{}{}\" data-line=\"{}\">{name}<span class=\"money\">{}</span>",
            if voided { " void" } else { "" },
            if selected == Some(line.line_id) { " on" } else { "" },
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

/// The totals block of a check or a sale; comps, payments and tips show only once there
/// are some.
pub(crate) fn totals(o: &OrderView, cur: Currency) -> String {
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
    if t.comps != Money::ZERO {
        row("Comps", "comps", t.comps);
    }
    row("Tax", "tax", t.tax.exclusive);
    row("Total", "total", t.total);
    if t.paid != Money::ZERO {
        row("Paid", "paid", t.paid);
    }
    if t.tips != Money::ZERO {
        row("Tips", "tips", t.tips);
    }
    row("Due", "due", t.balance);
    out.push_str("</dl>");
    out
}

fn actions(data: &CheckData, screen: &Screen, base: &str, cur: Currency) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{base}/send\"><button class=\"btn primary wide\" type=\"submit\" id=\"send\">Send to kitchen</button></form>\
{courses}<nav class=\"row ops\" id=\"check-ops\">",
        courses = course_controls(&data.order, base)
    );
    for (op, label) in
        [("discount", "Discount"), ("split", "Split"), ("transfer", "Transfer"), ("merge", "Merge")]
    {
        let on = screen.op.and_then(|o| Op::parse(op).filter(|p| *p == o)).is_some();
        let _ = write!(
            out,
            "<a class=\"chip{}\" href=\"{base}?op={op}\" id=\"op-{op}\">{label}</a>",
            if on { " on" } else { "" }
        );
    }
    out.push_str("</nav>");
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
    out.push_str(&tender::pay_panel(data, screen, base, cur));
    out
}

fn paid(data: &CheckData, base: &str) -> String {
    let mut out = String::from("<section class=\"panel done\" id=\"paid\"><h2>Paid</h2>");
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
    let order_id = order_id(&order)?;
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
                ..Screen::default()
            };
            refuse(&state, &who, order_id, screen).await
        }
    }
}

async fn order_currency(state: &UiState, order_id: OrderId) -> Result<Currency, UiError> {
    order_view(state, order_id).await.map(|o| currency_of(&o))
}

/// Sends the check's new lines to the kitchen.
pub(crate) async fn send(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let currency = order_currency(&state, order_id).await?;
    match run(&state, vec![Command::SendToKitchen { order_id }], currency).await? {
        Ok(()) => Ok(Redirect::to(&format!("/pos/checks/{}?msg=sent", order_id.0)).into_response()),
        Err(e) => refuse(&state, &who, order_id, Screen::refused(e)).await,
    }
}

/// Prints a copy of the check's receipt (marked COPY by the printer layout).
pub(crate) async fn reprint(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let done = state
        .with_store(move |store| {
            let original = read::original_job(store, &Document::Receipt { order_id })?;
            original.map(|job| store.reprint(job.id)).transpose()
        })
        .await?;
    if done.is_none() {
        return refuse(
            &state,
            &who,
            order_id,
            Screen::refused("This check has no receipt to copy."),
        )
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
    let order_id = order_id(fields.get("order"))?;
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
        Some(e) => refuse(&state, &who, order_id, Screen::refused(e)).await,
    }
}

/// Hold / fire buttons for each course on an open check: a course with unsent lines can be
/// held, a held one fired (which sends its lines).
fn course_controls(o: &OrderView, base: &str) -> String {
    let courses = o.order.courses();
    if courses.is_empty() {
        return String::new();
    }
    let mut out = String::from("<div class=\"row courses\" id=\"courses\">");
    for course in courses {
        let (op, label) = if o.order.is_course_held(course) {
            ("fire", "Fire")
        } else if o.order.unsent_lines().any(|l| l.course == Some(course))
            && !o.order.fired_courses.contains_key(&course)
        {
            ("hold", "Hold")
        } else {
            continue;
        };
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{base}/courses/{course}/{op}\" class=\"tile-form\">\
<button class=\"btn course-{op}\" type=\"submit\" id=\"{op}-course-{course}\">{label} course {course}</button></form>"
        );
    }
    out.push_str("</div>");
    out
}

/// Holds or fires one course of a check.
pub(crate) async fn course(
    State(state): State<UiState>,
    who: SignedIn,
    Path((order, course, op)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let course = form::count(&course, "Course", 1, 9).map_err(|_| UiError::NotFound)?;
    let staff = Some(who.staff_id);
    let (command, done) = match op.as_str() {
        "hold" => (Command::HoldCourse { order_id, course, staff }, "held"),
        "fire" => (Command::FireCourse { order_id, course, staff }, "fired"),
        _ => return Err(UiError::NotFound),
    };
    let currency = order_currency(&state, order_id).await?;
    match run(&state, vec![command], currency).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("/pos/checks/{}?msg={done}", order_id.0)).into_response())
        }
        Err(e) => refuse(&state, &who, order_id, Screen::refused(e)).await,
    }
}

/// The tables shown when the terminal's configuration names none.
const DEFAULT_FLOOR: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

/// The floor plan: a tile per table, the configured ones (else [`DEFAULT_FLOOR`]) then any
/// other table an open check is at. A free table's tile opens a check there; an occupied
/// one links to its check and shows guests, items, balance, minutes open and its state
/// (open, sent to the kitchen, paid awaiting close).
fn floor(orders: &[OrderView], configured: Vec<String>, now_ms: u64) -> String {
    let mut tables =
        if configured.is_empty() { DEFAULT_FLOOR.map(String::from).to_vec() } else { configured };
    for o in orders {
        if let Some(t) = o.order.table()
            && !tables.iter().any(|x| x == t)
        {
            tables.push(t.to_owned());
        }
    }
    let mut out = String::from(
        "<section class=\"floor\"><h1>Floor</h1><div class=\"grid tables\" id=\"floor\">",
    );
    for table in &tables {
        let at: Vec<&OrderView> =
            orders.iter().filter(|o| o.order.table() == Some(table.as_str())).collect();
        let Some(first) = at.first() else {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"/pos/checks\" class=\"tile-form\">\
<input type=\"hidden\" name=\"table\" value=\"{t}\">\
<button class=\"tile table free\" type=\"submit\" data-table=\"{t}\" data-state=\"free\">\
<span class=\"big\">{t}</span><span class=\"state\">free</span></button>\
<label class=\"guests\">Guests <input name=\"guests\" inputmode=\"numeric\" value=\"2\" autocomplete=\"off\"></label></form>",
                t = esc(table),
            );
            continue;
        };
        let (state, label) = table_state(first);
        let cur = currency_of(first);
        let guests: u32 =
            at.iter().filter_map(|o| o.order.opened.as_ref()?.value.guests).map(u32::from).sum();
        let items: usize = at.iter().map(|o| o.order.live_lines().count()).sum();
        let balance: Money = at.iter().map(|o| o.totals.balance).sum();
        let opened = at
            .iter()
            .filter_map(|o| o.order.opened.as_ref().map(|x| x.meta.hlc.wall_ms))
            .min()
            .unwrap_or(now_ms);
        let minutes = now_ms.saturating_sub(opened) / 60_000;
        let more = if at.len() > 1 {
            format!("<span class=\"muted\">{} checks</span>", at.len())
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<a class=\"tile table {state}\" href=\"/pos/checks/{id}\" data-table=\"{t}\" data-state=\"{state}\">\
<span class=\"big\">{t}</span><span class=\"state\">{label}</span>{more}\
<span class=\"muted\">{guests} guest{gs} · {items} item{is} · {minutes} min</span>\
<span class=\"money\">{due}</span></a>",
            id = first.id.0,
            t = esc(table),
            gs = if guests == 1 { "" } else { "s" },
            is = if items == 1 { "" } else { "s" },
            due = esc(&balance.format(cur)),
        );
    }
    out.push_str("</div></section>");
    out
}

/// A check's state on the floor, as a class name and a label.
fn table_state(o: &OrderView) -> (&'static str, &'static str) {
    if o.totals.paid > Money::ZERO && o.totals.balance <= Money::ZERO {
        ("paid", "paid · to close")
    } else if !o.order.sent.is_empty() {
        ("sent", "sent to kitchen")
    } else {
        ("open", "open")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StoreConfig, seed};

    fn fries(order_id: OrderId, line: u128, course: u16) -> Command {
        Command::AddLine {
            order_id,
            line_id: LineId(Uuid::from_u128(line)),
            item_id: seed::FRIES,
            qty: Qty::ONE,
            modifiers: vec![],
            seat: None,
            course: Some(course),
            note: None,
            price_override: None,
        }
    }

    fn view(store: &Store, id: OrderId) -> OrderView {
        store.order(id).unwrap().unwrap()
    }

    #[test]
    fn the_floor_shows_each_table_by_state_and_courses_hold_and_fire() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        store.execute_all(&seed::catalog()).unwrap();
        assert_eq!(store.own_device_config().unwrap(), None);
        let (a, b) = (OrderId(Uuid::from_u128(1)), OrderId(Uuid::from_u128(2)));
        store.execute(&seed::open_order(a, Some("3"))).unwrap();
        store.execute(&fries(a, 10, 1)).unwrap();
        store.execute(&fries(a, 11, 2)).unwrap();
        store.execute(&seed::open_order(b, Some("Bar 1"))).unwrap();

        let floor_now = |store: &Store| floor(&store.open_orders().unwrap(), Vec::new(), u64::MAX);
        let html = floor_now(&store);
        // The default floor, then the table of a check that is not on it.
        assert_eq!(html.matches("class=\"tile table").count(), 13);
        assert!(html.contains("data-table=\"Bar 1\" data-state=\"open\""));
        assert!(html.contains(&format!("href=\"/pos/checks/{}\" data-table=\"3\"", a.0)));
        assert!(html.contains("data-table=\"1\" data-state=\"free\""));
        assert!(html.contains("2 items"));
        // A configured floor replaces the default one.
        let configured = floor(&store.open_orders().unwrap(), vec!["Patio".into()], 0);
        assert_eq!(configured.matches("class=\"tile table").count(), 3);

        // Course 2 held: the check tags it, sending sends course 1 only, firing sends it.
        let base = format!("/pos/checks/{}", a.0);
        assert!(course_controls(&view(&store, a), &base).contains("id=\"hold-course-2\""));
        store.execute(&Command::HoldCourse { order_id: a, course: 2, staff: None }).unwrap();
        let held = view(&store, a);
        assert!(course_controls(&held, &base).contains("id=\"fire-course-2\""));
        assert!(lines(&held, Currency::USD, Some(&base), None).contains("course 2 · held"));
        store.execute(&Command::SendToKitchen { order_id: a }).unwrap();
        let sent = view(&store, a);
        assert!(sent.order.sent.contains_key(&LineId(Uuid::from_u128(10))));
        assert!(!sent.order.sent.contains_key(&LineId(Uuid::from_u128(11))));
        assert!(floor_now(&store).contains("data-table=\"3\" data-state=\"sent\""));
        store.execute(&Command::FireCourse { order_id: a, course: 2, staff: None }).unwrap();
        let fired = view(&store, a);
        assert!(fired.order.sent.contains_key(&LineId(Uuid::from_u128(11))));
        assert_eq!(store.kds_queue(None).unwrap().len(), 2);
        assert!(!course_controls(&fired, &base).contains("course-2"));
    }
}
