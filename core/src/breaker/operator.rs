//! Reading the state (with its due moves) and the operator calls (DESIGN §2).

use super::admit::Settled;
use super::Breaker;
use crate::clock::Clock;
use crate::machine::{self, Decision};
use crate::observer::{Observer, TransitionReason};
use crate::state::State;
use crate::window::{AnyWindow, WindowCounts};

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// The current state. Performs the due moves (open → half-open at the
    /// deadline, half-open → open after `max_half_open_wait`), so that a
    /// dashboard reading it sees what the next call would.
    pub fn state(&self) -> State {
        match self.settle(self.current_word(), false) {
            Settled::Granted(_, s) | Settled::Refused(s, _) => s,
        }
    }

    fn operator(&self, to: State, reason: TransitionReason) {
        let (from, next) = self.drive(self.current_word(), |sw| {
            let next = machine::operator(sw, to);
            Decision::write(next, (sw, next))
        });
        let now = crate::breaker::read_clock(&self.clock);
        if to == State::HalfOpen {
            self.entered_half_open(from, next, reason, now);
        } else {
            self.committed(from, next, reason, now, WindowCounts::default(), None);
        }
    }

    /// Operator mode: reject every call until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.operator(State::ForcedOpen, TransitionReason::ForcedOpen);
    }
    /// Operator mode: permit and record every call, never trip.
    pub fn metrics_only(&self) {
        self.operator(State::MetricsOnly, TransitionReason::MetricsOnly);
    }
    /// Operator mode: permit every call, record nothing.
    pub fn disable(&self) {
        self.operator(State::Disabled, TransitionReason::Disabled);
    }
    /// Back to `Closed` in automatic mode, with an empty window and backoff
    /// level 0.
    pub fn reset(&self) {
        self.operator(State::Closed, TransitionReason::Reset);
    }
    /// The same as [`reset`](Self::reset).
    pub fn force_closed(&self) {
        self.reset();
    }
    /// Starts a half-open episode now, keeping the backoff level.
    pub fn transition_to_half_open(&self) {
        self.operator(State::HalfOpen, TransitionReason::ForcedHalfOpen);
    }
}
