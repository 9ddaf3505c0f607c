//! Config files against hostile input (issue 14), through the library:
//! sizes checked before allocation, names that collide in the environment,
//! bounded input, and an effective config that is always TOML.

use fusebox_std::config::{ConfigFileError, FileConfig, Format};
use fusebox_std::{BreakerSpec, Registry, StdBreaker, WindowSpec};
use std::time::{Duration, Instant};

fn parse(format: Format, text: &str) -> Result<FileConfig, ConfigFileError> {
    let source = match format {
        Format::Toml => "f.toml",
        Format::Yaml => "f.yaml",
    };
    FileConfig::parse(format, source, text, [])
}

fn env(k: &str, v: &str) -> [(String, String); 1] {
    [(k.to_string(), v.to_string())]
}

#[test]
fn a_huge_count_window_is_out_of_range_before_it_is_allocated() {
    let e = parse(
        Format::Toml,
        "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 4294967295 }\n",
    )
    .unwrap_err();
    assert_eq!(e.breaker(), Some("db"));
    assert_eq!(e.field(), Some("window.size"));
    assert!(e.to_string().contains("allowed 1..=32767"), "{e}");
}

#[test]
fn a_huge_window_from_the_environment_names_the_variable() {
    let text = "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"time\", span = \"10s\" }\n";
    let e = FileConfig::parse(
        Format::Toml,
        "f.toml",
        text,
        env("FUSEBOX_DB_WINDOW_BUCKETS", "4294967295"),
    )
    .unwrap_err();
    assert_eq!(e.origin(), "environment variable FUSEBOX_DB_WINDOW_BUCKETS");
    assert_eq!(e.field(), Some("window.buckets"));
    assert!(e.to_string().contains("allowed 1..=4194304"), "{e}");
}

#[test]
fn a_breaker_with_a_huge_window_spec_is_refused_without_allocating() {
    let config = fusebox_core::Config::builder().build().unwrap();
    for window in [
        WindowSpec::Count { size: usize::MAX },
        WindowSpec::Time {
            buckets: usize::MAX,
        },
        WindowSpec::Count { size: 0 },
    ] {
        let spec = BreakerSpec { config, window };
        assert!(StdBreaker::new("x", spec).is_err(), "{window:?}");
        assert!(Registry::new().insert("x", spec).is_err(), "{window:?}");
    }
}

#[test]
fn names_that_collide_in_the_environment_are_refused_naming_both() {
    let e = parse(
        Format::Toml,
        "[breakers.d_b]\nconsecutive_failures = 3\n[breakers.d-b]\nconsecutive_failures = 4\n",
    )
    .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("`d-b`") && shown.contains("`d_b`"),
        "{shown}"
    );
    assert!(shown.contains("FUSEBOX_D_B_"), "{shown}");
    let e = parse(Format::Yaml, "breakers:\n  db: {}\n  DB: {}\n").unwrap_err();
    assert!(e.to_string().contains("`DB` and `db`"), "{e}");
    // Names that differ in their environment form are still fine.
    parse(
        Format::Yaml,
        "breakers:\n  db: { consecutive_failures: 3 }\n  db2: { consecutive_failures: 4 }\n",
    )
    .unwrap();
}

fn assert_fast_nesting_error(format: Format, text: &str) {
    let start = Instant::now();
    let e = parse(format, text).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    let shown = e.to_string();
    assert!(shown.contains("nested"), "{shown}");
    assert!(shown.contains("line "), "{shown}");
}

