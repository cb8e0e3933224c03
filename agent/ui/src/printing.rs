//! The printing screen, for managers: each printer's state with what to do about a
//! problem, the jobs waiting for a person (kitchen tickets held because they went stale
//! while a printer was down, jobs cut off part way) with print or discard, and who decided
//! what lately. A decision and its record are one write ([`Store::decide_print_job`]).
//!
//! [`Store::decide_print_job`]: thorbis_agent::Store::decide_print_job

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_agent::print::{Decision, Document, JobState, PrintJob, short};
use thorbis_web::components::{Message, message, plural};
use thorbis_web::respond::{Href, see_other};
use uuid::Uuid;

use super::access::Manager;
use super::html::{ago, page};
use super::{UiError, UiState};
use crate::guard::csrf_field;

/// The screen's address.
const PATH: &str = "/printing";

/// Decisions shown.
const RECENT: u32 = 10;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ScreenQuery {
    done: Option<String>,
}

/// `GET /printing`.
pub(crate) async fn screen(
    State(state): State<UiState>,
    who: Manager,
    Query(q): Query<ScreenQuery>,
) -> Result<Response, UiError> {
    let now = state.now_ms();
    let (waiting, recent, staff) = state
        .with_store(|store| {
            Ok((store.print_jobs_waiting()?, store.print_decisions(RECENT)?, store.active_staff()?))
        })
        .await?;
    let name_of = |id| staff.iter().find(|s| s.id == id).map_or("someone", |s| s.name.as_str());
    let printers = state.print.as_ref().map(|p| p.status()).unwrap_or_default();
    // Fixed confirmations, never text echoed from the address.
    let msg = match q.done.as_deref() {
        Some("printed") => Some(Message::Info("Sent to the printer.".into())),
        Some("discarded") => Some(Message::Info("Discarded: it will not print.".into())),
        _ => None,
    };
    let body = html! {
        h1 { "Printing" }
        (message(msg.as_ref()))
        h2 { "Printers" }
        @if printers.is_empty() {
            p.muted { "No printer is set up on this terminal." }
        }
        ul.printers #printers {
            @for p in &printers {
                li data-printer=(p.name) {
                    b { (p.name) } ": "
                    @match (&p.problem, p.remedy) {
                        (Some(problem), Some(remedy)) => {
                            span.problem { (problem) } " — " (remedy)
                        }
                        (Some(problem), None) => span.problem { (problem) },
                        (None, _) => "ready",
                    }
                    @if p.queue_depth > 0 {
                        "; " (plural(p.queue_depth, "job")) " waiting"
                    }
                }
            }
        }
        h2 { "Waiting for a decision" }
        @if waiting.is_empty() {
            p.muted #no-waiting { "Nothing is waiting: every job printed or is on its way." }
        } @else {
            table.list #waiting {
                thead { tr { th { "Job" } th { "Printer" } th { "Why" } th { "Since" } th {} } }
                tbody {
                    @for job in &waiting { (waiting_row(job, now)) }
                }
            }
        }
        @if !recent.is_empty() {
            h2 { "Decided lately" }
            table.list #decisions {
                tbody {
                    @for d in &recent {
                        tr {
                            td { (name_of(d.by)) }
                            td {
                                @match (d.decision, d.was_uncertain) {
                                    (Decision::Print, true) => "reprinted as a copy",
                                    (Decision::Print, false) => "printed",
                                    (Decision::Discard, _) => "discarded",
                                }
                                " job " (short(d.job_id))
                            }
                            td { (ago(now, d.decided_ms)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Printing", "printing", Some(&who), &state.indicators(), body).into_response())
}

fn waiting_row(job: &PrintJob, now: u64) -> Markup {
    let (why, print_label) = match job.state {
        JobState::Uncertain => {
            ("Cut off part way: some of it may have printed.", "Reprint as COPY")
        }
        _ => ("Held: it went stale while the printer could not print.", "Print now"),
    };
    let action = |what: &str| format!("{PATH}/{}/{what}", job.id);
    html! {
        tr data-job=(job.id) {
            td { (describe(job)) }
            td { (job.printer) }
            td {
                (why)
                @if let Some(error) = &job.last_error { br; span.muted { (error) } }
            }
            td { (ago(now, job.created_ms)) }
            td {
                form.inline method="post" action=(action("print")) {
                    (csrf_field())
                    button.btn.primary type="submit" { (print_label) }
                }
                form.inline method="post" action=(action("discard")) {
                    (csrf_field())
                    button.btn.ghost type="submit" { "Discard" }
                }
            }
        }
    }
}

/// What a job prints, for people.
fn describe(job: &PrintJob) -> String {
    let what = match &job.document {
        Document::Kitchen { ticket_id } => {
            let station = job.station.as_deref().unwrap_or("kitchen");
            format!("Kitchen ticket {} ({station})", short(ticket_id.0))
        }
        Document::Receipt { order_id } => format!("Receipt, order {}", short(order_id.0)),
        Document::Refund { refund_id, .. } => format!("Refund receipt {}", short(refund_id.0)),
        Document::NoSale { .. } => "No-sale slip".to_owned(),
        Document::ZReport { session_id } => format!("Z report, drawer {}", short(session_id.0)),
    };
    if job.copy_of.is_some() { format!("{what}, copy") } else { what }
}

/// `POST /printing/{job}/{print|discard}`.
pub(crate) async fn decide(
    State(state): State<UiState>,
    who: Manager,
    Path((job, what)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let job = Uuid::try_parse(&job).map_err(|_| UiError::NotFound)?;
    let (decision, done) = match what.as_str() {
        "print" => (Decision::Print, "printed"),
        "discard" => (Decision::Discard, "discarded"),
        _ => return Err(UiError::NotFound),
    };
    let by = who.staff_id;
    // Deciding twice (two managers, a double tap) is refused by the store and changes
    // nothing: the screen shows what stands now.
    let decided =
        state.with_store(move |store| Ok(store.decide_print_job(job, decision, by))).await?;
    match decided {
        Ok(()) => {
            state.notify();
            Ok(see_other(&Href::new(PATH).param("done", done).into_string()))
        }
        Err(thorbis_agent::StoreError::Conflict(_) | thorbis_agent::StoreError::NotFound(_)) => {
            Ok(see_other(PATH))
        }
        Err(e) => Err(e.into()),
    }
}
