//! Traffic shaping in the closed state: progressive recovery (a ramp of
//! stages after a close) and adaptive throttling, both off by default.
//!
//! The semantics are in `docs/design.md` ("Progressive recovery and adaptive
//! throttling"). This module holds the pure parts, which the reference
//! model and `fusebox simulate` use too:
//!
//! - [`admission_draw_bp`]: the deterministic draw of the `m`-th numbered
//!   attempt of an episode, a function of `(seed, epoch, m)` in the jitter
//!   hash's family (splitmix64's finaliser);
//! - [`ramp_admits`]: whether a ramp stage of a given share admits that
//!   attempt (evenly spread: of any `N` consecutive attempts, at most
//!   `ceil(N · share)` are admitted);
//! - [`throttle_bp`]: the throttling probability over the window's counts;
//!
//! and the two atomics they need: the episode's attempt counter
//! (`Sequence`, in the breaker) and the throttled calls per time slot
//! (`ThrottleRing`, in the time window, the only window that throttles).
//!
//! Each mode is a cargo feature of `fusebox-core`, off by default: `ramp`
//! (with it: [`RampStages`], [`MAX_RAMP_STAGES`], [`ramp_admits`]) and
//! `throttle` (with it: [`throttle_bp`], [`THROTTLE_BUCKETS`]);
//! [`admission_draw_bp`] comes with either. A build without a mode holds
//! none of its settings, state or code (`docs/design.md`, "Breaker size").

#[cfg(feature = "throttle")]
use crate::arith::checked_mul;
use crate::arith::div_rem;
use crate::sync::{atomic_word, AtomicWord, Ordering, Word, WORD_BITS};
#[cfg(feature = "ramp")]
use core::num::NonZeroU8;

#[cfg(feature = "ramp")]
/// The most stages a ramp may have.
pub const MAX_RAMP_STAGES: usize = 8;

#[cfg(feature = "ramp")]
/// The stages of a ramp: the share of calls each admits, in percent.
///
/// ```
/// use fusebox_core::shape::RampStages;
/// assert_eq!(RampStages::DEFAULT.as_slice(), &[10, 25, 50, 100]);
/// assert_eq!(RampStages::new(&[5, 50]).as_slice(), &[5, 50]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RampStages {
    pub(crate) pct: [u8; MAX_RAMP_STAGES],
    /// Stages given; above [`MAX_RAMP_STAGES`] when too many were (the
    /// config check names it).
    len: usize,
}

#[cfg(feature = "ramp")]
impl RampStages {
    /// 10 %, 25 %, 50 %, 100 %.
    pub const DEFAULT: RampStages = RampStages {
        pct: [10, 25, 50, 100, 0, 0, 0, 0],
        len: 4,
    };

    /// The stages in `pct`, in order. More than [`MAX_RAMP_STAGES`] are
    /// kept as a count that [`ConfigBuilder::build`](crate::ConfigBuilder::build)
    /// refuses.
    pub const fn new(pct: &[u8]) -> RampStages {
        let mut s = RampStages {
            pct: [0; MAX_RAMP_STAGES],
            len: pct.len(),
        };
        let mut i = 0;
        while i < pct.len() && i < MAX_RAMP_STAGES {
            s.pct[i] = pct[i];
            i += 1;
        }
        s
    }

    /// The stages, in percent (the first [`MAX_RAMP_STAGES`] if more were given).
    pub fn as_slice(&self) -> &[u8] {
        &self.pct[..self.len.min(MAX_RAMP_STAGES)]
    }

    /// How many stages were given.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether none were.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stage `i`'s share in percent (0 past the end).
    pub const fn get(&self, i: usize) -> u8 {
        if i < self.len && i < MAX_RAMP_STAGES {
            self.pct[i]
        } else {
            0
        }
    }
}

