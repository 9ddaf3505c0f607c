//! A plain, sequential reference model of the breaker (DESIGN.md §2–6, §13,
//! and §14's export, restore and adopted opens).
//!
//! Written from DESIGN.md and the lead's recorded decisions, not from the
//! core's code: no atomics, no packing, no cleverness. Every duration is in
//! clock ticks; the caller advances `now` by hand. Where DESIGN.md is silent
//! the choice is written next to the code that makes it (search for
//! "Decision:"), so a disagreement with the core is easy to attribute.

mod config;
mod restore;
mod vocabulary;
mod window;

pub use config::{no_jitter, Abandon, Backoff, Config, JitterFn, WindowKind};
pub use restore::{Adopted, Export, Restored};
pub use vocabulary::{
    Mode, Outcome, Permit, Reason, Recorded, Rejected, Snapshot, State, Transition,
};
pub use window::Counts;
use window::Window;

/// The reference breaker.
#[derive(Clone, Debug)]
pub struct Model {
    cfg: Config,
    now: u64,
    state: State,
    epoch: u64,
    k: u32,
    deadline: u64,
    half_open_since: u64,
    admitted: u32,
    succeeded: u32,
    run: u32,
    window: Window,
    trips: u64,
    last_transition_at: u64,
    log: Vec<Transition>,
}

impl Model {
    /// A closed breaker at tick 0, epoch 0.
    pub fn new(cfg: Config) -> Self {
        Model {
            cfg,
            now: 0,
            state: State::Closed,
            epoch: 0,
            k: 0,
            deadline: 0,
            half_open_since: 0,
            admitted: 0,
            succeeded: 0,
            run: 0,
            window: Window::new(cfg.window),
            trips: 0,
            last_transition_at: 0,
            log: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Current tick.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, ticks: u64) {
        self.now += ticks;
    }

    /// Every transition so far, oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &self.log
    }

    /// The tick at which the next automatic move is due, if one is pending:
    /// the open deadline, or the end of the half-open wait.
    pub fn next_due(&self) -> Option<u64> {
        match self.state {
            State::Open => Some(self.deadline),
            State::HalfOpen => self
                .cfg
                .max_half_open_wait
                .map(|w| self.half_open_since + w),
            _ => None,
        }
    }

    /// Current window aggregates of the running episode.
    pub fn window_counts(&self) -> Counts {
        match self.state {
            State::Closed | State::MetricsOnly => self.window.counts(self.now),
            _ => Counts::default(),
        }
    }

    /// `failures / calls` in basis points (rounded down), `None` without a
    /// window or below `minimum_calls`.
    pub fn failure_rate_bp(&self) -> Option<u32> {
        self.rate(|c| c.failures)
    }

    /// `slow / calls` in basis points (rounded down), like `failure_rate_bp`.
    pub fn slow_call_rate_bp(&self) -> Option<u32> {
        self.rate(|c| c.slow)
    }

