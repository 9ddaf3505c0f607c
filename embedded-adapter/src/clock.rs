//! [`EmbassyClock`]: the breaker's clock on `embassy-time`.

use embassy_time::Instant;
use fusebox_core::{Breaker, Clock, NoObserver, NoWindow};

/// A zero-sized [`Clock`] that reads `embassy_time::Instant::now()`.
///
/// Its tick rate is [`embassy_time::TICK_HZ`], so breaker durations are
/// converted to embassy ticks once, when the breaker is built, and the hot
/// path reads the tick counter with no division. The time driver and the tick
/// rate are the application's choices (`embassy-time`'s `tick-hz-*` features
/// and a `time_driver_impl!`); this crate chooses neither.
///
/// ```
/// use fusebox_core::Clock;
/// use fusebox_embedded::EmbassyClock;
/// assert_eq!(EmbassyClock::TICKS_PER_SECOND, embassy_time::TICK_HZ);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    const TICKS_PER_SECOND: u64 = embassy_time::TICK_HZ;

    #[inline]
    fn now(&self) -> u64 {
        Instant::now().as_ticks()
    }
}

/// A breaker on embassy time: `Breaker<EmbassyClock, W, O>`.
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::Config;
/// use fusebox_embedded::{EmbassyBreaker, EmbassyClock};
///
/// const CONFIG: Config = match Config::builder()
///     .consecutive_failures(3)
///     .open_for(Duration::from_millis(500))
///     .build()
/// {
///     Ok(c) => c,
///     Err(_) => panic!("bad breaker config"),
/// };
/// static UPLINK: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, CONFIG);
/// # let _ = &UPLINK;
/// ```
pub type EmbassyBreaker<W = NoWindow, O = NoObserver> = Breaker<EmbassyClock, W, O>;
