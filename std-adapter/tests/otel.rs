//! `metrics::otel` (feature `otel`) through the OpenTelemetry SDK and its
//! in-memory exporter: a live registry's breakers appear with the values
//! of the Prometheus exposition after calls and a trip.
#![cfg(feature = "otel")]

use fusebox_core::{Config, Ratio, State};
use fusebox_std::{BreakerSpec, CallExt, Registry, WindowSpec};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use std::collections::BTreeSet;
use std::time::Duration;

/// One exported data point: its attributes (sorted) and value.
#[derive(Debug, PartialEq)]
struct Point {
    attrs: Vec<(String, String)>,
    value: f64,
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> Vec<(String, String)> {
    let mut v: Vec<_> = kvs
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect();
    v.sort();
    v
}

/// The points of `metric` in the last export, with whether it is a
/// monotonic sum (a counter) rather than a gauge; `None` when the export
/// has no point of it.
fn points(exported: &[ResourceMetrics], metric: &str) -> Option<(bool, Vec<Point>)> {
    let m = exported
        .last()
        .expect("an export")
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == metric)?;
    fn of<T: Copy>(data: &MetricData<T>, to_f64: fn(T) -> f64) -> (bool, Vec<Point>) {
        match data {
            MetricData::Gauge(g) => (
                false,
                g.data_points()
                    .map(|p| Point {
                        attrs: attrs(p.attributes()),
                        value: to_f64(p.value()),
                    })
                    .collect(),
            ),
            MetricData::Sum(s) => (
                s.is_monotonic(),
                s.data_points()
                    .map(|p| Point {
                        attrs: attrs(p.attributes()),
                        value: to_f64(p.value()),
                    })
                    .collect(),
            ),
            _ => panic!("unexpected aggregation"),
        }
    }
    // The values here are small: f64 holds them exactly.
    Some(match m.data() {
        AggregatedMetrics::F64(d) => of(d, |v| v),
        AggregatedMetrics::U64(d) => of(d, |v| v as f64),
        AggregatedMetrics::I64(d) => of(d, |v| v as f64),
    })
}

fn value(exported: &[ResourceMetrics], metric: &str, want: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    points(exported, metric)?
        .1
        .into_iter()
        .find(|p| p.attrs == want)
        .map(|p| p.value)
}

#[test]
fn a_live_registry_appears_with_its_values_after_calls_and_a_trip() {
    let registry = Registry::new();
    let spec = |n| BreakerSpec {
        config: Config::builder()
            .consecutive_failures(n)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    };
    registry.insert("payments", spec(2)).unwrap();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    fusebox_std::metrics::otel::register(&provider.meter("fusebox"), &registry);
    // A breaker added after registration is exported too.
    registry.insert("ledger", spec(5)).unwrap();

    let payments = registry.get("payments").unwrap();
    let ledger = registry.get("ledger").unwrap();
    for _ in 0..3 {
        ledger.call(|| Ok::<_, ()>(())).unwrap();
    }
    payments.call(|| Ok::<_, ()>(())).unwrap();
    let _ = payments.call(|| Err::<(), _>("down"));
    let _ = payments.call(|| Err::<(), _>("down"));
    assert_eq!(payments.state(), State::Open);
    assert!(payments.call(|| Ok::<_, ()>(())).unwrap_err().is_rejected());

    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();
    let p = [("name", "payments")];
    let l = [("name", "ledger")];
    assert_eq!(value(&exported, "circuit_breaker_state", &p), Some(1.0));
    assert_eq!(value(&exported, "circuit_breaker_state", &l), Some(0.0));
    let req = |name, result| {
        value(
            &exported,
            "circuit_breaker_requests",
            &[("name", name), ("result", result)],
        )
    };
    assert_eq!(req("payments", "success"), Some(1.0));
    assert_eq!(req("payments", "failure"), Some(2.0));
    assert_eq!(req("payments", "rejected"), Some(1.0));
    assert_eq!(req("ledger", "success"), Some(3.0));
    assert_eq!(req("ledger", "failure"), Some(0.0));
    assert!(
        points(&exported, "circuit_breaker_requests").unwrap().0,
        "a counter"
    );
    assert!(
        !points(&exported, "circuit_breaker_state").unwrap().0,
        "a gauge"
    );
    assert_eq!(
        value(
            &exported,
            "circuit_breaker_transitions",
            &[("name", "payments"), ("from", "closed"), ("to", "open")]
        ),
        Some(1.0)
    );
    // No window: no rates (absent, not 0), as in the exposition.
    assert!(points(&exported, "circuit_breaker_failure_rate").is_none());
    let open_s = value(
        &exported,
        "circuit_breaker_state_duration",
        &[("name", "payments"), ("state", "open")],
    )
    .unwrap();
    assert!((0.0..60.0).contains(&open_s), "{open_s}");

    // The same numbers as the Prometheus exposition.
    let text = registry.metrics_text();
    assert!(text.contains("circuit_breaker_requests_total{name=\"payments\",result=\"failure\"} 2"));
    assert!(text.contains("circuit_breaker_state{name=\"payments\"} 1"));
}

#[test]
fn window_rates_and_every_prometheus_family_but_the_histogram_are_exported() {
    let registry = Registry::new();
    let spec = BreakerSpec {
        config: Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(4)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::Count { size: 10 },
    };
    registry.insert("search", spec).unwrap();
    let b = registry.get("search").unwrap();
    for ok in [true, true, false] {
        let _ = b.call(|| if ok { Ok(()) } else { Err("down") });
    }
    b.observer().count_fallback("value");
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    fusebox_std::metrics::otel::register(&provider.meter("fusebox"), &registry);
    let s = [("name", "search")];

    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();
    // Below `minimum_calls`: no rate yet (absent, not 0).
    assert!(points(&exported, "circuit_breaker_failure_rate").is_none());

    // 1 failure in 4 calls: 25 %, under the threshold.
    b.call(|| Ok::<_, ()>(())).unwrap();
    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();
    assert_eq!(
        value(&exported, "circuit_breaker_failure_rate", &s),
        Some(0.25)
    );
    assert_eq!(
        value(&exported, "circuit_breaker_slow_call_rate", &s),
        Some(0.0)
    );

    // 3 failures in 6 calls: 50 %, it trips.
    let _ = b.call(|| Err::<(), _>("down"));
    let _ = b.call(|| Err::<(), _>("down"));
    assert_eq!(b.state(), State::Open);
    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();
    assert_eq!(
        value(&exported, "circuit_breaker_tripped_failure_rate", &s),
        Some(0.5)
    );
    assert_eq!(
        value(
            &exported,
            "circuit_breaker_fallback_executions",
            &[("name", "search"), ("type", "value")]
        ),
        Some(1.0)
    );

    // Same families as the exposition, in OpenTelemetry's spelling.
    let exported_names: BTreeSet<String> = exported
        .iter()
        .flat_map(|r| r.scope_metrics())
        .flat_map(|s| s.metrics())
        .map(|m| m.name().to_string())
        .collect();
    let text = registry.metrics_text();
    let prometheus: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| *n != "circuit_breaker_call_duration_seconds")
        .map(|n| n.trim_end_matches("_seconds").to_string())
        .collect();
    // Over the three exports (the window's rates are absent while open).
    let missing: Vec<_> = prometheus.difference(&exported_names).collect();
    assert!(missing.is_empty(), "not exported: {missing:?}");
}
