//! [`CoarseClock`]: a clock that costs one atomic load, at 1 ms resolution.

use crate::clock::StdClock;
use fusebox_core::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

static NOW: AtomicU64 = AtomicU64::new(0);
static TICKER: OnceLock<()> = OnceLock::new();

/// How often the ticker thread advances a [`CoarseClock`].
pub const COARSE_RESOLUTION: Duration = Duration::from_millis(1);

/// [`StdClock`]'s nanoseconds as last published by a background thread that
/// wakes every [`COARSE_RESOLUTION`].
///
/// Reading it is one relaxed atomic load (about 1 ns against 20-30 ns for
/// `Instant::now`; see the crate docs' `# Cost`), which matters where the core
/// reads the clock on every call: time windows (every record) and slow-call
/// detection (every acquire and record). The trade-offs:
///
/// - resolution: readings lag real time by up to about 1 ms (more when the
///   ticker thread is descheduled on a loaded machine), so durations below a
///   few milliseconds are unreliable; keep `slow_call_duration` and time-window
///   buckets well above that;
/// - a thread: the first read starts one process-wide thread that never
///   stops, waking 1 000 times a second;
/// - suspend: like `Instant` on Linux, it does not count time the system
///   spends suspended.
///
/// Ticks are nanoseconds on the same base as [`StdClock`], so the two can
/// be compared; it never goes backwards.
///
/// ```
/// use fusebox_core::{Breaker, Clock, Config, NoWindow};
/// use fusebox_std::CoarseClock;
/// let b: Breaker<CoarseClock> = Breaker::new(CoarseClock, Config::builder().consecutive_failures(5).build().unwrap());
/// let _ = b.try_acquire().unwrap().success();
/// assert!(CoarseClock.now() <= fusebox_std::StdClock.now());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoarseClock;

impl CoarseClock {
    fn start() {
        TICKER.get_or_init(|| {
            // Publish once before anyone reads, then keep it moving.
            NOW.fetch_max(StdClock.now(), Ordering::Relaxed);
            std::thread::Builder::new()
                .name("fusebox-coarse-clock".into())
                .spawn(|| loop {
                    std::thread::sleep(COARSE_RESOLUTION);
                    // Relaxed: the clock is a value; breakers order their own words.
                    NOW.fetch_max(StdClock.now(), Ordering::Relaxed);
                })
                .expect("spawn the coarse clock thread");
        });
    }
}

impl Clock for CoarseClock {
    const TICKS_PER_SECOND: u64 = 1_000_000_000;

    #[inline]
    fn now(&self) -> u64 {
        if TICKER.get().is_none() {
            Self::start();
        }
        // Relaxed: as in the ticker.
        NOW.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_std_clock_within_its_resolution() {
        let a = CoarseClock.now();
        std::thread::sleep(Duration::from_millis(20));
        let b = CoarseClock.now();
        assert!(b > a, "{a} -> {b}");
        let lag = StdClock.now() - CoarseClock.now();
        assert!(lag < 500_000_000, "lag {lag} ns even on a loaded machine");
    }
}

/// The clock a [`StdBreaker`](crate::StdBreaker) runs on unless it is given
/// another: [`CoarseClock`] for a time window, where every record reads the
/// clock, and [`StdClock`] otherwise, where the clock is read only for open
/// deadlines and slow-call timing and nanosecond resolution costs nothing on
/// the closed path. Chosen once, when the breaker is built
/// ([`DefaultClock::for_window`]); both count nanoseconds from the same
/// base, so the choice changes resolution, never the time scale. A read is
/// one predictable branch more than the clock it stands for.
///
/// ```
/// use fusebox_core::Clock;
/// use fusebox_std::{DefaultClock, WindowSpec};
/// assert_eq!(DefaultClock::for_window(&WindowSpec::Time { buckets: 10 }), DefaultClock::Coarse);
/// assert_eq!(DefaultClock::for_window(&WindowSpec::Count { size: 10 }), DefaultClock::Fine);
/// assert!(DefaultClock::Coarse.now() <= DefaultClock::Fine.now());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultClock {
    /// [`StdClock`]: `Instant`, nanoseconds.
    Fine,
    /// [`CoarseClock`]: one atomic load, [`COARSE_RESOLUTION`].
    Coarse,
}

impl DefaultClock {
    /// [`Coarse`](DefaultClock::Coarse) for a time window,
    /// [`Fine`](DefaultClock::Fine) otherwise (design.md, "The std clock").
    pub fn for_window(window: &crate::WindowSpec) -> DefaultClock {
        match window {
            crate::WindowSpec::Time { .. } => DefaultClock::Coarse,
            _ => DefaultClock::Fine,
        }
    }
}

impl Clock for DefaultClock {
    const TICKS_PER_SECOND: u64 = 1_000_000_000;

    #[inline]
    fn now(&self) -> u64 {
        match self {
            DefaultClock::Fine => StdClock.now(),
            DefaultClock::Coarse => CoarseClock.now(),
        }
    }
}
