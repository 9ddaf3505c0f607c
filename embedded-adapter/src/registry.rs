//! [`Registry`]: a firmware's breakers by name, fixed at compile time.
//!
//! A console command or a telemetry task often needs "the breaker called
//! `uplink`". Breakers of different clocks, windows and observers are
//! different types, so the registry holds them as `&'static dyn
//! BreakerControl`: the operations that need no type parameter.

use fusebox_core::{AnyWindow, Breaker, Clock, Observer, Snapshot, State};

/// What a [`Registry`] can do with any breaker: read it and drive its
/// operator modes. Implemented for every `Sync` [`Breaker`].
pub trait BreakerControl: Sync {
    /// The current state (may perform a due open→half-open move).
    fn state(&self) -> State;
    /// A consistent view of the breaker; never writes.
    fn snapshot(&self) -> Snapshot;
    /// Rejects every call until [`reset`](Self::reset).
    fn force_open(&self);
    /// Permits and records everything, never trips, until `reset`.
    fn metrics_only(&self);
    /// Permits everything and records nothing, until `reset`.
    fn disable(&self);
    /// Back to `Closed`, automatic mode, empty window, backoff level 0.
    fn reset(&self);
    /// Starts a half-open episode now.
    fn transition_to_half_open(&self);
}

impl<C: Clock, W: AnyWindow, O: Observer> BreakerControl for Breaker<C, W, O>
where
    Breaker<C, W, O>: Sync,
{
    fn state(&self) -> State {
        Breaker::state(self)
    }
    fn snapshot(&self) -> Snapshot {
        Breaker::snapshot(self)
    }
    fn force_open(&self) {
        Breaker::force_open(self)
    }
    fn metrics_only(&self) {
        Breaker::metrics_only(self)
    }
    fn disable(&self) {
        Breaker::disable(self)
    }
    fn reset(&self) {
        Breaker::reset(self)
    }
    fn transition_to_half_open(&self) {
        Breaker::transition_to_half_open(self)
    }
}

/// `N` named breakers, fixed when the firmware is compiled. Building one in a
/// `static` with a duplicate name is a compile error.
///
/// ```
/// use core::time::Duration;
/// use fusebox_core::{Config, State};
/// use fusebox_embedded::{EmbassyBreaker, EmbassyClock, Registry};
///
/// const CONFIG: Config = match Config::builder().consecutive_failures(3).build() {
///     Ok(c) => c,
///     Err(_) => panic!("bad breaker config"),
/// };
/// static UPLINK: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, CONFIG);
/// static SENSOR: EmbassyBreaker = EmbassyBreaker::new(EmbassyClock, CONFIG);
/// static BREAKERS: Registry<2> = Registry::new([("uplink", &UPLINK), ("sensor", &SENSOR)]);
///
/// BREAKERS.get("sensor").unwrap().force_open();
/// assert_eq!(SENSOR.snapshot().state, State::ForcedOpen);
/// assert!(BREAKERS.get("modem").is_none());
/// ```
pub struct Registry<const N: usize> {
    entries: [(&'static str, &'static dyn BreakerControl); N],
}

impl<const N: usize> Registry<N> {
    /// A registry of `entries`.
    ///
    /// # Panics
    /// If two entries share a name (at compile time in a `static`).
    pub const fn new(entries: [(&'static str, &'static dyn BreakerControl); N]) -> Self {
        let mut i = 0;
        while i < N {
            let mut j = i + 1;
            while j < N {
                if str_eq(entries[i].0, entries[j].0) {
                    panic!("fusebox Registry: two breakers share a name");
                }
                j += 1;
            }
            i += 1;
        }
        Registry { entries }
    }

    /// The breaker called `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn BreakerControl> {
        self.entries
            .iter()
            .find(|(entry, _)| *entry == name)
            .map(|&(_, breaker)| breaker)
    }

    /// Every `(name, breaker)`, in the order given to [`new`](Self::new).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static dyn BreakerControl)> + '_ {
        self.entries.iter().copied()
    }

    /// The number of breakers.
    pub const fn len(&self) -> usize {
        N
    }

    /// Whether the registry is empty.
    pub const fn is_empty(&self) -> bool {
        N == 0
    }
}

impl<const N: usize> core::fmt::Debug for Registry<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(name, _)| name))
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Registry<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Registry [");
        for (i, (name, breaker)) in self.entries.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            // `snapshot`, not `state`: formatting must not move the breaker.
            defmt::write!(f, "{=str}{=str}: {}", sep, name, breaker.snapshot().state);
        }
        defmt::write!(f, "]");
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
