//! Property test over mutated config files, TOML and YAML, from the samples
//! and from a generator: parsing never panics, answers quickly, and every
//! error says where (the line in the file, or the environment variable);
//! every file that parses prints an effective config that parses
//! back to itself. Modest case counts, so that it runs in seconds in a
//! debug build.

use fusebox_std::config::{ConfigFileError, ErrorKind, FileConfig, Format};
use proptest::prelude::*;
use std::time::{Duration, Instant};

const SEEDS_TOML: &[&str] = &[
    include_str!("../cli/examples/traces/outage.toml"),
    include_str!("../cli/examples/traces/flapping.toml"),
    include_str!("../cli/examples/traces/slow.toml"),
    include_str!("../cli/examples/traces/rate_limited.toml"),
    r#"
[breakers.sentinel]
preset = "default"
consecutive_failures = 5
failure_rate = 0.5
slow_call_rate = 0.5
slow_call_duration = "5s"
minimum_calls = 10
window = { kind = "count", size = 100 }
open_for = "30s"
backoff = { kind = "exponential", multiplier = 2.0, max = "5m", jitter = 0.1 }
half_open_permits = 3
success_threshold = 2
max_half_open_wait = "30s"

[breakers."ledger db"]
failure_rate = 0.25
window = { kind = "time", span = "60s", buckets = 60 }
backoff = { kind = "linear", step = "1s", max = "1m" }
"#,
];

const SEEDS_YAML: &[&str] = &[
    r#"breakers:
  sentinel:
    preset: http_api
    consecutive_failures: 5
    failure_rate: 0.5
    slow_call_duration: 5s
    window: { kind: count, size: 100 }
    backoff: { kind: exponential, multiplier: 2.0, max: 5m, jitter: 0.1 }
  ledger:
    failure_rate: 0.25
    window:
      kind: time
      span: 60s
      buckets: 60
    on_abandon: failure
"#,
    "breakers:\n  db: { preset: database, open_for: 2s }\n  \"we ird\": { consecutive_failures: 1 }\n",
];

/// Fragments that a mutation inserts: structure, numbers at and past the
/// limits, odd characters, field names.
const FRAGMENTS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "=",
    "\"",
    "'",
    "\n",
    " ",
    "-",
    "- ",
    "#",
    ".",
    "\t",
    "\u{7}",
    "\u{202e}",
    "é",
    "~",
    "&a",
    "*a",
    "!!str ",
    "---\n",
    "...\n",
    "|\n",
    "4294967295",
    "18446744073709551616",
    "-1",
    "0",
    "1e-300",
    "1e300",
    "nan",
    "inf",
    "32768",
    "4194305",
    "\"1000y\"",
    "\"0s\"",
    "\"1ns\"",
    "size",
    "buckets",
    "span",
    "window",
    "kind",
    "count",
    "time",
    "breakers",
    "preset",
    "backoff",
    "jitter",
    "max",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(at, f)| Edit::Insert(at, f)),
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..200).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

/// The char boundary at or before `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match *e {
            Edit::Insert(at, f) => {
                let i = boundary(&text, at);
                text.insert_str(i, f);
            }
            Edit::Delete(at, n) => {
                let i = boundary(&text, at);
                let j = boundary(&text, i + n.min(text.len() - i));
                text.replace_range(i..j.max(i), "");
            }
            Edit::Duplicate(at, n) => {
                let i = boundary(&text, at);
                let j = boundary(&text, i + n.min(text.len() - i));
                let piece = text[i..j.max(i)].to_string();
                text.insert_str(i, &piece);
            }
        }
    }
    text
}

/// A breaker name: plain, or any string.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9_-]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        1 => prop::sample::select(vec!["", "DB", "db", "d-b", "d_b", "a.b", "\u{202e}x"]).prop_map(String::from),
    ]
}

