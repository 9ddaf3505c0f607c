//! Issue 19 in the command-line tool: `simulate --calls` names the ramp's and
//! the throttle's rejections, `check-config` shows and checks their fields.

mod cli_common;
use cli_common::{calls, file, fusebox, totals};
use predicates::prelude::*;

fn simulate(tag: &str, config: &str, trace: &str) -> Vec<u8> {
    let config = file(tag, "b.toml", config);
    let trace = file(tag, "t.csv", trace);
    fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(config)
        .arg(trace)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

#[test]
fn simulate_shows_the_ramp_after_a_close_and_its_rejections() {
    // Trip at 0, probe at 100 closes; a 1 s ramp at 50 % then 100 %.
    let mut trace = String::from("at_ms,latency_ms,outcome\n0,0,err\n100,0,ok\n");
    for i in 0..20 {
        trace.push_str(&format!("{},0,ok\n", 200 + i * 10));
    }
    for i in 0..10 {
        trace.push_str(&format!("{},0,ok\n", 700 + i * 10));
    }
    let out = simulate(
        "ramp",
        "[breakers.b]\nconsecutive_failures = 1\nopen_for = \"100ms\"\nramp_up = \"1s\"\nramp_stages = [50, 100]\n",
        &trace,
    );
    let calls = calls(&out);
    let first_stage = &calls[2..22];
    let ramp = first_stage
        .iter()
        .filter(|c| c.ends_with(",rejected_ramp,closed"))
        .count();
    assert_eq!(ramp, 10, "half of the first stage's 20 calls: {calls:?}");
    assert!(
        calls[22..].iter().all(|c| c.ends_with(",permitted,closed")),
        "{calls:?}"
    );
    let t = totals(&out);
    assert!(t.contains(&("rejected_ramp".to_string(), 10)), "{t:?}");
}

#[test]
fn simulate_shows_throttled_calls() {
    let mut trace = String::from("at_ms,latency_ms,outcome\n");
    for i in 0..200 {
        trace.push_str(&format!("{},0,err\n", i * 5));
    }
    let out = simulate(
        "throttle",
        "[breakers.b]\nwindow = { kind = \"time\", span = \"10s\", buckets = 10 }\nthrottle_k = 2.0\n",
        &trace,
    );
    let throttled = calls(&out)
        .iter()
        .filter(|c| c.ends_with(",rejected_throttled,closed"))
        .count();
    assert!(
        throttled > 100,
        "{throttled} of 200 calls to a dead dependency"
    );
}

#[test]
fn check_config_prints_and_checks_the_shaping_fields() {
    let path = file(
        "shaping-ok",
        "ok.toml",
        "[breakers.api]\nconsecutive_failures = 3\nramp_up = \"20s\"\nramp_stages = [5, 50, 100]\n\n\
         [breakers.db]\nwindow = { kind = \"time\", span = \"30s\" }\nthrottle_k = 1.5\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ramp_up = \"20s\"\nramp_stages = [5, 50, 100]",
        ))
        .stdout(predicate::str::contains("throttle_k = 1.5"));
    for (tag, body, field, says) in [
        (
            "no-stages",
            "ramp_up = \"10s\"\nramp_stages = []\n",
            "ramp_stages",
            "1..=8 stages",
        ),
        (
            "stages-down",
            "ramp_up = \"10s\"\nramp_stages = [50, 20]\n",
            "ramp_stages",
            "each above the one before",
        ),
        (
            "stages-no-ramp",
            "ramp_stages = [50, 100]\n",
            "ramp_up",
            "required by ramp_stages",
        ),
        (
            "k-below-1",
            "window = { kind = \"time\", span = \"30s\" }\nthrottle_k = 0.5\n",
            "throttle_k",
            "1.0 <= K",
        ),
        (
            "k-no-window",
            "throttle_k = 2.0\n",
            "throttle_k",
            "time window",
        ),
        (
            "k-count-window",
            "window = { kind = \"count\", size = 10 }\nthrottle_k = 2.0\n",
            "throttle_k",
            "time window",
        ),
    ] {
        let path = file(
            tag,
            "bad.toml",
            &format!("[breakers.api]\nconsecutive_failures = 3\n{body}"),
        );
        fusebox()
            .arg("check-config")
            .arg(&path)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("bad.toml"))
            .stderr(predicate::str::contains("breaker `api`"))
            .stderr(predicate::str::contains(format!("field `{field}`")))
            .stderr(predicate::str::contains(says));
    }
}
