//! Simulated hardware and networks for tests and the demo: a virtual ESC/POS printer, scanner
//! and drawer, a fleet of terminals, and a chaos proxy.
//!
//! This crate is a placeholder until the devices and sync issues land.
