//! Export and restore (DESIGN §14): what a breaker carries across a process
//! boundary, and the fleet's "adopt a peer's open".
//!
//! [`Breaker::export`](crate::Breaker::export) reads an [`Exported`] value
//! without writing; [`Breaker::restore`](crate::Breaker::restore) installs
//! one as an operator transition; [`Breaker::adopt_open`](crate::Breaker::adopt_open)
//! opens (or lengthens an open period) for a duration a peer reported.
//!
//! # What is carried
//! - the state and operator mode, the backoff level `k`;
//! - the open period's **remaining** time, as a duration (never an instant:
//!   clocks of two processes or machines share no base);
//! - the consecutive-failure run, exactly (one number whose meaning the
//!   config fixes), when the config fingerprints match;
//! - the window counts are exported for information and **never restored**:
//!   an exact window needs the order of its outcomes (count window) or their
//!   ages (time window), which a small `Copy` value does not hold; refilling
//!   a ring or buckets from totals would invent an order and ages, and the
//!   breaker could then trip on outcomes that would already have left its
//!   window. A restored `Closed` breaker starts with an empty window.

use crate::config::{Abandon, Backoff, Config, WindowShape};
use crate::state::{Mode, State};
use crate::window::WindowCounts;
use core::time::Duration;

/// The version of [`Exported`] this crate writes. A value with another
/// version is refused by [`Breaker::restore`](crate::Breaker::restore).
pub const EXPORT_VERSION: u16 = 1;

/// What a breaker carries across a process boundary: a plain, `Copy`,
/// versioned value. Made by [`Breaker::export`](crate::Breaker::export),
/// installed by [`Breaker::restore`](crate::Breaker::restore).
///
/// With the `serde` feature it serializes (field names as below; states as
/// `snake_case` names), so a program can keep it in a file or a database.
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{Breaker, Config, ManualClock, NoWindow, State};
///
/// let clock = ManualClock::<1000>::new();
/// let config = Config::builder().consecutive_failures(1).open_for(Duration::from_secs(30)).build().unwrap();
/// let old: Breaker<_, NoWindow> = Breaker::new(&clock, config);
/// old.try_acquire().unwrap().failure();
/// clock.advance_by(Duration::from_secs(10));
/// let saved = old.export();
/// assert_eq!(saved.open_remaining, Some(Duration::from_secs(20)));
///
/// // Another process, another clock: the open period resumes for what was left.
/// let clock2 = ManualClock::<1000>::new();
/// clock2.advance_by(Duration::from_secs(500));
/// let new: Breaker<_, NoWindow> = Breaker::new(&clock2, config);
/// let report = new.restore(&saved).unwrap();
/// assert_eq!(report.state, State::Open);
/// assert!(new.try_acquire().is_err());
/// clock2.advance_by(Duration::from_secs(20));
/// assert!(new.try_acquire().is_ok()); // the first probe
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Exported {
    /// The format's version, [`EXPORT_VERSION`] when written by this crate.
    pub version: u16,
    /// The state (automatic or operator mode).
    pub state: State,
    /// The operator mode, the one `state` belongs to.
    pub mode: Mode,
    /// The backoff level `k` (re-openings since the breaker was last closed).
    pub backoff_level: u32,
    /// `Open` only: the time left of the open period (zero once due; the
    /// full period of level `k` if its deadline was not yet published).
    pub open_remaining: Option<Duration>,
    /// The consecutive-failure run (`Closed` and `MetricsOnly`). Restored
    /// when the fingerprints match.
    pub consecutive_failures: u32,
    /// The window counts of the current closed or metrics-only episode. For
    /// information: never restored (see the module docs).
    pub window: WindowCounts,
    /// The fingerprint of the config and window shape it was taken under
    /// ([`Config::fingerprint`]).
    pub fingerprint: u64,
}

