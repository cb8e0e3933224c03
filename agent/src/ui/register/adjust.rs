//! Changing what the sale charges: a line's price overridden (voided and rung again at the
//! new price, a manager approving) and a discount on the sale (a manager approving above
//! the policy's limit), each an inline panel.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::Command;
use thorbis_domain::command::PriceOverride;
use thorbis_domain::events::{DiscountRule, DiscountScope};
use thorbis_domain::ids::{DiscountId, LineId};
use thorbis_web::components::{Input, hidden, labelled, radio, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::post_then_redirect;
use uuid::Uuid;

use super::super::access::Cashier;
use super::super::action::{currency_of, run};
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{SaleData, Screen, approval, approval_fields, open_sale, render};
use crate::OrderView;

/// The price-override panel of one line.
pub(super) fn override_panel(
    data: &SaleData,
    o: &OrderView,
    line: LineId,
    screen: &Screen,
    base: &str,
) -> Markup {
    let Some(added) = o.order.live_lines().find(|l| l.line_id == line) else {
        return html! {};
    };
    let typed = &screen.typed;
    html! {
        section.panel #override {
            h2 { "New price for " (added.name) }
            form.stack method="post" action={ (base) "/price" } {
                (hidden("line", line.0))
                (labelled(
                    format!("Unit price (now {})", added.unit_price.format(currency_of(o))),
                    Input::new("price").id("price").decimal().value(typed.get("price")),
                ))
                (labelled("Reason", Input::new("reason").id("override-reason").value(typed.get("reason"))))
                (approval_fields(&data.approvers, typed, true))
                (submit_or_cancel("override-go", "Override price", base))
            }
        }
    }
}

/// The discount panel of the sale.
pub(super) fn discount_panel(data: &SaleData, screen: &Screen, base: &str) -> Markup {
    let typed = &screen.typed;
    let amount = typed.get("kind") == "amount";
    html! {
        section.panel #discount {
            h2 { "Discount on the sale" }
            form.stack method="post" action={ (base) "/discount" } {
                div.row {
                    (radio("kind", "percent", !amount, None, "Percent"))
                    (radio("kind", "amount", amount, None, "Amount"))
                }
                (labelled("Value", Input::new("value").id("discount-value").decimal().value(typed.get("value"))))
                (labelled("Reason", Input::new("reason").id("discount-reason").value(typed.get("reason"))))
                (approval_fields(&data.approvers, typed, false))
                (submit_or_cancel("discount-go", "Apply discount", base))
            }
        }
    }
}

/// Overrides a line's unit price with a manager's approval: the line is voided (reason
/// "price override", approved) and rung again at the new price, in one transaction.
pub(crate) async fn override_price(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let cur = currency_of(&o);
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
    post_then_redirect(
        refusal,
        || format!("/register/{}?msg=price", o.id.0),
        |e| {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                override_line: Some(line),
                typed: fields,
                ..Screen::default()
            };
            render(&state, &who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY)
        },
    )
    .await
}

/// A percentage typed as `10` or `12.5`, to basis points (above 0, at most 100 %).
pub(super) fn percent_bps(raw: &str) -> Result<u32, String> {
    let message = || "Percent must be a number above 0 and at most 100, like 10 or 12.5".to_owned();
    form::fixed_point(raw, 3, 2)
        .and_then(|bps| u32::try_from(bps).ok())
        .filter(|bps| (1..=10_000).contains(bps))
        .ok_or_else(message)
}

/// A discount on the whole sale; the domain asks for a manager above the policy's limit.
pub(crate) async fn discount(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let cur = currency_of(&o);
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
    post_then_redirect(
        refusal,
        || format!("/register/{}?msg=discount", o.id.0),
        |e| {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                discount: true,
                typed: fields,
                ..Screen::default()
            };
            render(&state, &who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY)
        },
    )
    .await
}
