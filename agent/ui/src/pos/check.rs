//! One check's screen: the menu (or the open operation's panel), the lines, totals and
//! payments, the actions of an open check (send, courses, operations, the pay panel) or
//! the paid check's receipt; and the requests that need no panel: send to the kitchen,
//! hold or fire a course, print a receipt copy, open the drawer.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::ids::{CategoryId, ItemId, LineId, OrderId};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::{Command, Currency, Money, Qty};
use thorbis_web::components::{Input, figure, figures, hidden, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::post_then_redirect;
use uuid::Uuid;

use super::super::access::PosStaff;
use super::super::drawer::open_shift;
use super::super::html::{Message, message};
use super::{
    CheckData, Op, Screen, UiError, UiState, adjust, menu, order_currency, order_id, parse_id,
    refuse, render_check, run, split, table_of, tender,
};
use crate::guard::csrf_field;
use thorbis_agent::print::Document;
use thorbis_agent::{OrderView, SignedIn};

/// What a check's address may say besides the check.
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

/// `GET /pos/checks/{order}`: one check.
pub(crate) async fn check(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Result<Response, UiError> {
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

/// The check's screen.
pub(super) fn body(who: &SignedIn, data: &CheckData, screen: &Screen) -> Markup {
    let o = &data.order;
    let cur = o.currency;
    let open = o.order.status() == OrderStatus::Open;
    let base = format!("/pos/checks/{}", o.id.0);
    let line = screen.line.filter(|l| o.order.is_live(*l));
    let guests = o.order.opened.as_ref().and_then(|x| x.value.guests);
    let server = o.order.server().and_then(|id| data.staff.iter().find(|s| s.id == id));
    html! {
        div.cols {
            @if open {
                section.col.menu {
                    @match (line, screen.op) {
                        (Some(line), _) => (adjust::line_panel(who, data, screen, &base, line)),
                        (None, Some(Op::Discount)) => {
                            (adjust::check_discount_panel(who, data, screen, &base))
                        }
                        (None, Some(op)) => (split::panel(data, screen, &base, op)),
                        (None, None) => (menu::menu(data, screen, &base)),
                    }
                }
            }
            section.col.narrow.check #check {
                h1 {
                    "Table " span #check-table { (table_of(o)) }
                    @if let Some(g) = guests { " " span.muted { "· " (g) " guests" } }
                    @if let Some(s) = server { " " span.muted #server { "· " (s.name) } }
                }
                (message(screen.msg.as_ref()))
                (lines(o, cur, open.then_some(base.as_str()), screen.line))
                (totals(o, cur))
                (tender::payments(o, cur))
                @if open { (actions(data, screen, &base, cur)) } @else { (paid(data, &base)) }
            }
        }
    }
}

/// The check's lines. On an open check (`base` given) each live line's name opens its
/// panel; `selected` is the line whose panel is open.
pub(super) fn lines(
    o: &OrderView,
    cur: Currency,
    base: Option<&str>,
    selected: Option<LineId>,
) -> Markup {
    html! {
        ol.lines #lines {
            @for stamped in o.order.lines_in_order() {
                @let line = &stamped.value;
                @let net = o.totals.lines.iter().find(|t| t.line_id == line.line_id);
                @let voided = net.is_some_and(|t| t.voided);
                @let qty = if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
                li.line.void[voided].on[selected == Some(line.line_id)] data-line=(line.name) {
                    @match base {
                        Some(base) if !voided => {
                            a.name href={ (base) "?line=" (line.line_id.0) } data-line-id=(line.line_id.0) {
                                (qty) (line.name)
                            }
                        }
                        _ => span.name { (qty) (line.name) },
                    }
                    span.money { (net.map_or(Money::ZERO, |t| t.net).format(cur)) }
                    @if !line.modifiers.is_empty() {
                        @let names: Vec<&str> = line.modifiers.iter().map(|m| m.name.as_str()).collect();
                        span.mods { (names.join(", ")) }
                    }
                    @let tags = line_tags(o, line);
                    @if !tags.is_empty() { span.tags { (tags.join(" · ")) } }
                }
            }
            @if o.order.lines.is_empty() { li.muted { "Nothing yet: tap the menu." } }
        }
    }
}

/// A line's tags: seat, course, sent or held, comped, price override.
fn line_tags(o: &OrderView, line: &thorbis_domain::events::LineAdded) -> Vec<String> {
    let mut tags = super::super::kds::seat_and_course(line.seat, line.course);
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
    tags
}

/// The totals block of a check or a sale; comps, payments and tips show only once there
/// are some.
pub(crate) fn totals(o: &OrderView, cur: Currency) -> Markup {
    let t = &o.totals;
    let row = |label: &str, id: &str, m: Money| figure(label, id, m.format(cur));
    let some = |m: Money| m != Money::ZERO;
    figures(
        "totals",
        html! {
            (row("Subtotal", "subtotal", t.subtotal))
            @if some(t.discounts) { (row("Discounts", "discounts", t.discounts)) }
            @if some(t.comps) { (row("Comps", "comps", t.comps)) }
            (row("Tax", "tax", t.tax.exclusive))
            (row("Total", "total", t.total))
            @if some(t.paid) { (row("Paid", "paid", t.paid)) }
            @if some(t.tips) { (row("Tips", "tips", t.tips)) }
            (row("Due", "due", t.balance))
        },
    )
}

/// An open check's actions: send, courses, the operation chips, and the pay panel (or
/// opening the drawer first).
fn actions(data: &CheckData, screen: &Screen, base: &str, cur: Currency) -> Markup {
    html! {
        form method="post" action={ (base) "/send" } {
            (csrf_field())
            button.btn.primary.wide #send type="submit" { "Send to kitchen" }
        }
        (course_controls(&data.order, base))
        nav.row.ops #check-ops {
            @for (op, key, label) in Op::ALL {
                a.chip.on[screen.op == Some(op)] href={ (base) "?op=" (key) } id={ "op-" (key) } {
                    (label)
                }
            }
        }
        @if data.drawer.is_some() {
            (tender::pay_panel(data, screen, base, cur))
        } @else {
            section.panel #drawer-panel {
                h2 { "Cash drawer" }
                p.muted { "No drawer is open on this terminal: count the float to open it." }
                form.stack method="post" action="/pos/drawer" {
                    (csrf_field())
                    (hidden("order", data.order.id.0))
                    (labelled("Float", Input::new("float").id("float").decimal()))
                    button.btn #open-drawer type="submit" { "Open drawer" }
                }
            }
        }
    }
}

