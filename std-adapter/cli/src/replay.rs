//! Replaying a trace through a core breaker on a manual millisecond clock,
//! in the event order of DESIGN.md §12. The breaker is the core's own; this
//! file only decides when each attempt and each completion happens.

use crate::trace::{Row, TraceError, TraceReader};
use fusebox_core::{
    AnyWindow, Breaker, ConfigError, Exported, ManualClock, NoWindow, Observer, Outcome, Permit,
    RestoreError, RestoreReport, Snapshot, State, Transition,
};
use fusebox_std::{BreakerSpec, WindowSpec};
use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, BufRead};
use std::time::Duration;

/// The simulator's clock: one tick a millisecond.
pub type Millis = ManualClock<1000>;

/// Where the replay's events go.
pub trait Events {
    /// A state change at `at_ms`.
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()>;
    /// A call attempt and the state it was decided in.
    fn call(&mut self, at_ms: u64, permitted: bool, state: State) -> io::Result<()>;
    /// Whether [`after_step`](Events::after_step) is wanted (a snapshot per
    /// step costs a little).
    fn wants_snapshots(&self) -> bool {
        false
    }
    /// The breaker after an attempt or a completion at `at_ms`.
    fn after_step(&mut self, _at_ms: u64, _s: &Snapshot) {}
    /// A permitted call completed at `at_ms` with `outcome`.
    fn outcome(&mut self, _at_ms: u64, _outcome: Outcome) {}
}

/// What the replay counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub permitted: u64,
    pub rejected: u64,
    pub trips: u64,
    /// Milliseconds spent in each state, in [`State::ALL`] order, from 0 to the
    /// last event (last attempt or last completion).
    pub ms_in: [u64; State::ALL.len()],
}

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    Trace(TraceError),
    Config(ConfigError),
    Io(io::Error),
    Restore(RestoreError),
}

impl From<io::Error> for ReplayError {
    fn from(e: io::Error) -> Self {
        ReplayError::Io(e)
    }
}
impl From<TraceError> for ReplayError {
    fn from(e: TraceError) -> Self {
        ReplayError::Trace(e)
    }
}
impl From<ConfigError> for ReplayError {
    fn from(e: ConfigError) -> Self {
        ReplayError::Config(e)
    }
}

/// Collects transitions as the breaker commits them; the loop drains it
/// after each step, so it never holds more than a step's worth.
#[derive(Default)]
struct Recorder(RefCell<Vec<Transition>>);

impl Observer for Recorder {
    fn on_transition(&self, t: &Transition) {
        self.0.borrow_mut().push(*t);
    }
}

type Sim<'c, W> = Breaker<&'c Millis, W, Recorder>;

/// Replays `input` through a breaker built from `spec`, first restoring
/// `state` into it at 0 ms when given (a restart: the open period resumes
/// for the remaining time recorded). The restore's report goes to
/// `restored`.
pub fn replay(
    spec: &BreakerSpec,
    state: Option<&Exported>,
    restored: &mut Option<RestoreReport>,
    input: impl BufRead,
    events: &mut impl Events,
) -> Result<Totals, ReplayError> {
    let clock = Millis::new();
    let config = spec.config;
    let trace = TraceReader::new(input)?;
    match spec.window {
        WindowSpec::None => {
            let b: Sim<'_, NoWindow> = Breaker::with_observer(&clock, config, Recorder::default())?;
            start(&b, state, restored)?;
            run(&clock, &b, trace, events)
        }
        WindowSpec::Count { size } => {
            let window = fusebox_std::count_window(size)?;
            let b = Breaker::with_window(&clock, config, window, Recorder::default())?;
            start(&b, state, restored)?;
            run(&clock, &b, trace, events)
        }
        WindowSpec::Time { buckets } => {
            // One thread replays, so one stripe.
            let window = fusebox_std::time_window(buckets, 1)?;
            let b = Breaker::with_window(&clock, config, window, Recorder::default())?;
            start(&b, state, restored)?;
            run(&clock, &b, trace, events)
        }
    }
}

/// Restores `state` (if any) into the new breaker at 0 ms; its transition
/// is reported with the trace's, as the first event.
fn start<W: AnyWindow>(
    b: &Sim<'_, W>,
    state: Option<&Exported>,
    restored: &mut Option<RestoreReport>,
) -> Result<(), ReplayError> {
    if let Some(s) = state {
        *restored = Some(b.restore(s).map_err(ReplayError::Restore)?);
    }
    Ok(())
}

