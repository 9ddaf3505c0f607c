//! The words of DESIGN.md §1–2 and what the breaker reports back.

use super::Counts;

/// What `state()` reports: the automatic states plus the operator modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; rules are judged on failure and slow records.
    Closed,
    /// Every call is rejected until the deadline.
    Open,
    /// A limited number of probes decide between closing and reopening.
    HalfOpen,
    /// Operator: reject everything.
    ForcedOpen,
    /// Operator: permit and record everything, never trip.
    MetricsOnly,
    /// Operator: permit everything, record nothing.
    Disabled,
}

/// Who is in charge: the automatic state machine or an operator override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `Closed`, `Open` or `HalfOpen`.
    Automatic,
    /// See [`State::ForcedOpen`].
    ForcedOpen,
    /// See [`State::MetricsOnly`].
    MetricsOnly,
    /// See [`State::Disabled`].
    Disabled,
}

impl State {
    /// The mode this state belongs to.
    pub fn mode(self) -> Mode {
        match self {
            State::Closed | State::Open | State::HalfOpen => Mode::Automatic,
            State::ForcedOpen => Mode::ForcedOpen,
            State::MetricsOnly => Mode::MetricsOnly,
            State::Disabled => Mode::Disabled,
        }
    }
}

/// The outcome of a permitted call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed.
    Failure,
    /// Counts nowhere; gives a half-open probe slot back.
    Ignored,
}

/// What `record` tells the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recorded {
    /// The outcome was applied to the current epoch.
    Counted,
    /// The permit's epoch is over; nothing changed (except a hint extension).
    Stale,
    /// The breaker is `Disabled` and records nothing.
    Discarded,
}

/// Why a transition happened (mirrors the core's `TransitionReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Rule 1.
    ConsecutiveFailures,
    /// Rule 2.
    FailureRate,
    /// Rule 3.
    SlowCallRate,
    /// The custom predicate.
    TripPredicate,
    /// `Permit::trip_for` on a current permit.
    TripHint,
    /// `Permit::trip_for` lengthened an open period (Open -> Open).
    HintExtended,
    /// Open -> HalfOpen.
    OpenDeadlineReached,
    /// A half-open probe failed.
    ProbeFailed,
    /// A half-open probe was slow.
    ProbeSlow,
    /// Enough probes succeeded.
    ProbesSucceeded,
    /// The half-open episode took longer than `max_half_open_wait`.
    HalfOpenTimeout,
    /// Operator.
    ForcedOpen,
    /// Operator.
    MetricsOnly,
    /// Operator.
    Disabled,
    /// Operator.
    Reset,
    /// Operator.
    ForcedHalfOpen,
    /// Operator: an exported state was restored (§14).
    Restored,
    /// A peer's open period was adopted (§14).
    Adopted,
}

/// One state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// The new epoch.
    pub epoch: u64,
    /// Tick of the change.
    pub at: u64,
}

/// A granted permit: the epoch and state it was granted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    /// Epoch at grant.
    pub epoch: u64,
    /// State at grant.
    pub state: State,
    /// Tick at grant (durations of `record` without an explicit one).
    pub acquired_at: u64,
}

/// A refused call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The state the call was refused in.
    pub state: State,
    /// Ticks to the deadline when `Open`; `None` otherwise.
    pub retry_after: Option<u64>,
}

/// What `snapshot()` reports. Fields that belong to another state read 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Current state (no pending move performed).
    pub state: State,
    /// Current mode.
    pub mode: Mode,
    /// Transitions so far.
    pub epoch: u64,
    /// Window aggregates (Closed / MetricsOnly only).
    pub window: Counts,
    /// Consecutive-failure run (Closed / MetricsOnly only).
    pub consecutive_failures: u32,
    /// Probes admitted minus given back (HalfOpen only).
    pub half_open_admitted: u32,
    /// Probe successes (HalfOpen only).
    pub half_open_succeeded: u32,
    /// Automatic openings from Closed or HalfOpen.
    pub trips: u64,
    /// Tick of the last transition (0 before any).
    pub last_transition_at: u64,
    /// The open deadline (Open only).
    pub open_until: Option<u64>,
    /// Backoff level k.
    pub backoff_level: u32,
    /// Open and at or past the deadline.
    pub probe_eligible: bool,
}
