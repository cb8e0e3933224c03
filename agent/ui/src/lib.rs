//! The terminal UI: server-rendered HTML pages served on loopback, with a little vanilla
//! JavaScript and server-sent events for the kitchen display. No build step and no network:
//! every byte a screen needs (CSS from `thorbis_web`, the script) is compiled into the
//! binary, so the UI works with the internet down.
//!
//! Screens: sign-in by staff PIN (`signin.rs`), the restaurant POS (`pos/`: open checks, a
//! check with its menu grid, modifiers, seats and courses, send to kitchen, check
//! operations and tenders, receipt and copy), the kitchen display (`kds/`: tickets per station, age timers,
//! bump and recall, all-day counts, the expo view, live over SSE), the 86 board
//! (`availability.rs`), the retail register (`register/`: scan or search, scale labels,
//! stock on hand, price overrides and discounts approved inline, cash and card;
//! `returns.rs`: returns against a receipt's barcode) and the cash drawer (`drawer.rs`:
//! float, pay-ins and pay-outs, audited no-sales, blind close with over/short and the Z
//! report). Every page carries the indicator bar (online/offline, sync backlog,
//! printers). On signed-in screens `assets/app.js` posts forms with `fetch` and swaps the
//! answer's `<main>` into the page (a plain form post without it).
//!
//! Rules this crate keeps:
//! - **Loopback only.** [`bind_loopback`] refuses any address but 127.0.0.1; the Tauri shell
//!   and a local browser are the only clients.
//! - **No business rule here.** Forms are parsed (text to numbers, money to minor units with
//!   no float) and become `domain` commands run through [`Store::execute_all`]; a refusal is
//!   shown inline next to the form and nothing is written.
//! - **HTML is safe by construction.** Every screen is a `maud` template: an interpolated
//!   value is escaped by the macro, and nothing is built with `format!`. The shell, the
//!   stylesheet and the components come from `thorbis_web`, shared with the hub console.
//! - **Roles are checked by extractors** (`access.rs`): a handler names who may call it in
//!   its signature.
//! - **Reads go through `Store`'s methods**, each on the index it needs; live screens look
//!   for change by the chain tips ([`Store::change_mark`]), never by counting events.
//! - **The store is shared, briefly.** The sync shell's [`SharedStore`], locked for one
//!   short call on the blocking pool, never across an await; every write through the UI
//!   also wakes the sync peers, so a sale leaves for the hub and the kitchen at once.

mod access;
mod action;
mod approval;
mod availability;
mod drawer;
mod field;
mod guard;
mod held;
mod html;
mod kds;
mod pins;
mod pos;
mod printing;
mod register;
mod returns;
mod scans;
mod session;
mod sessions;
mod signin;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, OnceLock};

use maud::html;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use thorbis_agent::Store;
use thorbis_agent::StoreError;
use thorbis_agent::clock::Clock;
use thorbis_agent::print::PrintService;
use thorbis_agent::sync::SharedStore;

pub use guard::form_token_in;
pub use register::default_scale_labels;
pub use scans::{ScanFeed, spawn_serial_scanner};
pub use session::SessionKey;

/// Whether the terminal reaches the hub, and how much it still has to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// No hub is configured on this terminal.
    NotConfigured,
    /// Connected to the hub.
    Online {
        /// Events of this terminal the hub has not acknowledged yet.
        backlog: u64,
    },
    /// A hub is configured but unreachable; the terminal keeps selling.
    Offline {
        /// Events waiting to be sent.
        backlog: u64,
    },
}

/// What the indicator bar asks about sync. The sync engine implements it; until one is
/// plugged in, [`NoSync`] says "not configured".
pub trait SyncStatus: Send + Sync + std::fmt::Debug {
    /// The current state.
    fn sync_state(&self) -> SyncState;
}

/// The running sync shell, as the indicator bar sees it: online while any peer answers,
/// with the largest outbox as the backlog.
impl SyncStatus for thorbis_agent::sync::StatusSource {
    fn sync_state(&self) -> SyncState {
        let status = self.get();
        if status.peers.is_empty() {
            return SyncState::NotConfigured;
        }
        let backlog = status.peers.values().map(|p| p.outbox_depth).max().unwrap_or(0);
        if status.peers.values().any(|p| p.online) {
            SyncState::Online { backlog }
        } else {
            SyncState::Offline { backlog }
        }
    }
}

