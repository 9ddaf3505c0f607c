//! [`RuntimeWindow`]: a window whose kind is chosen at run time.
//!
//! A breaker built from a config file learns its window kind and size only
//! when the file is read. Rather than one breaker type per kind and a layer
//! of dispatch above them, such a breaker takes this enum as its window: one
//! breaker type, one permit type, and a `match` on the kind where the window
//! is touched (on a record, a snapshot, a transition).

use super::sealed::WindowImpl;
use super::{BucketStorage, CountWindowOf, Ctx, Entry, Put, RingStorage, SlotClock};
use super::{TimeWindowOf, WindowCounts, WindowKind};
use crate::sync::{AtomicWord, Word};

/// No window, a count window over `R` or a time window over `G`, chosen at
/// run time (`fusebox-std` builds one from a config file, its cells on the
/// heap: `RuntimeWindow<Box<[RingCell]>, BucketSlice<Box<[BucketCell]>>>`).
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{
///     BucketCell, BucketSlice, Breaker, Config, DynCountWindow, ManualClock, NoObserver,
///     Ratio, RingCell, RuntimeWindow, State,
/// };
///
/// type Window<'a> = RuntimeWindow<&'a [RingCell], BucketSlice<&'a [BucketCell]>>;
/// let cells: [RingCell; 4] = core::array::from_fn(|_| RingCell::new());
/// let window: Window<'_> = RuntimeWindow::Count(DynCountWindow::new(&cells[..]).unwrap());
/// let config = Config::builder()
///     .failure_rate(Ratio::percent(50))
///     .minimum_calls(4)
///     .open_for(Duration::from_secs(1))
///     .build()
///     .unwrap();
/// let clock = ManualClock::<1000>::new();
/// let b = Breaker::with_window(&clock, config, window, NoObserver).unwrap();
/// for _ in 0..4 {
///     let _ = b.try_acquire().unwrap().failure();
/// }
/// assert_eq!(b.state(), State::Open);
/// ```
pub enum RuntimeWindow<R, G> {
    /// No window: only the consecutive-failures rule (and hints) can trip it.
    None,
    /// The last outcomes, exactly ([`CountWindowOf`]).
    Count(CountWindowOf<R>),
    /// The outcomes of the last `window_span` ([`TimeWindowOf`]).
    Time(TimeWindowOf<G>),
}

impl<R: RingStorage, G: BucketStorage> WindowImpl for RuntimeWindow<R, G> {
    #[inline]
    fn kind(&self) -> WindowKind {
        match self {
            RuntimeWindow::None => WindowKind::None,
            RuntimeWindow::Count(_) => WindowKind::Count,
            RuntimeWindow::Time(_) => WindowKind::Time,
        }
    }
    fn capacity(&self) -> usize {
        match self {
            RuntimeWindow::None => 0,
            RuntimeWindow::Count(w) => w.capacity(),
            RuntimeWindow::Time(w) => w.capacity(),
        }
    }
    #[inline]
    fn put(&self, ctx: &Ctx<'_>, e: Entry, want_counts: bool) -> Put {
        match self {
            RuntimeWindow::None => Put::Counted(WindowCounts::default()),
            RuntimeWindow::Count(w) => w.put(ctx, e, want_counts),
            RuntimeWindow::Time(w) => w.put(ctx, e, want_counts),
        }
    }
    fn counts(&self, epoch: Word, now: u64, slots: SlotClock) -> WindowCounts {
        match self {
            RuntimeWindow::None => WindowCounts::default(),
            RuntimeWindow::Count(w) => w.counts(epoch, now, slots),
            RuntimeWindow::Time(w) => w.counts(epoch, now, slots),
        }
    }
    #[inline]
    fn after_transition(&self, epoch: Word, state: &AtomicWord, now: u64, slots: SlotClock) {
        match self {
            RuntimeWindow::None => {}
            RuntimeWindow::Count(w) => w.after_transition(epoch, state, now, slots),
            RuntimeWindow::Time(w) => w.after_transition(epoch, state, now, slots),
        }
    }
    #[cfg(feature = "throttle")]
    fn throttled_add(&self, epoch: Word, slot: u64) {
        if let RuntimeWindow::Time(w) = self {
            w.throttled_add(epoch, slot)
        }
    }
    #[cfg(feature = "throttle")]
    fn throttled_sum(&self, epoch: Word, slot: u64) -> u64 {
        match self {
            RuntimeWindow::Time(w) => w.throttled_sum(epoch, slot),
            _ => 0,
        }
    }
}

impl<R: RingStorage, G: BucketStorage> core::fmt::Debug for RuntimeWindow<R, G> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RuntimeWindow")
            .field("kind", &self.kind())
            .field("capacity", &self.capacity())
            .finish()
    }
}
