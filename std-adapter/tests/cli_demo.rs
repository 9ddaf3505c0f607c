//! `fusebox demo` end to end through the built binary: a real loopback HTTP
//! service, real hyper clients behind the tower layer, real breakers from
//! the built-in config; the JSON summary, the progress log and the plot are
//! checked against the schedule (healthy 20 %, outage 30 %, flapping 25 %,
//! recovery 25 % of the run).

mod cli_common;
use cli_common::{file, fusebox};
use predicates::prelude::*;
use serde_json::Value;

const RUN_MS: u64 = 6_000;
const OUTAGE_MS: u64 = RUN_MS / 5;

fn breaker<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no breaker {name} in {summary}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn each_breaker_trips_in_the_outage_for_its_own_reason_and_recovers() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo.svg");
    let _ = std::fs::remove_file(&out);
    let run = fusebox()
        .args(["demo", "--duration", "6s", "--format", "json", "--plot"])
        .arg(&out)
        .assert()
        .success()
        // Not a terminal: the progress log is plain lines on stderr.
        .stderr(predicate::str::contains("-- outage:"))
        .stderr(predicate::str::contains("-- recovery:"))
        .stderr(
            predicate::str::is_match(r"inventory +closed -> open +3 failures in a row").unwrap(),
        );
    let summary: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    assert!(u(&summary["duration_ms"]) >= RUN_MS, "{summary}");

    for (name, reason) in [
        ("inventory", "consecutive_failures"),
        ("payments", "slow_call_rate"),
        ("search", "trip_hint"),
    ] {
        let b = breaker(&summary, name);
        let transitions = b["transitions"].as_array().unwrap();
        // No trip while healthy (inventory fails 1 call in 50 then); the
        // first is in the outage, for the rule this dependency's failure
        // mode should fire.
        let first = &transitions[0];
        assert_eq!(
            (first["from"].as_str(), first["to"].as_str()),
            (Some("closed"), Some("open")),
            "{name}: {b}"
        );
        assert_eq!(first["reason"], reason, "{name}: {b}");
        assert!(u(&first["at_ms"]) >= OUTAGE_MS, "{name} tripped early: {b}");
        // It recovers: probes close it again at least once.
        assert!(
            transitions
                .iter()
                .any(|t| t["from"] == "half_open" && t["to"] == "closed"),
            "{name} never closed again: {b}"
        );
        // Transitions are in time order and chain.
        for w in transitions.windows(2) {
            assert!(u(&w[0]["at_ms"]) <= u(&w[1]["at_ms"]), "{name}: {b}");
            assert_eq!(w[0]["to"], w[1]["from"], "{name}: {b}");
        }

        // The counts add up, and rejected calls never reached the service:
        // only a failed call (timeout, transport error) may have missed it.
        let (calls, permitted, rejected) = (u(&b["calls"]), u(&b["permitted"]), u(&b["rejected"]));
        let (ok, failed, limited) = (u(&b["ok"]), u(&b["failed"]), u(&b["limited"]));
        let reached = u(&b["reached"]);
        assert_eq!(calls, permitted + rejected, "{name}: {b}");
        assert_eq!(permitted, ok + failed + limited, "{name}: {b}");
        assert!(rejected > 0 && ok > 0, "{name}: {b}");
        assert!(
            reached <= permitted,
            "{name}: a rejected call reached the service: {b}"
        );
        assert!(permitted - reached <= failed, "{name}: {b}");
        assert!(u(&b["trips"]) >= 1, "{name}: {b}");

        // Time in each state covers the run.
        let ms: u64 = b["ms_in"].as_object().unwrap().values().map(u).sum();
        assert!(
            (RUN_MS..=RUN_MS + 3_000).contains(&ms),
            "{name}: {ms} ms: {b}"
        );
        assert!(u(&b["ms_in"]["open"]) > 0, "{name}: {b}");

        // Failing fast: a rejection takes far less than a permitted call.
        let lat = &b["latency_us"];
        assert!(
            u(&lat["rejected_p50"]) * 10 < u(&lat["permitted_p50"]).max(1_000),
            "{name}: {lat}"
        );
    }
    // Only search's dependency answers 429.
    assert_eq!(u(&breaker(&summary, "inventory")["limited"]), 0);
    assert!(u(&breaker(&summary, "search")["limited"]) > 0);

    // The plot: one panel per breaker, the phases marked.
    assert_eq!(summary["plot"].as_str(), Some(out.to_str().unwrap()));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    for label in [
        "inventory: fusebox demo",
        "payments: fusebox demo",
        "search: fusebox demo",
        "outage",
        "flapping",
        "recovery",
    ] {
        assert!(svg.contains(&format!("\n{label}\n")), "no label {label}");
    }
}

