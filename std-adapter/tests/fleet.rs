//! Fleet-wide breakers (feature `fleet`) against a real `redis-server` on
//! 127.0.0.1: adoption by quorum, a bad node, Redis hung (SIGSTOP),
//! crashed (SIGKILL) and restarted, connections delayed, blackholed and
//! reset by a loopback proxy, an instance joining an outage in progress,
//! and instances in separate processes.
#![cfg(feature = "fleet")]

mod support;

use fusebox_core::{Config, State};
use fusebox_std::fleet::{Fleet, FleetConfig, Quorum};
use fusebox_std::{BreakerSpec, CallExt, Registry, StdBreaker, WindowSpec};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::redis_server::RedisServer;
use support::tcp_proxy::{Fault, TcpProxy};

const OPEN_FOR: Duration = Duration::from_secs(20);

fn spec() -> BreakerSpec {
    BreakerSpec {
        config: Config::builder()
            .consecutive_failures(3)
            .open_for(OPEN_FOR)
            .build()
            .unwrap(),
        window: WindowSpec::None,
    }
}

fn config(url: &str, instance: &str, quorum: Quorum) -> FleetConfig {
    let mut c = FleetConfig::new(url, instance);
    c.quorum = quorum;
    c.heartbeat = Duration::from_millis(100);
    c.command_timeout = Duration::from_millis(250);
    c.backoff_min = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(300);
    c.interval = Duration::from_secs(10);
    c
}

/// One instance: a registry with the breaker `llm`, in the fleet.
struct Node {
    llm: StdBreaker,
    fleet: Fleet,
}

impl Node {
    fn start(c: FleetConfig) -> Node {
        let registry = Registry::new();
        let llm = registry.get_or_insert_with("llm", spec).unwrap();
        let fleet = Fleet::start(&registry, c).unwrap();
        Node { llm, fleet }
    }

    /// Three failures: the breaker opens from its own evidence.
    fn trip(&self) {
        for _ in 0..3 {
            let _ = self.llm.call(|| Err::<(), _>("provider down"));
        }
        assert_eq!(self.llm.state(), State::Open);
    }

    /// Failures until the breaker opens, while another thread's
    /// successes may break the run: at most a thousand calls.
    fn trip_despite_traffic(&self) {
        for _ in 0..1_000 {
            let _ = self.llm.call(|| Err::<(), _>("provider down"));
            if self.llm.state() == State::Open {
                return;
            }
        }
        panic!("a thousand failures did not open the breaker");
    }

    fn retry_after(&self) -> Option<Duration> {
        self.llm.try_acquire().err().and_then(|r| r.retry_after)
    }
}

async fn join_all(nodes: &[&Node]) {
    for n in nodes {
        assert!(
            n.fleet.joined(Duration::from_secs(5)).await,
            "{} joined",
            n.fleet.instance()
        );
    }
}

/// Polls `f` every 5 ms for up to `limit`.
async fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f()
}

