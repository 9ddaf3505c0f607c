//! The state machine, DESIGN §2–§6, as pure functions of the state word.
//!
//! Each rule here takes a decoded [`StateWord`] (and the event: an outcome,
//! a deadline reached, an operator call) and returns the word to install and
//! what that means; none reads an atomic, a clock or the window. The one
//! place that installs words is the CAS driver in [`driver`], which every
//! transition goes through: it re-reads and re-decides when its
//! compare-and-swap loses, and the thread whose CAS wins does the follow-up
//! (publish the deadline, count the trip, re-tag the window, tell the
//! observer). The bit layout of the word is drawn in [`crate::state`].
//!
//! | rule | function |
//! |---|---|
//! | §2 operator modes, `reset`, forced half-open | [`operator`] |
//! | §3 consecutive run, rates, custom predicate | [`closed_outcome`], [`trip_reason`] |
//! | §4 open → half-open at the deadline | [`deadline_reached`] |
//! | §5 probe admission, outcomes, max wait | [`admit_probe`], [`half_open_outcome`], [`half_open_expired`] |
//! | §6 / §13 a stale hint lengthening an open period | [`hint_extended`] |
//! | §14 restoring an exported state, adopting a peer's open | [`restored`], [`adopted`] |

pub(crate) mod driver;

use crate::observer::TransitionReason;
use crate::permit::Outcome;
use crate::settings::Settings;
use crate::state::{State, StateWord};
use crate::sync::Word;
use crate::window::{reaches, WindowCounts};

pub(crate) use driver::Decision;

/// §4: the open deadline has passed: a half-open episode begins with the same
/// backoff level. `probe`: the call that noticed is admitted as its first
/// probe (`try_acquire`), or not (`state()`).
#[inline]
pub(crate) const fn deadline_reached(sw: StateWord, probe: bool) -> StateWord {
    // {HalfOpen, epoch + 1, k, admitted probe as u32, succeeded 0}
    sw.next(State::HalfOpen, sw.k).with_half(probe as u32, 0)
}

/// §5: one more probe in the half-open episode `sw`, or `None` when all
/// `permits` are taken.
#[inline]
pub(crate) const fn admit_probe(sw: StateWord, permits: u32) -> Option<StateWord> {
    if sw.admitted() >= permits {
        None
    } else {
        Some(sw.with_half(sw.admitted() + 1, sw.succeeded()))
    }
}

/// §5 `max_half_open_wait`: an episode still undecided re-opens with `k + 1`.
#[inline]
pub(crate) const fn half_open_expired(sw: StateWord) -> StateWord {
    sw.next(State::Open, sw.k + 1)
}

/// §2: an operator call moves to `to` with a new epoch; only a forced
/// half-open keeps the backoff level.
#[inline]
pub(crate) const fn operator(sw: StateWord, to: State) -> StateWord {
    let k = if matches!(to, State::HalfOpen) {
        sw.k
    } else {
        0
    };
    sw.next(to, k)
}

/// §13: a stale permit's hint asks for a later deadline: Open → Open with a
/// new epoch, so nobody half-opens on the deadline it replaces.
#[inline]
pub(crate) const fn hint_extended(sw: StateWord) -> StateWord {
    sw.next(State::Open, sw.k)
}

/// §14: `restore` installs `state` (never `HalfOpen`: the caller restores
/// that as `Open`) with a new epoch. Only `Open` keeps a backoff level, as
/// every other way into the other states resets it; only `Closed` and
/// `MetricsOnly` have a run.
#[inline]
pub(crate) const fn restored(sw: StateWord, state: State, k: u32, run: u32) -> StateWord {
    let k = if matches!(state, State::Open) { k } else { 0 };
    let next = sw.next(state, k);
    if state.uses_window() {
        next.with_run(run)
    } else {
        next
    }
}

/// §14: adopting a peer's open period: Closed → Open with `k = 0`, or
/// Open → Open keeping `k` (an extension, like a hint's). `None` in every
/// other state (half-open probing stays local; operator modes hold).
#[inline]
pub(crate) const fn adopted(sw: StateWord) -> Option<StateWord> {
    match sw.state {
        State::Closed => Some(sw.next(State::Open, 0)),
        State::Open => Some(sw.next(State::Open, sw.k)),
        _ => None,
    }
}

