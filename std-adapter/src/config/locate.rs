//! The line of a field, for errors found after parsing (a wrong type, a
//! value out of range, an unknown field): the deepest key of the path
//! `breakers.NAME.field...` that the file writes. Only called on the error
//! path, on text that has passed the bounds check.

use super::{ConfigFileError, Format};

/// `e` with the line of its breaker and field, where it names them in the
/// file (not an environment variable) and has no line yet.
pub(crate) fn place(
    e: ConfigFileError,
    format: Format,
    source: &str,
    text: &str,
) -> ConfigFileError {
    if e.line().is_some() || e.origin() != source {
        return e;
    }
    let mut path: Vec<&str> = Vec::new();
    if let Some(b) = e.breaker() {
        path.extend(["breakers", b]);
    }
    if let Some(f) = e.field() {
        path.extend(f.split('.'));
    }
    if path.is_empty() {
        return e;
    }
    // A key with dots of its own splits into segments the file does not
    // write; then the first line that mentions the deepest segment.
    let found = line(format, text, &path).or_else(|| {
        path.iter().rev().find_map(|segment| {
            text.find(segment)
                .map(|at| super::bounds::line_and_column(text, at).0)
        })
    });
    match found {
        Some(n) => e.with_line(n),
        None => e,
    }
}
use toml::de::{DeTable, DeValue};

/// The 1-based line of the deepest key of `path` found in `text`.
pub(crate) fn line(format: Format, text: &str, path: &[&str]) -> Option<usize> {
    let offset_line = |offset: usize| super::bounds::line_and_column(text, offset).0;
    match format {
        Format::Toml => toml_offset(text, path).map(offset_line),
        Format::Yaml => yaml_line(text, path),
    }
}

fn toml_offset(text: &str, path: &[&str]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for segment in path {
        let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *segment)
        else {
            break;
        };
        found = Some(key.span().start);
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found
}

/// Block-style YAML: each line's key path from its indentation; a flow
/// mapping counts as the line of its key.
fn yaml_line(text: &str, path: &[&str]) -> Option<usize> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    for (n, raw) in text.lines().enumerate() {
        let content = raw.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
            continue;
        }
        let indent = raw.len() - content.len();
        let Some(key) = yaml_key(content) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let matched = stack
            .iter()
            .zip(path)
            .take_while(|((_, k), p)| k == *p)
            .count();
        if matched == stack.len() && best.is_none_or(|(depth, _)| matched > depth) {
            best = Some((matched, n + 1));
        }
    }
    best.map(|(_, line)| line)
}

/// The key a line starts with (`key:`, `"key":`, `'key':`), unquoted.
fn yaml_key(content: &str) -> Option<String> {
    if content.starts_with(['"', '\'']) {
        let quote = content.as_bytes()[0];
        let mut i = 1;
        let bytes = content.as_bytes();
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b if b == quote => break,
                _ => i += 1,
            }
        }
        let quoted = content.get(..=i)?;
        content.get(i + 1..)?.trim_start().strip_prefix(':')?;
        return serde_norway::from_str::<String>(quoted).ok();
    }
    let end = content
        .find(": ")
        .or_else(|| content.strip_suffix(':').map(str::len))?;
    Some(content[..end].trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_deepest_key_written() {
        let toml = "[breakers.db]\nopen_for = \"1s\"\nwindow = { kind = \"count\",\n  size = 0 }\n";
        assert_eq!(line(Format::Toml, toml, &["breakers", "db"]), Some(1));
        assert_eq!(
            line(Format::Toml, toml, &["breakers", "db", "backoff"]),
            Some(1)
        );
        assert_eq!(
            line(Format::Toml, toml, &["breakers", "db", "open_for"]),
            Some(2)
        );
        assert_eq!(
            line(Format::Toml, toml, &["breakers", "db", "window", "size"]),
            Some(4)
        );
        let yaml = "breakers:\n  db:\n    open_for: 1s\n    window: { kind: count, size: 0 }\n  \"a b\":\n    x: 1\n";
        assert_eq!(
            line(Format::Yaml, yaml, &["breakers", "db", "open_for"]),
            Some(3)
        );
        assert_eq!(
            line(Format::Yaml, yaml, &["breakers", "db", "window", "size"]),
            Some(4)
        );
        assert_eq!(line(Format::Yaml, yaml, &["breakers", "a b", "x"]), Some(6));
        assert_eq!(line(Format::Yaml, yaml, &["breakers", "zz"]), Some(1));
    }
}
