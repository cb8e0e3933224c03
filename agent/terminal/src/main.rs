//! `thorbis-agent`: the terminal agent's command line.
//!
//! `thorbis-agent demo [--data DIR]` opens (or creates) a store, gets the demo catalog,
//! opens a drawer, rings up a restaurant check and a retail sale, sends the check to the
//! kitchen, and prints what the screens would show. Run it again and the store grows: it
//! is a real store on disk.
//!
//! It then serves the terminal UI (POS, kitchen display, PIN sign-in) on
//! `http://127.0.0.1:8090/` (`--ui-port PORT`; `--no-ui` to exit after the summary) until
//! Ctrl-C.
//!
//! `thorbis-agent status [--data DIR]` prints the same summary without writing anything.
//!
//! `thorbis-agent demo-catalog` prints the demo catalog and staff as a publication for the
//! hub's reference-events endpoint. An enrolled terminal's `demo` takes its catalog from
//! the hub (it waits for it); only a terminal that is not enrolled seeds its own.
//!
//! `demo` and `run` start the terminal through the runtime the desktop app uses too
//! (`thorbis_terminal`). Its printers are those of the device configuration the hub
//! published; `--printer HOST:PORT` instead sends kitchen tickets and receipts to one ESC/POS
//! printer on raw TCP (a real one, or `thorbis-sim`), through the durable print queue.
//! `--scanner DEVICE` reads a serial barcode scanner for the register screens.
//!
//! `thorbis-agent enroll --hub URL --code CODE [--data DIR]` enrolls a fresh store with the
//! hub using a one-time code from the console.
//!
//! `--hub-ca PEM` trusts the hub's own CA (or self-signed certificate) for `https://` hubs,
//! besides the system's roots.
//!
//! `--config FILE` reads the settings from a TOML file (the packaged service's is
//! `/etc/thorbis/agent.toml`); flags on the command line win over it. See [`cli`].
//!
//! `thorbis-agent run [--hub URL] [--for SECONDS] [--data DIR]` runs the store with the sync
//! shell (the hub it enrolled with, or `--hub`) and the terminal UI (as `demo` does, with
//! the sync state in its indicator bar), printing the sync status every few seconds, until
//! Ctrl-C (or for `SECONDS`).
//!
//! `run --lan-listen ADDR` also accepts the store's other terminals as LAN sync peers on
//! `ADDR` (printing `LAN listening on <addr>`, so port 0 works), and `--peer ADDR`
//! (repeatable) dials one. Peers prove themselves with their enrolled credentials.

#![allow(clippy::print_stdout)] // A command line's output is its product.

