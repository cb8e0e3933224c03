//! Technician mode: the screens of a technician's laptop, which serves nothing else.
//!
//! **My day** (`/field`) lists the jobs dispatched to this laptop in the order of their
//! time windows, with customer, address, status and whether the job is ready to work
//! offline (its document and every photo and file it names are on the laptop). The **job page** (`/field/jobs/{id}`) shows the job's merged document and edits
//! it: status steps, notes, checklist ticks, parts from the catalog (taken from this
//! laptop's stock), labour by duration or by a timer, photos and files, and the customer's
//! signature, drawn on the screen (`files.rs`). Each
//! edit is one `domain` command (`EditWorkOrder`, `UseWorkOrderPart`) run on the laptop's
//! own store, so it works with the hub unreachable and leaves as an event at the next
//! contact; what the dispatcher changed meanwhile merges in without overwriting it.
//!
//! A job the hub moved to another technician stays readable but takes no edits (the
//! domain refuses them: the job is no longer this device's).

mod files;

pub(crate) use files::{serve as file, upload};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use thorbis_domain::Currency;
use thorbis_domain::command::Command;
use thorbis_domain::ids::{ChecklistItemId, ItemId, PartLineId, WorkOrderId};
use thorbis_domain::money::Qty;
use thorbis_domain::scan::Day;
use thorbis_domain::work_order::{
    MAX_TEXT, MileageAt, PaymentMethod, WorkOrderEdit, WorkOrderStatus, WorkOrderView,
};
use thorbis_sync_protocol::DeviceId;
use thorbis_web::components::{Input, figure, figures, hidden, labelled};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, post_then_redirect};
use thorbis_web::when::{clock, when};
use uuid::Uuid;

use super::access::FieldTech;
use super::action::run;
use super::html::{Message, message, page};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;

/// The name heading an invoice (the receipts' too, until a location names its business).
const BUSINESS: &str = "Thorbis Edge";

/// The most units of one part a form takes (the domain's own limit).
const MAX_PART_UNITS: usize = 4;

/// A job's window: `2026-12-07 14:00–16:00 UTC`, the end's day named only if it differs.
fn window(view: &WorkOrderView) -> String {
    let (start, end) = (view.window.start_ms, view.window.end_ms);
    let day = |ms: i64| Day::of_unix_ms(u64::try_from(ms).unwrap_or(0));
    if day(start) == day(end) {
        format!("{}–{} UTC", when(start), clock(end))
    } else {
        format!("{} – {} UTC", when(start), when(end))
    }
}

/// Who wrote something on the job, as the technician reads it.
fn author(by: Option<DeviceId>, me: DeviceId) -> &'static str {
    if by == Some(me) { "You" } else { "Office" }
}

/// The CSS class of a status badge.
fn status_class(status: WorkOrderStatus) -> &'static str {
    match status {
        WorkOrderStatus::OnHold | WorkOrderStatus::Cancelled => "state out",
        WorkOrderStatus::Done | WorkOrderStatus::Invoiced => "state done",
        _ => "state",
    }
}

fn job_id(raw: &str) -> Result<WorkOrderId, UiError> {
    Uuid::try_parse(raw).map(WorkOrderId).map_err(|_| UiError::NotFound)
}

