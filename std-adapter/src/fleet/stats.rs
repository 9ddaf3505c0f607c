//! The fleet's counters, per breaker. Written by the fleet's tasks only,
//! never by a call.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the fleet did for one breaker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetCounts {
    /// Peers' opens adopted (transitions with reason `Adopted`).
    pub adoptions: u64,
    /// Adoptions the local breaker refused (forced open, disabled,
    /// metrics-only), or opens already longer than the adopted one.
    pub adoptions_refused: u64,
    /// Opens and closes of this instance published.
    pub publications: u64,
    /// Opens and closes dropped: the publication queue was full, or an
    /// open's time ran out before Redis could take it.
    pub drops: u64,
    /// Redis commands about this breaker that failed or timed out.
    pub store_errors: u64,
    /// Adopted opens ended early because a peer closed.
    pub early_probes: u64,
    /// States restored from this instance's entry at start-up.
    pub restores: u64,
}

/// Counters by breaker name.
#[derive(Debug, Default)]
pub(crate) struct Stats(Mutex<BTreeMap<String, FleetCounts>>);

impl Stats {
    pub(crate) fn bump(&self, breaker: &str, f: impl FnOnce(&mut FleetCounts)) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match m.get_mut(breaker) {
            Some(c) => f(c),
            None => {
                let mut c = FleetCounts::default();
                f(&mut c);
                m.insert(breaker.to_string(), c);
            }
        }
    }

    pub(crate) fn get(&self, breaker: &str) -> FleetCounts {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(breaker).copied().unwrap_or_default()
    }

    pub(crate) fn all(&self) -> BTreeMap<String, FleetCounts> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
