//! Shared test scaffolding: a hub on 127.0.0.1:0 over a fresh database, an admin client,
//! and a simulated agent that builds signed event chains with `thorbis-sync-protocol` and
//! `thorbis-domain` directly (no dependency on the agent crate).

#![allow(dead_code)]

pub mod pages;

use std::sync::Arc;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};
use thorbis_domain::DomainEvent;
use thorbis_domain::events::{
    LineAdded, OrderClosed, OrderOpened, PaymentTaken, ServiceMode, Tender,
};
use thorbis_domain::ids::{ItemId, LineId, OrderId, PaymentId, StaffId, TaxRateId};
use thorbis_domain::money::{Currency, Money, Qty};
use thorbis_domain::tax::TaxRate;
use thorbis_hub::clock::ManualClock;
use thorbis_hub::identity::KeyWrap;
use thorbis_hub::testing::{Backend, TestDatabase, database_on, fresh_database};
use thorbis_hub::{AppState, Limits, Settings};
use thorbis_sync_protocol::{
    Batch, ChainTip, DeviceId, DeviceKey, Event, EventKind, HlcClock, encode_batch,
};
use tokio::sync::oneshot;
use uuid::Uuid;

/// The key-encryption key of every test hub (a hub binary on a test's database takes it
/// as [`key_encryption_key_hex`]).
pub const KEY_ENCRYPTION_KEY: [u8; 32] = [0x4b; 32];

/// [`KEY_ENCRYPTION_KEY`] as `THORBIS_HUB_KEY_ENCRYPTION_KEY` wants it.
pub fn key_encryption_key_hex() -> String {
    thorbis_hub::identity::hex(&KEY_ENCRYPTION_KEY)
}

/// The hub's clock in every test: 2024-07-03, fixed unless a test moves it.
pub const NOW_MS: u64 = 1_720_000_000_000;
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const CONSOLE_PASSWORD: &str = "correct horse battery staple";

/// A console session as a browser holds it.
pub struct Console {
    /// `thorbis_console=...`, ready for a `Cookie` header.
    pub cookie: String,
    /// The whole `Set-Cookie` header login answered with.
    pub set_cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}
/// Small enough that a test can exceed it cheaply.
pub const MAX_BATCH_EVENTS: usize = 100;
pub const BODY_LIMIT: usize = 256 * 1024;

