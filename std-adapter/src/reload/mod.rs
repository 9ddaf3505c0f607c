//! Live reconfiguration: [`Registry::reload`] takes a new config file and
//! keeps each breaker's state where it can.
//!
//! A reload goes in two steps:
//!
//! 1. **Check everything first.** The new file is read, parsed and every
//!    breaker of it checked and built (windows allocated) before the
//!    registry is touched. A file that is missing, unreadable or invalid
//!    changes nothing: the error ([`ConfigFileError`]: file, line, breaker,
//!    field, allowed range) is returned and the breakers in force stay.
//! 2. **Swap the map.** Under the registry's writer lock (which look-ups
//!    never take), each name is settled and the new map is installed in
//!    one atomic store:
//!    - the same name with the same settings: the breaker goes on
//!      untouched ([`Change::Unchanged`]: state, window, counts, totals);
//!    - the same name with new settings: a new breaker is built from the
//!      new settings and the old one's state is restored into it
//!      ([`Change::Reconfigured`], which says what was kept and what was
//!      reset);
//!    - a new name: added ([`Change::Added`]);
//!    - a name the previous file had and the new one does not: removed
//!      from the registry ([`Change::Removed`]). Its permits in flight
//!      finish on it (they hold it), and it is freed when the last one
//!      ends. Breakers that code added ([`Registry::insert`],
//!      [`Registry::get_or_insert_with`]) are never removed by a reload.
//!
//! What crosses into a reconfigured breaker is what
//! [`fusebox_core::Breaker::restore`] carries from the old breaker's
//! export: the state and operator mode (an operator's forced-open or
//! disabled breaker stays so), the backoff level, and an open period's time
//! left, measured from the reload and cut to the new settings' longest open
//! period (a half-open breaker comes back open with no time left, so its
//! next call probes under the new settings). The window starts empty and
//! the consecutive run at zero (the core carries counts only between equal
//! settings, and a reconfigured breaker's settings differ); the observer's
//! totals start from zero. The report lists both ([`Carried`]).
//!
//! A call never waits for a reload: look-ups read the map without a lock,
//! and a call that looked up the old breaker just before the swap finishes
//! on it (its outcome counts there, never lost and never counted twice).
//! Code that holds a [`StdBreaker`] across a reload keeps the breaker it
//! holds; look the breaker up by name (a lock-free read) to follow
//! reloads.
//!
//! ```
//! use fusebox_core::State;
//! use fusebox_std::config::{FileConfig, Format};
//! use fusebox_std::reload::Change;
//! use fusebox_std::{CallExt, Registry};
//!
//! let v1 = FileConfig::parse(Format::Toml, "v1.toml", r#"
//! [breakers.db]
//! consecutive_failures = 1
//! open_for = "60s"
//! [breakers.cache]
//! consecutive_failures = 3
//! "#, []).unwrap();
//! let registry = Registry::from_config(&v1).unwrap();
//! let _ = registry.get("db").unwrap().call(|| Err::<(), _>("down"));
//!
//! // `db` gets a longer open period, `cache` goes, `search` comes.
//! let v2 = FileConfig::parse(Format::Toml, "v2.toml", r#"
//! [breakers.db]
//! consecutive_failures = 1
//! open_for = "120s"
//! [breakers.search]
//! consecutive_failures = 5
//! "#, []).unwrap();
//! let report = registry.reload(&v2).unwrap();
//! assert!(matches!(report.breakers["db"], Change::Reconfigured(_)));
//! assert_eq!(report.breakers["cache"], Change::Removed);
//! assert_eq!(report.breakers["search"], Change::Added);
//! assert_eq!(registry.names(), ["db", "search"]);
//! ```

#[cfg(feature = "watch")]
mod watch;

#[cfg(feature = "watch")]
pub use watch::{ConfigWatcher, ConfigWatcherBuilder, ReloadOutcome, DEFAULT_DEBOUNCE};

use crate::config::{ConfigFileError, FileConfig};
use crate::registry::Registry;
use crate::std_breaker::StdBreaker;
use fusebox_core::{ConfigError, State};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What a reload did to one breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The same settings: the breaker goes on untouched (state, window,
    /// counts and totals all kept).
    Unchanged,
    /// New settings: a new breaker, with the old one's state restored into
    /// it where it fits.
    Reconfigured(Carried),
    /// A name new to the registry: a fresh, closed breaker.
    Added,
    /// A name the previous file had and this one does not: no longer
    /// looked up; permits in flight finish on it.
    Removed,
}

