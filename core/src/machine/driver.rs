//! The one compare-and-swap loop on the state word, and the follow-up work
//! of the thread whose CAS installed a transition.
//!
//! Every change of the state word goes through [`Breaker::drive`]: it hands
//! the decoded word to a decision (a rule of [`crate::machine`] plus the
//! reads that rule needs), installs the word the decision asks for with one
//! CAS, and on a lost CAS re-decides on the word it lost to. Nothing else
//! writes the state word, so loom only has to explore this loop.

use crate::clock::Clock;
use crate::observer::{Observer, Transition, TransitionReason};
use crate::state::{State, StateWord};
use crate::sync::{AtomicWord, Ordering, Word};
use crate::timer::{Published, TimerUnits};
use crate::window::{AnyWindow, WindowCounts};
use crate::Breaker;

/// What a decision on one state word asks of [`Breaker::drive`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Decision<T> {
    /// Nothing to write: the answer is `T`.
    Done(T),
    /// Install this (packed) word over the one decided on; the answer is
    /// `T` once it is in. A lost CAS re-decides on the word it lost to.
    /// Packed, so that a decision stays small enough to travel in registers.
    Write(Word, T),
    /// Decide again on this fresher word (a deadline publication found the
    /// episode already over).
    Reread(Word),
}

impl<T> Decision<T> {
    /// Install `next`; the answer is `t` once it is in.
    #[inline(always)]
    pub(crate) fn write(next: StateWord, t: T) -> Decision<T> {
        Decision::Write(next.pack(), t)
    }

    /// The same decision with its answer mapped.
    #[inline(always)]
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Decision<U> {
        match self {
            Decision::Done(t) => Decision::Done(f(t)),
            Decision::Write(w, t) => Decision::Write(w, f(t)),
            Decision::Reread(w) => Decision::Reread(w),
        }
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// The CAS loop, written once: decides on `w`, installs what the decision
    /// asks for, and re-decides until a decision needs no write or its write
    /// is in. The caller does the follow-up ([`committed`](Self::committed))
    /// for a transition it installed. Each call site has its own closure, so
    /// each gets its own copy of this loop, as the hand-written loops had.
    #[inline(always)]
    pub(crate) fn drive<T>(
        &self,
        mut w: Word,
        mut decide: impl FnMut(StateWord) -> Decision<T>,
    ) -> T {
        loop {
            match decide(StateWord::unpack(w)) {
                Decision::Done(t) => return t,
                Decision::Write(next, t) => match cas_state(&self.state, w, next) {
                    Ok(()) => return t,
                    Err(x) => w = x,
                },
                Decision::Reread(x) => w = x,
            }
        }
    }

    /// The state word, as every path but `admit`'s inlined one reads it.
    #[inline]
    pub(crate) fn current_word(&self) -> Word {
        load_state(&self.state)
    }

    /// Follow-up of a half-open entry: its own deadline, if configured.
    pub(crate) fn entered_half_open(
        &self,
        from: StateWord,
        to: StateWord,
        reason: TransitionReason,
        now: u64,
    ) {
        let deadline = self.settings.max_wait_ticks().map(|w| now.wrapping_add(w));
        self.committed(from, to, reason, now, WindowCounts::default(), deadline);
    }

    /// Follow-up work of the thread whose CAS moved `from` to `to`. Out of
    /// line on 32-bit targets: a firmware holds one copy for every transition.
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    pub(crate) fn committed(
        &self,
        from: StateWord,
        to: StateWord,
        reason: TransitionReason,
        now: u64,
        window: WindowCounts,
        deadline: Option<u64>,
    ) {
        // Every transition publishes its epoch's timer word, timed or not,
        // so that the tag follows the epoch (see `timer`'s module docs). The
        // deadline in force is ours, or one a reader published first from its
        // own clock while we were between our CAS and this point; none if the
        // episode has already ended (we were preempted through it).
        let mine = match deadline {
            Some(d) => self.settings.timer.encode(to.epoch, d),
            None => TimerUnits::none(to.epoch),
        };
        let in_force = match self.timer.publish_for(&self.state, to.epoch, mine) {
            Published::InForce(t) if deadline.is_some() => {
                let left = self.settings.timer.remaining(t, now).unwrap_or(0);
                Some(now.wrapping_add(left))
            }
            _ => None,
        };
        if to.state == State::Open && matches!(from.state, State::Closed | State::HalfOpen) {
            // Relaxed: a statistic; nothing is ordered by it.
            self.trips.fetch_add(1, Ordering::Relaxed);
        }
        // Relaxed: a statistic; nothing is ordered by it.
        self.last_transition.store(now as Word, Ordering::Relaxed);
        self.window
            .after_transition(to.epoch, &self.state, now, self.settings.slots);
        self.observer.on_transition(&Transition {
            from: from.state,
            to: to.state,
            reason,
            epoch: to.epoch as u64,
            at: now,
            window,
            consecutive_failures: from.run(),
            backoff_level: to.k,
            open_until: if to.state == State::Open {
                in_force
            } else {
                None
            },
        });
    }
}

/// The load behind [`Breaker::current_word`]: out of line where every
/// atomic access is a critical section (a Cortex-M0), one copy per firmware.
#[cfg_attr(target_has_atomic = "ptr", inline)]
#[cfg_attr(not(target_has_atomic = "ptr"), inline(never))]
fn load_state(state: &AtomicWord) -> Word {
    // Acquire: pairs with the Release of every transition CAS.
    state.load(Ordering::Acquire)
}

/// The CAS behind [`Breaker::drive`], kept apart from the breaker's type
/// parameters: on 32-bit targets (a critical section on a Cortex-M0, an
/// LDREX/STREX loop on an M3) each firmware then holds one copy of it
/// instead of one per transition site.
#[cfg_attr(target_pointer_width = "64", inline)]
#[cfg_attr(not(target_pointer_width = "64"), inline(never))]
fn cas_state(state: &AtomicWord, seen: Word, next: Word) -> Result<(), Word> {
    // AcqRel: Release publishes the transition (and everything before it)
    // to the Acquire loads in `admit`, `record` and the windows; Acquire
    // on failure because the caller re-decides on the value it gets.
    state
        .compare_exchange(seen, next, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
}
