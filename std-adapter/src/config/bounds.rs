//! Bounds on a config file's text, checked before any parser sees it: a
//! size limit, and a nesting limit measured by a single linear scan, so that
//! hostile input is refused in milliseconds whatever its shape (the YAML
//! parser takes seconds on 30 000 nested brackets before its own recursion
//! limit answers).
//!
//! The scan over-counts rather than under-counts: it counts indentation
//! levels, compact block indicators (`- - x`), flow brackets and dotted key
//! segments. A fusebox config needs 5 levels at most, so the limit leaves
//! room for any layout a person would write.

use super::error::{ConfigFileError, ErrorKind};
use super::Format;

/// The largest config file read: 1 MiB (a file of a thousand breakers
/// takes about 300 KiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The deepest nesting accepted in a config file, counting every table,
/// array, indentation level and dotted-key segment; the schema needs 5.
pub const MAX_NESTING: usize = 32;

pub(crate) fn check(format: Format, source: &str, text: &str) -> Result<(), ConfigFileError> {
    check_size(source, text.len())?;
    control_characters(source, text)?;
    let deepest = match format {
        Format::Toml => toml_scan(text),
        Format::Yaml => yaml_scan(source, text)?,
    };
    match deepest {
        Ok(()) => Ok(()),
        Err(line) => Err(
            ConfigFileError::new(source, ErrorKind::TooDeep { max: MAX_NESTING }).with_line(line),
        ),
    }
}

/// The 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Neither format allows raw control characters other than tab and line
/// ends (the YAML parser reports them by byte offset only).
fn control_characters(source: &str, text: &str) -> Result<(), ConfigFileError> {
    for (n, line) in text.split('\n').enumerate() {
        let bad = line
            .char_indices()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\r' | '\u{85}'));
        if let Some((col, c)) = bad {
            return Err(ConfigFileError::new(
                source,
                ErrorKind::Syntax(format!(
                    "column {}: control character U+{:04X} is not allowed; \
                     write it as an escape in a quoted string",
                    line[..col].chars().count() + 1,
                    c as u32
                )),
            )
            .with_line(n + 1));
        }
    }
    Ok(())
}

pub(crate) fn check_size(source: &str, bytes: usize) -> Result<(), ConfigFileError> {
    if bytes > MAX_FILE_BYTES {
        return Err(ConfigFileError::new(
            source,
            ErrorKind::TooLarge {
                max: MAX_FILE_BYTES,
            },
        ));
    }
    Ok(())
}

