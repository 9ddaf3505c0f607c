//! The timer word: the open (or half-open) deadline, tagged with the epoch
//! of the episode it belongs to.
//!
//! ```text
//! 64-bit:  63        48 47                                   0
//!         +------------+--------------------------------------+
//!         |  tag (16)  |        deadline in units (48)        |
//!         +------------+--------------------------------------+
//! 32-bit:  31     24 23                 0
//!         +---------+--------------------+
//!         | tag (8) |  deadline (24)     |
//!         +---------+--------------------+
//! ```
//!
//! The state and the deadline live in different words, so a reader acts on a
//! deadline only when its tag equals the low bits of the epoch it read from
//! the state word, and acting is always a compare-and-swap on the state word
//! with the full epoch: a deadline from another episode can at most make that
//! CAS fail. The thread that opens the breaker publishes the deadline right
//! after its CAS; a reader that finds the state open with an older-tagged
//! deadline (the opener was preempted in between) publishes one itself from
//! its own clock reading, by a CAS over exactly the word it saw. Nobody spins
//! waiting for the opener, which an interrupt may have preempted.
//!
//! A unit is `2^shift` ticks, chosen at construction: the longest possible
//! open period fits in a quarter of the unit range (and, on 64-bit targets,
//! the range spans more than a century of ticks). Deadlines are rounded up to
//! a whole unit, so an open period can end up to one unit late, never early.
//! The comparison is wrap-aware: a deadline further ahead than the longest
//! open period is one that has passed and wrapped. On 32-bit targets a
//! breaker left untouched for a multiple of `2^24` units could see a passed
//! deadline as pending again, for at most the longest open period.

use crate::config::ConfigError;
use crate::state::EPOCH_MASK;
use crate::sync::{atomic_word, AtomicWord, Ordering, Word, WORD_BITS};
#[cfg(test)]
use core::time::Duration;

const TAG_BITS: u32 = if WORD_BITS == 64 { 16 } else { 8 };
const UNIT_BITS: u32 = WORD_BITS - TAG_BITS;
const UNIT_MASK: Word = ((1 as Word) << UNIT_BITS) - 1;
const TAG_MASK: Word = ((1 as Word) << TAG_BITS) - 1;
/// Longest open period, in units: a quarter of the unit range.
const MAX_SPAN_UNITS: u64 = 1 << (UNIT_BITS - 2);
/// Minimum units an `open_for` must span, to keep rounding below ~6 %.
const MIN_OPEN_UNITS: u64 = 16;

/// How ticks map to timer units, fixed at construction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerUnits {
    shift: u32,
    /// Remaining-units values above this are passed deadlines that wrapped.
    guard: u64,
}

impl TimerUnits {
    /// Units for a breaker whose open periods are at most `longest` ticks and
    /// at least `shortest` ticks.
    pub(crate) const fn new(
        longest: u64,
        shortest: u64,
        hz: u64,
    ) -> Result<TimerUnits, ConfigError> {
        let mut shift = 0;
        while shift < 63 && (longest >> shift) >= MAX_SPAN_UNITS {
            shift += 1;
        }
        if WORD_BITS == 64 {
            // A century of ticks within half the unit range.
            let century = (hz as u128) * 3_155_760_000;
            while shift < 63 && ((1u128 << (UNIT_BITS - 1)) << shift) < century {
                shift += 1;
            }
        }
        if (shortest >> shift) < MIN_OPEN_UNITS && shift > 0 {
            return Err(ConfigError::duration_out_of_range(
                "open_for",
                crate::clock::ticks_to_duration(shortest, hz),
                crate::clock::ticks_to_duration(MIN_OPEN_UNITS << shift, hz),
                crate::clock::ticks_to_duration(longest, hz),
            ));
        }
        Ok(TimerUnits {
            shift,
            guard: (longest >> shift) + 2,
        })
    }

