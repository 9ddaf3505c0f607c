//! Fleet-wide breakers (fusebox-std feature `fleet`), against a
//! `redis-server` this program starts on 127.0.0.1 (it must be on PATH):
//!
//! ```text
//! cargo run --release -p fusebox-benches --features fleet --bin fleet -- \
//!     [--rounds 100] [--calls 2000000] [--reps 9] [--outage-secs 3]
//! ```
//!
//! 1. **Propagation**: one instance trips; the time until each other
//!    instance's breaker is open (its next call is rejected), p50 / p99
//!    over `rounds` trips, with 3 and with 8 instances in this process.
//! 2. **Hot path**: one thread's calls per second on a breaker whose
//!    registry is in no fleet, in a fleet, and in a fleet whose Redis is
//!    hung (SIGSTOP); medians of `reps` runs of `calls` calls, the three
//!    arms in rotating order.
//!    The workload trips the breaker every 1 000 (then 100 000) calls and
//!    closes it through one probe, so the fleet has an open and a close to
//!    publish; calls per second are given by the wall clock and per
//!    CPU-second of the calling thread (the machine may be busy).
//! 3. **Calls that reach a failing dependency** during an outage of
//!    `outage-secs`, for 8 instances with unequal traffic (one call every
//!    2, 4, ..., 16 ms), without and with sharing.

use fs::core::{Config, Ratio, State};
use fs::fleet::{Fleet, FleetConfig};
use fs::{BreakerSpec, CallExt, Registry, StdBreaker, WindowSpec};
use fusebox_std as fs;
use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Redis { child, port })
    }
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Each measurement in its own namespace: a fleet joining reads the state
/// that the previous one left in Redis, and would adopt its opens.
fn fleet_config(url: &str, namespace: &str, instance: &str) -> FleetConfig {
    let mut c = FleetConfig::new(url, instance);
    c.namespace = namespace.to_string();
    c.heartbeat = Duration::from_millis(200);
    c.command_timeout = Duration::from_millis(250);
    c.backoff_max = Duration::from_millis(500);
    c
}

fn consecutive(open_for: Duration) -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(3)
            .open_for(open_for)
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn trip(b: &StdBreaker) {
    for _ in 0..3 {
        let _ = b.call(|| Err::<(), _>("down"));
    }
}

async fn propagation(redis: &Redis, n: usize, rounds: u64) {
    let mut nodes = Vec::new();
    let opened: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; n]));
    for i in 0..n {
        let registry = Registry::new();
        let b = registry
            .get_or_insert_with("llm", || consecutive(Duration::from_secs(30)))
            .unwrap();
        let fleet = Fleet::start(
            &registry,
            fleet_config(&redis.url(), &format!("propagation-{n}"), &format!("i{i}")),
        )
        .unwrap();
        assert!(fleet.joined(Duration::from_secs(5)).await);
        let mut events = registry.subscribe();
        let opened = Arc::clone(&opened);
        tokio::spawn(async move {
            while let Ok(ev) = events.recv().await {
                if ev.transition.to == State::Open {
                    let mut o = opened.lock().unwrap();
                    o[i].get_or_insert_with(Instant::now);
                }
            }
        });
        nodes.push((b, fleet));
    }
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for (b, _) in &nodes {
            b.reset();
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        opened.lock().unwrap().iter_mut().for_each(|o| *o = None);
        let t0 = Instant::now();
        trip(&nodes[0].0);
        let end = t0 + Duration::from_secs(2);
        while opened.lock().unwrap()[1..].iter().any(Option::is_none) && Instant::now() < end {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        for o in opened.lock().unwrap()[1..].iter() {
            // A miss counts as the full 2 s wait, so that it shows at p99.
            samples.push(o.map_or(Duration::from_secs(2), |t| t - t0));
        }
    }
    samples.sort();
    println!(
        "propagation, {n} instances: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
        samples.len()
    );
}

