//! [`StdBreaker`]: a named breaker whose window is chosen at run time.
//!
//! A breaker built from a config file learns its window kind and size at run
//! time, so [`StdBreaker`] holds one core breaker over a
//! [`RuntimeWindow`](fusebox_core::RuntimeWindow) ([`StdWindow`]), whose
//! cells are a boxed slice allocated once, when the breaker is built (never
//! per call). Its permits are the core's own [`Permit`]s: the adapter keeps
//! no state of its own. The clock is a type parameter: [`DefaultClock`]
//! ([`CoarseClock`](crate::CoarseClock) for a time window, [`StdClock`](crate::StdClock)
//! otherwise), unless a test or a simulation drives a
//! [`ManualClock`](fusebox_core::ManualClock).

use crate::breaker::CircuitBreaker;
use crate::coarse_clock::DefaultClock;
use crate::observe::{CallDurations, StdObserver, TransitionEvent};
use fusebox_core::{
    AdoptOutcome, Breaker, Clock, Config, ConfigError, Exported, Permit, Rejected, RestoreError,
    RestoreReport, Snapshot, State,
};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

mod window;

pub use window::{
    count_window, time_window, StdWindow, WindowSpec, MAX_COUNT_WINDOW_SIZE, MAX_TIME_STRIPES,
    MAX_TIME_WINDOW_BUCKETS,
};

/// What a [`StdBreaker`] is built from: a checked core [`Config`] and a
/// window. Config files produce these ([`crate::config`]).
#[derive(Clone, Copy, Debug)]
pub struct BreakerSpec {
    /// The core configuration.
    pub config: Config,
    /// The window.
    pub window: WindowSpec,
}

/// The core breaker a [`StdBreaker`] on clock `C` holds.
pub type StdCore<C = DefaultClock> = Breaker<C, StdWindow, StdObserver>;
/// A permit of a [`StdBreaker`], borrowing it: the core's [`Permit`].
pub type StdPermit<'a, C = DefaultClock> = Permit<&'a StdCore<C>>;
/// A permit of a [`StdBreaker`] that holds the breaker, `'static`: the
/// core's [`Permit`].
pub type StdOwnedPermit<C = DefaultClock> = Permit<Arc<StdCore<C>>>;

/// A named breaker with a [`StdObserver`], whose window is chosen at run
/// time, on [`DefaultClock`] unless another clock `C` is given
/// ([`with_clock`](StdBreaker::with_clock)). Cheap to clone: clones share
/// one breaker.
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
///
/// On a [`ManualClock`](fusebox_core::ManualClock), a test moves time
/// instead of waiting out the open period:
///
/// ```
/// use std::time::Duration;
/// use fusebox_core::{Config, ManualClock, State};
/// use fusebox_std::{BreakerSpec, CallExt, StdBreaker, WindowSpec};
///
/// static CLOCK: ManualClock<1000> = ManualClock::new();
/// let config = Config::builder()
///     .consecutive_failures(1)
///     .open_for(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// let spec = BreakerSpec { config, window: WindowSpec::None };
/// let db = StdBreaker::with_clock(&CLOCK, "db", spec, StdBreaker::events()).unwrap();
/// let _ = db.call(|| Err::<(), _>("down"));
/// assert_eq!(db.state(), State::Open);
/// CLOCK.advance(30_000);
/// assert_eq!(db.state(), State::HalfOpen);
/// ```
pub struct StdBreaker<C: Clock = DefaultClock> {
    name: Arc<str>,
    core: Arc<StdCore<C>>,
    spec: BreakerSpec,
}

impl StdBreaker {
    /// A breaker named `name`, with its own broadcast of transitions.
    pub fn new(name: impl Into<Arc<str>>, spec: BreakerSpec) -> Result<StdBreaker, ConfigError> {
        Self::with_events(name, spec, Self::events())
    }

    /// A breaker named `name` that broadcasts its transitions on `events`
    /// (a [`Registry`](crate::Registry) passes its own).
    pub fn with_events(
        name: impl Into<Arc<str>>,
        spec: BreakerSpec,
        events: broadcast::Sender<TransitionEvent>,
    ) -> Result<StdBreaker, ConfigError> {
        StdBreaker::with_clock(DefaultClock::for_window(&spec.window), name, spec, events)
    }

    /// A broadcast of transitions of its own, as [`new`](Self::new) makes
    /// (64 events deep).
    pub fn events() -> broadcast::Sender<TransitionEvent> {
        broadcast::channel(64).0
    }
}

