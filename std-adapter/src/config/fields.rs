//! The file schema, read field by field so that every error names its field.

use super::error::{ConfigFileError, ErrorKind};
use super::presets::{preset, PRESETS};
use crate::std_breaker::{MAX_COUNT_WINDOW_SIZE, MAX_TIME_WINDOW_BUCKETS};
use fusebox_core::{Abandon, BackoffKind, MAX_DURATION};
use std::collections::HashMap;
use std::time::Duration;
use toml::{Table, Value};

/// Fields of a `[breakers.NAME]` table.
pub const BREAKER_FIELDS: &[&str] = &[
    "preset",
    "consecutive_failures",
    "failure_rate",
    "slow_call_rate",
    "slow_call_duration",
    "minimum_calls",
    "window",
    "open_for",
    "backoff",
    "half_open_permits",
    "success_threshold",
    "max_half_open_wait",
    "max_trip_hint",
    "on_abandon",
    "jitter_seed",
    "ramp_up",
    "ramp_stages",
    "throttle_k",
];
/// Fields of a `window` table.
pub const WINDOW_FIELDS: &[&str] = &["kind", "size", "span", "buckets"];
/// Fields of a `backoff` table.
pub const BACKOFF_FIELDS: &[&str] = &["kind", "multiplier", "base", "step", "max", "jitter"];
const WINDOW_KINDS: &[&str] = &["count", "time"];
const BACKOFF_KINDS: &[&str] = &[
    BackoffKind::ALL[0].as_str(),
    BackoffKind::ALL[1].as_str(),
    BackoffKind::ALL[2].as_str(),
];
const ABANDON: &[&str] = &["ignore", "failure"];
/// Buckets of a time window that does not say.
pub const DEFAULT_TIME_BUCKETS: usize = 10;

/// One breaker as written: every field optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct BreakerFields {
    pub preset: Option<String>,
    pub consecutive_failures: Option<u32>,
    pub failure_rate: Option<f64>,
    pub slow_call_rate: Option<f64>,
    pub slow_call_duration: Option<Duration>,
    pub minimum_calls: Option<u32>,
    pub window: Option<WindowFields>,
    pub open_for: Option<Duration>,
    pub backoff: Option<BackoffFields>,
    pub half_open_permits: Option<u32>,
    pub success_threshold: Option<u32>,
    pub max_half_open_wait: Option<Duration>,
    pub max_trip_hint: Option<Duration>,
    pub on_abandon: Option<Abandon>,
    pub jitter_seed: Option<u32>,
    pub ramp_up: Option<Duration>,
    pub ramp_stages: Option<Vec<u8>>,
    pub throttle_k: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum WindowFields {
    Count { size: usize },
    Time { span: Duration, buckets: usize },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BackoffFields {
    pub kind: BackoffKind,
    pub multiplier: Option<f64>,
    pub base: Option<Duration>,
    pub step: Option<Duration>,
    pub max: Option<Duration>,
    pub jitter: Option<f64>,
}

/// Where values come from: the file, or an environment variable per field.
pub(crate) struct Origin<'a> {
    pub file: &'a str,
    pub breaker: &'a str,
    /// Dotted field path -> the environment variable that set it.
    pub env: &'a HashMap<String, String>,
}

