//! The fleet's moves on a local breaker: adopting a peer's open, probing
//! early, restoring this instance's saved state.

use crate::StdBreaker;
use fusebox_core::{AdoptOutcome, Exported, State};
use std::time::Duration;

/// Adopts an open for `open_for` (the core clamps it to the breaker's
/// longest open period and never shortens an open in force); the epoch of
/// the adopted open, or `None` if the breaker did not take it (half-open:
/// its own probes decide; an operator mode; an open already longer).
pub(crate) fn adopt_open(b: &StdBreaker, open_for: Duration) -> Option<u64> {
    match b.adopt_open(open_for) {
        AdoptOutcome::Opened { epoch, .. } | AdoptOutcome::Extended { epoch, .. } => Some(epoch),
        AdoptOutcome::AlreadyLonger { .. } | AdoptOutcome::Ignored { .. } => None,
    }
}

/// Ends an adopted open at once (a half-open episode: the local probes
/// decide), if the breaker is still in that open. The check and the move
/// are two steps: a local trip between them (microseconds) would be probed
/// early too, which costs one probe, never a call that should have been let
/// through.
pub(crate) fn probe_early(b: &StdBreaker, adopted_epoch: u64) -> bool {
    let s = b.snapshot();
    if s.state == State::Open && s.epoch == adopted_epoch {
        b.transition_to_half_open();
        true
    } else {
        false
    }
}

/// The exported state as it travels (compact JSON: no spaces).
pub(crate) fn encode(e: &Exported) -> String {
    serde_json::to_string(e).unwrap_or_default()
}

/// Restores this instance's own saved state, `age` old on the Redis
/// server's clock, into a breaker that has not moved since start-up. A
/// closed state is not restored (nothing to carry that a fresh breaker
/// lacks but its run, which a restart may forget).
pub(crate) fn restore_own(b: &StdBreaker, state: &str, age: Duration) -> bool {
    let Ok(mut e) = serde_json::from_str::<Exported>(state) else {
        return false;
    };
    if e.state == State::Closed || b.snapshot().epoch != 0 {
        return false;
    }
    if let Some(left) = e.open_remaining {
        e.open_remaining = Some(left.saturating_sub(age));
    }
    b.restore(&e).is_ok()
}
