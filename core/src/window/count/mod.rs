//! The count window: the last `N` outcomes, exactly.
//!
//! # Layout
//!
//! A ring of `N` cells (`AtomicU32`) and one aggregate word:
//!
//! ```text
//! cell:        31                         3   2      1       0
//!             +----------------------------+------+-------+-------+
//!             |       episode tag (29)     | slow | fail  | valid |
//!             +----------------------------+------+-------+-------+
//!
//! aggregate (64-bit): | tag 16 | slow 16 | failures 16 | calls 16 |
//! aggregate (32-bit): | tag 8  | slow 8  | failures 8  | calls 8  |
//! ```
//!
//! # Protocol
//!
//! A record takes a ticket (`fetch_add`, which only picks the ring slot),
//! swaps its cell into the slot, and installs "plus mine, minus the evicted
//! cell" into the aggregate with one CAS that also checks the episode tag.
//! That CAS decides whether the outcome counted or was stale, and the rules
//! judge the counts it installed. The ticket is the one read-modify-write
//! every record pays: "the last N" needs one global order.
//!
//! The steady state writes less. When the slot already holds an outcome of
//! the same episode and the same kind (a success evicting a success, the
//! common case of a healthy dependency), replacing it changes neither the
//! ring nor the aggregate: the record loads the cell, sees its own word, and
//! writes nothing; the episode check (a load of the state word) decides
//! whether it counted. A cell that differs is swapped; a swap that returns
//! an equal word skips the aggregate the same way. So a run of successes
//! costs one `fetch_add` and two loads per record, and two threads share
//! only the ticket's line.
//!
//! - A cell or aggregate with another episode's tag reads as empty, so a new
//!   episode starts with an empty window at no cost. The first record of an
//!   episode (or the thread whose CAS started it) installs the new tag.
//! - A thread can be preempted between its swap and its CAS, so the evictor
//!   may subtract an outcome before it was added: fields are updated with
//!   per-field wrapping arithmetic (never borrowing from a neighbour) and
//!   readers clamp a transiently "negative" field to 0 and any field to `N`.
//!   At rest, the aggregate equals the sum of the cells of the episode.
//! - A stale writer (its episode ended between its epoch check and its CAS)
//!   puts the cell it evicted back; if someone has replaced its cell since,
//!   it takes the evicted outcome out of that outcome's aggregate instead.
//!   Either way the aggregate keeps matching the ring.
//! - Every transition sweeps one cell (index `epoch % N`) of older episodes,
//!   and re-tags the aggregate, so no cell or aggregate keeps a tag long
//!   enough for the epoch to wrap onto it.
//!
//! Limits: `N` is at most 32 767 on 64-bit targets and 127 on 32-bit ones
//! (a field needs a spare bit for the transient negatives). A stale writer
//! could be mistaken for a current one only if it stalls inside `record`
//! while 2^16 (2^8) transitions happen.

mod storage;

pub use storage::{DynCountWindow, RingArray, RingCell, RingStorage};

use super::sealed::{ConstEmpty, WindowImpl};
use super::{current_epoch, Ctx, Entry, Put, SlotClock, WindowCounts, WindowKind};
use crate::sync::{atomic_word, AtomicWord, Ordering, Word, WORD_BITS};

const FIELD_BITS: u32 = WORD_BITS / 4;
const FIELD_MASK: Word = ((1 as Word) << FIELD_BITS) - 1;
/// Values at or above this are transient negatives.
const NEGATIVE: Word = 1 << (FIELD_BITS - 1);
const CALLS: u32 = 0;
const FAILS: u32 = FIELD_BITS;
const SLOW: u32 = 2 * FIELD_BITS;
const TAG: u32 = 3 * FIELD_BITS;

const VALID: u32 = 1;
const FAIL_BIT: u32 = 2;
const SLOW_BIT: u32 = 4;
const CELL_TAG_SHIFT: u32 = 3;
const CELL_TAG_MASK: u32 = (1 << 29) - 1;

/// Largest `N` a count window can have on this target.
pub(crate) const MAX_N: usize = (NEGATIVE - 1) as usize;

/// A count window over its storage `S`, the one container behind both
/// [`CountWindow<N>`] (an inline array, [`RingArray<N>`]) and
/// [`DynCountWindow<S>`] (a slice the caller owns), in the manner of
/// heapless's `VecInner`. The protocol (a ticket per record, a cell swap and
/// an aggregate CAS only when the evicted outcome differs, stale writers,
/// limits) is described at the top of its source file,
/// `core/src/window/count/mod.rs`.
pub struct CountWindowOf<S> {
    ticket: AtomicWord,
    aggregate: AtomicWord,
    cells: S,
}

/// The last `N` recorded outcomes, in a ring kept inline (so that a breaker
/// holding it can live in a `static`).
///
/// An `N` of 0, or above the target's limit, fails to compile:
///
/// ```compile_fail,E0080
/// use fusebox_core::{Breaker, Config, CountWindow, ManualClock};
/// static CLOCK: ManualClock = ManualClock::new();
/// let b: Breaker<&ManualClock, CountWindow<0>> =
///     Breaker::new(&CLOCK, Config::builder().build().unwrap());
/// ```
pub type CountWindow<const N: usize> = CountWindowOf<RingArray<N>>;