/// The sync status of a terminal with no hub configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSync;

impl SyncStatus for NoSync {
    fn sync_state(&self) -> SyncState {
        SyncState::NotConfigured
    }
}

/// What the UI's handlers share.
#[derive(Clone, Debug)]
pub struct UiState {
    store: SharedStore,
    print: Option<Arc<PrintService>>,
    clock: Arc<dyn Clock>,
    sync: Arc<dyn SyncStatus>,
    key: Arc<SessionKey>,
    /// Who is signed in.
    sessions: Arc<session::Sessions>,
    /// PIN checks: one at a time, at a bounded rate.
    pins: Arc<pins::PinGate>,
    /// How the register reads scale labels (variable-measure barcodes).
    scale_labels: Arc<thorbis_drivers::variable_measure::VariableMeasureConfig>,
    /// Codes from a serial scanner, for the register pages.
    scans: ScanFeed,
    /// Bumped after every write made through the UI, so live pages refresh at once (they
    /// also look for writes made elsewhere, such as events arriving by sync).
    changed: Arc<watch::Sender<u64>>,
    /// How photos and files are kept (technician mode).
    attachments: thorbis_media::Limits,
}

impl UiState {
    /// The UI over `store`, printing through `print` (if any) with `clock` for sessions and
    /// ticket ages.
    #[must_use]
    pub fn new(
        store: SharedStore,
        print: Option<Arc<PrintService>>,
        clock: Arc<dyn Clock>,
        key: SessionKey,
    ) -> Self {
        Self {
            store,
            print,
            clock,
            sync: Arc::new(NoSync),
            key: Arc::new(key),
            sessions: Arc::default(),
            pins: Arc::default(),
            scale_labels: Arc::new(register::default_scale_labels()),
            scans: ScanFeed::default(),
            changed: Arc::new(watch::channel(0).0),
            attachments: thorbis_media::Limits::default(),
        }
    }

    /// Replaces the register's scale-label layouts ([`default_scale_labels`] otherwise).
    #[must_use]
    pub fn with_scale_labels(
        mut self,
        layouts: thorbis_drivers::variable_measure::VariableMeasureConfig,
    ) -> Self {
        self.scale_labels = Arc::new(layouts);
        self
    }

    /// How photos and files attached to jobs are kept: the longest edge of a picture and
    /// the largest file (the configuration's `[attachments]`).
    #[must_use]
    pub fn with_attachment_limits(mut self, limits: thorbis_media::Limits) -> Self {
        self.attachments = limits;
        self
    }

    /// Replaces the sync status source shown in the indicator bar.
    #[must_use]
    pub fn with_sync(mut self, sync: Arc<dyn SyncStatus>) -> Self {
        self.sync = sync;
        self
    }

    /// Where a serial scanner's codes go ([`spawn_serial_scanner`]): the register pages.
    #[must_use]
    pub fn scan_feed(&self) -> ScanFeed {
        self.scans.clone()
    }

    /// The shared store.
    #[must_use]
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Runs `f` on the store on a blocking thread, holding the lock only for `f`.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, UiError> {
        self.store.run(f).await.map_err(UiError::from)
    }

