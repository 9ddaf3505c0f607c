//! Baselines: a bare call, and the "atomic floor".
//!
//! The atomic floor is the least any shared-state breaker can do per call:
//! one `Acquire` load (read the state) plus one `Relaxed` `fetch_add` (record
//! the outcome) on one shared `AtomicU64`. Issue 4's targets are ratios to it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::workload::dependency;

/// The atomic floor: one shared word, read then incremented on every call.
#[derive(Debug, Default)]
pub struct AtomicFloor {
    word: AtomicU64,
}

impl AtomicFloor {
    /// A floor whose word starts at zero.
    pub const fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
        }
    }

    /// One protected call: `Acquire` load, the dependency, `Relaxed`
    /// `fetch_add`. Returns whether the call was "permitted": always, since
    /// the word never reaches `u64::MAX`; the branch keeps the load live.
    #[inline(always)]
    pub fn call(&self, i: u64, fail: bool) -> bool {
        if self.word.load(Ordering::Acquire) == u64::MAX {
            return false;
        }
        let _ = dependency(i, fail);
        self.word.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// The bare call: the dependency with no breaker around it.
#[inline(always)]
pub fn bare_call(i: u64, fail: bool) -> bool {
    dependency(i, fail).is_ok()
}
