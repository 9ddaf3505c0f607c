//! Where a time window keeps its buckets: inline rows for [`TimeWindow`](super::TimeWindow),
//! a caller's slice for [`DynTimeWindow`] (heapless's `storage.rs` pattern:
//! one container, [`TimeWindowOf`], generic over this storage).

use super::{TimeWindowOf, INITIAL_EPISODE, MAX_B, NO_SUMMARY};
use crate::config::ConfigError;
use crate::sync::{atomic_word, AtomicWord, CachePadded};
use core::ops::Deref;

/// One bucket of one stripe: its calls word and its failures/slow word.
/// Storage for a [`DynTimeWindow`] sized at run time (`Box<[BucketCell]>` in std).
pub struct BucketCell {
    pub(super) calls: AtomicWord,
    pub(super) bad: AtomicWord,
}

impl BucketCell {
    /// An empty bucket.
    #[cfg(not(fusebox_loom))]
    pub const fn new() -> BucketCell {
        BucketCell {
            calls: atomic_word(0),
            bad: atomic_word(0),
        }
    }
    /// An empty bucket.
    #[cfg(fusebox_loom)]
    pub fn new() -> BucketCell {
        BucketCell {
            calls: atomic_word(0),
            bad: atomic_word(0),
        }
    }
}

impl Default for BucketCell {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a time window keeps its buckets: [`BucketRows<B, S>`] or
/// [`BucketSlice<S>`]. Sealed.
pub trait BucketStorage: sealed::Sealed {
    #[doc(hidden)]
    fn buckets(&self) -> usize;
    #[doc(hidden)]
    fn stripes(&self) -> usize;
    #[doc(hidden)]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell;
}

/// The inline buckets of a [`TimeWindow<B, S>`](super::TimeWindow): `S` cache-padded rows of `B`.
pub struct BucketRows<const B: usize, const S: usize>(pub(super) [CachePadded<[BucketCell; B]>; S]);

/// The buckets of a [`DynTimeWindow<S>`]: `stripes` rows of `buckets` cells
/// in a slice, `DynTimeWindow::PAD` cells apart.
pub struct BucketSlice<S> {
    cells: S,
    buckets: usize,
    stripes: usize,
}

mod sealed {
    pub trait Sealed {}
    impl<const B: usize, const S: usize> Sealed for super::BucketRows<B, S> {}
    impl<S> Sealed for super::BucketSlice<S> {}
}

impl<const B: usize, const S: usize> BucketStorage for BucketRows<B, S> {
    #[inline]
    fn buckets(&self) -> usize {
        B
    }
    #[inline]
    fn stripes(&self) -> usize {
        S
    }
    #[inline]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell {
        &self.0[stripe].0[bucket]
    }
}

impl<S: Deref<Target = [BucketCell]>> BucketStorage for BucketSlice<S> {
    #[inline]
    fn buckets(&self) -> usize {
        self.buckets
    }
    #[inline]
    fn stripes(&self) -> usize {
        self.stripes
    }
    #[inline]
    fn cell(&self, stripe: usize, bucket: usize) -> &BucketCell {
        &self.cells[stripe * (self.buckets + ROW_PAD) + bucket]
    }
}

/// Cells between two stripe rows' starts beyond the buckets: 128 bytes.
pub(super) const ROW_PAD: usize = 128 / core::mem::size_of::<BucketCell>();

/// A time window whose bucket and stripe counts are chosen at run time: the
/// same protocol as [`TimeWindow`](super::TimeWindow), over a slice of [`BucketCell`]s the
/// caller owns. Stripe rows are laid out `DynTimeWindow::PAD` cells apart so
/// that no two stripes share a cache line. Build the breaker with
/// [`Breaker::with_window`](crate::Breaker::with_window).
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{BucketCell, Breaker, Config, DynTimeWindow, ManualClock, NoObserver, Ratio};
/// let cells: Vec<BucketCell> = (0..DynTimeWindow::<&[BucketCell]>::cells_needed(10, 4)).map(|_| BucketCell::new()).collect();
/// let window = DynTimeWindow::new(cells.into_boxed_slice(), 10, 4).unwrap();
/// let config = Config::builder()
///     .failure_rate(Ratio::percent(50))
///     .window_span(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// let b = Breaker::with_window(ManualClock::<1000>::new(), config, window, NoObserver).unwrap();
/// let _ = b.try_acquire().unwrap().success();
/// assert_eq!(b.snapshot().window.calls, 1);
/// ```
pub type DynTimeWindow<S> = TimeWindowOf<BucketSlice<S>>;

impl<S: Deref<Target = [BucketCell]>> DynTimeWindow<S> {
    /// Cells between two stripe rows' starts beyond the buckets: 128 bytes.
    pub const PAD: usize = ROW_PAD;

    /// Cells a window of `buckets` buckets in `stripes` stripes needs.
    pub const fn cells_needed(buckets: usize, stripes: usize) -> usize {
        (buckets + Self::PAD) * stripes
    }

    /// A window over `cells` (exactly [`cells_needed`](Self::cells_needed)
    /// of them) with `buckets` buckets (1 ..= 4 194 304; 1 024 on 32-bit
    /// targets) in `stripes` stripes (at least 1).
    pub fn new(cells: S, buckets: usize, stripes: usize) -> Result<Self, ConfigError> {
        if buckets == 0 || buckets > MAX_B {
            return Err(ConfigError::OutOfRange {
                field: "window.buckets",
                value: buckets as u64,
                min: 1,
                max: MAX_B as u64,
            });
        }
        if stripes == 0 || cells.len() != Self::cells_needed(buckets, stripes) {
            return Err(ConfigError::OutOfRange {
                field: "window cells",
                value: cells.len() as u64,
                min: Self::cells_needed(buckets, stripes.max(1)) as u64,
                max: Self::cells_needed(buckets, stripes.max(1)) as u64,
            });
        }
        Ok(TimeWindowOf {
            episode: atomic_word(INITIAL_EPISODE),
            latest: atomic_word(0),
            summary_at: atomic_word(NO_SUMMARY),
            older: [atomic_word(0), atomic_word(0), atomic_word(0)],
            #[cfg(feature = "throttle")]
            throttled: crate::shape::ThrottleRing::new(),
            grid: BucketSlice {
                cells,
                buckets,
                stripes,
            },
        })
    }
}
