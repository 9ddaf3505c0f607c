//! The call wrappers: outcomes, classifiers, panics, rejections, fallbacks,
//! and permits released by dropped futures, on real threads and tasks.

use fusebox_core::{Breaker, Config, ManualClock, NoWindow, Outcome, State};
use fusebox_std::{CallExt, Error, StdClock};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn consecutive(n: u32) -> Config {
    Config::builder()
        .consecutive_failures(n)
        .open_for(Duration::from_secs(1))
        .build()
        .unwrap()
}

fn half_open(permits: u32) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .half_open_permits(permits)
        .success_threshold(permits)
        .build()
        .unwrap()
}

#[test]
fn ok_is_a_success_and_err_a_failure_by_default() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(2));
    assert_eq!(b.call(|| Ok::<_, ()>(7)).unwrap(), 7);
    assert!(matches!(
        b.call(|| Err::<(), _>("x")),
        Err(Error::Inner("x"))
    ));
    assert_eq!(b.snapshot().consecutive_failures, 1);
    let _ = b.call(|| Ok::<_, ()>(()));
    assert_eq!(b.snapshot().consecutive_failures, 0);
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Err::<(), _>(()));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn rejected_call_never_runs_the_closure_and_says_when_to_retry() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(1));
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(400);
    let ran = AtomicU32::new(0);
    let e = b
        .call(|| {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        })
        .unwrap_err();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    match e {
        Error::Rejected {
            state,
            retry_after,
            reason,
        } => {
            assert_eq!(state, State::Open);
            assert_eq!(reason, fusebox_core::RejectReason::State);
            assert_eq!(retry_after, Some(Duration::from_millis(600)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn classifier_can_fail_an_ok_value_and_ignore_an_error() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(2));
    let by_status = |r: &Result<u16, u16>| match r {
        Ok(s) if *s >= 500 => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(429) => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    };
    assert_eq!(b.call_classified(&by_status, || Ok(503)).unwrap(), 503);
    assert_eq!(b.snapshot().consecutive_failures, 1);
    let _ = b.call_classified(&by_status, || Err(429));
    assert_eq!(
        b.snapshot().consecutive_failures,
        1,
        "ignored keeps the run"
    );
    let _ = b.call_classified(&by_status, || Ok(500));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn panic_in_the_closure_is_recorded_as_failure_and_resumed() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(1));
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = b.call(|| -> Result<(), ()> { panic!("boom") });
    }));
    assert_eq!(
        *caught.unwrap_err().downcast_ref::<&str>().unwrap(),
        "boom",
        "the original panic is resumed"
    );
    assert_eq!(b.state(), State::Open);
}

#[test]
fn panicking_classifier_still_releases_the_half_open_slot() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, half_open(1));
    b.transition_to_half_open();
    let bad = |_: &Result<(), ()>| -> Outcome { panic!("classifier bug") };
    let caught = catch_unwind(AssertUnwindSafe(|| b.call_classified(&bad, || Ok(()))));
    assert!(caught.is_err());
    let s = b.snapshot();
    assert_eq!((s.state, s.half_open_admitted), (State::HalfOpen, 0));
    assert!(b.call(|| Ok::<_, ()>(())).is_ok(), "the slot came back");
}

#[test]
fn fallback_turns_rejections_and_errors_into_values() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(1));
    assert_eq!(b.call_with_fallback(|| Err::<u8, _>("down"), |_| 1), 1);
    let v = b.call_with_fallback(
        || Ok::<u8, &str>(9),
        |e| if e.is_rejected() { 2 } else { 3 },
    );
    assert_eq!(v, 2);
}

