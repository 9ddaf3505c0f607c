//! `--plot OUT.svg` or `OUT.png`: the state as a coloured band, the window's
//! failure and slow-call rates against their thresholds, and rejections as
//! marks. The timeline is kept in at most [`MAX_COLUMNS`] columns: when the
//! trace outgrows them, neighbours merge and each column covers twice the
//! time, so memory stays flat on any trace.

use crate::replay::{Events, STATES};
use fusebox_core::{Config, Snapshot, State, Transition};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io;
use std::path::Path;

/// Columns kept before neighbours merge.
const MAX_COLUMNS: usize = 2048;

/// What one column of time saw.
#[derive(Clone, Copy, Default)]
struct Column {
    /// The most severe state seen (index into [`STATES`], by [`severity`]).
    state: Option<State>,
    failure_rate: f64,
    slow_rate: f64,
    rejected: u64,
}

/// Open outranks half-open outranks the rest, so a short trip stays visible
/// in a wide column.
fn severity(s: State) -> u8 {
    match s {
        State::Open | State::ForcedOpen => 3,
        State::HalfOpen => 2,
        State::Closed => 1,
        State::MetricsOnly | State::Disabled => 0,
    }
}

impl Column {
    fn merge(self, o: Column) -> Column {
        let state = match (self.state, o.state) {
            (Some(a), Some(b)) => Some(if severity(b) > severity(a) { b } else { a }),
            (a, b) => a.or(b),
        };
        Column {
            state,
            failure_rate: self.failure_rate.max(o.failure_rate),
            slow_rate: self.slow_rate.max(o.slow_rate),
            rejected: self.rejected + o.rejected,
        }
    }
}

/// The timeline being gathered.
pub struct Plot {
    columns: Vec<Column>,
    /// Milliseconds a column covers.
    stride: u64,
    state: State,
    /// The latest rates, carried into columns where nothing was recorded.
    rates: (f64, f64),
}

impl Default for Plot {
    fn default() -> Self {
        Plot {
            columns: Vec::new(),
            stride: 1,
            state: State::Closed,
            rates: (0.0, 0.0),
        }
    }
}

impl Plot {
    fn column(&mut self, at_ms: u64) -> &mut Column {
        while at_ms / self.stride >= MAX_COLUMNS as u64 {
            let merged = self
                .columns
                .chunks(2)
                .map(|c| c.iter().fold(Column::default(), |a, &b| a.merge(b)))
                .collect();
            self.columns = merged;
            self.stride *= 2;
        }
        let i = (at_ms / self.stride) as usize;
        while self.columns.len() <= i {
            // A column nothing happened in keeps the state it started in.
            self.columns.push(Column {
                state: Some(self.state),
                failure_rate: self.rates.0,
                slow_rate: self.rates.1,
                rejected: 0,
            });
        }
        &mut self.columns[i]
    }

    /// The breaker is in `s` at `at_ms`.
    pub fn see_state(&mut self, at_ms: u64, s: State) {
        // Columns skipped up to now keep the state before this event.
        let c = self.column(at_ms);
        *c = c.merge(Column {
            state: Some(s),
            ..Column::default()
        });
        self.state = s;
    }

    /// Rejections counted outside a replay (the demo samples its counters).
    pub fn rejected(&mut self, at_ms: u64, n: u64) {
        if n > 0 {
            self.column(at_ms).rejected += n;
        }
    }

    /// Seconds the timeline covers.
    fn end_s(&self) -> f64 {
        (self.columns.len().max(1) as u64 * self.stride) as f64 / 1000.0
    }
}

/// One breaker's timeline in a plot file.
pub struct Panel<'a> {
    pub plot: &'a Plot,
    pub config: &'a Config,
    pub title: String,
    /// Labelled moments (seconds), drawn as dashed vertical lines.
    pub marks: Vec<(f64, String)>,
}

