//! DESIGN §4 and §5: open deadlines, backoff, half-open probes.
#![cfg(not(fusebox_loom))]

use core::time::Duration;
use fusebox_core::{
    Abandon, Backoff, Breaker, Config, ConfigBuilder, ManualClock, NoWindow, Ratio, Recorded, State,
};

fn breaker(clock: &ManualClock, b: ConfigBuilder) -> Breaker<&ManualClock, NoWindow> {
    Breaker::try_new(clock, b.consecutive_failures(1).build().unwrap()).unwrap()
}

fn trip(b: &Breaker<&ManualClock, NoWindow>) {
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn open_rejects_with_the_time_left() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder().open_for(Duration::from_millis(500)),
    );
    trip(&b);
    clock.advance(200);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.state, State::Open);
    assert_eq!(r.retry_after, Some(Duration::from_millis(300)));
}

#[test]
fn the_deadline_is_reached_to_the_tick() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder().open_for(Duration::from_millis(500)),
    );
    trip(&b);
    clock.advance(499);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(1))
    );
    assert!(!b.snapshot().probe_eligible);
    clock.advance(1);
    assert!(b.snapshot().probe_eligible);
    assert_eq!(b.snapshot().state, State::Open, "a snapshot never writes");
    let probe = b.try_acquire().expect("due: the first call is a probe");
    assert_eq!(probe.state(), State::HalfOpen);
    assert_eq!(b.snapshot().half_open_admitted, 1);
    drop(probe);
}

#[test]
fn state_performs_the_due_move_to_half_open() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder().open_for(Duration::from_millis(10)),
    );
    trip(&b);
    let epoch = b.snapshot().epoch;
    clock.advance(10);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().epoch, epoch + 1);
    assert_eq!(b.snapshot().half_open_admitted, 0);
}

#[test]
fn half_open_admits_at_most_its_permits_and_rejects_without_retry_after() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(10))
            .half_open_permits(2)
            .success_threshold(2),
    );
    trip(&b);
    clock.advance(10);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    let r = b.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::HalfOpen, None));
    assert_eq!(p1.success(), Recorded::Counted);
    assert_eq!(b.state(), State::HalfOpen, "one success of two");
    assert!(
        b.try_acquire().is_err(),
        "a used slot is not given back by a success"
    );
    assert_eq!(p2.success(), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().backoff_level, 0);
}

#[test]
fn ignored_and_dropped_probes_give_their_slot_back() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder().open_for(Duration::from_millis(10)),
    );
    trip(&b);
    clock.advance(10);
    let p = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    assert_eq!(p.ignore(), Recorded::Counted);
    let p = b.try_acquire().expect("slot given back by ignore");
    drop(p);
    let p = b.try_acquire().expect("slot given back by drop");
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a dropped probe never counts as a success"
    );
    assert_eq!(p.success(), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_dropped_probe_counts_as_failure_when_configured() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(10))
            .on_abandon(Abandon::Failure),
    );
    trip(&b);
    clock.advance(10);
    drop(b.try_acquire().unwrap());
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().backoff_level, 1);
}

#[test]
fn a_failed_probe_reopens_with_the_next_backoff_level() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(100))
            .backoff(Backoff::Exponential {
                base: None,
                multiplier: Ratio::from_basis_points(20_000),
                max: Duration::from_millis(350),
            }),
    );
    trip(&b);
    let mut expected = [200u64, 350, 350].into_iter();
    clock.advance(100);
    for _ in 0..3 {
        assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
        let want = expected.next().unwrap();
        assert_eq!(
            b.try_acquire().unwrap_err().retry_after,
            Some(Duration::from_millis(want))
        );
        clock.advance(want);
    }
    // A success closes and resets the level: the next trip opens for 100 ms.
    assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
    trip(&b);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(100))
    );
}

#[test]
fn linear_backoff_grows_by_steps() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(100))
            .backoff(Backoff::Linear {
                base: None,
                step: Duration::from_millis(50),
                max: Duration::from_secs(1),
            }),
    );
    trip(&b);
    clock.advance(100);
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    assert_eq!(
        b.try_acquire().unwrap_err().retry_after,
        Some(Duration::from_millis(150))
    );
}

#[test]
fn jitter_is_deterministic_per_seed_and_epoch() {
    let run = |seed: u32| {
        let clock = ManualClock::new();
        let b = breaker(
            &clock,
            Config::builder()
                .open_for(Duration::from_secs(10))
                .jitter(Ratio::percent(20))
                .jitter_seed(seed),
        );
        trip(&b);
        b.try_acquire().unwrap_err().retry_after.unwrap()
    };
    assert_eq!(run(1), run(1));
    let d = run(1);
    assert!(
        d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
        "{d:?}"
    );
    let expected = fusebox_core::backoff::jitter_factor_bp(1, 1, Ratio::percent(20)) as u64;
    assert_eq!(d, Duration::from_millis(10_000 * expected / 10_000));
}

#[test]
fn a_slow_probe_reopens_when_slow_detection_is_on() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(10))
            .slow_call_duration(Duration::from_millis(50)),
    );
    trip(&b);
    clock.advance(10);
    let p = b.try_acquire().unwrap();
    clock.advance(50);
    assert_eq!(p.success(), Recorded::Counted);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().backoff_level, 1);
}

#[test]
fn an_undecided_half_open_episode_reopens_after_max_wait() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(10))
            .max_half_open_wait(Duration::from_millis(40)),
    );
    trip(&b);
    clock.advance(10);
    let stuck = b.try_acquire().unwrap();
    clock.advance(39);
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(1);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().backoff_level, 1);
    assert_eq!(
        stuck.success(),
        Recorded::Stale,
        "the probe's episode is over"
    );
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_stale_probe_after_the_episode_ended_changes_nothing() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder()
            .open_for(Duration::from_millis(10))
            .half_open_permits(2),
    );
    trip(&b);
    clock.advance(10);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    assert_eq!(p1.success(), Recorded::Counted);
    assert_eq!(b.state(), State::Closed);
    let before = b.snapshot();
    assert_eq!(p2.failure(), Recorded::Stale);
    assert_eq!(b.snapshot(), before);
}

#[test]
fn epochs_bump_once_per_transition() {
    let clock = ManualClock::new();
    let b = breaker(
        &clock,
        Config::builder().open_for(Duration::from_millis(10)),
    );
    assert_eq!(b.snapshot().epoch, 0);
    trip(&b);
    assert_eq!(b.snapshot().epoch, 1);
    clock.advance(10);
    let p = b.try_acquire().unwrap();
    assert_eq!((p.epoch(), b.snapshot().epoch), (2, 2));
    let _ = p.success();
    assert_eq!(b.snapshot().epoch, 3);
    assert_eq!(b.snapshot().last_transition_at, 10);
}