    fn rate(&self, part: fn(&Counts) -> u32) -> Option<u32> {
        let c = self.window_counts();
        if matches!(self.cfg.window, WindowKind::None) || c.calls == 0 {
            return None;
        }
        if c.calls < self.cfg.minimum_calls {
            return None;
        }
        Some((part(&c) as u64 * 10_000 / c.calls as u64) as u32)
    }

    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.epoch += 1;
        self.state = to;
        self.last_transition_at = self.now;
        self.log.push(Transition {
            from,
            to,
            reason,
            epoch: self.epoch,
            at: self.now,
        });
        match to {
            // A new, empty window and run for every closed or metrics-only
            // episode (DESIGN.md §13: a window belongs to one episode).
            State::Closed | State::MetricsOnly => {
                self.window.clear();
                self.run = 0;
                if to == State::Closed {
                    self.k = 0;
                }
            }
            State::HalfOpen => {
                self.admitted = 0;
                self.succeeded = 0;
                self.half_open_since = self.now;
            }
            State::Open | State::ForcedOpen | State::Disabled => {}
        }
        // Decision (the core's): an operator call restarts the backoff,
        // except `transition_to_half_open`, which keeps it for the probes.
        if matches!(
            reason,
            Reason::ForcedOpen | Reason::MetricsOnly | Reason::Disabled | Reason::Reset
        ) {
            self.k = 0;
        }
    }

    /// Opens with backoff level `k`; the deadline is at least `floor` ticks away.
    fn open(&mut self, k: u32, floor: u64, reason: Reason) {
        if matches!(self.state, State::Closed | State::HalfOpen) {
            self.trips += 1;
        }
        self.transition(State::Open, reason);
        self.k = k;
        // The jitter is keyed by the epoch of the Open episode itself.
        let d = self.cfg.open_duration(k, self.epoch).max(floor);
        self.deadline = self.now.saturating_add(d);
    }

    /// The backoff level of a re-opening from the current episode.
    fn next_level(&self) -> u32 {
        (self.k + 1).min(self.cfg.max_backoff_level)
    }

    /// The due moves that `try_acquire` and `state()` perform.
    fn poll(&mut self) {
        match self.state {
            State::Open if self.now >= self.deadline => {
                self.transition(State::HalfOpen, Reason::OpenDeadlineReached)
            }
            State::HalfOpen
                if self
                    .cfg
                    .max_half_open_wait
                    .is_some_and(|w| self.now >= self.half_open_since + w) =>
            {
                self.open(self.next_level(), 0, Reason::HalfOpenTimeout)
            }
            _ => {}
        }
    }

    /// `Breaker::try_acquire`.
    pub fn try_acquire(&mut self) -> Result<Permit, Rejected> {
        self.poll();
        let permit = Permit {
            epoch: self.epoch,
            state: self.state,
            acquired_at: self.now,
        };
        match self.state {
            State::Closed | State::MetricsOnly | State::Disabled => Ok(permit),
            State::Open => Err(Rejected {
                state: State::Open,
                retry_after: Some(self.deadline - self.now),
            }),
            State::ForcedOpen => Err(Rejected {
                state: State::ForcedOpen,
                retry_after: None,
            }),
            State::HalfOpen if self.admitted < self.cfg.half_open_permits => {
                self.admitted += 1;
                Ok(permit)
            }
            State::HalfOpen => Err(Rejected {
                state: State::HalfOpen,
                retry_after: None,
            }),
        }
    }

    /// `Breaker::state`: performs a due move, then reports.
    pub fn state(&mut self) -> State {
        self.poll();
        self.state
    }

    /// `Permit::record(_with_duration)`; `duration: None` measures from the acquire.
    pub fn record(&mut self, p: Permit, outcome: Outcome, duration: Option<u64>) -> Recorded {
        // Decision (the core's): a permit granted in Disabled records
        // nothing, whatever happened since; other permits of an older epoch
        // are Stale.
        if p.state == State::Disabled {
            return Recorded::Discarded;
        }
        if p.epoch != self.epoch {
            return Recorded::Stale;
        }
        let duration = duration.unwrap_or(self.now - p.acquired_at);
        let slow = self.cfg.is_slow(outcome, duration);
        match self.state {
            State::Closed | State::MetricsOnly => {
                match outcome {
                    Outcome::Ignored => return Recorded::Counted,
                    Outcome::Success => self.run = 0,
                    Outcome::Failure => self.run += 1,
                }
                self.window
                    .push(self.now, outcome == Outcome::Failure, slow);
                // Rules are judged only on failure or slow records (§3).
                if self.state == State::Closed && (outcome == Outcome::Failure || slow) {
                    if let Some(reason) = self.rule_that_fires() {
                        self.open(0, 0, reason);
                    }
                }
                Recorded::Counted
            }
            State::HalfOpen => {
                match outcome {
                    Outcome::Ignored => self.admitted -= 1,
                    Outcome::Failure => self.open(self.next_level(), 0, Reason::ProbeFailed),
                    Outcome::Success if slow => self.open(self.next_level(), 0, Reason::ProbeSlow),
                    Outcome::Success => {
                        self.succeeded += 1;
                        if self.succeeded >= self.cfg.success_threshold {
                            self.transition(State::Closed, Reason::ProbesSucceeded);
                        }
                    }
                }
                Recorded::Counted
            }
            State::Open | State::ForcedOpen | State::Disabled => {
                unreachable!("no counting permit is granted in {:?}", self.state)
            }
        }
    }

    fn rule_that_fires(&self) -> Option<Reason> {
        let c = self.window.counts(self.now);
        let enough = c.calls >= self.cfg.minimum_calls;
        let reached = |part: u32, bp: u32| part as u64 * 10_000 >= bp as u64 * c.calls as u64;
        if self.cfg.consecutive_failures.is_some_and(|n| self.run >= n) {
            Some(Reason::ConsecutiveFailures)
        } else if enough
            && self
                .cfg
                .failure_rate_bp
                .is_some_and(|bp| reached(c.failures, bp))
        {
            Some(Reason::FailureRate)
        } else if enough
            && self
                .cfg
                .slow_call_rate_bp
                .is_some_and(|bp| reached(c.slow, bp))
        {
            Some(Reason::SlowCallRate)
        } else if enough && self.cfg.trip_predicate.is_some_and(|p| p(&c)) {
            Some(Reason::TripPredicate)
        } else {
            None
        }
    }

    /// A permit dropped without an outcome: recorded as the `on_abandon`
    /// outcome, which is returned with what became of it.
    pub fn drop_permit(&mut self, p: Permit) -> (Outcome, Recorded) {
        let outcome = match self.cfg.on_abandon {
            Abandon::Ignore => Outcome::Ignored,
            Abandon::Failure => Outcome::Failure,
        };
        (outcome, self.record(p, outcome, None))
    }

    /// `Permit::trip_for(hint)`.
    pub fn trip_for(&mut self, p: Permit, hint: u64) -> Recorded {
        let hint = hint.min(self.cfg.max_trip_hint);
        if p.state == State::Disabled {
            return Recorded::Discarded;
        }
        if p.epoch != self.epoch {
            // The one exception to invariant (c): a stale hint may lengthen
            // an open period (what is left of it: nothing once due), as an
            // Open -> Open transition.
            let ends = self.deadline.max(self.now);
            if self.state == State::Open && self.now.saturating_add(hint) > ends {
                self.transition(State::Open, Reason::HintExtended);
                self.deadline = self.now + hint;
            }
            return Recorded::Stale;
        }
        match self.state {
            // MetricsOnly reports the hint as a failure and never trips.
            State::MetricsOnly => self.record(p, Outcome::Failure, None),
            State::Closed => {
                self.open(0, hint, Reason::TripHint);
                Recorded::Counted
            }
            State::HalfOpen => {
                self.open(self.next_level(), hint, Reason::TripHint);
                Recorded::Counted
            }
            State::Open | State::ForcedOpen | State::Disabled => {
                unreachable!("no counting permit is granted in {:?}", self.state)
            }
        }
    }

    /// Operator: reject everything until `reset()`.
    pub fn force_open(&mut self) {
        self.transition(State::ForcedOpen, Reason::ForcedOpen);
    }

    /// Operator: record everything, never trip.
    pub fn metrics_only(&mut self) {
        self.transition(State::MetricsOnly, Reason::MetricsOnly);
    }

    /// Operator: permit everything, record nothing.
    pub fn disable(&mut self) {
        self.transition(State::Disabled, Reason::Disabled);
    }

    /// Operator: Closed, normal mode, empty window, backoff level 0.
    pub fn reset(&mut self) {
        self.transition(State::Closed, Reason::Reset);
    }

    /// Operator: start a half-open episode now (backoff level kept).
    pub fn transition_to_half_open(&mut self) {
        self.transition(State::HalfOpen, Reason::ForcedHalfOpen);
    }

    /// `Breaker::snapshot`: never performs a move.
    pub fn snapshot(&self) -> Snapshot {
        let closedish = matches!(self.state, State::Closed | State::MetricsOnly);
        let half_open = self.state == State::HalfOpen;
        let open = self.state == State::Open;
        Snapshot {
            state: self.state,
            mode: self.state.mode(),
            epoch: self.epoch,
            window: self.window_counts(),
            consecutive_failures: if closedish { self.run } else { 0 },
            half_open_admitted: if half_open { self.admitted } else { 0 },
            half_open_succeeded: if half_open { self.succeeded } else { 0 },
            trips: self.trips,
            last_transition_at: self.last_transition_at,
            // Decision (the core's): no deadline once it is due.
            open_until: (open && self.now < self.deadline).then_some(self.deadline),
            backoff_level: self.k,
            probe_eligible: open && self.now >= self.deadline,
        }
    }
}

#[cfg(test)]
mod tests;
