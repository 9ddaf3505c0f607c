//! A [`StdBreaker`] on the core's `ManualClock`: open periods and time
//! windows pass when the test says so, not in real time.

use fusebox_core::{Config, ManualClock, Outcome, Ratio, State, TransitionReason};
use fusebox_std::{BreakerSpec, CallExt, StdBreaker, WindowSpec};
use std::time::Duration;

type Millis = ManualClock<1000>;

fn breaker(
    clock: &'static Millis,
    window: WindowSpec,
    config: Config,
) -> StdBreaker<&'static Millis> {
    let spec = BreakerSpec { config, window };
    StdBreaker::with_clock(clock, "manual", spec, StdBreaker::events()).unwrap()
}

fn clock() -> &'static Millis {
    Box::leak(Box::new(Millis::new()))
}

#[test]
fn an_hour_long_open_period_passes_when_the_clock_is_moved() {
    let clock = clock();
    let config = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4)
        .open_for(Duration::from_secs(3600))
        .build()
        .unwrap();
    let b = breaker(clock, WindowSpec::Count { size: 8 }, config);
    let mut events = b.subscribe();
    for _ in 0..4 {
        let _ = b.call(|| Err::<(), _>("refused"));
    }
    assert_eq!(b.state(), State::Open);
    let rejected = b.call(|| Ok::<_, ()>(1)).unwrap_err();
    assert!(rejected.is_rejected());
    clock.advance(3_599_999);
    assert_eq!(b.state(), State::Open, "one millisecond early");
    clock.advance(1);
    assert_eq!(b.state(), State::HalfOpen);
    for _ in 0..config.success_threshold() {
        assert_eq!(b.call(|| Ok::<_, ()>(2)).unwrap(), 2);
    }
    assert_eq!(b.state(), State::Closed);
    let opened = events.try_recv().unwrap().transition;
    assert_eq!(opened.to, State::Open);
    assert_eq!(opened.reason, TransitionReason::FailureRate);
    assert_eq!(opened.at, 0, "the breaker reads the manual clock");
    let half_open = events.try_recv().unwrap().transition;
    assert_eq!((half_open.to, half_open.at), (State::HalfOpen, 3_600_000));
}

#[test]
fn a_time_window_forgets_failures_older_than_its_span() {
    let clock = clock();
    let config = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4)
        .window_span(Duration::from_secs(10))
        .build()
        .unwrap();
    let b = breaker(clock, WindowSpec::Time { buckets: 10 }, config);
    for _ in 0..3 {
        let _ = b.try_acquire().unwrap().record(Outcome::Failure);
    }
    assert_eq!(b.snapshot().window.failures, 3);
    clock.advance(11_000);
    assert_eq!(b.snapshot().window.calls, 0, "the span has passed");
    // With the old three gone, it takes three fresh failures of four calls.
    let _ = b.try_acquire().unwrap().success();
    let _ = b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Closed);
    let _ = b.try_acquire().unwrap().failure();
    let _ = b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn owned_permits_and_async_calls_run_on_the_manual_clock_too() {
    let clock = clock();
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_secs(60))
        .build()
        .unwrap();
    let b = breaker(clock, WindowSpec::None, config);
    let permit = b.try_acquire_owned().unwrap();
    std::thread::spawn(move || {
        let _ = permit.failure();
    })
    .join()
    .unwrap();
    assert_eq!(b.state(), State::Open);
    let r = b.snapshot().open_until.unwrap();
    assert_eq!(r, 60_000);
    clock.set(60_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let v = rt.block_on(b.call_async(|| async { Ok::<_, ()>(7) }));
    assert_eq!(v.unwrap(), 7);
    assert_eq!(b.state(), State::Closed);
}
