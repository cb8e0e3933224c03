//! Work orders through the hub: the console creates and assigns them, a technician pulls
//! exactly the work orders assigned to it (through its hub-signed dispatch log) and none of
//! its location's sales, its edits come back into the console's list, and reassignment hands
//! the whole document to the next technician.

mod support;

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Agent, Console, NOW_MS, TestHub};
use thorbis_domain::command::{Command, CommandError, IdSource, Policy, decide};
use thorbis_domain::events::WorkOrderDispatched;
use thorbis_domain::ids::{LocationId, WorkOrderId};
use thorbis_domain::work_order::{WorkOrder, WorkOrderEdit, WorkOrderStatus};
use thorbis_domain::{DomainEvent, EventMeta, Money, Qty, State};
use thorbis_hub::dispatch::dispatch_log;
use thorbis_sync_protocol::{Batch, ChainTip, DeviceId, PublicKey, verify_chain};
use uuid::Uuid;

struct NoIds;

impl IdSource for NoIds {
    fn next_id(&mut self) -> Uuid {
        unreachable!("work order edits mint no ids")
    }
}

/// A technician's laptop as far as these tests need: its chain, what it pulled, and the
/// state folded from both.
struct Technician {
    agent: Agent,
    have: BTreeMap<String, u64>,
    state: State,
}

impl Technician {
    fn new(agent: Agent) -> Self {
        Self { agent, have: BTreeMap::new(), state: State::default() }
    }

    fn id(&self) -> DeviceId {
        self.agent.device_id
    }

    /// Pulls everything new (one page is enough here) and folds it.
    async fn pull(&mut self, hub: &TestHub) -> Result<Batch> {
        let (status, batch, more) = hub.pull(&self.agent, &json!(self.have), 1000).await?;
        ensure!(status == StatusCode::OK && !more, "pull: {status}");
        let batch = batch.context("no batch")?;
        for e in &batch.events {
            self.have.insert(e.device_id.to_string(), e.seq);
            let meta = EventMeta { hlc: e.hlc, id: e.id() };
            if let Some(event) = DomainEvent::decode(e.kind.as_str(), &e.payload)? {
                self.state.apply(&meta, &event);
            }
        }
        Ok(batch)
    }

    /// Edits a work order as the terminal would: decide against its state, append, fold,
    /// push.
    async fn edit(&mut self, hub: &TestHub, id: Uuid, edit: WorkOrderEdit) -> Result<()> {
        let command = Command::EditWorkOrder {
            work_order_id: WorkOrderId(id),
            device: self.id(),
            at_ms: hub.clock_now() as i64,
            edit,
        };
        let events = decide(&command, &self.state, &Policy::default(), &mut NoIds)?;
        let from = self.agent.tip().seq + 1;
        for event in &events {
            let e = self.agent.append(event, hub.clock_now());
            self.have.insert(e.device_id.to_string(), e.seq);
            self.state.apply(&EventMeta { hlc: e.hlc, id: e.id() }, event);
        }
        let (status, body) =
            hub.push(&self.agent, &self.agent.batch(from, self.agent.tip().seq)).await?;
        ensure!(status == StatusCode::OK, "push: {status} {body}");
        Ok(())
    }

    fn title_of(&self, id: Uuid) -> Option<String> {
        self.state.work_orders.get(&id).and_then(WorkOrder::view).map(|v| v.title)
    }
}

async fn manager(hub: &TestHub, tenant: Uuid) -> Result<Console> {
    hub.console_user(tenant, "dispatch@example.com", "manager").await?;
    hub.console_session(tenant, "dispatch@example.com").await
}

async fn post(hub: &TestHub, console: &Console, path: &str, body: &Value) -> Result<Value> {
    let (status, body) =
        hub.console(path, Some(&console.cookie), Some(&console.csrf), Some(body)).await?;
    ensure!(status == StatusCode::OK, "{path}: {status} {body}");
    Ok(body)
}

async fn create(hub: &TestHub, console: &Console, title: &str) -> Result<Uuid> {
    let body = post(
        hub,
        console,
        "/api/v1/console/work-orders",
        &json!({ "title": title, "customer": "R. Diaz", "site_address": "12 Elm St",
                 "window_start_ms": NOW_MS, "window_end_ms": NOW_MS + 7_200_000,
                 "currency": "USD", "checklist": ["Shut off gas", "Test relief valve"] }),
    )
    .await?;
    Ok(serde_json::from_value(body["work_order_id"].clone())?)
}

