//! The time window: the outcomes of the last `window_span`, in `B` buckets,
//! counted in `S` cache-padded stripes.
//!
//! # Layout
//!
//! Each stripe is a row of `B` buckets; each bucket is two words that each
//! carry the time slot they count, so a bucket's stamp and its counts always
//! change together (a reset can never erase an outcome added to the new slot):
//!
//! ```text
//! calls (64-bit): | stamp 24 | calls 40 |         (32-bit: stamp 12 | calls 20)
//! bad   (64-bit): | stamp 24 | failures 20 | slow 20 |  (32-bit: 12 | 10 | 10)
//! episode word:   | tag 16 | slot offset 48 |     (32-bit: tag 8 | offset 24)
//! ```
//!
//! A slot is `window_span / B` ticks (the effective span is `B` whole
//! buckets); its number comes from a reciprocal computed at construction, not
//! a division. Counts saturate at their field's maximum per bucket and stripe.
//!
//! # Protocol
//!
//! - A record adds to its stripe's bucket for the current slot: if the
//!   bucket's stamp is older it starts the bucket afresh (one CAS), if newer,
//!   the outcome has already expired and is dropped.
//! - The newest slot seen is kept in `latest`; the thread that advances it
//!   resets every bucket it crosses (at most `B`, across all stripes), so no
//!   stamp ever ages enough to be mistaken for a current one. Crossing any
//!   amount of idle time costs at most `B` bucket resets.
//! - Episodes: slots are numbered `time slot + offset`, and each episode gets
//!   an offset at least `B` beyond every slot numbered so far, so the
//!   previous episode's buckets all read as expired at once. The offset is
//!   published in the episode word with the episode's tag, by the thread
//!   whose CAS started the episode or by its first record.
//! - Only a failure or slow record sums the window (`B * S` bucket reads):
//!   successes never read it, which is what lets stripes scale.
//!
//! Unlike the count window, a time window may be approximate while threads
//! race: a sum can see one bucket word updated and not the other, and a
//! record that races with a transition may report `Counted` while its
//! outcome lands in the closed episode's (expired) buckets. It never lands in
//! the new episode's window.

use super::sealed::{ConstEmpty, WindowImpl};
use super::{current_epoch, Ctx, Entry, Put, SlotClock, WindowCounts, WindowKind};
use crate::config::ConfigError;
use crate::sync::{atomic_word, AtomicWord, CachePadded, Ordering, Word, WORD_BITS};
use core::ops::Deref;

const STAMP_BITS: u32 = if WORD_BITS == 64 { 24 } else { 12 };
const STAMP_MASK: Word = ((1 as Word) << STAMP_BITS) - 1;
const COUNT_BITS: u32 = WORD_BITS - STAMP_BITS;
const COUNT_MASK: Word = ((1 as Word) << COUNT_BITS) - 1;
const HALF_BITS: u32 = COUNT_BITS / 2;
const HALF_MASK: Word = ((1 as Word) << HALF_BITS) - 1;

const TAG_BITS: u32 = if WORD_BITS == 64 { 16 } else { 8 };
const OFFSET_BITS: u32 = WORD_BITS - TAG_BITS;
const OFFSET_MASK: Word = ((1 as Word) << OFFSET_BITS) - 1;
const TAG_MASK: Word = ((1 as Word) << TAG_BITS) - 1;

/// Largest `B` a time window can have on this target.
pub(crate) const MAX_B: usize = 1 << (STAMP_BITS - 2);

/// One bucket of one stripe: its calls word and its failures/slow word.
/// Storage for a [`DynTimeWindow`] sized at run time (`Box<[BucketCell]>` in std).
pub struct BucketCell {
    calls: AtomicWord,
    bad: AtomicWord,
}

impl BucketCell {
    /// An empty bucket.
    #[cfg(not(fusebox_loom))]
    pub const fn new() -> BucketCell {
        BucketCell {
            calls: atomic_word(0),
            bad: atomic_word(0),
        }
    }
    /// An empty bucket.
    #[cfg(fusebox_loom)]
    pub fn new() -> BucketCell {
        BucketCell {
            calls: atomic_word(0),
            bad: atomic_word(0),
        }
    }
}

