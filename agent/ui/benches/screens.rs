//! Screen render time with a long history: the check screen, the register's sale and the
//! expo screen (plus a paid check, whose receipt is looked up among the print jobs), each
//! rendered in-process through the real router with a signed-in cookie, in a store holding
//! about 100,000 events and 20,000 print jobs and, side by side in the same run, in an
//! empty store (the demo catalog and the same open checks, sale and kitchen tickets, with
//! no history). Measured from the request to the whole body read; every answer must be
//! 200 and show its screen, so an error page cannot be measured.
//!
//! The history is closed sales: restaurant checks sent to the kitchen (a ticket per
//! station, each printed and bumped, then a receipt) and counter sales (a receipt), mixed
//! so the store reaches both counts. Both stores then get the same live state: open checks
//! (some in the kitchen, part bumped), parked retail sales, and the sale the register shows.
//!
//! The router runs on the agent's runtime (two workers; store reads on the blocking pool).
//! Renders alternate between the stores and the screens, so all see the same machine noise.
//!
//! `cargo bench -p thorbis-terminal-ui --bench screens` prints
//! `METRIC screen_render_<screen>_p50_ms` and `_p95_ms` for `check` (an open check in the
//! kitchen), `paid_check`, `register` (an open sale) and `expo`, and
//! `METRIC screen_render_p95_ms`: the worst of those four p95 figures (goal: at most 5 ms);
//! then the same for the empty store, named `screen_render_empty_...`.
//!
//! `THORBIS_BENCH_EVENTS`, `THORBIS_BENCH_JOBS` and `THORBIS_BENCH_RENDERS` set the
//! history's size (default 100,000 and 20,000) and the renders per screen (default 200);
//! under `cargo test --benches` a quick smoke run uses about 1,000 events.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

mod support;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, ensure};
use axum::Router;
use axum::http::StatusCode;
use thorbis_agent::print::setup::front_routing;
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::sync::SharedStore;
use thorbis_agent::{ManualClock, Store, StoreConfig};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{DrawerSessionId, LineId, OrderId, PaymentId};
use thorbis_domain::{Command, Currency, Money, Qty};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

const NOW: u64 = 1_790_000_000_000;

/// Sales per transaction while filling the history (fewer in a small store, so it stays
/// near its target).
const BATCH: usize = 100;

/// The screens measured: a name for the metrics, and what the page must contain.
const SCREENS: [(&str, &str); 4] = [
    ("check", "id=\"check\""),
    ("paid_check", "id=\"receipt-state\""),
    ("register", "id=\"sale\""),
    ("expo", "id=\"expo-orders\""),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects a
    // quick smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let var = |name: &str, full: usize, smoke: usize| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if bench {
            full
        } else {
            smoke
        })
    };
    let events = var("THORBIS_BENCH_EVENTS", 100_000, 1_000);
    let jobs = var("THORBIS_BENCH_JOBS", 20_000, 200);
    let renders = var("THORBIS_BENCH_RENDERS", 200, 10);

    let started = Instant::now();
    let full = Fixture::build(events as u64, jobs as u64).await?;
    println!(
        "# full store: {} events, {} print jobs, filled in {:.1} s",
        full.events,
        full.jobs,
        started.elapsed().as_secs_f64()
    );
    let empty = Fixture::build(0, 0).await?;
    println!("# empty store: {} events, {} print jobs", empty.events, empty.jobs);

    let mut full_ms: Vec<Vec<f64>> = vec![Vec::with_capacity(renders); SCREENS.len()];
    let mut empty_ms: Vec<Vec<f64>> = vec![Vec::with_capacity(renders); SCREENS.len()];
    let warmup = (renders / 10).max(1);
    for i in 0..warmup + renders {
        for s in 0..SCREENS.len() {
            for (fixture, out) in [(&full, &mut full_ms), (&empty, &mut empty_ms)] {
                let ms = fixture.render(s).await?;
                if i >= warmup {
                    out[s].push(ms);
                }
            }
        }
    }
    report("", &mut full_ms);
    report("_empty", &mut empty_ms);
    Ok(())
}

