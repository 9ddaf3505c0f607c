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

use crate::state::{HALF_MAX, RUN_MAX};
use crate::window::WindowCounts;
use core::fmt;
use core::time::Duration;

/// A fraction in basis points (1/10 000). Rates, jitter and backoff
/// multipliers use it so that no float is needed on chips without an FPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ratio(u32);

impl Ratio {
    /// `bp` basis points: `Ratio::from_basis_points(2_500)` is 25 %.
    pub const fn from_basis_points(bp: u32) -> Ratio {
        Ratio(bp)
    }
    /// `p` percent.
    pub const fn percent(p: u32) -> Ratio {
        Ratio(p.saturating_mul(100))
    }
    /// The value in basis points.
    pub const fn basis_points(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

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
}

impl Config {
    /// A builder with every rule off and the documented defaults.
    pub const fn builder() -> ConfigBuilder {
        ConfigBuilder(Config {
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
    /// Whether any rule reads the window.
    pub const fn uses_window(&self) -> bool {
        self.failure_rate.is_some()
            || self.slow_call_rate.is_some()
            || self.trip_predicate.is_some()
    }
}

/// Builds a [`Config`]; every method is `const`.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Rule 1: trip after `n` failures with no success between them
    /// (`1..=16_777_215`; `1..=1023` on 32-bit targets).
    pub const fn consecutive_failures(mut self, n: u32) -> Self {
        self.0.consecutive_failures = Some(n);
        self
    }
    /// Rule 2: trip when `failures / calls >= rate` over a window holding at
    /// least `minimum_calls` outcomes (`0.01 %..=100 %`).
    pub const fn failure_rate(mut self, rate: Ratio) -> Self {
        self.0.failure_rate = Some(rate);
        self
    }
    /// Rule 3: trip when `slow / calls >= rate` (needs `slow_call_duration`).
    pub const fn slow_call_rate(mut self, rate: Ratio) -> Self {
        self.0.slow_call_rate = Some(rate);
        self
    }
    /// A call lasting at least `d` is slow. Also makes a slow half-open
    /// probe re-open the breaker.
    pub const fn slow_call_duration(mut self, d: Duration) -> Self {
        self.0.slow_call_duration = Some(d);
        self
    }
    /// Outcomes the window must hold before a rate rule may fire (default 1).
    pub const fn minimum_calls(mut self, n: u32) -> Self {
        self.0.minimum_calls = n;
        self
    }
    /// Span of a [`TimeWindow`](crate::TimeWindow) (required for one).
    pub const fn window_span(mut self, d: Duration) -> Self {
        self.0.window_span = Some(d);
        self
    }
    /// The first open period (default 30 s).
    pub const fn open_for(mut self, d: Duration) -> Self {
        self.0.open_for = d;
        self
    }
    /// Growth of the open period (default [`Backoff::Constant`]).
    pub const fn backoff(mut self, b: Backoff) -> Self {
        self.0.backoff = b;
        self
    }
    /// Spread each open period over `[1 - j, 1 + j]` of its length
    /// (default 0, at most 90 %), deterministically from the seed and epoch.
    pub const fn jitter(mut self, j: Ratio) -> Self {
        self.0.jitter = j;
        self
    }
    /// Seed of the jitter function (default 0); give each breaker its own.
    pub const fn jitter_seed(mut self, seed: u32) -> Self {
        self.0.jitter_seed = seed;
        self
    }
    /// Probes admitted per half-open episode (default 1).
    pub const fn half_open_permits(mut self, n: u32) -> Self {
        self.0.half_open_permits = n;
        self
    }
    /// Successful probes that close the breaker (default 1, at most
    /// `half_open_permits`).
    pub const fn success_threshold(mut self, n: u32) -> Self {
        self.0.success_threshold = n;
        self
    }
    /// Re-open a half-open episode still undecided after `d` (default: wait).
    pub const fn max_half_open_wait(mut self, d: Duration) -> Self {
        self.0.max_half_open_wait = Some(d);
        self
    }
    /// Clamp for [`trip_for`](crate::Permit::trip_for) hints (default 10 min).
    pub const fn max_trip_hint(mut self, d: Duration) -> Self {
        self.0.max_trip_hint = d;
        self
    }
    /// What an unrecorded dropped permit means (default [`Abandon::Ignore`]).
    pub const fn on_abandon(mut self, a: Abandon) -> Self {
        self.0.on_abandon = a;
        self
    }
    /// An extra trip rule over the window counts.
    pub const fn trip_predicate(mut self, p: TripPredicate) -> Self {
        self.0.trip_predicate = Some(p);
        self
    }

    /// Checks every field.
    pub const fn build(self) -> Result<Config, ConfigError> {
        let c = self.0;
        if let Some(n) = c.consecutive_failures {
            if n < 1 || n > RUN_MAX {
                return Err(ConfigError::out_of_range(
                    "consecutive_failures",
                    n as u64,
                    1,
                    RUN_MAX as u64,
                ));
            }
        }
        if let Some(r) = c.failure_rate {
            if r.0 < 1 || r.0 > 10_000 {
                return Err(ConfigError::out_of_range(
                    "failure_rate (basis points)",
                    r.0 as u64,
                    1,
                    10_000,
                ));
            }
        }
        if let Some(r) = c.slow_call_rate {
            if r.0 < 1 || r.0 > 10_000 {
                return Err(ConfigError::out_of_range(
                    "slow_call_rate (basis points)",
                    r.0 as u64,
                    1,
                    10_000,
                ));
            }
            if c.slow_call_duration.is_none() {
                return Err(ConfigError::Missing {
                    field: "slow_call_duration",
                    needed_by: "slow_call_rate",
                });
            }
        }
        if let Some(d) = c.slow_call_duration {
            if let Err(e) = check_duration("slow_call_duration", d) {
                return Err(e);
            }
        }
        if c.minimum_calls < 1 || c.minimum_calls > u16::MAX as u32 {
            return Err(ConfigError::out_of_range(
                "minimum_calls",
                c.minimum_calls as u64,
                1,
                u16::MAX as u64,
            ));
        }
        if let Some(d) = c.window_span {
            if let Err(e) = check_duration("window_span", d) {
                return Err(e);
            }
        }
        if let Err(e) = check_duration("open_for", c.open_for) {
            return Err(e);
        }
        match c.backoff {
            Backoff::Constant => {}
            Backoff::Exponential {
                base,
                multiplier,
                max,
            } => {
                if multiplier.0 < 10_000 || multiplier.0 > MAX_MULTIPLIER.0 {
                    return Err(ConfigError::out_of_range(
                        "backoff.multiplier (basis points)",
                        multiplier.0 as u64,
                        10_000,
                        MAX_MULTIPLIER.0 as u64,
                    ));
                }
                if let Err(e) = check_backoff_bounds(base, max, c.open_for) {
                    return Err(e);
                }
            }
            Backoff::Linear { base, step, max } => {
                if step.as_nanos() > MAX_DURATION.as_nanos() {
                    return Err(ConfigError::duration_out_of_range(
                        "backoff.step",
                        step,
                        Duration::ZERO,
                        MAX_DURATION,
                    ));
                }
                if let Err(e) = check_backoff_bounds(base, max, c.open_for) {
                    return Err(e);
                }
            }
        }
        if c.jitter.0 > MAX_JITTER.0 {
            return Err(ConfigError::out_of_range(
                "jitter (basis points)",
                c.jitter.0 as u64,
                0,
                MAX_JITTER.0 as u64,
            ));
        }
        if c.half_open_permits < 1 || c.half_open_permits > HALF_MAX {
            return Err(ConfigError::out_of_range(
                "half_open_permits",
                c.half_open_permits as u64,
                1,
                HALF_MAX as u64,
            ));
        }
        if c.success_threshold < 1 || c.success_threshold > c.half_open_permits {
            return Err(ConfigError::Inconsistent {
                field: "success_threshold",
                value: c.success_threshold as u64,
                other: "half_open_permits",
                limit: c.half_open_permits as u64,
            });
        }
        if let Some(d) = c.max_half_open_wait {
            if let Err(e) = check_duration("max_half_open_wait", d) {
                return Err(e);
            }
        }
        if let Err(e) = check_duration("max_trip_hint", c.max_trip_hint) {
            return Err(e);
        }
        Ok(c)
    }
}

const fn check_duration(field: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() || d.as_nanos() > MAX_DURATION.as_nanos() {
        Err(ConfigError::duration_out_of_range(
            field,
            d,
            Duration::from_nanos(1),
            MAX_DURATION,
        ))
    } else {
        Ok(())
    }
}

const fn check_backoff_bounds(
    base: Option<Duration>,
    max: Duration,
    open_for: Duration,
) -> Result<(), ConfigError> {
    let base = match base {
        Some(b) => {
            if let Err(e) = check_duration("backoff.base", b) {
                return Err(e);
            }
            b
        }
        None => open_for,
    };
    if max.as_nanos() < base.as_nanos() || max.as_nanos() > MAX_DURATION.as_nanos() {
        return Err(ConfigError::duration_out_of_range(
            "backoff.max",
            max,
            base,
            MAX_DURATION,
        ));
    }
    Ok(())
}

/// Why a configuration was refused. `Display` names the field, the value and
/// what is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// A number outside its range.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A duration outside its range.
    DurationOutOfRange {
        /// The field.
        field: &'static str,
        /// The value given, in nanoseconds.
        value_ns: u128,
        /// Smallest allowed, in nanoseconds.
        min_ns: u128,
        /// Largest allowed, in nanoseconds.
        max_ns: u128,
    },
    /// A field that another setting needs was not set.
    Missing {
        /// The missing field.
        field: &'static str,
        /// The setting that needs it.
        needed_by: &'static str,
    },
    /// A field that must not exceed another.
    Inconsistent {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The field it is bounded by.
        other: &'static str,
        /// That field's value (the largest allowed).
        limit: u64,
    },
    /// A rule that reads a window, on a breaker without one.
    NeedsWindow {
        /// The rule.
        field: &'static str,
    },
}

impl ConfigError {
    const fn out_of_range(field: &'static str, value: u64, min: u64, max: u64) -> Self {
        ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        }
    }
    pub(crate) const fn duration_out_of_range(
        field: &'static str,
        d: Duration,
        min: Duration,
        max: Duration,
    ) -> Self {
        ConfigError::DurationOutOfRange {
            field,
            value_ns: d.as_nanos(),
            min_ns: min.as_nanos(),
            max_ns: max.as_nanos(),
        }
    }
    /// The field at fault.
    pub const fn field(&self) -> &'static str {
        match self {
            ConfigError::OutOfRange { field, .. }
            | ConfigError::DurationOutOfRange { field, .. }
            | ConfigError::Missing { field, .. }
            | ConfigError::Inconsistent { field, .. }
            | ConfigError::NeedsWindow { field } => field,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::OutOfRange { field, value, min, max } => {
                write!(f, "{field} = {value} is out of range: allowed {min}..={max}")
            }
            ConfigError::DurationOutOfRange { field, value_ns, min_ns, max_ns } => write!(
                f,
                "{field} = {:?} is out of range: allowed {:?}..={:?}",
                nanos(*value_ns),
                nanos(*min_ns),
                nanos(*max_ns)
            ),
            ConfigError::Missing { field, needed_by } => write!(f, "{field} is required by {needed_by}"),
            ConfigError::Inconsistent { field, value, other, limit } => {
                write!(f, "{field} = {value} must be between 1 and {other} ({limit})")
            }
            ConfigError::NeedsWindow { field } => write!(
                f,
                "{field} needs a window: use CountWindow<N> or TimeWindow<B> as the breaker's window type"
            ),
        }
    }
}

