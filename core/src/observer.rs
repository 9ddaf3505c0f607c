//! Observation: events for logs, metrics and programs that react.
//!
//! A breaker is generic over its observer, which defaults to the zero-sized
//! [`NoObserver`]: an unobserved breaker pays nothing. Observers are called
//! after the compare-and-swap that made the change has committed, with
//! nothing held, so an observer may read or even drive the breaker.
//!
//! Running totals (permitted, rejected, successes...) are an observer's job,
//! not the hot path's: count them in the observer, striped across cores if
//! many threads share the breaker.

use crate::permit::{Outcome, Recorded};
use crate::state::State;
use crate::window::WindowCounts;

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransitionReason {
    /// Closed → Open: the consecutive-failures rule fired.
    ConsecutiveFailures,
    /// Closed → Open: the failure-rate rule fired.
    FailureRate,
    /// Closed → Open: the slow-call-rate rule fired.
    SlowCallRate,
    /// Closed → Open: the custom trip predicate fired.
    TripPredicate,
    /// Closed/HalfOpen → Open: a [`trip_for`](crate::Permit::trip_for) hint.
    TripHint,
    /// Open → Open: a hint moved the deadline later.
    HintExtended,
    /// Open → HalfOpen: the open deadline passed.
    OpenDeadlineReached,
    /// HalfOpen → Open: a probe failed.
    ProbeFailed,
    /// HalfOpen → Open: a probe was slow.
    ProbeSlow,
    /// HalfOpen → Closed: enough probes succeeded.
    ProbesSucceeded,
    /// HalfOpen → Open: the episode outlasted `max_half_open_wait`.
    HalfOpenTimeout,
    /// Operator: [`force_open`](crate::Breaker::force_open).
    ForcedOpen,
    /// Operator: [`metrics_only`](crate::Breaker::metrics_only).
    MetricsOnly,
    /// Operator: [`disable`](crate::Breaker::disable).
    Disabled,
    /// Operator: [`reset`](crate::Breaker::reset).
    Reset,
    /// Operator: [`transition_to_half_open`](crate::Breaker::transition_to_half_open).
    ForcedHalfOpen,
    /// Operator: [`restore`](crate::Breaker::restore) installed an exported state.
    Restored,
    /// Closed → Open or Open → Open: [`adopt_open`](crate::Breaker::adopt_open)
    /// took a peer's open period.
    Adopted,
}

impl TransitionReason {
    /// A short snake_case name for logs and the command-line tool.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransitionReason::ConsecutiveFailures => "consecutive_failures",
            TransitionReason::FailureRate => "failure_rate",
            TransitionReason::SlowCallRate => "slow_call_rate",
            TransitionReason::TripPredicate => "trip_predicate",
            TransitionReason::TripHint => "trip_hint",
            TransitionReason::HintExtended => "hint_extended",
            TransitionReason::OpenDeadlineReached => "open_deadline_reached",
            TransitionReason::ProbeFailed => "probe_failed",
            TransitionReason::ProbeSlow => "probe_slow",
            TransitionReason::ProbesSucceeded => "probes_succeeded",
            TransitionReason::HalfOpenTimeout => "half_open_timeout",
            TransitionReason::ForcedOpen => "forced_open",
            TransitionReason::MetricsOnly => "metrics_only",
            TransitionReason::Disabled => "disabled",
            TransitionReason::Reset => "reset",
            TransitionReason::ForcedHalfOpen => "forced_half_open",
            TransitionReason::Restored => "restored",
            TransitionReason::Adopted => "adopted",
        }
    }
}

/// A committed state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why.
    pub reason: TransitionReason,
    /// The new epoch.
    pub epoch: u64,
    /// Clock ticks when it happened.
    pub at: u64,
    /// The window counts that caused it (for a trip: the counts the tripping
    /// record installed, before the new episode empties the window).
    pub window: WindowCounts,
    /// The consecutive-failure run at the time.
    pub consecutive_failures: u32,
    /// Backoff level after the transition.
    pub backoff_level: u32,
    /// For a transition into `Open`: the deadline in force, in ticks. `None`
    /// if the episode had already ended when its opener got to report it
    /// (it was preempted through the whole episode).
    pub open_until: Option<u64>,
}

/// A rejected call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejection {
    /// The state that rejected it.
    pub state: State,
    /// Ticks until the open deadline (open state only).
    pub retry_after: Option<u64>,
}

/// A recorded outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutcomeEvent {
    /// What happened.
    pub outcome: Outcome,
    /// Whether the call was slow.
    pub slow: bool,
    /// Whether it counted.
    pub recorded: Recorded,
    /// The state the permit was granted in.
    pub state: State,
    /// Whether it came from a permit dropped without an outcome.
    pub abandoned: bool,
}

/// Receives the breaker's events. Every method has an empty default.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use fusebox_core::{Breaker, Config, ManualClock, NoWindow, Observer, Transition};
///
/// #[derive(Default)]
/// struct CountTrips(AtomicU32);
/// impl Observer for CountTrips {
///     fn on_transition(&self, t: &Transition) {
///         if t.to == fusebox_core::State::Open {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let clock = ManualClock::<1000>::new();
/// let config = Config::builder().consecutive_failures(1).build().unwrap();
/// let b: Breaker<_, NoWindow, CountTrips> =
///     Breaker::with_observer(&clock, config, CountTrips::default()).unwrap();
/// b.try_acquire().unwrap().failure();
/// assert_eq!(b.observer().0.load(Ordering::Relaxed), 1);
/// ```
pub trait Observer {
    /// After a state change.
    fn on_transition(&self, _t: &Transition) {}
    /// After a rejection.
    fn on_reject(&self, _r: &Rejection) {}
    /// After an outcome is recorded (or found stale).
    fn on_outcome(&self, _o: &OutcomeEvent) {}
}

/// Observes nothing and costs nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

impl<O: Observer + ?Sized> Observer for &O {
    fn on_transition(&self, t: &Transition) {
        (**self).on_transition(t)
    }
    fn on_reject(&self, r: &Rejection) {
        (**self).on_reject(r)
    }
    fn on_outcome(&self, o: &OutcomeEvent) {
        (**self).on_outcome(o)
    }
}