/// A field and a value written in both formats' common syntax (TOML and
/// YAML flow syntax agree on these).
fn field() -> impl Strategy<Value = String> {
    let int = prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("4294967295".to_string()),
        Just("32767".to_string()),
        Just("32768".to_string()),
        (1u32..200).prop_map(|n| n.to_string()),
    ];
    let rate = prop_oneof![
        Just("0.5".to_string()),
        Just("1e-300".to_string()),
        Just("1.5".to_string()),
        Just("0".to_string()),
        (1u32..=10_000).prop_map(|n| format!("{}", n as f64 / 10_000.0)),
    ];
    let dur = prop_oneof![
        Just("\"30s\"".to_string()),
        Just("\"1ns\"".to_string()),
        Just("\"0s\"".to_string()),
        Just("\"1000y\"".to_string()),
        Just("\"soon\"".to_string()),
        (1u32..100_000).prop_map(|n| format!("\"{n}ms\"")),
    ];
    prop_oneof![
        int.clone()
            .prop_map(|v| format!("consecutive_failures = {v}")),
        rate.clone().prop_map(|v| format!("failure_rate = {v}")),
        rate.clone().prop_map(|v| format!("slow_call_rate = {v}")),
        dur.clone()
            .prop_map(|v| format!("slow_call_duration = {v}")),
        int.clone().prop_map(|v| format!("minimum_calls = {v}")),
        int.clone()
            .prop_map(|v| format!("window = {{ kind = \"count\", size = {v} }}")),
        (dur.clone(), int.clone()).prop_map(|(s, b)| format!(
            "window = {{ kind = \"time\", span = {s}, buckets = {b} }}"
        )),
        dur.clone().prop_map(|v| format!("open_for = {v}")),
        (dur.clone(), rate.clone()).prop_map(|(m, j)| format!(
            "backoff = {{ kind = \"exponential\", multiplier = 2.0, max = {m}, jitter = {j} }}"
        )),
        int.clone().prop_map(|v| format!("half_open_permits = {v}")),
        int.clone().prop_map(|v| format!("success_threshold = {v}")),
        dur.clone()
            .prop_map(|v| format!("max_half_open_wait = {v}")),
        prop::sample::select(fusebox_std::config::PRESETS)
            .prop_map(|p| format!("preset = \"{p}\"")),
        Just("colour = \"red\"".to_string()),
    ]
}

/// A generated file: breakers with a few fields each, in TOML or YAML.
fn generated() -> impl Strategy<Value = (Format, String)> {
    let breakers = prop::collection::vec((name(), prop::collection::vec(field(), 0..5)), 0..4);
    (any::<bool>(), breakers).prop_map(|(yaml, breakers)| {
        let mut out = String::new();
        if yaml {
            out.push_str("breakers:\n");
            for (name, fields) in breakers {
                let key = serde_json::Value::String(name).to_string();
                let body: Vec<String> = fields
                    .iter()
                    .map(|f| f.replacen(" = ", ": ", 1).replace(" = ", ": "))
                    .collect();
                out.push_str(&format!("  {key}: {{ {} }}\n", body.join(", ")));
            }
            (Format::Yaml, out)
        } else {
            for (name, fields) in breakers {
                let key = serde_json::Value::String(name).to_string();
                out.push_str(&format!("[breakers.{key}]\n"));
                for f in fields {
                    out.push_str(&f);
                    out.push('\n');
                }
            }
            (Format::Toml, out)
        }
    })
}

fn seed() -> impl Strategy<Value = (Format, String)> {
    prop_oneof![
        prop::sample::select(SEEDS_TOML).prop_map(|s| (Format::Toml, s.to_string())),
        prop::sample::select(SEEDS_YAML).prop_map(|s| (Format::Yaml, s.to_string())),
        generated(),
    ]
}

/// An error in the file names its line; one from an environment variable
/// names the variable (and its field, or else why it names none).
fn says_where(e: &ConfigFileError) -> bool {
    if e.origin().starts_with("environment variable FUSEBOX_") {
        e.field().is_some() || matches!(e.kind(), ErrorKind::Inconsistent(_))
    } else {
        e.line().is_some()
    }
}

fn check(format: Format, text: &str, env: Vec<(String, String)>) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let parsed = FileConfig::parse(format, "f", text, env);
    prop_assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    match parsed {
        Ok(file) => {
            let shown = file.effective_toml();
            let back = FileConfig::parse(Format::Toml, "effective", &shown, []);
            prop_assert!(
                back.is_ok(),
                "{:?}\n{}",
                back.err().map(|e| e.to_string()),
                shown
            );
            let back = back.unwrap();
            prop_assert_eq!(back.effective_toml(), shown);
        }
        Err(e) => {
            let exempt = matches!(e.kind(), ErrorKind::TooLarge { .. });
            prop_assert!(exempt || says_where(&e), "says not where: {}", e);
        }
    }
    Ok(())
}

fn env_var() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["SENTINEL", "DB", "LEDGER_DB", "OUTAGE", "NOPE"]),
        prop::sample::select(vec![
            "OPEN_FOR",
            "WINDOW_SIZE",
            "WINDOW_BUCKETS",
            "WINDOW_KIND",
            "BACKOFF_MAX",
            "FAILURE_RATE",
            "OPEN_FIR",
        ]),
        prop::sample::select(vec![
            "5s",
            "4294967295",
            "0",
            "1e-300",
            "count",
            "soon",
            "-1",
            "",
        ]),
    )
        .prop_map(|(b, f, v)| (format!("FUSEBOX_{b}_{f}"), v.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic_and_every_error_says_where(
        (format, text) in seed(),
        edits in prop::collection::vec(edit(), 0..6),
        env in prop::collection::vec(env_var(), 0..2),
    ) {
        check(format, &apply(text, &edits), env)?;
    }

    #[test]
    fn generated_files_never_panic_and_every_error_says_where((format, text) in generated()) {
        check(format, &text, Vec::new())?;
    }
}
