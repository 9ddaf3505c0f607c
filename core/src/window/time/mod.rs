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
//! - Only a failure or slow record sums the window: successes never read
//!   it, which is what lets stripes scale. A failure does not sweep all
//!   `B * S` buckets: the buckets before the current slot change only by
//!   the rare late record, so their sum is published once per slot (the
//!   first failure of a slot computes it and publishes it, flagged by
//!   `summary_at`), and later failures in that slot read the three summary
//!   words plus the current slot's column (`2 * S` words). A failure that
//!   finds the summary being published computes its own. The summary is
//!   exact at the moment it is computed; an outcome added afterwards to an
//!   older bucket (a record whose clock reading precedes the slot change)
//!   is missed by the judgments of that slot and counted again from the
//!   next slot on. Snapshots ([`counts`](super::sealed::WindowImpl::counts))
//!   always sum every bucket.
//!
//! Unlike the count window, a time window may be approximate while threads
//! race: a sum can see one bucket word updated and not the other, and a
//! record that races with a transition may report `Counted` while its
//! outcome lands in the closed episode's (expired) buckets. It never lands in
//! the new episode's window.

mod storage;

pub use storage::{BucketCell, BucketRows, BucketSlice, BucketStorage, DynTimeWindow};

use super::sealed::{ConstEmpty, WindowImpl};
use super::{current_epoch, Ctx, Entry, Put, SlotClock, WindowCounts, WindowKind};
#[cfg(feature = "throttle")]
use crate::shape::ThrottleRing;
use crate::sync::{atomic_word, AtomicWord, CachePadded, Ordering, Word, WORD_BITS};

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

