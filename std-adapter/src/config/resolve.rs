//! From the fields of a file to a [`BreakerSpec`], through the core's builder
//! (which does the checking) and the core's window checks (`Config::check_for`).

use super::error::{ConfigFileError, ErrorKind};
use super::fields::{BreakerFields, Origin, WindowFields};
use crate::std_breaker::{BreakerSpec, WindowSpec};
use fusebox_core::{Backoff, BackoffKind, Config, ConfigError, Ratio};
use std::time::Duration;

/// The most memory the windows of one file's breakers may take together:
/// 1 GiB (three time windows at the bucket limit, each 256 MiB on four
/// stripes; a count window at its limit takes 128 KiB).
pub const MAX_FILE_WINDOW_BYTES: usize = 1 << 30;

fn ratio(x: f64) -> Ratio {
    Ratio::from_basis_points((x * 10_000.0).round() as u32)
}

/// FNV-1a of the name, so that breakers of one file jitter differently.
fn seed(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// `window_bytes`: what the file's breakers before this one take; this
/// one's window is added, and refused past [`MAX_FILE_WINDOW_BYTES`].
pub(crate) fn spec(
    origin: &Origin<'_>,
    fields: BreakerFields,
    window_bytes: &mut usize,
) -> Result<BreakerSpec, ConfigFileError> {
    let f = fields.with_preset();
    let mut b = Config::builder();
    if let Some(n) = f.consecutive_failures {
        b = b.consecutive_failures(n);
    }
    let mut rate_rule = None;
    if let Some(r) = f.failure_rate {
        b = b.failure_rate(ratio(r));
        rate_rule = Some("failure_rate");
    }
    if let Some(r) = f.slow_call_rate {
        b = b.slow_call_rate(ratio(r));
        rate_rule = rate_rule.or(Some("slow_call_rate"));
    }
    if let Some(d) = f.slow_call_duration {
        b = b.slow_call_duration(d);
    }
    if let Some(n) = f.minimum_calls {
        b = b.minimum_calls(n);
    }
    let window = match f.window {
        None => {
            if let Some(rule) = rate_rule {
                return Err(origin.err(
                    "window",
                    ErrorKind::Missing {
                        needed_by: rule.into(),
                    },
                ));
            }
            WindowSpec::None
        }
        Some(WindowFields::Count { size }) => WindowSpec::Count { size },
        Some(WindowFields::Time { span, buckets }) => {
            b = b.window_span(span);
            WindowSpec::Time { buckets }
        }
    };
    if let Some(d) = f.open_for {
        b = b.open_for(d);
    }
    if let Some(bo) = f.backoff {
        let max = bo.max.unwrap_or(Duration::ZERO);
        b = b.backoff(match bo.kind {
            BackoffKind::Constant => Backoff::Constant,
            BackoffKind::Exponential => Backoff::Exponential {
                base: bo.base,
                multiplier: ratio(bo.multiplier.unwrap_or(2.0)),
                max,
            },
            BackoffKind::Linear => Backoff::Linear {
                base: bo.base,
                step: bo.step.unwrap_or(Duration::ZERO),
                max,
            },
        });
        if let Some(j) = bo.jitter {
            b = b.jitter(ratio(j));
        }
    }
    b = b.jitter_seed(f.jitter_seed.unwrap_or_else(|| seed(origin.breaker)));
    if let Some(n) = f.half_open_permits {
        b = b.half_open_permits(n);
    }
    if let Some(n) = f.success_threshold {
        b = b.success_threshold(n);
    }
    if let Some(d) = f.max_half_open_wait {
        b = b.max_half_open_wait(d);
    }
    if let Some(d) = f.max_trip_hint {
        b = b.max_trip_hint(d);
    }
    if let Some(a) = f.on_abandon {
        b = b.on_abandon(a);
    }
    if let Some(d) = f.ramp_up {
        b = b.ramp_up(d);
    }
    if let Some(stages) = &f.ramp_stages {
        b = b.ramp_stages(stages);
    }
    if let Some(k) = f.throttle_k {
        if !matches!(window, WindowSpec::Time { .. }) {
            return Err(origin.err(
                "throttle_k",
                ErrorKind::Inconsistent(
                    "adaptive throttling counts over a time window: \
                     add window = { kind = \"time\", span = \"...\" }"
                        .into(),
                ),
            ));
        }
        b = b.throttle_k(ratio(k));
    }
    let config = b.build().map_err(|e| core_error(origin, e, NANOS))?;
    let spec = BreakerSpec { config, window };
    // Every program that loads the file holds all its breakers at once.
    *window_bytes = window_bytes.saturating_add(window.max_bytes());
    if *window_bytes > MAX_FILE_WINDOW_BYTES {
        let mib = |b: usize| b.div_ceil(1 << 20);
        return Err(origin.err(
            "window",
            ErrorKind::Inconsistent(format!(
                "the windows of the file's breakers up to this one would take {} MiB, \
                 more than the {} MiB a config file may ask for",
                mib(*window_bytes),
                mib(MAX_FILE_WINDOW_BYTES)
            )),
        ));
    }
    // What depends on the window (its size, minimum_calls against its
    // capacity, a span of at least one tick per bucket) and on the clock is
    // checked now, without building a breaker or allocating its window, so
    // that the file is blamed, not the first call.
    spec.window
        .check()
        .and_then(|()| config.check_for(window.shape(), NANOS))
        .map_err(|e| core_error(origin, e, NANOS))?;
    Ok(spec)
}

/// The file's name for a field the core names.
fn file_field(core: &str) -> &str {
    match core {
        "jitter" => "backoff.jitter",
        "window_span" => "window.span",
        other => other,
    }
}

/// [`StdClock`](crate::StdClock)'s ticks per second.
const NANOS: u64 = 1_000_000_000;

/// A core error in the file's terms: its field names and units (`ticks_per_second`
/// is the rate of the clock the breaker was built on).
pub(crate) fn core_error(
    origin: &Origin<'_>,
    e: ConfigError,
    ticks_per_second: u64,
) -> ConfigFileError {
    let ticks_to_ns = |t: u64| t as u128 * 1_000_000_000 / ticks_per_second.max(1) as u128;
    let human = |ns: u128| {
        humantime::format_duration(Duration::from_nanos(ns.min(u64::MAX as u128) as u64))
            .to_string()
    };
    match e {
        // The core's shortest span is one clock tick per bucket.
        ConfigError::DurationOutOfRange {
            field: "window_span",
            value_ns,
            min_ns,
            max_ns,
        } => origin.err(
            "window.span",
            ErrorKind::OutOfRange {
                value: human(value_ns),
                allowed: format!(
                    "{}..={} (at least one clock tick, {}, per bucket)",
                    human(min_ns),
                    human(max_ns),
                    human(ticks_to_ns(1)),
                ),
            },
        ),
        ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        } => origin.err(
            file_field(field),
            ErrorKind::OutOfRange {
                value: value.to_string(),
                allowed: format!("{min}..={max}"),
            },
        ),
        ConfigError::DurationOutOfRange {
            field,
            value_ns,
            min_ns,
            max_ns,
        } => origin.err(
            file_field(field),
            ErrorKind::OutOfRange {
                value: human(value_ns),
                allowed: format!("{}..={}", human(min_ns), human(max_ns)),
            },
        ),
        ConfigError::Missing { field, needed_by } => origin.err(
            file_field(field),
            ErrorKind::Missing {
                needed_by: needed_by.to_string(),
            },
        ),
        ConfigError::NeedsWindow { field } => origin.err(
            "window",
            ErrorKind::Missing {
                needed_by: field.to_string(),
            },
        ),
        ConfigError::Inconsistent {
            field,
            value,
            other,
            limit,
        } => origin.err(
            file_field(field),
            ErrorKind::Inconsistent(format!("{value} is larger than {other} ({limit})")),
        ),
    }
}
