//! DESIGN.md §4 and §13: at the deadline exactly one thread moves Open to
//! HalfOpen and the others see its result; and no thread ever half-opens on
//! a deadline that belongs to another epoch (the opener may be preempted
//! between its state CAS and publishing the deadline).
#![cfg(fusebox_loom)]

mod common;

use std::time::Duration;

use common::{assert_one_state_per_epoch, breaker, model, thread};
use fusebox_core::{Breaker, Config, NoWindow, Recorded, State, TransitionReason};

fn config(open_ms: u64) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(open_ms))
        .half_open_permits(1)
        .build()
        .unwrap()
}

#[test]
fn at_the_deadline_one_thread_half_opens_and_one_probe_is_admitted() {
    model(|| {
        let b = breaker::<NoWindow>(config(10), 0);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        b.clock().set(10);
        let acquirers: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || Breaker::try_acquire_owned(b))
            })
            .collect();
        let observer = {
            let b = b.clone();
            thread::spawn(move || b.state())
        };
        let results: Vec<_> = acquirers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(observer.join().unwrap(), State::HalfOpen);
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        for r in &results {
            match r {
                Ok(p) => assert_eq!((p.state(), p.epoch()), (State::HalfOpen, 2)),
                Err(e) => assert_eq!((e.state, e.retry_after), (State::HalfOpen, None)),
            }
        }
        let events = b.observer().events();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1].reason, TransitionReason::OpenDeadlineReached);
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}

#[test]
fn no_thread_half_opens_before_the_deadline_of_the_episode_it_saw() {
    model(|| {
        let b = breaker::<NoWindow>(config(2), 0);
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        let opener = thread::spawn(move || p.failure());
        let prober = {
            let b = b.clone();
            thread::spawn(move || {
                b.clock().advance(1);
                Breaker::try_acquire_owned(b)
                    .map(|p| (p.state(), p.epoch()))
                    .map_err(|r| (r.state, r.retry_after))
            })
        };
        assert_eq!(
            opener.join().unwrap(),
            Recorded::Counted,
            "the only failure trips"
        );
        let probe = prober.join().unwrap();
        assert_one_state_per_epoch(&b, 0, State::Closed);
        let events = b.observer().events();
        let open = events
            .iter()
            .find(|e| e.to == State::Open)
            .expect("the failure trips");
        let deadline = open
            .open_until
            .expect("an Open transition carries its deadline");
        match probe {
            Ok((State::HalfOpen, _)) => panic!("half-opened at tick 1 before deadline {deadline}"),
            Ok((state, epoch)) => assert_eq!((state, epoch), (State::Closed, 0)),
            Err((state, retry_after)) => {
                // A prober that finds the deadline unpublished publishes one
                // from its own (later) clock reading: never earlier.
                assert_eq!(state, State::Open);
                assert!(
                    retry_after >= Some(Duration::from_millis(deadline - 1)),
                    "{retry_after:?} < {deadline} - 1"
                );
            }
        }
        let s = b.snapshot();
        assert!(
            s.open_until.is_some_and(|d| d >= deadline),
            "{s:?} vs {deadline}"
        );
    });
}

/// DESIGN.md §10: a transition event carries the deadline in force, even
/// when a prober published the deadline first (the opener was preempted
/// between its state CAS and its publish). Before core f5c630c the opener's
/// event reported its own, earlier deadline: 2 while calls were refused
/// until 3.
#[test]
fn the_open_transition_event_reports_the_deadline_in_force() {
    model(|| {
        let b = breaker::<NoWindow>(config(2), 0);
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        let opener = thread::spawn(move || p.failure());
        let prober = {
            let b = b.clone();
            thread::spawn(move || {
                b.clock().advance(1);
                let _ = b.try_acquire();
            })
        };
        assert_eq!(opener.join().unwrap(), Recorded::Counted);
        prober.join().unwrap();
        let events = b.observer().events();
        let open = events.iter().find(|e| e.to == State::Open).unwrap();
        assert_eq!(b.snapshot().open_until, open.open_until, "{events:?}");
    });
}