fn nanos(n: u128) -> Duration {
    Duration::new((n / 1_000_000_000) as u64, (n % 1_000_000_000) as u32)
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn defaults_build_and_turn_every_rule_off() {
        let c = Config::builder().build().unwrap();
        assert_eq!(c.consecutive_failures(), None);
        assert!(!c.uses_window());
        assert_eq!(c.half_open_permits(), 1);
    }

    #[test]
    fn each_bad_field_is_named_with_its_range() {
        let cases: [(ConfigBuilder, &str); 12] = [
            (
                Config::builder().consecutive_failures(0),
                "consecutive_failures",
            ),
            (
                Config::builder().failure_rate(Ratio::from_basis_points(10_001)),
                "failure_rate (basis points)",
            ),
            (
                Config::builder().failure_rate(Ratio::from_basis_points(0)),
                "failure_rate (basis points)",
            ),
            (
                Config::builder().slow_call_rate(Ratio::percent(50)),
                "slow_call_duration",
            ),
            (Config::builder().minimum_calls(0), "minimum_calls"),
            (Config::builder().open_for(Duration::ZERO), "open_for"),
            (Config::builder().half_open_permits(0), "half_open_permits"),
            (
                Config::builder().half_open_permits(2).success_threshold(3),
                "success_threshold",
            ),
            (
                Config::builder().jitter(Ratio::percent(95)),
                "jitter (basis points)",
            ),
            (
                Config::builder().backoff(Backoff::Exponential {
                    base: None,
                    multiplier: Ratio::percent(50),
                    max: Duration::from_secs(60),
                }),
                "backoff.multiplier (basis points)",
            ),
            (
                Config::builder()
                    .open_for(Duration::from_secs(60))
                    .backoff(Backoff::Linear {
                        base: None,
                        step: Duration::from_secs(1),
                        max: Duration::from_secs(10),
                    }),
                "backoff.max",
            ),
            (
                Config::builder().max_half_open_wait(Duration::ZERO),
                "max_half_open_wait",
            ),
        ];
        for (b, field) in cases {
            let e = b.build().unwrap_err();
            assert_eq!(e.field(), field, "{e}");
            assert!(e.to_string().starts_with(field), "{e}");
        }
    }

    #[test]
    fn messages_state_the_allowed_range() {
        let e = Config::builder()
            .consecutive_failures(0)
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            std::format!("consecutive_failures = 0 is out of range: allowed 1..={RUN_MAX}")
        );
        let e = Config::builder()
            .half_open_permits(2)
            .success_threshold(3)
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "success_threshold = 3 must be between 1 and half_open_permits (2)"
        );
    }

    #[test]
    fn limits_hold_exactly_at_the_boundaries() {
        assert!(Config::builder()
            .consecutive_failures(RUN_MAX)
            .build()
            .is_ok());
        assert!(Config::builder()
            .consecutive_failures(RUN_MAX + 1)
            .build()
            .is_err());
        assert!(Config::builder()
            .half_open_permits(HALF_MAX)
            .build()
            .is_ok());
        assert!(Config::builder()
            .half_open_permits(HALF_MAX + 1)
            .build()
            .is_err());
        assert!(Config::builder()
            .failure_rate(Ratio::percent(100))
            .build()
            .is_ok());
        assert!(Config::builder().jitter(MAX_JITTER).build().is_ok());
    }
}
