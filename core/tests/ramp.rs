//! Progressive recovery (DESIGN §14, `docs/design.md`): the ramp after a close.
#![cfg(not(fusebox_loom))]

use core::time::Duration;
use fusebox_core::shape::ramp_admits;
use fusebox_core::{Breaker, Config, ConfigBuilder, ManualClock, NoWindow, RejectReason, State};

type B<'a> = Breaker<&'a ManualClock, NoWindow>;

fn breaker(clock: &ManualClock, b: ConfigBuilder) -> B<'_> {
    let c = b
        .consecutive_failures(1)
        .open_for(Duration::from_millis(100))
        .build()
        .unwrap();
    Breaker::try_new(clock, c).unwrap()
}

/// Trips, waits out the open period and closes with one probe.
fn trip_and_close(b: &B<'_>, clock: &ManualClock) {
    let _ = b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
    clock.advance(100);
    let _ = b.try_acquire().unwrap().success();
    assert_eq!(b.state(), State::Closed);
}

fn ramp_4s() -> ConfigBuilder {
    Config::builder().ramp_up(Duration::from_secs(4))
}

#[test]
fn each_stage_admits_its_share_and_names_the_next_stage() {
    let clock = ManualClock::new();
    let b = breaker(&clock, ramp_4s());
    trip_and_close(&b, &clock);
    let epoch = b.snapshot().epoch;
    let mut m = 0;
    for (share_pct, stage_ms) in [(10u32, 0u64), (25, 1_000), (50, 2_000), (100, 3_000)] {
        let mut admitted = 0;
        for call in 0..200u64 {
            // 200 calls, 5 ms apart, inside the stage.
            clock.set(100 + stage_ms + call * 5);
            let got = match b.try_acquire() {
                Ok(p) => {
                    admitted += 1;
                    let _ = p.success();
                    true
                }
                Err(r) => {
                    assert_eq!((r.state, r.reason), (State::Closed, RejectReason::Ramp));
                    let left = 1_000 - call * 5;
                    assert_eq!(r.retry_after, Some(Duration::from_millis(left)));
                    false
                }
            };
            if share_pct < 100 {
                // The numbered attempts decide exactly as the published function.
                assert_eq!(
                    got,
                    ramp_admits(0, epoch, m, share_pct * 100),
                    "attempt {m}"
                );
                m += 1;
            }
        }
        assert_eq!(admitted, 2 * share_pct, "stage of {share_pct} %");
    }
    // After the ramp, everything passes and no attempt is numbered.
    clock.set(100 + 4_000);
    assert!((0..100).all(|_| b.try_acquire().map(|p| p.success()).is_ok()));
}

#[test]
fn a_trip_during_the_ramp_reopens_one_level_up_and_after_it_at_zero() {
    let clock = ManualClock::new();
    let b = breaker(&clock, ramp_4s());
    trip_and_close(&b, &clock);
    assert_eq!(b.snapshot().backoff_level, 0);
    // Stage 3 (100 %) is still the ramp.
    clock.advance(3_500);
    let _ = b.try_acquire().unwrap().failure();
    let s = b.snapshot();
    assert_eq!((s.state, s.backoff_level), (State::Open, 1));
    clock.advance(100);
    let _ = b.try_acquire().unwrap().success();
    assert_eq!(b.snapshot().backoff_level, 1, "the close keeps the level");
    // Past the ramp: a trip starts again from level 0.
    clock.advance(4_000);
    assert!(b.try_acquire().is_ok());
    let _ = b.try_acquire().unwrap().failure();
    let s = b.snapshot();
    assert_eq!((s.state, s.backoff_level), (State::Open, 0));
}

#[test]
fn reset_and_a_new_breaker_start_without_a_ramp() {
    let clock = ManualClock::new();
    let b = breaker(&clock, ramp_4s());
    assert!((0..50).all(|_| b.try_acquire().map(|p| p.success()).is_ok()));
    trip_and_close(&b, &clock);
    assert!((0..50).any(|_| b.try_acquire().is_err()));
    b.reset();
    assert!((0..50).all(|_| b.try_acquire().map(|p| p.success()).is_ok()));
}

#[test]
fn metrics_only_is_never_ramped() {
    let clock = ManualClock::new();
    let b = breaker(&clock, ramp_4s());
    trip_and_close(&b, &clock);
    b.metrics_only();
    assert!((0..50).all(|_| b.try_acquire().map(|p| p.success()).is_ok()));
}

#[test]
fn custom_stages_and_the_last_stage_below_100() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .ramp_up(Duration::from_millis(1_000))
            .ramp_stages(&[20, 40]),
    );
    trip_and_close(&b, &clock);
    let mut admitted = 0;
    let mut last = None;
    for _ in 0..100 {
        match b.try_acquire() {
            Ok(p) => {
                admitted += 1;
                let _ = p.success();
            }
            Err(r) => last = r.retry_after,
        }
    }
    assert_eq!(admitted, 20);
    assert_eq!(last, Some(Duration::from_millis(500)));
    clock.advance(600);
    let r = (0..10).find_map(|_| b.try_acquire().err()).unwrap();
    assert_eq!(
        r.retry_after,
        Some(Duration::from_millis(400)),
        "to the ramp's end"
    );
}

#[test]
fn bad_ramp_configs_are_named() {
    let e = |b: ConfigBuilder| b.build().unwrap_err().field();
    assert_eq!(
        e(Config::builder()
            .ramp_up(Duration::from_secs(1))
            .ramp_stages(&[])),
        "ramp_stages (count)"
    );
    assert_eq!(
        e(Config::builder()
            .ramp_up(Duration::from_secs(1))
            .ramp_stages(&[1, 2, 3, 4, 5, 6, 7, 8, 9])),
        "ramp_stages (count)"
    );
    assert_eq!(
        e(Config::builder()
            .ramp_up(Duration::from_secs(1))
            .ramp_stages(&[50, 50])),
        "ramp_stages (percent, strictly increasing)"
    );
    assert_eq!(
        e(Config::builder()
            .ramp_up(Duration::from_secs(1))
            .ramp_stages(&[0, 50])),
        "ramp_stages (percent, strictly increasing)"
    );
    assert_eq!(
        e(Config::builder()
            .ramp_up(Duration::from_secs(1))
            .ramp_stages(&[50, 101])),
        "ramp_stages (percent, strictly increasing)"
    );
    assert_eq!(e(Config::builder().ramp_stages(&[50, 100])), "ramp_up");
    assert_eq!(e(Config::builder().ramp_up(Duration::ZERO)), "ramp_up");
    // Shorter than a tick per stage on a millisecond clock.
    let c = Config::builder()
        .consecutive_failures(1)
        .ramp_up(Duration::from_millis(3))
        .build()
        .unwrap();
    let r = Breaker::<_, NoWindow>::try_new(ManualClock::<1000>::new(), c);
    assert_eq!(r.err().map(|e| e.field()), Some("ramp_up"));
}
