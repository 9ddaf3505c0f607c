//! Classic breaker vs progressive recovery (ramp) vs adaptive throttling on
//! simulated dependencies (issue 19). Not a timing benchmark: a
//! deterministic replay on a manual millisecond clock, one call a
//! millisecond, each completing at once; it prints what each breaker let
//! through, draws it over time and writes the series it drew.
//!
//! Scenarios:
//! - `slow_recovery`: the dependency is down for 5 s, then its capacity grows
//!   linearly from 0 to 1 000 calls/s over 10 s; in each 100 ms slot the calls
//!   beyond the slot's capacity fail. 30 s in all.
//! - `degraded_30`: 30 % of calls fail (a fixed pseudo-random choice) from
//!   5 s to 65 s; 90 s in all. `degraded_60`: the same at 60 %.
//!
//! Breakers (all with a 5 s time window of 10 buckets, failure rate >= 50 %
//! over at least 20 calls, open for 2 s, 3 probes that must all succeed):
//! `classic`; `ramp` adds `ramp_up = 10 s` with the default stages 10, 25,
//! 50, 100 %; `throttle` adds `throttle_k = 1.5`.
//!
//! `degraded_30` is replayed twice: with those three, where nothing trips
//! (30 % < 50 %) and `K = 1.5` never throttles (`1 - 1.5 × 0.7 < 0`), so all
//! three let everything through; and with settings that act on a 30 %
//! failure rate: `classic` and `ramp` tripping at 25 %, and `throttle` with
//! `K = 1.1` (which throttles once fewer than `1 / 1.1 = 91 %` of the
//! requests succeed).
//!
//! Columns: `goodput` = successful calls; `reached` = calls that reached
//! the dependency; `failed` = calls that reached it and failed; `turned
//! away` = calls the breaker rejected (in any state, ramp and throttle
//! included); `recovered_s` = seconds from the start of the trouble (5 s) to
//! the start of the first 1 s stretch, after which every later call is
//! admitted and succeeds (`-` if never).
//!
//! Files (in `--out DIR`, default `recovery/` beside the binary's profile
//! directory, i.e. `target/recovery/`):
//! - `recovery.svg`: one row per scenario, one panel per breaker: successful
//!   and failed calls per second, the calls turned away (by the state, and by
//!   the ramp or the throttle), and, shaded, how many calls per second the
//!   dependency could have served;
//! - `recovery.csv`: the series drawn, one row per panel and time bucket;
//!   they add up to the table.
//!
//! Run: `cargo run --release -p fusebox-benches --bin recovery [-- --out DIR]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fusebox_core::{Breaker, Config, ManualClock, Ratio, RejectReason, TimeWindow};
use plotters::prelude::*;

type Clock = ManualClock<1000>;

/// One breaker of the comparison.
#[derive(Clone, Copy)]
struct Setup {
    name: &'static str,
    /// The failure rate that trips it, in percent.
    trip_pct: u32,
    ramp: bool,
    /// `throttle_k` in basis points.
    throttle_k_bp: Option<u32>,
}

impl Setup {
    const CLASSIC: Setup = Setup {
        name: "classic",
        trip_pct: 50,
        ramp: false,
        throttle_k_bp: None,
    };
    const RAMP: Setup = Setup {
        name: "ramp",
        trip_pct: 50,
        ramp: true,
        throttle_k_bp: None,
    };
    const THROTTLE: Setup = Setup {
        name: "throttle",
        trip_pct: 50,
        ramp: false,
        throttle_k_bp: Some(15_000),
    };

    fn config(self) -> Config {
        let mut b = Config::builder()
            .failure_rate(Ratio::percent(self.trip_pct))
            .minimum_calls(20)
            .window_span(Duration::from_secs(5))
            .open_for(Duration::from_secs(2))
            .half_open_permits(3)
            .success_threshold(3);
        if self.ramp {
            b = b.ramp_up(Duration::from_secs(10));
        }
        if let Some(k) = self.throttle_k_bp {
            b = b.throttle_k(Ratio::from_basis_points(k));
        }
        b.build().expect("valid")
    }
}

/// The three breakers as the issue describes them.
const DEFAULT: [Setup; 3] = [Setup::CLASSIC, Setup::RAMP, Setup::THROTTLE];

