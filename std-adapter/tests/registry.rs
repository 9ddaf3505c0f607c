//! The registry: shared named breakers, health, broadcast, tracing and
//! Prometheus exposition.

use fusebox_core::{Config, Outcome, Ratio, State, TransitionReason};
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::{BreakerSpec, CallExt, Health, Registry, WindowSpec};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn consecutive(n: u32) -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(n)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

fn rate() -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(4)
            .build()
            .unwrap(),
        window: WindowSpec::Count { size: 10 },
    }
}

#[test]
fn get_or_insert_with_builds_once_even_when_threads_race() {
    let registry = Registry::new();
    let built = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let registry = registry.clone();
            let built = Arc::clone(&built);
            std::thread::spawn(move || {
                registry
                    .get_or_insert_with("db", || {
                        built.fetch_add(1, Ordering::SeqCst);
                        consecutive(1)
                    })
                    .unwrap()
            })
        })
        .collect();
    let breakers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(built.load(Ordering::SeqCst), 1);
    let _ = breakers[0].call(|| Err::<(), _>(()));
    assert!(
        breakers.iter().all(|b| b.state() == State::Open),
        "one shared breaker"
    );
}

#[test]
fn lookup_iteration_insert_and_remove() {
    let registry = Registry::new();
    assert!(registry.is_empty());
    registry.insert("b", consecutive(1)).unwrap();
    registry.insert("a", rate()).unwrap();
    assert_eq!(registry.names(), ["a", "b"]);
    assert_eq!(
        registry
            .breakers()
            .iter()
            .map(|b| b.name().to_string())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(registry.get("c").is_none());
    assert_eq!(
        registry.get("a").unwrap().spec().window,
        WindowSpec::Count { size: 10 }
    );
    let old = registry.insert("a", consecutive(2)).unwrap();
    assert!(old.is_some(), "insert replaces and returns the old breaker");
    assert!(registry.remove("b").is_some());
    assert_eq!(registry.len(), 1);
    assert_eq!(format!("{registry:?}"), "{\"a\"}");
}

#[test]
fn reset_all_closes_every_breaker() {
    let registry = Registry::new();
    for name in ["a", "b", "c"] {
        let b = registry
            .get_or_insert_with(name, || consecutive(1))
            .unwrap();
        let _ = b.call(|| Err::<(), _>(()));
    }
    registry.get("c").unwrap().force_open();
    registry.reset_all();
    assert!(registry
        .breakers()
        .iter()
        .all(|b| b.state() == State::Closed));
}

#[test]
fn health_is_healthy_degraded_or_critical_and_overall_the_worst() {
    let registry = Registry::new();
    assert_eq!(registry.health().overall, Health::Healthy);
    let run = registry
        .get_or_insert_with("run", || consecutive(4))
        .unwrap();
    let rates = registry.get_or_insert_with("rates", rate).unwrap();
    let open = registry
        .get_or_insert_with("open", || consecutive(1))
        .unwrap();
    assert_eq!(registry.health().overall, Health::Healthy);

    let _ = run.call(|| Err::<(), _>(()));
    assert_eq!(run.health(), Health::Healthy, "1 of 4 in a row");
    let _ = run.call(|| Err::<(), _>(()));
    assert_eq!(run.health(), Health::Degraded, "2 of 4 in a row");

    for ok in [true, true, true, false] {
        let _ = rates.call(|| if ok { Ok(()) } else { Err(()) });
    }
    assert_eq!(
        rates.health(),
        Health::Degraded,
        "25% is half the 50% threshold"
    );

    open.transition_to_half_open();
    assert_eq!(open.health(), Health::Degraded);
    let _ = open.call(|| Err::<(), _>(()));
    assert_eq!(open.health(), Health::Critical);

    let report = registry.health();
    assert_eq!(report.overall, Health::Critical);
    assert_eq!(
        (
            report.count(Health::Degraded),
            report.count(Health::Critical)
        ),
        (2, 1)
    );
    assert_eq!(report.breakers["open"], Health::Critical);
    registry.reset_all();
    assert_eq!(registry.health().overall, Health::Healthy);
}

#[test]
fn a_registry_holds_every_breaker_of_a_config_file() {
    let text = "[breakers.db]\npreset = \"database\"\n[breakers.api]\npreset = \"http_api\"\n";
    let file = FileConfig::parse(Format::Toml, "f.toml", text, []).unwrap();
    let registry = Registry::from_config(&file).unwrap();
    assert_eq!(registry.names(), ["api", "db"]);
    assert_eq!(
        registry.get("api").unwrap().spec().window,
        WindowSpec::Time { buckets: 60 }
    );
}

#[tokio::test]
async fn transitions_are_broadcast_with_name_reason_and_window_counts() {
    let registry = Registry::new();
    let mut events = registry.subscribe();
    let db = registry
        .get_or_insert_with("db", || consecutive(2))
        .unwrap();
    let _ = db.call(|| Err::<(), _>(()));
    let _ = db.call(|| Err::<(), _>(()));
    let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&*e.breaker, "db");
    assert_eq!(
        (e.transition.from, e.transition.to),
        (State::Closed, State::Open)
    );
    assert_eq!(e.transition.reason, TransitionReason::ConsecutiveFailures);
    assert_eq!(e.transition.consecutive_failures, 2);
    // A breaker's own subscription sees the same.
    let mut own = db.subscribe();
    db.reset();
    assert_eq!(
        own.recv().await.unwrap().transition.reason,
        TransitionReason::Reset
    );
}