impl Change {
    /// `unchanged`, `reconfigured`, `added` or `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::Unchanged => "unchanged",
            Change::Reconfigured(_) => "reconfigured",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// A part of a breaker's state, as a reload reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// The automatic state (closed, open, half-open) and the operator mode
    /// (forced open, disabled, metrics-only).
    State,
    /// The backoff level: how many times in a row it has reopened.
    BackoffLevel,
    /// The time left of an open period.
    OpenRemaining,
    /// The consecutive-failure run.
    ConsecutiveFailures,
    /// The window's calls, failures and slow calls.
    WindowCounts,
    /// The observer's totals and duration histogram (Prometheus counters
    /// restart from zero, which rate queries read as a counter reset).
    Totals,
}

impl Part {
    /// A short name: `state`, `backoff_level`, `open_remaining`,
    /// `consecutive_failures`, `window_counts`, `totals`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::State => "state",
            Part::BackoffLevel => "backoff_level",
            Part::OpenRemaining => "open_remaining",
            Part::ConsecutiveFailures => "consecutive_failures",
            Part::WindowCounts => "window_counts",
            Part::Totals => "totals",
        }
    }
}

/// What a reconfigured breaker kept and what started afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried {
    /// The old breaker's state when it was replaced.
    pub from: State,
    /// The new breaker's state right after the restore (an old half-open
    /// breaker comes back open with no time left: its next call probes).
    pub to: State,
    /// Open: the open period left, measured from the reload.
    pub open_for: Option<Duration>,
    /// The time left was longer than the new settings' longest open period
    /// and was cut to it.
    pub clamped: bool,
    /// What crossed into the new breaker.
    pub kept: Vec<Part>,
    /// What the new breaker starts afresh.
    pub reset: Vec<Part>,
}

/// What a reload did, breaker by breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadReport {
    /// The file it came from.
    pub source: String,
    /// Every name the old or the new file has (and every breaker code
    /// added that the new file names), sorted.
    pub breakers: BTreeMap<String, Change>,
}

impl ReloadReport {
    /// How many breakers had `change` (compared by kind).
    pub fn count(&self, change: &str) -> usize {
        self.breakers
            .values()
            .filter(|c| c.as_str() == change)
            .count()
    }
}

