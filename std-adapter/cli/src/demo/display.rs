//! What the demo shows while it runs: each breaker's state, counts and last
//! transition, live (indicatif) or as plain lines; and what it keeps for the
//! summary and the plot.

use super::service::{Phase, Schedule};
use crate::plot::Plot;
use crate::replay::{Events, TimeInState};
use console::Style;
use fusebox_core::{ticks_to_duration, Clock, Snapshot, State, Transition, TransitionReason};
use fusebox_std::{StdBreaker, StdClock};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a gap in the epochs may wait for its transition (a thread
/// between its commit and its broadcast) before it is taken as lost.
const GAP_WAIT_MS: u64 = 250;

/// What to do about a missing epoch.
#[derive(Clone, Copy)]
enum Gaps {
    /// Wait for it.
    Wait,
    /// Wait until it is [`GAP_WAIT_MS`] old at this time (ms).
    WaitAt(u64),
    /// Take it as lost.
    Skip,
}

/// One breaker as the run goes.
///
/// Threads broadcast their transitions after committing them, so events
/// can arrive out of commit order; every transition bumps the epoch by one,
/// so they are applied in epoch order, a gap waiting up to [`GAP_WAIT_MS`].
pub struct Track {
    pub name: &'static str,
    pub breaker: StdBreaker,
    pub plot: Plot,
    time: TimeInState,
    /// Applied transitions, in epoch order, with their ms since the start.
    pub transitions: Vec<(u64, Transition)>,
    /// Received, not yet applied: by epoch.
    pending: BTreeMap<u64, (u64, Transition)>,
    next_epoch: u64,
    /// Since when the first pending transition has waited for a gap.
    gap_since: Option<u64>,
    /// The latest sample.
    pub last: Snapshot,
    /// Rejections (of those, by the ramp or the throttle), successes and
    /// failures already put on the plot.
    plotted_rejections: u64,
    plotted_shaped: u64,
    plotted_outcomes: (u64, u64),
}

impl Track {
    pub fn new(name: &'static str, breaker: StdBreaker) -> Self {
        let last = breaker.snapshot();
        Track {
            name,
            breaker,
            // StdClock ticks are nanoseconds.
            plot: Plot::with_ticks_per_ms(1_000_000),
            time: TimeInState::new(last.state),
            transitions: Vec::new(),
            pending: BTreeMap::new(),
            next_epoch: last.epoch.wrapping_add(1),
            gap_since: None,
            last,
            plotted_rejections: 0,
            plotted_shaped: 0,
            plotted_outcomes: (0, 0),
        }
    }

    /// A transition from the broadcast, at `at_ms`; returns how many
    /// transitions it let through (the last ones of [`Track::transitions`]).
    pub fn receive(&mut self, at_ms: u64, t: Transition) -> usize {
        // One already passed over as lost comes too late to place.
        if t.epoch >= self.next_epoch {
            self.pending.insert(t.epoch, (at_ms, t));
        }
        self.apply(Gaps::Wait)
    }

    /// Applies pending transitions in epoch order, up to a gap that `gaps`
    /// says to wait for.
    fn apply(&mut self, gaps: Gaps) -> usize {
        let before = self.transitions.len();
        while let Some((&epoch, _)) = self.pending.first_key_value() {
            if epoch != self.next_epoch {
                let waited_enough = match gaps {
                    Gaps::Wait => false,
                    Gaps::WaitAt(now) => {
                        now.saturating_sub(*self.gap_since.get_or_insert(now)) >= GAP_WAIT_MS
                    }
                    Gaps::Skip => true,
                };
                if !waited_enough {
                    break;
                }
            }
            let (at, t) = self.pending.remove(&epoch).expect("first key");
            self.gap_since = None;
            self.next_epoch = epoch.wrapping_add(1);
            self.time.enter(at, t.to);
            // The plot never fails on a transition (it only gathers columns).
            let _ = self.plot.transition(at, &t);
            self.transitions.push((at, t));
        }
        self.transitions.len() - before
    }

    /// A sample every tick: the state, the window's rates and the
    /// rejections since the last sample; returns how many transitions a
    /// closed gap let through.
    pub fn sample(&mut self, at_ms: u64) -> usize {
        let applied = self.apply(Gaps::WaitAt(at_ms));
        let before = self.last;
        self.last = self.breaker.snapshot();
        let totals = self.breaker.observer().totals().snapshot();
        self.plot.rejected(
            at_ms,
            totals.rejected.saturating_sub(self.plotted_rejections),
        );
        self.plotted_rejections = totals.rejected;
        let shaped = totals.rejected_ramp + totals.rejected_throttled;
        self.plot
            .shaped(at_ms, shaped.saturating_sub(self.plotted_shaped));
        self.plotted_shaped = shaped;
        let (ok, failed) = self.plotted_outcomes;
        self.plot.outcomes(
            at_ms,
            totals.success.saturating_sub(ok),
            totals.failure.saturating_sub(failed),
        );
        self.plotted_outcomes = (totals.success, totals.failure);
        // Probes admitted since the last sample, in the same half-open
        // episode or a new one.
        if self.last.state == State::HalfOpen {
            let same = before.state == State::HalfOpen && before.epoch == self.last.epoch;
            let earlier = if same { before.half_open_admitted } else { 0 };
            self.plot.probes(
                at_ms,
                u64::from(self.last.half_open_admitted.saturating_sub(earlier)),
            );
        }
        self.plot.see_state(at_ms, self.last.state);
        self.plot.after_step(at_ms, &self.last);
        applied
    }

    /// Applies whatever is pending, gaps or not; the last sample is at `end_ms`.
    pub fn finish(&mut self, end_ms: u64) -> usize {
        let applied = self.apply(Gaps::Skip);
        self.sample(end_ms);
        applied
    }

    /// Milliseconds in each state, in `State::ALL` order, up to `end_ms`.
    pub fn ms_in(&self, end_ms: u64) -> [u64; State::ALL.len()] {
        self.time.until(end_ms)
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
            let open = until.saturating_sub(t.at);
            let secs = ticks_to_duration(open, StdClock::TICKS_PER_SECOND).as_secs_f64();
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

    /// The last `n` transitions `track` applied.
    pub fn transitions(&self, track: &Track, n: usize) {
        let from = track.transitions.len().saturating_sub(n);
        for (at_ms, t) in &track.transitions[from..] {
            self.line(format!(
                "{:>7.2}s  {:<10} {} -> {}  {}",
                *at_ms as f64 / 1000.0,
                track.name,
                t.from.as_str(),
                t.to.as_str(),
                describe(t)
            ));
        }
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
                let w = t.last.window;
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
                    "{} trips {:>3}  rejected {:>6}  ok {:>6}  failed {:>5}  ignored {:>4}{last}  window {}/{} failed, {} slow",
                    paint(t.last.state),
                    t.last.trips,
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
