//! Simulated hardware for tests and the demo: a virtual ESC/POS printer (TCP 9100 and a
//! serial pseudo-terminal), a virtual serial barcode scanner and a virtual cash drawer.
//!
//! The printer is built in layers, each ignorant of the ones above it:
//! - [`escpos`]: the byte grammar. Bytes in, commands and diagnostics out; never panics,
//!   never trusts a length field.
//! - [`receipt`]: the print buffer. Commands in, a [`receipt::Receipt`] model out; the
//!   bars of 1D barcodes come from [`barcode`], the characters from the code page tables
//!   ([`profile`] maps `ESC t n` to them).
//! - [`render`]: a receipt as text and as a PNG.
//! - [`printer`]: the device state machine (paper, cover, drawer, speed, status replies),
//!   sans-IO with time passed in.
//! - [`server`]: thin std-thread shells over TCP and a pseudo-terminal, the in-memory job
//!   list ([`server::PrinterHandle::jobs`]) and the output folder.
//!
//! Beside it, [`scanner`] types barcodes into a pseudo-terminal, and [`control`] is the line
//! protocol (`paper out`, `cover open`, `status`, `scan ...`) that changes the devices'
//! conditions while they run.
//!
//! Apart from the devices, [`chaos`] is a TCP proxy that injects network faults (drop,
//! delay, duplicate, reset, half and full partitions, seeded schedules) between agents and
//! the hub, for the sync engine's tests with real processes.
//!
//! ```
//! use thorbis_simulators::profile::SimProfile;
//! use thorbis_simulators::receipt::interpret_all;
//! use thorbis_simulators::render;
//!
//! // ESC @, CP858 (ESC t 19), "Grüße 5€", LF, EAN-13, full cut.
//! let bytes = b"\x1b@\x1bt\x13Gr\x81\xe1e 5\xd5\n\x1dk\x02400638133393\x00\x1dV\x00";
//! let jobs = interpret_all(&SimProfile::default(), bytes);
//! assert_eq!(render::text(&jobs[0].receipt), "Grüße 5€\n[BARCODE EAN13 4006381333931]\n");
//! assert!(jobs[0].diagnostics.is_empty());
//! ```
//!
//! The parser is written from the ESC/POS reference and never calls the drivers' encoder, so
//! it checks any encoder's output independently; only the code page tables are shared with
//! `thorbis-drivers`, so both sides agree on what a byte means.
//!
//! This crate never prints to stdout (only the `thorbis-sim` binary does) and never talks to
//! real hardware.

pub mod barcode;
pub mod chaos;
pub mod codepage_extra;
pub mod control;
pub mod escpos;
pub mod printer;
pub mod profile;
mod pty;
pub mod receipt;
pub mod render;
pub mod scanner;
pub mod server;
