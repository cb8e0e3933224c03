//! Changing what a check charges: void or comp a line, a discount on a line or the whole
//! check (percent or amount), and a price override on a line. Each is a form in an inline
//! panel that replaces the menu; each carries the shared manager approval block, and
//! the domain decides whether an approval was needed (voids, comps and overrides always;
//! discounts above the policy's threshold).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::approval::Need;
use thorbis_domain::events::DiscountScope;
use thorbis_domain::ids::{DiscountId, LineId};
use thorbis_domain::{Command, Money};
use thorbis_web::components::{Input, labelled, radio};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::post_then_redirect;
use uuid::Uuid;

use super::super::access::PosStaff;
use super::super::approval;
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{CheckData, Screen, order_currency, order_id, refuse, run};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;

/// The panel of one line: void, comp, discount and price override.
pub(super) fn line_panel(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    base: &str,
    line_id: LineId,
) -> Markup {
    let o = &data.order;
    let cur = o.currency;
    let Some(line) = o.order.lines.get(&line_id).map(|l| &l.value) else { return html! {} };
    let net = o.totals.lines.iter().find(|t| t.line_id == line_id).map_or(Money::ZERO, |t| t.net);
    let action = format!("{base}/lines/{}", line_id.0);
    html! {
        section.panel #line-panel {
            h2 { (line.name) " " span.money { (net.format(cur)) } }
            @for (op, title, button) in [("void", "Void", "Void line"), ("comp", "Comp", "Comp line")] {
                form.stack.op-form method="post" action={ (action) "/" (op) } id={ (op) "-form" } {
                    (csrf_field())
                    h3 { (title) }
                    (labelled("Reason", Input::new("reason").id(&format!("{op}-reason")).value(screen.typed(op, "reason"))))
                    (approval::fields(who, &data.staff, op, Need::Always))
                    button.btn type="submit" id={ (op) "-line" } { (button) }
                }
            }
            (discount_form(who, data, screen, &format!("{action}/discount"), "ldisc", "Discount this line"))
            form.stack.op-form #price-form method="post" action={ (action) "/price" } {
                (csrf_field())
                h3 { "Price override" }
                label {
                    "New unit price " span.muted { "(now " (o.order.unit_price(line).format(cur)) ")" }
                    (Input::new("price").id("price-value").decimal().value(screen.typed("price", "price")))
                }
                (approval::fields(who, &data.staff, "price", Need::Always))
                button.btn #price-line type="submit" { "Change price" }
            }
            a.btn.ghost.wide #line-done href=(base) { "Back to the menu" }
        }
    }
}

/// The check-discount panel.
pub(super) fn check_discount_panel(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    base: &str,
) -> Markup {
    html! {
        section.panel #discount-panel {
            h2 { "Discount the check" }
            (discount_form(who, data, screen, &format!("{base}/discount"), "cdisc", "Apply discount"))
            a.btn.ghost.wide href=(base) { "Back to the menu" }
        }
    }
}

/// A discount form (percent or amount, reason), its fields prefixed `prefix`.
fn discount_form(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    action: &str,
    prefix: &str,
    button: &str,
) -> Markup {
    let amount = screen.typed(prefix, "kind") == "amount";
    html! {
        form.stack.op-form method="post" action=(action) id={ (prefix) "-form" } {
            (csrf_field())
            h3 { "Discount" }
            div.row {
                (radio("kind", "percent", !amount, Some(&format!("{prefix}-percent")), "Percent"))
                (radio("kind", "amount", amount, Some(&format!("{prefix}-amount")), "Amount"))
            }
            (labelled("Value", Input::new("value").id(&format!("{prefix}-value")).decimal().value(screen.typed(prefix, "value"))))
            (labelled("Reason", Input::new("reason").id(&format!("{prefix}-reason")).value(screen.typed(prefix, "reason"))))
            (approval::fields(who, &data.staff, prefix, Need::AboveThreshold))
            button.btn type="submit" id={ (prefix) "-apply" } { (button) }
        }
    }
}

/// Void, comp, discount or reprice one line.
pub(crate) async fn line_op(
    State(state): State<UiState>,
    who: PosStaff,
    Path((order, line, op)): Path<(String, String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let line_id = LineId(Uuid::try_parse(&line).map_err(|_| UiError::NotFound)?);
    let (form_id, key): (&'static str, &'static str) = match op.as_str() {
        "void" => ("void", "void"),
        "comp" => ("comp", "comp"),
        "discount" => ("ldisc", "discount"),
        "price" => ("price", "price"),
        _ => return Err(UiError::NotFound),
    };
    let currency = order_currency(&state, order_id).await?;
    let refusal = match approval::approver(&state, &who, &fields, form_id).await? {
        Err(e) => Some(e),
        Ok(approved_by) => {
            let reason = fields.get("reason").to_owned();
            let command = match key {
                "void" => Ok(Command::VoidLine { order_id, line_id, reason, approved_by }),
                "comp" => Ok(Command::CompLine { order_id, line_id, reason, approved_by }),
                "price" => form::money(fields.get("price"), currency, "Price").map(|unit_price| {
                    Command::RepriceLine { order_id, line_id, unit_price, approved_by }
                }),
                _ => match form::discount_rule(fields.get("kind"), fields.get("value"), currency) {
                    Ok(rule) => {
                        let discount_id =
                            state.with_store(|store| Ok(DiscountId(store.new_id()))).await?;
                        Ok(Command::ApplyDiscount {
                            order_id,
                            discount_id,
                            scope: DiscountScope::Line(line_id),
                            rule,
                            reason,
                            approved_by,
                        })
                    }
                    Err(e) => Err(e),
                },
            };
            match command {
                Err(e) => Some(format!("{e}.")),
                Ok(command) => run(&state, vec![command], currency).await?.err(),
            }
        }
    };
    post_then_redirect(
        refusal,
        || format!("/pos/checks/{}?msg={key}", order_id.0),
        |e| {
            let screen = Screen {
                line: Some(line_id),
                form: form_id,
                typed: fields,
                msg: Some(Message::Error(e)),
                ..Screen::default()
            };
            refuse(&state, &who, order_id, screen)
        },
    )
    .await
}

/// A discount on the whole check.
pub(crate) async fn check_discount(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let currency = order_currency(&state, order_id).await?;
    let refusal = match approval::approver(&state, &who, &fields, "cdisc").await? {
        Err(e) => Some(e),
        Ok(approved_by) => {
            match form::discount_rule(fields.get("kind"), fields.get("value"), currency) {
                Err(e) => Some(format!("{e}.")),
                Ok(rule) => {
                    let discount_id =
                        state.with_store(|store| Ok(DiscountId(store.new_id()))).await?;
                    let command = Command::ApplyDiscount {
                        order_id,
                        discount_id,
                        scope: DiscountScope::Order,
                        rule,
                        reason: fields.get("reason").to_owned(),
                        approved_by,
                    };
                    run(&state, vec![command], currency).await?.err()
                }
            }
        }
    };
    post_then_redirect(
        refusal,
        || format!("/pos/checks/{}?msg=discount", order_id.0),
        |e| {
            let screen = Screen {
                op: Some(super::Op::Discount),
                form: "cdisc",
                typed: fields,
                msg: Some(Message::Error(e)),
                ..Screen::default()
            };
            refuse(&state, &who, order_id, screen)
        },
    )
    .await
}
