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
//! A word whose deadline field is 0 carries no deadline: it is the word of an
//! episode without one (`Closed`, the operator modes, a half-open episode
//! without `max_half_open_wait`), or the placeholder of a timed episode whose
//! deadline is not published yet. [`TimerUnits::encode`] never yields 0 (a
//! deadline that would round to 0 goes one unit later).
//!
//! # Why a reader never acts on another episode's deadline
//!
//! The state and the deadline live in different words. A reader acts on a
//! deadline only when it reads the state word in episode `E` and then a timer
//! word that carries a deadline and `E`'s tag; acting is a compare-and-swap
//! on the state word with the full epoch, so a deadline from a later episode
//! can at most make that CAS fail. The danger is an *earlier* episode `j`
//! with the same tag (`E - j` a multiple of `2^T`, `T` = 16 / 8 bits), and
//! the publication protocol ([`Timer::publish_for`]) rules it out:
//!
//! 1. **Every transition publishes.** The winner of the CAS into any epoch,
//!    timed or not, then installs that epoch's word (its deadline, or the
//!    no-deadline word), so the tag follows the epoch: operator calls, mode
//!    changes and closes leave no old deadline behind to be aliased.
//! 2. **Only for the current full epoch, over exactly the word seen.** A
//!    publisher reads the timer word, then the state word (Acquire, so the
//!    state is at least as new as the epoch of the timer word it read); it
//!    installs its word only if the state is still in its epoch, by a CAS over
//!    exactly the timer word it read, never a blind store. A transition that
//!    happened after its check and has published since makes that CAS fail.
//! 3. **Overtaken publishers step aside, and leave the tag current.** If the
//!    state has moved on, the publisher installs nothing of its own: where the
//!    timer word is not yet tagged with the epoch it found, it installs that
//!    epoch's no-deadline placeholder (harmless: nobody acts on it; a reader of
//!    an open episode replaces it with a deadline from its own clock).
//! 4. **Re-check after installing.** After a successful CAS the publisher
//!    reads the state again; if the epoch moved on in between, it swaps its
//!    word back to the no-deadline word of the epoch it now sees (a CAS over
//!    exactly its own word, so a newer word is never touched).
//!
//! Each context (a thread, an interrupt priority level) finishes its
//! publication before it can make another transition, and a publication ends
//! with the timer word tagged for the epoch its last state read saw. So the
//! timer word trails the state word by at most `P` transitions, `P` being the
//! number of contexts that can be suspended inside a breaker call at once; a
//! timer word tagged like the current epoch is that epoch's own. The one way
//! around this is an ABA: a context suspended inside one publication, between
//! its load of the timer word and its CAS (a few instructions, no clock read),
//! while the tag goes round and the very same word value comes back.
//!
//! **Bound:** the argument holds as long as no context stays suspended inside
//! one publication while `2^T - P` transitions happen: 65 536 - `P` on 64-bit
//! targets, 256 - `P` on 32-bit ones (`P` is a handful: thread mode plus the
//! interrupt priorities that use the breaker). No config can bound how fast
//! operator calls move the epoch, so this is a bound on scheduling, stated in
//! `docs/design.md` beside the permit-holding bound of the epoch itself.
//!
//! A unit is `2^shift` ticks, chosen at construction: the longest possible
//! open period fits in a quarter of the unit range (and, on 64-bit targets,
//! half the range spans more than a century of ticks). Deadlines are rounded
//! up to a whole unit, so an open period can end up to one unit late, never
//! early.
//!
//! # Reading a deadline: wrap-aware, and a clock that went back
//!
//! Instants are ticks modulo 2^64 (a deadline past `u64::MAX` is computed
//! with a wrapping add, as a counter that wraps would read it), and the
//! deadline field holds units modulo `2^U` (`U` = 48 / 24 bits). A reader
//! sees only `left = deadline - now` in units, modulo `2^U`, and splits that
//! circle in three (`G` = `guard`, the longest open period in units plus 2 of
//! rounding slack; `H` = `2^(U-1)`, half the unit range):
//!
//! ```text
//!  left:  0      1 ..= G           G+1 ..= H               H+1 ..= 2^U - 1
//!        due   pending: exactly    the clock went back:     passed, and
//!              `left` units        clamped to the longest   wrapped (a reader
//!                                  open period, re-anchored late or idle by
//!                                  (`Timer::reanchor`)      less than H units)
//! ```
//!
//! - `1 ..= G`: a deadline this breaker set (no open period is longer), or
//!   one that a jump back has left within the guard: pending, for exactly
//!   what the clock says (the period ends when the clock reaches it again).
//! - `G+1 ..= H`: no open period is that long, so the clock went back (or a
//!   reader is far behind the clock reading of the publisher). The open
//!   period must not end early, and need not end only when the clock comes
//!   back to the old deadline: `remaining` reports the longest open period,
//!   and the breaker re-anchors the deadline at the longest open period (the
//!   half-open wait, for a half-open deadline) from a fresh clock reading. So
//!   after a backward jump the period in force ends at least as late as what
//!   was left (which is at most the longest period) and at most the longest
//!   open period (plus one unit) after the first call that sees the jump.
//! - `H+1 ..`: a deadline passed less than `H` units ago, read late (a
//!   breaker idle since): due.
//!
//! **Bounds.** The two cases that share the circle cannot be told apart in
//! `U` bits. A backward jump of `J` units with `R` left reads as passed once
//! `R + J > H` (the open period then ends at once), and a deadline passed `P`
//! units ago, first read only now, reads as pending when `P mod 2^U >= H`
//! (as a jump back, or within the guard: the breaker then stays open for up
//! to the longest period from that call: late, never early). On 64-bit targets `H` units span more
//! than a century of ticks, so neither happens in practice. On 32-bit targets
//! `H` is `2^23` units, at least twice the longest open period (which fits in
//! `2^22`): a backward jump of more than `H - R` units (so at least the
//! longest open period) may end the open period at once, and a breaker first
//! called `P` units after its deadline, `P mod 2^24` in `[2^23, 2^24)`, stays
//! open for up to the longest period more (before issue 14: only for
//! `P mod 2^24` within the guard below `2^24`, and a jump past the guard
//! ended the period at once).
//!
//! **Past `u64::MAX`.** A trip within the longest open period of `u64::MAX`
//! wraps its deadline past 0; the unit count is consistent across that wrap
//! (and a clock that wraps at 2^64 reads as moving forward) when `2^(U +
//! shift)` divides `2^64`: `shift <= 16` on 64-bit targets (every clock up to
//! 2.9 GHz whose longest open period is below 2^62 ticks), `shift <= 40` on
//! 32-bit ones. With coarser units, a deadline that wraps past `u64::MAX`
//! reads as passed (the open period ends at once), the one edge left.

