//! The breaker: construction, admission, operator calls and snapshots.
//!
//! Recording outcomes lives in [`crate::record`]. Every change of the state
//! word is a compare-and-swap that bumps the epoch; a CAS that loses re-reads
//! and re-decides. The thread whose CAS wins does the follow-up work
//! ([`Breaker::committed`]): publish a deadline, count the trip, re-tag the
//! window, tell the observer.

use crate::arith::div_rem;
use crate::clock::{ticks_to_duration, Clock};
use crate::config::{Config, ConfigError, Ratio};
use crate::observer::{NoObserver, Observer, Rejection, Transition, TransitionReason};
use crate::permit::{Grant, Permit, Rejected};
use crate::settings::Settings;
use crate::snapshot::Snapshot;
use crate::state::{State, StateWord};
use crate::sync::{atomic_word, AtomicWord, Ordering, Word};
use crate::timer::{Published, Timer, TimerUnits};
use crate::window::{AnyWindow, NoWindow, Window, WindowCounts, WindowKind};
use core::ops::Deref;

/// A circuit breaker. See the [crate docs](crate) for an overview.
///
/// - `C`: its [`Clock`].
/// - `W`: its window: [`NoWindow`], [`CountWindow<N>`](crate::CountWindow) or
///   [`TimeWindow<B, S>`](crate::TimeWindow), or one sized at run time
///   ([`DynCountWindow`](crate::DynCountWindow), [`DynTimeWindow`](crate::DynTimeWindow)).
/// - `O`: its [`Observer`], the zero-sized [`NoObserver`] by default.
///
/// # Memory ordering
/// A transition is published with Release and read with Acquire: a thread
/// whose `try_acquire` is rejected because another thread tripped the
/// breaker also sees everything that thread did before recording the
/// tripping failure, and a thread admitted into a new episode never sees a
/// deadline or window of an older one as its own.
pub struct Breaker<C: Clock, W: AnyWindow = NoWindow, O: Observer = NoObserver> {
    pub(crate) state: AtomicWord,
    pub(crate) timer: Timer,
    trips: AtomicWord,
    last_transition: AtomicWord,
    pub(crate) settings: Settings,
    pub(crate) window: W,
    pub(crate) clock: C,
    pub(crate) observer: O,
}

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

