//! The peers, `failsafe` 1.3, `recloser` 1.4 and `tower-resilience` 0.13's
//! circuit breaker, configured as close to the fusebox breakers they sit next
//! to as their APIs allow.
//!
//! | fusebox | peer config | what differs |
//! |---|---|---|
//! | consecutive-only, 5 failures | failsafe `consecutive_failures(5, constant(30 s))` | failsafe takes a `parking_lot::Mutex` on every acquire and every record |
//! | consecutive-only, 5 failures | tower-resilience `consecutive_failures(5)`, `wait_duration_in_open(30 s)`, `permitted_calls_in_half_open(1)` | as for its count window below (same service, lock and allocations); its count-window counters keep counting beside the consecutive rule |
//! | `CountWindow<100>`, rate 50 %, min 10 calls | recloser `closed_len(100)`, `error_rate(0.5)` | recloser judges only once the ring is full (min calls = 100); it spin-locks the ring on every record and pins a `crossbeam-epoch` guard per call |
//! | `CountWindow<100>`, rate 50 %, min 10 calls | tower-resilience `failure_rate_threshold(0.5)`, `sliding_window_size(100)`, `minimum_number_of_calls(10)`, `wait_duration_in_open(30 s)`, `permitted_calls_in_half_open(1)` | not a sliding window: success/failure counters accumulate from the last state change, judged once 100 calls are counted (min calls = 100, whatever `minimum_number_of_calls` says), so after a long healthy run a burst of failures is diluted by every call since; a `tokio::sync::Mutex` around the state is locked twice per call (acquire, record); each call is a boxed future, and each event (permitted, success, failure) clones the breaker's name `String` and reads `Instant::now` for its timestamp, listeners or not |
//! | `TimeWindow<10, 16>` over 10 s, rate 50 %, min 10 | failsafe `success_rate_over_time_window(0.5, 10, 10 s, constant(30 s))` | an exponentially weighted success rate (floats), not a bucketed window; it reads the clock twice per record under the mutex and cannot trip before 10 s have passed since construction |
//! | `TimeWindow<10, 16>` over 10 s | tower-resilience `SlidingWindowType::TimeBased` over 10 s: **not benched** | it keeps one record (timestamp, outcome) per call in a `VecDeque` and counts the whole deque on every record: per-call time and memory grow with the calls in the window (about 7 µs per call with 20 000 calls in it, 68 µs with 120 000: `examples/tower_resilience_time_window.rs`), so no per-call figure exists |
//!
//! tower-resilience is driven as a tower `Service` around [`DependencyService`]
//! (request `(i, fail)`, response [`dependency`]`(i, fail)`), polled to
//! completion on the calling thread with a no-op waker: no runtime. That holds
//! while nothing contends for its state mutex outside the closed state: there
//! `poll_ready` arms a `tokio::time::Sleep`, which needs a tokio runtime (the
//! benches only share closed breakers between threads).
//!
//! failsafe and recloser never reject in half-open (they admit every call until
//! the episode is decided); tower-resilience does (a semaphore of probe slots)
//! but only while a probe is in flight, which a dependency that answers at once
//! never is. None has a snapshot API. Those rows hold their closest
//! equivalent, named in the bench id, or nothing.

use std::future::{ready, Future, Ready};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use failsafe::backoff::{self, Constant};
use failsafe::failure_policy::{self, ConsecutiveFailures, SuccessRateOverTimeWindow};
use failsafe::{CircuitBreaker, StateMachine};
use recloser::Recloser;
use tower_resilience::circuitbreaker::{
    CircuitBreaker as TowerCircuitBreaker, CircuitBreakerConfigBuilder, CircuitBreakerError,
    CircuitBreakerLayer, CircuitState, DefaultClassifier,
};
use tower_service::Service;

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

/// The protected dependency as a tower service: request `(i, fail)`, response
/// [`dependency`]`(i, fail)`, ready at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct DependencyService;

impl Service<(u64, bool)> for DependencyService {
    type Response = u64;
    type Error = u64;
    type Future = Ready<Result<u64, u64>>;