/// Prints the figures of one store's renders.
fn report(store: &str, ms: &mut [Vec<f64>]) {
    let mut worst = 0.0_f64;
    for ((name, _), values) in SCREENS.iter().zip(ms.iter_mut()) {
        let (p50, p95) = (support::percentile(values, 50.0), support::percentile(values, 95.0));
        worst = worst.max(p95);
        println!("METRIC screen_render{store}_{name}_p50_ms {p50:.3}");
        println!("METRIC screen_render{store}_{name}_p95_ms {p95:.3}");
    }
    println!("METRIC screen_render{store}_p95_ms {worst:.3}");
}

/// A store with its UI, signed in as the demo manager (who may use all three screens).
struct Fixture {
    app: Router,
    cookie: String,
    /// The address of each of [`SCREENS`].
    paths: [String; 4],
    events: u64,
    jobs: u64,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A store with a history of at least `events` events and `jobs` print jobs, then the
    /// live state the screens show.
    async fn build(events: u64, jobs: u64) -> Result<Fixture> {
        let dir = tempfile::tempdir_in(std::env::temp_dir())?;
        let clock = Arc::new(ManualClock::new(NOW));
        let mut store = Store::open(StoreConfig {
            clock: clock.clone(),
            id_seed: Some(1),
            device_key_seed: Some([1; 32]),
            print: front_routing(),
            ..StoreConfig::new(dir.path().join("agent.db"))
        })?;
        store.execute_all(&seed::catalog())?;
        let drawer = DrawerSessionId(store.new_id());
        store.execute(&seed::open_drawer(drawer))?;
        store.execute(&Command::ReceiveStock {
            item_id: seed::COFFEE_BEANS,
            qty: Qty(1_000_000),
            note: "opening stock".into(),
        })?;

        let mut job_count = 0;
        let mut paid_check = None;
        let mut n = 0;
        let batch = usize::try_from(events / 100)?.clamp(1, BATCH);
        while store.tip().seq < events || job_count < jobs {
            // Kitchen sales make jobs faster than counter sales: take them while the jobs
            // are behind the events, in proportion to their targets.
            let behind = u128::from(job_count) * u128::from(events.max(1))
                <= u128::from(store.tip().seq) * u128::from(jobs);
            let (made, last) = if behind {
                kitchen_batch(&mut store, drawer, batch, &mut n)?
            } else {
                counter_batch(&mut store, drawer, batch)?
            };
            job_count += made;
            paid_check = Some(last);
            clock.advance(60_000);
        }
        let paid_check = if let Some(order) = paid_check {
            order
        } else {
            // The empty store's paid check: one sale, its receipt the only job.
            let ids = SaleIds::new(|| store.new_id());
            store.execute_all(&seed::typical_sale(ids, drawer))?;
            job_count += 1;
            ids.order
        };
        let (check, sale) = live_state(&mut store, &clock)?;
        let events = store.event_count()?;
        let paths = [
            format!("/pos/checks/{}", check.0),
            format!("/pos/checks/{}", paid_check.0),
            format!("/register/{}", sale.0),
            "/kds/expo".to_owned(),
        ];
        let state = UiState::new(
            SharedStore::new(store),
            None,
            clock,
            SessionKey::from_bytes(b"screens bench"),
        );
        let app = ui::router(state);
        let cookie = support::sign_in(&app, seed::MANAGER, seed::MANAGER_PIN).await?.cookie;
        Ok(Fixture { app, cookie, paths, events, jobs: job_count, _dir: dir })
    }

    /// Renders screen `s` of [`SCREENS`] once and checks it; returns the time taken in
    /// milliseconds.
    async fn render(&self, s: usize) -> Result<f64> {
        let (path, marker) = (&self.paths[s], SCREENS[s].1);
        let t = Instant::now();
        let (status, text) = support::get(&self.app, path, &self.cookie).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        ensure!(status == StatusCode::OK, "{path}: {status}: {text}");
        ensure!(text.contains(marker), "{path} does not show {marker:?}: {text}");
        Ok(ms)
    }
}

/// A dine-in order with a burger, fries and a soda.
fn dine_in(order: OrderId, table: &str, lines: [LineId; 3]) -> Vec<Command> {
    vec![
        Command::OpenOrder {
            order_id: order,
            currency: Currency::USD,
            mode: ServiceMode::DineIn,
            table: Some(table.to_owned()),
            guests: Some(2),
            staff: Some(seed::MANAGER),
        },
        seed::line(order, lines[0], seed::BURGER, Qty::ONE, vec![seed::MEDIUM_RARE, seed::CHEESE]),
        seed::line(order, lines[1], seed::FRIES, Qty::ONE, Vec::new()),
        seed::line(order, lines[2], seed::SODA, Qty::ONE, Vec::new()),
    ]
}

