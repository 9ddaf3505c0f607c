//! `fusebox-verification`: the reference model of DESIGN.md and the tests
//! that hold `fusebox-core` to it. `.ci/verification.sh` runs all of it.
//!
//! | DESIGN.md | where | how |
//! |---|---|---|
//! | §2–6, §13, §14 semantics (export, restore, adopted opens) | [`model`] | a plain sequential breaker, unit-tested by hand-worked examples |
//! | §7 (f) model agreement | `tests/model_vs_core/` | proptest: random configs × random operation sequences over every window kind (const and run-time), compared after every step (150 000 sequences per CI run, release; also on the narrow `--cfg fusebox_narrow` layout) |
//! | §7 (a) half-open admission | `tests/loom_a_half_open_admission.rs` | loom |
//! | §7 (b) one state per epoch | `tests/loom_b_one_transition_per_epoch.rs` | loom |
//! | §7 (c) stale outcomes | `tests/loom_c_stale_outcomes.rs` | loom |
//! | §7 (d) no lost or double-counted outcome | `tests/loom_d_window_records.rs` | loom |
//! | §7 (e) no leaked permit | `tests/loom_e_permit_release.rs` | loom |
//! | §4, §13 open → half-open at the deadline | `tests/loom_open_deadline_race.rs` | loom |
//! | §4, §13 two deadline publishers and a third caller | `tests/loom_open_deadline_publishers.rs` | loom, 3 threads |
//! | §8 a clock that went back: readers re-anchor the deadline, never half-open early (issue 14) | `tests/loom_open_deadline_reanchor.rs` | loom, 2–3 threads |
//! | §14 restore racing records and the open → half-open move; an adopted open racing a trip (issue 16) | `tests/loom_f_restore.rs` | loom |
//! | §14 progressive recovery: attempts numbered once each, the ramp's end published and removed without touching another episode's timer word (issue 19) | `tests/loom_f_ramp.rs` | loom, 2–3 threads |
//! | §14 adaptive throttling: concurrently throttled calls all count as requests (issue 19) | `tests/loom_g_throttle.rs` | loom, 2 threads |
//! | §14 ramp and adaptive throttling against the model | `tests/model_vs_core` (generated ramps; throttling on time windows) | proptest, both layouts |
//! | §13 narrow words: per-target limits | `tests/core_limits.rs` | the documented field maxima, on both layouts |
//! | bugs found so far | `tests/core_regressions.rs` | hand-reduced reproducers |
//!
//! loom models build with `RUSTFLAGS="--cfg fusebox_loom"` (a crate-specific
//! cfg, so tokio and friends stay out of loom mode) and run with
//! `LOOM_MAX_PREEMPTIONS=3` unless told otherwise; they may run in parallel
//! (each loom thread's time-window stripe is its loom index, so every
//! execution is deterministic).
#![deny(missing_docs)]

pub mod model;
