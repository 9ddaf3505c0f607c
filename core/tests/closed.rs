//! DESIGN §3: when a closed breaker trips.
#![cfg(not(fusebox_loom))]

use core::time::Duration;
use fusebox_core::{
    Breaker, Config, ConfigBuilder, CountWindow, ManualClock, NoWindow, Outcome, Ratio, Recorded,
    State, TimeWindow, WindowCounts,
};

fn build<W: fusebox_core::Window>(
    clock: &ManualClock,
    b: ConfigBuilder,
) -> Breaker<&ManualClock, W> {
    Breaker::try_new(clock, b.build().unwrap()).unwrap()
}

fn fail<W: fusebox_core::Window>(b: &Breaker<&ManualClock, W>, n: usize) {
    for _ in 0..n {
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    }
}

fn succeed<W: fusebox_core::Window>(b: &Breaker<&ManualClock, W>, n: usize) {
    for _ in 0..n {
        assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
    }
}

#[test]
fn trips_at_exactly_the_consecutive_failure_threshold() {
    let clock = ManualClock::new();
    let b: Breaker<_, NoWindow> = build(&clock, Config::builder().consecutive_failures(3));
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 2);
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().trips, 1);
}

#[test]
fn a_success_resets_the_run_and_ignored_does_not() {
    let clock = ManualClock::new();
    let b: Breaker<_, NoWindow> = build(&clock, Config::builder().consecutive_failures(3));
    fail(&b, 2);
    succeed(&b, 1);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    fail(&b, 2);
    assert_eq!(b.try_acquire().unwrap().ignore(), Recorded::Counted);
    assert_eq!(b.snapshot().consecutive_failures, 2);
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_success_on_a_zero_run_changes_nothing() {
    let clock = ManualClock::new();
    let b: Breaker<_, NoWindow> = build(&clock, Config::builder().consecutive_failures(3));
    let before = b.snapshot();
    succeed(&b, 5);
    assert_eq!(b.snapshot(), before);
}

#[test]
fn trips_when_failure_rate_reaches_threshold_at_minimum_calls() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4);
    let b: Breaker<_, CountWindow<10>> = build(&clock, cfg);
    succeed(&b, 2);
    fail(&b, 1);
    assert_eq!(b.state(), State::Closed, "3 calls: below minimum_calls");
    assert_eq!(b.failure_rate(), None, "no rate below minimum_calls");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "2 of 4 = 50 %: at the threshold");
}

#[test]
fn one_below_the_failure_rate_does_not_trip() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::from_basis_points(5_001))
        .minimum_calls(4);
    let b: Breaker<_, CountWindow<10>> = build(&clock, cfg);
    succeed(&b, 2);
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed, "50.00 % < 50.01 %");
    assert_eq!(b.failure_rate(), Some(Ratio::percent(50)));
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "3 of 5 = 60 %");
}

#[test]
fn a_success_reaching_minimum_calls_does_not_trip_the_next_failure_does() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4);
    let b: Breaker<_, CountWindow<10>> = build(&clock, cfg);
    fail(&b, 3);
    assert_eq!(b.state(), State::Closed, "below minimum_calls");
    succeed(&b, 1);
    assert_eq!(b.state(), State::Closed, "successes never judge");
    assert_eq!(
        b.snapshot().window,
        WindowCounts {
            calls: 4,
            failures: 3,
            slow: 0
        }
    );
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_count_window_forgets_outcomes_older_than_n() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(60))
        .minimum_calls(5);
    let b: Breaker<_, CountWindow<5>> = build(&clock, cfg);
    fail(&b, 2);
    succeed(&b, 5);
    assert_eq!(
        b.snapshot().window,
        WindowCounts {
            calls: 5,
            failures: 0,
            slow: 0
        }
    );
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed, "2 of the last 5");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "3 of the last 5 = 60 %");
}

#[test]
fn ignored_outcomes_never_enter_the_window() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(2);
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    for _ in 0..6 {
        let _ = b.try_acquire().unwrap().ignore();
    }
    assert_eq!(b.snapshot().window, WindowCounts::default());
}

#[test]
fn slow_successes_trip_the_slow_call_rate_rule() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .slow_call_rate(Ratio::percent(50))
        .slow_call_duration(Duration::from_millis(100))
        .minimum_calls(2);
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    let p = b.try_acquire().unwrap();
    clock.advance(99);
    assert_eq!(p.success(), Recorded::Counted);
    assert_eq!(b.snapshot().window.slow, 0, "99 ms is not slow");
    let p = b.try_acquire().unwrap();
    clock.advance(100);
    assert_eq!(p.success(), Recorded::Counted);
    assert_eq!(
        b.state(),
        State::Open,
        "1 slow of 2: 50 %, judged at the slow success"
    );
}

#[test]
fn a_caller_measured_duration_decides_slowness() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .slow_call_rate(Ratio::percent(100))
        .slow_call_duration(Duration::from_millis(10))
        .minimum_calls(1);
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    let p = b.try_acquire().unwrap();
    assert_eq!(
        p.record_with_duration(Outcome::Failure, Duration::from_millis(10)),
        Recorded::Counted
    );
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
}

