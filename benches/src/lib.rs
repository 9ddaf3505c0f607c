//! `fusebox-benches`: fusebox next to the breakers a user would otherwise pick.
//!
//! Everything the criterion groups (`benches/breakers.rs`), the contention
//! binary (`src/bin/scaling.rs`) and the allocation test (`tests/alloc.rs`)
//! share lives here, so each scenario is configured once:
//!
//! - [`workload`]: the protected "dependency" and the 5 % failure pattern;
//! - [`clock`]: [`InstantClock`](clock::InstantClock), the `Instant`-based clock,
//!   and [`QuantaClock`](clock::QuantaClock), the TSC through `quanta`;
//! - [`fusebox`]: the fusebox breakers, one per window kind;
//! - [`floor`]: the baselines, a bare call and the atomic floor;
//! - [`peers`]: `failsafe` 1.3, `recloser` 1.4 and `tower-resilience` 0.13,
//!   each config documented;
//! - [`subject`]: one protected call through any of them, for the scaling loop.
//!
//! Figures and the commands that produce them are in `benches/RESULTS.md`.
#![deny(missing_docs)]

pub mod clock;
pub mod floor;
pub mod fusebox;
pub mod peers;
pub mod subject;
pub mod workload;
