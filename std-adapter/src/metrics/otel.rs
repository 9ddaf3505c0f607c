//! A [`Registry`]'s metrics as OpenTelemetry observable instruments
//! (feature `otel`), beside the Prometheus exposition.
//!
//! [`register`] adds instruments to a [`Meter`] whose callbacks read the
//! registry's breakers (present and future) at each collection, exactly as
//! a Prometheus scrape does: the hot path does no OpenTelemetry work. This
//! crate depends on the `opentelemetry` API only; the program picks the SDK
//! and the exporter (OTLP, Prometheus, stdout).
//!
//! The names and meanings are the Prometheus exposition's
//! ([`metrics`](super)), in OpenTelemetry's spelling: counters carry no
//! `_total` and durations no `_seconds` (the unit says it, `s`); an
//! OpenTelemetry Prometheus exporter adds both back.
//!
//! | instrument | kind | attributes |
//! |---|---|---|
//! | `circuit_breaker_state` | gauge (i64) | `name` |
//! | `circuit_breaker_requests` | counter (u64) | `name`, `result` |
//! | `circuit_breaker_slow_calls` | counter (u64) | `name` |
//! | `circuit_breaker_stale_outcomes` | counter (u64) | `name` |
//! | `circuit_breaker_fallback_executions` | counter (u64) | `name`, `type` |
//! | `circuit_breaker_transitions` | counter (u64) | `name`, `from`, `to` |
//! | `circuit_breaker_failure_rate` | gauge (f64) | `name` |
//! | `circuit_breaker_slow_call_rate` | gauge (f64) | `name` |
//! | `circuit_breaker_tripped_failure_rate` | gauge (f64) | `name` |
//! | `circuit_breaker_tripped_slow_call_rate` | gauge (f64) | `name` |
//! | `circuit_breaker_state_duration` | counter (f64, `s`) | `name`, `state` |
//!
//! The call-duration histogram is **not** exported: the OpenTelemetry
//! metrics API has no asynchronous (observable) histogram, only a
//! synchronous one fed a measurement at a time, and the breaker keeps its
//! durations as cumulative buckets, which cannot be fed to it without
//! counting them again at every collection. A program that wants call
//! durations in OpenTelemetry records them where it makes the call, with a
//! synchronous `Histogram`.
//!
//! ```
//! use fusebox_core::Config;
//! use fusebox_std::{BreakerSpec, CallExt, Registry, WindowSpec};
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
//!
//! let registry = Registry::new();
//! let config = Config::builder().consecutive_failures(3).build().unwrap();
//! registry.insert("ledger", BreakerSpec { config, window: WindowSpec::None }).unwrap();
//!
//! // The program's SDK and exporter (here the SDK's in-memory one).
//! let exporter = InMemoryMetricExporter::default();
//! let provider = SdkMeterProvider::builder()
//!     .with_reader(PeriodicReader::builder(exporter.clone()).build())
//!     .build();
//! fusebox_std::metrics::otel::register(&provider.meter("fusebox"), &registry);
//!
//! let _ = registry.get("ledger").unwrap().call(|| Ok::<_, ()>(()));
//! provider.force_flush().unwrap();
//! let exported = exporter.get_finished_metrics().unwrap();
//! let names: Vec<String> = exported
//!     .iter()
//!     .flat_map(|r| r.scope_metrics())
//!     .flat_map(|s| s.metrics())
//!     .map(|m| m.name().to_string())
//!     .collect();
//! assert!(names.iter().any(|n| n == "circuit_breaker_requests"));
//! ```

use super::state_code;
use crate::observe::{TotalsSnapshot, FALLBACK_KINDS};
use crate::registry::Registry;
use crate::StdClock;
use fusebox_core::{Clock, State};
use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

fn name(b: &crate::StdBreaker) -> KeyValue {
    KeyValue::new("name", b.observer().name().clone())
}

