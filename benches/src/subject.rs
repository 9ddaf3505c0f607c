//! [`Subject`]: one protected call, whatever guards it, so the scaling binary
//! drives every breaker through the same monomorphised loop.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use failsafe::{FailurePolicy, Instrument, StateMachine};
use recloser::Recloser;

use crate::floor::AtomicFloor;
use crate::peers::{self, TowerResilience};

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

/// A tower-resilience breaker shared by threads the tower way: a tower
/// service takes `&mut self`, so each thread calls through its own clone,
/// and every clone shares the one circuit (its mutex and state atomic), as
/// each connection of a server would.
pub struct TowerResilienceShared {
    id: u64,
    breaker: TowerResilience,
}

/// Tells one [`TowerResilienceShared`] from another in the thread-local cache.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's clone, and the id of the shared breaker it came from.
    static CLONE: RefCell<Option<(u64, TowerResilience)>> = const { RefCell::new(None) };
}

impl TowerResilienceShared {
    /// Shares `breaker`.
    pub fn new(breaker: TowerResilience) -> Self {
        // Relaxed: only uniqueness matters.
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Self { id, breaker }
    }
}

impl Subject for TowerResilienceShared {
    #[inline(always)]
    fn call(&self, i: u64, fail: bool) -> bool {
        CLONE.with_borrow_mut(|slot| {
            let clone = match slot {
                Some((id, clone)) if *id == self.id => clone,
                _ => &mut slot.insert((self.id, self.breaker.clone())).1,
            };
            peers::tower_resilience_call(clone, i, fail)
        })
    }
}