/// The draw of the `m`-th numbered attempt of the closed episode `epoch`,
/// in `0..10_000`: splitmix64's finaliser (the jitter hash's) over
/// `(seed, epoch, m)`. The ramp uses `m = 0` as its offset; the throttle
/// throttles attempt `m` when `admission_draw_bp(seed, epoch, m + 1)` is
/// below its probability.
///
/// ```
/// use fusebox_core::shape::admission_draw_bp;
/// let d = admission_draw_bp(7, 3, 12);
/// assert!(d < 10_000);
/// assert_eq!(d, admission_draw_bp(7, 3, 12)); // a pure function
/// ```
pub const fn admission_draw_bp(seed: u32, epoch: u64, m: u64) -> u32 {
    let mut z = (((seed as u64) << 32) | (epoch & 0xffff_ffff))
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(m.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    div_rem(z, 10_000).1 as u32
}

#[cfg(feature = "ramp")]
/// Whether a ramp stage admitting `share_bp` basis points of the calls
/// admits the `m`-th numbered attempt of the closed episode `epoch`:
/// `floor((x + 1)·s / 10 000) > floor(x·s / 10 000)` with
/// `x = (m + admission_draw_bp(seed, epoch, 0)) mod 10 000`.
///
/// ```
/// use fusebox_core::shape::ramp_admits;
/// let admitted = (0..1_000).filter(|&m| ramp_admits(1, 5, m, 2_500)).count();
/// assert_eq!(admitted, 250); // a quarter, to the call
/// assert!((0..50).all(|m| ramp_admits(1, 5, m, 10_000)));
/// ```
pub const fn ramp_admits(seed: u32, epoch: u64, m: u64, share_bp: u32) -> bool {
    if share_bp >= 10_000 {
        return true;
    }
    let off = admission_draw_bp(seed, epoch, 0) as u64;
    let x = div_rem(div_rem(m, 10_000).1 + off, 10_000).1 as u32;
    // Both products are below 10^8: no overflow in 32 bits.
    (x + 1) * share_bp / 10_000 > x * share_bp / 10_000
}

#[cfg(feature = "throttle")]
/// The throttling probability in basis points over a window holding
/// `requests` attempts and `accepts` successes, with `K = k_bp / 10 000`:
/// `max(0, (requests − K·accepts) / (requests + 1))`, rounded down.
///
/// ```
/// use fusebox_core::shape::throttle_bp;
/// assert_eq!(throttle_bp(100, 100, 20_000), 0); // all accepted
/// assert_eq!(throttle_bp(100, 0, 20_000), 9_900); // 100 / 101
/// assert_eq!(throttle_bp(100, 40, 20_000), 1_980); // (100 - 80) / 101
/// ```
pub const fn throttle_bp(requests: u64, accepts: u64, k_bp: u32) -> u32 {
    let r = match checked_mul(requests, 10_000) {
        Some(r) => r,
        None => return 0,
    };
    let a = match checked_mul(accepts, k_bp) {
        Some(a) => a,
        None => return 0,
    };
    if a >= r {
        return 0;
    }
    // (r - a) / 10 000 / (requests + 1) in basis points:
    // (r - a) / (requests + 1), since r and a are already scaled by 10 000.
    div_rem(r - a, requests + 1).0 as u32
}

#[cfg(feature = "ramp")]
/// A ramp in ticks, converted once at construction: 32 bytes, and no more
/// as an `Option` (the stage count is never 0, which leaves the option its
/// niche).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RampTicks {
    /// `ramp_up`.
    pub(crate) total: u64,
    /// Each stage's length (the last also takes the remainder).
    pub(crate) stage: u64,
    /// Each stage's share, in percent (as configured: 1..=100).
    pct: [u8; MAX_RAMP_STAGES],
    /// Stages (1..=8, checked by the builder).
    n: NonZeroU8,
}

#[cfg(feature = "ramp")]
impl RampTicks {
    pub(crate) const fn new(total: u64, stages: RampStages) -> RampTicks {
        // Checked by the builder: 1..=MAX_RAMP_STAGES stages.
        let n = match NonZeroU8::new(stages.len() as u8) {
            Some(n) => n,
            None => NonZeroU8::MIN,
        };
        RampTicks {
            total,
            stage: div_rem(total, n.get() as u64).0,
            pct: stages.pct,
            n,
        }
    }