#[test]
fn prometheus_text_uses_the_design_metric_names() {
    let registry = Registry::new();
    let db = registry
        .get_or_insert_with("db", || consecutive(2))
        .unwrap();
    let api = registry.get_or_insert_with("api", rate).unwrap();
    let _ = db.call(|| Ok::<(), ()>(()));
    let _ = db.call(|| Err::<(), _>(()));
    let _ = db.call(|| Err::<(), _>(()));
    let _ = db.call(|| Ok::<(), ()>(()));
    for ok in [true, true, false, true] {
        let _ = api.call(|| if ok { Ok(()) } else { Err(()) });
    }
    let ignore = |_: &Result<(), ()>| Outcome::Ignored;
    let _ = api.call_classified(&ignore, || Ok(()));
    let text = registry.metrics_text();
    for line in [
        "# TYPE circuit_breaker_state gauge",
        "circuit_breaker_state{name=\"db\"} 1",
        "circuit_breaker_state{name=\"api\"} 0",
        "# TYPE circuit_breaker_requests counter",
        "circuit_breaker_requests_total{name=\"db\",result=\"success\"} 1",
        "circuit_breaker_requests_total{name=\"db\",result=\"failure\"} 2",
        "circuit_breaker_requests_total{name=\"db\",result=\"rejected\"} 1",
        "circuit_breaker_requests_total{name=\"api\",result=\"ignored\"} 1",
        "circuit_breaker_transitions_total{name=\"db\",from=\"closed\",to=\"open\"} 1",
        "circuit_breaker_failure_rate{name=\"api\"} 0.25",
        "# TYPE circuit_breaker_call_duration_seconds histogram",
        "circuit_breaker_call_duration_seconds_count{name=\"db\"} 3",
        "circuit_breaker_call_duration_seconds_bucket{le=\"+Inf\",name=\"api\"} 5",
        "# EOF",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("circuit_breaker_failure_rate{name=\"db\"}"),
        "no rate without a window"
    );
}

#[test]
fn breakers_from_a_file_trip_on_their_count_or_time_window() {
    let text = r#"
[breakers.counted]
failure_rate = 0.5
minimum_calls = 4
window = { kind = "count", size = 7 }
[breakers.timed]
failure_rate = 0.5
minimum_calls = 4
window = { kind = "time", span = "30s", buckets = 30 }
"#;
    let file = FileConfig::parse(Format::Toml, "f.toml", text, []).unwrap();
    let registry = Registry::from_config(&file).unwrap();
    for name in ["counted", "timed"] {
        let b = registry.get(name).unwrap();
        for ok in [true, true, false] {
            let _ = b.call(|| if ok { Ok(()) } else { Err(()) });
        }
        assert_eq!(b.state(), State::Closed, "{name}: below minimum_calls");
        assert_eq!(b.snapshot().window.calls, 3, "{name}");
        let _ = b.call(|| Err::<(), _>(()));
        assert_eq!(b.state(), State::Open, "{name}: 2 of 4 failed");
    }
}

#[test]
fn metrics_escape_breaker_names_so_a_name_cannot_write_lines_of_its_own() {
    let registry = Registry::new();
    let spec = BreakerSpec {
        config: Config::builder().consecutive_failures(2).build().unwrap(),
        window: WindowSpec::None,
    };
    registry.insert("a\"b\\c\nd} 1\n# EOF", spec).unwrap();
    let text = registry.metrics_text();
    assert!(
        text.contains("circuit_breaker_state{name=\"a\\\"b\\\\c\\nd} 1\\n# EOF\"} 0\n"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| *l == "# EOF").count(), 1, "{text}");
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    for line in text.lines() {
        assert!(
            line.starts_with("circuit_breaker_") || line.starts_with('#'),
            "{line:?}"
        );
    }
}
