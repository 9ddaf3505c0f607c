//! `fusebox-embedded`: the embedded adapter of fusebox.
//!
//! **Placeholder.** This crate will hold the `embassy-time` clock, `defmt`
//! support and firmware examples. Nothing is implemented yet.
#![no_std]
#![deny(missing_docs)]

pub use fusebox_core as core;