/// Tag 1 while epoch 0 is the initial episode: the first record installs tag 0.
const INITIAL_AGGREGATE: Word = 1 << TAG;

impl<const N: usize> CountWindow<N> {
    const VALID_N: () = assert!(
        N >= 1 && N <= MAX_N,
        "CountWindow<N>: N must be between 1 and 32767 (127 on 32-bit targets)"
    );
}

#[inline]
const fn agg_tag(epoch: Word) -> Word {
    epoch & FIELD_MASK
}

#[inline]
const fn cell_tag(epoch: Word) -> u32 {
    (epoch as u32) & CELL_TAG_MASK
}

#[inline]
const fn cell(epoch: Word, e: Entry) -> u32 {
    (cell_tag(epoch) << CELL_TAG_SHIFT)
        | VALID
        | if e.failure { FAIL_BIT } else { 0 }
        | if e.slow { SLOW_BIT } else { 0 }
}

#[inline]
const fn cell_entry(c: u32) -> Option<(u32, Entry)> {
    if c & VALID == 0 {
        None
    } else {
        Some((
            c >> CELL_TAG_SHIFT,
            Entry {
                failure: c & FAIL_BIT != 0,
                slow: c & SLOW_BIT != 0,
            },
        ))
    }
}

/// `a` with `e` added (or subtracted) field by field, each field wrapping on its own.
#[inline]
fn apply(a: Word, e: Entry, add: bool) -> Word {
    let field = |a: Word, shift: u32, on: bool| -> Word {
        let v = (a >> shift) & FIELD_MASK;
        let v = if !on {
            v
        } else if add {
            v.wrapping_add(1) & FIELD_MASK
        } else {
            v.wrapping_sub(1) & FIELD_MASK
        };
        v << shift
    };
    (a & (FIELD_MASK << TAG))
        | field(a, CALLS, true)
        | field(a, FAILS, e.failure)
        | field(a, SLOW, e.slow)
}

/// A field as a count in `0..=n`: transient negatives read as 0.
#[inline]
const fn clamp(v: Word, n: usize) -> u32 {
    if v >= NEGATIVE {
        0
    } else if v as usize > n {
        n as u32
    } else {
        v as u32
    }
}

#[inline]
const fn decode(a: Word, n: usize) -> WindowCounts {
    let calls = clamp((a >> CALLS) & FIELD_MASK, n);
    let failures = clamp((a >> FAILS) & FIELD_MASK, n);
    let slow = clamp((a >> SLOW) & FIELD_MASK, n);
    WindowCounts {
        calls,
        failures: if failures > calls { calls } else { failures },
        slow: if slow > calls { calls } else { slow },
    }
}

/// The protocol, once, over any storage.
impl<S: RingStorage> CountWindowOf<S> {
    /// Takes an evicted `entry` of episode tag `tag` out of the aggregate, if
    /// the aggregate still belongs to that episode.
    #[inline]
    fn remove(&self, tag: u32, entry: Entry) {
        // Acquire: see the aggregate as of the latest install (pairs with AcqRel below).
        let mut a = self.aggregate.load(Ordering::Acquire);
        while (a >> TAG) == (tag as Word & FIELD_MASK) {
            let na = apply(a, entry, false);
            // AcqRel: an install is a read-modify-write that other installs build on.
            match self
                .aggregate
                .compare_exchange_weak(a, na, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(x) => a = x,
            }
        }
    }

