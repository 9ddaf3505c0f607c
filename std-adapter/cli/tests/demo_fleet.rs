//! `fusebox demo --fleet N` through the built binary, with a real
//! `redis-server` that the demo starts from PATH (skipped with a message
//! without one; a failure under CI, which installs it).

mod cli_common;
use cli_common::fusebox;
use predicates::prelude::*;

fn have_redis_server(test: &str) -> bool {
    let found = std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: redis-server is not installed (.ci/run installs it)"
        );
        eprintln!("SKIPPED {test}: no redis-server on PATH (apt-get install redis-server)");
    }
    found
}

#[test]
fn a_fleet_adopts_opens_and_sends_fewer_calls_to_the_failing_service() {
    if !have_redis_server("demo_fleet") {
        return;
    }
    let out = fusebox()
        .args(["demo", "--fleet", "4", "--duration", "4s"])
        .assert()
        .success()
        .stderr(predicate::str::contains("adopted an open from its peers"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let numbers = |label: &str| -> Vec<u64> {
        let line = text.lines().find(|l| l.starts_with(label)).expect(label);
        line[label.len()..]
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect()
    };
    let reached = numbers("calls that reached it while it was failing");
    assert!(reached[1] < reached[0], "{text}");
    assert!(numbers("opens adopted from peers")[0] > 0, "{text}");
}

#[test]
fn fleet_options_are_checked() {
    for args in [
        &["--fleet", "1"][..],
        &["--fleet", "17"][..],
        &["--redis", "redis://127.0.0.1:1/"][..],
    ] {
        fusebox().arg("demo").args(args).assert().code(2).stdout("");
    }
}
