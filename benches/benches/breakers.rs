//! fusebox next to failsafe, recloser, a bare call and the atomic floor, one
//! criterion group per scenario. Configs: `src/peers.rs`, `src/fusebox.rs`.
//! Figures: `RESULTS.md` (regenerate the tables with `report.sh`).

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use fusebox_benches::clock::InstantClock;
use fusebox_benches::floor::{bare_call, AtomicFloor};
use fusebox_benches::fusebox::{self as fb, consecutive_with, count_with, time_with};
use fusebox_benches::peers;
use fusebox_benches::workload::fails;
use fusebox_core::{Breaker, Clock, CountWindow, ManualClock, NoWindow, State, TimeWindow};

/// A clock that never moves and costs one atomic load per read, to split a
/// figure into the clock's share and fusebox's own.
static MANUAL_CLOCK: ManualClock = ManualClock::new();

/// Times `call(i)` for i = 1, 2, 3, ...: one protected call per iteration.
fn bench_calls(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    mut call: impl FnMut(u64) -> bool,
) {
    group.bench_function(id, |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(call(i))
        })
    });
}

/// The subjects every closed-state scenario compares; `fail(i)` decides the outcome.
fn closed(c: &mut Criterion, name: &str, fail: fn(u64) -> bool) {
    let mut group = c.benchmark_group(name);
    bench_calls(&mut group, "baseline_bare_call", |i| bare_call(i, fail(i)));
    let floor = AtomicFloor::new();
    bench_calls(&mut group, "floor_atomic", |i| floor.call(i, fail(i)));

    let consecutive = fb::consecutive();
    bench_calls(&mut group, "fusebox_consecutive", |i| {
        fb::call(&consecutive, i, fail(i))
    });
    let count = fb::count100(false);
    bench_calls(&mut group, "fusebox_count100", |i| {
        fb::call(&count, i, fail(i))
    });
    let count_slow = fb::count100(true);
    bench_calls(&mut group, "fusebox_count100_slow", |i| {
        fb::call(&count_slow, i, fail(i))
    });
    let time = fb::time10x16();
    bench_calls(&mut group, "fusebox_time10x16", |i| {
        fb::call(&time, i, fail(i))
    });
    // The same window on a clock that costs one atomic load: the window's own share.
    let manual: Breaker<&ManualClock, TimeWindow<10, 16>> =
        Breaker::new(&MANUAL_CLOCK, time_with(peers::OPEN_FOR));
    bench_calls(&mut group, "fusebox_time10x16_manualclock", |i| {
        fb::call(&manual, i, fail(i))
    });

    let failsafe = peers::failsafe_consecutive(5, peers::OPEN_FOR);
    bench_calls(&mut group, "failsafe_consecutive", |i| {
        peers::failsafe_call(&failsafe, i, fail(i))
    });
    let failsafe = peers::failsafe_rate();
    bench_calls(&mut group, "failsafe_rate_time10s", |i| {
        peers::failsafe_call(&failsafe, i, fail(i))
    });
    let recloser = peers::recloser_count(100, peers::OPEN_FOR);
    bench_calls(&mut group, "recloser_count100", |i| {
        peers::recloser_call(&recloser, i, fail(i))
    });
    group.finish();
}

fn closed_success(c: &mut Criterion) {
    closed(c, "closed_success", |_| false);
}

fn closed_failures(c: &mut Criterion) {
    closed(c, "closed_5pct_failures", fails);
}

fn open_reject(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_reject");
    let floor = AtomicFloor::new();
    bench_calls(&mut group, "floor_atomic", |i| floor.call(i, false));
    // The target: one clock read plus a few ns.
    let clock = InstantClock::new();
    bench_calls(&mut group, "clock_instant_clock_now", |_| clock.now() != 0);
    let consecutive = fb::open::<NoWindow>(consecutive_with);
    bench_calls(&mut group, "fusebox_consecutive", |i| {
        fb::call(&consecutive, i, false)
    });
    // The same rejection on a clock that costs one atomic load: fusebox's own share.
    let manual: Breaker<&ManualClock, NoWindow> =
        Breaker::new(&MANUAL_CLOCK, consecutive_with(Duration::from_secs(3600)));
    while fb::call(&manual, 0, true) {}
    bench_calls(&mut group, "fusebox_consecutive_manualclock", |i| {
        fb::call(&manual, i, false)
    });
    let count = fb::open::<CountWindow<100>>(count_with);
    bench_calls(&mut group, "fusebox_count100", |i| {
        fb::call(&count, i, false)
    });
    let time = fb::open::<TimeWindow<10, 16>>(time_with);
    bench_calls(&mut group, "fusebox_time10x16", |i| {
        fb::call(&time, i, false)
    });
    let failsafe = peers::failsafe_open();
    bench_calls(&mut group, "failsafe_consecutive", |i| {
        peers::failsafe_call(&failsafe, i, false)
    });
    let recloser = peers::recloser_open();
    bench_calls(&mut group, "recloser_count100", |i| {
        peers::recloser_call(&recloser, i, false)
    });
    group.finish();
}

