//! `--plot OUT.svg` or `OUT.png`: why each breaker did what it did. Each
//! panel has a caption saying when and why it first tripped, the state as
//! a coloured band with half-open probes ticked under it, the window's
//! failure and slow-call rates and the consecutive-failure run against
//! their thresholds with each trip marked by its reason, and the calls per
//! second split into ok, failed and rejected, with the calls that a ramp or
//! adaptive throttling turned away in the closed state apart, and the share
//! of closed-state attempts admitted.
//!
//! The timeline is kept in at most [`MAX_COLUMNS`] columns: when the trace
//! outgrows them, neighbours merge and each column covers twice the time,
//! so memory stays flat on any trace.

mod draw;

pub use draw::{write, Kind, Panel};

use crate::replay::{Decision, Events};
use fusebox_core::{Outcome, Snapshot, State, Transition, TransitionReason};
use std::io;

/// Columns kept before neighbours merge.
const MAX_COLUMNS: usize = 2048;

/// What one column of time saw.
#[derive(Clone, Copy, Default)]
struct Column {
    /// The most severe state seen (by [`severity`]).
    state: Option<State>,
    failure_rate: f64,
    slow_rate: f64,
    /// The longest consecutive-failure run seen.
    run: u32,
    ok: u64,
    failed: u64,
    rejected: u64,
    /// Of the rejected, those the ramp or the throttle turned away (closed).
    shaped: u64,
    /// Attempts decided in the closed state.
    closed: u64,
    /// Half-open probes admitted.
    probes: u64,
    /// The first trip in the column, and why.
    trip: Option<Trip>,
}

/// A move into open, and what caused it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trip {
    pub reason: TransitionReason,
    /// The run, the window's failures and slow calls, and its calls, as the
    /// transition reported them.
    pub run: u32,
    pub failures: u32,
    pub slow: u32,
    pub calls: u32,
    /// The open period, in ms (0 when not known).
    pub open_ms: u64,
}

impl Trip {
    /// "3 failures in a row", "failure rate 62 % (5 of 8)", ...
    pub fn describe(&self) -> String {
        let pct = |n: u32| (n as f64 * 100.0 / self.calls.max(1) as f64).round();
        match self.reason {
            TransitionReason::ConsecutiveFailures => format!("{} failures in a row", self.run),
            TransitionReason::FailureRate => format!(
                "failure rate {} % ({} of {})",
                pct(self.failures),
                self.failures,
                self.calls
            ),
            TransitionReason::SlowCallRate => format!(
                "slow-call rate {} % ({} of {})",
                pct(self.slow),
                self.slow,
                self.calls
            ),
            TransitionReason::TripHint | TransitionReason::HintExtended if self.open_ms > 0 => {
                format!("asked to wait {:.1} s", self.open_ms as f64 / 1000.0)
            }
            TransitionReason::TripHint | TransitionReason::HintExtended => {
                "asked to wait".to_string()
            }
            TransitionReason::ProbeFailed => "a probe failed".to_string(),
            TransitionReason::ProbeSlow => "a probe was slow".to_string(),
            TransitionReason::HalfOpenTimeout => "probes undecided too long".to_string(),
            other => other.as_str().replace('_', " "),
        }
    }

    /// A few words for a mark on the chart.
    pub fn short(&self) -> &'static str {
        match self.reason {
            TransitionReason::ConsecutiveFailures => "run",
            TransitionReason::FailureRate => "failures",
            TransitionReason::SlowCallRate => "slow",
            TransitionReason::TripHint | TransitionReason::HintExtended => "asked",
            TransitionReason::ProbeFailed | TransitionReason::ProbeSlow => "probe",
            TransitionReason::HalfOpenTimeout => "timeout",
            _ => "other",
        }
    }
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
            run: self.run.max(o.run),
            ok: self.ok + o.ok,
            failed: self.failed + o.failed,
            rejected: self.rejected + o.rejected,
            shaped: self.shaped + o.shaped,
            closed: self.closed + o.closed,
            probes: self.probes + o.probes,
            trip: self.trip.or(o.trip),
        }
    }
}

/// The timeline being gathered.
pub struct Plot {
    columns: Vec<Column>,
    /// Milliseconds a column covers.
    stride: u64,
    state: State,
    /// The latest rates and run, carried into columns where nothing was
    /// recorded.
    rates: (f64, f64),
    run: u32,
    /// The first trip (ms, what) and how many there were.
    first_trip: Option<(u64, Trip)>,
    trips: u64,
    /// Clock ticks per millisecond (for open periods from transitions).
    ticks_per_ms: u64,
}

impl Default for Plot {
    fn default() -> Self {
        Plot {
            columns: Vec::new(),
            stride: 1,
            state: State::Closed,
            rates: (0.0, 0.0),
            run: 0,
            first_trip: None,
            trips: 0,
            ticks_per_ms: 1,
        }
    }
}

