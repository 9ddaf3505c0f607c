//! Drives one core breaker and the reference model with the same operations
//! and compares them after every step (DESIGN.md §7, invariant (f)).

use std::sync::Mutex;
use std::time::Duration;

use fusebox_core::{
    Abandon, AnyWindow, Backoff, Breaker, BucketCell, Config, CountWindow, DynCountWindow,
    DynTimeWindow, ManualClock, NoWindow, Observer, Outcome, OutcomeEvent, Permit, Ratio, Recorded,
    RingCell, State, TimeWindow, Transition, TransitionReason, Window, WindowCounts,
};
use fusebox_core::{AdoptOutcome, Exported, RestoreReport, EXPORT_VERSION};
use fusebox_verification::model::{self, Model};

use crate::ops::{Op, Setup, Via, WindowType};

type Clock = ManualClock<1000>;
/// The breaker under test.
type Sut<W> = Breaker<Clock, W, Log>;

fn ms(ticks: u64) -> Duration {
    Duration::from_millis(ticks)
}

/// Mirror of `ops::predicate_two_failures` over the core's counts.
fn core_predicate_two_failures(c: &WindowCounts) -> bool {
    c.failures >= 2 && c.failures * 2 > c.calls
}

/// The core config for the model's one.
pub fn core_config(setup: &Setup) -> Config {
    let c = &setup.cfg;
    let mut b = Config::builder()
        .minimum_calls(c.minimum_calls)
        .open_for(ms(c.open_for))
        .half_open_permits(c.half_open_permits)
        .success_threshold(c.success_threshold)
        .max_trip_hint(ms(c.max_trip_hint))
        .jitter(Ratio::from_basis_points(c.jitter_bp))
        .jitter_seed(c.jitter_seed)
        .on_abandon(match c.on_abandon {
            model::Abandon::Ignore => Abandon::Ignore,
            model::Abandon::Failure => Abandon::Failure,
        })
        .backoff(match c.backoff {
            model::Backoff::Constant => Backoff::Constant,
            model::Backoff::Exponential {
                base,
                multiplier_bp,
                max,
            } => Backoff::Exponential {
                base: base.map(ms),
                multiplier: Ratio::from_basis_points(multiplier_bp),
                max: ms(max),
            },
            model::Backoff::Linear { base, step, max } => Backoff::Linear {
                base: base.map(ms),
                step: ms(step),
                max: ms(max),
            },
        });
    if let Some(n) = c.consecutive_failures {
        b = b.consecutive_failures(n);
    }
    if let Some(bp) = c.failure_rate_bp {
        b = b.failure_rate(Ratio::from_basis_points(bp));
    }
    if let Some(bp) = c.slow_call_rate_bp {
        b = b.slow_call_rate(Ratio::from_basis_points(bp));
    }
    if let Some(d) = c.slow_call_duration {
        b = b.slow_call_duration(ms(d));
    }
    if let model::WindowKind::Time { span, .. } = c.window {
        b = b.window_span(ms(span));
    }
    if let Some(w) = c.max_half_open_wait {
        b = b.max_half_open_wait(ms(w));
    }
    if c.trip_predicate.is_some() {
        b = b.trip_predicate(core_predicate_two_failures);
    }
    b.build()
        .unwrap_or_else(|e| panic!("generated an invalid config {setup:?}: {e}"))
}

fn state(s: State) -> model::State {
    match s {
        State::Closed => model::State::Closed,
        State::Open => model::State::Open,
        State::HalfOpen => model::State::HalfOpen,
        State::ForcedOpen => model::State::ForcedOpen,
        State::MetricsOnly => model::State::MetricsOnly,
        State::Disabled => model::State::Disabled,
    }
}

/// The core's export in the model's terms, or why it cannot be one.
fn export_of(e: &Exported) -> Result<model::Export, String> {
    if e.version != EXPORT_VERSION || e.mode != e.state.mode() {
        return Err(format!("bad export {e:?}"));
    }
    Ok(model::Export {
        state: state(e.state),
        k: e.backoff_level,
        remaining: e.open_remaining.map(|d| d.as_millis() as u64),
        run: e.consecutive_failures,
        window: model::Counts {
            calls: e.window.calls,
            failures: e.window.failures,
            slow: e.window.slow,
        },
    })
}

