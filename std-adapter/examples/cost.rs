//! Rough per-operation costs, single thread, no criterion:
//! `cargo run --release -p fusebox-std --example cost`.
//!
//! Each figure is the median of 7 runs of 2 million operations.

use fusebox_core::TimeWindow;
use fusebox_core::{Breaker, Clock, Config, NoWindow, Ratio};
use fusebox_std::{BreakerSpec, CallExt, CoarseClock, StdBreaker, StdClock, WindowSpec};
use std::hint::black_box;
use std::time::Instant;

const OPS: u32 = 2_000_000;

fn measure(name: &str, mut op: impl FnMut()) {
    let mut runs: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..OPS {
                op();
            }
            t0.elapsed().as_nanos() as f64 / OPS as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!("{name:<58} {:>7.2} ns", runs[3]);
}

fn main() {
    measure("Instant::now()", || {
        black_box(Instant::now());
    });
    measure("StdClock.now()", || {
        black_box(StdClock.now());
    });
    measure("CoarseClock.now()", || {
        black_box(CoarseClock.now());
    });

    let consecutive = Config::builder().consecutive_failures(5).build().unwrap();
    let core: Breaker<StdClock, NoWindow> = Breaker::new(StdClock, consecutive);
    measure("core Breaker<StdClock>: try_acquire + success", || {
        let _ = black_box(core.try_acquire().unwrap().success());
    });
    measure(
        "core Breaker<StdClock>: acquire + record_with_duration",
        || {
            let p = core.try_acquire().unwrap();
            let _ = black_box(p.record_with_duration(
                fusebox_core::Outcome::Success,
                std::time::Duration::from_nanos(black_box(1_234)),
            ));
        },
    );
    measure("core Breaker<StdClock>: CallExt::call(Ok)", || {
        let _ = black_box(core.call(|| Ok::<_, ()>(black_box(1))));
    });

    let std_consecutive = StdBreaker::new(
        "consecutive",
        BreakerSpec {
            config: consecutive,
            window: WindowSpec::None,
        },
    )
    .unwrap();
    measure("StdBreaker (no window): try_acquire + success", || {
        let _ = black_box(std_consecutive.try_acquire().unwrap().success());
    });
    measure(
        "StdBreaker (no window): call(Ok), timed for the histogram",
        || {
            let _ = black_box(std_consecutive.call(|| Ok::<_, ()>(black_box(1))));
        },
    );

    std_consecutive.observer().set_call_timing(false);
    measure("StdBreaker (no window): call(Ok), call timing off", || {
        let _ = black_box(std_consecutive.call(|| Ok::<_, ()>(black_box(1))));
    });
    std_consecutive.observer().set_call_timing(true);

    let rate = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(10)
        .build()
        .unwrap();
    let std_count = StdBreaker::new(
        "count",
        BreakerSpec {
            config: rate,
            window: WindowSpec::Count { size: 100 },
        },
    )
    .unwrap();
    measure("StdBreaker (count window 100): call(Ok)", || {
        let _ = black_box(std_count.call(|| Ok::<_, ()>(black_box(1))));
    });
    let rate_time = Config::builder()
        .failure_rate(Ratio::percent(50))
        .minimum_calls(10)
        .window_span(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let std_time = StdBreaker::new(
        "time",
        BreakerSpec {
            config: rate_time,
            window: WindowSpec::Time { buckets: 60 },
        },
    )
    .unwrap();
    measure("StdBreaker (time window 60 buckets): call(Ok)", || {
        let _ = black_box(std_time.call(|| Ok::<_, ()>(black_box(1))));
    });
    let core_time_std: Breaker<StdClock, TimeWindow<60>> = Breaker::new(StdClock, rate_time);
    measure(
        "core Breaker<StdClock, TimeWindow<60>>: acquire + success",
        || {
            let _ = black_box(core_time_std.try_acquire().unwrap().success());
        },
    );
    let core_time_coarse: Breaker<CoarseClock, TimeWindow<60>> =
        Breaker::new(CoarseClock, rate_time);
    measure(
        "core Breaker<CoarseClock, TimeWindow<60>>: acquire + success",
        || {
            let _ = black_box(core_time_coarse.try_acquire().unwrap().success());
        },
    );
    std_consecutive.force_open();
    measure("StdBreaker (forced open): call rejected", || {
        let _ = black_box(std_consecutive.call(|| Ok::<_, ()>(black_box(1))));
    });
}
