//! `fusebox simulate --state FILE`: replaying "what happens after a
//! restart" from a state file that fusebox-std's `persist` feature wrote.

mod cli_common;
use cli_common::{calls, file, fusebox, transitions};
use fusebox_std::config::FileConfig;
use fusebox_std::persist::SavedState;
use fusebox_std::Registry;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONFIG: &str = "[breakers.b]\nconsecutive_failures = 2\nopen_for = \"10s\"\n";

/// A state file saved by a registry built from `config`, after `b` tripped,
/// with its open period's remaining time set to `left_ms`.
fn saved_after_a_trip(tag: &str, config: &Path, left_ms: u64) -> PathBuf {
    let registry = Registry::from_config(&FileConfig::load(config).unwrap()).unwrap();
    let b = registry.get("b").unwrap();
    for _ in 0..2 {
        let _ = b.try_acquire().unwrap().failure();
    }
    let mut saved = SavedState::of(&registry);
    let e = saved.breakers.get_mut("b").unwrap();
    assert!(e.open_remaining.is_some(), "{e:?}");
    e.open_remaining = Some(Duration::from_millis(left_ms));
    let path = file(tag, "state.json", "");
    saved.save(&path).unwrap();
    path
}

#[test]
fn a_saved_open_breaker_resumes_for_what_was_left_then_probes() {
    let config = file("state-open", "b.toml", CONFIG);
    let state = saved_after_a_trip("state-open", &config, 4_000);
    let trace = file(
        "state-open",
        "t.csv",
        "at_ms,latency_ms,outcome\n0,0,ok\n3999,0,ok\n4000,5,ok\n4010,0,ok\n",
    );
    let a = fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(&config)
        .arg(&trace)
        .arg("--state")
        .arg(&state)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("restored `b`")
                .and(predicate::str::contains("open for 4000 ms")),
        );
    let out = a.get_output().stdout.clone();
    assert_eq!(
        transitions(&out),
        [
            "0,closed,open,restored",
            "4000,open,half_open,open_deadline_reached",
            "4005,half_open,closed,probes_succeeded"
        ]
    );
    assert_eq!(
        calls(&out),
        [
            "0,rejected,open",
            "3999,rejected,open",
            "4000,permitted,half_open",
            "4010,permitted,closed"
        ]
    );
}

#[test]
fn without_the_state_the_same_trace_starts_closed() {
    let config = file("state-none", "b.toml", CONFIG);
    let trace = file("state-none", "t.csv", "at_ms,latency_ms,outcome\n0,0,ok\n");
    let a = fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(&config)
        .arg(&trace)
        .assert()
        .success();
    let out = a.get_output().stdout.clone();
    assert!(transitions(&out).is_empty());
    assert_eq!(calls(&out), ["0,permitted,closed"]);
}

#[test]
fn a_changed_config_keeps_the_open_period_and_says_so() {
    let old = file("state-changed", "old.toml", CONFIG);
    let state = saved_after_a_trip("state-changed", &old, 2_000);
    let new = file(
        "state-changed",
        "new.toml",
        "[breakers.b]\nconsecutive_failures = 5\nopen_for = \"10s\"\n",
    );
    let trace = file(
        "state-changed",
        "t.csv",
        "at_ms,latency_ms,outcome\n1999,0,ok\n2000,0,ok\n",
    );
    let a = fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(&new)
        .arg(&trace)
        .arg("--state")
        .arg(&state)
        .assert()
        .success()
        .stderr(predicate::str::contains("the config differs"));
    let out = a.get_output().stdout.clone();
    assert_eq!(
        calls(&out),
        ["1999,rejected,open", "2000,permitted,half_open"]
    );
}

#[test]
fn a_bad_state_file_or_a_missing_breaker_is_bad_input() {
    let config = file("state-bad", "b.toml", CONFIG);
    let trace = file("state-bad", "t.csv", "at_ms,latency_ms,outcome\n0,0,ok\n");
    let truncated = file(
        "state-bad",
        "truncated.json",
        "{\"format\": \"fusebox-state\", \"vers",
    );
    fusebox()
        .args(["simulate", "--config"])
        .arg(&config)
        .arg(&trace)
        .arg("--state")
        .arg(&truncated)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("invalid or truncated state file"));
    let other = file(
        "state-bad",
        "other.toml",
        "[breakers.c]\nconsecutive_failures = 2\n",
    );
    let state = saved_after_a_trip("state-bad", &config, 1_000);
    fusebox()
        .args(["simulate", "--config"])
        .arg(&other)
        .arg(&trace)
        .arg("--state")
        .arg(&state)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "no saved state for breaker `c` (it has: b)",
        ));
}
