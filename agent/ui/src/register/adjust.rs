//! Changing what the sale charges: a line's price overridden (repriced in place, its
//! modifiers kept, a manager approving) and a discount on the sale (a manager approving
//! above the policy's limit), each an inline panel with the shared approval block.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::Command;
use thorbis_domain::approval::Need;
use thorbis_domain::events::DiscountScope;
use thorbis_domain::ids::{DiscountId, LineId};
use thorbis_web::components::{Input, hidden, labelled, radio, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::post_then_redirect;
use uuid::Uuid;

use super::super::access::Cashier;
use super::super::action::run;
use super::super::approval::{approver, fields as approval_fields};
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{SaleData, Screen, open_sale, render};
use crate::guard::csrf_field;
use thorbis_agent::{OrderView, SignedIn};

/// The price-override panel of one line.
pub(super) fn override_panel(
    who: &SignedIn,
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
                (csrf_field())
                (hidden("line", line.0))
                (labelled(
                    format!("Unit price (now {})", o.order.unit_price(added).format(o.currency)),
                    Input::new("price").id("price").decimal().value(typed.get("price")),
                ))
                (approval_fields(who, &data.staff, "price", Need::Always))
                (submit_or_cancel("override-go", "Override price", base))
            }
        }
    }
}

/// The discount panel of the sale.
pub(super) fn discount_panel(
    who: &SignedIn,
    data: &SaleData,
    screen: &Screen,
    base: &str,
) -> Markup {
    let typed = &screen.typed;
    let amount = typed.get("kind") == "amount";
    html! {
        section.panel #discount {
            h2 { "Discount on the sale" }
            form.stack method="post" action={ (base) "/discount" } {
                (csrf_field())
                div.row {
                    (radio("kind", "percent", !amount, None, "Percent"))
                    (radio("kind", "amount", amount, None, "Amount"))
                }
                (labelled("Value", Input::new("value").id("discount-value").decimal().value(typed.get("value"))))
                (labelled("Reason", Input::new("reason").id("discount-reason").value(typed.get("reason"))))
                (approval_fields(who, &data.staff, "discount", Need::AboveThreshold))
                (submit_or_cancel("discount-go", "Apply discount", base))
            }
        }
    }
}

/// Overrides a line's unit price with a manager's approval: the line is repriced in
/// place (`RepriceLine`), so its modifiers, seat and note stay as they were.
pub(crate) async fn override_price(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let cur = o.currency;
    let line_id = Uuid::try_parse(fields.get("line")).map(LineId).map_err(|_| UiError::NotFound)?;
    let refusal = match form::money(fields.get("price"), cur, "New price") {
        Err(e) => Some(e),
        Ok(unit_price) => match approver(&state, &who, &fields, "price").await? {
            Err(e) => Some(e),
            Ok(approved_by) => {
                let command =
                    Command::RepriceLine { order_id: o.id, line_id, unit_price, approved_by };
                run(&state, vec![command], cur).await?.err()
            }
        },
    };
    post_then_redirect(
        refusal,
        || format!("/register/{}?msg=price", o.id.0),
        |e| {
            let screen = Screen {
                msg: Some(Message::Error(e)),
                override_line: Some(line_id),
                typed: fields,
                ..Screen::default()
            };
            render(&state, &who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY)
        },
    )
    .await
}

/// A discount on the whole sale; the domain asks for a manager above the policy's limit.
pub(crate) async fn discount(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let cur = o.currency;
    let rule = form::discount_rule(fields.get("kind"), fields.get("value"), cur);
    let parsed = rule.and_then(|rule| Ok((rule, form::text(fields.get("reason"), "Reason", 80)?)));
    let refusal = match parsed {
        Err(e) => Some(e),
        Ok((rule, reason)) => match approver(&state, &who, &fields, "discount").await? {
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
                run(&state, vec![command], cur).await?.err()
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