impl<C: Clock> StdBreaker<C> {
    /// A breaker named `name` on `clock`, broadcasting its transitions on
    /// `events`.
    pub fn with_clock(
        clock: C,
        name: impl Into<Arc<str>>,
        spec: BreakerSpec,
        events: broadcast::Sender<TransitionEvent>,
    ) -> Result<StdBreaker<C>, ConfigError> {
        let name = name.into();
        let observer = StdObserver::new(Arc::clone(&name), events);
        let window = spec.window.build()?;
        let core = Breaker::with_window(clock, spec.config, window, observer)?;
        Ok(StdBreaker {
            name,
            core: Arc::new(core),
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
        &self.spec.config
    }
    /// The core breaker it drives.
    pub fn core(&self) -> &StdCore<C> {
        &self.core
    }
    /// Its observer: totals, durations, transition counts.
    pub fn observer(&self) -> &StdObserver {
        self.core.observer()
    }
    /// A receiver of its transitions from now on (shared with every breaker
    /// of its registry, if it has one).
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.observer().subscribe()
    }

    /// Asks for a permit ([`fusebox_core::Breaker::try_acquire`]).
    #[inline]
    pub fn try_acquire(&self) -> Result<StdPermit<'_, C>, Rejected> {
        self.core.try_acquire()
    }
    /// Asks for a permit that holds the breaker itself, `'static`
    /// ([`fusebox_core::Breaker::try_acquire_owned`]).
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<StdOwnedPermit<C>, Rejected> {
        Breaker::try_acquire_owned(Arc::clone(&self.core))
    }

    /// The state; may perform a due open-to-half-open move ([`fusebox_core::Breaker::state`]).
    pub fn state(&self) -> State {
        self.core.state()
    }
    /// A picture of the breaker; never writes ([`fusebox_core::Breaker::snapshot`]).
    pub fn snapshot(&self) -> Snapshot {
        self.core.snapshot()
    }
    /// Operator: reject everything until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.core.force_open()
    }
    /// Operator: permit and record everything, never trip.
    pub fn metrics_only(&self) {
        self.core.metrics_only()
    }
    /// Operator: permit everything, record nothing.
    pub fn disable(&self) {
        self.core.disable()
    }
    /// Operator: back to `Closed`, empty window, backoff level 0.
    pub fn reset(&self) {
        self.core.reset()
    }
    /// Operator: back to `Closed`; the same as [`reset`](Self::reset)
    /// (DESIGN.md §2), named for symmetry with [`force_open`](Self::force_open).
    pub fn force_closed(&self) {
        self.reset()
    }
    /// Operator: start a half-open episode now.
    pub fn transition_to_half_open(&self) {
        self.core.transition_to_half_open()
    }
    /// What crosses a process boundary: state, backoff level, the open
    /// period's remaining time, the consecutive run
    /// ([`fusebox_core::Breaker::export`]; never writes).
    pub fn export(&self) -> Exported {
        self.core.export()
    }
    /// Installs an exported state as an operator transition with a new
    /// epoch ([`fusebox_core::Breaker::restore`]): an open period resumes
    /// for its remaining time; counts cross only under the same config
    /// fingerprint.
    pub fn restore(&self, value: &Exported) -> Result<RestoreReport, RestoreError> {
        self.core.restore(value)
    }
    /// Adopts a peer's open period: Closed → Open, or a later deadline
    /// while Open; never shortens one ([`fusebox_core::Breaker::adopt_open`]).
    pub fn adopt_open(&self, open_for: Duration) -> AdoptOutcome {
        self.core.adopt_open(open_for)
    }
    /// The fingerprint of its config and window shape
    /// ([`fusebox_core::Config::fingerprint`]).
    pub fn fingerprint(&self) -> u64 {
        self.core.fingerprint()
    }
}

impl<C: Clock> Clone for StdBreaker<C> {
    fn clone(&self) -> Self {
        StdBreaker {
            name: Arc::clone(&self.name),
            core: Arc::clone(&self.core),
            spec: self.spec,
        }
    }
}

impl<C: Clock> fmt::Debug for StdBreaker<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdBreaker")
            .field("name", &self.name)
            .field("window", &self.spec.window)
            .field("state", &self.snapshot().state)
            .finish()
    }
}

impl<C: Clock> CircuitBreaker for StdBreaker<C> {
    type Permit<'a>
        = StdPermit<'a, C>
    where
        C: 'a;
    type OwnedPermit = StdOwnedPermit<C>;

    #[inline]
    fn acquire(&self) -> Result<StdPermit<'_, C>, Rejected> {
        self.try_acquire()
    }
    #[inline]
    fn acquire_owned(this: &Arc<Self>) -> Result<StdOwnedPermit<C>, Rejected> {
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
