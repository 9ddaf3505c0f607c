//! Prometheus exposition of a [`Registry`] through `prometheus-client`.
//!
//! | metric | type | labels | value |
//! |---|---|---|---|
//! | `circuit_breaker_state` | gauge | `name` | 0 closed, 1 open, 2 half-open, 3 forced open, 4 metrics-only, 5 disabled |
//! | `circuit_breaker_requests_total` | counter | `name`, `result` | calls by `result`: `success`, `failure`, `ignored` (recorded outcomes, abandoned permits included), `rejected` (by the state: open, half-open, forced open), `rejected_ramp` (progressive recovery), `rejected_throttled` (adaptive throttling) |
//! | `circuit_breaker_slow_calls_total` | counter | `name` | slow calls (successes or failures) |
//! | `circuit_breaker_stale_outcomes_total` | counter | `name` | outcomes recorded after their episode ended |
//! | `circuit_breaker_fallback_executions_total` | counter | `name`, `type` | fallbacks that answered: `value`, `cached`, `function`, `service` (the tower layer's `FallbackLayer` / `FallbackToLayer`, or [`StdObserver::count_fallback`](crate::StdObserver::count_fallback)) |
//! | `circuit_breaker_transitions_total` | counter | `name`, `from`, `to` | state changes |
//! | `circuit_breaker_failure_rate` | gauge | `name` | window failure rate, 0..1; absent below `minimum_calls` |
//! | `circuit_breaker_slow_call_rate` | gauge | `name` | window slow-call rate, 0..1; absent below `minimum_calls` |
//! | `circuit_breaker_tripped_failure_rate` | gauge | `name` | the window's failure rate when the breaker last tripped from closed, 0..1 (the window is empty while open, so this is what explains an outage); absent until a trip on a non-empty window |
//! | `circuit_breaker_tripped_slow_call_rate` | gauge | `name` | the same for the slow-call rate |
//! | `circuit_breaker_state_duration_seconds` | counter | `name`, `state` | seconds spent in each state since the breaker's first transition |
//! | `circuit_breaker_call_duration_seconds` | histogram | `name` | durations of calls made through the call wrappers and the tower layer |
//!
//! Values are read when scraped, from the breakers' snapshots and their
//! observers' striped counters: the hot path does no metrics work of its
//! own beyond the observer's relaxed adds.
//!
//! With feature `otel`, `otel::register` exports the same metrics as
//! OpenTelemetry observable instruments.

use crate::observe::FALLBACK_KINDS;
use crate::registry::Registry;
use crate::StdClock;
use fusebox_core::Clock;
use fusebox_core::State;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::borrow::Cow;

#[cfg(feature = "otel")]
pub mod otel;

/// A `prometheus-client` [`Collector`] over every breaker of a registry,
/// for programs that already have a `prometheus_client` registry:
///
/// ```
/// use fusebox_std::{metrics::RegistryCollector, Registry};
/// let breakers = Registry::new();
/// let mut prom = prometheus_client::registry::Registry::default();
/// prom.register_collector(Box::new(RegistryCollector::new(breakers.clone())));
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &prom).unwrap();
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[derive(Debug)]
pub struct RegistryCollector {
    registry: Registry,
}

impl RegistryCollector {
    /// A collector over `registry`'s breakers (present and future).
    pub fn new(registry: Registry) -> Self {
        RegistryCollector { registry }
    }
}

