//! The documented per-target limits of the state word (DESIGN.md §7, §13
//! "Narrow words") and the state names metrics use, as the public API shows
//! them. Runs on both layouts: `--cfg fusebox_narrow` forces the 32-bit one.
#![cfg(not(fusebox_loom))]

use std::time::Duration;

use fusebox_core::{Backoff, Breaker, Config, ManualClock, Recorded, State};

const NARROW: bool = cfg!(fusebox_narrow) || cfg!(not(target_has_atomic = "64"));
/// Largest backoff level: 5 bits in the 64-bit word, 4 in the narrow one.
const K_MAX: u32 = if NARROW { 15 } else { 31 };
/// Largest half-open probe count: 12 bits per half, 5 in the narrow word.
const HALF_MAX: u32 = if NARROW { 31 } else { 4_095 };
/// Longest consecutive-failure run: 24 bits, 10 in the narrow word.
const RUN_MAX: u32 = if NARROW { 1_023 } else { 16_777_215 };

#[test]
fn backoff_level_climbs_to_its_field_maximum_and_saturates() {
    let config = Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_millis(1))
        .backoff(Backoff::Linear {
            base: None,
            step: Duration::ZERO,
            max: Duration::from_millis(1),
        })
        .build()
        .unwrap();
    let b: Breaker<ManualClock> = Breaker::new(ManualClock::new(), config);
    assert_eq!(b.try_acquire().unwrap().failure(), Recorded::Counted);
    for level in 1..=K_MAX + 3 {
        b.clock().advance(1);
        let probe = b.try_acquire().expect("the deadline has passed");
        assert_eq!(probe.state(), State::HalfOpen);
        assert_eq!(probe.failure(), Recorded::Counted);
        assert_eq!(b.snapshot().backoff_level, level.min(K_MAX));
    }
}

#[test]
fn the_largest_documented_counts_are_accepted_and_one_more_is_refused() {
    let ok = Config::builder()
        .consecutive_failures(RUN_MAX)
        .half_open_permits(HALF_MAX)
        .success_threshold(HALF_MAX)
        .build();
    assert!(ok.is_ok(), "{:?}", ok.err());
    let too_many = Config::builder().consecutive_failures(RUN_MAX + 1).build();
    assert_eq!(
        too_many.err().map(|e| e.field()),
        Some("consecutive_failures")
    );
    let too_many = Config::builder().half_open_permits(HALF_MAX + 1).build();
    assert_eq!(too_many.err().map(|e| e.field()), Some("half_open_permits"));
}

#[test]
fn every_probe_up_to_the_limit_is_admitted_and_counted() {
    let config = Config::builder()
        .half_open_permits(HALF_MAX)
        .success_threshold(HALF_MAX)
        .build()
        .unwrap();
    let b: Breaker<ManualClock> = Breaker::new(ManualClock::new(), config);
    b.transition_to_half_open();
    let probes: Vec<_> = (0..HALF_MAX).map(|_| b.try_acquire().unwrap()).collect();
    assert!(b.try_acquire().is_err());
    assert_eq!(b.snapshot().half_open_admitted, HALF_MAX);
    let last = probes.len() - 1;
    for (i, p) in probes.into_iter().enumerate() {
        assert_eq!(p.success(), Recorded::Counted);
        let s = b.snapshot();
        if i < last {
            assert_eq!(
                (s.state, s.half_open_succeeded),
                (State::HalfOpen, i as u32 + 1)
            );
        } else {
            assert_eq!(s.state, State::Closed);
        }
    }
}

#[test]
fn states_have_the_names_metrics_and_logs_use() {
    let names = [
        (State::Closed, "closed"),
        (State::Open, "open"),
        (State::HalfOpen, "half_open"),
        (State::ForcedOpen, "forced_open"),
        (State::MetricsOnly, "metrics_only"),
        (State::Disabled, "disabled"),
    ];
    for (state, name) in names {
        assert_eq!(state.as_str(), name);
        assert_eq!(state.to_string(), name);
    }
}

/// Largest count window: its aggregate's fields hold 16 bits (8 narrow),
/// the top one marking transient negatives.
const COUNT_MAX: usize = if NARROW { 127 } else { 32_767 };
/// Most time-window buckets: 22 bits of slot offset (10 narrow).
const BUCKETS_MAX: usize = if NARROW { 1_024 } else { 4_194_304 };

#[test]
fn the_largest_documented_windows_are_accepted_and_one_more_is_refused() {
    use fusebox_core::{BucketCell, DynCountWindow, DynTimeWindow, RingCell};
    let ring = |n: usize| (0..n).map(|_| RingCell::new()).collect::<Box<[RingCell]>>();
    assert!(DynCountWindow::new(ring(COUNT_MAX)).is_ok());
    let refused = DynCountWindow::new(ring(COUNT_MAX + 1)).err().unwrap();
    assert_eq!(refused.field(), "window.size");
    assert!(
        refused.to_string().contains(&COUNT_MAX.to_string()),
        "{refused}"
    );

    type Cells = DynTimeWindow<Box<[BucketCell]>>;
    let cells = |b: usize| {
        (0..Cells::cells_needed(b, 1))
            .map(|_| BucketCell::new())
            .collect::<Box<[BucketCell]>>()
    };
    assert!(Cells::new(cells(BUCKETS_MAX), BUCKETS_MAX, 1).is_ok());
    let refused = Cells::new(cells(BUCKETS_MAX + 1), BUCKETS_MAX + 1, 1)
        .err()
        .unwrap();
    assert_eq!(refused.field(), "window.buckets");
}