async fn assign(hub: &TestHub, console: &Console, id: Uuid, to: DeviceId) -> Result<Value> {
    post(
        hub,
        console,
        &format!("/api/v1/console/work-orders/{id}/assign"),
        &json!({ "technician": to.to_string() }),
    )
    .await
}

async fn tenant_key(hub: &TestHub, tenant: Uuid) -> Result<PublicKey> {
    let db = hub.superuser().await?;
    let key: Vec<u8> = db
        .query_one("SELECT public_key FROM tenants WHERE tenant_id = $1", &[&tenant])
        .await?
        .get(0);
    Ok(PublicKey(key.as_slice().try_into()?))
}

async fn listed(hub: &TestHub, console: &Console, id: Uuid) -> Result<Value> {
    let (status, body) =
        hub.console("/api/v1/console/work-orders", Some(&console.cookie), None, None).await?;
    ensure!(status == StatusCode::OK, "list: {status} {body}");
    body["work_orders"]
        .as_array()
        .and_then(|l| l.iter().find(|w| w["work_order_id"] == json!(id)).cloned())
        .with_context(|| format!("{id} not listed: {body}"))
}

#[tokio::test]
async fn a_technician_pulls_only_its_own_work_orders() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Plumbing Co").await?;
    let mut pos = hub.agent(tenant, location, 1).await?;
    pos.sale(1, NOW_MS);
    let (status, _) = hub.push(&pos, &pos.all()).await?;
    ensure!(status == StatusCode::OK);
    let mut a = Technician::new(hub.agent_as(tenant, location, 2, "technician").await?);
    let mut b = Technician::new(hub.agent_as(tenant, location, 3, "technician").await?);
    let console = manager(&hub, tenant).await?;
    let for_a = create(&hub, &console, "Water heater").await?;
    let for_b = create(&hub, &console, "Blocked drain").await?;
    let unassigned = create(&hub, &console, "Quote a bathroom").await?;
    assign(&hub, &console, for_a, a.id()).await?;
    assign(&hub, &console, for_b, b.id()).await?;

    let batch = a.pull(&hub).await?;
    let a_log = dispatch_log(tenant, a.id());
    let allowed = [DeviceId::from_bytes(*tenant.as_bytes()), a.id(), a_log];
    ensure!(
        batch.events.iter().all(|e| allowed.contains(&e.device_id)),
        "A received events outside its scope: {:?}",
        batch.events.iter().map(|e| e.device_id).collect::<Vec<_>>()
    );
    ensure!(!batch.events.iter().any(|e| e.device_id == pos.device_id), "A got the POS's sale");
    ensure!(a.title_of(for_a).as_deref() == Some("Water heater"));
    ensure!(a.state.work_orders.len() == 1, "A holds {} work orders", a.state.work_orders.len());
    ensure!(a.state.orders.is_empty(), "A folded the location's orders");
    // The dispatch log verifies with the tenant key from A's enrollment, like reference data.
    let events: Vec<_> = batch.events.iter().filter(|e| e.device_id == a_log).cloned().collect();
    let checkpoint = batch
        .checkpoints
        .iter()
        .find(|c| c.device_id == a_log)
        .context("no checkpoint for A's dispatch log")?;
    let tip =
        verify_chain(&tenant_key(&hub, tenant).await?, ChainTip::GENESIS, &events, checkpoint)?;
    ensure!(tip.seq == 1);
    // Relayed back (as a sync engine may push what it holds), it is verified with the tenant
    // key and already held; another technician cannot relay it.
    let relay = Batch { events: events.clone(), checkpoints: vec![checkpoint.clone()] };
    let (status, body) = hub.push(&a.agent, &relay).await?;
    ensure!(status == StatusCode::OK && body["duplicates"] == 1, "{status} {body}");
    let (status, body) = hub.push(&b.agent, &relay).await?;
    ensure!(status == StatusCode::FORBIDDEN, "B relays A's dispatch log: {status} {body}");

    b.pull(&hub).await?;
    ensure!(b.title_of(for_b).as_deref() == Some("Blocked drain"));
    ensure!(b.title_of(for_a).is_none() && b.title_of(unassigned).is_none());
    // Naming another technician's dispatch log in the vector changes nothing.
    let (status, batch, _) = hub.pull(&b.agent, &json!({ a_log.to_string(): 0 }), 1000).await?;
    ensure!(status == StatusCode::OK);
    ensure!(!batch.unwrap_or_default().events.iter().any(|e| e.device_id == a_log));

    // The POS keeps its location scope and never receives a dispatch log.
    let (status, batch, _) = hub.pull(&pos, &json!({}), 1000).await?;
    ensure!(status == StatusCode::OK);
    let batch = batch.unwrap_or_default();
    ensure!(batch.events.iter().any(|e| e.device_id == pos.device_id));
    ensure!(
        !batch.events.iter().any(|e| e.kind.as_str() == "work_order.dispatched"),
        "the POS received a dispatch"
    );
    // A technician cannot dispatch to itself: the fact is stored (its chain stays whole)
    // but quarantined, and the work order stays with its technician.
    let forged = DomainEvent::WorkOrderDispatched(WorkOrderDispatched {
        work_order_id: WorkOrderId(for_b),
        location_id: LocationId(location),
        technician: a.id(),
        changes: Vec::new(),
    });
    a.agent.append(&forged, hub.clock_now());
    let (status, body) = hub.push(&a.agent, &a.agent.all()).await?;
    ensure!(status == StatusCode::OK, "self-dispatch: {status} {body}");
    ensure!(body["quarantined"][0]["code"] == "not_allowed", "self-dispatch: {body}");
    ensure!(
        hub.count(&format!(
            "SELECT count(*) FROM work_orders WHERE work_order_id = '{for_b}' AND technician = '{}'",
            Uuid::from_bytes(b.id().0)
        ))
        .await?
            == 1,
        "the forged dispatch moved the work order"
    );
    // A POS device is not a technician: work orders cannot be assigned to it.
    let (status, body) = hub
        .console(
            &format!("/api/v1/console/work-orders/{unassigned}/assign"),
            Some(&console.cookie),
            Some(&console.csrf),
            Some(&json!({ "technician": pos.device_id.to_string() })),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "assign to a POS: {status} {body}");
    hub.stop().await
}