    /// Tells live pages that something changed, and the sync peers that there may be
    /// events to send.
    fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        self.store.notify_changed();
    }

    fn indicators(&self) -> html::Indicators {
        html::Indicators {
            sync: self.sync.sync_state(),
            printers: self.print.as_ref().map(|p| p.status()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

/// Why a request failed. Expected conditions (a refused command, bad input) are not errors:
/// they are rendered inline by the handlers.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// No one is signed in (or the session expired).
    #[error("sign in first")]
    SignIn,
    /// The signed-in role may not use this screen.
    #[error("this screen is not for your role")]
    Forbidden,
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The request named a host other than this terminal's loopback (DNS rebinding).
    #[error("foreign host")]
    ForeignHost,
    /// A form was posted from a page that is not this UI's.
    #[error("foreign origin")]
    ForeignOrigin,
    /// A form was posted without this session's token (another site's, or a stale page).
    #[error("stale form")]
    StaleForm,
    /// A request body larger than any form of the UI.
    #[error("request too large")]
    TooLarge,
    /// Something broke underneath; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => UiError::NotFound,
            other => UiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            UiError::SignIn => return Redirect::to("/signin").into_response(),
            UiError::Forbidden => {
                (StatusCode::FORBIDDEN, "Not for this role", "This screen is not for your role.")
            }
            UiError::NotFound => (StatusCode::NOT_FOUND, "Not found", "Not found."),
            UiError::ForeignHost => (
                StatusCode::MISDIRECTED_REQUEST,
                "Refused",
                "This terminal answers only its own address.",
            ),
            UiError::ForeignOrigin => {
                (StatusCode::FORBIDDEN, "Refused", "That form did not come from this terminal.")
            }
            UiError::StaleForm => (
                StatusCode::FORBIDDEN,
                "Form out of date",
                "That form is out of date: nothing was done. Go back, reload and try again.",
            ),
            UiError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "Refused", "That request is too large.")
            }
            UiError::Internal(detail) => {
                tracing::error!(%detail, "UI request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    "Something went wrong; nothing was lost.",
                )
            }
        };
        let body = html! { p.msg.err { (text) " " a.btn href="/" { "Back" } } };
        (status, thorbis_web::layout::bare_page(title, body)).into_response()
    }
}

/// Binds `127.0.0.1:port` (0 picks a free port). The UI never listens on another address.
pub async fn bind_loopback(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
        .await
}

/// The request header with which the page's script posts a form it will swap into the
/// page: a redirect answering it is followed here, in-process, saving the browser a round
/// trip.
const SWAP_REQUEST: &str = "x-thorbis-swap";

/// The response header that tells the script the address of the page it got (the redirect's
/// target), for its history.
const SWAP_URL: &str = "x-thorbis-url";

