//! Export, restore and adopting a peer's open (DESIGN §14). The values and
//! what crosses a process boundary are described in [`crate::export`].

use super::Breaker;
use crate::clock::{duration_to_ticks, ticks_to_duration, Clock};
use crate::export::{AdoptOutcome, Dropped, Exported, RestoreError, RestoreReport, EXPORT_VERSION};
use crate::machine::{self, Decision};
use crate::observer::{Observer, TransitionReason};
use crate::state::{State, StateWord, K_MAX, RUN_MAX};
use crate::timer::{Published, TimerUnits};
use crate::window::{AnyWindow, WindowCounts, WindowKind};
use core::time::Duration;

/// What `adopt_open` decided on one state word.
#[derive(Clone, Copy, Debug)]
enum Adopt {
    Installed(StateWord, StateWord),
    Longer(u64),
    Ignored(State),
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// The fingerprint of this breaker's config and window shape
    /// ([`Config::fingerprint`](crate::Config::fingerprint)).
    pub fn fingerprint(&self) -> u64 {
        self.settings.fingerprint
    }

    /// Publishes `deadline` for the open episode `epoch` that this thread's
    /// CAS just installed, and makes it the one in force: a caller that saw
    /// the episode before this publication published the backoff period of
    /// its level from its own clock (the rule for trips, whose openers may
    /// be preempted), which is not the period a restore or an adoption asks
    /// for. That word carries the same tag, so replacing exactly it (as a
    /// re-anchor does) leaves the publication protocol's argument intact; a
    /// newer episode's word is never touched. A caller could have acted on
    /// the replaced deadline only if it passed in between, i.e. if this
    /// thread was suspended for a whole open period between two adjacent
    /// atomic steps.
    fn insist_on_deadline(&self, epoch: crate::sync::Word, deadline: u64) {
        let mine = self.settings.timer.encode(epoch, deadline);
        if let Published::InForce(t) = self.timer.publish_for(&self.state, epoch, mine) {
            if t != mine {
                let _ = self.timer.reanchor(t, mine);
            }
        }
    }

    /// What this breaker would carry across a process boundary (see
    /// [`Exported`]). Never writes, like [`snapshot`](Self::snapshot): an
    /// open breaker whose deadline has passed exports zero remaining rather
    /// than moving to half-open.
    pub fn export(&self) -> Exported {
        let sw = StateWord::unpack(self.current_word());
        let now = if sw.state == State::Open || self.window.kind() == WindowKind::Time {
            self.clock.now()
        } else {
            0
        };
        let open_remaining = if sw.state == State::Open {
            let t = self.timer.load();
            let ticks = if TimerUnits::deadline_of(t, sw.epoch) {
                self.settings.timer.remaining(t, now).unwrap_or(0)
            } else {
                // Its opener has not published the deadline yet: it will
                // be the full period of level `k` from about now.
                self.settings.backoff.open_ticks(sw.k, sw.epoch as u64)
            };
            Some(ticks_to_duration(ticks, C::TICKS_PER_SECOND))
        } else {
            None
        };
        let window = if sw.state.uses_window() {
            self.window.counts(sw.epoch, now, self.settings.slots)
        } else {
            WindowCounts::default()
        };
        Exported {
            version: EXPORT_VERSION,
            state: sw.state,
            mode: sw.state.mode(),
            backoff_level: sw.k,
            open_remaining,
            consecutive_failures: sw.run(),
            window,
            fingerprint: self.settings.fingerprint,
        }
    }

    /// Installs an exported state, as an operator transition (reason
    /// [`Restored`](TransitionReason::Restored)): one compare-and-swap on the
    /// state word with a new epoch, so every permit granted before it is
    /// stale.
    ///
    /// - `Open` resumes for its remaining time, measured on this breaker's
    ///   clock from now (its deadline rounded *down* to the timer's unit,
    ///   so never longer than recorded; a trip's deadline is rounded up)
    ///   and cut to this breaker's longest open period (the
    ///   longest of its backoff's maximum, `max_trip_hint` and
    ///   `max_half_open_wait`); `HalfOpen` restores as `Open` with zero
    ///   remaining, so the next call probes. The backoff level is kept.
    /// - `Closed`, `ForcedOpen`, `MetricsOnly`, `Disabled` are installed as
    ///   they were, backoff level 0 (as every other way into them).
    /// - The consecutive run is carried when the fingerprints match (capped
    ///   below this breaker's threshold in `Closed`); the window counts are
    ///   never carried and the window starts empty. [`RestoreReport::dropped`]
    ///   says what was not carried.
    ///
    /// A value of an unknown version, or whose mode is not its state's, is
    /// refused and changes nothing.
    pub fn restore(&self, value: &Exported) -> Result<RestoreReport, RestoreError> {
        if value.version != EXPORT_VERSION {
            return Err(RestoreError::UnknownVersion(value.version));
        }
        if value.mode != value.state.mode() {
            return Err(RestoreError::Inconsistent {
                state: value.state,
                mode: value.mode,
            });
        }
        let matched = value.fingerprint == self.settings.fingerprint;
        let half_open_as_open = value.state == State::HalfOpen;
        let state = if half_open_as_open {
            State::Open
        } else {
            value.state
        };
        let k = value.backoff_level.min(K_MAX);
        let run = if matched && state.uses_window() {
            let cap = match (state, self.settings.consecutive_failures) {
                // A run at the threshold would have tripped: keep it below.
                (State::Closed, n) if n > 0 => n - 1,
                _ => RUN_MAX,
            };
            value.consecutive_failures.min(cap)
        } else {
            0
        };
        let longest = self.settings.longest_open();
        let asked = match (state, half_open_as_open) {
            (State::Open, false) => duration_to_ticks(
                value.open_remaining.unwrap_or(Duration::ZERO),
                C::TICKS_PER_SECOND,
            ),
            _ => 0,
        };
        let left = asked.min(longest);
        let now = self.clock.now();
        let (from, to) = self.drive(self.current_word(), |sw| {
            let next = machine::restored(sw, state, k, run);
            Decision::write(next, (sw, next))
        });
        let deadline = match state {
            State::Open if left == 0 => Some(self.settings.timer.passed(now)),
            // Rounded down to the timer's unit: a restored period never
            // ends later than recorded (a trip's is rounded up instead).
            State::Open => Some(self.settings.timer.floor(now.wrapping_add(left))),
            _ => None,
        };
        if let Some(d) = deadline {
            self.insist_on_deadline(to.epoch, d);
        }
        self.committed(
            from,
            to,
            TransitionReason::Restored,
            now,
            WindowCounts::default(),
            deadline,
        );
        let dropped_run = if state.uses_window() && matched {
            value.consecutive_failures - run
        } else {
            value.consecutive_failures
        };
        Ok(RestoreReport {
            state,
            epoch: to.epoch as u64,
            backoff_level: to.k,
            open_for: match state {
                State::Open => Some(ticks_to_duration(left, C::TICKS_PER_SECOND)),
                _ => None,
            },
            clamped: asked > longest,
            half_open_as_open,
            fingerprint_matched: matched,
            consecutive_failures: to.run(),
            dropped: Dropped {
                consecutive_failures: dropped_run,
                window: value.window,
            },
        })
    }

