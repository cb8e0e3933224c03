//! Paying a check: cash with change due, a card run on an external terminal (brand, last
//! four digits and authorization code are all that is typed or kept) with a tip, split
//! tenders (pay part of the balance), and an even split in N parts (the domain's
//! `even_split`: integer division, remainder cents on the last part).
//!
//! The plan of an even split travels in the page address (`?parts=333,333,334`, minor
//! units) and is used only while its parts still add up to the balance, so a payment taken
//! elsewhere quietly drops it rather than suggesting wrong amounts. A payment that settles
//! the balance closes the check in the same batch (which prints the receipt).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::Tender;
use thorbis_domain::ids::{OrderId, PaymentId};
use thorbis_domain::order::even_split;
use thorbis_domain::{Command, Currency, Money};
use thorbis_web::components::{Input, hidden, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::see_other;

use super::super::access::PosStaff;
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{CheckData, Screen, order_id, order_view, refuse, run};
use crate::guard::csrf_field;
use thorbis_agent::{OrderView, SignedIn};

/// The most parts a check is split into evenly.
const MAX_PARTS: u16 = 20;

/// The even-split plan from the page address; empty when absent or malformed.
pub(super) fn parse_parts(raw: Option<&str>) -> Vec<Money> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Vec::new() };
    let parts: Option<Vec<Money>> = raw
        .split(',')
        .take(usize::from(MAX_PARTS) + 1)
        .map(|p| p.parse::<i64>().ok().filter(|m| *m > 0).map(Money))
        .collect();
    parts.filter(|p| p.len() <= usize::from(MAX_PARTS)).unwrap_or_default()
}

fn parts_query(parts: &[Money]) -> String {
    parts.iter().map(|m| m.as_minor().to_string()).collect::<Vec<_>>().join(",")
}

/// Payments taken so far, oldest first; the latest cash payment's change shown large.
pub(super) fn payments(o: &OrderView, cur: Currency) -> Markup {
    let mut list: Vec<_> = o.order.payments.values().collect();
    if list.is_empty() {
        return html! {};
    }
    list.sort_by_key(|p| p.meta);
    let change = list.iter().rev().find_map(|p| match &p.value.tender {
        Tender::Cash { change, .. } => Some(*change),
        _ => None,
    });
    html! {
        ul.payments #payments {
            @for p in &list {
                li.payment { (payment_text(&p.value, cur)) }
            }
        }
        @if let Some(c) = change {
            p.change { "Change due " span.money #change { (c.format(cur)) } }
        }
    }
}

/// One payment in words: "Cash $10.00 of $20.00 tendered + tip $1.00".
fn payment_text(p: &thorbis_domain::events::PaymentTaken, cur: Currency) -> String {
    let what = match &p.tender {
        Tender::Cash { tendered, .. } => {
            format!("Cash {} of {} tendered", p.amount.format(cur), tendered.format(cur))
        }
        Tender::Card { brand, last4, auth_code } => {
            format!("{brand} ••••{last4} (auth {auth_code}) {}", p.amount.format(cur))
        }
        Tender::Other { name } => format!("{name} {}", p.amount.format(cur)),
    };
    if p.tip == Money::ZERO { what } else { format!("{what} + tip {}", p.tip.format(cur)) }
}

/// The pay panel of an open check with a drawer: even split, cash, card.
pub(super) fn pay_panel(data: &CheckData, screen: &Screen, base: &str, cur: Currency) -> Markup {
    let balance = data.order.totals.balance;
    let plan: &[Money] =
        if screen.parts.iter().copied().sum::<Money>() == balance { &screen.parts } else { &[] };
    let due_now = plan.first().copied().unwrap_or(balance);
    let prefill = |form: &str, field: &str| -> String {
        if screen.form == form {
            screen.typed(form, field).to_owned()
        } else if plan.is_empty() {
            String::new()
        } else {
            due_now.format(cur)
        }
    };
    let hidden_parts = html! { @if !plan.is_empty() { (hidden("parts", parts_query(plan))) } };
    let exact = due_now.format(cur);
    // Round-up notes for quick cash: the next 5, 10, 20, 50 and 100 above what is due.
    let scale = 10_i64.pow(u32::from(cur.exponent));
    let mut notes = Vec::new();
    let mut last = due_now.0;
    for note in [5, 10, 20, 50, 100] {
        let round = (due_now.0 + note * scale - 1) / (note * scale) * note * scale;
        if round > last && due_now.0 > 0 {
            notes.push(Money(round).format(cur));
            last = round;
        }
    }
    let (cash_amount, card_amount) = (prefill("cash", "amount"), prefill("card", "amount"));
    html! {
        section.panel #pay {
            h2 { "Pay " span.money { (balance.format(cur)) } }
            @if plan.is_empty() {
                form.row #even-form method="post" action={ (base) "/even" } {
                    (csrf_field())
                    (labelled("Split evenly in", Input::new("n").id("even-n").numeric().value(screen.typed("even", "n"))))
                    button.btn #even-split type="submit" { "Split evenly" }
                }
            } @else {
                @let amounts: Vec<String> = plan.iter().map(|m| m.format(cur)).collect();
                p.msg #even-plan {
                    "Even split: " (plan.len()) " part" @if plan.len() != 1 { "s" } " left: "
                    (amounts.join(" + ")) ". "
                    a.chip #even-cancel href=(base) { "Cancel" }
                }
            }
            h3 { "Cash" }
            form.stack #cash-form method="post" action={ (base) "/cash" } {
                (csrf_field())
                (hidden_parts)
                label {
                    "Amount " span.muted { "(blank: all that is due)" }
                    (Input::new("amount").id("cash-amount").decimal().value(&cash_amount))
                }
                (labelled("Tendered", Input::new("tendered").id("tendered").decimal().value(screen.typed("cash", "tendered"))))
                div.row.quick {
                    button.chip type="button" data-fill=(exact) { "Exact " (exact) }
                    @for v in &notes { button.chip type="button" data-fill=(v) { (v) } }
                }
                button.btn.primary.wide #take-cash type="submit" { "Take cash" }
            }
            h3 { "Card " span.muted { "(external terminal)" } }
            form.stack #card-form method="post" action={ (base) "/card" } {
                (csrf_field())
                (hidden_parts)
                div.row {
                    (labelled("Amount", Input::new("amount").id("card-amount").decimal().value(&card_amount).placeholder("all due")))
                    (labelled("Tip", Input::new("tip").id("card-tip").decimal().value(screen.typed("card", "tip")).placeholder("0.00")))
                }
                div.row {
                    (labelled("Brand", Input::new("brand").id("card-brand").value(screen.typed("card", "brand")).placeholder("VISA")))
                    (labelled("Last 4", Input::new("last4").id("card-last4").numeric().maxlength(8).value(screen.typed("card", "last4"))))
                    (labelled("Auth code", Input::new("auth").id("card-auth").value(screen.typed("card", "auth"))))
                }
                button.btn.primary.wide #take-card type="submit" { "Take card" }
            }
        }
    }
}

