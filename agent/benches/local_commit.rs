//! Local commit latency: a typical sale (open, three lines with modifiers, cash tender,
//! close) committed atomically, against a bare single-row SQLite commit with the same
//! pragmas, measured interleaved in one run on the same disk so both see the same noise.
//!
//! `cargo bench -p thorbis-agent --bench local_commit` prints:
//! `METRIC sale_commit_p50_ms`, `METRIC sale_commit_p99_ms`, `METRIC raw_commit_p50_ms`,
//! `METRIC raw_commit_p99_ms`, `METRIC sale_vs_raw_p99_ratio`, and for reference the same
//! sale as six separate commits (`METRIC sale_six_commits_p99_ms`), the path a restaurant
//! check takes when each tap is stored as it happens.
//!
//! `THORBIS_BENCH_SALES` sets the number of sales (default 3000). The store lives in the
//! system temp dir (a real disk here), never on tmpfs, so fsync is real.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

use std::time::Instant;

use anyhow::Result;
use rusqlite::Connection;
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::{Store, StoreConfig};
use thorbis_domain::ids::DrawerSessionId;

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects a
    // quick smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let sales: usize = std::env::var("THORBIS_BENCH_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 3000 } else { 50 });
    let dir = tempfile::tempdir_in(std::env::temp_dir())?;

    let mut store = Store::open(StoreConfig {
        id_seed: Some(1),
        ..StoreConfig::new(dir.path().join("agent.db"))
    })?;
    store.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;

    let raw = Connection::open(dir.path().join("raw.db"))?;
    let mode: String = raw.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    raw.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);",
    )?;
    let payload = vec![7u8; 200];

    let warmup = sales / 10;
    let mut sale_ms = Vec::with_capacity(sales);
    let mut raw_ms = Vec::with_capacity(sales);
    let mut six_ms = Vec::with_capacity(sales / 4);
    for i in 0..warmup + sales {
        let ids = SaleIds::new(|| store.new_id());
        let commands = seed::typical_sale(ids, drawer);
        let t = Instant::now();
        store.execute_all(&commands)?;
        let sale = t.elapsed();

        let t = Instant::now();
        raw.execute("INSERT INTO t (v) VALUES (?1)", [&payload])?;
        let bare = t.elapsed();

        if i >= warmup {
            sale_ms.push(sale.as_secs_f64() * 1e3);
            raw_ms.push(bare.as_secs_f64() * 1e3);
        }
        if i >= warmup && i % 4 == 0 {
            let ids = SaleIds::new(|| store.new_id());
            let t = Instant::now();
            for command in seed::typical_sale(ids, drawer) {
                store.execute(&command)?;
            }
            six_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (sale50, sale99) = (percentile(&mut sale_ms, 50.0), percentile(&mut sale_ms, 99.0));
    let (raw50, raw99) = (percentile(&mut raw_ms, 50.0), percentile(&mut raw_ms, 99.0));
    println!("METRIC sale_commit_p50_ms {sale50:.3}");
    println!("METRIC sale_commit_p99_ms {sale99:.3}");
    println!("METRIC raw_commit_p50_ms {raw50:.3}");
    println!("METRIC raw_commit_p99_ms {raw99:.3}");
    println!("METRIC sale_vs_raw_p99_ratio {:.2}", sale99 / raw99);
    println!("METRIC sale_six_commits_p99_ms {:.3}", percentile(&mut six_ms, 99.0));
    println!("# {sales} sales, events in store: {}", store.event_count()?);
    Ok(())
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank]
}
