//! When to try a peer again after a failure: a pure function of the policy, how many
//! failures in a row, what failed, and a seed. No clock, no randomness of its own, so every
//! schedule is reproducible and unit-tested.
//!
//! * Transient failures (unreachable, 5xx, a refused or garbled exchange) back off
//!   exponentially from `base_ms` to `max_ms` with "equal jitter": half the step is fixed,
//!   half is spread by the seed, so terminals that lost the hub together do not come back in
//!   lockstep.
//! * `429 Too Many Requests` waits at least what the hub's `Retry-After` asked.
//! * A rejected credential (401/403: expired, revoked, unknown device) will not heal by
//!   hammering the hub: it waits `credential_retry_ms` (minutes in production), jittered the
//!   same way, so a revoked terminal costs the hub a request every few minutes, not a loop.

/// Tuning of the retry schedule. Milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's step.
    pub base_ms: u64,
    /// The longest step for transient failures.
    pub max_ms: u64,
    /// The step while the peer rejects this device's credential.
    pub credential_retry_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base_ms: 250, max_ms: 30_000, credential_retry_ms: 5 * 60 * 1000 }
    }
}

/// What went wrong, as far as the schedule cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Unreachable, timed out, 5xx, or an exchange the peer refused.
    Transient,
    /// `429`, with the `Retry-After` it carried, if any.
    RateLimited {
        /// What the peer asked for, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// `401`/`403`: the peer does not accept this device's credential.
    CredentialRejected,
}

/// How long to wait before the next attempt, after `failures` failures in a row (1 for the
/// first), the last of which was `failure`. `seed` spreads the jitter; the same inputs
/// always give the same wait.
#[must_use]
pub fn delay_ms(policy: &RetryPolicy, failures: u32, failure: Failure, seed: u64) -> u64 {
    let base = policy.base_ms.max(1);
    let wait = match failure {
        Failure::CredentialRejected => {
            jittered(policy.credential_retry_ms.max(base), failures, seed)
        }
        Failure::Transient => jittered(step(policy, failures), failures, seed),
        Failure::RateLimited { retry_after_ms } => {
            let ours = jittered(step(policy, failures), failures, seed);
            // The hub's word is a floor; a Retry-After of hours is capped at the credential
            // pace, the slowest this shell ever goes.
            let asked = retry_after_ms.unwrap_or(0).min(policy.credential_retry_ms.max(base));
            ours.max(asked)
        }
    };
    // Never zero: a retry loop always yields to the timer.
    wait.max(1)
}

/// `base · 2^(failures-1)`, capped at `max_ms`.
fn step(policy: &RetryPolicy, failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(62);
    policy.base_ms.max(1).saturating_mul(1 << doublings).min(policy.max_ms.max(policy.base_ms))
}

/// Equal jitter: `step/2 + r` with `r` in `0..=step/2`, drawn from the seed and the attempt.
fn jittered(step: u64, failures: u32, seed: u64) -> u64 {
    let half = step / 2;
    half + splitmix64(seed ^ u64::from(failures).wrapping_mul(0x9e37_79b9_7f4a_7c15)) % (half + 1)
}

/// SplitMix64: a tiny, well-mixed hash of a 64-bit input.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy =
        RetryPolicy { base_ms: 100, max_ms: 10_000, credential_retry_ms: 300_000 };

    #[test]
    fn transient_failures_double_within_equal_jitter_up_to_the_cap() {
        for seed in 0..200 {
            let mut previous_floor = 0;
            for failures in 1..=20 {
                let d = delay_ms(&POLICY, failures, Failure::Transient, seed);
                let step = (100u64 << (failures - 1).min(40)).min(10_000);
                assert!(
                    d >= step / 2 && d <= step,
                    "failures {failures}: {d} not in [{}, {step}]",
                    step / 2
                );
                assert!(step / 2 >= previous_floor, "the floor never shrinks");
                previous_floor = step / 2;
            }
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_wait_and_seeds_spread_it() {
        let a: Vec<u64> = (1..10).map(|f| delay_ms(&POLICY, f, Failure::Transient, 7)).collect();
        let b: Vec<u64> = (1..10).map(|f| delay_ms(&POLICY, f, Failure::Transient, 7)).collect();
        assert_eq!(a, b);
        let spread: std::collections::BTreeSet<u64> =
            (0..100).map(|seed| delay_ms(&POLICY, 8, Failure::Transient, seed)).collect();
        assert!(spread.len() > 50, "terminals retry at different moments: {}", spread.len());
    }

    #[test]
    fn a_rejected_credential_retries_slowly_from_the_first_failure() {
        for seed in 0..100 {
            for failures in [1, 2, 50, u32::MAX] {
                let d = delay_ms(&POLICY, failures, Failure::CredentialRejected, seed);
                assert!((150_000..=300_000).contains(&d), "{d}");
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor_with_a_ceiling() {
        let asked = Failure::RateLimited { retry_after_ms: Some(5_000) };
        assert!(delay_ms(&POLICY, 1, asked, 3) >= 5_000);
        // Our own backoff is longer than what was asked: ours wins.
        let small = Failure::RateLimited { retry_after_ms: Some(1) };
        assert!(delay_ms(&POLICY, 10, small, 3) >= 5_000);
        // No header: plain backoff.
        let none = Failure::RateLimited { retry_after_ms: None };
        assert_eq!(delay_ms(&POLICY, 3, none, 3), delay_ms(&POLICY, 3, Failure::Transient, 3));
        // An absurd Retry-After does not park the terminal for days.
        let huge = Failure::RateLimited { retry_after_ms: Some(u64::MAX) };
        assert!(delay_ms(&POLICY, 1, huge, 3) <= 300_000);
    }

    #[test]
    fn degenerate_policies_never_spin_or_overflow() {
        let zero = RetryPolicy { base_ms: 0, max_ms: 0, credential_retry_ms: 0 };
        for failures in [0, 1, 2, 63, 64, u32::MAX] {
            assert_eq!(delay_ms(&zero, failures, Failure::Transient, 1), 1);
            assert!(delay_ms(&zero, failures, Failure::CredentialRejected, 1) >= 1);
            let huge = RetryPolicy { base_ms: u64::MAX, max_ms: u64::MAX, credential_retry_ms: 0 };
            let d = delay_ms(&huge, failures, Failure::Transient, 1);
            assert!(d >= u64::MAX / 2, "{d}");
        }
    }
}
