//! Configuration: what trips the breaker and how long it stays open.
//!
//! A [`Config`] is made only by [`ConfigBuilder::build`], which checks every
//! field and names the bad one. The builder is `const`, so a firmware's
//! configuration is checked when the firmware is compiled:
//!
//! ```
//! use core::time::Duration;
//! use fusebox_core::{Config, Ratio};
//!
//! const CONFIG: Config = match Config::builder()
//!     .consecutive_failures(5)
//!     .failure_rate(Ratio::percent(50))
//!     .minimum_calls(10)
//!     .open_for(Duration::from_secs(30))
//!     .build()
//! {
//!     Ok(c) => c,
//!     Err(_) => panic!("bad breaker config"),
//! };
//! assert_eq!(CONFIG.consecutive_failures(), Some(5));
//! ```

mod builder;
mod error;
mod ratio;
mod validate;

pub use builder::ConfigBuilder;
pub use error::ConfigError;
pub use ratio::Ratio;
pub use validate::WindowShape;
pub(crate) use validate::{check_window, Misfit};

use crate::settings::Settings;
#[cfg(feature = "ramp")]
use crate::shape::RampStages;
use crate::window::{WindowCounts, WindowKind};
use core::time::Duration;

/// How the open period grows with each failed half-open episode.
///
/// `k` counts the re-openings since the breaker was last closed (0 for a trip
/// from `Closed`). Bases default to `open_for`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Backoff {
    /// Always `open_for`.
    Constant,
    /// `base * multiplier^k`, at most `max`.
    Exponential {
        /// First open period; `None` means `open_for`.
        base: Option<Duration>,
        /// Growth per re-opening; `Ratio::from_basis_points(20_000)` doubles.
        multiplier: Ratio,
        /// Longest open period.
        max: Duration,
    },
    /// `base + k * step`, at most `max`.
    Linear {
        /// First open period; `None` means `open_for`.
        base: Option<Duration>,
        /// Growth per re-opening.
        step: Duration,
        /// Longest open period.
        max: Duration,
    },
}

impl Backoff {
    /// Which of the three shapes this is.
    pub const fn kind(&self) -> BackoffKind {
        match self {
            Backoff::Constant => BackoffKind::Constant,
            Backoff::Exponential { .. } => BackoffKind::Exponential,
            Backoff::Linear { .. } => BackoffKind::Linear,
        }
    }
}

/// The shape of a [`Backoff`] without its parameters: the one name for it
/// that the core, the config files and the effective-config writer share.
///
/// ```
/// use fusebox_core::{Backoff, BackoffKind};
/// assert_eq!(Backoff::Constant.kind(), BackoffKind::Constant);
/// assert_eq!(BackoffKind::from_name("linear"), Some(BackoffKind::Linear));
/// assert!(BackoffKind::ALL.iter().all(|k| BackoffKind::from_name(k.as_str()) == Some(*k)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BackoffKind {
    /// [`Backoff::Constant`].
    Constant,
    /// [`Backoff::Exponential`].
    Exponential,
    /// [`Backoff::Linear`].
    Linear,
}

impl BackoffKind {
    /// Every kind.
    pub const ALL: [BackoffKind; 3] = [
        BackoffKind::Constant,
        BackoffKind::Exponential,
        BackoffKind::Linear,
    ];

    /// The lower-case name used in config files (`constant`, `exponential`, `linear`).
    pub const fn as_str(self) -> &'static str {
        match self {
            BackoffKind::Constant => "constant",
            BackoffKind::Exponential => "exponential",
            BackoffKind::Linear => "linear",
        }
    }

    /// The kind named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn from_name(name: &str) -> Option<BackoffKind> {
        BackoffKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl core::fmt::Display for BackoffKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a permit dropped without an outcome means (a cancelled future, a
/// panic the adapter did not turn into a failure). Never a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Abandon {
    /// Like [`Outcome::Ignored`](crate::Outcome::Ignored): counts nowhere and
    /// gives a half-open probe slot back. The default.
    Ignore,
    /// Like [`Outcome::Failure`](crate::Outcome::Failure).
    Failure,
}