/// Signs with `tech`'s key one more copy of its latest work order edit, as a thief holding
/// the key could, and pushes it; the hub's answer.
async fn push_forged_edit(hub: &TestHub, tech: &mut Technician) -> Result<Value> {
    let change = tech
        .agent
        .events
        .iter()
        .rev()
        .find(|e| e.kind.as_str() == "work_order.changed")
        .context("an edit")?
        .payload
        .clone();
    let tip = tech.agent.tip().seq;
    tech.agent.append_raw("work_order.changed", change, hub.clock_now());
    let (status, body) = hub.push(&tech.agent, &tech.agent.batch(tip + 1, tip + 1)).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(body)
}

#[tokio::test]
async fn technician_edits_reach_the_console_and_reassignment_moves_the_whole_document() -> Result<()>
{
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Plumbing Co").await?;
    let mut a = Technician::new(hub.agent_as(tenant, location, 2, "technician").await?);
    let mut b = Technician::new(hub.agent_as(tenant, location, 3, "technician").await?);
    let console = manager(&hub, tenant).await?;
    let id = create(&hub, &console, "Water heater").await?;
    let edit_path = format!("/api/v1/console/work-orders/{id}/edit");
    post(&hub, &console, &edit_path, &json!({ "edit": "add_note", "text": "Gate code 4411" }))
        .await?;
    let dispatched = assign(&hub, &console, id, a.id()).await?;
    ensure!(dispatched["dispatched"] == json!(true), "{dispatched}");
    a.pull(&hub).await?;
    let view = a.state.work_orders[&id].view().context("A has the document")?;
    ensure!(view.notes.len() == 1 && view.technician == Some(a.id()));
    let item = view.checklist[0].id;

    // A works the job offline, then syncs.
    hub.clock.advance(60_000);
    a.edit(&hub, id, WorkOrderEdit::SetStatus { status: WorkOrderStatus::OnSite }).await?;
    a.edit(&hub, id, WorkOrderEdit::TickChecklistItem { item_id: item, done: true }).await?;
    a.edit(
        &hub,
        id,
        WorkOrderEdit::AddPart {
            name: "Copper pipe".into(),
            sku: Some("CP-15".into()),
            qty: Qty::milli(375),
            unit_price: Money(12_99),
        },
    )
    .await?;
    a.edit(&hub, id, WorkOrderEdit::AddLabour { minutes: 50, rate_per_hour: Money(85_00) }).await?;
    a.edit(&hub, id, WorkOrderEdit::AddNote { text: "Old heater corroded".into() }).await?;
    let row = listed(&hub, &console, id).await?;
    ensure!(row["status"] == "on_site", "{row}");
    // 0.375 at 12.99 = 4.87; 50 min at 85.00/h = 70.83.
    ensure!(row["parts_total"] == 4_87 && row["labour_total"] == 70_83, "{row}");
    ensure!(row["total"] == 4_87 + 70_83 && row["checklist_done"] == 1, "{row}");
    ensure!(row["technician"] == json!(Uuid::from_bytes(a.id().0)), "{row}");

    // The dispatcher edits while A holds it, concurrently with an edit A makes before it
    // syncs: both survive on both sides, and the dispatcher's reaches A through its log.
    post(
        &hub,
        &console,
        &edit_path,
        &json!({ "edit": "add_note", "text": "Customer home after 3" }),
    )
    .await?;
    a.edit(&hub, id, WorkOrderEdit::AddNote { text: "Leaving for parts".into() }).await?;
    a.pull(&hub).await?;
    ensure!(a.state.work_orders[&id].view().context("view")?.notes.len() == 4);
    ensure!(listed(&hub, &console, id).await?["notes"] == 4);

    // Reassigned to B: B receives the whole document, A's edits and the dispatcher's.
    assign(&hub, &console, id, b.id()).await?;
    b.pull(&hub).await?;
    let at_b = b.state.work_orders[&id].view().context("B has the document")?;
    let mut notes: Vec<&str> = at_b.notes.iter().map(|n| n.text.as_str()).collect();
    notes.sort_unstable();
    ensure!(
        notes
            == [
                "Customer home after 3",
                "Gate code 4411",
                "Leaving for parts",
                "Old heater corroded"
            ],
        "{notes:?}"
    );
    ensure!(at_b.status == WorkOrderStatus::OnSite && at_b.totals.total == Money(4_87 + 70_83));
    ensure!(at_b.technician == Some(b.id()));

    // A learns the job moved on, and its device refuses further edits.
    let before = a.state.work_orders[&id].changes.len();
    a.pull(&hub).await?;
    ensure!(a.state.work_orders[&id].technician() == Some(b.id()));
    let refused = decide(
        &Command::EditWorkOrder {
            work_order_id: WorkOrderId(id),
            device: a.id(),
            at_ms: hub.clock_now() as i64,
            edit: WorkOrderEdit::AddNote { text: "still here".into() },
        },
        &a.state,
        &Policy::default(),
        &mut NoIds,
    );
    ensure!(matches!(refused, Err(CommandError::NotAssigned { .. })), "{refused:?}");
    // B edits; the dispatcher edits; none of it reaches A.
    b.edit(&hub, id, WorkOrderEdit::SetStatus { status: WorkOrderStatus::Done }).await?;
    post(&hub, &console, &edit_path, &json!({ "edit": "add_note", "text": "Invoice sent" }))
        .await?;
    let batch = a.pull(&hub).await?;
    ensure!(batch.events.is_empty(), "A still receives the work order: {batch:?}");
    ensure!(a.state.work_orders[&id].changes.len() == before);
    // A's key in a thief's hands signs an edit all the same: stored, not folded.
    ensure!(push_forged_edit(&hub, &mut a).await?["quarantined"][0]["code"] == "not_assigned");
    b.pull(&hub).await?;
    ensure!(b.state.work_orders[&id].view().context("view")?.notes.len() == 5);
    let row = listed(&hub, &console, id).await?;
    ensure!(row["status"] == "done" && row["notes"] == 5, "{row}");
    // The console's full view agrees with B's merged document.
    let (status, full) = hub
        .console(&format!("/api/v1/console/work-orders/{id}"), Some(&console.cookie), None, None)
        .await?;
    ensure!(status == StatusCode::OK, "{status} {full}");
    let at_b = b.state.work_orders[&id].view().context("view")?;
    ensure!(full["totals"] == serde_json::to_value(at_b.totals)?, "{full}");
    ensure!(full["notes"] == serde_json::to_value(&at_b.notes)?, "{full}");
    // Assigning again to the same technician sends nothing new.
    let again = assign(&hub, &console, id, b.id()).await?;
    ensure!(again["dispatched"] == json!(false), "{again}");
    hub.stop().await
}

