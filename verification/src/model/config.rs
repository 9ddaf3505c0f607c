//! Configuration in ticks and the open-period backoff (DESIGN.md §4, §13).

use super::{Counts, Outcome};

/// Backoff of the open period, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// Always `open_for`.
    Constant,
    /// `base * (multiplier_bp / 10_000)^k`, clamped to `max`.
    Exponential {
        /// `None` means `open_for`.
        base: Option<u64>,
        /// Basis points; 20_000 doubles.
        multiplier_bp: u32,
        /// Upper clamp, applied after jitter.
        max: u64,
    },
    /// `base + k * step`, clamped to `max`.
    Linear {
        /// `None` means `open_for`.
        base: Option<u64>,
        /// Added per re-opening.
        step: u64,
        /// Upper clamp, applied after jitter.
        max: u64,
    },
}

/// What a permit dropped without an outcome means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandon {
    /// Nothing, except that a half-open slot is given back.
    Ignore,
    /// A `Failure` (duration measured from the acquire).
    Failure,
}

/// The window kind, with its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// No window: only the consecutive-failures rule can fire.
    None,
    /// The last `size` recorded outcomes.
    Count {
        /// N.
        size: usize,
    },
    /// `buckets` buckets of `span / buckets` ticks each.
    Time {
        /// B.
        buckets: u64,
        /// The whole span in ticks.
        span: u64,
    },
}

/// The jitter factor in basis points for `(seed, epoch, jitter_bp)`; the
/// harness plugs in the core's published function.
pub type JitterFn = fn(u32, u64, u32) -> u32;

/// The jitter function of a breaker without jitter.
pub fn no_jitter(_seed: u32, _epoch: u64, _jitter_bp: u32) -> u32 {
    10_000
}

/// The configuration, with every duration already in ticks.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Rule 1 threshold.
    pub consecutive_failures: Option<u32>,
    /// Rule 2 threshold in basis points.
    pub failure_rate_bp: Option<u32>,
    /// Rule 3 threshold in basis points.
    pub slow_call_rate_bp: Option<u32>,
    /// A call is slow when its duration is at least this.
    pub slow_call_duration: Option<u64>,
    /// Rates are judged only with at least this many calls in the window.
    pub minimum_calls: u32,
    /// Window kind and size.
    pub window: WindowKind,
    /// Base open period.
    pub open_for: u64,
    /// Backoff between re-openings.
    pub backoff: Backoff,
    /// Jitter fraction in basis points (0 = off).
    pub jitter_bp: u32,
    /// Seed of the jitter PRNG.
    pub jitter_seed: u32,
    /// The jitter function (the core's, in the differential tests).
    pub jitter_fn: JitterFn,
    /// Probes admitted per half-open episode.
    pub half_open_permits: u32,
    /// Successes that close a half-open episode.
    pub success_threshold: u32,
    /// An undecided half-open episode reopens after this.
    pub max_half_open_wait: Option<u64>,
    /// Clamp for `trip_for` hints.
    pub max_trip_hint: u64,
    /// What a dropped permit means.
    pub on_abandon: Abandon,
    /// Extra rule over the window counts.
    pub trip_predicate: Option<fn(&Counts) -> bool>,
    /// The backoff level saturates here (the width of its field in the core).
    pub max_backoff_level: u32,
    /// Progressive recovery: the ramp's length in ticks (`None`: off).
    pub ramp_up: Option<u64>,
    /// The ramp's stages, in percent.
    pub ramp_stages: &'static [u8],
    /// Adaptive throttling's `K` in basis points (`None`: off).
    pub throttle_k_bp: Option<u32>,
    /// The admission draw of `(seed, epoch, m)` in `0..10_000`; the harness
    /// plugs in the core's published function (`shape::admission_draw_bp`).
    pub admission_fn: AdmissionFn,
}

/// The admission draw for `(seed, epoch, attempt)`, in basis points.
pub type AdmissionFn = fn(u32, u64, u64) -> u32;

