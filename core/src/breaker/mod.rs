//! The breaker: the type, its fields and its accessors.
//!
//! - construction and the config checks that need the window: `new`
//! - admission (`try_acquire`) and the moves that fall due with time: `admit`
//! - operator calls (`force_open`, `reset`, ...): `operator`
//! - export, restore and adopting a peer's open: `restore`
//! - snapshots and rates: [`crate::snapshot`]
//! - recording outcomes: [`crate::record`]
//!
//! The transition rules are pure functions in [`crate::machine`]; every
//! change of the state word goes through its one CAS driver
//! ([`Breaker::drive`]).

mod admit;
mod new;
mod operator;
mod restore;
#[cfg(any(feature = "ramp", feature = "throttle"))]
mod shaping;

use crate::clock::Clock;
use crate::observer::{NoObserver, Observer};
use crate::settings::Settings;
#[cfg(any(feature = "ramp", feature = "throttle"))]
use crate::shape::Sequence;
use crate::sync::AtomicWord;
use crate::timer::Timer;
use crate::window::{AnyWindow, NoWindow};

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
// In declaration order: the words every call reads first, the shaping state
// (read only by a breaker with a ramp or throttling, and present only with
// the `ramp` or `throttle` feature) last.
#[repr(C)]
pub struct Breaker<C: Clock, W: AnyWindow = NoWindow, O: Observer = NoObserver> {
    pub(crate) state: AtomicWord,
    pub(crate) timer: Timer,
    pub(crate) trips: AtomicWord,
    pub(crate) last_transition: AtomicWord,
    pub(crate) settings: Settings,
    pub(crate) window: W,
    pub(crate) clock: C,
    pub(crate) observer: O,
    /// Numbers the attempts that a ramp or the throttle decides on. Last:
    /// only a breaker that shapes its traffic reads it. (The calls
    /// throttled per time slot live in the time window, the only window
    /// that can throttle.)
    #[cfg(any(feature = "ramp", feature = "throttle"))]
    pub(crate) seq: Sequence,
}

/// Reads `clock`: every read but the closed fast path's goes through here.
/// Out of line on 32-bit targets, where a clock read is often a critical
/// section around two words: a firmware then holds one copy of it per clock
/// type instead of one per call site (about 40 bytes each on a Cortex-M3).
#[cfg_attr(target_pointer_width = "64", inline)]
#[cfg_attr(not(target_pointer_width = "64"), inline(never))]
pub(crate) fn read_clock<C: Clock>(clock: &C) -> u64 {
    clock.now()
}

impl<C: Clock, W: AnyWindow, O: Observer> Breaker<C, W, O> {
    /// Its clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }
    /// Its observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }
}