    #[inline(always)]
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), u64>> {
        Poll::Ready(Ok(()))
    }

    #[inline(always)]
    fn call(&mut self, (i, fail): (u64, bool)) -> Self::Future {
        ready(dependency(i, fail))
    }
}

/// tower-resilience's circuit breaker around [`DependencyService`].
pub type TowerResilience = TowerCircuitBreaker<DependencyService, DefaultClassifier>;

/// The settings every tower-resilience config here shares: open for
/// `open_for`, one half-open probe.
fn tower_resilience_builder(open_for: Duration) -> CircuitBreakerConfigBuilder<DefaultClassifier> {
    CircuitBreakerLayer::builder()
        .wait_duration_in_open(open_for)
        .permitted_calls_in_half_open(1)
}

/// tower-resilience, count-based: failure rate 50 % once `len` calls are
/// counted (and at least 10), open for `open_for`.
pub fn tower_resilience_count(len: usize, open_for: Duration) -> TowerResilience {
    tower_resilience_builder(open_for)
        .failure_rate_threshold(0.5)
        .sliding_window_size(len)
        .minimum_number_of_calls(len.min(10))
        .build()
        .expect("tower-resilience count config")
        .layer_fn(DependencyService)
}

/// tower-resilience, `failures` consecutive failures, open for `open_for`.
pub fn tower_resilience_consecutive(failures: usize, open_for: Duration) -> TowerResilience {
    tower_resilience_builder(open_for)
        .consecutive_failures(failures)
        .build()
        .expect("tower-resilience consecutive config")
        .layer_fn(DependencyService)
}

/// Polls `future` with a no-op waker until it is ready. Only contention on
/// tower-resilience's state mutex makes it pending, and the mutex hands its
/// permit to the queued waiter on release, so polling again is enough.
#[inline(always)]
fn poll_to_completion<F: Future + ?Sized>(mut future: std::pin::Pin<&mut F>) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0u32;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // Spin while the holder is likely running; give the core away when
        // threads outnumber cores and it may not be.
        polls += 1;
        if polls < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// One protected call through tower-resilience, the tower way (`poll_ready`,
/// then `call`, then the response future), without a runtime; `true` when
/// permitted.
#[inline(always)]
pub fn tower_resilience_call(breaker: &mut TowerResilience, i: u64, fail: bool) -> bool {
    let ready = poll_to_completion(std::pin::pin!(std::future::poll_fn(|cx| {
        breaker.poll_ready(cx)
    })));
    if ready.is_err() {
        return false;
    }
    let mut response = breaker.call((i, fail));
    !matches!(
        poll_to_completion(response.as_mut()),
        Err(CircuitBreakerError::OpenCircuit)
    )
}

/// A tower-resilience breaker that is open for an hour. The rejection path
/// does not consult the window: a count window of 1 trips on one failure.
pub fn tower_resilience_open() -> TowerResilience {
    let mut breaker = tower_resilience_count(1, Duration::from_secs(3600));
    tower_resilience_call(&mut breaker, 0, true);
    assert_eq!(breaker.state_sync(), CircuitState::Open);
    assert!(!tower_resilience_call(&mut breaker, 0, false));
    breaker
}

/// A tower-resilience breaker in half-open that stays there: it closes after
/// `permitted_calls_in_half_open` successes, and that is set to tokio's
/// largest semaphore (2^61 - 1 probe slots), so every call is admitted
/// (taking a slot) and recorded, for as long as a bench runs.
pub fn tower_resilience_half_open() -> TowerResilience {
    let mut breaker = CircuitBreakerLayer::builder()
        .wait_duration_in_open(Duration::from_micros(1))
        .permitted_calls_in_half_open(usize::MAX >> 3)
        .consecutive_failures(1)
        .build()
        .expect("tower-resilience half-open config")
        .layer_fn(DependencyService);
    tower_resilience_call(&mut breaker, 0, true);
    assert_eq!(breaker.state_sync(), CircuitState::Open);
    std::thread::sleep(Duration::from_millis(1));
    for i in 0..4 {
        assert!(tower_resilience_call(&mut breaker, i, false));
        assert_eq!(breaker.state_sync(), CircuitState::HalfOpen);
    }
    breaker
}