/// An admission draw for configs without shaping: never called.
pub fn no_admission(_seed: u32, _epoch: u64, _m: u64) -> u32 {
    unreachable!("no ramp and no throttle configured")
}

impl Config {
    /// The builder defaults of docs/core-api.md, no rule enabled.
    pub fn new(open_for: u64) -> Self {
        Config {
            consecutive_failures: None,
            failure_rate_bp: None,
            slow_call_rate_bp: None,
            slow_call_duration: None,
            minimum_calls: 1,
            window: WindowKind::None,
            open_for,
            backoff: Backoff::Constant,
            jitter_bp: 0,
            jitter_seed: 0,
            jitter_fn: no_jitter,
            half_open_permits: 1,
            success_threshold: 1,
            max_half_open_wait: None,
            max_trip_hint: 600_000,
            on_abandon: Abandon::Ignore,
            trip_predicate: None,
            max_backoff_level: 31,
            ramp_up: None,
            ramp_stages: &[10, 25, 50, 100],
            throttle_k_bp: None,
            admission_fn: no_admission,
        }
    }

    /// Open period for backoff level `k` of an Open episode with `epoch`.
    ///
    /// Jitter multiplies the raw duration before the clamp to `max`
    /// (DESIGN.md §13). Arithmetic is exact (rationals in u128), saturating.
    /// Decision: an open period is at least one tick.
    pub fn open_duration(&self, k: u32, epoch: u64) -> u64 {
        self.raw_open_duration(k, epoch).max(1)
    }

    fn raw_open_duration(&self, k: u32, epoch: u64) -> u64 {
        let jitter = |raw: u64| -> u64 {
            if self.jitter_bp == 0 {
                return raw;
            }
            let f = (self.jitter_fn)(self.jitter_seed, epoch, self.jitter_bp) as u128;
            sat(raw as u128 * f / 10_000)
        };
        match self.backoff {
            Backoff::Constant => jitter(self.open_for),
            Backoff::Exponential {
                base,
                multiplier_bp,
                max,
            } => {
                let base = base.unwrap_or(self.open_for);
                // Past `cap` the jittered value is above `max` whatever the
                // factor (>= 1 - jitter), so the exact power can stop there.
                let cap =
                    (max as u128 * 10_000).div_ceil(10_000 - self.jitter_bp.min(9_999) as u128);
                jitter(exp_raw(base, multiplier_bp, k, sat(cap))).min(max)
            }
            Backoff::Linear { base, step, max } => {
                let base = base.unwrap_or(self.open_for);
                let raw = (base as u128) + (k as u128) * (step as u128);
                jitter(sat(raw)).min(max)
            }
        }
    }

    /// Whether an outcome that took `duration` ticks is slow (ignored ones
    /// never are).
    pub fn is_slow(&self, outcome: Outcome, duration: u64) -> bool {
        outcome != Outcome::Ignored && self.slow_call_duration.is_some_and(|s| duration >= s)
    }
}

fn sat(v: u128) -> u64 {
    v.min(u64::MAX as u128) as u64
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `min(cap, floor(base * (m / 10_000)^k))`, exact.
fn exp_raw(base: u64, multiplier_bp: u32, k: u32, cap: u64) -> u64 {
    let g = gcd(multiplier_bp as u128, 10_000);
    let (p, q) = (multiplier_bp as u128 / g, 10_000 / g);
    let (mut num, mut den) = (base as u128, 1u128);
    for _ in 0..k {
        if num / den >= cap as u128 {
            return cap;
        }
        match (num.checked_mul(p), den.checked_mul(q)) {
            (Some(n), Some(d)) => {
                let g = gcd(n, d);
                num = n / g;
                den = d / g;
            }
            // Only multipliers with a large reduced denominator (not a
            // multiple of 0.5) get here; the generated configs never use them.
            _ => panic!("model: exponential backoff {multiplier_bp} bp overflows at k={k}"),
        }
    }
    sat(num / den).min(cap)
}