impl Origin<'_> {
    pub fn err(&self, field: &str, kind: ErrorKind) -> ConfigFileError {
        let source = match self.env.get(field) {
            Some(var) => format!("environment variable {var}"),
            None => self.file.to_string(),
        };
        ConfigFileError::at(&source, self.breaker, field, kind)
    }

    fn wrong(&self, field: &str, expected: &'static str, v: &Value) -> ConfigFileError {
        self.err(
            field,
            ErrorKind::WrongType {
                expected,
                found: describe(v),
            },
        )
    }

    fn uint(&self, field: &str, v: &Value, min: u64) -> Result<u32, ConfigFileError> {
        self.bounded(field, v, min, u32::MAX as u64)
    }

    /// An integer in `min..=max` (`max` at most `u32::MAX`).
    fn bounded(&self, field: &str, v: &Value, min: u64, max: u64) -> Result<u32, ConfigFileError> {
        match v {
            Value::Integer(i) if *i >= min as i64 && *i <= max as i64 => Ok(*i as u32),
            Value::Integer(i) => Err(self.err(
                field,
                ErrorKind::OutOfRange {
                    value: i.to_string(),
                    allowed: format!("{min}..={max}"),
                },
            )),
            _ => Err(self.wrong(field, "an integer", v)),
        }
    }

    fn fraction(
        &self,
        field: &str,
        v: &Value,
        max: f64,
        min_exclusive: bool,
    ) -> Result<f64, ConfigFileError> {
        let x = match v {
            Value::Float(f) => *f,
            Value::Integer(i) => *i as f64,
            _ => return Err(self.wrong(field, "a number such as 0.5", v)),
        };
        let low_ok = if min_exclusive { x > 0.0 } else { x >= 0.0 };
        // Rates are kept in basis points: a positive rate below half of
        // one would silently become 0 (off).
        let too_fine = min_exclusive && (x * 10_000.0).round() < 1.0;
        if !low_ok || x > max || x.is_nan() || too_fine {
            let low = if min_exclusive { "0 < x" } else { "0 <= x" };
            return Err(self.err(
                field,
                ErrorKind::OutOfRange {
                    value: format!("{x:?}"),
                    allowed: format!("{low} <= {max} in steps of 0.0001"),
                },
            ));
        }
        Ok(x)
    }

    fn duration(&self, field: &str, v: &Value) -> Result<Duration, ConfigFileError> {
        match v {
            Value::String(s) => {
                let d = humantime::parse_duration(s.trim()).map_err(|e| {
                    self.err(
                        field,
                        ErrorKind::BadDuration {
                            value: s.clone(),
                            reason: e.to_string(),
                        },
                    )
                })?;
                // Checked here, so that the error shows the value as written
                // (the core's own check sees it clamped to 584 years).
                if d > MAX_DURATION {
                    return Err(self.err(
                        field,
                        ErrorKind::OutOfRange {
                            value: format!("{s:?}"),
                            allowed: format!(
                                "durations up to {}",
                                humantime::format_duration(MAX_DURATION)
                            ),
                        },
                    ));
                }
                Ok(d)
            }
            _ => Err(self.wrong(field, "a duration string such as \"30s\"", v)),
        }
    }

    fn name<'v>(
        &self,
        field: &str,
        v: &'v Value,
        allowed: &'static [&'static str],
    ) -> Result<&'v str, ConfigFileError> {
        match v {
            Value::String(s) if allowed.contains(&s.as_str()) => Ok(s),
            Value::String(s) => Err(self.err(
                field,
                ErrorKind::UnknownName {
                    value: s.clone(),
                    allowed,
                },
            )),
            _ => Err(self.wrong(field, "a string", v)),
        }
    }

    /// Ramp stages in percent: an array of integers, or a string of them
    /// separated by commas (what an environment variable can carry).
    fn stages(&self, field: &str, v: &Value) -> Result<Vec<u8>, ConfigFileError> {
        let items: Vec<Value> = match v {
            Value::Array(a) => a.clone(),
            Value::Integer(_) => vec![v.clone()],
            Value::String(s) if !s.trim().is_empty() => s
                .split(',')
                .map(|p| match p.trim().parse::<i64>() {
                    Ok(i) => Value::Integer(i),
                    Err(_) => Value::String(p.trim().to_string()),
                })
                .collect(),
            Value::String(_) => Vec::new(),
            _ => {
                return Err(self.wrong(
                    field,
                    "an array of percentages such as [10, 25, 50, 100]",
                    v,
                ))
            }
        };
        let max = fusebox_core::shape::MAX_RAMP_STAGES;
        if items.is_empty() || items.len() > max {
            return Err(self.err(
                field,
                ErrorKind::OutOfRange {
                    value: format!("{} stages", items.len()),
                    allowed: format!("1..={max} stages"),
                },
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let low = out.last().map_or(1, |&p: &u8| u64::from(p) + 1);
            match item {
                Value::Integer(i) if *i >= low as i64 && *i <= 100 => out.push(*i as u8),
                Value::Integer(i) => {
                    return Err(self.err(
                        field,
                        ErrorKind::OutOfRange {
                            value: i.to_string(),
                            allowed: format!("percentages {low}..=100, each above the one before"),
                        },
                    ))
                }
                other => return Err(self.wrong(field, "integer percentages", other)),
            }
        }
        Ok(out)
    }

    /// Adaptive throttling's `K`: a number from 1.0 to 100, in steps of 0.0001.
    fn throttle_k(&self, field: &str, v: &Value) -> Result<f64, ConfigFileError> {
        let x = match v {
            Value::Float(f) => *f,
            Value::Integer(i) => *i as f64,
            _ => return Err(self.wrong(field, "a number such as 2.0", v)),
        };
        let max = fusebox_core::MAX_THROTTLE_K.basis_points() as f64 / 10_000.0;
        if x.is_nan() || !(1.0..=max).contains(&x) {
            return Err(self.err(
                field,
                ErrorKind::OutOfRange {
                    value: format!("{x:?}"),
                    allowed: format!("1.0 <= K <= {max:?}"),
                },
            ));
        }
        Ok(x)
    }

    fn table<'v>(&self, field: &str, v: &'v Value) -> Result<&'v Table, ConfigFileError> {
        match v {
            Value::Table(t) => Ok(t),
            _ => Err(self.wrong(field, "a table", v)),
        }
    }

    /// Reads a `[breakers.NAME]` table.
    pub fn breaker(&self, t: &Table) -> Result<BreakerFields, ConfigFileError> {
        let mut f = BreakerFields::default();
        for (key, v) in t {
            let k = key.as_str();
            match k {
                "preset" => f.preset = Some(self.name(k, v, PRESETS)?.to_string()),
                "consecutive_failures" => f.consecutive_failures = Some(self.uint(k, v, 1)?),
                "failure_rate" => f.failure_rate = Some(self.fraction(k, v, 1.0, true)?),
                "slow_call_rate" => f.slow_call_rate = Some(self.fraction(k, v, 1.0, true)?),
                "slow_call_duration" => f.slow_call_duration = Some(self.duration(k, v)?),
                "minimum_calls" => f.minimum_calls = Some(self.uint(k, v, 1)?),
                "window" => f.window = Some(self.window(self.table(k, v)?)?),
                "open_for" => f.open_for = Some(self.duration(k, v)?),
                "backoff" => f.backoff = Some(self.backoff(self.table(k, v)?)?),
                "half_open_permits" => f.half_open_permits = Some(self.uint(k, v, 1)?),
                "success_threshold" => f.success_threshold = Some(self.uint(k, v, 1)?),
                "max_half_open_wait" => f.max_half_open_wait = Some(self.duration(k, v)?),
                "max_trip_hint" => f.max_trip_hint = Some(self.duration(k, v)?),
                "on_abandon" => {
                    f.on_abandon = Some(match self.name(k, v, ABANDON)? {
                        "failure" => Abandon::Failure,
                        _ => Abandon::Ignore,
                    })
                }
                "jitter_seed" => f.jitter_seed = Some(self.uint(k, v, 0)?),
                "ramp_up" => f.ramp_up = Some(self.duration(k, v)?),
                "ramp_stages" => f.ramp_stages = Some(self.stages(k, v)?),
                "throttle_k" => f.throttle_k = Some(self.throttle_k(k, v)?),
                _ => {
                    return Err(self.err(
                        k,
                        ErrorKind::UnknownField {
                            allowed: BREAKER_FIELDS,
                        },
                    ))
                }
            }
        }
        Ok(f)
    }

    fn window(&self, t: &Table) -> Result<WindowFields, ConfigFileError> {
        for k in t.keys() {
            if !WINDOW_FIELDS.contains(&k.as_str()) {
                return Err(self.err(
                    &format!("window.{k}"),
                    ErrorKind::UnknownField {
                        allowed: WINDOW_FIELDS,
                    },
                ));
            }
        }
        let kind = match t.get("kind") {
            Some(v) => self.name("window.kind", v, WINDOW_KINDS)?,
            None => {
                return Err(self.err(
                    "window.kind",
                    ErrorKind::Missing {
                        needed_by: "window (\"count\" or \"time\")".into(),
                    },
                ))
            }
        };
        let misplaced = |field: &str, kind: &str| {
            self.err(
                &format!("window.{field}"),
                ErrorKind::Inconsistent(format!("a {kind} window has no `{field}`")),
            )
        };
        if kind == "count" {
            for other in ["span", "buckets"] {
                if t.contains_key(other) {
                    return Err(misplaced(other, "count"));
                }
            }
            let size = match t.get("size") {
                // Checked here, before any breaker allocates a ring this long.
                Some(v) => {
                    self.bounded("window.size", v, 1, MAX_COUNT_WINDOW_SIZE as u64)? as usize
                }
                None => {
                    return Err(self.err(
                        "window.size",
                        ErrorKind::Missing {
                            needed_by: "a count window".into(),
                        },
                    ))
                }
            };
            Ok(WindowFields::Count { size })
        } else {
            if t.contains_key("size") {
                return Err(misplaced("size", "time"));
            }
            let span = match t.get("span") {
                Some(v) => self.duration("window.span", v)?,
                None => {
                    return Err(self.err(
                        "window.span",
                        ErrorKind::Missing {
                            needed_by: "a time window".into(),
                        },
                    ))
                }
            };
            let buckets = match t.get("buckets") {
                Some(v) => {
                    self.bounded("window.buckets", v, 1, MAX_TIME_WINDOW_BUCKETS as u64)? as usize
                }
                None => DEFAULT_TIME_BUCKETS,
            };
            Ok(WindowFields::Time { span, buckets })
        }
    }

    fn backoff(&self, t: &Table) -> Result<BackoffFields, ConfigFileError> {
        let mut b = BackoffFields {
            kind: BackoffKind::Constant,
            multiplier: None,
            base: None,
            step: None,
            max: None,
            jitter: None,
        };
        let kind = match t.get("kind") {
            Some(v) => self.name("backoff.kind", v, BACKOFF_KINDS)?,
            None => {
                return Err(self.err(
                    "backoff.kind",
                    ErrorKind::Missing {
                        needed_by: "backoff (\"constant\", \"exponential\" or \"linear\")".into(),
                    },
                ))
            }
        };
        // `name` checked it against BACKOFF_KINDS.
        b.kind = BackoffKind::from_name(kind).unwrap_or(BackoffKind::Constant);
        for (key, v) in t {
            let field = format!("backoff.{key}");
            let misplaced = || {
                self.err(
                    &field,
                    ErrorKind::Inconsistent(format!("a {kind} backoff has no `{key}`")),
                )
            };
            match key.as_str() {
                "kind" => {}
                "multiplier" if b.kind == BackoffKind::Exponential => {
                    let m = match v {
                        Value::Float(f) => *f,
                        Value::Integer(i) => *i as f64,
                        _ => return Err(self.wrong(&field, "a number such as 2.0", v)),
                    };
                    if !(1.0..=100.0).contains(&m) {
                        return Err(self.err(
                            &field,
                            ErrorKind::OutOfRange {
                                value: m.to_string(),
                                allowed: "1.0..=100.0".into(),
                            },
                        ));
                    }
                    b.multiplier = Some(m);
                }
                "step" if b.kind == BackoffKind::Linear => b.step = Some(self.duration(&field, v)?),
                "base" | "max" if b.kind != BackoffKind::Constant => {
                    let d = self.duration(&field, v)?;
                    if key == "base" {
                        b.base = Some(d);
                    } else {
                        b.max = Some(d);
                    }
                }
                "jitter" => b.jitter = Some(self.fraction(&field, v, 0.9, false)?),
                k if BACKOFF_FIELDS.contains(&k) => return Err(misplaced()),
                _ => {
                    return Err(self.err(
                        &field,
                        ErrorKind::UnknownField {
                            allowed: BACKOFF_FIELDS,
                        },
                    ))
                }
            }
        }
        if b.kind != BackoffKind::Constant && b.max.is_none() {
            return Err(self.err(
                "backoff.max",
                ErrorKind::Missing {
                    needed_by: format!("a {kind} backoff"),
                },
            ));
        }
        if b.kind == BackoffKind::Linear && b.step.is_none() {
            return Err(self.err(
                "backoff.step",
                ErrorKind::Missing {
                    needed_by: "a linear backoff".into(),
                },
            ));
        }
        Ok(b)
    }
}