use crate::config::ConfigError;
use crate::state::{StateWord, EPOCH_MASK};
use crate::sync::{atomic_word, AtomicWord, Ordering, Word, WORD_BITS};
#[cfg(test)]
use core::time::Duration;

const TAG_BITS: u32 = if WORD_BITS == 64 { 16 } else { 8 };
const UNIT_BITS: u32 = WORD_BITS - TAG_BITS;
const UNIT_MASK: Word = ((1 as Word) << UNIT_BITS) - 1;
const TAG_MASK: Word = ((1 as Word) << TAG_BITS) - 1;
/// Longest open period, in units: a quarter of the unit range.
const MAX_SPAN_UNITS: u64 = 1 << (UNIT_BITS - 2);
/// Remaining-units values above this are passed deadlines that wrapped;
/// between `guard` and this, a clock that went back (see the module docs).
const HALF_UNITS: u64 = 1 << (UNIT_BITS - 1);
/// Minimum units an `open_for` must span, to keep rounding below ~6 %.
const MIN_OPEN_UNITS: u64 = 16;

/// How ticks map to timer units, fixed at construction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerUnits {
    shift: u32,
    /// Remaining-units values up to this are pending deadlines; above it (up
    /// to `HALF_UNITS`), the clock went back.
    guard: u64,
    /// The longest open period, in ticks: what a deadline the clock went
    /// back from is clamped and re-anchored to.
    longest: u64,
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
            longest: if longest == 0 { 1 } else { longest },
        })
    }

    /// The word for a deadline at `deadline` ticks in the episode `epoch`.
    /// Out of line on 32-bit targets (as is `remaining`): a 64-bit shift by a
    /// variable there is a runtime call, and each breaker has several callers.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) const fn encode(&self, epoch: Word, deadline: u64) -> Word {
        let units = deadline.div_ceil(1 << self.shift) as Word & UNIT_MASK;
        // 0 means "no deadline": a deadline there goes one unit later.
        let units = if units == 0 { 1 } else { units };
        ((epoch & TAG_MASK) << UNIT_BITS) | units
    }

    /// A deadline already due at `now`: one unit before it, so that its
    /// rounding up cannot carry it past `now` (except within the first unit
    /// after tick 0 on a clock coarser than one tick per unit, where it is due
    /// one unit later).
    #[inline]
    pub(crate) const fn passed(&self, now: u64) -> u64 {
        now.wrapping_sub(1 << self.shift)
    }

    /// `t` rounded down to a whole unit: a deadline there ends no later
    /// than `t` (deadlines are otherwise rounded up).
    #[inline]
    pub(crate) const fn floor(&self, t: u64) -> u64 {
        t & !((1u64 << self.shift) - 1)
    }

    /// The word of the episode `epoch` when it has no deadline (yet).
    #[inline]
    pub(crate) const fn none(epoch: Word) -> Word {
        (epoch & TAG_MASK) << UNIT_BITS
    }

    /// Whether `word` is tagged for the episode `epoch`.
    #[inline]
    pub(crate) const fn belongs_to(word: Word, epoch: Word) -> bool {
        (word >> UNIT_BITS) == (epoch & TAG_MASK & EPOCH_MASK)
    }

    /// Whether `word` is a deadline of the episode `epoch`.
    #[inline]
    pub(crate) const fn deadline_of(word: Word, epoch: Word) -> bool {
        Self::belongs_to(word, epoch) && word & UNIT_MASK != 0
    }

    /// Ticks left until the deadline in `word`, or `None` once it is due.
    /// A deadline the clock went back from reads as the longest open period
    /// (see the module docs).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) const fn remaining(&self, word: Word, now: u64) -> Option<u64> {
        let left = self.left_units(word, now);
        if left == 0 || left > HALF_UNITS {
            None
        } else if left > self.guard {
            Some(self.longest)
        } else {
            Some(self.ticks_left(left, now))
        }
    }

    /// `left` pending units from `now`, in ticks: at least 1.
    #[inline]
    const fn ticks_left(&self, left: u64, now: u64) -> u64 {
        let sub_unit = now & ((1u64 << self.shift) - 1);
        let t = (left << self.shift).saturating_sub(sub_unit);
        if t == 0 {
            1
        } else {
            t
        }
    }

    /// [`remaining`](Self::remaining) where the deadline is pending and
    /// `now` is not behind it (`went_back` false): the ticks left, or
    /// `None` when the deadline is due or the clock went back, which the
    /// caller then handles as `remaining` and `went_back` do. The open
    /// rejection's path on 64-bit targets.
    #[cfg(target_pointer_width = "64")]
    #[inline]
    pub(crate) const fn pending(&self, word: Word, now: u64) -> Option<u64> {
        let left = self.left_units(word, now);
        if left == 0 || left > self.guard {
            return None;
        }
        Some(self.ticks_left(left, now))
    }

    /// Whether the deadline in `word` is further ahead of `now` than any open
    /// period can be, yet not far enough to be a passed one: the clock went
    /// back (or `now` is a stale reading). Inlined everywhere: a unit
    /// subtraction and two compares, smaller in place than a call on a
    /// Cortex-M0 (an out-of-line copy measured 28 bytes more there).
    #[inline]
    pub(crate) const fn went_back(&self, word: Word, now: u64) -> bool {
        let left = self.left_units(word, now);
        left > self.guard && left <= HALF_UNITS
    }

    /// `deadline - now` in units, modulo the unit range.
    #[inline]
    const fn left_units(&self, word: Word, now: u64) -> u64 {
        let now_units = (now >> self.shift) as Word & UNIT_MASK;
        ((word & UNIT_MASK).wrapping_sub(now_units) & UNIT_MASK) as u64
    }

    /// The longest open period, in ticks.
    #[inline]
    pub(crate) const fn longest(&self) -> u64 {
        self.longest
    }

    /// The granularity of deadlines.
    #[cfg(test)]
    pub(crate) const fn unit(&self, hz: u64) -> Duration {
        crate::clock::ticks_to_duration(1 << self.shift, hz)
    }
}

