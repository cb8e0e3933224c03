//! The cash drawer: open a shift with its float, pay-ins and pay-outs with a reason, no-sale
//! openings (audited: the reason and who opened it are recorded, and the slip that prints
//! kicks the drawer open), and the blind close.
//!
//! **Blind**: while the session is open the screen never shows what the drawer should
//! hold; the cashier counts and types the count, and only then sees expected, counted and
//! over/short. The count, the close and the Z report (`drawer.z_reported`, the figures as
//! printed, for the console) are one transaction, and the report prints on the receipt
//! printer.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::drawer::ZReport;
use thorbis_domain::ids::DrawerSessionId;
use thorbis_domain::{Command, Currency, Money};
use thorbis_web::components::{Input, figure, figures, labelled, radio};
use thorbis_web::form;
use thorbis_web::respond::post_then_redirect;
use uuid::Uuid;

use super::access::Cashier;
use super::action::{run, store_currency};
use super::html::{Message, message, page};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;
use thorbis_agent::print::{Document, JobState, short};

/// How many closed shifts the screen lists.
const RECENT_SHIFTS: usize = 5;

/// What was typed into a refused form, shown again in that form only.
#[derive(Debug, Default)]
struct Typed {
    float: String,
    kind: String,
    amount: String,
    cash_reason: String,
    no_sale_reason: String,
    counted: String,
}

/// `GET /drawer`.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: Cashier,
) -> Result<Response, UiError> {
    render(&state, &who, None, &Typed::default(), StatusCode::OK).await
}

async fn render(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    typed: &Typed,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (open, closed, store_currency) = state
        .with_store(|store| {
            Ok((
                store.open_drawers()?.into_iter().next(),
                store.recently_closed_drawers(RECENT_SHIFTS)?,
                store.currency()?,
            ))
        })
        .await?;
    let body = html! {
        div.cols {
            section.col {
                h1 { "Cash drawer" }
                (message(msg.as_ref()))
                @match &open {
                    None => section.panel #open-panel {
                        h2 { "Open a shift" }
                        p.muted { "Count the float into the drawer." }
                        form.stack method="post" action="/drawer/open" {
                            (csrf_field())
                            (labelled("Float", Input::new("float").id("float").decimal().value(&typed.float)))
                            button.btn.primary #open-drawer type="submit" { "Open drawer" }
                        }
                    },
                    Some((id, session)) => {
                        @let cur = session.currency().unwrap_or(store_currency);
                        @let float = session.opened.as_ref().map_or(Money::ZERO, |o| o.value.float);
                        @let pay_out = typed.kind == "out";
                        p #session data-session=(id.0) {
                            "Shift " (short(id.0)) " · float " span.money { (float.format(cur)) } " · "
                            span #moves {
                                (session.paid_in.format(cur)) " in · " (session.paid_out.format(cur))
                                " out · " (session.no_sales) " no-sale"
                            }
                        }
                        section.panel #cash-panel {
                            h2 { "Pay in / pay out" }
                            form.stack method="post" action="/drawer/cash" {
                                (csrf_field())
                                div.row {
                                    (radio("kind", "in", !pay_out, Some("kind-in"), "Pay in"))
                                    (radio("kind", "out", pay_out, Some("kind-out"), "Pay out"))
                                }
                                (labelled("Amount", Input::new("amount").id("amount").decimal().value(&typed.amount)))
                                (labelled("Reason", Input::new("reason").id("cash-reason").value(&typed.cash_reason)))
                                button.btn.primary #move-cash type="submit" { "Record" }
                            }
                        }
                        section.panel #no-sale-panel {
                            h2 { "No sale" }
                            form.stack method="post" action="/drawer/no-sale" {
                                (csrf_field())
                                (labelled("Reason", Input::new("reason").id("no-sale-reason").value(&typed.no_sale_reason)))
                                button.btn #no-sale type="submit" { "Open drawer, no sale" }
                            }
                        }
                        section.panel #close-panel {
                            h2 { "Close the shift" }
                            p.muted { "Count the cash in the drawer and type the total. The expected amount is shown after." }
                            form.stack method="post" action="/drawer/count" {
                                (csrf_field())
                                (labelled("Counted cash", Input::new("counted").id("counted").decimal().value(&typed.counted)))
                                button.btn.primary #close-drawer type="submit" { "Close and print Z report" }
                            }
                        }
                    }
                }
            }
            section.col.narrow {
                h2 { "Z reports" }
                ul.lines #reports {
                    @for (id, d) in &closed {
                        li.line {
                            a href={ "/drawer/report/" (id.0) } { "Shift " (short(id.0)) }
                            span { @if d.z_report.is_some() { "reported" } @else { "closed" } }
                        }
                    }
                    @if closed.is_empty() { li.muted { "No closed shifts yet." } }
                }
            }
        }
    };
    Ok((status, page("Drawer", "drawer", Some(who), &state.indicators(), body)).into_response())
}

