//! Splitting, transferring and merging checks, each an inline panel in place of the menu.
//!
//! A split opens a new check at the same table and moves the chosen lines to it (all of
//! one seat, or the items ticked) in one batch, so a refusal (a check with payments
//! applied, nothing chosen) writes nothing at all, not even the new check. A transfer
//! moves the check to another table and/or server; a merge takes every line of another
//! open check into this one and finishes the other.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use thorbis_domain::Command;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{LineId, OrderId, StaffId};
use thorbis_domain::{Currency, Qty};
use uuid::Uuid;

use super::super::form::{self, Fields};
use super::super::html::{Message, esc};
use super::super::{UiError, UiState, may_use_pos};
use super::{
    CheckData, Op, Screen, currency_of, order_id, order_view, refuse, require_pos, run, table_of,
};
use crate::SignedIn;

/// The panel of a split, transfer or merge.
pub(super) fn panel(data: &CheckData, screen: &Screen, base: &str, op: Op) -> String {
    let body = match op {
        Op::Split => split_panel(data, base),
        Op::Transfer => transfer_panel(data, screen, base),
        Op::Merge | Op::Discount => merge_panel(data, base),
    };
    format!("{body}<a class=\"btn ghost wide\" href=\"{base}\">Back to the menu</a></section>")
}

fn split_panel(data: &CheckData, base: &str) -> String {
    let o = &data.order.order;
    let mut out = format!(
        "<section class=\"panel\" id=\"split-panel\"><h2>Split the check</h2>\
<form method=\"post\" action=\"{base}/split\" class=\"stack\" id=\"split-form\">\
<p class=\"muted\">Move one seat to a new check:</p><div class=\"row\">"
    );
    let seats: BTreeSet<u16> = o.live_lines().filter_map(|l| l.seat).collect();
    for s in &seats {
        let _ = write!(
            out,
            "<button class=\"chip\" type=\"submit\" name=\"seat\" value=\"{s}\" id=\"split-seat-{s}\">Seat {s}</button>"
        );
    }
    if seats.is_empty() {
        out.push_str("<span class=\"muted\">No line has a seat.</span>");
    }
    out.push_str("</div><p class=\"muted\">Or tick items to move to a new check:</p>");
    for line in o.live_lines() {
        let qty = if line.qty == Qty::ONE { String::new() } else { format!("{} × ", line.qty) };
        let seat = line.seat.map_or(String::new(), |s| format!(" · seat {s}"));
        let _ = write!(
            out,
            "<label class=\"choice\"><input type=\"checkbox\" name=\"line\" value=\"{}\" data-split-line=\"{name}\"> {}{name}<span class=\"muted\">{}</span></label>",
            line.line_id.0,
            esc(&qty),
            esc(&seat),
            name = esc(&line.name),
        );
    }
    out.push_str(
        "<button class=\"btn primary\" type=\"submit\" id=\"split-items\">Move ticked items to a new check</button></form>",
    );
    out
}

fn transfer_panel(data: &CheckData, screen: &Screen, base: &str) -> String {
    let o = &data.order.order;
    let table = if screen.form == "transfer" {
        screen.typed.get("table").to_owned()
    } else {
        o.table().unwrap_or_default().to_owned()
    };
    let chosen = if screen.form == "transfer" {
        Uuid::try_parse(screen.typed.get("server")).ok().map(StaffId)
    } else {
        o.server()
    };
    let mut out = format!(
        "<section class=\"panel\" id=\"transfer-panel\"><h2>Transfer the check</h2>\
<form method=\"post\" action=\"{base}/transfer\" class=\"stack\" id=\"transfer-form\">\
<label>Table <input name=\"table\" id=\"transfer-table\" value=\"{}\" autocomplete=\"off\"></label>\
<fieldset class=\"group\"><legend>Server</legend><div class=\"row\">",
        esc(&table)
    );
    for s in data.staff.iter().filter(|s| may_use_pos(s.role)) {
        let _ = write!(
            out,
            "<label class=\"choice\"><input type=\"radio\" name=\"server\" value=\"{}\"{} data-server=\"{name}\"> {name}</label>",
            s.id.0,
            if chosen == Some(s.id) { " checked" } else { "" },
            name = esc(&s.name),
        );
    }
    out.push_str(
        "</div></fieldset><button class=\"btn primary\" type=\"submit\" id=\"transfer-go\">Transfer</button></form>",
    );
    out
}

