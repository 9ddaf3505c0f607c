//! Named presets: complete breaker configurations for common dependencies.
//!
//! A breaker with `preset = "..."` takes every field it does not set from the
//! preset; a `window` or `backoff` table in the file replaces the preset's
//! whole table. All presets use the consecutive-failures rule (fast reaction
//! to a dependency that is down) together with a failure-rate rule (steady
//! degradation), an exponential backoff with jitter (so that a fleet of
//! clients does not probe in lockstep), and `max_half_open_wait` (so that a
//! hung probe cannot hold the breaker half-open forever).
//!
//! | preset | consecutive | failure rate | slow calls | min calls | window | open for | backoff (x, max, jitter) | probes / to close |
//! |---|---|---|---|---|---|---|---|---|
//! | `default` | 5 | 50 % | - | 10 | last 100 | 30 s | x2, 5 min, 10 % | 3 / 2 |
//! | `aggressive` | 3 | 25 % | - | 5 | last 20 | 60 s | x2, 10 min, 10 % | 1 / 1 |
//! | `lenient` | 20 | 75 % | - | 50 | last 200 | 10 s | x1.5, 1 min, 10 % | 5 / 3 |
//! | `http_api` | 5 | 50 % | 80 % at 2 s | 20 | 60 s in 60 buckets | 15 s | x2, 2 min, 20 % | 3 / 2 |
//! | `database` | 3 | 50 % | 50 % at 1 s | 10 | last 50 | 5 s | x2, 1 min, 10 % | 2 / 2 |
//! | `critical` | 10 | 80 % | - | 20 | last 100 | 5 s | linear +5 s, 30 s, 10 % | 5 / 3 |
//! | `high_volume` | 50 | 50 % | 80 % at 1 s | 100 | 10 s in 10 buckets | 10 s | x1.5, 2 min, 20 % | 10 / 8 |
//!
//! Why:
//! - `default`: Resilience4j-like defaults that suit most remote calls: half
//!   the calls failing over the last 100, or 5 failures in a row, means the
//!   dependency is in trouble; 30 s lets it recover, doubling up to 5 min if it
//!   does not; 3 probes, 2 of which must succeed, avoid closing on one lucky call.
//! - `aggressive`: for optional features and expensive calls where failing
//!   fast is cheap: trips on little evidence, stays open longer, probes once.
//! - `lenient`: for flaky-but-needed dependencies (batch jobs, best-effort
//!   enrichment): trips only on sustained trouble, retries quickly.
//! - `http_api`: remote HTTP APIs, where latency is the first symptom: a
//!   time window (rates over the last minute whatever the traffic), a
//!   slow-call rule at 2 s, more jitter because many clients share the API.
//! - `database`: a database or pool: connection failures are usually total,
//!   so 3 in a row trip; slow queries (1 s) trip at 50 %; short open periods,
//!   because a database usually comes back quickly and the service needs it.
//! - `critical`: a dependency the service cannot work without: trip only on
//!   overwhelming evidence, and come back fast (linear backoff to 30 s, 5
//!   probes) since every second open is an outage.
//! - `high_volume`: thousands of calls per second: a time window (constant
//!   cost per record, no global ring), a large minimum so that noise does not
//!   trip it, many probes so that closing is judged on a meaningful sample.

use super::fields::{BackoffFields, BreakerFields, WindowFields};
use fusebox_core::BackoffKind;
use std::time::Duration;

/// The preset names, as written in files.
pub const PRESETS: &[&str] = &[
    "default",
    "aggressive",
    "lenient",
    "http_api",
    "database",
    "critical",
    "high_volume",
];

const fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

fn exponential(multiplier: f64, max: u64, jitter: f64) -> Option<BackoffFields> {
    Some(BackoffFields {
        kind: BackoffKind::Exponential,
        multiplier: Some(multiplier),
        base: None,
        step: None,
        max: secs(max),
        jitter: Some(jitter),
    })
}

/// The fields of preset `name`, or `None` if there is no such preset.
pub(crate) fn preset(name: &str) -> Option<BreakerFields> {
    let base = BreakerFields {
        max_half_open_wait: secs(30),
        ..BreakerFields::default()
    };
    Some(match name {
        "default" => BreakerFields {
            consecutive_failures: Some(5),
            failure_rate: Some(0.5),
            minimum_calls: Some(10),
            window: Some(WindowFields::Count { size: 100 }),
            open_for: secs(30),
            backoff: exponential(2.0, 300, 0.1),
            half_open_permits: Some(3),
            success_threshold: Some(2),
            ..base
        },
        "aggressive" => BreakerFields {
            consecutive_failures: Some(3),
            failure_rate: Some(0.25),
            minimum_calls: Some(5),
            window: Some(WindowFields::Count { size: 20 }),
            open_for: secs(60),
            backoff: exponential(2.0, 600, 0.1),
            half_open_permits: Some(1),
            success_threshold: Some(1),
            ..base
        },
        "lenient" => BreakerFields {
            consecutive_failures: Some(20),
            failure_rate: Some(0.75),
            minimum_calls: Some(50),
            window: Some(WindowFields::Count { size: 200 }),
            open_for: secs(10),
            backoff: exponential(1.5, 60, 0.1),
            half_open_permits: Some(5),
            success_threshold: Some(3),
            ..base
        },
        "http_api" => BreakerFields {
            consecutive_failures: Some(5),
            failure_rate: Some(0.5),
            slow_call_rate: Some(0.8),
            slow_call_duration: secs(2),
            minimum_calls: Some(20),
            window: Some(WindowFields::Time {
                span: Duration::from_secs(60),
                buckets: 60,
            }),
            open_for: secs(15),
            backoff: exponential(2.0, 120, 0.2),
            half_open_permits: Some(3),
            success_threshold: Some(2),
            ..base
        },
        "database" => BreakerFields {
            consecutive_failures: Some(3),
            failure_rate: Some(0.5),
            slow_call_rate: Some(0.5),
            slow_call_duration: secs(1),
            minimum_calls: Some(10),
            window: Some(WindowFields::Count { size: 50 }),
            open_for: secs(5),
            backoff: exponential(2.0, 60, 0.1),
            half_open_permits: Some(2),
            success_threshold: Some(2),
            ..base
        },
        "critical" => BreakerFields {
            consecutive_failures: Some(10),
            failure_rate: Some(0.8),
            minimum_calls: Some(20),
            window: Some(WindowFields::Count { size: 100 }),
            open_for: secs(5),
            backoff: Some(BackoffFields {
                kind: BackoffKind::Linear,
                multiplier: None,
                base: None,
                step: secs(5),
                max: secs(30),
                jitter: Some(0.1),
            }),
            half_open_permits: Some(5),
            success_threshold: Some(3),
            ..base
        },
        "high_volume" => BreakerFields {
            consecutive_failures: Some(50),
            failure_rate: Some(0.5),
            slow_call_rate: Some(0.8),
            slow_call_duration: secs(1),
            minimum_calls: Some(100),
            window: Some(WindowFields::Time {
                span: Duration::from_secs(10),
                buckets: 10,
            }),
            open_for: secs(10),
            backoff: exponential(1.5, 120, 0.2),
            half_open_permits: Some(10),
            success_threshold: Some(8),
            ..base
        },
        _ => return None,
    })
}