impl fmt::Display for ReloadReport {
    /// One line per breaker: `db: reconfigured (open -> open; kept state,
    /// backoff_level, open_remaining; reset window_counts, totals)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reloaded {}", self.source)?;
        for (name, change) in &self.breakers {
            write!(f, "\n  {name}: {}", change.as_str())?;
            if let Change::Reconfigured(c) = change {
                let list = |parts: &[Part]| {
                    parts
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let open = match c.open_for {
                    Some(d) => format!(
                        ", open for {}{}",
                        humantime::format_duration(Duration::from_millis(d.as_millis() as u64)),
                        if c.clamped {
                            " (cut to the new longest)"
                        } else {
                            ""
                        }
                    ),
                    None => String::new(),
                };
                write!(
                    f,
                    " ({} -> {}{open}; kept {}; reset {})",
                    c.from.as_str(),
                    c.to.as_str(),
                    if c.kept.is_empty() {
                        "nothing".to_string()
                    } else {
                        list(&c.kept)
                    },
                    if c.reset.is_empty() {
                        "nothing".to_string()
                    } else {
                        list(&c.reset)
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// Why [`Registry::reload_file`] changed nothing.
#[derive(Debug)]
pub enum ReloadError {
    /// The file is missing, unreadable or invalid.
    File(ConfigFileError),
    /// A breaker of the file could not be built (a window too large for
    /// this platform).
    Build {
        /// The breaker.
        breaker: String,
        /// Why.
        error: ConfigError,
    },
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::File(e) => write!(f, "{e} (nothing reloaded)"),
            ReloadError::Build { breaker, error } => {
                write!(f, "breaker `{breaker}`: {error} (nothing reloaded)")
            }
        }
    }
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReloadError::File(e) => Some(e),
            ReloadError::Build { .. } => None,
        }
    }
}

impl From<ConfigFileError> for ReloadError {
    fn from(e: ConfigFileError) -> Self {
        ReloadError::File(e)
    }
}

/// Moves what it can of `old`'s state into `new` (built from new
/// settings): `old`'s export restored into `new` ([`StdBreaker::restore`]).
fn carry(old: &StdBreaker, new: &StdBreaker) -> Carried {
    let saved = old.export();
    let mut kept = Vec::new();
    let mut reset = vec![Part::WindowCounts, Part::Totals];
    match new.restore(&saved) {
        Ok(r) => {
            kept.push(Part::State);
            kept.push(Part::BackoffLevel);
            if r.open_for.is_some() {
                kept.push(Part::OpenRemaining);
            }
            if r.fingerprint_matched {
                kept.push(Part::ConsecutiveFailures);
            } else {
                reset.push(Part::ConsecutiveFailures);
            }
            Carried {
                from: saved.state,
                to: r.state,
                open_for: r.open_for,
                clamped: r.clamped,
                kept,
                reset,
            }
        }
        // A value exported by this very build is never refused; if it
        // were, the new breaker starts afresh and the report says so.
        Err(e) => {
            tracing::warn!(breaker = new.name(), error = %e, "state not carried into the reloaded breaker");
            reset.extend([
                Part::State,
                Part::BackoffLevel,
                Part::OpenRemaining,
                Part::ConsecutiveFailures,
            ]);
            Carried {
                from: saved.state,
                to: new.snapshot().state,
                open_for: None,
                clamped: false,
                kept,
                reset,
            }
        }
    }
}

impl Registry {
    /// Reloads from a config file at `path` (`.toml`, `.yaml` or `.yml`,
    /// with the process's `FUSEBOX_*` overrides). An invalid file changes
    /// nothing. See [`reload`](Self::reload) and the [module
    /// docs](crate::reload).
    pub fn reload_file(&self, path: impl AsRef<Path>) -> Result<ReloadReport, ReloadError> {
        let file = FileConfig::load(path)?;
        self.reload(&file)
            .map_err(|(breaker, error)| ReloadError::Build { breaker, error })
    }

    /// Puts the breakers of `file` in force, keeping each breaker's state
    /// where it can, and reports what happened to each. Every new breaker
    /// is built before anything changes: an error (the breaker's name and
    /// why) changes nothing. Never blocks a call. See the [module
    /// docs](crate::reload).
    pub fn reload(&self, file: &FileConfig) -> Result<ReloadReport, (String, ConfigError)> {
        // Step 1, outside the writer lock: build every breaker whose
        // settings differ from the one in force (or that is new).
        let current = self.load();
        let mut built: BTreeMap<&str, StdBreaker> = BTreeMap::new();
        for (name, spec) in file.breakers() {
            let same = current
                .breakers
                .get(name.as_str())
                .is_some_and(|b| same_spec(b, spec));
            if !same {
                let b = self.build(name, *spec).map_err(|e| (name.clone(), e))?;
                built.insert(name, b);
            }
        }
        drop(current);
        // Step 2: settle each name against the map in force now (another
        // change may have come in since step 1) and install the new map.
        self.change(|map| {
            let mut report = BTreeMap::new();
            for (name, spec) in file.breakers() {
                let key: Arc<str> = Arc::from(name.as_str());
                let change = match map.breakers.get(name.as_str()) {
                    Some(old) if same_spec(old, spec) => Change::Unchanged,
                    old => {
                        let new = match built.remove(name.as_str()) {
                            Some(b) => b,
                            // Built as unchanged in step 1, changed since.
                            None => self.build(name, *spec).map_err(|e| (name.clone(), e))?,
                        };
                        let change = match old {
                            Some(old) => Change::Reconfigured(carry(old, &new)),
                            None => Change::Added,
                        };
                        map.breakers.insert(Arc::clone(&key), new);
                        change
                    }
                };
                report.insert(name.clone(), change);
            }
            let gone: Vec<Arc<str>> = map
                .from_file
                .iter()
                .filter(|n| file.get(n).is_none())
                .cloned()
                .collect();
            for name in gone {
                if map.breakers.remove(&name).is_some() {
                    report.insert(name.to_string(), Change::Removed);
                }
            }
            map.from_file = file
                .breakers()
                .keys()
                .map(|n| Arc::from(n.as_str()))
                .collect();
            Ok(ReloadReport {
                source: file.source().to_string(),
                breakers: report,
            })
        })
    }
}

/// Whether `b` was built from the same settings as `spec`: the effective
/// settings, written in the file schema, are the same (a file cannot set a
/// custom trip predicate, the one field they leave out).
fn same_spec(b: &StdBreaker, spec: &crate::BreakerSpec) -> bool {
    b.spec().to_string() == spec.to_string()
}