/// What a counted outcome does in `Closed` or `MetricsOnly`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClosedStep {
    /// The permit's episode has ended.
    Ended,
    /// Nothing to write (a success on a zero run).
    Keep,
    /// The run changes: install this word.
    Run(StateWord),
    /// A rule fired: Closed → Open with `k = 0`. `from` carries the run
    /// that tripped, for the observer.
    Trip {
        from: StateWord,
        to: StateWord,
        reason: TransitionReason,
    },
}

/// §3: a success or failure (`failure`) recorded under `epoch` in the
/// closed-state word `sw`. `trip` judges the run the outcome makes (with the
/// window as the outcome's own install left it, see [`trip_reason`]); the
/// recorder passes one that never trips when the rules are not evaluated
/// (a success, or any outcome in `MetricsOnly`).
#[inline(always)]
pub(crate) fn closed_outcome(
    sw: StateWord,
    epoch: Word,
    failure: bool,
    trip: impl FnOnce(u32) -> Option<TransitionReason>,
) -> ClosedStep {
    if sw.epoch != epoch {
        return ClosedStep::Ended;
    }
    // A success resets the run; `Ignored` never gets here.
    let run = if failure { sw.run() + 1 } else { 0 };
    if let Some(reason) = trip(run) {
        return ClosedStep::Trip {
            from: sw.with_run(run),
            // {Open, epoch + 1, k 0, counts 0}
            to: sw.next(State::Open, 0),
            reason,
        };
    }
    if run == sw.run() {
        ClosedStep::Keep // a success on a zero run writes nothing
    } else {
        ClosedStep::Run(sw.with_run(run))
    }
}

/// §3: which rule, if any, trips the breaker, with the run `run` and the
/// window `c`. A `trip_for` hint trips at once (§6).
pub(crate) fn trip_reason(
    s: &Settings,
    run: u32,
    c: WindowCounts,
    failure: bool,
    hint: Option<u64>,
) -> Option<TransitionReason> {
    if hint.is_some() {
        return Some(TransitionReason::TripHint);
    }
    if failure && s.consecutive_failures > 0 && run >= s.consecutive_failures {
        return Some(TransitionReason::ConsecutiveFailures);
    }
    if c.calls == 0 || c.calls < s.minimum_calls as u32 {
        return None;
    }
    if s.failure_rate_bp > 0 && reaches(c.failures, c.calls, s.failure_rate_bp as u32) {
        return Some(TransitionReason::FailureRate);
    }
    if s.slow_rate_bp > 0 && reaches(c.slow, c.calls, s.slow_rate_bp as u32) {
        return Some(TransitionReason::SlowCallRate);
    }
    match s.predicate {
        Some(p) if p(&c) => Some(TransitionReason::TripPredicate),
        _ => None,
    }
}

/// Progressive recovery: a close that starts a ramp keeps the backoff level
/// of the half-open episode `sw`, so that a trip during the ramp can reopen
/// one level up.
#[cfg(feature = "ramp")]
#[inline]
pub(crate) const fn ramp_close(sw: StateWord) -> StateWord {
    // {Closed, epoch + 1, k, run 0}
    sw.next(State::Closed, sw.k)
}

/// Progressive recovery: a rule fires in the closed word `sw` while its ramp
/// is in force: Closed → Open with `k + 1`.
#[cfg(feature = "ramp")]
#[inline]
pub(crate) const fn ramp_trip(sw: StateWord) -> StateWord {
    // {Open, epoch + 1, k + 1, counts 0}
    sw.next(State::Open, sw.k + 1)
}

/// What a probe's outcome does in `HalfOpen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HalfOpenStep {
    /// The permit's episode has ended.
    Ended,
    /// HalfOpen → Open with `k + 1`.
    Reopen {
        to: StateWord,
        reason: TransitionReason,
    },
    /// HalfOpen → Closed: window empty, `k = 0`.
    Close { to: StateWord },
    /// The episode goes on with these counts.
    Count(StateWord),
}

