//! Alerts: levels from transitions and health checks, repeats held back.

use fusebox_core::{Config, Ratio, State};
use fusebox_std::{Alert, AlertHook, BreakerSpec, CallExt, Health, Registry, WindowSpec};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn recorder(repeat_after: Duration) -> (Arc<AlertHook>, Arc<Mutex<Vec<Alert>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let hook = AlertHook::new(repeat_after, move |a| sink.lock().unwrap().push(a.clone()));
    (hook, seen)
}

fn flappy() -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(1)
            .open_for(Duration::from_millis(5))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

/// One outage and recovery: open, half-open (after the wait), closed.
fn outage(registry: &Registry, name: &str) {
    let b = registry.get(name).unwrap();
    let _ = b.call(|| Err::<(), _>(()));
    assert_eq!(b.state(), State::Open);
    std::thread::sleep(Duration::from_millis(8));
    let _ = b.call(|| Ok::<_, ()>(()));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn an_outage_alerts_critical_warning_healthy_in_order() {
    let registry = Registry::new();
    registry.insert("llm", flappy()).unwrap();
    let (hook, seen) = recorder(Duration::from_secs(60));
    // Set after the breaker exists: it applies to breakers already held.
    registry.set_alert_hook(hook);
    outage(&registry, "llm");
    let seen = seen.lock().unwrap();
    let levels: Vec<_> = seen
        .iter()
        .map(|a| (a.previous, a.level, a.reason))
        .collect();
    assert_eq!(
        levels,
        [
            (Health::Healthy, Health::Critical, "consecutive_failures"),
            (Health::Critical, Health::Degraded, "open_deadline_reached"),
            (Health::Degraded, Health::Healthy, "probes_succeeded"),
        ]
    );
    assert!(seen
        .iter()
        .all(|a| &*a.breaker == "llm" && a.suppressed == 0));
}

#[test]
fn a_flapping_breaker_alerts_once_per_level_then_says_how_many_were_held() {
    let registry = Registry::new();
    let (hook, seen) = recorder(Duration::from_millis(600));
    registry.set_alert_hook(hook);
    // Built after the hook was set: it alerts too.
    registry.insert("db", flappy()).unwrap();
    for _ in 0..3 {
        outage(&registry, "db");
    }
    assert_eq!(seen.lock().unwrap().len(), 3, "one per level within 600 ms");
    std::thread::sleep(Duration::from_millis(620));
    outage(&registry, "db");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    // The first of the new round carries the 6 held back (2 outages x 3).
    assert_eq!(seen[3].level, Health::Critical);
    assert_eq!(seen[3].suppressed, 6);
    assert_eq!(seen[4].suppressed, 0);
}

#[test]
fn a_health_check_sees_a_closed_breaker_halfway_to_its_threshold() {
    let registry = Registry::new();
    let spec = BreakerSpec {
        config: Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(4)
            .build()
            .unwrap(),
        window: WindowSpec::Count { size: 10 },
    };
    registry.insert("search", spec).unwrap();
    let (hook, seen) = recorder(Duration::from_secs(60));
    registry.set_alert_hook(hook);
    let b = registry.get("search").unwrap();
    // 1 failure in 4: 25 %, half the 50 % threshold; still closed.
    for i in 0..4 {
        let _ = b.call(|| if i == 0 { Err(()) } else { Ok(()) });
    }
    assert_eq!(b.state(), State::Closed);
    assert!(
        seen.lock().unwrap().is_empty(),
        "no transition, no alert yet"
    );
    registry.check_alerts();
    registry.check_alerts();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one alert for one change of level");
    assert_eq!(seen[0].level, Health::Degraded);
    assert_eq!(seen[0].reason, "health_check");
}
