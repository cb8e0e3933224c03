//! Paying a check: cash with change due, a card run on an external terminal (brand, last
//! four digits and authorization code are all that is typed or kept) with a tip, split
//! tenders (pay part of the balance), and an even split in N parts (the domain's
//! `even_split`: integer division, remainder cents on the last part).
//!
//! The plan of an even split travels in the page address (`?parts=333,333,334`, minor
//! units) and is used only while its parts still add up to the balance, so a payment taken
//! elsewhere quietly drops it rather than suggesting wrong amounts. A payment that settles
//! the balance closes the check in the same batch (which prints the receipt).

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::Tender;
use thorbis_domain::ids::{OrderId, PaymentId};
use thorbis_domain::order::even_split;
use thorbis_domain::{Command, Currency, Money};

use super::super::form::{self, Fields};
use super::super::html::{Message, esc};
use super::super::{UiError, UiState};
use super::{CheckData, Screen, currency_of, order_id, order_view, refuse, require_pos, run};
use crate::{OrderView, SignedIn};

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
pub(super) fn payments(o: &OrderView, cur: Currency) -> String {
    let mut list: Vec<_> = o.order.payments.values().collect();
    if list.is_empty() {
        return String::new();
    }
    list.sort_by_key(|p| p.meta);
    let mut out = String::from("<ul class=\"payments\" id=\"payments\">");
    let mut change = None;
    for p in &list {
        let p = &p.value;
        let tip = if p.tip == Money::ZERO {
            String::new()
        } else {
            format!(" + tip {}", p.tip.format(cur))
        };
        let what = match &p.tender {
            Tender::Cash { tendered, change: c } => {
                change = Some(*c);
                format!("Cash {} of {} tendered", p.amount.format(cur), tendered.format(cur))
            }
            Tender::Card { brand, last4, auth_code } => {
                format!("{brand} ••••{last4} (auth {auth_code}) {}", p.amount.format(cur))
            }
            Tender::Other { name } => format!("{name} {}", p.amount.format(cur)),
        };
        let _ = write!(out, "<li class=\"payment\">{}</li>", esc(&format!("{what}{tip}")));
    }
    out.push_str("</ul>");
    if let Some(c) = change {
        let _ = write!(
            out,
            "<p class=\"change\">Change due <span class=\"money\" id=\"change\">{}</span></p>",
            esc(&c.format(cur))
        );
    }
    out
}