/// §5: a probe's `outcome` (slow or not, with a `trip_for` hint or not)
/// recorded under `epoch` in the half-open word `sw`.
#[inline(always)]
pub(crate) const fn half_open_outcome(
    sw: StateWord,
    epoch: Word,
    outcome: Outcome,
    slow: bool,
    hint: bool,
    success_threshold: u32,
) -> HalfOpenStep {
    if sw.epoch != epoch {
        return HalfOpenStep::Ended;
    }
    let (admitted, succeeded) = (sw.admitted(), sw.succeeded());
    let reopen = match outcome {
        _ if hint => Some(TransitionReason::TripHint),
        Outcome::Failure => Some(TransitionReason::ProbeFailed),
        Outcome::Success if slow => Some(TransitionReason::ProbeSlow),
        _ => None,
    };
    if let Some(reason) = reopen {
        return HalfOpenStep::Reopen {
            // {Open, epoch + 1, k + 1, counts 0}
            to: sw.next(State::Open, sw.k + 1),
            reason,
        };
    }
    let success = matches!(outcome, Outcome::Success);
    if success && succeeded + 1 >= success_threshold {
        return HalfOpenStep::Close {
            // {Closed, epoch + 1, k 0, run 0}
            to: sw.next(State::Closed, 0),
        };
    }
    HalfOpenStep::Count(if success {
        sw.with_half(admitted, succeeded + 1)
    } else {
        // Ignored or abandoned: give the probe slot back.
        sw.with_half(admitted.saturating_sub(1), succeeded)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half_open(admitted: u32, succeeded: u32) -> StateWord {
        StateWord {
            state: State::HalfOpen,
            k: 2,
            counts: 0,
            epoch: 7,
        }
        .with_half(admitted, succeeded)
    }

    #[test]
    fn the_deadline_opens_one_half_open_episode_with_or_without_a_probe() {
        let open = StateWord {
            state: State::Open,
            k: 3,
            counts: 0,
            epoch: 9,
        };
        let (probe, look) = (deadline_reached(open, true), deadline_reached(open, false));
        assert_eq!(
            (probe.state, probe.k, probe.epoch),
            (State::HalfOpen, 3, 10)
        );
        assert_eq!((probe.admitted(), look.admitted()), (1, 0));
        assert_eq!(look.with_half(1, 0), probe);
    }

    #[test]
    fn probes_are_admitted_up_to_the_permits() {
        assert_eq!(admit_probe(half_open(1, 0), 2), Some(half_open(2, 0)));
        assert_eq!(admit_probe(half_open(2, 0), 2), None);
    }

    #[test]
    fn a_stale_outcome_changes_nothing() {
        let closed = StateWord::INITIAL.with_run(3);
        assert_eq!(closed_outcome(closed, 1, true, |_| None), ClosedStep::Ended);
        let h = half_open(1, 0);
        let step = half_open_outcome(h, 6, Outcome::Failure, false, false, 1);
        assert_eq!(step, HalfOpenStep::Ended);
    }

    #[test]
    fn a_success_on_a_zero_run_writes_nothing() {
        assert_eq!(
            closed_outcome(StateWord::INITIAL, 0, false, |_| None),
            ClosedStep::Keep
        );
        let run = StateWord::INITIAL.with_run(2);
        assert_eq!(
            closed_outcome(run, 0, false, |_| None),
            ClosedStep::Run(StateWord::INITIAL)
        );
    }

    #[test]
    fn probe_outcomes_reopen_close_or_count() {
        let h = half_open(2, 0);
        match half_open_outcome(h, 7, Outcome::Failure, false, false, 2) {
            HalfOpenStep::Reopen { to, reason } => {
                assert_eq!(
                    (to.state, to.k, reason),
                    (State::Open, 3, TransitionReason::ProbeFailed)
                )
            }
            s => panic!("{s:?}"),
        }
        let step = half_open_outcome(h, 7, Outcome::Success, false, false, 2);
        assert_eq!(step, HalfOpenStep::Count(half_open(2, 1)));
        let step = half_open_outcome(half_open(2, 1), 7, Outcome::Success, false, false, 2);
        assert!(
            matches!(step, HalfOpenStep::Close { to } if to.state == State::Closed && to.k == 0)
        );
        let step = half_open_outcome(h, 7, Outcome::Ignored, false, false, 2);
        assert_eq!(step, HalfOpenStep::Count(half_open(1, 0)));
    }

    #[test]
    fn operator_calls_reset_the_backoff_level_except_a_forced_half_open() {
        let open = StateWord {
            state: State::Open,
            k: 4,
            counts: 0,
            epoch: 1,
        };
        assert_eq!(operator(open, State::Closed).k, 0);
        assert_eq!(operator(open, State::HalfOpen).k, 4);
        assert_eq!(operator(open, State::ForcedOpen).epoch, 2);
    }
}
