//! Issue 19, adaptive throttling: calls throttled concurrently are all
//! counted as requests (none lost), so the next decision is the one a
//! sequential replay makes.
#![cfg(fusebox_loom)]

mod common;

use common::{breaker, model, thread};
use core::time::Duration;
use fusebox_core::shape::{admission_draw_bp, throttle_bp};
use fusebox_core::{Breaker, Config, Ratio, RejectReason, TimeWindow};

fn config(seed: u32) -> Config {
    Config::builder()
        .window_span(Duration::from_secs(10))
        .throttle_k(Ratio::from_basis_points(10_000))
        .jitter_seed(seed)
        .build()
        .unwrap()
}

/// The setup below, replayed with the documented formula: attempts until
/// 3 failures are recorded (some of them throttled). Returns the attempts
/// numbered and the calls throttled so far.
fn setup_replay(seed: u32) -> (u64, u64) {
    let (mut calls, mut throttled, mut m) = (0u64, 0u64, 0u64);
    while calls < 3 {
        let p = throttle_bp(calls + throttled, 0, 10_000);
        if p > 0 {
            let d = admission_draw_bp(seed, 0, m + 1);
            m += 1;
            if d < p {
                throttled += 1;
                continue;
            }
        }
        calls += 1;
    }
    (m, throttled)
}

/// A seed whose next two attempts are throttled, and whose third is
/// throttled only if both of those were counted as requests.
fn seed() -> u32 {
    (0..)
        .find(|&s| {
            let (m, t) = setup_replay(s);
            let p = |x: u64| throttle_bp(3 + t + x, 0, 10_000);
            let d = |i: u64| admission_draw_bp(s, 0, m + i + 1);
            d(0) < p(0) && d(1) < p(1) && d(2) < p(2) && d(2) >= p(1)
        })
        .unwrap()
}

#[test]
fn concurrently_throttled_calls_are_all_counted_as_requests() {
    let seed = seed();
    model(move || {
        let b = breaker::<TimeWindow<1>>(config(seed), 0);
        let mut failures = 0;
        while failures < 3 {
            if let Ok(p) = Breaker::try_acquire(&*b) {
                let _ = p.failure();
                failures += 1;
            }
        }
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || b.try_acquire().map(|p| p.epoch()).err().map(|r| r.reason))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Some(RejectReason::Throttled));
        }
        let third = b.try_acquire().map(|p| p.epoch()).err().map(|r| r.reason);
        assert_eq!(
            third,
            Some(RejectReason::Throttled),
            "a throttled call was lost"
        );
    });
}
