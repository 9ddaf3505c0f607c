//! What the demo shows while it runs: each breaker's state, counts and last
//! transition, live (indicatif) or as plain lines; and what it keeps for the
//! summary and the plot.

use super::service::{Phase, Schedule};
use crate::plot::Plot;
use crate::replay::{Events, STATES};
use console::Style;
use fusebox_core::{State, Transition, TransitionReason};
use fusebox_std::{StdBreaker, StdClock};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// One breaker as the run goes.
pub struct Track {
    pub name: &'static str,
    pub breaker: StdBreaker,
    pub plot: Plot,
    state: State,
    since_ms: u64,
    /// Milliseconds in each state, in [`STATES`] order.
    pub ms_in: [u64; 6],
    /// Every transition, with its time in ms since the start.
    pub transitions: Vec<(u64, Transition)>,
    /// Rejections already put on the plot.
    plotted_rejections: u64,
}

impl Track {
    pub fn new(name: &'static str, breaker: StdBreaker) -> Self {
        Track {
            name,
            state: breaker.state(),
            breaker,
            plot: Plot::default(),
            since_ms: 0,
            ms_in: [0; 6],
            transitions: Vec::new(),
            plotted_rejections: 0,
        }
    }

    fn enter(&mut self, at_ms: u64, s: State) {
        let i = STATES.iter().position(|&x| x == self.state).unwrap_or(0);
        self.ms_in[i] += at_ms.saturating_sub(self.since_ms);
        self.state = s;
        self.since_ms = self.since_ms.max(at_ms);
    }

    /// A transition from the breaker's broadcast.
    pub fn transition(&mut self, at_ms: u64, t: &Transition) {
        self.enter(at_ms, t.to);
        // The plot never fails on a transition (it only gathers columns).
        let _ = self.plot.transition(at_ms, t);
        self.transitions.push((at_ms, *t));
    }

    /// A sample of the breaker every few milliseconds: the window's rates and
    /// the rejections since the last sample.
    pub fn sample(&mut self, at_ms: u64) {
        let rejected = self.breaker.observer().totals().snapshot().rejected;
        self.plot
            .rejected(at_ms, rejected.saturating_sub(self.plotted_rejections));
        self.plotted_rejections = rejected;
        self.plot.after_step(at_ms, &self.breaker.snapshot());
    }

    /// Closes the time-in-state account at `at_ms`.
    pub fn finish(&mut self, at_ms: u64) {
        self.sample(at_ms);
        self.enter(at_ms, self.state);
    }
}

/// Milliseconds from `start` to `ticks` of the breakers' clock.
pub fn ms_since(start: Instant, ticks: u64) -> u64 {
    StdClock::instant_at(ticks)
        .saturating_duration_since(start)
        .as_millis() as u64
}

/// Why a transition happened, for people.
pub fn describe(t: &Transition) -> String {
    let w = t.window;
    let why = match t.reason {
        TransitionReason::ConsecutiveFailures => {
            format!("{} failures in a row", t.consecutive_failures)
        }
        TransitionReason::FailureRate => {
            format!("{} of the last {} calls failed", w.failures, w.calls)
        }
        TransitionReason::SlowCallRate => {
            format!("{} of the last {} calls slow", w.slow, w.calls)
        }
        TransitionReason::TripHint => "the dependency sent Retry-After".to_string(),
        TransitionReason::HintExtended => "another Retry-After moved the deadline".to_string(),
        r => r.as_str().replace('_', " "),
    };
    match t.open_until {
        Some(until) => {
            let secs = Duration::from_nanos(until.saturating_sub(t.at)).as_secs_f64();
            format!("{why}; open for {secs:.2} s")
        }
        None => why,
    }
}

fn paint(s: State) -> String {
    let style = match s {
        State::Closed => Style::new().green(),
        State::Open | State::ForcedOpen => Style::new().red().bold(),
        State::HalfOpen => Style::new().yellow(),
        State::MetricsOnly | State::Disabled => Style::new().dim(),
    };
    style.apply_to(format!("{:<9}", s.as_str())).to_string()
}

