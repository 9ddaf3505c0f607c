//! Memory per key of `KeyedBreakers`: a counting global allocator keeps the
//! bytes live in the whole process while keys are added (the only test of
//! this binary, so no other test allocates meanwhile).
//!
//! `cargo test -p fusebox-benches --test keyed_memory -- --nocapture`
//! prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use fusebox_core::Config;
use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
use fusebox_std::{BreakerSpec, CallExt, StdBreaker, WindowSpec};

struct LiveBytes;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: defers every operation to `System`; the counter is a static atomic.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: a statistic read after the threads that allocate are done.
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Relaxed: as above.
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Relaxed: as above.
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Relaxed: as above.
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LiveBytes = LiveBytes;

fn live() -> i64 {
    // Relaxed: read on the only thread allocating now.
    LIVE.load(Ordering::Relaxed)
}

fn spec(window: WindowSpec) -> BreakerSpec {
    let mut b = Config::builder().consecutive_failures(5);
    if window != WindowSpec::None {
        b = b
            .failure_rate(fusebox_core::Ratio::percent(50))
            .window_span(std::time::Duration::from_secs(60));
    }
    BreakerSpec {
        config: b.build().unwrap(),
        window,
    }
}

/// Bytes live per key once `n` keys (after a warm-up of 1 000) are in.
fn per_key(window: WindowSpec, n: u64) -> (f64, f64, f64) {
    let cfg = KeyedConfig {
        max_keys: 2 * n,
        idle: None,
        ..KeyedConfig::default()
    };
    let keys: KeyedBreakers<u64> = KeyedBreakers::new("k", spec(window), cfg).unwrap();
    for k in 0..1_000 {
        let _ = keys.get(&k).call(|| Ok::<_, ()>(()));
    }
    keys.stats();
    let before = live();
    for k in 1_000..1_000 + n {
        let _ = keys.get(&k).call(|| Ok::<_, ()>(()));
    }
    let s = keys.stats();
    assert_eq!(s.keys, 1_000 + n, "{s:?}");
    let keyed = (live() - before) as f64 / n as f64;

    // The breaker alone (a `StdBreaker` with its name, on a shared
    // broadcast as the keyed ones are), for comparison.
    let events = tokio::sync::broadcast::channel(256).0;
    let before = live();
    let alone: Vec<StdBreaker> = (0..n.min(10_000))
        .map(|k| StdBreaker::with_events(format!("k[{k}]"), spec(window), events.clone()).unwrap())
        .collect();
    let breaker = (live() - before) as f64 / alone.len() as f64;
    // And one with a broadcast of its own (`StdBreaker::new`).
    let before = live();
    let own: Vec<StdBreaker> = (0..1_000)
        .map(|k| StdBreaker::new(format!("k[{k}]"), spec(window)).unwrap())
        .collect();
    let own_channel = (live() - before) as f64 / own.len() as f64;
    (keyed, breaker, own_channel)
}

#[test]
fn memory_per_key() {
    let n = 100_000;
    for (label, window) in [
        ("no window", WindowSpec::None),
        ("count window of 100", WindowSpec::Count { size: 100 }),
        (
            "time window of 60 buckets",
            WindowSpec::Time { buckets: 60 },
        ),
    ] {
        let (keyed, breaker, own) = per_key(window, n);
        println!(
            "{label}: {keyed:.0} bytes per key in KeyedBreakers<u64> ({n} keys); \
             a StdBreaker on a shared broadcast: {breaker:.0} bytes; with its own: {own:.0} bytes"
        );
        // The cache's own share (entry, hash table, eviction order) stays
        // small beside the breaker.
        assert!(keyed >= breaker, "{label}: {keyed} < {breaker}");
        assert!(keyed < breaker + 1_024.0, "{label}: {keyed} vs {breaker}");
    }
}
