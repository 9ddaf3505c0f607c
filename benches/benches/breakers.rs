//! fusebox next to failsafe, recloser, a bare call and the atomic floor, one
//! criterion group per scenario. Configs: `src/peers.rs`, `src/subjects.rs`.
//! Figures: `RESULTS.md` (regenerate the tables with `report.sh`).

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use fusebox_benches::floor::{bare_call, AtomicFloor};
use fusebox_benches::peers;
use fusebox_benches::workload::fails;

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

fn half_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("half_open_admit");
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
    // Neither peer can be read without acting; failsafe's permission check in
    // Closed (mutex + state match) is the closest thing to a state read.
    let failsafe = peers::failsafe_consecutive(5, peers::OPEN_FOR);
    bench_calls(&mut group, "failsafe_is_call_permitted", |_| {
        failsafe.is_call_permitted()
    });
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
    targets = closed_success, closed_failures, open_reject, half_open, snapshot
}
criterion_main!(benches);
