//! # fusebox-core
//!
//! A lock-free, `no_std`, allocation-free circuit breaker: the state machine
//! that every fusebox adapter (std, embedded) is a thin layer over.
//!
//! A breaker stands between a program and a dependency. It counts outcomes,
//! trips **open** when the dependency is failing so that callers fail fast,
//! lets a few **half-open** probes through after a wait, and **closes** again
//! when they succeed.
//!
//! ```
//! use core::time::Duration;
//! use fusebox_core::{Breaker, Config, CountWindow, ManualClock, Ratio, State};
//!
//! static CLOCK: ManualClock = ManualClock::new(); // any `Clock`; fusebox-std has `StdClock`
//! static DB: Breaker<&ManualClock, CountWindow<20>> = Breaker::new(
//!     &CLOCK,
//!     match Config::builder()
//!         .consecutive_failures(5)
//!         .failure_rate(Ratio::percent(50))
//!         .minimum_calls(10)
//!         .open_for(Duration::from_secs(30))
//!         .build()
//!     {
//!         Ok(c) => c,
//!         Err(_) => panic!("bad breaker config"), // a compile error in a static
//!     },
//! );
//!
//! fn query() -> Result<u32, &'static str> { Err("timeout") }
//!
//! for _ in 0..5 {
//!     match DB.try_acquire() {
//!         Ok(permit) => match query() {
//!             Ok(_) => { let _ = permit.success(); }
//!             Err(_) => { let _ = permit.failure(); }
//!         },
//!         Err(rejected) => println!("not now: {rejected}"),
//!     }
//! }
//! assert_eq!(DB.state(), State::Open);
//! assert!(DB.try_acquire().is_err()); // fails fast for the next 30 s
//! ```
//!
//! # Where each rule of the design lives
//!
//! | rule (`shared/DESIGN.md`) | module |
//! |---|---|
//! | §2 states, modes, epochs; §7 the state word and its bit layout | `state` ([`State::ALL`]) |
//! | §2–§6 every transition rule, as pure functions of the state word | `machine` |
//! | §7 the one compare-and-swap loop on the state word, and the follow-up of a transition | `machine::driver` |
//! | §3 recording outcomes (window first, then the rules), slow calls | `record` |
//! | §3 the rates, in integer basis points | `window` (`rate_bp`, `reaches`) |
//! | §3 count window (exact, tagged ring), one container over its storage | `window::count` ([`CountWindowOf`]; storage in `window::count::storage`) |
//! | §3 time window (stamped buckets, stripes), one container over its storage | `window::time` ([`TimeWindowOf`]; storage in `window::time::storage`) |
//! | §4 open deadline, publication, wrap-aware compare | `timer` |
//! | §4 backoff and deterministic jitter | [`backoff`] |
//! | §4–§5 the moves that fall due with time (open → half-open, max wait) and probe admission | `breaker::admit` |
//! | §2 operator calls | `breaker::operator` |
//! | §6 permits, stale results, release on drop, `trip_for` | [`Permit`], `record` |
//! | what a call's result means to its permit (shared by the adapters) | [`Classifier`], [`Verdict`] (`classify`) |
//! | §8 clock | [`Clock`], [`ManualClock`] |
//! | §9 construction, const generics | [`Breaker::new`] (`breaker::new`) |
//! | §9 config, its builder, its checks and errors | [`Config`], [`ConfigBuilder`], [`ConfigError`] (`config::{builder, validate, error}`), [`Ratio`] |
//! | §10 observers and snapshots | [`Observer`], [`Snapshot`] (`snapshot`) |
//! | §14 export / restore, adopting a peer's open | [`Exported`], [`Breaker::restore`], [`Breaker::adopt_open`] (`export`, `breaker::restore`) |
//! | §14 progressive recovery and adaptive throttling (features `ramp`, `throttle`) | `shape` (pure rules, their atomics), `breaker::shaping` (admission) |
//! | every atomic import | `sync` (portable-atomic, or loom under `--cfg fusebox_loom`) |
//!
//! Semantics users rely on, and the decisions where the design is silent,
//! are written down in the project's `docs/design.md`.
//!
//! # Successes never judge
//! Rules are evaluated only when a failure or a slow call is recorded. Unlike
//! Resilience4j, which also judges after a success, a success that lifts the
//! window to `minimum_calls`, or a time window whose expiry raises the rate,
//! trips the breaker at the *next failure*, not at that success. In exchange
//! the success path never reads the window, and in consecutive-only mode a
//! success on a zero run writes no shared memory at all.
//!
//! # Portability
//! - Every atomic is native width: 64-bit words where the target has 64-bit
//!   atomics, 32-bit words elsewhere (Cortex-M, RISC-V 32), with narrower
//!   fields whose limits [`ConfigError`] enforces (at most 1 023 consecutive
//!   failures, 31 half-open probes, count windows of 127). No lock-based
//!   atomic fallback is ever used: an interrupt can share a breaker with
//!   thread mode on a Cortex-M3/M4/M7 without risk of deadlock.
//! - Chips without compare-and-swap (`thumbv6m`, `riscv32imc`): enable the
//!   `critical-section` feature and link a `critical-section` implementation
//!   in the application (`cortex-m`'s `critical-section-single-core`, or a
//!   multicore one). Without it the build fails with portable-atomic's hint.
//! - `defmt`: `defmt::Format` for every public type.
//! - `serde`: `Serialize`/`Deserialize` for [`Exported`] and what it holds.
//! - `ramp`: progressive recovery (`ConfigBuilder::ramp_up`,
//!   `ConfigBuilder::ramp_stages`, the `shape` module's ramp items).
//! - `throttle`: adaptive throttling (`ConfigBuilder::throttle_k`, with a
//!   [`TimeWindow`]; the `shape` module's throttle items).
//!
//!   Both are off by default, so a firmware that does not ask for them pays
//!   neither memory nor code; without them [`RejectReason::Ramp`] and
//!   [`RejectReason::Throttled`] exist but are never returned. `fusebox-std`
//!   enables both.
//! - `--cfg fusebox_narrow` forces the 32-bit layout on a 64-bit host, so
//!   the test suite covers it; `--cfg fusebox_loom` swaps in loom's atomics.
//!
//! # Cost
//! Per call, closed state, no contention: one atomic load to acquire; to
//! record a success, nothing more with [`NoWindow`] (on a zero run), three
//! atomic read-modify-writes with a [`CountWindow`], one compare-and-swap on
//! the caller's stripe plus a clock read with a [`TimeWindow`]. A failure
//! also updates the state word and, with a time window, sums `B * S`
//! buckets. Measured figures are in the project's `benches/RESULTS.md`.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// `Word` is `u64` or `u32` by target: a cast that is a no-op on one is needed on the other.
#![allow(clippy::unnecessary_cast)]