/// `GET /field`: the jobs dispatched to this laptop, in the order of their windows.
pub(crate) async fn my_day(
    State(state): State<UiState>,
    who: FieldTech,
) -> Result<Response, UiError> {
    let (me, mut jobs) = state
        .with_store(|store| {
            let me = store.device_id();
            let blobs = store.blobs();
            let jobs: Vec<_> = store
                .work_orders()?
                .into_iter()
                .filter(|(_, view)| view.technician == Some(me))
                .map(|(id, view)| {
                    let ready = view.attachments.iter().all(|a| blobs.has(a.blob.id));
                    (id, view, ready)
                })
                .collect();
            Ok((me, jobs))
        })
        .await?;
    jobs.sort_by(|(a_id, a, _), (b_id, b, _)| {
        (a.window.start_ms, a.window.end_ms, a_id).cmp(&(b.window.start_ms, b.window.end_ms, b_id))
    });
    let open = jobs.iter().filter(|(_, v, _)| v.status.is_open()).count();
    let body = html! {
        h1 { "My day" }
        p.muted #jobs-count { (thorbis_web::components::plural(open, "open job")) " on this laptop." }
        @if jobs.is_empty() {
            p.msg #no-jobs { "No jobs are dispatched to this laptop yet. They arrive at the next contact with the office." }
        }
        ol.jobs #jobs {
            @for (id, view, ready) in &jobs {
                li.job data-job=(id) data-status=(view.status.as_str()) {
                    a.tile href={ "/field/jobs/" (id) } {
                        span.when { (window(view)) }
                        b { (view.title) }
                        span { (view.customer) " · " (view.site_address) }
                        span class=(status_class(view.status)) { (view.status.label()) }
                        // The document (every change the laptop holds) is in the store, so
                        // the job opens and takes edits with no network; it is ready once
                        // every photo and file it names is on the laptop too.
                        @if *ready {
                            span.ready data-ready="true" { "✓ ready offline" }
                        } @else {
                            span.ready.out data-ready="false" { "files still arriving" }
                        }
                        @if view.timers.contains_key(&me) { span.state { "⏱ timer running" } }
                    }
                }
            }
        }
    };
    Ok(page("My day", "field", Some(&who), &state.indicators(), body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct JobQuery {
    msg: Option<String>,
}

/// What was typed into a refused form, shown again there.
#[derive(Debug, Default)]
struct Typed {
    note: String,
    qty: String,
    minutes: String,
    rate: String,
    signer: String,
    miles: String,
}

impl Typed {
    fn from(fields: &Fields) -> Self {
        Typed {
            note: fields.get("text").to_owned(),
            qty: fields.get("qty").to_owned(),
            minutes: fields.get("minutes").to_owned(),
            rate: fields.get("rate").to_owned(),
            signer: fields.get("signer").to_owned(),
            miles: fields.get("miles").to_owned(),
        }
    }
}

/// `GET /field/jobs/{id}`.
pub(crate) async fn job(
    State(state): State<UiState>,
    who: FieldTech,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    // Confirmations come from a fixed list, never echoed from the address.
    let msg = match q.msg.as_deref() {
        Some("status") => Some("Status updated."),
        Some("note") => Some("Note added."),
        Some("ticked") => Some("Checklist updated."),
        Some("part") => Some("Part recorded and taken from your stock."),
        Some("labour") => Some("Labour recorded."),
        Some("timer") => Some("Timer started."),
        Some("stopped") => Some("Timer stopped: labour recorded."),
        Some("discarded") => Some("Timer discarded."),
        Some("signed") => Some("Signature recorded."),
        Some("mileage") => Some("Mileage recorded."),
        Some("estimate") => Some("Estimate approved."),
        Some("invoiced") => Some("Invoice issued."),
        Some("paid") => Some("Payment recorded."),
        Some("file") => Some("Attached."),
        _ => None,
    }
    .map(|t| Message::Info(t.to_owned()));
    render(&state, &who, id, msg, Typed::default(), StatusCode::OK).await
}

async fn render(
    state: &UiState,
    who: &SignedIn,
    id: WorkOrderId,
    msg: Option<Message>,
    typed: Typed,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (me, view, mut items, held) = state
        .with_store(move |store| {
            let items: Vec<_> = store.items()?.into_iter().filter(|i| i.active).collect();
            let view = store.work_order(id)?;
            let blobs = store.blobs();
            let held: Vec<_> = view
                .iter()
                .flat_map(|v| &v.attachments)
                .map(|a| a.blob.id)
                .filter(|b| blobs.has(*b))
                .collect();
            Ok((store.device_id(), view, items, held))
        })
        .await?;
    let view = view.ok_or(UiError::NotFound)?;
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
    let cur = view.currency;
    let mine = view.technician == Some(me);
    let editable = mine && view.status.is_open();
    let figures_final = mine && view.status.is_open();
    let base = format!("/field/jobs/{}", id.0);
    // Invoicing is the invoice's own form.
    let next: Vec<WorkOrderStatus> = WorkOrderStatus::ALL
        .into_iter()
        .filter(|s| *s != WorkOrderStatus::Invoiced && view.status.may_become(*s))
        .collect();
    let last_rate = view.labour.last().map(|l| l.rate_per_hour);
    let rate_text = if typed.rate.is_empty() {
        last_rate.map(|r| r.format(cur)).unwrap_or_default()
    } else {
        typed.rate.clone()
    };
    let timer = view.timers.get(&me).copied();
    let job = Job {
        view,
        cur,
        mine,
        figures_final,
        editable,
        base,
        next,
        rate_text,
        timer,
        me,
        typed,
        items,
        held,
    };
    let body = html! {
        p { a.btn.ghost href="/field" { "← My day" } }
        h1 #job-title { (job.view.title) }
        (message(msg.as_ref()))
        @if !job.mine {
            p.msg.err #reassigned { "This job was moved to another technician: it is shown as it was, and takes no more edits here." }
        }
        section.panel #job-site {
            p { b { (job.view.customer) } }
            p #site { (job.view.site_address) }
            p.muted #window { (window(&job.view)) }
        }
        (vehicle_and_status(&job))
        (work_sections(&job))
        (files::section(&job))
        (figure_sections(&job))
        (billing_sections(&job))
    };
    Ok((status, page(&job.view.title, "field-job", Some(who), &state.indicators(), body))
        .into_response())
}

/// A job page's data, as its sections read it.
struct Job {
    view: WorkOrderView,
    cur: Currency,
    /// Whether the job is this laptop's (a job moved to someone else is read-only).
    mine: bool,
    /// Whether its parts, labour, checklist and signature still take edits here.
    figures_final: bool,
    editable: bool,
    /// The job page's path.
    base: String,
    /// The statuses it may move to from here.
    next: Vec<WorkOrderStatus>,
    /// The rate the labour forms start with.
    rate_text: String,
    /// When this laptop's labour timer started, if it runs.
    timer: Option<i64>,
    me: DeviceId,
    typed: Typed,
    items: Vec<thorbis_domain::catalog::Item>,
    /// The job's blobs that are on this laptop.
    held: Vec<thorbis_sync_protocol::BlobId>,
}

impl Job {
    /// A drawn signature, as the page shows it (when it is on this laptop).
    fn drawing(&self, drawing: Option<thorbis_sync_protocol::BlobId>) -> Markup {
        html! {
            @if let Some(id) = drawing.filter(|d| self.held.contains(d)) {
                img.signature src={ (self.base) "/files/" (id) } alt="The customer's drawn signature";
            }
        }
    }
}

/// The vehicle (for a repair order) and the status with its history.
fn vehicle_and_status(j: &Job) -> Markup {
    html! {
        @if let Some(v) = &j.view.vehicle {
            section.panel #job-vehicle {
                h2 { "Vehicle" }
                p { b { (v.year) " " (v.make) " " (v.model) } }
                p { "VIN " code #vin { (v.vin) } }
                p #mileage {
                    "Mileage in: " (v.mileage_in.map_or("—".to_owned(), |m| m.to_string()))
                    " · out: " (v.mileage_out.map_or("—".to_owned(), |m| m.to_string()))
                }
                @if j.figures_final {
                    form.stack method="post" action={ (j.base) "/mileage" } {
                        (csrf_field())
                        div.row {
                            (thorbis_web::components::radio("at", "in", v.mileage_in.is_none(), Some("mileage-in"), "In"))
                            (thorbis_web::components::radio("at", "out", v.mileage_in.is_some(), Some("mileage-out"), "Out"))
                        }
                        (labelled("Odometer", Input::new("miles").id("miles").numeric().maxlength(7).value(&j.typed.miles)))
                        button.btn #record-mileage type="submit" { "Record mileage" }
                    }
                }
            }
        }
        section.panel #job-status {
            h2 { "Status" }
            p { span #status class=(status_class(j.view.status)) data-status=(j.view.status.as_str()) { (j.view.status.label()) } }
            @if j.mine && !j.next.is_empty() {
                div.row {
                    @for s in &j.next {
                        form.inline method="post" action={ (j.base) "/status" } {
                            (csrf_field())
                            (hidden("status", s.as_str()))
                            button.btn.primary[forward(j.view.status, *s)] type="submit"
                                data-next=(s.as_str()) { (s.label()) }
                        }
                    }
                }
            }
            @if !j.view.status_log.is_empty() {
                ol.muted #status-log {
                    @for step in &j.view.status_log {
                        li { (step.status.label()) " · " (when(step.at_ms)) " UTC · " (author(step.by, j.me)) }
                    }
                }
            }
        }
    }
}

