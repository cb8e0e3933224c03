//! Returns against a receipt: find the sale by the receipt's barcode (scanned into the
//! field, or its number typed), pick the lines and quantities coming back, and refund them
//! in cash or to a card through the domain's `Refund` (which always needs a manager's
//! approval and a reason). Returned goods go back into stock and a refund receipt prints.
//!
//! What the goods are worth is `domain::returns::refund_due`; the screen only shows it.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use thorbis_domain::command::{CommandError, TenderInput};
use thorbis_domain::ids::{LineId, OrderId, RefundId};
use thorbis_domain::order::OrderStatus;
use thorbis_domain::returns::refund_due;
use thorbis_domain::{Command, Currency, Qty};

use super::action::{currency_of, order_id, order_view, refusal_text};
use super::form::Fields;
use super::html::{Message, esc, message, page};
use super::register::{
    approval, approval_fields, approvers, card_input, parse_qty, require_register,
};
use super::{UiError, UiState};
use crate::print::{Document, JobState, parse_receipt_number, receipt_number};
use crate::{OrderView, SignedIn, StoreError};

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ReturnQuery {
    msg: Option<String>,
}

/// The receipt look-up.
pub(crate) async fn find(State(state): State<UiState>, who: SignedIn) -> Result<Response, UiError> {
    require_register(&who)?;
    Ok(look_up_page(&state, &who, None, "", StatusCode::OK))
}

fn look_up_page(
    state: &UiState,
    who: &SignedIn,
    msg: Option<&Message>,
    typed: &str,
    status: StatusCode,
) -> Response {
    let body = format!(
        "<section class=\"col narrow\"><h1>Return</h1>{msg}\
<form method=\"post\" action=\"/returns\" class=\"stack panel\" id=\"receipt-form\" data-wedge>\
<input type=\"hidden\" name=\"via\" value=\"typed\">\
<label>Receipt number (scan the receipt's barcode) <input name=\"receipt\" id=\"receipt\" value=\"{typed}\" autocomplete=\"off\" inputmode=\"numeric\" autofocus></label>\
<button class=\"btn primary\" type=\"submit\" id=\"find-receipt\">Find sale</button></form>\
<a class=\"btn ghost\" href=\"/register\">Back to the register</a></section>",
        msg = message(msg),
        typed = esc(typed),
    );
    (status, page("Return", "returns", Some(who), &state.indicators(), &body)).into_response()
}

/// Finds the sale a receipt number names.
pub(crate) async fn look_up(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let fields = Fields(fields);
    let typed = fields.get("receipt").to_owned();
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
        Some(o) => Ok(Redirect::to(&format!("/returns/{}", o.id.0)).into_response()),
    }
}

