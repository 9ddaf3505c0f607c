//! The benches' clocks: [`InstantClock`] (`Instant`, what `fusebox_std::StdClock`
//! does) and [`QuantaClock`] (the TSC through `quanta`), a DESIGN §8 candidate.

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

/// Nanoseconds since this clock's construction, read from a calibrated
/// [`quanta::Clock`]: one `rdtsc` scaled by a multiply and a shift where the
/// CPU has an invariant TSC, `clock_gettime` otherwise.
///
/// The raw TSC counts at a frequency known only at run time, and the core's
/// `Clock::TICKS_PER_SECOND` is a constant (config durations are converted to
/// ticks once, with no division on the hot path), so the raw ticks cannot be
/// the core's ticks; quanta's scaled nanoseconds can. Construction
/// calibrates the TSC against the OS clock once per process (up to about
/// 200 ms, quanta's docs say).
#[derive(Clone, Debug)]
pub struct QuantaClock {
    clock: quanta::Clock,
    base: u64,
}

impl QuantaClock {
    /// A clock whose tick 0 is now.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let base = clock.raw();
        Self { clock, base }
    }
}

impl Default for QuantaClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for QuantaClock {
    const TICKS_PER_SECOND: u64 = 1_000_000_000;

    #[inline]
    fn now(&self) -> u64 {
        // Saturates at 0 if a core's TSC reads behind the base (quanta's
        // `delta_as_nanos` returns 0 when end <= start): never backwards
        // past the origin, but not monotonic across unsynchronised cores.
        self.clock.delta_as_nanos(self.base, self.clock.raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quanta_clock_counts_nanoseconds() {
        let clock = QuantaClock::new();
        let a = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let b = clock.now();
        // 20 ms asleep; generous upper bound for a loaded machine.
        assert!((20_000_000..2_000_000_000).contains(&(b - a)), "{a} -> {b}");
    }
}
