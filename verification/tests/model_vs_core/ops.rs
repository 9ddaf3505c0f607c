//! Random configurations and operation sequences.

use fusebox_verification::model::{self, Abandon, Backoff, Outcome, WindowKind};
use proptest::prelude::*;
use proptest::sample::Index;

/// Which monomorphised window type the core runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowType {
    None,
    Count1,
    Count3,
    Count8,
    Time1,
    Time4,
    /// Four buckets over two stripes.
    Time4Striped,
    /// `DynCountWindow` over 5 boxed cells (the std adapter's kind).
    DynCount5,
    /// `DynTimeWindow`: 3 buckets in 2 stripes over boxed cells.
    DynTime3Striped,
}

pub const NO_WINDOW: &[WindowType] = &[WindowType::None];
pub const COUNT_WINDOWS: &[WindowType] = &[
    WindowType::Count1,
    WindowType::Count3,
    WindowType::Count8,
    WindowType::DynCount5,
];
pub const TIME_WINDOWS: &[WindowType] = &[
    WindowType::Time1,
    WindowType::Time4,
    WindowType::Time4Striped,
    WindowType::DynTime3Striped,
];

/// A generated breaker: the window type plus the model's config (ticks of a
/// 1 kHz manual clock, so every duration is a whole number of milliseconds).
#[derive(Clone, Debug)]
pub struct Setup {
    pub window: WindowType,
    pub cfg: model::Config,
}

/// How a permit is completed.
#[derive(Clone, Copy, Debug)]
pub enum Via {
    /// `record_with_duration(outcome, ticks)`.
    WithDuration(u64),
    /// `record(outcome)`: the core measures the duration from the acquire.
    Measured,
    /// `success()` / `failure()` / `ignore()`.
    Shortcut,
}

#[derive(Clone, Debug)]
pub enum Op {
    Acquire,
    Record(Index, Outcome, Via),
    Drop(Index),
    TripFor(Index, u64),
    Advance(u64),
    /// Advance exactly to the next due move (deadline or half-open expiry),
    /// minus the given ticks (0 or 1).
    AdvanceToDue(u64),
    State,
    ForceOpen,
    MetricsOnly,
    Disable,
    Reset,
    ForceClosed,
    TransitionToHalfOpen,
    /// Issue 16: `export()` on both, compared.
    Export,
    /// Issue 16: `restore`: of the breaker's own export (`own`), or of a
    /// value another process could have written (state index, backoff level,
    /// remaining ticks, run); under the same fingerprint or another one.
    Restore {
        own: bool,
        matched: bool,
        state: u8,
        k: u32,
        remaining: u64,
        run: u32,
    },
    /// Issue 16: `adopt_open` for this many ticks.
    Adopt(u64),
    /// Issue 12: advance the clock, then operator calls in a row (cycling
    /// through them from the `u8` offset) that publish no deadline, ending
    /// with `reset()` (or `transition_to_half_open()` when the flag is set),
    /// so that the epoch lands `k` tag ranges, plus the `i8` offset, past the
    /// last open or timed half-open episode: a trip right after an offset-0
    /// churn has that episode's tag.
    Churn {
        advance: u64,
        ranges: u32,
        offset: i8,
        mix: u8,
        half_open: bool,
    },
}

/// How many epochs the core's timer tag tells apart: 2^16 in the 64-bit
/// layout, 2^8 in the narrow one.
pub const TAG_RANGE: u32 = if cfg!(fusebox_narrow) {
    1 << 8
} else {
    1 << 16
};

pub fn ops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..max_len)
}

/// Like [`ops`], plus [`Op::Churn`] runs that bring the epoch whole
/// timer-tag ranges (give or take a few) past the last timed episode.
pub fn ops_across_tag_ranges(max_len: usize, ranges: u32) -> impl Strategy<Value = Vec<Op>> {
    let churn = (
        0u64..1_500,
        1..=ranges,
        -2i8..=2,
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(advance, ranges, offset, mix, half_open)| Op::Churn {
            advance,
            ranges,
            offset,
            mix,
            half_open,
        });
    let step = prop_oneof![6 => op(), 1 => churn];
    proptest::collection::vec(step, 1..max_len)
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(Outcome::Success),
        4 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored),
    ]
}

fn via() -> impl Strategy<Value = Via> {
    prop_oneof![
        3 => (0u64..60).prop_map(Via::WithDuration),
        1 => Just(Via::Measured),
        1 => Just(Via::Shortcut),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => Just(Op::Acquire),
        14 => (any::<Index>(), outcome(), via()).prop_map(|(i, o, v)| Op::Record(i, o, v)),
        2 => any::<Index>().prop_map(Op::Drop),
        2 => (any::<Index>(), 0u64..1_200).prop_map(|(i, h)| Op::TripFor(i, h)),
        6 => prop_oneof![Just(0u64), 1u64..20, 1u64..400].prop_map(Op::Advance),
        4 => (0u64..2).prop_map(Op::AdvanceToDue),
        2 => Just(Op::State),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::MetricsOnly),
        1 => Just(Op::Disable),
        1 => Just(Op::Reset),
        1 => Just(Op::ForceClosed),
        1 => Just(Op::TransitionToHalfOpen),
        1 => Just(Op::Export),
        2 => (any::<bool>(), any::<bool>(), 0u8..6, prop_oneof![0u32..4, 0u32..40], prop_oneof![0u64..400, 0u64..2_000_000], 0u32..8)
            .prop_map(|(own, matched, state, k, remaining, run)| Op::Restore { own, matched, state, k, remaining, run }),
        2 => prop_oneof![Just(0u64), 1u64..400, 1u64..2_000_000].prop_map(Op::Adopt),
    ]
}

