//! Cross-crate end-to-end scenarios (hub, agents, simulated devices together).
//!
//! Today: [`sim`], the deterministic simulation of the sync protocol between agents and a
//! hub under injected faults (`tests/sync_simulation.rs` runs it over many seeds). Other
//! scenarios still live with the crate they exercise (`agent/tests`, `domain/tests`,
//! `sync-protocol/tests`).

pub mod sim;