/// A permitted call waiting for its completion time.
struct Pending<P> {
    due: u64,
    line: u64,
    latency_ms: u64,
    outcome: Outcome,
    permit: P,
}

impl<P> PartialEq for Pending<P> {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.line) == (o.due, o.line)
    }
}
impl<P> Eq for Pending<P> {}
impl<P> PartialOrd for Pending<P> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<P> Ord for Pending<P> {
    /// By due time, then by row.
    fn cmp(&self, o: &Self) -> Ordering {
        (self.due, self.line).cmp(&(o.due, o.line))
    }
}

struct Tally {
    totals: Totals,
    time: TimeInState,
}

/// Milliseconds spent in each state, from state changes in time order.
#[derive(Clone, Copy, Debug)]
pub struct TimeInState {
    state: State,
    since: u64,
    ms_in: [u64; State::ALL.len()],
}

impl TimeInState {
    /// In `state` from 0.
    pub fn new(state: State) -> Self {
        TimeInState {
            state,
            since: 0,
            ms_in: [0; 6],
        }
    }

    /// The state becomes `s` at `at` (an earlier `at` than the last counts
    /// as the last).
    pub fn enter(&mut self, at: u64, s: State) {
        self.ms_in[self.state.index()] += at.saturating_sub(self.since);
        self.state = s;
        self.since = self.since.max(at);
    }

    /// Milliseconds in each state, in [`State::ALL`] order, up to `end`.
    pub fn until(&self, end: u64) -> [u64; State::ALL.len()] {
        let mut ms_in = self.ms_in;
        ms_in[self.state.index()] += end.saturating_sub(self.since);
        ms_in
    }
}

impl Tally {
    fn flush<W: AnyWindow>(&mut self, b: &Sim<'_, W>, events: &mut impl Events) -> io::Result<()> {
        let drained = std::mem::take(&mut *b.observer().0.borrow_mut());
        for t in &drained {
            self.time.enter(t.at, t.to);
            events.transition(t.at, t)?;
        }
        Ok(())
    }
}

fn run<W: AnyWindow, R: BufRead>(
    clock: &Millis,
    b: &Sim<'_, W>,
    mut trace: TraceReader<R>,
    events: &mut impl Events,
) -> Result<Totals, ReplayError> {
    let mut pending = BinaryHeap::new();
    let mut tally = Tally {
        totals: Totals::default(),
        time: TimeInState::new(State::Closed),
    };
    let mut end = 0;
    while let Some(Row {
        line,
        at_ms,
        latency_ms,
        outcome,
    }) = trace.next_row()?
    {
        while pending
            .peek()
            .is_some_and(|Reverse(p): &Reverse<Pending<_>>| p.due <= at_ms)
        {
            let Reverse(p) = pending.pop().expect("peeked");
            complete(clock, b, p, &mut tally, events)?;
        }
        clock.set(at_ms);
        end = at_ms;
        let decided = b.try_acquire();
        tally.flush(b, events)?;
        let (permitted, state) = match decided {
            Ok(permit) => {
                tally.totals.permitted += 1;
                let state = b.snapshot().state;
                let due = at_ms.saturating_add(latency_ms);
                pending.push(Reverse(Pending {
                    due,
                    line,
                    latency_ms,
                    outcome,
                    permit,
                }));
                (true, state)
            }
            Err(r) => {
                tally.totals.rejected += 1;
                (false, r.state)
            }
        };
        events.call(at_ms, permitted, state)?;
        if events.wants_snapshots() {
            events.after_step(at_ms, &b.snapshot());
        }
    }
    while let Some(Reverse(p)) = pending.pop() {
        end = end.max(p.due);
        complete(clock, b, p, &mut tally, events)?;
    }
    tally.totals.ms_in = tally.time.until(end);
    tally.totals.trips = b.snapshot().trips;
    Ok(tally.totals)
}

/// Applies one completion at its due time.
fn complete<W: AnyWindow>(
    clock: &Millis,
    b: &Sim<'_, W>,
    p: Pending<Permit<&Sim<'_, W>>>,
    tally: &mut Tally,
    events: &mut impl Events,
) -> io::Result<()> {
    clock.set(p.due);
    let _ = p
        .permit
        .record_with_duration(p.outcome, Duration::from_millis(p.latency_ms));
    events.outcome(p.due, p.outcome);
    tally.flush(b, events)?;
    if events.wants_snapshots() {
        events.after_step(p.due, &b.snapshot());
    }
    Ok(())
}