fn restored(r: &RestoreReport) -> model::Restored {
    model::Restored {
        state: state(r.state),
        epoch: r.epoch,
        k: r.backoff_level,
        open_for: r.open_for.map(|d| d.as_millis() as u64),
        clamped: r.clamped,
        half_open_as_open: r.half_open_as_open,
        run: r.consecutive_failures,
        dropped_run: r.dropped.consecutive_failures,
    }
}

fn adopted(a: AdoptOutcome) -> model::Adopted {
    let t = |d: Duration| d.as_millis() as u64;
    match a {
        AdoptOutcome::Opened { open_for, epoch } => model::Adopted::Opened {
            open_for: t(open_for),
            epoch,
        },
        AdoptOutcome::Extended { open_for, epoch } => model::Adopted::Extended {
            open_for: t(open_for),
            epoch,
        },
        AdoptOutcome::AlreadyLonger { remaining } => model::Adopted::AlreadyLonger {
            remaining: t(remaining),
        },
        AdoptOutcome::Ignored { state: s } => model::Adopted::Ignored(state(s)),
    }
}

fn recorded(r: Recorded) -> model::Recorded {
    match r {
        Recorded::Counted => model::Recorded::Counted,
        Recorded::Stale => model::Recorded::Stale,
        Recorded::Discarded => model::Recorded::Discarded,
    }
}

fn reason(r: TransitionReason) -> model::Reason {
    use model::Reason as M;
    match r {
        TransitionReason::ConsecutiveFailures => M::ConsecutiveFailures,
        TransitionReason::FailureRate => M::FailureRate,
        TransitionReason::SlowCallRate => M::SlowCallRate,
        TransitionReason::TripPredicate => M::TripPredicate,
        TransitionReason::TripHint => M::TripHint,
        TransitionReason::HintExtended => M::HintExtended,
        TransitionReason::OpenDeadlineReached => M::OpenDeadlineReached,
        TransitionReason::ProbeFailed => M::ProbeFailed,
        TransitionReason::ProbeSlow => M::ProbeSlow,
        TransitionReason::ProbesSucceeded => M::ProbesSucceeded,
        TransitionReason::HalfOpenTimeout => M::HalfOpenTimeout,
        TransitionReason::ForcedOpen => M::ForcedOpen,
        TransitionReason::MetricsOnly => M::MetricsOnly,
        TransitionReason::Disabled => M::Disabled,
        TransitionReason::Reset => M::Reset,
        TransitionReason::ForcedHalfOpen => M::ForcedHalfOpen,
        TransitionReason::Restored => M::Restored,
        TransitionReason::Adopted => M::Adopted,
    }
}

fn core_outcome(o: model::Outcome) -> Outcome {
    match o {
        model::Outcome::Success => Outcome::Success,
        model::Outcome::Failure => Outcome::Failure,
        model::Outcome::Ignored => Outcome::Ignored,
    }
}

/// An outcome event in the model's terms: outcome, slow, recorded, abandoned.
type OutcomeSeen = (model::Outcome, bool, model::Recorded, bool);

/// Records every transition and outcome the core reports, in the model's terms.
#[derive(Default)]
pub struct Log(Mutex<Vec<model::Transition>>, Mutex<Vec<OutcomeSeen>>);

impl Observer for Log {
    fn on_outcome(&self, o: &OutcomeEvent) {
        let outcome = match o.outcome {
            Outcome::Success => model::Outcome::Success,
            Outcome::Failure => model::Outcome::Failure,
            Outcome::Ignored => model::Outcome::Ignored,
        };
        let seen = (outcome, o.slow, recorded(o.recorded), o.abandoned);
        self.1.lock().unwrap().push(seen);
    }

    fn on_transition(&self, t: &Transition) {
        self.0.lock().unwrap().push(model::Transition {
            from: state(t.from),
            to: state(t.to),
            reason: reason(t.reason),
            epoch: t.epoch,
            at: t.at,
        });
    }
}

