//! Open periods: backoff and deterministic jitter.
//!
//! The open period of a trip is `open_duration(k)` where `k` counts the
//! re-openings since the breaker was last closed. Jitter multiplies it by a
//! factor in `[1 - j, 1 + j]` that is a pure function of the breaker's seed
//! and the epoch of the open episode ([`jitter_factor_bp`]), applied before
//! clamping to the backoff's `max`, so a reference model computes the same
//! deadline. No float and no `rand`: this runs on a Cortex-M0.

use crate::arith::{checked_mul, div_rem};
use crate::config::{Backoff, BackoffKind, Ratio};

/// The jitter factor, in basis points, of the open episode with `epoch`:
/// uniform over `10_000 - j ..= 10_000 + j` where `j = jitter` in basis points.
///
/// ```
/// use fusebox_core::{backoff::jitter_factor_bp, Ratio};
/// assert_eq!(jitter_factor_bp(7, 3, Ratio::from_basis_points(0)), 10_000);
/// let f = jitter_factor_bp(7, 3, Ratio::percent(10));
/// assert!((9_000..=11_000).contains(&f));
/// assert_eq!(f, jitter_factor_bp(7, 3, Ratio::percent(10))); // deterministic
/// ```
pub const fn jitter_factor_bp(seed: u32, epoch: u64, jitter: Ratio) -> u32 {
    let j = jitter.basis_points();
    if j == 0 {
        return 10_000;
    }
    // splitmix64 finaliser over (seed, epoch).
    let mut z = (((seed as u64) << 32) | (epoch & 0xffff_ffff)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    10_000 - j + div_rem(z, 2 * j as u64 + 1).1 as u32
}

/// `d * bp / 10_000` without 128-bit arithmetic, saturating; exact unless
/// `d * bp` overflows, where it rounds `d` down to a multiple of 10 000 first.
const fn mul_bp(d: u64, bp: u32) -> u64 {
    match checked_mul(d, bp) {
        Some(x) => div_rem(x, 10_000).0,
        None => match checked_mul(div_rem(d, 10_000).0, bp) {
            Some(x) => x,
            None => u64::MAX,
        },
    }
}

/// The backoff in ticks, converted once at construction: 32 bytes on every
/// target (three tick counts, the seed, the jitter and the shape).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BackoffTicks {
    /// The first open period (`open_for` or the backoff's own base).
    pub(crate) base: u64,
    /// The longest open period (`u64::MAX` for a constant backoff).
    pub(crate) max: u64,
    /// Growth per re-opening: the multiplier in basis points for an
    /// exponential backoff, the step in ticks for a linear one, 0 otherwise.
    pub(crate) growth: u64,
    pub(crate) seed: u32,
    /// Jitter in basis points (at most [`MAX_JITTER`](crate::config::MAX_JITTER), 9 000).
    pub(crate) jitter_bp: u16,
    pub(crate) kind: BackoffKind,
}

impl BackoffTicks {
    pub(crate) const fn new(
        b: Backoff,
        open_ticks: u64,
        jitter: Ratio,
        seed: u32,
        hz: u64,
    ) -> BackoffTicks {
        use crate::clock::duration_to_ticks as t;
        let (base, growth, max) = match b {
            Backoff::Constant => (open_ticks, 0, u64::MAX),
            Backoff::Exponential {
                base,
                multiplier,
                max,
            } => (
                match base {
                    Some(d) => t(d, hz),
                    None => open_ticks,
                },
                multiplier.basis_points() as u64,
                t(max, hz),
            ),
            Backoff::Linear { base, step, max } => (
                match base {
                    Some(d) => t(d, hz),
                    None => open_ticks,
                },
                t(step, hz),
                t(max, hz),
            ),
        };
        BackoffTicks {
            base,
            max,
            growth,
            seed,
            // Checked by the builder: at most MAX_JITTER (9 000).
            jitter_bp: jitter.basis_points() as u16,
            kind: b.kind(),
        }
    }

    #[inline]
    const fn jitter(&self) -> Ratio {
        Ratio(self.jitter_bp as u32)
    }

