//! Sliding windows of recent outcomes: the type parameter `W` of a breaker.
//!
//! - [`NoWindow`]: only the consecutive-failures rule; nothing to store.
//! - [`CountWindow<N>`](CountWindow): the last `N` outcomes, exactly.
//! - [`TimeWindow<B, S>`](TimeWindow): the outcomes of the last `window_span`,
//!   in `B` buckets, counted in `S` cache-padded stripes.
//! - [`RuntimeWindow`]: one of the three, chosen at run time.
//!
//! A window belongs to one closed (or metrics-only) episode: its words carry
//! that episode's epoch bits, and words with another episode's bits read as
//! empty, so emptying a window when the breaker closes costs nothing.
//! Ignored outcomes never enter a window.

mod count;
mod runtime;
mod time;

pub use count::{CountWindow, CountWindowOf, DynCountWindow, RingArray, RingCell, RingStorage};
pub use runtime::RuntimeWindow;
pub use time::{
    BucketCell, BucketRows, BucketSlice, BucketStorage, DynTimeWindow, TimeWindow, TimeWindowOf,
};

use crate::state::StateWord;
use crate::sync::{AtomicWord, Ordering, Word};

/// Outcome counts of a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowCounts {
    /// Outcomes in the window (successes and failures).
    pub calls: u32,
    /// Failures among them.
    pub failures: u32,
    /// Slow calls among them (successes or failures).
    pub slow: u32,
}

impl WindowCounts {
    /// `failures / calls` in basis points, or `None` when empty.
    pub const fn failure_rate_bp(&self) -> Option<u32> {
        rate_bp(self.failures, self.calls)
    }
    /// `slow / calls` in basis points, or `None` when empty.
    pub const fn slow_call_rate_bp(&self) -> Option<u32> {
        rate_bp(self.slow, self.calls)
    }
}

/// `part / calls` in basis points, rounded down; `None` when empty. The one
/// place a rate is computed; [`reaches`] is the same comparison without the
/// division, for the failure path.
const fn rate_bp(part: u32, calls: u32) -> Option<u32> {
    if calls == 0 {
        None
    } else {
        Some(crate::arith::div_rem(part as u64 * 10_000, calls as u64).0 as u32)
    }
}

/// Whether `part / calls` reaches `bp` basis points (DESIGN §3:
/// `part * 10_000 >= bp * calls`), which is `rate_bp(part, calls) >= bp`
/// for a non-empty window, in integer arithmetic with no division.
#[inline]
pub(crate) const fn reaches(part: u32, calls: u32, bp: u32) -> bool {
    part as u64 * 10_000 >= bp as u64 * calls as u64
}

/// A breaker with no window: only consecutive failures can trip it.
#[derive(Debug, Default)]
pub struct NoWindow;

/// Every window type a [`Breaker`](crate::Breaker) accepts, including those
/// sized or chosen at run time ([`DynCountWindow`], [`DynTimeWindow`],
/// [`RuntimeWindow`]). Sealed.
pub trait AnyWindow: sealed::WindowImpl {}

/// A window that exists as a constant, so its breaker can be built by
/// [`Breaker::new`](crate::Breaker::new) in a `static`: [`NoWindow`],
/// [`CountWindow`], [`TimeWindow`]. Sealed.
pub trait Window: AnyWindow + sealed::ConstEmpty {}

impl AnyWindow for NoWindow {}
impl<S: RingStorage> AnyWindow for CountWindowOf<S> {}
impl<G: BucketStorage> AnyWindow for TimeWindowOf<G> {}
impl<R: RingStorage, G: BucketStorage> AnyWindow for RuntimeWindow<R, G> {}
impl Window for NoWindow {}
impl<const N: usize> Window for CountWindow<N> {}
impl<const B: usize, const S: usize> Window for TimeWindow<B, S> {}

/// What kind of window a type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum WindowKind {
    None,
    Count,
    Time,
}

/// The outcome as a window stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub struct Entry {
    pub(crate) failure: bool,
    pub(crate) slow: bool,
}

/// Result of putting an outcome into a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum Put {
    /// It counted; the counts are those its own update installed (only
    /// computed when asked for).
    Counted(WindowCounts),
    /// It belongs to an episode that is over.
    Stale,
}

/// Turns ticks into time-window slots without dividing on the hot path.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct SlotClock {
    width: u64,
    /// floor(2^64 / width) - an estimate of 1/width, corrected by at most two steps.
    reciprocal: u64,
}

impl SlotClock {
    pub(crate) const fn new(width: u64) -> SlotClock {
        let width = if width == 0 { 1 } else { width };
        SlotClock {
            width,
            reciprocal: if width == 1 { 0 } else { u64::MAX / width },
        }
    }

    #[inline]
    pub(crate) const fn slot(&self, now: u64) -> u64 {
        if self.width == 1 {
            return now;
        }
        let mut q = ((now as u128 * self.reciprocal as u128) >> 64) as u64;
        loop {
            match (q + 1).checked_mul(self.width) {
                Some(next) if next <= now => q += 1,
                _ => return q,
            }
        }
    }
}

