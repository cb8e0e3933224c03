//! The sync simulation over many seeds (`harness = false`, so its summary line shows).
//!
//! * `THORBIS_SYNC_SEEDS=<n>`: how many seeds to run (default 10,000), from seed 0.
//! * `THORBIS_SYNC_SEED=<n>`: replay exactly one seed, e.g. one a failure printed.
//!
//! Seeds are spread over the machine's cores; each seed is deterministic on its own, so
//! the split does not change any outcome.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a test binary reports its result")]

use std::panic;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use thorbis_tests::sim::{self, Stats};

const DEFAULT_SEEDS: u64 = 10_000;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(e) => panic!("{name}={value} is not a number: {e}"),
    }
}

/// One seed; a panic counts as a failure with its message.
fn run_one(seed: u64) -> Result<Stats, String> {
    match panic::catch_unwind(|| sim::run(seed)) {
        Ok(result) => result,
        Err(payload) => Err(payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .map_or_else(|| "panicked".to_owned(), |m| format!("panicked: {m}"))),
    }
}

fn main() -> ExitCode {
    // libtest-style arguments are ignored; `--list` asks for the test names only.
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let seeds: Vec<u64> = match env_u64("THORBIS_SYNC_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("THORBIS_SYNC_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect(),
    };
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let total = Mutex::new(Stats::default());
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut stats = Stats::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i as usize) else { break };
                    match run_one(seed) {
                        Ok(s) => stats.add(&s),
                        Err(why) => {
                            eprintln!(
                                "FAILED seed {seed}: {why}\n  replay: THORBIS_SYNC_SEED={seed} \
                                 cargo test -p thorbis-tests --test sync_simulation"
                            );
                            failures.lock().expect("no poisoning").push(seed);
                        }
                    }
                }
                total.lock().expect("no poisoning").add(&stats);
            });
        }
    });
    let failures = failures.into_inner().expect("no poisoning");
    let stats = total.into_inner().expect("no poisoning");
    println!(
        "sync_simulation: {} events, {} messages ({} dropped, {} refused: garbled, or a gap \
         or stamp the hub refuses), {} crashes, {} deferred by the clock bound, slowest heal \
         {} steps, in {:.1} s",
        stats.events,
        stats.messages,
        stats.dropped,
        stats.refused,
        stats.crashes,
        stats.deferred,
        stats.heal_steps,
        started.elapsed().as_secs_f64()
    );
    println!("RESULT sync_simulation seeds={} failures={}", seeds.len(), failures.len());
    if failures.is_empty() {
        println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
        ExitCode::SUCCESS
    } else {
        println!("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
        ExitCode::FAILURE
    }
}
