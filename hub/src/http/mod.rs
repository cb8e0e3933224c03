//! The hub's HTTP API: routes, shared state, and the server loop.
//!
//! The server takes its listener and shutdown signal from the caller (tests bind port 0),
//! and finishes in-flight requests before returning.

mod admin;
mod auth;
mod blobs;
pub mod console;
mod enroll;
mod error;
pub mod openapi;
mod pages;
mod reads;
pub mod reference;
mod serve;
mod staff;
mod sync;
pub mod tls;
mod work_orders;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deadpool_postgres::Pool;

pub use error::{Error, Result};

use crate::clock::Clock;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What a hub process is configured with, beyond its database and clock.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Request limits and windows.
    pub limits: Limits,
    /// The bootstrap admin API's bearer token; `None` disables it.
    pub admin_token: Option<String>,
    /// Seals tenant signing keys at rest; `None` stores new ones in plain.
    pub key_wrap: Option<Arc<crate::identity::KeyWrap>>,
    /// Marks console session cookies `Secure`: set when the hub serves TLS itself (or sits
    /// behind a proxy that does), so browsers never send the cookie over plain HTTP.
    pub secure_cookies: bool,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    listener: Option<tokio::task::JoinHandle<()>>,
    admin_token: Option<String>,
    secure_cookies: bool,
    metrics: Metrics,
    logins: console::LoginThrottle,
}

impl AppState {
    /// State over a pool of app-role connections. With `listen_url`, a connection listens
    /// for pushes made through other hub processes (see [`crate::live`]); without it, only
    /// this process's own pushes wake its long-polls.
    #[must_use]
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        settings: Settings,
        listen_url: Option<String>,
    ) -> Self {
        let Settings { limits, admin_token, key_wrap, secure_cookies } = settings;
        let notifier = crate::live::Notifier::new();
        let listener = listen_url.map(|url| notifier.spawn_listener(url));
        Self(Arc::new(Inner {
            store: Store::new(pool, clock, key_wrap, notifier, limits),
            listener,
            admin_token,
            secure_cookies,
            metrics: Metrics::default(),
            logins: console::LoginThrottle::default(),
        }))
    }

    fn store(&self) -> &Store {
        &self.0.store
    }

    fn limits(&self) -> &Limits {
        &self.0.store.limits
    }

    fn now_ms(&self) -> u64 {
        self.0.store.now_ms()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// The hub's routes. Each group reads bodies up to its own limit: small for what anyone may
/// send unauthenticated, larger for consoles and admins, largest for devices' pushes.
pub fn router(state: AppState) -> Router {
    let limits = state.limits();
    let anonymous = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .route("/api/v1/console/login", post(console::login))
        .route("/api/v1/enroll", post(enroll::enroll))
        .layer(DefaultBodyLimit::max(limits.anonymous_body_limit_bytes));
    let devices = Router::new()
        .route("/api/v1/sync/push", post(sync::push))
        .route("/api/v1/sync/pull", post(sync::pull))
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes));
    // A blob's chunk has its own bound, the protocol's, whatever a push may carry.
    let blobs = Router::new()
        .route("/api/v1/blobs/{id}/upload", get(blobs::upload_state))
        .route("/api/v1/blobs/{id}/upload/{offset}", post(blobs::upload))
        .route("/api/v1/blobs/{id}/from/{offset}", get(blobs::download))
        .layer(DefaultBodyLimit::max(thorbis_sync_protocol::BLOB_CHUNK_BYTES + 1024));
    let console = Router::new()
        .route("/api/v1/admin/tenants", post(admin::create_tenant))
        .route("/api/v1/admin/tenants/{tenant_id}/locations", post(admin::create_location))
        .route(
            "/api/v1/admin/tenants/{tenant_id}/enrollment-codes",
            post(admin::create_enrollment_code),
        )
        .route(
            "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/revoke",
            post(admin::revoke_device),
        )
        .route("/api/v1/admin/tenants/{tenant_id}/reference-events", post(reference::publish))
        .route("/api/v1/admin/tenants/{tenant_id}/console-users", post(console::admin_create_user))
        .route("/api/v1/admin/tenants/{tenant_id}/staff", post(staff::admin_upsert))
        .route(
            "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/config",
            post(admin::configure_device),
        )
        .route("/api/v1/console/logout", post(console::logout))
        .route("/api/v1/console/me", get(console::me))
        .route("/api/v1/console/users", post(console::create_user).get(console::users))
        .route("/api/v1/console/enrollment-codes", post(console::create_enrollment_code))
        .route("/api/v1/console/devices", get(console::devices))
        .route("/api/v1/console/devices/{device_id}/revoke", post(console::revoke_device))
        .route("/api/v1/console/devices/{device_id}/config", post(console::configure_device))
        .route("/api/v1/console/users/{user_id}/deactivate", post(console::deactivate_user))
        .route("/api/v1/console/password", post(console::change_password))
        .route("/api/v1/console/reference-events", post(console::publish))
        .route("/api/v1/console/staff", post(console::upsert_staff))
        .route("/api/v1/admin/tenants/{tenant_id}/work-orders", post(work_orders::admin_create))
        .route(
            "/api/v1/admin/tenants/{tenant_id}/work-orders/{id}/assign",
            post(work_orders::admin_assign),
        )
        .route("/api/v1/admin/tenants/{tenant_id}/work-orders/{id}", get(work_orders::admin_get))
        .route(
            "/api/v1/admin/tenants/{tenant_id}/work-orders/{id}/edit",
            post(work_orders::admin_edit),
        )
        .route(
            "/api/v1/console/work-orders",
            get(work_orders::console_list).post(work_orders::console_create),
        )
        .route("/api/v1/console/work-orders/{id}", get(work_orders::console_get))
        .route("/api/v1/console/work-orders/{id}/assign", post(work_orders::console_assign))
        .route("/api/v1/console/work-orders/{id}/edit", post(work_orders::console_edit))
        .route("/api/v1/console/reports/{section}", get(reads::report))
        .route("/api/v1/console/orders", get(reads::orders))
        .route("/api/v1/console/catalog", get(reads::catalog))
        .route("/api/v1/console/locations", get(reads::locations).post(console::create_location))
        .merge(pages::routes())
        .layer(DefaultBodyLimit::max(limits.console_body_limit_bytes));
    Router::new()
        .merge(anonymous)
        .merge(devices)
        .merge(blobs)
        .merge(console)
        .layer(axum::middleware::from_fn_with_state(state.clone(), deadline))
        .with_state(state)
}