/// What [`Timer::publish_for`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Published {
    /// The state is still in the epoch, and this is its word in force: the
    /// caller's, or one published first by another caller.
    InForce(Word),
    /// The state has left the epoch; the fresh state word, to re-decide on.
    Overtaken(Word),
}

/// The atomic timer word.
pub(crate) struct Timer {
    word: AtomicWord,
}

impl Timer {
    /// The word of epoch 0, a new breaker's `Closed` episode.
    const INITIAL: Word = TimerUnits::none(0);

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
        // Acquire: pairs with the Release in `replace`; a state word read
        // after it is at least as new as the epoch this word was installed
        // for (its installer read or wrote that state before installing).
        self.word.load(Ordering::Acquire)
    }

    /// Installs `mine`, the word of the episode `epoch`, unless that episode
    /// already has one in force or the state word `state` has left it. See
    /// the module docs for the protocol and why it is safe. Lock-free: each
    /// retry follows a CAS that another caller won.
    ///
    /// Out of line on 32-bit targets: a few callers per breaker share it.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) fn publish_for(&self, state: &AtomicWord, epoch: Word, mine: Word) -> Published {
        let timed = mine & UNIT_MASK != 0;
        let mut t = self.load();
        loop {
            // Acquire: pairs with the Release of every transition CAS; read
            // after `t` (whose load is Acquire), so never older than `t`'s epoch.
            let s = state.load(Ordering::Acquire);
            let current = StateWord::unpack(s).epoch;
            if current != epoch {
                // Overtaken: install nothing of ours, but leave the tag current.
                if TimerUnits::belongs_to(t, current) || self.replace(t, TimerUnits::none(current))
                {
                    return Published::Overtaken(s);
                }
            } else if TimerUnits::belongs_to(t, epoch) && (!timed || t & UNIT_MASK != 0) {
                return Published::InForce(t);
            } else if self.replace(t, mine) {
                // Acquire: the Acquire half of `replace` keeps this read after it.
                let s = state.load(Ordering::Acquire);
                let now = StateWord::unpack(s).epoch;
                if now == epoch {
                    return Published::InForce(mine);
                }
                // The state moved on between our check and our CAS: take our
                // word back, unless a newer one has already replaced it.
                let _ = self.replace(mine, TimerUnits::none(now));
                return Published::Overtaken(s);
            }
            t = self.load();
        }
    }

    /// After the clock went back (`TimerUnits::went_back`): replaces exactly
    /// `seen`, a deadline word, with `later`, a deadline of the same episode
    /// measured from a fresh clock reading. Both carry the same tag, so the
    /// publication protocol's argument (which is about tags) is untouched: a
    /// transition since `seen` was read has published over it or will CAS over
    /// whatever it finds. False if another word is in place (another caller
    /// re-anchored first, or the episode has moved on).
    #[inline]
    pub(crate) fn reanchor(&self, seen: Word, later: Word) -> bool {
        debug_assert!(seen >> UNIT_BITS == later >> UNIT_BITS);
        self.replace(seen, later)
    }

    /// Replaces exactly `seen` with `new`; false if someone else got there.
    /// Out of line on 32-bit targets: `publish_for` alone has three of its
    /// CAS loops (an LDREX/STREX loop each on a Cortex-M3).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn replace(&self, seen: Word, new: Word) -> bool {
        // AcqRel on success: Release makes the word visible, after the state
        // CAS of its epoch, to `load`; Acquire keeps `publish_for`'s re-check
        // of the state after it. Relaxed on failure: the caller reloads.
        self.word
            .compare_exchange(seen, new, Ordering::AcqRel, Ordering::Relaxed)
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

    /// `pending` (the open rejection's path) answers exactly where
    /// `remaining` would and the clock did not go back, and defers to them
    /// everywhere else: around the whole unit circle, at two unit sizes,
    /// and across the last tick.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn pending_is_remaining_when_the_clock_did_not_go_back() {
        let hz = 1_000_000_000;
        for u in [
            TimerUnits::new(600_000, 1_000, 1_000).unwrap(),
            TimerUnits::new(600 * hz, hz, hz).unwrap(),
        ] {
            for deadline in [5_000u64, 123_456_789_012, u64::MAX - 7] {
                let w = u.encode(9, deadline);
                let step = (1u64 << (UNIT_BITS - 6)) << u.shift;
                let n = if cfg!(miri) { 200 } else { 4_000u64 };
                let near = (0..n).map(|i| deadline.wrapping_sub(n / 2).wrapping_add(i));
                let far = (0..64u64).map(|i| deadline.wrapping_add(i.wrapping_mul(step)));
                for now in near.chain(far) {
                    let expected = if u.went_back(w, now) {
                        None
                    } else {
                        u.remaining(w, now)
                    };
                    assert_eq!(
                        u.pending(w, now),
                        expected,
                        "deadline {deadline}, now {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_deadline_never_encodes_as_the_no_deadline_word() {
        let u = TimerUnits::new(10_000, 1_000, 1_000).unwrap();
        let w = u.encode(7, (UNIT_MASK as u64) + 1); // units wrap to 0
        assert!(TimerUnits::deadline_of(w, 7));
        assert!(!TimerUnits::deadline_of(TimerUnits::none(7), 7));
        assert!(TimerUnits::belongs_to(TimerUnits::none(7), 7));
    }

    fn open_in(epoch: Word) -> AtomicWord {
        let w = StateWord {
            state: crate::state::State::Open,
            k: 0,
            counts: 0,
            epoch,
        };
        atomic_word(w.pack())
    }

    #[test]
    fn a_publisher_installs_only_for_the_current_epoch() {
        let u = TimerUnits::new(10_000, 1_000, 1_000).unwrap();
        let timer = Timer::new();
        let state = open_in(3);
        // Overtaken: epoch 2's deadline is not installed; epoch 3's
        // placeholder is, so that no older word stays behind.
        let s = state.load(Ordering::Relaxed);
        assert_eq!(
            timer.publish_for(&state, 2, u.encode(2, 500)),
            Published::Overtaken(s)
        );
        assert_eq!(timer.load(), TimerUnits::none(3));
        // Current: installed over the placeholder, then kept.
        let mine = u.encode(3, 700);
        assert_eq!(timer.publish_for(&state, 3, mine), Published::InForce(mine));
        let later = u.encode(3, 900);
        assert_eq!(
            timer.publish_for(&state, 3, later),
            Published::InForce(mine)
        );
        // A late publisher for an older episode leaves it alone.
        assert_eq!(
            timer.publish_for(&state, 1, u.encode(1, 100)),
            Published::Overtaken(s)
        );
        assert_eq!(timer.load(), mine);
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
    fn a_deadline_reads_pending_then_went_back_then_passed_around_the_circle() {
        // 10 min longest, ms clock: one-tick units, guard = longest + 2.
        let u = TimerUnits::new(600_000, 1_000, 1_000).unwrap();
        let w = u.encode(1, 1_000_000 + 600_002);
        assert_eq!(u.remaining(w, 1_000_000), Some(600_002));
        assert!(!u.went_back(w, 1_000_000));
        // One unit further ahead than any open period: the clock went back.
        assert!(u.went_back(w, 999_999));
        assert_eq!(u.remaining(w, 999_999), Some(600_000));
        let half = HALF_UNITS;
        let deadline: u64 = 1_000_000 + 600_002;
        assert!(u.went_back(w, deadline.wrapping_sub(half)));
        assert_eq!(u.remaining(w, deadline.wrapping_sub(half)), Some(600_000));
        // Beyond half the unit range: a deadline passed less than `H` ago.
        assert!(!u.went_back(w, deadline.wrapping_sub(half + 1)));
        assert_eq!(u.remaining(w, deadline.wrapping_sub(half + 1)), None);
        assert_eq!(u.remaining(w, deadline + half - 1), None);
    }

    #[test]
    fn a_reader_behind_the_publishers_clock_never_reads_the_deadline_as_passed() {
        // A reader read the clock at 1 000, was suspended, then found the
        // deadline another caller published at 700 000 for 30 s: no open
        // period is that long from its reading, so it must not half-open.
        let u = TimerUnits::new(600_000, 1_000, 1_000).unwrap();
        let w = u.encode(4, 700_000 + 30_000);
        assert!(u.remaining(w, 1_000).is_some());
        assert!(
            !u.went_back(w, 700_000),
            "a fresh reading re-anchors nothing"
        );
    }

    #[test]
    fn a_deadline_past_the_last_tick_wraps_with_the_clock() {
        let u = TimerUnits::new(600_000, 1_000, 1_000).unwrap();
        let now = u64::MAX - 9;
        let w = u.encode(2, now.wrapping_add(30_000));
        assert_eq!(u.remaining(w, now), Some(30_000));
        assert_eq!(u.remaining(w, 29_989), Some(1));
        assert_eq!(u.remaining(w, 29_990), None);
        let hz = 1_000_000_000;
        let ns = TimerUnits::new(600 * hz, hz, hz).unwrap();
        assert!(ns.shift <= 64 - UNIT_BITS, "wrap-exact with a ns clock");
        let w = ns.encode(2, now.wrapping_add(30 * hz));
        assert!(ns.remaining(w, now).unwrap() >= 30 * hz);
        assert!(ns.remaining(w, (30 * hz - 10) - (1 << ns.shift)).is_some());
        assert_eq!(ns.remaining(w, 30 * hz - 10 + (1 << ns.shift)), None);
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
