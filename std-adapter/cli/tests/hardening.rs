//! `fusebox` on hostile config files (issue 14): sizes refused before
//! anything is allocated, breaker names that collide in the environment,
//! and input too large or too deeply nested, each refused in milliseconds
//! with an error that names where.

mod cli_common;
use cli_common::{file, fusebox};
use predicates::prelude::*;
use std::time::Duration;

/// A fault used to abort the process; it must now be a plain error, fast.
const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn huge_count_window_is_an_error_naming_the_field_and_range_not_an_abort() {
    let path = file(
        "huge-count",
        "huge.toml",
        "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 4294967295 }\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .timeout(LIMIT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("huge.toml"))
        .stderr(predicate::str::contains("breaker `db`"))
        .stderr(predicate::str::contains("field `window.size`"))
        .stderr(predicate::str::contains("1..=32767"));
}

#[test]
fn huge_window_from_the_environment_names_the_variable() {
    let path = file(
        "huge-env",
        "ok.toml",
        "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 10 }\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .env("FUSEBOX_DB_WINDOW_SIZE", "4294967295")
        .timeout(LIMIT)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("FUSEBOX_DB_WINDOW_SIZE"))
        .stderr(predicate::str::contains("field `window.size`"))
        .stderr(predicate::str::contains("1..=32767"));
}

#[test]
fn huge_time_window_is_refused_by_check_config_and_simulate() {
    let path = file(
        "huge-time",
        "huge.yaml",
        "breakers:\n  api:\n    failure_rate: 0.5\n    window: { kind: time, span: 60s, buckets: 4294967295 }\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .timeout(LIMIT)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("breaker `api`"))
        .stderr(predicate::str::contains("field `window.buckets`"))
        .stderr(predicate::str::contains("1..=4194304"));
    let trace = file("huge-time", "t.csv", "at_ms,latency_ms,outcome\n0,1,ok\n");
    fusebox()
        .args(["simulate", "--config"])
        .arg(&path)
        .arg(&trace)
        .timeout(LIMIT)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("field `window.buckets`"));
}

#[test]
fn breaker_names_that_collide_in_the_environment_are_refused_naming_both() {
    let path = file(
        "collide",
        "collide.toml",
        "[breakers.db]\nconsecutive_failures = 3\n\n[breakers.DB]\nconsecutive_failures = 4\n\n[breakers.d-b]\nconsecutive_failures = 5\n",
    );
    for env in [None, Some(("FUSEBOX_DB_OPEN_FOR", "9s"))] {
        let mut cmd = fusebox();
        cmd.arg("check-config").arg(&path).timeout(LIMIT);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        cmd.assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains("collide.toml"))
            .stderr(predicate::str::contains("`DB`"))
            .stderr(predicate::str::contains("`db`"))
            .stderr(predicate::str::contains("FUSEBOX_DB_"));
    }
}

#[test]
fn deeply_nested_yaml_and_toml_are_refused_fast_naming_the_line() {
    let deep = 100_000;
    let yaml = format!(
        "breakers:\n  db:\n    x: {}{}\n",
        "[".repeat(deep),
        "]".repeat(deep)
    );
    let toml = format!(
        "[breakers.db]\nx = {}{}\n",
        "[".repeat(deep),
        "]".repeat(deep)
    );
    let dotted = format!("[breakers.db]\n{} = 1\n", vec!["a"; deep].join("."));
    for (name, text) in [
        ("deep.yaml", yaml),
        ("deep.toml", toml),
        ("dotted.toml", dotted),
    ] {
        let path = file("deep", name, &text);
        fusebox()
            .arg("check-config")
            .arg(&path)
            .timeout(LIMIT)
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains("nested"))
            .stderr(predicate::str::contains("line 3").or(predicate::str::contains("line 2")));
    }
}

#[test]
fn an_oversized_file_is_refused_before_it_is_parsed() {
    let mut text = String::from("[breakers.db]\nconsecutive_failures = 3\n");
    while text.len() <= 2 << 20 {
        text.push_str("# padding padding padding padding padding padding padding\n");
    }
    let path = file("oversized", "big.toml", &text);
    fusebox()
        .arg("check-config")
        .arg(&path)
        .timeout(LIMIT)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("big.toml"))
        .stderr(predicate::str::contains("larger than"));
}

#[test]
fn simulate_speaks_of_a_window_span_as_a_duration_not_clock_ticks() {
    // Valid on the nanosecond clock of a service; too short for ten buckets
    // on simulate's millisecond clock.
    let path = file(
        "span-ticks",
        "span.toml",
        "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"time\", span = \"5ms\", buckets = 10 }\n",
    );
    let trace = file("span-ticks", "t.csv", "at_ms,latency_ms,outcome\n0,1,ok\n");
    fusebox()
        .args(["simulate", "--config"])
        .arg(&path)
        .arg(&trace)
        .timeout(LIMIT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "breaker `db`: field `window.span`: 5ms",
        ))
        .stderr(predicate::str::contains("10ms"))
        .stderr(predicate::str::contains("(ticks)").not())
        .stderr(predicate::str::contains("18446744073709551615").not());
}

#[test]
fn an_override_naming_no_breaker_of_the_file_is_an_error() {
    let path = file(
        "no-breaker",
        "one.toml",
        "[breakers.payments]\nconsecutive_failures = 3\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .env("FUSEBOX_PAYMENT_OPEN_FOR", "5s")
        .timeout(LIMIT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("FUSEBOX_PAYMENT_OPEN_FOR"))
        .stderr(predicate::str::contains("FUSEBOX_PAYMENTS_"));
}
