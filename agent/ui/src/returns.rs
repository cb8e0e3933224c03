//! Returns against a receipt: find the sale by the receipt's barcode (scanned into the
//! field, or its number typed), pick the lines and quantities coming back, and refund them
//! in cash or to a card through the domain's `Refund` (which always needs a manager's
//! approval and a reason). Returned goods go back into stock and a refund receipt prints.
//!
//! What the goods are worth is `domain::returns::refund_due`; the screen only shows it.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::approval::Need;
use thorbis_domain::command::{CommandError, TenderInput};
use thorbis_domain::ids::{LineId, OrderId, RefundId};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::returns::refund_due;
use thorbis_domain::{Command, Currency, Qty};
use thorbis_web::components::{Input, labelled, radio};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{post_then_redirect, see_other};

use super::access::Cashier;
use super::action::{order_id, order_view, refusal_text};
use super::approval::{approver, fields as approval_fields};
use super::html::{Message, message, page};
use super::register::{card_input, parse_qty};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::print::{Document, parse_receipt_number, receipt_number};
use thorbis_agent::{OrderView, SignedIn, StoreError};

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ReturnQuery {
    msg: Option<String>,
}

/// The receipt look-up.
pub(crate) async fn find(State(state): State<UiState>, who: Cashier) -> Result<Response, UiError> {
    Ok(look_up_page(&state, &who, None, "", StatusCode::OK))
}

fn look_up_page(
    state: &UiState,
    who: &SignedIn,
    msg: Option<&Message>,
    typed: &str,
    status: StatusCode,
) -> Response {
    let body = html! {
        section.col.narrow {
            h1 { "Return" }
            (message(msg))
            form.stack.panel #receipt-form method="post" action="/returns" data-wedge {
                (csrf_field())
                input type="hidden" name="via" value="typed";
                (labelled(
                    "Receipt number (scan the receipt's barcode)",
                    Input::new("receipt").id("receipt").value(typed).numeric().autofocus(),
                ))
                button.btn.primary #find-receipt type="submit" { "Find sale" }
            }
            a.btn.ghost href="/register" { "Back to the register" }
        }
    };
    (status, page("Return", "returns", Some(who), &state.indicators(), body)).into_response()
}

/// The look-up form: the receipt number, scanned or typed.
#[derive(Debug, Deserialize)]
pub(crate) struct LookUpForm {
    #[serde(default)]
    receipt: String,
}

/// `POST /returns`: finds the sale of a receipt.
pub(crate) async fn look_up(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<LookUpForm>,
) -> Result<Response, UiError> {
    let typed = form.receipt.trim().to_owned();
    let refuse = |text: String| {
        Ok(look_up_page(
            &state,
            &who,
            Some(&Message::Error(text)),
            &typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    };
    if typed.is_empty() {
        return refuse("Scan the receipt's barcode or type its number.".into());
    }
    let Some(order_id) = parse_receipt_number(&typed) else {
        return refuse(
            "That is not a receipt number: it is the digits under the receipt's barcode.".into(),
        );
    };
    let order = state.with_store(move |store| store.order(order_id)).await?;
    match order {
        None => refuse(format!("No sale has receipt number {typed}.")),
        Some(o) if o.order.status() != OrderStatus::Closed => {
            refuse("That sale is still open: finish it at the register.".into())
        }
        Some(o) => Ok(see_other(&format!("/returns/{}", o.id.0))),
    }
}

/// `GET /returns/{order}`: the sale, its lines to return, and its refunds so far.
pub(crate) async fn sale(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let msg = match q.msg.as_deref() {
        Some("refunded") => Some(Message::Info("Refunded. The refund receipt is printing.".into())),
        _ => None,
    };
    render(&state, &who, order_id, msg, &Fields::default(), StatusCode::OK).await
}

async fn render(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    msg: Option<Message>,
    typed: &Fields,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (o, staff, printed) = state
        .with_store(move |store| {
            let Some(o) = store.order(order_id)? else { return Ok(None) };
            // Each refund's receipt, by its document: never a scan of every print job.
            let mut printed: Vec<(RefundId, String)> = Vec::new();
            for refund_id in o.order.refunds.values().map(|r| r.value.refund_id) {
                let document = Document::Refund { order_id, refund_id };
                if let Some(job) = store.original_print_job(&document)? {
                    printed.push((refund_id, format!("{:?}", job.state).to_lowercase()));
                }
            }
            Ok(Some((o, store.active_staff()?, printed)))
        })
        .await?
        .ok_or(UiError::NotFound)?;
    if o.order.status() != OrderStatus::Closed {
        return Err(UiError::NotFound);
    }
    let cur = o.currency;
    let card = typed.get("method") == "card";
    let body = html! {
        div.cols {
            section.col {
                h1 { "Return" }
                p.muted {
                    "Receipt " span #return-receipt { (receipt_number(o.id)) }
                    " · paid " (o.totals.paid.format(cur))
                }
                (message(msg.as_ref()))
                form.stack #return-form method="post" action={ "/returns/" (o.id.0) } {
                    (csrf_field())
                    ol.lines #return-lines {
                        @for line in o.order.live_lines() {
                            @let back = o.order.refunded_qty(line.line_id);
                            @let left = line.qty - back;
                            @let name = format!("ret_{}", line.line_id.0);
                            li.line data-line=(line.name) {
                                span.name { (line.name) }
                                span.muted {
                                    "sold " (line.qty)
                                    @if back.0 > 0 { " · returned " (back) }
                                }
                                label.mods {
                                    "Return (left " (left) ") "
                                    input name=(name) class="return-qty" data-return=(line.name)
                                        inputmode="decimal" autocomplete="off"
                                        value=(typed.get(&name)) disabled[left.0 <= 0];
                                }
                            }
                        }
                    }
                    fieldset.group {
                        legend { "Refund to" }
                        div.row {
                            (radio("method", "cash", !card, Some("refund-cash"), "Cash"))
                            (radio("method", "card", card, Some("refund-card"), "Card"))
                        }
                        div.row {
                            (labelled("Brand", Input::new("brand").value(typed.get("brand"))))
                            (labelled("Last 4", Input::new("last4").numeric().value(typed.get("last4"))))
                            (labelled("Auth code", Input::new("auth").value(typed.get("auth"))))
                        }
                    }
                    (labelled("Reason", Input::new("reason").id("return-reason").value(typed.get("reason"))))
                    (approval_fields(who, &staff, "refund", Need::Always))
                    button.btn.primary.wide #refund-go type="submit" { "Refund" }
                }
            }
            (refunds(&o, &printed, cur))
        }
    };
    Ok((status, page("Return", "returns", Some(who), &state.indicators(), body)).into_response())
}

