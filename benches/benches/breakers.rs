//! fusebox next to failsafe, recloser, tower-resilience, a bare call and the
//! atomic floor, one criterion group per scenario. Configs: `src/peers.rs`, `src/fusebox.rs`.
//! Figures: `RESULTS.md` (regenerate the tables with `report.sh`).

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use fusebox_benches::clock::{InstantClock, QuantaClock};
use fusebox_benches::floor::{bare_call, AtomicFloor};
use fusebox_benches::fusebox::{self as fb, consecutive_with, count_with, time_with};
use fusebox_benches::peers;
use fusebox_benches::workload::dependency;
use fusebox_benches::workload::fails;
use fusebox_core::{Breaker, Clock, CountWindow, ManualClock, NoWindow, State, TimeWindow};
use fusebox_std::{BreakerSpec, CallExt, CoarseClock, StdBreaker, WindowSpec};

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
    // The clock candidates of DESIGN §8 under the same window (the `clock` group
    // times the reads alone).
    let quanta: Breaker<QuantaClock, TimeWindow<10, 16>> =
        Breaker::new(QuantaClock::new(), time_with(peers::OPEN_FOR));
    bench_calls(&mut group, "fusebox_time10x16_quanta", |i| {
        fb::call(&quanta, i, fail(i))
    });
    let coarse: Breaker<CoarseClock, TimeWindow<10, 16>> =
        Breaker::new(CoarseClock, time_with(peers::OPEN_FOR));
    bench_calls(&mut group, "fusebox_time10x16_coarseclock", |i| {
        fb::call(&coarse, i, fail(i))
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
    let mut tower = peers::tower_resilience_consecutive(5, peers::OPEN_FOR);
    bench_calls(&mut group, "tower_resilience_consecutive", |i| {
        peers::tower_resilience_call(&mut tower, i, fail(i))
    });
    let mut tower = peers::tower_resilience_count(100, peers::OPEN_FOR);
    bench_calls(&mut group, "tower_resilience_count100", |i| {
        peers::tower_resilience_call(&mut tower, i, fail(i))
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
    // The same rejection on a clock that costs one atomic load: fusebox's own
    // share is its difference from one bare read of that clock.
    bench_calls(&mut group, "clock_manual_clock_now", |_| {
        (&MANUAL_CLOCK).now() != u64::MAX
    });
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
    // The rejection path is the same for every window (see peers::tower_resilience_open).
    let mut tower = peers::tower_resilience_open();
    bench_calls(&mut group, "tower_resilience_count100", |i| {
        peers::tower_resilience_call(&mut tower, i, false)
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
    // Admission (a probe slot) + a success that leaves it half-open (see
    // peers::tower_resilience_half_open).
    let mut tower = peers::tower_resilience_half_open();
    bench_calls(&mut group, "tower_resilience_call_success", |i| {
        peers::tower_resilience_call(&mut tower, i, false)
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

/// Export and restore (issue 16): `export()` of an open breaker (a state
/// load, a timer load, a clock read) and of a closed count-window one (the
/// window's aggregate); `restore` of an open value (one state CAS, the
/// deadline's publication, the transition follow-up) and of a closed one;
/// `adopt_open` extending an open period (the same shape as a restore). The
/// baseline in the same group is `snapshot()` of the same open breaker and
/// the trip + reset pair of `trip_reset`.
fn export_restore(c: &mut Criterion) {
    let mut group = c.benchmark_group("export_restore");
    let config = fusebox_core::Config::builder()
        .consecutive_failures(1)
        .open_for(Duration::from_secs(3600))
        .build()
        .expect("valid config");
    let open: Breaker<&ManualClock, NoWindow> = Breaker::new(&MANUAL_CLOCK, config);
    let _ = open.try_acquire().map(|p| p.failure());
    let open_value = open.export();
    bench_calls(&mut group, "snapshot_open_baseline", |_| {
        black_box(open.snapshot()).epoch != u64::MAX
    });
    bench_calls(&mut group, "export_open", |_| {
        black_box(open.export()).backoff_level != u32::MAX
    });
    let count = fb::count100(false);
    for i in 0..1_000 {
        fb::call(&count, i, fails(i));
    }
    let closed_value = count.export();
    bench_calls(&mut group, "export_closed_count100", |_| {
        black_box(count.export()).backoff_level != u32::MAX
    });
    bench_calls(&mut group, "restore_open", |_| {
        open.restore(black_box(&open_value)).is_ok()
    });
    bench_calls(&mut group, "restore_closed_count100", |_| {
        count.restore(black_box(&closed_value)).is_ok()
    });
    let (mut calls, mut extended) = (0u64, 0u64);
    bench_calls(&mut group, "adopt_open_extend", |_| {
        // The clock moves one tick per call (one atomic add, counted in the
        // figure), so each full-hour adoption extends the period by a tick.
        MANUAL_CLOCK.advance(1);
        let e = matches!(
            open.adopt_open(Duration::from_secs(3600)),
            fusebox_core::AdoptOutcome::Extended { .. }
        );
        calls += 1;
        extended += e as u64;
        e
    });
    eprintln!("adopt_open_extend: {extended} of {calls} calls extended");
    let trip_reset: Breaker<&ManualClock, NoWindow> = Breaker::new(&MANUAL_CLOCK, config);
    bench_calls(&mut group, "trip_reset_baseline", |_| {
        let tripped = trip_reset.try_acquire().is_ok_and(|p| {
            let _ = p.failure();
            true
        });
        trip_reset.reset();
        tripped
    });
    group.finish();
}

/// The clock every time-dependent fusebox path reads, and the candidates
/// DESIGN §8 asks to pick from by measurement.
fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    bench_calls(&mut group, "std_instant_now", |_| {
        black_box(std::time::Instant::now());
        true
    });
    let clock = InstantClock::new();
    bench_calls(&mut group, "instant_clock_now", |_| clock.now() != 0);
    // The TSC: raw ticks (run-time frequency), scaled to nanoseconds, and the
    // global clock behind `quanta::Instant::now`.
    let quanta_clock = quanta::Clock::new();
    bench_calls(&mut group, "quanta_clock_raw", |_| {
        black_box(quanta_clock.raw());
        true
    });
    bench_calls(&mut group, "quanta_clock_now", |_| {
        black_box(quanta_clock.now());
        true
    });
    bench_calls(&mut group, "quanta_instant_now", |_| {
        black_box(quanta::Instant::now());
        true
    });
    // The benches' core `Clock` over quanta: nanoseconds since construction.
    let quanta_nanos = QuantaClock::new();
    bench_calls(&mut group, "quanta_nanos_clock_now", |_| {
        quanta_nanos.now() != 0
    });
    // Coarse clocks, one load of a value a thread refreshes every 1 ms.
    {
        let _upkeep = quanta::Upkeep::new_with_clock(Duration::from_millis(1), quanta_clock)
            .start()
            .expect("start quanta's upkeep thread");
        bench_calls(&mut group, "quanta_instant_recent_upkeep", |_| {
            black_box(quanta::Instant::recent());
            true
        });
    }
    bench_calls(&mut group, "coarse_clock_now", |_| CoarseClock.now() != 0);
    group.finish();
}

/// The std call wrappers beside the core permit API they wrap, closed
/// success: what `CallExt::call` adds (a catch_unwind, a classifier, an
/// optional call timer) over `try_acquire` + `success`.
fn call_api(c: &mut Criterion) {
    let mut group = c.benchmark_group("call_api");
    let consecutive = fb::consecutive();
    bench_calls(&mut group, "permit_api_consecutive", |i| {
        fb::call(&consecutive, i, false)
    });
    bench_calls(&mut group, "callext_call_consecutive", |i| {
        consecutive.call(|| dependency(i, false)).is_ok()
    });
    let count = fb::count100(false);
    bench_calls(&mut group, "permit_api_count100", |i| {
        fb::call(&count, i, false)
    });
    bench_calls(&mut group, "callext_call_count100", |i| {
        count.call(|| dependency(i, false)).is_ok()
    });
    // A runtime-configured breaker (boxed window, observer with totals);
    // with and without the call-duration histogram (two `Instant` reads).
    let spec = BreakerSpec {
        config: fb::consecutive_config(peers::OPEN_FOR),
        window: WindowSpec::None,
    };
    let timed = StdBreaker::new("timed", spec).expect("valid spec");
    bench_calls(&mut group, "std_breaker_call_timed", |i| {
        timed.call(|| dependency(i, false)).is_ok()
    });
    let untimed = StdBreaker::new("untimed", spec).expect("valid spec");
    untimed.observer().set_call_timing(false);
    bench_calls(&mut group, "std_breaker_call_untimed", |i| {
        untimed.call(|| dependency(i, false)).is_ok()
    });
    bench_calls(&mut group, "std_breaker_permit_api", |i| {
        match untimed.try_acquire() {
            Ok(p) => {
                let _ = match dependency(i, false) {
                    Ok(_) => p.success(),
                    Err(_) => p.failure(),
                };
                true
            }
            Err(_) => false,
        }
    });
    group.finish();
}

/// A keyed call (look-up + acquire + record) against a plain `StdBreaker`
/// call (acquire + record), closed success, call timing off on both. Keys
/// are visited in a scattered order (a multiplicative hash of the call
/// number), so with many keys each look-up misses the CPU caches, as a
/// service calling many hosts would. The million-key case (about 2.6 GB,
/// see tests/keyed_memory.rs) is left out of `-- --test` smoke runs.
fn keyed(c: &mut Criterion) {
    use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
    let mut group = c.benchmark_group("keyed_call");
    let spec = BreakerSpec {
        config: fb::consecutive_config(peers::OPEN_FOR),
        window: WindowSpec::None,
    };
    let plain = StdBreaker::new("plain", spec).expect("valid spec");
    plain.observer().set_call_timing(false);
    let record = |b: &StdBreaker, i: u64| match b.try_acquire() {
        Ok(p) => {
            let _ = match dependency(i, false) {
                Ok(_) => p.success(),
                Err(_) => p.failure(),
            };
            true
        }
        Err(_) => false,
    };
    bench_calls(&mut group, "plain_std_breaker", |i| record(&plain, i));
    let smoke = std::env::args().any(|a| a == "--test");
    for (id, n) in [
        ("keyed_10_keys", 10u64),
        ("keyed_10k_keys", 10_000),
        ("keyed_1m_keys", 1_000_000),
    ] {
        if smoke && n > 10_000 {
            continue;
        }
        // Built on first use, so that a filtered run (`-- keyed_10_keys`)
        // does not build a million keys it never calls.
        let keys: std::cell::OnceCell<KeyedBreakers<u64>> = std::cell::OnceCell::new();
        let build = || {
            let cfg = KeyedConfig {
                // Room to spare: no key is evicted while the bench runs.
                max_keys: n + n / 10 + 16,
                idle: None,
                ..KeyedConfig::default()
            };
            let keys = KeyedBreakers::new("k", spec, cfg).expect("valid spec");
            for k in 0..n {
                keys.get(&k).observer().set_call_timing(false);
            }
            keys
        };
        bench_calls(&mut group, id, |i| {
            let keys = keys.get_or_init(build);
            // Fibonacci hashing spreads consecutive calls over the keys.
            let k = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n;
            record(&keys.get(&k), i)
        });
        if let Some(keys) = keys.get() {
            let s = keys.stats();
            assert_eq!((s.keys, s.created), (n, n), "every key stays in: {s:?}");
        }
    }
    // The cache's share: a bare moka look-up of a `u64` among 10 000 keys,
    // built as `KeyedBreakers` builds its cache.
    let n = 10_000u64;
    let bare: moka::sync::Cache<u64, u64> = moka::sync::Cache::builder()
        .max_capacity(n + n / 10 + 16)
        .build();
    for k in 0..n {
        bare.insert(k, k);
    }
    // The same cache, one key read over and over: moka's floor.
    let seq: moka::sync::Cache<u64, u64> = moka::sync::Cache::builder()
        .max_capacity(n + n / 10 + 16)
        .build();
    for k in 0..n {
        seq.insert(k, k);
    }
    bench_calls(&mut group, "moka_get_10k_keys_one_key", |_| {
        seq.get(&7).is_some()
    });
    bench_calls(&mut group, "moka_get_10k_keys", |i| {
        let k = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n;
        bare.get(&k).is_some()
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
    targets = closed_success, closed_failures, open_reject, trip, half_open, snapshot, export_restore, clock, call_api, keyed
}
criterion_main!(benches);
