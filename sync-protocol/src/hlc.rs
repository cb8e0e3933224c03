//! Hybrid logical clock (Kulkarni et al., 2014).
//!
//! The clocks on tills drift, get set by hand and jump when NTP finally reaches them. Ordering
//! events by wall time alone would let a till whose clock is an hour slow write events that
//! sort before things that caused them. An [`Hlc`] stamp stays close to physical time but
//! never goes backwards on one device, and every stamp a device issues after receiving a
//! peer's event sorts after that event.
//!
//! The clock never reads time itself: callers pass `now_ms` (Unix milliseconds) in, which
//! keeps this crate free of IO and makes every scenario reproducible in tests.
//!
//! # Limits
//!
//! * **Far-future peers.** A peer whose clock is wildly ahead would drag every clock it
//!   talks to into the future, permanently. [`HlcClock::observe`] therefore refuses stamps
//!   more than `max_ahead_ms` ahead of local physical time.
//! * **Counter overflow.** If one millisecond sees more than `u32::MAX` stamps, the clock
//!   moves to the next millisecond with counter 0: still strictly increasing, and a
//!   drift of one millisecond per four billion stamps is immaterial.
//! * **End of time.** At `Hlc { wall_ms: u64::MAX, counter: u32::MAX }` no greater stamp
//!   exists and the clock stays put. Reaching it needs a wall clock half a billion years
//!   ahead, which `observe` refuses unless `max_ahead_ms` is absurdly large.

use serde::{Deserialize, Serialize};

/// A hybrid logical clock stamp. Orders by `wall_ms`, then `counter`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Physical component: Unix milliseconds, never behind the largest wall time seen.
    pub wall_ms: u64,
    /// Logical component: orders stamps that share a `wall_ms`.
    pub counter: u32,
}

impl Hlc {
    /// The smallest stamp greater than `self` and not behind physical time `now_ms`.
    fn successor(self, now_ms: u64) -> Hlc {
        if now_ms > self.wall_ms {
            return Hlc { wall_ms: now_ms, counter: 0 };
        }
        match self.counter.checked_add(1) {
            Some(counter) => Hlc { wall_ms: self.wall_ms, counter },
            // Counter overflow: borrow the next millisecond (see module docs).
            None => match self.wall_ms.checked_add(1) {
                Some(wall_ms) => Hlc { wall_ms, counter: 0 },
                None => self,
            },
        }
    }
}

/// Why [`HlcClock::observe`] refused a remote stamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HlcError {
    /// The remote stamp is further ahead of local time than the clock tolerates.
    #[error(
        "remote clock is too far ahead: its stamp is at {remote_ms} ms, local time is \
         {local_ms} ms, and at most {max_ahead_ms} ms ahead is accepted"
    )]
    TooFarAhead {
        /// The remote stamp's `wall_ms`.
        remote_ms: u64,
        /// Local physical time passed to `observe`.
        local_ms: u64,
        /// The clock's tolerance.
        max_ahead_ms: u64,
    },
}

/// A device's hybrid logical clock: issues stamps for local events and absorbs stamps
/// from received ones.
///
/// Persist [`HlcClock::last`] with the events it stamped and restore it with
/// [`HlcClock::with_last`] after a restart, so stamps keep increasing even if the
/// physical clock went backwards while the device was off.
#[derive(Clone, Debug)]
pub struct HlcClock {
    last: Hlc,
    max_ahead_ms: u64,
}

impl HlcClock {
    /// A fresh clock that has issued nothing yet and accepts remote stamps at most
    /// `max_ahead_ms` ahead of local physical time.
    #[must_use]
    pub fn new(max_ahead_ms: u64) -> Self {
        Self::with_last(Hlc::default(), max_ahead_ms)
    }

    /// A clock that resumes after `last`, the greatest stamp issued or observed before a
    /// restart.
    #[must_use]
    pub fn with_last(last: Hlc, max_ahead_ms: u64) -> Self {
        Self { last, max_ahead_ms }
    }

    /// The greatest stamp issued or observed so far.
    #[must_use]
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// The tolerance for remote stamps ahead of local time, in milliseconds.
    #[must_use]
    pub fn max_ahead_ms(&self) -> u64 {
        self.max_ahead_ms
    }

