//! A minimal `Instant`-based [`Clock`], until `fusebox-std` ships its own.

use std::sync::OnceLock;
use std::time::Instant;

use fusebox_core::Clock;

/// The process-wide origin: every `InstantClock` counts from the same instant.
static BASE: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since a process-wide base `Instant`: what a std user pays per
/// clock read (`clock_gettime(CLOCK_MONOTONIC)` through the vDSO on Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct InstantClock;

impl InstantClock {
    /// A clock; all of them share one origin, set on first use.
    pub fn new() -> Self {
        let _ = BASE.get_or_init(Instant::now);
        Self
    }
}

impl Clock for InstantClock {
    const TICKS_PER_SECOND: u64 = 1_000_000_000;

    #[inline]
    fn now(&self) -> u64 {
        // Truncation: u64 nanoseconds last 584 years.
        BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}
