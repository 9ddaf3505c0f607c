//! Permits: the right to make one call, and its outcome.

use crate::classify::Verdict;
use crate::state::{State, StateWord};
use crate::sync::Word;
use core::fmt;
use core::ops::Deref;
use core::time::Duration;

/// What happened to a permitted call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// The dependency did its job.
    Success,
    /// The dependency failed.
    Failure,
    /// Counts nowhere (a rate-limit answer, a client-side error); gives a
    /// half-open probe slot back.
    Ignored,
}

/// Whether a recorded outcome counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub enum Recorded {
    /// It was applied to the episode its permit was granted in.
    Counted,
    /// That episode had ended: the outcome changed nothing (observers still
    /// see it). A [`trip_for`](Permit::trip_for) hint may still lengthen an
    /// open period.
    Stale,
    /// The breaker was [`Disabled`](State::Disabled) when the permit was
    /// granted: nothing is recorded.
    Discarded,
}

/// A refused call: "not now", with the state that refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejected {
    /// `Open`, `HalfOpen` (all probe slots taken) or `ForcedOpen`.
    pub state: State,
    /// Time left until the open deadline; until the next ramp stage in a
    /// [`RejectReason::Ramp`] rejection; `None` in half-open, forced-open and
    /// throttled rejections.
    pub retry_after: Option<Duration>,
    /// Why: the state's own rejection, or the closed state's traffic shaping.
    pub reason: RejectReason,
}

/// Why a call was rejected.
///
/// Every variant exists in every build, so that adapters, observers and
/// metrics can name all three; a breaker returns [`Ramp`](Self::Ramp) only
/// when fusebox-core is built with its `ramp` feature and a ramp is
/// configured, and [`Throttled`](Self::Throttled) only with the `throttle`
/// feature and `throttle_k` configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RejectReason {
    /// The state rejects it: `Open`, `HalfOpen` with every probe slot taken,
    /// or `ForcedOpen`.
    State,
    /// Progressive recovery: the current ramp stage's share is taken
    /// (`Closed`; see `docs/design.md`). Feature `ramp` only.
    Ramp,
    /// Adaptive throttling (`Closed`). Feature `throttle` only.
    Throttled,
}

impl RejectReason {
    /// Every reason, in the order of [`index`](Self::index).
    pub const ALL: [RejectReason; 3] = [
        RejectReason::State,
        RejectReason::Ramp,
        RejectReason::Throttled,
    ];

    /// The position of this reason in [`RejectReason::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The lower-case name used in logs, metrics and the command-line tool
    /// (`state`, `ramp`, `throttled`).
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::State => "state",
            RejectReason::Ramp => "ramp",
            RejectReason::Throttled => "throttled",
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            RejectReason::State => write!(f, "circuit breaker is {}: call rejected", self.state)?,
            RejectReason::Ramp => {
                f.write_str("circuit breaker is recovering: call rejected by the ramp")?
            }
            RejectReason::Throttled => {
                f.write_str("circuit breaker is throttling: call rejected")?
            }
        }
        if let Some(d) = self.retry_after {
            write!(f, ", retry after {d:?}")?;
        }
        Ok(())
    }
}

impl core::error::Error for Rejected {}

/// What a permit remembers of its grant: two plain words, so that the
/// inlined fast path keeps it in registers.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    /// The state word at the grant (its epoch and state).
    pub(crate) word: Word,
    /// Clock reading at the grant; meaningful only when slow-call detection
    /// is on.
    pub(crate) started: u64,
}

impl Grant {
    #[inline]
    pub(crate) const fn new(epoch: Word, state: State, started: u64) -> Grant {
        Grant {
            word: StateWord {
                state,
                k: 0,
                counts: 0,
                epoch,
            }
            .pack(),
            started,
        }
    }
    #[inline]
    pub(crate) const fn epoch(&self) -> Word {
        StateWord::unpack(self.word).epoch
    }
    #[inline]
    pub(crate) const fn state(&self) -> State {
        StateWord::unpack(self.word).state
    }
}

/// How a permit's outcome reaches its breaker.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct Finish {
    pub(crate) outcome: Outcome,
    /// Call duration in ticks, if the caller measured it.
    pub(crate) duration: Option<u64>,
    /// `trip_for` hint in ticks.
    pub(crate) hint: Option<u64>,
    pub(crate) abandoned: bool,
}

mod guard {
    use super::{Finish, Grant, Recorded};
    use core::time::Duration;

    /// Implemented by every [`Breaker`](crate::Breaker); lets a permit be
    /// generic over how it holds its breaker (`&Breaker`, `Arc<Breaker>`...).
    pub trait Guard {
        #[doc(hidden)]
        fn finish(&self, grant: &Grant, f: Finish) -> Recorded;
        #[doc(hidden)]
        fn to_ticks(&self, d: Duration) -> u64;
        #[doc(hidden)]
        fn abandon_outcome(&self) -> super::Outcome;
    }
}
pub use guard::Guard;

