//! Config files: breakers from TOML or YAML, with environment overrides.
//!
//! One schema for both formats (DESIGN.md §11):
//!
//! ```toml
//! [breakers.sentinel]
//! preset = "default"                  # optional: fills every field not set here
//! consecutive_failures = 5            # rule 1 (off when absent and no preset)
//! failure_rate = 0.5                  # rule 2: 0 < x <= 1, needs a window
//! slow_call_rate = 0.5                # rule 3: needs a window and slow_call_duration
//! slow_call_duration = "5s"
//! minimum_calls = 10                  # default 1
//! window = { kind = "count", size = 100 }   # or { kind = "time", span = "60s", buckets = 60 }
//! open_for = "30s"                    # default 30s
//! backoff = { kind = "exponential", multiplier = 2.0, max = "5m", jitter = 0.1 }
//! half_open_permits = 3               # default 1
//! success_threshold = 2               # default 1, at most half_open_permits
//! max_half_open_wait = "30s"          # default: none
//! max_trip_hint = "10m"               # default 10m
//! on_abandon = "ignore"               # or "failure"; default "ignore"
//! jitter_seed = 7                     # default: a hash of the breaker's name
//! ramp_up = "20s"                     # progressive recovery after a close; default: off
//! ramp_stages = [10, 25, 50, 100]     # percent per stage (1 to 8, increasing); the default
//! # throttle_k = 1.5                  # adaptive throttling, K >= 1.0; needs a time window
//! ```
//!
//! - Durations are strings with a unit: `"250ms"`, `"30s"`, `"5m"`, `"1h 30m"`.
//! - Windows: a count window keeps the last `size` outcomes (1 ..= 32 767);
//!   a time window cuts `span` into `buckets` buckets (default
//!   [`DEFAULT_TIME_BUCKETS`]); its effective span is `buckets` whole buckets.
//! - Backoff: `constant` (only `jitter`), `exponential` (`multiplier`,
//!   default 2.0; `base`, default `open_for`; `max`, required), `linear`
//!   (`step` and `max` required; `base`).
//! - Environment: `FUSEBOX_<NAME>_<FIELD>` overrides a field of a breaker in
//!   the file, `NAME` being the breaker's name in upper case with every other
//!   character than a letter or digit as `_`, and `FIELD` the field's name in
//!   upper case, nested ones joined by `_`: `FUSEBOX_SENTINEL_OPEN_FOR=60s`,
//!   `FUSEBOX_SENTINEL_WINDOW_SIZE=200`, `FUSEBOX_SENTINEL_BACKOFF_MAX=10m`.
//!   A variable that ends in a field but names no breaker of the file is an
//!   error, as is one that names a breaker but no field; two breakers whose
//!   `NAME`s are the same (`db`, `DB`) make the file invalid.
//! - Progressive recovery and adaptive throttling: see `docs/design.md`;
//!   `ramp_stages` may also be written `"10,25,50,100"` (what an
//!   environment variable carries).
//! - Presets: see [`presets`].
//!
//! Every mistake is a [`ConfigFileError`] that names the file and the line
//! (or the environment variable), the breaker and the field, in the file's
//! units. Files larger than [`MAX_FILE_BYTES`] or nested deeper than
//! [`MAX_NESTING`] are refused before they are parsed; breaker names that
//! share an environment form (`db` and `DB`) are refused.
//!
//! ```
//! use fusebox_std::config::{FileConfig, Format};
//! use fusebox_std::WindowSpec;
//!
//! let text = r#"
//! [breakers.payments]
//! preset = "http_api"
//! open_for = "5s"
//! "#;
//! let env = [("FUSEBOX_PAYMENTS_HALF_OPEN_PERMITS".to_string(), "4".to_string())];
//! let file = FileConfig::parse(Format::Toml, "fusebox.toml", text, env).unwrap();
//! let payments = file.get("payments").unwrap();
//! assert_eq!(payments.config.open_for(), std::time::Duration::from_secs(5));
//! assert_eq!(payments.config.half_open_permits(), 4);
//! assert_eq!(payments.window, WindowSpec::Time { buckets: 60 });
//!
//! let bad = FileConfig::parse(Format::Toml, "fusebox.toml", "[breakers.db]\nopen_for = \"soon\"", []);
//! assert!(bad.unwrap_err().to_string().starts_with("fusebox.toml: line 2: breaker `db`: field `open_for`"));
//! ```

mod bounds;
mod effective;
mod env;
mod error;
mod fields;
mod locate;
pub mod presets;
mod resolve;
mod yaml;

pub use bounds::{MAX_FILE_BYTES, MAX_NESTING};
pub use env::env_name;
pub use error::{ConfigFileError, ErrorKind};
pub use fields::{BACKOFF_FIELDS, BREAKER_FIELDS, DEFAULT_TIME_BUCKETS, WINDOW_FIELDS};
pub use presets::PRESETS;
pub use resolve::MAX_FILE_WINDOW_BYTES;

use crate::std_breaker::BreakerSpec;
use fields::Origin;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use toml::{Table, Value};

