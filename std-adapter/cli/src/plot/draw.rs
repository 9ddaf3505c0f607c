//! Drawing the gathered timelines: one panel per breaker, on a shared time
//! axis, into an SVG or PNG file.

use super::{Column, Plot};
use fusebox_core::{Config, State};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One breaker's timeline in a plot file.
pub struct Panel<'a> {
    pub plot: &'a Plot,
    pub config: &'a Config,
    pub title: String,
    /// Labelled moments (seconds), drawn as dashed vertical lines.
    pub marks: Vec<(f64, String)>,
}

/// Trip marks labelled with their reason, at most (the rest are lines).
const LABELLED_TRIPS: usize = 12;

/// The colour of the consecutive-failure run and its threshold.
const RUN: RGBColor = RGBColor(230, 130, 20);
/// The colour of trip marks.
const TRIP: RGBColor = RGBColor(140, 20, 20);

type Res = Result<(), String>;

fn err(e: &dyn std::fmt::Display) -> String {
    e.to_string()
}

impl Panel<'_> {
    /// "tripped 6 times; first at 1.6 s: 3 failures in a row".
    fn caption(&self) -> String {
        match self.plot.trips() {
            (Some((at_ms, trip)), n) => format!(
                "{}: tripped {} time{}; first at {:.1} s: {}",
                self.title,
                n,
                if n == 1 { "" } else { "s" },
                at_ms as f64 / 1000.0,
                trip.describe()
            ),
            (None, _) => format!("{}: never tripped", self.title),
        }
    }

    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, end_s: f64) -> Res {
        let (band, rest) = area.split_vertically(130);
        let (rates, calls) = rest.split_vertically((rest.dim_in_pixel().1 as f64 * 0.62) as u32);
        self.draw_band(&band, end_s)?;
        self.draw_rates(&rates, end_s)?;
        self.draw_calls(&calls, end_s)
    }

    /// The state band, with half-open probes ticked under it.
    fn draw_band<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, end_s: f64) -> Res {
        let plot = self.plot;
        let col_s = plot.stride as f64 / 1000.0;
        let mut top = ChartBuilder::on(area)
            .caption(self.caption(), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(0)
            .y_label_area_size(90)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..end_s, -0.25f64..1f64)
            .map_err(|e| err(&e))?;
        top.configure_mesh()
            .disable_mesh()
            .y_labels(0)
            .y_desc("state")
            .draw()
            .map_err(|e| err(&e))?;
        top.draw_series(plot.columns.iter().enumerate().filter_map(|(i, c)| {
            let x = i as f64 * col_s;
            c.state
                .map(|s| Rectangle::new([(x, 0.0), (x + col_s, 1.0)], colour(s).filled()))
        }))
        .map_err(|e| err(&e))?;
        for s in State::ALL {
            if plot.columns.iter().any(|c| c.state == Some(s)) {
                top.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                    .map_err(|e| err(&e))?
                    .label(s.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour(s).filled())
                    });
            }
        }
        if plot.columns.iter().any(|c| c.probes > 0) {
            top.draw_series(
                plot.columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.probes > 0)
                    .map(|(i, _)| {
                        let x = i as f64 * col_s + col_s / 2.0;
                        PathElement::new([(x, -0.22), (x, -0.02)], BLACK.stroke_width(2))
                    }),
            )
            .map_err(|e| err(&e))?
            .label("half-open probe")
            .legend(|(x, y)| PathElement::new([(x + 5, y - 5), (x + 5, y + 5)], BLACK));
        }
        top.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))
    }

    /// The window's rates and the consecutive run against their thresholds,
    /// the trips marked with their reasons, the phase marks.
    fn draw_rates<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, end_s: f64) -> Res {
        let (plot, config) = (self.plot, self.config);
        let col_s = plot.stride as f64 / 1000.0;
        let run_limit = config.consecutive_failures();
        let run_top = run_limit.map_or(1.0, |n| n as f64 * 1.1 + 0.5);
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(25)
            .y_label_area_size(90)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..end_s, 0f64..1.1f64)
            .map_err(|e| err(&e))?
            .set_secondary_coord(0f64..end_s, 0f64..run_top);
        chart
            .configure_mesh()
            .y_desc("window rate")
            .draw()
            .map_err(|e| err(&e))?;
        if run_limit.is_some() {
            chart
                .configure_secondary_axes()
                .y_desc("failures in a row")
                .draw()
                .map_err(|e| err(&e))?;
        }
        for (at_s, label) in &self.marks {
            chart
                .draw_series(DashedLineSeries::new(
                    [(*at_s, 0.0), (*at_s, 1.1)],
                    3,
                    3,
                    BLACK.mix(0.4).stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*at_s + end_s / 200.0, 1.08),
                    ("sans-serif", 13),
                )))
                .map_err(|e| err(&e))?;
        }
        // Trips: a line each, the first few labelled with their reason.
        let trips: Vec<_> = plot
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.trip.map(|t| (i as f64 * col_s, t)))
            .collect();
        chart
            .draw_series(trips.iter().map(|(x, _)| {
                PathElement::new([(*x, 0.0), (*x, 1.0)], TRIP.mix(0.7).stroke_width(1))
            }))
            .map_err(|e| err(&e))?
            .label("trip (reason)")
            .legend(|(x, y)| PathElement::new([(x + 5, y - 6), (x + 5, y + 6)], TRIP));
        chart
            .draw_series(
                trips
                    .iter()
                    .take(LABELLED_TRIPS)
                    .enumerate()
                    .map(|(k, (x, t))| {
                        // Alternate heights so neighbouring labels do not overlap.
                        let y = if k % 2 == 0 { 0.93 } else { 0.86 };
                        Text::new(
                            t.short(),
                            (*x + end_s / 300.0, y),
                            ("sans-serif", 12).into_font().color(&TRIP),
                        )
                    }),
            )
            .map_err(|e| err(&e))?;

        let line = |f: fn(&Column) -> f64| {
            plot.columns
                .iter()
                .enumerate()
                .map(move |(i, c)| (i as f64 * col_s, f(c)))
        };
        let mut thresholds: Vec<(f64, RGBColor, String, (u32, u32))> = Vec::new();
        if config.failure_rate().is_some() || plot.columns.iter().any(|c| c.failure_rate > 0.0) {
            chart
                .draw_series(LineSeries::new(
                    line(|c| c.failure_rate),
                    RED.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label("failure rate")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        if config.slow_call_rate().is_some() || plot.columns.iter().any(|c| c.slow_rate > 0.0) {
            chart
                .draw_series(LineSeries::new(line(|c| c.slow_rate), BLUE.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label("slow-call rate")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        }
        if let Some(r) = config.failure_rate() {
            let v = r.basis_points() as f64 / 10_000.0;
            thresholds.push((
                v,
                RED,
                format!("trips at failure rate {:.0} %", v * 100.0),
                (10, 4),
            ));
        }
        if let Some(r) = config.slow_call_rate() {
            let v = r.basis_points() as f64 / 10_000.0;
            thresholds.push((
                v,
                BLUE,
                format!("trips at slow-call rate {:.0} %", v * 100.0),
                (2, 4),
            ));
        }
        // Equal thresholds stay apart: different dashes, and their labels
        // stack instead of overprinting.
        for (k, (y, c, label, (dash, gap))) in thresholds.iter().enumerate() {
            let same_as_earlier = thresholds[..k].iter().any(|t| (t.0 - y).abs() < 0.02);
            let c = *c;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, *y), (end_s, *y)],
                    *dash,
                    *gap,
                    c.mix(0.8).stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.mix(0.8)));
            let text_y = if same_as_earlier { y - 0.07 } else { y + 0.02 };
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (end_s * 0.80, text_y),
                    ("sans-serif", 12).into_font().color(&c),
                )))
                .map_err(|e| err(&e))?;
        }
        if let Some(n) = run_limit {
            chart
                .draw_secondary_series(LineSeries::new(
                    plot.columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (i as f64 * col_s, c.run as f64)),
                    RUN.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label("failures in a row (right axis)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RUN.stroke_width(2)));
            let n = n as f64;
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    [(0.0, n), (end_s, n)],
                    4,
                    3,
                    RUN.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(format!("trips at {n} in a row"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RUN));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))
    }

    /// Calls per second: ok, failed, rejected.
    fn draw_calls<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, end_s: f64) -> Res {
        let plot = self.plot;
        let col_s = plot.stride as f64 / 1000.0;
        // Per-second rates over a few columns, so a sparse trace still reads.
        let per_s = |f: fn(&Column) -> u64| -> Vec<(f64, f64)> {
            let k = ((0.25 / col_s).ceil() as usize).max(1);
            plot.columns
                .chunks(k)
                .enumerate()
                .map(|(j, cs)| {
                    let n: u64 = cs.iter().map(f).sum();
                    ((j * k) as f64 * col_s, n as f64 / (cs.len() as f64 * col_s))
                })
                .collect()
        };
        let series = [
            ("ok", per_s(|c| c.ok), RGBColor(40, 150, 60)),
            ("failed", per_s(|c| c.failed), RED),
            (
                "rejected",
                // Saturating: sampled counters may see a shaped rejection
                // before it is counted among all rejections.
                per_s(|c| c.rejected.saturating_sub(c.shaped)),
                RGBColor(110, 110, 110),
            ),
            (
                "turned away (ramp / throttle)",
                per_s(|c| c.shaped),
                RGBColor(230, 150, 20),
            ),
        ];
        let top = series
            .iter()
            .flat_map(|(_, v, _)| v.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.1;
        // The share of closed-state attempts admitted (a ramp or throttling
        // lowers it), on the right-hand axis; only where there were any.
        let k = ((0.25 / col_s).ceil() as usize).max(1);
        let share: Vec<(f64, f64)> = plot
            .columns
            .chunks(k)
            .enumerate()
            .filter_map(|(j, cs)| {
                let closed: u64 = cs.iter().map(|c| c.closed).sum();
                let away: u64 = cs.iter().map(|c| c.shaped).sum();
                (closed > 0).then(|| {
                    let admitted = closed.saturating_sub(away) as f64 / closed as f64;
                    ((j * k) as f64 * col_s, 100.0 * admitted)
                })
            })
            .collect();
        // The demo samples counters and knows no closed-state attempts: no
        // share to draw there.
        let shaped = plot.columns.iter().any(|c| c.shaped > 0) && !share.is_empty();
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(90)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..end_s, 0f64..top)
            .map_err(|e| err(&e))?
            .set_secondary_coord(0f64..end_s, 0f64..105.0);
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("calls / s")
            .draw()
            .map_err(|e| err(&e))?;
        if shaped {
            chart
                .configure_secondary_axes()
                .y_desc("closed: admitted %")
                .draw()
                .map_err(|e| err(&e))?;
            let c = RGBColor(60, 90, 200);
            chart
                .draw_secondary_series(LineSeries::new(share, c.stroke_width(1)))
                .map_err(|e| err(&e))?
                .label("admitted share while closed (%)")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(1)));
        }
        for (label, points, c) in series {
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))
    }
}