/// Calls per second of one thread through `b`. Every `every` calls, three
/// failures trip it (an open to publish), an operator's half-open and one
/// successful probe close it (a close to publish): the same calls, in the
/// same states, whatever the clock does, so the arms differ only by the fleet.
fn hot_loop(b: &StdBreaker, calls: u64, every: u64) -> (f64, f64) {
    let (t, cpu) = (Instant::now(), thread_cpu_ns());
    for i in 0..calls {
        match i % every {
            0..=2 => {
                let _ = std::hint::black_box(b.call(|| Err::<u64, _>(i)));
            }
            3 => {
                b.transition_to_half_open();
                let _ = std::hint::black_box(b.call(|| Ok::<_, u64>(i)));
            }
            _ => {
                let _ = std::hint::black_box(b.call(|| Ok::<_, u64>(i)));
            }
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu
        .zip(thread_cpu_ns())
        .map_or(wall, |(a, b)| (b - a) as f64 / 1e9);
    (calls as f64 / wall, calls as f64 / cpu)
}

/// The calling thread's time on a CPU, in ns (Linux: the scheduler's own
/// account in `/proc/thread-self/schedstat`), so that a busy machine's
/// other processes do not count as the breaker's cost.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn hot_path(redis: &Redis, calls: u64, reps: u64, every: u64) {
    let off = Registry::new()
        .get_or_insert_with("llm", || consecutive(Duration::from_secs(30)))
        .unwrap();
    let shared = Registry::new();
    let namespace = format!("hot-{every}");
    let on = shared
        .get_or_insert_with("llm", || consecutive(Duration::from_secs(30)))
        .unwrap();
    let fleet = Fleet::start(&shared, fleet_config(&redis.url(), &namespace, "hot")).unwrap();
    assert!(fleet.joined(Duration::from_secs(5)).await);
    // Three arms per rep, in rotating order (the machine's load drifts).
    let mut runs: [Vec<(f64, f64)>; 3] = Default::default();
    for rep in 0..reps {
        for k in 0..3 {
            let arm = (rep as usize + k) % 3;
            let b = if arm == 0 { off.clone() } else { on.clone() };
            if arm == 2 {
                redis.signal("-STOP");
            }
            let r = tokio::task::spawn_blocking(move || hot_loop(&b, calls, every))
                .await
                .unwrap();
            runs[arm].push(r);
            if arm == 2 {
                redis.signal("-CONT");
                assert!(fleet.joined(Duration::from_secs(5)).await);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    let [r_off, r_on, r_hang] = runs;
    let median = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| {
        let mut v: Vec<f64> = v.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (what, f) in [
        (
            "calls/s (wall clock)",
            (|r: &(f64, f64)| r.0) as fn(&(f64, f64)) -> f64,
        ),
        (
            "calls per CPU-second of the calling thread",
            |r: &(f64, f64)| r.1,
        ),
    ] {
        let (off_m, on_m, hang_m) = (median(&r_off, f), median(&r_on, f), median(&r_hang, f));
        println!(
            "hot path, a trip and a close every {every} calls, {what}, median of {reps}: no fleet {off_m:.0}, fleet {on_m:.0} ({:.3}x), fleet with Redis hung {hang_m:.0} ({:.3}x)",
            on_m / off_m,
            hang_m / off_m
        );
    }
    let c = fleet.counts("llm");
    println!(
        "  transitions {}, fleet counters: publications {}, drops {}, store errors {}, missed events {}",
        on.observer().transitions(State::Closed, State::Open)
            + on.observer().transitions(State::HalfOpen, State::Closed),
        c.publications,
        c.drops,
        c.store_errors,
        fleet.lost_events()
    );
}

fn window_spec() -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .failure_rate(Ratio::percent(50))
            .minimum_calls(20)
            .open_for(Duration::from_secs(1))
            .build()
            .unwrap(),
        window: WindowSpec::Count { size: 20 },
    }
}

async fn outage(redis: &Redis, sharing: bool, secs: u64, tag: &str) -> (u64, u64) {
    let reached = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut fleets = Vec::new();
    let mut threads = Vec::new();
    let start = Arc::new(std::sync::Barrier::new(9));
    for i in 0..8u64 {
        let registry = Registry::new();
        let b = registry.get_or_insert_with("db", window_spec).unwrap();
        if sharing {
            let f = Fleet::start(
                &registry,
                fleet_config(&redis.url(), tag, &format!("{tag}{i}")),
            )
            .unwrap();
            assert!(f.joined(Duration::from_secs(5)).await);
            fleets.push(f);
        }
        let (reached, rejected, stop, start) = (
            Arc::clone(&reached),
            Arc::clone(&rejected),
            Arc::clone(&stop),
            Arc::clone(&start),
        );
        threads.push(std::thread::spawn(move || {
            start.wait();
            let every = Duration::from_millis(2 * (i + 1));
            while !stop.load(Ordering::Relaxed) {
                let r = b.call(|| {
                    reached.fetch_add(1, Ordering::Relaxed);
                    Err::<(), _>("dependency down")
                });
                if r.is_err_and(|e| e.is_rejected()) {
                    rejected.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(every);
            }
        }));
    }
    tokio::task::spawn_blocking({
        let start = Arc::clone(&start);
        move || start.wait()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    drop(fleets);
    (
        reached.load(Ordering::Relaxed),
        rejected.load(Ordering::Relaxed),
    )
}

fn main() -> ExitCode {
    let Some(redis) = Redis::start() else {
        eprintln!("fleet bench: no redis-server on PATH (apt-get install redis-server)");
        return ExitCode::FAILURE;
    };
    let rounds = arg("--rounds", 100);
    let calls = arg("--calls", 2_000_000);
    let reps = arg("--reps", 9);
    let secs = arg("--outage-secs", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        propagation(&redis, 3, rounds).await;
        propagation(&redis, 8, rounds).await;
        for every in [1000, 100_000] {
            hot_path(&redis, calls, reps, every).await;
        }
        let (alone, alone_rejected) = outage(&redis, false, secs, "alone").await;
        let (fleet, fleet_rejected) = outage(&redis, true, secs, "shared").await;
        println!(
            "outage of {secs} s, 8 instances: calls reaching the dependency without sharing {alone} (rejected {alone_rejected}), with sharing {fleet} (rejected {fleet_rejected}): {:.2}x",
            fleet as f64 / alone as f64
        );
    });
    ExitCode::SUCCESS
}