impl Default for BucketCell {
    fn default() -> Self {
        Self::new()
    }
}

/// A time window over its bucket storage `G`, the one container behind both
/// [`TimeWindow<B, S>`] (inline rows, [`BucketRows<B, S>`]) and
/// [`DynTimeWindow<S>`] (a slice the caller owns, [`BucketSlice<S>`]), in
/// the manner of heapless's `VecInner`. The protocol (stamped buckets,
/// stripes, limits) is described at the top of its source file,
/// `core/src/window/time.rs`.
pub struct TimeWindowOf<G> {
    episode: AtomicWord,
    latest: AtomicWord,
    grid: G,
}

/// The outcomes of the last `window_span`, in `B` buckets and `S` stripes,
/// kept inline (so that a breaker holding it can live in a `static`).
///
/// `B` must be at least 1 (at most 4 194 304; 1 024 on 32-bit targets) and
/// `S` at least 1, or the breaker fails to compile:
///
/// ```compile_fail,E0080
/// use fusebox_core::{Breaker, Config, TimeWindow, ManualClock};
/// static CLOCK: ManualClock = ManualClock::new();
/// let b: Breaker<&ManualClock, TimeWindow<0>> =
///     Breaker::new(&CLOCK, Config::builder().build().unwrap());
/// ```
pub type TimeWindow<const B: usize, const S: usize = 1> = TimeWindowOf<BucketRows<B, S>>;

/// Where a time window keeps its buckets: [`BucketRows<B, S>`] or
/// [`BucketSlice<S>`]. Sealed.
pub trait BucketStorage: sealed::Sealed {
    #[doc(hidden)]
    fn buckets(&self) -> usize;
    #[doc(hidden)]
    fn stripes(&self) -> usize;
    #[doc(hidden)]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell;
}

/// The inline buckets of a [`TimeWindow<B, S>`]: `S` cache-padded rows of `B`.
pub struct BucketRows<const B: usize, const S: usize>([CachePadded<[BucketCell; B]>; S]);

/// The buckets of a [`DynTimeWindow<S>`]: `stripes` rows of `buckets` cells
/// in a slice, `DynTimeWindow::PAD` cells apart.
pub struct BucketSlice<S> {
    cells: S,
    buckets: usize,
    stripes: usize,
}

mod sealed {
    pub trait Sealed {}
    impl<const B: usize, const S: usize> Sealed for super::BucketRows<B, S> {}
    impl<S> Sealed for super::BucketSlice<S> {}
}

impl<const B: usize, const S: usize> BucketStorage for BucketRows<B, S> {
    #[inline]
    fn buckets(&self) -> usize {
        B
    }
    #[inline]
    fn stripes(&self) -> usize {
        S
    }
    #[inline]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell {
        &self.0[stripe].0[bucket]
    }
}

impl<S: Deref<Target = [BucketCell]>> BucketStorage for BucketSlice<S> {
    #[inline]
    fn buckets(&self) -> usize {
        self.buckets
    }
    #[inline]
    fn stripes(&self) -> usize {
        self.stripes
    }
    #[inline]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell {
        &self.cells[stripe * (self.buckets + ROW_PAD) + bucket]
    }
}

/// Cells between two stripe rows' starts beyond the buckets: 128 bytes.
const ROW_PAD: usize = 128 / core::mem::size_of::<BucketCell>();