/// Pays `order` in cash and closes it.
fn pay_and_close(order: OrderId, payment: PaymentId, drawer: DrawerSessionId) -> [Command; 2] {
    [
        Command::TakePayment {
            order_id: order,
            payment_id: payment,
            tender: TenderInput::Cash { tendered: Money(100_00) },
            amount: None,
            tip: Money::ZERO,
            drawer_session: Some(drawer),
            staff: None,
        },
        Command::CloseOrder { order_id: order, staff: None },
    ]
}

/// `batch` restaurant checks: opened and sent to the kitchen in one transaction; their
/// tickets bumped and the checks paid and closed in a second. Returns the print jobs made
/// and the last check.
fn kitchen_batch(
    store: &mut Store,
    drawer: DrawerSessionId,
    batch: usize,
    n: &mut usize,
) -> Result<(u64, OrderId)> {
    let sales: Vec<SaleIds> = (0..batch).map(|_| SaleIds::new(|| store.new_id())).collect();
    let mut open = Vec::with_capacity(batch * 5);
    for ids in &sales {
        *n += 1;
        open.extend(dine_in(ids.order, &(*n % 40 + 1).to_string(), ids.lines));
        open.push(Command::SendToKitchen { order_id: ids.order });
    }
    store.execute_all(&open)?;
    let tickets = store.kds_queue(None)?;
    let mut close: Vec<Command> =
        tickets.iter().map(|t| Command::BumpTicket { ticket_id: t.id }).collect();
    for ids in &sales {
        close.extend(pay_and_close(ids.order, ids.payment, drawer));
    }
    store.execute_all(&close)?;
    let last = sales.last().context("a batch")?.order;
    Ok(((tickets.len() + batch) as u64, last))
}

/// `batch` counter sales (no kitchen), each with its receipt.
fn counter_batch(
    store: &mut Store,
    drawer: DrawerSessionId,
    batch: usize,
) -> Result<(u64, OrderId)> {
    let mut commands = Vec::with_capacity(batch * 6);
    let mut last = None;
    for _ in 0..batch {
        let ids = SaleIds::new(|| store.new_id());
        commands.extend(seed::typical_sale(ids, drawer));
        last = Some(ids.order);
    }
    store.execute_all(&commands)?;
    Ok((batch as u64, last.context("a batch")?))
}

/// What the screens show, the same in both stores: twelve open checks, eight of them in
/// the kitchen (three with the grill's ticket bumped), four parked retail sales and the
/// sale the register shows. Returns the check and the sale measured.
fn live_state(store: &mut Store, clock: &ManualClock) -> Result<(OrderId, OrderId)> {
    let mut checks = Vec::new();
    for table in 1..=12 {
        let ids = SaleIds::new(|| store.new_id());
        let mut commands = dine_in(ids.order, &format!("L{table}"), ids.lines);
        if table <= 8 {
            commands.push(Command::SendToKitchen { order_id: ids.order });
        }
        store.execute_all(&commands)?;
        checks.push(ids.order);
        clock.advance(30_000);
    }
    let grill: Vec<Command> = store
        .kds_queue(Some("grill"))?
        .iter()
        .take(3)
        .map(|t| Command::BumpTicket { ticket_id: t.id })
        .collect();
    store.execute_all(&grill)?;

    let mut sale = None;
    for _ in 0..5 {
        let order = OrderId(store.new_id());
        let mut commands = vec![Command::OpenOrder {
            order_id: order,
            currency: Currency::USD,
            mode: ServiceMode::Retail,
            table: None,
            guests: None,
            staff: Some(seed::MANAGER),
        }];
        for (item, qty) in [(seed::COFFEE_BEANS, Qty(2_000)), (seed::SODA, Qty::ONE)] {
            commands.push(seed::line(order, LineId(store.new_id()), item, qty, Vec::new()));
        }
        store.execute_all(&commands)?;
        sale = Some(order);
    }
    // A check in the kitchen, with lines sent: the screen a server opens most.
    Ok((checks[0], sale.context("a sale")?))
}
