//! The dispatch board: a day's or a week's jobs by technician and time, the jobs nobody has
//! yet, a new job (at a customer's site, or a repair order on a vehicle), assigning and
//! reassigning, and each job's page with its merged history (who changed what, when),
//! where the dispatcher adds notes and moves the window. Times are shown and typed in UTC.
//!
//! Every write goes through [`crate::work_orders`]: a job's changes are Automerge changes
//! on the hub's logs, merged with the technician's own (offline) edits, never overwriting
//! them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use thorbis_domain::attachment::{MediaType, megabytes};
use thorbis_domain::scan::Day;
use thorbis_domain::work_order::{ScheduledWindow, WorkOrderEdit, WorkOrderView};
use thorbis_sync_protocol::BlobId;
use thorbis_web::components::{Input, Message, figure, figures, labelled, message};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, see_other, stored_file};
use thorbis_web::when::{clock, when};
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::blobs;
use crate::http::work_orders::{NewVehicle, NewWorkOrder, currency, draft_of};
use crate::http::{AppState, Error};
use crate::locations;
use crate::tenants::{self, DeviceRow};
use crate::work_orders::{self, Summary};

const DAY_MS: i64 = 86_400_000;

/// A technician's label: the device's short id and its location.
fn technician_label(device: &DeviceRow, places: &[locations::Location]) -> String {
    let place = places
        .iter()
        .find(|l| l.location_id == device.location_id)
        .map_or("?", |l| l.settings.name.as_str());
    format!("Technician {} · {place}", short(device.device_id))
}

fn short(id: Uuid) -> String {
    id.simple().to_string().chars().take(8).collect()
}

#[derive(Debug, Default, Deserialize)]
pub(in crate::http) struct BoardQuery {
    day: Option<String>,
    span: Option<String>,
    created: Option<String>,
}

/// `GET /console/dispatch?day=YYYY-MM-DD&span=day|week`.
pub(in crate::http) async fn board(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<BoardQuery>,
) -> PageResult {
    let msg = q.created.as_ref().map(|_| Message::Info("The job is created.".into()));
    board_page(&state, &user, &q, msg.as_ref(), &Fields::default(), StatusCode::OK).await
}