/// A time window whose bucket and stripe counts are chosen at run time: the
/// same protocol as [`TimeWindow`], over a slice of [`BucketCell`]s the
/// caller owns. Stripe rows are laid out `DynTimeWindow::PAD` cells apart so
/// that no two stripes share a cache line. Build the breaker with
/// [`Breaker::with_window`](crate::Breaker::with_window).
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{BucketCell, Breaker, Config, DynTimeWindow, ManualClock, NoObserver, Ratio};
/// let cells: Vec<BucketCell> = (0..DynTimeWindow::<&[BucketCell]>::cells_needed(10, 4)).map(|_| BucketCell::new()).collect();
/// let window = DynTimeWindow::new(cells.into_boxed_slice(), 10, 4).unwrap();
/// let config = Config::builder()
///     .failure_rate(Ratio::percent(50))
///     .window_span(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// let b = Breaker::with_window(ManualClock::<1000>::new(), config, window, NoObserver).unwrap();
/// let _ = b.try_acquire().unwrap().success();
/// assert_eq!(b.snapshot().window.calls, 1);
/// ```
pub type DynTimeWindow<S> = TimeWindowOf<BucketSlice<S>>;

impl<S: Deref<Target = [BucketCell]>> DynTimeWindow<S> {
    /// Cells between two stripe rows' starts beyond the buckets: 128 bytes.
    pub const PAD: usize = ROW_PAD;

    /// Cells a window of `buckets` buckets in `stripes` stripes needs.
    pub const fn cells_needed(buckets: usize, stripes: usize) -> usize {
        (buckets + Self::PAD) * stripes
    }

    /// A window over `cells` (exactly [`cells_needed`](Self::cells_needed)
    /// of them) with `buckets` buckets (1 ..= 4 194 304; 1 024 on 32-bit
    /// targets) in `stripes` stripes (at least 1).
    pub fn new(cells: S, buckets: usize, stripes: usize) -> Result<Self, ConfigError> {
        if buckets == 0 || buckets > MAX_B {
            return Err(ConfigError::OutOfRange {
                field: "window.buckets",
                value: buckets as u64,
                min: 1,
                max: MAX_B as u64,
            });
        }
        if stripes == 0 || cells.len() != Self::cells_needed(buckets, stripes) {
            return Err(ConfigError::OutOfRange {
                field: "window cells",
                value: cells.len() as u64,
                min: Self::cells_needed(buckets, stripes.max(1)) as u64,
                max: Self::cells_needed(buckets, stripes.max(1)) as u64,
            });
        }
        Ok(TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            grid: BucketSlice {
                cells,
                buckets,
                stripes,
            },
        })
    }
}

/// Tag 1 while epoch 0 is the initial episode: the first record installs tag 0.
const INITIAL_EPISODE: Word = 1 << OFFSET_BITS;

#[inline]
const fn stamp(slot: Word) -> Word {
    slot & STAMP_MASK
}

/// Whether stamp `a` is newer than stamp `b` (wrap-aware).
#[inline]
const fn newer(a: Word, b: Word) -> bool {
    let d = a.wrapping_sub(b) & STAMP_MASK;
    d != 0 && d < (1 << (STAMP_BITS - 1))
}

/// Whether offset-space slot `a` is after `b` (wrap-aware).
#[inline]
const fn after(a: Word, b: Word) -> bool {
    let d = a.wrapping_sub(b) & OFFSET_MASK;
    d != 0 && d < (1 << (OFFSET_BITS - 1))
}

/// This thread's stripe among `stripes`: a hash of its stack's address,
/// which differs per thread and costs no thread-local lookup (a no_std crate
/// has none).
#[cfg(not(fusebox_loom))]
#[inline]
fn stripe(stripes: usize) -> usize {
    if stripes == 1 {
        return 0;
    }
    let probe = 0u8;
    let addr = core::ptr::addr_of!(probe) as usize;
    let h = ((addr >> 16) as u32).wrapping_mul(0x9E37_79B9);
    ((h as u64 * stripes as u64) >> 32) as usize
}

/// Under loom, thread `i` of the execution takes stripe `i % stripes`: loom
/// replays an execution only if each one makes the same choices, and a stack
/// address differs between executions (and between tests run in parallel).
#[cfg(fusebox_loom)]
fn stripe(stripes: usize) -> usize {
    crate::sync::loom_thread_index() % stripes
}

#[inline]
const fn episode_tag(epoch: Word) -> Word {
    epoch & TAG_MASK
}