/// A config error as a panic message a `const` context can show.
const fn refuse(e: ConfigError) -> ! {
    match e {
        ConfigError::NeedsWindow { .. } => {
            panic!("fusebox: a rate rule or trip predicate needs a window: use CountWindow<N> or TimeWindow<B>")
        }
        ConfigError::Missing { .. } => panic!("fusebox: a TimeWindow needs Config::window_span"),
        ConfigError::Inconsistent { .. } => {
            panic!("fusebox: minimum_calls exceeds the window's capacity")
        }
        ConfigError::OutOfRange { .. } => {
            panic!("fusebox: window_span is shorter than one tick per bucket")
        }
        ConfigError::DurationOutOfRange { .. } => {
            panic!("fusebox: open_for is too short for this target's deadline range (see Breaker::try_new)")
        }
    }
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
                Ok(settings) => Self::from_parts(clock, NoObserver, settings),
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
                Ok(settings) => Ok(Self::from_parts(clock, observer, settings)),
                Err(e) => {
                    core::mem::forget(clock);
                    core::mem::forget(observer);
                    Err(e)
                }
            }
        }
    }

    const_unless_loom! {
        fn from_parts(clock: C, observer: O, settings: Settings) -> Self {
            Breaker {
                state: atomic_word(StateWord::INITIAL.pack()),
                timer: Timer::new(),
                trips: atomic_word(0),
                last_transition: atomic_word(0),
                settings,
                window: empty_window::<W>(),
                clock,
                observer,
            }
        }
    }
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
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
        let settings = Settings::new(&config, C::TICKS_PER_SECOND, W::KIND, window.capacity())?;
        Ok(Breaker {
            state: atomic_word(StateWord::INITIAL.pack()),
            timer: Timer::new(),
            trips: atomic_word(0),
            last_transition: atomic_word(0),
            settings,
            window,
            clock,
            observer,
        })
    }

    /// Asks for a permit.
    ///
    /// Closed, metrics-only and disabled breakers permit at once, with one
    /// atomic load (plus a clock read when slow-call detection is on). Open
    /// breakers reject with the time left, or move to half-open when the
    /// deadline has passed and admit this call as a probe.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<&Self>, Rejected> {
        match self.admit() {
            Ok(g) => Ok(Permit::new(self, g)),
            Err(r) => Err(r),
        }
    }

    /// Like [`try_acquire`](Self::try_acquire), with a permit that owns its
    /// handle (`Arc<Breaker>`, say), for futures and services that must be
    /// `'static`.
    #[inline]
    pub fn try_acquire_owned<H: Deref<Target = Self>>(handle: H) -> Result<Permit<H>, Rejected> {
        match handle.admit() {
            Ok(g) => Ok(Permit::new(handle, g)),
            Err(r) => Err(r),
        }
    }

    #[inline]
    fn admit(&self) -> Result<Grant, Rejected> {
        // Acquire: pairs with the Release of every transition CAS.
        let w = self.state.load(Ordering::Acquire);
        let sw = StateWord::unpack(w);
        // The common case inlines to one load and a compare: no call.
        if matches!(sw.state, State::Closed | State::MetricsOnly) {
            return Ok(Grant::new(sw.epoch, sw.state, self.start_time()));
        }
        self.admit_slow(w)
    }

    /// Every state but the closed ones: rare, so kept out of line.
    #[cold]
    #[inline(never)]
    fn admit_slow(&self, mut w: Word) -> Result<Grant, Rejected> {
        loop {
            let sw = StateWord::unpack(w);
            match sw.state {
                State::Closed | State::MetricsOnly => {
                    return Ok(Grant::new(sw.epoch, sw.state, self.start_time()))
                }
                State::Disabled => return Ok(Grant::new(sw.epoch, sw.state, 0)),
                State::ForcedOpen => return Err(self.reject(State::ForcedOpen, None)),
                State::Open => {
                    let now = self.clock.now();
                    match self.open_remaining(sw, now) {
                        Ok(Some(left)) => return Err(self.reject(State::Open, Some(left))),
                        Ok(None) => {}
                        Err(x) => {
                            w = x;
                            continue;
                        }
                    }
                    // Due: move to half-open, admitting this call as the first probe.
                    let next = sw.next(State::HalfOpen, sw.k).with_half(1, 0);
                    match self.cas(w, next) {
                        Ok(()) => {
                            self.entered_half_open(
                                sw,
                                next,
                                TransitionReason::OpenDeadlineReached,
                                now,
                            );
                            return Ok(Grant::new(next.epoch, State::HalfOpen, self.start_time()));
                        }
                        Err(x) => w = x,
                    }
                }
                State::HalfOpen => {
                    if let Some(x) = self.expire_half_open(w, sw) {
                        w = x;
                        continue;
                    }
                    if sw.admitted() >= self.settings.half_open_permits {
                        return Err(self.reject(State::HalfOpen, None));
                    }
                    match self.cas(w, sw.with_half(sw.admitted() + 1, sw.succeeded())) {
                        Ok(()) => {
                            return Ok(Grant::new(sw.epoch, State::HalfOpen, self.start_time()))
                        }
                        Err(x) => w = x,
                    }
                }
            }
        }
    }

    #[inline]
    fn start_time(&self) -> u64 {
        if self.settings.slow_ticks.is_some() {
            self.clock.now()
        } else {
            0
        }
    }

    fn reject(&self, state: State, left: Option<u64>) -> Rejected {
        self.observer.on_reject(&Rejection {
            state,
            retry_after: left,
        });
        Rejected {
            state,
            retry_after: left.map(|t| ticks_to_duration(t, C::TICKS_PER_SECOND)),
        }
    }

    /// Ticks left in the open episode `sw`, or `None` once due. Publishes the
    /// deadline from `now` if its opener has not yet. `Err` carries the fresh
    /// state word when the episode has already ended.
    fn open_remaining(&self, sw: StateWord, now: u64) -> Result<Option<u64>, Word> {
        let t = self.timer.load();
        let longest = self.settings.timer.longest();
        if TimerUnits::deadline_of(t, sw.epoch) {
            return Ok(self.left(sw, t, now, longest));
        }
        let deadline = now.wrapping_add(self.settings.backoff.open_ticks(sw.k, sw.epoch as u64));
        let mine = self.settings.timer.encode(sw.epoch, deadline);
        match self.timer.publish_for(&self.state, sw.epoch, mine) {
            Published::InForce(t) => Ok(self.left(sw, t, now, longest)),
            Published::Overtaken(x) => Err(x),
        }
    }

    /// Ticks left until `t`, the deadline of the episode `sw`, or `None` once
    /// due. If the clock went back past the guard (see `timer`), re-anchors
    /// the deadline at `period` ticks from a fresh reading: `now` may be older
    /// than the reading the deadline was published from.
    fn left(&self, sw: StateWord, t: Word, now: u64, period: u64) -> Option<u64> {
        let units = &self.settings.timer;
        if units.went_back(t, now) {
            let fresh = self.clock.now();
            if units.went_back(t, fresh) {
                let _ = self
                    .timer
                    .reanchor(t, units.encode(sw.epoch, fresh.wrapping_add(period)));
            }
        }
        units.remaining(t, now)
    }

    /// In half-open with `max_half_open_wait` passed: re-opens. Returns the
    /// fresh state word if the caller must re-decide.
    fn expire_half_open(&self, w: Word, sw: StateWord) -> Option<Word> {
        let wait = self.settings.max_wait_ticks?;
        let now = self.clock.now();
        let mut t = self.timer.load();
        if !TimerUnits::deadline_of(t, sw.epoch) {
            let mine = self.settings.timer.encode(sw.epoch, now.wrapping_add(wait));
            t = match self.timer.publish_for(&self.state, sw.epoch, mine) {
                Published::InForce(t) => t,
                Published::Overtaken(x) => return Some(x),
            };
        }
        if self.left(sw, t, now, wait).is_some() {
            return None;
        }
        let next = sw.next(State::Open, sw.k + 1);
        match self.cas(w, next) {
            Ok(()) => {
                let deadline =
                    now.wrapping_add(self.settings.backoff.open_ticks(next.k, next.epoch as u64));
                self.committed(
                    sw,
                    next,
                    TransitionReason::HalfOpenTimeout,
                    now,
                    WindowCounts::default(),
                    Some(deadline),
                );
                Some(self.current_word())
            }
            Err(x) => Some(x),
        }
    }

    /// The state word, as every path but `admit`'s inlined one reads it.
    #[inline]
    pub(crate) fn current_word(&self) -> Word {
        load_state(&self.state)
    }

    /// One CAS on the state word.
    #[inline]
    pub(crate) fn cas(&self, seen: Word, next: StateWord) -> Result<(), Word> {
        cas_state(&self.state, seen, next.pack())
    }

    /// Follow-up of a half-open entry: its own deadline, if configured.
    pub(crate) fn entered_half_open(
        &self,
        from: StateWord,
        to: StateWord,
        reason: TransitionReason,
        now: u64,
    ) {
        let deadline = self.settings.max_wait_ticks.map(|w| now.wrapping_add(w));
        self.committed(from, to, reason, now, WindowCounts::default(), deadline);
    }

    /// Follow-up work of the thread whose CAS moved `from` to `to`.
    pub(crate) fn committed(
        &self,
        from: StateWord,
        to: StateWord,
        reason: TransitionReason,
        now: u64,
        window: WindowCounts,
        deadline: Option<u64>,
    ) {
        // Every transition publishes its epoch's timer word, timed or not,
        // so that the tag follows the epoch (see `timer`'s module docs). The
        // deadline in force is ours, or one a reader published first from its
        // own clock while we were between our CAS and this point; none if the
        // episode has already ended (we were preempted through it).
        let mine = match deadline {
            Some(d) => self.settings.timer.encode(to.epoch, d),
            None => TimerUnits::none(to.epoch),
        };
        let in_force = match self.timer.publish_for(&self.state, to.epoch, mine) {
            Published::InForce(t) if deadline.is_some() => {
                let left = self.settings.timer.remaining(t, now).unwrap_or(0);
                Some(now.wrapping_add(left))
            }
            _ => None,
        };
        if to.state == State::Open && matches!(from.state, State::Closed | State::HalfOpen) {
            // Relaxed: a statistic; nothing is ordered by it.
            self.trips.fetch_add(1, Ordering::Relaxed);
        }
        // Relaxed: a statistic; nothing is ordered by it.
        self.last_transition.store(now as Word, Ordering::Relaxed);
        self.window
            .after_transition(to.epoch, &self.state, now, self.settings.slots);
        self.observer.on_transition(&Transition {
            from: from.state,
            to: to.state,
            reason,
            epoch: to.epoch as u64,
            at: now,
            window,
            consecutive_failures: from.run(),
            backoff_level: to.k,
            open_until: if to.state == State::Open {
                in_force
            } else {
                None
            },
        });
    }

    /// The current state. Performs the due moves (open → half-open at the
    /// deadline, half-open → open after `max_half_open_wait`), so that a
    /// dashboard reading it sees what the next call would.
    pub fn state(&self) -> State {
        let mut w = self.current_word();
        loop {
            let sw = StateWord::unpack(w);
            match sw.state {
                State::Open => {
                    let now = self.clock.now();
                    match self.open_remaining(sw, now) {
                        Ok(Some(_)) => return State::Open,
                        Ok(None) => {}
                        Err(x) => {
                            w = x;
                            continue;
                        }
                    }
                    let next = sw.next(State::HalfOpen, sw.k);
                    match self.cas(w, next) {
                        Ok(()) => {
                            self.entered_half_open(
                                sw,
                                next,
                                TransitionReason::OpenDeadlineReached,
                                now,
                            );
                            return State::HalfOpen;
                        }
                        Err(x) => w = x,
                    }
                }
                State::HalfOpen => match self.expire_half_open(w, sw) {
                    Some(x) => w = x,
                    None => return State::HalfOpen,
                },
                s => return s,
            }
        }
    }

    fn operator(&self, to: State, reason: TransitionReason) {
        let mut w = self.current_word();
        loop {
            let sw = StateWord::unpack(w);
            let k = if to == State::HalfOpen { sw.k } else { 0 };
            let next = sw.next(to, k);
            if let Ok(()) = self.cas(w, next) {
                let now = self.clock.now();
                if to == State::HalfOpen {
                    self.entered_half_open(sw, next, reason, now);
                } else {
                    self.committed(sw, next, reason, now, WindowCounts::default(), None);
                }
                return;
            }
            w = self.current_word();
        }
    }

    /// Operator mode: reject every call until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.operator(State::ForcedOpen, TransitionReason::ForcedOpen);
    }
    /// Operator mode: permit and record every call, never trip.
    pub fn metrics_only(&self) {
        self.operator(State::MetricsOnly, TransitionReason::MetricsOnly);
    }
    /// Operator mode: permit every call, record nothing.
    pub fn disable(&self) {
        self.operator(State::Disabled, TransitionReason::Disabled);
    }
    /// Back to `Closed` in automatic mode, with an empty window and backoff
    /// level 0.
    pub fn reset(&self) {
        self.operator(State::Closed, TransitionReason::Reset);
    }
    /// The same as [`reset`](Self::reset).
    pub fn force_closed(&self) {
        self.reset();
    }
    /// Starts a half-open episode now, keeping the backoff level.
    pub fn transition_to_half_open(&self) {
        self.operator(State::HalfOpen, TransitionReason::ForcedHalfOpen);
    }

    /// A picture of the breaker. Never writes.
    pub fn snapshot(&self) -> Snapshot {
        let sw = StateWord::unpack(self.current_word());
        // The clock is read only where it matters: an open deadline, a time window.
        let now = if sw.state == State::Open || W::KIND == WindowKind::Time {
            self.clock.now()
        } else {
            0
        };
        let (open_until, probe_eligible) = if sw.state == State::Open {
            let t = self.timer.load();
            if TimerUnits::deadline_of(t, sw.epoch) {
                match self.settings.timer.remaining(t, now) {
                    Some(left) => (Some(now.wrapping_add(left)), false),
                    None => (None, true),
                }
            } else {
                (None, false)
            }
        } else {
            (None, false)
        };
        let window = if sw.state.uses_window() {
            self.window.counts(sw.epoch, now, self.settings.slots)
        } else {
            WindowCounts::default()
        };
        Snapshot {
            state: sw.state,
            mode: sw.state.mode(),
            epoch: sw.epoch as u64,
            window,
            consecutive_failures: sw.run(),
            half_open_admitted: sw.admitted(),
            half_open_succeeded: sw.succeeded(),
            // Relaxed: statistics.
            trips: self.trips.load(Ordering::Relaxed) as u64,
            last_transition_at: self.last_transition.load(Ordering::Relaxed) as u64,
            open_until,
            backoff_level: sw.k,
            probe_eligible,
            failure_rate: self.rate(window, window.failures),
            slow_call_rate: self.rate(window, window.slow),
        }
    }

    fn rate(&self, w: WindowCounts, part: u32) -> Option<Ratio> {
        if W::KIND == WindowKind::None || w.calls < self.settings.minimum_calls || w.calls == 0 {
            None
        } else {
            Some(Ratio::from_basis_points(
                div_rem(part as u64 * 10_000, w.calls as u64).0 as u32,
            ))
        }
    }

    /// The window's failure rate, `None` below `minimum_calls` or without a window.
    pub fn failure_rate(&self) -> Option<Ratio> {
        self.snapshot().failure_rate
    }

    /// The window's slow-call rate, `None` below `minimum_calls` or without a window.
    pub fn slow_call_rate(&self) -> Option<Ratio> {
        self.snapshot().slow_call_rate
    }

    /// Its clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }
    /// Its observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }
}

/// The load behind [`Breaker::current_word`]: out of line where every
/// atomic access is a critical section (a Cortex-M0), one copy per firmware.
#[cfg_attr(target_has_atomic = "ptr", inline)]
#[cfg_attr(not(target_has_atomic = "ptr"), inline(never))]
fn load_state(state: &AtomicWord) -> Word {
    // Acquire: pairs with the Release of every transition CAS.
    state.load(Ordering::Acquire)
}

/// The CAS behind [`Breaker::cas`], kept apart from the breaker's type
/// parameters: on 32-bit targets (a critical section on a Cortex-M0, an
/// LDREX/STREX loop on an M3) each firmware then holds one copy of it
/// instead of one per transition site.
#[cfg_attr(target_pointer_width = "64", inline)]
#[cfg_attr(not(target_pointer_width = "64"), inline(never))]
fn cas_state(state: &AtomicWord, seen: Word, next: Word) -> Result<(), Word> {
    // AcqRel: Release publishes the transition (and everything before it)
    // to the Acquire loads in `admit`, `record` and the windows; Acquire
    // on failure because the caller re-decides on the value it gets.
    state
        .compare_exchange(seen, next, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
}