/// Status, checklist and notes.
fn work_sections(j: &Job) -> Markup {
    html! {
        section.panel #job-checklist {
            h2 { "Checklist" }
            @if j.view.checklist.is_empty() { p.muted { "No checklist for this job." } }
            ul.checklist {
                @for item in &j.view.checklist {
                    li data-item=(item.id) data-done=(item.done) {
                        @if j.figures_final {
                            form.inline method="post" action={ (j.base) "/checklist/" (item.id) } {
                                (csrf_field())
                                (hidden("done", if item.done { "0" } else { "1" }))
                                button.btn.ghost type="submit" aria-pressed=(item.done) {
                                    @if item.done { "☑ " } @else { "☐ " } (item.label)
                                }
                            }
                        } @else {
                            @if item.done { "☑ " } @else { "☐ " } (item.label)
                        }
                    }
                }
            }
        }
        section.panel #job-notes {
            h2 { "Notes" }
            @if j.view.notes.is_empty() { p.muted { "No notes yet." } }
            ul #notes {
                @for note in &j.view.notes {
                    li.note { (note.text) span.muted { " — " (author(note.by, j.me)) ", " (when(note.at_ms)) " UTC" } }
                }
            }
            @if j.mine {
                form.stack method="post" action={ (j.base) "/notes" } {
                    (csrf_field())
                    label { "Note " textarea name="text" id="note-text" maxlength=(MAX_TEXT) rows="3" { (j.typed.note) } }
                    button.btn.primary #add-note type="submit" { "Add note" }
                }
            }
        }
    }
}