    /// Adopts a peer's open period (DESIGN §14, for a fleet of processes
    /// sharing what they know about a dependency): `Closed` → `Open` for
    /// `open_for` (backoff level 0), or, when already `Open`, an extension
    /// to `open_for` from now if that is later than the deadline in force
    /// (`Open` → `Open`, keeping the level, as a `trip_for` hint's
    /// extension does). Either is a transition with a new epoch and reason
    /// [`Adopted`](TransitionReason::Adopted).
    ///
    /// - Never shortens an open period in force ([`AdoptOutcome::AlreadyLonger`]).
    /// - `open_for` is cut to this breaker's longest open period, as a
    ///   restore's remaining time is; it is not raised to the configured
    ///   backoff (the peer's deadline is the one adopted).
    /// - Ignored, and reported as [`AdoptOutcome::Ignored`], in `HalfOpen`
    ///   (probing stays local: the episode's own probes decide), in the
    ///   operator modes `ForcedOpen`, `MetricsOnly` and `Disabled`, and for
    ///   a zero duration.
    ///
    /// ```
    /// use core::time::Duration;
    /// use fusebox_core::{AdoptOutcome, Breaker, Config, ManualClock, NoWindow, State};
    ///
    /// let clock = ManualClock::<1000>::new();
    /// let config = Config::builder().consecutive_failures(3).build().unwrap();
    /// let b: Breaker<_, NoWindow> = Breaker::new(&clock, config);
    /// let peer_left = Duration::from_secs(12);
    /// assert!(matches!(b.adopt_open(peer_left), AdoptOutcome::Opened { .. }));
    /// assert_eq!(b.state(), State::Open);
    /// // A shorter report never shortens it.
    /// assert!(matches!(b.adopt_open(Duration::from_secs(5)), AdoptOutcome::AlreadyLonger { .. }));
    /// clock.advance_by(peer_left);
    /// assert!(b.try_acquire().is_ok()); // half-open: probing is local
    /// ```
    pub fn adopt_open(&self, open_for: Duration) -> AdoptOutcome {
        let asked =
            duration_to_ticks(open_for, C::TICKS_PER_SECOND).min(self.settings.longest_open());
        let now = self.clock.now();
        let decided = self.drive(self.current_word(), |sw| {
            if asked == 0 {
                return Decision::Done(Adopt::Ignored(sw.state));
            }
            if sw.state == State::Open {
                // The deadline in force (publishing the opener's from `now`
                // if it has not yet, so that it can be compared).
                match self.open_remaining(sw, now) {
                    Ok(Some(left)) if left >= asked => return Decision::Done(Adopt::Longer(left)),
                    Ok(_) => {}
                    Err(fresh) => return Decision::Reread(fresh),
                }
            }
            match machine::adopted(sw) {
                Some(next) => Decision::write(next, Adopt::Installed(sw, next)),
                None => Decision::Done(Adopt::Ignored(sw.state)),
            }
        });
        match decided {
            Adopt::Ignored(state) => AdoptOutcome::Ignored { state },
            Adopt::Longer(left) => AdoptOutcome::AlreadyLonger {
                remaining: ticks_to_duration(left, C::TICKS_PER_SECOND),
            },
            Adopt::Installed(from, to) => {
                let deadline = now.wrapping_add(asked);
                self.insist_on_deadline(to.epoch, deadline);
                self.committed(
                    from,
                    to,
                    TransitionReason::Adopted,
                    now,
                    WindowCounts::default(),
                    Some(deadline),
                );
                let open_for = ticks_to_duration(asked, C::TICKS_PER_SECOND);
                let epoch = to.epoch as u64;
                if from.state == State::Closed {
                    AdoptOutcome::Opened { open_for, epoch }
                } else {
                    AdoptOutcome::Extended { open_for, epoch }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
