//! `fusebox simulate`: the event order of DESIGN.md §12, the formats, and
//! bad input (exit 2, the line and column named, nothing on stdout).

mod cli_common;
use cli_common::{calls, file, fusebox, sample, totals, transitions};
use predicates::prelude::*;

const TRIP_ON_TWO: &str = "[breakers.b]\nconsecutive_failures = 2\nopen_for = \"1s\"\n";

fn simulate(tag: &str, config: &str, trace: &str) -> assert_cmd::assert::Assert {
    let config = file(tag, "b.toml", config);
    let trace = file(tag, "t.csv", trace);
    fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(config)
        .arg(trace)
        .assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> Vec<u8> {
    a.get_output().stdout.clone()
}

#[test]
fn completion_due_at_an_attempts_instant_is_applied_before_it() {
    let a = simulate(
        "due-now",
        "[breakers.b]\nconsecutive_failures = 1\nopen_for = \"1s\"\n",
        "at_ms,latency_ms,outcome\n0,0,err\n0,0,ok\n",
    );
    let out = stdout(&a.success());
    assert_eq!(transitions(&out), ["0,closed,open,consecutive_failures"]);
    assert_eq!(calls(&out), ["0,permitted,closed", "0,rejected,open"]);
}

#[test]
fn completion_due_after_an_attempt_is_not_applied_before_it() {
    let a = simulate(
        "due-later",
        "[breakers.b]\nconsecutive_failures = 1\nopen_for = \"1s\"\n",
        "at_ms,latency_ms,outcome\n0,10,err\n9,0,ok\n10,0,ok\n",
    );
    let out = stdout(&a.success());
    assert_eq!(transitions(&out), ["10,closed,open,consecutive_failures"]);
    assert_eq!(
        calls(&out),
        [
            "0,permitted,closed",
            "9,permitted,closed",
            "10,rejected,open"
        ]
    );
}

#[test]
fn completions_due_together_apply_in_row_order() {
    // The failure at 0 starts a run of one. The success (row 3) and the
    // failure (row 4) both complete at 20: in row order the success ends
    // the run first and nothing trips; the other way round would trip.
    let a = simulate(
        "same-due",
        TRIP_ON_TWO,
        "at_ms,latency_ms,outcome\n0,0,err\n5,15,ok\n10,10,err\n30,0,ok\n",
    );
    let out = stdout(&a.success());
    assert!(transitions(&out).is_empty());
}

#[test]
fn leftover_completions_apply_at_their_due_times_in_due_order() {
    // After the last row: the errors due at 15 and 17 land before the
    // success due at 30, so the breaker trips at 17.
    let a = simulate(
        "leftover",
        TRIP_ON_TWO,
        "at_ms,latency_ms,outcome\n0,30,ok\n10,5,err\n12,5,err\n",
    );
    let out = stdout(&a.success());
    assert_eq!(transitions(&out), ["17,closed,open,consecutive_failures"]);
    let totals = totals(&out);
    // Closed 0..17, open 17..30 (the last completion).
    assert!(
        totals.contains(&("closed_ms".to_string(), 17)),
        "{totals:?}"
    );
    assert!(totals.contains(&("open_ms".to_string(), 13)), "{totals:?}");
    assert!(totals.contains(&("trips".to_string(), 1)), "{totals:?}");
}

#[test]
fn json_format_is_one_object_with_transitions_totals_and_calls() {
    let out = fusebox()
        .args(["simulate", "--format", "json", "--calls", "--config"])
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let t = v["transitions"].as_array().unwrap();
    assert_eq!(t.len(), 5);
    assert_eq!(
        t[0],
        serde_json::json!({"at_ms": 450, "from": "closed", "to": "open", "reason": "consecutive_failures"})
    );
    assert_eq!(v["totals"]["permitted"], 8);
    assert_eq!(v["totals"]["rejected"], 3);
    assert_eq!(v["totals"]["trips"], 2);
    assert_eq!(v["totals"]["ms_in_state"]["open"], 2010);
    let calls = v["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 11);
    assert_eq!(
        calls[5],
        serde_json::json!({"at_ms": 500, "decision": "rejected", "state": "open"})
    );
}

#[test]
fn json_without_calls_has_no_calls_key() {
    let out = fusebox()
        .args(["simulate", "--format", "json", "--config"])
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v.get("calls").is_none());
    assert_eq!(v["transitions"].as_array().unwrap().len(), 5);
}

#[test]
fn table_format_lists_transitions_and_totals() {
    fusebox()
        .args(["simulate", "--config"])
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"\n\s+450\s+closed\s+open\s+consecutive_failures\n").unwrap(),
        )
        .stdout(predicate::str::is_match(r"\nrejected\s+3\n").unwrap());
}

