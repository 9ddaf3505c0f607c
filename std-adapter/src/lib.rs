//! `fusebox-std`: the std adapter of fusebox.
//!
//! **Placeholder.** This crate will hold the `Instant` clock, sync and async
//! `call` wrappers, the registry, config files, metrics and the `tower` layer
//! (see the project's issue tracker). Nothing is implemented yet; it only
//! re-exports the core so that the workspace builds.
#![deny(missing_docs)]

pub use fusebox_core as core;
