//! Issue 12: an open period must always be its own, after many transitions
//! and under preemption (DESIGN.md §13, "The deadline is published with its
//! epoch"). Public API only; runs on both layouts (`--cfg fusebox_narrow`
//! forces the 32-bit one, whose timer tag is 8 bits instead of 16).
#![cfg(not(fusebox_loom))]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use fusebox_core::{
    Breaker, Clock, Config, ManualClock, NoWindow, Observer, Recorded, State, Transition,
};

const NARROW: bool = cfg!(fusebox_narrow) || cfg!(not(target_has_atomic = "64"));
/// How many epochs the timer word's tag tells apart.
const TAG_RANGE: u64 = if NARROW { 1 << 8 } else { 1 << 16 };

fn config(open_ms: u64) -> Config {
    Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(open_ms))
        .build()
        .unwrap()
}

/// Asserts that `b` is open until exactly `deadline` and rejects until then.
fn assert_open_until(b: &Breaker<ManualClock<1000>>, deadline: u64, what: &str) {
    let now = b.clock().now();
    let s = b.snapshot();
    assert_eq!(s.state, State::Open, "{what}: {s:?}");
    assert_eq!(s.open_until, Some(deadline), "{what}: {s:?}");
    assert!(!s.probe_eligible, "{what}: {s:?}");
    let r = b.try_acquire().map(|p| p.state()).unwrap_err();
    assert_eq!(r.state, State::Open, "{what}");
    assert_eq!(
        r.retry_after,
        Some(Duration::from_millis(deadline - now)),
        "{what}"
    );
}

/// Reproducer 1 of issue 12: the epoch moves on by exactly the tag range
/// between two trips without any deadline being published in between
/// (operator resets), so the second open episode found the first one's
/// passed deadline tagged like its own and half-opened at once.
#[test]
fn an_open_episode_never_takes_a_deadline_from_an_epoch_a_tag_range_ago() {
    let b: Breaker<ManualClock<1000>> = Breaker::new(ManualClock::new(), config(10_000));
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    assert_eq!(b.snapshot().epoch, 1);
    assert_open_until(&b, 10_000, "first trip");
    b.clock().advance(20_000);
    // Bring the epoch to one below a multiple of the tag range: the next
    // trip's epoch then has the same low bits as the first trip's.
    while !b.snapshot().epoch.is_multiple_of(TAG_RANGE) {
        b.reset();
    }
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    assert_eq!(b.snapshot().epoch, TAG_RANGE + 1);
    assert_open_until(&b, 30_000, "second trip, a tag range later");
    b.clock().advance(9_999);
    assert_open_until(&b, 30_000, "one tick before the deadline");
    b.clock().advance(1);
    assert_eq!(b.try_acquire().unwrap().state(), State::HalfOpen);
}

/// The same through every way of moving the epoch without a deadline: mode
/// changes, resets, closes from half-open. Each trip lands exactly one tag
/// range after the previous one, several ranges in a row.
#[test]
fn every_open_episode_keeps_its_own_deadline_across_several_tag_ranges() {
    let b: Breaker<ManualClock<1000>> = Breaker::new(ManualClock::new(), config(100));
    let mut trip = 0;
    let mut i = 0u64;
    for _ in 0..4 {
        let target = trip + TAG_RANGE;
        while b.snapshot().epoch + 3 < target {
            match i % 5 {
                0 => b.reset(),
                1 => b.force_open(),
                2 => b.metrics_only(),
                3 => b.disable(),
                _ => {
                    b.transition_to_half_open();
                    let _ = b.try_acquire().unwrap().success(); // closes
                }
            }
            i += 1;
        }
        while b.snapshot().epoch + 1 < target {
            b.reset();
        }
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        trip = b.snapshot().epoch;
        assert_eq!(trip, target);
        let now = b.clock().now();
        assert_open_until(&b, now + 100, "a trip one tag range after the last");
        b.clock().advance(150); // leaves a passed deadline behind
    }
}

/// A clock whose next reading first runs a hook: the hook stands for an
/// interrupt that preempts the caller at that point.
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
        let hook = self.hook.lock().unwrap().take();
        if let Some(h) = hook {
            h();
        }
        self.ticks.load(Ordering::SeqCst)
    }
}

/// The transitions, with the deadline each one reports.
#[derive(Default)]
struct Log(Mutex<Vec<(u64, State, Option<u64>)>>);

impl Observer for Log {
    fn on_transition(&self, t: &Transition) {
        self.0.lock().unwrap().push((t.epoch, t.to, t.open_until));
    }
}

type Hooked = Breaker<&'static HookClock, NoWindow, Log>;

/// Reproducer 2 of issue 12: the opener is preempted between its state CAS
/// and its first clock reading (where it computes and publishes the
/// deadline); an "interrupt" publishes epoch 1's deadline itself, waits it
/// out, probes, closes and trips again (epoch 4). The opener's late
/// follow-up must leave epoch 4's deadline alone.
#[test]
fn a_preempted_opener_never_overwrites_a_newer_episodes_deadline() {
    let clock: &'static HookClock = Box::leak(Box::new(HookClock {
        ticks: AtomicU64::new(0),
        hook: Mutex::new(None),
    }));
    let b: &'static Hooked = Box::leak(Box::new(
        Breaker::with_observer(clock, config(10), Log::default()).unwrap(),
    ));
    let opener = b.try_acquire().unwrap();
    *clock.hook.lock().unwrap() = Some(Box::new(move || {
        // The breaker is Open (epoch 1) with no deadline published yet.
        let r = b.try_acquire().map(|p| p.state()).unwrap_err();
        assert_eq!(r.retry_after, Some(Duration::from_millis(10)));
        clock.set(10);
        let probe = b.try_acquire().unwrap();
        assert_eq!(probe.state(), State::HalfOpen);
        assert_eq!(probe.success(), Recorded::Counted); // epoch 3: Closed
        clock.set(20);
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        assert_eq!(b.snapshot().open_until, Some(30), "epoch 4's deadline");
    }));
    assert_eq!(opener.failure(), Recorded::Counted);
    let s = b.snapshot();
    assert_eq!((s.state, s.epoch), (State::Open, 4));
    assert_eq!(s.open_until, Some(30), "epoch 4 lost its deadline: {s:?}");
    let events = b.observer().0.lock().unwrap().clone();
    let first = events.iter().find(|e| e.0 == 1).unwrap();
    assert!(
        matches!(first.2, None | Some(10)),
        "epoch 1's event reports another episode's deadline: {events:?}"
    );
    clock.set(29);
    let r = b.try_acquire().map(|p| p.state()).unwrap_err();
    assert_eq!(
        (r.state, r.retry_after),
        (State::Open, Some(Duration::from_millis(1)))
    );
    clock.set(30);
    let probe = b.try_acquire().map(|p| (p.state(), p.epoch()));
    assert_eq!(
        probe.map_err(|r| (r.state, r.retry_after)),
        Ok((State::HalfOpen, 5)),
        "epoch 4's open period ends at its own deadline"
    );
}
