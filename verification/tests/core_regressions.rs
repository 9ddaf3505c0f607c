//! Regression tests for core bugs that the model-based suite found, each
//! reduced to a hand-written reproducer. Fixed ones run; open ones are
//! `#[ignore]`d with the bug in the reason (`-- --include-ignored` runs them).
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

/// DESIGN.md §2 and §10: a permit granted in `Disabled` records nothing, and
/// its outcome event must not claim a slow call it never timed. The core does
/// not read the clock at a Disabled grant (start 0), then measures the
/// duration from tick 0 at `record`, so at tick 100 every call of a breaker
/// with `slow_call_duration` 10 ms is reported slow. (Found by
/// `model_vs_core` comparing outcome events; fixed.)
#[test]
fn a_disabled_call_is_not_reported_slow_from_tick_zero() {
    use fusebox_core::{Observer, OutcomeEvent};
    use std::sync::Mutex;

    #[derive(Default)]
    struct LastSlow(Mutex<Option<bool>>);
    impl Observer for LastSlow {
        fn on_outcome(&self, o: &OutcomeEvent) {
            *self.0.lock().unwrap() = Some(o.slow);
        }
    }
    let config = Config::builder()
        .consecutive_failures(3)
        .slow_call_duration(Duration::from_millis(10))
        .build()
        .unwrap();
    let b: Breaker<ManualClock, fusebox_core::NoWindow, LastSlow> =
        Breaker::with_observer(ManualClock::new(), config, LastSlow::default()).unwrap();
    b.disable();
    b.clock().set(100);
    let p = b.try_acquire().unwrap();
    assert_eq!(p.success(), Recorded::Discarded);
    assert_eq!(
        *b.observer().0.lock().unwrap(),
        Some(false),
        "a 0 ms call reported slow"
    );
}