    /// With `left` ticks (at most `total`) until the ramp's end: the share
    /// in force, in basis points, and the ticks until the next stage (until
    /// the end in the last one). Stage `i` holds while
    /// `total − (i + 1)·stage < left <= total − i·stage`.
    #[inline]
    pub(crate) const fn stage_at(&self, left: u64) -> (u32, u64) {
        let mut i = 0;
        // The lower bound of stage i, walked down stage by stage: no division.
        let mut bound = self.total;
        while i + 1 < self.n.get() as usize {
            bound -= self.stage;
            if left > bound {
                return (self.pct[i] as u32 * 100, left - bound);
            }
            i += 1;
        }
        (self.pct[i] as u32 * 100, left)
    }
}

/// Bits of the sequence word's epoch tag; the rest counts attempts.
const TAG_BITS: u32 = if WORD_BITS == 64 { 16 } else { 8 };
const COUNT_BITS: u32 = WORD_BITS - TAG_BITS;
const COUNT_MASK: Word = ((1 as Word) << COUNT_BITS) - 1;
const TAG_MASK: Word = ((1 as Word) << TAG_BITS) - 1;

/// The attempt counter of the current closed episode: one word, the low
/// bits of the episode's epoch above the count of attempts numbered so far.
///
/// ```text
/// 64-bit:  | tag (16) | count (48) |     32-bit:  | tag (8) | count (24) |
/// ```
///
/// The first attempt of an episode finds another episode's tag and installs
/// its own with count 1 (it is attempt 0). The count wraps within its bits.
/// An attempt of a long-gone episode whose tag has come round again (2^16 /
/// 2^8 transitions while one call is being admitted) could only renumber
/// attempts: shares and probabilities hold on average, and nothing else
/// depends on the numbering.
pub(crate) struct Sequence {
    word: AtomicWord,
}

impl Sequence {
    #[cfg(not(fusebox_loom))]
    pub(crate) const fn new() -> Sequence {
        Sequence {
            word: atomic_word(0),
        }
    }
    #[cfg(fusebox_loom)]
    pub(crate) fn new() -> Sequence {
        Sequence {
            word: atomic_word(0),
        }
    }

    /// The number of this attempt in the episode `epoch`, from 0. Lock-free:
    /// each retry follows a CAS that another attempt won.
    #[inline]
    pub(crate) fn next(&self, epoch: Word) -> u64 {
        let tag = epoch & TAG_MASK;
        // Relaxed: the number is the only thing read; the CAS below orders
        // the attempts among themselves, and nothing else is published by it.
        let mut seen = self.word.load(Ordering::Relaxed);
        loop {
            let (m, next) = if seen >> COUNT_BITS == tag {
                let m = seen & COUNT_MASK;
                (m, (tag << COUNT_BITS) | ((m + 1) & COUNT_MASK))
            } else {
                (0, (tag << COUNT_BITS) | 1)
            };
            // Relaxed: as the load above; a lost CAS retries on what it saw.
            match self
                .word
                .compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return m as u64,
                Err(x) => seen = x,
            }
        }
    }

    /// The attempts numbered so far in the episode `epoch` (a test's view).
    #[cfg(any(test, fusebox_loom))]
    pub(crate) fn numbered(&self, epoch: Word) -> u64 {
        // Relaxed: a test reads it after joining every thread.
        let w = self.word.load(Ordering::Relaxed);
        if w >> COUNT_BITS == epoch & TAG_MASK {
            (w & COUNT_MASK) as u64
        } else {
            0
        }
    }
}

#[cfg(feature = "throttle")]
/// Time buckets of throttled calls a time window keeps: the throttled calls
/// of the window's last `min(B, 8)` buckets count as requests.
pub const THROTTLE_BUCKETS: usize = 8;

/// Bits of a throttle cell: the closed episode's tag, the slot's stamp, the
/// count of calls throttled in that slot.
#[cfg(feature = "throttle")]
pub(crate) const T_TAG_BITS: u32 = if WORD_BITS == 64 { 8 } else { 4 };
#[cfg(feature = "throttle")]
const T_COUNT_BITS: u32 = if WORD_BITS == 64 { 24 } else { 12 };
#[cfg(feature = "throttle")]
const T_STAMP_BITS: u32 = WORD_BITS - T_TAG_BITS - T_COUNT_BITS;
#[cfg(feature = "throttle")]
const T_COUNT_MAX: Word = ((1 as Word) << T_COUNT_BITS) - 1;
#[cfg(feature = "throttle")]
const T_KEY_MASK: Word = ((1 as Word) << (T_TAG_BITS + T_STAMP_BITS)) - 1;

