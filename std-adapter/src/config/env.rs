//! `FUSEBOX_<NAME>_<FIELD>` environment overrides.

use super::error::{ConfigFileError, ErrorKind};
use super::fields::{BACKOFF_FIELDS, BREAKER_FIELDS, WINDOW_FIELDS};
use std::collections::{BTreeMap, HashMap};
use toml::{Table, Value};

/// Every field an environment variable can set: (`FIELD` suffix, dotted path).
fn env_fields() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in BREAKER_FIELDS {
        if *f != "window" && *f != "backoff" {
            out.push((f.to_ascii_uppercase(), f.to_string()));
        }
    }
    for (table, fields) in [("window", WINDOW_FIELDS), ("backoff", BACKOFF_FIELDS)] {
        for f in fields {
            out.push((
                format!("{}_{}", table, f).to_ascii_uppercase(),
                format!("{table}.{f}"),
            ));
        }
    }
    out
}

/// The `NAME` part of a breaker's variables: upper case, every character
/// other than a letter or digit as `_`.
pub fn env_name(breaker: &str) -> String {
    breaker
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses breaker names that share an environment form (`db`, `DB` and
/// `d-b` are all `FUSEBOX_DB_*`): an override would reach one of them and
/// silently miss the others. Refused whether or not a variable is set, so
/// that a file is valid or not whatever the environment.
pub(crate) fn check_collisions<'a>(
    source: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<(), ConfigFileError> {
    let mut seen: HashMap<String, &String> = HashMap::new();
    for name in names {
        if let Some(first) = seen.insert(env_name(name), name) {
            return Err(ConfigFileError::build(
                source,
                Some(name),
                None,
                ErrorKind::Inconsistent(format!(
                    "breakers `{}` and `{}` have the same environment variables \
                     (FUSEBOX_{}_*), so an override could not tell them apart; rename one",
                    first.escape_debug(),
                    name.escape_debug(),
                    env_name(name)
                )),
            ));
        }
    }
    Ok(())
}

/// A variable's value as a config value: an integer, a number, a boolean, or
/// else a string (`"30s"`, `"exponential"`).
fn parse_value(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        Value::Integer(i)
    } else if let Ok(f) = s.parse::<f64>() {
        Value::Float(f)
    } else if s == "true" || s == "false" {
        Value::Boolean(s == "true")
    } else {
        Value::String(s.to_string())
    }
}

/// Applies the overrides in `vars` to the breakers of a file. Returns, per
/// breaker, which variable set which field (for error messages).
///
/// A variable applies to the breaker with the longest name whose prefix
/// `FUSEBOX_<NAME>_` it starts with and whose rest is a field. A variable
/// with a breaker's prefix but no such field is an error, and so is one that
/// ends in `_<FIELD>` but has no breaker's prefix (a misspelt name); other
/// `FUSEBOX_*` variables (`FUSEBOX_ADMIN_TOKEN`) are left alone. A program
/// that loads several files from one environment passes each file its own
/// variables ([`FileConfig::load_with_env`](super::FileConfig::load_with_env)).
pub fn apply(
    breakers: &mut BTreeMap<String, Table>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<HashMap<String, HashMap<String, String>>, ConfigFileError> {
    let fields = env_fields();
    let prefixes: Vec<(String, String)> = breakers
        .keys()
        .map(|b| (format!("FUSEBOX_{}_", env_name(b)), b.clone()))
        .collect();
    let mut origins: HashMap<String, HashMap<String, String>> = HashMap::new();
    for (var, value) in vars {
        if !var.starts_with("FUSEBOX_") {
            continue;
        }
        let mut best: Option<(&str, &str)> = None;
        let mut claimed_by: Option<&str> = None;
        for (prefix, breaker) in &prefixes {
            let Some(rest) = var.strip_prefix(prefix.as_str()) else {
                continue;
            };
            if claimed_by.is_none_or(|b| b.len() < breaker.len()) {
                claimed_by = Some(breaker);
            }
            if let Some((_, path)) = fields.iter().find(|(suffix, _)| suffix == rest) {
                if best.is_none_or(|(b, _)| b.len() < breaker.len()) {
                    best = Some((breaker, path));
                }
            }
        }
        let Some((breaker, path)) = best else {
            if claimed_by.is_none() {
                // `FUSEBOX_<X>_<FIELD>` with no breaker `X`: a misspelt name
                // would otherwise be ignored without a word.
                if let Some((suffix, _)) = fields
                    .iter()
                    .find(|(suffix, _)| var.ends_with(&format!("_{suffix}")))
                {
                    let names: Vec<String> = breakers
                        .keys()
                        .map(|b| format!("FUSEBOX_{}_", env_name(b)))
                        .collect();
                    return Err(ConfigFileError::new(
                        &format!("environment variable {var}"),
                        ErrorKind::Inconsistent(format!(
                            "sets `{suffix}` of no breaker of the file; its breakers' variables start with: {}",
                            if names.is_empty() {
                                "(none: the file has no breakers)".to_string()
                            } else {
                                names.join(", ")
                            }
                        )),
                    ));
                }
            }
            if let Some(b) = claimed_by {
                let allowed: Vec<&str> = fields.iter().map(|(s, _)| s.as_str()).collect();
                return Err(ConfigFileError::build(
                    &format!("environment variable {var}"),
                    Some(b),
                    None,
                    ErrorKind::Inconsistent(format!(
                        "no such field; the suffixes after FUSEBOX_{}_ are: {}",
                        env_name(b),
                        allowed.join(", ")
                    )),
                ));
            }
            continue;
        };
        let table = breakers
            .get_mut(breaker)
            .expect("prefix of a known breaker");
        let v = parse_value(&value);
        match path.split_once('.') {
            None => {
                table.insert(path.to_string(), v);
            }
            Some((sub, key)) => {
                let entry = table
                    .entry(sub.to_string())
                    .or_insert_with(|| Value::Table(Table::new()));
                match entry {
                    Value::Table(t) => {
                        t.insert(key.to_string(), v);
                    }
                    // The file's own value is wrong; report it as a type error there.
                    _ => continue,
                }
            }
        }
        origins
            .entry(breaker.to_string())
            .or_default()
            .insert(path.to_string(), var.clone());
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_case_with_underscores() {
        assert_eq!(env_name("user-db.primary"), "USER_DB_PRIMARY");
    }

    #[test]
    fn values_parse_as_numbers_booleans_or_strings() {
        assert_eq!(parse_value("5"), Value::Integer(5));
        assert_eq!(parse_value("0.5"), Value::Float(0.5));
        assert_eq!(parse_value("60s"), Value::String("60s".into()));
    }
}
