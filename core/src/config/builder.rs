//! [`ConfigBuilder`]: one `const` setter per field; [`build`](ConfigBuilder::build)
//! hands the result to `validate`.

use super::{validate, Abandon, Backoff, Config, ConfigError, Ratio, TripPredicate};
#[cfg(feature = "ramp")]
use crate::shape::RampStages;
use core::time::Duration;

/// Builds a [`Config`]; every method is `const`.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// The builder over the documented defaults (see [`Config::builder`]).
    pub(super) const fn from_defaults(c: Config) -> ConfigBuilder {
        ConfigBuilder(c)
    }

    /// Rule 1: trip after `n` failures with no success between them
    /// (`1..=16_777_215`; `1..=1023` on 32-bit targets).
    pub const fn consecutive_failures(mut self, n: u32) -> Self {
        self.0.consecutive_failures = Some(n);
        self
    }
    /// Rule 2: trip when `failures / calls >= rate` over a window holding at
    /// least `minimum_calls` outcomes (`0.01 %..=100 %`).
    pub const fn failure_rate(mut self, rate: Ratio) -> Self {
        self.0.failure_rate = Some(rate);
        self
    }
    /// Rule 3: trip when `slow / calls >= rate` (needs `slow_call_duration`).
    pub const fn slow_call_rate(mut self, rate: Ratio) -> Self {
        self.0.slow_call_rate = Some(rate);
        self
    }
    /// A call lasting at least `d` is slow. Also makes a slow half-open
    /// probe re-open the breaker.
    pub const fn slow_call_duration(mut self, d: Duration) -> Self {
        self.0.slow_call_duration = Some(d);
        self
    }
    /// Outcomes the window must hold before a rate rule may fire (default 1).
    pub const fn minimum_calls(mut self, n: u32) -> Self {
        self.0.minimum_calls = n;
        self
    }
    /// Span of a [`TimeWindow`](crate::TimeWindow) (required for one).
    pub const fn window_span(mut self, d: Duration) -> Self {
        self.0.window_span = Some(d);
        self
    }
    /// The first open period (default 30 s).
    pub const fn open_for(mut self, d: Duration) -> Self {
        self.0.open_for = d;
        self
    }
    /// Growth of the open period (default [`Backoff::Constant`]).
    pub const fn backoff(mut self, b: Backoff) -> Self {
        self.0.backoff = b;
        self
    }
    /// Spread each open period over `[1 - j, 1 + j]` of its length
    /// (default 0, at most 90 %), deterministically from the seed and epoch.
    pub const fn jitter(mut self, j: Ratio) -> Self {
        self.0.jitter = j;
        self
    }
    /// Seed of the jitter function (default 0); give each breaker its own.
    pub const fn jitter_seed(mut self, seed: u32) -> Self {
        self.0.jitter_seed = seed;
        self
    }
    /// Probes admitted per half-open episode (default 1).
    pub const fn half_open_permits(mut self, n: u32) -> Self {
        self.0.half_open_permits = n;
        self
    }
    /// Successful probes that close the breaker (default 1, at most
    /// `half_open_permits`).
    pub const fn success_threshold(mut self, n: u32) -> Self {
        self.0.success_threshold = n;
        self
    }
    /// Re-open a half-open episode still undecided after `d` (default: wait).
    pub const fn max_half_open_wait(mut self, d: Duration) -> Self {
        self.0.max_half_open_wait = Some(d);
        self
    }
    /// Clamp for [`trip_for`](crate::Permit::trip_for) hints (default 10 min).
    pub const fn max_trip_hint(mut self, d: Duration) -> Self {
        self.0.max_trip_hint = d;
        self
    }
    /// What an unrecorded dropped permit means (default [`Abandon::Ignore`]).
    pub const fn on_abandon(mut self, a: Abandon) -> Self {
        self.0.on_abandon = a;
        self
    }
    /// An extra trip rule over the window counts.
    pub const fn trip_predicate(mut self, p: TripPredicate) -> Self {
        self.0.trip_predicate = Some(p);
        self
    }

    /// Progressive recovery (off by default; cargo feature `ramp`): after a
    /// half-open episode
    /// closes, admit only the current stage's share of calls for `d / stages`
    /// each (see [`ramp_stages`](Self::ramp_stages)); the others are rejected
    /// with [`RejectReason::Ramp`](crate::RejectReason::Ramp).
    #[cfg(feature = "ramp")]
    pub const fn ramp_up(mut self, d: Duration) -> Self {
        self.0.ramp_up = Some(d);
        self
    }
    /// The ramp's stages in percent: 1 to 8, strictly increasing, each
    /// `1..=100` (default 10, 25, 50, 100). Needs [`ramp_up`](Self::ramp_up).
    #[cfg(feature = "ramp")]
    pub const fn ramp_stages(mut self, pct: &[u8]) -> Self {
        self.0.ramp_stages = RampStages::new(pct);
        self.0.ramp_stages_set = true;
        self
    }
    /// Adaptive throttling (off by default; cargo feature `throttle`): while
    /// closed, reject a call with
    /// probability `max(0, (requests − K·accepts) / (requests + 1))` over the
    /// time window (`K` at least 1.0, at most 100; needs a
    /// [`TimeWindow`](crate::TimeWindow)); rejected calls carry
    /// [`RejectReason::Throttled`](crate::RejectReason::Throttled).
    #[cfg(feature = "throttle")]
    pub const fn throttle_k(mut self, k: Ratio) -> Self {
        self.0.throttle_k = Some(k);
        self
    }

    /// Checks every field.
    pub const fn build(self) -> Result<Config, ConfigError> {
        validate::check(self.0)
    }
}
