//! Splitting, transferring and merging checks, each an inline panel in place of the menu.
//!
//! A split opens a new check at the same table and moves the chosen lines to it (all of
//! one seat, or the items ticked) in one batch, so a refusal (a check with payments
//! applied, nothing chosen) writes nothing at all, not even the new check. The items
//! ticked can also go to another open check instead. A transfer
//! moves the check to another table and/or server; a merge takes every line of another
//! open check into this one and finishes the other.

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::Command;
use thorbis_domain::Qty;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{LineId, OrderId, StaffId};
use thorbis_web::components::{Input, hidden, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::see_other;
use uuid::Uuid;

use super::super::access::{Access, Pos, PosStaff};
use super::super::html::Message;
use super::super::{UiError, UiState};
use super::{CheckData, Op, Screen, order_currency, order_id, order_view, refuse, run, table_of};
use crate::guard::csrf_field;

/// The panel of a split, transfer or merge.
pub(super) fn panel(data: &CheckData, screen: &Screen, base: &str, op: Op) -> Markup {
    let body = match op {
        Op::Split => split_panel(data, base),
        Op::Transfer => transfer_panel(data, screen, base),
        Op::Merge | Op::Discount => merge_panel(data, base),
    };
    html! {
        (body)
        a.btn.ghost.wide href=(base) { "Back to the menu" }
    }
}

fn split_panel(data: &CheckData, base: &str) -> Markup {
    let o = &data.order.order;
    let seats: BTreeSet<u16> = o.live_lines().filter_map(|l| l.seat).collect();
    html! {
        section.panel #split-panel {
            h2 { "Split the check" }
            form.stack #split-form method="post" action={ (base) "/split" } {
                (csrf_field())
                p.muted { "Move one seat to a new check:" }
                div.row {
                    @for s in &seats {
                        button.chip type="submit" name="seat" value=(s) id={ "split-seat-" (s) } {
                            "Seat " (s)
                        }
                    }
                    @if seats.is_empty() { span.muted { "No line has a seat." } }
                }
                p.muted { "Or tick items to move to a new check:" }
                @for line in o.live_lines() {
                    label.choice {
                        input type="checkbox" name="line" value=(line.line_id.0) data-split-line=(line.name);
                        " " @if line.qty != Qty::ONE { (line.qty) " × " } (line.name)
                        span.muted { @if let Some(s) = line.seat { " · seat " (s) } }
                    }
                }
                button.btn.primary #split-items type="submit" { "Move ticked items to a new check" }
                @if !data.others.is_empty() {
                    p.muted { "Or move the ticked items to an open check:" }
                    div.row {
                        @for other in &data.others {
                            button.chip type="submit" name="into" value=(other.id.0)
                                data-into=(table_of(other)) {
                                "Table " (table_of(other))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn transfer_panel(data: &CheckData, screen: &Screen, base: &str) -> Markup {
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
    html! {
        section.panel #transfer-panel {
            h2 { "Transfer the check" }
            form.stack #transfer-form method="post" action={ (base) "/transfer" } {
                (csrf_field())
                (labelled("Table", Input::new("table").id("transfer-table").value(&table)))
                fieldset.group {
                    legend { "Server" }
                    div.row {
                        @for s in data.staff.iter().filter(|s| Pos::allows(s.role)) {
                            label.choice {
                                input type="radio" name="server" value=(s.id.0)
                                    checked[chosen == Some(s.id)] data-server=(s.name);
                                " " (s.name)
                            }
                        }
                    }
                }
                button.btn.primary #transfer-go type="submit" { "Transfer" }
            }
        }
    }
}

fn merge_panel(data: &CheckData, base: &str) -> Markup {
    html! {
        section.panel #merge-panel {
            h2 { "Merge another check into this one" }
            div.grid.checks {
                @for other in &data.others {
                    form.tile-form method="post" action={ (base) "/merge" } {
                        (csrf_field())
                        (hidden("from", other.id.0))
                        button.tile type="submit" data-merge=(table_of(other)) {
                            span.big { "Table " (table_of(other)) }
                            span { (other.order.live_lines().count()) " items" }
                            span.money { (other.totals.balance.format(other.currency)) }
                        }
                    }
                }
            }
            @if data.others.is_empty() { p.muted { "No other open check." } }
        }
    }
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
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let from = order_id(&order)?;
    let view = order_view(&state, from).await?;
    let cur = view.currency;
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
    let into = match fields.get("into") {
        "" => None,
        raw => Some(Uuid::try_parse(raw).map(OrderId).map_err(|_| UiError::NotFound)?),
    };
    let refusal = match (chosen, into) {
        (Err(e), _) => e,
        (Ok(lines), Some(to)) => {
            let commands = vec![Command::MoveLines { from, to, lines, staff: Some(who.staff_id) }];
            match run(&state, commands, cur).await? {
                Ok(()) => return Ok(see_other(&format!("/pos/checks/{}?msg=moved", to.0))),
                Err(e) => e,
            }
        }
        (Ok(lines), None) => {
            let to = state.with_store(|store| Ok(OrderId(store.new_id()))).await?;
            let staff = Some(who.staff_id);
            let opened = view.order.opened.as_ref().map(|o| &o.value);
            let commands = vec![
                Command::OpenOrder {
                    order_id: to,
                    currency: view.currency,
                    mode: opened.map_or(ServiceMode::DineIn, |o| o.mode),
                    table: view.order.table().map(str::to_owned),
                    guests: None,
                    staff,
                },
                Command::MoveLines { from, to, lines, staff },
            ];
            match run(&state, commands, cur).await? {
                Ok(()) => {
                    return Ok(see_other(&format!("/pos/checks/{}?msg=split", to.0)));
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
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
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
            let currency = order_currency(&state, order_id).await?;
            match run(&state, vec![command], currency).await? {
                Ok(()) => {
                    let to = format!("/pos/checks/{}?msg=transfer", order_id.0);
                    return Ok(see_other(&to));
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
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let into = order_id(&order)?;
    let refusal = match Uuid::try_parse(fields.get("from")) {
        Err(_) => "Choose the check to merge.".to_owned(),
        Ok(from) => {
            let command =
                Command::MergeOrders { into, from: OrderId(from), staff: Some(who.staff_id) };
            let currency = order_currency(&state, into).await?;
            match run(&state, vec![command], currency).await? {
                Ok(()) => {
                    let to = format!("/pos/checks/{}?msg=merge", into.0);
                    return Ok(see_other(&to));
                }
                Err(e) => e,
            }
        }
    };
    let screen = refused(Op::Merge, "merge", fields, refusal);
    refuse(&state, &who, into, screen).await
}