/// Answers 408 to a request that takes longer than [`Limits::request_timeout`], reading
/// its body included, and drops its work.
async fn deadline(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.limits().request_timeout();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::RequestTimeout(format!(
            "the request took longer than {} s; send it whole and promptly",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then drains in-flight
/// requests. Connections are bounded in number, per address and in idle time (see the
/// `serve` module).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::accept_loop(listener, state, None, shutdown).await
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str> {
    state.store().ping().await?;
    Ok("ok\n")
}

/// The counters, for whoever holds the admin token (a scraper sends it as a bearer token):
/// they say how busy each tenant's terminals are, which is nobody else's business.
async fn metrics(_: admin::Admin, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.0.metrics.render(state.store().password_checks()),
    )
}

/// A JSON request body, read within the body limit and parsed with a message that says what
/// is wrong. (Handlers that must see the raw bytes, e.g. to check a signature over them,
/// read `Bytes` and call [`json_body`] themselves.)
pub(super) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self> {
        let bytes = body_bytes(axum::body::Bytes::from_request(req, state).await)?;
        json_body(&bytes).map(JsonBody)
    }
}

/// Reads a JSON body, with a message that names what is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("invalid JSON body: {e}")))
}

/// Turns a body rejection (too large, unreadable) into our error.
fn body_bytes(
    body: std::result::Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge(format!(
                "request body is larger than the hub accepts: {rejection}"
            ))
        } else {
            Error::BadRequest(format!("could not read the request body: {rejection}"))
        }
    })
}
