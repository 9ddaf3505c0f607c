//! Breakers per key (feature `keyed`): per host, tenant, model or
//! endpoint, each built on first use from one template.
//!
//! [`KeyedBreakers`] keeps them in a `moka` cache: at most
//! [`max_keys`](KeyedConfig::max_keys) (least recently used go first), and
//! a key idle for [`idle`](KeyedConfig::idle) is dropped. A dropped key's
//! breaker lives on for whoever still holds it or its permits, and a later
//! call under that key starts a fresh one.
//!
//! **A cap on open keys** (Envoy's `max_ejection_percent`): with
//! [`max_open`](KeyedConfig::max_open), at most that fraction of the keys
//! (and always at least one) may be out of service at once (open,
//! half-open or forced open). A key that trips past the cap is put back to
//! closed at once and the refusal is counted
//! ([`KeyedStats::opens_refused`]): when most keys fail together, the
//! cause is usually the caller or the network, and shutting every key off
//! would turn a partial outage into a total one.
//!
//! Metrics keep a bounded label set: [`KeyedBreakers::metrics_text`]
//! reports the template's counts (keys, open keys, created, evicted,
//! refused opens) under the template's name, and per-key state only for
//! the open keys, at most [`key_labels`](KeyedConfig::key_labels) of them
//! (0 by default: no key ever becomes a label unless asked).
//!
//! ```
//! use std::time::Duration;
//! use fusebox_core::{Config, State};
//! use fusebox_std::keyed::{KeyedBreakers, KeyedConfig};
//! use fusebox_std::{BreakerSpec, CallExt, WindowSpec};
//!
//! let spec = BreakerSpec {
//!     config: Config::builder().consecutive_failures(2).build().unwrap(),
//!     window: WindowSpec::None,
//! };
//! let hosts = KeyedBreakers::new("upstream", spec, KeyedConfig::default()).unwrap();
//! for _ in 0..2 {
//!     let _ = hosts.get(&"10.0.0.7".to_string()).call(|| Err::<(), _>("refused"));
//! }
//! assert_eq!(hosts.get(&"10.0.0.7".to_string()).state(), State::Open);
//! assert_eq!(hosts.get(&"10.0.0.8".to_string()).state(), State::Closed);
//! ```

use crate::observe::TransitionEvent;
use crate::std_breaker::{BreakerSpec, StdBreaker};
use fusebox_core::{ConfigError, Ratio, State, Transition};
use moka::notification::RemovalCause;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many keys, for how long, and how many may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyedConfig {
    /// Keys kept at most (default 10 000); the least recently used go.
    pub max_keys: u64,
    /// A key unused for this long is dropped (default 10 minutes; `None`:
    /// only the capacity drops keys).
    pub idle: Option<Duration>,
    /// The largest share of keys out of service at once, at most 100 %
    /// (default `None`: no cap). At least one key may always open.
    pub max_open: Option<Ratio>,
    /// Open keys reported with a `key` label in the metrics, at most
    /// (default 0).
    pub key_labels: usize,
}

impl Default for KeyedConfig {
    fn default() -> Self {
        KeyedConfig {
            max_keys: 10_000,
            idle: Some(Duration::from_secs(600)),
            max_open: None,
            key_labels: 0,
        }
    }
}

/// What a [`KeyedBreakers`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyedStats {
    /// Keys held now (approximate while evictions are pending).
    pub keys: u64,
    /// Keys out of service now (open, half-open or forced open).
    pub open: usize,
    /// Breakers built.
    pub created: u64,
    /// Keys dropped by capacity or idleness.
    pub evicted: u64,
    /// Trips put back to closed because the cap on open keys was reached.
    pub opens_refused: u64,
}

/// One key's breaker and whether it still counts in the open keys.
#[derive(Clone)]
struct Entry {
    breaker: StdBreaker,
    /// Set when the key leaves the cache: its later transitions no longer
    /// move the open count.
    detached: Arc<AtomicBool>,
}

struct Inner<K> {
    name: Arc<str>,
    spec: BreakerSpec,
    config: KeyedConfig,
    cache: moka::sync::Cache<K, Entry>,
    /// One broadcast of transitions for every key (a channel per key would
    /// cost each key its own ring of events).
    events: broadcast::Sender<TransitionEvent>,
    open: AtomicUsize,
    created: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
}

