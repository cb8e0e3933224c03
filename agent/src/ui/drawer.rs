//! The cash drawer: open a shift with its float, pay-ins and pay-outs with a reason, no-sale
//! openings (audited: the reason and who opened it are recorded, and the slip that prints
//! kicks the drawer open), and the blind close.
//!
//! **Blind**: while the session is open the screen never shows what the drawer should
//! hold; the cashier counts and types the count, and only then sees expected, counted and
//! over/short. The count, the close and the Z report (`drawer.z_reported`, the figures as
//! printed, for the console) are one transaction, and the report prints on the receipt
//! printer.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use thorbis_domain::drawer::{DrawerSession, ZReport};
use thorbis_domain::ids::DrawerSessionId;
use thorbis_domain::{Command, Currency};
use uuid::Uuid;

use super::action::run;
use super::form::{self, Fields};
use super::html::{Message, esc, message, page};
use super::register::require_register;
use super::{UiError, UiState};
use crate::SignedIn;
use crate::print::{Document, JobState, short};
use crate::projection::list;

/// The drawer screen.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: SignedIn,
) -> Result<Response, UiError> {
    require_register(&who)?;
    render(&state, &who, None, &Fields::default(), StatusCode::OK).await
}

async fn render(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    typed: &Fields,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (open, closed) = state
        .with_store(|store| {
            let open = store.open_drawers()?.into_iter().next();
            let mut closed: Vec<(DrawerSessionId, DrawerSession)> =
                list::<DrawerSession>(&store.conn, false)?
                    .into_iter()
                    .filter(|(_, d)| d.closed.is_some())
                    .map(|(id, d)| (DrawerSessionId(id), d))
                    .collect();
            closed.sort_by_key(|(_, d)| std::cmp::Reverse(d.closed.as_ref().map(|c| c.meta)));
            closed.truncate(5);
            Ok((open, closed))
        })
        .await?;
    let mut body = String::from("<div class=\"cols\"><section class=\"col\"><h1>Cash drawer</h1>");
    body.push_str(&message(msg.as_ref()));
    match &open {
        None => {
            let _ = write!(
                body,
                "<section class=\"panel\" id=\"open-panel\"><h2>Open a shift</h2><p class=\"muted\">Count the float into the drawer.</p>\
<form method=\"post\" action=\"/drawer/open\" class=\"stack\">\
<label>Float <input name=\"float\" id=\"float\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{}\"></label>\
<button class=\"btn primary\" type=\"submit\" id=\"open-drawer\">Open drawer</button></form></section>",
                esc(typed.get("float"))
            );
        }
        Some((id, session)) => {
            let cur = session.currency().unwrap_or(Currency::USD);
            let float =
                session.opened.as_ref().map_or(thorbis_domain::Money::ZERO, |o| o.value.float);
            let kind = typed.get("kind");
            let _ = write!(
                body,
                "<p id=\"session\" data-session=\"{sid}\">Shift {short} · float <span class=\"money\">{float}</span> · \
<span id=\"moves\">{ins} in · {outs} out · {no_sales} no-sale</span></p>\
<section class=\"panel\" id=\"cash-panel\"><h2>Pay in / pay out</h2>\
<form method=\"post\" action=\"/drawer/cash\" class=\"stack\"><div class=\"row\">\
<label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"in\" id=\"kind-in\"{in_on}>Pay in</label>\
<label class=\"choice\"><input type=\"radio\" name=\"kind\" value=\"out\" id=\"kind-out\"{out_on}>Pay out</label></div>\
<label>Amount <input name=\"amount\" id=\"amount\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{amount}\"></label>\
<label>Reason <input name=\"reason\" id=\"cash-reason\" autocomplete=\"off\" value=\"{reason}\"></label>\
<button class=\"btn primary\" type=\"submit\" id=\"move-cash\">Record</button></form></section>\
<section class=\"panel\" id=\"no-sale-panel\"><h2>No sale</h2>\
<form method=\"post\" action=\"/drawer/no-sale\" class=\"stack\">\
<label>Reason <input name=\"reason\" id=\"no-sale-reason\" autocomplete=\"off\" value=\"{ns_reason}\"></label>\
<button class=\"btn\" type=\"submit\" id=\"no-sale\">Open drawer, no sale</button></form></section>\
<section class=\"panel\" id=\"close-panel\"><h2>Close the shift</h2><p class=\"muted\">Count the cash in the drawer and type the total. The expected amount is shown after.</p>\
<form method=\"post\" action=\"/drawer/count\" class=\"stack\">\
<label>Counted cash <input name=\"counted\" id=\"counted\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{counted}\"></label>\
<button class=\"btn primary\" type=\"submit\" id=\"close-drawer\">Close and print Z report</button></form></section>",
                sid = id.0,
                short = esc(&short(id.0)),
                float = esc(&float.format(cur)),
                ins = esc(&session.paid_in.format(cur)),
                outs = esc(&session.paid_out.format(cur)),
                no_sales = session.no_sales,
                in_on = if kind == "out" { "" } else { " checked" },
                out_on = if kind == "out" { " checked" } else { "" },
                amount = esc(typed.get("amount")),
                reason = esc(if typed.get("form") == "cash" { typed.get("reason") } else { "" }),
                ns_reason =
                    esc(if typed.get("form") == "no-sale" { typed.get("reason") } else { "" }),
                counted = esc(typed.get("counted")),
            );
        }
    }
    body.push_str("</section><section class=\"col narrow\"><h2>Z reports</h2><ul class=\"lines\" id=\"reports\">");
    for (id, d) in &closed {
        let _ = write!(
            body,
            "<li class=\"line\"><a href=\"/drawer/report/{}\">Shift {}</a><span>{}</span></li>",
            id.0,
            esc(&short(id.0)),
            if d.z_report.is_some() { "reported" } else { "closed" }
        );
    }
    if closed.is_empty() {
        body.push_str("<li class=\"muted\">No closed shifts yet.</li>");
    }
    body.push_str("</ul></section></div>");
    Ok((status, page("Drawer", "drawer", Some(who), &state.indicators(), &body)).into_response())
}

