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
    for label in [
        "closed",
        "open",
        "half_open",
        "half-open probe",
        "failures in a row (right axis)",
        "trips at 3 in a row",
        "trip (reason)",
        "ok",
        "failed",
        "rejected",
    ] {
        assert!(svg.contains(&format!("\n{label}\n")), "no label {label}");
    }
    // The caption says when and why it first tripped; the trip is marked.
    assert!(
        svg.contains("tripped 2 times; first at 0.5 s: "),
        "no caption"
    );
    assert!(
        svg.contains("s: 3 failures in a row\n"),
        "no reason in the caption"
    );
    assert!(svg.contains("\nrun\n"), "the trip mark is not labelled");
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
fn plot_other_than_svg_or_png_is_refused() {
    fusebox()
        .args(["simulate", "--plot", "out.pdf", "--config"])
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("must end in .svg or .png"));
    assert!(!std::path::Path::new("out.pdf").exists());
}

/// Pixels of exactly this colour in an RGB image.
fn pixels(rgb: &[u8], (r, g, b): (u8, u8, u8)) -> usize {
    rgb.chunks_exact(3).filter(|p| p == &[r, g, b]).count()
}

#[test]
fn outage_plot_as_png_has_the_state_band_in_proportion() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outage-plot.png");
    let _ = std::fs::remove_file(&out);
    fusebox()
        .args(["simulate", "--plot"])
        .arg(&out)
        .arg("--config")
        .arg(sample("outage.toml"))
        .arg(sample("outage.csv"))
        .assert()
        .success();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height), (1200, 720));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    // The band: closed 580 ms, open 2010 ms (and a legend swatch of each).
    let closed = pixels(&rgb, (120, 200, 120));
    let open = pixels(&rgb, (220, 70, 60));
    assert!(closed > 10_000, "closed {closed}");
    let ratio = open as f64 / closed as f64;
    assert!((3.0..4.0).contains(&ratio), "open/closed {ratio}");
    // Text is drawn: dark pixels beyond the band, axes and marks.
    assert!(pixels(&rgb, (0, 0, 0)) > 1_000);
    assert!(!out.with_extension("png.partial").exists());
}