#[cfg(feature = "throttle")]
/// Calls throttled per time-window slot, in [`THROTTLE_BUCKETS`] cells
/// indexed by the slot modulo 8. Each cell is one word, so its key and its
/// count change together:
///
/// ```text
/// 64-bit:  | tag (8) | slot stamp (32) | count (24) |
/// 32-bit:  | tag (4) | slot stamp (16) | count (12) |
/// ```
///
/// A cell whose key is not `(episode tag, slot)` reads as empty; the first
/// throttled call of a slot installs its key with count 1. Counts saturate.
/// Tags and stamps are the low bits of the epoch and the slot. The time
/// window empties the cells of other episodes when it starts an episode
/// ([`forget_other_episodes`](Self::forget_other_episodes)), so a cell of an
/// episode 2^8 (2^4) epochs before reads as current only if its call was
/// counted after that, by a thread preempted across those epochs; a cell
/// of the same episode 2^32 (2^16) slots before could read as current.
/// Either only makes throttling a little more eager.
pub(crate) struct ThrottleRing {
    cells: [AtomicWord; THROTTLE_BUCKETS],
}

#[cfg(feature = "throttle")]
impl ThrottleRing {
    #[cfg(not(fusebox_loom))]
    pub(crate) const fn new() -> ThrottleRing {
        ThrottleRing {
            cells: [const { atomic_word(0) }; THROTTLE_BUCKETS],
        }
    }
    #[cfg(fusebox_loom)]
    pub(crate) fn new() -> ThrottleRing {
        ThrottleRing {
            cells: core::array::from_fn(|_| atomic_word(0)),
        }
    }

    #[inline]
    const fn key(epoch: Word, slot: u64) -> Word {
        let tag = epoch & (((1 as Word) << T_TAG_BITS) - 1);
        let stamp = (slot as Word) & (((1 as Word) << T_STAMP_BITS) - 1);
        (tag << T_STAMP_BITS) | stamp
    }