/// Adds the registry's instruments to `meter`. Their callbacks hold a clone
/// of `registry` and live as long as the meter's provider (the
/// OpenTelemetry API has no way to take an observable instrument back).
/// Call it once per meter: each call adds another set of callbacks.
pub fn register(meter: &Meter, registry: &Registry) {
    let r = registry.clone();
    meter
        .i64_observable_gauge("circuit_breaker_state")
        .with_description(
            "State: 0 closed, 1 open, 2 half-open, 3 forced open, 4 metrics-only, 5 disabled",
        )
        .with_callback(move |o| {
            for b in r.breakers() {
                o.observe(state_code(b.snapshot().state), &[name(&b)]);
            }
        })
        .build();

    let r = registry.clone();
    meter
        .u64_observable_counter("circuit_breaker_requests")
        .with_description(
            "Calls by result: success, failure, ignored (recorded or abandoned), rejected (by the state), rejected_ramp, rejected_throttled",
        )
        .with_callback(move |o| {
            for b in r.breakers() {
                let t = b.observer().totals().snapshot();
                for (result, v) in [
                    ("success", t.success),
                    ("failure", t.failure),
                    ("ignored", t.ignored),
                    ("rejected", t.rejected - t.rejected_ramp - t.rejected_throttled),
                    ("rejected_ramp", t.rejected_ramp),
                    ("rejected_throttled", t.rejected_throttled),
                ] {
                    o.observe(v, &[name(&b), KeyValue::new("result", result)]);
                }
            }
        })
        .build();

    for (instrument, help, pick) in [
        (
            "circuit_breaker_slow_calls",
            "Slow calls (successes or failures)",
            (|t: &TotalsSnapshot| t.slow) as fn(&TotalsSnapshot) -> u64,
        ),
        (
            "circuit_breaker_stale_outcomes",
            "Outcomes recorded after their episode ended",
            |t| t.stale,
        ),
    ] {
        let r = registry.clone();
        meter
            .u64_observable_counter(instrument)
            .with_description(help)
            .with_callback(move |o| {
                for b in r.breakers() {
                    o.observe(pick(&b.observer().totals().snapshot()), &[name(&b)]);
                }
            })
            .build();
    }

    let r = registry.clone();
    meter
        .u64_observable_counter("circuit_breaker_fallback_executions")
        .with_description(
            "Fallbacks that answered for the breaker, by type: value, cached, function, service",
        )
        .with_callback(move |o| {
            for b in r.breakers() {
                for kind in FALLBACK_KINDS {
                    o.observe(
                        b.observer().fallbacks(kind),
                        &[name(&b), KeyValue::new("type", kind)],
                    );
                }
            }
        })
        .build();

    let r = registry.clone();
    meter
        .u64_observable_counter("circuit_breaker_transitions")
        .with_description("State changes")
        .with_callback(move |o| {
            for b in r.breakers() {
                for from in State::ALL {
                    for to in State::ALL {
                        let v = b.observer().transitions(from, to);
                        if v > 0 {
                            o.observe(
                                v,
                                &[
                                    name(&b),
                                    KeyValue::new("from", from.as_str()),
                                    KeyValue::new("to", to.as_str()),
                                ],
                            );
                        }
                    }
                }
            }
        })
        .build();

    for (instrument, help, slow) in [
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
        let r = registry.clone();
        meter
            .f64_observable_gauge(instrument)
            .with_description(help)
            .with_callback(move |o| {
                for b in r.breakers() {
                    let s = b.snapshot();
                    let rate = if slow {
                        s.slow_call_rate
                    } else {
                        s.failure_rate
                    };
                    // Absent below `minimum_calls`, as in the exposition.
                    if let Some(rate) = rate {
                        o.observe(rate.basis_points() as f64 / 10_000.0, &[name(&b)]);
                    }
                }
            })
            .build();
    }

    for (instrument, help, slow) in [
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
        let r = registry.clone();
        meter
            .f64_observable_gauge(instrument)
            .with_description(help)
            .with_callback(move |o| {
                for b in r.breakers() {
                    let Some(w) = b.observer().tripped_window() else {
                        continue;
                    };
                    let rate = if slow {
                        w.slow_call_rate()
                    } else {
                        w.failure_rate()
                    };
                    if let Some(rate) = rate {
                        o.observe(rate, &[name(&b)]);
                    }
                }
            })
            .build();
    }

    let r = registry.clone();
    meter
        .f64_observable_counter("circuit_breaker_state_duration")
        .with_description("Time spent in each state since the breaker's first transition")
        .with_unit("s")
        .with_callback(move |o| {
            let now = StdClock.now();
            for b in r.breakers() {
                for state in State::ALL {
                    let ns = b.observer().time_in_state(state, now);
                    o.observe(
                        ns as f64 / 1e9,
                        &[name(&b), KeyValue::new("state", state.as_str())],
                    );
                }
            }
        })
        .build();
}