impl Plot {
    /// A plot of a breaker whose clock counts `ticks_per_ms` a millisecond
    /// (1 for the replay's millisecond clock).
    pub fn with_ticks_per_ms(ticks_per_ms: u64) -> Plot {
        Plot {
            ticks_per_ms: ticks_per_ms.max(1),
            ..Plot::default()
        }
    }

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
                run: self.run,
                ..Column::default()
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

    /// Of the rejections counted outside a replay, those a ramp or the
    /// throttle turned away while closed.
    pub fn shaped(&mut self, at_ms: u64, n: u64) {
        if n > 0 {
            self.column(at_ms).shaped += n;
        }
    }

    /// Outcomes counted outside a replay (the demo samples its counters).
    pub fn outcomes(&mut self, at_ms: u64, ok: u64, failed: u64) {
        if ok + failed > 0 {
            let c = self.column(at_ms);
            c.ok += ok;
            c.failed += failed;
        }
    }

    /// Half-open probes admitted, counted outside a replay.
    pub fn probes(&mut self, at_ms: u64, n: u64) {
        if n > 0 {
            self.column(at_ms).probes += n;
        }
    }

    /// The first trip (ms, what) and how many trips there were.
    pub fn trips(&self) -> (Option<(u64, Trip)>, u64) {
        (self.first_trip, self.trips)
    }

    /// Seconds the timeline covers.
    fn end_s(&self) -> f64 {
        (self.columns.len().max(1) as u64 * self.stride) as f64 / 1000.0
    }
}

impl Events for Plot {
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()> {
        self.see_state(at_ms, t.to);
        // A half-open episode decided by probes had one, even if sampling
        // (the demo) missed it.
        if t.from == State::HalfOpen
            && matches!(
                t.reason,
                TransitionReason::ProbesSucceeded
                    | TransitionReason::ProbeFailed
                    | TransitionReason::ProbeSlow
            )
        {
            let c = self.column(at_ms);
            c.probes = c.probes.max(1);
        }
        if t.to == State::Open {
            let trip = Trip {
                reason: t.reason,
                run: t.consecutive_failures,
                failures: t.window.failures,
                slow: t.window.slow,
                calls: t.window.calls,
                open_ms: t
                    .open_until
                    .map_or(0, |u| u.saturating_sub(t.at) / self.ticks_per_ms),
            };
            self.trips += 1;
            self.first_trip.get_or_insert((at_ms, trip));
            let c = self.column(at_ms);
            c.trip = c.trip.or(Some(trip));
            // What the trip judged, which a sampled timeline may have
            // missed (the run and the window restart with the trip).
            if trip.reason == TransitionReason::ConsecutiveFailures {
                c.run = c.run.max(trip.run);
            }
            let by_rate = matches!(
                trip.reason,
                TransitionReason::FailureRate | TransitionReason::SlowCallRate
            );
            if by_rate && trip.calls > 0 {
                let calls = f64::from(trip.calls);
                c.failure_rate = c.failure_rate.max(f64::from(trip.failures) / calls);
                c.slow_rate = c.slow_rate.max(f64::from(trip.slow) / calls);
            }
        }
        Ok(())
    }

    fn call(&mut self, at_ms: u64, decision: Decision, state: State) -> io::Result<()> {
        self.see_state(at_ms, state);
        let c = self.column(at_ms);
        if state == State::Closed {
            c.closed += 1;
        }
        if !decision.permitted() {
            c.rejected += 1;
            if state == State::Closed {
                c.shaped += 1;
            }
        } else if state == State::HalfOpen {
            c.probes += 1;
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
        self.run = s.consecutive_failures;
        let ((failure, slow), run) = (self.rates, self.run);
        let c = self.column(at_ms);
        c.failure_rate = c.failure_rate.max(failure);
        c.slow_rate = c.slow_rate.max(slow);
        c.run = c.run.max(run);
    }

    fn outcome(&mut self, at_ms: u64, outcome: Outcome) {
        match outcome {
            Outcome::Success => self.outcomes(at_ms, 1, 0),
            Outcome::Failure => self.outcomes(at_ms, 0, 1),
            Outcome::Ignored => {}
        }
    }
}

/// Sends each event to both.
pub struct Both<'a, A, B>(pub &'a mut A, pub &'a mut B);

impl<A: Events, B: Events> Events for Both<'_, A, B> {
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()> {
        self.0.transition(at_ms, t)?;
        self.1.transition(at_ms, t)
    }
    fn call(&mut self, at_ms: u64, decision: Decision, state: State) -> io::Result<()> {
        self.0.call(at_ms, decision, state)?;
        self.1.call(at_ms, decision, state)
    }
    fn wants_snapshots(&self) -> bool {
        self.0.wants_snapshots() || self.1.wants_snapshots()
    }
    fn after_step(&mut self, at_ms: u64, s: &Snapshot) {
        self.0.after_step(at_ms, s);
        self.1.after_step(at_ms, s);
    }
    fn outcome(&mut self, at_ms: u64, outcome: Outcome) {
        self.0.outcome(at_ms, outcome);
        self.1.outcome(at_ms, outcome);
    }
}
