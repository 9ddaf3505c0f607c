//! Fleet-wide breakers: the instances of a service tell each other, through
//! Redis, when a dependency made one of them open, so that the others stop
//! calling it without each having to fail first (feature `fleet`).
//!
//! Sharing is advisory and never stands between a caller and its call:
//!
//! - Every instance keeps its own lock-free breakers; a call never touches
//!   the network and never waits for Redis. The fleet reads transitions
//!   from the [`Registry`]'s broadcast on its own tasks.
//! - An instance whose breaker opens from its own failures publishes the
//!   breaker's name, its instance id, the epoch and the **open time left**
//!   (a duration: no wall-clock time crosses machines). A close after
//!   successful probes is published too.
//! - A peer adopts an open (reason `Adopted`, a new epoch, for the time it
//!   was told, clamped to its own maximum) once [`Quorum`] distinct
//!   instances reported one within [`FleetConfig::interval`]; how long is
//!   the quorum-th longest time reported, so one bad node decides nothing
//!   at a quorum of two or more. Half-open probing stays local; a peer's
//!   close lets an instance holding an adopted open probe at once.
//! - Redis down, slow, partitioned or restarted is local degradation:
//!   publications wait in a bounded queue that drops (and counts) when
//!   full; every command has a timeout; connections come back after an
//!   exponential backoff; the subscription is replaced when it fails or
//!   falls silent for three heartbeats.
//! - Each breaker's state hash keeps every instance's last published
//!   transition, stamped with the Redis server's own clock: a joining (or
//!   reconnecting) instance reads it and adopts the opens still running
//!   under the same quorum rule, and restores its own saved state.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use fusebox_std::fleet::{Fleet, FleetConfig, Quorum};
//! use fusebox_std::Registry;
//!
//! let registry = Registry::new();
//! // ... registry.insert("llm", spec) ...
//! let mut config = FleetConfig::new("redis://127.0.0.1:6379/", "web-1");
//! config.quorum = Quorum::at_least(2);
//! let fleet = Fleet::start(&registry, config)?;
//! fleet.joined(std::time::Duration::from_secs(1)).await;
//! println!("{:?}", fleet.counts("llm"));
//! # Ok(()) }
//! ```

mod adopt;
mod link;
mod listen;
mod metrics;
mod publish;
pub mod quorum;
mod stats;
pub mod wire;

pub use metrics::FleetCollector;
pub use quorum::Quorum;
pub use stats::FleetCounts;

use crate::registry::Registry;
use quorum::{Ledger, Rules};
use stats::Stats;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How an instance takes part in its fleet.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetConfig {
    /// The Redis URL (`redis://host:port/db`).
    pub url: String,
    /// This instance's id: unique in the fleet, no whitespace.
    pub instance: String,
    /// Prefix of the Redis keys and channel; fleets sharing one Redis
    /// keep apart by it. Default `fusebox`.
    pub namespace: String,
    /// Distinct peers whose opens make this instance adopt one. Default
    /// [`Quorum::ANY`].
    pub quorum: Quorum,
    /// A peer's report counts for this long after it arrived. Default 30 s.
    pub interval: Duration,
    /// Every instance publishes a heartbeat this often; a subscription
    /// silent for three is replaced, and a peer silent for three is no
    /// longer live. Default 1 s.
    pub heartbeat: Duration,
    /// Transitions waiting for Redis at most; beyond, they are dropped and
    /// counted. Default 256.
    pub queue: usize,
    /// Limit of every Redis command (twice this to connect). Default 500 ms.
    pub command_timeout: Duration,
    /// First wait before reconnecting; doubles per failure. Default 50 ms.
    pub backoff_min: Duration,
    /// Longest wait before reconnecting. Default 5 s.
    pub backoff_max: Duration,
}

impl FleetConfig {
    /// The defaults, for instance `instance` on the Redis at `url`.
    pub fn new(url: impl Into<String>, instance: impl Into<String>) -> FleetConfig {
        FleetConfig {
            url: url.into(),
            instance: instance.into(),
            namespace: "fusebox".into(),
            quorum: Quorum::ANY,
            interval: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            queue: 256,
            command_timeout: Duration::from_millis(500),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(5),
        }
    }

