//! Invariant (f) of DESIGN.md §7: the core agrees step by step with the
//! sequential reference model, over random configurations and random
//! operation sequences (acquire, record, drop, trip_for, clock moves,
//! operator calls, and issue 16's export, restore at any step, adopt_open).
//!
//! Cases: `CASES_PER_TEST` sequences of up to 96 steps in each of the 3
//! tests: 150 000 per run in release builds (`.ci/verification.sh`, about
//! 10 s), 6 000 in debug builds (`cargo test --workspace`).
//! `FUSEBOX_MODEL_CASES` overrides it for a soak run (`PROPTEST_CASES` does
//! not override an explicit `cases`); 200 000 per test takes about 50 s.
#![cfg(not(fusebox_loom))]

mod ops;
mod regressions;
mod runner;

use ops::Setup;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const CASES_PER_TEST: u32 = if cfg!(debug_assertions) {
    2_000
} else {
    50_000
};
const MAX_STEPS: usize = 96;
/// Jitter on: the model uses the core's published `jitter_factor_bp`.
const JITTER: bool = true;

fn config() -> ProptestConfig {
    let cases = std::env::var("FUSEBOX_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES_PER_TEST);
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { cases },
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    }
}

/// Sequences for the tag-range test: each runs up to a few hundred thousand
/// operator calls in the 64-bit layout (tag range 2^16), far fewer in the
/// narrow one (2^8), so the counts scale with the range.
fn config_across_tag_ranges() -> ProptestConfig {
    let base = config();
    let scale = if ops::TAG_RANGE > 256 { 1_000 } else { 10 };
    ProptestConfig {
        cases: (base.cases / scale).max(4),
        ..base
    }
}

fn check(setup: Setup, ops: Vec<ops::Op>) -> Result<(), TestCaseError> {
    runner::run(&setup, &ops).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn core_matches_model_without_a_window(
        setup in ops::setup(ops::NO_WINDOW, JITTER),
        ops in ops::ops(MAX_STEPS),
    ) {
        check(setup, ops)?;
    }

    #[test]
    fn core_matches_model_with_a_count_window(
        setup in ops::setup(ops::COUNT_WINDOWS, JITTER),
        ops in ops::ops(MAX_STEPS),
    ) {
        check(setup, ops)?;
    }

    #[test]
    fn core_matches_model_with_a_time_window(
        setup in ops::setup(ops::TIME_WINDOWS, JITTER),
        ops in ops::ops(MAX_STEPS),
    ) {
        check(setup, ops)?;
    }
}

proptest! {
    #![proptest_config(config_across_tag_ranges())]

    /// Issue 12: operator calls and trips mixed so that the epoch passes
    /// several timer-tag ranges; every open episode keeps its own deadline.
    #[test]
    fn core_matches_model_across_timer_tag_ranges(
        setup in ops::setup(ops::NO_WINDOW, JITTER),
        ops in ops::ops_across_tag_ranges(32, if ops::TAG_RANGE > 256 { 1 } else { 3 }),
    ) {
        check(setup, ops)?;
    }
}