#[test]
fn slowness_is_independent_of_failure() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .slow_call_rate(Ratio::percent(100))
        .slow_call_duration(Duration::from_millis(10))
        .failure_rate(Ratio::percent(100))
        .minimum_calls(3);
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    let p = b.try_acquire().unwrap();
    let _ = p.record_with_duration(Outcome::Failure, Duration::from_millis(1));
    let p = b.try_acquire().unwrap();
    let _ = p.record_with_duration(Outcome::Success, Duration::from_millis(50));
    assert_eq!(
        b.snapshot().window,
        WindowCounts {
            calls: 2,
            failures: 1,
            slow: 1
        }
    );
}

#[test]
fn a_custom_predicate_trips_on_failure_records() {
    let clock = ManualClock::new();
    let cfg = Config::builder().trip_predicate(|c: &WindowCounts| c.failures >= 2 && c.calls >= 3);
    let b: Breaker<_, CountWindow<8>> = build(&clock, cfg);
    fail(&b, 2);
    assert_eq!(b.state(), State::Closed);
    succeed(&b, 1);
    assert_eq!(b.state(), State::Closed, "a success never judges");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_time_window_expires_bucket_by_bucket() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(3)
        .window_span(Duration::from_secs(3));
    let b: Breaker<_, TimeWindow<3>> = build(&clock, cfg);
    fail(&b, 2); // t = 0 s
    clock.advance(3_000); // the two failures leave the window
    succeed(&b, 1);
    fail(&b, 1);
    assert_eq!(
        b.snapshot().window,
        WindowCounts {
            calls: 2,
            failures: 1,
            slow: 0
        }
    );
    assert_eq!(b.state(), State::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), State::Open, "2 of 3 within the last 3 s");
}

#[test]
fn a_time_window_of_one_bucket_works() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(100))
        .minimum_calls(2)
        .window_span(Duration::from_millis(10));
    let b: Breaker<_, TimeWindow<1>> = build(&clock, cfg);
    fail(&b, 1);
    clock.advance(10);
    fail(&b, 1);
    assert_eq!(b.state(), State::Closed, "the first failure expired");
    fail(&b, 1);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_window_is_empty_after_closing_from_half_open() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(2)
        .open_for(Duration::from_millis(100));
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    fail(&b, 2);
    assert_eq!(b.state(), State::Open);
    clock.advance(100);
    succeed(&b, 1); // the probe closes it
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().window, WindowCounts::default());
    fail(&b, 1);
    assert_eq!(
        b.state(),
        State::Closed,
        "1 call: below minimum_calls in the new window"
    );
}

#[test]
fn a_stale_closed_permit_changes_nothing_after_a_transition() {
    let clock = ManualClock::new();
    let cfg = Config::builder()
        .consecutive_failures(1)
        .failure_rate(Ratio::percent(50))
        .minimum_calls(1);
    let b: Breaker<_, CountWindow<4>> = build(&clock, cfg);
    let old = b.try_acquire().unwrap();
    fail(&b, 1);
    b.reset();
    let before = b.snapshot();
    assert_eq!(old.failure(), Recorded::Stale);
    assert_eq!(b.snapshot(), before);
    assert_eq!(b.state(), State::Closed);
}

/// `Permit::conclude_in_place` (the std call wrappers' path): the outcome
/// counts once, ending the permit again records nothing, and its drop
/// abandons nothing (an abandon would count a failure here).
#[test]
fn a_permit_concluded_in_place_records_once_and_abandons_nothing() {
    use fusebox_core::{Abandon, Verdict};
    let clock = ManualClock::new();
    let b: Breaker<&ManualClock, CountWindow<8>> = build(
        &clock,
        Config::builder()
            .failure_rate(Ratio::percent(90))
            .minimum_calls(8)
            .on_abandon(Abandon::Failure),
    );
    {
        let mut p = b.try_acquire().unwrap();
        let failure = Verdict::Record(Outcome::Failure);
        assert_eq!(p.conclude_in_place(failure, None), Recorded::Counted);
        assert_eq!(p.conclude_in_place(failure, None), Recorded::Discarded);
    }
    {
        let mut p = b.try_acquire().unwrap();
        let success = Verdict::Record(Outcome::Success);
        let took = Some(Duration::from_millis(3));
        assert_eq!(p.conclude_in_place(success, took), Recorded::Counted);
    }
    assert_eq!(
        b.snapshot().window,
        WindowCounts {
            calls: 2,
            failures: 1,
            slow: 0
        }
    );
    // A hint opens the breaker at once, as `trip_for` does.
    let mut p = b.try_acquire().unwrap();
    let hint = Verdict::TripFor(Duration::from_secs(1));
    assert_eq!(p.conclude_in_place(hint, None), Recorded::Counted);
    assert_eq!(b.state(), State::Open);
}