/// What [`Breaker::restore`](crate::Breaker::restore) installed, and what it
/// did not carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RestoreReport {
    /// The state installed (`Open` for an exported `HalfOpen`).
    pub state: State,
    /// The new epoch: every permit granted before it is stale.
    pub epoch: u64,
    /// The backoff level installed.
    pub backoff_level: u32,
    /// `Open`: the open period installed, measured on this breaker's clock
    /// from the restore (zero: the next call probes).
    pub open_for: Option<Duration>,
    /// The remaining time was longer than this breaker's longest open period
    /// and was cut to it.
    pub clamped: bool,
    /// An exported `HalfOpen` was restored as `Open` with zero remaining.
    pub half_open_as_open: bool,
    /// Whether the exported fingerprint was this breaker's.
    pub fingerprint_matched: bool,
    /// The consecutive run restored.
    pub consecutive_failures: u32,
    /// What was exported and not restored: the run (when the fingerprints
    /// differ) and the window counts (always).
    pub dropped: Dropped,
}

/// Counts that a restore did not carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dropped {
    /// The exported consecutive run, if not restored.
    pub consecutive_failures: u32,
    /// The exported window counts (a restored window starts empty).
    pub window: WindowCounts,
}

/// Why [`Breaker::restore`](crate::Breaker::restore) refused a value. The
/// breaker is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RestoreError {
    /// The value's version is not one this crate reads.
    UnknownVersion(u16),
    /// `mode` is not the mode of `state`.
    Inconsistent {
        /// The exported state.
        state: State,
        /// The exported mode.
        mode: Mode,
    },
}

impl core::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RestoreError::UnknownVersion(v) => write!(
                f,
                "exported breaker state has version {v}; this build reads version {EXPORT_VERSION}"
            ),
            RestoreError::Inconsistent { state, mode } => write!(
                f,
                "exported breaker state is inconsistent: state {state} with mode {mode:?}"
            ),
        }
    }
}

/// What [`Breaker::adopt_open`](crate::Breaker::adopt_open) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AdoptOutcome {
    /// `Closed` → `Open` (reason `Adopted`, backoff level 0) for `open_for`.
    Opened {
        /// The open period installed (after the clamp to the longest open
        /// period).
        open_for: Duration,
        /// The new epoch.
        epoch: u64,
    },
    /// `Open` → `Open` (reason `Adopted`): the deadline moved later, to
    /// `open_for` from now. The backoff level is kept.
    Extended {
        /// The open period installed from now.
        open_for: Duration,
        /// The new epoch.
        epoch: u64,
    },
    /// Already open at least that long: nothing written (an adopted open
    /// never shortens an open period in force).
    AlreadyLonger {
        /// The time left of the open period in force.
        remaining: Duration,
    },
    /// Not adopted in this state: `HalfOpen` (probing stays local: its
    /// probes decide), `ForcedOpen`, `MetricsOnly` and `Disabled` (an
    /// operator's mode holds). Also a zero duration, in any state.
    Ignored {
        /// The state that ignored it.
        state: State,
    },
}

