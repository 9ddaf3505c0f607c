//! Regression tests for core bugs that the model-based suite found, each
//! reduced to a hand-written reproducer (fixed in core f5c630c).
#![cfg(not(fusebox_loom))]

use std::time::Duration;

use fusebox_core::{
    backoff::jitter_factor_bp, Backoff, Breaker, Config, ManualClock, Ratio, Recorded, State,
};

/// DESIGN.md §13: jitter is "applied before clamping to `max`". With base
/// 4 ms, x2, max 7 ms and a factor f < 0.875, level 2 is
/// `min(7, 16 * f) = 7` ms. The core stops doubling at the first value at or
/// above `max` (8 ms), jitters that (8 * f < 7) and so opens for less than
/// `max`: exponential backoff never saturates at `max` when jitter is on.
#[test]
fn exponential_backoff_with_jitter_saturates_at_max() {
    let jitter = Ratio::percent(20);
    // The Open episode of level 2 has epoch 5: open(1) half(2) open(3) half(4) open(5).
    let seed = (0u32..)
        .find(|&s| jitter_factor_bp(s, 5, jitter) < 8_750)
        .unwrap();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(4))
        .backoff(Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_millis(7),
        })
        .jitter(jitter)
        .jitter_seed(seed)
        .build()
        .unwrap();
    let b: Breaker<ManualClock> = Breaker::new(ManualClock::new(), config);
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    for _ in 0..2 {
        b.clock().advance(7); // past any level-0/1 deadline
        let probe = b.try_acquire().expect("due: a probe");
        assert_eq!(probe.state(), State::HalfOpen);
        assert_eq!(probe.failure(), Recorded::Counted);
    }
    let s = b.snapshot();
    assert_eq!((s.state, s.epoch, s.backoff_level), (State::Open, 5, 2));
    let now = b.clock().now();
    assert_eq!(
        s.open_until,
        Some(now + 7),
        "16 ms * {} clamps to 7 ms",
        jitter_factor_bp(seed, 5, jitter)
    );
}

/// DESIGN.md §7 (c) and (d): a stale outcome never changes the window, and
/// no outcome in the current window is lost. In the core's count window a
/// stale record still takes a ring ticket (it puts the evicted cell back,
/// but the ticket is spent), so the next current records are placed as if
/// the stale ones had counted and evict current outcomes early: here the
/// window of 3 holds 1 outcome after 2 current records. (Found by
/// `model_vs_core`.)
#[test]
fn stale_records_do_not_evict_current_outcomes_from_a_count_window() {
    use fusebox_core::CountWindow;
    let config = Config::builder()
        .failure_rate(Ratio::percent(100))
        .minimum_calls(3)
        .build()
        .unwrap();
    let b: Breaker<ManualClock, CountWindow<3>> = Breaker::new(ManualClock::new(), config);
    let old = [b.try_acquire().unwrap(), b.try_acquire().unwrap()];
    b.reset();
    assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
    for p in old {
        assert_eq!(p.success(), Recorded::Stale);
    }
    assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
    assert_eq!(
        b.snapshot().window.calls,
        2,
        "a stale record evicted a current outcome"
    );
}
