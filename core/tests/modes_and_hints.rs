//! DESIGN §2 operator modes, §6 trip hints, §10 observers.
#![cfg(not(fusebox_loom))]

extern crate std;
use core::time::Duration;
use fusebox_core::{
    Breaker, Config, CountWindow, ManualClock, Mode, NoWindow, Observer, Ratio, Recorded, State,
    Transition, TransitionReason, WindowCounts,
};
use std::sync::Mutex;
use std::vec::Vec;

fn breaker(clock: &ManualClock) -> Breaker<&ManualClock, CountWindow<8>> {
    let c = Config::builder()
        .consecutive_failures(2)
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4)
        .open_for(Duration::from_millis(100))
        .max_trip_hint(Duration::from_secs(1))
        .build()
        .unwrap();
    Breaker::new(clock, c)
}

#[test]
fn forced_open_rejects_everything_without_retry_after_until_reset() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    b.force_open();
    let r = b.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::ForcedOpen, None));
    clock.advance(1_000_000);
    assert!(b.try_acquire().is_err(), "forced open never times out");
    assert_eq!(b.snapshot().mode, Mode::ForcedOpen);
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn metrics_only_records_everything_and_never_trips() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    b.metrics_only();
    for _ in 0..10 {
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    }
    let s = b.snapshot();
    assert_eq!((s.state, s.mode), (State::MetricsOnly, Mode::MetricsOnly));
    assert_eq!(
        s.window,
        WindowCounts {
            calls: 8,
            failures: 8,
            slow: 0
        }
    );
    assert_eq!(s.consecutive_failures, 10);
    assert_eq!(
        b.try_acquire().unwrap().trip_for(Duration::from_secs(1)),
        Recorded::Counted
    );
    assert_eq!(
        b.state(),
        State::MetricsOnly,
        "hints are reported, not acted on"
    );
}

#[test]
fn disabled_permits_everything_and_records_nothing() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    b.disable();
    for _ in 0..10 {
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Discarded);
    }
    assert_eq!(
        b.try_acquire().unwrap().trip_for(Duration::from_secs(1)),
        Recorded::Discarded
    );
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.window, s.consecutive_failures),
        (State::Disabled, WindowCounts::default(), 0)
    );
}

#[test]
fn reset_empties_the_window_and_the_backoff_level() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    let _ = b.try_acquire().unwrap().failure();
    let _ = b.try_acquire().unwrap().success();
    b.reset();
    let s = b.snapshot();
    assert_eq!(
        (s.window, s.consecutive_failures, s.backoff_level),
        (WindowCounts::default(), 0, 0)
    );
}

#[test]
fn every_operator_call_bumps_the_epoch() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    let epoch = b.snapshot().epoch;
    let calls: [fn(&Breaker<&ManualClock, CountWindow<8>>); 6] = [
        |b| b.force_open(),
        |b| b.metrics_only(),
        |b| b.disable(),
        |b| b.transition_to_half_open(),
        |b| b.reset(),
        |b| b.force_closed(),
    ];
    for (expected, call) in (epoch + 1..).zip(calls) {
        call(&b);
        assert_eq!(b.snapshot().epoch, expected);
    }
}

#[test]
fn transition_to_half_open_starts_a_probe_episode() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    b.transition_to_half_open();
    let p = b.try_acquire().unwrap();
    assert_eq!(p.state(), State::HalfOpen);
    assert!(b.try_acquire().is_err());
    let _ = p.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_trip_hint_opens_at_once_for_at_least_the_backoff() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    assert_eq!(
        b.try_acquire()
            .unwrap()
            .trip_for(Duration::from_millis(300)),
        Recorded::Counted
    );
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(300))
    );
    b.reset();
    let _ = b.try_acquire().unwrap().trip_for(Duration::from_millis(1));
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(100)),
        "never shorter than open_for"
    );
    b.reset();
    let _ = b.try_acquire().unwrap().trip_for(Duration::from_secs(3600));
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_secs(1)),
        "clamped to max_trip_hint"
    );
}

