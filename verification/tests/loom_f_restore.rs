//! DESIGN.md §14 (issue 16): `restore` is one operator transition with a new
//! epoch, racing records and the open → half-open move; `adopt_open` racing
//! a trip never shortens the open period in force.
//!
//! What each model checks, in every interleaving loom explores:
//! - a restore always ends in the restored state, with the restored deadline
//!   in force (not one that a concurrent reader published from the backoff);
//! - a permit granted before the restore counts only if its record landed
//!   before the restore (then the restore is the later transition);
//! - one state per epoch (invariant (b)).
#![cfg(fusebox_loom)]

mod common;

use std::time::Duration;

use common::{assert_one_state_per_epoch, breaker, model, thread, Logged};
use fusebox_core::{
    AdoptOutcome, Breaker, Config, Exported, Mode, NoWindow, Recorded, State, TransitionReason,
    WindowCounts, EXPORT_VERSION,
};

fn config() -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(10))
        .half_open_permits(1)
        .build()
        .unwrap()
}

/// An `Open` export with `left_ms` remaining, under `b`'s fingerprint.
fn open_for(b: &Logged<NoWindow>, left_ms: u64) -> Exported {
    Exported {
        version: EXPORT_VERSION,
        state: State::Open,
        mode: Mode::Automatic,
        backoff_level: 1,
        open_remaining: Some(Duration::from_millis(left_ms)),
        consecutive_failures: 0,
        window: WindowCounts::default(),
        fingerprint: b.fingerprint(),
    }
}

#[test]
fn a_restore_racing_a_tripping_record_wins_and_the_record_counts_only_before_it() {
    model(|| {
        let b = breaker::<NoWindow>(config(), 100);
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        let recorder = thread::spawn(move || p.failure());
        let restorer = {
            let b = b.clone();
            let value = open_for(&b, 3);
            thread::spawn(move || b.restore(&value).unwrap())
        };
        let recorded = recorder.join().unwrap();
        let report = restorer.join().unwrap();
        assert_eq!(report.open_for, Some(Duration::from_millis(3)));
        let s = b.snapshot();
        assert_eq!(s.state, State::Open);
        assert_eq!(s.backoff_level, 1);
        assert_eq!(s.open_until, Some(103), "the restored deadline is in force");
        let events = b.observer().events();
        let last = events.last().unwrap();
        assert_eq!(last.reason, TransitionReason::Restored, "{events:?}");
        assert_eq!(last.open_until, Some(103), "{events:?}");
        match recorded {
            // Counted: its trip is the first transition, the restore the second.
            Recorded::Counted => assert_eq!(events.len(), 2, "{events:?}"),
            Recorded::Stale => assert_eq!(events.len(), 1, "{events:?}"),
            Recorded::Discarded => panic!("never granted in Disabled"),
        }
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}

#[test]
fn a_restore_racing_the_open_to_half_open_move_keeps_its_deadline() {
    model(|| {
        let b = breaker::<NoWindow>(config(), 100);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        b.clock().set(110); // the deadline: the next call half-opens
        let prober = {
            let b = b.clone();
            thread::spawn(move || match Breaker::try_acquire_owned(b) {
                Ok(p) => Ok((p.state(), p.success())),
                Err(r) => Err((r.state, r.retry_after)),
            })
        };
        let restorer = {
            let b = b.clone();
            let value = open_for(&b, 4);
            thread::spawn(move || b.restore(&value).unwrap())
        };
        let probe = prober.join().unwrap();
        let report = restorer.join().unwrap();
        assert_eq!(report.state, State::Open);
        let s = b.snapshot();
        assert_eq!(
            (s.state, s.open_until),
            (State::Open, Some(114)),
            "{:?}",
            b.observer().events()
        );
        match probe {
            // Half-opened first; the probe's success lands before the
            // restore (it closed the breaker) or after it (stale).
            Ok((state, _)) => assert_eq!(state, State::HalfOpen),
            // The restore came first: its deadline is the one in force (the
            // snapshot above). A caller that read the restored state before
            // the restorer published its deadline published, and was told,
            // the backoff period of level 1 from its own clock (10 ms); the
            // restorer then replaced that word with its own.
            Err((state, retry_after)) => {
                assert_eq!(state, State::Open);
                assert!(
                    [
                        Some(Duration::from_millis(4)),
                        Some(Duration::from_millis(10))
                    ]
                    .contains(&retry_after),
                    "{retry_after:?}"
                );
            }
        }
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}

#[test]
fn an_adopted_open_racing_a_trip_never_shortens_the_period_in_force() {
    model(|| {
        let b = breaker::<NoWindow>(config(), 100);
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        let tripper = thread::spawn(move || p.failure());
        let adopter = {
            let b = b.clone();
            thread::spawn(move || b.adopt_open(Duration::from_millis(5)))
        };
        let recorded = tripper.join().unwrap();
        let adopted = adopter.join().unwrap();
        let s = b.snapshot();
        assert_eq!(s.state, State::Open);
        match adopted {
            // Adopted first: the failure's permit is stale; 5 ms in force.
            AdoptOutcome::Opened { open_for, .. } => {
                assert_eq!(open_for, Duration::from_millis(5));
                assert_eq!(recorded, Recorded::Stale);
                assert_eq!(s.open_until, Some(105));
            }
            // Tripped first: its 10 ms stand.
            AdoptOutcome::AlreadyLonger { remaining } => {
                assert_eq!(recorded, Recorded::Counted);
                assert_eq!(remaining, Duration::from_millis(10));
                assert_eq!(s.open_until, Some(110));
            }
            o => panic!("{o:?}"),
        }
        assert_one_state_per_epoch(&b, 0, State::Closed);
    });
}
