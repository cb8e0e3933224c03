//! The Thorbis Edge agent core: what every terminal keeps and syncs.
//!
//! This crate owns the terminal's durable [`Store`]: a SQLite file (WAL,
//! `synchronous = FULL`) holding the device's identity and Ed25519 key, the signed,
//! hash-chained event log of every device it has heard from, and the projections folded
//! from that log by `thorbis-domain`. Commands go in through [`Store::execute`] /
//! [`Store::execute_all`]; screens read projections through the `Store` read methods.
//! Staff sign in with a PIN verified offline against the hashes in the catalog
//! ([`Store::sign_in`], [`Store::approve`], see [`staff`]).
//!
//! Invariants:
//! - A command's events, their projections and the chain tip are written in one
//!   transaction; a refused command writes nothing.
//! - Business rules live in `thorbis-domain`, never here: this crate stores what the
//!   domain decides and folds.
//! - The store never reads the system clock or OS randomness directly except through
//!   [`Clock`] and seeded id generation, so tests are reproducible.
//!
//! The screens live in their own crate (`thorbis-terminal-ui`) on top of this one, and the
//! runtime that wires store, sync, printing, scanner and UI together in another
//! (`thorbis-terminal`, which builds the `thorbis-agent` binary): this crate renders
//! nothing and serves nothing but its sync peers.
//!
//! [`sync`] is the sync shell: enrollment with the hub and one tokio task per peer moving
//! events between the store and the hub (a LAN peer is another transport), with the
//! store shared as [`sync::SharedStore`]. [`lan`] is the LAN transport's TLS and peer
//! authentication.

pub mod blobs;
mod checkpoint;
pub mod data_dir;
mod error;
pub mod ids;
pub mod lan;
pub mod print;
mod projection;
pub mod schema;
pub mod seed;
pub mod staff;
mod store;
pub mod sync;

pub use error::StoreError;
pub use staff::{SignInError, SignedIn};
pub use store::{
    Applied, CheckedPin, Committed, Enrollment, LogReport, OrderView, PROJECTION_VERSION, PinCheck,
    PrintDecision, Quarantined, RequestSigner, Store, StoreConfig, StoreKeys, TechnicianPinError,
    TicketView,
};
pub use thorbis_sync_protocol::clock::{self, Clock, ManualClock, SystemClock};