#[test]
fn deep_nesting_is_refused_in_milliseconds_naming_the_line() {
    let deep = 100_000;
    let brackets = format!("{}{}", "[".repeat(deep), "]".repeat(deep));
    let braces = "{a: ".repeat(deep) + &"}".repeat(deep);
    assert_fast_nesting_error(
        Format::Yaml,
        &format!("breakers:\n  db:\n    x: {brackets}\n"),
    );
    assert_fast_nesting_error(
        Format::Yaml,
        &format!("breakers:\n  db:\n    x: {braces}\n"),
    );
    assert_fast_nesting_error(
        Format::Yaml,
        &format!("breakers:\n  db:\n    x: {}1\n", "- ".repeat(deep)),
    );
    assert_fast_nesting_error(Format::Toml, &format!("[breakers.db]\nx = {brackets}\n"));
    assert_fast_nesting_error(
        Format::Toml,
        &format!("[breakers.db]\n{} = 1\n", vec!["a"; deep].join(".")),
    );
    assert_fast_nesting_error(Format::Toml, &format!("[{}]\n", vec!["a"; deep].join(".")));
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let text = format!(
        "[breakers.db]\nconsecutive_failures = 3\n{}",
        "#\n".repeat(1 << 20)
    );
    let e = parse(Format::Toml, &text).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

/// Each file parses, and its effective config parses back to the same
/// effective config (names included).
fn assert_round_trip(format: Format, text: &str) {
    let file = parse(format, text).unwrap();
    let shown = file.effective_toml();
    let back = parse(Format::Toml, &shown).unwrap_or_else(|e| panic!("{e}\n{shown}"));
    assert_eq!(
        file.breakers().keys().collect::<Vec<_>>(),
        back.breakers().keys().collect::<Vec<_>>()
    );
    assert_eq!(back.effective_toml(), shown);
}

#[test]
fn the_effective_config_is_toml_whatever_the_names() {
    for name in [
        "",
        "a b",
        "\u{202e}evil",
        "quote\"d",
        "back\\slash",
        "tab\there",
        "é",
        "a.b",
        "new\nline",
    ] {
        // A JSON string is a YAML double-quoted scalar.
        let key = serde_json::Value::String(name.to_string()).to_string();
        assert_round_trip(
            Format::Yaml,
            &format!("breakers:\n  {key}: {{ consecutive_failures: 3, jitter_seed: 1 }}\n"),
        );
    }
}

#[test]
fn the_effective_config_of_the_samples_parses_back_to_itself() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cli/examples/traces");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if let Some(format) = Format::from_path(&path) {
            assert_round_trip(format, &std::fs::read_to_string(&path).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 4);
    for preset in fusebox_std::config::PRESETS {
        assert_round_trip(
            Format::Toml,
            &format!("[breakers.p]\npreset = \"{preset}\"\n"),
        );
    }
}

/// The error, shown; it must name a line or a field.
fn error_text(format: Format, text: &str) -> String {
    let e = parse(format, text).unwrap_err();
    assert!(
        e.line().is_some() || e.field().is_some(),
        "names neither a line nor a field: {e}"
    );
    e.to_string()
}

#[test]
fn syntax_errors_name_their_line() {
    let cases: &[(Format, &str, &str)] = &[
        (
            Format::Yaml,
            "breakers:\n  db: { consecutive_failures: 3 }\n---\nbreakers: {}\n",
            "line 3",
        ),
        (
            Format::Yaml,
            "breakers:\n  db: { consecutive_failures: 3 }\n  x: a\x07b\n",
            "line 3",
        ),
        (
            Format::Toml,
            "[breakers.db]\nconsecutive_failures = 3\n# a\x01b\n",
            "line 3",
        ),
        (
            Format::Yaml,
            "breakers:\n  db: { consecutive_failures: 3 }\nbreakers:\n  x: {}\n",
            "line 3",
        ),
        (
            Format::Toml,
            "[breakers.db]\nconsecutive_failures = 3\n[breakers.db]\nopen_for = \"1s\"\n",
            "line 3",
        ),
        (
            Format::Yaml,
            "breakers:\n  db:\n    consecutive_failures: [1\n",
            "line 4",
        ),
    ];
    for (format, text, line) in cases {
        let shown = error_text(*format, text);
        assert!(shown.contains(line), "{text:?}: {shown}");
    }
}