    /// Counts one call throttled in `slot` of the closed episode `epoch`.
    /// Lock-free: each retry follows a CAS that another call won.
    pub(crate) fn add(&self, epoch: Word, slot: u64) {
        let key = Self::key(epoch, slot);
        let cell = &self.cells[(slot as usize) & (THROTTLE_BUCKETS - 1)];
        // Relaxed: a count read by the next admissions' sums; nothing else
        // is published through it, and the CAS below serialises the adds.
        let mut seen = cell.load(Ordering::Relaxed);
        loop {
            let next = if (seen >> T_COUNT_BITS) & T_KEY_MASK == key {
                let n = seen & T_COUNT_MAX;
                if n == T_COUNT_MAX {
                    return;
                }
                seen + 1
            } else {
                (key << T_COUNT_BITS) | 1
            };
            // Relaxed: as the load; a lost CAS retries on what it saw.
            match cell.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(x) => seen = x,
            }
        }
    }

    /// Empties every cell that another episode's calls filled, when the
    /// time window starts the episode `epoch`: a cell's tag has only
    /// [`T_TAG_BITS`] bits, and a cell left from a closed episode a whole
    /// tag range before would otherwise read as this one's. Each cell is
    /// replaced only if it still holds the other episode's word, so a call
    /// of `epoch` counted meanwhile is kept.
    pub(crate) fn forget_other_episodes(&self, epoch: Word) {
        let tag = epoch & (((1 as Word) << T_TAG_BITS) - 1);
        for cell in &self.cells {
            // Relaxed: see `add`; the CAS below decides.
            let w = cell.load(Ordering::Relaxed);
            if w != 0 && (w >> (T_COUNT_BITS + T_STAMP_BITS)) != tag {
                // Relaxed: as in `add`; a lost CAS means an `add` of some
                // episode replaced the word, which the next start reconsiders.
                let _ = cell.compare_exchange(w, 0, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
    }

    /// Calls throttled in the episode `epoch` over the `buckets` slots up to
    /// `slot` (at most [`THROTTLE_BUCKETS`] of them).
    pub(crate) fn sum(&self, epoch: Word, slot: u64, buckets: usize) -> u64 {
        let n = if buckets < THROTTLE_BUCKETS {
            buckets
        } else {
            THROTTLE_BUCKETS
        };
        let mut total = 0;
        let mut j = 0;
        while j < n {
            let s = slot.wrapping_sub(j as u64);
            // Relaxed: see `add`.
            let w = self.cells[(s as usize) & (THROTTLE_BUCKETS - 1)].load(Ordering::Relaxed);
            if (w >> T_COUNT_BITS) & T_KEY_MASK == Self::key(epoch, s) {
                total += (w & T_COUNT_MAX) as u64;
            }
            j += 1;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "ramp")]
    fn a_stage_admits_its_share_to_the_call_in_any_run_of_attempts() {
        for share in [1u32, 1_000, 2_500, 5_000, 9_999] {
            for start in [0u64, 17, 9_990] {
                for n in [1u64, 10, 100, 1_000] {
                    let got = (start..start + n)
                        .filter(|&m| ramp_admits(3, 9, m, share))
                        .count() as u64;
                    let floor = n * share as u64 / 10_000;
                    assert!(
                        got == floor || got == floor + 1,
                        "share {share} from {start}, {n} attempts: {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_offset_differs_by_epoch_and_seed() {
        let first = admission_draw_bp(1, 0, 0);
        assert!((1..20).any(|e| admission_draw_bp(1, e, 0) != first));
        assert_ne!(admission_draw_bp(1, 4, 0), admission_draw_bp(2, 4, 0));
    }

    #[test]
    #[cfg(feature = "ramp")]
    fn stages_follow_the_time_left() {
        let r = RampTicks::new(1_000, RampStages::DEFAULT);
        assert_eq!(r.stage, 250);
        assert_eq!(r.stage_at(1_000), (1_000, 250));
        assert_eq!(r.stage_at(751), (1_000, 1));
        assert_eq!(r.stage_at(750), (2_500, 250));
        assert_eq!(r.stage_at(501), (2_500, 1));
        assert_eq!(r.stage_at(500), (5_000, 250));
        assert_eq!(r.stage_at(250), (10_000, 250));
        assert_eq!(r.stage_at(1), (10_000, 1));
        // The last stage takes the remainder.
        let r = RampTicks::new(10, RampStages::new(&[20, 40, 60]));
        assert_eq!(r.stage_at(10), (2_000, 3));
        assert_eq!(r.stage_at(4), (6_000, 4));
    }

    #[test]
    #[cfg(feature = "throttle")]
    fn throttling_follows_the_formula() {
        assert_eq!(throttle_bp(0, 0, 10_000), 0);
        assert_eq!(throttle_bp(10, 0, 10_000), 10 * 10_000 / 11);
        assert_eq!(throttle_bp(10, 5, 15_000), (10 * 10_000 - 75_000) / 11);
        assert_eq!(throttle_bp(10, 7, 15_000), 0);
        assert_eq!(throttle_bp(u64::MAX, 0, 10_000), 0);
    }

    #[test]
    #[cfg(feature = "throttle")]
    fn throttled_calls_count_per_slot_and_episode_over_the_window() {
        let r = ThrottleRing::new();
        r.add(5, 100);
        r.add(5, 100);
        r.add(5, 101);
        r.add(4, 102); // another episode
        assert_eq!(r.sum(5, 101, 4), 3);
        assert_eq!(r.sum(5, 101, 1), 1);
        assert_eq!(r.sum(5, 102, 2), 1, "slot 100 left the window");
        assert_eq!(r.sum(6, 101, 4), 0);
        r.add(5, 108); // slot 100's cell, reused
        assert_eq!(r.sum(5, 108, 8), 2);
    }

    #[test]
    fn the_sequence_numbers_each_episode_from_zero() {
        let s = Sequence::new();
        assert_eq!((s.next(4), s.next(4), s.next(4)), (0, 1, 2));
        assert_eq!(s.numbered(4), 3);
        assert_eq!((s.next(6), s.next(6)), (0, 1));
        assert_eq!(s.numbered(4), 0);
    }
}
