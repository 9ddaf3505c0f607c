//! The peers, `failsafe` 1.3 and `recloser` 1.4, configured as close to the
//! fusebox breakers they sit next to as their APIs allow.
//!
//! | fusebox | peer config | what differs |
//! |---|---|---|
//! | consecutive-only, 5 failures | failsafe `consecutive_failures(5, constant(30 s))` | failsafe takes a `parking_lot::Mutex` on every acquire and every record |
//! | `CountWindow<100>`, rate 50 %, min 10 calls | recloser `closed_len(100)`, `error_rate(0.5)` | recloser judges only once the ring is full (min calls = 100); it spin-locks the ring on every record and pins a `crossbeam-epoch` guard per call |
//! | `TimeWindow<10, 16>` over 10 s, rate 50 %, min 10 | failsafe `success_rate_over_time_window(0.5, 10, 10 s, constant(30 s))` | an exponentially weighted success rate (floats), not a bucketed window; it reads the clock twice per record under the mutex and cannot trip before 10 s have passed since construction |
//!
//! Neither peer rejects in half-open (both admit every call until the
//! episode is decided) and neither has a snapshot API, so those rows hold
//! their closest equivalent, named in the bench id, or nothing.

use std::time::Duration;

use failsafe::backoff::{self, Constant};
use failsafe::failure_policy::{self, ConsecutiveFailures, SuccessRateOverTimeWindow};
use failsafe::{CircuitBreaker, StateMachine};
use recloser::Recloser;

use crate::workload::dependency;

/// `failsafe` with a consecutive-failures policy.
pub type FailsafeConsecutive = StateMachine<ConsecutiveFailures<Constant>, ()>;
/// `failsafe` with its EMA success-rate-over-time policy.
pub type FailsafeRate = StateMachine<SuccessRateOverTimeWindow<Constant>, ()>;

/// How long a tripped peer stays open (fusebox configs use the same).
pub const OPEN_FOR: Duration = Duration::from_secs(30);
/// The span of the time-based windows.
pub const WINDOW_SPAN: Duration = Duration::from_secs(10);

/// failsafe, consecutive failures: trips after `failures` in a row, open for
/// `open_for` (constant backoff).
pub fn failsafe_consecutive(failures: u32, open_for: Duration) -> FailsafeConsecutive {
    let policy = failure_policy::consecutive_failures(failures, backoff::constant(open_for));
    failsafe::Config::new().failure_policy(policy).build()
}

/// failsafe, success rate over [`WINDOW_SPAN`]: trips when the weighted
/// success rate drops below 50 % with at least 10 calls in the window.
pub fn failsafe_rate() -> FailsafeRate {
    let policy = failure_policy::success_rate_over_time_window(
        0.5,
        10,
        WINDOW_SPAN,
        backoff::constant(OPEN_FOR),
    );
    failsafe::Config::new().failure_policy(policy).build()
}

/// recloser, count window: the last `len` outcomes, trips at a 50 % error
/// rate once the ring is full, open for `open_wait`.
pub fn recloser_count(len: usize, open_wait: Duration) -> Recloser {
    Recloser::custom()
        .closed_len(len)
        .error_rate(0.5)
        .half_open_len(1)
        .open_wait(open_wait)
        .build()
}

/// One protected call through any failsafe breaker; `true` when permitted.
#[inline(always)]
pub fn failsafe_call<B: CircuitBreaker>(breaker: &B, i: u64, fail: bool) -> bool {
    !matches!(
        breaker.call(|| dependency(i, fail)),
        Err(failsafe::Error::Rejected)
    )
}

/// One protected call through recloser; `true` when permitted.
#[inline(always)]
pub fn recloser_call(breaker: &Recloser, i: u64, fail: bool) -> bool {
    !matches!(
        breaker.call(|| dependency(i, fail)),
        Err(recloser::Error::Rejected)
    )
}

/// A failsafe breaker that is open for an hour.
pub fn failsafe_open() -> FailsafeConsecutive {
    let breaker = failsafe_consecutive(1, Duration::from_secs(3600));
    failsafe_call(&breaker, 0, true);
    assert!(!failsafe_call(&breaker, 0, false), "failsafe did not open");
    breaker
}

/// A recloser that is open for an hour.
pub fn recloser_open() -> Recloser {
    let breaker = recloser_count(1, Duration::from_secs(3600));
    // The ring judges only once full: the first failure fills it, the second trips.
    recloser_call(&breaker, 0, true);
    recloser_call(&breaker, 0, true);
    assert!(!recloser_call(&breaker, 0, false), "recloser did not open");
    breaker
}

/// A failsafe breaker in half-open. It stays there only while nothing is
/// recorded (its first outcome decides the episode), so the half-open bench
/// times `is_call_permitted` alone.
pub fn failsafe_half_open() -> FailsafeConsecutive {
    let breaker = failsafe_consecutive(1, Duration::from_micros(1));
    failsafe_call(&breaker, 0, true);
    std::thread::sleep(Duration::from_millis(1));
    assert!(breaker.is_call_permitted(), "failsafe did not half-open");
    breaker
}

/// A recloser in half-open that stays there: with a half-open error-rate
/// threshold of -1 a success can never close it (`rate <= -1` is false), so
/// every call is admitted and recorded in the half-open ring, forever.
pub fn recloser_half_open() -> Recloser {
    let breaker = Recloser::custom()
        .closed_len(1)
        .error_rate_closed(0.5)
        .error_rate_half_open(-1.0)
        .half_open_len(1)
        .open_wait(Duration::from_micros(1))
        .build();
    recloser_call(&breaker, 0, true);
    recloser_call(&breaker, 0, true);
    assert!(!recloser_call(&breaker, 0, false), "recloser did not open");
    std::thread::sleep(Duration::from_millis(1));
    for i in 0..4 {
        assert!(recloser_call(&breaker, i, false), "recloser left half-open");
    }
    breaker
}
