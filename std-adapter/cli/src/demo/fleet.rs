//! `fusebox demo --fleet N`: N instances of a service call the loopback
//! service's `inventory` route through their own breakers, once sharing
//! their opens through Redis and once each alone, side by side, against two
//! copies of the service on one schedule. Shows each instance's state live,
//! marks adoptions, and counts the calls the fleet saved.

use super::service::{self, Behaviour, Dependency, Schedule};
use super::{builtin_config, fail, DemoArgs, TIMEOUT};
use fusebox_core::{State, TransitionReason};
use fusebox_std::config::{FileConfig, Format};
use fusebox_std::fleet::{Fleet, FleetConfig};
use fusebox_std::{CallExt, Registry, StdBreaker};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `redis-server` this demo started (killed at the end), or none.
struct LocalRedis(Option<Child>);

impl Drop for LocalRedis {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `--redis`, or a `redis-server` from PATH on a free loopback port.
fn redis(url: Option<&str>) -> Result<(String, LocalRedis), String> {
    if let Some(url) = url {
        return Ok((url.to_string(), LocalRedis(None)));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("--fleet needs Redis: pass --redis URL, or put redis-server on PATH ({e})")
        })?;
    let local = LocalRedis(Some(child));
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > end {
            return Err(format!("redis-server did not listen on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((format!("redis://127.0.0.1:{port}/"), local))
}

/// One instance: its breaker, and whether its open was adopted.
struct Instance {
    breaker: StdBreaker,
    adopted: Arc<AtomicBool>,
}

/// One side of the comparison.
struct Side {
    instances: Vec<Instance>,
    fleets: Vec<Fleet>,
    /// Calls that reached the service while it was failing.
    reached_failing: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
}

/// Runs the fleet demo; exit 0, or 2 on a failed start.
pub fn run(args: &DemoArgs, n: u16) -> ExitCode {
    let file = match FileConfig::parse(
        Format::Toml,
        "built-in demo config",
        &builtin_config(args.duration),
        std::env::vars(),
    ) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let Some(spec) = file.get("inventory").copied() else {
        return fail("the built-in config has no `inventory`");
    };
    let (url, _local) = match redis(args.redis.as_deref()) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let schedule = Schedule {
            start: Instant::now(),
            total: args.duration,
        };
        let behaviour = Behaviour {
            slow: Duration::from_millis(300),
            hang: TIMEOUT * 2,
            retry_after_s: 1,
        };
        let namespace = format!("fusebox-demo-{}", std::process::id());
        let mut sides = Vec::new();
        for sharing in [false, true] {
            let (addr, served) = match service::start(schedule, behaviour).await {
                Ok(s) => s,
                Err(e) => return fail(format!("cannot start the service: {e}")),
            };
            let mut side = Side {
                instances: Vec::new(),
                fleets: Vec::new(),
                reached_failing: Arc::default(),
                rejected: Arc::default(),
            };
            for i in 0..n {
                let registry = Registry::new();
                let breaker = match registry.insert("inventory", spec) {
                    Ok(_) => registry.get("inventory").expect("just inserted"),
                    Err(e) => return fail(e),
                };
                let adopted = Arc::new(AtomicBool::new(false));
                watch_adoptions(&registry, sharing, i, Arc::clone(&adopted), schedule.start);
                if sharing {
                    let mut c = FleetConfig::new(&url, format!("demo-{i}"));
                    c.namespace = namespace.clone();
                    c.heartbeat = Duration::from_millis(250);
                    match Fleet::start(&registry, c) {
                        Ok(f) => side.fleets.push(f),
                        Err(e) => return fail(e),
                    }
                }
                side.instances.push(Instance { breaker, adopted });
            }
            for f in &side.fleets {
                if !f.joined(Duration::from_secs(5)).await {
                    return fail(format!("no answer from Redis at {url}"));
                }
            }
            for (i, inst) in side.instances.iter().enumerate() {
                let every = Duration::from_millis(10 * (i as u64 + 1));
                tokio::spawn(caller(
                    inst.breaker.clone(),
                    addr,
                    every,
                    schedule,
                    Arc::clone(&side.reached_failing),
                    Arc::clone(&side.rejected),
                ));
            }
            drop(served);
            sides.push(side);
        }
        eprintln!("fusebox demo --fleet {n}: {n} instances each side, Redis at {url}");
        eprintln!(
            "states: C closed, O open (own failures), A open (adopted from peers), H half-open"
        );
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        while schedule.start.elapsed() < args.duration {
            tick.tick().await;
            let at = schedule.start.elapsed();
            eprintln!(
                "{:>5.1}s {:<9} isolated [{}]  fleet [{}]",
                at.as_secs_f64(),
                schedule.phase_at(at).name(),
                row(&sides[0]),
                row(&sides[1])
            );
        }
        let (alone, shared) = (&sides[0], &sides[1]);
        let adoptions: u64 = shared
            .fleets
            .iter()
            .map(|f| f.counts("inventory").adoptions)
            .sum();
        let (a, s) = (
            alone.reached_failing.load(Ordering::Relaxed),
            shared.reached_failing.load(Ordering::Relaxed),
        );
        println!(
            "\n{n} instances calling `inventory` for {:?}:",
            args.duration
        );
        println!("{:<48} {:>9} {:>9}", "", "isolated", "fleet");
        println!(
            "{:<48} {a:>9} {s:>9}",
            "calls that reached it while it was failing"
        );
        println!(
            "{:<48} {:>9} {:>9}",
            "calls rejected by a breaker",
            alone.rejected.load(Ordering::Relaxed),
            shared.rejected.load(Ordering::Relaxed)
        );
        println!(
            "{:<48} {:>9} {adoptions:>9}",
            "opens adopted from peers", "-"
        );
        if a > 0 {
            println!(
                "the fleet saved {} calls to the failing dependency ({:.0}%)",
                a.saturating_sub(s),
                100.0 * a.saturating_sub(s) as f64 / a as f64
            );
        }
        ExitCode::SUCCESS
    })
}

/// Marks an instance's opens as adopted or its own, and prints adoptions.
fn watch_adoptions(
    registry: &Registry,
    sharing: bool,
    i: u16,
    adopted: Arc<AtomicBool>,
    start: Instant,
) {
    let mut events = registry.subscribe();
    tokio::spawn(async move {
        while let Ok(ev) = events.recv().await {
            let t = ev.transition;
            if t.to == State::Open {
                let by_peers = t.reason == TransitionReason::Adopted;
                // Relaxed: a display flag.
                adopted.store(by_peers, Ordering::Relaxed);
                if by_peers && sharing {
                    eprintln!(
                        "{:>5.1}s fleet instance {i} adopted an open from its peers",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }
    });
}

fn row(side: &Side) -> String {
    side.instances
        .iter()
        .map(|inst| match inst.breaker.snapshot().state {
            // Relaxed: a display flag.
            State::Open if inst.adopted.load(Ordering::Relaxed) => 'A',
            State::Open | State::ForcedOpen => 'O',
            State::HalfOpen => 'H',
            _ => 'C',
        })
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One instance's traffic: a GET every `every`; a 5xx, a transport error
/// or a timeout is a failure.
async fn caller(
    breaker: StdBreaker,
    addr: SocketAddr,
    every: Duration,
    schedule: Schedule,
    reached_failing: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
) {
    let client: Client<_, Empty<Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let uri: http::Uri = match format!("http://{addr}/{}", Dependency::Inventory.name()).parse() {
        Ok(u) => u,
        Err(_) => return,
    };
    while schedule.start.elapsed() < schedule.total {
        let r = breaker
            .call_async(|| async {
                let failing = schedule.failing(schedule.start.elapsed());
                let answer = tokio::time::timeout(TIMEOUT, client.get(uri.clone())).await;
                let ok = matches!(&answer, Ok(Ok(r)) if !r.status().is_server_error());
                if !ok && failing {
                    // Relaxed: a count read at the end.
                    reached_failing.fetch_add(1, Ordering::Relaxed);
                }
                if ok {
                    Ok(())
                } else {
                    Err(())
                }
            })
            .await;
        if r.is_err_and(|e| e.is_rejected()) {
            // Relaxed: a count read at the end.
            rejected.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(every).await;
    }
}
