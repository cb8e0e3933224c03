//! Changing what a check charges: void or comp a line, a discount on a line or the whole
//! check (percent or amount), and a price override on a line. Each is a form in an inline
//! panel that replaces the menu; each carries the manager approval block (`approval`), and
//! the domain decides whether an approval was needed (voids, comps and overrides always;
//! discounts above the policy's threshold).

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use thorbis_domain::events::{DiscountRule, DiscountScope};
use thorbis_domain::ids::{DiscountId, LineId};
use thorbis_domain::{Command, Currency, Money};
use uuid::Uuid;

use super::super::form::{self, Fields};
use super::super::html::{Message, esc};
use super::super::{UiError, UiState};
use super::{
    CheckData, Screen, approval, currency_of, order_currency, order_id, refuse, require_pos, run,
};
use crate::SignedIn;

/// The panel of one line: void, comp, discount and price override.
pub(super) fn line_panel(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    base: &str,
    line_id: LineId,
) -> String {
    let o = &data.order;
    let cur = currency_of(o);
    let Some(line) = o.order.lines.get(&line_id).map(|l| &l.value) else { return String::new() };
    let net = o.totals.lines.iter().find(|t| t.line_id == line_id).map_or(Money::ZERO, |t| t.net);
    let action = format!("{base}/lines/{}", line_id.0);
    let mut out = format!(
        "<section class=\"panel\" id=\"line-panel\"><h2>{} <span class=\"money\">{}</span></h2>",
        esc(&line.name),
        esc(&net.format(cur))
    );
    for (op, title, button) in [("void", "Void", "Void line"), ("comp", "Comp", "Comp line")] {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{action}/{op}\" class=\"stack op-form\" id=\"{op}-form\"><h3>{title}</h3>\
<label>Reason <input name=\"reason\" id=\"{op}-reason\" value=\"{}\" autocomplete=\"off\"></label>{}\
<button class=\"btn\" type=\"submit\" id=\"{op}-line\">{button}</button></form>",
            esc(screen.typed(op, "reason")),
            approval::fields(who, &data.staff, op, "required"),
        );
    }
    out.push_str(&discount_form(
        who,
        data,
        screen,
        &format!("{action}/discount"),
        "ldisc",
        "Discount this line",
    ));
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{action}/price\" class=\"stack op-form\" id=\"price-form\"><h3>Price override</h3>\
<label>New unit price <span class=\"muted\">(now {})</span><input name=\"price\" id=\"price-value\" inputmode=\"decimal\" value=\"{}\" autocomplete=\"off\"></label>{}\
<button class=\"btn\" type=\"submit\" id=\"price-line\">Change price</button></form>",
        esc(&o.order.unit_price(line).format(cur)),
        esc(screen.typed("price", "price")),
        approval::fields(who, &data.staff, "price", "required"),
    );
    let _ = write!(
        out,
        "<a class=\"btn ghost wide\" href=\"{base}\" id=\"line-done\">Back to the menu</a></section>"
    );
    out
}

/// The check-discount panel.
pub(super) fn check_discount_panel(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    base: &str,
) -> String {
    format!(
        "<section class=\"panel\" id=\"discount-panel\"><h2>Discount the check</h2>{}\
<a class=\"btn ghost wide\" href=\"{base}\">Back to the menu</a></section>",
        discount_form(who, data, screen, &format!("{base}/discount"), "cdisc", "Apply discount")
    )
}

/// A discount form (percent or amount, reason), its fields prefixed `prefix`.
fn discount_form(
    who: &SignedIn,
    data: &CheckData,
    screen: &Screen,
    action: &str,
    prefix: &str,
    button: &str,
) -> String {
    let amount = screen.typed(prefix, "kind") == "amount";
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"stack op-form\" id=\"{prefix}-form\"><h3>Discount</h3>\
<div class=\"row\"><label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"percent\"{} id=\"{prefix}-percent\"> Percent</label>\
<label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"amount\"{} id=\"{prefix}-amount\"> Amount</label></div>\
<label>Value <input name=\"value\" id=\"{prefix}-value\" inputmode=\"decimal\" value=\"{}\" autocomplete=\"off\"></label>\
<label>Reason <input name=\"reason\" id=\"{prefix}-reason\" value=\"{}\" autocomplete=\"off\"></label>{}\
<button class=\"btn\" type=\"submit\" id=\"{prefix}-apply\">{button}</button></form>",
        if amount { "" } else { " checked" },
        if amount { " checked" } else { "" },
        esc(screen.typed(prefix, "value")),
        esc(screen.typed(prefix, "reason")),
        approval::fields(who, &data.staff, prefix, "needed for large discounts"),
    )
}

/// A discount rule from the form: a percent (to basis points, no float) or an amount.
fn discount_rule(fields: &Fields, currency: Currency) -> Result<DiscountRule, String> {
    let value = fields.get("value");
    match fields.get("kind") {
        "amount" => {
            let amount = form::money(value, currency, "Discount")?;
            if amount.as_minor() <= 0 {
                return Err("Discount must be above zero".into());
            }
            Ok(DiscountRule::Amount(amount))
        }
        "percent" | "" => {
            let message = || "Percent must be a number from 0.01 to 100".to_owned();
            // Two decimals of a percent are basis points: "12.5" is 1250.
            let bps = form::money(value, Currency::USD, "Percent").map_err(|_| message())?;
            u32::try_from(bps.as_minor())
                .ok()
                .filter(|b| (1..=10_000).contains(b))
                .map(DiscountRule::PercentBps)
                .ok_or_else(message)
        }
        _ => Err("Choose percent or amount".into()),
    }
}

/// Void, comp, discount or reprice one line.
pub(crate) async fn line_op(
    State(state): State<UiState>,
    who: SignedIn,
    Path((order, line, op)): Path<(String, String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let line_id = LineId(Uuid::try_parse(&line).map_err(|_| UiError::NotFound)?);
    let (form_id, key): (&'static str, &'static str) = match op.as_str() {
        "void" => ("void", "void"),
        "comp" => ("comp", "comp"),
        "discount" => ("ldisc", "discount"),
        "price" => ("price", "price"),
        _ => return Err(UiError::NotFound),
    };
    let fields = Fields(fields);
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
                _ => match discount_rule(&fields, currency) {
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
    match refusal {
        None => Ok(Redirect::to(&format!("/pos/checks/{}?msg={key}", order_id.0)).into_response()),
        Some(e) => {
            let screen = Screen {
                line: Some(line_id),
                form: form_id,
                typed: fields,
                msg: Some(Message::Error(e)),
                ..Screen::default()
            };
            refuse(&state, &who, order_id, screen).await
        }
    }
}

/// A discount on the whole check.
pub(crate) async fn check_discount(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let currency = order_currency(&state, order_id).await?;
    let refusal = match approval::approver(&state, &who, &fields, "cdisc").await? {
        Err(e) => Some(e),
        Ok(approved_by) => match discount_rule(&fields, currency) {
            Err(e) => Some(format!("{e}.")),
            Ok(rule) => {
                let discount_id = state.with_store(|store| Ok(DiscountId(store.new_id()))).await?;
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
        },
    };
    match refusal {
        None => {
            Ok(Redirect::to(&format!("/pos/checks/{}?msg=discount", order_id.0)).into_response())
        }
        Some(e) => {
            let screen = Screen {
                op: Some(super::Op::Discount),
                form: "cdisc",
                typed: fields,
                msg: Some(Message::Error(e)),
                ..Screen::default()
            };
            refuse(&state, &who, order_id, screen).await
        }
    }
}