/// The same kinds, set to act on a 30 % failure rate.
const TUNED_FOR_30: [Setup; 3] = [
    Setup {
        name: "classic (trip 25 %)",
        trip_pct: 25,
        ..Setup::CLASSIC
    },
    Setup {
        name: "ramp (trip 25 %)",
        trip_pct: 25,
        ..Setup::RAMP
    },
    Setup {
        name: "throttle (K 1.1)",
        throttle_k_bp: Some(11_000),
        ..Setup::THROTTLE
    },
];

#[derive(Clone, Copy)]
enum Scenario {
    SlowRecovery,
    Degraded(u64),
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::SlowRecovery => "slow_recovery".into(),
            Scenario::Degraded(p) => format!("degraded_{p}"),
        }
    }

    fn length_ms(self) -> u64 {
        match self {
            Scenario::SlowRecovery => 30_000,
            Scenario::Degraded(_) => 90_000,
        }
    }

    /// The plot's time bucket: 200 ms (two capacity slots) on the short
    /// recovery, 1 s on the long degradations (a 30 % failure rate drawn per
    /// 200 ms is mostly noise).
    fn bucket_ms(self) -> u64 {
        match self {
            Scenario::SlowRecovery => 200,
            Scenario::Degraded(_) => 1_000,
        }
    }

    fn dependency(self) -> Dependency {
        Dependency {
            scenario: self,
            slot: u64::MAX,
            used: 0,
        }
    }
}

/// The dependency: decides whether the call admitted at `t` (ms) succeeds.
struct Dependency {
    scenario: Scenario,
    slot: u64,
    used: u64,
}

impl Dependency {
    fn call(&mut self, t: u64) -> bool {
        match self.scenario {
            Scenario::SlowRecovery => {
                let slot = t / 100;
                if slot != self.slot {
                    self.slot = slot;
                    self.used = 0;
                }
                // Capacity in calls per 100 ms slot: 0 until 5 s, then up to
                // 100 (1 000 calls/s) at 15 s.
                let capacity = t.saturating_sub(5_000).min(10_000) / 100;
                self.used += 1;
                self.used <= capacity
            }
            Scenario::Degraded(pct) => {
                if !(5_000..65_000).contains(&t) {
                    return true;
                }
                // splitmix64 of the instant: a fixed pseudo-random choice.
                let mut z = t.wrapping_add(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) % 100 >= pct
            }
        }
    }
}

/// What one time bucket saw.
#[derive(Clone, Copy, Default)]
struct Bucket {
    ok: u64,
    failed: u64,
    /// Rejected by the state (open, half-open).
    by_state: u64,
    /// Turned away while closed by the ramp or the throttle.
    shaped: u64,
    /// Calls the dependency would have served had every call reached it.
    could_serve: u64,
}

struct Outcome {
    goodput: u64,
    reached: u64,
    failed: u64,
    turned_away: u64,
    recovered_ms: Option<u64>,
    buckets: Vec<Bucket>,
}

fn run(scenario: Scenario, setup: Setup) -> Outcome {
    let clock = Clock::new();
    let b: Breaker<&Clock, TimeWindow<10>> = Breaker::try_new(&clock, setup.config()).unwrap();
    let mut dep = scenario.dependency();
    // The same dependency offered every call, for what it could serve.
    let mut all_in = scenario.dependency();
    let width = scenario.bucket_ms();
    let mut buckets = vec![Bucket::default(); scenario.length_ms().div_ceil(width) as usize];
    // The last instant at which a call was turned away or failed.
    let mut last_bad = None;
    for t in 0..scenario.length_ms() {
        clock.set(t);
        let bucket = &mut buckets[(t / width) as usize];
        bucket.could_serve += u64::from(all_in.call(t));
        match b.try_acquire() {
            Ok(p) => {
                if dep.call(t) {
                    bucket.ok += 1;
                    let _ = p.success();
                } else {
                    bucket.failed += 1;
                    last_bad = Some(t);
                    let _ = p.failure();
                }
            }
            Err(e) => {
                match e.reason {
                    RejectReason::State => bucket.by_state += 1,
                    RejectReason::Ramp | RejectReason::Throttled => bucket.shaped += 1,
                }
                last_bad = Some(t);
            }
        }
    }
    // Recovered: everything after the last bad call was good, and that
    // stretch lasted at least 1 s before the end.
    let recovered_ms = match last_bad {
        None => Some(0),
        Some(t) if t + 1_000 < scenario.length_ms() => Some((t + 1).saturating_sub(5_000)),
        Some(_) => None,
    };
    let sum = |f: fn(&Bucket) -> u64| buckets.iter().map(f).sum::<u64>();
    Outcome {
        goodput: sum(|b| b.ok),
        reached: sum(|b| b.ok + b.failed),
        failed: sum(|b| b.failed),
        turned_away: sum(|b| b.by_state + b.shaped),
        recovered_ms,
        buckets,
    }
}