/// The trip path (issue 12): the failure that opens the breaker (a state
/// CAS, then the deadline's publication), then `reset()` (a transition that
/// publishes the no-deadline word). Consecutive rule 1, a one-hour open
/// period, on a clock that costs one atomic load.
fn trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("trip_reset");
    let config = fusebox_core::Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_secs(3600))
        .build()
        .expect("valid config");
    let b: Breaker<&ManualClock, NoWindow> = Breaker::new(&MANUAL_CLOCK, config);
    bench_calls(&mut group, "fusebox_consecutive_manualclock", |_| {
        let tripped = b.try_acquire().is_ok_and(|p| {
            let _ = p.failure();
            true
        });
        b.reset();
        tripped
    });
    group.finish();
}

/// Half-open: admission (take the one probe slot, give it back with
/// `ignore`), and rejection (the slot is held, every other call is refused).
fn half_open(c: &mut Criterion) {
    let consecutive = fb::half_open::<NoWindow>(consecutive_with);
    let count = fb::half_open::<CountWindow<100>>(count_with);
    let time = fb::half_open::<TimeWindow<10, 16>>(time_with);

    let mut group = c.benchmark_group("half_open_reject");
    {
        let _held = (
            consecutive.try_acquire().expect("probe"),
            count.try_acquire().expect("probe"),
            time.try_acquire().expect("probe"),
        );
        bench_calls(&mut group, "fusebox_consecutive", |i| {
            fb::call(&consecutive, i, false)
        });
        bench_calls(&mut group, "fusebox_count100", |i| {
            fb::call(&count, i, false)
        });
        bench_calls(&mut group, "fusebox_time10x16", |i| {
            fb::call(&time, i, false)
        });
    }
    group.finish();

    let mut group = c.benchmark_group("half_open_admit");
    bench_calls(&mut group, "fusebox_consecutive", |_| {
        consecutive
            .try_acquire()
            .map(|permit| permit.ignore())
            .is_ok()
    });
    bench_calls(&mut group, "fusebox_count100", |_| {
        count.try_acquire().map(|permit| permit.ignore()).is_ok()
    });
    bench_calls(&mut group, "fusebox_time10x16", |_| {
        time.try_acquire().map(|permit| permit.ignore()).is_ok()
    });
    let failsafe = peers::failsafe_half_open();
    // Admission only: failsafe's first recorded outcome ends the episode.
    bench_calls(&mut group, "failsafe_is_call_permitted", |_| {
        failsafe.is_call_permitted()
    });
    // Admission + a success that leaves it half-open (see peers::recloser_half_open).
    let recloser = peers::recloser_half_open();
    bench_calls(&mut group, "recloser_call_success", |i| {
        peers::recloser_call(&recloser, i, false)
    });
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot");
    let consecutive = fb::consecutive();
    let count = fb::count100(false);
    let time = fb::time10x16();
    for i in 0..1_000 {
        fb::call(&consecutive, i, fails(i));
        fb::call(&count, i, fails(i));
        fb::call(&time, i, fails(i));
    }
    bench_calls(&mut group, "fusebox_consecutive", |_| {
        black_box(consecutive.snapshot()).epoch != u64::MAX
    });
    bench_calls(&mut group, "fusebox_count100", |_| {
        black_box(count.snapshot()).epoch != u64::MAX
    });
    bench_calls(&mut group, "fusebox_time10x16", |_| {
        black_box(time.snapshot()).epoch != u64::MAX
    });
    bench_calls(&mut group, "fusebox_count100_state", |_| {
        black_box(count.state()) == State::Closed
    });
    // Neither peer can be read without acting; failsafe's permission check in
    // Closed (mutex + state match) is the closest thing to a state read.
    let failsafe = peers::failsafe_consecutive(5, peers::OPEN_FOR);
    bench_calls(&mut group, "failsafe_is_call_permitted", |_| {
        failsafe.is_call_permitted()
    });
    group.finish();
}

/// The clock every time-dependent fusebox path reads.
fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    bench_calls(&mut group, "std_instant_now", |_| {
        black_box(std::time::Instant::now());
        true
    });
    let clock = InstantClock::new();
    bench_calls(&mut group, "instant_clock_now", |_| clock.now() != 0);
    group.finish();
}

fn config() -> Criterion {
    // Short defaults so the whole suite fits a shared 2-core box; override
    // with `-- --warm-up-time S --measurement-time S`.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = closed_success, closed_failures, open_reject, trip, half_open, snapshot, clock
}
criterion_main!(benches);
