//! A config converted to clock ticks, once, when the breaker is built.

use crate::backoff::BackoffTicks;
use crate::clock::duration_to_ticks;
#[cfg(feature = "ramp")]
use crate::clock::ticks_to_duration;
use crate::config::{check_window, Abandon, Config, Misfit, TripPredicate, WindowShape};
#[cfg(feature = "ramp")]
use crate::shape::RampTicks;
use crate::timer::TimerUnits;
use crate::window::{SlotClock, WindowKind};
use core::num::NonZeroU64;
use core::time::Duration;

/// Everything the breaker needs from its config, in ticks and basis points,
/// each in the narrowest field its checked range allows (see "Breaker size"
/// in `docs/design.md`): 128 bytes on every target without the shaping
/// features, 168 with `ramp`, 136 with `throttle` alone (pinned by
/// `settings_stay_compact`); the `Config` it comes from is larger. An
/// optional duration is an `Option<NonZeroU64>` (the builder refuses zero
/// durations, and ticks round up, so none converts to 0), which costs no tag
/// word. A new optional setting belongs in the cold part, in the same narrow
/// form, behind its feature if it is a mode a firmware may not want.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    // Hot: read by admission and by every recorded outcome.
    /// Rule 1's run, 0 when off (at most `RUN_MAX`, 2^24 - 1).
    pub(crate) consecutive_failures: u32,
    /// At most `u16::MAX` (checked by the builder).
    pub(crate) minimum_calls: u16,
    /// Rule 2, basis points, 0 when off.
    pub(crate) failure_rate_bp: u16,
    /// Rule 3, basis points, 0 when off.
    pub(crate) slow_rate_bp: u16,
    /// At most `HALF_MAX` (2^12 - 1 / 2^5 - 1).
    pub(crate) half_open_permits: u16,
    pub(crate) success_threshold: u16,
    pub(crate) on_abandon: Abandon,
    /// Whether a window must be written (some rule or metrics read it).
    pub(crate) window: bool,
    /// Whether a closed breaker shapes its traffic (a ramp or throttling).
    /// Only with the `ramp` or `throttle` feature.
    #[cfg(any(feature = "ramp", feature = "throttle"))]
    pub(crate) shaped: bool,
    slow: Option<NonZeroU64>,
    pub(crate) timer: TimerUnits,
    pub(crate) slots: SlotClock,
    // Cold: read only when a transition happens (the throttle's K on shaped
    // admissions only).
    pub(crate) backoff: BackoffTicks,
    pub(crate) max_hint_ticks: u64,
    max_wait: Option<NonZeroU64>,
    pub(crate) predicate: Option<TripPredicate>,
    /// [`Config::fingerprint`] of the config and window shape.
    pub(crate) fingerprint: u64,
    /// Progressive recovery, when on (feature `ramp`).
    #[cfg(feature = "ramp")]
    pub(crate) ramp: Option<RampTicks>,
    /// Adaptive throttling's `K` in basis points; 0 when off (feature `throttle`).
    #[cfg(feature = "throttle")]
    pub(crate) throttle_k_bp: u32,
}

/// `ticks` of an optional duration: never 0 (durations are at least 1 ns and
/// round up to a whole tick).
const fn nonzero(d: Option<Duration>, hz: u64) -> Option<NonZeroU64> {
    match d {
        Some(d) => NonZeroU64::new(duration_to_ticks(d, hz)),
        None => None,
    }
}

/// Whether `c` shapes a closed breaker's traffic (a ramp or throttling).
#[cfg(any(feature = "ramp", feature = "throttle"))]
const fn shaped(c: &Config) -> bool {
    #[cfg(feature = "ramp")]
    if c.ramp_up.is_some() {
        return true;
    }
    #[cfg(feature = "throttle")]
    if c.throttle_k.is_some() {
        return true;
    }
    false
}

