//! A config converted to clock ticks, once, when the breaker is built.

use crate::backoff::BackoffTicks;
use crate::clock::{duration_to_ticks, ticks_to_duration};
use crate::config::{check_window, Abandon, Config, ConfigError, Misfit, TripPredicate};
use crate::shape::RampTicks;
use crate::timer::TimerUnits;
use crate::window::{SlotClock, WindowKind};

/// Everything the hot path needs, in ticks and basis points.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) consecutive_failures: u32,
    pub(crate) failure_rate_bp: u32,
    pub(crate) slow_rate_bp: u32,
    pub(crate) slow_ticks: Option<u64>,
    pub(crate) minimum_calls: u32,
    pub(crate) backoff: BackoffTicks,
    pub(crate) half_open_permits: u32,
    pub(crate) success_threshold: u32,
    pub(crate) max_wait_ticks: Option<u64>,
    pub(crate) max_hint_ticks: u64,
    pub(crate) on_abandon: Abandon,
    pub(crate) predicate: Option<TripPredicate>,
    pub(crate) timer: TimerUnits,
    pub(crate) slots: SlotClock,
    /// Whether a window must be written (some rule or metrics read it).
    pub(crate) window: bool,
    /// Progressive recovery, when on.
    pub(crate) ramp: Option<RampTicks>,
    /// Adaptive throttling's `K` in basis points; 0 when off.
    pub(crate) throttle_k_bp: u32,
    /// Whether a closed breaker shapes its traffic (a ramp or throttling).
    pub(crate) shaped: bool,
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
        let max_wait_ticks = match c.max_half_open_wait {
            Some(d) => Some(duration_to_ticks(d, hz)),
            None => None,
        };
        let ramp = match c.ramp_up {
            Some(d) => {
                let total = duration_to_ticks(d, hz);
                let n = c.ramp_stages.len() as u64;
                if total < n {
                    return Err(Misfit {
                        error: ConfigError::duration_out_of_range(
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
                Some(r) => r.basis_points(),
                None => 0,
            },
            slow_rate_bp: match c.slow_call_rate {
                Some(r) => r.basis_points(),
                None => 0,
            },
            slow_ticks: match c.slow_call_duration {
                Some(d) => Some(duration_to_ticks(d, hz)),
                None => None,
            },
            minimum_calls: c.minimum_calls,
            backoff,
            half_open_permits: c.half_open_permits,
            success_threshold: c.success_threshold,
            max_wait_ticks,
            max_hint_ticks,
            on_abandon: c.on_abandon,
            predicate: c.trip_predicate,
            timer,
            slots: SlotClock::new(width),
            window: !matches!(kind, WindowKind::None),
            ramp,
            throttle_k_bp: match c.throttle_k {
                Some(k) => k.basis_points(),
                None => 0,
            },
            shaped: ramp.is_some() || c.throttle_k.is_some(),
        })
    }
}
