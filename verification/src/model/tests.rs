//! The model's own rules, checked by hand-worked examples.

use super::*;

fn closed_with(f: impl FnOnce(&mut Config)) -> Model {
    let mut cfg = Config::new(100);
    f(&mut cfg);
    Model::new(cfg)
}

fn call(m: &mut Model, outcome: Outcome) -> Recorded {
    let p = m.try_acquire().expect("permitted");
    m.record(p, outcome, Some(0))
}

#[test]
fn consecutive_failures_trip_at_threshold_and_success_resets_the_run() {
    let mut m = closed_with(|c| c.consecutive_failures = Some(3));
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Success);
    assert_eq!(m.snapshot().consecutive_failures, 0);
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Failure);
    assert_eq!(m.state(), State::Closed);
    call(&mut m, Outcome::Failure);
    assert_eq!(m.state(), State::Open);
    let s = m.snapshot();
    assert_eq!((s.epoch, s.trips, s.open_until), (1, 1, Some(100)));
    assert_eq!(m.transitions()[0].reason, Reason::ConsecutiveFailures);
}

#[test]
fn ignored_outcome_neither_resets_the_run_nor_enters_the_window() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(2);
        c.window = WindowKind::Count { size: 4 };
    });
    call(&mut m, Outcome::Failure);
    assert_eq!(call(&mut m, Outcome::Ignored), Recorded::Counted);
    let s = m.snapshot();
    assert_eq!((s.consecutive_failures, s.window.calls), (1, 1));
    call(&mut m, Outcome::Failure);
    assert_eq!(m.state(), State::Open);
}

#[test]
fn a_success_reaching_minimum_calls_does_not_trip_the_next_failure_does() {
    let mut m = closed_with(|c| {
        c.failure_rate_bp = Some(5_000);
        c.minimum_calls = 4;
        c.window = WindowKind::Count { size: 10 };
    });
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Success); // 3/4 failed, but a success never trips
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.failure_rate_bp(), Some(7_500));
    call(&mut m, Outcome::Failure);
    assert_eq!(m.state(), State::Open);
    assert_eq!(m.transitions()[0].reason, Reason::FailureRate);
}

#[test]
fn failure_rate_compares_in_basis_points_at_exact_equality() {
    let mut m = closed_with(|c| {
        c.failure_rate_bp = Some(3_333);
        c.minimum_calls = 3;
        c.window = WindowKind::Count { size: 3 };
    });
    call(&mut m, Outcome::Success);
    call(&mut m, Outcome::Success);
    call(&mut m, Outcome::Failure); // 1 * 10_000 >= 3_333 * 3
    assert_eq!(m.state(), State::Open);
}

#[test]
fn a_slow_success_is_judged_and_can_trip_the_slow_call_rate() {
    let mut m = closed_with(|c| {
        c.slow_call_rate_bp = Some(10_000);
        c.slow_call_duration = Some(50);
        c.minimum_calls = 2;
        c.window = WindowKind::Count { size: 2 };
    });
    let p = m.try_acquire().unwrap();
    m.record(p, Outcome::Success, Some(50));
    assert_eq!(m.snapshot().window.slow, 1);
    let p = m.try_acquire().unwrap();
    m.record(p, Outcome::Success, Some(49));
    assert_eq!(m.snapshot().window.slow, 1);
    let p = m.try_acquire().unwrap();
    m.record(p, Outcome::Success, Some(60));
    assert_eq!(m.state(), State::Closed, "window holds one fast call");
    let p = m.try_acquire().unwrap();
    m.record(p, Outcome::Success, Some(60));
    assert_eq!(m.state(), State::Open);
    assert_eq!(m.transitions()[0].reason, Reason::SlowCallRate);
}

#[test]
fn count_window_keeps_only_the_last_n_outcomes() {
    let mut m = closed_with(|c| c.window = WindowKind::Count { size: 1 });
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Success);
    assert_eq!(
        m.snapshot().window,
        Counts {
            calls: 1,
            failures: 0,
            slow: 0
        }
    );
}

#[test]
fn time_window_expires_bucket_by_bucket() {
    let mut m = closed_with(|c| {
        c.window = WindowKind::Time {
            buckets: 4,
            span: 40,
        }
    });
    call(&mut m, Outcome::Failure); // slot 0
    m.advance(15);
    call(&mut m, Outcome::Failure); // slot 1
    m.advance(24); // t = 39, slot 3: both still in
    assert_eq!(m.snapshot().window.calls, 2);
    m.advance(1); // t = 40, slot 4: slot 0 gone
    assert_eq!(m.snapshot().window.calls, 1);
    m.advance(1_000);
    assert_eq!(m.snapshot().window.calls, 0);
}