/// TOML: dotted key segments plus open `[`/`{`. Returns the 1-based line
/// where the nesting first passes [`MAX_NESTING`].
fn toml_scan(text: &str) -> Result<(), usize> {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut stack: Vec<u8> = Vec::new();
    let mut key_dots = 0usize;
    let mut in_key = true;
    let mut header = false;
    let mut at_line_start = true;
    let mut i = 0;
    let too_deep = |depth: usize| depth > MAX_NESTING;
    while i < bytes.len() {
        let c = bytes[i];
        if at_line_start && c != b' ' && c != b'\t' {
            at_line_start = false;
            if stack.is_empty() {
                in_key = true;
                key_dots = 0;
                header = c == b'[';
            }
        }
        match c {
            b'\n' => {
                line += 1;
                at_line_start = true;
                header = false;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = bytes[i..].starts_with(if c == b'"' { b"\"\"\"" } else { b"'''" });
                let (start, end): (usize, &[u8]) = if triple {
                    (i + 3, if c == b'"' { b"\"\"\"" } else { b"'''" })
                } else {
                    (i + 1, if c == b'"' { b"\"" } else { b"'" })
                };
                let mut j = start;
                while j < bytes.len() && !bytes[j..].starts_with(end) {
                    if bytes[j] == b'\\' && c == b'"' {
                        j += 1;
                    } else if bytes[j] == b'\n' {
                        if !triple {
                            break;
                        }
                        line += 1;
                    }
                    j += 1;
                }
                i = (j + end.len()).min(bytes.len());
                continue;
            }
            b'.' if in_key || header => {
                key_dots += 1;
                if too_deep(stack.len() + key_dots + 1) {
                    return Err(line);
                }
            }
            b'=' => in_key = false,
            b'[' | b'{' if !header => {
                stack.push(c);
                if too_deep(stack.len() + key_dots) {
                    return Err(line);
                }
                if c == b'{' {
                    in_key = true;
                    key_dots = 0;
                }
            }
            b']' | b'}' if !header => {
                stack.pop();
            }
            b',' if stack.last() == Some(&b'{') => {
                in_key = true;
                key_dots = 0;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// YAML: indentation levels, compact block indicators (`- `, `? `, `: `)
/// and open `[`/`{`. Returns the 1-based line where the nesting first
/// passes [`MAX_NESTING`].
fn yaml_scan(source: &str, text: &str) -> Result<Result<(), usize>, ConfigFileError> {
    let mut indents: Vec<usize> = Vec::new();
    let mut content = false;
    let mut ended = false;
    let mut top_keys: Vec<&str> = Vec::new();
    let mut flow = 0usize;
    // Indentation of the line that opened a block scalar (`|`, `>`).
    let mut block_scalar: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let bytes = raw.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        let blank = raw.trim().is_empty();
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if blank || raw.trim_start().starts_with('#') {
            continue;
        }
        let marker = |m: &str| raw == m || raw.starts_with(&format!("{m} "));
        if marker("---") || marker("...") || (ended && !raw.starts_with('%')) {
            if content && !marker("...") {
                return Err(ConfigFileError::new(
                    source,
                    ErrorKind::Syntax(
                        "a second YAML document; a config file holds one".to_string(),
                    ),
                )
                .with_line(line));
            }
            ended |= marker("...");
            if marker("---") && raw.trim_end() == "---" {
                continue;
            }
        }
        if raw.starts_with('%') && !content {
            continue;
        }
        content = true;
        if flow == 0 && indent == 0 {
            if let Some((key, _)) = raw.split_once(':') {
                let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
                if top_keys.contains(&key) {
                    return Err(ConfigFileError::build(
                        source,
                        None,
                        Some(key),
                        ErrorKind::Syntax(format!("`{key}` appears twice at the top level")),
                    )
                    .with_line(line));
                }
                top_keys.push(key);
            }
        }
        if flow == 0 {
            while indents.last().is_some_and(|top| *top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut compact = 0usize;
        let depth = |compact: usize, flow: usize| indents.len() + compact + flow;
        if depth(0, flow) > MAX_NESTING {
            return Ok(Err(line));
        }
        let mut scalar_may_start = true;
        let mut i = indent;
        while i < bytes.len() {
            let c = bytes[i];
            let next_is_space = bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t');
            let prev_is_space = i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t';
            match c {
                b'#' if prev_is_space => break,
                b'\'' | b'"' if scalar_may_start => {
                    // A quoted scalar; one that runs past the line is
                    // scanned as structure from the next line on (which
                    // can only over-count).
                    let mut j = i + 1;
                    while j < bytes.len() {
                        if c == b'"' && bytes[j] == b'\\' {
                            j += 2;
                            continue;
                        }
                        if bytes[j] == c {
                            if c == b'\'' && bytes.get(j + 1) == Some(&b'\'') {
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        j += 1;
                    }
                    i = j + 1;
                    scalar_may_start = false;
                    continue;
                }
                b'[' | b'{' => {
                    flow += 1;
                    scalar_may_start = true;
                    if depth(compact, flow) > MAX_NESTING {
                        return Ok(Err(line));
                    }
                }
                b']' | b'}' => flow = flow.saturating_sub(1),
                b',' => scalar_may_start = true,
                b'-' | b'?' | b':' if next_is_space => {
                    if flow == 0 {
                        compact += 1;
                        if depth(compact, flow) > MAX_NESTING {
                            return Ok(Err(line));
                        }
                    }
                    scalar_may_start = true;
                }
                b'|' | b'>' if scalar_may_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                b'!' | b'&' | b'*' if scalar_may_start => {
                    // A tag, anchor or alias: a scalar may still follow it.
                    while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
                        i += 1;
                    }
                    continue;
                }
                b' ' | b'\t' => {}
                _ => scalar_may_start = false,
            }
            i += 1;
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_files_pass_and_deep_ones_name_their_line() {
        let toml = "[breakers.db]\nwindow = { kind = \"count\", size = 10 }\nbackoff = { kind = \"exponential\", max = \"5m\" } # [[[[\nx = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n";
        assert_eq!(toml_scan(toml), Ok(()));
        let deep = format!("[a]\n\nx = {}", "[".repeat(40));
        assert_eq!(toml_scan(&deep), Err(3));
        assert_eq!(
            toml_scan(&format!("{} = 1", vec!["k"; 40].join("."))),
            Err(1)
        );
        let yaml = "breakers:\n  db:\n    window: { kind: count, size: 10 }\n    open_for: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\n    x: |\n      [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n    - - - x\n";
        let yaml_scan = |text: &str| yaml_scan("f.yaml", text).unwrap();
        assert_eq!(yaml_scan(yaml), Ok(()));
        assert_eq!(yaml_scan(&format!("a:\n  b: {}", "- ".repeat(40))), Err(2));
        assert_eq!(
            yaml_scan(&format!("a: !t \"]]]]\" {}", "{".repeat(40))),
            Err(1)
        );
        let indented: String = (0..40).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(yaml_scan(&indented), Err(MAX_NESTING));
    }
}