/// One row of the figure: a scenario replayed through three breakers.
struct Row {
    scenario: Scenario,
    title: String,
    runs: Vec<(Setup, Outcome)>,
}

fn recovered(o: &Outcome) -> String {
    o.recovered_ms
        .map_or("-".to_string(), |ms| format!("{:.1}", ms as f64 / 1000.0))
}

fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| scenario | breaker | goodput | reached | failed | turned away | recovered_s |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for row in rows {
        for (setup, o) in &row.runs {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.scenario.name(),
                setup.name,
                o.goodput,
                o.reached,
                o.failed,
                o.turned_away,
                recovered(o)
            );
        }
    }
    s
}

fn csv(rows: &[Row]) -> String {
    let mut s =
        String::from("scenario,breaker,t_s,ok,failed,rejected_state,rejected_shaped,could_serve\n");
    for row in rows {
        let width = row.scenario.bucket_ms();
        for (setup, o) in &row.runs {
            for (i, b) in o.buckets.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{}",
                    row.scenario.name(),
                    setup.name,
                    (i as u64 * width) as f64 / 1000.0,
                    b.ok,
                    b.failed,
                    b.by_state,
                    b.shaped,
                    b.could_serve
                );
            }
        }
    }
    s
}

/// Pixels of one panel.
const PANEL: (u32, u32) = (560, 330);
/// Pixels above the grid for the title and the legend.
const HEADER: u32 = 70;

/// Text is measured with ab_glyph in an embedded font (egui's Ubuntu Light,
/// as `fusebox --plot` does), so no system font is needed.
fn register_font() -> Result<(), String> {
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .map_err(|_| "the embedded font does not load".to_string())
}

const OK: RGBColor = RGBColor(40, 150, 60);
const FAILED: RGBColor = RGBColor(215, 40, 40);
const BY_STATE: RGBColor = RGBColor(120, 120, 120);
const SHAPED: RGBColor = RGBColor(235, 150, 20);
const CAPACITY: RGBColor = RGBColor(200, 220, 245);

