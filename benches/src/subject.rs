//! [`Subject`]: one protected call, whatever guards it, so the scaling binary
//! drives every breaker through the same monomorphised loop.

use failsafe::{FailurePolicy, Instrument, StateMachine};
use recloser::Recloser;

use crate::floor::AtomicFloor;
use crate::peers;

/// Something that guards the dependency: acquire, call, record.
pub trait Subject: Sync {
    /// Call number `i` through the guard; the dependency fails when `fail`.
    /// Returns `true` when the call was permitted.
    fn call(&self, i: u64, fail: bool) -> bool;
}

impl Subject for AtomicFloor {
    #[inline(always)]
    fn call(&self, i: u64, fail: bool) -> bool {
        AtomicFloor::call(self, i, fail)
    }
}

impl<P, I> Subject for StateMachine<P, I>
where
    P: FailurePolicy + Send,
    I: Instrument + Send + Sync,
{
    #[inline(always)]
    fn call(&self, i: u64, fail: bool) -> bool {
        peers::failsafe_call(self, i, fail)
    }
}

impl Subject for Recloser {
    #[inline(always)]
    fn call(&self, i: u64, fail: bool) -> bool {
        peers::recloser_call(self, i, fail)
    }
}
