//! Admission (DESIGN §4–§6): `try_acquire`, and the moves that fall due
//! with time, made by whichever reader notices them first (`try_acquire`
//! or `state()`): open → half-open at the deadline, half-open → open after
//! `max_half_open_wait`.

use super::Breaker;
use crate::clock::{ticks_to_duration, Clock};
use crate::machine::{self, Decision};
use crate::observer::{Observer, Rejection, TransitionReason};
use crate::permit::{Grant, Permit, RejectReason, Rejected};
use crate::state::{State, StateWord};
use crate::sync::{Ordering, Word};
use crate::timer::{Published, TimerUnits};
use crate::window::{AnyWindow, WindowCounts};
use core::ops::Deref;

/// A move that fell due, installed by the reader that noticed it. Kept to
/// the packed word it replaced and the time (two words): the word installed
/// follows from the rule, and small values move in registers, which keeps
/// `memcpy` out of a Cortex-M0 firmware.
#[derive(Clone, Copy, Debug)]
pub(super) struct Due {
    /// The state word the move was installed over, packed.
    from: Word,
    /// When it was noticed.
    now: u64,
    kind: DueKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DueKind {
    /// Open → HalfOpen at the deadline, admitting the caller as a probe or not.
    HalfOpened { probe: bool },
    /// HalfOpen → Open after `max_half_open_wait`.
    Expired,
}

impl Due {
    /// The word the move installed. Forced inline on 32-bit targets (each
    /// caller knows the move's kind, so the match folds: 40 bytes on a
    /// Cortex-M3); left to the inliner on 64-bit ones, where forcing it cost
    /// the half-open admission 3 instructions.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(not(target_pointer_width = "64"), inline(always))]
    fn to(self) -> StateWord {
        let from = StateWord::unpack(self.from);
        match self.kind {
            DueKind::HalfOpened { probe } => machine::deadline_reached(from, probe),
            DueKind::Expired => machine::half_open_expired(from),
        }
    }

