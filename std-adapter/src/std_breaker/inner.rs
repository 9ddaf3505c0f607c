//! The core breaker a [`StdBreaker`](super::StdBreaker) holds: one enum
//! variant per window kind, and the dispatch to it.

use super::permit::Finish;
use super::{BreakerSpec, WindowSpec, MAX_TIME_STRIPES};
use crate::clock::StdClock;
use crate::observe::StdObserver;
use fusebox_core::{AdoptOutcome, Exported, RestoreError, RestoreReport};
use fusebox_core::{
    AnyWindow, Breaker, BucketCell, ConfigError, DynCountWindow, DynTimeWindow, NoWindow, Permit,
    Recorded, Rejected, RingCell, Snapshot, State,
};
use std::sync::Arc;

type Core<W> = Breaker<StdClock, W, StdObserver>;
type CountCells = DynCountWindow<Box<[RingCell]>>;
type TimeCells = DynTimeWindow<Box<[BucketCell]>>;

macro_rules! std_windows {
    ($($variant:ident => $window:ty;)*) => {
        pub(crate) enum Inner {
            $($variant(Arc<Core<$window>>),)*
        }

        impl Clone for Inner {
            fn clone(&self) -> Self {
                match self {
                    $(Inner::$variant(b) => Inner::$variant(Arc::clone(b)),)*
                }
            }
        }

        pub(crate) enum BorrowedInner<'a> {
            $($variant(Permit<&'a Core<$window>>),)*
        }

        pub(crate) enum OwnedInner {
            $($variant(Permit<Arc<Core<$window>>>),)*
        }

        impl Inner {
            #[inline]
            pub(crate) fn acquire(&self) -> Result<BorrowedInner<'_>, Rejected> {
                match self {
                    $(Inner::$variant(b) => b.try_acquire().map(BorrowedInner::$variant),)*
                }
            }

            #[inline]
            pub(crate) fn acquire_owned(&self) -> Result<OwnedInner, Rejected> {
                match self {
                    $(Inner::$variant(b) => {
                        Breaker::try_acquire_owned(Arc::clone(b)).map(OwnedInner::$variant)
                    })*
                }
            }

            pub(crate) fn steer(&self) -> &dyn Steer {
                match self {
                    $(Inner::$variant(b) => &**b,)*
                }
            }
        }

        impl BorrowedInner<'_> {
            #[inline]
            pub(crate) fn finish(self, f: Finish) -> Recorded {
                match self {
                    $(BorrowedInner::$variant(p) => f.apply(p),)*
                }
            }
        }

        impl OwnedInner {
            #[inline]
            pub(crate) fn finish(self, f: Finish) -> Recorded {
                match self {
                    $(OwnedInner::$variant(p) => f.apply(p),)*
                }
            }
        }
    };
}

std_windows! {
    NoWindow => NoWindow;
    Count => CountCells;
    Time => TimeCells;
}

impl Inner {
    pub(crate) fn build(spec: &BreakerSpec, observer: StdObserver) -> Result<Inner, ConfigError> {
        let config = spec.config;
        Ok(match spec.window {
            WindowSpec::None => {
                Inner::NoWindow(Arc::new(Core::with_observer(StdClock, config, observer)?))
            }
            WindowSpec::Count { size } => {
                let window = super::count_window(size)?;
                Inner::Count(Arc::new(Breaker::with_window(
                    StdClock, config, window, observer,
                )?))
            }
            WindowSpec::Time { buckets } => {
                let stripes = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(MAX_TIME_STRIPES);
                let window = super::time_window(buckets, stripes)?;
                Inner::Time(Arc::new(Breaker::with_window(
                    StdClock, config, window, observer,
                )?))
            }
        })
    }
}

/// The window-independent part of a core breaker, as a trait object.
pub(crate) trait Steer {
    fn snapshot(&self) -> Snapshot;
    fn state(&self) -> State;
    fn observer(&self) -> &StdObserver;
    fn force_open(&self);
    fn metrics_only(&self);
    fn disable(&self);
    fn reset(&self);
    fn transition_to_half_open(&self);
    fn export(&self) -> Exported;
    fn restore(&self, value: &Exported) -> Result<RestoreReport, RestoreError>;
    fn adopt_open(&self, open_for: std::time::Duration) -> AdoptOutcome;
    fn fingerprint(&self) -> u64;
}

impl<W: AnyWindow> Steer for Core<W> {
    fn snapshot(&self) -> Snapshot {
        Breaker::snapshot(self)
    }
    fn state(&self) -> State {
        Breaker::state(self)
    }
    fn observer(&self) -> &StdObserver {
        Breaker::observer(self)
    }
    fn force_open(&self) {
        Breaker::force_open(self)
    }
    fn metrics_only(&self) {
        Breaker::metrics_only(self)
    }
    fn disable(&self) {
        Breaker::disable(self)
    }
    fn reset(&self) {
        Breaker::reset(self)
    }
    fn transition_to_half_open(&self) {
        Breaker::transition_to_half_open(self)
    }
    fn export(&self) -> Exported {
        Breaker::export(self)
    }
    fn restore(&self, value: &Exported) -> Result<RestoreReport, RestoreError> {
        Breaker::restore(self, value)
    }
    fn adopt_open(&self, open_for: std::time::Duration) -> AdoptOutcome {
        Breaker::adopt_open(self, open_for)
    }
    fn fingerprint(&self) -> u64 {
        Breaker::fingerprint(self)
    }
}
