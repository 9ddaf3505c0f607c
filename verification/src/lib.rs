//! `fusebox-verification`: loom models and proptest model-based tests.
//!
//! **Placeholder.** Nothing is implemented yet.
#![deny(missing_docs)]
