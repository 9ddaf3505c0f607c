//! Adaptive throttling (DESIGN §14, `docs/design.md`).
#![cfg(not(fusebox_loom))]

use core::time::Duration;
use fusebox_core::shape::{admission_draw_bp, throttle_bp};
use fusebox_core::{
    Breaker, Config, CountWindow, ManualClock, NoWindow, Ratio, RejectReason, State, TimeWindow,
};

type B<'a> = Breaker<&'a ManualClock, TimeWindow<10>>;

fn breaker(clock: &ManualClock, k_bp: u32) -> B<'_> {
    let c = Config::builder()
        .window_span(Duration::from_secs(10))
        .throttle_k(Ratio::from_basis_points(k_bp))
        .build()
        .unwrap();
    Breaker::try_new(clock, c).unwrap()
}

#[test]
fn a_healthy_dependency_is_never_throttled() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 20_000);
    for _ in 0..500 {
        let _ = b.try_acquire().unwrap().success();
        clock.advance(7);
    }
}

#[test]
fn failures_throttle_with_the_documented_probability_and_throttled_calls_count() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 15_000);
    // Every attempt is decided on the documented formula and draw. The
    // dependency: the first 10 calls succeed, then one in three.
    let (mut calls, mut accepts, mut throttled) = (0u64, 0u64, 0u64);
    let epoch = b.snapshot().epoch;
    let mut m = 0u64;
    for _ in 0..300 {
        let p = throttle_bp(calls + throttled, accepts, 15_000);
        let expect_throttled = p > 0 && {
            let d = admission_draw_bp(0, epoch, m + 1);
            m += 1;
            d < p
        };
        match b.try_acquire() {
            Ok(permit) => {
                assert!(!expect_throttled, "attempt {m} should be throttled");
                if calls < 10 || calls % 3 == 0 {
                    accepts += 1;
                    let _ = permit.success();
                } else {
                    let _ = permit.failure();
                }
                calls += 1;
            }
            Err(r) => {
                assert!(expect_throttled, "attempt {m} throttled, p = {p}");
                assert_eq!(
                    (r.state, r.reason, r.retry_after),
                    (State::Closed, RejectReason::Throttled, None)
                );
                throttled += 1;
            }
        }
    }
    assert!(throttled > 50, "{throttled} of 300 throttled");
    // Once the window has forgotten it all, nothing is throttled.
    clock.advance(10_000);
    assert!((0..50).all(|_| b.try_acquire().map(|p| p.success()).is_ok()));
}

#[test]
fn throttling_needs_a_time_window_and_a_k_of_at_least_one() {
    let e = Config::builder()
        .throttle_k(Ratio::from_basis_points(9_999))
        .window_span(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), "throttle_k (basis points)");
    let e = Config::builder()
        .throttle_k(Ratio::from_basis_points(20_000))
        .build()
        .unwrap_err();
    assert_eq!(
        (e.field(), e.to_string().contains("throttle_k")),
        ("window_span", true)
    );
    let c = Config::builder()
        .throttle_k(Ratio::from_basis_points(20_000))
        .window_span(Duration::from_secs(1))
        .build()
        .unwrap();
    for r in [
        Breaker::<_, NoWindow>::try_new(ManualClock::<1000>::new(), c).err(),
        Breaker::<_, CountWindow<8>>::try_new(ManualClock::<1000>::new(), c).err(),
    ] {
        let e = r.expect("refused");
        assert_eq!(e.field(), "throttle_k");
        assert!(e.to_string().contains("TimeWindow"), "{e}");
    }
}

#[test]
fn metrics_only_is_never_throttled() {
    let clock = ManualClock::new();
    let b = breaker(&clock, 10_000);
    b.metrics_only();
    for _ in 0..100 {
        let _ = b.try_acquire().unwrap().failure();
    }
}