fn merge_panel(data: &CheckData, base: &str) -> String {
    let mut out = String::from(
        "<section class=\"panel\" id=\"merge-panel\"><h2>Merge another check into this one</h2><div class=\"grid checks\">",
    );
    for other in &data.others {
        let cur = currency_of(other);
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{base}/merge\" class=\"tile-form\"><input type=\"hidden\" name=\"from\" value=\"{}\">\
<button class=\"tile\" type=\"submit\" data-merge=\"{table}\"><span class=\"big\">Table {table}</span><span>{} items</span><span class=\"money\">{}</span></button></form>",
            other.id.0,
            other.order.live_lines().count(),
            esc(&other.totals.balance.format(cur)),
            table = esc(&table_of(other)),
        );
    }
    out.push_str("</div>");
    if data.others.is_empty() {
        out.push_str("<p class=\"muted\">No other open check.</p>");
    }
    out
}

fn refused(op: Op, form_id: &'static str, fields: Fields, e: String) -> Screen {
    Screen {
        op: Some(op),
        form: form_id,
        typed: fields,
        msg: Some(Message::Error(e)),
        ..Screen::default()
    }
}

/// Moves one seat, or the ticked lines, to a new check at the same table.
pub(crate) async fn split_check(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let from = order_id(&order)?;
    let fields = Fields(fields);
    let view = order_view(&state, from).await?;
    let cur = currency_of(&view);
    let chosen: Result<Vec<LineId>, String> = match fields.get("seat") {
        "" => fields
            .all("line")
            .into_iter()
            .map(|raw| Uuid::try_parse(raw).map(LineId).map_err(|_| "Unknown line.".to_owned()))
            .collect(),
        raw => form::count(raw, "Seat", 1, 99)
            .map(|seat| {
                view.order
                    .live_lines()
                    .filter(|l| l.seat == Some(seat))
                    .map(|l| l.line_id)
                    .collect()
            })
            .map_err(|e| format!("{e}.")),
    };
    let refusal = match chosen {
        Err(e) => e,
        Ok(lines) => {
            let to = state.with_store(|store| Ok(OrderId(store.new_id()))).await?;
            let staff = Some(who.staff_id);
            let opened = view.order.opened.as_ref().map(|o| &o.value);
            let commands = vec![
                Command::OpenOrder {
                    order_id: to,
                    currency: view.order.currency().unwrap_or(Currency::USD),
                    mode: opened.map_or(ServiceMode::DineIn, |o| o.mode),
                    table: view.order.table().map(str::to_owned),
                    guests: None,
                    staff,
                },
                Command::MoveLines { from, to, lines, staff },
            ];
            match run(&state, commands, cur).await? {
                Ok(()) => {
                    return Ok(
                        Redirect::to(&format!("/pos/checks/{}?msg=split", to.0)).into_response()
                    );
                }
                Err(e) => e,
            }
        }
    };
    let screen = refused(Op::Split, "split", fields, refusal);
    refuse(&state, &who, from, screen).await
}

/// Moves the check to another table and/or server.
pub(crate) async fn transfer(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let order_id = order_id(&order)?;
    let fields = Fields(fields);
    let server: Result<Option<StaffId>, String> = match fields.get("server") {
        "" => Ok(None),
        raw => {
            Uuid::try_parse(raw).map(|id| Some(StaffId(id))).map_err(|_| "Unknown server.".into())
        }
    };
    let parsed = form::text(fields.get("table"), "Table", 20)
        .map_err(|e| format!("{e}."))
        .and_then(|table| Ok((table, server?)));
    let refusal = match parsed {
        Err(e) => e,
        Ok((table, server)) => {
            let command = Command::TransferOrder {
                order_id,
                table: Some(table),
                server,
                staff: Some(who.staff_id),
            };
            match run(&state, vec![command], Currency::USD).await? {
                Ok(()) => {
                    let to = format!("/pos/checks/{}?msg=transfer", order_id.0);
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(e) => e,
            }
        }
    };
    let screen = refused(Op::Transfer, "transfer", fields, refusal);
    refuse(&state, &who, order_id, screen).await
}

/// Merges another open check into this one.
pub(crate) async fn merge(
    State(state): State<UiState>,
    who: SignedIn,
    Path(order): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require_pos(&who)?;
    let into = order_id(&order)?;
    let fields = Fields(fields);
    let refusal = match Uuid::try_parse(fields.get("from")) {
        Err(_) => "Choose the check to merge.".to_owned(),
        Ok(from) => {
            let command =
                Command::MergeOrders { into, from: OrderId(from), staff: Some(who.staff_id) };
            match run(&state, vec![command], Currency::USD).await? {
                Ok(()) => {
                    let to = format!("/pos/checks/{}?msg=merge", into.0);
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(e) => e,
            }
        }
    };
    let screen = refused(Op::Merge, "merge", fields, refusal);
    refuse(&state, &who, into, screen).await
}