pub struct TestHub {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDatabase,
    pub clock: Arc<ManualClock>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestHub {
    pub async fn start() -> Result<Self> {
        Self::start_on(tokio::task::spawn_blocking(fresh_database).await?).await
    }

    /// A hub over a fresh database on `backend` (plain Postgres or Citus).
    pub async fn start_on_backend(backend: Backend) -> Result<Self> {
        Self::start_on(tokio::task::spawn_blocking(move || database_on(backend)).await?).await
    }

    /// A hub process of its own (pool, listener, server) over an existing database.
    pub async fn start_on(db: TestDatabase) -> Result<Self> {
        let limits = Limits {
            max_batch_events: MAX_BATCH_EVENTS,
            body_limit_bytes: BODY_LIMIT,
            ..Limits::default()
        };
        Self::start_with(db, limits).await
    }

    /// A hub with the given limits over `db`.
    pub async fn start_with(db: TestDatabase, limits: Limits) -> Result<Self> {
        let clock = Arc::new(ManualClock::new(NOW_MS));
        let state: AppState = thorbis_hub::prepare(
            &db.config,
            clock.clone(),
            Settings {
                limits,
                admin_token: Some(ADMIN_TOKEN.into()),
                // Tenant keys are sealed in every test, as in production.
                key_wrap: Some(Arc::new(KeyWrap::new(&KEY_ENCRYPTION_KEY)?)),
                secure_cookies: false,
            },
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(thorbis_hub::serve(listener, state, async {
            let _ = rx.await;
        }));
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            db,
            clock,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }

    /// A superuser connection: sees every row, for counting what was (not) stored.
    pub async fn superuser(&self) -> Result<tokio_postgres::Client> {
        connect(&self.db.superuser_url).await
    }

    /// A connection as the app role, set up as the hub's own are.
    pub async fn app_role(&self) -> Result<tokio_postgres::Client> {
        let config = thorbis_hub::db::app_config(&self.db.config.app_url)?;
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The seq of `tenant`'s reference log tip: its device records (every enrollment
    /// publishes one) and catalog. Tests put it in a pull's vector to get only terminals'
    /// events.
    pub async fn log_tip(&self, tenant: Uuid) -> Result<u64> {
        let sql = format!(
            "SELECT coalesce(max(seq), 0) FROM events
              WHERE tenant_id = '{tenant}' AND device_id = '{tenant}'"
        );
        Ok(u64::try_from(self.count(&sql).await?)?)
    }

    pub async fn count(&self, sql: &str) -> Result<i64> {
        let client = self.superuser().await?;
        Ok(client.query_one(sql, &[]).await?.get(0))
    }

    pub async fn admin(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// Creates a tenant with one location; returns (tenant, location).
    pub async fn tenant(&self, name: &str) -> Result<(Uuid, Uuid)> {
        let (status, body) = self.admin("/api/v1/admin/tenants", &json!({ "name": name })).await?;
        ensure!(status == StatusCode::OK, "create tenant: {status} {body}");
        let tenant: Uuid = serde_json::from_value(body["tenant_id"].clone())?;
        let location = self.location(tenant, "Main street").await?;
        Ok((tenant, location))
    }

    pub async fn location(&self, tenant: Uuid, name: &str) -> Result<Uuid> {
        let (status, body) = self
            .admin(&format!("/api/v1/admin/tenants/{tenant}/locations"), &json!({ "name": name }))
            .await?;
        ensure!(status == StatusCode::OK, "create location: {status} {body}");
        Ok(serde_json::from_value(body["location_id"].clone())?)
    }

    pub async fn code(&self, tenant: Uuid, location: Uuid, role: &str) -> Result<String> {
        let (status, body) = self
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/enrollment-codes"),
                &json!({ "location_id": location, "role": role, "ttl_ms": 600_000 }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "create code: {status} {body}");
        Ok(body["code"].as_str().context("code")?.to_owned())
    }

    pub async fn enroll_raw(&self, code: &str, key: &DeviceKey) -> Result<(StatusCode, Value)> {
        let response = self
            .http
            .post(format!("{}/api/v1/enroll", self.base))
            .json(&json!({ "code": code, "public_key": key.public_key() }))
            .send()
            .await?;
        Ok((response.status(), response.json().await?))
    }

    /// Enrolls a device with key seed `seed` at `location`.
    pub async fn agent(&self, tenant: Uuid, location: Uuid, seed: u8) -> Result<Agent> {
        self.agent_as(tenant, location, seed, "pos").await
    }

    /// Enrolls a device of `role` with key seed `seed` at `location`.
    pub async fn agent_as(
        &self,
        tenant: Uuid,
        location: Uuid,
        seed: u8,
        role: &str,
    ) -> Result<Agent> {
        let code = self.code(tenant, location, role).await?;
        let key = DeviceKey::from_seed(&[seed; 32])?;
        let (status, body) = self.enroll_raw(&code, &key).await?;
        ensure!(status == StatusCode::OK, "enroll: {status} {body}");
        let device_id: DeviceId = serde_json::from_value(body["credential"]["device_id"].clone())?;
        Ok(Agent::new(device_id, seed, tenant))
    }

    /// Sends a signed request as `agent`, at the hub's current time.
    pub async fn signed(
        &self,
        agent: &Agent,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response> {
        let mut request =
            signed_post(&self.http, &self.base, agent, path, self.clock_now(), &body)?;
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Ok(request.body(body).send().await?)
    }

    /// Adds a manager named `name` (PIN 5511) through the admin API.
    #[allow(dead_code, reason = "not every test binary approves anything")]
    pub async fn manager(&self, tenant: Uuid, name: &str) -> Result<StaffId> {
        let (status, body) = self
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/staff"),
                &json!({ "name": name, "role": "manager", "pin": "5511", "active": true }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{body}");
        Ok(StaffId(serde_json::from_value(body["staff_id"].clone())?))
    }

    /// Adds a console user through the admin API, with [`CONSOLE_PASSWORD`].
    pub async fn console_user(&self, tenant: Uuid, email: &str, role: &str) -> Result<()> {
        let (status, body) = self
            .admin(
                &format!("/api/v1/admin/tenants/{tenant}/console-users"),
                &json!({ "email": email, "password": CONSOLE_PASSWORD, "role": role }),
            )
            .await?;
        ensure!(status == StatusCode::OK, "create console user: {status} {body}");
        Ok(())
    }

    /// Logs in; returns the status, the body and, on success, the session.
    pub async fn console_login(
        &self,
        tenant: Uuid,
        email: &str,
        password: &str,
    ) -> Result<(StatusCode, Value, Option<Console>)> {
        let response = self
            .http
            .post(format!("{}/api/v1/console/login", self.base))
            .json(&json!({ "tenant_id": tenant, "email": email, "password": password }))
            .send()
            .await?;
        let status = response.status();
        let set_cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = response.json().await?;
        let session = match (set_cookie, body["csrf_token"].as_str()) {
            (Some(set_cookie), Some(csrf)) => Some(Console {
                cookie: set_cookie.split(';').next().unwrap_or_default().to_owned(),
                set_cookie,
                csrf: csrf.to_owned(),
            }),
            _ => None,
        };
        Ok((status, body, session))
    }

    /// Logs in as a user created with [`CONSOLE_PASSWORD`], which must succeed.
    pub async fn console_session(&self, tenant: Uuid, email: &str) -> Result<Console> {
        let (status, body, session) = self.console_login(tenant, email, CONSOLE_PASSWORD).await?;
        ensure!(status == StatusCode::OK, "console login: {status} {body}");
        session.context("no session cookie or CSRF token")
    }

    /// A console request with the session's cookie (if any) and the given CSRF header (if
    /// any): GET without a body, POST with one.
    pub async fn console(
        &self,
        path: &str,
        cookie: Option<&str>,
        csrf: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.base);
        let mut request = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    pub fn clock_now(&self) -> u64 {
        use thorbis_hub::clock::Clock as _;
        self.clock.now_ms()
    }

    pub async fn push(&self, agent: &Agent, batch: &Batch) -> Result<(StatusCode, Value)> {
        let response = self.signed(agent, "/api/v1/sync/push", encode_batch(batch), &[]).await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// Pulls as JSON; returns (status, batch, more).
    pub async fn pull(
        &self,
        agent: &Agent,
        have: &Value,
        limit: usize,
    ) -> Result<(StatusCode, Option<Batch>, bool)> {
        self.pull_waiting(agent, have, limit, 0).await
    }

    /// Pulls as JSON, long-polling up to `wait_ms` when there is nothing yet.
    pub async fn pull_waiting(
        &self,
        agent: &Agent,
        have: &Value,
        limit: usize,
        wait_ms: u64,
    ) -> Result<(StatusCode, Option<Batch>, bool)> {
        let body =
            serde_json::to_vec(&json!({ "have": have, "limit": limit, "wait_ms": wait_ms }))?;
        let response = self
            .signed(agent, "/api/v1/sync/pull", body, &[("accept", "application/json")])
            .await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if status != StatusCode::OK {
            return Ok((status, None, false));
        }
        let batch: Batch = serde_json::from_value(value["batch"].clone())?;
        Ok((status, Some(batch), value["more"].as_bool().unwrap_or(false)))
    }
}

pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A terminal as the hub sees it: a seeded key, a chain and a clock.
pub struct Agent {
    pub device_id: DeviceId,
    pub tenant: Uuid,
    pub key: DeviceKey,
    pub events: Vec<Event>,
    clock: HlcClock,
}

impl Agent {
    pub fn new(device_id: DeviceId, seed: u8, tenant: Uuid) -> Self {
        Self {
            device_id,
            tenant,
            key: DeviceKey::from_seed(&[seed; 32]).expect("seeded key"),
            events: Vec::new(),
            clock: HlcClock::new(60_000),
        }
    }

    pub fn tip(&self) -> ChainTip {
        self.events.last().map_or(ChainTip::GENESIS, ChainTip::of)
    }

    /// Appends an event of any kind with raw payload.
    pub fn append_raw(&mut self, kind: &str, payload: Vec<u8>, now_ms: u64) -> Event {
        let tip = self.tip();
        let event = Event {
            device_id: self.device_id,
            seq: tip.seq + 1,
            hlc: self.clock.tick(now_ms),
            prev_hash: tip.hash,
            kind: EventKind::new(kind).expect("valid kind"),
            payload,
        };
        self.events.push(event.clone());
        event
    }

    pub fn append(&mut self, event: &DomainEvent, now_ms: u64) -> Event {
        self.append_raw(event.kind(), event.encode_payload(), now_ms)
    }

    /// Events `from..=to` (1-based seqs) with a checkpoint on the last.
    pub fn batch(&self, from: u64, to: u64) -> Batch {
        let events: Vec<Event> =
            self.events.iter().filter(|e| e.seq >= from && e.seq <= to).cloned().collect();
        let last = events.last().expect("non-empty range");
        let checkpoint = self.key.sign_checkpoint(self.device_id, ChainTip::of(last));
        Batch { events, checkpoints: vec![checkpoint] }
    }

    /// Everything written so far.
    pub fn all(&self) -> Batch {
        self.batch(1, self.tip().seq)
    }

    /// Writes a sale: two coffees at 3.50 with 8% tax on top, paid cash, closed.
    /// Returns the order id; the order's total is 7.56.
    pub fn sale(&mut self, n: u8, now_ms: u64) -> Uuid {
        self.sale_numbered(u32::from(n), now_ms)
    }

    /// [`Agent::sale`] with a wider range of order numbers.
    pub fn sale_numbered(&mut self, n: u32, now_ms: u64) -> Uuid {
        let [b0, b1, b2, b3] = n.to_be_bytes();
        let id = |kind: u8| {
            Uuid::from_bytes([b0, b1, b2, b3, kind, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1])
        };
        let order_id = OrderId(id(1));
        let item = ItemId(Uuid::from_bytes([9; 16]));
        let events = [
            DomainEvent::OrderOpened(OrderOpened {
                order_id,
                currency: Currency::USD,
                mode: ServiceMode::Retail,
                table: None,
                guests: None,
                opened_by: None,
            }),
            DomainEvent::LineAdded(LineAdded {
                order_id,
                line_id: LineId(id(2)),
                item_id: item,
                name: "Coffee".into(),
                unit_price: Money(3_50),
                qty: Qty(2000),
                modifiers: vec![],
                seat: None,
                course: None,
                taxes: vec![TaxRate {
                    id: TaxRateId(Uuid::from_bytes([7; 16])),
                    name: "Sales tax 8%".into(),
                    ppm: 80_000,
                    inclusive: false,
                }],
                station: None,
                note: None,
                price_override_by: None,
            }),
            DomainEvent::PaymentTaken(PaymentTaken {
                order_id,
                payment_id: PaymentId(id(3)),
                amount: Money(7_56),
                tip: Money(0),
                tender: Tender::Cash { tendered: Money(10_00), change: Money(2_44) },
                drawer_session: None,
                taken_by: None,
            }),
            DomainEvent::OrderClosed(OrderClosed { order_id, closed_by: None }),
        ];
        for (i, e) in events.iter().enumerate() {
            self.append(e, now_ms + i as u64);
        }
        order_id.0
    }
}

/// Pushes the whole chain of each of `agents` at once, one push each, untimed: warms a
/// hub's pool and prepared statements before a measurement.
pub async fn push_each(hub: &TestHub, agents: &[Agent]) -> Result<()> {
    let pushes = agents.iter().map(|agent| async move {
        let (status, body) = hub.push(agent, &agent.all()).await?;
        ensure!(status == StatusCode::OK, "push refused: {status} {body}");
        Ok::<_, anyhow::Error>(())
    });
    for result in futures_util::future::join_all(pushes).await {
        result?;
    }
    Ok(())
}

/// The `thorbis-hub` binary (`binary`, from the caller's `CARGO_BIN_EXE_thorbis-hub`) over
/// `db` on a port of its own choosing, with the test admin token and key-encryption key and
/// the extra variables `env`; returns it once it says where it serves, with that URL.
pub fn hub_binary(
    binary: &str,
    db: &TestDatabase,
    env: &[(&str, String)],
) -> Result<(std::process::Child, String)> {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    let mut command = Command::new(binary);
    command
        .env("THORBIS_HUB_DATABASE_URL", &db.config.owner_url)
        .env("THORBIS_HUB_APP_DATABASE_URL", &db.config.app_url)
        .env("THORBIS_HUB_LISTEN", "127.0.0.1:0")
        .env("THORBIS_HUB_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("THORBIS_HUB_KEY_ENCRYPTION_KEY", key_encryption_key_hex())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().context("the hub's stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    if let Ok(url) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        return Ok((child, url));
    }
    let _ = child.kill();
    let _ = child.wait();
    anyhow::bail!("the hub binary did not say where it serves")
}

/// A POST to `base` + `path` carrying `agent`'s signed headers over `body` at `ts` (the
/// body itself is the caller's to attach).
pub fn signed_post(
    http: &reqwest::Client,
    base: &str,
    agent: &Agent,
    path: &str,
    ts: u64,
    body: &[u8],
) -> Result<reqwest::RequestBuilder> {
    let signed = agent.key.sign_request(agent.device_id, "POST", path, ts, body)?;
    let mut request = http.post(format!("{base}{path}"));
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    Ok(request)
}

/// Pushes every event of `agents` to `hub`, each agent's chain in order in pushes of
/// `batch` events, all agents at once, and returns the seconds it took. The clients' work
/// (building, encoding and signing every push) is done before the clock starts: the
/// figure is the hub's, not the simulated devices'.
pub async fn timed_pushes(hub: &TestHub, agents: &[Agent], batch: u64) -> Result<f64> {
    let path = "/api/v1/sync/push";
    let ts = hub.clock_now();
    let mut pushes: Vec<Vec<reqwest::RequestBuilder>> = Vec::new();
    for agent in agents {
        let tip = agent.tip().seq;
        let mut requests = Vec::new();
        for from in (1..=tip).step_by(usize::try_from(batch)?) {
            let body = encode_batch(&agent.batch(from, (from + batch - 1).min(tip)));
            requests.push(signed_post(&hub.http, &hub.base, agent, path, ts, &body)?.body(body));
        }
        pushes.push(requests);
    }
    let started = std::time::Instant::now();
    let tasks = pushes.into_iter().map(|requests| async move {
        for request in requests {
            let response = request.send().await?;
            let status = response.status();
            ensure!(status == StatusCode::OK, "push refused: {status} {}", response.text().await?);
        }
        Ok::<_, anyhow::Error>(())
    });
    for result in futures_util::future::join_all(tasks).await {
        result?;
    }
    Ok(started.elapsed().as_secs_f64())
}
