//! The fleet's moves on a local breaker: adopting a peer's open, probing
//! early, restoring this instance's saved state.

use super::wire::Entry;
use crate::StdBreaker;
use fusebox_core::State;
use std::time::Duration;

/// Adopts an open for `open_for`; the epoch of the adopted open, or `None`
/// if the breaker refused (an operator mode, an open already longer).
pub(crate) fn adopt_open(b: &StdBreaker, open_for: Duration) -> Option<u64> {
    let _ = (b, open_for);
    None
}

/// Ends an adopted open at once (a half-open episode: the local probes
/// decide), if the breaker is still in that open.
pub(crate) fn probe_early(b: &StdBreaker, adopted_epoch: u64) -> bool {
    let s = b.snapshot();
    if s.state == State::Open && s.epoch == adopted_epoch {
        b.transition_to_half_open();
        true
    } else {
        false
    }
}

/// Restores this instance's own saved entry (`remaining` already aged on
/// the server's clock) into a breaker that has not moved since start-up.
pub(crate) fn restore_own(b: &StdBreaker, entry: &Entry, remaining: Duration) -> bool {
    let _ = (b, entry, remaining);
    false
}
