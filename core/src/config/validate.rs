//! The checks of [`ConfigBuilder::build`](super::ConfigBuilder::build), and
//! those that depend on the window a breaker is built with.

#[cfg(feature = "throttle")]
use super::MAX_THROTTLE_K;
use super::{Backoff, Config, ConfigError, MAX_DURATION, MAX_JITTER, MAX_MULTIPLIER};
use crate::clock::{duration_to_ticks, ticks_to_duration};
#[cfg(feature = "ramp")]
use crate::shape::MAX_RAMP_STAGES;
use crate::state::{HALF_MAX, RUN_MAX};
use crate::window::WindowKind;
use core::time::Duration;

/// Every field of `c` in its range, and the fields that bound each other
/// consistent.
pub(super) const fn check(c: Config) -> Result<Config, ConfigError> {
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
    if let Err(e) = check_shaping(&c) {
        return Err(e);
    }
    Ok(c)
}

/// Progressive recovery and adaptive throttling (`docs/design.md`), each
/// with its cargo feature (without either there is nothing to check).
const fn check_shaping(c: &Config) -> Result<(), ConfigError> {
    #[cfg(feature = "ramp")]
    if let Err(e) = check_ramp(c) {
        return Err(e);
    }
    #[cfg(feature = "throttle")]
    if let Err(e) = check_throttle(c) {
        return Err(e);
    }
    #[cfg(not(any(feature = "ramp", feature = "throttle")))]
    let _ = c;
    Ok(())
}

/// Progressive recovery: `ramp_up` a duration, its stages 1..=8 strictly
/// increasing percentages.
#[cfg(feature = "ramp")]
const fn check_ramp(c: &Config) -> Result<(), ConfigError> {
    let stages = c.ramp_stages;
    if c.ramp_stages_set && c.ramp_up.is_none() {
        return Err(ConfigError::Missing {
            field: "ramp_up",
            needed_by: "ramp_stages",
        });
    }
    if let Some(d) = c.ramp_up {
        if let Err(e) = check_duration("ramp_up", d) {
            return Err(e);
        }
        if stages.is_empty() || stages.len() > MAX_RAMP_STAGES {
            return Err(ConfigError::out_of_range(
                "ramp_stages (count)",
                stages.len() as u64,
                1,
                MAX_RAMP_STAGES as u64,
            ));
        }
        let mut i = 0;
        let mut below = 0;
        while i < stages.len() {
            let p = stages.get(i);
            if p <= below || p > 100 {
                return Err(ConfigError::out_of_range(
                    "ramp_stages (percent, strictly increasing)",
                    p as u64,
                    below as u64 + 1,
                    100,
                ));
            }
            below = p;
            i += 1;
        }
    }
    Ok(())
}

/// Adaptive throttling: `K` in 1.0..=100, and a time window's span.
#[cfg(feature = "throttle")]
const fn check_throttle(c: &Config) -> Result<(), ConfigError> {
    if let Some(k) = c.throttle_k {
        if k.0 < 10_000 || k.0 > MAX_THROTTLE_K.0 {
            return Err(ConfigError::out_of_range(
                "throttle_k (basis points)",
                k.0 as u64,
                10_000,
                MAX_THROTTLE_K.0 as u64,
            ));
        }
        if c.window_span.is_none() {
            return Err(ConfigError::Missing {
                field: "window_span",
                needed_by: "throttle_k",
            });
        }
    }
    Ok(())
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

/// A config that the window or the target cannot hold: the error, and the
/// text a `const` construction panics with (a `const` panic cannot format),
/// chosen where the check fails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Misfit {
    pub(crate) error: ConfigError,
    pub(crate) panic: &'static str,
}

/// The checks that depend on the window a breaker is built with (its kind
/// and capacity) and the clock's rate: a rule that reads a window needs one,
/// a time window needs a span of at least one tick per bucket, and
/// `minimum_calls` must fit in a count window. Returns the width of a time
/// bucket in ticks (1 for the other kinds).
pub(crate) const fn check_window(
    c: &Config,
    hz: u64,
    kind: WindowKind,
    capacity: usize,
) -> Result<u64, Misfit> {
    if c.uses_window() && matches!(kind, WindowKind::None) {
        let field = if c.failure_rate.is_some() {
            "failure_rate"
        } else if c.slow_call_rate.is_some() {
            "slow_call_rate"
        } else {
            "trip_predicate"
        };
        return Err(Misfit {
            error: ConfigError::NeedsWindow { field },
            panic: "fusebox: a rate rule or trip predicate needs a window: use CountWindow<N> or TimeWindow<B>",
        });
    }
    #[cfg(feature = "throttle")]
    if c.throttle_k.is_some() && !matches!(kind, WindowKind::Time) {
        return Err(Misfit {
            error: ConfigError::NeedsWindow {
                field: "throttle_k",
            },
            panic: "fusebox: throttle_k needs a TimeWindow<B>",
        });
    }
    let mut width = 1;
    if let WindowKind::Time = kind {
        let span = match c.window_span {
            Some(s) => s,
            None => {
                return Err(Misfit {
                    error: ConfigError::Missing {
                        field: "window_span",
                        needed_by: "TimeWindow",
                    },
                    panic: "fusebox: a TimeWindow needs Config::window_span",
                })
            }
        };
        width = duration_to_ticks(span, hz) / capacity as u64;
        if width == 0 {
            // At least one clock tick per bucket, said as durations: the
            // caller and the config file write a span, not ticks.
            return Err(Misfit {
                error: ConfigError::duration_out_of_range(
                    "window_span",
                    span,
                    ticks_to_duration(capacity as u64, hz),
                    MAX_DURATION,
                ),
                panic: "fusebox: window_span is shorter than one tick per bucket",
            });
        }
    }
    let rates = c.failure_rate.is_some() || c.slow_call_rate.is_some();
    if matches!(kind, WindowKind::Count) && rates && c.minimum_calls as usize > capacity {
        return Err(Misfit {
            error: ConfigError::Inconsistent {
                field: "minimum_calls",
                value: c.minimum_calls as u64,
                other: "the window capacity",
                limit: capacity as u64,
            },
            panic: "fusebox: minimum_calls exceeds the window's capacity",
        });
    }
    Ok(width)
}

/// What a breaker's window holds, for [`Config::check_for`](super::Config::check_for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WindowShape {
    /// [`NoWindow`](crate::NoWindow).
    None,
    /// A count window of this many outcomes.
    Count(usize),
    /// A time window of this many buckets.
    Time(usize),
}
