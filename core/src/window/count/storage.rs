//! Where a count window keeps its ring: inline for [`CountWindow`](super::CountWindow), a
//! caller's slice for [`DynCountWindow`] (heapless's `storage.rs` pattern:
//! one container, [`CountWindowOf`], generic over this storage).

use super::{CountWindowOf, INITIAL_AGGREGATE, MAX_N};
use crate::config::ConfigError;
use crate::sync::{atomic_u32, atomic_word, AtomicU32};
use core::ops::Deref;

/// Where a count window keeps its ring: [`RingArray<N>`], or any
/// `Deref<Target = [RingCell]>` (`Box<[RingCell]>`, `&'static [RingCell]`...).
/// Sealed.
pub trait RingStorage: sealed::Sealed {
    #[doc(hidden)]
    fn cells(&self) -> &[RingCell];
}

/// The inline ring of a [`CountWindow<N>`](super::CountWindow).
pub struct RingArray<const N: usize>(pub(super) [RingCell; N]);

mod sealed {
    pub trait Sealed {}
    impl<const N: usize> Sealed for super::RingArray<N> {}
    impl<S: core::ops::Deref<Target = [super::RingCell]>> Sealed for S {}
}

impl<const N: usize> RingStorage for RingArray<N> {
    #[inline]
    fn cells(&self) -> &[RingCell] {
        &self.0
    }
}

impl<S: Deref<Target = [RingCell]>> RingStorage for S {
    #[inline]
    fn cells(&self) -> &[RingCell] {
        self
    }
}

/// One slot of a count window's ring: storage for a
/// [`DynCountWindow`] sized at run time (`Box<[RingCell]>` in std).
#[repr(transparent)]
pub struct RingCell(pub(super) AtomicU32);

impl RingCell {
    /// An empty slot.
    #[cfg(not(fusebox_loom))]
    pub const fn new() -> RingCell {
        RingCell(atomic_u32(0))
    }
    /// An empty slot.
    #[cfg(fusebox_loom)]
    pub fn new() -> RingCell {
        RingCell(atomic_u32(0))
    }
}

impl Default for RingCell {
    fn default() -> Self {
        Self::new()
    }
}

/// A count window whose capacity is chosen at run time: the same protocol as
/// [`CountWindow`](super::CountWindow), over any slice of [`RingCell`]s the caller owns
/// (`Box<[RingCell]>`, `&'static [RingCell]`...). Build the breaker with
/// [`Breaker::with_window`](crate::Breaker::with_window).
///
/// ```
/// use fusebox_core::{Breaker, Config, DynCountWindow, ManualClock, NoObserver, Ratio, RingCell};
/// static CELLS: [RingCell; 50] = [const { RingCell::new() }; 50];
/// let window = DynCountWindow::new(&CELLS[..]).unwrap();
/// let config = Config::builder().failure_rate(Ratio::percent(50)).minimum_calls(10).build().unwrap();
/// let b = Breaker::with_window(ManualClock::<1000>::new(), config, window, NoObserver).unwrap();
/// let _ = b.try_acquire().unwrap().failure();
/// assert_eq!(b.snapshot().window.failures, 1);
/// ```
pub type DynCountWindow<S> = CountWindowOf<S>;

impl<S: Deref<Target = [RingCell]>> CountWindowOf<S> {
    /// A window over `cells`; its capacity is `cells.len()`, which must be
    /// between 1 and 32 767 (127 on 32-bit targets).
    pub fn new(cells: S) -> Result<Self, ConfigError> {
        let n = cells.len();
        if n == 0 || n > MAX_N {
            return Err(ConfigError::OutOfRange {
                field: "window.size",
                value: n as u64,
                min: 1,
                max: MAX_N as u64,
            });
        }
        Ok(CountWindowOf {
            ticket: atomic_word(0),
            aggregate: atomic_word(INITIAL_AGGREGATE),
            cells,
        })
    }
}
