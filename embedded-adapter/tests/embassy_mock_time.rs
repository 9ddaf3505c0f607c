//! Behaviour of fusebox-embedded on embassy-time's mock driver: time moves
//! only when a test advances it.
//!
//! `MockDriver` is one global clock, so every test takes `mock_time()` first:
//! the tests of this file run one at a time, each from tick 0.

use core::future::Future;
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Mutex, MutexGuard};

use embassy_time::MockDriver;
use fusebox_core::{
    Backoff, Breaker, Clock, Config, CountWindow, NoWindow, Observer, Outcome, Ratio, State,
    TransitionReason,
};
use fusebox_embedded::{
    AsyncCall, CallError, CallPolicy, EmbassyBreaker, EmbassyClock, EventQueue, QueueObserver,
    Registry,
};

fn mock_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    MockDriver::get().reset();
    guard
}

fn advance(d: Duration) {
    MockDriver::get().advance(embassy_time::Duration::try_from(d).unwrap());
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls `future` once with a waker that does nothing (the tests poll again
/// after advancing the mock clock).
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn ready<F: Future>(future: F) -> F::Output {
    match poll_once(pin!(future)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("future was expected to finish at once"),
    }
}

const fn unwrap(config: Result<Config, fusebox_core::ConfigError>) -> Config {
    match config {
        Ok(c) => c,
        Err(_) => panic!("bad test config"),
    }
}

/// 3 failures trip it; open for 100 ms, doubling per failed probe up to 400.
const OUTAGE: Config = unwrap(
    Config::builder()
        .consecutive_failures(3)
        .open_for(Duration::from_millis(100))
        .backoff(Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_millis(400),
        })
        .build(),
);

fn trip<C: Clock, O: Observer>(b: &Breaker<C, NoWindow, O>) {
    for _ in 0..3 {
        let _ = b.try_acquire().expect("closed breaker permits").failure();
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn embassy_clock_reads_the_driver_ticks() {
    let _time = mock_time();
    assert_eq!(EmbassyClock.now(), 0);
    MockDriver::get().advance(embassy_time::Duration::from_ticks(1_234));
    assert_eq!(EmbassyClock.now(), 1_234);
    assert_eq!(EmbassyClock::TICKS_PER_SECOND, embassy_time::TICK_HZ);
}

#[test]
fn open_deadline_follows_embassy_time() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    trip(&b);

    let r = b.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::Open, Some(ms(100))));
    advance(ms(99));
    let r = b.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::Open, Some(ms(1))));

    advance(ms(1));
    let probe = b.try_acquire().expect("deadline reached: one probe");
    assert_eq!(probe.state(), State::HalfOpen);
    let r = b.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::HalfOpen, None));

    let _ = probe.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn backoff_doubles_after_each_failed_probe_and_resets_when_closed() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    trip(&b);
    for open_ms in [100, 200, 400, 400] {
        advance(ms(open_ms - 1));
        assert!(
            b.try_acquire().is_err(),
            "still open 1 ms before {open_ms} ms"
        );
        advance(ms(1));
        let _ = b
            .try_acquire()
            .expect("probe after the open period")
            .failure();
        assert_eq!(b.state(), State::Open);
    }
    advance(ms(400));
    let _ = b.try_acquire().unwrap().success();
    assert_eq!(b.snapshot().backoff_level, 0);

    trip(&b);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        r.retry_after,
        Some(ms(100)),
        "a trip from Closed starts at open_for again"
    );
}

#[test]
fn call_records_ok_as_success_and_err_as_failure() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    assert_eq!(ready(b.call(|| async { Ok::<u32, &str>(7) })), Ok(7));
    for _ in 0..2 {
        let r = ready(b.call(|| async { Err::<u32, _>("no carrier") }));
        assert_eq!(r, Err(CallError::Failed("no carrier")));
    }
    assert_eq!(b.snapshot().consecutive_failures, 2);
    assert_eq!(ready(b.call(|| async { Ok::<u32, &str>(8) })), Ok(8));
    assert_eq!(
        b.snapshot().consecutive_failures,
        0,
        "a success ends the run"
    );
}

#[test]
fn call_with_classifier_ignores_what_it_calls_ignored() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    let busy_is_ignored = CallPolicy::new().classify(|r: &Result<(), &str>| match r {
        Ok(()) => Outcome::Success,
        Err("busy") => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    });
    for _ in 0..5 {
        let r = ready(b.call_with(&busy_is_ignored, || async { Err("busy") }));
        assert_eq!(
            r,
            Err(CallError::Failed("busy")),
            "the error still reaches the caller"
        );
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    let _ = ready(b.call_with(&busy_is_ignored, || async { Err("down") }));
    assert_eq!(b.snapshot().consecutive_failures, 1);
}

#[test]
fn rejected_call_never_runs_the_operation() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    trip(&b);
    let mut ran = false;
    let r = ready(b.call(|| {
        ran = true;
        async { Ok::<(), ()>(()) }
    }));
    match r {
        Err(CallError::Rejected(rejected)) => assert_eq!(rejected.state, State::Open),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!ran);
}