async fn board_page(
    state: &AppState,
    user: &PageUser,
    q: &BoardQuery,
    msg: Option<&Message>,
    typed: &Fields,
    status: StatusCode,
) -> PageResult {
    let now = state.store().now_i64();
    let today = Day::of_unix_ms(u64::try_from(now).unwrap_or(0));
    let day = q.day.as_deref().and_then(|d| d.parse::<Day>().ok()).unwrap_or(today);
    let week = q.span.as_deref() == Some("week");
    let from = day.start_unix_ms();
    let to = from + if week { 7 * DAY_MS } else { DAY_MS };
    let jobs = work_orders::list(state.store(), user.tenant_id).await?;
    let places = locations::locations(state.store(), user.tenant_id).await?;
    let technicians: Vec<DeviceRow> = tenants::devices(state.store(), user.tenant_id)
        .await?
        .into_iter()
        .filter(|d| d.role == "technician" && d.revoked_at_ms.is_none())
        .collect();
    let in_span = |j: &&Summary| j.window_start_ms < to && j.window_end_ms >= from;
    let mut unassigned: Vec<&Summary> = jobs
        .iter()
        .filter(|j| {
            j.technician.is_none() && !matches!(j.status.as_str(), "cancelled" | "invoiced")
        })
        .collect();
    unassigned.sort_by_key(|j| (j.window_start_ms, j.work_order_id));
    let manager = user.can(ConsoleRole::Manager);
    let assign = |job: &Summary| {
        html! {
            @if manager {
                form.inline method="post" action=(format!("/console/dispatch/jobs/{}/assign", job.work_order_id)) {
                    (csrf(user))
                    label.sr-only for=(format!("assign-{}", job.work_order_id)) { "Technician for " (job.title) }
                    select name="technician" id=(format!("assign-{}", job.work_order_id)) {
                        @for t in &technicians {
                            option value=(t.device_id) selected[job.technician == Some(t.device_id)] { (technician_label(t, &places)) }
                        }
                    }
                    button.btn type="submit" { @if job.technician.is_some() { "Reassign" } @else { "Assign" } }
                }
            }
        }
    };
    let row = |job: &Summary| {
        html! {
            tr data-job=(job.work_order_id) data-status=(job.status) {
                td { (when(job.window_start_ms)) "–" (clock(job.window_end_ms)) }
                td { a href=(format!("/console/dispatch/jobs/{}", job.work_order_id)) { (job.title) } }
                td { (job.customer) }
                td { (job.status.replace('_', " ")) }
                td { (assign(job)) }
            }
        }
    };
    let head = html! { thead { tr { th { "Window (UTC)" } th { "Job" } th { "Customer" } th { "Status" } th { span.sr-only { "Assign" } } } } };
    let span_label = if week { "week" } else { "day" };
    let boards: Vec<(&DeviceRow, Vec<&Summary>)> = technicians
        .iter()
        .map(|t| {
            let mut theirs: Vec<&Summary> =
                jobs.iter().filter(|j| j.technician == Some(t.device_id)).filter(in_span).collect();
            theirs.sort_by_key(|j| (j.window_start_ms, j.work_order_id));
            (t, theirs)
        })
        .collect();
    let body = html! {
        h1 { "Dispatch" }
        (message(msg))
        form.row method="get" action="/console/dispatch" {
            (labelled("Day", Input::new("day").id("board-day").kind("date").value(&day.to_string())))
            label { "Show " select name="span" id="board-span" {
                option value="day" selected[!week] { "the day" }
                option value="week" selected[week] { "the week" }
            } }
            button.btn type="submit" { "Show" }
        }
        h2 #unassigned-title { "Not assigned" }
        @if unassigned.is_empty() { p.muted #no-unassigned { "Every open job has a technician." } }
        @else {
            table.list #unassigned aria-labelledby="unassigned-title" { (head) tbody { @for j in &unassigned { (row(j)) } } }
        }
        @if technicians.is_empty() {
            p.muted { "No technician's laptop is enrolled yet: make an enrollment code for the technician role on the Devices page." }
        }
        @for (t, theirs) in &boards {
            section.panel data-technician=(t.device_id) {
                h2 { (technician_label(t, &places)) }
                @if theirs.is_empty() { p.muted { "No jobs this " (span_label) "." } }
                @else { table.list { (head) tbody { @for j in theirs.iter() { (row(j)) } } } }
            }
        }
        @if manager { (new_job_form(user, typed, day)) }
    };
    Ok(with_status(status, shell(user, "Dispatch", "console-dispatch", body)))
}

fn new_job_form(user: &PageUser, typed: &Fields, day: Day) -> Markup {
    let value = |name: &str, default: &str| {
        if typed.is_empty() { default.to_owned() } else { typed.get(name).to_owned() }
    };
    html! {
        h2 #new-job { "New job" }
        form.stack.settings method="post" action="/console/dispatch/jobs" {
            (csrf(user))
            (labelled("Title", Input::new("title").id("job-title").value(&value("title", ""))))
            (labelled("Customer", Input::new("customer").id("job-customer").value(&value("customer", ""))))
            (labelled("Site address", Input::new("site_address").id("job-site").value(&value("site_address", ""))))
            div.row {
                (labelled("Day", Input::new("day").id("job-day").kind("date").value(&value("day", &day.to_string()))))
                (labelled("Start (UTC)", Input::new("start").id("job-start").kind("time").value(&value("start", "09:00"))))
                (labelled("Hours", Input::new("hours").id("job-hours").decimal().value(&value("hours", "2"))))
                label { "Currency " select name="currency" id="job-currency" {
                    @for c in ["USD", "EUR", "GBP", "JPY"] { option value=(c) selected[value("currency", "USD") == c] { (c) } }
                } }
            }
            label { "Checklist (one item a line) " textarea name="checklist" id="job-checklist" rows="3" { (value("checklist", "")) } }
            fieldset {
                legend { "Vehicle (a repair order)" }
                div.row {
                    (labelled("VIN", Input::new("vin").id("job-vin").maxlength(17).value(&value("vin", ""))))
                    (labelled("Year", Input::new("year").id("job-year").numeric().maxlength(4).value(&value("year", ""))))
                    (labelled("Make", Input::new("make").id("job-make").value(&value("make", ""))))
                    (labelled("Model", Input::new("model").id("job-model").value(&value("model", ""))))
                }
            }
            button.btn.primary #create-job type="submit" { "Create the job" }
        }
    }
}

/// A window from a form's `day`, `start` (`HH:MM`) and `hours`, in UTC.
fn window_of(fields: &Fields) -> Result<ScheduledWindow, String> {
    let day: Day =
        fields.get("day").parse().map_err(|()| "Day must be a date like 2026-12-07".to_owned())?;
    let start = fields.get("start");
    let minutes = start
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
        .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m) && start.len() == 5)
        .map(|(h, m)| h * 60 + m)
        .ok_or_else(|| "Start must be a time like 09:30".to_owned())?;
    let hours = form::fixed_point(fields.get("hours"), 2, 2)
        .filter(|h| (1..=2_400).contains(h))
        .ok_or_else(|| "Hours must be a number above 0 and at most 24, like 1.5".to_owned())?;
    let start_ms = day.start_unix_ms() + minutes * 60_000;
    Ok(ScheduledWindow { start_ms, end_ms: start_ms + hours * 36_000 })
}