    fn check(&self) -> Result<(), FleetError> {
        let bad = |field: &'static str, why: &'static str| Err(FleetError::Config { field, why });
        if self.instance.is_empty() || self.instance.contains(char::is_whitespace) {
            return bad("instance", "must be non-empty, without whitespace");
        }
        if self.namespace.is_empty() || self.namespace.contains(char::is_whitespace) {
            return bad("namespace", "must be non-empty, without whitespace");
        }
        if self
            .quorum
            .fraction
            .is_some_and(|f| !(0.0..=1.0).contains(&f))
        {
            return bad("quorum.fraction", "must be within 0 ..= 1");
        }
        if self.queue == 0 {
            return bad("queue", "must be at least 1");
        }
        for (field, d) in [
            ("interval", self.interval),
            ("heartbeat", self.heartbeat),
            ("command_timeout", self.command_timeout),
            ("backoff_min", self.backoff_min),
        ] {
            if d.is_zero() {
                return Err(FleetError::Config {
                    field,
                    why: "must be longer than zero",
                });
            }
        }
        if self.backoff_max < self.backoff_min {
            return bad("backoff_max", "must be at least backoff_min");
        }
        Ok(())
    }
}

/// Why a fleet could not start.
#[derive(Debug)]
pub enum FleetError {
    /// A field of [`FleetConfig`] is out of range.
    Config {
        /// The field.
        field: &'static str,
        /// What it must be.
        why: &'static str,
    },
    /// The Redis URL does not parse.
    Url(redis::RedisError),
    /// Not called within a tokio runtime.
    NoRuntime,
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetError::Config { field, why } => write!(f, "fleet config: field `{field}` {why}"),
            FleetError::Url(e) => write!(f, "fleet config: field `url`: {e}"),
            FleetError::NoRuntime => f.write_str("Fleet::start must run within a tokio runtime"),
        }
    }
}

impl std::error::Error for FleetError {}

/// What the fleet's tasks share.
pub(crate) struct Shared {
    registry: Registry,
    client: redis::Client,
    config: FleetConfig,
    channel: String,
    ledger: Mutex<Ledger>,
    stats: Stats,
    origin: std::time::Instant,
    listening: AtomicBool,
    joins: watch::Sender<u64>,
    adopted: Mutex<HashMap<String, u64>>,
    lost_events: AtomicU64,
    link_errors: AtomicU64,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn adopted(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.adopted.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn state_key(&self, breaker: &str) -> String {
        format!("{}:state:{}", self.config.namespace, breaker)
    }
}

/// A running fleet link for the breakers of one [`Registry`] (present and
/// future). Dropping it stops its tasks; the breakers carry on alone.
pub struct Fleet {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Starts the fleet's tasks on the current tokio runtime. Returns at
    /// once: joining (reading the fleet's state) happens in the
    /// background; see [`joined`](Self::joined).
    pub fn start(registry: &Registry, config: FleetConfig) -> Result<Fleet, FleetError> {
        config.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;
        let client = redis::Client::open(config.url.as_str()).map_err(FleetError::Url)?;
        let rules = Rules {
            quorum: config.quorum,
            interval: config.interval,
            peer_ttl: config.heartbeat * 3,
            refresh_slack: config.heartbeat.min(Duration::from_millis(100)),
        };
        let shared = Arc::new(Shared {
            registry: registry.clone(),
            client: client.clone(),
            channel: format!("{}:events", config.namespace),
            config,
            ledger: Mutex::new(Ledger::new(rules)),
            stats: Stats::default(),
            origin: std::time::Instant::now(),
            listening: AtomicBool::new(false),
            joins: watch::channel(0).0,
            adopted: Mutex::new(HashMap::new()),
            lost_events: AtomicU64::new(0),
            link_errors: AtomicU64::new(0),
        });
        // Subscribed before returning: no transition after `start` is missed.
        let events = registry.subscribe();
        let (tx, rx) = mpsc::channel(shared.config.queue);
        let tasks = vec![
            runtime.spawn(publish::forward(Arc::clone(&shared), events, tx)),
            runtime.spawn(publish::publish(Arc::clone(&shared), client.clone(), rx)),
            runtime.spawn(listen::listen(Arc::clone(&shared), client)),
        ];
        Ok(Fleet { shared, tasks })
    }