#[test]
fn yaml_values_toml_cannot_hold_name_their_field() {
    for (text, field) in [
        ("breakers:\n  db:\n    open_for:\n", "open_for"),
        (
            "breakers:\n  db:\n    window: { kind: count, size: ~ }\n",
            "window.size",
        ),
        (
            "breakers:\n  db:\n    consecutive_failures: 18446744073709551615\n",
            "consecutive_failures",
        ),
    ] {
        let e = parse(Format::Yaml, text).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
    // An empty YAML file, like an empty TOML file, has no breakers.
    assert!(parse(Format::Yaml, "").unwrap().breakers().is_empty());
    assert!(parse(Format::Yaml, "# nothing\n")
        .unwrap()
        .breakers()
        .is_empty());
}

#[test]
fn values_are_reported_in_the_files_units() {
    let rate = error_text(
        Format::Toml,
        "[breakers.db]\nfailure_rate = 1e-300\nwindow = { kind = \"count\", size = 10 }\n",
    );
    assert!(rate.contains("field `failure_rate`: 1e-300"), "{rate}");
    assert!(rate.contains("0.0001"), "{rate}");
    assert!(!rate.contains("10000"), "basis points: {rate}");
    let span = error_text(
        Format::Toml,
        "[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"time\", span = \"1ns\", buckets = 10 }\n",
    );
    assert!(span.contains("field `window.span`: 1ns"), "{span}");
    assert!(span.contains("10ns"), "{span}");
    assert!(!span.contains("18446744073709551615"), "ticks: {span}");
    let long = error_text(Format::Toml, "[breakers.db]\nopen_for = \"1000y\"\n");
    assert!(long.contains("\"1000y\""), "{long}");
    assert!(!long.contains("584"), "clamped: {long}");
}

#[test]
fn the_windows_of_one_file_together_are_bounded_too() {
    // Each within its own limit (256 MiB on four stripes); four of them are
    // more than a file may ask for, and the fourth is named.
    let text: String = (1..=4)
        .map(|i| {
            format!(
                "[breakers.b{i}]\nfailure_rate = 0.5\nwindow = {{ kind = \"time\", span = \"1h\", buckets = 4194304 }}\n"
            )
        })
        .collect();
    let e = parse(Format::Toml, &text).unwrap_err();
    assert_eq!(e.breaker(), Some("b4"), "{e}");
    assert_eq!(e.field(), Some("window"), "{e}");
    assert!(e.to_string().contains("1024 MiB"), "{e}");
    parse(
        Format::Toml,
        &text.replace("buckets = 4194304", "buckets = 65536"),
    )
    .unwrap();
}

#[test]
fn a_yaml_alias_bomb_is_refused_quickly_naming_the_line_of_an_alias() {
    let mut text = String::from("breakers: {}\na0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let row = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{row}]\n"));
    }
    let start = Instant::now();
    let e = parse(Format::Yaml, &text).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(e.line(), Some(3), "{e}");
    assert!(e.to_string().contains("aliases"), "{e}");
}

#[test]
fn an_override_for_a_field_of_no_breaker_is_an_error_not_ignored() {
    let text = "[breakers.payments]\nconsecutive_failures = 3\n";
    let e = FileConfig::parse(
        Format::Toml,
        "f.toml",
        text,
        env("FUSEBOX_PAYMENT_OPEN_FOR", "5s"),
    )
    .unwrap_err();
    assert_eq!(e.origin(), "environment variable FUSEBOX_PAYMENT_OPEN_FOR");
    assert!(e.to_string().contains("PAYMENTS"), "{e}");
    // Variables that name no field are someone else's.
    FileConfig::parse(
        Format::Toml,
        "f.toml",
        text,
        env("FUSEBOX_ADMIN_TOKEN", "x"),
    )
    .unwrap();
}
