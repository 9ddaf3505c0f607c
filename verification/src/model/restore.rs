//! DESIGN.md §14: export, restore and adopting a peer's open, in the model.
//! Durations are ticks of the model's clock. Written from §14 and the
//! decisions in the project's `docs/design.md` ("What crosses a restart").

use super::{Backoff, Counts, Model, Reason, State};

/// What crosses a process boundary (the core's `Exported`, without the
/// version and fingerprint: the caller says whether the fingerprints match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export {
    /// The state (automatic or operator mode).
    pub state: State,
    /// The backoff level.
    pub k: u32,
    /// `Open` only: ticks left of the open period (0 once due).
    pub remaining: Option<u64>,
    /// The consecutive run (`Closed`, `MetricsOnly`), else 0.
    pub run: u32,
    /// The window counts (for information; never restored).
    pub window: Counts,
}

/// What a restore installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The state installed.
    pub state: State,
    /// The new epoch.
    pub epoch: u64,
    /// The backoff level installed.
    pub k: u32,
    /// `Open`: the open period installed, in ticks from now.
    pub open_for: Option<u64>,
    /// The remaining time was cut to the longest open period.
    pub clamped: bool,
    /// An exported `HalfOpen` came back as a due `Open`.
    pub half_open_as_open: bool,
    /// The run installed.
    pub run: u32,
    /// The exported run not installed.
    pub dropped_run: u32,
}

/// What adopting a peer's open did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adopted {
    /// Closed -> Open for this many ticks.
    Opened {
        /// Ticks.
        open_for: u64,
        /// The new epoch.
        epoch: u64,
    },
    /// Open -> Open, this many ticks from now.
    Extended {
        /// Ticks.
        open_for: u64,
        /// The new epoch.
        epoch: u64,
    },
    /// The period in force is at least as long: nothing changes.
    AlreadyLonger {
        /// Ticks left of it.
        remaining: u64,
    },
    /// Not adopted in this state (half-open, operator modes), or a zero
    /// duration.
    Ignored(State),
}

impl Model {
    /// The longest open period this breaker can produce: its backoff's
    /// longest (with jitter), `max_trip_hint` and `max_half_open_wait`.
    pub fn longest_open(&self) -> u64 {
        let c = &self.cfg;
        let backoff = match c.backoff {
            Backoff::Constant => {
                (c.open_for as u128 * (10_000 + c.jitter_bp as u128) / 10_000) as u64
            }
            Backoff::Exponential { max, .. } | Backoff::Linear { max, .. } => max,
        };
        backoff
            .max(c.max_trip_hint)
            .max(c.max_half_open_wait.unwrap_or(0))
            .max(1)
    }

    /// `Breaker::export`: never performs a move.
    pub fn export(&self) -> Export {
        let closedish = matches!(self.state, State::Closed | State::MetricsOnly);
        Export {
            state: self.state,
            k: self.k,
            remaining: (self.state == State::Open).then(|| self.deadline.saturating_sub(self.now)),
            run: if closedish { self.run } else { 0 },
            window: self.window_counts(),
        }
    }

    /// `Breaker::restore`. `matched`: the fingerprints are equal.
    pub fn restore(&mut self, e: Export, matched: bool) -> Restored {
        let half_open_as_open = e.state == State::HalfOpen;
        let to = if half_open_as_open {
            State::Open
        } else {
            e.state
        };
        let k = if to == State::Open {
            e.k.min(self.cfg.max_backoff_level)
        } else {
            0
        };
        let closedish = matches!(to, State::Closed | State::MetricsOnly);
        let run = match (matched && closedish, to, self.cfg.consecutive_failures) {
            (false, _, _) => 0,
            // A run at the threshold would have tripped.
            (true, State::Closed, Some(n)) => e.run.min(n - 1),
            (true, _, _) => e.run,
        };
        let asked = if half_open_as_open {
            0
        } else {
            e.remaining.unwrap_or(0)
        };
        let left = asked.min(self.longest_open());
        if to == State::Open && matches!(self.state, State::Closed | State::HalfOpen) {
            self.trips += 1;
        }
        self.transition(to, Reason::Restored);
        self.k = k;
        if closedish {
            self.run = run;
        }
        if to == State::Open {
            self.deadline = self.now + left;
        }
        Restored {
            state: to,
            epoch: self.epoch,
            k,
            open_for: (to == State::Open).then_some(left),
            clamped: to == State::Open && asked > left,
            half_open_as_open,
            run: if closedish { run } else { 0 },
            dropped_run: e.run - if closedish { run } else { 0 },
        }
    }

    /// `Breaker::adopt_open(ticks)`.
    pub fn adopt_open(&mut self, ticks: u64) -> Adopted {
        let asked = ticks.min(self.longest_open());
        if asked == 0 {
            return Adopted::Ignored(self.state);
        }
        match self.state {
            State::Closed => {
                self.trips += 1;
                self.transition(State::Open, Reason::Adopted);
                self.k = 0;
                self.deadline = self.now + asked;
                Adopted::Opened {
                    open_for: asked,
                    epoch: self.epoch,
                }
            }
            State::Open => {
                let left = self.deadline.saturating_sub(self.now);
                if left >= asked {
                    return Adopted::AlreadyLonger { remaining: left };
                }
                self.transition(State::Open, Reason::Adopted);
                self.deadline = self.now + asked;
                Adopted::Extended {
                    open_for: asked,
                    epoch: self.epoch,
                }
            }
            s => Adopted::Ignored(s),
        }
    }
}