#[test]
fn dropped_call_future_releases_half_open_permit() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    trip(&b);
    advance(ms(100));
    {
        let mut call = pin!(b.call(core::future::pending::<Result<(), ()>>));
        assert!(
            poll_once(call.as_mut()).is_pending(),
            "the probe is in flight"
        );
        assert_eq!(b.snapshot().half_open_admitted, 1);
        assert_eq!(b.try_acquire().unwrap_err().state, State::HalfOpen);
    } // cancelled: the future, and the permit in it, are dropped here
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a cancelled probe is not a success"
    );
    assert_eq!(b.snapshot().half_open_admitted, 0);
    let _ = b
        .try_acquire()
        .expect("the probe slot was given back")
        .success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn panicking_classifier_still_releases_the_half_open_permit() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    trip(&b);
    advance(ms(100));
    let panicking =
        CallPolicy::new().classify(|_: &Result<(), ()>| -> Outcome { panic!("classifier bug") });
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ready(b.call_with(&panicking, || async { Ok(()) }))
    }));
    assert!(unwound.is_err());
    assert_eq!(b.state(), State::HalfOpen, "a panic is not a success");
    let _ = b
        .try_acquire()
        .expect("the probe slot was given back")
        .success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn call_timeout_records_a_failure_and_drops_the_operation() {
    let _time = mock_time();
    let b: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    let policy = CallPolicy::new().timeout(embassy_time::Duration::from_millis(50));
    for attempt in 1..=3 {
        let mut call = pin!(b.call_with(&policy, core::future::pending::<Result<(), ()>>));
        assert!(poll_once(call.as_mut()).is_pending());
        advance(ms(49));
        assert!(
            poll_once(call.as_mut()).is_pending(),
            "1 ms before the limit"
        );
        advance(ms(1));
        assert_eq!(
            poll_once(call.as_mut()),
            Poll::Ready(Err(CallError::TimedOut))
        );
        assert_eq!(b.snapshot().consecutive_failures % 3, attempt % 3);
    }
    assert_eq!(b.state(), State::Open, "three timeouts are three failures");
}

#[test]
fn call_duration_is_measured_on_embassy_time_for_slow_call_detection() {
    let _time = mock_time();
    let config = unwrap(
        Config::builder()
            .slow_call_rate(Ratio::percent(50))
            .slow_call_duration(ms(10))
            .minimum_calls(2)
            .build(),
    );
    let b: Breaker<EmbassyClock, CountWindow<4>> = Breaker::new(EmbassyClock, config);
    // A 9 ms call is fast; a 10 ms call is slow, and makes 1 slow of 2 = 50 %.
    for (work_ms, state_after) in [(9, State::Closed), (10, State::Open)] {
        let mut call = pin!(b.call(|| async move {
            embassy_time::Timer::after_millis(work_ms).await;
            Ok::<(), ()>(())
        }));
        assert!(poll_once(call.as_mut()).is_pending());
        advance(ms(work_ms));
        assert_eq!(poll_once(call.as_mut()), Poll::Ready(Ok(())));
        assert_eq!(b.state(), state_after, "after a {work_ms} ms call");
    }
}

#[test]
fn event_queue_receives_transitions_and_counts_drops() {
    static EVENTS: EventQueue<2> = EventQueue::new();
    let _time = mock_time();
    let b: Breaker<EmbassyClock, NoWindow, QueueObserver<'static, 2>> =
        Breaker::with_observer(EmbassyClock, OUTAGE, EVENTS.observer("uplink")).unwrap();
    trip(&b); // Closed -> Open
    advance(ms(100));
    let _ = b.try_acquire().unwrap().failure(); // Open -> HalfOpen -> Open: one too many

    let first = EVENTS.pop().expect("first transition queued");
    assert_eq!(first.breaker, "uplink");
    assert_eq!(
        (first.transition.from, first.transition.to),
        (State::Closed, State::Open)
    );
    assert_eq!(
        first.transition.reason,
        TransitionReason::ConsecutiveFailures
    );
    let second = EVENTS.pop().expect("second transition queued");
    assert_eq!(
        (second.transition.from, second.transition.to),
        (State::Open, State::HalfOpen)
    );
    assert!(EVENTS.pop().is_none());
    assert_eq!(EVENTS.take_dropped(), 1, "the third event did not fit");
    assert_eq!(EVENTS.dropped(), 0);
}

#[test]
#[should_panic(expected = "two breakers share a name")]
fn registry_rejects_duplicate_names() {
    static A: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, OUTAGE);
    let _ = Registry::new([("uplink", &A), ("uplink", &A)]);
}

#[test]
fn adapter_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<EmbassyClock>();
    send_sync::<EmbassyBreaker>();
    send_sync::<EventQueue<4>>();
    send_sync::<QueueObserver<'static, 4>>();
    send_sync::<Registry<1>>();
}
