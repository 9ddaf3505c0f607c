//! Breaker state that survives a restart (feature `persist`): a file that
//! holds every breaker's [`Exported`] state, written whole or not at all,
//! and the start-up restore of a [`Registry`] from it.
//!
//! - [`Persistence::start`] saves the registry's state at every transition
//!   (a writer thread, woken by the registry's transition broadcast, saves
//!   within [`SAVE_LATENCY`], coalescing bursts), on [`Persistence::flush`],
//!   and at [`Persistence::shutdown`] or drop.
//! - [`restore`] (or [`Registry::restore_from`]) installs each breaker's
//!   saved state at start-up. A missing, truncated or foreign file, or one
//!   of another format version, is a `tracing` warning and a clean start,
//!   never a panic; the reason is in the [`RestoreSummary`].
//!
//! # The file
//! JSON, written to a temporary file in the same directory, `fsync`ed,
//! renamed over the old one, then the directory is `fsync`ed: a crash at any
//! moment leaves either the previous file or the new one, whole.
//!
//! ```json
//! {
//!   "format": "fusebox-state",
//!   "version": 1,
//!   "saved_at_unix_ms": 1764950000000,
//!   "breakers": {
//!     "db": { "version": 1, "state": "open", "mode": "automatic", "backoff_level": 0,
//!             "open_remaining": { "secs": 21, "nanos": 500000000 },
//!             "consecutive_failures": 0, "window": { "calls": 0, "failures": 0, "slow": 0 },
//!             "fingerprint": 1234567890 }
//!   }
//! }
//! ```
//!
//! # What crosses a restart
//! State and operator mode, backoff level, the open period's remaining time
//! (less the time the process was down, measured on the wall clock between
//! the save and the restore, and never below zero: an open breaker never
//! comes back open longer than recorded), and the consecutive run when the
//! config is unchanged. Window counts do not cross (see
//! `fusebox_core::Exported`). The project's `docs/design.md` ("What crosses a
//! restart") gives the reasons.
//!
//! ```
//! use fusebox_std::{BreakerSpec, Registry, WindowSpec};
//! use fusebox_std::core::{Config, State};
//! use fusebox_std::persist::Persistence;
//!
//! let dir = std::env::temp_dir().join(format!("fusebox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("breakers.json");
//! let spec = || BreakerSpec {
//!     config: Config::builder().consecutive_failures(1).build().unwrap(),
//!     window: WindowSpec::None,
//! };
//!
//! // First run: the dependency fails, the breaker opens, the state is saved.
//! let registry = Registry::new();
//! registry.insert("db", spec()).unwrap();
//! let saver = Persistence::start(&registry, &path).unwrap();
//! let _ = registry.get("db").unwrap().try_acquire().unwrap().failure();
//! saver.shutdown().unwrap();
//!
//! // After a restart: the breaker comes back open, for what was left.
//! let registry = Registry::new();
//! registry.insert("db", spec()).unwrap();
//! let summary = registry.restore_from(&path);
//! assert!(summary.problem.is_none());
//! assert_eq!(registry.get("db").unwrap().state(), State::Open);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::registry::Registry;
use fusebox_core::{Exported, RestoreError, RestoreReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast::error::TryRecvError;

/// The `format` field of a state file.
pub const FORMAT: &str = "fusebox-state";
/// The file format's version this build writes and reads.
pub const FILE_VERSION: u32 = 1;
/// Largest state file read (a registry's worth of breakers is kilobytes).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// The longest a transition waits for the writer thread to save it.
pub const SAVE_LATENCY: Duration = Duration::from_millis(20);

/// The content of a state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FILE_VERSION`] when written by this build.
    pub version: u32,
    /// Wall-clock time of the save, in milliseconds since the Unix epoch
    /// (only used to subtract the time the process was down).
    pub saved_at_unix_ms: u64,
    /// Each breaker's exported state, by name.
    pub breakers: BTreeMap<String, Exported>,
}

impl SavedState {
    /// The state of every breaker of `registry`, now.
    pub fn of(registry: &Registry) -> SavedState {
        SavedState {
            format: FORMAT.to_string(),
            version: FILE_VERSION,
            saved_at_unix_ms: unix_ms(SystemTime::now()),
            breakers: registry
                .breakers()
                .iter()
                .map(|b| (b.name().to_string(), b.export()))
                .collect(),
        }
    }