fn refunds(o: &OrderView, printed: &[(RefundId, String)], cur: Currency) -> Markup {
    let mut refunds: Vec<_> = o.order.refunds.values().collect();
    refunds.sort_by_key(|r| r.meta);
    html! {
        section.col.narrow {
            h2 { "Refunds" }
            ul.lines #refunds {
                @for r in &refunds {
                    @let state = printed
                        .iter()
                        .find(|(id, _)| *id == r.value.refund_id)
                        .map_or("no printer", |(_, s)| s.as_str());
                    li.line {
                        span { (r.value.tender.label()) " " (r.value.reason) }
                        span.money.refunded { (r.value.amount.format(cur)) }
                        span.tags { "receipt " (state) }
                    }
                }
                @if refunds.is_empty() { li.muted { "None yet." } }
            }
            a.btn #another-return href="/returns" { "Another return" }
        }
    }
}

/// `POST /returns/{order}`: refunds the quantities typed, with a manager's approval.
pub(crate) async fn refund(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let o = order_view(&state, order_id).await?;
    let refusal = match parse(&o, &fields) {
        Err(e) => Some(e),
        Ok((lines, tender, reason)) => match approver(&state, &who, &fields, "refund").await? {
            Err(e) => Some(e),
            Ok(approved_by) => {
                let amount = refund_due(&o.order, &lines);
                let cur = o.currency;
                let names: Vec<(LineId, String)> =
                    o.order.live_lines().map(|l| (l.line_id, l.name.clone())).collect();
                let result = state
                    .with_store(move |store| {
                        let drawer_session = store.open_drawers()?.first().map(|(id, _)| *id);
                        let command = Command::Refund {
                            order_id,
                            refund_id: RefundId(store.new_id()),
                            amount,
                            lines,
                            tender,
                            reason,
                            approved_by,
                            drawer_session,
                        };
                        match store.execute(&command) {
                            Ok(_) => Ok(None),
                            Err(StoreError::Refused(CommandError::ReturnExceedsSold {
                                line,
                                left,
                                ..
                            })) => {
                                let name = names
                                    .iter()
                                    .find(|(id, _)| *id == line)
                                    .map_or("", |(_, n)| n.as_str());
                                Ok(Some(format!("Only {left} of {name} is left to return.")))
                            }
                            Err(StoreError::Refused(e)) => Ok(Some(refusal_text(&e, cur))),
                            Err(other) => Err(other),
                        }
                    })
                    .await?;
                if result.is_none() {
                    state.notify();
                }
                result
            }
        },
    };
    let to = || format!("/returns/{}?msg=refunded", o.id.0);
    post_then_redirect(refusal, to, |e| {
        let msg = Some(Message::Error(e));
        render(&state, &who, o.id, msg, &fields, StatusCode::UNPROCESSABLE_ENTITY)
    })
    .await
}

/// What a return form asked for: the lines and quantities coming back, the tender and
/// the reason.
type ReturnInput = (Vec<(LineId, Qty)>, TenderInput, String);

/// Reads the return form.
fn parse(o: &OrderView, fields: &Fields) -> Result<ReturnInput, String> {
    let mut lines = Vec::new();
    for line in o.order.live_lines() {
        let raw = fields.get(&format!("ret_{}", line.line_id.0));
        if raw.is_empty() {
            continue;
        }
        let by_weight = !line.qty.is_whole();
        let qty = parse_qty(raw, by_weight).map_err(|e| format!("{}: {e}", line.name))?;
        lines.push((line.line_id, qty));
    }
    if lines.is_empty() {
        return Err("Type how many of each item come back.".into());
    }
    let tender = if fields.get("method") == "card" {
        card_input(fields)?
    } else {
        // Cash hands back exactly the refund; the amount is the domain's.
        TenderInput::Cash { tendered: thorbis_domain::Money::ZERO }
    };
    let reason = form::text(fields.get("reason"), "Reason", 80)?;
    Ok((lines, tender, reason))
}
