//! Fleet-wide breakers (fusebox-std feature `fleet`), against a
//! `redis-server` this program starts on 127.0.0.1 (it must be on PATH):
//!
//! ```text
//! cargo run --release -p fusebox-benches --features fleet --bin fleet -- \
//!     [--rounds 100] [--calls 1000000] [--reps 7] [--outage-secs 3]
//! ```
//!
//! 1. **Propagation**: one instance trips; the time until each other
//!    instance's breaker is open (its next call is rejected), p50 / p99
//!    over `rounds` trips, with 3 and with 8 instances in this process.
//! 2. **Hot path**: one thread's calls per second on a breaker whose
//!    registry is in no fleet, in a fleet, and in a fleet whose Redis is
//!    hung (SIGSTOP); medians of `reps` alternated runs of `calls` calls.
//!    The workload trips the breaker every 1 000 calls and closes it 1 ms
//!    later, so the fleet has transitions to publish.
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

fn fleet_config(url: &str, instance: &str) -> FleetConfig {
    let mut c = FleetConfig::new(url, instance);
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
        let fleet = Fleet::start(&registry, fleet_config(&redis.url(), &format!("i{i}"))).unwrap();
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

/// Calls per second of one thread through `b`: one failure run of three
/// every 1 000 calls (a trip; the breaker half-opens 1 ms later and closes).
fn hot_loop(b: &StdBreaker, calls: u64) -> f64 {
    let t = Instant::now();
    for i in 0..calls {
        let fail = i % 1000 < 3;
        let _ = std::hint::black_box(b.call(|| if fail { Err(()) } else { Ok(i) }));
    }
    calls as f64 / t.elapsed().as_secs_f64()
}

async fn hot_path(redis: &Redis, calls: u64, reps: u64) {
    let off = Registry::new()
        .get_or_insert_with("llm", || consecutive(Duration::from_millis(1)))
        .unwrap();
    let shared = Registry::new();
    let on = shared
        .get_or_insert_with("llm", || consecutive(Duration::from_millis(1)))
        .unwrap();
    let fleet = Fleet::start(&shared, fleet_config(&redis.url(), "hot")).unwrap();
    assert!(fleet.joined(Duration::from_secs(5)).await);
    let (mut r_off, mut r_on, mut r_hang) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let (a, b) = (off.clone(), on.clone());
        let (x, y) =
            tokio::task::spawn_blocking(move || (hot_loop(&a, calls), hot_loop(&b, calls)))
                .await
                .unwrap();
        r_off.push(x);
        r_on.push(y);
        redis.signal("-STOP");
        let b = on.clone();
        r_hang.push(
            tokio::task::spawn_blocking(move || hot_loop(&b, calls))
                .await
                .unwrap(),
        );
        redis.signal("-CONT");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (off_m, on_m, hang_m) = (median(&mut r_off), median(&mut r_on), median(&mut r_hang));
    println!("hot path, calls/s (median of {reps}): no fleet {off_m:.0}, fleet {on_m:.0} ({:.3}x), fleet with Redis hung {hang_m:.0} ({:.3}x)", on_m / off_m, hang_m / off_m);
    let c = fleet.counts("llm");
    println!(
        "  fleet counters: publications {}, drops {}, store errors {}",
        c.publications, c.drops, c.store_errors
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
            let f =
                Fleet::start(&registry, fleet_config(&redis.url(), &format!("{tag}{i}"))).unwrap();
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
    let calls = arg("--calls", 1_000_000);
    let reps = arg("--reps", 7);
    let secs = arg("--outage-secs", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        propagation(&redis, 3, rounds).await;
        propagation(&redis, 8, rounds).await;
        hot_path(&redis, calls, reps).await;
        let (alone, alone_rejected) = outage(&redis, false, secs, "alone").await;
        let (fleet, fleet_rejected) = outage(&redis, true, secs, "shared").await;
        println!(
            "outage of {secs} s, 8 instances: calls reaching the dependency without sharing {alone} (rejected {alone_rejected}), with sharing {fleet} (rejected {fleet_rejected}): {:.2}x",
            fleet as f64 / alone as f64
        );
    });
    ExitCode::SUCCESS
}
