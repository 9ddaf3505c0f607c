//! Cases the random suite found, kept as fixed sequences so that each one
//! runs on every `cargo test`, on both layouts.

use crate::ops::{Op, Setup, Via, WindowType};
use crate::runner;
use fusebox_verification::model::{self, Outcome};
use proptest::sample::Index;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// An `Index` that picks element `i` of a list of `len`.
fn index(i: usize, len: usize) -> Index {
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::arbitrary::any::<Index>();
    loop {
        let candidate = strategy.new_tree(&mut runner).unwrap().current();
        if candidate.index(len) == i {
            return candidate;
        }
    }
}

/// Found by CI in the narrow layout: a ramp configured, operator churn
/// that brings the epoch a tag range round, a restored half-open state,
/// then a failure recorded by a permit of the closed episode before.
#[test]
fn a_restored_half_open_after_churn_with_a_ramp() {
    let mut cfg = model::Config::new(1);
    cfg.ramp_up = Some(8);
    cfg.max_trip_hint = 1;
    cfg.admission_fn = fusebox_core::shape::admission_draw_bp;
    let setup = Setup {
        window: WindowType::None,
        cfg,
    };
    let ops = [
        Op::Acquire,
        Op::Churn {
            advance: 0,
            ranges: 1,
            offset: -1,
            mix: 0,
            half_open: false,
        },
        Op::Reset,
        Op::Acquire,
        Op::Churn {
            advance: 0,
            ranges: 1,
            offset: -2,
            mix: 0,
            half_open: true,
        },
        Op::Restore {
            own: false,
            matched: false,
            state: 2,
            k: 0,
            remaining: 0,
            run: 0,
        },
        Op::Record(index(1, 2), Outcome::Failure, Via::WithDuration(0)),
    ];
    if let Err(e) = runner::run(&setup, &ops) {
        panic!("{e}");
    }
}
