//! Issue 12, DESIGN.md §13 ("The deadline is published with its epoch"): an
//! opener preempted between its state CAS and publishing its deadline, while
//! an interrupt runs a whole episode (publishes the first episode's deadline
//! itself, waits it out, probes, closes, trips again), must not leave the
//! newer episode without its own deadline when it resumes. The interrupt is
//! a clock hook: it runs inside the opener's first clock reading after its
//! CAS, exactly where a real interrupt would land; a second thread reads
//! the breaker (`state()`, `snapshot()`) at every point loom chooses.
#![cfg(fusebox_loom)]

mod common;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use common::{model, thread, Log};
use fusebox_core::{Breaker, Clock, Config, NoWindow, Recorded, State};
use loom::sync::atomic::{AtomicU64, Ordering};

/// Open for 2 ticks of a 1 kHz clock.
const OPEN_FOR: u64 = 2;

/// A manual clock whose next reading first runs a hook (the "interrupt").
struct HookClock {
    ticks: AtomicU64,
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl HookClock {
    fn set(&self, t: u64) {
        self.ticks.store(t, Ordering::SeqCst);
    }
}

impl Clock for HookClock {
    const TICKS_PER_SECOND: u64 = 1_000;
    fn now(&self) -> u64 {
        // Taken out of the lock before it runs: the lock holds no loom operation.
        let hook = self.hook.lock().unwrap().take();
        if let Some(h) = hook {
            h();
        }
        self.ticks.load(Ordering::SeqCst)
    }
}

type Hooked = Breaker<HookClock, NoWindow, Log>;

fn breaker() -> Arc<Hooked> {
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(OPEN_FOR))
        .half_open_permits(1)
        .build()
        .unwrap();
    let clock = HookClock {
        ticks: AtomicU64::new(0),
        hook: Mutex::new(None),
    };
    Arc::new(Breaker::with_observer(clock, config, Log::default()).unwrap())
}

/// The interrupt: the breaker is Open in epoch 1 and its opener has not
/// published; publish it (deadline 2), wait it out, probe, close (epoch 3),
/// trip again at tick 3 (epoch 4, deadline 5).
fn interrupt(b: Weak<Hooked>) -> Box<dyn FnOnce() + Send> {
    Box::new(move || {
        let b = b.upgrade().unwrap();
        let r = b.try_acquire().map(|p| p.state()).unwrap_err();
        assert_eq!(
            (r.state, r.retry_after),
            (State::Open, Some(Duration::from_millis(OPEN_FOR)))
        );
        b.clock().set(OPEN_FOR);
        let probe = b.try_acquire().expect("epoch 1's deadline has passed");
        assert_eq!(probe.state(), State::HalfOpen);
        assert_eq!(probe.success(), Recorded::Counted);
        b.clock().set(OPEN_FOR + 1);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        let s = b.snapshot();
        assert_eq!((s.state, s.epoch, s.open_until), (State::Open, 4, Some(5)));
    })
}

/// The deadline each open episode must keep: 2 for epoch 1, 5 for epoch 4.
fn expected_deadline(epoch: u64) -> u64 {
    match epoch {
        1 => OPEN_FOR,
        4 => OPEN_FOR + 1 + OPEN_FOR,
        e => panic!("no open episode {e}"),
    }
}

#[test]
fn a_preempted_opener_leaves_a_newer_episodes_deadline_alone() {
    model(|| {
        let b = breaker();
        let p = Breaker::try_acquire_owned(b.clone()).unwrap();
        *b.clock().hook.lock().unwrap() = Some(interrupt(Arc::downgrade(&b)));
        let opener = thread::spawn(move || p.failure());
        let reader = {
            let b = b.clone();
            thread::spawn(move || {
                let state = b.state();
                let s = b.snapshot();
                if s.state == State::Open {
                    let d = expected_deadline(s.epoch);
                    assert!(
                        s.open_until.is_none_or(|u| u == d),
                        "epoch {} open until {:?}, its deadline is {d}",
                        s.epoch,
                        s.open_until
                    );
                    assert!(
                        !s.probe_eligible || b.clock().now() >= d,
                        "probe eligible before the deadline: {s:?}"
                    );
                }
                state
            })
        };
        assert_eq!(opener.join().unwrap(), Recorded::Counted);
        let _ = reader.join().unwrap();
        let s = b.snapshot();
        assert_eq!((s.state, s.epoch), (State::Open, 4), "{s:?}");
        assert_eq!(s.open_until, Some(5), "epoch 4 lost its deadline: {s:?}");
        let events = b.observer().events();
        let first = events.iter().find(|e| e.epoch == 1).unwrap();
        assert!(
            matches!(first.open_until, None | Some(OPEN_FOR)),
            "epoch 1's event reports another episode's deadline: {events:?}"
        );
        for e in &events {
            if e.to == State::HalfOpen {
                assert_eq!(e.epoch, 2, "half-opened out of epoch 4 early: {events:?}");
            }
        }
        b.clock().set(4);
        let r = b.try_acquire().map(|p| p.state()).unwrap_err();
        assert_eq!(
            (r.state, r.retry_after),
            (State::Open, Some(Duration::from_millis(1)))
        );
        b.clock().set(5);
        let probe = b.try_acquire().map(|p| (p.state(), p.epoch()));
        assert_eq!(probe.ok(), Some((State::HalfOpen, 5)));
    });
}
