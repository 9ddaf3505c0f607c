//! [`WindowSpec`]: which window a [`StdBreaker`](super::StdBreaker) keeps,
//! its limits, and the heap-allocated window it builds.

use fusebox_core::{
    BucketCell, BucketSlice, ConfigError, DynCountWindow, DynTimeWindow, RingCell, RuntimeWindow,
    WindowShape,
};

/// The window of every [`StdBreaker`](super::StdBreaker): none, a count
/// window or a time window, its cells on the heap.
pub type StdWindow = RuntimeWindow<Box<[RingCell]>, BucketSlice<Box<[BucketCell]>>>;

/// Which window a [`StdBreaker`](super::StdBreaker) keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowSpec {
    /// No window: only the consecutive-failures rule (and hints) can trip it.
    None,
    /// The last `size` outcomes ([`DynCountWindow`](fusebox_core::DynCountWindow); 1 ..= 32 767).
    Count {
        /// Outcomes kept.
        size: usize,
    },
    /// The outcomes of the last
    /// [`Config::window_span`](fusebox_core::Config::window_span), in `buckets`
    /// buckets ([`DynTimeWindow`](fusebox_core::DynTimeWindow)), striped over up to
    /// [`MAX_TIME_STRIPES`] cache-padded rows (one per available core).
    Time {
        /// Buckets the span is cut into.
        buckets: usize,
    },
}

/// At most this many stripes in a time window: records from different
/// cores land in different cache lines; a failure sums all stripes.
pub const MAX_TIME_STRIPES: usize = 4;

/// The largest [`WindowSpec::Count`] size: 32 767 (127 where the core's
/// state word is 32-bit). A ring of this size takes 128 KiB.
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub const MAX_COUNT_WINDOW_SIZE: usize = 32_767;
/// The largest [`WindowSpec::Count`] size: 32 767 (127 where the core's
/// state word is 32-bit).
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub const MAX_COUNT_WINDOW_SIZE: usize = 127;

/// The largest [`WindowSpec::Time`] bucket count: 4 194 304 (1 024 where
/// the core's state word is 32-bit). At this limit a window takes 64 MiB
/// per stripe, so a time window's memory is `16 B × buckets × stripes`.
#[cfg(all(target_has_atomic = "64", not(fusebox_narrow)))]
pub const MAX_TIME_WINDOW_BUCKETS: usize = 1 << 22;
/// The largest [`WindowSpec::Time`] bucket count: 4 194 304 (1 024 where
/// the core's state word is 32-bit).
#[cfg(not(all(target_has_atomic = "64", not(fusebox_narrow))))]
pub const MAX_TIME_WINDOW_BUCKETS: usize = 1 << 10;

impl WindowSpec {
    /// The most heap a breaker's window takes: with [`MAX_TIME_STRIPES`]
    /// stripes for a time window (fewer on a machine with fewer cores).
    ///
    /// ```
    /// use fusebox_std::WindowSpec;
    /// assert_eq!(WindowSpec::Count { size: 100 }.max_bytes(), 400);
    /// ```
    pub fn max_bytes(&self) -> usize {
        match *self {
            WindowSpec::None => 0,
            WindowSpec::Count { size } => size.saturating_mul(std::mem::size_of::<RingCell>()),
            WindowSpec::Time { buckets } => buckets
                .saturating_add(DynTimeWindow::<Box<[BucketCell]>>::PAD)
                .saturating_mul(MAX_TIME_STRIPES)
                .saturating_mul(std::mem::size_of::<BucketCell>()),
        }
    }

    /// The shape the core checks a config against
    /// ([`Config::check_for`](fusebox_core::Config::check_for)).
    pub fn shape(&self) -> WindowShape {
        match *self {
            WindowSpec::None => WindowShape::None,
            WindowSpec::Count { size } => WindowShape::Count(size),
            WindowSpec::Time { buckets } => WindowShape::Time(buckets),
        }
    }

