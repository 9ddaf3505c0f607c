//! fusebox makes no heap allocation per call, in any state, with any window:
//! a counting global allocator watches this thread while each scenario runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use fusebox_benches::fusebox::{self as fb, consecutive_with, count_with, time_with};
use fusebox_benches::workload::fails;
use std::time::Duration;

use fusebox_core::{Breaker, CountWindow, ManualClock, NoWindow, State, TimeWindow};

/// Counts allocations made by the current thread (other test threads and
/// the harness allocate concurrently; they must not count here).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes requested by those allocations (for the peers' figures).
    static ALLOCATED_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation of `bytes` on this thread.
fn note(bytes: usize) {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = ALLOCATED_BYTES.try_with(|n| n.set(n.get() + bytes as u64));
}

// SAFETY: defers every operation to `System`; the counter is a const-init
// thread local that needs no allocation and no destructor.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const CALLS: u64 = 10_000;

/// Runs `call(i)` for `CALLS` values of `i` (after a short warm-up, so lazy
/// one-time initialisation is not charged per call) and asserts that this
/// thread allocated nothing.
fn assert_allocation_free(scenario: &str, mut call: impl FnMut(u64)) {
    for i in 0..16 {
        call(i);
    }
    let before = ALLOCATIONS.with(Cell::get);
    for i in 16..16 + CALLS {
        call(i);
    }
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(
        allocations, 0,
        "{scenario}: {allocations} allocations in {CALLS} calls"
    );
}

#[test]
fn counting_allocator_sees_this_threads_allocations() {
    let before = ALLOCATIONS.with(Cell::get);
    black_box(Box::new(1u64));
    assert_eq!(ALLOCATIONS.with(Cell::get) - before, 1);
}

#[test]
fn closed_calls_allocate_nothing() {
    let consecutive = fb::consecutive();
    let count = fb::count100(false);
    let count_slow = fb::count100(true);
    let time = fb::time10x16();
    for fail in [(|_| false) as fn(u64) -> bool, fails] {
        assert_allocation_free("consecutive", |i| {
            assert!(fb::call(&consecutive, i, fail(i)))
        });
        assert_allocation_free("count100", |i| assert!(fb::call(&count, i, fail(i))));
        assert_allocation_free("count100_slow", |i| {
            assert!(fb::call(&count_slow, i, fail(i)))
        });
        assert_allocation_free("time10x16", |i| assert!(fb::call(&time, i, fail(i))));
    }
}

#[test]
fn open_rejections_allocate_nothing() {
    let consecutive = fb::open::<NoWindow>(consecutive_with);
    let count = fb::open::<CountWindow<100>>(count_with);
    let time = fb::open::<TimeWindow<10, 16>>(time_with);
    assert_allocation_free("open consecutive", |i| {
        assert!(!fb::call(&consecutive, i, false))
    });
    assert_allocation_free("open count100", |i| assert!(!fb::call(&count, i, false)));
    assert_allocation_free("open time10x16", |i| assert!(!fb::call(&time, i, false)));
}

#[test]
fn half_open_admissions_and_rejections_allocate_nothing() {
    let consecutive = fb::half_open::<NoWindow>(consecutive_with);
    let count = fb::half_open::<CountWindow<100>>(count_with);
    let time = fb::half_open::<TimeWindow<10, 16>>(time_with);
    macro_rules! check {
        ($name:literal, $breaker:expr) => {
            // Admission: take the one probe slot and give it back.
            assert_allocation_free(concat!($name, " admit"), |_| {
                let permit = $breaker.try_acquire().expect("probe admitted");
                let _ = black_box(permit.ignore());
            });
            // Rejection: the slot is held, every other call is refused.
            let held = $breaker.try_acquire().expect("probe admitted");
            assert_allocation_free(concat!($name, " reject"), |_| {
                assert!($breaker.try_acquire().is_err());
            });
            drop(held);
        };
    }
    check!("half-open consecutive", consecutive);
    check!("half-open count100", count);
    check!("half-open time10x16", time);
}

#[test]
fn snapshots_and_state_reads_allocate_nothing() {
    let consecutive = fb::consecutive();
    let count = fb::count100(false);
    let time = fb::time10x16();
    for i in 0..100 {
        fb::call(&consecutive, i, fails(i));
        fb::call(&count, i, fails(i));
        fb::call(&time, i, fails(i));
    }
    assert_allocation_free("snapshot consecutive", |_| {
        black_box(consecutive.snapshot());
    });
    assert_allocation_free("snapshot count100", |_| {
        black_box(count.snapshot());
    });
    assert_allocation_free("snapshot time10x16", |_| {
        black_box(time.snapshot());
    });
    assert_allocation_free("state count100", |_| {
        assert_eq!(count.state(), State::Closed)
    });
}