/// Plans an even split of the balance in N parts.
pub(crate) async fn even(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let view = order_view(&state, order_id).await?;
    let cur = view.currency;
    let balance = view.totals.balance;
    let planned = form::count(fields.get("n"), "Parts", 2, MAX_PARTS).map_err(|e| format!("{e}."));
    let refusal = match planned {
        Err(e) => e,
        Ok(n) => {
            let parts = even_split(balance, n);
            if !parts.is_empty() && parts.iter().all(|p| p.as_minor() > 0) {
                let to = format!("/pos/checks/{}?parts={}", order_id.0, parts_query(&parts));
                return Ok(see_other(&to));
            }
            format!("{} cannot be split in {n}.", balance.format(cur))
        }
    };
    let screen = Screen {
        form: "even",
        typed: fields,
        msg: Some(Message::Error(refusal)),
        ..Screen::default()
    };
    refuse(&state, &who, order_id, screen).await
}

/// Takes cash: the amount typed (or the whole balance), with change from what was handed
/// over.
pub(crate) async fn cash(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let cur = order_view(&state, order_id).await?.currency;
    let tender = form::money(fields.get("tendered"), cur, "Cash tendered")
        .map(|tendered| (TenderInput::Cash { tendered }, Money::ZERO));
    pay(&state, &who, order_id, fields, "cash", tender).await
}

/// Records a card payment approved on the external terminal, with its tip.
pub(crate) async fn card(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let cur = order_view(&state, order_id).await?.currency;
    let tip = match fields.get("tip") {
        "" => Ok(Money::ZERO),
        raw => form::money(raw, cur, "Tip"),
    };
    let tender = tip.map(|tip| {
        let card = TenderInput::Card {
            brand: fields.get("brand").to_owned(),
            last4: fields.get("last4").to_owned(),
            auth_code: fields.get("auth").to_owned(),
        };
        (card, tip)
    });
    pay(&state, &who, order_id, fields, "card", tender).await
}

/// Takes one payment (`tender`, or the message of what did not parse) for the amount typed
/// or the whole balance; closes the check when it settles it.
async fn pay(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    fields: Fields,
    form_id: &'static str,
    tender: Result<(TenderInput, Money), String>,
) -> Result<Response, UiError> {
    let view = order_view(state, order_id).await?;
    let cur = view.currency;
    let balance = view.totals.balance;
    let amount = match fields.get("amount") {
        "" => Ok(None),
        raw => form::money(raw, cur, "Amount").map(Some),
    };
    let refusal = match (tender, amount) {
        (Err(e), _) | (_, Err(e)) => Some(format!("{e}.")),
        (Ok((tender, tip)), Ok(amount)) => {
            let drawer = state
                .with_store(|store| Ok(store.open_drawers()?.first().map(|(id, _)| *id)))
                .await?;
            let payment_id = state.with_store(|store| Ok(PaymentId(store.new_id()))).await?;
            let staff = Some(who.staff_id);
            let settles = amount.is_none_or(|a| a == balance);
            let mut commands = vec![Command::TakePayment {
                order_id,
                payment_id,
                tender,
                amount,
                tip,
                drawer_session: drawer,
                staff,
            }];
            if settles {
                commands.push(Command::CloseOrder { order_id, staff });
            }
            match run(state, commands, cur).await? {
                Err(e) => Some(e),
                Ok(()) if settles => {
                    return Ok(see_other(&format!("/pos/checks/{}", order_id.0)));
                }
                Ok(()) => {
                    // The next part of an even split, if this payment was the current one.
                    let mut parts = parse_parts(Some(fields.get("parts")));
                    let query = if !parts.is_empty() && amount == Some(parts[0]) {
                        parts.remove(0);
                        format!("&parts={}", parts_query(&parts))
                    } else {
                        String::new()
                    };
                    let to = format!("/pos/checks/{}?msg=paid{query}", order_id.0);
                    return Ok(see_other(&to));
                }
            }
        }
    };
    let screen = Screen {
        parts: parse_parts(Some(fields.get("parts"))),
        form: form_id,
        typed: fields,
        msg: refusal.map(Message::Error),
        ..Screen::default()
    };
    refuse(state, who, order_id, screen).await
}
