//! `fusebox-verification`: the reference model of DESIGN.md and the tests
//! that hold `fusebox-core` to it.
//!
//! - [`model`]: a plain sequential breaker, written from DESIGN.md §2–6 and §13.
//! - `tests/model_vs_core.rs`: proptest drives the core and the model with the
//!   same random operations and compares them after every step.
//! - `tests/loom_*.rs`: loom models of the invariants of DESIGN.md §7 (run
//!   with `RUSTFLAGS="--cfg fusebox_loom"`).
#![deny(missing_docs)]

pub mod model;