/// The file kinds `--plot` writes, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Svg,
    Png,
}

impl Kind {
    /// The kind of `path`, or an error naming the kinds there are.
    pub fn of(path: &Path) -> Result<Kind, String> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("svg") => Ok(Kind::Svg),
            Some(e) if e.eq_ignore_ascii_case("png") => Ok(Kind::Png),
            _ => Err(format!(
                "{}: the file name must end in .svg or .png",
                path.display()
            )),
        }
    }
}

/// Pixels of one panel.
const PANEL: (u32, u32) = (1200, 720);

/// Text is drawn with ab_glyph in an embedded font (no system fonts, in SVG
/// too, where it measures the text); registered once before any drawing.
fn register_font() -> Result<(), String> {
    static FONT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *FONT.get_or_init(|| {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| "the embedded font does not load".to_string())
}

/// Draws the panels one above the other on a shared time axis into `path`
/// (SVG or PNG by its extension), written whole or not at all.
pub fn write(path: &Path, panels: &[Panel<'_>]) -> Result<(), String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let kind = Kind::of(path)?;
    register_font().map_err(|e| at(&e))?;
    let size = (PANEL.0, PANEL.1 * panels.len().max(1) as u32);
    let bytes = match kind {
        Kind::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                draw(&root, panels).map_err(|e| at(&e))?;
                root.present().map_err(|e| at(&e))?;
            }
            svg.into_bytes()
        }
        Kind::Png => {
            // RGB, 3 bytes a pixel, rows top to bottom.
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                draw(&root, panels).map_err(|e| at(&e))?;
                root.present().map_err(|e| at(&e))?;
            }
            encode_png(&rgb, size).map_err(|e| at(&e))?
        }
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| at(&e))
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, panels: &[Panel<'_>]) -> Res {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let end_s = panels.iter().map(|p| p.plot.end_s()).fold(0.0, f64::max);
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (p, area) in panels.iter().zip(&areas) {
        p.draw_on(area, end_s)?;
    }
    Ok(())
}

fn colour(s: State) -> RGBColor {
    match s {
        State::Closed => RGBColor(120, 200, 120),
        State::Open => RGBColor(220, 70, 60),
        State::HalfOpen => RGBColor(240, 190, 60),
        State::ForcedOpen => RGBColor(150, 40, 120),
        State::MetricsOnly => RGBColor(120, 160, 220),
        State::Disabled => RGBColor(170, 170, 170),
    }
}