/// Breakers per key, from one template. See the [module docs](self).
pub struct KeyedBreakers<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for KeyedBreakers<K> {
    fn clone(&self) -> Self {
        KeyedBreakers {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> fmt::Debug for KeyedBreakers<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakers")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A label value as the exposition format writes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn out_of_service(s: State) -> bool {
    matches!(s, State::Open | State::HalfOpen | State::ForcedOpen)
}

impl<K> KeyedBreakers<K>
where
    K: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static,
{
    /// Breakers named `name[key]` from `spec`. The spec is checked here,
    /// once; `config.max_open` must be at most 100 %.
    pub fn new(
        name: impl Into<Arc<str>>,
        spec: BreakerSpec,
        config: KeyedConfig,
    ) -> Result<Self, ConfigError> {
        let name = name.into();
        // A template that does not build fails here, not at the first key.
        StdBreaker::new(Arc::clone(&name), spec)?;
        if let Some(r) = config.max_open {
            if r.basis_points() > 10_000 {
                return Err(ConfigError::OutOfRange {
                    field: "max_open (basis points)",
                    value: u64::from(r.basis_points()),
                    min: 0,
                    max: 10_000,
                });
            }
        }
        let inner = Arc::new_cyclic(|weak: &Weak<Inner<K>>| {
            let on_evict = weak.clone();
            let mut cache = moka::sync::Cache::builder()
                .max_capacity(config.max_keys)
                .eviction_listener(move |_key, entry: Entry, cause| {
                    if cause == RemovalCause::Replaced {
                        return;
                    }
                    if let Some(inner) = on_evict.upgrade() {
                        inner.evicted.fetch_add(1, Ordering::Relaxed);
                        let was_counted = !entry.detached.swap(true, Ordering::AcqRel);
                        if was_counted && out_of_service(entry.breaker.snapshot().state) {
                            inner.open.fetch_sub(1, Ordering::AcqRel);
                        }
                    }
                });
            if let Some(idle) = config.idle {
                cache = cache.time_to_idle(idle);
            }
            Inner {
                name,
                spec,
                config,
                cache: cache.build(),
                events: broadcast::channel(256).0,
                open: AtomicUsize::new(0),
                created: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }
        });
        Ok(KeyedBreakers { inner })
    }

    /// The breaker of `key`, built from the template on first use.
    pub fn get(&self, key: &K) -> StdBreaker {
        self.inner
            .cache
            .get_with_by_ref(key, || self.build(key))
            .breaker
    }

    fn build(&self, key: &K) -> Entry {
        let inner = &self.inner;
        let name = format!("{}[{key}]", inner.name);
        // The template was checked in `new`; building cannot fail.
        let breaker = StdBreaker::with_events(name, inner.spec, inner.events.clone())
            .expect("template checked in new");
        let detached = Arc::new(AtomicBool::new(false));
        let weak = Arc::downgrade(inner);
        let hook_key = key.clone();
        let hook_detached = Arc::clone(&detached);
        breaker
            .observer()
            .set_transition_hook(Some(Arc::new(move |t: &Transition| {
                if let Some(inner) = weak.upgrade() {
                    inner.moved(&hook_key, &hook_detached, t);
                }
            })));
        inner.created.fetch_add(1, Ordering::Relaxed);
        Entry { breaker, detached }
    }

    /// Keys, open keys and counts.
    pub fn stats(&self) -> KeyedStats {
        let inner = &self.inner;
        inner.cache.run_pending_tasks();
        KeyedStats {
            keys: inner.cache.entry_count(),
            open: inner.open.load(Ordering::Acquire),
            created: inner.created.load(Ordering::Relaxed),
            evicted: inner.evicted.load(Ordering::Relaxed),
            opens_refused: inner.refused.load(Ordering::Relaxed),
        }
    }

    /// Transitions of every key's breaker from now on (one broadcast for
    /// all keys, keeping the last 256 events for slow subscribers).
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.inner.events.subscribe()
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Prometheus text: the template's counts, and per-key state for at
    /// most `key_labels` open keys.
    pub fn metrics_text(&self) -> String {
        let s = self.stats();
        let n = escape(&self.inner.name);
        let mut out = String::new();
        let mut line = |metric: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {metric} {help}\n# TYPE {metric} {kind}\n{metric}{{name=\"{n}\"}} {value}\n"
            ));
        };
        line(
            "circuit_breaker_keys",
            "gauge",
            "Keys held",
            s.keys.to_string(),
        );
        line(
            "circuit_breaker_open_keys",
            "gauge",
            "Keys out of service (open, half-open, forced open)",
            s.open.to_string(),
        );
        line(
            "circuit_breaker_keys_created_total",
            "counter",
            "Breakers built for keys",
            s.created.to_string(),
        );
        line(
            "circuit_breaker_keys_evicted_total",
            "counter",
            "Keys dropped by capacity or idleness",
            s.evicted.to_string(),
        );
        line(
            "circuit_breaker_opens_refused_total",
            "counter",
            "Trips put back to closed by the cap on open keys",
            s.opens_refused.to_string(),
        );
        let labels = self.inner.config.key_labels;
        if labels > 0 {
            out.push_str("# HELP circuit_breaker_key_state State of an open key: 1 open, 2 half-open, 3 forced open\n# TYPE circuit_breaker_key_state gauge\n");
            let open = self
                .inner
                .cache
                .iter()
                .filter_map(|(k, e)| {
                    let s = e.breaker.snapshot().state;
                    out_of_service(s).then(|| (k.to_string(), s))
                })
                .take(labels);
            for (k, s) in open {
                let code = match s {
                    State::Open => 1,
                    State::HalfOpen => 2,
                    _ => 3,
                };
                let k = escape(&k);
                out.push_str(&format!(
                    "circuit_breaker_key_state{{name=\"{n}\",key=\"{k}\"}} {code}\n"
                ));
            }
        }
        out
    }
}

impl<K> Inner<K>
where
    K: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static,
{
    /// A key's breaker moved: keep the open count, and refuse an open past
    /// the cap.
    fn moved(&self, key: &K, detached: &AtomicBool, t: &Transition) {
        if detached.load(Ordering::Acquire) {
            return;
        }
        match (out_of_service(t.from), out_of_service(t.to)) {
            (false, true) => {
                let open = self.open.fetch_add(1, Ordering::AcqRel) + 1;
                if open > self.cap() {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    // Back to closed: a reset is itself a transition, which
                    // takes this key out of the open count again.
                    if let Some(entry) = self.cache.get(key) {
                        entry.breaker.reset();
                    }
                }
            }
            (true, false) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }

    /// Keys allowed out of service at once.
    fn cap(&self) -> usize {
        match self.config.max_open {
            None => usize::MAX,
            Some(r) => {
                // Keys built and not yet evicted: exact where the cache's own
                // count lags its pending maintenance.
                let keys = self
                    .created
                    .load(Ordering::Relaxed)
                    .saturating_sub(self.evicted.load(Ordering::Relaxed));
                ((keys * u64::from(r.basis_points()) / 10_000) as usize).max(1)
            }
        }
    }
}