/// The UI's routes.
pub fn router(state: UiState) -> Router {
    let routes = routes(state.clone());
    let inner = routes.clone();
    // The guard is the outer layer: it refuses before anything runs, and the token it sets
    // also serves the page a swapped post is answered with.
    routes
        .layer(axum::middleware::from_fn(move |request, next| {
            follow_swap_redirect(inner.clone(), request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
}

/// For a swapped form post (see [`SWAP_REQUEST`]) answered by a redirect to a page of this
/// UI, answers with that page instead, as the browser's follow-up `GET` would get it (same
/// cookies), naming its address in [`SWAP_URL`]. A redirect that sets a cookie (signing
/// in or out) goes back to the browser as it is, so the cookie applies first.
async fn follow_swap_redirect(
    routes: Router,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use tower::ServiceExt as _;
    let swap = request.headers().contains_key(SWAP_REQUEST);
    let cookie = request.headers().get(header::COOKIE).cloned();
    let host = request.headers().get(header::HOST).cloned();
    let response = next.run(request).await;
    if !swap
        || response.status() != StatusCode::SEE_OTHER
        || response.headers().contains_key(header::SET_COOKIE)
    {
        return response;
    }
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .map(str::to_owned)
    else {
        return response;
    };
    let mut get = axum::http::Request::get(location.as_str());
    // The same cookies and host as the browser's follow-up would send (the session
    // cookie's name depends on the port the host names).
    for (name, value) in [(header::COOKIE, cookie), (header::HOST, host)] {
        if let Some(value) = value {
            get = get.header(name, value);
        }
    }
    let (Ok(get), Ok(url)) =
        (get.body(axum::body::Body::empty()), header::HeaderValue::from_str(&location))
    else {
        return response;
    };
    match routes.oneshot(get).await {
        Ok(mut page) => {
            page.headers_mut().insert(SWAP_URL, url);
            page
        }
        Err(never) => match never {},
    }
}

fn routes(state: UiState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(healthz))
        .route(thorbis_web::assets::STYLESHEET_PATH, get(css))
        .route(html::SCRIPT_PATH, get(js))
        .route("/indicators", get(indicators))
        .route("/signin", get(signin::pick_staff).post(signin::submit))
        .route("/signin/{staff}", get(signin::pin_pad))
        .route("/signout", post(signin::sign_out))
        .route("/printing", get(printing::screen))
        .route("/printing/{job}/{decision}", post(printing::decide))
        .route("/sessions", get(sessions::list))
        .route("/held", get(held::list))
        .route("/sessions/end", post(sessions::end))
        .route("/pos", get(pos::checks))
        .route("/pos/checks", post(pos::open_check))
        .route("/pos/checks/{order}", get(pos::check))
        .route("/pos/checks/{order}/lines", post(pos::add_line))
        .route("/pos/checks/{order}/send", post(pos::send))
        .route("/pos/checks/{order}/courses/{course}/{op}", post(pos::course))
        .route("/pos/checks/{order}/cash", post(pos::cash))
        .route("/pos/checks/{order}/card", post(pos::card))
        .route("/pos/checks/{order}/even", post(pos::even))
        .route("/pos/checks/{order}/discount", post(pos::check_discount))
        .route("/pos/checks/{order}/lines/{line}/{op}", post(pos::line_op))
        .route("/pos/checks/{order}/split", post(pos::split_check))
        .route("/pos/checks/{order}/transfer", post(pos::transfer))
        .route("/pos/checks/{order}/merge", post(pos::merge))
        .route("/pos/checks/{order}/reprint", post(pos::reprint))
        .route("/pos/drawer", post(pos::open_drawer))
        .route("/register", get(register::screen))
        .route("/register/scan", post(register::scan))
        .route("/register/add", post(register::add_item))
        .route("/register/scans", get(scans::events))
        .route("/register/{order}", get(register::sale))
        .route("/register/{order}/price", post(register::override_price))
        .route("/register/{order}/discount", post(register::discount))
        .route("/register/{order}/cash", post(register::cash))
        .route("/register/{order}/card", post(register::card))
        .route("/returns", get(returns::find).post(returns::look_up))
        .route("/returns/{order}", get(returns::sale).post(returns::refund))
        .route("/drawer", get(drawer::screen))
        .route("/drawer/open", post(drawer::open))
        .route("/drawer/cash", post(drawer::move_cash))
        .route("/drawer/no-sale", post(drawer::no_sale))
        .route("/drawer/count", post(drawer::count))
        .route("/drawer/report/{session}", get(drawer::report))
        .route("/pos/availability", get(availability::board).post(availability::set))
        .route("/field", get(field::my_day))
        .route("/field/jobs/{id}", get(field::job))
        .route("/field/jobs/{id}/invoice", get(field::invoice_page).post(field::issue_invoice))
        .route("/field/jobs/{id}/invoice.pdf", get(field::invoice_pdf))
        .route("/field/jobs/{id}/checklist/{item}", post(field::tick))
        .route("/field/jobs/{id}/timer/{op}", post(field::timer))
        .route(
            "/field/jobs/{id}/files",
            post(field::upload).layer(axum::extract::DefaultBodyLimit::max(
                thorbis_media::MAX_UPLOAD_BYTES + guard::MAX_FORM_BYTES,
            )),
        )
        .route("/field/jobs/{id}/files/{blob}", get(field::file))
        .route("/field/jobs/{id}/{what}", post(field::post))
        .route("/kds", get(kds::screen))
        .route("/kds/tickets", get(kds::fragment))
        .route("/kds/events", get(kds::events))
        .route("/kds/bump", post(kds::bump))
        .route("/kds/recall", post(kds::recall))
        .route("/kds/expo", get(kds::expo))
        .route("/kds/expo/events", get(kds::expo_events))
        .route("/kds/expo/bump", post(kds::expo_bump))
        .route("/kds/expo/recall", post(kds::expo_recall))
        .with_state(state)
}

/// Serves the UI on `listener` until `shutdown` resolves. The listener must be loopback.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: UiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the UI listens on loopback only, not {addr}"),
        ));
    }
    tracing::info!(%addr, "UI listening");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

