//! `fusebox-benches`: criterion benchmarks.
//!
//! **Placeholder.** Nothing is implemented yet.
#![deny(missing_docs)]
