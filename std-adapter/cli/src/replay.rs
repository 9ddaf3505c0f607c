//! Replaying a trace through the library's own [`StdBreaker`] on a manual
//! millisecond clock, in the event order of DESIGN.md §12. The breaker and
//! its window are built as the library builds them; this file only decides
//! when each attempt and each completion happens.

use crate::trace::{Row, TraceError, TraceReader};
use fusebox_core::{
    ConfigError, Exported, ManualClock, Outcome, RejectReason, RestoreError, RestoreReport,
    Snapshot, State, Transition,
};
use fusebox_std::{BreakerSpec, StdBreaker, StdPermit, TransitionEvent};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, BufRead};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// The simulator's clock: one tick a millisecond.
pub type Millis = ManualClock<1000>;

/// Where the replay's events go.
pub trait Events {
    /// A state change at `at_ms`.
    fn transition(&mut self, at_ms: u64, t: &Transition) -> io::Result<()>;
    /// A call attempt, what was decided and the state it was decided in.
    fn call(&mut self, at_ms: u64, decision: Decision, state: State) -> io::Result<()>;
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

/// What became of a call attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Permitted,
    Rejected(RejectReason),
}

impl Decision {
    /// `permitted`, `rejected` (by the state), `rejected_ramp` or
    /// `rejected_throttled`: the `decision` column of `--calls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Permitted => "permitted",
            Decision::Rejected(RejectReason::State) => "rejected",
            Decision::Rejected(RejectReason::Ramp) => "rejected_ramp",
            Decision::Rejected(RejectReason::Throttled) => "rejected_throttled",
        }
    }

    pub fn permitted(self) -> bool {
        self == Decision::Permitted
    }
}

/// What the replay counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub permitted: u64,
    /// Rejected calls, for every reason.
    pub rejected: u64,
    /// Of those, rejected by the ramp after a close.
    pub rejected_ramp: u64,
    /// Of those, rejected by adaptive throttling.
    pub rejected_throttled: u64,
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

type Sim<'c> = StdBreaker<&'c Millis>;

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
    let trace = TraceReader::new(input)?;
    let b: Sim<'_> = StdBreaker::with_clock(&clock, "simulate", *spec, StdBreaker::events())?;
    // Subscribed before the first call (and the restore); drained after each
    // step, so it never holds more than a step's worth (far below the
    // channel's depth).
    let transitions = b.subscribe();
    if let Some(s) = state {
        *restored = Some(b.restore(s).map_err(ReplayError::Restore)?);
    }
    run(&clock, &b, transitions, trace, events)
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
    transitions: broadcast::Receiver<TransitionEvent>,
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
    /// Passes on the transitions the breaker committed since the last flush.
    fn flush(&mut self, events: &mut impl Events) -> io::Result<()> {
        loop {
            let t = match self.transitions.try_recv() {
                Ok(TransitionEvent { transition, .. }) => transition,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return Ok(()),
                Err(TryRecvError::Lagged(n)) => {
                    return Err(io::Error::other(format!("{n} transitions were lost")))
                }
            };
            self.time.enter(t.at, t.to);
            events.transition(t.at, &t)?;
        }
    }
}

fn run<R: BufRead>(
    clock: &Millis,
    b: &Sim<'_>,
    transitions: broadcast::Receiver<TransitionEvent>,
    mut trace: TraceReader<R>,
    events: &mut impl Events,
) -> Result<Totals, ReplayError> {
    let mut pending = BinaryHeap::new();
    let mut tally = Tally {
        transitions,
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
        tally.flush(events)?;
        let (decision, state) = match decided {
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
                (Decision::Permitted, state)
            }
            Err(r) => {
                tally.totals.rejected += 1;
                match r.reason {
                    RejectReason::State => {}
                    RejectReason::Ramp => tally.totals.rejected_ramp += 1,
                    RejectReason::Throttled => tally.totals.rejected_throttled += 1,
                }
                (Decision::Rejected(r.reason), r.state)
            }
        };
        events.call(at_ms, decision, state)?;
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
fn complete(
    clock: &Millis,
    b: &Sim<'_>,
    p: Pending<StdPermit<'_, &Millis>>,
    tally: &mut Tally,
    events: &mut impl Events,
) -> io::Result<()> {
    clock.set(p.due);
    let _ = p
        .permit
        .record_with_duration(p.outcome, Duration::from_millis(p.latency_ms));
    events.outcome(p.due, p.outcome);
    tally.flush(events)?;
    if events.wants_snapshots() {
        events.after_step(p.due, &b.snapshot());
    }
    Ok(())
}
