//! # fusebox-std
//!
//! The `std` adapter of [fusebox](fusebox_core): a clock, call wrappers,
//! config files, a registry, metrics and a `tower` layer over the lock-free
//! core. It holds no state-machine logic of its own: every decision is the
//! core's.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod breaker;
mod call;
mod classify;
mod clock;
pub mod config;
mod error;
pub mod metrics;
pub mod observe;
mod registry;
mod std_breaker;
#[cfg(feature = "tower")]
pub mod tower;

pub use breaker::{CircuitBreaker, RecordPermit};
pub use call::{CallExt, CallFuture, WithFallback};
pub use classify::{Classifier, DefaultClassifier};
pub use clock::StdClock;
pub use error::Error;
pub use observe::{StdObserver, TransitionEvent};
pub use registry::{Health, HealthReport, Registry};
pub use std_breaker::{
    BreakerSpec, StdBreaker, StdOwnedPermit, StdPermit, WindowSpec, MAX_TIME_STRIPES,
};

/// The core crate, re-exported.
pub use fusebox_core as core;
