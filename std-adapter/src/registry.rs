//! [`Registry`]: the named breakers of a program.

use crate::alerts::AlertHook;
use crate::config::FileConfig;
use crate::observe::TransitionEvent;
use crate::std_breaker::{BreakerSpec, StdBreaker};
use arc_swap::ArcSwap;
use fusebox_core::{ConfigError, Snapshot, State};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

/// How a breaker is doing, for health checks and dashboards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Closed (or metrics-only) and the failure rate below half its trip
    /// threshold (or the consecutive-failure run below half its threshold).
    Healthy,
    /// Half-open, disabled (nothing is protected), or closed with a failure
    /// rate or run at half its threshold or more.
    Degraded,
    /// Open or forced open: calls are being rejected.
    Critical,
}

impl Health {
    /// `healthy`, `degraded` or `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Critical => "critical",
        }
    }

    /// The health a snapshot of a breaker with `config` shows.
    pub fn of(s: &Snapshot, config: &fusebox_core::Config) -> Health {
        Health::assess(s, config).0
    }

    /// The health a snapshot of a breaker with `config` shows, and why, in
    /// words for an operator (`"open: calls are rejected for another 1200 ms"`,
    /// `"3 consecutive failures, at least half the 5 that trip it"`).
    pub fn assess(s: &Snapshot, config: &fusebox_core::Config) -> (Health, String) {
        let pct = |bp: u32| format!("{}%", bp as f64 / 100.0);
        match s.state {
            State::Open => (
                Health::Critical,
                "open: calls are rejected until a probe succeeds".to_string(),
            ),
            State::ForcedOpen => (
                Health::Critical,
                "forced open by an operator: every call is rejected".to_string(),
            ),
            State::HalfOpen => (
                Health::Degraded,
                "half-open: probing whether the dependency has recovered".to_string(),
            ),
            State::Disabled => (
                Health::Degraded,
                "disabled by an operator: calls are not protected".to_string(),
            ),
            State::Closed | State::MetricsOnly => {
                let mode = if s.state == State::MetricsOnly {
                    "metrics-only (never trips): "
                } else {
                    ""
                };
                if let (Some(rate), Some(limit)) = (s.failure_rate, config.failure_rate()) {
                    if rate.basis_points() * 2 >= limit.basis_points() {
                        return (
                            Health::Degraded,
                            format!(
                                "{mode}failure rate {} is at least half the {} that trips it",
                                pct(rate.basis_points()),
                                pct(limit.basis_points())
                            ),
                        );
                    }
                }
                if let Some(limit) = config.consecutive_failures() {
                    let run = s.consecutive_failures;
                    if run > 0 && run * 2 >= limit {
                        let plural = if run == 1 { "" } else { "s" };
                        return (
                            Health::Degraded,
                            format!(
                                "{mode}{run} consecutive failure{plural}, at least half the {limit} that trip it"
                            ),
                        );
                    }
                }
                (
                    Health::Healthy,
                    format!("{mode}closed, failures well below the thresholds"),
                )
            }
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health of every breaker of a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthReport {
    /// The worst health of any breaker (`Healthy` when there are none).
    pub overall: Health,
    /// Each breaker's health, by name.
    pub breakers: BTreeMap<String, Health>,
}

impl HealthReport {
    /// How many breakers are in `health`.
    pub fn count(&self, health: Health) -> usize {
        self.breakers.values().filter(|h| **h == health).count()
    }
}

/// What look-ups see: one immutable picture of the names, swapped whole
/// by every change.
#[derive(Clone, Default)]
pub(crate) struct Map {
    pub(crate) breakers: BTreeMap<Arc<str>, StdBreaker>,
    /// The names the last config file defined: a reload drops those the
    /// new file no longer has, and leaves the breakers that code added.
    pub(crate) from_file: BTreeSet<Arc<str>>,
}

struct Shared {
    /// Look-ups load it without a lock (a few atomic operations): a change
    /// of the registry never blocks a call.
    map: ArcSwap<Map>,
    /// Serialises changes (insert, remove, reload); look-ups never take it.
    writer: Mutex<()>,
    events: broadcast::Sender<TransitionEvent>,
    alerts: RwLock<Option<Arc<AlertHook>>>,
}

/// Named breakers, shared by the whole program. Thread-safe and cheap to
/// clone (an `Arc`); every breaker it builds broadcasts its transitions to
/// [`subscribe`](Self::subscribe).
///
/// Look-ups ([`get`](Self::get)) take no lock: the names live in an
/// immutable map that every change replaces whole (`arc-swap`), so an
/// insert, a removal or a [`reload`](Self::reload) never makes a call wait.
///
/// ```
/// use fusebox_core::{Config, State};
/// use fusebox_std::{BreakerSpec, CallExt, Health, Registry, WindowSpec};
///
/// let registry = Registry::new();
/// let spec = || BreakerSpec {
///     config: Config::builder().consecutive_failures(1).build().unwrap(),
///     window: WindowSpec::None,
/// };
/// let search = registry.get_or_insert_with("search", spec).unwrap();
/// let _ = search.call(|| Err::<(), _>("down"));
/// assert_eq!(registry.get("search").unwrap().state(), State::Open);
/// assert_eq!(registry.health().overall, Health::Critical);
/// registry.reset_all();
/// assert_eq!(registry.health().overall, Health::Healthy);
/// ```
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry; its transition broadcast keeps the last 256 events
    /// for slow subscribers.
    pub fn new() -> Registry {
        Registry {
            shared: Arc::new(Shared {
                map: ArcSwap::from_pointee(Map::default()),
                writer: Mutex::new(()),
                events: broadcast::channel(256).0,
                alerts: RwLock::new(None),
            }),
        }
    }

    /// A registry holding every breaker of a config file. A later
    /// [`reload`](Self::reload) treats these names as the file's.
    pub fn from_config(file: &FileConfig) -> Result<Registry, ConfigError> {
        let r = Registry::new();
        let mut map = Map::default();
        for (name, spec) in file.breakers() {
            let name: Arc<str> = Arc::from(name.as_str());
            map.breakers
                .insert(Arc::clone(&name), r.build(&name, *spec)?);
            map.from_file.insert(name);
        }
        r.shared.map.store(Arc::new(map));
        Ok(r)
    }

    /// The map as it is now; lock-free.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Map>> {
        self.shared.map.load()
    }

    /// Runs `change` on a copy of the map under the writer lock and
    /// installs the copy (unless `change` fails). Look-ups go on reading
    /// the previous map meanwhile.
    pub(crate) fn change<T, E>(
        &self,
        change: impl FnOnce(&mut Map) -> Result<T, E>,
    ) -> Result<T, E> {
        // A panic while changing leaves the installed map untouched (the
        // change works on a copy), so poison is ignored.
        let _writer = self.shared.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = Map::clone(&self.shared.map.load());
        let out = change(&mut map)?;
        self.shared.map.store(Arc::new(map));
        Ok(out)
    }

    pub(crate) fn build(&self, name: &str, spec: BreakerSpec) -> Result<StdBreaker, ConfigError> {
        let b = StdBreaker::with_events(name, spec, self.shared.events.clone())?;
        b.observer().set_alert_hook(self.hook());
        Ok(b)
    }

    pub(crate) fn set_hook(&self, hook: Option<Arc<AlertHook>>) {
        *self
            .shared
            .alerts
            .write()
            .unwrap_or_else(|p| p.into_inner()) = hook;
    }

    pub(crate) fn hook(&self) -> Option<Arc<AlertHook>> {
        self.shared
            .alerts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Builds a breaker named `name` from `spec` and puts it in the
    /// registry, replacing (and returning) any breaker of that name. Holders
    /// of the old breaker keep using it; look-ups get the new one.
    pub fn insert(&self, name: &str, spec: BreakerSpec) -> Result<Option<StdBreaker>, ConfigError> {
        let b = self.build(name, spec)?;
        self.change(|map| Ok(map.breakers.insert(Arc::from(name), b)))
    }

    /// The breaker named `name`, built from `spec()` if there is none yet.
    /// `spec` runs at most once, and only when the breaker is missing.
    pub fn get_or_insert_with(
        &self,
        name: &str,
        spec: impl FnOnce() -> BreakerSpec,
    ) -> Result<StdBreaker, ConfigError> {
        if let Some(b) = self.get(name) {
            return Ok(b);
        }
        self.change(|map| {
            if let Some(b) = map.breakers.get(name) {
                return Ok(b.clone());
            }
            let b = self.build(name, spec())?;
            map.breakers.insert(Arc::from(name), b.clone());
            Ok(b)
        })
    }

    /// The breaker named `name`; takes no lock.
    pub fn get(&self, name: &str) -> Option<StdBreaker> {
        self.load().breakers.get(name).cloned()
    }

    /// Removes the breaker named `name`. Its holders and permits in flight
    /// keep it alive until they finish.
    pub fn remove(&self, name: &str) -> Option<StdBreaker> {
        self.change(|map| {
            map.from_file.remove(name);
            Ok::<_, std::convert::Infallible>(map.breakers.remove(name))
        })
        .unwrap_or_else(|never| match never {})
    }

    /// The breakers, by name, as they are now.
    pub fn breakers(&self) -> Vec<StdBreaker> {
        self.load().breakers.values().cloned().collect()
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.load().breakers.keys().map(|k| k.to_string()).collect()
    }

    /// How many breakers it holds.
    pub fn len(&self) -> usize {
        self.load().breakers.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.load().breakers.is_empty()
    }

    /// [`reset`](StdBreaker::reset)s every breaker.
    pub fn reset_all(&self) {
        for b in self.breakers() {
            b.reset();
        }
    }

    /// The health of every breaker, and the worst of them.
    pub fn health(&self) -> HealthReport {
        let breakers: BTreeMap<String, Health> = self
            .breakers()
            .iter()
            .map(|b| (b.name().to_string(), b.health()))
            .collect();
        HealthReport {
            overall: breakers.values().copied().max().unwrap_or(Health::Healthy),
            breakers,
        }
    }

    /// Transitions of every breaker built by this registry, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.shared.events.subscribe()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.load().breakers.keys()).finish()
    }
}

impl StdBreaker {
    /// How it is doing ([`Health::of`] its snapshot).
    pub fn health(&self) -> Health {
        Health::of(&self.snapshot(), self.config())
    }

    /// How it is doing, and why ([`Health::assess`] its snapshot).
    pub fn health_and_reason(&self) -> (Health, String) {
        Health::assess(&self.snapshot(), self.config())
    }
}