    /// Whether it opened a half-open episode (the caller's probe, if asked).
    #[inline]
    pub(super) fn half_opened(self) -> bool {
        matches!(self.kind, DueKind::HalfOpened { .. })
    }
}

/// What `settle` decided on one state word.
#[derive(Clone, Copy, Debug)]
enum Admit {
    /// Permitted in this epoch and state (`state()`: in this state).
    Granted(Word, State),
    /// Rejected in this state, with the ticks left when open.
    Refused(State, Option<u64>),
    /// A due move was installed.
    Moved(Due),
}

/// Where [`Breaker::settle`] left the caller.
#[derive(Clone, Copy, Debug)]
pub(super) enum Settled {
    /// In this epoch and state; for `try_acquire`, permitted there (as a
    /// probe when half-open).
    Granted(Word, State),
    /// Rejected in this state, with the ticks left when open.
    Refused(State, Option<u64>),
}
impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// Asks for a permit.
    ///
    /// Closed, metrics-only and disabled breakers permit at once, with one
    /// atomic load (plus a clock read when slow-call detection is on). Open
    /// breakers reject with the time left, or move to half-open when the
    /// deadline has passed and admit this call as a probe.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<&Self>, Rejected> {
        match self.admit() {
            Ok(g) => Ok(Permit::new(self, g)),
            Err(r) => Err(r),
        }
    }

    /// Like [`try_acquire`](Self::try_acquire), with a permit that owns its
    /// handle (`Arc<Breaker>`, say), for futures and services that must be
    /// `'static`.
    #[inline]
    pub fn try_acquire_owned<H: Deref<Target = Self>>(handle: H) -> Result<Permit<H>, Rejected> {
        match handle.admit() {
            Ok(g) => Ok(Permit::new(handle, g)),
            Err(r) => Err(r),
        }
    }

    #[inline]
    fn admit(&self) -> Result<Grant, Rejected> {
        // Acquire: pairs with the Release of every transition CAS.
        let w = self.state.load(Ordering::Acquire);
        let sw = StateWord::unpack(w);
        // The common case inlines to one load and a compare: no call.
        // A ramp or throttling (`shaped`) sends the closed state to the
        // out-of-line path, so that this one keeps a single call site.
        // Without the `ramp` and `throttle` features there is no such test.
        #[cfg(any(feature = "ramp", feature = "throttle"))]
        if matches!(sw.state, State::Closed | State::MetricsOnly) && !self.settings.shaped {
            return Ok(Grant::new(sw.epoch, sw.state, self.start_time()));
        }
        #[cfg(not(any(feature = "ramp", feature = "throttle")))]
        if matches!(sw.state, State::Closed | State::MetricsOnly) {
            return Ok(Grant::new(sw.epoch, sw.state, self.start_time()));
        }
        self.admit_slow(w)
    }

    /// Every state but the closed ones, and the closed state of a breaker
    /// that shapes its traffic. On 64-bit targets the open state's plain
    /// rejection is decided first ([`open_rejection`](Self::open_rejection));
    /// the rest by [`admit_settle`](Self::admit_settle), inlined here. One
    /// function and one call site in [`admit`](Self::admit): a second call
    /// site there makes the caller merge the results in memory, and the
    /// closed path then reloads its grant with one wide load right after two
    /// narrow stores (a store-forwarding stall); `admit_settle` out of line
    /// would cost half-open admission a second call (1-2 ns, criterion group
    /// `half_open_admit`) to save the open rejection its register saves.
    /// 32-bit targets keep one path (firmware size).
    #[cold]
    #[inline(never)]
    fn admit_slow(&self, w: Word) -> Result<Grant, Rejected> {
        #[cfg(target_pointer_width = "64")]
        if let Some(r) = self.open_rejection(w) {
            return Err(r);
        }
        self.admit_settle(w)
    }

    /// The open state's rejection with its deadline published and pending,
    /// the one frequent case outside the closed state: a clock read, a
    /// timer load and the unit arithmetic. `None` for every other state and
    /// case (a deadline not yet published, due, or one the clock went back
    /// from): [`admit_settle`](Self::admit_settle) decides those, reading
    /// the clock and the timer again, as [`settle`](Self::settle) does for
    /// every state; this repeats its decision for the pending case only
    /// (`TimerUnits::pending`).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn open_rejection(&self, w: Word) -> Option<Rejected> {
        let sw = StateWord::unpack(w);
        if sw.state != State::Open {
            return None;
        }
        let now = crate::breaker::read_clock(&self.clock);
        let t = self.timer.load();
        if !TimerUnits::deadline_of(t, sw.epoch) {
            return None;
        }
        let left = self.settings.timer.pending(t, now)?;
        Some(self.reject(State::Open, Some(left)))
    }

    /// [`admit_slow`](Self::admit_slow) but for the open state's plain
    /// rejection on 64-bit targets (all of it on 32-bit ones).
    #[inline(always)]
    fn admit_settle(&self, w: Word) -> Result<Grant, Rejected> {
        #[cfg(any(feature = "ramp", feature = "throttle"))]
        if self.settings.shaped && StateWord::unpack(w).state == State::Closed {
            return self.admit_shaped(StateWord::unpack(w));
        }
        match self.settle(w, true) {
            // Disabled reads no clock at the grant: its calls are never timed.
            Settled::Granted(epoch, State::Disabled) => Ok(Grant::new(epoch, State::Disabled, 0)),
            Settled::Granted(epoch, state) => Ok(Grant::new(epoch, state, self.start_time())),
            Settled::Refused(state, left) => Err(self.reject(state, left)),
        }
    }

    /// Decides on the state word `w` and makes the moves that fell due,
    /// until the caller's state is settled. `probe`: the caller asks for a
    /// permit (`try_acquire`: a half-open episode admits it as a probe, or
    /// refuses it), or only for the state (`state()`). Shared by both, so
    /// a firmware that calls both holds one copy of the due moves. On 64-bit
    /// targets each caller gets its own copy (the half-open admission path
    /// pays no extra call); on 32-bit ones the inliner decides (one caller:
    /// inlined; two: one shared copy, which `inline(never)` would also force
    /// on a firmware that never calls `state()`, 60-150 bytes more).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(super) fn settle(&self, mut w: Word, probe: bool) -> Settled {
        loop {
            // Forced inline: `settle` has two callers on 64-bit targets, and
            // an outlined decision would cost the half-open path a call.
            let admitted = self.drive(
                w,
                #[inline(always)]
                |sw| self.settle_step(sw, probe),
            );
            match admitted {
                Admit::Granted(epoch, state) => return Settled::Granted(epoch, state),
                Admit::Refused(state, left) => return Settled::Refused(state, left),
                Admit::Moved(due) => {
                    self.after_due(due);
                    if due.half_opened() {
                        // This call is the episode's first probe (when `probe`).
                        return Settled::Granted(due.to().epoch, State::HalfOpen);
                    }
                    w = self.current_word();
                }
            }
        }
    }

    /// One decision of [`settle`](Self::settle) on the state word `sw`.
    #[inline(always)]
    fn settle_step(&self, sw: StateWord, probe: bool) -> Decision<Admit> {
        match sw.state {
            State::Closed | State::MetricsOnly | State::Disabled => {
                Decision::Done(Admit::Granted(sw.epoch, sw.state))
            }
            State::ForcedOpen => Decision::Done(Admit::Refused(State::ForcedOpen, None)),
            State::Open => match self.open_due(sw, probe) {
                Ok(left) => Decision::Done(Admit::Refused(State::Open, Some(left))),
                Err(d) => d.map(Admit::Moved),
            },
            State::HalfOpen => match self.half_open_due(sw) {
                Some(d) => d.map(Admit::Moved),
                None if !probe => Decision::Done(Admit::Granted(sw.epoch, State::HalfOpen)),
                None => match machine::admit_probe(sw, self.settings.half_open_permits as u32) {
                    Some(next) => Decision::write(next, Admit::Granted(sw.epoch, State::HalfOpen)),
                    None => Decision::Done(Admit::Refused(State::HalfOpen, None)),
                },
            },
        }
    }

    #[inline]
    pub(super) fn start_time(&self) -> u64 {
        if self.settings.slow_ticks().is_some() {
            crate::breaker::read_clock(&self.clock)
        } else {
            0
        }
    }

    fn reject(&self, state: State, left: Option<u64>) -> Rejected {
        self.reject_for(state, left, RejectReason::State)
    }

    /// A rejection, told to the observer.
    pub(super) fn reject_for(
        &self,
        state: State,
        left: Option<u64>,
        reason: RejectReason,
    ) -> Rejected {
        self.observer.on_reject(&Rejection {
            state,
            retry_after: left,
            reason,
        });
        Rejected {
            state,
            retry_after: left.map(|t| ticks_to_duration(t, C::TICKS_PER_SECOND)),
            reason,
        }
    }

    /// In the open episode `sw`: the ticks left, or the move to half-open
    /// once due (`probe`: admitting the caller as the first probe), or a
    /// fresher word to decide on.
    #[inline(always)]
    pub(super) fn open_due(&self, sw: StateWord, probe: bool) -> Result<u64, Decision<Due>> {
        let now = crate::breaker::read_clock(&self.clock);
        match self.open_remaining(sw, now) {
            Ok(Some(left)) => Ok(left),
            Ok(None) => {
                let due = Due {
                    from: sw.pack(),
                    now,
                    kind: DueKind::HalfOpened { probe },
                };
                Err(Decision::write(due.to(), due))
            }
            Err(x) => Err(Decision::Reread(x)),
        }
    }

    /// Ticks left in the open episode `sw`, or `None` once due. Publishes the
    /// deadline from `now` if its opener has not yet. `Err` carries the fresh
    /// state word when the episode has already ended. 32-bit targets share
    /// [`episode_left`](Self::episode_left) with the half-open read (smaller
    /// firmware); 64-bit ones keep this own body, which the half-open
    /// admission (through the open deadline) runs in 3 instructions fewer.
    #[cfg(target_pointer_width = "64")]
    pub(super) fn open_remaining(&self, sw: StateWord, now: u64) -> Result<Option<u64>, Word> {
        let t = self.timer.load();
        let longest = self.settings.timer.longest();
        if TimerUnits::deadline_of(t, sw.epoch) {
            return Ok(self.left(sw, t, now, longest));
        }
        let deadline = now.wrapping_add(self.settings.backoff.open_ticks(sw.k, sw.epoch as u64));
        let mine = self.settings.timer.encode(sw.epoch, deadline);
        match self.timer.publish_for(&self.state, sw.epoch, mine) {
            Published::InForce(t) => Ok(self.left(sw, t, now, longest)),
            Published::Overtaken(x) => Err(x),
        }
    }

    /// See the 64-bit version.
    #[cfg(not(target_pointer_width = "64"))]
    #[inline(always)]
    pub(super) fn open_remaining(&self, sw: StateWord, now: u64) -> Result<Option<u64>, Word> {
        self.episode_left(sw, now, None)
    }

    /// Ticks left in the episode `sw` (open, or half-open with `wait`, its
    /// `max_half_open_wait`), or `None` once due; publishes the episode's
    /// deadline from `now` if its opener has not yet. `Err` carries the fresh
    /// state word when the episode has already ended. Written once for both
    /// states and inlined into each (`settle` holds one copy of each use).
    #[inline(always)]
    fn episode_left(
        &self,
        sw: StateWord,
        now: u64,
        wait: Option<u64>,
    ) -> Result<Option<u64>, Word> {
        let mut t = self.timer.load();
        let period = match wait {
            Some(w) => w,
            None => self.settings.timer.longest(),
        };
        if !TimerUnits::deadline_of(t, sw.epoch) {
            let ticks = match wait {
                Some(w) => w,
                None => self.settings.backoff.open_ticks(sw.k, sw.epoch as u64),
            };
            let mine = self
                .settings
                .timer
                .encode(sw.epoch, now.wrapping_add(ticks));
            t = match self.timer.publish_for(&self.state, sw.epoch, mine) {
                Published::InForce(t) => t,
                Published::Overtaken(x) => return Err(x),
            };
        }
        Ok(self.left(sw, t, now, period))
    }

    /// Ticks left until `t`, the deadline of the episode `sw`, or `None` once
    /// due. If the clock went back past the guard (see `timer`), re-anchors
    /// the deadline at `period` ticks from a fresh reading: `now` may be older
    /// than the reading the deadline was published from.
    fn left(&self, sw: StateWord, t: Word, now: u64, period: u64) -> Option<u64> {
        let units = &self.settings.timer;
        if units.went_back(t, now) {
            let fresh = crate::breaker::read_clock(&self.clock);
            if units.went_back(t, fresh) {
                let _ = self
                    .timer
                    .reanchor(t, units.encode(sw.epoch, fresh.wrapping_add(period)));
            }
        }
        units.remaining(t, now)
    }

    /// In the half-open episode `sw`: `None` while it may go on; the move
    /// back to open once `max_half_open_wait` has passed, or a fresher word
    /// to decide on.
    #[inline(always)]
    pub(super) fn half_open_due(&self, sw: StateWord) -> Option<Decision<Due>> {
        let wait = self.settings.max_wait_ticks()?;
        let now = crate::breaker::read_clock(&self.clock);
        match self.episode_left(sw, now, Some(wait)) {
            Ok(Some(_)) => return None,
            Ok(None) => {}
            Err(x) => return Some(Decision::Reread(x)),
        }
        let due = Due {
            from: sw.pack(),
            now,
            kind: DueKind::Expired,
        };
        Some(Decision::write(due.to(), due))
    }

    /// Follow-up of a due move this thread installed.
    pub(super) fn after_due(&self, due: Due) {
        let (from, to, now) = (StateWord::unpack(due.from), due.to(), due.now);
        // One follow-up call for both moves keeps a firmware's copy single.
        let (reason, deadline) = match due.kind {
            // A half-open episode's own deadline, if configured.
            DueKind::HalfOpened { .. } => (
                TransitionReason::OpenDeadlineReached,
                self.settings.max_wait_ticks().map(|w| now.wrapping_add(w)),
            ),
            DueKind::Expired => (
                TransitionReason::HalfOpenTimeout,
                Some(now.wrapping_add(self.settings.backoff.open_ticks(to.k, to.epoch as u64))),
            ),
        };
        self.committed(from, to, reason, now, WindowCounts::default(), deadline);
    }
}