/// Rate thresholds: the round ones users pick, plus any basis point.
fn rate_bp() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![2_500u32, 5_000, 6_667, 10_000]),
        1u32..=10_000
    ]
}

fn backoff(open_for: u64) -> impl Strategy<Value = Backoff> {
    // Whole multipliers only: the model computes floor(base * m^k) exactly,
    // the core floors after every step; for 1.5 they differ by a tick
    // (a rounding choice, not a bug; see the report).
    let multiplier = prop::sample::select(vec![10_000u32, 20_000, 30_000]);
    prop_oneof![
        Just(Backoff::Constant),
        (proptest::option::of(1u64..200), multiplier, 0u64..800).prop_map(
            move |(base, m, extra)| {
                Backoff::Exponential {
                    base,
                    multiplier_bp: m,
                    max: base.unwrap_or(open_for).max(open_for) + extra,
                }
            }
        ),
        (proptest::option::of(1u64..200), 0u64..100, 0u64..800).prop_map(
            move |(base, step, extra)| {
                Backoff::Linear {
                    base,
                    step,
                    max: base.unwrap_or(open_for).max(open_for) + extra,
                }
            }
        ),
    ]
}

fn predicate_two_failures(c: &model::Counts) -> bool {
    c.failures >= 2 && c.failures * 2 > c.calls
}

/// A valid configuration over one of `windows`.
pub fn setup(windows: &[WindowType], jitter: bool) -> impl Strategy<Value = Setup> {
    let window = prop::sample::select(windows.to_vec());
    let rules = (
        proptest::option::of(1u32..6),
        proptest::option::of(rate_bp()),
        proptest::option::of(rate_bp()),
        proptest::option::of(1u64..50),
        1u32..10,
        any::<bool>(),
    );
    let timing = (1u64..200, 1u64..25)
        .prop_flat_map(|(open_for, bucket)| (Just(open_for), Just(bucket), backoff(open_for)));
    let half_open = (
        1u32..5,
        1u32..5,
        proptest::option::of(1u64..300),
        1u64..1_000,
    );
    let misc = (
        if jitter {
            (0u32..5_000).boxed()
        } else {
            Just(0u32).boxed()
        },
        any::<u32>(),
        prop_oneof![Just(Abandon::Ignore), Just(Abandon::Failure)],
    );
    (window, rules, timing, half_open, misc).prop_map(
        move |(window, rules, timing, half_open, misc)| {
            let (consecutive, failure_rate, slow_rate, slow_duration, minimum_calls, predicate) =
                rules;
            let (open_for, bucket, backoff) = timing;
            let (permits, threshold, max_wait, max_hint) = half_open;
            let (jitter_bp, seed, on_abandon) = misc;
            let mut cfg = model::Config::new(open_for);
            cfg.window = match window {
                WindowType::None => WindowKind::None,
                WindowType::Count1 => WindowKind::Count { size: 1 },
                WindowType::Count3 => WindowKind::Count { size: 3 },
                WindowType::Count8 => WindowKind::Count { size: 8 },
                WindowType::DynCount5 => WindowKind::Count { size: 5 },
                WindowType::DynTime3Striped => WindowKind::Time {
                    buckets: 3,
                    span: 3 * bucket,
                },
                WindowType::Time1 => WindowKind::Time {
                    buckets: 1,
                    span: bucket,
                },
                WindowType::Time4 | WindowType::Time4Striped => WindowKind::Time {
                    buckets: 4,
                    span: 4 * bucket,
                },
            };
            let has_window = window != WindowType::None;
            cfg.consecutive_failures = consecutive;
            cfg.slow_call_duration = slow_duration;
            cfg.failure_rate_bp = failure_rate.filter(|_| has_window);
            cfg.slow_call_rate_bp = slow_rate.filter(|_| has_window && slow_duration.is_some());
            // The core refuses a minimum the count window can never hold.
            cfg.minimum_calls = match cfg.window {
                WindowKind::Count { size } => minimum_calls.min(size as u32),
                _ => minimum_calls,
            };
            cfg.trip_predicate = (predicate && has_window).then_some(predicate_two_failures as _);
            cfg.backoff = backoff;
            cfg.half_open_permits = permits;
            cfg.success_threshold = threshold.min(permits);
            cfg.max_half_open_wait = max_wait;
            cfg.max_trip_hint = max_hint;
            cfg.jitter_bp = jitter_bp;
            cfg.jitter_seed = seed;
            cfg.on_abandon = on_abandon;
            Setup { window, cfg }
        },
    )
}