/// Adds to one bucket word: `delta` is added to the counts of `slot`.
#[inline]
fn bump(word: &AtomicWord, slot: Word, delta: Word, saturate: fn(Word, Word) -> Word) {
    // Relaxed: the CAS below validates the value.
    let mut w = word.load(Ordering::Relaxed);
    loop {
        let ws = w >> COUNT_BITS;
        let nw = if ws == stamp(slot) {
            (ws << COUNT_BITS) | saturate(w & COUNT_MASK, delta)
        } else if newer(stamp(slot), ws) {
            (stamp(slot) << COUNT_BITS) | saturate(0, delta)
        } else {
            return; // the bucket has moved past our slot: already expired
        };
        // AcqRel: stamp and counts change together for every reader.
        match word.compare_exchange_weak(w, nw, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return,
            Err(x) => w = x,
        }
    }
}

/// Restarts a bucket word at `slot` unless it already counts that slot or
/// a newer one. After a gap long enough for stamps to wrap (`aliased`), a
/// stamp that reads as equal or newer may be ancient, so every bucket is
/// restarted unless it is empty at exactly this slot: an outcome recorded
/// concurrently with the first record after such a gap may be dropped.
fn reset(word: &AtomicWord, slot: Word, aliased: bool) {
    // Relaxed: the CAS below validates the value.
    let mut w = word.load(Ordering::Relaxed);
    loop {
        let ws = w >> COUNT_BITS;
        let keep = if aliased {
            ws == stamp(slot) && w & COUNT_MASK == 0
        } else {
            ws == stamp(slot) || newer(ws, stamp(slot))
        };
        if keep {
            return;
        }
        // AcqRel: as in `bump`.
        match word.compare_exchange_weak(
            w,
            stamp(slot) << COUNT_BITS,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return,
            Err(x) => w = x,
        }
    }
}

#[inline]
fn add_calls(count: Word, delta: Word) -> Word {
    (count + delta).min(COUNT_MASK)
}

#[inline]
fn add_bad(count: Word, delta: Word) -> Word {
    let f = ((count & HALF_MASK) + (delta & HALF_MASK)).min(HALF_MASK);
    let s = ((count >> HALF_BITS) + (delta >> HALF_BITS)).min(HALF_MASK);
    f | (s << HALF_BITS)
}

