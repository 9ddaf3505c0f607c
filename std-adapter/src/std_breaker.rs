//! [`StdBreaker`]: a named breaker whose window is chosen at run time.
//!
//! A breaker built from a config file learns its window size at run time, so
//! [`StdBreaker`] holds one of three core breakers: without a window, over a
//! [`DynCountWindow`] or over a [`DynTimeWindow`], whose cells are a boxed
//! slice allocated once, when the breaker is built (never per call). Each
//! call is one `match` on the variant and then the core's own code: the
//! adapter keeps no state of its own.

use crate::breaker::{CircuitBreaker, RecordPermit};
use crate::clock::StdClock;
use crate::observe::{CallDurations, StdObserver, TransitionEvent};
use fusebox_core::{
    AnyWindow, Breaker, BucketCell, Config, ConfigError, DynCountWindow, DynTimeWindow, NoWindow,
    Outcome, Permit, Recorded, Rejected, RingCell, Snapshot, State,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Which window a [`StdBreaker`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowSpec {
    /// No window: only the consecutive-failures rule (and hints) can trip it.
    None,
    /// The last `size` outcomes ([`DynCountWindow`]; 1 ..= 32 767).
    Count {
        /// Outcomes kept.
        size: usize,
    },
    /// The outcomes of the last [`Config::window_span`], in `buckets`
    /// buckets ([`DynTimeWindow`]), striped over up to
    /// [`MAX_TIME_STRIPES`] cache-padded rows (one per available core).
    Time {
        /// Buckets the span is cut into.
        buckets: usize,
    },
}

/// At most this many stripes in a time window: records from different
/// cores land in different cache lines; a failure sums all stripes.
pub const MAX_TIME_STRIPES: usize = 4;

/// What a [`StdBreaker`] is built from: a checked core [`Config`] and a
/// window. Config files produce these ([`crate::config`]).
#[derive(Clone, Copy, Debug)]
pub struct BreakerSpec {
    /// The core configuration.
    pub config: Config,
    /// The window.
    pub window: WindowSpec,
}

type Core<W> = Breaker<StdClock, W, StdObserver>;
type CountCells = DynCountWindow<Box<[RingCell]>>;
type TimeCells = DynTimeWindow<Box<[BucketCell]>>;

macro_rules! std_windows {
    ($($variant:ident => $window:ty;)*) => {
        enum Inner {
            $($variant(Arc<Core<$window>>),)*
        }

        impl Clone for Inner {
            fn clone(&self) -> Self {
                match self {
                    $(Inner::$variant(b) => Inner::$variant(Arc::clone(b)),)*
                }
            }
        }

        enum BorrowedInner<'a> {
            $($variant(Permit<&'a Core<$window>>),)*
        }

        enum OwnedInner {
            $($variant(Permit<Arc<Core<$window>>>),)*
        }

        impl Inner {
            #[inline]
            fn acquire(&self) -> Result<BorrowedInner<'_>, Rejected> {
                match self {
                    $(Inner::$variant(b) => b.try_acquire().map(BorrowedInner::$variant),)*
                }
            }

            #[inline]
            fn acquire_owned(&self) -> Result<OwnedInner, Rejected> {
                match self {
                    $(Inner::$variant(b) => {
                        Breaker::try_acquire_owned(Arc::clone(b)).map(OwnedInner::$variant)
                    })*
                }
            }

            fn steer(&self) -> &dyn Steer {
                match self {
                    $(Inner::$variant(b) => &**b,)*
                }
            }
        }

        impl BorrowedInner<'_> {
            #[inline]
            fn finish(self, f: Finish) -> Recorded {
                match self {
                    $(BorrowedInner::$variant(p) => f.apply(p),)*
                }
            }
        }

        impl OwnedInner {
            #[inline]
            fn finish(self, f: Finish) -> Recorded {
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
    fn build(spec: &BreakerSpec, observer: StdObserver) -> Result<Inner, ConfigError> {
        let config = spec.config;
        Ok(match spec.window {
            WindowSpec::None => {
                Inner::NoWindow(Arc::new(Core::with_observer(StdClock, config, observer)?))
            }
            WindowSpec::Count { size } => {
                let window = DynCountWindow::new((0..size).map(|_| RingCell::new()).collect())?;
                Inner::Count(Arc::new(Breaker::with_window(
                    StdClock, config, window, observer,
                )?))
            }
            WindowSpec::Time { buckets } => {
                let stripes = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(MAX_TIME_STRIPES);
                let cells = TimeCells::cells_needed(buckets, stripes);
                let window = DynTimeWindow::new(
                    (0..cells).map(|_| BucketCell::new()).collect(),
                    buckets,
                    stripes,
                )?;
                Inner::Time(Arc::new(Breaker::with_window(
                    StdClock, config, window, observer,
                )?))
            }
        })
    }
}

/// How a permit ends.
#[derive(Clone, Copy)]
enum Finish {
    Record(Outcome),
    WithDuration(Outcome, Duration),
    TripFor(Duration),
}

impl Finish {
    #[inline]
    fn apply<P: RecordPermit>(self, p: P) -> Recorded {
        match self {
            Finish::Record(o) => p.record(o),
            Finish::WithDuration(o, d) => p.record_with_duration(o, d),
            Finish::TripFor(d) => p.trip_for(d),
        }
    }
}

/// The window-independent part of a core breaker, as a trait object.
trait Steer {
    fn snapshot(&self) -> Snapshot;
    fn state(&self) -> State;
    fn config(&self) -> &Config;
    fn observer(&self) -> &StdObserver;
    fn force_open(&self);
    fn metrics_only(&self);
    fn disable(&self);
    fn reset(&self);
    fn transition_to_half_open(&self);
}

impl<W: AnyWindow> Steer for Core<W> {
    fn snapshot(&self) -> Snapshot {
        Breaker::snapshot(self)
    }
    fn state(&self) -> State {
        Breaker::state(self)
    }
    fn config(&self) -> &Config {
        Breaker::config(self)
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
}

/// A named breaker on [`StdClock`] with a [`StdObserver`], whose window is
/// chosen at run time. Cheap to clone: clones share one breaker.
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Config, Ratio, State};
/// use fusebox_std::{BreakerSpec, CallExt, StdBreaker, WindowSpec};
///
/// let config = Config::builder()
///     .failure_rate(Ratio::percent(50))
///     .minimum_calls(4)
///     .open_for(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// let payments = StdBreaker::new(
///     "payments",
///     BreakerSpec { config, window: WindowSpec::Count { size: 10 } },
/// )
/// .unwrap();
/// for _ in 0..4 {
///     let _ = payments.call(|| Err::<(), _>("connection refused"));
/// }
/// assert_eq!(payments.state(), State::Open);
/// assert!(payments.call(|| Ok::<_, ()>(1)).unwrap_err().is_rejected());
/// ```
#[derive(Clone)]
pub struct StdBreaker {
    name: Arc<str>,
    inner: Inner,
    spec: BreakerSpec,
}

impl StdBreaker {
    /// A breaker named `name`, with its own broadcast of transitions.
    pub fn new(name: impl Into<Arc<str>>, spec: BreakerSpec) -> Result<StdBreaker, ConfigError> {
        Self::with_events(name, spec, broadcast::channel(64).0)
    }

    /// A breaker named `name` that broadcasts its transitions on `events`
    /// (a [`Registry`](crate::Registry) passes its own).
    pub fn with_events(
        name: impl Into<Arc<str>>,
        spec: BreakerSpec,
        events: broadcast::Sender<TransitionEvent>,
    ) -> Result<StdBreaker, ConfigError> {
        let name = name.into();
        let observer = StdObserver::new(Arc::clone(&name), events);
        Ok(StdBreaker {
            name,
            inner: Inner::build(&spec, observer)?,
            spec,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The spec it was built from.
    pub fn spec(&self) -> &BreakerSpec {
        &self.spec
    }
    /// The core configuration.
    pub fn config(&self) -> &Config {
        self.inner.steer().config()
    }
    /// Its observer: totals, durations, transition counts.
    pub fn observer(&self) -> &StdObserver {
        self.inner.steer().observer()
    }
    /// A receiver of its transitions from now on (shared with every breaker
    /// of its registry, if it has one).
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.observer().subscribe()
    }

    /// Asks for a permit ([`Breaker::try_acquire`]).
    #[inline]
    pub fn try_acquire(&self) -> Result<StdPermit<'_>, Rejected> {
        self.inner.acquire().map(StdPermit)
    }
    /// Asks for a permit that holds the breaker itself, `'static`
    /// ([`Breaker::try_acquire_owned`]).
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<StdOwnedPermit, Rejected> {
        self.inner.acquire_owned().map(StdOwnedPermit)
    }

    /// The state; may perform a due open-to-half-open move ([`Breaker::state`]).
    pub fn state(&self) -> State {
        self.inner.steer().state()
    }
    /// A picture of the breaker; never writes ([`Breaker::snapshot`]).
    pub fn snapshot(&self) -> Snapshot {
        self.inner.steer().snapshot()
    }
    /// Operator: reject everything until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.inner.steer().force_open()
    }
    /// Operator: permit and record everything, never trip.
    pub fn metrics_only(&self) {
        self.inner.steer().metrics_only()
    }
    /// Operator: permit everything, record nothing.
    pub fn disable(&self) {
        self.inner.steer().disable()
    }
    /// Operator: back to `Closed`, empty window, backoff level 0.
    pub fn reset(&self) {
        self.inner.steer().reset()
    }
    /// Operator: start a half-open episode now.
    pub fn transition_to_half_open(&self) {
        self.inner.steer().transition_to_half_open()
    }
}

impl fmt::Debug for StdBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdBreaker")
            .field("name", &self.name)
            .field("window", &self.spec.window)
            .field("state", &self.snapshot().state)
            .finish()
    }
}

impl CircuitBreaker for StdBreaker {
    type Permit<'a> = StdPermit<'a>;
    type OwnedPermit = StdOwnedPermit;

    #[inline]
    fn acquire(&self) -> Result<StdPermit<'_>, Rejected> {
        self.try_acquire()
    }
    #[inline]
    fn acquire_owned(this: &Arc<Self>) -> Result<StdOwnedPermit, Rejected> {
        this.try_acquire_owned()
    }
    fn snapshot(&self) -> Snapshot {
        StdBreaker::snapshot(self)
    }
    #[inline]
    fn call_durations(&self) -> Option<&CallDurations> {
        let o = self.observer();
        o.call_timing().then(|| o.durations())
    }
}

/// A permit of a [`StdBreaker`], borrowing it. See [`fusebox_core::Permit`].
#[must_use = "a permit dropped without an outcome is abandoned"]
pub struct StdPermit<'a>(BorrowedInner<'a>);

/// A permit of a [`StdBreaker`] that holds the breaker, `'static`.
#[must_use = "a permit dropped without an outcome is abandoned"]
pub struct StdOwnedPermit(OwnedInner);

macro_rules! permit_methods {
    ($t:ty) => {
        impl $t {
            /// Records the outcome (see [`Permit::record`]).
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
            /// Records a failure that asks for a pause of `hint` (see [`Permit::trip_for`]).
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