/// A time window over its bucket storage `G`, the one container behind both
/// [`TimeWindow<B, S>`] (inline rows, [`BucketRows<B, S>`]) and
/// [`DynTimeWindow<S>`] (a slice the caller owns, [`BucketSlice<S>`]), in
/// the manner of heapless's `VecInner`. The protocol (stamped buckets,
/// stripes, limits) is described at the top of its source file,
/// `core/src/window/time/mod.rs`.
pub struct TimeWindowOf<G> {
    episode: AtomicWord,
    latest: AtomicWord,
    /// The slot whose older buckets `older` sums, [`BUSY`] while one thread
    /// publishes, [`NO_SUMMARY`] when there is none.
    summary_at: AtomicWord,
    /// Calls, failures and slow calls of the live buckets before the slot
    /// `summary_at`, over all stripes.
    older: [AtomicWord; 3],
    /// Adaptive throttling's calls throttled per slot (feature `throttle`).
    /// In the words before the cache-padded grid, which round the header to
    /// 128 bytes anyway: a time window holds them at no cost in size, and
    /// only a time window can throttle. They are written only by throttled
    /// calls, while the dependency is failing.
    #[cfg(feature = "throttle")]
    pub(crate) throttled: ThrottleRing,
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

/// Tag 1 while epoch 0 is the initial episode: the first record installs tag 0.
const INITIAL_EPISODE: Word = 1 << OFFSET_BITS;

/// `summary_at` while a thread publishes a summary (above every slot).
const BUSY: Word = 1 << (WORD_BITS - 1);
/// `summary_at` when no summary is published (above every slot).
const NO_SUMMARY: Word = 1 << (WORD_BITS - 2);

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

/// Window counts from the older buckets' and the current column's sums.
#[inline]
fn counts_of(older: [u64; 3], column: [u64; 3]) -> WindowCounts {
    let cap = |v: u64| v.min(u32::MAX as u64) as u32;
    let calls = cap(older[0] + column[0]);
    WindowCounts {
        calls,
        failures: cap(older[1] + column[1]).min(calls),
        slow: cap(older[2] + column[2]).min(calls),
    }
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
                    if gap >= b_count {
                        // Nothing older is live any more: drop the summary,
                        // so a slot number that came round again after a
                        // long idle time never reads an ancient one.
                        // Acquire: a publisher's claim is a flag like any other.
                        let at = self.summary_at.load(Ordering::Acquire);
                        if at & BUSY == 0 {
                            // AcqRel/Relaxed: losing to a publisher is fine
                            // (it publishes a slot of its own, checked by readers).
                            let _ = self.summary_at.compare_exchange(
                                at,
                                NO_SUMMARY,
                                Ordering::AcqRel,
                                Ordering::Relaxed,
                            );
                        }
                    }
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

    /// Calls, failures and slow calls of the live buckets, over all
    /// stripes: those of `slot` itself if `current`, the older ones if not.
    fn sum_part(&self, slot: Word, current: bool) -> [u64; 3] {
        let b_count = self.grid.buckets() as Word;
        let mut t = [0u64; 3];
        let live = |w: Word| {
            let age = stamp(slot).wrapping_sub(w >> COUNT_BITS) & STAMP_MASK;
            if current {
                age == 0
            } else {
                age != 0 && age < b_count
            }
        };
        let buckets = if current {
            let b = (slot % b_count) as usize;
            b..b + 1
        } else {
            0..self.grid.buckets()
        };
        for row in 0..self.grid.stripes() {
            for b in buckets.clone() {
                let cell = self.grid.cell(row, b);
                // Acquire: pairs with the AcqRel of `bump`/`reset`.
                let c = cell.calls.load(Ordering::Acquire);
                if live(c) {
                    t[0] += (c & COUNT_MASK) as u64;
                }
                // Acquire: as above.
                let x = cell.bad.load(Ordering::Acquire);
                if live(x) {
                    t[1] += (x & HALF_MASK) as u64;
                    t[2] += ((x >> HALF_BITS) & HALF_MASK) as u64;
                }
            }
        }
        t
    }

    /// Every live bucket of `slot`'s window: what a snapshot reports.
    fn sum(&self, slot: Word) -> WindowCounts {
        let older = self.sum_part(slot, false);
        let column = self.sum_part(slot, true);
        counts_of(older, column)
    }

    /// The counts a failure or slow record is judged on: the published
    /// summary of the older buckets (computed and published by the first
    /// judgment of the slot) plus the current slot's column.
    fn judged(&self, slot: Word) -> WindowCounts {
        let column = self.sum_part(slot, true);
        if self.grid.buckets() == 1 {
            return counts_of([0; 3], column);
        }
        // Acquire: pairs with the Release publication below, so the summary
        // words read next are at least those published with `slot`.
        let at = self.summary_at.load(Ordering::Acquire);
        if at == slot {
            // Acquire: keeps the second load of `summary_at` after these; a
            // value from a later publisher makes it read `BUSY` or later.
            let older = [0, 1, 2].map(|i| self.older[i].load(Ordering::Acquire) as u64);
            // Acquire: as above.
            if self.summary_at.load(Ordering::Acquire) == slot {
                return counts_of(older, column);
            }
        }
        let older = self.sum_part(slot, false);
        // One publisher at a time: claim the flag from the value seen. A
        // failed claim (someone else publishes, or published since) keeps
        // its own sum.
        // Acquire: the summary stores below stay after the claim.
        if at & BUSY == 0
            && self
                .summary_at
                .compare_exchange(at, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            let cap = |v: u64| v.min(Word::MAX as u64) as Word;
            for (word, v) in self.older.iter().zip(older) {
                // Release: a reader that sees this value also sees the claim.
                word.store(cap(v), Ordering::Release);
            }
            // Release: publishes the words above with their slot.
            self.summary_at.store(slot, Ordering::Release);
        }
        counts_of(older, column)
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
        let started = self
            .episode
            .compare_exchange(e, ne, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ne);
        #[cfg(feature = "throttle")]
        if started.is_ok() {
            self.throttled.forget_other_episodes(epoch);
        }
        started
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
            self.judged(slot)
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
    const KIND: WindowKind = WindowKind::Time;
    const CAPACITY: usize = B;
    #[cfg(not(fusebox_loom))]
    const EMPTY: Self = {
        let () = Self::VALID;
        TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            summary_at: atomic_word(NO_SUMMARY),
            older: [atomic_word(0), atomic_word(0), atomic_word(0)],
            #[cfg(feature = "throttle")]
            throttled: ThrottleRing::new(),
            grid: BucketRows([const { CachePadded([const { BucketCell::new() }; B]) }; S]),
        }
    };

    #[cfg(fusebox_loom)]
    fn empty() -> Self {
        let () = Self::VALID;
        TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            summary_at: atomic_word(NO_SUMMARY),
            older: [atomic_word(0), atomic_word(0), atomic_word(0)],
            #[cfg(feature = "throttle")]
            throttled: ThrottleRing::new(),
            grid: BucketRows(core::array::from_fn(|_| {
                CachePadded(core::array::from_fn(|_| BucketCell::new()))
            })),
        }
    }
}

impl<G: BucketStorage> WindowImpl for TimeWindowOf<G> {
    #[inline(always)]
    fn kind(&self) -> WindowKind {
        WindowKind::Time
    }
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
    #[cfg(feature = "throttle")]
    fn throttled_add(&self, epoch: Word, slot: u64) {
        self.throttled.add(epoch, slot)
    }
    #[cfg(feature = "throttle")]
    fn throttled_sum(&self, epoch: Word, slot: u64) -> u64 {
        self.throttled.sum(epoch, slot, self.grid.buckets())
    }
}

#[cfg(test)]
mod tests;
