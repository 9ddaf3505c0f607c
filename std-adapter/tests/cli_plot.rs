//! `fusebox simulate --plot OUT.svg`: the timeline is drawn after a good
//! replay, and not written at all after bad input.

mod cli_common;
use cli_common::{file, fusebox, sample};
use predicates::prelude::*;

/// Band rectangles of a state's colour (the legend adds one).
fn rects(svg: &str, fill: &str) -> usize {
    svg.matches(&format!("fill=\"{fill}\"")).count()
}

#[test]
fn outage_plot_shows_each_state_in_proportion_to_its_time() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outage-plot.svg");
    let _ = std::fs::remove_file(&out);
    fusebox()
        .args(["simulate", "--format", "csv", "--plot"])
        .arg(&out)
        .arg("--config")
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with("at_ms,from,to,reason\n"));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    for label in ["closed", "open", "half_open", "failure rate", "rejections"] {
        assert!(svg.contains(&format!("\n{label}\n")), "no label {label}");
    }
    // 2610 ms in columns of 2 ms: closed 580 ms, open 2010 ms, half-open
    // 20 ms (a column where a state starts counts for the more severe one).
    let (closed, open, half_open) = (
        rects(&svg, "#78C878"),
        rects(&svg, "#DC463C"),
        rects(&svg, "#F0BE3C"),
    );
    assert!((288..=292).contains(&closed), "closed {closed}");
    assert!((1004..=1010).contains(&open), "open {open}");
    assert!((9..=12).contains(&half_open), "half-open {half_open}");
}

#[test]
fn bad_trace_writes_no_plot() {
    let config = sample("outage.toml");
    let trace = file(
        "plot-bad",
        "t.csv",
        "at_ms,latency_ms,outcome\n0,0,err\n5,0,maybe\n",
    );
    let out = trace.with_file_name("never.svg");
    let _ = std::fs::remove_file(&out);
    fusebox()
        .args(["simulate", "--plot"])
        .arg(&out)
        .arg("--config")
        .arg(config)
        .arg(&trace)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("line 3, column 3 (outcome)"));
    assert!(!out.exists());
}

#[test]
fn plot_other_than_svg_is_refused() {
    fusebox()
        .args(["simulate", "--plot", "out.png", "--config"])
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("only .svg"));
}