#[tokio::test]
async fn work_order_writes_need_a_manager_and_valid_input() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, _) = hub.tenant("Plumbing Co").await?;
    let console = manager(&hub, tenant).await?;
    hub.console_user(tenant, "viewer@example.com", "viewer").await?;
    let viewer = hub.console_session(tenant, "viewer@example.com").await?;
    let id = create(&hub, &console, "Water heater").await?;
    let new = json!({ "title": "x", "customer": "y", "site_address": "z",
                      "window_start_ms": 0, "window_end_ms": 1, "currency": "USD" });
    let (status, _) = hub
        .console(
            "/api/v1/console/work-orders",
            Some(&viewer.cookie),
            Some(&viewer.csrf),
            Some(&new),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "viewer creates: {status}");
    let (status, _) =
        hub.console("/api/v1/console/work-orders", Some(&console.cookie), None, Some(&new)).await?;
    ensure!(status == StatusCode::FORBIDDEN, "no CSRF token: {status}");
    let (status, _) =
        hub.console("/api/v1/console/work-orders", Some(&viewer.cookie), None, None).await?;
    ensure!(status == StatusCode::OK, "viewer lists: {status}");
    for (body, want) in [
        (
            json!({ "title": " ", "customer": "y", "site_address": "z", "window_start_ms": 0,
                 "window_end_ms": 1, "currency": "USD" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "title": "x", "customer": "y", "site_address": "z", "window_start_ms": 5,
                 "window_end_ms": 1, "currency": "USD" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "title": "x", "customer": "y", "site_address": "z", "window_start_ms": 0,
                 "window_end_ms": 1, "currency": "XXX" }),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, reply) = hub
            .console(
                "/api/v1/console/work-orders",
                Some(&console.cookie),
                Some(&console.csrf),
                Some(&body),
            )
            .await?;
        ensure!(status == want, "{body}: {status} {reply}");
    }
    let edit = |body: Value| {
        let path = format!("/api/v1/console/work-orders/{id}/edit");
        let console = &console;
        let hub = &hub;
        async move { hub.console(&path, Some(&console.cookie), Some(&console.csrf), Some(&body)).await }
    };
    let (status, _) =
        edit(json!({ "edit": "add_part", "name": "x", "sku": null, "qty": 0, "unit_price": 1 }))
            .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "zero quantity: {status}");
    let (status, _) =
        edit(json!({ "edit": "tick_checklist_item", "item_id": Uuid::nil(), "done": true }))
            .await?;
    ensure!(status == StatusCode::NOT_FOUND, "unknown item: {status}");
    let (status, _) = edit(json!({ "edit": "set_status", "status": "cancelled" })).await?;
    ensure!(status == StatusCode::OK);
    let (status, _) = edit(json!({ "edit": "add_note", "text": "too late" })).await?;
    ensure!(status == StatusCode::CONFLICT, "edit a cancelled job: {status}");
    let (status, _) =
        edit(json!({ "edit": "add_note", "text": "x", "tenant_id": Uuid::nil() })).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "unknown field: {status}");
    let missing = Uuid::now_v7();
    let (status, _) = hub
        .console(
            &format!("/api/v1/console/work-orders/{missing}"),
            Some(&console.cookie),
            None,
            None,
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND);
    let row = listed(&hub, &console, id).await?;
    ensure!(row["status"] == "cancelled", "{row}");
    hub.stop().await
}