impl Settings {
    pub(crate) const fn new(
        c: &Config,
        hz: u64,
        kind: WindowKind,
        capacity: usize,
    ) -> Result<Settings, Misfit> {
        let open = duration_to_ticks(c.open_for, hz);
        let backoff = BackoffTicks::new(c.backoff, open, c.jitter, c.jitter_seed, hz);
        let max_hint_ticks = duration_to_ticks(c.max_trip_hint, hz);
        let max_wait = nonzero(c.max_half_open_wait, hz);
        let max_wait_ticks = match max_wait {
            Some(w) => Some(w.get()),
            None => None,
        };
        #[cfg(feature = "ramp")]
        let ramp = match c.ramp_up {
            Some(d) => {
                let total = duration_to_ticks(d, hz);
                let n = c.ramp_stages.len() as u64;
                if total < n {
                    return Err(Misfit {
                        error: crate::config::ConfigError::duration_out_of_range(
                            "ramp_up",
                            d,
                            ticks_to_duration(n, hz),
                            crate::config::MAX_DURATION,
                        ),
                        panic: "fusebox: ramp_up is shorter than one clock tick per stage",
                    });
                }
                Some(RampTicks::new(total, c.ramp_stages))
            }
            None => None,
        };
        let mut longest = backoff.longest();
        #[cfg(feature = "ramp")]
        if let Some(r) = ramp {
            // The ramp's end is stored in the timer word like a deadline.
            if r.total > longest {
                longest = r.total;
            }
        }
        if max_hint_ticks > longest {
            longest = max_hint_ticks;
        }
        if let Some(w) = max_wait_ticks {
            if w > longest {
                longest = w;
            }
        }
        let mut shortest = open;
        if let Some(w) = max_wait_ticks {
            if w < shortest {
                shortest = w;
            }
        }
        let timer = match TimerUnits::new(longest, shortest, hz) {
            Ok(t) => t,
            Err(error) => {
                return Err(Misfit {
                    error,
                    panic: "fusebox: open_for (or max_half_open_wait) is too short for this target's deadline range (see Breaker::try_new)",
                })
            }
        };
        let width = match check_window(c, hz, kind, capacity) {
            Ok(w) => w,
            Err(e) => return Err(e),
        };
        Ok(Settings {
            consecutive_failures: match c.consecutive_failures {
                Some(n) => n,
                None => 0,
            },
            failure_rate_bp: match c.failure_rate {
                Some(r) => r.basis_points() as u16,
                None => 0,
            },
            slow_rate_bp: match c.slow_call_rate {
                Some(r) => r.basis_points() as u16,
                None => 0,
            },
            slow: nonzero(c.slow_call_duration, hz),
            // Checked by the builder: 1..=u16::MAX.
            minimum_calls: c.minimum_calls as u16,
            backoff,
            // Checked by the builder: at most HALF_MAX.
            half_open_permits: c.half_open_permits as u16,
            success_threshold: c.success_threshold as u16,
            max_wait,
            max_hint_ticks,
            on_abandon: c.on_abandon,
            predicate: c.trip_predicate,
            timer,
            slots: SlotClock::new(width),
            window: !matches!(kind, WindowKind::None),
            fingerprint: c.fingerprint(match kind {
                WindowKind::None => WindowShape::None,
                WindowKind::Count => WindowShape::Count(capacity),
                WindowKind::Time => WindowShape::Time(capacity),
            }),
            #[cfg(feature = "ramp")]
            ramp,
            #[cfg(feature = "throttle")]
            throttle_k_bp: match c.throttle_k {
                Some(k) => k.basis_points(),
                None => 0,
            },
            #[cfg(any(feature = "ramp", feature = "throttle"))]
            shaped: shaped(c),
        })
    }

    /// The slow-call limit in ticks, if slow calls are timed.
    #[inline]
    pub(crate) const fn slow_ticks(&self) -> Option<u64> {
        match self.slow {
            Some(t) => Some(t.get()),
            None => None,
        }
    }

    /// The longest open period this config can set, in ticks: the longest of
    /// the backoff's maximum, `max_trip_hint` and `max_half_open_wait`. A
    /// restored or adopted open period is cut to it. The timer's own
    /// longest period ([`TimerUnits::longest`]) also holds a ramp's length,
    /// which is not an open period.
    pub(crate) const fn longest_open(&self) -> u64 {
        let mut longest = self.backoff.longest();
        if self.max_hint_ticks > longest {
            longest = self.max_hint_ticks;
        }
        if let Some(w) = self.max_wait_ticks() {
            if w > longest {
                longest = w;
            }
        }
        longest
    }

    /// `max_half_open_wait` in ticks, if set.
    #[inline]
    pub(crate) const fn max_wait_ticks(&self) -> Option<u64> {
        match self.max_wait {
            Some(t) => Some(t.get()),
            None => None,
        }
    }
}
