//! The sample traces of `examples/traces/`, each against the transitions
//! worked out by hand from DESIGN.md's rules (the derivation is beside each).

mod cli_common;
use cli_common::{calls, fusebox, sample, totals, transitions};

fn replay(name: &str) -> Vec<u8> {
    let out = fusebox()
        .args(["simulate", "--format", "csv", "--calls", "--config"])
        .arg(sample(&format!("{name}.toml")))
        .arg(sample(&format!("{name}.csv")))
        .assert()
        .success();
    out.get_output().stdout.clone()
}

fn total(out: &[u8], key: &str) -> u64 {
    totals(out)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no total {key}"))
        .1
}

#[test]
fn outage_trips_on_the_third_failure_and_recovers_after_a_failed_probe() {
    let out = replay("outage");
    // Failures started at 200, 300, 400 take 50 ms: the third completes at
    // 450 and trips (consecutive_failures = 3), open until 1450. The probe
    // at 1460 fails at 1470: open again until 2470. The probe at 2470
    // succeeds at 2480 and closes (success_threshold = 1).
    assert_eq!(
        transitions(&out),
        [
            "450,closed,open,consecutive_failures",
            "1460,open,half_open,open_deadline_reached",
            "1470,half_open,open,probe_failed",
            "2470,open,half_open,open_deadline_reached",
            "2480,half_open,closed,probes_succeeded",
        ]
    );
    // Rejected: 500 and 900 (open), 1600 (open again).
    assert_eq!(total(&out, "permitted"), 8);
    assert_eq!(total(&out, "rejected"), 3);
    // Closed 0..450 and 2480..2610 (the last completion); open 450..1460
    // and 1470..2470; half-open 1460..1470 and 2470..2480.
    assert_eq!(total(&out, "closed_ms"), 580);
    assert_eq!(total(&out, "open_ms"), 2010);
    assert_eq!(total(&out, "half_open_ms"), 20);
    let calls = calls(&out);
    assert_eq!(calls[5], "500,rejected,open");
    assert_eq!(calls[7], "1460,permitted,half_open");
    assert_eq!(calls[10], "2600,permitted,closed");
}

#[test]
fn flapping_dependency_trips_on_failure_rate_again_and_again() {
    let out = replay("flapping");
    // Window of 4, minimum 4, rate 0.5, all latencies 0. 0..300 gives
    // ok,err,ok,err: 2/4 at the failure at 300 trips, open until 800. Two
    // probes (800, 850) succeed: closed at 850 with an empty window. Then
    // err,err,ok,err by 1200: 3/4 trips, open until 1700. The probe at 1700
    // fails at once: open until 2200. Probes at 2300 and 2400 close it.
    assert_eq!(
        transitions(&out),
        [
            "300,closed,open,failure_rate",
            "800,open,half_open,open_deadline_reached",
            "850,half_open,closed,probes_succeeded",
            "1200,closed,open,failure_rate",
            "1700,open,half_open,open_deadline_reached",
            "1700,half_open,open,probe_failed",
            "2300,open,half_open,open_deadline_reached",
            "2400,half_open,closed,probes_succeeded",
        ]
    );
    assert_eq!(total(&out, "rejected"), 1);
}

#[test]
fn slow_dependency_trips_on_slow_call_rate_from_latencies() {
    let out = replay("slow");
    // Slow means over 200 ms. Completions: 100 (fast), 200 (fast), 350
    // (slow), 550 (slow): 2/4 slow at 550 trips, open until 1550. 600 is
    // rejected. The probe at 1600 takes 300 ms: slow, so open again at 1900
    // until 2900. The probe at 3000 takes 50 ms and closes at 3050.
    assert_eq!(
        transitions(&out),
        [
            "550,closed,open,slow_call_rate",
            "1600,open,half_open,open_deadline_reached",
            "1900,half_open,open,probe_slow",
            "3000,open,half_open,open_deadline_reached",
            "3050,half_open,closed,probes_succeeded",
        ]
    );
    assert_eq!(total(&out, "permitted"), 6);
    assert_eq!(total(&out, "rejected"), 1);
}

#[test]
fn rate_limited_answers_neither_count_nor_break_a_failure_run() {
    let out = replay("rate_limited");
    // err at 0, ignore at 100 (the run stays 1), err at 200: run of 2 trips,
    // open until 1200. The probe at 1200 is ignored and gives its slot back,
    // so 1300 is admitted as a probe and its success closes the breaker.
    assert_eq!(
        transitions(&out),
        [
            "200,closed,open,consecutive_failures",
            "1200,open,half_open,open_deadline_reached",
            "1300,half_open,closed,probes_succeeded",
        ]
    );
    let calls = calls(&out);
    assert_eq!(calls[3], "300,rejected,open");
    assert_eq!(calls[5], "1300,permitted,half_open");
    assert_eq!(calls[6], "1400,permitted,closed");
}