/// A label value in the exposition's escaping (`\\`, `\"`, `\n`): the
/// encoder writes label values as given, and a breaker's name may hold any
/// character (a name with a quote and a newline could otherwise end the
/// label and write lines of its own).
pub(crate) fn label(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn state_code(s: State) -> i64 {
    s.index() as i64
}

impl Collector for RegistryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let breakers = self.registry.breakers();
        let snaps: Vec<_> = breakers.iter().map(|b| (b, b.snapshot())).collect();

        let mut m = encoder.encode_descriptor(
            "circuit_breaker_state",
            "State: 0 closed, 1 open, 2 half-open, 3 forced open, 4 metrics-only, 5 disabled",
            None,
            MetricType::Gauge,
        )?;
        for (b, s) in &snaps {
            m.encode_family(&[("name", label(b.name()).as_ref())])?
                .encode_gauge(&state_code(s.state))?;
        }

        let mut m = encoder.encode_descriptor(
            "circuit_breaker_requests",
            "Calls by result: success, failure, ignored (recorded or abandoned), rejected (by the state), rejected_ramp, rejected_throttled",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &snaps {
            let t = b.observer().totals().snapshot();
            for (result, v) in [
                ("success", t.success),
                ("failure", t.failure),
                ("ignored", t.ignored),
                (
                    "rejected",
                    t.rejected - t.rejected_ramp - t.rejected_throttled,
                ),
                ("rejected_ramp", t.rejected_ramp),
                ("rejected_throttled", t.rejected_throttled),
            ] {
                m.encode_family(&[("name", label(b.name()).as_ref()), ("result", result)])?
                    .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
            }
        }

        for (name, help, pick) in [
            (
                "circuit_breaker_slow_calls",
                "Slow calls (successes or failures)",
                (|t: &crate::observe::TotalsSnapshot| t.slow) as fn(&_) -> u64,
            ),
            (
                "circuit_breaker_stale_outcomes",
                "Outcomes recorded after their episode ended",
                |t| t.stale,
            ),
        ] {
            let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (b, _) in &snaps {
                let v = pick(&b.observer().totals().snapshot());
                m.encode_family(&[("name", label(b.name()).as_ref())])?
                    .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
            }
        }

        let mut m = encoder.encode_descriptor(
            "circuit_breaker_fallback_executions",
            "Fallbacks that answered for the breaker, by type: value, cached, function, service",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &snaps {
            for kind in FALLBACK_KINDS {
                m.encode_family(&[("name", label(b.name()).as_ref()), ("type", kind)])?
                    .encode_counter::<NoLabelSet, _, u64>(&b.observer().fallbacks(kind), None)?;
            }
        }

        let mut m = encoder.encode_descriptor(
            "circuit_breaker_transitions",
            "State changes",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &snaps {
            for from in State::ALL {
                for to in State::ALL {
                    let v = b.observer().transitions(from, to);
                    if v > 0 {
                        m.encode_family(&[
                            ("name", label(b.name()).as_ref()),
                            ("from", from.as_str()),
                            ("to", to.as_str()),
                        ])?
                        .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
                    }
                }
            }
        }

        for (name, help, slow) in [
            (
                "circuit_breaker_failure_rate",
                "Failure rate of the window, 0..1",
                false,
            ),
            (
                "circuit_breaker_slow_call_rate",
                "Slow-call rate of the window, 0..1",
                true,
            ),
        ] {
            let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (b, s) in &snaps {
                let rate = if slow {
                    s.slow_call_rate
                } else {
                    s.failure_rate
                };
                if let Some(r) = rate {
                    m.encode_family(&[("name", label(b.name()).as_ref())])?
                        .encode_gauge(&(r.basis_points() as f64 / 10_000.0))?;
                }
            }
        }

        for (name, help, slow) in [
            (
                "circuit_breaker_tripped_failure_rate",
                "Failure rate of the window when the breaker last tripped from closed, 0..1",
                false,
            ),
            (
                "circuit_breaker_tripped_slow_call_rate",
                "Slow-call rate of the window when the breaker last tripped from closed, 0..1",
                true,
            ),
        ] {
            let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (b, _) in &snaps {
                let Some(w) = b.observer().tripped_window() else {
                    continue;
                };
                let rate = if slow {
                    w.slow_call_rate()
                } else {
                    w.failure_rate()
                };
                if let Some(r) = rate {
                    m.encode_family(&[("name", label(b.name()).as_ref())])?
                        .encode_gauge(&r)?;
                }
            }
        }

        let now = StdClock.now();
        let mut m = encoder.encode_descriptor(
            "circuit_breaker_state_duration_seconds",
            "Time spent in each state since the breaker's first transition",
            None,
            MetricType::Counter,
        )?;
        for (b, _) in &snaps {
            for state in State::ALL {
                let ns = b.observer().time_in_state(state, now);
                m.encode_family(&[
                    ("name", label(b.name()).as_ref()),
                    ("state", state.as_str()),
                ])?
                .encode_counter::<NoLabelSet, _, u64>(&(ns as f64 / 1e9), None)?;
            }
        }

        let mut m = encoder.encode_descriptor(
            "circuit_breaker_call_duration_seconds",
            "Durations of permitted calls",
            None,
            MetricType::Histogram,
        )?;
        for (b, _) in &snaps {
            let (sum, count, buckets) = b.observer().durations().buckets();
            m.encode_family(&[("name", label(b.name()).as_ref())])?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }
}

impl Registry {
    /// Every breaker's metrics in the OpenMetrics text format (which
    /// Prometheus scrapes), ending in `# EOF`.
    pub fn metrics_text(&self) -> String {
        let mut prom = prometheus_client::registry::Registry::default();
        prom.register_collector(Box::new(RegistryCollector::new(self.clone())));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prom)
            .expect("writing to a String cannot fail");
        text
    }
}
