//! [`StdClock`]: the breaker's clock on `std`.

use fusebox_core::Clock;
use std::sync::OnceLock;
use std::time::Instant;

/// Nanoseconds since a process-wide base [`Instant`], taken the first time
/// any `StdClock` is read.
///
/// Monotonic (it is `Instant`), keeps counting across system suspend on
/// Linux only as far as `CLOCK_MONOTONIC` does (it stops while suspended), and
/// costs one `clock_gettime` through the vDSO per read (about 20-30 ns on
/// x86-64; see the crate docs' `# Cost`). The breaker reads it only where a
/// rule needs the time: an open deadline, a slow-call duration, a time-window
/// bucket. A closed breaker with consecutive-failure or count-window rules
/// and no slow-call rule never reads it on a success.
///
/// `u64` nanoseconds last 584 years from the base.
///
/// ```
/// use fusebox_core::Clock;
/// use fusebox_std::StdClock;
/// let a = StdClock.now();
/// let b = StdClock.now();
/// assert!(b >= a);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StdClock;

static BASE: OnceLock<Instant> = OnceLock::new();

impl StdClock {
    /// The process-wide base: tick 0.
    pub fn base() -> Instant {
        *BASE.get_or_init(Instant::now)
    }

    /// The instant that `ticks` stands for.
    pub fn instant_at(ticks: u64) -> Instant {
        Self::base() + std::time::Duration::from_nanos(ticks)
    }
}

impl Clock for StdClock {
    const TICKS_PER_SECOND: u64 = 1_000_000_000;

    #[inline]
    fn now(&self) -> u64 {
        // Saturates after 584 years rather than wrapping.
        let base = Self::base();
        u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ticks_are_nanoseconds_since_a_shared_base() {
        let a = StdClock.now();
        std::thread::sleep(Duration::from_millis(2));
        let b = StdClock.now();
        assert!(b - a >= 2_000_000, "{a} -> {b}");
        let at = StdClock::instant_at(b);
        assert!(at <= Instant::now());
    }

    #[test]
    fn is_monotonic_across_threads() {
        let before = StdClock.now();
        let seen = std::thread::spawn(|| StdClock.now()).join().unwrap();
        assert!(seen >= before);
    }
}