    #[inline]
    fn put_entry(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put {
        let n = self.cells.cells().len();
        // A permit of an ended episode must not spend a ticket: the skipped
        // slot would make the next record evict a current outcome early.
        // (A record that races with the transition past this check can still
        // skip one slot; it never adds to or subtracts from the new episode.)
        if !ctx.current() {
            return Put::Stale;
        }
        // Relaxed: the ticket only spreads writers over the ring; the cell
        // swap and the aggregate CAS carry the ordering.
        let t = self.ticket.fetch_add(1, Ordering::Relaxed);
        let slot = &self.cells.cells()[(t as usize) % n].0;
        let mine = cell(ctx.epoch, e);
        // The steady state: the slot already holds an outcome of this episode
        // of the same kind (a success evicting a success). Replacing it by an
        // equal word changes neither the ring nor the aggregate, so nothing
        // is written: the load stands for a swap that returned `mine`, placed
        // where the load reads in the cell's modification order (as if this
        // record had swapped just before the one it did not see, which the
        // protocol already allows for a writer preempted after its ticket).
        // Acquire: pairs with the AcqRel swap that wrote the word we see.
        let seen = slot.load(Ordering::Acquire);
        let old = if seen == mine {
            seen
        } else {
            // AcqRel: acquire the evicted cell's writer's view (its epoch
            // check), release ours to whoever evicts us.
            slot.swap(mine, Ordering::AcqRel)
        };
        if old == mine {
            // Same episode, same kind: the aggregate stays as it is. The
            // outcome counted if the episode is still current; if not, the
            // old episode's cell holds what it held, and nothing is undone.
            if !ctx.current() {
                return Put::Stale;
            }
            return Put::Counted(if want_counts {
                self.episode_counts(ctx.epoch)
            } else {
                WindowCounts::default()
            });
        }
        let evicted = match cell_entry(old) {
            Some((tag, entry)) if tag == cell_tag(ctx.epoch) => Some(entry),
            _ => None,
        };
        // Acquire: pairs with the AcqRel installs, so we build on the latest.
        let mut a = self.aggregate.load(Ordering::Acquire);
        loop {
            let base = if (a >> TAG) == agg_tag(ctx.epoch) {
                a
            } else if ctx.current() {
                // First outcome of this episode: the older aggregate reads as empty.
                agg_tag(ctx.epoch) << TAG
            } else {
                break;
            };
            let mut na = apply(base, e, true);
            if let Some(ev) = evicted {
                na = apply(na, ev, false);
            }
            // AcqRel: this CAS is where the outcome counts; the rules judge `na`.
            match self
                .aggregate
                .compare_exchange_weak(a, na, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Put::Counted(decode(na, n)),
                Err(x) => a = x,
            }
        }
        // Stale: undo our swap, or, if our cell is already gone, take what we
        // evicted out of its own episode's aggregate.
        // AcqRel/Relaxed: as for the swap; on failure we only learn we lost.
        if slot
            .compare_exchange(mine, old, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            if let Some((tag, entry)) = cell_entry(old) {
                self.remove(tag, entry);
            }
        }
        Put::Stale
    }

    #[inline]
    fn episode_counts(&self, epoch: Word) -> WindowCounts {
        // Acquire: a snapshot sees the last install whole.
        let a = self.aggregate.load(Ordering::Acquire);
        if (a >> TAG) == agg_tag(epoch) {
            decode(a, self.cells.cells().len())
        } else {
            WindowCounts::default()
        }
    }

    #[inline]
    fn retag_and_sweep(&self, epoch: Word, state: &AtomicWord) {
        // Re-tag the aggregate so an idle window's tag never ages into a
        // match with a later epoch. The full-word CAS fails if anything
        // (a record of a yet newer episode) changed it since we looked.
        // Acquire: the value must be compared whole and fresh.
        let a = self.aggregate.load(Ordering::Acquire);
        if (a >> TAG) != agg_tag(epoch) && current_epoch(state) == epoch {
            // AcqRel/Relaxed: an install like any other; losing is fine.
            let _ = self.aggregate.compare_exchange(
                a,
                agg_tag(epoch) << TAG,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        // Sweep one cell of an older episode, so that every cell is visited
        // every N transitions.
        let cells = self.cells.cells();
        let slot = &cells[(epoch as usize) % cells.len()].0;
        // Acquire: if the cell was written in a newer episode, the state load
        // below sees that episode's transition and we leave the cell alone.
        let c = slot.load(Ordering::Acquire);
        if let Some((tag, _)) = cell_entry(c) {
            if tag != cell_tag(epoch) && current_epoch(state) == epoch {
                // AcqRel/Relaxed: a record swapping the cell since makes this fail.
                let _ = slot.compare_exchange(c, 0, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
    }
}

impl<const N: usize> ConstEmpty for CountWindow<N> {
    const KIND: WindowKind = WindowKind::Count;
    const CAPACITY: usize = N;
    #[cfg(not(fusebox_loom))]
    const EMPTY: Self = {
        let () = Self::VALID_N;
        CountWindowOf {
            ticket: atomic_word(0),
            aggregate: atomic_word(INITIAL_AGGREGATE),
            cells: RingArray([const { RingCell::new() }; N]),
        }
    };

    #[cfg(fusebox_loom)]
    fn empty() -> Self {
        let () = Self::VALID_N;
        CountWindowOf {
            ticket: atomic_word(0),
            aggregate: atomic_word(INITIAL_AGGREGATE),
            cells: RingArray(core::array::from_fn(|_| RingCell::new())),
        }
    }
}

impl<S: RingStorage> WindowImpl for CountWindowOf<S> {
    #[inline(always)]
    fn kind(&self) -> WindowKind {
        WindowKind::Count
    }
    fn capacity(&self) -> usize {
        self.cells.cells().len()
    }
    #[inline]
    fn put(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put {
        self.put_entry(ctx, e, want_counts)
    }
    fn counts(&self, epoch: Word, _now: u64, _slots: SlotClock) -> WindowCounts {
        self.episode_counts(epoch)
    }
    fn after_transition(&self, epoch: Word, state: &AtomicWord, _now: u64, _slots: SlotClock) {
        self.retag_and_sweep(epoch, state)
    }
}

#[cfg(test)]
mod tests;
