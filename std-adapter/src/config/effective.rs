//! The effective configuration of a breaker, written back in the file
//! schema (for `check-config`-style tools and logs).

use super::FileConfig;
use crate::std_breaker::{BreakerSpec, WindowSpec};
use fusebox_core::{Abandon, Backoff, Ratio};
use std::fmt::{self, Write};
use std::time::Duration;

fn ratio(r: Ratio) -> f64 {
    r.basis_points() as f64 / 10_000.0
}

fn dur(d: Duration) -> String {
    format!("\"{}\"", humantime::format_duration(d))
}

impl fmt::Display for BreakerSpec {
    /// Every field in force, one `key = value` line each, in the TOML form
    /// of the file schema; parsing it back gives the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        if let Some(n) = c.consecutive_failures() {
            writeln!(f, "consecutive_failures = {n}")?;
        }
        if let Some(r) = c.failure_rate() {
            writeln!(f, "failure_rate = {}", ratio(r))?;
        }
        if let Some(r) = c.slow_call_rate() {
            writeln!(f, "slow_call_rate = {}", ratio(r))?;
        }
        if let Some(d) = c.slow_call_duration() {
            writeln!(f, "slow_call_duration = {}", dur(d))?;
        }
        writeln!(f, "minimum_calls = {}", c.minimum_calls())?;
        match self.window {
            WindowSpec::None => {}
            WindowSpec::Count { size } => {
                writeln!(f, "window = {{ kind = \"count\", size = {size} }}")?
            }
            WindowSpec::Time { buckets } => writeln!(
                f,
                "window = {{ kind = \"time\", span = {}, buckets = {buckets} }}",
                dur(c.window_span().unwrap_or_default())
            )?,
        }
        writeln!(f, "open_for = {}", dur(c.open_for()))?;
        let mut backoff = format!("kind = \"{}\"", c.backoff().kind());
        match c.backoff() {
            Backoff::Constant => {}
            Backoff::Exponential {
                base,
                multiplier,
                max,
            } => {
                let s = &mut backoff;
                write!(s, ", multiplier = {}", ratio(multiplier))?;
                if let Some(b) = base {
                    write!(s, ", base = {}", dur(b))?;
                }
                write!(s, ", max = {}", dur(max))?;
            }
            Backoff::Linear { base, step, max } => {
                let s = &mut backoff;
                write!(s, ", step = {}", dur(step))?;
                if let Some(b) = base {
                    write!(s, ", base = {}", dur(b))?;
                }
                write!(s, ", max = {}", dur(max))?;
            }
        }
        if c.jitter().basis_points() > 0 {
            write!(backoff, ", jitter = {}", ratio(c.jitter()))?;
        }
        writeln!(f, "backoff = {{ {backoff} }}")?;
        writeln!(f, "half_open_permits = {}", c.half_open_permits())?;
        writeln!(f, "success_threshold = {}", c.success_threshold())?;
        if let Some(d) = c.max_half_open_wait() {
            writeln!(f, "max_half_open_wait = {}", dur(d))?;
        }
        writeln!(f, "max_trip_hint = {}", dur(c.max_trip_hint()))?;
        let abandon = match c.on_abandon() {
            Abandon::Ignore => "ignore",
            Abandon::Failure => "failure",
        };
        writeln!(f, "on_abandon = \"{abandon}\"")?;
        if let Some(d) = c.ramp_up() {
            writeln!(f, "ramp_up = {}", dur(d))?;
            let stages: Vec<String> = c
                .ramp_stages()
                .as_slice()
                .iter()
                .map(u8::to_string)
                .collect();
            writeln!(f, "ramp_stages = [{}]", stages.join(", "))?;
        }
        if let Some(k) = c.throttle_k() {
            writeln!(f, "throttle_k = {}", ratio(k))?;
        }
        writeln!(f, "jitter_seed = {}", c.jitter_seed())
    }
}

impl FileConfig {
    /// Every breaker's effective configuration (presets and environment
    /// applied) as a TOML file of the same schema.
    ///
    /// ```
    /// use fusebox_std::config::{FileConfig, Format};
    /// let file = FileConfig::parse(Format::Toml, "f.toml", "[breakers.db]\npreset = \"database\"", []).unwrap();
    /// let text = file.effective_toml();
    /// assert!(text.contains("[breakers.db]\nconsecutive_failures = 3\n"));
    /// ```
    pub fn effective_toml(&self) -> String {
        let mut out = String::new();
        for (name, spec) in self.breakers() {
            let _ = writeln!(out, "[breakers.{}]\n{spec}", toml_key(name));
        }
        out
    }
}

/// `name` as a TOML key, written by the TOML serializer: bare where TOML
/// allows it, else a quoted key with whatever escapes TOML needs.
pub(crate) fn toml_key(name: &str) -> String {
    use toml_writer::ToTomlKey;
    name.to_toml_key()
}