    /// Stamps a local event at physical time `now_ms`.
    ///
    /// The result is strictly greater than every stamp issued or observed before. Its
    /// `wall_ms` is `max(now_ms, last.wall_ms)`; the counter restarts at 0 whenever
    /// `wall_ms` advances. This never fails: if the physical clock steps backwards, stamps
    /// continue from the last one by counting up.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        self.last = self.last.successor(now_ms);
        self.last
    }

    /// Absorbs the stamp of an event received from a peer, at local physical time `now_ms`,
    /// and returns a new stamp greater than both the remote stamp and every earlier one.
    ///
    /// This is the standard HLC receive rule. A remote stamp more than `max_ahead_ms`
    /// ahead of `now_ms` is refused with [`HlcError::TooFarAhead`] and leaves the clock
    /// unchanged; the caller decides what to do with the event (typically quarantine it
    /// and alert).
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<Hlc, HlcError> {
        if remote.wall_ms > now_ms.saturating_add(self.max_ahead_ms) {
            return Err(HlcError::TooFarAhead {
                remote_ms: remote.wall_ms,
                local_ms: now_ms,
                max_ahead_ms: self.max_ahead_ms,
            });
        }
        // Lexicographic max then successor is exactly the three-way case split of the
        // paper: equal walls take max(counter) + 1, otherwise the larger side's counter + 1,
        // and physical time ahead of both resets the counter.
        self.last = self.last.max(remote).successor(now_ms);
        Ok(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn hlc(wall_ms: u64, counter: u32) -> Hlc {
        Hlc { wall_ms, counter }
    }

    #[test]
    fn tick_follows_physical_time_and_counts_within_a_millisecond() {
        let mut clock = HlcClock::new(1_000);
        assert_eq!(clock.tick(100), hlc(100, 0));
        assert_eq!(clock.tick(100), hlc(100, 1));
        assert_eq!(clock.tick(101), hlc(101, 0));
        // Physical clock steps back: keep counting from the last stamp.
        assert_eq!(clock.tick(50), hlc(101, 1));
        assert_eq!(clock.last(), hlc(101, 1));
    }

    #[test]
    fn first_tick_at_time_zero_is_still_after_the_default() {
        let mut clock = HlcClock::new(0);
        assert_eq!(clock.tick(0), hlc(0, 1));
    }

    #[test]
    fn observe_applies_the_receive_rule() {
        let mut clock = HlcClock::with_last(hlc(100, 5), 1_000);
        // Same wall: max counter + 1.
        assert_eq!(clock.observe(hlc(100, 9), 90), Ok(hlc(100, 10)));
        // Remote ahead of both: its counter + 1.
        assert_eq!(clock.observe(hlc(200, 3), 150), Ok(hlc(200, 4)));
        // Local last ahead: last counter + 1.
        assert_eq!(clock.observe(hlc(10, 99), 150), Ok(hlc(200, 5)));
        // Physical time ahead of both: counter resets.
        assert_eq!(clock.observe(hlc(250, 7), 300), Ok(hlc(300, 0)));
    }

    #[test]
    fn counter_overflow_borrows_the_next_millisecond() {
        let mut clock = HlcClock::with_last(hlc(5, u32::MAX), 0);
        assert_eq!(clock.tick(0), hlc(6, 0));
        let mut clock = HlcClock::with_last(hlc(5, 0), 10);
        assert_eq!(clock.observe(hlc(5, u32::MAX), 5), Ok(hlc(6, 0)));
    }

    #[test]
    fn end_of_time_saturates() {
        let end = hlc(u64::MAX, u32::MAX);
        let mut clock = HlcClock::with_last(end, 0);
        assert_eq!(clock.tick(u64::MAX), end);
    }

    #[test]
    fn too_far_ahead_is_refused_without_changing_state() {
        let mut clock = HlcClock::with_last(hlc(1_000, 2), 500);
        assert_eq!(
            clock.observe(hlc(1_501, 0), 1_000),
            Err(HlcError::TooFarAhead { remote_ms: 1_501, local_ms: 1_000, max_ahead_ms: 500 })
        );
        assert_eq!(clock.last(), hlc(1_000, 2));
        // Exactly at the limit is accepted.
        assert_eq!(clock.observe(hlc(1_500, 0), 1_000), Ok(hlc(1_500, 1)));
    }
}
