//! Cross-crate end-to-end scenarios (hub, agents, simulated devices together).
//!
//! Empty until the hub and sync issues land: today every scenario lives with the crate it
//! exercises (`agent/tests`, `domain/tests`, `sync-protocol/tests`).