/// Parts, labour and totals.
fn figure_sections(j: &Job) -> Markup {
    html! {
        section.panel #job-parts {
            h2 { "Parts" }
            @if j.view.parts.is_empty() { p.muted { "No parts yet." } }
            table.list #parts {
                @if !j.view.parts.is_empty() {
                    thead { tr { th { "Part" } th.num { "Qty" } th.num { "Price" } th.num { "Amount" } } }
                }
                tbody {
                    @for part in &j.view.parts {
                        tr data-line=[part.line_id.map(|l| l.0)] {
                            td { (part.name) @if part.item_id.is_some() { span.muted { " · from stock" } } }
                            td.num { (part.qty) }
                            td.num { (part.unit_price.format(j.cur)) }
                            td.num { (part.amount.format(j.cur)) }
                        }
                    }
                }
            }
            @if j.figures_final {
                form.stack method="post" action={ (j.base) "/parts" } {
                    (csrf_field())
                    // A fresh line id per page: posting the same form twice (a retry, a
                    // double tap) records the part once.
                    (hidden("line", Uuid::now_v7()))
                    label { "Part "
                        select name="item" id="part-item" {
                            @for item in &j.items {
                                option value=(item.id.0) {
                                    (item.name) " · " (item.price.format(j.cur))
                                }
                            }
                        }
                    }
                    (labelled("Quantity", Input::new("qty").id("part-qty").decimal().maxlength(9).value(if j.typed.qty.is_empty() { "1" } else { &j.typed.qty })))
                    button.btn.primary #add-part type="submit" { "Use part" }
                }
            }
        }
        section.panel #job-labour {
            h2 { "Labour" }
            @if j.view.labour.is_empty() { p.muted { "No labour yet." } }
            table.list #labour {
                tbody {
                    @for l in &j.view.labour {
                        tr { td { (l.minutes) " min" } td.num { (l.rate_per_hour.format(j.cur)) " / h" } td.num { (l.amount.format(j.cur)) } }
                    }
                }
            }
            @if j.figures_final {
                @match j.timer {
                    Some(started) => {
                        p #timer data-started=(started) { "⏱ Timer running since " (clock(started)) " UTC" }
                        form.stack method="post" action={ (j.base) "/timer/stop" } {
                            (csrf_field())
                            (labelled("Rate per hour", Input::new("rate").id("timer-rate").decimal().value(&j.rate_text)))
                            button.btn.primary #stop-timer type="submit" { "Stop timer and record" }
                        }
                        form.inline method="post" action={ (j.base) "/timer/discard" } {
                            (csrf_field())
                            button.btn.ghost #discard-timer type="submit" { "Discard timer" }
                        }
                    }
                    None => {
                        form.inline method="post" action={ (j.base) "/timer/start" } {
                            (csrf_field())
                            button.btn #start-timer type="submit" { "Start timer" }
                        }
                    }
                }
                form.stack method="post" action={ (j.base) "/labour" } {
                    (csrf_field())
                    (labelled("Minutes", Input::new("minutes").id("labour-minutes").numeric().maxlength(4).value(&j.typed.minutes)))
                    (labelled("Rate per hour", Input::new("rate").id("labour-rate").decimal().value(&j.rate_text)))
                    button.btn #add-labour type="submit" { "Record labour" }
                }
            }
        }
        section.panel #job-totals {
            h2 { "Totals" }
            (figures("totals", html! {
                (figure("Parts", "total-parts", j.view.totals.parts.format(j.cur)))
                (figure("Labour", "total-labour", j.view.totals.labour.format(j.cur)))
                (figure("Total", "total", j.view.totals.total.format(j.cur)))
            }))
        }
    }
}