/// The protocol, once, over any bucket storage.
impl<G: BucketStorage> TimeWindowOf<G> {
    /// Advances `latest` to `slot` and resets the buckets crossed on the way.
    fn advance(&self, slot: Word) {
        let b_count = self.grid.buckets() as Word;
        // Acquire: pairs with the AcqRel below, so the resets we skip were done.
        let mut l = self.latest.load(Ordering::Acquire);
        while after(slot, l) {
            // AcqRel: exactly one thread crosses each slot.
            match self
                .latest
                .compare_exchange_weak(l, slot, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let gap = slot.wrapping_sub(l) & OFFSET_MASK;
                    let aliased = gap >= (1 << (STAMP_BITS - 1)) - b_count;
                    for i in 0..gap.min(b_count) {
                        let s = slot.wrapping_sub(i) & OFFSET_MASK;
                        let b = (s % b_count) as usize;
                        for row in 0..self.grid.stripes() {
                            let c = self.grid.cell(row, b);
                            reset(&c.calls, s, aliased);
                            reset(&c.bad, s, aliased);
                        }
                    }
                    return;
                }
                Err(x) => l = x,
            }
        }
    }

    fn sum(&self, slot: Word) -> WindowCounts {
        let b_count = self.grid.buckets() as Word;
        let (mut calls, mut failures, mut slow) = (0u64, 0u64, 0u64);
        let live = |w: Word| (stamp(slot).wrapping_sub(w >> COUNT_BITS) & STAMP_MASK) < b_count;
        for row in 0..self.grid.stripes() {
            for b in 0..self.grid.buckets() {
                let cell = self.grid.cell(row, b);
                // Acquire: pairs with the AcqRel of `bump`/`reset`.
                let c = cell.calls.load(Ordering::Acquire);
                if live(c) {
                    calls += (c & COUNT_MASK) as u64;
                }
                // Acquire: as above.
                let x = cell.bad.load(Ordering::Acquire);
                if live(x) {
                    failures += (x & HALF_MASK) as u64;
                    slow += ((x >> HALF_BITS) & HALF_MASK) as u64;
                }
            }
        }
        let cap = |v: u64| v.min(u32::MAX as u64) as u32;
        let calls = cap(calls);
        WindowCounts {
            calls,
            failures: cap(failures).min(calls),
            slow: cap(slow).min(calls),
        }
    }

    /// Starts the episode `epoch` in the episode word seen as `e`.
    fn start_episode(
        &self,
        e: Word,
        epoch: Word,
        now: u64,
        slots: SlotClock,
    ) -> Result<Word, Word> {
        let offset = e & OFFSET_MASK;
        let here = (slots.slot(now) as Word).wrapping_add(offset) & OFFSET_MASK;
        // Acquire: every slot numbered so far is at most `latest` (or `here`).
        let l = self.latest.load(Ordering::Acquire);
        let ahead = if after(l, here) {
            l.wrapping_sub(here) & OFFSET_MASK
        } else {
            0
        };
        let fresh = offset
            .wrapping_add(self.grid.buckets() as Word)
            .wrapping_add(ahead)
            & OFFSET_MASK;
        let ne = (episode_tag(epoch) << OFFSET_BITS) | fresh;
        // AcqRel: publishes the offset with its tag (see `put` for the reader side).
        self.episode
            .compare_exchange(e, ne, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ne)
    }

    fn grid_put(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put {
        // The episode word is read before the state word: a writer that sees
        // a new episode's offset also sees the transition that started it
        // (the offset was published after it), so it finds itself stale.
        // Acquire: pairs with the AcqRel of `start_episode`.
        let mut ep = self.episode.load(Ordering::Acquire);
        while (ep >> OFFSET_BITS) != episode_tag(ctx.epoch) {
            if !ctx.current() {
                return Put::Stale;
            }
            match self.start_episode(ep, ctx.epoch, ctx.now, ctx.slots) {
                Ok(n) | Err(n) => ep = n,
            }
        }
        if !ctx.current() {
            return Put::Stale;
        }
        let slot = (ctx.slots.slot(ctx.now) as Word).wrapping_add(ep & OFFSET_MASK) & OFFSET_MASK;
        self.advance(slot);
        let cell = self.grid.cell(
            stripe(self.grid.stripes()),
            (slot % self.grid.buckets() as Word) as usize,
        );
        bump(&cell.calls, slot, 1, add_calls);
        if e.failure || e.slow {
            let delta = (e.failure as Word) | ((e.slow as Word) << HALF_BITS);
            bump(&cell.bad, slot, delta, add_bad);
        }
        Put::Counted(if want_counts {
            self.sum(slot)
        } else {
            WindowCounts::default()
        })
    }

    fn grid_counts(&self, epoch: Word, now: u64, slots: SlotClock) -> WindowCounts {
        // Acquire: as in `put`.
        let ep = self.episode.load(Ordering::Acquire);
        if (ep >> OFFSET_BITS) != episode_tag(epoch) {
            return WindowCounts::default();
        }
        let slot = (slots.slot(now) as Word).wrapping_add(ep & OFFSET_MASK) & OFFSET_MASK;
        self.sum(slot)
    }

    fn grid_after_transition(&self, epoch: Word, state: &AtomicWord, now: u64, slots: SlotClock) {
        // Start the new episode's numbering now, so an idle window's tag never
        // ages into a match with a later epoch; a failed CAS means a record
        // (of this or a newer episode) did it.
        // Acquire: as in `put`.
        let ep = self.episode.load(Ordering::Acquire);
        if (ep >> OFFSET_BITS) != episode_tag(epoch) && current_epoch(state) == epoch {
            let _ = self.start_episode(ep, epoch, now, slots);
        }
    }
}