#[test]
fn a_trip_hint_in_half_open_reopens() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    b.transition_to_half_open();
    let _ = b
        .try_acquire()
        .unwrap()
        .trip_for(Duration::from_millis(700));
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(700))
    );
}

#[test]
fn a_stale_hint_extends_an_open_period_with_a_new_epoch() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    let late = b.try_acquire().unwrap();
    let _ = b
        .try_acquire()
        .unwrap()
        .trip_for(Duration::from_millis(200));
    let epoch = b.snapshot().epoch;
    clock.advance(50);
    assert_eq!(late.trip_for(Duration::from_millis(400)), Recorded::Stale);
    let s = b.snapshot();
    assert_eq!((s.state, s.epoch), (State::Open, epoch + 1));
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(400))
    );
    // A shorter stale hint changes nothing.
    let p = {
        b.reset();
        b.try_acquire().unwrap()
    };
    let _ = b
        .try_acquire()
        .unwrap()
        .trip_for(Duration::from_millis(500));
    let before = b.snapshot();
    assert_eq!(p.trip_for(Duration::from_millis(200)), Recorded::Stale);
    assert_eq!(b.snapshot(), before);
}

#[test]
fn forced_open_ignores_hints() {
    let clock = ManualClock::new();
    let b = breaker(&clock);
    let p = b.try_acquire().unwrap();
    b.force_open();
    let before = b.snapshot();
    assert_eq!(p.trip_for(Duration::from_secs(1)), Recorded::Stale);
    assert_eq!(b.snapshot(), before);
}

#[derive(Default)]
struct Log(Mutex<Vec<Transition>>);
impl Observer for Log {
    fn on_transition(&self, t: &Transition) {
        self.0.lock().unwrap().push(*t);
    }
}

#[test]
fn transition_events_carry_the_reason_and_the_counts_that_caused_them() {
    let clock: ManualClock = ManualClock::new();
    let c = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4)
        .open_for(Duration::from_millis(100))
        .build()
        .unwrap();
    let b: Breaker<_, CountWindow<8>, Log> =
        Breaker::with_observer(&clock, c, Log::default()).unwrap();
    for ok in [true, false, true, false] {
        let p = b.try_acquire().unwrap();
        let _ = if ok { p.success() } else { p.failure() };
    }
    clock.advance(100);
    let _ = b.try_acquire().unwrap().success();
    let log = b.observer().0.lock().unwrap();
    let got: Vec<_> = log.iter().map(|t| (t.from, t.to, t.reason)).collect();
    assert_eq!(
        got,
        [
            (State::Closed, State::Open, TransitionReason::FailureRate),
            (
                State::Open,
                State::HalfOpen,
                TransitionReason::OpenDeadlineReached
            ),
            (
                State::HalfOpen,
                State::Closed,
                TransitionReason::ProbesSucceeded
            ),
        ]
    );
    assert_eq!(
        log[0].window,
        WindowCounts {
            calls: 4,
            failures: 2,
            slow: 0
        }
    );
    assert_eq!(log[0].open_until, Some(100));
    assert_eq!((log[0].epoch, log[2].epoch), (1, 3));
}

/// An observer that drives the breaker from inside a callback: nothing is
/// held while observers run, so this must not deadlock.
struct Reopener<'a>(&'a std::sync::OnceLock<&'a Breaker<&'a ManualClock, NoWindow, Reopener<'a>>>);
impl Observer for Reopener<'_> {
    fn on_transition(&self, t: &Transition) {
        if t.to == State::Open {
            if let Some(b) = self.0.get() {
                b.force_open();
            }
        }
    }
}

#[test]
fn an_observer_may_drive_the_breaker() {
    let clock = ManualClock::new();
    let cell = std::sync::OnceLock::new();
    let c = Config::builder().consecutive_failures(1).build().unwrap();
    let b = Breaker::with_observer(&clock, c, Reopener(&cell)).unwrap();
    let _ = cell.set(&b);
    let _ = b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::ForcedOpen);
}
