//! What the adapter drives: any [`fusebox_core::Breaker`] or a [`StdBreaker`].
//!
//! [`CircuitBreaker`] is implemented for every core breaker and for the
//! runtime-configured [`StdBreaker`](crate::StdBreaker) (whose permits are
//! the core's), so the call
//! wrappers and the tower layer work with both. It only forwards to the
//! core: permits, outcomes and every rule stay there.

use crate::observe::CallDurations;
use fusebox_core::{
    AnyWindow, Breaker, Clock, Guard, Observer, Outcome, Permit, Recorded, Rejected, Snapshot,
    Verdict,
};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// A permit, whatever breaker it came from: the methods of
/// [`fusebox_core::Permit`] the adapter needs. Dropping it unrecorded
/// abandons it, as the core's permit does.
pub trait RecordPermit {
    /// See [`Permit::record`].
    fn record(self, outcome: Outcome) -> Recorded;
    /// See [`Permit::record_with_duration`].
    fn record_with_duration(self, outcome: Outcome, duration: Duration) -> Recorded;
    /// See [`Permit::trip_for`].
    fn trip_for(self, hint: Duration) -> Recorded;
    /// See [`Permit::conclude`].
    fn conclude(self, verdict: Verdict, took: Option<Duration>) -> Recorded;
    /// `conclude` by reference, for the call wrappers, which keep the permit
    /// in place across the call: see `Permit::conclude_in_place`. The permit
    /// is spent afterwards (dropping it abandons nothing).
    #[doc(hidden)]
    fn conclude_in_place(&mut self, verdict: Verdict, took: Option<Duration>) -> Recorded;
}

impl<H> RecordPermit for Permit<H>
where
    H: Deref,
    H::Target: Guard,
{
    #[inline]
    fn record(self, outcome: Outcome) -> Recorded {
        Permit::record(self, outcome)
    }
    #[inline]
    fn record_with_duration(self, outcome: Outcome, duration: Duration) -> Recorded {
        Permit::record_with_duration(self, outcome, duration)
    }
    #[inline]
    fn trip_for(self, hint: Duration) -> Recorded {
        Permit::trip_for(self, hint)
    }
    #[inline(always)]
    fn conclude(self, verdict: Verdict, took: Option<Duration>) -> Recorded {
        Permit::conclude(self, verdict, took)
    }
    #[inline(always)]
    fn conclude_in_place(&mut self, verdict: Verdict, took: Option<Duration>) -> Recorded {
        Permit::conclude_in_place(self, verdict, took)
    }
}

/// A breaker the call wrappers, the registry and the tower layer can drive.
pub trait CircuitBreaker {
    /// A permit that borrows the breaker.
    type Permit<'a>: RecordPermit
    where
        Self: 'a;
    /// A permit that owns a handle to the breaker (`'static` when the
    /// breaker is), for futures and services.
    type OwnedPermit: RecordPermit;

    /// Asks for a permit ([`Breaker::try_acquire`]).
    fn acquire(&self) -> Result<Self::Permit<'_>, Rejected>;
    /// Asks for an owned permit ([`Breaker::try_acquire_owned`]).
    fn acquire_owned(this: &Arc<Self>) -> Result<Self::OwnedPermit, Rejected>;
    /// A picture of the breaker ([`Breaker::snapshot`]).
    fn snapshot(&self) -> Snapshot;
    /// Where the call wrappers report call durations, if anywhere. When
    /// `None` they read no clock of their own.
    fn call_durations(&self) -> Option<&CallDurations> {
        None
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> CircuitBreaker for Breaker<C, W, O> {
    type Permit<'a>
        = Permit<&'a Breaker<C, W, O>>
    where
        Self: 'a;
    type OwnedPermit = Permit<Arc<Breaker<C, W, O>>>;

    #[inline]
    fn acquire(&self) -> Result<Self::Permit<'_>, Rejected> {
        self.try_acquire()
    }
    #[inline]
    fn acquire_owned(this: &Arc<Self>) -> Result<Self::OwnedPermit, Rejected> {
        Breaker::try_acquire_owned(Arc::clone(this))
    }
    fn snapshot(&self) -> Snapshot {
        Breaker::snapshot(self)
    }
}
