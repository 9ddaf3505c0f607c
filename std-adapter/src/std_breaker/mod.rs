//! [`StdBreaker`]: a named breaker whose window is chosen at run time.
//!
//! A breaker built from a config file learns its window size at run time, so
//! [`StdBreaker`] holds one of three core breakers: without a window, over a
//! [`DynCountWindow`](fusebox_core::DynCountWindow) or over a [`DynTimeWindow`](fusebox_core::DynTimeWindow), whose cells are a boxed
//! slice allocated once, when the breaker is built (never per call). Each
//! call is one `match` on the variant and then the core's own code: the
//! adapter keeps no state of its own.

use crate::breaker::CircuitBreaker;
use crate::observe::{CallDurations, StdObserver, TransitionEvent};
use fusebox_core::{AdoptOutcome, Exported, RestoreError, RestoreReport};
use fusebox_core::{
    BucketCell, Config, ConfigError, DynCountWindow, DynTimeWindow, Rejected, RingCell, Snapshot,
    State, WindowShape,
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
    /// The last `size` outcomes ([`DynCountWindow`](fusebox_core::DynCountWindow); 1 ..= 32 767).
    Count {
        /// Outcomes kept.
        size: usize,
    },
    /// The outcomes of the last [`Config::window_span`], in `buckets`
    /// buckets ([`DynTimeWindow`](fusebox_core::DynTimeWindow)), striped over up to
    /// [`MAX_TIME_STRIPES`] cache-padded rows (one per available core).
    Time {
        /// Buckets the span is cut into.
        buckets: usize,
    },
}

/// At most this many stripes in a time window: records from different
/// cores land in different cache lines; a failure sums all stripes.
pub const MAX_TIME_STRIPES: usize = 4;

/// The largest [`WindowSpec::Count`] size: 32 767 (127 where the core's
/// state word is 32-bit). A ring of this size takes 128 KiB.
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub const MAX_COUNT_WINDOW_SIZE: usize = 32_767;
/// The largest [`WindowSpec::Count`] size: 32 767 (127 where the core's
/// state word is 32-bit).
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub const MAX_COUNT_WINDOW_SIZE: usize = 127;

/// The largest [`WindowSpec::Time`] bucket count: 4 194 304 (1 024 where
/// the core's state word is 32-bit). At this limit a window takes 64 MiB
/// per stripe, so a time window's memory is `16 B × buckets × stripes`.
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub const MAX_TIME_WINDOW_BUCKETS: usize = 1 << 22;
/// The largest [`WindowSpec::Time`] bucket count: 4 194 304 (1 024 where
/// the core's state word is 32-bit).
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub const MAX_TIME_WINDOW_BUCKETS: usize = 1 << 10;

impl WindowSpec {
    /// The most heap a breaker's window takes: with [`MAX_TIME_STRIPES`]
    /// stripes for a time window (fewer on a machine with fewer cores).
    ///
    /// ```
    /// use fusebox_std::WindowSpec;
    /// assert_eq!(WindowSpec::Count { size: 100 }.max_bytes(), 400);
    /// ```
    pub fn max_bytes(&self) -> usize {
        match *self {
            WindowSpec::None => 0,
            WindowSpec::Count { size } => size.saturating_mul(std::mem::size_of::<RingCell>()),
            WindowSpec::Time { buckets } => buckets
                .saturating_add(DynTimeWindow::<Box<[BucketCell]>>::PAD)
                .saturating_mul(MAX_TIME_STRIPES)
                .saturating_mul(std::mem::size_of::<BucketCell>()),
        }
    }

    /// The shape the core checks a config against ([`Config::check_for`]).
    pub fn shape(&self) -> WindowShape {
        match *self {
            WindowSpec::None => WindowShape::None,
            WindowSpec::Count { size } => WindowShape::Count(size),
            WindowSpec::Time { buckets } => WindowShape::Time(buckets),
        }
    }

    /// Checks the size against its limit ([`MAX_COUNT_WINDOW_SIZE`],
    /// [`MAX_TIME_WINDOW_BUCKETS`]) without allocating anything.
    ///
    /// ```
    /// use fusebox_std::WindowSpec;
    /// assert!(WindowSpec::Count { size: 100 }.check().is_ok());
    /// assert!(WindowSpec::Count { size: 4_294_967_295 }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        let (field, value, max) = match *self {
            WindowSpec::None => return Ok(()),
            WindowSpec::Count { size } => ("window.size", size, MAX_COUNT_WINDOW_SIZE),
            WindowSpec::Time { buckets } => ("window.buckets", buckets, MAX_TIME_WINDOW_BUCKETS),
        };
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(ConfigError::OutOfRange {
                field,
                value: value as u64,
                min: 1,
                max: max as u64,
            })
        }
    }
}

/// A count window of `size` outcomes on the heap; the size is checked
/// before anything is allocated.
pub fn count_window(size: usize) -> Result<DynCountWindow<Box<[RingCell]>>, ConfigError> {
    WindowSpec::Count { size }.check()?;
    DynCountWindow::new((0..size).map(|_| RingCell::new()).collect())
}

