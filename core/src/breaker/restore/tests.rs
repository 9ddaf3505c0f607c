use crate::{
    AdoptOutcome, Backoff, Breaker, Config, CountWindow, Exported, ManualClock, NoWindow, Ratio,
    RestoreError, State, TransitionReason, EXPORT_VERSION,
};
use core::sync::atomic::{AtomicU32, Ordering as StdOrdering};
use core::time::Duration;

fn config(failures: u32) -> Config {
    Config::builder()
        .consecutive_failures(failures)
        .open_for(Duration::from_secs(30))
        .backoff(Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_secs(300),
        })
        .build()
        .unwrap()
}

fn trip(b: &Breaker<&ManualClock, NoWindow>, n: u32) {
    for _ in 0..n {
        let _ = b.try_acquire().unwrap().failure();
    }
}

#[test]
fn an_open_breaker_resumes_for_what_was_left_on_another_clock() {
    let c1 = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c1, config(2));
    trip(&a, 2);
    c1.advance(12_000);
    let e = a.export();
    assert_eq!(e.state, State::Open);
    assert_eq!(e.open_remaining, Some(Duration::from_secs(18)));
    let c2 = ManualClock::<1000>::new();
    c2.set(1_000_000);
    let b: Breaker<_, NoWindow> = Breaker::new(&c2, config(2));
    let r = b.restore(&e).unwrap();
    assert_eq!(r.state, State::Open);
    assert_eq!(r.open_for, Some(Duration::from_secs(18)));
    assert!(r.fingerprint_matched && !r.clamped);
    c2.advance(17_999);
    assert_eq!(b.try_acquire().unwrap_err().state, State::Open);
    c2.advance(1);
    assert!(b.try_acquire().is_ok(), "the first probe");
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn restore_keeps_the_backoff_level_and_half_open_restores_as_due_open() {
    let c1 = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c1, config(1));
    trip(&a, 1);
    c1.advance(30_000);
    let probe = a.try_acquire().unwrap(); // half-open, k 0
    let e = a.export();
    drop(probe);
    assert_eq!((e.state, e.backoff_level), (State::HalfOpen, 0));
    let c2 = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&c2, config(1));
    let r = b.restore(&e).unwrap();
    assert!(r.half_open_as_open);
    assert_eq!((r.state, r.open_for), (State::Open, Some(Duration::ZERO)));
    // Zero remaining: the next call probes; its failure re-opens with k + 1 (60 s).
    let p = b.try_acquire().unwrap();
    let _ = p.failure();
    let s = b.snapshot();
    assert_eq!((s.state, s.backoff_level), (State::Open, 1));
    assert_eq!(s.open_until, Some(60_000));
    // An exported open at level 1 restores at level 1.
    let r = a.restore(&b.export()).unwrap();
    assert_eq!(
        (r.backoff_level, r.open_for),
        (1, Some(Duration::from_secs(60)))
    );
}

#[test]
fn the_remaining_time_is_cut_to_this_breakers_longest_open_period() {
    let c = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&c, config(1));
    let e = Exported {
        open_remaining: Some(Duration::from_secs(100_000)),
        state: State::Open,
        mode: crate::Mode::Automatic,
        ..b.export()
    };
    let r = b.restore(&e).unwrap();
    assert!(r.clamped);
    // The longest open period: max_trip_hint's default, 10 minutes.
    assert_eq!(r.open_for, Some(Duration::from_secs(600)));
    assert_eq!(b.snapshot().open_until, Some(600_000));
}

#[test]
fn restore_is_a_new_epoch_so_earlier_permits_are_stale() {
    let c = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&c, config(3));
    let before = b.try_acquire().unwrap();
    let e = b.export();
    let r = b.restore(&e).unwrap();
    assert_eq!(r.epoch, 1);
    assert_eq!(before.failure(), crate::Recorded::Stale);
    assert_eq!(b.snapshot().consecutive_failures, 0);
}

#[test]
fn the_run_crosses_under_the_same_fingerprint_only() {
    let c = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c, config(3));
    trip(&a, 2);
    let e = a.export();
    assert_eq!((e.state, e.consecutive_failures), (State::Closed, 2));
    let same: Breaker<_, NoWindow> = Breaker::new(&c, config(3));
    let r = same.restore(&e).unwrap();
    assert_eq!(
        (r.consecutive_failures, r.dropped.consecutive_failures),
        (2, 0)
    );
    trip(&same, 1);
    assert_eq!(same.state(), State::Open, "2 carried + 1 = the threshold");
    let other: Breaker<_, NoWindow> = Breaker::new(&c, config(4));
    assert_ne!(other.fingerprint(), a.fingerprint());
    let r = other.restore(&e).unwrap();
    assert!(!r.fingerprint_matched);
    assert_eq!(
        (r.consecutive_failures, r.dropped.consecutive_failures),
        (0, 2)
    );
    assert_eq!(other.snapshot().consecutive_failures, 0);
}

#[test]
fn a_different_fingerprint_keeps_state_level_and_remaining_time() {
    let c = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c, config(1));
    trip(&a, 1);
    c.advance(10_000);
    let e = a.export();
    let other: Breaker<_, NoWindow> = Breaker::new(&c, config(7));
    let r = other.restore(&e).unwrap();
    assert!(!r.fingerprint_matched);
    assert_eq!(
        (r.state, r.open_for),
        (State::Open, Some(Duration::from_secs(20)))
    );
}

