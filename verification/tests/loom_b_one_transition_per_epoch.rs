//! Invariant (b) of DESIGN.md §7: each epoch has exactly one state, and a
//! transition happens once, however many threads decide it together.
#![cfg(fusebox_loom)]

mod common;

use common::{assert_one_state_per_epoch, breaker, model, thread};
use fusebox_core::{Breaker, Config, NoWindow, Recorded, State, TransitionReason};

#[test]
fn three_concurrent_failures_trip_exactly_once() {
    model(|| {
        let config = Config::builder().consecutive_failures(2).build().unwrap();
        let b = breaker::<NoWindow>(config, 0);
        let permits: Vec<_> = (0..3)
            .map(|_| Breaker::try_acquire_owned(b.clone()).unwrap())
            .collect();
        let threads: Vec<_> = permits
            .into_iter()
            .map(|p| thread::spawn(move || p.failure()))
            .collect();
        let recorded: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let counted = recorded.iter().filter(|r| **r == Recorded::Counted).count();
        assert_eq!(
            counted, 2,
            "two failures trip, the third is stale: {recorded:?}"
        );
        let events = b.observer().events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            (events[0].to, events[0].reason),
            (State::Open, TransitionReason::ConsecutiveFailures)
        );
        assert_eq!(b.snapshot().trips, 1);
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}

#[test]
fn a_trip_racing_an_operator_call_yields_one_consistent_history() {
    model(|| {
        let config = Config::builder().consecutive_failures(1).build().unwrap();
        let b = breaker::<NoWindow>(config, 0);
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        let tripper = thread::spawn(move || p.failure());
        let operator = {
            let b = b.clone();
            thread::spawn(move || b.force_open())
        };
        let recorded = tripper.join().unwrap();
        operator.join().unwrap();
        assert_one_state_per_epoch(&b, 0, State::Closed);
        let s = b.snapshot();
        assert_eq!(s.state, State::ForcedOpen);
        match recorded {
            Recorded::Counted => assert_eq!((s.epoch, s.trips), (2, 1)),
            Recorded::Stale => assert_eq!((s.epoch, s.trips), (1, 0)),
            Recorded::Discarded => panic!("nothing is disabled"),
        }
    });
}