    /// Reads and checks a state file.
    pub fn load(path: &Path) -> Result<SavedState, LoadError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(LoadError::Missing),
            Err(e) => return Err(LoadError::Io(e.to_string())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| LoadError::Io(e.to_string()))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(LoadError::Invalid(format!(
                "larger than {MAX_FILE_BYTES} bytes"
            )));
        }
        Self::parse(&bytes)
    }

    /// Parses and checks a state file's content.
    pub fn parse(bytes: &[u8]) -> Result<SavedState, LoadError> {
        // The format tag first, so that a foreign JSON file is named as such.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| LoadError::Invalid(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            _ => return Err(LoadError::Foreign),
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == FILE_VERSION as u64 => {}
            v => return Err(LoadError::Version(v)),
        }
        serde_json::from_value(value).map_err(|e| LoadError::Invalid(e.to_string()))
    }

    /// Writes it to `path` whole or not at all (see [`write_atomic`]).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        write_atomic(path, &bytes)
    }
}

/// Why a state file could not be used. Every one means a clean start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// No file (a first start).
    Missing,
    /// It could not be read.
    Io(String),
    /// Not JSON, truncated, or with a field out of place.
    Invalid(String),
    /// JSON, but not a fusebox state file.
    Foreign,
    /// A fusebox state file of another format version.
    Version(Option<u64>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Missing => f.write_str("no state file"),
            LoadError::Io(e) => write!(f, "cannot read the state file: {e}"),
            LoadError::Invalid(e) => write!(f, "invalid or truncated state file: {e}"),
            LoadError::Foreign => {
                write!(f, "not a fusebox state file (no \"format\": \"{FORMAT}\")")
            }
            LoadError::Version(v) => write!(
                f,
                "state file version {} (this build reads {FILE_VERSION})",
                v.map_or("missing".to_string(), |v| v.to_string())
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// What a start-up restore did.
#[derive(Clone, Debug, Default)]
pub struct RestoreSummary {
    /// The file could not be used (then nothing was restored).
    pub problem: Option<LoadError>,
    /// Wall-clock time between the save and this restore, subtracted from
    /// open periods (zero if the wall clock went back).
    pub downtime: Duration,
    /// Breakers restored, with what each restore installed.
    pub restored: BTreeMap<String, RestoreReport>,
    /// Breakers whose saved state was refused (they start clean).
    pub refused: BTreeMap<String, RestoreError>,
    /// Names in the file that the registry does not hold (ignored).
    pub unknown: Vec<String>,
}

/// Restores every breaker of `registry` that `path` holds a state for.
/// Never panics: a missing, unreadable, truncated or foreign file is a
/// warning (`tracing`, target `fusebox`) and leaves every breaker as it is.
/// An open breaker resumes for its remaining time less the downtime (see
/// the module docs).
pub fn restore(registry: &Registry, path: &Path) -> RestoreSummary {
    let saved = match SavedState::load(path) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                target: "fusebox",
                path = %path.display(),
                problem = %e,
                "breaker state not restored; starting clean"
            );
            return RestoreSummary {
                problem: Some(e),
                ..RestoreSummary::default()
            };
        }
    };
    restore_state(registry, &saved, SystemTime::now())
}

/// [`restore`] from a state already read, with `now` as the wall-clock time
/// of the restore.
pub fn restore_state(registry: &Registry, saved: &SavedState, now: SystemTime) -> RestoreSummary {
    let downtime = Duration::from_millis(unix_ms(now).saturating_sub(saved.saved_at_unix_ms));
    let mut summary = RestoreSummary {
        downtime,
        ..RestoreSummary::default()
    };
    for (name, value) in &saved.breakers {
        let Some(b) = registry.get(name) else {
            summary.unknown.push(name.clone());
            continue;
        };
        let value = Exported {
            open_remaining: value
                .open_remaining
                .map(|left| left.saturating_sub(downtime)),
            ..*value
        };
        match b.restore(&value) {
            Ok(report) => {
                tracing::info!(
                    target: "fusebox",
                    breaker = name.as_str(),
                    state = report.state.as_str(),
                    open_for_ms = report.open_for.map(|d| d.as_millis() as u64),
                    fingerprint_matched = report.fingerprint_matched,
                    "breaker state restored"
                );
                summary.restored.insert(name.clone(), report);
            }
            Err(e) => {
                tracing::warn!(
                    target: "fusebox",
                    breaker = name.as_str(),
                    problem = %e,
                    "breaker state not restored; starting clean"
                );
                summary.refused.insert(name.clone(), e);
            }
        }
    }
    if !summary.unknown.is_empty() {
        tracing::info!(
            target: "fusebox",
            names = ?summary.unknown,
            "state file names breakers this registry does not hold"
        );
    }
    summary
}