/// The live display, or plain lines.
pub enum View {
    Live {
        multi: MultiProgress,
        header: ProgressBar,
        bars: Vec<ProgressBar>,
        phase: Phase,
    },
    Plain {
        phase: Option<Phase>,
    },
}

impl View {
    pub fn live(tracks: &[Track], total: Duration) -> View {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let header = multi.add(ProgressBar::new(total.as_millis() as u64));
        header.set_style(
            ProgressStyle::with_template("{prefix:.bold} [{bar:30.cyan/blue}] {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        header.set_prefix("fusebox demo");
        let bars = tracks
            .iter()
            .map(|t| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {prefix:<10.bold} {wide_msg}")
                        .expect("a valid template"),
                );
                bar.set_prefix(t.name);
                bar
            })
            .collect();
        View::Live {
            multi,
            header,
            bars,
            phase: Phase::Healthy,
        }
    }

    pub fn plain() -> View {
        View::Plain { phase: None }
    }

    fn line(&self, text: String) {
        match self {
            // Printed above the bars, which stay at the bottom.
            View::Live { multi, .. } => {
                let _ = multi.println(text);
            }
            // Progress goes to stderr, like the live display; stdout is
            // the summary's.
            View::Plain { .. } => eprintln!("{text}"),
        }
    }

    /// A transition of `name` at `at_ms`.
    pub fn transition(&self, name: &str, at_ms: u64, t: &Transition) {
        self.line(format!(
            "{:>7.2}s  {name:<10} {} -> {}  {}",
            at_ms as f64 / 1000.0,
            t.from.as_str(),
            t.to.as_str(),
            describe(t)
        ));
    }

    /// `n` transitions were lost to a full channel.
    pub fn transition_gap(&self, n: u64) {
        self.line(format!(
            "          ({n} transitions not shown: the log fell behind)"
        ));
    }

    /// Brings the display up to `elapsed`.
    pub fn update(&mut self, tracks: &[Track], schedule: &Schedule, elapsed: Duration) {
        let now = schedule.phase_at(elapsed);
        let (changed, live) = match self {
            View::Live { phase, .. } => (std::mem::replace(phase, now) != now, true),
            View::Plain { phase } => (phase.replace(now) != Some(now), false),
        };
        if changed {
            self.line(format!(
                "{:>7.2}s  -- {}: {}",
                elapsed.as_secs_f64(),
                now.name(),
                now.describe()
            ));
        }
        if !live {
            return;
        }
        if let View::Live { header, bars, .. } = self {
            header.set_position(elapsed.as_millis() as u64);
            header.set_message(format!(
                "{:5.1}/{:.0} s  {}: {}",
                elapsed.as_secs_f64(),
                schedule.total.as_secs_f64(),
                now.name(),
                now.describe()
            ));
            for (bar, t) in bars.iter().zip(tracks) {
                let c = t.breaker.observer().totals().snapshot();
                let w = t.breaker.snapshot().window;
                let last = t.transitions.last().map_or(String::new(), |(at, tr)| {
                    format!(
                        "  last {:.1}s {}->{}",
                        *at as f64 / 1000.0,
                        tr.from.as_str(),
                        tr.to.as_str()
                    )
                });
                // Most telling first: a narrow terminal cuts the end.
                bar.set_message(format!(
                    "{} trips {:>3}  rejected {:>6}  ok {:>6}  failed {:>5}  429 {:>4}{last}  window {}/{} failed, {} slow",
                    paint(t.breaker.state()),
                    t.breaker.snapshot().trips,
                    c.rejected,
                    c.success,
                    c.failure,
                    c.ignored,
                    w.failures,
                    w.calls,
                    w.slow,
                ));
            }
        }
    }

    /// Takes the live display off the terminal.
    pub fn finish(self) {
        if let View::Live { multi, .. } = self {
            let _ = multi.clear();
        }
    }
}
