//! YAML to the TOML value model both formats share, naming the field of
//! every value TOML cannot hold (a null, a tag, a non-string key, an
//! integer beyond 64 bits).

use super::error::{ConfigFileError, ErrorKind};
use serde_norway::Value as Yaml;
use toml::{Table, Value};

/// Parses one YAML document. An empty document is an empty table, as an
/// empty TOML file is.
pub(crate) fn parse(source: &str, text: &str) -> Result<Value, ConfigFileError> {
    let yaml: Yaml = serde_norway::from_str(text).map_err(|e| {
        let message = e.to_string();
        // The parser answers an alias bomb (`*a` nested into billions of
        // nodes) with no location: point at the first alias.
        let (message, alias) = if message.contains("repetition limit") {
            (
                format!("{message}: aliases (`*name`) expand to too many values"),
                first_alias(text),
            )
        } else {
            (message, None)
        };
        let err = ConfigFileError::new(source, ErrorKind::Syntax(message));
        let line = e.location().map(|at| at.line()).or(alias);
        match line.or_else(|| second_document(text)) {
            Some(line) => err.with_line(line),
            None => err,
        }
    })?;
    match yaml {
        Yaml::Null => Ok(Value::Table(Table::new())),
        // Not a table, whatever it holds: the caller says so.
        Yaml::Sequence(_) => Ok(Value::Array(Vec::new())),
        other => convert(source, &mut Vec::new(), other),
    }
}

/// The line of the first `*alias`.
fn first_alias(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.match_indices('*')
                .any(|(i, _)| i == 0 || l[..i].ends_with([' ', '[', '{', ',', '-', ':']))
        })
        .map(|n| n + 1)
}

/// Where the parser gives no location (it says "more than one document"
/// without saying where the second starts): the first line at which a
/// prefix of the file already holds two documents, by bisection over lines
/// (a few parses of a file the bounds check has kept small and shallow).
fn second_document(text: &str) -> Option<usize> {
    let two = |lines: usize| {
        let end = text
            .match_indices('\n')
            .nth(lines.wrapping_sub(1))
            .map_or(text.len(), |(i, _)| i + 1);
        serde_norway::from_str::<Yaml>(&text[..end])
            .is_err_and(|e| e.to_string().contains("more than one document"))
    };
    let (mut lo, mut hi) = (1, text.lines().count());
    if hi == 0 || !two(hi) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if two(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// An error at `path` (`breakers`, `breakers.NAME`, `breakers.NAME.field...`).
fn at(source: &str, path: &[String], kind: ErrorKind) -> ConfigFileError {
    match path {
        // Only a key of the root mapping has no path; the root starts at
        // the first line (the bounds check has refused stray documents).
        [] => ConfigFileError::new(source, kind).with_line(1),
        [breakers, name] if breakers == "breakers" => {
            ConfigFileError::build(source, Some(name), None, kind)
        }
        [breakers, name, field @ ..] if breakers == "breakers" => {
            ConfigFileError::at(source, name, &field.join("."), kind)
        }
        other => ConfigFileError::build(source, None, Some(&other.join(".")), kind),
    }
}

fn convert(source: &str, path: &mut Vec<String>, v: Yaml) -> Result<Value, ConfigFileError> {
    let wrong = |found: String, path: &[String]| {
        at(
            source,
            path,
            ErrorKind::WrongType {
                expected: "a value",
                found,
            },
        )
    };
    Ok(match v {
        Yaml::Null => return Err(wrong("nothing (null)".into(), path)),
        Yaml::Bool(b) => Value::Boolean(b),
        Yaml::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) if !n.is_u64() => Value::Float(f),
            _ => {
                return Err(at(
                    source,
                    path,
                    ErrorKind::OutOfRange {
                        value: n.to_string(),
                        allowed: format!("integers up to {}", i64::MAX),
                    },
                ))
            }
        },
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push(i.to_string());
                out.push(convert(source, path, item)?);
                path.pop();
            }
            Value::Array(out)
        }
        Yaml::Mapping(map) => {
            let mut out = Table::new();
            for (key, value) in map {
                // A number or boolean key is its text, as a TOML key would be.
                let key = match key {
                    Yaml::Number(n) => Yaml::String(n.to_string()),
                    Yaml::Bool(b) => Yaml::String(b.to_string()),
                    other => other,
                };
                let Yaml::String(key) = key else {
                    return Err(at(
                        source,
                        path,
                        ErrorKind::WrongType {
                            expected: "string keys",
                            found: format!("{} as a key", describe(&key)),
                        },
                    ));
                };
                path.push(key);
                let value = convert(source, path, value)?;
                let key = path.pop().expect("pushed above");
                out.insert(key, value);
            }
            Value::Table(out)
        }
        Yaml::Tagged(t) => return Err(wrong(format!("a value tagged {}", t.tag), path)),
    })
}

fn describe(v: &Yaml) -> String {
    match v {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => format!("boolean {b}"),
        Yaml::Number(n) => format!("number {n}"),
        Yaml::String(s) => format!("string {s:?}"),
        Yaml::Sequence(_) => "a sequence".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        Yaml::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}
