//! Paying the sale: cash for the whole balance (with an open drawer) or a card approved on
//! an external terminal (brand, last four digits and authorization only), then the paid
//! sale with its change and receipt number. Paying closes the sale in the same
//! transaction, which prints the receipt and moves stock.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::Tender;
use thorbis_domain::ids::PaymentId;
use thorbis_domain::{Command, Currency, Money};
use thorbis_web::components::{Input, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::post_then_redirect;

use super::super::access::Cashier;
use super::super::action::run;
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{SaleData, Screen, open_sale, render};
use crate::guard::csrf_field;
use thorbis_agent::print::receipt_number;
use thorbis_agent::{OrderView, SignedIn};

/// The discount link and the tenders of an open sale with lines.
pub(super) fn tenders(
    data: &SaleData,
    o: &OrderView,
    screen: &Screen,
    base: &str,
    cur: Currency,
) -> Markup {
    if o.order.live_lines().next().is_none() {
        return html! {};
    }
    let typed = &screen.typed;
    let exact = o.totals.balance.format(cur);
    html! {
        p { a.btn #discount-link href={ (base) "?panel=discount" } { "Discount" } }
        section.panel #cash {
            h2 { "Cash" }
            @if data.drawer {
                form.stack method="post" action={ (base) "/cash" } {
                    (csrf_field())
                    (labelled("Tendered", Input::new("tendered").id("tendered").decimal().value(typed.get("tendered"))))
                    div.row.quick {
                        button.chip type="button" data-fill=(exact) { "Exact " (exact) }
                    }
                    button.btn.primary.wide #take-cash type="submit" { "Take cash" }
                }
            } @else {
                p.muted { "No drawer is open: " a href="/drawer" { "open one" } " to take cash." }
            }
        }
        section.panel #card {
            h2 { "Card" }
            form.stack method="post" action={ (base) "/card" } {
                (csrf_field())
                div.row {
                    (labelled("Brand", Input::new("brand").id("brand").value(typed.get("brand"))))
                    (labelled("Last 4", Input::new("last4").id("last4").numeric().value(typed.get("last4"))))
                    (labelled("Auth code", Input::new("auth").id("auth").value(typed.get("auth"))))
                }
                button.btn.primary.wide #take-card type="submit" { "Card approved" }
            }
        }
    }
}

/// The paid sale: its tenders, change, receipt number and receipt state.
pub(super) fn paid(data: &SaleData, o: &OrderView, cur: Currency) -> Markup {
    html! {
        section.panel.done #paid {
            h2 { "Paid" }
            @for payment in o.order.payments.values() {
                @match &payment.value.tender {
                    Tender::Cash { tendered, change } => {
                        p { "Cash " span.money { (tendered.format(cur)) } }
                        p.change { "Change due " span.money #change { (change.format(cur)) } }
                    }
                    other => p { (other.label()) " " span.money { (payment.value.amount.format(cur)) } },
                }
            }
            p { "Receipt number " span.money #receipt-number { (receipt_number(o.id)) } }
            @match &data.receipt {
                Some(state) => p { "Receipt: " span #receipt-state { (state) } },
                None => p.muted { "No receipt printer is configured." },
            }
            a.btn.primary.wide #new-sale href="/register" { "New sale" }
        }
    }
}

/// Takes `tender` for the whole balance and closes the sale (which prints the receipt and
/// moves stock), in one transaction.
async fn pay(
    state: &UiState,
    who: &SignedIn,
    o: &OrderView,
    tender: TenderInput,
) -> Result<Option<String>, UiError> {
    let cash = matches!(tender, TenderInput::Cash { .. });
    let (payment_id, drawer) = state
        .with_store(|store| {
            let drawer = store.open_drawers()?.first().map(|(id, _)| *id);
            Ok((PaymentId(store.new_id()), drawer))
        })
        .await?;
    let commands = vec![
        Command::TakePayment {
            order_id: o.id,
            payment_id,
            tender,
            amount: None,
            tip: Money::ZERO,
            // Card takings count on the shift's drawer report too.
            drawer_session: if cash || drawer.is_some() { drawer } else { None },
            staff: Some(who.staff_id),
        },
        Command::CloseOrder { order_id: o.id, staff: Some(who.staff_id) },
    ];
    Ok(run(state, commands, o.currency).await?.err())
}

/// Cash for the whole balance.
pub(crate) async fn cash(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let refusal = match form::money(fields.get("tendered"), o.currency, "Cash tendered") {
        Err(e) => Some(e),
        Ok(tendered) => pay(&state, &who, &o, TenderInput::Cash { tendered }).await?,
    };
    tendered(&state, &who, &o, refusal, fields).await
}

/// An external card terminal's approval for the whole balance.
pub(crate) async fn card(
    State(state): State<UiState>,
    who: Cashier,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let o = open_sale(&state, &order).await?;
    let refusal = match card_input(&fields) {
        Err(e) => Some(e),
        Ok(tender) => pay(&state, &who, &o, tender).await?,
    };
    tendered(&state, &who, &o, refusal, fields).await
}

/// The card fields: brand, last four digits, authorization code.
pub(crate) fn card_input(fields: &Fields) -> Result<TenderInput, String> {
    let brand = form::text(fields.get("brand"), "Card brand", 12)?;
    let last4 = fields.get("last4");
    if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Last 4 must be the card's last four digits".into());
    }
    let auth = form::text(fields.get("auth"), "Auth code", 12)?;
    Ok(TenderInput::Card { brand: brand.to_uppercase(), last4: last4.to_owned(), auth_code: auth })
}

async fn tendered(
    state: &UiState,
    who: &SignedIn,
    o: &OrderView,
    refusal: Option<String>,
    fields: Fields,
) -> Result<Response, UiError> {
    post_then_redirect(
        refusal,
        || format!("/register/{}", o.id.0),
        |e| {
            let screen =
                Screen { msg: Some(Message::Error(e)), typed: fields, ..Screen::default() };
            render(state, who, Some(o.id), screen, StatusCode::UNPROCESSABLE_ENTITY)
        },
    )
    .await
}
