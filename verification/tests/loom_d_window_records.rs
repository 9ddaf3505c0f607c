//! Invariant (d) of DESIGN.md §7: no outcome recorded in the current window
//! is lost or counted twice, in count windows (shared ticket) and striped
//! time windows (including a stale bucket that two threads reset at once).
#![cfg(fusebox_loom)]

mod common;

use std::time::Duration;

use common::{breaker, model, thread};
use fusebox_core::{Breaker, Config, CountWindow, Outcome, Ratio, Recorded, TimeWindow, Window};

/// Rate rules that cannot fire below `minimum_calls` = 4 outcomes (no model
/// records more than 3 into one window).
fn config() -> Config {
    Config::builder()
        .failure_rate(Ratio::from_basis_points(10_000))
        .slow_call_rate(Ratio::from_basis_points(10_000))
        .slow_call_duration(Duration::from_millis(10))
        .minimum_calls(4)
        .window_span(Duration::from_millis(20))
        .build()
        .unwrap()
}

/// Records `outcomes` (outcome, duration ms) from one thread each at `now`;
/// returns the window counts.
fn record_concurrently<W: Window + 'static>(
    now: u64,
    outcomes: &[(Outcome, u64)],
) -> (u32, u32, u32) {
    let b = breaker::<W>(config(), 0);
    // Outcomes of an earlier slot; at `now` they must have expired.
    if now > 0 {
        for _ in 0..2 {
            assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        }
        b.clock().set(now);
    }
    let threads: Vec<_> = outcomes
        .iter()
        .map(|&(o, ms)| {
            let p = Breaker::try_acquire_owned(b.clone()).unwrap();
            thread::spawn(move || p.record_with_duration(o, Duration::from_millis(ms)))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Recorded::Counted);
    }
    let w = b.snapshot().window;
    (w.calls, w.failures, w.slow)
}

const THREE: [(Outcome, u64); 3] = [
    (Outcome::Failure, 10),
    (Outcome::Success, 0),
    (Outcome::Failure, 0),
];

#[test]
fn count_window_keeps_every_concurrent_outcome_once() {
    model(|| assert_eq!(record_concurrently::<CountWindow<4>>(0, &THREE), (3, 2, 1)));
}

#[test]
fn striped_time_window_keeps_every_concurrent_outcome_once() {
    // Two threads: a record's first bucket resets cross B * S words, and
    // three threads over 2 x 2 buckets run for many minutes.
    let two = [(Outcome::Failure, 10), (Outcome::Success, 0)];
    model(move || assert_eq!(record_concurrently::<TimeWindow<2, 2>>(0, &two), (2, 1, 1)));
}

#[test]
fn two_threads_resetting_one_stale_bucket_lose_neither_outcome() {
    // Slot 2 reuses bucket 0 of slot 0; both records find its stamp stale.
    let two = [(Outcome::Success, 10), (Outcome::Failure, 0)];
    model(move || assert_eq!(record_concurrently::<TimeWindow<2>>(20, &two), (2, 1, 1)));
}

/// Records `before` from this thread, then `outcomes` from one thread each;
/// returns the breaker for the caller's checks.
fn record_after<W: Window + 'static>(
    config: Config,
    before: &[Outcome],
    now: u64,
    outcomes: &[Outcome],
) -> common::Arc<common::Logged<W>> {
    let b = breaker::<W>(config, 0);
    for &o in before {
        assert_eq!(b.try_acquire().unwrap().record(o), Recorded::Counted);
    }
    b.clock().set(now);
    let threads: Vec<_> = outcomes
        .iter()
        .map(|&o| {
            let p = Breaker::try_acquire_owned(b.clone()).unwrap();
            thread::spawn(move || p.record(o))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Recorded::Counted);
    }
    b
}

#[test]
fn count_window_successes_evicting_successes_keep_the_aggregate_exact() {
    // A full ring of successes; three records race for two slots (tickets 2
    // and 4 share slot 0): a success evicts a success without writing, a
    // failure swaps and installs, and when both failures meet in slot 0 the
    // second evicts a failure and writes nothing. Whatever order the ring
    // ends in, the aggregate matches it: two more successes evict exactly
    // what it counts and leave (2, 0, 0).
    // A slow-call rule only (the manual clock stands still: nothing is
    // slow), so two failures in the ring trip nothing.
    let config = Config::builder()
        .slow_call_rate(Ratio::from_basis_points(10_000))
        .slow_call_duration(Duration::from_millis(10))
        .minimum_calls(2)
        .build()
        .unwrap();
    let three = [Outcome::Failure, Outcome::Success, Outcome::Failure];
    model(move || {
        let b = record_after::<CountWindow<2>>(
            config.clone(),
            &[Outcome::Success, Outcome::Success],
            0,
            &three,
        );
        let w = b.snapshot().window;
        assert_eq!(w.calls, 2);
        for _ in 0..2 {
            assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
        }
        let w = b.snapshot().window;
        assert_eq!((w.calls, w.failures, w.slow), (2, 0, 0));
    });
}

#[test]
fn time_window_failures_judge_on_a_published_summary_or_their_own_sum() {
    // Slot 0 holds two successes; two failures race in slot 1 (bucket width
    // 10 ms). Each is judged on the two older calls plus its own and at
    // most one more failure: at most 2 of 3 (a sum may see the other
    // thread's failure word before its calls word), so a 70 % rule never
    // trips; a judgment that read a summary before its words were published
    // (zeros: 100 %) would.
    let config = Config::builder()
        .failure_rate(Ratio::from_basis_points(7_000))
        .minimum_calls(2)
        .window_span(Duration::from_millis(20))
        .build()
        .unwrap();
    let two = [Outcome::Failure, Outcome::Failure];
    model(move || {
        let b = record_after::<TimeWindow<2>>(
            config.clone(),
            &[Outcome::Success, Outcome::Success],
            10,
            &two,
        );
        assert_eq!(b.state(), fusebox_core::State::Closed);
        let w = b.snapshot().window;
        assert_eq!((w.calls, w.failures), (4, 2));
    });
}