#[test]
fn threads_racing_for_half_open_slots_give_every_abandoned_slot_back() {
    // 8 threads, 4 probe slots; every call either panics (a failure would
    // re-open, so the classifier ignores it instead) or is ignored.
    let b = Arc::new(Breaker::<StdClock, NoWindow>::new(StdClock, half_open(4)));
    b.transition_to_half_open();
    let admitted = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let b = Arc::clone(&b);
            let admitted = Arc::clone(&admitted);
            std::thread::spawn(move || {
                for i in 0..2_000u32 {
                    let ignore = |_: &Result<(), ()>| Outcome::Ignored;
                    let panicky = |_: &Result<(), ()>| -> Outcome { panic!("classifier") };
                    let r = catch_unwind(AssertUnwindSafe(|| {
                        if (i + t) % 3 == 0 {
                            b.call_classified(&panicky, || Ok(()))
                        } else {
                            b.call_classified(&ignore, || {
                                admitted.fetch_add(1, Ordering::Relaxed);
                                Ok(())
                            })
                        }
                    }));
                    if let Ok(Err(e)) = r {
                        assert_eq!(e.into_inner(), None, "only rejections");
                    }
                }
            })
        })
        .collect();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for t in threads {
        t.join().unwrap();
    }
    std::panic::set_hook(hook);
    let s = b.snapshot();
    assert_eq!((s.state, s.half_open_admitted), (State::HalfOpen, 0));
    assert!(admitted.load(Ordering::Relaxed) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_aborted_at_random_points_give_their_half_open_slots_back() {
    let b = Arc::new(Breaker::<StdClock, NoWindow>::new(StdClock, half_open(3)));
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        b.transition_to_half_open();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let b = Arc::clone(&b);
                let work = Duration::from_micros(next() % 2_000);
                tokio::spawn(async move {
                    let r = b
                        .call_async(|| async move {
                            tokio::time::sleep(work).await;
                            std::future::pending::<Result<(), ()>>().await
                        })
                        .await;
                    // The call itself never finishes: only a rejection returns.
                    assert!(r.unwrap_err().is_rejected());
                })
            })
            .collect();
        for t in &tasks {
            let wait = next() % 1_500;
            if wait % 3 != 0 {
                tokio::time::sleep(Duration::from_micros(wait)).await;
            }
            t.abort();
        }
        for t in tasks {
            if let Err(e) = t.await {
                assert!(e.is_cancelled(), "{e}");
            }
        }
        let s = b.snapshot();
        assert_eq!(
            (s.state, s.half_open_admitted, s.half_open_succeeded),
            (State::HalfOpen, 0, 0),
            "round {round}"
        );
    }
    // And the slots really are free: three probes close the breaker.
    for _ in 0..3 {
        b.call_async(|| async { Ok::<_, ()>(()) }).await.unwrap();
    }
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn call_async_asks_for_its_permit_at_the_first_poll() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, half_open(1));
    b.transition_to_half_open();
    let lazy = b.call_async(|| async { Ok::<_, ()>(()) });
    assert_eq!(b.snapshot().half_open_admitted, 0);
    drop(lazy);
    let f = b.call_async(|| async {
        tokio::task::yield_now().await;
        Ok::<_, ()>(())
    });
    let mut f = Box::pin(f);
    assert!(futures::poll!(f.as_mut()).is_pending());
    assert_eq!(b.snapshot().half_open_admitted, 1);
    drop(f);
    assert_eq!(b.snapshot().half_open_admitted, 0);
}

#[tokio::test]
async fn panic_in_a_future_is_recorded_as_failure_and_resumed() {
    let b = Arc::new(Breaker::<StdClock, NoWindow>::new(StdClock, consecutive(1)));
    let b2 = Arc::clone(&b);
    let joined = tokio::spawn(async move {
        b2.call_async(|| async {
            tokio::task::yield_now().await;
            if true {
                panic!("async boom");
            }
            Ok::<(), ()>(())
        })
        .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn async_fallback_turns_a_rejection_into_a_value() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(1));
    b.force_open();
    let v = b
        .call_async_with_fallback(
            || async { Ok::<u8, ()>(1) },
            |e| if e.is_rejected() { 0 } else { 2 },
        )
        .await;
    assert_eq!(v, 0);
}

#[cfg(feature = "tokio")]
#[tokio::test(start_paused = true)]
async fn call_async_timeout_cancels_the_call_and_records_a_failure() {
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(1));
    let dropped = Arc::new(AtomicU32::new(0));
    struct OnDrop(Arc<AtomicU32>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let guard = OnDrop(Arc::clone(&dropped));
    let r = b
        .call_async_timeout(Duration::from_millis(250), || async move {
            let _g = guard;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<(), ()>(())
        })
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the call was dropped");
    assert_eq!(b.state(), State::Open);
    // A quick call is unaffected by the limit.
    b.reset();
    let r = b
        .call_async_timeout(Duration::from_millis(250), || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, ()>(5)
        })
        .await;
    assert_eq!(r.unwrap(), 5);
}

#[test]
fn a_retry_hint_from_the_classifier_opens_the_breaker_for_that_long() {
    struct RateLimited;
    impl fusebox_std::Classifier<(), u64> for RateLimited {
        fn classify(&self, r: &Result<(), u64>) -> Outcome {
            if r.is_ok() {
                Outcome::Success
            } else {
                Outcome::Ignored
            }
        }
        fn retry_hint(&self, r: &Result<(), u64>) -> Option<Duration> {
            r.as_ref().err().map(|s| Duration::from_secs(*s))
        }
    }
    let clock = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&clock, consecutive(100));
    let _ = b.call_classified(&RateLimited, || Ok(()));
    assert_eq!(b.state(), State::Closed);
    let _ = b.call_classified(&RateLimited, || Err(5));
    assert_eq!(
        b.state(),
        State::Open,
        "one hint opens it, whatever the rules"
    );
    match b.call(|| Ok::<_, ()>(())) {
        Err(Error::Rejected { retry_after, .. }) => {
            assert_eq!(
                retry_after,
                Some(Duration::from_secs(5)),
                "the hint, not open_for (1 s)"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn futures_permits_and_breakers_can_cross_threads() {
    use fusebox_std::{BreakerSpec, Registry, StdBreaker, WindowSpec};
    fn send<T: Send>(_: &T) {}
    fn send_sync_static<T: Send + Sync + 'static>(_: &T) {}
    let b = StdBreaker::new(
        "x",
        BreakerSpec {
            config: consecutive(1),
            window: WindowSpec::Count { size: 10 },
        },
    )
    .unwrap();
    send_sync_static(&b);
    send_sync_static(&Registry::new());
    let owned = b.try_acquire_owned().unwrap();
    let owned_is_static: Box<dyn std::any::Any + Send> = Box::new(owned);
    drop(owned_is_static);
    let borrowed = b.try_acquire().unwrap();
    send(&borrowed);
    drop(borrowed);
    let fut = b.call_async(|| async { Ok::<_, ()>(()) });
    send(&fut);
}