impl<const B: usize, const S: usize> TimeWindow<B, S> {
    const VALID: () = assert!(
        B >= 1 && B <= MAX_B && S >= 1,
        "TimeWindow<B, S>: B must be between 1 and 4194304 (1024 on 32-bit targets), S at least 1"
    );
}

impl<const B: usize, const S: usize> ConstEmpty for TimeWindow<B, S> {
    const CAPACITY: usize = B;
    #[cfg(not(fusebox_loom))]
    const EMPTY: Self = {
        let () = Self::VALID;
        TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            grid: BucketRows([const { CachePadded([const { BucketCell::new() }; B]) }; S]),
        }
    };

    #[cfg(fusebox_loom)]
    fn empty() -> Self {
        let () = Self::VALID;
        TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            grid: BucketRows(core::array::from_fn(|_| {
                CachePadded(core::array::from_fn(|_| BucketCell::new()))
            })),
        }
    }
}

impl<G: BucketStorage> WindowImpl for TimeWindowOf<G> {
    const KIND: WindowKind = WindowKind::Time;
    fn capacity(&self) -> usize {
        self.grid.buckets()
    }
    #[inline]
    fn put(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put {
        self.grid_put(ctx, e, want_counts)
    }
    fn counts(&self, epoch: Word, now: u64, slots: SlotClock) -> WindowCounts {
        self.grid_counts(epoch, now, slots)
    }
    fn after_transition(&self, epoch: Word, state: &AtomicWord, now: u64, slots: SlotClock) {
        self.grid_after_transition(epoch, state, now, slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateWord;

    fn state_at(epoch: Word) -> AtomicWord {
        atomic_word(
            StateWord {
                epoch,
                ..StateWord::INITIAL
            }
            .pack(),
        )
    }

    const F: Entry = Entry {
        failure: true,
        slow: false,
    };
    const OK: Entry = Entry {
        failure: false,
        slow: false,
    };
    const SLOW: Entry = Entry {
        failure: false,
        slow: true,
    };

    fn put<const B: usize, const S: usize>(
        w: &TimeWindow<B, S>,
        st: &AtomicWord,
        epoch: Word,
        now: u64,
        e: Entry,
    ) -> Put {
        w.put(
            &Ctx {
                epoch,
                state: st,
                now,
                slots: SlotClock::new(10),
            },
            e,
            true,
        )
    }

    fn counted(p: Put) -> WindowCounts {
        match p {
            Put::Counted(c) => c,
            Put::Stale => panic!("stale"),
        }
    }

    #[test]
    fn buckets_expire_one_by_one() {
        // 3 buckets of 10 ticks: the span is 30 ticks.
        let w = TimeWindow::<3>::EMPTY;
        let st = state_at(0);
        put(&w, &st, 0, 0, F);
        put(&w, &st, 0, 10, F);
        assert_eq!(
            counted(put(&w, &st, 0, 20, OK)),
            WindowCounts {
                calls: 3,
                failures: 2,
                slow: 0
            }
        );
        // At t=30 the bucket of t=0 has left the window.
        assert_eq!(
            counted(put(&w, &st, 0, 30, SLOW)),
            WindowCounts {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        assert_eq!(
            w.counts(0, 39, SlotClock::new(10)),
            WindowCounts {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        assert_eq!(
            w.counts(0, 40, SlotClock::new(10)),
            WindowCounts {
                calls: 2,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn idle_time_of_any_length_empties_the_window() {
        let w = TimeWindow::<4>::EMPTY;
        let st = state_at(0);
        put(&w, &st, 0, 5, F);
        // Far enough for every stamp to wrap many times over.
        let far = 10 * (1u64 << STAMP_BITS) * 7 + 5;
        assert_eq!(
            counted(put(&w, &st, 0, far, OK)),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }

    /// After any idle gap, the first record counts and nothing older does,
    /// whatever the old stamps read as once the gap has wrapped them
    /// (equal, older, or newer than the new slot).
    fn record_after_idle_gaps<const B: usize>() {
        let half = 1u64 << (STAMP_BITS - 1);
        let full = 1u64 << STAMP_BITS;
        let b = B as u64;
        let near = |edge: u64| edge.saturating_sub(b + 2).max(1)..=edge + b + 2;
        let gaps = [1, b, b + 1, 3 * full + 1, 10 * full]
            .into_iter()
            .chain(near(half))
            .chain(near(full))
            .chain(near(full + half));
        for gap in gaps {
            let w = TimeWindow::<B>::EMPTY;
            let st = state_at(0);
            // Every bucket holds a failure from the slots before the gap.
            for slot in 0..b {
                put(&w, &st, 0, 10 * (1_000 + slot), F);
            }
            let last = 10 * (1_000 + b - 1);
            let at = last + 10 * gap;
            let counts = counted(put(&w, &st, 0, at, OK));
            let expected_failures = b.saturating_sub(gap) as u32;
            assert_eq!(
                counts,
                WindowCounts {
                    calls: expected_failures + 1,
                    failures: expected_failures,
                    slow: 0
                },
                "B = {B}, gap of {gap} slots"
            );
            // The next record in the same slot counts too.
            assert_eq!(
                counted(put(&w, &st, 0, at + 1, F)).calls,
                expected_failures + 2
            );
        }
    }

    #[test]
    fn a_record_after_an_idle_gap_counts_however_the_old_stamps_wrapped() {
        record_after_idle_gaps::<1>();
        record_after_idle_gaps::<4>();
        record_after_idle_gaps::<16>();
    }

    #[test]
    fn a_window_of_one_bucket_holds_only_the_current_slot() {
        let w = TimeWindow::<1>::EMPTY;
        let st = state_at(0);
        put(&w, &st, 0, 1, F);
        assert_eq!(counted(put(&w, &st, 0, 9, F)).failures, 2);
        assert_eq!(
            counted(put(&w, &st, 0, 10, OK)),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn a_new_episode_starts_empty_even_within_the_same_slot() {
        let w = TimeWindow::<3>::EMPTY;
        let st = state_at(0);
        put(&w, &st, 0, 1, F);
        put(&w, &st, 0, 2, F);
        let st = state_at(3);
        w.after_transition(3, &st, 3, SlotClock::new(10));
        assert_eq!(w.counts(3, 3, SlotClock::new(10)), WindowCounts::default());
        assert_eq!(
            counted(put(&w, &st, 3, 4, OK)),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        // A stale writer of episode 0 is refused.
        assert_eq!(put(&w, &st, 0, 5, F), Put::Stale);
    }

    #[test]
    fn striped_counts_add_up() {
        let w = TimeWindow::<2, 4>::EMPTY;
        let st = state_at(0);
        // The episode starts with this thread's record, in its own stripe.
        put(&w, &st, 0, 0, OK);
        let live: [Word; 4] =
            core::array::from_fn(|r| w.grid.0[r].0[0].calls.load(Ordering::Relaxed) & COUNT_MASK);
        let mine = live
            .iter()
            .position(|&c| c == 1)
            .expect("one stripe holds the record");
        assert_eq!(live.iter().sum::<Word>(), 1);
        let word = w.grid.0[mine].0[0].calls.load(Ordering::Relaxed);
        let slot = word >> COUNT_BITS;
        // Other threads' records in the same slot land in their own stripes:
        // 2 calls in each other row, 1 failure in the last one.
        for row in (0..4).filter(|&r| r != mine) {
            bump(&w.grid.0[row].0[0].calls, slot, 2, add_calls);
        }
        let other = (mine + 1) % 4;
        bump(&w.grid.0[other].0[0].bad, slot, 1, add_bad);
        assert_eq!(
            w.counts(0, 0, SlotClock::new(10)),
            WindowCounts {
                calls: 1 + 3 * 2,
                failures: 1,
                slow: 0
            }
        );
    }
}
