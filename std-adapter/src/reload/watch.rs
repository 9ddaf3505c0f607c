//! [`ConfigWatcher`]: reloads a registry when its config file changes
//! (feature `watch`).

use super::{ReloadError, ReloadReport};
use crate::registry::Registry;
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a file must stay quiet before it is reloaded: 250 ms.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(250);

/// What one reload by the watcher gave.
pub type ReloadOutcome = Result<ReloadReport, ReloadError>;

type OnReload = Box<dyn Fn(&ReloadOutcome) + Send + 'static>;

/// Reloads a [`Registry`] from a config file whenever the file changes
/// ([`Registry::reload_file`]), on a thread of its own.
///
/// - **Debounced**: a burst of changes (an editor's write, truncate and
///   rename; a deployment tool copying a file in pieces) is one reload,
///   made once the file has been quiet for the debounce period.
/// - **Edits by rename** work: the watcher watches the file's directory and
///   picks out the file's name, so an editor that writes a new file and
///   renames it over the old one is seen.
/// - **An invalid file changes nothing**: the breakers in force stay, the
///   error goes to the `on_reload` callback and to `tracing` as a warning,
///   and the next valid save is loaded.
///
/// Dropping the watcher stops it (a reload under way finishes first).
///
/// ```no_run
/// use std::time::Duration;
/// use fusebox_std::config::FileConfig;
/// use fusebox_std::reload::ConfigWatcher;
/// use fusebox_std::Registry;
///
/// let registry = Registry::from_config(&FileConfig::load("fusebox.toml")?)?;
/// let _watcher = ConfigWatcher::builder(registry.clone(), "fusebox.toml")
///     .debounce(Duration::from_millis(500))
///     .on_reload(|outcome| match outcome {
///         Ok(report) => println!("{report}"),
///         Err(e) => eprintln!("config not reloaded: {e}"),
///     })
///     .start()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConfigWatcher {
    watcher: Option<RecommendedWatcher>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    reloads: AtomicU64,
    rejected: AtomicU64,
}

/// A [`ConfigWatcher`] being set up.
pub struct ConfigWatcherBuilder {
    registry: Registry,
    path: PathBuf,
    debounce: Duration,
    on_reload: Option<OnReload>,
}

impl ConfigWatcher {
    /// A watcher of `path` that reloads `registry`; see
    /// [`start`](ConfigWatcherBuilder::start).
    pub fn builder(registry: Registry, path: impl Into<PathBuf>) -> ConfigWatcherBuilder {
        ConfigWatcherBuilder {
            registry,
            path: path.into(),
            debounce: DEFAULT_DEBOUNCE,
            on_reload: None,
        }
    }

    /// Reloads made (each changed the registry).
    pub fn reloads(&self) -> u64 {
        // Counters only; no other memory is published through them.
        self.counts.reloads.load(Ordering::Relaxed)
    }

    /// Changes of the file that were refused (invalid or unreadable
    /// files): the registry stayed as it was.
    pub fn rejected(&self) -> u64 {
        // Counters only.
        self.counts.rejected.load(Ordering::Relaxed)
    }
}

impl ConfigWatcherBuilder {
    /// How long the file must stay quiet before a reload (default
    /// [`DEFAULT_DEBOUNCE`]).
    pub fn debounce(mut self, quiet: Duration) -> Self {
        self.debounce = quiet;
        self
    }

    /// Called on the watcher's thread after every reload or refusal.
    pub fn on_reload(mut self, f: impl Fn(&ReloadOutcome) + Send + 'static) -> Self {
        self.on_reload = Some(Box::new(f));
        self
    }

    /// Starts watching. Fails if the file's directory cannot be watched.
    /// The file itself may be missing for now: it is loaded when it
    /// appears.
    pub fn start(self) -> Result<ConfigWatcher, notify::Error> {
        let name =
            self.path.file_name().map(OsString::from).ok_or_else(|| {
                notify::Error::generic("a config file path must end in a file name")
            })?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
        let mut watcher = notify::recommended_watcher(tx)?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        let counts = Arc::new(Counts::default());
        let thread = {
            let counts = Arc::clone(&counts);
            std::thread::Builder::new()
                .name("fusebox-config-watch".into())
                .spawn(move || {
                    run(
                        rx,
                        &name,
                        &self.path,
                        self.debounce,
                        &self.registry,
                        self.on_reload,
                        &counts,
                    )
                })
                .map_err(notify::Error::io)?
        };
        Ok(ConfigWatcher {
            watcher: Some(watcher),
            thread: Some(thread),
            counts,
        })
    }
}

/// Whether `event` may have changed the file called `name`.
fn touches(event: &Event, name: &OsString) -> bool {
    let reads = matches!(
        event.kind,
        EventKind::Access(AccessKind::Open(_))
            | EventKind::Access(AccessKind::Close(AccessMode::Read))
            | EventKind::Access(AccessKind::Read)
    );
    !reads
        && event
            .paths
            .iter()
            .any(|p| p.file_name() == Some(name.as_os_str()))
}

fn run(
    rx: mpsc::Receiver<notify::Result<Event>>,
    name: &OsString,
    path: &Path,
    debounce: Duration,
    registry: &Registry,
    on_reload: Option<OnReload>,
    counts: &Counts,
) {
    loop {
        // Wait for a change of the file (the channel closes when the
        // watcher is dropped).
        match rx.recv() {
            Ok(Ok(event)) if touches(&event, name) => {}
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => {
                tracing::warn!(file = %path.display(), error = %e, "config watcher: event error");
                continue;
            }
            Err(mpsc::RecvError) => return,
        }
        // Debounce: wait until no event has come for `debounce`.
        loop {
            match rx.recv_timeout(debounce) {
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let outcome = registry.reload_file(path);
        match &outcome {
            Ok(report) => {
                counts.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(file = %path.display(), report = %report, "breakers reloaded");
            }
            Err(e) => {
                counts.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(file = %path.display(), error = %e, "config not reloaded; the breakers in force stay");
            }
        }
        if let Some(f) = &on_reload {
            f(&outcome);
        }
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        // Dropping the notify watcher closes the channel; the thread ends.
        drop(self.watcher.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigWatcher")
            .field("reloads", &self.reloads())
            .field("rejected", &self.rejected())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ConfigWatcherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigWatcherBuilder")
            .field("path", &self.path)
            .field("debounce", &self.debounce)
            .finish_non_exhaustive()
    }
}