/// What every window implementation needs from the breaker.
#[doc(hidden)]
pub struct Ctx<'a> {
    /// Epoch of the permit whose outcome is put.
    pub(crate) epoch: Word,
    /// The state word, to tell "first record of a new episode" from "stale".
    pub(crate) state: &'a AtomicWord,
    /// Time of the outcome (time windows only).
    pub(crate) now: u64,
    pub(crate) slots: SlotClock,
}

impl Ctx<'_> {
    /// Whether the breaker is still in the permit's episode.
    #[inline]
    pub(crate) fn current(&self) -> bool {
        current_epoch(self.state) == self.epoch
    }
}

#[inline]
pub(crate) fn current_epoch(state: &AtomicWord) -> Word {
    // Acquire: pairs with the Release of the transition CAS, so a window word
    // written for the new episode is never mistaken for an older one.
    StateWord::unpack(state.load(Ordering::Acquire)).epoch
}

pub(crate) mod sealed {
    use super::{Ctx, Entry, Put, SlotClock, WindowCounts, WindowKind};
    use crate::sync::{AtomicWord, Word};

    /// The operations a breaker performs on its window.
    pub trait WindowImpl {
        /// Which kind it is (one of three for [`RuntimeWindow`](super::RuntimeWindow)).
        fn kind(&self) -> WindowKind;
        /// Outcomes (count) or buckets (time) it holds.
        fn capacity(&self) -> usize;
        /// Puts one outcome; counts are computed only if `want_counts`.
        fn put(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put;
        /// The counts of the episode `epoch`, without writing anything.
        fn counts(&self, epoch: Word, now: u64, slots: SlotClock) -> WindowCounts;
        /// Upkeep by the thread whose CAS moved the breaker to `epoch`.
        fn after_transition(&self, epoch: Word, state: &AtomicWord, now: u64, slots: SlotClock);
        /// Adaptive throttling: counts one call throttled in `slot` of the
        /// closed episode `epoch`. Only a time window keeps these counts
        /// (throttling needs one; the config check refuses it elsewhere).
        #[cfg(feature = "throttle")]
        #[inline]
        fn throttled_add(&self, epoch: Word, slot: u64) {
            let _ = (epoch, slot);
        }
        /// Adaptive throttling: the calls throttled in the episode `epoch`
        /// over the window's last `min(B, 8)` slots up to `slot`.
        #[cfg(feature = "throttle")]
        #[inline]
        fn throttled_sum(&self, epoch: Word, slot: u64) -> u64 {
            let _ = (epoch, slot);
            0
        }
    }

    /// Windows that exist as constants.
    pub trait ConstEmpty: Sized {
        /// Which kind it is, known without a value.
        const KIND: WindowKind;
        /// Outcomes (count) or buckets (time) it holds.
        const CAPACITY: usize;
        /// An empty window.
        #[cfg(not(fusebox_loom))]
        const EMPTY: Self;
        /// An empty window.
        #[cfg(fusebox_loom)]
        fn empty() -> Self;
    }
}

impl sealed::ConstEmpty for NoWindow {
    const KIND: WindowKind = WindowKind::None;
    const CAPACITY: usize = 0;
    #[cfg(not(fusebox_loom))]
    const EMPTY: Self = NoWindow;
    #[cfg(fusebox_loom)]
    fn empty() -> Self {
        NoWindow
    }
}

impl sealed::WindowImpl for NoWindow {
    #[inline(always)]
    fn kind(&self) -> WindowKind {
        WindowKind::None
    }
    fn capacity(&self) -> usize {
        0
    }
    #[inline]
    fn put(&self, _: &Ctx<'_>, _: Entry, _: bool) -> Put {
        Put::Counted(WindowCounts::default())
    }
    fn counts(&self, _: Word, _: u64, _: SlotClock) -> WindowCounts {
        WindowCounts::default()
    }
    #[inline]
    fn after_transition(&self, _: Word, _: &AtomicWord, _: u64, _: SlotClock) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_clock_divides_exactly_without_dividing() {
        for width in [1u64, 2, 3, 7, 1000, 999_983, 1 << 40, u64::MAX / 3] {
            let s = SlotClock::new(width);
            for now in [
                0u64,
                1,
                width - 1,
                width,
                width + 1,
                12_345_678_901,
                u64::MAX - 1,
                u64::MAX,
            ] {
                assert_eq!(s.slot(now), now / width, "width {width} now {now}");
            }
        }
    }

    #[test]
    fn rates_are_integer_basis_points() {
        let c = WindowCounts {
            calls: 3,
            failures: 1,
            slow: 3,
        };
        assert_eq!(c.failure_rate_bp(), Some(3_333));
        assert_eq!(c.slow_call_rate_bp(), Some(10_000));
        assert_eq!(WindowCounts::default().failure_rate_bp(), None);
    }
}
