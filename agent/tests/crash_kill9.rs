//! Crash test: order entry in a child process is killed with SIGKILL at random points; after
//! each kill the store must hold every sale the child acknowledged, complete, and nothing
//! half-written.
//!
//! `cargo test -p thorbis-agent --test crash_kill9` runs `THORBIS_CRASH_RUNS` kills (200 by
//! default); the full check is `THORBIS_CRASH_RUNS=1000 cargo test --release -p thorbis-agent
//! --test crash_kill9`. The kill points come from `THORBIS_CRASH_SEED` (printed), so a
//! failure can be replayed.
//!
//! This file is its own harness (`harness = false`): run with `--child DB` it is the order
//! entry process; otherwise it is the supervisor.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A harness reports on its terminal.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{Store, StoreConfig};
use thorbis_domain::ids::{DrawerSessionId, OrderId};
use thorbis_domain::order::OrderStatus;
use uuid::Uuid;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(Path::new(args.get(i + 1).context("--child needs a path")?));
    }
    // `cargo test` passes harness flags such as `--nocapture`; `--list` must list nothing
    // rather than run the whole test.
    if args.iter().any(|a| a == "--list") {
        return Ok(());
    }
    supervise()
}

/// The order entry process: seeds the catalog once, opens a drawer, then rings up sales as
/// fast as it can, printing `ACK <order id>` after each commit returns.
fn child(db: &Path) -> Result<()> {
    let mut store = Store::open(StoreConfig::new(db)).context("child opening the store")?;
    if store.items()?.is_empty() {
        store.execute_all(&seed::catalog())?;
    }
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;
    let stdout = std::io::stdout();
    loop {
        let ids = SaleIds::new(|| store.new_id());
        store.execute_all(&seed::typical_sale(ids, drawer))?;
        let mut out = stdout.lock();
        writeln!(out, "ACK {}", ids.order)?;
        out.flush()?;
    }
}

#[derive(Default)]
struct Tally {
    runs: u32,
    lost: u32,
    partial: u32,
    integrity_failures: u32,
    acked: usize,
}

fn supervise() -> Result<()> {
    let runs: u32 = env_or("THORBIS_CRASH_RUNS", 200)?;
    let seed: u64 = if let Ok(s) = std::env::var("THORBIS_CRASH_SEED") {
        s.parse().context("THORBIS_CRASH_SEED")?
    } else {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        now.as_nanos() as u64 ^ u64::from(std::process::id())
    };
    eprintln!("crash_kill9: {runs} runs, THORBIS_CRASH_SEED={seed}");
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let mut rng = seed;
    let mut tally = Tally::default();
    let mut acked_all: BTreeSet<Uuid> = BTreeSet::new();
    let mut db = dir.path().join("agent-0.db");
    for run in 0..runs {
        // Each store lives through `RUNS_PER_STORE` kills, so later kills hit a store with
        // history (and its WAL mid-checkpoint), while the checks stay fast.
        let fresh = run % RUNS_PER_STORE == 0;
        if fresh {
            db = dir.path().join(format!("agent-{run}.db"));
            acked_all.clear();
        }
        // A fresh store needs time to be created and seeded; after that, kills land
        // anywhere from before the first commit to well into a stream of sales.
        let delay_ms = 5 + splitmix(&mut rng) % 60 + if fresh { 300 } else { 0 };
        let acked = run_and_kill(&exe, &db, Duration::from_millis(delay_ms))?;
        tally.runs += 1;
        tally.acked += acked.len();
        acked_all.extend(acked);
        let full = (run + 1) % RUNS_PER_STORE == 0 || run + 1 == runs;
        check(&db, &acked_all, full, &mut tally).with_context(|| format!("run {run}"))?;
    }
    println!(
        "RESULT crash_kill9 runs={} lost={} partial={} integrity_failures={} acked_sales={}",
        tally.runs, tally.lost, tally.partial, tally.integrity_failures, tally.acked
    );
    if tally.lost + tally.partial + tally.integrity_failures > 0 {
        bail!("the store lost or half-wrote sales; replay with THORBIS_CRASH_SEED={seed}");
    }
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    Ok(())
}

/// Starts a child, kills it with SIGKILL after `delay`, returns the sales it acknowledged.
fn run_and_kill(exe: &Path, db: &Path, delay: Duration) -> Result<Vec<Uuid>> {
    let mut child = Process::new(exe)
        .arg("--child")
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawning the child")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("ACK ").and_then(|s| s.parse::<Uuid>().ok()) {
                let _ = tx.send(id);
            }
        }
    });
    std::thread::sleep(delay);
    // `Child::kill` sends SIGKILL on Unix: no destructor, no flush, no rollback runs.
    child.kill().context("killing the child")?;
    let status = child.wait()?;
    if status.success() {
        bail!("the child exited by itself");
    }
    reader.join().ok();
    Ok(rx.try_iter().collect())
}

/// Kills survived by one store before the test starts a new one.
const RUNS_PER_STORE: u32 = 25;

/// Reopens the store as a fresh process would and checks it; `full` also rebuilds the
/// projections from the log and compares.
fn check(db: &Path, acked: &BTreeSet<Uuid>, full: bool, tally: &mut Tally) -> Result<()> {
    let mut store = Store::open(StoreConfig::new(db)).context("reopening after the kill")?;
    if store.integrity_check()? != "ok" {
        tally.integrity_failures += 1;
    }
    if let Err(e) = store.verify_log() {
        eprintln!("event log check failed: {e}");
        tally.integrity_failures += 1;
    }
    for id in acked {
        match store.order(OrderId(*id))? {
            None => tally.lost += 1,
            Some(o) if !complete(&o) => tally.partial += 1,
            Some(_) => {}
        }
    }
    // Sales are atomic: any order on disk, acknowledged or not, is a whole sale.
    for o in store.all_orders()? {
        if !acked.contains(&o.id.0) && !complete(&o) {
            tally.partial += 1;
        }
    }
    if !full {
        return Ok(());
    }
    // The projections on disk must equal a fresh fold of the log.
    let before = store.projection_digest()?;
    store.rebuild_projections()?;
    if store.projection_digest()? != before {
        eprintln!("projections differ from a rebuild of the event log");
        tally.integrity_failures += 1;
    }
    Ok(())
}

fn complete(o: &thorbis_agent::OrderView) -> bool {
    o.order.status() == OrderStatus::Closed
        && o.order.lines.len() == 3
        && o.order.payments.len() == 1
        && o.totals.total == seed::TYPICAL_SALE_TOTAL
        && o.totals.balance.as_minor() == 0
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v}")),
        Err(_) => Ok(default),
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