/// A config file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML.
    Toml,
    /// YAML (the same schema).
    Yaml,
}

impl Format {
    /// The format a file name's extension says, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// The breakers of a config file, each checked and resolved to a
/// [`BreakerSpec`] (presets applied, environment overrides applied).
#[derive(Clone, Debug)]
pub struct FileConfig {
    source: String,
    breakers: BTreeMap<String, BreakerSpec>,
}

impl FileConfig {
    /// Reads `path` (`.toml`, `.yaml` or `.yml`) and applies the process's
    /// `FUSEBOX_*` environment variables.
    pub fn load(path: impl AsRef<Path>) -> Result<FileConfig, ConfigFileError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Reads `path`, with overrides from `env` instead of the process's
    /// environment.
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<FileConfig, ConfigFileError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let format = Format::from_path(path)
            .ok_or_else(|| ConfigFileError::new(&source, ErrorKind::UnknownFormat))?;
        let io = |e| ConfigFileError::new(&source, ErrorKind::Io(e));
        // Read at most one byte past the limit: a huge file (or a device
        // that never ends) is refused without being read whole.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(io)?;
        bounds::check_size(&source, bytes.len())?;
        let text = String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.utf8_error(),
            ))
        })?;
        Self::parse(format, &source, &text, env)
    }

    /// Parses `text`; `source` names it in errors. Text larger than
    /// [`MAX_FILE_BYTES`] or nested deeper than [`MAX_NESTING`] is refused
    /// before it is parsed.
    pub fn parse(
        format: Format,
        source: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<FileConfig, ConfigFileError> {
        bounds::check(format, source, text)?;
        let breakers = Self::read(format, source, text, env)
            .map_err(|e| locate::place(e, format, source, text))?;
        Ok(FileConfig {
            source: source.to_string(),
            breakers,
        })
    }

    fn read(
        format: Format,
        source: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BTreeMap<String, BreakerSpec>, ConfigFileError> {
        let syntax = |e: String| ConfigFileError::new(source, ErrorKind::Syntax(e));
        let root: Value = match format {
            Format::Toml => Value::Table(toml::from_str::<Table>(text).map_err(|e| {
                let message = e.message().trim_end();
                match e.span() {
                    Some(span) => {
                        let (line, column) = bounds::line_and_column(text, span.start);
                        syntax(format!("column {column}: {message}")).with_line(line)
                    }
                    None => syntax(message.to_string()),
                }
            })?),
            Format::Yaml => yaml::parse(source, text)?,
        };
        let mut tables = breaker_tables(source, root).map_err(|e| {
            // Only a root that is not a table names no field: point at where
            // the document starts.
            if e.field().is_none() && e.breaker().is_none() {
                let first = text.lines().position(|l| {
                    let l = l.trim();
                    !l.is_empty() && !l.starts_with('#') && !l.starts_with("---")
                });
                e.with_line(first.map_or(1, |i| i + 1))
            } else {
                e
            }
        })?;
        env::check_collisions(source, tables.keys())?;
        let origins = env::apply(&mut tables, env)?;
        let no_env = HashMap::new();
        let mut breakers = BTreeMap::new();
        let mut window_bytes = 0;
        for (name, table) in &tables {
            let origin = Origin {
                file: source,
                breaker: name,
                env: origins.get(name).unwrap_or(&no_env),
            };
            let fields = origin.breaker(table)?;
            breakers.insert(
                name.clone(),
                resolve::spec(&origin, fields, &mut window_bytes)?,
            );
        }
        Ok(breakers)
    }

    /// Where it came from.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The breakers, by name.
    pub fn breakers(&self) -> &BTreeMap<String, BreakerSpec> {
        &self.breakers
    }
    /// One breaker.
    pub fn get(&self, name: &str) -> Option<&BreakerSpec> {
        self.breakers.get(name)
    }
}

/// The `breakers` table of a file's root, one table per breaker.
fn breaker_tables(source: &str, root: Value) -> Result<BTreeMap<String, Table>, ConfigFileError> {
    let wrong = |field: Option<&str>, breaker: Option<&str>, v: &Value| {
        ConfigFileError::build(
            source,
            breaker,
            field,
            ErrorKind::WrongType {
                expected: "a table",
                found: fields::describe(v),
            },
        )
    };
    let Value::Table(mut root) = root else {
        return Err(wrong(None, None, &root));
    };
    if let Some(k) = root.keys().find(|k| *k != "breakers") {
        return Err(ConfigFileError::build(
            source,
            None,
            Some(k),
            ErrorKind::UnknownField {
                allowed: &["breakers"],
            },
        ));
    }
    let breakers = match root.remove("breakers") {
        None => return Ok(BTreeMap::new()),
        Some(Value::Table(t)) => t,
        Some(other) => return Err(wrong(Some("breakers"), None, &other)),
    };
    let mut out = BTreeMap::new();
    for (name, v) in breakers {
        match v {
            Value::Table(t) => {
                out.insert(name, t);
            }
            other => return Err(wrong(None, Some(&name), &other)),
        }
    }
    Ok(out)
}
