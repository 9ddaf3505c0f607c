//! [`ConfigFileError`]: what is wrong, and where.

use std::fmt;

/// A bad config file or environment override. `Display` names the file (or
/// the environment variable) and the line, the breaker and the field:
///
/// ```text
/// fusebox.toml: line 7: breaker `payments`: field `open_for`: "30 seconds" is not a duration: ...
/// ```
#[derive(Debug)]
pub struct ConfigFileError(Box<Located>);

#[derive(Debug)]
struct Located {
    origin: String,
    line: Option<usize>,
    breaker: Option<String>,
    field: Option<String>,
    kind: ErrorKind,
}

/// What is wrong with a config.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not valid TOML or YAML.
    Syntax(String),
    /// The file name ends in neither `.toml`, `.yaml` nor `.yml`.
    UnknownFormat,
    /// A field the schema does not have.
    UnknownField {
        /// The fields allowed here.
        allowed: &'static [&'static str],
    },
    /// A value of the wrong type.
    WrongType {
        /// What the field takes.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// A number outside its range.
    OutOfRange {
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A string that is not a duration such as `"250ms"`, `"30s"`, `"5m"`.
    BadDuration {
        /// The value given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A name that is not one of the allowed ones (a preset, a window or
    /// backoff kind, an `on_abandon` value).
    UnknownName {
        /// The name given.
        value: String,
        /// The names allowed.
        allowed: &'static [&'static str],
    },
    /// A field that another one needs.
    Missing {
        /// The field (or rule) that needs it.
        needed_by: String,
    },
    /// Two fields that do not fit together (the message names both).
    Inconsistent(String),
    /// The file is larger than [`MAX_FILE_BYTES`](super::MAX_FILE_BYTES);
    /// refused before it is read whole or parsed.
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The file nests tables, arrays, indentation or dotted keys deeper than
    /// [`MAX_NESTING`](super::MAX_NESTING); refused before it is parsed.
    TooDeep {
        /// The limit.
        max: usize,
    },
}

impl ConfigFileError {
    pub(crate) fn build(
        origin: &str,
        breaker: Option<&str>,
        field: Option<&str>,
        kind: ErrorKind,
    ) -> Self {
        ConfigFileError(Box::new(Located {
            origin: origin.to_string(),
            line: None,
            breaker: breaker.map(str::to_string),
            field: field.map(str::to_string),
            kind,
        }))
    }

    pub(crate) fn new(origin: &str, kind: ErrorKind) -> Self {
        Self::build(origin, None, None, kind)
    }

    pub(crate) fn at(origin: &str, breaker: &str, field: &str, kind: ErrorKind) -> Self {
        Self::build(origin, Some(breaker), Some(field), kind)
    }

    /// A core [`ConfigError`](fusebox_core::ConfigError) raised while
    /// building breaker `breaker` of file `source` on a clock of
    /// `ticks_per_second`, in the file's terms: its field names, durations
    /// rather than clock ticks (for tools such as `fusebox simulate` that
    /// build breakers on clocks of their own).
    pub fn from_core(
        source: &str,
        breaker: &str,
        e: fusebox_core::ConfigError,
        ticks_per_second: u64,
    ) -> Self {
        let env = std::collections::HashMap::new();
        let origin = super::fields::Origin {
            file: source,
            breaker,
            env: &env,
        };
        super::resolve::core_error(&origin, e, ticks_per_second)
    }

    /// The same error, at a line of the file (1-based).
    pub(crate) fn with_line(mut self, line: usize) -> Self {
        self.0.line = Some(line);
        self
    }

    /// The line of the file (1-based), where the error is known to be at one.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// The file, or `environment variable FUSEBOX_...`.
    pub fn origin(&self) -> &str {
        &self.0.origin
    }
    /// The breaker, when the error is inside one.
    pub fn breaker(&self) -> Option<&str> {
        self.0.breaker.as_deref()
    }
    /// The field, dotted for nested tables (`backoff.max`).
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }
    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.origin)?;
        if let Some(n) = self.0.line {
            write!(f, ": line {n}")?;
        }
        if let Some(b) = &self.0.breaker {
            // Escaped: a name may hold control or bidi characters.
            write!(f, ": breaker `{}`", b.escape_debug())?;
        }
        if let Some(x) = &self.0.field {
            write!(f, ": field `{x}`")?;
        }
        f.write_str(": ")?;
        match &self.0.kind {
            ErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            ErrorKind::Syntax(e) => write!(f, "syntax error: {e}"),
            ErrorKind::UnknownFormat => {
                f.write_str("unknown format: the file name must end in .toml, .yaml or .yml")
            }
            ErrorKind::UnknownField { allowed } => {
                write!(f, "unknown field; allowed: {}", allowed.join(", "))
            }
            ErrorKind::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::OutOfRange { value, allowed } => {
                write!(f, "{value} is out of range: allowed {allowed}")
            }
            ErrorKind::BadDuration { value, reason } => write!(
                f,
                "{value:?} is not a duration ({reason}); write e.g. \"250ms\", \"30s\", \"5m\""
            ),
            ErrorKind::UnknownName { value, allowed } => {
                write!(
                    f,
                    "unknown value {value:?}; allowed: {}",
                    allowed.join(", ")
                )
            }
            ErrorKind::Missing { needed_by } => write!(f, "required by {needed_by}"),
            ErrorKind::Inconsistent(msg) => f.write_str(msg),
            ErrorKind::TooLarge { max } => write!(
                f,
                "the file is larger than {max} bytes; a config file of a thousand breakers takes about 300 KiB"
            ),
            ErrorKind::TooDeep { max } => write!(
                f,
                "nested deeper than {max} levels (tables, arrays, indentation, dotted keys); a fusebox config needs 5"
            ),
        }
    }
}

impl std::error::Error for ConfigFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