/// The open session, or a message saying there is none.
async fn open_session(
    state: &UiState,
) -> Result<Result<(DrawerSessionId, Currency), String>, UiError> {
    let open = state.with_store(|store| Ok(store.open_drawers()?.into_iter().next())).await?;
    Ok(open
        .map(|(id, d)| (id, d.currency().unwrap_or(Currency::USD)))
        .ok_or_else(|| "No drawer is open: open a shift first.".to_owned()))
}

async fn done(
    state: &UiState,
    who: &SignedIn,
    refusal: Option<String>,
    fields: &Fields,
    ok: &str,
) -> Result<Response, UiError> {
    match refusal {
        None => {
            render(
                state,
                who,
                Some(Message::Info(ok.to_owned())),
                &Fields::default(),
                StatusCode::OK,
            )
            .await
        }
        Some(e) => {
            render(state, who, Some(Message::Error(e)), fields, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
    }
}

/// Opens a shift with its float.
pub(crate) async fn open(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let fields = Fields(fields);
    let refusal = match form::money(fields.get("float"), Currency::USD, "Float") {
        Err(e) => Some(e),
        Ok(float) => {
            let session_id = state.with_store(|store| Ok(DrawerSessionId(store.new_id()))).await?;
            let command = Command::OpenDrawer {
                session_id,
                currency: Currency::USD,
                float,
                staff: Some(who.staff_id),
            };
            run(&state, vec![command], Currency::USD).await?.err()
        }
    };
    done(&state, &who, refusal, &fields, "Drawer open.").await
}

/// A pay-in or pay-out with its reason.
pub(crate) async fn move_cash(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let mut fields = Fields(fields);
    fields.0.push(("form".into(), "cash".into()));
    let pay_in = fields.get("kind") != "out";
    let refusal = match open_session(&state).await? {
        Err(e) => Some(e),
        Ok((session_id, cur)) => {
            let parsed = form::money(fields.get("amount"), cur, "Amount")
                .and_then(|a| {
                    if a.as_minor() > 0 { Ok(a) } else { Err("Amount must be above 0".into()) }
                })
                .and_then(|a| Ok((a, form::text(fields.get("reason"), "Reason", 80)?)));
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
    done(&state, &who, refusal, &fields, ok).await
}

/// Opens the drawer without a sale, recording why and who.
pub(crate) async fn no_sale(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let mut fields = Fields(fields);
    fields.0.push(("form".into(), "no-sale".into()));
    let refusal = match open_session(&state).await? {
        Err(e) => Some(e),
        Ok((session_id, cur)) => match form::text(fields.get("reason"), "Reason", 80) {
            Err(e) => Some(e),
            Ok(reason) => {
                let command = Command::NoSale { session_id, reason, staff: Some(who.staff_id) };
                run(&state, vec![command], cur).await?.err()
            }
        },
    };
    done(&state, &who, refusal, &fields, "No-sale recorded: drawer opened.").await
}

/// The blind count: count, close and record the Z report in one transaction, then show it.
pub(crate) async fn count(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let fields = Fields(fields);
    let (session_id, cur) = match open_session(&state).await? {
        Ok(open) => open,
        Err(e) => return done(&state, &who, Some(e), &fields, "").await,
    };
    let counted = match form::money(fields.get("counted"), cur, "Counted cash") {
        Ok(c) => c,
        Err(e) => return done(&state, &who, Some(e), &fields, "").await,
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
                Err(crate::StoreError::Refused(e)) => {
                    Ok(Some(super::action::refusal_text(&e, cur)))
                }
                Err(other) => Err(other),
            }
        })
        .await?;
    match refusal {
        None => {
            state.notify();
            Ok(Redirect::to(&format!("/drawer/report/{}", session_id.0)).into_response())
        }
        Some(e) => done(&state, &who, Some(e), &fields, "").await,
    }
}

/// A closed shift's Z report: expected, counted, over/short, and the printout's state.
pub(crate) async fn report(
    State(state): State<UiState>,
    who: SignedIn,
    Path(session): Path<String>,
) -> Result<Response, UiError> {
    require_register(&who)?;
    let session_id = DrawerSessionId(Uuid::try_parse(&session).map_err(|_| UiError::NotFound)?);
    let (session, printed) = state
        .with_store(move |store| {
            let session = store.drawer(session_id)?;
            let printed = store
                .print_jobs(&[
                    JobState::Queued,
                    JobState::Sending,
                    JobState::Sent,
                    JobState::Printed,
                    JobState::Uncertain,
                    JobState::Held,
                ])?
                .into_iter()
                .find(|j| j.document == Document::ZReport { session_id } && j.copy_of.is_none())
                .map(|j| format!("{:?}", j.state).to_lowercase());
            Ok((session, printed))
        })
        .await?;
    let session = session.filter(|s| s.closed.is_some()).ok_or(UiError::NotFound)?;
    let Some(z) = session.z_report.as_ref().map(|z| &z.value.report) else {
        let body = "<h1>Z report</h1><p class=\"msg err\" id=\"msg\">This shift closed without a recorded Z report.</p>";
        return Ok(
            page("Z report", "drawer", Some(&who), &state.indicators(), body).into_response()
        );
    };
    let body = format!(
        "<section class=\"col narrow\"><h1>Z report</h1><p class=\"muted\">Shift {}</p>{}<p>Printout: <span id=\"z-state\">{}</span></p>\
<a class=\"btn primary\" href=\"/drawer\" id=\"drawer-link\">Drawer</a></section>",
        esc(&short(session_id.0)),
        z_table(z),
        esc(printed.as_deref().unwrap_or("no printer")),
    );
    Ok(page("Z report", "drawer", Some(&who), &state.indicators(), &body).into_response())
}

fn z_table(z: &ZReport) -> String {
    let m = |x: thorbis_domain::Money| esc(&x.format(z.currency));
    let mut out = String::from("<dl class=\"totals\" id=\"z\">");
    let mut row = |label: &str, id: &str, value: String| {
        let _ = write!(out, "<dt>{}</dt><dd id=\"{id}\" class=\"money\">{value}</dd>", esc(label));
    };
    row("Orders", "z-orders", z.orders.to_string());
    row("Net sales", "z-net", m(z.net_sales));
    row("Tax", "z-tax", m(z.tax));
    for (tender, t) in &z.tenders {
        row(&format!("{tender} ({})", t.count), &format!("z-tender-{}", esc(tender)), m(t.amount));
        if t.refunds.as_minor() != 0 {
            row(&format!("{tender} refunds"), &format!("z-refunds-{}", esc(tender)), m(-t.refunds));
        }
    }
    row("Float", "z-float", m(z.float));
    row("Pay-ins", "z-in", m(z.paid_in));
    row("Pay-outs", "z-out", m(z.paid_out));
    row("No-sales", "z-no-sales", z.no_sales.to_string());
    row("Expected cash", "z-expected", m(z.expected_cash));
    row("Counted cash", "z-counted", z.counted_cash.map_or_else(|| "—".into(), m));
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
    row("Over / short", "z-over-short", over_short);
    out.push_str("</dl>");
    out
}