#[test]
fn window_counts_are_reported_dropped_and_the_window_starts_empty() {
    let c = ManualClock::<1000>::new();
    let cfg = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(4)
        .build()
        .unwrap();
    let a: Breaker<_, CountWindow<8>> = Breaker::new(&c, cfg);
    let _ = a.try_acquire().unwrap().failure();
    let _ = a.try_acquire().unwrap().success();
    let e = a.export();
    assert_eq!((e.window.calls, e.window.failures), (2, 1));
    let b: Breaker<_, CountWindow<8>> = Breaker::new(&c, cfg);
    let r = b.restore(&e).unwrap();
    assert_eq!(r.dropped.window, e.window);
    assert_eq!(b.snapshot().window.calls, 0);
}

#[test]
fn operator_modes_cross_and_bad_values_are_refused() {
    let c = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c, config(1));
    a.force_open();
    let b: Breaker<_, NoWindow> = Breaker::new(&c, config(1));
    assert_eq!(b.restore(&a.export()).unwrap().state, State::ForcedOpen);
    assert!(b.try_acquire().is_err());
    let mut e = a.export();
    e.version = EXPORT_VERSION + 1;
    assert_eq!(
        b.restore(&e),
        Err(RestoreError::UnknownVersion(EXPORT_VERSION + 1))
    );
    let mut e = a.export();
    e.mode = crate::Mode::Automatic;
    assert!(matches!(
        b.restore(&e),
        Err(RestoreError::Inconsistent { .. })
    ));
    assert_eq!(b.snapshot().epoch, 1, "a refused value changes nothing");
}

#[test]
fn export_never_writes_even_when_the_deadline_has_passed() {
    let c = ManualClock::<1000>::new();
    let a: Breaker<_, NoWindow> = Breaker::new(&c, config(1));
    trip(&a, 1);
    c.advance(31_000);
    let epoch = a.snapshot().epoch;
    let e = a.export();
    assert_eq!(e.open_remaining, Some(Duration::ZERO));
    assert_eq!(a.snapshot().epoch, epoch);
    assert_eq!(a.snapshot().state, State::Open);
}

#[derive(Default)]
struct Reasons(AtomicU32);
impl crate::Observer for Reasons {
    fn on_transition(&self, t: &crate::Transition) {
        if matches!(
            t.reason,
            TransitionReason::Adopted | TransitionReason::Restored
        ) {
            self.0.fetch_add(1, StdOrdering::Relaxed);
        }
    }
}

#[test]
fn adopting_opens_extends_and_never_shortens() {
    let c = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow, Reasons> =
        Breaker::with_observer(&c, config(5), Reasons::default()).unwrap();
    let _held = b.try_acquire().unwrap();
    match b.adopt_open(Duration::from_secs(12)) {
        AdoptOutcome::Opened { open_for, epoch } => {
            assert_eq!((open_for, epoch), (Duration::from_secs(12), 1))
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(b.snapshot().open_until, Some(12_000));
    assert!(matches!(
        b.adopt_open(Duration::from_secs(12)),
        AdoptOutcome::AlreadyLonger { remaining } if remaining == Duration::from_secs(12)
    ));
    c.advance(2_000);
    match b.adopt_open(Duration::from_secs(20)) {
        AdoptOutcome::Extended { open_for, epoch } => {
            assert_eq!((open_for, epoch), (Duration::from_secs(20), 2))
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(b.snapshot().open_until, Some(22_000));
    assert_eq!(b.snapshot().backoff_level, 0);
    assert_eq!(b.observer().0.load(StdOrdering::Relaxed), 2);
    // Half-open probing stays local.
    c.advance(20_000);
    let _probe = b.try_acquire().unwrap();
    assert!(matches!(
        b.adopt_open(Duration::from_secs(60)),
        AdoptOutcome::Ignored {
            state: State::HalfOpen
        }
    ));
}

#[test]
fn operator_modes_and_zero_durations_ignore_adoption() {
    let c = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&c, config(5));
    assert!(matches!(
        b.adopt_open(Duration::ZERO),
        AdoptOutcome::Ignored {
            state: State::Closed
        }
    ));
    for (op, state) in [
        (Breaker::force_open as fn(&Breaker<_, _>), State::ForcedOpen),
        (Breaker::metrics_only, State::MetricsOnly),
        (Breaker::disable, State::Disabled),
    ] {
        op(&b);
        let epoch = b.snapshot().epoch;
        assert_eq!(
            b.adopt_open(Duration::from_secs(9)),
            AdoptOutcome::Ignored { state }
        );
        assert_eq!(b.snapshot().epoch, epoch);
    }
}

#[test]
fn adoption_is_cut_to_the_longest_open_period() {
    let c = ManualClock::<1000>::new();
    let b: Breaker<_, NoWindow> = Breaker::new(&c, config(5));
    assert!(matches!(
        b.adopt_open(Duration::from_secs(86_400)),
        AdoptOutcome::Opened { open_for, .. } if open_for == Duration::from_secs(600)
    ));
}