    /// The window itself, its size checked before anything is allocated;
    /// a time window gets one stripe per available core, at most
    /// [`MAX_TIME_STRIPES`].
    pub fn build(&self) -> Result<StdWindow, ConfigError> {
        Ok(match *self {
            WindowSpec::None => RuntimeWindow::None,
            WindowSpec::Count { size } => RuntimeWindow::Count(count_window(size)?),
            WindowSpec::Time { buckets } => {
                let stripes = std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(MAX_TIME_STRIPES);
                RuntimeWindow::Time(time_window(buckets, stripes)?)
            }
        })
    }

    /// Checks the size against its limit ([`MAX_COUNT_WINDOW_SIZE`],
    /// [`MAX_TIME_WINDOW_BUCKETS`]) without allocating anything.
    ///
    /// ```
    /// use fusebox_std::WindowSpec;
    /// assert!(WindowSpec::Count { size: 100 }.check().is_ok());
    /// assert!(WindowSpec::Count { size: 4_294_967_295 }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        let (field, value, max) = match *self {
            WindowSpec::None => return Ok(()),
            WindowSpec::Count { size } => ("window.size", size, MAX_COUNT_WINDOW_SIZE),
            WindowSpec::Time { buckets } => ("window.buckets", buckets, MAX_TIME_WINDOW_BUCKETS),
        };
        if (1..=max).contains(&value) {
            Ok(())
        } else {
            Err(ConfigError::OutOfRange {
                field,
                value: value as u64,
                min: 1,
                max: max as u64,
            })
        }
    }
}

/// A count window of `size` outcomes on the heap; the size is checked
/// before anything is allocated.
pub fn count_window(size: usize) -> Result<DynCountWindow<Box<[RingCell]>>, ConfigError> {
    WindowSpec::Count { size }.check()?;
    DynCountWindow::new((0..size).map(|_| RingCell::new()).collect())
}

/// A time window of `buckets` buckets in `stripes` stripes (at most
/// [`MAX_TIME_STRIPES`]) on the heap; both are checked before anything is
/// allocated.
pub fn time_window(
    buckets: usize,
    stripes: usize,
) -> Result<DynTimeWindow<Box<[BucketCell]>>, ConfigError> {
    WindowSpec::Time { buckets }.check()?;
    if !(1..=MAX_TIME_STRIPES).contains(&stripes) {
        return Err(ConfigError::OutOfRange {
            field: "stripes",
            value: stripes as u64,
            min: 1,
            max: MAX_TIME_STRIPES as u64,
        });
    }
    let cells = DynTimeWindow::<Box<[BucketCell]>>::cells_needed(buckets, stripes);
    DynTimeWindow::new(
        (0..cells).map(|_| BucketCell::new()).collect(),
        buckets,
        stripes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limits_are_the_cores() {
        let cells: Vec<RingCell> = (0..MAX_COUNT_WINDOW_SIZE)
            .map(|_| RingCell::new())
            .collect();
        assert!(DynCountWindow::new(cells.into_boxed_slice()).is_ok());
        let field = |buckets| match DynTimeWindow::new(&[][..], buckets, 1) {
            Err(ConfigError::OutOfRange { field, .. }) => field,
            _ => "",
        };
        // An empty slice passes the core's bucket check only within its limit.
        assert_eq!(field(MAX_TIME_WINDOW_BUCKETS), "window cells");
        assert_eq!(field(MAX_TIME_WINDOW_BUCKETS + 1), "window.buckets");
        assert!(count_window(MAX_COUNT_WINDOW_SIZE + 1).is_err());
        assert!(count_window(0).is_err());
        assert!(time_window(MAX_TIME_WINDOW_BUCKETS + 1, 1).is_err());
        assert!(time_window(10, MAX_TIME_STRIPES + 1).is_err());
        assert!(time_window(10, 1).is_ok());
    }
}
