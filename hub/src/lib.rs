//! The Thorbis Edge hub: the multi-tenant server that enrolls devices, verifies and stores
//! every tenant's signed event logs in Postgres, serves them back to the devices allowed to
//! see them, and keeps the relational projections reports read.
//!
//! # What it owns
//!
//! * [`db`]: the app role's pool, migrations (`migrations/hub/`, run as the owner role),
//!   and [`db::tenant_tx`], the only way requests reach tenant data.
//! * The data layer, which owns every SQL statement and returns typed errors: [`log`]
//!   (verified ingest of pushes with the same check terminals run, pull pages, appends to
//!   the hub-signed logs), [`tenants`] (tenants, locations, enrollment, devices),
//!   [`accounts`] (console users, passwords, sessions), [`locations`] (their settings),
//!   [`reports`] (what the console's pages read), [`staff`], [`work_orders`], all
//!   through a [`store::Store`].
//! * [`http`]: the API (`/healthz`, `/metrics` for the admin token, `/api/openapi.json`,
//!   the bootstrap admin API, enrollment, push, pull with long-poll, reference-data
//!   publishing): handlers parse, call the data layer and map its errors to status codes
//!   in one place; TLS with rustls when configured.
//! * [`identity`]: tenant keys, device credentials and request signatures, as documented
//!   byte layouts.
//! * [`projection`]: relational projections folded with `thorbis_domain::project`.
//! * [`dispatch`]: the hub-signed dispatch logs that scope work orders to their technician,
//!   and the console's `work_orders` summary rows.
//! * [`live`]: waking long-polls on every hub process through `LISTEN/NOTIFY`.
//! * [`pg`]: a private Postgres cluster, for the binary's default store and for tests,
//!   and a Citus cluster for tests ([`pg::citus`]); with the `testing` feature, `testing`
//!   adds throwaway clusters per test binary and a fresh database per test on either.
//!
//! # What it never does
//!
//! * **Accept an event it has not verified** against an enrolled, unrevoked device's key,
//!   its chain and a signed checkpoint. A fork is refused and raised as an alert, never
//!   merged.
//! * **Read or write tenant data outside a tenant transaction**: isolation is Postgres
//!   row-level security under a role that cannot bypass it, not `WHERE` clauses.
//! * **Compute money.** Totals come from `thorbis-domain`, as on the terminals.
//! * Read the clock directly: time comes from an injected [`clock::Clock`].

pub use thorbis_sync_protocol::clock;
pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod blobs;
pub mod catalog;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod http;
pub mod identity;
pub mod live;
pub mod locations;
pub mod log;
pub mod metrics;
pub mod pg;
pub mod projection;
pub mod reports;
pub mod secret;
pub mod staff;
pub mod store;
pub mod tenants;
#[cfg(feature = "testing")]
pub mod testing;
pub mod totp;
pub mod work_orders;

use std::sync::Arc;

pub use config::{Config, DatabaseConfig, Limits};
pub use http::tls::{serve_tls, server_config};
pub use http::{AppState, Settings, router, serve};

/// Migrates the database as the owner role, then opens the app role's pool and builds the
/// state the server needs.
pub async fn prepare(
    database: &DatabaseConfig,
    clock: Arc<dyn clock::Clock>,
    settings: Settings,
) -> Result<AppState, db::DbError> {
    db::migrate(&database.owner_url).await?;
    let pool = db::app_pool(&database.app_url, database.pool_size)?;
    Ok(AppState::new(pool, clock, settings, Some(database.app_url.clone())))
}