/// Runs `ops` on a breaker with the window type `setup` asks for.
pub fn run(setup: &Setup, ops: &[Op]) -> Result<(), String> {
    match setup.window {
        WindowType::None => run_const::<NoWindow>(setup, ops),
        WindowType::Count1 => run_const::<CountWindow<1>>(setup, ops),
        WindowType::Count3 => run_const::<CountWindow<3>>(setup, ops),
        WindowType::Count8 => run_const::<CountWindow<8>>(setup, ops),
        WindowType::Time1 => run_const::<TimeWindow<1>>(setup, ops),
        WindowType::Time4 => run_const::<TimeWindow<4>>(setup, ops),
        WindowType::Time4Striped => run_const::<TimeWindow<4, 2>>(setup, ops),
        WindowType::DynCount5 => {
            let cells: Box<[RingCell]> = (0..5).map(|_| RingCell::new()).collect();
            let window = DynCountWindow::new(cells).expect("5 cells");
            run_with(setup, ops, |clock, config, log| {
                Breaker::with_window(clock, config, window, log)
            })
        }
        WindowType::DynTime3Striped => {
            let n = DynTimeWindow::<Box<[BucketCell]>>::cells_needed(3, 2);
            let cells: Box<[BucketCell]> = (0..n).map(|_| BucketCell::new()).collect();
            let window = DynTimeWindow::new(cells, 3, 2).expect("3 x 2 cells");
            run_with(setup, ops, |clock, config, log| {
                Breaker::with_window(clock, config, window, log)
            })
        }
    }
}

fn run_const<W: Window>(setup: &Setup, ops: &[Op]) -> Result<(), String> {
    run_with::<W>(setup, ops, Breaker::with_observer)
}

macro_rules! ensure_eq {
    ($step:expr, $what:expr, $core:expr, $model:expr) => {{
        let (core, model) = (&$core, &$model);
        if core != model {
            return Err(format!(
                "step {}: {} differs\n  core:  {:?}\n  model: {:?}",
                $step, $what, core, model
            ));
        }
    }};
}