impl Registry {
    /// Restores every breaker this registry holds from the state file
    /// `path` ([`restore`]). Call it at start-up, after the breakers are in.
    pub fn restore_from(&self, path: impl AsRef<Path>) -> RestoreSummary {
        restore(self, path.as_ref())
    }

    /// Saves this registry's state to `path` at every transition from now
    /// on, and at shutdown ([`Persistence::start`]).
    pub fn persist_to(&self, path: impl AsRef<Path>) -> io::Result<Persistence> {
        Persistence::start(self, path)
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file in the
/// same directory, `fsync`, rename over `path`, `fsync` of the directory
/// (on Unix; elsewhere the rename is the commit point).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Relaxed: only uniqueness matters.
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{}{}.{seq}", temp_prefix(path), std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    File::open(&dir)?.sync_all()?;
    Ok(())
}

/// The name prefix of `path`'s temporary files.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy());
    format!(".{name}.tmp.")
}

/// Removes temporary files of `path` that a killed writer left behind.
fn remove_leftovers(path: &Path) {
    let prefix = temp_prefix(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Saves a registry's state to a file at every transition and at shutdown.
/// Made by [`Persistence::start`] or [`Registry::persist_to`]; dropping it
/// (or [`shutdown`](Self::shutdown)) stops the writer thread and saves one
/// last time.
///
/// Breaker calls never wait on it: transitions reach the writer thread
/// through the registry's broadcast, and a burst of them is one save. A
/// failed save is a `tracing` warning and is retried at the next
/// transition; [`flush`](Self::flush) reports it.
#[derive(Debug)]
pub struct Persistence {
    shared: Arc<Writer>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Writer {
    registry: Registry,
    path: PathBuf,
    /// Serialises saves: each exports under the lock, so a later save never
    /// writes an older state than an earlier one.
    lock: Mutex<()>,
    stop: AtomicBool,
}

impl Writer {
    fn save(&self) -> io::Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        SavedState::of(&self.registry).save(&self.path)
    }
}

impl Persistence {
    /// Saves `registry`'s state to `path` now (removing temporary files a
    /// killed writer left there), then at every transition of its breakers
    /// and at shutdown. Fails if the first save fails (an unwritable
    /// directory, say).
    pub fn start(registry: &Registry, path: impl AsRef<Path>) -> io::Result<Persistence> {
        let path = path.as_ref().to_path_buf();
        remove_leftovers(&path);
        let shared = Arc::new(Writer {
            registry: registry.clone(),
            path,
            lock: Mutex::new(()),
            stop: AtomicBool::new(false),
        });
        let mut events = registry.subscribe();
        shared.save()?;
        let writer = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fusebox-persist".into())
            .spawn(move || loop {
                // Acquire: pairs with the Release in `stop`; nothing else is
                // published through it.
                if writer.stop.load(Ordering::Acquire) {
                    return;
                }
                let mut changed = false;
                loop {
                    match events.try_recv() {
                        Ok(_) | Err(TryRecvError::Lagged(_)) => changed = true,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => return,
                    }
                }
                if changed {
                    if let Err(e) = writer.save() {
                        tracing::warn!(
                            target: "fusebox",
                            path = %writer.path.display(),
                            error = %e,
                            "breaker state not saved"
                        );
                    }
                }
                std::thread::park_timeout(SAVE_LATENCY);
            })?;
        Ok(Persistence {
            shared,
            thread: Some(thread),
        })
    }

    /// Saves now, on the calling thread; returns once the file is on disk.
    pub fn flush(&self) -> io::Result<()> {
        self.shared.save()
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Stops the writer thread and saves the state one last time.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Release: the writer's Acquire load sees it at its next wake-up.
        self.shared.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        let _ = thread.join();
        self.shared.save()
    }
}

impl Drop for Persistence {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(
                target: "fusebox",
                path = %self.shared.path.display(),
                error = %e,
                "breaker state not saved at shutdown"
            );
        }
    }
}