impl BreakerFields {
    /// These fields, with the preset's filling every gap.
    pub fn with_preset(self) -> BreakerFields {
        let Some(p) = self.preset.as_deref().and_then(preset) else {
            return self;
        };
        BreakerFields {
            preset: self.preset,
            consecutive_failures: self.consecutive_failures.or(p.consecutive_failures),
            failure_rate: self.failure_rate.or(p.failure_rate),
            slow_call_rate: self.slow_call_rate.or(p.slow_call_rate),
            slow_call_duration: self.slow_call_duration.or(p.slow_call_duration),
            minimum_calls: self.minimum_calls.or(p.minimum_calls),
            window: self.window.or(p.window),
            open_for: self.open_for.or(p.open_for),
            backoff: self.backoff.or(p.backoff),
            half_open_permits: self.half_open_permits.or(p.half_open_permits),
            success_threshold: self.success_threshold.or(p.success_threshold),
            max_half_open_wait: self.max_half_open_wait.or(p.max_half_open_wait),
            max_trip_hint: self.max_trip_hint.or(p.max_trip_hint),
            on_abandon: self.on_abandon.or(p.on_abandon),
            jitter_seed: self.jitter_seed.or(p.jitter_seed),
            ramp_up: self.ramp_up.or(p.ramp_up),
            ramp_stages: self.ramp_stages.or(p.ramp_stages),
            throttle_k: self.throttle_k.or(p.throttle_k),
        }
    }
}

/// A value's type, for error messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}
