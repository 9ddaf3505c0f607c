//! A consistent-enough picture of a breaker, read without writing.

use crate::clock::Clock;
use crate::config::Ratio;
use crate::observer::Observer;
use crate::state::{Mode, State, StateWord};
use crate::sync::Ordering;
use crate::timer::TimerUnits;
use crate::window::{AnyWindow, WindowCounts, WindowKind};
use crate::Breaker;

/// What [`Breaker::snapshot`](crate::Breaker::snapshot) saw. Reading one
/// never writes and never blocks writers; its fields come from a few
/// separate loads, so under concurrent traffic they may be a few operations
/// apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Snapshot {
    /// The state.
    pub state: State,
    /// The operator mode.
    pub mode: Mode,
    /// The epoch (bumped at every state change; wraps at the target's width).
    pub epoch: u64,
    /// The window of the current closed or metrics-only episode (empty otherwise).
    pub window: WindowCounts,
    /// The consecutive-failure run (closed and metrics-only).
    pub consecutive_failures: u32,
    /// Half-open probes admitted and not given back.
    pub half_open_admitted: u32,
    /// Half-open probes that succeeded.
    pub half_open_succeeded: u32,
    /// Times the breaker opened (trips from `Closed` and re-openings from
    /// `HalfOpen`; not hint extensions or `ForcedOpen`). Wraps at the
    /// target's word width.
    pub trips: u64,
    /// Clock ticks at the last transition (low 32 bits on 32-bit targets;
    /// 0 before the first).
    pub last_transition_at: u64,
    /// While open and not yet due: the deadline in ticks.
    pub open_until: Option<u64>,
    /// Re-openings since the breaker was last closed.
    pub backoff_level: u32,
    /// Open and due: the next call (or `state()`) moves it to half-open.
    pub probe_eligible: bool,
    /// The window's failure rate, `None` below `minimum_calls`.
    pub failure_rate: Option<Ratio>,
    /// The window's slow-call rate, `None` below `minimum_calls`.
    pub slow_call_rate: Option<Ratio>,
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// A picture of the breaker. Never writes.
    pub fn snapshot(&self) -> Snapshot {
        let sw = StateWord::unpack(self.current_word());
        // The clock is read only where it matters: an open deadline, a time window.
        let now = if sw.state == State::Open || self.window.kind() == WindowKind::Time {
            crate::breaker::read_clock(&self.clock)
        } else {
            0
        };
        let (open_until, probe_eligible) = if sw.state == State::Open {
            let t = self.timer.load();
            if TimerUnits::deadline_of(t, sw.epoch) {
                match self.settings.timer.remaining(t, now) {
                    Some(left) => (Some(now.wrapping_add(left)), false),
                    None => (None, true),
                }
            } else {
                (None, false)
            }
        } else {
            (None, false)
        };
        let window = if sw.state.uses_window() {
            self.window.counts(sw.epoch, now, self.settings.slots)
        } else {
            WindowCounts::default()
        };
        Snapshot {
            state: sw.state,
            mode: sw.state.mode(),
            epoch: sw.epoch as u64,
            window,
            consecutive_failures: sw.run(),
            half_open_admitted: sw.admitted(),
            half_open_succeeded: sw.succeeded(),
            // Relaxed: statistics.
            trips: self.trips.load(Ordering::Relaxed) as u64,
            last_transition_at: self.last_transition.load(Ordering::Relaxed) as u64,
            open_until,
            backoff_level: sw.k,
            probe_eligible,
            failure_rate: self.rate(window, window.failure_rate_bp()),
            slow_call_rate: self.rate(window, window.slow_call_rate_bp()),
        }
    }

    /// A window rate as a [`Ratio`], `None` without a window or below
    /// `minimum_calls`.
    fn rate(&self, w: WindowCounts, rate_bp: Option<u32>) -> Option<Ratio> {
        if self.window.kind() == WindowKind::None || w.calls < self.settings.minimum_calls as u32 {
            return None;
        }
        rate_bp.map(Ratio::from_basis_points)
    }

    /// The window's failure rate, `None` below `minimum_calls` or without a window.
    pub fn failure_rate(&self) -> Option<Ratio> {
        self.snapshot().failure_rate
    }

    /// The window's slow-call rate, `None` below `minimum_calls` or without a window.
    pub fn slow_call_rate(&self) -> Option<Ratio> {
        self.snapshot().slow_call_rate
    }
}
