//! Issue 19, progressive recovery: the ramp after a close under concurrent
//! callers. Every attempt the ramp decides on gets its own number (none lost,
//! none shared), so the calls admitted are exactly those a sequential replay
//! admits; the close's publication of the ramp's end and its removal once
//! passed never disturb another episode's timer word.
#![cfg(fusebox_loom)]

mod common;

use common::{breaker, model, thread, Arc, Logged};
use core::time::Duration;
use fusebox_core::shape::ramp_admits;
use fusebox_core::{Breaker, Config, NoWindow, RejectReason, State};

/// Stage 0 admits half the calls for 100 ms, stage 1 all of them.
fn config(seed: u32) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(100))
        .ramp_up(Duration::from_millis(200))
        .ramp_stages(&[50, 100])
        .jitter_seed(seed)
        .build()
        .unwrap()
}

/// The epoch of the ramping closed episode below: trip, half-open, close.
const RAMP_EPOCH: u64 = 3;

/// A seed whose first three numbered attempts go reject, admit, reject: a
/// shared number admits one call too many, a lost one shifts the pattern.
fn seed() -> u32 {
    (0..)
        .find(|&s| {
            (0..4)
                .map(|m| ramp_admits(s, RAMP_EPOCH, m, 5_000))
                .eq([false, true, false, true])
        })
        .unwrap()
}

/// Trips at 0, probes at 100 and closes: the ramp runs from 100 to 300.
fn ramping(seed: u32) -> Arc<Logged<NoWindow>> {
    let b = breaker::<NoWindow>(config(seed), 0);
    let _ = b.try_acquire().unwrap().failure();
    b.clock().set(100);
    let _ = b.try_acquire().unwrap().success();
    let s = b.snapshot();
    assert_eq!((s.state, s.epoch), (State::Closed, RAMP_EPOCH));
    b
}

#[test]
fn concurrent_attempts_are_numbered_once_each_and_admitted_as_a_replay_would() {
    let seed = seed();
    model(move || {
        let b = ramping(seed);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || Breaker::try_acquire_owned(b).map(|p| p.success()))
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let admitted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(admitted, 1, "attempts 0..3 admit exactly one: {results:?}");
        for r in results.iter().filter_map(|r| r.err()) {
            assert_eq!(r.reason, RejectReason::Ramp);
            assert_eq!(r.retry_after, Some(Duration::from_millis(100)));
        }
        // No number was lost: the next attempt is the fourth, admitted.
        assert!(b.try_acquire().is_ok(), "attempt 3 is admitted");
        assert!(b.try_acquire().is_err(), "attempt 4 is not");
    });
}

#[test]
fn attempts_racing_the_close_are_admitted_in_full_or_numbered_from_zero() {
    let seed = seed();
    model(move || {
        let b = breaker::<NoWindow>(config(seed), 0);
        let _ = b.try_acquire().unwrap().failure();
        b.clock().set(100);
        let probe = b.try_acquire().unwrap();
        // The closer and a caller that may read the closed state before the
        // ramp's end is published.
        let caller = {
            let b = b.clone();
            thread::spawn(move || {
                // Loops until the close is visible.
                loop {
                    match b.try_acquire() {
                        Ok(p) if p.state() == State::HalfOpen => drop(p),
                        Ok(p) => return Ok(p.epoch()),
                        Err(r) if r.state == State::HalfOpen => {}
                        Err(r) => return Err(r),
                    }
                    thread::yield_now();
                }
            })
        };
        let _ = probe.success();
        let seen = caller.join().unwrap();
        // Before the publication: admitted in full, no number taken. After:
        // numbered 0, which this seed rejects.
        let numbered = match seen {
            Ok(epoch) => {
                assert_eq!(epoch, RAMP_EPOCH);
                0
            }
            Err(r) => {
                assert_eq!((r.state, r.reason), (State::Closed, RejectReason::Ramp));
                1
            }
        };
        // The ramp is in force now, and the numbering went on from there.
        let next = b.try_acquire().map(|p| p.epoch());
        assert_eq!(next.is_ok(), ramp_admits(seed, RAMP_EPOCH, numbered, 5_000));
    });
}

#[test]
fn removing_a_passed_ramp_end_never_erases_the_next_open_deadline() {
    let seed = seed();
    model(move || {
        let b = ramping(seed);
        // The ramp ended at 300; a permit from before it trips the breaker
        // while another caller removes the passed ramp end.
        b.clock().set(250);
        let permit = loop {
            if let Ok(p) = b.try_acquire() {
                break p;
            }
        };
        b.clock().set(300);
        let reader = {
            let b = b.clone();
            thread::spawn(move || b.try_acquire().map(|p| p.epoch()))
        };
        let _ = permit.failure();
        let _ = reader.join().unwrap();
        let s = b.snapshot();
        assert_eq!(s.state, State::Open);
        // Tripped at 300, after the ramp: level 0, open for 100 ms.
        assert_eq!(s.backoff_level, 0);
        assert_eq!(s.open_until, Some(400), "the open deadline is in force");
    });
}