fn new_job(fields: &Fields) -> Result<NewWorkOrder, String> {
    let window = window_of(fields)?;
    let vehicle = if fields.get("vin").is_empty() {
        None
    } else {
        let year = fields.get("year").parse().map_err(|_| "Year must be like 2019".to_owned())?;
        Some(NewVehicle {
            vin: fields.get("vin").to_owned(),
            year,
            make: fields.get("make").to_owned(),
            model: fields.get("model").to_owned(),
        })
    };
    Ok(NewWorkOrder {
        title: fields.get("title").to_owned(),
        customer: fields.get("customer").to_owned(),
        site_address: fields.get("site_address").to_owned(),
        window_start_ms: window.start_ms,
        window_end_ms: window.end_ms,
        currency: fields.get("currency").to_owned(),
        checklist: fields
            .get("checklist")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        vehicle,
    })
}

/// The text of a refusal a dispatcher can act on (the data layer's errors name the field).
fn refusal(e: &Error) -> Option<String> {
    match e {
        Error::BadRequest(m) | Error::Conflict(m) | Error::Unprocessable(m) => Some(m.clone()),
        _ => None,
    }
}

/// `POST /console/dispatch/jobs`.
pub(in crate::http) async fn create(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let made = match new_job(&fields) {
        Ok(req) => match currency(&req.currency).and_then(|_| draft_of(req)) {
            Ok(draft) => work_orders::create(state.store(), user.tenant_id, &draft)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(Error::BadRequest(e)),
    };
    match made {
        Ok(id) => Ok(see_other(&format!("/console/dispatch/jobs/{id}?created=1"))),
        Err(e) => match refusal(&e) {
            Some(text) => {
                let q =
                    BoardQuery { day: Some(fields.get("day").to_owned()), ..BoardQuery::default() };
                let msg = Message::Error(text);
                board_page(&state, &user, &q, Some(&msg), &fields, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            None => Err(e.into()),
        },
    }
}

/// `POST /console/dispatch/jobs/{id}/assign`: `technician` (a device id).
pub(in crate::http) async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let id = path_id(&id, "job")?;
    let technician = path_id(fields.get("technician"), "technician")?;
    work_orders::assign(state.store(), user.tenant_id, id, technician)
        .await
        .map_err(Error::from)?;
    Ok(see_other(
        &Href::new(format!("/console/dispatch/jobs/{id}")).param("assigned", 1).into_string(),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(in crate::http) struct JobQuery {
    created: Option<String>,
    assigned: Option<String>,
    noted: Option<String>,
    moved: Option<String>,
}

/// `GET /console/dispatch/jobs/{id}`: the job, its history, the dispatcher's forms.
pub(in crate::http) async fn job(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> PageResult {
    let id = path_id(&id, "job")?;
    let msg = [
        (q.created.is_some(), "The job is created: assign it to a technician."),
        (q.assigned.is_some(), "Assigned: the technician's laptop gets it at its next contact."),
        (q.noted.is_some(), "Note added."),
        (q.moved.is_some(), "The window is moved."),
    ]
    .into_iter()
    .find_map(|(on, text)| on.then(|| Message::Info(text.into())));
    job_page(&state, &user, id, msg.as_ref(), &Fields::default(), StatusCode::OK).await
}

async fn job_page(
    state: &AppState,
    user: &PageUser,
    id: Uuid,
    msg: Option<&Message>,
    typed: &Fields,
    status: StatusCode,
) -> PageResult {
    let view = work_orders::get(state.store(), user.tenant_id, id).await.map_err(Error::from)?;
    let files = blobs::files_of(state.store(), user.tenant_id, id).await.map_err(Error::from)?;
    let body = html! {
        (job_body(user, id, &view, msg, typed))
        (files_section(id, &files))
    };
    Ok(with_status(status, shell(user, &view.title, "console-dispatch", body)))
}

/// Who wrote something: the assigned technician's laptop, or the office (the hub's logs).
fn by(device: Option<thorbis_sync_protocol::DeviceId>, view: &WorkOrderView) -> String {
    match device {
        Some(d) if Some(d) == view.technician => {
            format!("technician {}", short(Uuid::from_bytes(d.0)))
        }
        Some(d) => format!("device {}", short(Uuid::from_bytes(d.0))),
        None => "?".into(),
    }
}

fn job_body(
    user: &PageUser,
    id: Uuid,
    view: &WorkOrderView,
    msg: Option<&Message>,
    typed: &Fields,
) -> Markup {
    let cur = view.currency;
    let manager = user.can(ConsoleRole::Manager) && view.status.is_open();
    let start = view.window.start_ms;
    let hours = (view.window.end_ms - start) / 36_000;
    html! {
        p { a.btn.ghost href="/console/dispatch" { "← Dispatch" } }
        h1 { (view.title) }
        (message(msg))
        section.panel {
            p { b { (view.customer) } " · " (view.site_address) }
            @if let Some(v) = &view.vehicle { p #vehicle { (v.year) " " (v.make) " " (v.model) " · VIN " code { (v.vin) } } }
            p #window { (when(start)) "–" (clock(view.window.end_ms)) " UTC" }
            p { "Status: " b #status { (view.status.label()) } }
            @if let Some(t) = view.technician { p { "Technician " code { (short(Uuid::from_bytes(t.0))) } } }
            @else { p.problem { "Not assigned." } }
        }
        section.panel #history {
            h2 { "History" }
            ol {
                @for step in &view.status_log {
                    li { (when(step.at_ms)) " · " (step.status.label()) " · " (by(step.by, view)) }
                }
            }
        }
        section.panel #notes {
            h2 { "Notes" }
            ul { @for n in &view.notes { li { (n.text) span.muted { " — " (by(n.by, view)) ", " (when(n.at_ms)) " UTC" } } } }
            @if manager {
                form.stack method="post" action=(format!("/console/dispatch/jobs/{id}/note")) {
                    (csrf(user))
                    label { "Note " textarea name="text" id="dispatch-note" rows="2" { (typed.get("text")) } }
                    button.btn.primary #add-dispatch-note type="submit" { "Add note" }
                }
            }
        }
        @if manager {
            section.panel #move {
                h2 { "Move the window" }
                form.row method="post" action=(format!("/console/dispatch/jobs/{id}/window")) {
                    (csrf(user))
                    (labelled("Day", Input::new("day").id("move-day").kind("date").value(&Day::of_unix_ms(u64::try_from(start).unwrap_or(0)).to_string())))
                    (labelled("Start (UTC)", Input::new("start").id("move-start").kind("time").value(&clock(start))))
                    (labelled("Hours", Input::new("hours").id("move-hours").decimal().value(&format!("{}.{:02}", hours / 100, hours % 100))))
                    button.btn #move-window type="submit" { "Move" }
                }
            }
        }
        section.panel #work {
            h2 { "Work" }
            ul {
                @for i in &view.checklist { li { @if i.done { "☑ " } @else { "☐ " } (i.label) } }
                @for p in &view.parts { li { (p.name) " × " (p.qty) " · " (p.amount.format(cur)) } }
                @for l in &view.labour { li { "Labour " (l.minutes) " min · " (l.amount.format(cur)) } }
            }
            (figures("job-totals", html! {
                (figure("Total before tax", "job-total", view.totals.total.format(cur)))
                @if let Some(inv) = &view.invoice { (figure(html! { "Invoice " (inv.number) }, "job-invoiced", inv.total.format(cur))) }
                @if let Some(p) = &view.payment { (figure(p.method.label(), "job-paid", p.amount.format(cur))) }
            }))
        }
    }
}

/// The job's photos, drawn signatures and files, as the hub holds them.
fn files_section(id: Uuid, files: &[blobs::WorkOrderFile]) -> Markup {
    html! {
        section.panel #job-files {
            h2 { "Photos and files" }
            @if files.is_empty() { p.muted { "None yet." } }
            ul.files {
                @for f in files {
                    li.file data-blob=(f.id) data-held=(f.held) {
                        @if !f.held {
                            span.muted { (f.name) " · still on the technician's laptop: it arrives when the laptop is online" }
                        } @else if f.media_type.starts_with("image/") {
                            a href=(format!("/console/dispatch/jobs/{id}/files/{}", f.id)) {
                                img src=(format!("/console/dispatch/jobs/{id}/files/{}", f.id)) alt=(f.name) loading="lazy";
                            }
                        } @else {
                            a href=(format!("/console/dispatch/jobs/{id}/files/{}", f.id)) { (f.name) }
                        }
                        span.muted { " " (f.kind) " · " (megabytes(f.size)) " · " (when(f.added_at_ms)) " UTC" }
                    }
                }
            }
        }
    }
}

/// `GET /console/dispatch/jobs/{id}/files/{blob}`: a blob the job names.
pub(in crate::http) async fn file(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, blob)): Path<(String, String)>,
) -> Result<axum::response::Response, Error> {
    let id = path_id(&id, "job")?;
    let blob: BlobId =
        blob.parse().map_err(|_| Error::NotFound(format!("no file {blob} on this job")))?;
    let files = blobs::files_of(state.store(), user.tenant_id, id).await?;
    let named = files.iter().find(|f| f.id == blob && f.held);
    let read = match named {
        Some(_) => blobs::read_for_work_order(state.store(), user.tenant_id, id, blob).await?,
        None => None,
    };
    let (Some(file), Some(bytes)) = (named, read) else {
        return Err(Error::NotFound(format!("no file {blob} on this job")));
    };
    // Served as what the bytes are, never as what a device called them.
    if MediaType::sniff(&bytes).map(MediaType::as_str) != Some(file.media_type.as_str()) {
        return Err(Error::NotFound(format!("no file {blob} on this job")));
    }
    let inline = file.media_type.starts_with("image/");
    Ok(stored_file(bytes, &file.media_type, &file.name, inline))
}

/// `POST /console/dispatch/jobs/{id}/note` and `/window`.
pub(in crate::http) async fn edit(
    State(state): State<AppState>,
    Path((id, what)): Path<(String, String)>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let id = path_id(&id, "job")?;
    let (edit, done) = match what.as_str() {
        "note" => (
            form::text(fields.get("text"), "A note", 2_000)
                .map(|text| WorkOrderEdit::AddNote { text }),
            "noted",
        ),
        "window" => (window_of(&fields).map(|window| WorkOrderEdit::SetWindow { window }), "moved"),
        _ => return Err(Error::NotFound(format!("no form {what:?}")).into()),
    };
    let result = match edit {
        Ok(edit) => {
            work_orders::edit(state.store(), user.tenant_id, id, &edit).await.map_err(Error::from)
        }
        Err(e) => Err(Error::BadRequest(e)),
    };
    match result {
        Ok(()) => Ok(see_other(
            &Href::new(format!("/console/dispatch/jobs/{id}")).param(done, 1).into_string(),
        )),
        Err(e) => match refusal(&e) {
            Some(text) => {
                let msg = Message::Error(text);
                job_page(&state, &user, id, Some(&msg), &fields, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            None => Err(e.into()),
        },
    }
}