/// A time window of `buckets` buckets in `stripes` stripes (at most
/// [`MAX_TIME_STRIPES`]) on the heap; both are checked before anything is
/// allocated.
pub fn time_window(
    buckets: usize,
    stripes: usize,
) -> Result<DynTimeWindow<Box<[BucketCell]>>, ConfigError> {
    WindowSpec::Time { buckets }.check()?;
    if !(1..=MAX_TIME_STRIPES).contains(&stripes) {
        return Err(ConfigError::OutOfRange {
            field: "stripes",
            value: stripes as u64,
            min: 1,
            max: MAX_TIME_STRIPES as u64,
        });
    }
    let cells = DynTimeWindow::<Box<[BucketCell]>>::cells_needed(buckets, stripes);
    DynTimeWindow::new(
        (0..cells).map(|_| BucketCell::new()).collect(),
        buckets,
        stripes,
    )
}

/// What a [`StdBreaker`] is built from: a checked core [`Config`] and a
/// window. Config files produce these ([`crate::config`]).
#[derive(Clone, Copy, Debug)]
pub struct BreakerSpec {
    /// The core configuration.
    pub config: Config,
    /// The window.
    pub window: WindowSpec,
}

mod inner;
mod permit;

use inner::Inner;
pub use permit::{StdOwnedPermit, StdPermit};

/// A named breaker on [`StdClock`](crate::StdClock) with a [`StdObserver`], whose window is
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
        &self.spec.config
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

    /// Asks for a permit ([`fusebox_core::Breaker::try_acquire`]).
    #[inline]
    pub fn try_acquire(&self) -> Result<StdPermit<'_>, Rejected> {
        self.inner.acquire().map(StdPermit)
    }
    /// Asks for a permit that holds the breaker itself, `'static`
    /// ([`fusebox_core::Breaker::try_acquire_owned`]).
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<StdOwnedPermit, Rejected> {
        self.inner.acquire_owned().map(StdOwnedPermit)
    }

    /// The state; may perform a due open-to-half-open move ([`fusebox_core::Breaker::state`]).
    pub fn state(&self) -> State {
        self.inner.steer().state()
    }
    /// A picture of the breaker; never writes ([`fusebox_core::Breaker::snapshot`]).
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
    /// Operator: back to `Closed`; the same as [`reset`](Self::reset)
    /// (DESIGN.md §2), named for symmetry with [`force_open`](Self::force_open).
    pub fn force_closed(&self) {
        self.reset()
    }
    /// Operator: start a half-open episode now.
    pub fn transition_to_half_open(&self) {
        self.inner.steer().transition_to_half_open()
    }
    /// What crosses a process boundary: state, backoff level, the open
    /// period's remaining time, the consecutive run
    /// ([`fusebox_core::Breaker::export`]; never writes).
    pub fn export(&self) -> Exported {
        self.inner.steer().export()
    }
    /// Installs an exported state as an operator transition with a new
    /// epoch ([`fusebox_core::Breaker::restore`]): an open period resumes
    /// for its remaining time; counts cross only under the same config
    /// fingerprint.
    pub fn restore(&self, value: &Exported) -> Result<RestoreReport, RestoreError> {
        self.inner.steer().restore(value)
    }
    /// Adopts a peer's open period: Closed → Open, or a later deadline
    /// while Open; never shortens one ([`fusebox_core::Breaker::adopt_open`]).
    pub fn adopt_open(&self, open_for: Duration) -> AdoptOutcome {
        self.inner.steer().adopt_open(open_for)
    }
    /// The fingerprint of its config and window shape
    /// ([`fusebox_core::Config::fingerprint`]).
    pub fn fingerprint(&self) -> u64 {
        self.inner.steer().fingerprint()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limits_are_the_cores() {
        let cells: Vec<RingCell> = (0..MAX_COUNT_WINDOW_SIZE)
            .map(|_| RingCell::new())
            .collect();
        assert!(DynCountWindow::new(cells.into_boxed_slice()).is_ok());
        let field = |buckets| match DynTimeWindow::new(&[][..], buckets, 1) {
            Err(ConfigError::OutOfRange { field, .. }) => field,
            _ => "",
        };
        // An empty slice passes the core's bucket check only within its limit.
        assert_eq!(field(MAX_TIME_WINDOW_BUCKETS), "window cells");
        assert_eq!(field(MAX_TIME_WINDOW_BUCKETS + 1), "window.buckets");
        assert!(count_window(MAX_COUNT_WINDOW_SIZE + 1).is_err());
        assert!(count_window(0).is_err());
        assert!(time_window(MAX_TIME_WINDOW_BUCKETS + 1, 1).is_err());
        assert!(time_window(10, MAX_TIME_STRIPES + 1).is_err());
        assert!(time_window(10, 1).is_ok());
    }
}
