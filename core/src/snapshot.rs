//! A consistent-enough picture of a breaker, read without writing.

use crate::config::Ratio;
use crate::state::{Mode, State};
use crate::window::WindowCounts;

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