async fn open_session(
    state: &UiState,
) -> Result<Result<(DrawerSessionId, Currency), String>, UiError> {
    let (open, store_currency) = state
        .with_store(|store| Ok((store.open_drawers()?.into_iter().next(), store.currency()?)))
        .await?;
    Ok(open
        .map(|(id, d)| (id, d.currency().unwrap_or(store_currency)))
        .ok_or_else(|| "No drawer is open: open a shift first.".to_owned()))
}

/// The drawer screen again: with `ok` when nothing was refused, else with the refusal and
/// what was typed (422).
async fn done(
    state: &UiState,
    who: &SignedIn,
    refusal: Option<String>,
    typed: &Typed,
    ok: &str,
) -> Result<Response, UiError> {
    match refusal {
        None => {
            let msg = Message::Info(ok.to_owned());
            render(state, who, Some(msg), &Typed::default(), StatusCode::OK).await
        }
        Some(e) => {
            render(state, who, Some(Message::Error(e)), typed, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
    }
}

/// Opening a shift.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    float: String,
}

/// `POST /drawer/open`.
pub(crate) async fn open(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<OpenForm>,
) -> Result<Response, UiError> {
    let refusal = open_shift(&state, &who, &form.float).await?;
    let typed = Typed { float: form.float, ..Typed::default() };
    done(&state, &who, refusal, &typed, "Drawer open.").await
}

/// Opens a drawer session with the float typed as `raw_float`: the refusal, if any (a
/// float that does not parse, or the domain's).
pub(crate) async fn open_shift(
    state: &UiState,
    who: &SignedIn,
    raw_float: &str,
) -> Result<Option<String>, UiError> {
    let currency = store_currency(state).await?;
    let float = match form::money(raw_float.trim(), currency, "Float") {
        Ok(float) => float,
        Err(e) => return Ok(Some(e)),
    };
    let session_id = state.with_store(|store| Ok(DrawerSessionId(store.new_id()))).await?;
    let command = Command::OpenDrawer { session_id, currency, float, staff: Some(who.staff_id) };
    Ok(run(state, vec![command], currency).await?.err())
}

/// A pay-in or pay-out.
#[derive(Debug, Deserialize)]
pub(crate) struct CashForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// `POST /drawer/cash`.
pub(crate) async fn move_cash(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<CashForm>,
) -> Result<Response, UiError> {
    let pay_in = form.kind.trim() != "out";
    let refusal = match open_session(&state).await? {
        Err(e) => Some(e),
        Ok((session_id, cur)) => {
            let parsed = form::money(form.amount.trim(), cur, "Amount")
                .and_then(|a| {
                    if a.as_minor() > 0 { Ok(a) } else { Err("Amount must be above 0".into()) }
                })
                .and_then(|a| Ok((a, form::text(form.reason.trim(), "Reason", 80)?)));
            match parsed {
                Err(e) => Some(e),
                Ok((amount, reason)) => {
                    let staff = Some(who.staff_id);
                    let command = if pay_in {
                        Command::PayIn { session_id, amount, reason, staff }
                    } else {
                        Command::PayOut { session_id, amount, reason, staff }
                    };
                    run(&state, vec![command], cur).await?.err()
                }
            }
        }
    };
    let ok = if pay_in { "Pay-in recorded." } else { "Pay-out recorded." };
    let typed = Typed {
        kind: form.kind,
        amount: form.amount,
        cash_reason: form.reason,
        ..Typed::default()
    };
    done(&state, &who, refusal, &typed, ok).await
}

/// An audited no-sale opening.
#[derive(Debug, Deserialize)]
pub(crate) struct NoSaleForm {
    #[serde(default)]
    reason: String,
}

/// `POST /drawer/no-sale`.
pub(crate) async fn no_sale(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<NoSaleForm>,
) -> Result<Response, UiError> {
    let refusal = match open_session(&state).await? {
        Err(e) => Some(e),
        Ok((session_id, cur)) => match form::text(form.reason.trim(), "Reason", 80) {
            Err(e) => Some(e),
            Ok(reason) => {
                let command = Command::NoSale { session_id, reason, staff: Some(who.staff_id) };
                run(&state, vec![command], cur).await?.err()
            }
        },
    };
    let typed = Typed { no_sale_reason: form.reason, ..Typed::default() };
    done(&state, &who, refusal, &typed, "No-sale recorded: drawer opened.").await
}

/// The blind count that closes the shift.
#[derive(Debug, Deserialize)]
pub(crate) struct CountForm {
    #[serde(default)]
    counted: String,
}

/// `POST /drawer/count`: counts, closes and reports the shift in one transaction.
pub(crate) async fn count(
    State(state): State<UiState>,
    who: Cashier,
    Form(form): Form<CountForm>,
) -> Result<Response, UiError> {
    let typed = Typed { counted: form.counted.clone(), ..Typed::default() };
    let (session_id, cur) = match open_session(&state).await? {
        Ok(open) => open,
        Err(e) => return done(&state, &who, Some(e), &typed, "").await,
    };
    let counted = match form::money(form.counted.trim(), cur, "Counted cash") {
        Ok(c) => c,
        Err(e) => return done(&state, &who, Some(e), &typed, "").await,
    };
    let staff = Some(who.staff_id);
    let refusal = state
        .with_store(move |store| {
            // The report as it will read once counted and closed: the sales figures from
            // the orders now, the count typed; the domain checks its drawer figures against
            // the session after the count and the close, in the same transaction.
            let Some(mut report) = store.z_report(session_id)? else {
                return Ok(Some("No drawer is open: open a shift first.".to_owned()));
            };
            report.counted_cash = Some(counted);
            report.over_short = Some(counted - report.expected_cash);
            let commands = [
                Command::CountDrawer { session_id, counted, staff },
                Command::CloseDrawer { session_id, staff },
                Command::IssueZReport { session_id, report, staff },
            ];
            match store.execute_all(&commands) {
                Ok(_) => Ok(None),
                Err(thorbis_agent::StoreError::Refused(e)) => {
                    Ok(Some(super::action::refusal_text(&e, cur)))
                }
                Err(other) => Err(other),
            }
        })
        .await?;
    if refusal.is_none() {
        state.notify();
    }
    let to = || format!("/drawer/report/{}", session_id.0);
    post_then_redirect(refusal, to, |e| done(&state, &who, Some(e), &typed, "")).await
}

/// A closed shift's Z report: expected, counted, over/short, and the printout's state.
/// `GET /drawer/report/{session}`: a closed shift's Z report.
pub(crate) async fn report(
    State(state): State<UiState>,
    who: Cashier,
    Path(session): Path<String>,
) -> Result<Response, UiError> {
    let session_id = DrawerSessionId(Uuid::try_parse(&session).map_err(|_| UiError::NotFound)?);
    let (session, printed) = state
        .with_store(move |store| {
            let session = store.drawer(session_id)?;
            let printed = store
                .original_print_job(&Document::ZReport { session_id })?
                .filter(|j| j.state != JobState::Discarded)
                .map(|j| format!("{:?}", j.state).to_lowercase());
            Ok((session, printed))
        })
        .await?;
    let session = session.filter(|s| s.closed.is_some()).ok_or(UiError::NotFound)?;
    let body = match session.z_report.as_ref().map(|z| &z.value.report) {
        None => html! {
            h1 { "Z report" }
            p.msg.err #msg { "This shift closed without a recorded Z report." }
        },
        Some(z) => html! {
            section.col.narrow {
                h1 { "Z report" }
                p.muted { "Shift " (short(session_id.0)) }
                (z_table(z))
                p { "Printout: " span #z-state { (printed.as_deref().unwrap_or("no printer")) } }
                a.btn.primary #drawer-link href="/drawer" { "Drawer" }
            }
        },
    };
    Ok(page("Z report", "drawer", Some(&who), &state.indicators(), body).into_response())
}

fn z_table(z: &ZReport) -> Markup {
    let m = |x: Money| x.format(z.currency);
    let over_short = z.over_short.map_or_else(
        || "—".to_owned(),
        |o| {
            let word = match o.as_minor().signum() {
                1 => "over",
                -1 => "short",
                _ => "even",
            };
            format!("{} {word}", m(o))
        },
    );
    let rows = html! {
        (figure("Orders", "z-orders", z.orders))
        (figure("Net sales", "z-net", m(z.net_sales)))
        (figure("Tax", "z-tax", m(z.tax)))
        @for (tender, t) in &z.tenders {
            (figure(format!("{tender} ({})", t.count), &format!("z-tender-{tender}"), m(t.amount)))
            @if t.refunds.as_minor() != 0 {
                (figure(format!("{tender} refunds"), &format!("z-refunds-{tender}"), m(-t.refunds)))
            }
        }
        (figure("Float", "z-float", m(z.float)))
        (figure("Pay-ins", "z-in", m(z.paid_in)))
        (figure("Pay-outs", "z-out", m(z.paid_out)))
        (figure("No-sales", "z-no-sales", z.no_sales))
        (figure("Expected cash", "z-expected", m(z.expected_cash)))
        (figure("Counted cash", "z-counted", z.counted_cash.map_or_else(|| "—".into(), m)))
        (figure("Over / short", "z-over-short", over_short))
    };
    figures("z", rows)
}
