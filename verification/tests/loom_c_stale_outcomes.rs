//! Invariant (c) of DESIGN.md §7 and the first hard case of §13: a permit
//! from an older epoch that completes after the breaker tripped, half-opened
//! and closed again changes neither the state, nor the new window, nor the
//! consecutive run.
#![cfg(fusebox_loom)]

mod common;

use common::{assert_one_state_per_epoch, breaker, model, thread};
use fusebox_core::{Breaker, Config, CountWindow, Recorded, State};

#[test]
fn an_old_failure_never_lands_in_the_window_of_a_new_closed_episode() {
    model(|| {
        let config = Config::builder()
            .consecutive_failures(1)
            .failure_rate(fusebox_core::Ratio::from_basis_points(10_000))
            .minimum_calls(1)
            .build()
            .unwrap();
        let b = breaker::<CountWindow<4>>(config, 0);
        let old = Breaker::try_acquire_owned(b.clone()).unwrap();
        let tripping = Breaker::try_acquire_owned(b.clone()).unwrap();
        let late = thread::spawn(move || old.failure());
        let cycle = {
            let b = b.clone();
            thread::spawn(move || {
                let first = tripping.failure();
                b.transition_to_half_open();
                let probe = b.try_acquire().expect("the one probe slot is free");
                assert_eq!(probe.success(), Recorded::Counted);
                first
            })
        };
        let late = late.join().unwrap();
        let first = cycle.join().unwrap();
        // Both may count (each installed into the episode's window before
        // the trip), but only one can trip.
        assert!(
            [late, first].contains(&Recorded::Counted),
            "{late:?} {first:?}"
        );
        assert_eq!(b.snapshot().trips, 1);
        let s = b.snapshot();
        assert_eq!(
            s.state,
            State::Closed,
            "a stale failure tripped the new episode"
        );
        assert_eq!(
            (s.window.calls, s.window.failures, s.consecutive_failures),
            (0, 0, 0)
        );
        assert_eq!(s.epoch, 3);
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}