    /// Waits up to `limit` for the first join (subscribed and the fleet's
    /// state read); `false` if Redis did not answer in time. The breakers
    /// work meanwhile either way.
    pub async fn joined(&self, limit: Duration) -> bool {
        let mut joins = self.shared.joins.subscribe();
        tokio::time::timeout(limit, joins.wait_for(|n| *n > 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Joins so far (1 + reconnections of the subscription).
    pub fn joins(&self) -> u64 {
        *self.shared.joins.borrow()
    }

    /// Whether the subscription is up now.
    pub fn listening(&self) -> bool {
        // Acquire: pairs with the Release stores in `listen`.
        self.shared.listening.load(Ordering::Acquire)
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.shared.config.instance
    }

    /// Live instances (this one included): those heard within three heartbeats.
    pub fn live_instances(&self) -> usize {
        let now = self.shared.origin.elapsed();
        self.shared.ledger().live(now)
    }

    /// The fleet's counters for a `prometheus_client` registry (the
    /// `circuit_breaker_fleet_*` families, per breaker).
    pub fn collector(&self) -> FleetCollector {
        FleetCollector {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The counters of one breaker.
    pub fn counts(&self, breaker: &str) -> FleetCounts {
        self.shared.stats.get(breaker)
    }

    /// The counters of every breaker the fleet has dealt with.
    pub fn all_counts(&self) -> BTreeMap<String, FleetCounts> {
        self.shared.stats.all()
    }

    /// Writes every breaker's exported state to its state hash (field
    /// `<instance>/saved`), for this instance's next start with the same id
    /// (at shutdown, say): its first join restores an open breaker for what
    /// is left of its period, measured on the Redis server's clock. Peers
    /// never adopt a saved state. Returns how many breakers were saved;
    /// each command is bounded by the command timeout.
    pub async fn save(&self) -> usize {
        let shared = &self.shared;
        let mut link = link::Link::new(shared.client.clone(), &shared.config);
        let mut saved = 0;
        for b in shared.registry.breakers() {
            let e = b.export();
            let entry = wire::Entry::encode_unstamped(
                wire::Kind::Saved,
                b.snapshot().epoch,
                e.open_remaining.unwrap_or_default(),
                &adopt::encode(&e),
            );
            let cmd = redis::cmd("EVAL")
                .arg(link::PUBLISH)
                .arg(1)
                .arg(shared.state_key(b.name()))
                .arg(format!("{}/saved", shared.config.instance))
                .arg(&shared.channel)
                .arg("")
                .arg(entry)
                .arg(publish::STATE_TTL.as_millis() as u64)
                .clone();
            let done = link
                .run(move |mut c| async move { cmd.query_async::<i64>(&mut c).await })
                .await;
            match done {
                Some(_) => saved += 1,
                None => shared.stats.bump(b.name(), |c| c.store_errors += 1),
            }
        }
        saved
    }

    /// Transitions the fleet missed because it read the registry's
    /// broadcast too slowly (it keeps 256).
    pub fn lost_events(&self) -> u64 {
        // Relaxed: a statistic.
        self.shared.lost_events.load(Ordering::Relaxed)
    }

    /// Failed or silent connections so far (subscription and heartbeats).
    pub fn link_errors(&self) -> u64 {
        // Relaxed: a statistic.
        self.shared.link_errors.load(Ordering::Relaxed)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("instance", &self.shared.config.instance)
            .field("listening", &self.listening())
            .finish()
    }
}