/// A custom trip rule over the window counts (gobreaker's `ReadyToTrip`),
/// judged like the built-in rules: when a failure or slow outcome is recorded.
pub type TripPredicate = fn(&WindowCounts) -> bool;

/// Longest duration any field accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);
/// Largest backoff multiplier (100x).
pub const MAX_MULTIPLIER: Ratio = Ratio(1_000_000);
/// Largest jitter (90 %).
pub const MAX_JITTER: Ratio = Ratio(9_000);
#[cfg(feature = "throttle")]
/// The largest `throttle_k` (100): beyond it throttling never starts.
pub const MAX_THROTTLE_K: Ratio = Ratio(1_000_000);

/// A checked breaker configuration, made only by [`ConfigBuilder::build`],
/// which checks every field and names the bad one. The builder is `const`,
/// so a firmware's configuration is checked when the firmware is compiled
/// (see the crate's quick start).
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) failure_rate: Option<Ratio>,
    pub(crate) slow_call_rate: Option<Ratio>,
    pub(crate) slow_call_duration: Option<Duration>,
    pub(crate) minimum_calls: u32,
    pub(crate) window_span: Option<Duration>,
    pub(crate) open_for: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Ratio,
    pub(crate) jitter_seed: u32,
    pub(crate) half_open_permits: u32,
    pub(crate) success_threshold: u32,
    pub(crate) max_half_open_wait: Option<Duration>,
    pub(crate) max_trip_hint: Duration,
    pub(crate) on_abandon: Abandon,
    pub(crate) trip_predicate: Option<TripPredicate>,
    #[cfg(feature = "ramp")]
    pub(crate) ramp_up: Option<Duration>,
    #[cfg(feature = "ramp")]
    pub(crate) ramp_stages: RampStages,
    /// Whether `ramp_stages` was set (a ramp's stages without `ramp_up` is an error).
    #[cfg(feature = "ramp")]
    pub(crate) ramp_stages_set: bool,
    #[cfg(feature = "throttle")]
    pub(crate) throttle_k: Option<Ratio>,
}

impl Config {
    /// A builder with every rule off and the documented defaults.
    pub const fn builder() -> ConfigBuilder {
        ConfigBuilder::from_defaults(Config {
            consecutive_failures: None,
            failure_rate: None,
            slow_call_rate: None,
            slow_call_duration: None,
            minimum_calls: 1,
            window_span: None,
            open_for: Duration::from_secs(30),
            backoff: Backoff::Constant,
            jitter: Ratio(0),
            jitter_seed: 0,
            half_open_permits: 1,
            success_threshold: 1,
            max_half_open_wait: None,
            max_trip_hint: Duration::from_secs(600),
            on_abandon: Abandon::Ignore,
            trip_predicate: None,
            #[cfg(feature = "ramp")]
            ramp_up: None,
            #[cfg(feature = "ramp")]
            ramp_stages: RampStages::DEFAULT,
            #[cfg(feature = "ramp")]
            ramp_stages_set: false,
            #[cfg(feature = "throttle")]
            throttle_k: None,
        })
    }