mod cli;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use thorbis_agent::print::{JobState, PrintService};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::sync::{self, SharedStore, SyncStatus};
use thorbis_agent::{Store, StoreConfig};
use thorbis_domain::command::TenderInput;
use thorbis_domain::events::ServiceMode;
use thorbis_domain::ids::{DrawerSessionId, LineId, OrderId, PaymentId};
use thorbis_domain::{Command, Money, Qty};
use thorbis_terminal::{HubLink, Printers, Terminal, TerminalConfig};

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let Some(args) = cli::parse()? else { return Ok(()) };
    if args.command == "demo-catalog" {
        return print_demo_catalog();
    }
    thorbis_agent::data_dir::prepare(&args.data)?;
    let path = args.data.join("agent.db");
    match args.command.as_str() {
        "status" => {
            let store = Store::open(StoreConfig::new(&path))
                .with_context(|| format!("opening {}", path.display()))?;
            print_summary(&store)
        }
        "technician-pin" => {
            let mut store = Store::open(StoreConfig::new(&path))
                .with_context(|| format!("opening {}", path.display()))?;
            // From stdin, never an argument: arguments are visible to every local user.
            let mut pin = String::new();
            std::io::stdin().read_line(&mut pin).context("reading the PIN from stdin")?;
            store.set_technician_pin(pin.trim()).context("setting the technician PIN")?;
            println!("The technician PIN of this laptop is set.");
            Ok(())
        }
        "enroll" => {
            let store = Store::open(StoreConfig::new(&path))
                .with_context(|| format!("opening {}", path.display()))?;
            let hub = args.hub.as_deref().context("enroll needs --hub URL")?;
            let code = args.code.as_deref().context("enroll needs --code CODE")?;
            enroll(store, hub, code, &client(args.hub_ca.as_deref())?)
        }
        "demo" | "run" => {
            let demo = args.command == "demo";
            let mut config = TerminalConfig::new(&path);
            if let Some(address) = &args.printer {
                config.printers = Printers::Front(address.clone());
            }
            config.ui_port = args.ui_port;
            config.scanner.clone_from(&args.scanner);
            config.attachments = args.attachments;
            // An enrolled terminal syncs with its hub, in the demo too (that is where its
            // catalog comes from); one that is not stays offline.
            config.hub =
                Some(HubLink { url: args.hub.clone(), client: client(args.hub_ca.as_deref())? });
            if !demo {
                config.lan_listen = args.lan_listen;
                config.lan_peers.clone_from(&args.peers);
            }
            runtime()?.block_on(serve(config, demo, args.run_for))
        }
        other => bail!("unknown command {other:?}; try --help"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn client(ca: Option<&std::path::Path>) -> Result<reqwest::Client> {
    let pem = ca
        .map(|path| std::fs::read(path).with_context(|| format!("reading {}", path.display())))
        .transpose()?;
    Ok(sync::hub::http_client_trusting(pem.as_deref())?)
}

fn enroll(store: Store, hub: &str, code: &str, client: &reqwest::Client) -> Result<()> {
    let store = SharedStore::new(store);
    let enrollment = runtime()?.block_on(async {
        sync::hub::enroll(&store, client, hub, code).await.context("enrolling")
    })?;
    println!("Enrolled with {}", enrollment.hub_url);
    println!("  device    {} ({})", enrollment.device_id, enrollment.role);
    println!("  tenant    {}", enrollment.tenant_id);
    println!("  location  {}", enrollment.location_id);
    Ok(())
}

/// Runs a terminal: for `demo`, rings up the demo sales and prints them first; then serves
/// until Ctrl-C or `run_for` (with no UI, `demo` stops once the printers are done).
async fn serve(config: TerminalConfig, demo: bool, run_for: Option<Duration>) -> Result<()> {
    // A service manager stops the agent with SIGTERM: shut down as for Ctrl-C, also when it
    // comes while the terminal is still starting (it is acted on once the terminal runs).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    let terminal = Terminal::start(config).await.context("starting the terminal")?;
    let store = terminal.store().clone();
    if demo {
        if store.run(|s| s.enrollment()).await?.is_some() {
            wait_for_catalog(&store).await?;
        }
        store.run(ring_up_demo).await?;
        store.run(|s| print_summary(s)).await?;
        if let Some(service) = terminal.print() {
            drain(&store, service).await?;
        }
    }
    if let Some(addr) = terminal.lan_addr() {
        println!("LAN listening on {addr}");
    }
    if let Some(addr) = terminal.ui_addr() {
        println!("\nTerminal UI  http://{addr}/");
        if demo {
            println!(
                "  sign in as Sam (cashier, PIN {}) or Morgan (manager, PIN {})",
                seed::CASHIER_PIN,
                seed::MANAGER_PIN
            );
        }
        println!("  Ctrl-C to stop");
    } else if demo {
        terminal.shutdown().await;
        return Ok(());
    }
    let deadline = run_for.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        let stop = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            () = stop => break,
            _ = tick.tick() => if let Some(status) = terminal.sync_status() { report(&status) },
        }
    }
    if let Some(status) = terminal.sync_status() {
        report(&status);
    }
    let store = terminal.shutdown().await;
    if !demo {
        store.run(|s| print_summary(s)).await?;
    }
    Ok(())
}

fn report(status: &SyncStatus) {
    for (peer, s) in &status.peers {
        println!(
            "sync {peer}: {} outbox {} received {} credential {:?}{}",
            if s.online { "online" } else { "offline" },
            s.outbox_depth,
            s.events_received,
            s.credential,
            s.last_error.as_ref().map(|e| format!(" last error: {e}")).unwrap_or_default(),
        );
    }
}

/// Waits (bounded) for the demo's jobs to print, then says how the printers fared.
async fn drain(store: &SharedStore, service: &PrintService) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let pending =
        || store.run(|s| s.print_jobs(&[JobState::Queued, JobState::Sending, JobState::Sent]));
    while !pending().await?.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("\nPrinters");
    for p in service.status() {
        let problem =
            p.problem.as_deref().unwrap_or(if p.reachable { "ready" } else { "unreachable" });
        println!(
            "  {:<8} {problem:<12} printed {}  waiting {}",
            p.name,
            p.printed,
            pending().await?.len()
        );
    }
    Ok(())
}

