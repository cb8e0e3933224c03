//! Hybrid logical clock: monotonic under any physical time, bounded by `max_ahead_ms`.

use proptest::collection::vec;
use proptest::prelude::*;
use thorbis_sync_protocol::{Hlc, HlcClock, HlcError};

const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// 2024-07-03, a plausible "now".
const NOW: u64 = 1_720_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    /// A local event after the physical clock moved by this many ms (possibly backwards).
    Tick { step: i64 },
    /// A remote stamp `offset` ms from local time arrives after the clock moved by `step`.
    Observe { step: i64, offset: i64, counter: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let day = DAY as i64;
    // Bursts within one millisecond, ordinary progress, and large jumps either way (NTP
    // corrections, someone setting the date by hand).
    let step = prop_oneof![3 => 0..2_i64, 3 => 0..1_000_i64, 1 => -day..=day];
    // Remote clocks close to ours (equal walls exercise the counter rule) or far off.
    let offset = prop_oneof![-2..=2_i64, -2 * day..=2 * day];
    let counter = prop_oneof![any::<u32>(), u32::MAX - 2..=u32::MAX, 0..3_u32];
    prop_oneof![
        step.clone().prop_map(|step| Op::Tick { step }),
        (step, offset, counter).prop_map(|(step, offset, counter)| Op::Observe {
            step,
            offset,
            counter
        }),
    ]
}

fn shift(ms: u64, by: i64) -> u64 {
    ms.saturating_add_signed(by)
}

proptest! {
    #[test]
    fn stamps_are_strictly_monotonic_and_bounded(
        max_ahead_ms in prop_oneof![Just(0), Just(5 * MINUTE), Just(DAY)],
        ops in vec(op(), 1..64),
    ) {
        let mut clock = HlcClock::new(max_ahead_ms);
        let mut now = NOW;
        // Greatest stamp issued or accepted so far, and greatest physical time seen.
        let mut high = Hlc::default();
        let mut latest_now = now;
        for op in ops {
            match op {
                Op::Tick { step } => {
                    now = shift(now, step);
                    latest_now = latest_now.max(now);
                    let stamp = clock.tick(now);
                    prop_assert!(stamp > high, "{stamp:?} after {high:?}");
                    prop_assert!(stamp.wall_ms >= now);
                    high = stamp;
                }
                Op::Observe { step, offset, counter } => {
                    now = shift(now, step);
                    latest_now = latest_now.max(now);
                    let remote = Hlc { wall_ms: shift(now, offset), counter };
                    let before = clock.last();
                    match clock.observe(remote, now) {
                        Ok(stamp) => {
                            prop_assert!(remote.wall_ms <= now + max_ahead_ms);
                            prop_assert!(stamp > high && stamp > remote);
                            prop_assert!(stamp.wall_ms >= now);
                            high = stamp;
                        }
                        Err(HlcError::TooFarAhead { remote_ms, local_ms, max_ahead_ms: max }) => {
                            prop_assert!(remote.wall_ms > now + max_ahead_ms);
                            prop_assert_eq!((remote_ms, local_ms, max), (remote.wall_ms, now, max_ahead_ms));
                            prop_assert_eq!(clock.last(), before);
                        }
                    }
                }
            }
            prop_assert_eq!(clock.last(), high);
            // Never further ahead of physical time than the tolerance allows (plus one
            // millisecond borrowed on counter overflow).
            prop_assert!(high.wall_ms <= latest_now + max_ahead_ms + 1);
        }
    }

    #[test]
    fn restored_clock_continues_after_its_last_stamp(
        last_wall in NOW - DAY..NOW + DAY,
        counter in any::<u32>(),
        now in NOW - DAY..NOW + DAY,
    ) {
        let last = Hlc { wall_ms: last_wall, counter };
        let mut clock = HlcClock::with_last(last, MINUTE);
        prop_assert!(clock.tick(now) > last);
    }
}

#[test]
fn peer_a_day_ahead_is_refused_and_does_not_drag_the_clock() {
    let mut clock = HlcClock::new(5 * MINUTE);
    let before = clock.tick(NOW);
    let remote = Hlc { wall_ms: NOW + DAY, counter: 0 };
    assert_eq!(
        clock.observe(remote, NOW + SECOND),
        Err(HlcError::TooFarAhead {
            remote_ms: NOW + DAY,
            local_ms: NOW + SECOND,
            max_ahead_ms: 5 * MINUTE
        })
    );
    assert_eq!(clock.last(), before);
    assert_eq!(clock.tick(NOW + 2 * SECOND), Hlc { wall_ms: NOW + 2 * SECOND, counter: 0 });
}

#[test]
fn peer_a_day_behind_is_absorbed_without_moving_the_clock_back() {
    let mut clock = HlcClock::new(5 * MINUTE);
    clock.tick(NOW);
    let remote = Hlc { wall_ms: NOW - DAY, counter: 9 };
    assert_eq!(clock.observe(remote, NOW + SECOND), Ok(Hlc { wall_ms: NOW + SECOND, counter: 0 }));
}

#[test]
fn peer_a_day_ahead_within_a_generous_tolerance_moves_the_clock_forward() {
    let mut clock = HlcClock::new(2 * DAY);
    let remote = Hlc { wall_ms: NOW + DAY, counter: 4 };
    assert_eq!(clock.observe(remote, NOW), Ok(Hlc { wall_ms: NOW + DAY, counter: 5 }));
    // Local events stay after the remote one until physical time catches up.
    assert_eq!(clock.tick(NOW + SECOND), Hlc { wall_ms: NOW + DAY, counter: 6 });
    assert_eq!(clock.tick(NOW + DAY + 1), Hlc { wall_ms: NOW + DAY + 1, counter: 0 });
}

#[test]
fn local_clock_corrected_back_a_day_keeps_counting() {
    // The till booted with its clock a day fast, wrote events, then NTP fixed it.
    let mut clock = HlcClock::new(5 * MINUTE);
    let fast = clock.tick(NOW + DAY);
    let mut previous = fast;
    for i in 1..=1_000 {
        let stamp = clock.tick(NOW + i);
        assert_eq!(stamp, Hlc { wall_ms: NOW + DAY, counter: i as u32 });
        assert!(stamp > previous);
        previous = stamp;
    }
    // And a restart in the corrected state still continues after the last stamp.
    let mut restarted = HlcClock::with_last(clock.last(), 5 * MINUTE);
    assert!(restarted.tick(NOW + 2_000) > previous);
}