/// The right to make one call. Record its outcome with [`record`](Self::record)
/// (or [`success`](Self::success), [`failure`](Self::failure),
/// [`ignore`](Self::ignore)); a permit dropped unrecorded is *abandoned*
/// (see [`Abandon`](crate::Abandon)) and never counts as a success.
///
/// `H` is how the permit holds its breaker: `&Breaker` from
/// [`try_acquire`](crate::Breaker::try_acquire), or any owning handle such
/// as `Arc<Breaker>` from [`try_acquire_owned`](crate::Breaker::try_acquire_owned),
/// which makes the permit `'static` for futures and services.
#[must_use = "a permit dropped without an outcome is abandoned"]
pub struct Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    handle: H,
    grant: Grant,
    done: bool,
}

impl<H> Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    #[inline]
    pub(crate) fn new(handle: H, grant: Grant) -> Self {
        Permit {
            handle,
            grant,
            done: false,
        }
    }

    #[inline]
    fn finish(mut self, f: Finish) -> Recorded {
        self.end(f)
    }

    /// Ends the permit where it lies: marks it spent, so that its drop
    /// abandons nothing, and records `f`.
    #[inline]
    fn end(&mut self, f: Finish) -> Recorded {
        self.done = true;
        self.handle.finish(&self.grant, f)
    }

    /// Records the outcome. When slow-call detection is on, the duration is
    /// measured from the grant.
    #[inline]
    pub fn record(self, outcome: Outcome) -> Recorded {
        self.finish(Finish {
            outcome,
            duration: None,
            hint: None,
            abandoned: false,
        })
    }

    /// Records the outcome of a call whose duration the caller measured.
    pub fn record_with_duration(self, outcome: Outcome, duration: Duration) -> Recorded {
        let ticks = self.handle.to_ticks(duration);
        self.finish(Finish {
            outcome,
            duration: Some(ticks),
            hint: None,
            abandoned: false,
        })
    }

    /// Records a success.
    #[inline]
    pub fn success(self) -> Recorded {
        self.record(Outcome::Success)
    }

    /// Records a failure.
    #[inline]
    pub fn failure(self) -> Recorded {
        self.record(Outcome::Failure)
    }

    /// Records an outcome that counts nowhere.
    #[inline]
    pub fn ignore(self) -> Recorded {
        self.record(Outcome::Ignored)
    }

    /// Records a failure that came with a request to pause (an HTTP 429 or
    /// 503 `Retry-After`, a provider's rate-limit reset): the breaker opens
    /// at once for `hint` (clamped to `max_trip_hint`), never shorter than
    /// its backoff would give. On a breaker that is already open, a later
    /// deadline lengthens the open period.
    pub fn trip_for(self, hint: Duration) -> Recorded {
        let ticks = self.handle.to_ticks(hint);
        self.finish(Finish {
            outcome: Outcome::Failure,
            duration: None,
            hint: Some(ticks),
            abandoned: false,
        })
    }

    /// Ends the permit as `verdict` says, with the call's duration when the
    /// caller measured it (see [`record_with_duration`](Self::record_with_duration)).
    #[inline]
    pub fn conclude(self, verdict: Verdict, took: Option<Duration>) -> Recorded {
        match (verdict, took) {
            (Verdict::TripFor(hint), _) => self.trip_for(hint),
            (Verdict::Record(outcome), Some(d)) => self.record_with_duration(outcome, d),
            (Verdict::Record(outcome), None) => self.record(outcome),
        }
    }

    /// [`conclude`](Self::conclude) on a permit the caller keeps in place:
    /// an adapter that holds the permit across a call ends it by reference,
    /// so the permit is never copied between its slot and an out-of-line
    /// record (a copy right after the permit's stores stalls on store
    /// forwarding, criterion group `call_api`). The permit is spent
    /// afterwards: dropping it abandons nothing, and ending it again records
    /// nothing and returns [`Recorded::Discarded`].
    #[doc(hidden)]
    #[inline]
    pub fn conclude_in_place(&mut self, verdict: Verdict, took: Option<Duration>) -> Recorded {
        if self.done {
            return Recorded::Discarded;
        }
        let f = match (verdict, took) {
            (Verdict::TripFor(hint), _) => Finish {
                outcome: Outcome::Failure,
                duration: None,
                hint: Some(self.handle.to_ticks(hint)),
                abandoned: false,
            },
            (Verdict::Record(outcome), took) => Finish {
                outcome,
                duration: took.map(|d| self.handle.to_ticks(d)),
                hint: None,
                abandoned: false,
            },
        };
        self.end(f)
    }

    /// The epoch the permit was granted in.
    pub fn epoch(&self) -> u64 {
        self.grant.epoch() as u64
    }

    /// The state the permit was granted in (`Closed`, `HalfOpen`,
    /// `MetricsOnly` or `Disabled`).
    pub fn state(&self) -> State {
        self.grant.state()
    }
}

impl<H> Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    /// The drop of an unrecorded permit: rare, so kept out of line and out
    /// of the inlined record path.
    #[cold]
    #[inline(never)]
    fn abandon(&mut self) {
        self.done = true;
        let outcome = self.handle.abandon_outcome();
        let _ = self.handle.finish(
            &self.grant,
            Finish {
                outcome,
                duration: None,
                hint: None,
                abandoned: true,
            },
        );
    }
}

impl<H> Drop for Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            self.abandon();
        }
    }
}

impl<H> fmt::Debug for Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("epoch", &self.grant.epoch())
            .field("state", &self.grant.state())
            .finish()
    }
}
