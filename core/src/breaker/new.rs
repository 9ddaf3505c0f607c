//! Construction: `const` where the types allow (DESIGN §9), and the panic
//! text a `const` context shows for a config the window cannot hold.

use super::Breaker;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, Misfit};
use crate::observer::{NoObserver, Observer};
use crate::settings::Settings;
#[cfg(any(feature = "ramp", feature = "throttle"))]
use crate::shape::Sequence;
use crate::state::StateWord;
use crate::sync::atomic_word;
use crate::timer::Timer;
use crate::window::{AnyWindow, Window};

/// Declares a function `const` outside loom, whose atomics are not `const`.
macro_rules! const_unless_loom {
    ($(#[$m:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(fusebox_loom))]
        $(#[$m])* $vis const fn $($rest)*
        #[cfg(fusebox_loom)]
        $(#[$m])* $vis fn $($rest)*
    };
}

#[cfg(not(fusebox_loom))]
const fn empty_window<W: Window>() -> W {
    W::EMPTY
}
#[cfg(fusebox_loom)]
fn empty_window<W: Window>() -> W {
    W::empty()
}

/// A config the window or target cannot hold, as the panic a `const`
/// context can show: the text chosen by the check that failed.
const fn refuse(m: Misfit) -> ! {
    panic!("{}", m.panic)
}

impl<C: Clock, W: Window> Breaker<C, W, NoObserver> {
    const_unless_loom! {
        /// A breaker in `Closed`.
        ///
        /// # Panics
        /// If the window or the target cannot hold `config` (see
        /// [`try_new`](Self::try_new)). In a `static` or `const` that panic
        /// is a compile error, which is where this constructor belongs:
        ///
        /// ```
        /// use core::time::Duration;
        /// use fusebox_core::{Breaker, Config, CountWindow, ManualClock, Ratio};
        ///
        /// static CLOCK: ManualClock = ManualClock::new();
        /// static SENSOR_BUS: Breaker<&ManualClock, CountWindow<20>> = Breaker::new(
        ///     &CLOCK,
        ///     match Config::builder()
        ///         .failure_rate(Ratio::percent(50))
        ///         .minimum_calls(10)
        ///         .open_for(Duration::from_secs(5))
        ///         .build()
        ///     {
        ///         Ok(c) => c,
        ///         Err(_) => panic!("bad config"),
        ///     },
        /// );
        ///
        /// let permit = SENSOR_BUS.try_acquire().expect("closed");
        /// let _ = permit.success();
        /// ```
        pub fn new(clock: C, config: Config) -> Self {
            match Settings::new(&config, C::TICKS_PER_SECOND, W::KIND, <W as crate::window::sealed::ConstEmpty>::CAPACITY) {
                Ok(settings) => Self::from_parts(clock, NoObserver, settings, empty_window::<W>()),
                Err(e) => refuse(e),
            }
        }
    }

    const_unless_loom! {
        /// A breaker in `Closed`, or why the window or target cannot hold
        /// `config` (a rate rule without a window, a time window without a
        /// span, `minimum_calls` above the window's capacity, an open period
        /// too short for the 32-bit deadline range).
        pub fn try_new(clock: C, config: Config) -> Result<Self, ConfigError> {
            Self::with_observer(clock, config, NoObserver)
        }
    }
}

impl<C: Clock, W: Window, O: Observer> Breaker<C, W, O> {
    const_unless_loom! {
        /// A breaker in `Closed` that reports to `observer`.
        pub fn with_observer(clock: C, config: Config, observer: O) -> Result<Self, ConfigError> {
            match Settings::new(&config, C::TICKS_PER_SECOND, W::KIND, <W as crate::window::sealed::ConstEmpty>::CAPACITY) {
                Ok(settings) => Ok(Self::from_parts(clock, observer, settings, empty_window::<W>())),
                Err(m) => {
                    core::mem::forget(clock);
                    core::mem::forget(observer);
                    Err(m.error)
                }
            }
        }
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    const_unless_loom! {
        fn from_parts(clock: C, observer: O, settings: Settings, window: W) -> Self {
            Breaker {
                state: atomic_word(StateWord::INITIAL.pack()),
                timer: Timer::new(),
                trips: atomic_word(0),
                last_transition: atomic_word(0),
                #[cfg(any(feature = "ramp", feature = "throttle"))]
                seq: Sequence::new(),
                settings,
                window,
                clock,
                observer,
            }
        }
    }

    /// A breaker in `Closed` over a window built at run time
    /// ([`DynCountWindow`](crate::DynCountWindow),
    /// [`DynTimeWindow`](crate::DynTimeWindow)); the same checks as
    /// [`try_new`](Breaker::try_new) against the window's capacity.
    pub fn with_window(
        clock: C,
        config: Config,
        window: W,
        observer: O,
    ) -> Result<Self, ConfigError> {
        let settings = Settings::new(
            &config,
            C::TICKS_PER_SECOND,
            window.kind(),
            window.capacity(),
        )
        .map_err(|m| m.error)?;
        Ok(Self::from_parts(clock, observer, settings, window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CountWindow, ManualClock, NoWindow, Ratio, TimeWindow};

    fn rate_config(minimum_calls: u32) -> Config {
        Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(minimum_calls)
            .build()
            .unwrap()
    }

    #[test]
    #[should_panic(expected = "minimum_calls exceeds the window's capacity")]
    fn new_names_minimum_calls_above_the_capacity() {
        let _ = Breaker::<_, CountWindow<4>>::new(ManualClock::<1000>::new(), rate_config(5));
    }

    #[test]
    #[should_panic(expected = "needs a window")]
    fn new_names_a_rate_rule_without_a_window() {
        let _ = Breaker::<_, NoWindow>::new(ManualClock::<1000>::new(), rate_config(1));
    }

    #[test]
    #[should_panic(expected = "a TimeWindow needs Config::window_span")]
    fn new_names_a_time_window_without_a_span() {
        let _ = Breaker::<_, TimeWindow<4>>::new(ManualClock::<1000>::new(), rate_config(1));
    }

    /// A zero-sized clock, so that a breaker's size is its own.
    struct NoClock;
    impl crate::Clock for NoClock {
        const TICKS_PER_SECOND: u64 = 1_000;
        fn now(&self) -> u64 {
            0
        }
    }

    #[test]
    fn settings_stay_compact() {
        use core::mem::size_of;
        // docs/design.md "Breaker size": four atomic words, the settings,
        // and an attempt counter with the `ramp` or `throttle` feature. The
        // settings: 128 bytes without either feature; +40 with `ramp` (its
        // length, stage length and percentages, 32, and the shaping flag,
        // which rounds the small fields up by 8); +8 with `throttle` (its K
        // and the flag, inside the ramp's rounding when both are on).
        let settings = if cfg!(feature = "ramp") {
            168
        } else if cfg!(feature = "throttle") {
            136
        } else {
            128
        };
        assert_eq!(size_of::<Settings>(), settings);
        let shaping = usize::from(cfg!(any(feature = "ramp", feature = "throttle")));
        let words = (4 + shaping) * size_of::<crate::sync::AtomicWord>();
        let align = core::mem::align_of::<Breaker<NoClock, NoWindow>>();
        assert_eq!(
            size_of::<Breaker<NoClock, NoWindow>>(),
            (words + settings).next_multiple_of(align)
        );
        // The throttle's eight cells per slot are in the time window's
        // header, which the cache-padded grid rounds to 128 bytes anyway on
        // these hosts: a time window is the same size with `throttle` as
        // without (on microcontrollers rows are 32-byte aligned, and the
        // cells add 32 bytes).
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        assert_eq!(
            size_of::<TimeWindow<10>>(),
            128 + 128 * 10usize.div_ceil(128 / size_of::<crate::BucketCell>())
        );
        // The figures design.md quotes, on x86-64 (64-bit words).
        #[cfg(all(target_pointer_width = "64", not(fusebox_narrow)))]
        assert_eq!(
            size_of::<Breaker<NoClock, NoWindow>>(),
            match (cfg!(feature = "ramp"), cfg!(feature = "throttle")) {
                (false, false) => 160,
                (true, false) => 208,
                (false, true) => 176,
                (true, true) => 208,
            }
        );
    }

    #[test]
    fn try_new_returns_the_same_checks_as_errors() {
        let e = Breaker::<_, CountWindow<4>>::try_new(ManualClock::<1000>::new(), rate_config(5));
        assert_eq!(e.err().map(|e| e.field()), Some("minimum_calls"));
    }
}