const SOON: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_one_adopts_a_peers_open_for_what_it_has_left() {
    let Some(redis) = RedisServer::start("fleet::quorum_one") else {
        return;
    };
    let nodes: Vec<Node> = ["a", "b", "c"]
        .iter()
        .map(|i| Node::start(config(&redis.url(), i, Quorum::ANY)))
        .collect();
    join_all(&nodes.iter().collect::<Vec<_>>()).await;
    nodes[0].trip();
    for n in &nodes[1..] {
        assert!(within(SOON, || n.llm.state() == State::Open).await);
        let left = n.retry_after().unwrap();
        assert!(left <= OPEN_FOR && left > OPEN_FOR - SOON, "{left:?}");
        assert_eq!(n.fleet.counts("llm").adoptions, 1);
        assert_eq!(
            n.fleet.counts("llm").publications,
            0,
            "an adopted open is not echoed"
        );
    }
    assert!(within(SOON, || nodes[0].fleet.counts("llm").publications == 1).await);
    assert_eq!(nodes[0].fleet.counts("llm").adoptions, 0);
    // The same counters in the Prometheus exposition (once b has heard
    // everyone's heartbeat: the first may have gone out before it listened).
    assert!(within(SOON, || nodes[1].fleet.live_instances() == 3).await);
    let mut prom = prometheus_client::registry::Registry::default();
    prom.register_collector(Box::new(nodes[1].fleet.collector()));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prom).unwrap();
    assert!(
        text.contains("circuit_breaker_fleet_adoptions_total{name=\"llm\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("circuit_breaker_fleet_live_instances 3"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_two_waits_for_a_second_instance() {
    let Some(redis) = RedisServer::start("fleet::quorum_two") else {
        return;
    };
    let nodes: Vec<Node> = ["a", "b", "c", "d"]
        .iter()
        .map(|i| Node::start(config(&redis.url(), i, Quorum::at_least(2))))
        .collect();
    join_all(&nodes.iter().collect::<Vec<_>>()).await;
    nodes[0].trip();
    assert!(within(SOON, || nodes[0].fleet.counts("llm").publications == 1).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in &nodes[1..] {
        assert_eq!(
            n.llm.state(),
            State::Closed,
            "one report is not a quorum of two"
        );
    }
    nodes[1].trip();
    for n in &nodes[2..] {
        assert!(within(SOON, || n.llm.state() == State::Open).await);
        assert_eq!(n.fleet.counts("llm").adoptions, 1);
    }
    // a and b opened on their own; b needed a second peer too (a only).
    assert_eq!(nodes[1].fleet.counts("llm").adoptions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_node_does_not_poison_the_fleet_at_quorum_two() {
    let Some(redis) = RedisServer::start("fleet::bad_node") else {
        return;
    };
    let good: Vec<Node> = ["a", "b", "c"]
        .iter()
        .map(|i| Node::start(config(&redis.url(), i, Quorum::at_least(2))))
        .collect();
    join_all(&good.iter().collect::<Vec<_>>()).await;
    // A node that keeps claiming hour-long opens, under new epochs.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    for epoch in 1..=20u64 {
        let line = format!("fb1 open liar {epoch} 3600000 llm");
        let _: i64 = redis::cmd("PUBLISH")
            .arg("fusebox:events")
            .arg(line)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in &good {
        assert_eq!(n.llm.state(), State::Closed);
    }
    // A real trip makes two reporters: the fleet opens, for the real
    // instance's time, not the liar's hour.
    good[0].trip();
    for n in &good[1..] {
        assert!(within(SOON, || n.llm.state() == State::Open).await);
        assert!(n.retry_after().unwrap() <= OPEN_FOR);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_joins_an_outage_in_progress() {
    let Some(redis) = RedisServer::start("fleet::join_outage") else {
        return;
    };
    let a = Node::start(config(&redis.url(), "a", Quorum::ANY));
    join_all(&[&a]).await;
    a.trip();
    assert!(within(SOON, || a.fleet.counts("llm").publications == 1).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let late = Node::start(config(&redis.url(), "late", Quorum::ANY));
    join_all(&[&late]).await;
    assert_eq!(late.llm.state(), State::Open, "adopted at join");
    let left = late.retry_after().unwrap();
    assert!(left <= OPEN_FOR - Duration::from_millis(500), "{left:?}");
    assert!(
        left >= a
            .retry_after()
            .unwrap()
            .saturating_sub(Duration::from_secs(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_close_lets_an_adopted_open_probe_early() {
    let Some(redis) = RedisServer::start("fleet::probe_early") else {
        return;
    };
    let a = Node::start(config(&redis.url(), "a", Quorum::ANY));
    let b = Node::start(config(&redis.url(), "b", Quorum::ANY));
    join_all(&[&a, &b]).await;
    a.trip();
    assert!(within(SOON, || b.llm.state() == State::Open).await);
    // a probes (an operator's half-open here, rather than a 20 s wait) and
    // its probe succeeds: it closes and says so.
    a.llm.transition_to_half_open();
    a.llm.call(|| Ok::<_, ()>(())).unwrap();
    assert_eq!(a.llm.state(), State::Closed);
    assert!(within(SOON, || b.llm.state() == State::HalfOpen).await);
    assert_eq!(b.fleet.counts("llm").early_probes, 1);
    // b's own probe decides for b.
    b.llm.call(|| Ok::<_, ()>(())).unwrap();
    assert_eq!(b.llm.state(), State::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_restores_its_own_open_from_the_state_hash() {
    let Some(redis) = RedisServer::start("fleet::restart_restore") else {
        return;
    };
    let a = Node::start(config(&redis.url(), "a", Quorum::ANY));
    join_all(&[&a]).await;
    a.trip();
    assert!(within(SOON, || a.fleet.counts("llm").publications == 1).await);
    assert_eq!(a.fleet.save().await, 1);
    let left_at_exit = a.retry_after().unwrap();
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same instance id, a new process's breaker: open for what was left.
    let again = Node::start(config(&redis.url(), "a", Quorum::ANY));
    join_all(&[&again]).await;
    assert_eq!(again.llm.state(), State::Open);
    let left = again.retry_after().unwrap();
    // Shorter by the time away (300 ms, aged on the server's clock).
    assert!(
        left <= left_at_exit.saturating_sub(Duration::from_millis(200)),
        "{left:?} vs {left_at_exit:?}"
    );
    assert!(left > left_at_exit - SOON);
    let c = again.fleet.counts("llm");
    assert_eq!((c.restores, c.adoptions), (1, 0), "{c:?}");
}

/// Calls on a breaker from a thread: they must all return while Redis
/// hangs, whatever the fleet's tasks are waiting for.
fn calls_on_a_thread(b: &StdBreaker, n: u32) -> std::thread::JoinHandle<u32> {
    let b = b.clone();
    std::thread::spawn(move || {
        let mut ok = 0;
        for i in 0..n {
            if b.call(|| if i % 2 == 0 { Ok(()) } else { Err("x") })
                .is_ok()
            {
                ok += 1;
            }
        }
        ok
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_blocks_no_call_and_the_fleet_recovers() {
    let Some(redis) = RedisServer::start("fleet::hang") else {
        return;
    };
    let mut ca = config(&redis.url(), "a", Quorum::ANY);
    ca.queue = 2;
    let a = Node::start(ca);
    let b = Node::start(config(&redis.url(), "b", Quorum::ANY));
    join_all(&[&a, &b]).await;
    redis.signal("-STOP");
    // Calls go on at local speed; a's own trips queue up, then drop.
    let calls = calls_on_a_thread(&a.llm, 10_000);
    // The calls thread's successes interleave with these failures, so a
    // trip takes as many failures as it needs (three in a row).
    for _ in 0..6 {
        a.llm.reset();
        a.trip_despite_traffic();
    }
    assert!(
        within(Duration::from_secs(5), || calls.is_finished()).await,
        "calls blocked"
    );
    calls.join().unwrap();
    assert!(
        within(SOON, || !b.fleet.listening()).await,
        "silence noticed"
    );
    assert!(within(SOON, || a.fleet.counts("llm").drops > 0).await);
    assert_eq!(b.llm.state(), State::Closed);
    redis.signal("-CONT");
    assert!(
        within(Duration::from_secs(5), || b.fleet.listening()
            && b.llm.state() == State::Open)
        .await
    );
    let c = a.fleet.counts("llm");
    assert!(c.publications >= 1 && c.store_errors >= 1, "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_redis_is_reconnected_after_its_restart() {
    let Some(mut redis) = RedisServer::start("fleet::crash") else {
        return;
    };
    let a = Node::start(config(&redis.url(), "a", Quorum::ANY));
    let b = Node::start(config(&redis.url(), "b", Quorum::ANY));
    join_all(&[&a, &b]).await;
    let joins = b.fleet.joins();
    redis.kill();
    a.trip();
    assert!(within(SOON, || a.fleet.counts("llm").store_errors > 0).await);
    assert_eq!(b.llm.state(), State::Closed);
    // A restart on the same port is an empty Redis (no persistence).
    let port = redis.port;
    let _redis = RedisServer::start_on(port);
    assert!(
        within(Duration::from_secs(5), || b.fleet.joins() > joins
            && b.fleet.listening())
        .await
    );
    // a's open was still queued: it reaches b after the restart.
    assert!(within(Duration::from_secs(5), || b.llm.state() == State::Open).await);
    assert!(a.fleet.link_errors() > 0 && b.fleet.link_errors() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_blackholed_and_reset_connections_degrade_to_local_and_recover() {
    let Some(redis) = RedisServer::start("fleet::proxy") else {
        return;
    };
    let proxy = TcpProxy::start(redis.port).await;
    let a = Node::start(config(&redis.url(), "a", Quorum::ANY));
    let b = Node::start(config(&proxy.url(), "b", Quorum::ANY));
    join_all(&[&a, &b]).await;

    // Delay: slower news, still news.
    proxy.set(Fault::Delay(Duration::from_millis(60)));
    a.trip();
    assert!(within(SOON, || b.llm.state() == State::Open).await);
    a.llm.reset();
    b.llm.reset();

    // Blackhole: b notices the silence and works alone...
    proxy.set(Fault::Blackhole);
    assert!(within(SOON, || !b.fleet.listening()).await);
    let calls = calls_on_a_thread(&b.llm, 2_000);
    a.trip();
    assert!(within(SOON, || calls.is_finished()).await, "calls blocked");
    calls.join().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    b.llm.reset();
    assert_eq!(b.llm.state(), State::Closed);
    // ...and when the path heals, the join reads a's open from the state hash.
    proxy.set(Fault::Pass);
    assert!(within(Duration::from_secs(5), || b.llm.state() == State::Open).await);
    a.llm.reset();
    b.llm.reset();

    // Reset: b reconnects at once and hears the next trip.
    let joins = b.fleet.joins();
    proxy.set(Fault::Reset);
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.set(Fault::Pass);
    assert!(
        within(Duration::from_secs(5), || b.fleet.joins() > joins
            && b.fleet.listening())
        .await
    );
    a.trip();
    assert!(within(SOON, || b.llm.state() == State::Open).await);
}

// ---- instances in separate processes ------------------------------------

/// A child instance: the test binary itself, run with
/// `FUSEBOX_FLEET_CHILD=<instance>`. It reads `trip`, `state`, `quit` on
/// stdin and answers `child <instance> <state> <adoptions>`.
#[test]
fn fleet_child_process() {
    let Ok(instance) = std::env::var("FUSEBOX_FLEET_CHILD") else {
        return;
    };
    let url = std::env::var("FUSEBOX_FLEET_URL").unwrap();
    let quorum: u32 = std::env::var("FUSEBOX_FLEET_QUORUM")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let node = Node::start(config(&url, &instance, Quorum::at_least(quorum)));
        assert!(node.fleet.joined(Duration::from_secs(5)).await);
        println!("child {instance} ready");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                if tx.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        loop {
            let cmd = tokio::task::block_in_place(|| rx.recv()).unwrap_or_else(|_| "quit".into());
            match cmd.as_str() {
                "trip" => node.trip(),
                "state" => {}
                _ => return,
            }
            let adoptions = node.fleet.counts("llm").adoptions;
            println!("child {instance} {} {adoptions}", node.llm.state().as_str());
        }
    });
}

struct ChildNode {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl ChildNode {
    fn spawn(url: &str, instance: &str, quorum: u32) -> ChildNode {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fleet_child_process",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("FUSEBOX_FLEET_CHILD", instance)
            .env("FUSEBOX_FLEET_URL", url)
            .env("FUSEBOX_FLEET_QUORUM", quorum.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // The harness may print `test fleet_child_process ... ` first.
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(at) = line.find("child ") {
                    if tx.send(line[at..].to_string()).is_err() {
                        return;
                    }
                }
            }
        });
        ChildNode {
            child,
            stdin,
            lines,
        }
    }

    fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("child answered")
    }

    /// Sends `cmd`; the answer's (state, adoptions).
    fn ask(&mut self, cmd: &str) -> (String, u64) {
        writeln!(self.stdin, "{cmd}").unwrap();
        let line = self.next();
        let f: Vec<&str> = line.split(' ').collect();
        (f[2].to_string(), f[3].parse().unwrap())
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

#[test]
fn instances_in_separate_processes_adopt_by_quorum() {
    if std::env::var_os("FUSEBOX_FLEET_CHILD").is_some() {
        return;
    }
    let Some(redis) = RedisServer::start("fleet::processes") else {
        return;
    };
    let mut children: Vec<ChildNode> = ["p1", "p2", "p3"]
        .iter()
        .map(|i| ChildNode::spawn(&redis.url(), i, 2))
        .collect();
    for c in &children {
        assert!(c.next().ends_with("ready"));
    }
    children[0].ask("trip");
    std::thread::sleep(Duration::from_millis(400));
    for c in &mut children[1..] {
        assert_eq!(
            c.ask("state"),
            ("closed".to_string(), 0),
            "one reporter of two"
        );
    }
    children[1].ask("trip");
    let end = Instant::now() + SOON;
    loop {
        let (state, adoptions) = children[2].ask("state");
        if state == "open" {
            assert_eq!(adoptions, 1);
            break;
        }
        assert!(Instant::now() < end, "p3 adopted");
        std::thread::sleep(Duration::from_millis(20));
    }
}
