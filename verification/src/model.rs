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

pub use config::{
    no_admission, no_jitter, Abandon, AdmissionFn, Backoff, Config, JitterFn, WindowKind,
};
pub use restore::{Adopted, Export, Restored};
pub use vocabulary::{
    Mode, Outcome, Permit, Reason, Recorded, RejectReason, Rejected, Snapshot, State, Transition,
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
    /// The end of the ramp of the current closed episode, if one is in force.
    ramp_end: Option<u64>,
    /// Attempts numbered in the current closed episode (issue 19).
    numbered: u64,
    /// Slots (of the time window) of the calls throttled in the current
    /// closed episode.
    throttled: Vec<u64>,
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
            ramp_end: None,
            numbered: 0,
            throttled: Vec::new(),
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
        // Issue 19: a ramp starts only at HalfOpen -> Closed; every
        // transition ends the one in force, and renumbers attempts.
        self.ramp_end = match self.cfg.ramp_up {
            Some(r) if to == State::Closed && reason == Reason::ProbesSucceeded => {
                Some(self.now + r)
            }
            _ => None,
        };
        self.numbered = 0;
        self.throttled.clear();
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
                // Decision (issue 19): a close that starts a ramp keeps the
                // level, so that a trip during the ramp reopens one up.
                let ramp = to == State::Closed && reason == Reason::ProbesSucceeded;
                if to == State::Closed && !(ramp && self.cfg.ramp_up.is_some()) {
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
            State::Closed => self.shape(permit),
            State::MetricsOnly | State::Disabled => Ok(permit),
            State::Open => Err(Rejected {
                state: State::Open,
                retry_after: Some(self.deadline - self.now),
                reason: RejectReason::State,
            }),
            State::ForcedOpen => Err(Rejected {
                state: State::ForcedOpen,
                retry_after: None,
                reason: RejectReason::State,
            }),
            State::HalfOpen if self.admitted < self.cfg.half_open_permits => {
                self.admitted += 1;
                Ok(permit)
            }
            State::HalfOpen => Err(Rejected {
                state: State::HalfOpen,
                retry_after: None,
                reason: RejectReason::State,
            }),
        }
    }

    /// Ticks left in the ramp in force, if any.
    fn ramp_left(&self) -> Option<u64> {
        self.ramp_end
            .filter(|&end| self.state == State::Closed && self.now < end)
            .map(|end| end - self.now)
    }

    /// Issue 19, written from docs/design.md: the ramp's stage and share.
    fn shape(&mut self, permit: Permit) -> Result<Permit, Rejected> {
        self.ramp(permit).and_then(|p| self.throttle(p))
    }

    /// Issue 19, written from docs/design.md: adaptive throttling over the
    /// time window.
    fn throttle(&mut self, permit: Permit) -> Result<Permit, Rejected> {
        let (Some(k_bp), WindowKind::Time { buckets, span }) =
            (self.cfg.throttle_k_bp, self.cfg.window)
        else {
            return Ok(permit);
        };
        let c = self.window.counts(self.now);
        let slot = self.now / (span / buckets);
        // Throttled calls of the window's last min(B, 8) slots.
        let reach = buckets.min(8);
        let throttled = self
            .throttled
            .iter()
            .filter(|&&s| s <= slot && slot - s < reach)
            .count() as u128;
        let requests = c.calls as u128 + throttled;
        let accepts = (c.calls - c.failures) as u128;
        let (r, a) = (requests * 10_000, accepts * k_bp as u128);
        let p = if a >= r { 0 } else { (r - a) / (requests + 1) };
        if p == 0 {
            return Ok(permit);
        }
        let m = self.numbered;
        self.numbered += 1;
        let draw = (self.cfg.admission_fn)(self.cfg.jitter_seed, self.epoch, m + 1) as u128;
        if draw < p {
            self.throttled.push(slot);
            Err(Rejected {
                state: State::Closed,
                retry_after: None,
                reason: RejectReason::Throttled,
            })
        } else {
            Ok(permit)
        }
    }

    fn ramp(&mut self, permit: Permit) -> Result<Permit, Rejected> {
        let Some(left) = self.ramp_left() else {
            return Ok(permit);
        };
        let total = self.cfg.ramp_up.expect("a ramp in force");
        let stages = self.cfg.ramp_stages;
        let n = stages.len() as u64;
        let len = total / n;
        let elapsed = total - left;
        // Stage i covers elapsed in [i * len, (i + 1) * len); the last also
        // takes the remainder.
        let i = (elapsed / len).min(n - 1);
        let share_bp = stages[i as usize] as u64 * 100;
        let stage_end = if i == n - 1 { total } else { (i + 1) * len };
        if share_bp >= 10_000 {
            return Ok(permit);
        }
        let m = self.numbered;
        self.numbered += 1;
        let off = (self.cfg.admission_fn)(self.cfg.jitter_seed, self.epoch, 0) as u64;
        let x = (m % 10_000 + off) % 10_000;
        if (x + 1) * share_bp / 10_000 > x * share_bp / 10_000 {
            Ok(permit)
        } else {
            Err(Rejected {
                state: State::Closed,
                retry_after: Some(stage_end - elapsed),
                reason: RejectReason::Ramp,
            })
        }
    }

    /// The level a trip from `Closed` opens with: one up during a ramp.
    fn closed_trip_level(&self) -> u32 {
        if self.ramp_left().is_some() {
            self.next_level()
        } else {
            0
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
                        self.open(self.closed_trip_level(), 0, reason);
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
                self.open(self.closed_trip_level(), hint, Reason::TripHint);
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