/// A series of a panel: label, colour, per-bucket count.
type Series = (&'static str, RGBColor, fn(&Bucket) -> u64);

/// The series of a panel.
fn series() -> [Series; 5] {
    [
        ("dependency could serve", CAPACITY, |b| b.could_serve),
        ("ok", OK, |b| b.ok),
        ("reached and failed", FAILED, |b| b.failed),
        ("rejected (open / half-open)", BY_STATE, |b| b.by_state),
        ("turned away (ramp / throttle)", SHAPED, |b| b.shaped),
    ]
}

fn svg(rows: &[Row]) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    register_font()?;
    let size = (PANEL.0 * 3, HEADER + PANEL.1 * rows.len() as u32);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (header, grid) = root.split_vertically(HEADER);
        header
            .draw(&Text::new(
                "Classic vs ramp vs throttle: calls per second, one call offered per ms \
                 (fusebox-benches --bin recovery)",
                (12, 8),
                ("sans-serif", 20),
            ))
            .map_err(|e| err(&e))?;
        // The legend, once for every panel.
        let mut x = 12;
        for (label, colour, _) in series() {
            if label.starts_with("dependency") {
                header
                    .draw(&Rectangle::new([(x, 42), (x + 28, 58)], colour.filled()))
                    .map_err(|e| err(&e))?;
            } else {
                header
                    .draw(&PathElement::new(
                        [(x, 50), (x + 28, 50)],
                        colour.stroke_width(3),
                    ))
                    .map_err(|e| err(&e))?;
            }
            header
                .draw(&Text::new(label, (x + 34, 42), ("sans-serif", 15)))
                .map_err(|e| err(&e))?;
            x += 60 + 8 * label.len() as i32;
        }
        let cells = grid.split_evenly((rows.len(), 3));
        for (i, row) in rows.iter().enumerate() {
            for (j, (setup, o)) in row.runs.iter().enumerate() {
                panel(&cells[i * 3 + j], row, setup, o).map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    row: &Row,
    setup: &Setup,
    o: &Outcome,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let width = row.scenario.bucket_ms();
    let end_s = row.scenario.length_ms() as f64 / 1000.0;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{}: {}", row.title, setup.name), ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..end_s, 0f64..1_150f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("s")
        .y_desc("calls / s")
        .label_style(("sans-serif", 12))
        .max_light_lines(0)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    let per_s = 1000.0 / width as f64;
    for (label, colour, f) in series() {
        // Each bucket drawn as a step: its rate held across its width.
        let points: Vec<(f64, f64)> = o
            .buckets
            .iter()
            .enumerate()
            .flat_map(|(i, b)| {
                let (x0, x1) = (
                    (i as u64 * width) as f64 / 1000.0,
                    ((i as u64 + 1) * width) as f64 / 1000.0,
                );
                let y = f(b) as f64 * per_s;
                [(x0, y), (x1.min(end_s), y)]
            })
            .collect();
        if label.starts_with("dependency") {
            // What the dependency could serve: a shaded area under its line.
            let mut area = points.clone();
            area.push((end_s, 0.0));
            area.push((0.0, 0.0));
            chart
                .draw_series(std::iter::once(Polygon::new(area, colour.filled())))
                .map_err(|e| err(&e))?;
        } else {
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| err(&e))?;
        }
    }
    chart
        .draw_series(std::iter::once(Text::new(
            format!(
                "ok {}, failed {}, turned away {}, recovered {}",
                o.goodput,
                o.failed,
                o.turned_away,
                o.recovered_ms.map_or("never".to_string(), |ms| format!(
                    "{:.1} s",
                    ms as f64 / 1000.0
                ))
            ),
            (end_s * 0.02, 1_130.0),
            ("sans-serif", 13),
        )))
        .map_err(|e| err(&e))?;
    Ok(())
}

/// `--out DIR`, or `recovery/` in the target directory (the binary lives in
/// `target/<profile>/`).
fn out_dir() -> Result<PathBuf, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let target = exe
                .parent()
                .and_then(Path::parent)
                .ok_or("cannot find the target directory; pass --out DIR")?;
            Ok(target.join("recovery"))
        }
        (Some("--out"), Some(dir)) if args.next().is_none() => Ok(PathBuf::from(dir)),
        _ => Err("usage: recovery [--out DIR]".to_string()),
    }
}

fn main() -> std::process::ExitCode {
    let dir = match out_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let cases: [(Scenario, &str, [Setup; 3]); 4] = [
        (Scenario::SlowRecovery, "slow_recovery", DEFAULT),
        (Scenario::Degraded(30), "degraded_30", DEFAULT),
        (Scenario::Degraded(30), "degraded_30, tuned", TUNED_FOR_30),
        (Scenario::Degraded(60), "degraded_60", DEFAULT),
    ];
    let rows: Vec<Row> = cases
        .into_iter()
        .map(|(scenario, title, setups)| Row {
            scenario,
            title: title.to_string(),
            runs: setups.into_iter().map(|s| (s, run(scenario, s))).collect(),
        })
        .collect();
    print!("{}", table(&rows));
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|()| {
            let csv_path = dir.join("recovery.csv");
            std::fs::write(&csv_path, csv(&rows))
                .map_err(|e| format!("{}: {e}", csv_path.display()))?;
            let svg_path = dir.join("recovery.svg");
            std::fs::write(&svg_path, svg(&rows)?)
                .map_err(|e| format!("{}: {e}", svg_path.display()))?;
            Ok((svg_path, csv_path))
        });
    match written {
        Ok((svg_path, csv_path)) => {
            let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
            println!("\nplot: {}", abs(svg_path).display());
            println!("series: {}", abs(csv_path).display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
