//! Invariant (e) of DESIGN.md §7: permits are never leaked by drop or
//! cancellation, even when the drop races a new half-open episode; and a
//! stale drop never gives back a slot of the new episode.
#![cfg(fusebox_loom)]

mod common;

use common::{assert_one_state_per_epoch, breaker, model, thread};
use fusebox_core::{Abandon, Breaker, Config, NoWindow, State};

fn config(on_abandon: Abandon) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .half_open_permits(1)
        .on_abandon(on_abandon)
        .build()
        .unwrap()
}

#[test]
fn dropped_probes_racing_a_new_episode_leave_no_slot_taken() {
    model(|| {
        let b = breaker::<NoWindow>(config(Abandon::Ignore), 0);
        b.transition_to_half_open();
        let probes: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || drop(Breaker::try_acquire_owned(b)))
            })
            .collect();
        let operator = {
            let b = b.clone();
            thread::spawn(move || b.transition_to_half_open())
        };
        probes.into_iter().for_each(|t| t.join().unwrap());
        operator.join().unwrap();
        let s = b.snapshot();
        assert_eq!((s.state, s.epoch), (State::HalfOpen, 2));
        assert_eq!(
            (s.half_open_admitted, s.half_open_succeeded),
            (0, 0),
            "{s:?}"
        );
        assert!(b.try_acquire().is_ok(), "the slot leaked");
    });
}

#[test]
fn a_stale_probe_dropped_as_failure_does_not_reopen_the_new_episode() {
    model(|| {
        let b = breaker::<NoWindow>(config(Abandon::Failure), 0);
        b.transition_to_half_open();
        let probe = {
            let b = b.clone();
            thread::spawn(move || Breaker::try_acquire_owned(b).map(|p| p.epoch()).ok())
        };
        let operator = {
            let b = b.clone();
            thread::spawn(move || b.transition_to_half_open())
        };
        let epoch = probe.join().unwrap();
        operator.join().unwrap();
        assert_one_state_per_epoch(&b, 0, State::Closed);
        let s = b.snapshot();
        match epoch {
            // Granted in the new episode: its abandonment is a failure.
            Some(2) => assert_eq!((s.state, s.backoff_level), (State::Open, 1)),
            // Granted in the first episode (and dropped before or after the
            // new one began), or refused: the new episode is untouched.
            _ => assert_eq!((s.state, s.half_open_admitted), (State::HalfOpen, 0)),
        }
    });
}