/// Estimate, invoice, payment and signature.
fn billing_sections(j: &Job) -> Markup {
    html! {
        section.panel #job-estimate {
            h2 { "Estimate" }
            @match &j.view.estimate {
                Some(e) => {
                    p #estimate-approved {
                        "Approved by " b { (e.signer) } " for " span.money { (e.total.format(j.cur)) } ", " (when(e.approved_at_ms)) " UTC"
                    }
                    (j.drawing(e.drawing))
                },
                None => p.muted { "The job comes to " span.money { (j.view.totals.total.format(j.cur)) } " so far (before tax)." },
            }
            @if j.figures_final && j.view.estimate.is_none() {
                form.stack method="post" action={ (j.base) "/estimate" } {
                    (csrf_field())
                    (labelled("Customer's name", Input::new("signer").id("estimate-signer").maxlength(200).value(&j.typed.signer)))
                    (files::pad("estimate-pad"))
                    button.btn #approve-estimate type="submit" { "Customer approves the estimate" }
                }
            }
        }
        section.panel #job-invoice {
            h2 { "Invoice" }
            @match &j.view.invoice {
                Some(inv) => {
                    p #invoice-number { "Invoice " b { (inv.number) } ", " (when(inv.issued_at_ms)) " UTC" }
                    (figures("invoice-figures", html! {
                        (figure("Subtotal", "invoice-subtotal", inv.subtotal.format(j.cur)))
                        @for (i, t) in inv.taxes.iter().enumerate() {
                            (figure(t.name.as_str(), &format!("invoice-tax-{i}"), t.tax.format(j.cur)))
                        }
                        (figure("Total", "invoice-total", inv.total.format(j.cur)))
                    }))
                    p {
                        a.btn href={ (j.base) "/invoice" } #invoice-page { "Invoice page" } " "
                        a.btn href={ (j.base) "/invoice.pdf" } #invoice-pdf { "PDF" }
                    }
                    @match &j.view.payment {
                        Some(p) => p #paid data-method=(p.method.as_str()) {
                            (p.method.label())
                            @if p.amount.0 > 0 { ": " span.money { (p.amount.format(j.cur)) } }
                            @if let Some(r) = &p.reference { " · reference " (r) }
                        },
                        None if j.mine => form.stack method="post" action={ (j.base) "/payment" } {
                            (csrf_field())
                            div.row {
                                (thorbis_web::components::radio("method", "cash", true, Some("pay-cash"), "Cash"))
                                (thorbis_web::components::radio("method", "card", false, Some("pay-card"), "Card terminal"))
                                (thorbis_web::components::radio("method", "invoice_later", false, Some("pay-later"), "Invoice later"))
                            }
                            (labelled("Card terminal reference", Input::new("reference").id("pay-reference").maxlength(64)))
                            button.btn.primary #record-payment type="submit" { "Record payment" }
                        },
                        None => {}
                    }
                }
                None if j.mine && j.view.status == WorkOrderStatus::Done => {
                    form.inline method="post" action={ (j.base) "/invoice" } {
                        (csrf_field())
                        button.btn.primary #issue-invoice type="submit" { "Issue the invoice" }
                    }
                }
                None => p.muted { "Issued once the job is completed." },
            }
        }
        section.panel #job-signature {
            h2 { "Customer's signature" }
            @match &j.view.signature {
                Some(sig) => {
                    p #signed { "Signed by " b { (sig.signer) } ", " (when(sig.signed_at_ms)) " UTC" }
                    (j.drawing(sig.drawing))
                },
                None => p.muted { "Not signed yet." },
            }
            @if j.figures_final && j.view.signature.is_none() {
                form.stack method="post" action={ (j.base) "/signature" } {
                    (csrf_field())
                    (labelled("Customer's name", Input::new("signer").id("signer").maxlength(200).value(&j.typed.signer)))
                    (files::pad("signature-pad"))
                    button.btn.primary #sign type="submit" { "Customer signs" }
                }
            }
        }
        @if !j.editable && j.mine {
            p.muted { "This job is " (j.view.status.label().to_lowercase()) ": its figures are final." }
        }
    }
}