#[test]
fn time_window_of_one_bucket_holds_the_current_slot_only() {
    let mut m = closed_with(|c| {
        c.window = WindowKind::Time {
            buckets: 1,
            span: 10,
        }
    });
    m.advance(9);
    call(&mut m, Outcome::Failure);
    assert_eq!(m.snapshot().window.calls, 1);
    m.advance(1);
    assert_eq!(m.snapshot().window.calls, 0);
}

#[test]
fn open_rejects_with_retry_after_then_half_opens_at_the_deadline() {
    let mut m = closed_with(|c| c.consecutive_failures = Some(1));
    m.advance(7);
    call(&mut m, Outcome::Failure);
    m.advance(99);
    assert_eq!(
        m.try_acquire(),
        Err(Rejected {
            state: State::Open,
            retry_after: Some(1),
            reason: RejectReason::State,
        })
    );
    m.advance(1);
    assert!(m.snapshot().probe_eligible);
    assert_eq!(m.snapshot().state, State::Open, "snapshot never moves");
    let p = m
        .try_acquire()
        .expect("the first acquire at the deadline probes");
    assert_eq!((p.state, p.epoch), (State::HalfOpen, 2));
    assert_eq!(
        m.try_acquire(),
        Err(Rejected {
            state: State::HalfOpen,
            retry_after: None,
            reason: RejectReason::State,
        })
    );
    assert_eq!(m.record(p, Outcome::Success, Some(0)), Recorded::Counted);
    assert_eq!(m.snapshot().state, State::Closed);
    assert_eq!(m.snapshot().epoch, 3);
}

#[test]
fn half_open_slots_come_back_on_ignore_and_drop_and_failure_backs_off() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(1);
        c.half_open_permits = 2;
        c.success_threshold = 2;
        c.backoff = Backoff::Exponential {
            base: None,
            multiplier_bp: 20_000,
            max: 300,
        };
    });
    call(&mut m, Outcome::Failure);
    m.advance(100);
    assert_eq!(m.state(), State::HalfOpen);
    let a = m.try_acquire().unwrap();
    let b = m.try_acquire().unwrap();
    assert!(m.try_acquire().is_err());
    m.record(a, Outcome::Ignored, None);
    let c = m.try_acquire().unwrap();
    m.drop_permit(b);
    assert_eq!(m.snapshot().half_open_admitted, 1);
    m.record(c, Outcome::Success, None);
    assert_eq!(m.snapshot().half_open_succeeded, 1);
    let d = m.try_acquire().unwrap();
    m.record(d, Outcome::Failure, None);
    let s = m.snapshot();
    assert_eq!(
        (s.state, s.backoff_level, s.open_until),
        (State::Open, 1, Some(300))
    );
    m.advance(200);
    assert_eq!(m.state(), State::HalfOpen);
    let e = m.try_acquire().unwrap();
    m.record(e, Outcome::Failure, None);
    assert_eq!(
        m.snapshot().open_until,
        Some(300 + 300),
        "400 clamps to max"
    );
    assert_eq!(m.snapshot().trips, 3);
}

#[test]
fn backoff_formulas_apply_jitter_before_the_clamp() {
    let mut cfg = Config::new(100);
    cfg.backoff = Backoff::Linear {
        base: Some(10),
        step: 25,
        max: 60,
    };
    assert_eq!(
        (0..4).map(|k| cfg.open_duration(k, 0)).collect::<Vec<_>>(),
        [10, 35, 60, 60]
    );
    cfg.backoff = Backoff::Exponential {
        base: Some(10),
        multiplier_bp: 15_000,
        max: 1_000,
    };
    assert_eq!(
        (0..5).map(|k| cfg.open_duration(k, 0)).collect::<Vec<_>>(),
        [10, 15, 22, 33, 50] // floor(10 * 1.5^k), exact
    );
    assert_eq!(cfg.open_duration(200, 0), 1_000);
    cfg.jitter_bp = 2_000;
    cfg.jitter_fn = |_, epoch, _| if epoch % 2 == 0 { 8_000 } else { 12_000 };
    assert_eq!(cfg.open_duration(1, 2), 12);
    assert_eq!(cfg.open_duration(1, 3), 18);
    cfg.backoff = Backoff::Linear {
        base: Some(1_100),
        step: 0,
        max: 1_000,
    };
    assert_eq!(cfg.open_duration(0, 2), 880, "jitter first, then the clamp");
    cfg.backoff = Backoff::Constant;
    assert_eq!(cfg.open_duration(9, 3), 120);
}

