//! [`ConfigError`]: why a configuration was refused.

use core::fmt;
use core::time::Duration;

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
    pub(crate) const fn out_of_range(field: &'static str, value: u64, min: u64, max: u64) -> Self {
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
            ConfigError::NeedsWindow { field } if *field == "throttle_k" => write!(
                f,
                "throttle_k needs a time window: use TimeWindow<B> as the breaker's window type, with window_span"
            ),
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
