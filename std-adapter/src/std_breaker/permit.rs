//! Permits of a [`StdBreaker`](super::StdBreaker).

use super::inner::{BorrowedInner, OwnedInner};
use crate::breaker::RecordPermit;
use fusebox_core::{Outcome, Recorded};
use std::fmt;
use std::time::Duration;

/// How a permit ends.
#[derive(Clone, Copy)]
pub(crate) enum Finish {
    Record(Outcome),
    WithDuration(Outcome, Duration),
    TripFor(Duration),
}

impl Finish {
    #[inline]
    pub(crate) fn apply<P: RecordPermit>(self, p: P) -> Recorded {
        match self {
            Finish::Record(o) => p.record(o),
            Finish::WithDuration(o, d) => p.record_with_duration(o, d),
            Finish::TripFor(d) => p.trip_for(d),
        }
    }
}

/// A permit of a [`StdBreaker`](crate::StdBreaker), borrowing it. See [`fusebox_core::Permit`].
#[must_use = "a permit dropped without an outcome is abandoned"]
pub struct StdPermit<'a>(pub(crate) BorrowedInner<'a>);

/// A permit of a [`StdBreaker`](crate::StdBreaker) that holds the breaker, `'static`.
#[must_use = "a permit dropped without an outcome is abandoned"]
pub struct StdOwnedPermit(pub(crate) OwnedInner);

macro_rules! permit_methods {
    ($t:ty) => {
        impl $t {
            /// Records the outcome (see [`fusebox_core::Permit::record`]).
            pub fn record(self, outcome: Outcome) -> Recorded {
                self.0.finish(Finish::Record(outcome))
            }
            /// Records the outcome of a call that took `duration`.
            pub fn record_with_duration(self, outcome: Outcome, duration: Duration) -> Recorded {
                self.0.finish(Finish::WithDuration(outcome, duration))
            }
            /// Records a success.
            pub fn success(self) -> Recorded {
                self.record(Outcome::Success)
            }
            /// Records a failure.
            pub fn failure(self) -> Recorded {
                self.record(Outcome::Failure)
            }
            /// Records an outcome that counts nowhere.
            pub fn ignore(self) -> Recorded {
                self.record(Outcome::Ignored)
            }
            /// Records a failure that asks for a pause of `hint` (see [`fusebox_core::Permit::trip_for`]).
            pub fn trip_for(self, hint: Duration) -> Recorded {
                self.0.finish(Finish::TripFor(hint))
            }
        }

        impl RecordPermit for $t {
            #[inline]
            fn record(self, outcome: Outcome) -> Recorded {
                self.0.finish(Finish::Record(outcome))
            }
            #[inline]
            fn record_with_duration(self, outcome: Outcome, duration: Duration) -> Recorded {
                self.0.finish(Finish::WithDuration(outcome, duration))
            }
            #[inline]
            fn trip_for(self, hint: Duration) -> Recorded {
                self.0.finish(Finish::TripFor(hint))
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    };
}

permit_methods!(StdPermit<'_>);
permit_methods!(StdOwnedPermit);