    /// Rule 1: trip after this many failures in a row.
    pub const fn consecutive_failures(&self) -> Option<u32> {
        self.consecutive_failures
    }
    /// Rule 2: trip when the window's failure rate reaches this.
    pub const fn failure_rate(&self) -> Option<Ratio> {
        self.failure_rate
    }
    /// Rule 3: trip when the window's slow-call rate reaches this.
    pub const fn slow_call_rate(&self) -> Option<Ratio> {
        self.slow_call_rate
    }
    /// A call at least this long is slow.
    pub const fn slow_call_duration(&self) -> Option<Duration> {
        self.slow_call_duration
    }
    /// Rate rules need at least this many outcomes in the window.
    pub const fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }
    /// Span of a time window.
    pub const fn window_span(&self) -> Option<Duration> {
        self.window_span
    }
    /// The first open period.
    pub const fn open_for(&self) -> Duration {
        self.open_for
    }
    /// Growth of the open period.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }
    /// Jitter fraction of the open period.
    pub const fn jitter(&self) -> Ratio {
        self.jitter
    }
    /// Seed of the jitter function.
    pub const fn jitter_seed(&self) -> u32 {
        self.jitter_seed
    }
    /// Probes admitted per half-open episode.
    pub const fn half_open_permits(&self) -> u32 {
        self.half_open_permits
    }
    /// Successful probes that close the breaker.
    pub const fn success_threshold(&self) -> u32 {
        self.success_threshold
    }
    /// A half-open episode undecided after this re-opens.
    pub const fn max_half_open_wait(&self) -> Option<Duration> {
        self.max_half_open_wait
    }
    /// Longest open period a [`trip_for`](crate::Permit::trip_for) hint asks.
    pub const fn max_trip_hint(&self) -> Duration {
        self.max_trip_hint
    }
    /// What an unrecorded dropped permit means.
    pub const fn on_abandon(&self) -> Abandon {
        self.on_abandon
    }
    /// The custom trip rule, if any.
    pub const fn trip_predicate(&self) -> Option<TripPredicate> {
        self.trip_predicate
    }
    /// Progressive recovery: how long the ramp after a close lasts (`None`: off).
    #[cfg(feature = "ramp")]
    pub const fn ramp_up(&self) -> Option<Duration> {
        self.ramp_up
    }
    /// Progressive recovery: each stage's share of calls, in percent.
    #[cfg(feature = "ramp")]
    pub const fn ramp_stages(&self) -> RampStages {
        self.ramp_stages
    }
    /// Adaptive throttling's `K` (`None`: off).
    #[cfg(feature = "throttle")]
    pub const fn throttle_k(&self) -> Option<Ratio> {
        self.throttle_k
    }
    /// The checks a breaker's construction makes against its window and its
    /// clock's rate ([`Breaker::try_new`](crate::Breaker::try_new),
    /// [`Breaker::with_window`](crate::Breaker::with_window)), without
    /// building a breaker or allocating a window: a rate rule needs a window,
    /// a time window a span of at least one tick per bucket, `minimum_calls`
    /// must fit a count window, and the open periods must fit the target's
    /// deadline range.
    ///
    /// ```
    /// use fusebox_core::{Config, Ratio, WindowShape};
    /// let c = Config::builder().failure_rate(Ratio::percent(50)).minimum_calls(10).build().unwrap();
    /// assert!(c.check_for(WindowShape::Count(20), 1_000).is_ok());
    /// assert_eq!(c.check_for(WindowShape::Count(5), 1_000).unwrap_err().field(), "minimum_calls");
    /// assert_eq!(c.check_for(WindowShape::None, 1_000).unwrap_err().field(), "failure_rate");
    /// assert_eq!(c.check_for(WindowShape::Time(0), 1_000).unwrap_err().field(), "window.buckets");
    /// ```
    pub const fn check_for(
        &self,
        window: WindowShape,
        ticks_per_second: u64,
    ) -> Result<(), ConfigError> {
        let (kind, capacity) = match window {
            WindowShape::None => (WindowKind::None, 0),
            WindowShape::Count(n) => (WindowKind::Count, n),
            WindowShape::Time(b) => (WindowKind::Time, b),
        };
        if capacity == 0 && !matches!(kind, WindowKind::None) {
            let field = match kind {
                WindowKind::Time => "window.buckets",
                _ => "window.size",
            };
            return Err(ConfigError::OutOfRange {
                field,
                value: 0,
                min: 1,
                max: u64::MAX,
            });
        }
        match Settings::new(self, ticks_per_second, kind, capacity) {
            Ok(_) => Ok(()),
            Err(m) => Err(m.error),
        }
    }
    /// Whether any rule reads the window.
    pub const fn uses_window(&self) -> bool {
        self.failure_rate.is_some()
            || self.slow_call_rate.is_some()
            || self.trip_predicate.is_some()
    }
}

#[cfg(test)]
mod tests;