/// One sale, with what can still come back.
pub(crate) async fn sale(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, UiError> {
    require_register(&who)?;
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
    let (o, managers, printed) = state
        .with_store(move |store| {
            let Some(o) = store.order(order_id)? else { return Ok(None) };
            let printed: Vec<(RefundId, String)> = store
                .print_jobs(&JobState::ALL)?
                .into_iter()
                .filter_map(|j| match j.document {
                    Document::Refund { order_id: o, refund_id }
                        if o == order_id && j.copy_of.is_none() =>
                    {
                        Some((refund_id, format!("{:?}", j.state).to_lowercase()))
                    }
                    _ => None,
                })
                .collect();
            Ok(Some((o, approvers(store)?, printed)))
        })
        .await?
        .ok_or(UiError::NotFound)?;
    if o.order.status() != OrderStatus::Closed {
        return Err(UiError::NotFound);
    }
    let cur = currency_of(&o);
    let mut body = format!(
        "<div class=\"cols\"><section class=\"col\"><h1>Return</h1><p class=\"muted\">Receipt <span id=\"return-receipt\">{}</span> · paid {}</p>{}",
        esc(&receipt_number(o.id)),
        esc(&o.totals.paid.format(cur)),
        message(msg.as_ref())
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/returns/{}\" class=\"stack\" id=\"return-form\"><ol class=\"lines\" id=\"return-lines\">",
        o.id.0
    );
    for line in o.order.live_lines() {
        let back = o.order.refunded_qty(line.line_id);
        let left = line.qty - back;
        let name = format!("ret_{}", line.line_id.0);
        let _ = write!(
            body,
            "<li class=\"line\" data-line=\"{n}\"><span class=\"name\">{n}</span><span class=\"muted\">sold {sold}{back}</span>\
<label class=\"mods\">Return (left {left}) <input name=\"{name}\" class=\"return-qty\" data-return=\"{n}\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{v}\"{dis}></label></li>",
            n = esc(&line.name),
            sold = line.qty,
            back = if back.0 > 0 { format!(" · returned {back}") } else { String::new() },
            v = esc(typed.get(&name)),
            dis = if left.0 <= 0 { " disabled" } else { "" },
        );
    }
    body.push_str("</ol>");
    let method = typed.get("method");
    let _ = write!(
        body,
        "<fieldset class=\"group\"><legend>Refund to</legend><div class=\"row\">\
<label class=\"choice\"><input type=\"radio\" name=\"method\" value=\"cash\" id=\"refund-cash\"{c}>Cash</label>\
<label class=\"choice\"><input type=\"radio\" name=\"method\" value=\"card\" id=\"refund-card\"{k}>Card</label></div>\
<div class=\"row\"><label>Brand <input name=\"brand\" autocomplete=\"off\" value=\"{brand}\"></label>\
<label>Last 4 <input name=\"last4\" inputmode=\"numeric\" autocomplete=\"off\" value=\"{last4}\"></label>\
<label>Auth code <input name=\"auth\" autocomplete=\"off\" value=\"{auth}\"></label></div></fieldset>\
<label>Reason <input name=\"reason\" id=\"return-reason\" autocomplete=\"off\" value=\"{reason}\"></label>{approval}\
<button class=\"btn primary wide\" type=\"submit\" id=\"refund-go\">Refund</button></form></section>",
        c = if method == "card" { "" } else { " checked" },
        k = if method == "card" { " checked" } else { "" },
        brand = esc(typed.get("brand")),
        last4 = esc(typed.get("last4")),
        auth = esc(typed.get("auth")),
        reason = esc(typed.get("reason")),
        approval = approval_fields(&managers, typed, true),
    );
    body.push_str(&refunds(&o, &printed, cur));
    Ok((status, page("Return", "returns", Some(who), &state.indicators(), &body)).into_response())
}

/// The sale's refunds so far, with their printouts.
fn refunds(o: &OrderView, printed: &[(RefundId, String)], cur: Currency) -> String {
    let mut body = String::new();
    body.push_str(
        "<section class=\"col narrow\"><h2>Refunds</h2><ul class=\"lines\" id=\"refunds\">",
    );
    let mut refunds: Vec<_> = o.order.refunds.values().collect();
    refunds.sort_by_key(|r| r.meta);
    for r in &refunds {
        let state = printed
            .iter()
            .find(|(id, _)| *id == r.value.refund_id)
            .map_or("no printer", |(_, s)| s.as_str());
        let _ = write!(
            body,
            "<li class=\"line\"><span>{} {}</span><span class=\"money refunded\">{}</span><span class=\"tags\">receipt {}</span></li>",
            esc(r.value.tender.label()),
            esc(&r.value.reason),
            esc(&r.value.amount.format(cur)),
            esc(state)
        );
    }
    if refunds.is_empty() {
        body.push_str("<li class=\"muted\">None yet.</li>");
    }
    body.push_str("</ul><a class=\"btn\" href=\"/returns\" id=\"another-return\">Another return</a></section></div>");
    body
}

/// Refunds the chosen lines.
pub(crate) async fn refund(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let o = order_view(&state, order_id).await?;
    let refusal = match parse(&o, &fields) {
        Err(e) => Some(e),
        Ok((lines, tender, reason)) => match approval(&state, &fields, true).await? {
            Err(e) => Some(e),
            Ok(approved_by) => {
                let amount = refund_due(&o.order, &lines);
                let cur = currency_of(&o);
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
    match refusal {
        None => Ok(Redirect::to(&format!("/returns/{}?msg=refunded", o.id.0)).into_response()),
        Some(e) => {
            render(
                &state,
                &who,
                o.id,
                Some(Message::Error(e)),
                &fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
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
    let reason = super::form::text(fields.get("reason"), "Reason", 80)?;
    Ok((lines, tender, reason))
}