/// 64-bit FNV-1a over `x`'s eight little-endian bytes, continuing `h`.
const fn mix(mut h: u64, x: u64) -> u64 {
    let mut i = 0;
    while i < 8 {
        h ^= (x >> (8 * i)) & 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

const fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .wrapping_mul(1_000_000_000)
        .wrapping_add(d.subsec_nanos() as u64)
}

const fn opt_nanos(d: Option<Duration>) -> u64 {
    match d {
        Some(d) => nanos(d).wrapping_add(1),
        None => 0,
    }
}

impl Config {
    /// A fingerprint of this config and a window shape: equal for configs
    /// whose rules, durations and window are the same, whatever the clock
    /// and the target. It covers every field but the trip predicate's
    /// address (only whether there is one: a function's address differs
    /// between builds), durations in nanoseconds and rates in basis points.
    /// [`Breaker::restore`](crate::Breaker::restore) carries counts only
    /// between equal fingerprints.
    ///
    /// ```
    /// use fusebox_core::{Config, WindowShape};
    /// let a = Config::builder().consecutive_failures(5).build().unwrap();
    /// let b = Config::builder().consecutive_failures(6).build().unwrap();
    /// assert_eq!(a.fingerprint(WindowShape::None), a.fingerprint(WindowShape::None));
    /// assert_ne!(a.fingerprint(WindowShape::None), b.fingerprint(WindowShape::None));
    /// assert_ne!(a.fingerprint(WindowShape::None), a.fingerprint(WindowShape::Count(10)));
    /// ```
    pub const fn fingerprint(&self, window: WindowShape) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325;
        h = mix(h, EXPORT_VERSION as u64);
        h = mix(
            h,
            match self.consecutive_failures {
                Some(n) => n as u64 + 1,
                None => 0,
            },
        );
        h = mix(
            h,
            match self.failure_rate {
                Some(r) => r.0 as u64 + 1,
                None => 0,
            },
        );
        h = mix(
            h,
            match self.slow_call_rate {
                Some(r) => r.0 as u64 + 1,
                None => 0,
            },
        );
        h = mix(h, opt_nanos(self.slow_call_duration));
        h = mix(h, self.minimum_calls as u64);
        h = mix(h, opt_nanos(self.window_span));
        h = mix(h, nanos(self.open_for));
        match self.backoff {
            Backoff::Constant => h = mix(h, 1),
            Backoff::Exponential {
                base,
                multiplier,
                max,
            } => {
                h = mix(h, 2);
                h = mix(h, opt_nanos(base));
                h = mix(h, multiplier.0 as u64);
                h = mix(h, nanos(max));
            }
            Backoff::Linear { base, step, max } => {
                h = mix(h, 3);
                h = mix(h, opt_nanos(base));
                h = mix(h, nanos(step));
                h = mix(h, nanos(max));
            }
        }
        h = mix(h, self.jitter.0 as u64);
        h = mix(h, self.jitter_seed as u64);
        h = mix(h, self.half_open_permits as u64);
        h = mix(h, self.success_threshold as u64);
        h = mix(h, opt_nanos(self.max_half_open_wait));
        h = mix(h, nanos(self.max_trip_hint));
        h = mix(
            h,
            match self.on_abandon {
                Abandon::Ignore => 0,
                Abandon::Failure => 1,
            },
        );
        h = mix(h, self.trip_predicate.is_some() as u64);
        // Progressive recovery and adaptive throttling: the stages only
        // matter with a ramp, so a config without one hashes them as absent.
        // A build without a mode's feature hashes the mode as off, so a
        // config without shaping has one fingerprint whatever the features.
        #[cfg(feature = "ramp")]
        let ramp_up = self.ramp_up;
        #[cfg(not(feature = "ramp"))]
        let ramp_up: Option<Duration> = None;
        h = mix(h, opt_nanos(ramp_up));
        #[cfg(feature = "ramp")]
        if self.ramp_up.is_some() {
            let stages = self.ramp_stages.len();
            h = mix(h, stages as u64);
            let mut i = 0;
            while i < stages && i < crate::shape::MAX_RAMP_STAGES {
                h = mix(h, self.ramp_stages.pct[i] as u64);
                i += 1;
            }
        }
        #[cfg(feature = "throttle")]
        let throttle_k = self.throttle_k;
        #[cfg(not(feature = "throttle"))]
        let throttle_k: Option<crate::Ratio> = None;
        h = mix(
            h,
            match throttle_k {
                Some(k) => k.0 as u64 + 1,
                None => 0,
            },
        );
        let (kind, capacity) = match window {
            WindowShape::None => (0, 0),
            WindowShape::Count(n) => (1, n as u64),
            WindowShape::Time(b) => (2, b as u64),
        };
        h = mix(h, kind);
        mix(h, capacity)
    }
}
