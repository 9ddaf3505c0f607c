//! [`Classifier`]: which results count as failures. The trait, its default
//! and [`Verdict`](fusebox_core::Verdict) live in fusebox-core, shared with
//! the embedded adapter; they are re-exported here.
//!
//! Any `Fn(&Result<T, E>) -> Outcome` is a classifier, so one can look at
//! the `Ok` value too:
//!
//! ```
//! use fusebox_core::Outcome;
//! use fusebox_std::Classifier;
//!
//! // An HTTP status inside `Ok`: 5xx fails, 429 counts nowhere.
//! let by_status = |r: &Result<u16, std::io::Error>| match r {
//!     Ok(429) => Outcome::Ignored,
//!     Ok(s) if *s >= 500 => Outcome::Failure,
//!     Ok(_) => Outcome::Success,
//!     Err(_) => Outcome::Failure,
//! };
//! assert_eq!(by_status.classify(&Ok(503)), Outcome::Failure);
//! ```

pub use fusebox_core::{Classifier, DefaultClassifier};
