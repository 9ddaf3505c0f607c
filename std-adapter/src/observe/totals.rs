//! Running totals, striped so that cores sharing a breaker do not contend.

use fusebox_core::{Outcome, OutcomeEvent, Recorded, RejectReason};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const STRIPES: usize = 8;
const FIELDS: usize = 9;
const REJECTED: usize = 0;
const SUCCESS: usize = 1;
const FAILURE: usize = 2;
const IGNORED: usize = 3;
const SLOW: usize = 4;
const STALE: usize = 5;
const ABANDONED: usize = 6;
const REJECTED_RAMP: usize = 7;
const REJECTED_THROTTLED: usize = 8;

/// One cache line (two on CPUs that prefetch pairs) of counters.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Row([AtomicU64; FIELDS]);

/// Running totals of one breaker, kept by its [`StdObserver`](super::StdObserver).
///
/// Each thread adds to one of 8 cache-padded rows; readers sum the rows.
/// A total read while calls are recorded may be a few calls behind.
#[derive(Debug, Default)]
pub struct Totals {
    rows: [Row; STRIPES],
}

/// The totals at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TotalsSnapshot {
    /// Permitted calls whose outcome was recorded or abandoned.
    pub permitted: u64,
    /// Rejected calls, for every reason.
    pub rejected: u64,
    /// Of those, rejected by the ramp after a close (progressive recovery).
    pub rejected_ramp: u64,
    /// Of those, rejected by adaptive throttling.
    pub rejected_throttled: u64,
    /// Recorded successes.
    pub success: u64,
    /// Recorded failures (including abandoned permits under `on_abandon = failure`).
    pub failure: u64,
    /// Ignored outcomes (including permits abandoned under `on_abandon = ignore`).
    pub ignored: u64,
    /// Slow calls (successes or failures).
    pub slow: u64,
    /// Outcomes that arrived after their episode ended.
    pub stale: u64,
    /// Permits dropped without an outcome (cancelled futures, panicking classifiers).
    pub abandoned: u64,
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

impl Totals {
    #[inline]
    fn add(&self, field: usize) {
        let stripe = STRIPE.try_with(|s| *s).unwrap_or(0);
        // Relaxed: statistics; nothing is ordered by them.
        self.rows[stripe].0[field].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_rejected(&self, reason: RejectReason) {
        self.add(REJECTED);
        match reason {
            RejectReason::State => {}
            RejectReason::Ramp => self.add(REJECTED_RAMP),
            RejectReason::Throttled => self.add(REJECTED_THROTTLED),
        }
    }

    pub(crate) fn add_outcome(&self, o: &OutcomeEvent) {
        self.add(match o.outcome {
            Outcome::Success => SUCCESS,
            Outcome::Failure => FAILURE,
            Outcome::Ignored => IGNORED,
        });
        if o.slow {
            self.add(SLOW);
        }
        if o.recorded == Recorded::Stale {
            self.add(STALE);
        }
        if o.abandoned {
            self.add(ABANDONED);
        }
    }

    /// Sums the rows.
    pub fn snapshot(&self) -> TotalsSnapshot {
        let mut sum = [0u64; FIELDS];
        for row in &self.rows {
            for (s, cell) in sum.iter_mut().zip(&row.0) {
                // Relaxed: statistics.
                *s += cell.load(Ordering::Relaxed);
            }
        }
        TotalsSnapshot {
            permitted: sum[SUCCESS] + sum[FAILURE] + sum[IGNORED],
            rejected: sum[REJECTED],
            rejected_ramp: sum[REJECTED_RAMP],
            rejected_throttled: sum[REJECTED_THROTTLED],
            success: sum[SUCCESS],
            failure: sum[FAILURE],
            ignored: sum[IGNORED],
            slow: sum[SLOW],
            stale: sum[STALE],
            abandoned: sum[ABANDONED],
        }
    }
}
