//! Recording outcomes: a permit's [`Guard`] implementation. The outcome goes
//! into the window first (its tagged install decides whether it counted);
//! then the rules of [`crate::machine`] decide on the state word, through
//! the one CAS driver.
//!
//! The rules are evaluated only when a failure or a slow outcome is recorded:
//! a success can never trip the breaker, so the success path never reads the
//! window. In the closed state a success on a zero run writes nothing to the
//! state word.

use crate::clock::{duration_to_ticks, Clock};
use crate::config::Abandon;
use crate::machine::{self, ClosedStep, Decision, HalfOpenStep};
use crate::observer::{Observer, OutcomeEvent, TransitionReason};
use crate::permit::{Finish, Grant, Guard, Outcome, Recorded};
use crate::state::{State, StateWord};
use crate::timer::TimerUnits;
use crate::window::{AnyWindow, Ctx, Entry, Put, WindowCounts, WindowKind};
use crate::Breaker;
use core::time::Duration;

/// A clock reading taken at most once, and only if needed.
struct Now<'a, C: Clock> {
    clock: &'a C,
    value: Option<u64>,
}

impl<C: Clock> Now<'_, C> {
    #[inline]
    fn get(&mut self) -> u64 {
        match self.value {
            Some(v) => v,
            None => {
                let v = crate::breaker::read_clock(self.clock);
                self.value = Some(v);
                v
            }
        }
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> Guard for Breaker<C, W, O> {
    #[inline]
    fn finish(&self, grant: &Grant, f: Finish) -> Recorded {
        // The common case, inlined: a plain success in the closed state of a
        // breaker with no window and no slow-call timing, on a zero run,
        // reads the state word and writes nothing.
        if self.window.kind() == WindowKind::None
            && f.outcome == Outcome::Success
            && f.hint.is_none()
            && grant.state() == State::Closed
            && self.settings.slow_ticks().is_none()
        {
            let sw = StateWord::unpack(self.current_word());
            if sw.epoch == grant.epoch() && sw.run() == 0 {
                self.observer.on_outcome(&OutcomeEvent {
                    outcome: f.outcome,
                    slow: false,
                    recorded: Recorded::Counted,
                    state: grant.state(),
                    abandoned: f.abandoned,
                });
                return Recorded::Counted;
            }
        }
        self.finish_slow(grant, f)
    }

    fn to_ticks(&self, d: Duration) -> u64 {
        duration_to_ticks(d, C::TICKS_PER_SECOND)
    }

    #[inline]
    fn abandon_outcome(&self) -> Outcome {
        match self.settings.on_abandon {
            Abandon::Ignore => Outcome::Ignored,
            Abandon::Failure => Outcome::Failure,
        }
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// Everything but the common case of [`Guard::finish`].
    #[inline(never)]
    fn finish_slow(&self, grant: &Grant, f: Finish) -> Recorded {
        let mut now = Now {
            clock: &self.clock,
            value: None,
        };
        let slow = match self.settings.slow_ticks() {
            // Disabled reads no clock at the grant: its calls are never timed.
            Some(limit) if f.outcome != Outcome::Ignored && grant.state() != State::Disabled => {
                let took = match f.duration {
                    Some(d) => d,
                    // Instants wrap at 2^64; more than half of that is a
                    // clock that went back: no time passed, as far as we know.
                    None => match now.get().wrapping_sub(grant.started) {
                        d if d > u64::MAX >> 1 => 0,
                        d => d,
                    },
                };
                took >= limit
            }
            _ => false,
        };
        let recorded = match grant.state() {
            State::Disabled => Recorded::Discarded,
            State::Closed | State::MetricsOnly => self.record_closed(grant, f, slow, &mut now),
            State::HalfOpen => self.record_half_open(grant, f, slow, &mut now),
            State::Open | State::ForcedOpen => Recorded::Stale,
        };
        if recorded == Recorded::Stale {
            if let Some(hint) = f.hint {
                self.extend_open(hint, &mut now);
            }
        }
        self.observer.on_outcome(&OutcomeEvent {
            outcome: f.outcome,
            slow,
            recorded,
            state: grant.state(),
            abandoned: f.abandoned,
        });
        recorded
    }

    fn record_closed(
        &self,
        grant: &Grant,
        f: Finish,
        slow: bool,
        now: &mut Now<'_, C>,
    ) -> Recorded {
        let failure = f.outcome == Outcome::Failure;
        if f.outcome == Outcome::Ignored {
            return if StateWord::unpack(self.current_word()).epoch == grant.epoch() {
                Recorded::Counted
            } else {
                Recorded::Stale
            };
        }
        let judge = (failure || slow) && grant.state() == State::Closed;
        let mut counts = WindowCounts::default();
        let mut in_window = false;
        if self.settings.window {
            let ctx = Ctx {
                epoch: grant.epoch(),
                state: &self.state,
                now: if self.window.kind() == WindowKind::Time {
                    now.get()
                } else {
                    0
                },
                slots: self.settings.slots,
            };
            match self.window.put(&ctx, Entry { failure, slow }, judge) {
                Put::Counted(c) => {
                    counts = c;
                    in_window = true;
                }
                Put::Stale => return Recorded::Stale,
            }
        }
        // A trip during a ramp reopens one level up (`docs/design.md`).
        // Only while the permit's episode is current: a permit a whole timer
        // tag range old carries the tag of a later episode's timer word, and
        // `ramp_left` would read (and, once passed, remove) that episode's
        // deadline as its ramp's end.
        #[cfg(feature = "ramp")]
        let ramp_live = judge
            && match &self.settings.ramp {
                Some(r) => {
                    StateWord::unpack(self.current_word()).epoch == grant.epoch()
                        && self.ramp_left(r, grant.epoch(), None).is_some()
                }
                None => false,
            };
        let step = self.drive(self.current_word(), |sw| {
            let trip = |run| {
                if judge {
                    machine::trip_reason(&self.settings, run, counts, failure, f.hint)
                } else {
                    None
                }
            };
            match machine::closed_outcome(sw, grant.epoch(), failure, trip) {
                ClosedStep::Run(next) => Decision::write(next, ClosedStep::Run(next)),
                ClosedStep::Trip { from, to, reason } => {
                    #[cfg(feature = "ramp")]
                    let to = if ramp_live {
                        machine::ramp_trip(sw)
                    } else {
                        to
                    };
                    Decision::write(to, ClosedStep::Trip { from, to, reason })
                }
                step => Decision::Done(step),
            }
        });
        match step {
            // The window took it before the episode ended.
            ClosedStep::Ended if in_window => Recorded::Counted,
            ClosedStep::Ended => Recorded::Stale,
            ClosedStep::Keep | ClosedStep::Run(_) => Recorded::Counted,
            ClosedStep::Trip { from, to, reason } => {
                let at = now.get();
                let deadline = self.deadline(to, at, f.hint);
                self.committed(from, to, reason, at, counts, Some(deadline));
                Recorded::Counted
            }
        }
    }

    /// The deadline of the open episode `next`, from `at`, honouring a hint.
    fn deadline(&self, next: StateWord, at: u64, hint: Option<u64>) -> u64 {
        let backoff = self.settings.backoff.open_ticks(next.k, next.epoch as u64);
        let asked = match hint {
            Some(h) => h.min(self.settings.max_hint_ticks),
            None => 0,
        };
        at.wrapping_add(backoff.max(asked))
    }

    fn record_half_open(
        &self,
        grant: &Grant,
        f: Finish,
        slow: bool,
        now: &mut Now<'_, C>,
    ) -> Recorded {
        let threshold = self.settings.success_threshold as u32;
        let hint = f.hint.is_some();
        #[cfg(feature = "ramp")]
        let ramp = self.settings.ramp.is_some();
        let mut from = StateWord::INITIAL;
        let step = self.drive(self.current_word(), |sw| {
            from = sw;
            let step =
                machine::half_open_outcome(sw, grant.epoch(), f.outcome, slow, hint, threshold);
            match step {
                HalfOpenStep::Ended => Decision::Done(step),
                #[cfg(feature = "ramp")]
                HalfOpenStep::Close { .. } if ramp => {
                    let to = machine::ramp_close(sw);
                    Decision::write(to, HalfOpenStep::Close { to })
                }
                HalfOpenStep::Reopen { to, .. }
                | HalfOpenStep::Close { to }
                | HalfOpenStep::Count(to) => Decision::write(to, step),
            }
        });
        match step {
            HalfOpenStep::Ended => Recorded::Stale,
            HalfOpenStep::Count(_) => Recorded::Counted,
            HalfOpenStep::Reopen { to, reason } => {
                let at = now.get();
                let deadline = self.deadline(to, at, f.hint);
                self.committed(
                    from,
                    to,
                    reason,
                    at,
                    WindowCounts::default(),
                    Some(deadline),
                );
                Recorded::Counted
            }
            HalfOpenStep::Close { to } => {
                let at = now.get();
                // A ramp's end is published like a deadline, tagged with the
                // closed episode's epoch.
                #[cfg(feature = "ramp")]
                let ramp_end = self.settings.ramp.map(|r| at.wrapping_add(r.total));
                #[cfg(not(feature = "ramp"))]
                let ramp_end = None;
                self.committed(
                    from,
                    to,
                    TransitionReason::ProbesSucceeded,
                    at,
                    WindowCounts::default(),
                    ramp_end,
                );
                Recorded::Counted
            }
        }
    }

    /// A stale permit's hint: lengthen the current open period if it asks
    /// for a later deadline. That is an Open → Open transition with a new
    /// epoch, so nobody half-opens on the deadline it replaces.
    fn extend_open(&self, hint: u64, now: &mut Now<'_, C>) {
        let extended = self.drive(self.current_word(), |sw| {
            if sw.state != State::Open {
                return Decision::Done(None);
            }
            let t = self.timer.load();
            if !TimerUnits::deadline_of(t, sw.epoch) {
                return Decision::Done(None);
            }
            let at = now.get();
            // Compared as durations from `at`: instants wrap at 2^64.
            let asked = hint.min(self.settings.max_hint_ticks);
            if asked <= self.settings.timer.remaining(t, at).unwrap_or(0) {
                return Decision::Done(None);
            }
            let next = machine::hint_extended(sw);
            Decision::write(next, Some((sw, next, at, asked)))
        });
        if let Some((from, to, at, asked)) = extended {
            self.committed(
                from,
                to,
                TransitionReason::HintExtended,
                at,
                WindowCounts::default(),
                Some(at.wrapping_add(asked)),
            );
        }
    }
}
