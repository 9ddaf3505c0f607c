//! `simulate --plot OUT.svg`: the state as a coloured band, the window's
//! failure and slow-call rates against their thresholds, and rejections as
//! marks. The timeline is kept in at most [`MAX_COLUMNS`] columns: when the
//! trace outgrows them, neighbours merge and each column covers twice the
//! time, so memory stays flat on any trace.

use crate::replay::{Events, STATES};
use fusebox_core::{Config, Snapshot, State, Transition};
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

    fn see_state(&mut self, at_ms: u64, s: State) {
        // Columns skipped up to now keep the state before this event.
        let c = self.column(at_ms);
        *c = c.merge(Column {
            state: Some(s),
            ..Column::default()
        });
        self.state = s;
    }

    /// Draws the timeline into `path` (SVG), written whole or not at all.
    pub fn write(&self, path: &Path, config: &Config, title: &str) -> Result<(), String> {
        let mut svg = String::new();
        self.draw(&mut svg, config, title)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let partial = path.with_extension("svg.partial");
        std::fs::write(&partial, svg)
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn draw(&self, svg: &mut String, config: &Config, title: &str) -> Result<(), String> {
        let end_s = (self.columns.len().max(1) as u64 * self.stride) as f64 / 1000.0;
        let col_s = self.stride as f64 / 1000.0;
        let root = SVGBackend::with_string(svg, (1200, 560)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (band, rates) = root.split_vertically(150);

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
        top.draw_series(self.columns.iter().enumerate().filter_map(|(i, c)| {
            let x = i as f64 * col_s;
            c.state
                .map(|s| Rectangle::new([(x, 0.0), (x + col_s, 1.0)], colour(s).filled()))
        }))
        .map_err(|e| err(&e))?;
        for s in STATES {
            if self.columns.iter().any(|c| c.state == Some(s)) {
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
        let line = |f: fn(&Column) -> f64| {
            self.columns
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
                self.columns
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
        root.present().map_err(|e| err(&e))
    }
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
