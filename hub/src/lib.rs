//! The Thorbis Edge hub: the multi-tenant server that enrolls devices, verifies and stores
//! every tenant's signed event logs in Postgres, serves them back to the devices allowed to
//! see them, and hosts the managers' web console.
//!
//! This crate is a placeholder until the hub issue lands; it owns nothing yet. It must never
//! accept an event it has not verified against an enrolled device's key.
