//! Receipt encoding time: the café sample receipt (about thirty lines, accented text, a QR
//! code, a cut) encoded for an 80 mm printer, from the receipt model to the ESC/POS bytes.
//!
//! `cargo bench -p thorbis-drivers --bench receipt_encode` prints `METRIC receipt_encode_us`,
//! the median over batches of the time per receipt (goal ≤ 20 µs). Under `cargo test
//! --benches` (no `--bench` argument) it runs a few iterations as a smoke test.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

use std::hint::black_box;
use std::time::Instant;

use thorbis_drivers::encoder::Encoder;
use thorbis_drivers::profile::PrinterProfile;
use thorbis_drivers::sample::cafe_receipt;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing.
    let bench = std::env::args().any(|a| a == "--bench");
    let (batches, per_batch): (usize, u32) = if bench { (200, 500) } else { (3, 5) };

    let profile = PrinterProfile::builtin("generic-80mm").expect("built-in profile");
    let receipt = cafe_receipt();
    let encoder = Encoder::new(&profile);
    let mut out = Vec::with_capacity(4096);
    encoder.encode_into(&receipt, &mut out).expect("encodes");
    let bytes = out.len();

    let mut per_receipt_us = Vec::with_capacity(batches);
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..per_batch {
            out.clear();
            encoder.encode_into(black_box(&receipt), &mut out).expect("encodes");
            black_box(&out);
        }
        per_receipt_us.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(per_batch));
    }
    per_receipt_us.sort_by(f64::total_cmp);
    let median = per_receipt_us[per_receipt_us.len() / 2];
    println!("receipt: {bytes} bytes, {batches} batches of {per_batch}");
    println!("METRIC receipt_encode_us {median:.2}");
}
