//! [`RetryBudget`]: a cap on retries as a share of calls.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cap on retries as a share of calls: each call deposits `ratio` of a
/// token, each retry withdraws one whole token and is refused when less
/// than one is left. The balance starts at `reserve` tokens and never holds
/// more than `reserve` (at least one), so over any stretch of time
///
/// ```text
/// retries <= reserve + ratio * calls
/// ```
///
/// and a long healthy spell cannot bank a burst of retries bigger than the
/// reserve. Unlike tower's `TpsBudget` (which `tower::RetryPolicy` uses) it
/// reads no clock: deposits do not expire, and there is no per-second
/// floor. Shared by the callers of one dependency (`Arc`); lock-free.
///
/// ```
/// use fusebox_std::retry::RetryBudget;
/// let budget = RetryBudget::new(0.5, 1).unwrap();
/// assert!(budget.withdraw()); // the reserve
/// assert!(!budget.withdraw());
/// budget.deposit();
/// budget.deposit(); // two calls: one more retry
/// assert!(budget.withdraw());
/// assert!(!budget.withdraw());
/// ```
pub struct RetryBudget {
    /// Thousandths of a token.
    balance: AtomicU64,
    per_call: u64,
    cap: u64,
}

/// Thousandths of a token: a ratio's resolution.
const MILLI: u64 = 1000;

/// A [`RetryBudget`] setting out of range: the setting and what it allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRetryBudget {
    /// The setting at fault.
    pub field: &'static str,
    /// What it allows.
    pub allowed: &'static str,
}

impl fmt::Display for InvalidRetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "retry budget: `{}` must be {}", self.field, self.allowed)
    }
}

impl std::error::Error for InvalidRetryBudget {}

impl RetryBudget {
    /// Retries may be `ratio` of the calls (0.0 ..= 10.0, to a thousandth),
    /// plus `reserve` spare ones (0 ..= 1 000 000), which refill from calls.
    pub fn new(ratio: f32, reserve: u32) -> Result<RetryBudget, InvalidRetryBudget> {
        if !(0.0..=10.0).contains(&ratio) {
            return Err(InvalidRetryBudget {
                field: "ratio",
                allowed: "between 0.0 and 10.0",
            });
        }
        if reserve > 1_000_000 {
            return Err(InvalidRetryBudget {
                field: "reserve",
                allowed: "at most 1 000 000",
            });
        }
        let reserve = u64::from(reserve) * MILLI;
        Ok(RetryBudget {
            balance: AtomicU64::new(reserve),
            per_call: (f64::from(ratio) * MILLI as f64).round() as u64,
            cap: reserve.max(MILLI),
        })
    }

    /// Counts one call (not one attempt).
    pub fn deposit(&self) {
        // Relaxed: the balance guards no other memory; each update is one
        // atomic read-modify-write, so none is lost.
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((b + self.per_call).min(self.cap))
            });
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn withdraw(&self) -> bool {
        // Relaxed: as in `deposit`.
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(MILLI)
            })
            .is_ok()
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field(
                "tokens",
                &(self.balance.load(Ordering::Relaxed) as f64 / 1000.0),
            )
            .field("per_call", &(self.per_call as f64 / 1000.0))
            .field("cap", &(self.cap / MILLI))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_reserve_plus_ratio_of_calls_and_caps_the_balance() {
        let budget = RetryBudget::new(0.2, 2).unwrap();
        for _ in 0..100 {
            budget.deposit(); // capped at the reserve: nothing banked
        }
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        for _ in 0..5 {
            budget.deposit();
        }
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        assert_eq!(
            RetryBudget::new(11.0, 0).unwrap_err().field,
            "ratio",
            "ratio out of range"
        );
    }
}