/// The pay panel of an open check with a drawer: even split, cash, card.
pub(super) fn pay_panel(data: &CheckData, screen: &Screen, base: &str, cur: Currency) -> String {
    let balance = data.order.totals.balance;
    let plan: &[Money] =
        if screen.parts.iter().copied().sum::<Money>() == balance { &screen.parts } else { &[] };
    let due_now = plan.first().copied().unwrap_or(balance);
    let mut out = format!(
        "<section class=\"panel\" id=\"pay\"><h2>Pay <span class=\"money\">{}</span></h2>",
        esc(&balance.format(cur))
    );
    if plan.is_empty() {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{base}/even\" class=\"row\" id=\"even-form\">\
<label>Split evenly in <input name=\"n\" id=\"even-n\" inputmode=\"numeric\" value=\"{}\" autocomplete=\"off\"></label>\
<button class=\"btn\" type=\"submit\" id=\"even-split\">Split evenly</button></form>",
            esc(screen.typed("even", "n"))
        );
    } else {
        let amounts: Vec<String> = plan.iter().map(|m| m.format(cur)).collect();
        let _ = write!(
            out,
            "<p class=\"msg\" id=\"even-plan\">Even split: {} part{} left: {}. <a class=\"chip\" href=\"{base}\" id=\"even-cancel\">Cancel</a></p>",
            plan.len(),
            if plan.len() == 1 { "" } else { "s" },
            esc(&amounts.join(" + "))
        );
    }
    let hidden = if plan.is_empty() {
        String::new()
    } else {
        format!("<input type=\"hidden\" name=\"parts\" value=\"{}\">", parts_query(plan))
    };
    let prefill = |form: &str, field: &str| -> String {
        if screen.form == form {
            screen.typed(form, field).to_owned()
        } else if plan.is_empty() {
            String::new()
        } else {
            due_now.format(cur)
        }
    };
    let _ = write!(
        out,
        "<h3>Cash</h3><form method=\"post\" action=\"{base}/cash\" class=\"stack\" id=\"cash-form\">{hidden}\
<label>Amount <span class=\"muted\">(blank: all that is due)</span><input name=\"amount\" id=\"cash-amount\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\"></label>\
<label>Tendered <input name=\"tendered\" id=\"tendered\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\"></label><div class=\"row quick\">",
        esc(&prefill("cash", "amount")),
        esc(screen.typed("cash", "tendered")),
    );
    let exact = due_now.format(cur);
    let _ = write!(
        out,
        "<button type=\"button\" class=\"chip\" data-fill=\"{e}\">Exact {e}</button>",
        e = esc(&exact)
    );
    let scale = 10_i64.pow(u32::from(cur.exponent));
    let mut last = due_now.0;
    for note in [5, 10, 20, 50, 100] {
        let round = (due_now.0 + note * scale - 1) / (note * scale) * note * scale;
        if round > last && due_now.0 > 0 {
            let v = Money(round).format(cur);
            let _ = write!(
                out,
                "<button type=\"button\" class=\"chip\" data-fill=\"{v}\">{v}</button>",
                v = esc(&v)
            );
            last = round;
        }
    }
    let _ = write!(
        out,
        "</div><button class=\"btn primary wide\" type=\"submit\" id=\"take-cash\">Take cash</button></form>\
<h3>Card <span class=\"muted\">(external terminal)</span></h3><form method=\"post\" action=\"{base}/card\" class=\"stack\" id=\"card-form\">{hidden}\
<div class=\"row\"><label>Amount <input name=\"amount\" id=\"card-amount\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\" placeholder=\"all due\"></label>\
<label>Tip <input name=\"tip\" id=\"card-tip\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\" placeholder=\"0.00\"></label></div>\
<div class=\"row\"><label>Brand <input name=\"brand\" id=\"card-brand\" autocomplete=\"off\" value=\"{}\" placeholder=\"VISA\"></label>\
<label>Last 4 <input name=\"last4\" id=\"card-last4\" inputmode=\"numeric\" maxlength=\"8\" autocomplete=\"off\" value=\"{}\"></label>\
<label>Auth code <input name=\"auth\" id=\"card-auth\" autocomplete=\"off\" value=\"{}\"></label></div>\
<button class=\"btn primary wide\" type=\"submit\" id=\"take-card\">Take card</button></form></section>",
        esc(&prefill("card", "amount")),
        esc(screen.typed("card", "tip")),
        esc(screen.typed("card", "brand")),
        esc(screen.typed("card", "last4")),
        esc(screen.typed("card", "auth")),
    );
    out
}

/// Plans an even split of the balance in N parts.
pub(crate) async fn even(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let view = order_view(&state, order_id).await?;
    let cur = currency_of(&view);
    let balance = view.totals.balance;
    let planned = form::count(fields.get("n"), "Parts", 2, MAX_PARTS).map_err(|e| format!("{e}."));
    let refusal = match planned {
        Err(e) => e,
        Ok(n) => {
            let parts = even_split(balance, n);
            if !parts.is_empty() && parts.iter().all(|p| p.as_minor() > 0) {
                let to = format!("/pos/checks/{}?parts={}", order_id.0, parts_query(&parts));
                return Ok(Redirect::to(&to).into_response());
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
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let cur = currency_of(&order_view(&state, order_id).await?);
    let tender = form::money(fields.get("tendered"), cur, "Cash tendered")
        .map(|tendered| (TenderInput::Cash { tendered }, Money::ZERO));
    pay(&state, &who, order_id, fields, "cash", tender).await
}

/// Records a card payment approved on the external terminal, with its tip.
pub(crate) async fn card(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let cur = currency_of(&order_view(&state, order_id).await?);
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
    let cur = currency_of(&view);
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
                    return Ok(Redirect::to(&format!("/pos/checks/{}", order_id.0)).into_response());
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
                    return Ok(Redirect::to(&to).into_response());
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
