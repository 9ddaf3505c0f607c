//! The protected call every scenario makes, and its failure pattern.
//!
//! The "dependency" is as cheap as a call can be, so that what the figures
//! show is the breaker's own cost. Every variant, baselines included, calls
//! it once per iteration.

use std::hint::black_box;

/// One call in this many fails in the "5 % failures" scenarios.
pub const FAIL_EVERY: u64 = 20;

/// Whether call number `i` fails in the "5 % failures" scenarios: one in
/// [`FAIL_EVERY`], never two in a row, so a consecutive-failures rule of 2 or
/// more and a failure-rate rule above 5 % never trip.
#[inline(always)]
pub fn fails(i: u64) -> bool {
    i % FAIL_EVERY == FAIL_EVERY - 1
}

/// The protected dependency: returns `Err` when `fail` is set. `black_box`
/// keeps the compiler from proving the outcome and folding the breaker away.
#[inline(always)]
pub fn dependency(i: u64, fail: bool) -> Result<u64, u64> {
    let i = black_box(i);
    if black_box(fail) {
        Err(i)
    } else {
        Ok(i)
    }
}
