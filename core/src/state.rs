//! States, modes and the packed state word.
//!
//! # The state word
//!
//! One native-width atomic holds everything a transition decides on, so every
//! transition is exactly one compare-and-swap that also bumps the epoch.
//!
//! 64-bit targets (`Word = u64`):
//!
//! ```text
//!  63                     32 31                     8 7        3 2     0
//! +-------------------------+------------------------+----------+-------+
//! |        epoch (32)       |       counts (24)      |  k (5)   | st (3)|
//! +-------------------------+------------------------+----------+-------+
//! ```
//!
//! 32-bit targets (`Word = u32`, also forced on the host by `--cfg fusebox_narrow`):
//!
//! ```text
//!  31              17 16            7 6      3 2     0
//! +------------------+---------------+--------+-------+
//! |    epoch (15)    |  counts (10)  |  k (4) | st (3)|
//! +------------------+---------------+--------+-------+
//! ```
//!
//! - `st`: the [`State`] (3 bits, 6 values).
//! - `k`: the backoff level, re-openings since the breaker was last closed.
//!   It saturates at its maximum (31 / 15); backoffs are clamped to `max`
//!   long before that matters.
//! - `counts`: the consecutive-failure run in `Closed` and `MetricsOnly`
//!   (all 24 / 10 bits), or, in `HalfOpen`, the probes admitted (low half)
//!   and the probes that succeeded (high half), 12 / 5 bits each. The two
//!   uses are never needed together. Config limits keep every count below its
//!   field's maximum (the run stops growing at the threshold, which is a
//!   trip), so no field ever overflows into its neighbour.
//! - `epoch`: bumped by one at every state change, wrapping at 2^32 / 2^15.
//!   A permit remembers the epoch it was granted in. Its outcome could be
//!   mistaken for a current one only if exactly a multiple of 2^32 (2^15)
//!   transitions happened while it was held. Each trip needs an open period to
//!   pass before the breaker can close and trip again, so on a 32-bit chip
//!   with `open_for` of 1 ms that is more than 10 seconds of continuous
//!   flapping while one call is in flight, and on 64-bit hosts
//!   decades: both far beyond any call a breaker guards.

use crate::sync::{Word, WORD_BITS};

/// Where the breaker is: the three automatic states and the three operator
/// modes (which hold until [`reset`](crate::Breaker::reset)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum State {
    /// Calls flow; outcomes are counted.
    Closed,
    /// Calls are rejected until the open deadline.
    Open,
    /// A limited number of probes decide whether to close or re-open.
    HalfOpen,
    /// Operator mode: every call is rejected.
    ForcedOpen,
    /// Operator mode: every call is permitted and recorded; never trips.
    MetricsOnly,
    /// Operator mode: every call is permitted; nothing is recorded.
    Disabled,
}

impl State {
    /// Every state, in the order of [`index`](Self::index): the one list
    /// that tables, metrics and reports iterate over.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::MetricsOnly,
        State::Disabled,
    ];

    /// The position of this state in [`State::ALL`] (0 to 5), for arrays
    /// indexed by state.
    ///
    /// ```
    /// use fusebox_core::State;
    /// assert!(State::ALL.iter().enumerate().all(|(i, s)| s.index() == i));
    /// ```
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The lower-case name used in logs, metrics and the command-line tool
    /// (`closed`, `open`, `half_open`, `forced_open`, `metrics_only`, `disabled`).
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::MetricsOnly => "metrics_only",
            State::Disabled => "disabled",
        }
    }

    /// The operator mode this state belongs to.
    #[inline]
    pub const fn mode(self) -> Mode {
        match self {
            State::Closed | State::Open | State::HalfOpen => Mode::Automatic,
            State::ForcedOpen => Mode::ForcedOpen,
            State::MetricsOnly => Mode::MetricsOnly,
            State::Disabled => Mode::Disabled,
        }
    }

    /// Whether outcomes recorded in this state go into the window.
    #[inline]
    pub(crate) const fn uses_window(self) -> bool {
        matches!(self, State::Closed | State::MetricsOnly)
    }

    #[inline]
    const fn to_bits(self) -> Word {
        self as Word
    }

    #[inline]
    const fn from_bits(bits: Word) -> State {
        match bits {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            4 => State::MetricsOnly,
            // 5 is the only other value ever written.
            _ => State::Disabled,
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is in charge: the automatic state machine, or an operator's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Mode {
    /// Closed, Open and HalfOpen follow the rules.
    Automatic,
    /// Set by [`force_open`](crate::Breaker::force_open).
    ForcedOpen,
    /// Set by [`metrics_only`](crate::Breaker::metrics_only).
    MetricsOnly,
    /// Set by [`disable`](crate::Breaker::disable).
    Disabled,
}

const ST_BITS: u32 = 3;
/// Bits of the backoff level.
pub(crate) const K_BITS: u32 = if WORD_BITS == 64 { 5 } else { 4 };
/// Bits of the counts field.
pub(crate) const COUNT_BITS: u32 = if WORD_BITS == 64 { 24 } else { 10 };
/// Bits of the epoch.
pub(crate) const EPOCH_BITS: u32 = WORD_BITS - ST_BITS - K_BITS - COUNT_BITS;
/// Bits of each half-open count (admitted, succeeded).
pub(crate) const HALF_BITS: u32 = COUNT_BITS / 2;

const K_SHIFT: u32 = ST_BITS;
const COUNT_SHIFT: u32 = K_SHIFT + K_BITS;
const EPOCH_SHIFT: u32 = COUNT_SHIFT + COUNT_BITS;

const ST_MASK: Word = (1 << ST_BITS) - 1;
/// Largest backoff level.
pub(crate) const K_MAX: u32 = (1 << K_BITS) - 1;
/// Largest consecutive-failure run.
pub(crate) const RUN_MAX: u32 = (1 << COUNT_BITS) - 1;
/// Largest half-open count (admitted or succeeded).
pub(crate) const HALF_MAX: u32 = (1 << HALF_BITS) - 1;
/// Mask of an epoch value.
pub(crate) const EPOCH_MASK: Word = if EPOCH_BITS == WORD_BITS {
    Word::MAX
} else {
    ((1 as Word) << EPOCH_BITS) - 1
};

/// The decoded state word. Pure value: the transition rules of
/// [`crate::machine`] work on it and its CAS driver owns the atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StateWord {
    pub(crate) state: State,
    pub(crate) k: u32,
    /// Run (Closed/MetricsOnly) or admitted | succeeded << HALF_BITS (HalfOpen).
    pub(crate) counts: u32,
    pub(crate) epoch: Word,
}