async fn indicators(axum::extract::State(state): axum::extract::State<UiState>) -> Response {
    html! { (state.indicators()) }.into_response()
}

/// For a supervisor (systemd, the package test, a load balancer on the same machine):
/// `200 ok` once the store answers a read, `503` when it does not.
async fn healthz(axum::extract::State(state): axum::extract::State<UiState>) -> Response {
    match state.store.run(|s| s.enrollment()).await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the store did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

async fn root(session::MaybeSignedIn(who): session::MaybeSignedIn) -> Response {
    match who {
        Some(who) => Redirect::to(access::home_of(&who)).into_response(),
        None => Redirect::to("/signin").into_response(),
    }
}

async fn css(headers: axum::http::HeaderMap) -> Response {
    thorbis_web::assets::stylesheet(&headers)
}

async fn js(headers: axum::http::HeaderMap) -> Response {
    static ETAG: OnceLock<String> = OnceLock::new();
    thorbis_web::assets::asset(
        &headers,
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
        &ETAG,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use thorbis_agent::StoreConfig;

    #[tokio::test]
    async fn listens_on_loopback_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        let state = UiState::new(
            SharedStore::new(store),
            None,
            Arc::new(thorbis_agent::SystemClock),
            SessionKey::from_bytes(b"k"),
        );
        let listener = bind_loopback(0).await.unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
        let open = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let err = serve(open, state, async {}).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn a_swapped_request_gets_the_page_its_redirect_leads_to() {
        use tower::ServiceExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        let app = router(UiState::new(
            SharedStore::new(store),
            None,
            Arc::new(thorbis_agent::SystemClock),
            SessionKey::from_bytes(b"k"),
        ));
        let request = |swap: bool| {
            let mut r = axum::http::Request::get("/").header(header::HOST, "127.0.0.1:8123");
            if swap {
                r = r.header(SWAP_REQUEST, "1");
            }
            r.body(axum::body::Body::empty()).unwrap()
        };
        let plain = app.clone().oneshot(request(false)).await.unwrap();
        assert_eq!(plain.status(), StatusCode::SEE_OTHER);
        assert_eq!(plain.headers()[header::LOCATION], "/signin");
        assert!(!plain.headers().contains_key(SWAP_URL));
        let swapped = app.oneshot(request(true)).await.unwrap();
        assert_eq!(swapped.status(), StatusCode::OK);
        assert_eq!(swapped.headers()[SWAP_URL], "/signin");
    }

    use axum::body::Body;
    use axum::http::Request;
    use thorbis_agent::seed::{CASHIER, CASHIER_PIN, MANAGER, MANAGER_PIN};
    use tower::ServiceExt as _;

    const HOST: &str = "127.0.0.1:8123";

    /// The UI over a seeded store, driven through its router as a browser would.
    struct TestUi {
        app: Router,
        store: SharedStore,
        _dir: tempfile::TempDir,
    }

    impl TestUi {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
            store.execute_all(&thorbis_agent::seed::catalog()).unwrap();
            let store = SharedStore::new(store);
            let app = router(UiState::new(
                store.clone(),
                None,
                Arc::new(thorbis_agent::SystemClock),
                SessionKey::from_bytes(b"k"),
            ));
            TestUi { app, store, _dir: dir }
        }

        async fn send(&self, request: Request<Body>) -> (StatusCode, header::HeaderMap, String) {
            let response = self.app.clone().oneshot(request).await.unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, headers, String::from_utf8(body.to_vec()).unwrap())
        }

        async fn get(&self, path: &str, cookie: &str) -> (StatusCode, header::HeaderMap, String) {
            let request = Request::get(path)
                .header(header::HOST, HOST)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap();
            self.send(request).await
        }

        fn post(path: &str, cookie: &str, origin: Option<&str>, form: &str) -> Request<Body> {
            let mut request = Request::post(path)
                .header(header::HOST, HOST)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(origin) = origin {
                request = request.header(header::ORIGIN, origin);
            }
            request.body(Body::from(form.to_owned())).unwrap()
        }

        /// Signs in by PIN as the PIN pad does; the session's cookie and form token.
        async fn sign_in(
            &self,
            staff: thorbis_domain::ids::StaffId,
            pin: &str,
        ) -> (String, String) {
            let (_, _, pad) = self.get(&format!("/signin/{}", staff.0), "").await;
            let form = format!("staff={}&pin={pin}&csrf={}", staff.0, token_in(&pad));
            let (status, headers, _) =
                self.send(Self::post("/signin", "", Some("http://127.0.0.1:8123"), &form)).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let cookie = headers[header::SET_COOKIE].to_str().unwrap();
            let cookie = cookie.split(';').next().unwrap().to_owned();
            // Every signed-in page carries the session's token (the sign-out form at least).
            let (_, _, page) = self.get("/pos", &cookie).await;
            (cookie, token_in(&page))
        }
    }

    /// The form token in a page.
    fn token_in(html: &str) -> String {
        crate::form_token_in(html).expect("the page carries a form token").to_owned()
    }

    #[tokio::test]
    async fn foreign_hosts_origins_and_forms_without_the_token_are_refused() {
        let ui = TestUi::new();
        let events = ui.store.run(|s| s.event_count()).await.unwrap();
        let get = |host: &str| {
            Request::get("/signin").header(header::HOST, host).body(Body::empty()).unwrap()
        };
        // A rebound DNS name is refused before any page is read; loopback is served.
        assert_eq!(ui.send(get("evil.example:8123")).await.0, StatusCode::MISDIRECTED_REQUEST);
        assert_eq!(ui.send(get(HOST)).await.0, StatusCode::OK);

        let (_, _, pad) = ui.get(&format!("/signin/{}", MANAGER.0), "").await;
        let token = token_in(&pad);
        assert_eq!(token.len(), 64, "{token}");
        let form = |token: &str| format!("staff={}&pin={MANAGER_PIN}&csrf={token}", MANAGER.0);
        for (cookie, origin, token) in [
            ("", Some("http://evil.example"), token.as_str()),
            ("", Some("http://127.0.0.1:9999"), token.as_str()),
            ("", None, ""),
            ("", Some("http://127.0.0.1:8123"), &"0".repeat(64)),
            // A token made for another cookie is no good either.
            ("thorbis_session_8123=0123", Some("http://127.0.0.1:8123"), token.as_str()),
        ] {
            let (status, headers, _) =
                ui.send(TestUi::post("/signin", cookie, origin, &form(token))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {token}");
            assert!(!headers.contains_key(header::SET_COOKIE));
        }
        // A body larger than any form is refused unread.
        let huge = format!("{}&pad={}", form(&token), "x".repeat(guard::MAX_FORM_BYTES));
        let (status, _, _) = ui.send(TestUi::post("/signin", "", None, &huge)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // Nothing refused wrote anything; the real form signs in.
        assert_eq!(ui.store.run(|s| s.event_count()).await.unwrap(), events);
        let (status, headers, _) = ui.send(TestUi::post("/signin", "", None, &form(&token))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers.contains_key(header::SET_COOKIE));
    }

    #[tokio::test]
    async fn a_manager_sees_what_was_held_back_and_a_cashier_does_not() {
        use thorbis_domain::DomainEvent;
        use thorbis_domain::device::{DeviceRegistered, DeviceRole};
        use thorbis_sync_protocol::{ChainTip, DeviceId, Event, EventKind, Hlc, PublicKey};

        let ui = TestUi::new();
        let (sam, _) = ui.sign_in(CASHIER, CASHIER_PIN).await;
        let (morgan, _) = ui.sign_in(MANAGER, MANAGER_PIN).await;
        let (_, _, empty) = ui.get("/held", &morgan).await;
        assert!(empty.contains("held-none"), "{empty}");
        // Another device vouches for a key of its own making, which only the hub may.
        let forged = DomainEvent::DeviceRegistered(DeviceRegistered {
            device_id: uuid::Uuid::from_u128(9),
            location_id: uuid::Uuid::from_u128(1),
            role: DeviceRole::Pos,
            public_key: PublicKey([9; 32]),
            credential_expires_at_ms: u64::MAX,
        });
        let event = Event {
            device_id: DeviceId([7; 16]),
            seq: 1,
            hlc: Hlc { wall_ms: 1, counter: 0 },
            prev_hash: ChainTip::GENESIS.hash,
            kind: EventKind::new(forged.kind()).unwrap(),
            payload: forged.encode_payload(),
        };
        let applied = ui.store.run(move |s| s.apply_remote(&[(event, None)])).await.unwrap();
        assert_eq!(applied.quarantined, 1);
        assert_eq!(ui.get("/held", &sam).await.0, StatusCode::FORBIDDEN);
        let (status, _, list) = ui.get("/held", &morgan).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(r#"data-code="not_allowed""#) && list.contains("refused"), "{list}");
        assert!(list.contains("07070707"), "the author's device is named: {list}");
    }

    #[tokio::test]
    async fn a_manager_ends_sessions_and_signing_out_ends_ones_own() {
        let ui = TestUi::new();
        let (sam, _) = ui.sign_in(CASHIER, CASHIER_PIN).await;
        let (morgan, token) = ui.sign_in(MANAGER, MANAGER_PIN).await;
        let (morgan_2, _) = ui.sign_in(MANAGER, MANAGER_PIN).await;
        // A cashier may not see the sessions.
        assert_eq!(ui.get("/sessions", &sam).await.0, StatusCode::FORBIDDEN);
        let (status, _, list) = ui.get("/sessions", &morgan).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.matches("data-session=").count(), 3, "{list}");
        assert!(list.contains("this session") && list.contains("Sam"), "{list}");
        assert!(!list.contains(&sam[COOKIE_PREFIX..]), "a cookie is never shown");

        // Ending Sam's session signs Sam out at the next request.
        let handle = list
            .split("data-session=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .find(|h| {
                let row = list.split(&format!("data-session=\"{h}\"")).nth(1).unwrap();
                row.split("</tr>").next().unwrap().contains("Sam")
            })
            .unwrap()
            .to_owned();
        let end = format!("session={handle}&csrf={token}");
        let (status, headers, _) =
            ui.send(TestUi::post("/sessions/end", &morgan, None, &end)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/sessions?ended=1");
        let (status, headers, _) = ui.get("/pos", &sam).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/signin");

        // "End every other session" keeps the manager's own.
        let (status, headers, _) = ui
            .send(TestUi::post("/sessions/end", &morgan, None, &format!("others=1&csrf={token}")))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/sessions?ended=1");
        assert_eq!(ui.get("/pos", &morgan_2).await.0, StatusCode::SEE_OTHER);
        assert_eq!(ui.get("/pos", &morgan).await.0, StatusCode::OK);

        // Signing out ends the session itself, not just the browser's cookie.
        let (status, _, _) =
            ui.send(TestUi::post("/signout", &morgan, None, &format!("csrf={token}"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(ui.get("/pos", &morgan).await.0, StatusCode::SEE_OTHER);
    }

    #[tokio::test]
    async fn the_printing_screen_is_for_managers_and_a_stale_decision_changes_nothing() {
        let ui = TestUi::new();
        let (sam, _) = ui.sign_in(CASHIER, CASHIER_PIN).await;
        let (morgan, token) = ui.sign_in(MANAGER, MANAGER_PIN).await;
        assert_eq!(ui.get("/printing", &sam).await.0, StatusCode::FORBIDDEN);
        let (status, _, screen) = ui.get("/printing", &morgan).await;
        assert_eq!(status, StatusCode::OK);
        assert!(screen.contains("id=\"no-waiting\"") && screen.contains("No printer"), "{screen}");
        // A job that is not waiting (here: none at all) is not decided, and nothing is said
        // to have been done.
        let path = format!("/printing/{}/print", uuid::Uuid::nil());
        let (status, headers, _) =
            ui.send(TestUi::post(&path, &morgan, None, &format!("csrf={token}"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/printing");
        assert!(ui.store.run(|s| s.print_decisions(10)).await.unwrap().is_empty());
    }

    /// The length of `thorbis_session_8123=` in a cookie pair.
    const COOKIE_PREFIX: usize = "thorbis_session_8123=".len();
}
