//! # fusebox-core
//!
//! A lock-free, `no_std`, allocation-free circuit breaker.
//!
//! (Crate guide: see README and docs/design.md.)
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backoff;
mod breaker;
mod clock;
mod config;
mod observer;
mod permit;
mod record;
mod settings;
mod snapshot;
mod state;
mod sync;
mod timer;
mod window;

pub use breaker::Breaker;
pub use clock::{duration_to_ticks, ticks_to_duration, Clock, ManualClock};
pub use config::{
    Abandon, Backoff, Config, ConfigBuilder, ConfigError, Ratio, TripPredicate, MAX_DURATION,
    MAX_JITTER, MAX_MULTIPLIER,
};
pub use observer::{NoObserver, Observer, OutcomeEvent, Rejection, Transition, TransitionReason};
pub use permit::{Guard, Outcome, Permit, Recorded, Rejected};
pub use snapshot::Snapshot;
pub use state::{Mode, State};
pub use window::{CountWindow, NoWindow, TimeWindow, Window, WindowCounts};