impl StateWord {
    /// The word a new breaker starts with: `Closed`, epoch 0.
    pub(crate) const INITIAL: StateWord = StateWord {
        state: State::Closed,
        k: 0,
        counts: 0,
        epoch: 0,
    };

    #[inline]
    pub(crate) const fn pack(self) -> Word {
        self.state.to_bits()
            | ((self.k as Word) << K_SHIFT)
            | ((self.counts as Word) << COUNT_SHIFT)
            | ((self.epoch & EPOCH_MASK) << EPOCH_SHIFT)
    }

    #[inline]
    pub(crate) const fn unpack(w: Word) -> StateWord {
        StateWord {
            state: State::from_bits(w & ST_MASK),
            k: ((w >> K_SHIFT) as u32) & K_MAX,
            counts: ((w >> COUNT_SHIFT) as u32) & RUN_MAX,
            epoch: (w >> EPOCH_SHIFT) & EPOCH_MASK,
        }
    }

    /// The same word in `state` with the next epoch and cleared counts.
    #[inline]
    pub(crate) const fn next(self, state: State, k: u32) -> StateWord {
        StateWord {
            state,
            k: if k > K_MAX { K_MAX } else { k },
            counts: 0,
            epoch: next_epoch(self.epoch),
        }
    }

    /// Consecutive failures (meaningful in `Closed` and `MetricsOnly`).
    #[inline]
    pub(crate) const fn run(self) -> u32 {
        if self.state.uses_window() {
            self.counts
        } else {
            0
        }
    }

    /// Half-open probes admitted and not given back.
    #[inline]
    pub(crate) const fn admitted(self) -> u32 {
        if matches!(self.state, State::HalfOpen) {
            self.counts & HALF_MAX
        } else {
            0
        }
    }

    /// Half-open probes that succeeded.
    #[inline]
    pub(crate) const fn succeeded(self) -> u32 {
        if matches!(self.state, State::HalfOpen) {
            self.counts >> HALF_BITS
        } else {
            0
        }
    }

    #[inline]
    pub(crate) const fn with_half(self, admitted: u32, succeeded: u32) -> StateWord {
        StateWord {
            counts: admitted | (succeeded << HALF_BITS),
            ..self
        }
    }

    #[inline]
    pub(crate) const fn with_run(self, run: u32) -> StateWord {
        StateWord {
            counts: if run > RUN_MAX { RUN_MAX } else { run },
            ..self
        }
    }
}

/// The epoch after `e`, wrapping within [`EPOCH_BITS`].
#[inline]
pub(crate) const fn next_epoch(e: Word) -> Word {
    e.wrapping_add(1) & EPOCH_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_every_field_at_its_limits() {
        for state in State::ALL {
            for k in [0, 1, K_MAX] {
                for counts in [0, 1, RUN_MAX] {
                    for epoch in [0, 1, EPOCH_MASK] {
                        let w = StateWord {
                            state,
                            k,
                            counts,
                            epoch,
                        };
                        assert_eq!(StateWord::unpack(w.pack()), w);
                    }
                }
            }
        }
    }

    #[test]
    fn epoch_wraps_within_its_field() {
        let w = StateWord {
            epoch: EPOCH_MASK,
            ..StateWord::INITIAL
        };
        let n = w.next(State::Open, 0);
        assert_eq!(n.epoch, 0);
        assert_eq!(StateWord::unpack(n.pack()).state, State::Open);
    }

    #[test]
    fn half_open_counts_share_the_run_bits_without_overlap() {
        let w = StateWord {
            state: State::HalfOpen,
            ..StateWord::INITIAL
        }
        .with_half(HALF_MAX, HALF_MAX);
        let u = StateWord::unpack(w.pack());
        assert_eq!((u.admitted(), u.succeeded()), (HALF_MAX, HALF_MAX));
        assert_eq!(u.epoch, 0);
        assert_eq!(u.k, 0);
    }

    #[test]
    fn field_widths_fill_the_word() {
        assert_eq!(ST_BITS + K_BITS + COUNT_BITS + EPOCH_BITS, WORD_BITS);
        const { assert!(EPOCH_BITS >= 15) };
    }
}