#[test]
fn the_table_summary_names_every_breaker_and_the_plot() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-table.png");
    let _ = std::fs::remove_file(&out);
    fusebox()
        .args([
            "demo",
            "--duration",
            "2s",
            "--clients",
            "1",
            "--plain",
            "--plot",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^inventory +\d+ +\d+").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^payments +\d+ +\d+").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^search +\d+ +\d+").unwrap())
        .stdout(predicate::str::contains(format!(
            "timeline: {}",
            out.display()
        )));
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn bad_options_are_refused_with_exit_2() {
    for (args, message) in [
        (&["--duration", "1s"][..], "outside 2s..=1h"),
        (&["--duration", "2h"][..], "outside 2s..=1h"),
        (&["--duration", "soon"][..], "--duration"),
        (&["--clients", "0"][..], "--clients"),
        (&["--clients", "65"][..], "--clients"),
        (&["--plot", "timeline.pdf"][..], "must end in .svg or .png"),
    ] {
        fusebox()
            .arg("demo")
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
    assert!(!std::path::Path::new("timeline.pdf").exists());
}

#[test]
fn a_config_file_must_define_the_three_breakers() {
    let cfg = file(
        "demo",
        "two.toml",
        "[breakers.inventory]\npreset = \"database\"\n[breakers.payments]\npreset = \"http_api\"\n",
    );
    fusebox()
        .args(["demo", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("two.toml"))
        .stderr(predicate::str::contains("`search`"));

    let bad = file(
        "demo",
        "bad.toml",
        "[breakers.inventory]\nfailure_rate = 2.0\n",
    );
    fusebox()
        .args(["demo", "--config"])
        .arg(&bad)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("inventory"))
        .stderr(predicate::str::contains("failure_rate"));
}

#[test]
fn a_config_file_replaces_the_built_in_breakers() {
    // Thresholds no run of 2 s can reach: inventory and payments never trip
    // (search still opens on Retry-After, whatever its thresholds).
    let cfg = file(
        "demo",
        "never.toml",
        "[breakers.inventory]\nconsecutive_failures = 100000\n\
         [breakers.payments]\nconsecutive_failures = 100000\n\
         [breakers.search]\nconsecutive_failures = 100000\n",
    );
    let run = fusebox()
        .args([
            "demo",
            "--duration",
            "2s",
            "--clients",
            "1",
            "--format",
            "json",
            "--config",
        ])
        .arg(&cfg)
        .arg("--plot")
        .arg(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-never.svg"))
        .assert()
        .success();
    let summary: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    for name in ["inventory", "payments"] {
        let b = breaker(&summary, name);
        assert_eq!(u(&b["rejected"]), 0, "{name}: {b}");
        assert_eq!(u(&b["trips"]), 0, "{name}: {b}");
        assert_eq!(b["transitions"].as_array().unwrap().len(), 0, "{name}: {b}");
    }
    // Inventory failed in its outage, and nothing stopped the calls.
    assert!(u(&breaker(&summary, "inventory")["failed"]) > 0);
}
