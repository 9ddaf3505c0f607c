//! Windows sized at run time behave exactly like their const-generic twins.
#![cfg(not(fusebox_loom))]

extern crate std;
use core::time::Duration;
use fusebox_core::{
    AnyWindow, Breaker, BucketCell, Config, CountWindow, DynCountWindow, DynTimeWindow,
    ManualClock, NoObserver, Ratio, Recorded, RingCell, State, TimeWindow,
};
use std::boxed::Box;
use std::vec::Vec;

fn config() -> Config {
    Config::builder()
        .failure_rate(Ratio::percent(40))
        .slow_call_rate(Ratio::percent(60))
        .slow_call_duration(Duration::from_millis(30))
        .minimum_calls(5)
        .window_span(Duration::from_millis(500))
        .open_for(Duration::from_millis(40))
        .half_open_permits(2)
        .build()
        .unwrap()
}

/// A deterministic mixed workload; returns the snapshot after every step.
fn drive<W: AnyWindow>(
    b: &Breaker<&ManualClock, W>,
    clock: &ManualClock,
) -> Vec<fusebox_core::Snapshot> {
    let mut x: u32 = 12345;
    let mut out = Vec::new();
    for _ in 0..3_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let r = (x >> 16) % 100;
        if let Ok(p) = b.try_acquire() {
            clock.advance((r % 7) as u64 * 7);
            let _ = match r {
                0..=29 => p.failure(),
                30..=34 => p.ignore(),
                35..=36 => {
                    drop(p);
                    Recorded::Counted
                }
                _ => p.success(),
            };
        }
        clock.advance((r % 5) as u64);
        out.push(b.snapshot());
    }
    out
}

#[test]
fn a_dyn_count_window_matches_the_const_one_step_by_step() {
    let (c1, c2) = (ManualClock::new(), ManualClock::new());
    let fixed: Breaker<_, CountWindow<7>> = Breaker::new(&c1, config());
    let cells: Box<[RingCell]> = (0..7).map(|_| RingCell::new()).collect();
    let dynamic = Breaker::with_window(
        &c2,
        config(),
        DynCountWindow::new(cells).unwrap(),
        NoObserver,
    )
    .unwrap();
    let (a, b) = (drive(&fixed, &c1), drive(&dynamic, &c2));
    assert!(
        a.iter().any(|s| s.state == State::Open),
        "the workload must trip"
    );
    assert_eq!(a, b);
}

#[test]
fn a_dyn_time_window_matches_the_const_one_step_by_step() {
    let (c1, c2) = (ManualClock::new(), ManualClock::new());
    let fixed: Breaker<_, TimeWindow<5, 2>> = Breaker::new(&c1, config());
    let n = DynTimeWindow::<Box<[BucketCell]>>::cells_needed(5, 2);
    let cells: Box<[BucketCell]> = (0..n).map(|_| BucketCell::new()).collect();
    let dynamic = Breaker::with_window(
        &c2,
        config(),
        DynTimeWindow::new(cells, 5, 2).unwrap(),
        NoObserver,
    )
    .unwrap();
    let (a, b) = (drive(&fixed, &c1), drive(&dynamic, &c2));
    assert!(
        a.iter().any(|s| s.state == State::Open),
        "the workload must trip"
    );
    assert_eq!(a, b);
}

#[test]
fn bad_runtime_sizes_are_refused_with_the_field_named() {
    let none: Box<[RingCell]> = Box::new([]);
    assert_eq!(
        DynCountWindow::new(none).err().unwrap().field(),
        "window.size"
    );
    let cells: Box<[BucketCell]> = (0..3).map(|_| BucketCell::new()).collect();
    assert_eq!(
        DynTimeWindow::new(cells, 2, 1).err().unwrap().field(),
        "window cells"
    );
    let cells: Box<[RingCell]> = (0..4).map(|_| RingCell::new()).collect();
    let clock = ManualClock::<1000>::new();
    let e = Breaker::with_window(
        &clock,
        config(),
        DynCountWindow::new(cells).unwrap(),
        NoObserver,
    )
    .err()
    .unwrap();
    assert_eq!(
        e.field(),
        "minimum_calls",
        "5 calls cannot fit a window of 4"
    );
}

#[test]
fn eight_threads_on_a_dyn_striped_time_window_lose_no_outcome() {
    let n = DynTimeWindow::<Box<[BucketCell]>>::cells_needed(3, 4);
    let cells: Box<[BucketCell]> = (0..n).map(|_| BucketCell::new()).collect();
    let clock = ManualClock::<1000>::new();
    let b = Breaker::with_window(
        &clock,
        config(),
        DynTimeWindow::new(cells, 3, 4).unwrap(),
        NoObserver,
    )
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..if cfg!(miri) { 10 } else { 1_000 } {
                    assert_eq!(b.try_acquire().unwrap().success(), Recorded::Counted);
                }
            });
        }
    });
    assert_eq!(
        b.snapshot().window.calls,
        if cfg!(miri) { 80 } else { 8_000 }
    );
}