#[test]
fn full_trip_and_recovery_cycles_allocate_nothing() {
    // Closed -> Open -> HalfOpen -> Closed, over and over, on a manual clock,
    // for each window kind.
    macro_rules! cycle {
        ($name:literal, $window:ty, $config:expr) => {{
            let clock = ManualClock::<1_000>::new();
            let breaker: Breaker<_, $window> =
                Breaker::new(&clock, $config(Duration::from_millis(10)));
            assert_allocation_free($name, |_| {
                while fb::call(&breaker, 0, true) {}
                assert_eq!(breaker.state(), State::Open);
                clock.advance(10);
                assert!(fb::call(&breaker, 0, false));
                assert_eq!(breaker.state(), State::Closed);
            });
        }};
    }
    cycle!("cycle consecutive", NoWindow, consecutive_with);
    cycle!("cycle count100", CountWindow<100>, count_with);
    cycle!("cycle time10x16", TimeWindow<10, 16>, time_with);
}

/// The peers under the same counter: their per-call figures are printed
/// for RESULTS.md (`-- --nocapture`), and allocations that must be seen are
/// asserted, as peer-side controls of the counter beside
/// `counting_allocator_sees_this_threads_allocations`: recloser's at every
/// transition (a new state), and tower-resilience's boxed response future on
/// every call.
#[test]
fn peers_are_measured_and_recloser_transitions_allocate() {
    use fusebox_benches::peers;
    /// (allocations, bytes requested) over `CALLS` calls.
    fn count(mut call: impl FnMut(u64)) -> (u64, u64) {
        for i in 0..16 {
            call(i);
        }
        let before = (ALLOCATIONS.with(Cell::get), ALLOCATED_BYTES.with(Cell::get));
        for i in 16..16 + CALLS {
            call(i);
        }
        (
            ALLOCATIONS.with(Cell::get) - before.0,
            ALLOCATED_BYTES.with(Cell::get) - before.1,
        )
    }
    let failsafe = peers::failsafe_consecutive(5, peers::OPEN_FOR);
    let failsafe_rate = peers::failsafe_rate();
    let recloser = peers::recloser_count(100, peers::OPEN_FOR);
    let mut tower_consecutive = peers::tower_resilience_consecutive(5, peers::OPEN_FOR);
    let mut tower_count = peers::tower_resilience_count(100, peers::OPEN_FOR);
    let mut tower_open = peers::tower_resilience_open();
    let rows = [
        (
            "failsafe_consecutive closed 5%",
            count(|i| {
                black_box(peers::failsafe_call(&failsafe, i, fails(i)));
            }),
        ),
        (
            "failsafe_rate closed 5%",
            count(|i| {
                black_box(peers::failsafe_call(&failsafe_rate, i, fails(i)));
            }),
        ),
        (
            "recloser_count100 closed 5%",
            count(|i| {
                black_box(peers::recloser_call(&recloser, i, fails(i)));
            }),
        ),
        ("recloser trip+recover cycles", {
            let recloser = peers::recloser_count(2, std::time::Duration::from_micros(1));
            count(|_| {
                while peers::recloser_call(&recloser, 0, true) {}
                std::thread::sleep(std::time::Duration::from_micros(2));
                for _ in 0..4 {
                    peers::recloser_call(&recloser, 0, false);
                }
            })
        }),
        (
            "tower_resilience_consecutive closed 5%",
            count(|i| {
                assert!(peers::tower_resilience_call(
                    &mut tower_consecutive,
                    i,
                    fails(i)
                ));
            }),
        ),
        (
            "tower_resilience_count100 closed 5%",
            count(|i| {
                assert!(peers::tower_resilience_call(&mut tower_count, i, fails(i)));
            }),
        ),
        (
            "tower_resilience open reject",
            count(|i| {
                assert!(!peers::tower_resilience_call(&mut tower_open, i, false));
            }),
        ),
    ];
    for (name, (allocations, bytes)) in rows {
        println!("{name}: {allocations} allocations ({bytes} bytes) in {CALLS} iterations");
    }
    let (name, (cycles, _)) = rows[3];
    assert!(
        cycles >= CALLS,
        "{name}: {cycles} allocations in {CALLS} trip/recover cycles; the counter missed them"
    );
    // Every tower-resilience call boxes its response future.
    for (name, (allocations, _)) in &rows[4..] {
        assert!(
            *allocations >= CALLS,
            "{name}: {allocations} allocations in {CALLS} calls; the boxed future was missed"
        );
    }
}
