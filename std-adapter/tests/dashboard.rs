//! The shipped Grafana dashboard against what a live registry exports, and
//! the metrics that explain an outage: the rates the last trip judged and
//! the time spent in each state.

use fusebox_core::{Config, Ratio, State};
use fusebox_std::{BreakerSpec, CallExt, Registry, WindowSpec};
use std::collections::BTreeSet;
use std::time::Duration;

/// A registry whose breakers have done everything the dashboard shows:
/// calls of every result, slow calls, a stale outcome, trips, a fallback.
fn busy_registry() -> Registry {
    let registry = Registry::new();
    let spec = BreakerSpec {
        config: Config::builder()
            .failure_rate(Ratio::percent(50))
            .slow_call_rate(Ratio::percent(90))
            .slow_call_duration(Duration::from_millis(1))
            .minimum_calls(4)
            .open_for(Duration::from_millis(20))
            .build()
            .unwrap(),
        window: WindowSpec::Count { size: 10 },
    };
    registry.insert("llm", spec).unwrap();
    let b = registry.get("llm").unwrap();
    let held = b.try_acquire().unwrap();
    let _ = b.call(|| {
        std::thread::sleep(Duration::from_millis(2));
        Ok::<_, ()>(())
    });
    let _ = b.call(|| Ok::<_, ()>(()));
    let _ = b.call_classified(&|_: &Result<(), ()>| fusebox_core::Outcome::Ignored, || {
        Ok(())
    });
    // The second failure trips it (2 of 4 calls); the third is rejected.
    for _ in 0..3 {
        let _ = b.call(|| Err::<(), _>(()));
    }
    assert_eq!(b.state(), State::Open);
    let _ = held.success(); // stale: its episode ended
    let _ = b.call(|| Ok::<_, ()>(())); // rejected
    b.observer().count_fallback("value");
    // A closed one whose window is past `minimum_calls`: live rates.
    registry.insert("db", spec).unwrap();
    let db = registry.get("db").unwrap();
    for i in 0..6 {
        let _ = db.call(|| if i == 0 { Err(()) } else { Ok(()) });
    }
    assert_eq!(db.state(), State::Closed);
    registry
}

/// Sample names in OpenMetrics text (`name{labels} value` or `name value`).
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

/// Every `circuit_breaker_*` name the dashboard's queries use.
fn queried() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/fusebox-grafana.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for panel in json["panels"].as_array().unwrap() {
        assert!(panel["title"].as_str().is_some_and(|t| !t.is_empty()));
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        exprs.extend(
            targets
                .iter()
                .map(|t| t["expr"].as_str().unwrap().to_string()),
        );
    }
    for v in json["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["query"].as_str() {
            exprs.push(q.to_string());
        }
    }
    let mut names = BTreeSet::new();
    for e in &exprs {
        let mut rest = e.as_str();
        while let Some(i) = rest.find("circuit_breaker_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    names
}

#[test]
fn every_dashboard_query_names_a_metric_the_registry_exports() {
    let text = busy_registry().metrics_text();
    let exported = exported(&text);
    let queried = queried();
    assert!(queried.len() >= 10, "{queried:?}");
    let missing: Vec<_> = queried.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "queried but not exported: {missing:?}\n{text}"
    );
    // And every family exported has a panel (histograms through `_bucket`).
    let family = |n: &str| {
        n.trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count")
            .to_string()
    };
    let shown: BTreeSet<_> = queried.iter().map(|n| family(n)).collect();
    let unshown: Vec<_> = exported
        .iter()
        .map(|n| family(n))
        .filter(|f| !shown.contains(f))
        .collect();
    assert!(unshown.is_empty(), "exported but on no panel: {unshown:?}");
}

#[test]
fn an_open_breaker_still_shows_the_rates_that_tripped_it_and_its_time_in_state() {
    let registry = busy_registry();
    let text = registry.metrics_text();
    // The window is empty while open: the live rate is absent...
    assert!(
        !text.contains("circuit_breaker_failure_rate{name=\"llm\"}"),
        "{text}"
    );
    // ...and the trip's is there: 2 failures of 4 calls (the ignored one
    // counts nowhere), 1 slow call.
    assert!(
        text.contains("circuit_breaker_tripped_failure_rate{name=\"llm\"} 0.5"),
        "{text}"
    );
    assert!(
        text.contains("circuit_breaker_tripped_slow_call_rate{name=\"llm\"} 0.25"),
        "{text}"
    );
    let seconds = |state: &str| -> f64 {
        let key = format!(
            "circuit_breaker_state_duration_seconds_total{{name=\"llm\",state=\"{state}\"}} "
        );
        let text = registry.metrics_text();
        let line = text
            .lines()
            .find(|l| l.starts_with(&key))
            .unwrap_or_else(|| panic!("{key}\n{text}"));
        line[key.len()..].parse().unwrap()
    };
    std::thread::sleep(Duration::from_millis(10));
    let open = seconds("open");
    assert!(open >= 0.01, "{open}");
    // Closed from construction to the trip (a 2 ms slow call among them),
    // and no longer counting.
    let closed = seconds("closed");
    assert!(closed >= 0.002, "{closed}");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(seconds("closed"), closed);
    // After the open period, the next call half-opens it: open time stops.
    std::thread::sleep(Duration::from_millis(25));
    let b = registry.get("llm").unwrap();
    let probe = b.try_acquire().unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    let open_then = seconds("open");
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(seconds("open"), open_then);
    assert!(seconds("half_open") >= 0.01);
    drop(probe);
}
