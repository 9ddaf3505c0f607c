//! Time, as the breaker sees it.

use crate::arith::div_rem;
use crate::sync::{atomic_word, AtomicWord, Ordering, Word};
use core::time::Duration;

/// A monotonic source of ticks.
///
/// # Contract
/// - `now` never goes backwards. A clock that does (a wall clock being set)
///   makes open periods end late, never early, within a bound: a deadline
///   that reads as further ahead than the longest open period (the longest of
///   the backoff's maximum, `max_trip_hint` and `max_half_open_wait`) is
///   re-anchored by the first call that sees it, at the longest open period
///   from then (the half-open wait, for a half-open deadline), which is never
///   less than what was left. A jump so large that the deadline reads as more
///   than half the timer's unit range ahead is taken for a deadline passed
///   long ago and ends the period: on 64-bit targets that is more than a
///   century of ticks; on 32-bit ones, at least twice the longest open
///   period. A jump back within the longest open period keeps the deadline
///   (the period ends when the clock reaches it again). See the timer word's
///   docs in `core/src/timer.rs` and "Open periods" in `docs/design.md`.
/// - Instants are ticks modulo 2^64: a deadline past `u64::MAX` wraps, as a
///   counter that wraps at 2^64 reads it (exact while the timer unit is at
///   most 2^16 ticks on 64-bit targets, which covers clocks up to 2.9 GHz).
/// - `TICKS_PER_SECOND` is the tick rate. Every configured duration is
///   converted to ticks once, when the breaker is built; the hot path never
///   divides.
/// - `now` is read only where a rule needs it: an open deadline, a slow-call
///   duration, a time-window bucket. A consecutive-failures breaker in the
///   closed state reads no clock on a success.
///
/// # Example
/// ```
/// use fusebox_core::Clock;
/// struct Millis(u64);
/// impl Clock for Millis {
///     const TICKS_PER_SECOND: u64 = 1_000;
///     fn now(&self) -> u64 { self.0 }
/// }
/// assert_eq!(Millis(5).now(), 5);
/// ```
pub trait Clock {
    /// Ticks in one second.
    const TICKS_PER_SECOND: u64;
    /// The current time in ticks.
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    const TICKS_PER_SECOND: u64 = C::TICKS_PER_SECOND;
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A clock that moves only when told to: for tests, simulations and the
/// reference model. `HZ` is its tick rate (milliseconds by default).
///
/// It holds a native-width word: on 32-bit targets it counts at most 2^32
/// ticks and wraps there (a wrap the breaker reads as time moving forward
/// while its timer unit is at most 2^8 ticks). Share it with a breaker by
/// reference (`&ManualClock` is a `Clock`).
///
/// ```
/// use fusebox_core::{Clock, ManualClock};
/// static CLOCK: ManualClock = ManualClock::new();
/// CLOCK.advance(250);
/// assert_eq!(CLOCK.now(), 250);
/// ```
pub struct ManualClock<const HZ: u64 = 1000> {
    ticks: AtomicWord,
}

impl<const HZ: u64> ManualClock<HZ> {
    /// A clock at tick 0.
    #[cfg(not(fusebox_loom))]
    pub const fn new() -> Self {
        ManualClock {
            ticks: atomic_word(0),
        }
    }

    /// A clock at tick 0.
    #[cfg(fusebox_loom)]
    pub fn new() -> Self {
        ManualClock {
            ticks: atomic_word(0),
        }
    }

    /// Sets the time. Callers keep it monotonic; setting it back is a clock
    /// that went back (see [`Clock`]'s contract).
    pub fn set(&self, ticks: u64) {
        // Relaxed: the clock is a value, not a synchronisation point; breakers
        // order their own words.
        self.ticks.store(ticks as Word, Ordering::Relaxed);
    }

    /// Moves the time forward by `ticks`.
    pub fn advance(&self, ticks: u64) {
        // Relaxed: as in `set`.
        self.ticks.fetch_add(ticks as Word, Ordering::Relaxed);
    }

    /// Moves the time forward by `d`, rounded up to whole ticks.
    pub fn advance_by(&self, d: Duration) {
        self.advance(duration_to_ticks(d, HZ));
    }

