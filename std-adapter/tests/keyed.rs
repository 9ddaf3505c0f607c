//! Keyed breakers: independent per key, a cap on keys and on open keys,
//! idle keys dropped, a million distinct keys from real threads, bounded
//! metric labels.
#![cfg(feature = "keyed")]

use fusebox_core::{Config, Ratio, State};
use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
use fusebox_std::{BreakerSpec, CallExt, WindowSpec};
use std::time::Duration;

fn spec(failures: u32) -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(failures)
            .open_for(Duration::from_secs(60))
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

#[test]
fn keys_are_independent_and_named_after_the_template() {
    let hosts: KeyedBreakers<String> =
        KeyedBreakers::new("api", spec(1), KeyedConfig::default()).unwrap();
    let a = "a.example".to_string();
    let _ = hosts.get(&a).call(|| Err::<(), _>(()));
    assert_eq!(hosts.get(&a).state(), State::Open);
    assert_eq!(hosts.get(&"b.example".to_string()).state(), State::Closed);
    assert_eq!(hosts.get(&a).name(), "api[a.example]");
    let s = hosts.stats();
    assert_eq!((s.keys, s.open, s.created), (2, 1, 2));
}

#[test]
fn past_the_cap_on_open_keys_a_trip_is_refused_and_counted() {
    let cfg = KeyedConfig {
        max_open: Some(Ratio::percent(20)),
        ..KeyedConfig::default()
    };
    let hosts: KeyedBreakers<u32> = KeyedBreakers::new("db", spec(1), cfg).unwrap();
    for k in 0..10 {
        let _ = hosts.get(&k).call(|| Ok::<_, ()>(()));
    }
    // Every key fails: only 20 % of 10 may be out of service.
    for k in 0..10 {
        let _ = hosts.get(&k).call(|| Err::<(), _>(()));
    }
    let open = (0..10)
        .filter(|k| hosts.get(k).state() == State::Open)
        .count();
    assert_eq!(open, 2);
    let s = hosts.stats();
    assert_eq!((s.open, s.opens_refused), (2, 8));
    // A refused key keeps serving (and counting): it is closed.
    assert_eq!(hosts.get(&9).state(), State::Closed);
}

#[test]
fn an_idle_key_is_dropped_and_comes_back_fresh() {
    let cfg = KeyedConfig {
        idle: Some(Duration::from_millis(50)),
        ..KeyedConfig::default()
    };
    let tenants: KeyedBreakers<&'static str> = KeyedBreakers::new("t", spec(1), cfg).unwrap();
    let _ = tenants.get(&"acme").call(|| Err::<(), _>(()));
    assert_eq!(tenants.stats().open, 1);
    std::thread::sleep(Duration::from_millis(120));
    let s = tenants.stats();
    assert_eq!((s.keys, s.open, s.evicted), (0, 0, 1));
    assert_eq!(tenants.get(&"acme").state(), State::Closed);
    assert_eq!(tenants.stats().created, 2);
}

#[test]
fn a_million_distinct_keys_from_four_threads_stay_within_the_cap() {
    let cfg = KeyedConfig {
        max_keys: 1_000,
        idle: None,
        max_open: Some(Ratio::percent(10)),
        key_labels: 0,
    };
    let keys: KeyedBreakers<u64> = KeyedBreakers::new("k", spec(1), cfg).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let keys = keys.clone();
            s.spawn(move || {
                for i in 0..250_000u64 {
                    let k = t * 1_000_000 + i;
                    // One in ten keys fails once.
                    let fail = i % 10 == 0;
                    let _ = keys.get(&k).call(|| if fail { Err(()) } else { Ok(()) });
                }
            });
        }
    });
    let s = keys.stats();
    assert_eq!(s.created, 1_000_000);
    assert!(s.keys <= 1_000, "{s:?}");
    assert!(s.evicted >= 999_000, "{s:?}");
    assert!(s.open <= 100, "{s:?}");
}

#[test]
fn metrics_name_keys_only_when_asked_and_only_so_many() {
    let cfg = |labels| KeyedConfig {
        key_labels: labels,
        ..KeyedConfig::default()
    };
    for labels in [0, 2] {
        let models: KeyedBreakers<String> =
            KeyedBreakers::new("llm", spec(1), cfg(labels)).unwrap();
        for m in ["gpt", "claude", "llama", "mistral", "qwen"] {
            let _ = models.get(&m.to_string()).call(|| Err::<(), _>(()));
        }
        let text = models.metrics_text();
        assert!(
            text.contains("circuit_breaker_open_keys{name=\"llm\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("circuit_breaker_keys{name=\"llm\"} 5"),
            "{text}"
        );
        assert_eq!(text.matches("key=\"").count(), labels, "{text}");
    }
}

#[test]
fn a_bad_template_or_cap_is_refused_before_any_key() {
    let bad = KeyedConfig {
        max_open: Some(Ratio::percent(150)),
        ..KeyedConfig::default()
    };
    let e = KeyedBreakers::<u32>::new("x", spec(1), bad).unwrap_err();
    assert!(e.to_string().contains("max_open"), "{e}");
}