    /// The open period of re-opening `k` in the episode `epoch`, in ticks
    /// (at least 1). Plain u64 arithmetic: 128-bit code would add kilobytes
    /// to a Cortex-M0 firmware.
    pub(crate) const fn open_ticks(&self, k: u32, epoch: u64) -> u64 {
        let mut d = self.base;
        match self.kind {
            BackoffKind::Constant => {}
            BackoffKind::Exponential => {
                // Grow until even the smallest jitter factor cannot bring the
                // value back under `max`: the clamp below then gives `max`,
                // exactly as unbounded growth would.
                let floor_bp = 10_000 - self.jitter_bp as u32;
                let mut i = 0;
                while i < k && mul_bp(d, floor_bp) < self.max {
                    d = mul_bp(d, self.growth as u32);
                    i += 1;
                }
            }
            BackoffKind::Linear => {
                d = match checked_mul(self.growth, k) {
                    Some(s) => d.saturating_add(s),
                    None => u64::MAX,
                }
            }
        }
        d = mul_bp(d, jitter_factor_bp(self.seed, epoch, self.jitter()));
        if d > self.max {
            d = self.max;
        }
        if d == 0 {
            1
        } else {
            d
        }
    }

    /// An upper bound of every open period this backoff can produce.
    pub(crate) const fn longest(&self) -> u64 {
        let grown = match self.kind {
            BackoffKind::Constant => self.base as u128,
            _ => self.max as u128,
        };
        let j = grown * (10_000 + self.jitter_bp as u128) / 10_000;
        let d = if self.max as u128 > j {
            j
        } else {
            self.max as u128
        };
        if d > u64::MAX as u128 {
            u64::MAX
        } else {
            d as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn ticks(b: Backoff, jitter: Ratio) -> BackoffTicks {
        BackoffTicks::new(b, 1_000, jitter, 42, 1_000)
    }

    #[test]
    fn constant_backoff_is_always_open_for() {
        let b = ticks(Backoff::Constant, Ratio::from_basis_points(0));
        assert_eq!([b.open_ticks(0, 1), b.open_ticks(5, 9)], [1_000, 1_000]);
    }

    #[test]
    fn exponential_backoff_multiplies_then_clamps_to_max() {
        let b = ticks(
            Backoff::Exponential {
                base: None,
                multiplier: Ratio::from_basis_points(20_000),
                max: Duration::from_secs(5),
            },
            Ratio::from_basis_points(0),
        );
        let got: [u64; 5] = [0, 1, 2, 3, 31].map(|k| b.open_ticks(k, 0));
        assert_eq!(got, [1_000, 2_000, 4_000, 5_000, 5_000]);
    }

    #[test]
    fn linear_backoff_adds_steps_then_clamps_to_max() {
        let b = ticks(
            Backoff::Linear {
                base: Some(Duration::from_millis(500)),
                step: Duration::from_millis(250),
                max: Duration::from_millis(1_100),
            },
            Ratio::from_basis_points(0),
        );
        let got: [u64; 4] = [0, 1, 2, 3].map(|k| b.open_ticks(k, 0));
        assert_eq!(got, [500, 750, 1_000, 1_100]);
    }

    #[test]
    fn jitter_stays_within_its_band_and_varies_by_epoch() {
        let j = Ratio::percent(20);
        let b = ticks(Backoff::Constant, j);
        let mut distinct = 0;
        let mut last = 0;
        for epoch in 0..200 {
            let d = b.open_ticks(0, epoch);
            assert!((800..=1_200).contains(&d), "{d}");
            if d != last {
                distinct += 1;
            }
            last = d;
        }
        assert!(distinct > 100, "jitter barely varies: {distinct}");
    }

    #[test]
    fn exponential_backoff_with_jitter_still_saturates_at_max() {
        // 1 s doubling to at most 7 s: level 3 is 8 s before jitter, so any
        // factor above 0.875 clamps to 7 s, and level 4 (16 s) always does.
        let b = BackoffTicks::new(
            Backoff::Exponential {
                base: None,
                multiplier: Ratio::from_basis_points(20_000),
                max: Duration::from_secs(7),
            },
            1_000,
            Ratio::percent(20),
            3,
            1_000,
        );
        for epoch in 0..200 {
            assert_eq!(b.open_ticks(4, epoch), 7_000, "epoch {epoch}");
            assert_eq!(b.open_ticks(31, epoch), 7_000, "epoch {epoch}");
        }
    }

    #[test]
    fn jitter_is_applied_before_the_clamp() {
        let b = ticks(
            Backoff::Exponential {
                base: None,
                multiplier: Ratio::from_basis_points(20_000),
                max: Duration::from_secs(1),
            },
            Ratio::percent(50),
        );
        for epoch in 0..100 {
            assert!(b.open_ticks(3, epoch) <= 1_000);
        }
        assert!(b.longest() <= 1_000);
    }
}
