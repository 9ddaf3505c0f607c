//! The closed state's traffic shaping (`docs/design.md`, "Progressive
//! recovery and adaptive throttling"): the ramp after a close and adaptive
//! throttling. Reached from `admit` only when one of them is configured;
//! compiled only with the `ramp` or `throttle` feature, each part with its
//! own.

use super::Breaker;
use crate::clock::Clock;
use crate::observer::Observer;
use crate::permit::{Grant, RejectReason, Rejected};
#[cfg(feature = "throttle")]
use crate::shape::{admission_draw_bp, throttle_bp};
#[cfg(feature = "ramp")]
use crate::shape::{ramp_admits, RampTicks};
use crate::state::{State, StateWord};
#[cfg(feature = "ramp")]
use crate::sync::Word;
#[cfg(feature = "ramp")]
use crate::timer::TimerUnits;
use crate::window::AnyWindow;

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// Admission in the closed episode `sw` of a breaker with a ramp or
    /// throttling configured. Out of line: the plain closed path stays one
    /// load and two compares.
    #[inline(never)]
    pub(super) fn admit_shaped(&self, sw: StateWord) -> Result<Grant, Rejected> {
        let seed = self.settings.backoff.seed;
        #[cfg(feature = "ramp")]
        if let Some(ramp) = &self.settings.ramp {
            if let Some(left) = self.ramp_left(ramp, sw.epoch, None) {
                let (share, next_stage) = ramp.stage_at(left);
                if share < 10_000 {
                    let m = self.seq.next(sw.epoch);
                    if !ramp_admits(seed, sw.epoch as u64, m, share) {
                        return Err(self.reject_for(
                            State::Closed,
                            Some(next_stage),
                            RejectReason::Ramp,
                        ));
                    }
                }
            }
        }
        #[cfg(feature = "throttle")]
        if self.settings.throttle_k_bp > 0 {
            let now = self.clock.now();
            let slots = self.settings.slots;
            let c = self.window.counts(sw.epoch, now, slots);
            let slot = slots.slot(now);
            let throttled = self.window.throttled_sum(sw.epoch, slot);
            let accepts = c.calls.saturating_sub(c.failures) as u64;
            let requests = c.calls as u64 + throttled;
            let p = throttle_bp(requests, accepts, self.settings.throttle_k_bp);
            if p > 0 {
                let m = self.seq.next(sw.epoch);
                if admission_draw_bp(seed, sw.epoch as u64, m.wrapping_add(1)) < p {
                    self.window.throttled_add(sw.epoch, slot);
                    return Err(self.reject_for(State::Closed, None, RejectReason::Throttled));
                }
            }
        }
        Ok(Grant::new(sw.epoch, State::Closed, self.start_time()))
    }

    /// Ticks left in the ramp of the closed episode `epoch`, at most
    /// `ramp.total`, or `None` when it has no ramp in force. `now`: a clock
    /// reading already taken, if any.
    ///
    /// The closer stores the ramp's end in the timer word, tagged with the
    /// episode's epoch; a word without one (no ramp, or one that ended) costs
    /// this one load and compare. The first caller that finds the end passed
    /// replaces exactly that word with the episode's no-deadline word, so the
    /// clock is not read again in the episode.
    #[cfg(feature = "ramp")]
    pub(crate) fn ramp_left(&self, ramp: &RampTicks, epoch: Word, now: Option<u64>) -> Option<u64> {
        let t = self.timer.load();
        if !TimerUnits::deadline_of(t, epoch) {
            return None;
        }
        let now = match now {
            Some(n) => n,
            None => self.clock.now(),
        };
        let units = &self.settings.timer;
        if units.went_back(t, now) {
            // The clock went back past the guard: the ramp restarts from a
            // fresh reading (late, never early, as an open period).
            let fresh = self.clock.now();
            let _ = self
                .timer
                .reanchor(t, units.encode(epoch, fresh.wrapping_add(ramp.total)));
            return Some(ramp.total);
        }
        match units.remaining(t, now) {
            Some(left) => Some(if left > ramp.total { ramp.total } else { left }),
            None => {
                // Same tag: the publication protocol is untouched (see `timer`).
                let _ = self.timer.reanchor(t, TimerUnits::none(epoch));
                None
            }
        }
    }
}
