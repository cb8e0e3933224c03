//! Where "now" comes from, for the shells around the protocol.
//!
//! Nothing else in this crate reads time: every function takes `now_ms` as an argument. The
//! agent and the hub hold an `Arc<dyn Clock>` and pass `clock.now_ms()` in, so tests inject
//! a [`ManualClock`] and run a day in a millisecond. [`SystemClock`] is, with
//! `DeviceKey::generate`'s randomness, the only place the crate touches the operating system.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 is a broken machine: 0 makes every freshness window fail
        // closed, and hybrid logical clocks keep their stamps moving forward regardless.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `now_ms`.
    #[must_use]
    pub fn new(now_ms: u64) -> Self {
        Self(AtomicU64::new(now_ms))
    }

    /// Moves the clock to `now_ms` (backwards too, as real clocks sometimes do).
    pub fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the clock by `delta_ms`, backwards when negative.
    pub fn advance(&self, delta_ms: i64) {
        let now = self.0.load(Ordering::SeqCst);
        self.0.store(now.saturating_add_signed(delta_ms), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