fn run_with<W: AnyWindow>(
    setup: &Setup,
    ops: &[Op],
    build: impl FnOnce(Clock, Config, Log) -> Result<Sut<W>, fusebox_core::ConfigError>,
) -> Result<(), String> {
    let mut cfg = setup.cfg;
    // The backoff level's field: 5 bits in the 64-bit word, 4 in the narrow one.
    cfg.max_backoff_level = if cfg!(fusebox_narrow) { 15 } else { 31 };
    cfg.jitter_fn = |seed, epoch, bp| {
        fusebox_core::backoff::jitter_factor_bp(seed, epoch, Ratio::from_basis_points(bp))
    };
    let breaker: Sut<W> = build(Clock::new(), core_config(setup), Log::default())
        .map_err(|e| format!("core refused {setup:?}: {e}"))?;
    let mut model = Model::new(cfg);
    let mut permits: Vec<(Permit<&Sut<W>>, model::Permit)> = Vec::new();

    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Acquire => match (breaker.try_acquire(), model.try_acquire()) {
                (Ok(p), Ok(m)) => {
                    ensure_eq!(step, "permit state", state(p.state()), m.state);
                    ensure_eq!(step, "permit epoch", p.epoch(), m.epoch);
                    permits.push((p, m));
                }
                (Err(r), Err(m)) => {
                    ensure_eq!(step, "rejection state", state(r.state), m.state);
                    ensure_eq!(step, "retry_after", r.retry_after, m.retry_after.map(ms));
                }
                (core, model) => {
                    return Err(format!(
                        "step {step}: acquire decision differs\n  core:  {:?}\n  model: {model:?}",
                        core.map(|p| (p.state(), p.epoch()))
                    ))
                }
            },
            Op::Record(i, outcome, via) if !permits.is_empty() => {
                let (p, m) = permits.swap_remove(i.index(permits.len()));
                let took = match via {
                    Via::WithDuration(d) => d,
                    _ => model.now() - m.acquired_at,
                };
                // Decision (the core's): a permit granted in Disabled is never
                // timed, so its outcome event is never slow.
                let timed = m.state != model::State::Disabled;
                let slow = timed && model.config().is_slow(outcome, took);
                let (core, model) = match via {
                    Via::WithDuration(d) => (
                        p.record_with_duration(core_outcome(outcome), ms(d)),
                        model.record(m, outcome, Some(d)),
                    ),
                    Via::Measured => (
                        p.record(core_outcome(outcome)),
                        model.record(m, outcome, None),
                    ),
                    Via::Shortcut => (
                        match outcome {
                            model::Outcome::Success => p.success(),
                            model::Outcome::Failure => p.failure(),
                            model::Outcome::Ignored => p.ignore(),
                        },
                        model.record(m, outcome, None),
                    ),
                };
                ensure_eq!(step, "Recorded", recorded(core), model);
                let event = breaker.observer().1.lock().unwrap().pop();
                ensure_eq!(
                    step,
                    "outcome event",
                    event,
                    Some((outcome, slow, model, false))
                );
            }
            Op::Drop(i) if !permits.is_empty() => {
                let (p, m) = permits.swap_remove(i.index(permits.len()));
                drop(p);
                let took = model.now() - m.acquired_at;
                let timed = m.state != model::State::Disabled;
                let (outcome, recorded) = model.drop_permit(m);
                let slow = timed && model.config().is_slow(outcome, took);
                let event = breaker.observer().1.lock().unwrap().pop();
                ensure_eq!(
                    step,
                    "abandon event",
                    event,
                    Some((outcome, slow, recorded, true))
                );
            }
            Op::TripFor(i, hint) if !permits.is_empty() => {
                let (p, m) = permits.swap_remove(i.index(permits.len()));
                ensure_eq!(
                    step,
                    "trip_for Recorded",
                    recorded(p.trip_for(ms(hint))),
                    model.trip_for(m, hint)
                );
            }
            Op::Record(..) | Op::Drop(_) | Op::TripFor(..) => {}
            Op::Advance(t) => {
                breaker.clock().advance(t);
                model.advance(t);
            }
            Op::AdvanceToDue(early) => {
                let t = model.next_due().map_or(1, |due| {
                    due.saturating_sub(model.now()).saturating_sub(early)
                });
                breaker.clock().advance(t);
                model.advance(t);
            }
            Op::State => ensure_eq!(step, "state()", state(breaker.state()), model.state()),
            Op::ForceOpen => {
                breaker.force_open();
                model.force_open();
            }
            Op::MetricsOnly => {
                breaker.metrics_only();
                model.metrics_only();
            }
            Op::Disable => {
                breaker.disable();
                model.disable();
            }
            Op::Reset => {
                breaker.reset();
                model.reset();
            }
            Op::ForceClosed => {
                breaker.force_closed();
                model.reset();
            }
            Op::TransitionToHalfOpen => {
                breaker.transition_to_half_open();
                model.transition_to_half_open();
            }
            Op::Export => {
                let e = export_of(&breaker.export()).map_err(|e| format!("step {step}: {e}"))?;
                ensure_eq!(step, "export()", e, model.export());
                ensure_eq!(
                    step,
                    "export().fingerprint",
                    breaker.export().fingerprint,
                    breaker.fingerprint()
                );
            }
            Op::Restore {
                own,
                matched,
                state: i,
                k,
                remaining,
                run,
            } => {
                let value = if own {
                    let e = breaker.export();
                    ensure_eq!(step, "export()", export_of(&e)?, model.export());
                    e
                } else {
                    let s = State::ALL[i as usize % State::ALL.len()];
                    let closedish = matches!(s, State::Closed | State::MetricsOnly);
                    Exported {
                        version: EXPORT_VERSION,
                        state: s,
                        mode: s.mode(),
                        backoff_level: k,
                        open_remaining: (s == State::Open).then(|| ms(remaining)),
                        consecutive_failures: if closedish { run } else { 0 },
                        window: WindowCounts {
                            calls: run + 1,
                            failures: run,
                            slow: 0,
                        },
                        fingerprint: breaker.fingerprint(),
                    }
                };
                let value = Exported {
                    fingerprint: if matched {
                        value.fingerprint
                    } else {
                        value.fingerprint ^ 1
                    },
                    ..value
                };
                let m = export_of(&value)?;
                let core = breaker
                    .restore(&value)
                    .map_err(|e| format!("step {step}: restore refused {value:?}: {e}"))?;
                ensure_eq!(
                    step,
                    "restore().fingerprint_matched",
                    core.fingerprint_matched,
                    matched
                );
                ensure_eq!(
                    step,
                    "restore().dropped.window",
                    core.dropped.window,
                    value.window
                );
                ensure_eq!(
                    step,
                    "restore()",
                    restored(&core),
                    model.restore(m, matched)
                );
            }
            Op::Adopt(t) => {
                ensure_eq!(
                    step,
                    "adopt_open()",
                    adopted(breaker.adopt_open(ms(t))),
                    model.adopt_open(t)
                );
            }
            Op::Churn {
                advance,
                ranges,
                offset,
                mix,
                half_open,
            } => {
                breaker.clock().advance(advance);
                model.advance(advance);
                let timed = |t: &&model::Transition| {
                    t.to == model::State::Open
                        || (t.to == model::State::HalfOpen
                            && setup.cfg.max_half_open_wait.is_some())
                };
                let last = model
                    .transitions()
                    .iter()
                    .rev()
                    .find(timed)
                    .map_or(0, |t| t.epoch);
                let range = i128::from(crate::ops::TAG_RANGE);
                // The epoch after the churn, modulo the tag range: the next
                // transition's is `last`'s plus the offset.
                let target = i128::from(last) + i128::from(offset) - i128::from(!half_open);
                let now = i128::from(model.snapshot().epoch);
                let n = match (target - now).rem_euclid(range) {
                    0 => range,
                    r => r,
                } + (i128::from(ranges) - 1) * range;
                let n = n as u64;
                for i in 1..n {
                    match (u64::from(mix) + i) % 5 {
                        0 => (breaker.force_open(), model.force_open()),
                        1 => (breaker.metrics_only(), model.metrics_only()),
                        2 => (breaker.disable(), model.disable()),
                        3 => (
                            breaker.transition_to_half_open(),
                            model.transition_to_half_open(),
                        ),
                        _ => (breaker.reset(), model.reset()),
                    };
                }
                if half_open {
                    breaker.transition_to_half_open();
                    model.transition_to_half_open();
                } else {
                    breaker.reset();
                    model.reset();
                }
            }
        }
        compare(step, &breaker, &model)?;
    }
    drop(permits);
    Ok(())
}

