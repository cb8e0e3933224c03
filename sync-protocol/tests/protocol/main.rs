//! Integration and property tests for `thorbis-sync-protocol`, in one test binary so the
//! suite links once.
//!
//! Property tests use proptest's default configuration (256 cases) with small inputs so
//! the whole suite runs in seconds.

mod chain;
mod codec;
mod event;
mod golden;
mod hlc;
mod strategies;
mod sync;
mod vector;