/// A request signed as `agent` with `method` (the blob endpoints take `GET` too).
async fn blob_request(
    hub: &TestHub,
    agent: &Agent,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, Vec<u8>)> {
    let signed =
        agent.key.sign_request(agent.device_id, method.as_str(), path, hub.clock_now(), &body)?;
    let mut request = hub.http.request(method, format!("{}{path}", hub.base)).body(body);
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    Ok((response.status(), response.bytes().await?.to_vec()))
}

/// An attachment on both backends (on Citus through a hub whose statements may touch one
/// shard only): the technician's change names it, the technician uploads it in chunks,
/// the console's job page shows it and serves it, and once the job moves to another
/// technician, that technician reads it and the first no longer does.
#[tokio::test]
async fn an_attachment_travels_through_the_hub_on_postgres_and_citus() -> Result<()> {
    use thorbis_domain::attachment::{AttachmentKind, BlobRef};
    use thorbis_sync_protocol::BLOB_CHUNK_BYTES;
    for backend in [thorbis_hub::testing::Backend::Postgres, thorbis_hub::testing::Backend::Citus] {
        let setup = TestHub::start_on_backend(backend).await?;
        let mut strict_db = setup.db.clone();
        if backend == thorbis_hub::testing::Backend::Citus {
            strict_db
                .config
                .app_url
                .push_str(" options='-c citus.multi_task_query_log_level=error'");
        }
        let hub = TestHub::start_on(strict_db).await?;
        let (tenant, location) = setup.tenant("Roofing Co").await?;
        let mut a = Technician::new(setup.agent_as(tenant, location, 2, "technician").await?);
        let b = Technician::new(setup.agent_as(tenant, location, 3, "technician").await?);
        setup.console_user(tenant, "dispatch@example.com", "manager").await?;
        let console = hub.console_session(tenant, "dispatch@example.com").await?;
        let id = create(&hub, &console, "Roof survey").await?;
        assign(&hub, &console, id, a.id()).await?;
        a.pull(&hub).await?;

        let mut report = b"%PDF-1.4\n".to_vec();
        report.resize(BLOB_CHUNK_BYTES + 4_321, b'-');
        let blob = BlobRef::of(&report)?;
        let attach = WorkOrderEdit::AddAttachment {
            blob,
            kind: AttachmentKind::File,
            name: "survey.pdf".into(),
        };
        a.edit(&hub, id, attach).await?;
        for at in [0, BLOB_CHUNK_BYTES] {
            let end = report.len().min(at + BLOB_CHUNK_BYTES);
            let path = format!("{}/upload/{at}", blob.id.path());
            let (status, body) = blob_request(
                &hub,
                &a.agent,
                reqwest::Method::POST,
                &path,
                report[at..end].to_vec(),
            )
            .await?;
            ensure!(status == StatusCode::OK, "{backend:?} chunk at {at}: {status}");
            let state: Value = serde_json::from_slice(&body)?;
            ensure!(state["complete"] == json!(end == report.len()), "{state}");
        }

        let page = format!("/console/dispatch/jobs/{id}");
        let (status, html) = hub.console(&page, Some(&console.cookie), None, None).await?;
        ensure!(status == StatusCode::OK, "{backend:?} {page}: {status}");
        let html = html.as_str().unwrap_or_default().to_owned();
        ensure!(html.contains("data-held=\"true\"") && html.contains("survey.pdf"), "{html}");
        let file = hub
            .http
            .get(format!("{}{page}/files/{}", hub.base, blob.id))
            .header(reqwest::header::COOKIE, &console.cookie)
            .send()
            .await?;
        ensure!(file.status() == StatusCode::OK, "{backend:?} the file: {}", file.status());
        ensure!(file.bytes().await? == report, "the console serves the bytes as uploaded");

        assign(&hub, &console, id, b.id()).await?;
        let from = format!("{}/from/0", blob.id.path());
        let (status, bytes) =
            blob_request(&hub, &b.agent, reqwest::Method::GET, &from, Vec::new()).await?;
        ensure!(status == StatusCode::OK && bytes == report, "{backend:?} B reads it: {status}");
        let (status, _) =
            blob_request(&hub, &a.agent, reqwest::Method::GET, &from, Vec::new()).await?;
        ensure!(status == StatusCode::NOT_FOUND, "{backend:?} A still reads it: {status}");
        hub.stop().await?;
        setup.stop().await?;
    }
    Ok(())
}