#[test]
fn breaker_is_picked_by_name_when_the_file_has_several() {
    let config = file(
        "pick",
        "two.toml",
        "[breakers.a]\nconsecutive_failures = 1\n\n[breakers.b]\nconsecutive_failures = 2\n",
    );
    let trace = file("pick", "t.csv", "at_ms,latency_ms,outcome\n0,0,err\n");
    fusebox()
        .args(["simulate", "--config"])
        .arg(&config)
        .arg(&trace)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--breaker").and(predicate::str::contains("a, b")));
    let out = fusebox()
        .args(["simulate", "--format", "csv", "--breaker", "a", "--config"])
        .arg(&config)
        .arg(&trace)
        .assert()
        .success();
    assert_eq!(
        transitions(&out.get_output().stdout),
        ["0,closed,open,consecutive_failures"]
    );
    fusebox()
        .args(["simulate", "--breaker", "zz", "--config"])
        .arg(&config)
        .arg(&trace)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no breaker `zz`"));
}

/// A trace whose earlier rows trip the breaker, so a partial report would
/// have something to print, followed by `bad`.
fn bad(tag: &str, bad: &str) -> assert_cmd::assert::Assert {
    let trace = format!("at_ms,latency_ms,outcome\n0,0,err\n1,0,err\n2,0,ok\n{bad}");
    simulate(tag, TRIP_ON_TWO, &trace).code(2).stdout("")
}

#[test]
fn unsorted_rows_exit_2_naming_line_and_column() {
    bad("unsorted", "1,0,ok\n").stderr(predicate::str::contains(
        "t.csv: line 5, column 1 (at_ms): rows out of time order",
    ));
}

#[test]
fn unknown_outcome_exits_2_naming_line_and_column() {
    bad("outcome", "5,0,timeout\n").stderr(predicate::str::contains(
        "line 5, column 3 (outcome): unknown outcome `timeout`",
    ));
}

#[test]
fn negative_latency_exits_2_naming_line_and_column() {
    bad("negative", "5,-3,ok\n").stderr(predicate::str::contains(
        "line 5, column 2 (latency_ms): negative value `-3`",
    ));
}

#[test]
fn missing_header_exits_2_naming_line_1() {
    simulate("no-header", TRIP_ON_TWO, "0,0,err\n1,0,err\n")
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("line 1: missing header"));
    simulate("empty", TRIP_ON_TWO, "")
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("line 1: missing header"));
}

#[test]
fn missing_column_and_bad_number_exit_2() {
    bad("short-row", "5,0\n").stderr(predicate::str::contains(
        "line 5, column 3 (outcome): missing value",
    ));
    bad("not-a-number", "5,fast,ok\n")
        .stderr(predicate::str::contains("line 5, column 2 (latency_ms)"));
}

#[test]
fn bad_config_exits_2_with_the_config_error() {
    simulate(
        "bad-config",
        "[breakers.b]\nconsecutive_failures = 2\nopen_for = \"later\"\n",
        "at_ms,latency_ms,outcome\n0,0,ok\n",
    )
    .code(2)
    .stdout("")
    .stderr(predicate::str::contains("breaker `b`: field `open_for`"));
}