/// Waits (bounded) until the catalog the hub publishes has arrived.
async fn wait_for_catalog(store: &SharedStore) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.run(|s| s.items()).await?.is_empty() {
        if Instant::now() > deadline {
            bail!(
                "the hub has published no catalog for this terminal's tenant within a minute \
                 (publish one from the console, or with `thorbis-agent demo-catalog` and the \
                 hub's reference-events endpoint)"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Prints the demo catalog and staff as a reference-events publication for the hub:
/// `{"events": [{"kind": ..., "payload": {...}}, ...]}`.
fn print_demo_catalog() -> Result<()> {
    let publication = seed::catalog_publication().context("deciding the demo catalog")?;
    println!("{publication}");
    Ok(())
}

fn ring_up_demo(store: &mut Store) -> Result<()> {
    // Catalog, prices and staff are the hub's to publish: only a terminal on its own (not
    // enrolled, no one to sync with) seeds them into its store.
    if store.items()?.is_empty() && store.enrollment()?.is_none() {
        store.execute_all(&seed::catalog()).context("seeding the catalog")?;
    }
    let drawer = if let Some((id, _)) = store.open_drawers()?.first() {
        *id
    } else {
        let id = DrawerSessionId(store.new_id());
        store.execute(&seed::open_drawer(id))?;
        id
    };
    store.execute(&Command::ReceiveStock {
        item_id: seed::COFFEE_BEANS,
        qty: Qty::units(24),
        note: "weekly delivery".into(),
    })?;
    store.execute(&Command::ReceiveStock {
        item_id: seed::BANANAS,
        qty: Qty::milli(18_500),
        note: "weekly delivery".into(),
    })?;

    // A counter sale, paid cash.
    let ids = SaleIds::new(|| store.new_id());
    store.execute_all(&seed::typical_sale(ids, drawer))?;

    // A table's check, sent to the kitchen and left open.
    let order_id = OrderId(store.new_id());
    let mut check = vec![Command::OpenOrder {
        order_id,
        currency: seed::CURRENCY,
        mode: ServiceMode::DineIn,
        table: Some("12".into()),
        guests: Some(2),
        staff: None,
    }];
    for (item, modifiers, seat) in [
        (seed::BURGER, vec![seed::MEDIUM_RARE, seed::CHEESE, seed::BACON], 1),
        (seed::BURGER, vec![seed::WELL_DONE], 2),
        (seed::FRIES, vec![], 1),
    ] {
        check.push(Command::AddLine {
            order_id,
            line_id: LineId(store.new_id()),
            item_id: item,
            qty: Qty::ONE,
            modifiers,
            seat: Some(seat),
            course: Some(1),
            note: None,
            price_override: None,
        });
    }
    check.push(Command::SendToKitchen { order_id });
    store.execute_all(&check)?;

    // A retail sale: beans and 0.742 kg of bananas, paid by card.
    let sale = OrderId(store.new_id());
    let mut retail = vec![Command::OpenOrder {
        order_id: sale,
        currency: seed::CURRENCY,
        mode: ServiceMode::Retail,
        table: None,
        guests: None,
        staff: None,
    }];
    for (item, qty) in [(seed::COFFEE_BEANS, Qty::units(2)), (seed::BANANAS, Qty::milli(742))] {
        retail.push(seed::line(sale, LineId(store.new_id()), item, qty, vec![]));
    }
    retail.push(Command::TakePayment {
        order_id: sale,
        payment_id: PaymentId(store.new_id()),
        tender: TenderInput::Card {
            brand: "VISA".into(),
            last4: "4242".into(),
            auth_code: "A1B2C3".into(),
        },
        amount: None,
        tip: Money::ZERO,
        drawer_session: Some(drawer),
        staff: None,
    });
    retail.push(Command::CloseOrder { order_id: sale, staff: None });
    store.execute_all(&retail)?;
    Ok(())
}

fn print_summary(store: &Store) -> Result<()> {
    println!("Thorbis Edge agent");
    println!("  store   {}", store.path().display());
    println!("  device  {}  (chain at seq {})", store.device_id(), store.tip().seq);
    println!("  events  {}", store.event_count()?);
    match store.enrollment()? {
        Some(e) => println!("  hub     {}  ({} at location {})", e.hub_url, e.role, e.location_id),
        None => println!("  hub     not enrolled"),
    }
    println!("\nOpen checks");
    for o in store.open_orders()? {
        let table = o.order.opened.as_ref().and_then(|x| x.value.table.clone()).unwrap_or_default();
        println!(
            "  table {table:<4} {} lines  total {:>8}  due {:>8}",
            o.order.live_lines().count(),
            o.totals.total.format(o.currency),
            o.totals.balance.format(o.currency)
        );
    }
    println!("\nKitchen");
    for t in store.kds_queue(None)? {
        println!("  [{}] table {}", t.ticket.station, t.table.as_deref().unwrap_or("-"));
        for line in &t.ticket.lines {
            println!("      {} x{}  {}", line.name, line.qty, line.modifiers.join(", "));
        }
    }
    println!("\nStock on hand");
    for item in store.items()?.into_iter().filter(|i| i.track_stock) {
        let qty = store.stock_on_hand(item.id)?;
        println!("  {:<22} {:>9}", item.name, qty.to_string());
    }
    for (id, session) in store.open_drawers()? {
        let Some(z) = store.z_report(id)? else { continue };
        let cur = z.currency;
        println!("\nDrawer session {id}");
        println!(
            "  orders {}  net sales {}  tax {}",
            z.orders,
            z.net_sales.format(cur),
            z.tax.format(cur)
        );
        for (tender, t) in &z.tenders {
            println!("  {tender:<6} {:>3} payments  {:>9}", t.count, t.amount.format(cur));
        }
        println!("  cash expected in drawer {}", session.expected_cash().format(cur));
    }
    Ok(())
}
