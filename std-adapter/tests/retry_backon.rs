//! `retry` (feature `backon`) against real breakers, on tokio's timer and
//! on real threads: a recovering dependency is retried with backoff, an
//! open breaker is waited for only within the caller's patience, and the
//! budget caps retries.
#![cfg(feature = "backon")]

use backon::{ExponentialBuilder, Retryable};
use fusebox_core::{Config, State};
use fusebox_std::retry::{retryable, CallRetryExt, RetryBudget, RetryRules};
use fusebox_std::{BreakerSpec, CallExt, Error, StdBreaker, WindowSpec};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn breaker(consecutive_failures: u32, open_for: Duration) -> StdBreaker {
    let config = Config::builder()
        .consecutive_failures(consecutive_failures)
        .open_for(open_for)
        .build()
        .unwrap();
    StdBreaker::new(
        "dep",
        BreakerSpec {
            config,
            window: WindowSpec::None,
        },
    )
    .unwrap()
}

fn backoff(max_times: usize) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(40))
        .with_max_times(max_times)
        .with_jitter()
}

/// Trips `b` with one failure (it opens after one).
fn trip(b: &StdBreaker) {
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn a_failing_then_recovering_dependency_is_retried_with_backoff() {
    let b = breaker(5, Duration::from_secs(60));
    let rules = RetryRules::new(Duration::ZERO);
    let attempts = AtomicU32::new(0);
    let started = Instant::now();
    let v = b
        .call_async_with_retry(backoff(5), &rules, || async {
            if attempts.fetch_add(1, Ordering::Relaxed) < 2 {
                Err("503")
            } else {
                Ok("fine")
            }
        })
        .await;
    assert_eq!(v.unwrap(), "fine");
    assert_eq!(attempts.load(Ordering::Relaxed), 3);
    // Two backoffs of at least 5 ms and 10 ms (jitter only adds).
    assert!(started.elapsed() >= Duration::from_millis(15));
    let t = b.observer().totals().snapshot();
    assert_eq!((t.failure, t.success), (2, 1));
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn a_rejection_that_outlasts_the_patience_is_returned_at_once() {
    let b = breaker(1, Duration::from_secs(60));
    trip(&b);
    let rules = RetryRules::new(Duration::from_secs(1));
    let attempts = AtomicU32::new(0);
    let started = Instant::now();
    let r = b
        .call_async_with_retry(backoff(5), &rules, || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(())
        })
        .await;
    match r {
        Err(Error::Rejected { retry_after, .. }) => {
            assert!(retry_after.unwrap() > Duration::from_secs(50))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(attempts.load(Ordering::Relaxed), 0);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(b.observer().totals().snapshot().rejected, 1);
}

#[tokio::test]
async fn a_rejection_whose_retry_after_fits_the_patience_is_retried_after_it() {
    let b = breaker(1, Duration::from_millis(200));
    trip(&b);
    let rules = RetryRules::new(Duration::from_secs(2));
    let attempts = AtomicU32::new(0);
    let started = Instant::now();
    let v = b
        .call_async_with_retry(backoff(3), &rules, || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(7)
        })
        .await;
    assert_eq!(v.unwrap(), 7);
    // Waited the open period (not the 5 ms backoff), then probed and closed.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(attempts.load(Ordering::Relaxed), 1);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.observer().totals().snapshot().rejected, 1);
}

#[tokio::test]
async fn backons_own_retryable_takes_the_when_adjust_pair() {
    let b = breaker(1, Duration::from_millis(100));
    trip(&b);
    let calls = AtomicU32::new(0);
    let fetch = || {
        b.call_async(|| async {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>("ok")
        })
    };
    // `retryable` alone never waits on an open breaker.
    let r = fetch.retry(backoff(3)).when(retryable).await;
    assert!(r.unwrap_err().is_rejected());
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    // The pair waits out the open period within the patience.
    let rules = RetryRules::new(Duration::from_secs(1));
    let started = Instant::now();
    let r = fetch
        .retry(backoff(3))
        .when(|e| rules.when(e))
        .adjust(|e, d| rules.adjust(e, d))
        .await;
    assert_eq!(r.unwrap(), "ok");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn the_budget_caps_retries_across_threads() {
    // Never trips: every attempt reaches the dependency.
    let b = Arc::new(breaker(1_000_000, Duration::from_secs(60)));
    // Retries <= 4 + 0.25 * calls = 4 + 0.25 * 40 = 14.
    let budget = Arc::new(RetryBudget::new(0.25, 4).unwrap());
    let rules = RetryRules::new(Duration::ZERO).with_budget(budget);
    let attempts = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (b, rules, attempts) = (Arc::clone(&b), rules.clone(), Arc::clone(&attempts));
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let r = b.call_with_retry(backoff(5), &rules, || {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        Err::<(), _>("always down")
                    });
                    assert!(matches!(r, Err(Error::Inner("always down"))));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let retries = attempts.load(Ordering::Relaxed) - 40;
    // Without the budget: 40 calls * 5 retries = 200.
    assert!(retries <= 14, "{retries} retries");
    assert!(retries >= 4, "the reserve was spent: {retries} retries");
    assert_eq!(
        b.observer().totals().snapshot().failure,
        40 + u64::from(retries)
    );
}

#[test]
fn a_blocking_call_waits_for_the_breaker_within_patience() {
    let b = breaker(1, Duration::from_millis(100));
    trip(&b);
    let rules = RetryRules::new(Duration::from_secs(1));
    let started = Instant::now();
    let v = b.call_with_retry(backoff(2), &rules, || Ok::<_, ()>(1));
    assert_eq!(v.unwrap(), 1);
    assert!(started.elapsed() >= Duration::from_millis(50));
    let impatient = RetryRules::new(Duration::from_millis(10));
    trip(&b);
    assert!(b
        .call_with_retry(backoff(2), &impatient, || Ok::<_, ()>(1))
        .unwrap_err()
        .is_rejected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_call_is_send_and_runs_in_spawned_tasks() {
    let b = Arc::new(breaker(5, Duration::from_secs(60)));
    let rules = Arc::new(RetryRules::new(Duration::ZERO));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (b, rules) = (Arc::clone(&b), Arc::clone(&rules));
            tokio::spawn(async move {
                let tries = AtomicU32::new(0);
                b.call_async_with_retry(backoff(3), &rules, || async {
                    match tries.fetch_add(1, Ordering::Relaxed) {
                        0 => Err("reset"),
                        n => Ok(n),
                    }
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 1);
    }
    let t = b.observer().totals().snapshot();
    assert_eq!((t.failure, t.success), (4, 4));
}