    /// The word for a deadline at `deadline` ticks in the episode `epoch`.
    /// Out of line on 32-bit targets (as is `remaining`): a 64-bit shift by a
    /// variable there is a runtime call, and each breaker has several callers.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) const fn encode(&self, epoch: Word, deadline: u64) -> Word {
        let units = deadline.div_ceil(1 << self.shift) as Word & UNIT_MASK;
        ((epoch & TAG_MASK) << UNIT_BITS) | units
    }

    /// Whether `word` belongs to the episode `epoch`.
    #[inline]
    pub(crate) const fn belongs_to(word: Word, epoch: Word) -> bool {
        (word >> UNIT_BITS) == (epoch & TAG_MASK & EPOCH_MASK)
    }

    /// Ticks left until the deadline in `word`, or `None` once it is due.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) const fn remaining(&self, word: Word, now: u64) -> Option<u64> {
        let now_units = (now >> self.shift) as Word & UNIT_MASK;
        let left = ((word & UNIT_MASK).wrapping_sub(now_units) & UNIT_MASK) as u64;
        if left == 0 || left > self.guard {
            None
        } else {
            let sub_unit = now & ((1u64 << self.shift) - 1);
            let t = (left << self.shift).saturating_sub(sub_unit);
            Some(if t == 0 { 1 } else { t })
        }
    }

    /// The granularity of deadlines.
    #[cfg(test)]
    pub(crate) const fn unit(&self, hz: u64) -> Duration {
        crate::clock::ticks_to_duration(1 << self.shift, hz)
    }
}

/// The atomic timer word.
pub(crate) struct Timer {
    word: AtomicWord,
}

impl Timer {
    /// Tagged with an epoch no episode has yet, so it matches none.
    const INITIAL: Word = TAG_MASK << UNIT_BITS;

    #[cfg(not(fusebox_loom))]
    pub(crate) const fn new() -> Timer {
        Timer {
            word: atomic_word(Self::INITIAL),
        }
    }
    #[cfg(fusebox_loom)]
    pub(crate) fn new() -> Timer {
        Timer {
            word: atomic_word(Self::INITIAL),
        }
    }

    #[inline]
    pub(crate) fn load(&self) -> Word {
        // Acquire: pairs with the Release in `publish`; the deadline is read
        // after the state word, and only used when its tag matches that epoch.
        self.word.load(Ordering::Acquire)
    }

    /// Replaces exactly `seen` with `new`; false if someone else got there.
    ///
    /// Out of line on 32-bit chips with compare-and-swap, where the
    /// LDREX/STREX loop is worth sharing; a critical section (Cortex-M0)
    /// folds better inline.
    #[cfg_attr(
        any(target_pointer_width = "64", not(target_has_atomic = "ptr")),
        inline
    )]
    #[cfg_attr(
        all(target_has_atomic = "ptr", not(target_pointer_width = "64")),
        inline(never)
    )]
    pub(crate) fn publish(&self, seen: Word, new: Word) -> bool {
        // Release: makes the deadline visible with its tag to `load`.
        // Relaxed on failure: the caller only learns that someone else won.
        self.word
            .compare_exchange(seen, new, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_clock_keeps_single_tick_resolution() {
        let u = TimerUnits::new(600_000, 1_000, 1_000).unwrap();
        assert_eq!(u.unit(1_000), Duration::from_millis(1));
        let w = u.encode(3, 1_500);
        assert!(TimerUnits::belongs_to(w, 3));
        assert!(!TimerUnits::belongs_to(w, 4));
        assert_eq!(u.remaining(w, 1_000), Some(500));
        assert_eq!(u.remaining(w, 1_499), Some(1));
        assert_eq!(u.remaining(w, 1_500), None);
        assert_eq!(u.remaining(w, 90_000), None);
    }

    #[test]
    fn a_passed_deadline_that_wrapped_is_still_due() {
        let u = TimerUnits::new(10_000, 1_000, 1_000).unwrap();
        let w = u.encode(1, 5_000);
        // Long after the deadline, the raw difference wraps to "far ahead".
        let later = 5_000 + (UNIT_MASK as u64) / 2;
        assert_eq!(u.remaining(w, later), None);
    }

    #[test]
    fn nanosecond_clock_rounds_deadlines_up_never_down() {
        let hz = 1_000_000_000;
        let u = TimerUnits::new(600 * hz, hz, hz).unwrap();
        let w = u.encode(0, 10 * hz + 1);
        assert!(u.remaining(w, 10 * hz).is_some());
        let unit = 1u64 << u.shift;
        assert_eq!(u.remaining(w, 10 * hz + unit), None);
        // 64-bit: a century in range; 32-bit: 600 s in a quarter of 2^24 units.
        let bound = if WORD_BITS == 64 { 100 } else { 300 };
        assert!(u.unit(hz) < Duration::from_micros(bound));
    }

    #[test]
    fn an_open_period_shorter_than_the_unit_range_allows_is_refused() {
        if WORD_BITS == 32 {
            // 1 ms open, 1 year longest, 1 MHz: needs units far coarser than 1 ms.
            let e = TimerUnits::new(31_536_000_000_000, 1_000, 1_000_000).unwrap_err();
            assert_eq!(e.field(), "open_for");
        }
    }
}
