//! Alerts: a hook told when a breaker's health changes level (healthy,
//! warning, critical), with a limit on repeats.
//!
//! Levels are [`Health`]s ("warning" is [`Health::Degraded`]). Transitions
//! feed the hook as they happen: open and forced open are critical,
//! half-open and disabled a warning, closed and metrics-only healthy.
//! [`Registry::check_alerts`] feeds it every breaker's full health (which
//! also sees a closed breaker whose failure rate or run is at half its
//! threshold); call it from a timer or a health route.
//!
//! A breaker that flaps would alert at every flip: an alert at a level
//! already sent for that breaker less than `repeat_after` ago is held back
//! and counted, and the next alert sent for it says how many were held
//! ([`Alert::suppressed`]).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use fusebox_core::Config;
//! use fusebox_std::{AlertHook, BreakerSpec, CallExt, Health, Registry, WindowSpec};
//!
//! let registry = Registry::new();
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = Arc::clone(&seen);
//! registry.set_alert_hook(AlertHook::new(Duration::from_secs(60), move |a| {
//!     sink.lock().unwrap().push((a.breaker.to_string(), a.level));
//! }));
//! let spec = BreakerSpec { config: Config::builder().consecutive_failures(1).build().unwrap(), window: WindowSpec::None };
//! let db = registry.get_or_insert_with("db", || spec).unwrap();
//! let _ = db.call(|| Err::<(), _>("down"));
//! assert_eq!(*seen.lock().unwrap(), [("db".to_string(), Health::Critical)]);
//! ```

use crate::registry::{Health, Registry};
use fusebox_core::State;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One alert: a breaker's health changed level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The breaker.
    pub breaker: Arc<str>,
    /// Its health now.
    pub level: Health,
    /// Its health at the previous alert sent or held (healthy at first).
    pub previous: Health,
    /// Why: a transition reason (`consecutive_failures`, `probes_succeeded`,
    /// ...) or `health_check`.
    pub reason: &'static str,
    /// Alerts held back for this breaker since the last one sent.
    pub suppressed: u64,
}

/// Where alerts go; see the [module docs](self).
pub struct AlertHook {
    notify: Box<dyn Fn(&Alert) + Send + Sync>,
    repeat_after: Duration,
    breakers: Mutex<HashMap<Arc<str>, Seen>>,
}

/// What the hook remembers of one breaker.
#[derive(Default)]
struct Seen {
    level: Option<Health>,
    sent: HashMap<Health, Instant>,
    suppressed: u64,
}

impl AlertHook {
    /// A hook that calls `notify` (with no lock of the breaker's held, but
    /// under the hook's own: keep it short, or hand the alert to a queue),
    /// sending an alert at a level again for the same breaker only after
    /// `repeat_after`.
    pub fn new(
        repeat_after: Duration,
        notify: impl Fn(&Alert) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(AlertHook {
            notify: Box::new(notify),
            repeat_after,
            breakers: Mutex::new(HashMap::new()),
        })
    }

    /// Feeds `breaker`'s `level`: an alert if it changed, unless held back.
    pub(crate) fn feed(&self, breaker: &Arc<str>, level: Health, reason: &'static str) {
        let mut map = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        let seen = map.entry(Arc::clone(breaker)).or_default();
        let previous = seen.level.unwrap_or(Health::Healthy);
        if previous == level {
            return;
        }
        seen.level = Some(level);
        let now = Instant::now();
        if let Some(at) = seen.sent.get(&level) {
            if now.duration_since(*at) < self.repeat_after {
                seen.suppressed += 1;
                return;
            }
        }
        seen.sent.insert(level, now);
        let alert = Alert {
            breaker: Arc::clone(breaker),
            level,
            previous,
            reason,
            suppressed: std::mem::take(&mut seen.suppressed),
        };
        (self.notify)(&alert);
    }

    /// The level a transition into `state` means.
    pub(crate) fn level_of(state: State) -> Health {
        match state {
            State::Open | State::ForcedOpen => Health::Critical,
            State::HalfOpen | State::Disabled => Health::Degraded,
            State::Closed | State::MetricsOnly => Health::Healthy,
        }
    }
}

impl fmt::Debug for AlertHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertHook")
            .field("repeat_after", &self.repeat_after)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Sends this registry's alerts to `hook`: every breaker it holds now
    /// and every breaker it builds later.
    pub fn set_alert_hook(&self, hook: Arc<AlertHook>) {
        self.set_hook(Some(Arc::clone(&hook)));
        for b in self.breakers() {
            b.observer().set_alert_hook(Some(Arc::clone(&hook)));
        }
    }

    /// Feeds the alert hook every breaker's full health (see the
    /// [module docs](crate::alerts)); does nothing without a hook.
    pub fn check_alerts(&self) {
        let Some(hook) = self.hook() else { return };
        for b in self.breakers() {
            hook.feed(b.observer().name(), b.health(), "health_check");
        }
    }
}