/// Everything observable without writing: snapshot, rates, transition log.
fn compare<W: AnyWindow>(step: usize, b: &Breaker<Clock, W, Log>, m: &Model) -> Result<(), String> {
    ensure_eq!(step, "clock", b.clock().now(), m.now());
    let (s, e) = (b.snapshot(), m.snapshot());
    ensure_eq!(step, "snapshot.state", state(s.state), e.state);
    ensure_eq!(step, "snapshot.epoch", s.epoch, e.epoch);
    ensure_eq!(step, "snapshot.trips", s.trips, e.trips);
    ensure_eq!(
        step,
        "snapshot.last_transition_at",
        s.last_transition_at,
        e.last_transition_at
    );
    ensure_eq!(step, "snapshot.open_until", s.open_until, e.open_until);
    ensure_eq!(
        step,
        "snapshot.probe_eligible",
        s.probe_eligible,
        e.probe_eligible
    );
    if matches!(
        e.state,
        model::State::Closed | model::State::Open | model::State::HalfOpen
    ) {
        ensure_eq!(
            step,
            "snapshot.backoff_level",
            s.backoff_level,
            e.backoff_level
        );
    }
    match e.state {
        model::State::Closed | model::State::MetricsOnly => {
            let w = (s.window.calls, s.window.failures, s.window.slow);
            ensure_eq!(
                step,
                "snapshot.window",
                w,
                (e.window.calls, e.window.failures, e.window.slow)
            );
            ensure_eq!(
                step,
                "snapshot.consecutive_failures",
                s.consecutive_failures,
                e.consecutive_failures
            );
            ensure_eq!(
                step,
                "failure_rate()",
                b.failure_rate().map(Ratio::basis_points),
                m.failure_rate_bp()
            );
            ensure_eq!(
                step,
                "slow_call_rate()",
                b.slow_call_rate().map(Ratio::basis_points),
                m.slow_call_rate_bp()
            );
        }
        model::State::HalfOpen => {
            ensure_eq!(
                step,
                "snapshot.half_open_admitted",
                s.half_open_admitted,
                e.half_open_admitted
            );
            ensure_eq!(
                step,
                "snapshot.half_open_succeeded",
                s.half_open_succeeded,
                e.half_open_succeeded
            );
        }
        _ => {}
    }
    let log = b.observer().0.lock().unwrap();
    ensure_eq!(step, "transitions", log.as_slice(), m.transitions());
    Ok(())
}
