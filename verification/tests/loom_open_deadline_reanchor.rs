//! Issue 14 item 9: after the clock went back, readers re-anchor the open
//! deadline (a CAS over exactly the word they read, same tag). No thread
//! half-opens early, one re-anchor wins, and a re-anchor racing an operator
//! transition leaves the new episode's deadline alone.
#![cfg(fusebox_loom)]

mod common;

use std::time::Duration;

use common::{assert_one_state_per_epoch, breaker, model, thread};
use fusebox_core::{Breaker, Config, NoWindow, Recorded, State};

const OPEN_MS: u64 = 30_000;
/// The default `max_trip_hint`: the longest open period.
const LONGEST_MS: u64 = 600_000;
const START: u64 = 1 << 30;
/// Far past the guard (the longest period), well within half the unit range.
const JUMP: u64 = 1 << 20;

fn config() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(OPEN_MS))
        .max_half_open_wait(Duration::from_millis(5_000))
        .half_open_permits(1)
        .build()
        .unwrap()
}

#[test]
fn after_a_backward_jump_no_reader_half_opens_and_one_reanchor_wins() {
    model(|| {
        let b = breaker::<NoWindow>(config(), START);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        b.clock().set(START - JUMP);
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || {
                    Breaker::try_acquire_owned(b)
                        .map(|p| p.state())
                        .map_err(|r| (r.state, r.retry_after))
                })
            })
            .collect();
        let observer = {
            let b = b.clone();
            thread::spawn(move || b.state())
        };
        for r in readers {
            assert_eq!(
                r.join().unwrap(),
                Err((State::Open, Some(Duration::from_millis(LONGEST_MS))))
            );
        }
        assert_eq!(observer.join().unwrap(), State::Open);
        let now = b.clock().now();
        assert_eq!(b.snapshot().open_until, Some(now + LONGEST_MS));
        assert_one_state_per_epoch(&b, 0, State::Closed);
        b.clock().advance(LONGEST_MS - 1);
        assert!(b.try_acquire().is_err(), "re-anchored, not early");
        b.clock().advance(1);
        assert_eq!(b.try_acquire().unwrap().state(), State::HalfOpen);
    });
}

#[test]
fn a_reanchor_racing_an_operator_transition_leaves_the_new_episode_alone() {
    model(|| {
        let b = breaker::<NoWindow>(config(), START);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        b.clock().set(START - JUMP);
        let reader = {
            let b = b.clone();
            thread::spawn(move || {
                Breaker::try_acquire_owned(b)
                    .map(|p| (p.state(), p.epoch()))
                    .map_err(|r| (r.state, r.retry_after))
            })
        };
        let operator = {
            let b = b.clone();
            thread::spawn(move || b.transition_to_half_open())
        };
        operator.join().unwrap();
        match reader.join().unwrap() {
            // Before the operator: rejected, and it may have re-anchored.
            Err(r) => assert_eq!(r, (State::Open, Some(Duration::from_millis(LONGEST_MS)))),
            // After: the operator's episode admitted it as its probe.
            Ok(p) => assert_eq!(p, (State::HalfOpen, 2)),
        }
        assert_one_state_per_epoch(&b, 0, State::Closed);
        // The half-open episode's wait is its own: 5 s from the operator's
        // reading (the clock did not move), whatever the reader did.
        b.clock().advance(4_999);
        assert_eq!(b.state(), State::HalfOpen);
        b.clock().advance(1);
        assert_eq!(b.state(), State::Open);
    });
}