/// Whether `next` is the workflow's step forward from `now` (the button to press).
fn forward(now: WorkOrderStatus, next: WorkOrderStatus) -> bool {
    !matches!(next, WorkOrderStatus::OnHold | WorkOrderStatus::Cancelled)
        && next.precedence() > now.precedence()
}

/// Runs an edit of job `id` (or refuses it inline with what was typed kept).
async fn commit(
    state: &UiState,
    who: &SignedIn,
    id: WorkOrderId,
    currency: Currency,
    command: Result<Command, String>,
    fields: &Fields,
    done: &str,
) -> Result<Response, UiError> {
    let refusal = match command {
        Ok(command) => run(state, vec![command], currency).await?.err(),
        Err(e) => Some(e),
    };
    let to = || Href::new(format!("/field/jobs/{}", id.0)).param("msg", done).into_string();
    post_then_redirect(refusal, to, |e| {
        render(
            state,
            who,
            id,
            Some(Message::Error(e)),
            Typed::from(fields),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

/// The command for `edit` of job `id` by this laptop, now.
fn edit_command(
    state: &UiState,
    device: DeviceId,
    id: WorkOrderId,
    edit: WorkOrderEdit,
) -> Command {
    Command::EditWorkOrder {
        work_order_id: id,
        device,
        at_ms: i64::try_from(state.now_ms()).unwrap_or(i64::MAX),
        edit,
    }
}

/// This laptop's device id and the job's currency (for amounts typed into its forms, and
/// refusals), in one read; not found for a job the laptop does not hold.
async fn context(state: &UiState, id: WorkOrderId) -> Result<(DeviceId, Currency), UiError> {
    state
        .with_store(move |s| Ok(s.work_order(id)?.map(|v| (s.device_id(), v.currency))))
        .await?
        .ok_or(UiError::NotFound)
}

/// `POST /field/jobs/{id}/{what}`: every form of the job page.
pub(crate) async fn post(
    State(state): State<UiState>,
    who: FieldTech,
    Path((id, what)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let (me, currency) = context(&state, id).await?;
    let edit = |e: WorkOrderEdit| Ok(edit_command(&state, me, id, e));
    // A drawn signature is kept as a blob before the edit that names it.
    let drawing = match what.as_str() {
        "signature" | "estimate" => files::drawing(&state, &fields).await,
        _ => Ok(None),
    };
    let (command, done): (Result<Command, String>, &str) = match what.as_str() {
        "status" => (
            WorkOrderStatus::parse(fields.get("status"))
                .ok_or_else(|| "Choose a status.".to_owned())
                .and_then(|status| edit(WorkOrderEdit::SetStatus { status })),
            "status",
        ),
        "notes" => (
            form::text(fields.get("text"), "A note", MAX_TEXT)
                .and_then(|text| edit(WorkOrderEdit::AddNote { text })),
            "note",
        ),
        "signature" => (
            form::text(fields.get("signer"), "The customer's name", 200).and_then(|signer| {
                let signed_at_ms = i64::try_from(state.now_ms()).unwrap_or(i64::MAX);
                edit(WorkOrderEdit::CaptureSignature { signer, signed_at_ms, drawing: drawing? })
            }),
            "signed",
        ),
        "labour" => (
            minutes(fields.get("minutes")).and_then(|minutes| {
                let rate_per_hour = form::money(fields.get("rate"), currency, "The rate per hour")?;
                edit(WorkOrderEdit::AddLabour { minutes, rate_per_hour })
            }),
            "labour",
        ),
        "parts" => (part(&state, me, id, &fields), "part"),
        "estimate" => (
            form::text(fields.get("signer"), "The customer's name", 200).and_then(|signer| {
                let approved_at_ms = i64::try_from(state.now_ms()).unwrap_or(i64::MAX);
                edit(WorkOrderEdit::ApproveEstimate { signer, approved_at_ms, drawing: drawing? })
            }),
            "estimate",
        ),
        "payment" => (
            payment(&fields).and_then(|(method, reference)| {
                edit(WorkOrderEdit::RecordPayment { method, reference })
            }),
            "paid",
        ),
        "mileage" => (
            mileage(&fields).and_then(|(at, miles)| edit(WorkOrderEdit::SetMileage { at, miles })),
            "mileage",
        ),
        _ => return Err(UiError::NotFound),
    };
    commit(&state, &who, id, currency, command, &fields, done).await
}

/// `POST /field/jobs/{id}/checklist/{item}`: `done` is `1` to tick, `0` to untick.
pub(crate) async fn tick(
    State(state): State<UiState>,
    who: FieldTech,
    Path((id, item)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let item_id = Uuid::try_parse(&item).map(ChecklistItemId).map_err(|_| UiError::NotFound)?;
    let (me, currency) = context(&state, id).await?;
    let command = match fields.get("done") {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err("Tick or untick the item.".to_owned()),
    }
    .map(|done| edit_command(&state, me, id, WorkOrderEdit::TickChecklistItem { item_id, done }));
    commit(&state, &who, id, currency, command, &fields, "ticked").await
}

/// `POST /field/jobs/{id}/timer/{start|stop|discard}`.
pub(crate) async fn timer(
    State(state): State<UiState>,
    who: FieldTech,
    Path((id, op)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let (me, currency) = context(&state, id).await?;
    let (edit, done) = match op.as_str() {
        "start" => (Ok(WorkOrderEdit::StartTimer), "timer"),
        "stop" => {
            let rate = form::money(fields.get("rate"), currency, "The rate per hour");
            (rate.map(|rate_per_hour| WorkOrderEdit::StopTimer { rate_per_hour }), "stopped")
        }
        "discard" => (Ok(WorkOrderEdit::DiscardTimer), "discarded"),
        _ => return Err(UiError::NotFound),
    };
    let command = edit.map(|e| edit_command(&state, me, id, e));
    commit(&state, &who, id, currency, command, &fields, done).await
}

/// How the invoice is paid, and the card terminal's reference for a card.
fn payment(fields: &Fields) -> Result<(PaymentMethod, Option<String>), String> {
    let method = PaymentMethod::parse(fields.get("method"))
        .ok_or_else(|| "Choose how it is paid.".to_owned())?;
    let reference = fields.get("reference");
    match method {
        PaymentMethod::Card if reference.is_empty() => {
            Err("Enter the card terminal's reference for the payment.".to_owned())
        }
        PaymentMethod::Card => {
            form::text(reference, "The reference", 64).map(|r| (method, Some(r)))
        }
        _ => Ok((method, None)),
    }
}

/// `POST /field/jobs/{id}/invoice`: issues the invoice of a completed job.
pub(crate) async fn issue_invoice(
    State(state): State<UiState>,
    who: FieldTech,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let (me, currency) = context(&state, id).await?;
    let command = Command::InvoiceWorkOrder {
        work_order_id: id,
        device: me,
        at_ms: i64::try_from(state.now_ms()).unwrap_or(i64::MAX),
    };
    commit(&state, &who, id, currency, Ok(command), &fields, "invoiced").await
}

/// `GET /field/jobs/{id}/invoice`: the invoice as a page, to show the customer.
pub(crate) async fn invoice_page(
    State(state): State<UiState>,
    who: FieldTech,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let view = state.with_store(move |s| s.work_order(id)).await?.ok_or(UiError::NotFound)?;
    let inv = view.invoice.as_ref().ok_or(UiError::NotFound)?;
    let cur = view.currency;
    let body = html! {
        p { a.btn.ghost href={ "/field/jobs/" (id.0) } { "← The job" } }
        h1 { "Invoice " (inv.number) }
        p.muted { "Issued " (when(inv.issued_at_ms)) " UTC" }
        section.panel {
            p { b { (view.customer) } }
            p { (view.site_address) }
            @if let Some(v) = &view.vehicle { p { (v.year) " " (v.make) " " (v.model) " · VIN " (v.vin) } }
            p { (view.title) }
        }
        table.list #invoice-lines {
            thead { tr { th { "Description" } th.num { "Qty" } th.num { "Unit" } th.num { "Amount" } } }
            tbody {
                @for p in &view.parts {
                    tr { td { (p.name) } td.num { (p.qty) } td.num { (p.unit_price.format(cur)) } td.num { (p.amount.format(cur)) } }
                }
                @for l in &view.labour {
                    tr { td { "Labour" } td.num { (l.minutes) " min" } td.num { (l.rate_per_hour.format(cur)) " / h" } td.num { (l.amount.format(cur)) } }
                }
            }
        }
        (figures("invoice-figures", html! {
            (figure("Subtotal", "invoice-subtotal", inv.subtotal.format(cur)))
            @for (i, t) in inv.taxes.iter().enumerate() {
                (figure(t.name.as_str(), &format!("invoice-tax-{i}"), t.tax.format(cur)))
            }
            (figure(html! { "Total (" (cur.code()) ")" }, "invoice-total", inv.total.format(cur)))
        }))
        @match &view.payment {
            Some(p) => p #paid { (p.method.label()) @if p.amount.0 > 0 { ": " (p.amount.format(cur)) } },
            None => p #due { b { "Amount due: " (inv.total.format(cur)) } },
        }
        p { a.btn href={ "/field/jobs/" (id.0) "/invoice.pdf" } { "PDF" } }
    };
    Ok(page(
        &format!("Invoice {}", inv.number),
        "field-invoice",
        Some(&who),
        &state.indicators(),
        body,
    )
    .into_response())
}

/// `GET /field/jobs/{id}/invoice.pdf`.
pub(crate) async fn invoice_pdf(
    State(state): State<UiState>,
    _who: FieldTech,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let view = state.with_store(move |s| s.work_order(id)).await?.ok_or(UiError::NotFound)?;
    let number = view.invoice.as_ref().ok_or(UiError::NotFound)?.number.clone();
    let pdf = thorbis_web::pdf::invoice(&view, BUSINESS).ok_or(UiError::NotFound)?;
    // The number is the document's: only its letters, digits and hyphens go into a header.
    let number: String =
        number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    let disposition = format!("inline; filename=\"{number}.pdf\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
}

/// An odometer reading, in or out.
fn mileage(fields: &Fields) -> Result<(MileageAt, u32), String> {
    let at = match fields.get("at") {
        "in" => MileageAt::In,
        "out" => MileageAt::Out,
        _ => return Err("Choose in or out.".to_owned()),
    };
    let raw = fields.get("miles");
    let miles = (!raw.is_empty() && raw.len() <= 7 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| "The odometer reading must be a whole number of miles.".to_owned())?;
    Ok((at, miles))
}

fn minutes(raw: &str) -> Result<u32, String> {
    form::count(raw, "Minutes", 1, 2_160).map(u32::from)
}

/// The command using a catalog part: item, quantity (up to three decimals) and the
/// form's line id, which makes a repeated post record the part once.
fn part(
    state: &UiState,
    me: DeviceId,
    id: WorkOrderId,
    fields: &Fields,
) -> Result<Command, String> {
    let item_id =
        Uuid::try_parse(fields.get("item")).map(ItemId).map_err(|_| "Choose a part.".to_owned())?;
    let line_id = Uuid::try_parse(fields.get("line"))
        .map(PartLineId)
        .map_err(|_| "That form is out of date: reload the page.".to_owned())?;
    let qty = form::fixed_point(fields.get("qty"), MAX_PART_UNITS, 3)
        .map(Qty)
        .filter(|q| q.0 > 0)
        .ok_or_else(|| "Quantity must be a number above 0, like 1 or 2.5".to_owned())?;
    Ok(Command::UseWorkOrderPart {
        work_order_id: id,
        device: me,
        at_ms: i64::try_from(state.now_ms()).unwrap_or(i64::MAX),
        line_id,
        item_id,
        qty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use thorbis_domain::Money;

    #[test]
    fn a_rate_is_offered_as_typed() {
        // The labour forms start with the last rate, in the form a technician types it.
        assert_eq!(Money(8_500).format(Currency::USD), "85.00");
        assert_eq!(Money(905).format(Currency::USD), "9.05");
        assert_eq!(Money(1_200).format(Currency::JPY), "1200");
    }
}