/// A paid check: its receipt's state and a copy.
fn paid(data: &CheckData, base: &str) -> Markup {
    html! {
        section.panel.done #paid {
            h2 { "Paid" }
            @match &data.receipt {
                Some(job) => {
                    p {
                        "Receipt: " span #receipt-state { (format!("{:?}", job.state).to_lowercase()) }
                        @if data.copies > 0 {
                            " · " (data.copies) " cop" @if data.copies == 1 { "y" } @else { "ies" }
                        }
                    }
                    form method="post" action={ (base) "/reprint" } {
                        (csrf_field())
                        button.btn #reprint type="submit" { "Print copy" }
                    }
                }
                None => p.muted { "No receipt printer is configured." },
            }
            a.btn.primary.wide #new-check-link href="/pos" { "Back to checks" }
        }
    }
}

/// Hold / fire buttons for each course on an open check: a course with unsent lines can be
/// held, a held one fired (which sends its lines).
pub(super) fn course_controls(o: &OrderView, base: &str) -> Markup {
    let courses: Vec<(u16, &str, &str)> = o
        .order
        .courses()
        .into_iter()
        .filter_map(|course| {
            if o.order.is_course_held(course) {
                Some((course, "fire", "Fire"))
            } else if o.order.unsent_lines().any(|l| l.course == Some(course))
                && !o.order.fired_courses.contains_key(&course)
            {
                Some((course, "hold", "Hold"))
            } else {
                None
            }
        })
        .collect();
    if o.order.courses().is_empty() {
        return html! {};
    }
    html! {
        div.row.courses #courses {
            @for (course, op, label) in courses {
                form.tile-form method="post" action={ (base) "/courses/" (course) "/" (op) } {
                    (csrf_field())
                    button class={ "btn course-" (op) } type="submit" id={ (op) "-course-" (course) } {
                        (label) " course " (course)
                    }
                }
            }
        }
    }
}

/// `POST /pos/checks/{order}/send`: sends the check's new lines to the kitchen.
pub(crate) async fn send(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let currency = order_currency(&state, order_id).await?;
    let refusal = run(&state, vec![Command::SendToKitchen { order_id }], currency).await?.err();
    let to = || format!("/pos/checks/{}?msg=sent", order_id.0);
    post_then_redirect(refusal, to, |e| refuse(&state, &who, order_id, Screen::refused(e))).await
}

/// `POST /pos/checks/{order}/reprint`: prints a copy of the check's receipt (marked COPY
/// by the printer layout).
pub(crate) async fn reprint(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let done = state
        .with_store(move |store| {
            let original = store.original_print_job(&Document::Receipt { order_id })?;
            original.map(|job| store.reprint(job.id)).transpose()
        })
        .await?;
    let refusal = done.is_none().then(|| "This check has no receipt to copy.".to_owned());
    let to = || format!("/pos/checks/{}?msg=copy", order_id.0);
    post_then_redirect(refusal, to, |e| refuse(&state, &who, order_id, Screen::refused(e))).await
}

/// The drawer-opening form of a check's pay panel.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenDrawer {
    #[serde(default)]
    order: String,
    #[serde(default)]
    float: String,
}

/// `POST /pos/drawer`: opens a cash drawer session with the counted float, then returns
/// to the check.
pub(crate) async fn open_drawer(
    State(state): State<UiState>,
    who: PosStaff,
    Form(form): Form<OpenDrawer>,
) -> Result<Response, UiError> {
    let order_id = order_id(form.order.trim())?;
    let refusal = open_shift(&state, &who, &form.float).await?;
    let to = || format!("/pos/checks/{}?msg=drawer", order_id.0);
    post_then_redirect(refusal, to, |e| refuse(&state, &who, order_id, Screen::refused(e))).await
}

/// `POST /pos/checks/{order}/courses/{course}/{op}`: holds or fires one course.
pub(crate) async fn course(
    State(state): State<UiState>,
    who: PosStaff,
    Path((order, course, op)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    let order_id = OrderId(Uuid::try_parse(&order).map_err(|_| UiError::NotFound)?);
    let course = form::count(&course, "Course", 1, 9).map_err(|_| UiError::NotFound)?;
    let staff = Some(who.staff_id);
    let (command, done) = match op.as_str() {
        "hold" => (Command::HoldCourse { order_id, course, staff }, "held"),
        "fire" => (Command::FireCourse { order_id, course, staff }, "fired"),
        _ => return Err(UiError::NotFound),
    };
    let currency = order_currency(&state, order_id).await?;
    let refusal = run(&state, vec![command], currency).await?.err();
    let to = || format!("/pos/checks/{}?msg={done}", order_id.0);
    post_then_redirect(refusal, to, |e| refuse(&state, &who, order_id, Screen::refused(e))).await
}
