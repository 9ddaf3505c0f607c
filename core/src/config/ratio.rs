//! [`Ratio`]: fractions in basis points, so that no float is needed.

use core::fmt;

/// A fraction in basis points (1/10 000). Rates, jitter and backoff
/// multipliers use it so that no float is needed on chips without an FPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ratio(pub(crate) u32);

impl Ratio {
    /// `bp` basis points: `Ratio::from_basis_points(2_500)` is 25 %.
    pub const fn from_basis_points(bp: u32) -> Ratio {
        Ratio(bp)
    }
    /// `p` percent.
    pub const fn percent(p: u32) -> Ratio {
        Ratio(p.saturating_mul(100))
    }
    /// The value in basis points.
    pub const fn basis_points(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}