#[test]
fn an_undecided_half_open_episode_reopens_after_the_maximum_wait() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(1);
        c.max_half_open_wait = Some(30);
        c.backoff = Backoff::Linear {
            base: None,
            step: 50,
            max: 1_000,
        };
    });
    call(&mut m, Outcome::Failure);
    m.advance(100);
    let probe = m.try_acquire().unwrap();
    m.advance(29);
    assert_eq!(m.state(), State::HalfOpen);
    m.advance(1);
    let r = m.try_acquire().unwrap_err();
    assert_eq!((r.state, r.retry_after), (State::Open, Some(150)));
    assert_eq!(
        m.transitions().last().unwrap().reason,
        Reason::HalfOpenTimeout
    );
    assert_eq!(m.record(probe, Outcome::Success, None), Recorded::Stale);
}

#[test]
fn a_stale_outcome_changes_nothing() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(2);
        c.window = WindowKind::Count { size: 4 };
    });
    let old = m.try_acquire().unwrap();
    m.reset();
    let before = m.snapshot();
    assert_eq!(m.record(old, Outcome::Failure, None), Recorded::Stale);
    assert_eq!(m.snapshot(), before);
}

#[test]
fn trip_for_opens_for_the_longer_of_hint_and_backoff_and_clamps_the_hint() {
    let mut m = closed_with(|c| c.max_trip_hint = 500);
    let p = m.try_acquire().unwrap();
    assert_eq!(m.trip_for(p, 40), Recorded::Counted);
    assert_eq!(m.snapshot().open_until, Some(100), "backoff is longer");
    m.reset();
    let p = m.try_acquire().unwrap();
    let stale = m.try_acquire().unwrap();
    m.trip_for(p, 10_000);
    assert_eq!(m.snapshot().open_until, Some(500), "hint clamped");
    let epoch = m.snapshot().epoch;
    m.advance(10);
    assert_eq!(m.trip_for(stale, 400), Recorded::Stale);
    assert_eq!(m.snapshot().epoch, epoch, "410 does not lengthen 500");
    let stale = {
        m.advance(490);
        m.transition_to_half_open();
        let p = m.try_acquire().unwrap();
        m.force_open();
        m.reset();
        m.trip_with_zero_hint();
        p
    };
    let epoch = m.snapshot().epoch;
    assert_eq!(m.trip_for(stale, 300), Recorded::Stale);
    let s = m.snapshot();
    assert_eq!(
        (s.state, s.epoch, s.open_until),
        (State::Open, epoch + 1, Some(800))
    );
    assert_eq!(m.transitions().last().unwrap().reason, Reason::HintExtended);
}

#[test]
fn operator_modes_record_as_documented() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(1);
        c.window = WindowKind::Count { size: 8 };
    });
    m.metrics_only();
    call(&mut m, Outcome::Failure);
    call(&mut m, Outcome::Failure);
    let s = m.snapshot();
    assert_eq!(
        (s.state, s.mode, s.window.failures, s.consecutive_failures),
        (State::MetricsOnly, Mode::MetricsOnly, 2, 2)
    );
    m.disable();
    let p = m.try_acquire().unwrap();
    assert_eq!(m.record(p, Outcome::Failure, None), Recorded::Discarded);
    m.force_open();
    assert_eq!(
        m.try_acquire(),
        Err(Rejected {
            state: State::ForcedOpen,
            retry_after: None,
            reason: RejectReason::State,
        })
    );
    m.reset();
    let s = m.snapshot();
    assert_eq!(
        (s.state, s.epoch, s.window.calls, s.trips),
        (State::Closed, 4, 0, 0)
    );
}

#[test]
fn a_dropped_permit_is_a_failure_when_configured() {
    let mut m = closed_with(|c| {
        c.consecutive_failures = Some(1);
        c.on_abandon = Abandon::Failure;
    });
    let p = m.try_acquire().unwrap();
    m.drop_permit(p);
    assert_eq!(m.snapshot().state, State::Open);
}

impl Model {
    /// Opens the breaker with a current permit and no hint.
    fn trip_with_zero_hint(&mut self) {
        let p = self.try_acquire().unwrap();
        self.trip_for(p, 0);
    }
}
