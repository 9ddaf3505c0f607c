//! Real threads: many trips and recoveries, invariants checked after each phase,
//! and the compile-time promises (statics, Send + Sync, owned permits).
#![cfg(not(fusebox_loom))]

extern crate std;
use core::time::Duration;
use fusebox_core::{
    Breaker, Config, CountWindow, ManualClock, NoWindow, Ratio, Recorded, State, TimeWindow,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

const THREADS: usize = 8;
const ROUNDS: usize = if cfg!(miri) { 2 } else { 200 };
const CALLS: usize = if cfg!(miri) { 20 } else { 500 };

static CLOCK: ManualClock = ManualClock::new();
static STATIC_BREAKER: Breaker<&ManualClock, CountWindow<16>> = Breaker::new(
    &CLOCK,
    match Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(8)
        .build()
    {
        Ok(c) => c,
        Err(_) => panic!("bad config"),
    },
);

#[test]
fn breakers_are_send_sync_and_static() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Breaker<&'static ManualClock, CountWindow<4>>>();
    send_sync::<Breaker<ManualClock, TimeWindow<4, 2>>>();
    assert_eq!(
        STATIC_BREAKER.try_acquire().unwrap().success(),
        Recorded::Counted
    );
    assert_eq!(STATIC_BREAKER.snapshot().window.calls, 1);
}

#[test]
fn owned_permits_cross_threads() {
    let b = Arc::new(Breaker::<ManualClock, NoWindow>::new(
        ManualClock::new(),
        Config::builder().consecutive_failures(1).build().unwrap(),
    ));
    let p = Breaker::try_acquire_owned(Arc::clone(&b)).unwrap();
    let r = thread::spawn(move || p.failure()).join().unwrap();
    assert_eq!(r, Recorded::Counted);
    assert_eq!(b.state(), State::Open);
}

/// One phase: every thread hammers the breaker; then, quiescent, the
/// invariants must hold exactly.
fn phase<W: fusebox_core::Window + Send + Sync>(
    b: &Breaker<ManualClock, W>,
    fail_every: usize,
) -> (u32, u32) {
    let barrier = Barrier::new(THREADS);
    let admitted_probes = AtomicU32::new(0);
    let rejected = AtomicU32::new(0);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (barrier, admitted_probes, rejected) = (&barrier, &admitted_probes, &rejected);
            s.spawn(move || {
                barrier.wait();
                for i in 0..CALLS {
                    match b.try_acquire() {
                        Ok(p) => {
                            if p.state() == State::HalfOpen {
                                admitted_probes.fetch_add(1, Ordering::Relaxed);
                            }
                            let _ = if (i + t) % fail_every == 0 {
                                p.failure()
                            } else {
                                p.success()
                            };
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if i % 64 == 0 {
                        b.clock().advance(1);
                    }
                }
            });
        }
    });
    (admitted_probes.into_inner(), rejected.into_inner())
}

fn check_quiescent<W: fusebox_core::Window>(b: &Breaker<ManualClock, W>, permits: u32) {
    let s = b.snapshot();
    assert!(
        s.window.failures <= s.window.calls && s.window.slow <= s.window.calls,
        "{s:?}"
    );
    assert!(s.half_open_admitted <= permits, "{s:?}");
    assert!(
        s.half_open_succeeded < permits.max(1) || s.state != State::HalfOpen,
        "{s:?}"
    );
    match s.state {
        State::HalfOpen => assert_eq!(
            s.half_open_admitted, s.half_open_succeeded,
            "no probe may leak: {s:?}"
        ),
        State::Closed => assert_eq!(s.half_open_admitted, 0),
        _ => {}
    }
}

#[test]
fn eight_threads_trip_and_recover_many_times_with_a_count_window() {
    let config = Config::builder()
        .failure_rate(Ratio::percent(40))
        .minimum_calls(20)
        .consecutive_failures(10)
        .open_for(Duration::from_millis(3))
        .half_open_permits(3)
        .success_threshold(2)
        .build()
        .unwrap();
    let b: Breaker<ManualClock, CountWindow<64>> = Breaker::new(ManualClock::new(), config);
    let mut trips = 0;
    for round in 0..ROUNDS {
        // Alternate an outage (half the calls fail) with a healthy phase.
        let fail_every = if round % 2 == 0 { 2 } else { 1_000_000 };
        phase(&b, fail_every);
        check_quiescent(&b, 3);
        trips = b.snapshot().trips;
    }
    assert!(
        trips as usize >= ROUNDS / 2,
        "only {trips} trips in {ROUNDS} rounds"
    );
    // Recovery: a healthy phase long enough always closes it again.
    b.clock().advance(1_000);
    for _ in 0..10 {
        if let Ok(p) = b.try_acquire() {
            let _ = p.success();
        }
    }
    assert_eq!(b.state(), State::Closed);
    // Quiescent exactness of the count window: N successes leave N calls, 0 failures.
    for _ in 0..64 {
        let _ = b.try_acquire().unwrap().success();
    }
    let s = b.snapshot();
    assert_eq!((s.window.calls, s.window.failures), (64, 0), "{s:?}");
}

#[test]
fn eight_threads_on_a_striped_time_window_lose_no_outcome() {
    let config = Config::builder()
        .failure_rate(Ratio::percent(100))
        .minimum_calls(1)
        .window_span(Duration::from_secs(3600))
        .build()
        .unwrap();
    let b: Breaker<ManualClock, TimeWindow<4, 8>> = Breaker::new(ManualClock::new(), config);
    let barrier = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (b, barrier) = (&b, &barrier);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..CALLS {
                    assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
                }
            });
        }
    });
    assert_eq!(b.snapshot().window.calls as usize, THREADS * CALLS);
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    let s = b.snapshot();
    assert_eq!(
        (s.window.calls as usize, s.window.failures),
        (THREADS * CALLS + 1, 1)
    );
    assert_eq!(
        s.state,
        State::Closed,
        "1 failure in the window is far below 100 %"
    );
}

#[test]
fn concurrent_failures_trip_exactly_once_per_epoch() {
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let config = Config::builder()
            .consecutive_failures(1)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap();
        let b: Breaker<ManualClock, NoWindow> = Breaker::new(ManualClock::new(), config);
        let permits: std::vec::Vec<_> = (0..THREADS)
            .map(|_| Breaker::try_acquire_owned(&b).unwrap())
            .collect();
        let barrier = Barrier::new(THREADS);
        let counted = AtomicU32::new(0);
        thread::scope(|s| {
            for p in permits {
                let (barrier, counted) = (&barrier, &counted);
                s.spawn(move || {
                    barrier.wait();
                    if p.failure() == Recorded::Counted {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let s = b.snapshot();
        assert_eq!((s.state, s.epoch, s.trips), (State::Open, 1, 1));
        assert!(counted.into_inner() >= 1);
    }
}
