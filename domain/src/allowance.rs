//! An allowance of costly attempts (a token bucket): `burst` at once after a quiet spell,
//! then one more per `refill_ms`. The terminal gives wrong PINs one, the hub gives console
//! sign-ins one per client address: a flood is refused at once, for free, instead of
//! queueing argon2 hashes. Pure: the time is passed in, and a clock that steps back refills
//! nothing.

/// A token bucket, in thousandths of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    burst: u64,
    refill_ms: u64,
    milli: u64,
    at_ms: Option<u64>,
}

impl Allowance {
    /// A full allowance of `burst` attempts, refilled by one per `refill_ms` (at least 1).
    #[must_use]
    pub fn full(burst: u64, refill_ms: u64) -> Self {
        Self { burst, refill_ms: refill_ms.max(1), milli: burst.saturating_mul(1_000), at_ms: None }
    }

    /// Refills for the time since the last look, up to `burst`.
    fn refill(&mut self, now_ms: u64) {
        let elapsed = self.at_ms.map_or(0, |at| now_ms.saturating_sub(at));
        let gained = elapsed.saturating_mul(1_000) / self.refill_ms;
        self.milli = self.milli.saturating_add(gained).min(self.burst.saturating_mul(1_000));
        self.at_ms = Some(now_ms.max(self.at_ms.unwrap_or(0)));
    }

    /// Whether an attempt may run at `now_ms` (nothing is spent).
    pub fn allows(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.milli >= 1_000
    }

    /// Spends one attempt at `now_ms` (none left: nothing happens).
    pub fn spend(&mut self, now_ms: u64) {
        self.refill(now_ms);
        self.milli = self.milli.saturating_sub(1_000);
    }

    /// Spends one attempt at `now_ms` if there is one; whether there was.
    pub fn take(&mut self, now_ms: u64) -> bool {
        let allowed = self.allows(now_ms);
        if allowed {
            self.spend(now_ms);
        }
        allowed
    }

    /// Whether it is full at `now_ms`: an idle client's, which need not be remembered.
    pub fn is_full(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        self.milli >= self.burst.saturating_mul(1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_period() {
        let (burst, refill) = (10, 1_000);
        let mut allowance = Allowance::full(burst, refill);
        for _ in 0..burst {
            assert!(allowance.allows(1_000));
            allowance.spend(1_000);
        }
        assert!(!allowance.allows(1_000), "the burst is spent");
        assert!(!allowance.allows(1_000 + refill - 1));
        assert!(allowance.take(1_000 + refill));
        assert!(!allowance.take(1_000 + refill));
        // A long quiet spell refills to the burst, no more.
        let later = 1_000_000;
        assert!(allowance.is_full(later));
        for _ in 0..burst {
            assert!(allowance.take(later));
        }
        assert!(!allowance.allows(later));
        // A clock that steps back refills nothing.
        assert!(!allowance.allows(later - 10_000));
    }
}
