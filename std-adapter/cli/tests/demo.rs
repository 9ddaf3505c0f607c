//! `fusebox demo` end to end through the built binary: a real loopback HTTP
//! service, real hyper clients behind the tower layer, real breakers from
//! the built-in config; the JSON summary, the progress log and the plot are
//! checked against the schedule (healthy 20 %, outage 30 %, flapping 25 %,
//! recovery 25 % of the run).

mod cli_common;
use cli_common::{file, fusebox};
use predicates::prelude::*;
use serde_json::Value;

const RUN_MS: u64 = 8_000;
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
        .args(["demo", "--duration", "8s", "--format", "json", "--plot"])
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
        // Transitions chain, one epoch each, in time order (two threads may
        // read the clock a moment apart and commit in the other order).
        for w in transitions.windows(2) {
            assert_eq!(w[0]["to"], w[1]["from"], "{name}: {b}");
            assert_eq!(u(&w[0]["epoch"]) + 1, u(&w[1]["epoch"]), "{name}: {b}");
            assert!(u(&w[0]["at_ms"]) <= u(&w[1]["at_ms"]) + 5, "{name}: {b}");
        }
        // The core's trip count agrees with the broadcast transitions.
        let opened = transitions
            .iter()
            .filter(|t| t["to"] == "open" && t["from"] != "open")
            .count() as u64;
        assert_eq!(u(&b["trips"]), opened, "{name}: {b}");

        // What the callers saw agrees with the breaker's own counts (a 429
        // with Retry-After is a failure to the breaker, which it trips on);
        // and rejected calls never reached the service: only a failed call
        // (timeout, transport error) may have missed it.
        let c = &b["client"];
        let (ok, failed, limited) = (u(&c["ok"]), u(&c["failed"]), u(&c["limited"]));
        let (permitted, rejected) = (u(&b["permitted"]), u(&b["rejected"]));
        assert_eq!(u(&c["rejected"]), rejected, "{name}: {b}");
        assert_eq!(ok + failed + limited, permitted, "{name}: {b}");
        assert_eq!(ok, u(&b["success"]), "{name}: {b}");
        assert_eq!(
            failed + limited,
            u(&b["failure"]) + u(&b["ignored"]),
            "{name}: {b}"
        );
        assert_eq!(u(&b["abandoned"]), 0, "{name}: {b}");
        assert!(rejected > 0 && ok > 0, "{name}: {b}");
        let reached = u(&b["reached"]);
        assert!(
            reached <= permitted,
            "{name}: a rejected call reached the service: {b}"
        );
        assert!(permitted - reached <= failed, "{name}: {b}");

        // Time open, from the transitions, matches the account.
        let end = u(&summary["duration_ms"]);
        let (mut open_ms, mut state, mut since) = (0, "closed", 0);
        for t in transitions {
            let at = u(&t["at_ms"]).max(since);
            if state == "open" {
                open_ms += at - since;
            }
            (state, since) = (t["to"].as_str().unwrap(), at);
        }
        if state == "open" {
            open_ms += end.saturating_sub(since);
        }
        let account = u(&b["ms_in"]["open"]);
        assert!(
            open_ms.abs_diff(account) <= 10,
            "{name}: {open_ms} vs {account}: {b}"
        );
        assert!(account > 0, "{name}: {b}");
        let ms: u64 = b["ms_in"].as_object().unwrap().values().map(u).sum();
        assert_eq!(ms, end, "{name}: {b}");

        // Failing fast: a rejection takes far less than a permitted call.
        let (rejection, call) = (u(&c["rejected_us"]["p50"]), u(&c["permitted_us"]["p50"]));
        assert!(rejection * 10 < call.max(1_000), "{name}: {c}");
    }
    // inventory recovers in stages after each close (the built-in config
    // gives it a ramp): its ramp turned calls away, counted among its
    // rejections; the others have no ramp, and nothing throttles.
    for name in ["inventory", "payments", "search"] {
        let b = breaker(&summary, name);
        let ramp = u(&b["rejected_ramp"]);
        assert!(ramp <= u(&b["rejected"]), "{name}: {b}");
        assert_eq!(ramp > 0, name == "inventory", "{name}: {b}");
        assert_eq!(u(&b["rejected_throttled"]), 0, "{name}: {b}");
    }
    // Only search's dependency answers 429.
    assert_eq!(u(&breaker(&summary, "inventory")["client"]["limited"]), 0);
    assert!(u(&breaker(&summary, "search")["client"]["limited"]) > 0);
    assert_eq!(summary["interrupted"], false);

    // The plot: one panel per breaker, the phases marked.
    assert_eq!(summary["plot"].as_str(), Some(out.to_str().unwrap()));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    // Each panel's caption says why its breaker first tripped.
    for caption in [
        "inventory: fusebox demo: tripped ",
        "payments: fusebox demo: tripped ",
        "search: fusebox demo: tripped ",
    ] {
        assert!(
            svg.contains(&format!("\n{caption}")),
            "no caption {caption}"
        );
    }
    assert!(svg.contains(" failures in a row\n"), "inventory's reason");
    assert!(svg.contains(": slow-call rate "), "payments' reason");
    assert!(svg.contains(": asked to wait "), "search's reason");
    for label in ["outage", "flapping", "recovery"] {
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
        .stdout(predicate::str::contains(
            "inventory recovers in stages (10, 25, 50, 100 % over 0.2 s after each close): \
             the ramp turned away ",
        ))
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
        (&["--plot", "no/such/dir/t.svg"][..], "no such directory"),
    ] {
        fusebox()
            .arg("demo")
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
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
    assert!(u(&breaker(&summary, "inventory")["failure"]) > 0);
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_the_run_early_with_its_summary() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-interrupted.svg");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("fusebox"))
        .args(["demo", "--duration", "60s", "--format", "json", "--plot"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is under way (its first phase line), then Ctrl-C.
    std::thread::sleep(Duration::from_millis(1_500));
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(sent.elapsed() < Duration::from_secs(20), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(output.status.success(), "{output:?}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["interrupted"], true);
    let ran = u(&summary["duration_ms"]);
    assert!((1_000..20_000).contains(&ran), "{ran} ms");
    assert!(out.exists());
}