    /// The current time in ticks.
    pub fn now(&self) -> u64 {
        // Relaxed: as in `set`.
        self.ticks.load(Ordering::Relaxed) as u64
    }
}

impl<const HZ: u64> Default for ManualClock<HZ> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const HZ: u64> Clock for ManualClock<HZ> {
    const TICKS_PER_SECOND: u64 = HZ;
    #[inline]
    fn now(&self) -> u64 {
        ManualClock::now(self)
    }
}

/// `d` in ticks of a `hz` clock, rounded up (a deadline is never early),
/// saturating at `u64::MAX`.
#[inline]
pub const fn duration_to_ticks(d: Duration, hz: u64) -> u64 {
    let whole = d.as_secs().saturating_mul(hz);
    let nanos = d.subsec_nanos() as u64;
    // nanos < 1e9, so nanos * hz fits u64 for any hz below 1.8e10, which
    // keeps 128-bit arithmetic out of firmware (hz is a constant at every
    // call site, so the other branch compiles away).
    let part = if hz <= 18_000_000_000 {
        let (q, r) = div_rem(nanos * hz, 1_000_000_000);
        q + (r != 0) as u64
    } else {
        (nanos as u128 * hz as u128).div_ceil(1_000_000_000) as u64
    };
    whole.saturating_add(part)
}

/// `ticks` of a `hz` clock as a `Duration` (rounded down to the nanosecond).
/// `hz` is a constant at every call site, so on 64-bit targets the divisions
/// compile to multiplications; 32-bit ones share one small divide
/// (`crate::arith`).
#[inline]
pub const fn ticks_to_duration(ticks: u64, hz: u64) -> Duration {
    // Nanosecond ticks (the std clocks): one divide by a constant, which
    // compiles to a multiplication; the general path below divides twice.
    // 32-bit targets keep the one shared divide of `div_rem`.
    if cfg!(target_pointer_width = "64") && hz == 1_000_000_000 {
        return Duration::from_nanos(ticks);
    }
    let (secs, rest) = div_rem(ticks, hz);
    // rest < hz, so rest * 1e9 fits u64 for any hz below 1.8e10. A tick
    // rate that divides 1e9 (1 kHz, 10 kHz, 1 MHz, ...) needs no second
    // divide: each tick is a whole number of nanoseconds.
    let nanos = if hz <= 1_000_000_000 && 1_000_000_000 % hz == 0 {
        // rest < hz <= 1e9: the product is below 1e9 and fits 32 bits (a
        // 32-bit multiply on a 32-bit chip, not a runtime call).
        (rest as u32).wrapping_mul((1_000_000_000 / hz) as u32) as u64
    } else if hz <= 18_000_000_000 {
        div_rem(rest * 1_000_000_000, hz).0
    } else {
        ((rest as u128 * 1_000_000_000) / hz as u128) as u64
    };
    // A no-op (rest < hz), which tells the compiler so where it cannot see
    // through the divide: `Duration::new` then carries no overflow panic.
    let nanos = if nanos < 1_000_000_000 {
        nanos
    } else {
        999_999_999
    };
    Duration::new(secs, nanos as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_deadlines_up_and_durations_down() {
        assert_eq!(duration_to_ticks(Duration::from_millis(1500), 1000), 1500);
        assert_eq!(duration_to_ticks(Duration::from_nanos(1), 1000), 1);
        assert_eq!(duration_to_ticks(Duration::ZERO, 1000), 0);
        assert_eq!(duration_to_ticks(Duration::MAX, 1_000_000_000), u64::MAX);
        assert_eq!(ticks_to_duration(1500, 1000), Duration::from_millis(1500));
        assert_eq!(ticks_to_duration(3, 1_000_000), Duration::from_micros(3));
    }

    #[test]
    fn durations_from_ticks_match_exact_arithmetic_at_every_rate() {
        // Rates that divide 1e9 (one multiply) and rates that do not (a
        // second divide), against 128-bit arithmetic.
        let rates = [
            1,
            3,
            1_000,
            10_000,
            32_768,
            1_000_000,
            999_999_937,
            1_000_000_000,
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for ticks in [x, x >> 20, x >> 40, x % 1_000_000_007] {
                for hz in rates {
                    let nanos = ticks as u128 * 1_000_000_000 / hz as u128;
                    let want = Duration::new(
                        (nanos / 1_000_000_000) as u64,
                        (nanos % 1_000_000_000) as u32,
                    );
                    assert_eq!(
                        ticks_to_duration(ticks, hz),
                        want,
                        "{ticks} ticks at {hz} Hz"
                    );
                }
            }
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c: ManualClock = ManualClock::new();
        assert_eq!(c.now(), 0);
        c.advance(10);
        c.advance_by(Duration::from_millis(5));
        assert_eq!(c.now(), 15);
        c.set(100);
        assert_eq!(Clock::now(&&c), 100);
    }
}