impl Panel<'_> {
    fn draw_on<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        end_s: f64,
    ) -> Result<(), String> {
        let (plot, config, title) = (self.plot, self.config, self.title.as_str());
        let col_s = plot.stride as f64 / 1000.0;
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let (band, rates) = area.split_vertically(150);
        let mut top = ChartBuilder::on(&band)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(0)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..end_s, 0f64..1f64)
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
        for s in STATES {
            if plot.columns.iter().any(|c| c.state == Some(s)) {
                top.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                    .map_err(|e| err(&e))?
                    .label(s.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour(s).filled())
                    });
            }
        }
        top.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;

        let mut chart = ChartBuilder::on(&rates)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..end_s, 0f64..1.1f64)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("window rate")
            .draw()
            .map_err(|e| err(&e))?;
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
                    (*at_s + end_s / 200.0, 0.95),
                    ("sans-serif", 14),
                )))
                .map_err(|e| err(&e))?;
        }
        let line = |f: fn(&Column) -> f64| {
            plot.columns
                .iter()
                .enumerate()
                .map(move |(i, c)| (i as f64 * col_s, f(c)))
        };
        chart
            .draw_series(LineSeries::new(
                line(|c| c.failure_rate),
                RED.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label("failure rate")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
        chart
            .draw_series(LineSeries::new(line(|c| c.slow_rate), BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("slow-call rate")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
        let thresholds = [
            (config.failure_rate(), RED, "failure-rate threshold"),
            (config.slow_call_rate(), BLUE, "slow-call-rate threshold"),
        ];
        for (r, c, label) in thresholds {
            if let Some(r) = r {
                let y = r.basis_points() as f64 / 10_000.0;
                chart
                    .draw_series(DashedLineSeries::new(
                        [(0.0, y), (end_s, y)],
                        6,
                        4,
                        c.mix(0.6).stroke_width(1),
                    ))
                    .map_err(|e| err(&e))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.mix(0.6)));
            }
        }
        chart
            .draw_series(
                plot.columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.rejected > 0)
                    .map(|(i, _)| {
                        TriangleMarker::new((i as f64 * col_s + col_s / 2.0, 1.05), 4, BLACK)
                    }),
            )
            .map_err(|e| err(&e))?
            .label("rejections")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 4, BLACK));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        Ok(())
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
const PANEL: (u32, u32) = (1200, 560);

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

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel<'_>],
) -> Result<(), String> {
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

impl Events for Plot {
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()> {
        self.see_state(at_ms, t.to);
        Ok(())
    }

    fn call(&mut self, at_ms: u64, permitted: bool, state: State) -> io::Result<()> {
        self.see_state(at_ms, state);
        if !permitted {
            self.column(at_ms).rejected += 1;
        }
        Ok(())
    }

    fn wants_snapshots(&self) -> bool {
        true
    }

    fn after_step(&mut self, at_ms: u64, s: &Snapshot) {
        let w = s.window;
        let calls = f64::from(w.calls.max(1));
        self.rates = (f64::from(w.failures) / calls, f64::from(w.slow) / calls);
        let (failure, slow) = self.rates;
        let c = self.column(at_ms);
        c.failure_rate = c.failure_rate.max(failure);
        c.slow_rate = c.slow_rate.max(slow);
    }
}

/// Sends each event to both.
pub struct Both<'a, A, B>(pub &'a mut A, pub &'a mut B);

impl<A: Events, B: Events> Events for Both<'_, A, B> {
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()> {
        self.0.transition(at_ms, t)?;
        self.1.transition(at_ms, t)
    }
    fn call(&mut self, at_ms: u64, permitted: bool, state: State) -> io::Result<()> {
        self.0.call(at_ms, permitted, state)?;
        self.1.call(at_ms, permitted, state)
    }
    fn wants_snapshots(&self) -> bool {
        self.0.wants_snapshots() || self.1.wants_snapshots()
    }
    fn after_step(&mut self, at_ms: u64, s: &Snapshot) {
        self.0.after_step(at_ms, s);
        self.1.after_step(at_ms, s);
    }
}
