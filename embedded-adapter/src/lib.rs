//! `fusebox-embedded`: fusebox circuit breakers in `no_std` firmware, on
//! `embassy-time`.
//!
//! - [`EmbassyClock`]: a zero-sized [`Clock`](fusebox_core::Clock) over
//!   `embassy_time::Instant` ticks, and [`EmbassyBreaker`], a breaker on it.
//! - [`AsyncCall`]: `breaker.call(|| async { .. }).await` for embassy tasks,
//!   with a classifier, a time limit ([`CallPolicy`]) and cancellation safety.
//! - [`EventQueue`] and [`QueueObserver`]: transitions pushed from any context
//!   (tasks, interrupt handlers) into a fixed-size queue for a logging task,
//!   with a count of dropped events.
//! - [`Registry`]: a firmware's breakers by name, fixed at compile time.
//!
//! Nothing here allocates: breakers, queues and registries live in `static`s.
//! The crate re-exports [`fusebox_core`] so firmware needs one dependency.
//!
//! # An embassy task
//! A complete firmware (`firmware/qemu/examples/embassy_task.rs`, built for
//! `thumbv7em-none-eabihf` by CI and run in QEMU): a static breaker with
//! backoff, a task that calls a flaky uplink through it with a time limit,
//! and a task that logs the breaker's transitions from an [`EventQueue`].
//!
#![doc = concat!("```rust,ignore\n", include_str!("../firmware/qemu/examples/embassy_task.rs"), "```")]
//!
//! # Features
//! - `critical-section`: for chips without compare-and-swap (Cortex-M0/M0+
//!   `thumbv6m-none-eabi`, `riscv32imc-unknown-none-elf`). Routes the atomics of
//!   fusebox and of the event queue through `critical_section::with`. The
//!   **application** provides the implementation: on a single-core Cortex-M,
//!   `cortex-m = { version = "0.7", features = ["critical-section-single-core"] }`
//!   (and `use cortex_m as _;` so it is linked); on a multicore chip (RP2040),
//!   the HAL's implementation (`rp2040-hal` provides one over its hardware
//!   spinlock). Without the feature and without an implementation, a build for
//!   such a chip fails with portable-atomic's "dependents require atomic CAS"
//!   hint. Chips with CAS (Cortex-M3/M4/M7, `riscv32imac`) need no feature,
//!   and should not enable it: their atomics are native and lock-free, so an
//!   interrupt handler may use a breaker that thread mode is using, while the
//!   feature would only bring in portable-atomic's `fallback` (through
//!   heapless), a spinning lock for 64-bit atomics on ARMv7-M.
//! - `defmt`: `defmt::Format` for every public type of this crate and of
//!   fusebox-core. Host builds and tests need no defmt linker script; firmware
//!   links `-Tdefmt.x` as usual.
//! - `ramp`, `throttle`: fusebox-core's progressive recovery and adaptive
//!   throttling (`ConfigBuilder::ramp_up`, `ConfigBuilder::throttle_k`). Off
//!   by default: without them no breaker holds their settings, state or
//!   code; with them a breaker pays it whether or not the mode is
//!   configured (per-mode flash and RAM in `firmware/README.md`).
//!
//! The time driver, the tick rate (`embassy-time`'s `tick-hz-*`) and the
//! critical-section implementation are one-per-binary choices: this crate
//! makes none of them.
//!
//! # Interrupts and 32-bit targets
//! - A breaker may be shared by tasks and interrupt handlers of any priority:
//!   fusebox-core uses only native-width atomics (32-bit words on chips
//!   without 64-bit atomics), so no context ever waits for another. The QEMU
//!   firmware proves it with an interrupt-versus-thread stress on a Cortex-M3
//!   and a Cortex-M0. (Do not put a `portable-atomic` `AtomicU64` of your own
//!   next to it on ARMv7-M: there it is a spinning lock, and an interrupt that
//!   preempts its holder deadlocks.)
//! - On 32-bit targets the open deadline is kept in 24-bit units of `2^k`
//!   ticks, `k` chosen when the breaker is built from the longest possible
//!   open period (backoff `max`, `max_trip_hint`, `max_half_open_wait`), and
//!   `open_for` must span at least 16 units. With embassy's default 1 MHz
//!   tick and the default 10-minute `max_trip_hint`, that is `open_for >=
//!   4.1 ms`; a shorter `max_trip_hint` allows shorter open periods. A config
//!   outside the range is a `ConfigError` (a compile error for a breaker built
//!   in a `static`).
//! - [`EmbassyClock`] reports embassy's 64-bit ticks; the breaker's deadline
//!   arithmetic is wrap-aware, and the QEMU firmware runs its outage across
//!   the 2^32-tick boundary.
//!
//! # Sizes
//! `firmware/README.md` lists the flash and RAM of the QEMU firmware and how
//! much of it fusebox adds (one breaker used from `main`: about 6 KiB of
//! flash and 168 bytes of RAM on a Cortex-M3 or M0).
#![no_std]
#![deny(missing_docs)]

mod call;
mod clock;
mod events;
mod registry;

pub use call::{AsyncCall, CallError, CallPolicy, Classify, OkIsSuccess};
pub use clock::{EmbassyBreaker, EmbassyClock};
pub use events::{Event, EventQueue, QueueObserver};
pub use registry::{BreakerControl, Registry};

pub use fusebox_core;