mod arith;
pub mod backoff;
mod breaker;
mod classify;
mod clock;
mod config;
mod export;
mod machine;
mod observer;
mod permit;
mod record;
mod settings;
#[cfg(any(feature = "ramp", feature = "throttle"))]
pub mod shape;
mod snapshot;
mod state;
mod sync;
mod timer;
mod window;

pub use breaker::Breaker;
pub use classify::{Classifier, DefaultClassifier, Verdict};
pub use clock::{duration_to_ticks, ticks_to_duration, Clock, ManualClock};
#[cfg(feature = "throttle")]
pub use config::MAX_THROTTLE_K;
pub use config::{
    Abandon, Backoff, BackoffKind, Config, ConfigBuilder, ConfigError, Ratio, TripPredicate,
    WindowShape, MAX_DURATION, MAX_JITTER, MAX_MULTIPLIER,
};
pub use export::{AdoptOutcome, Dropped, Exported, RestoreError, RestoreReport, EXPORT_VERSION};
pub use observer::{NoObserver, Observer, OutcomeEvent, Rejection, Transition, TransitionReason};
pub use permit::{Guard, Outcome, Permit, Recorded, RejectReason, Rejected};
pub use snapshot::Snapshot;
pub use state::{Mode, State};
pub use window::{
    AnyWindow, BucketCell, BucketRows, BucketSlice, BucketStorage, CountWindow, CountWindowOf,
    DynCountWindow, DynTimeWindow, NoWindow, RingArray, RingCell, RingStorage, RuntimeWindow,
    TimeWindow, TimeWindowOf, Window, WindowCounts,
};
