//! Config files: the schema in TOML and YAML, presets, environment
//! overrides, and one test per kind of bad input (each error names the file,
//! the breaker and the field).

use fusebox_core::{Abandon, Backoff, Ratio};
use fusebox_std::config::{ConfigFileError, ErrorKind, FileConfig, Format, PRESETS};
use fusebox_std::{StdBreaker, WindowSpec};
use std::time::Duration;

const FULL_TOML: &str = r#"
[breakers.sentinel]
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
on_abandon = "failure"

[breakers.ledger]
failure_rate = 0.25
window = { kind = "time", span = "60s", buckets = 60 }
"#;

const FULL_YAML: &str = r#"
breakers:
  sentinel:
    consecutive_failures: 5
    failure_rate: 0.5
    slow_call_rate: 0.5
    slow_call_duration: 5s
    minimum_calls: 10
    window: { kind: count, size: 100 }
    open_for: 30s
    backoff: { kind: exponential, multiplier: 2.0, max: 5m, jitter: 0.1 }
    half_open_permits: 3
    success_threshold: 2
    max_half_open_wait: 30s
    on_abandon: failure
  ledger:
    failure_rate: 0.25
    window:
      kind: time
      span: 60s
      buckets: 60
"#;

fn toml(text: &str) -> Result<FileConfig, ConfigFileError> {
    FileConfig::parse(Format::Toml, "fusebox.toml", text, [])
}

fn toml_err(text: &str) -> ConfigFileError {
    toml(text).unwrap_err()
}

fn assert_names(e: &ConfigFileError, breaker: &str, field: &str) {
    assert_eq!(e.origin(), "fusebox.toml", "{e}");
    assert_eq!(e.breaker(), Some(breaker), "{e}");
    assert_eq!(e.field(), Some(field), "{e}");
    let shown = e.to_string();
    let line = e.line().expect("an error in the file names its line");
    assert!(
        shown.starts_with(&format!(
            "fusebox.toml: line {line}: breaker `{breaker}`: field `{field}`: "
        )),
        "{shown}"
    );
}

#[test]
fn every_field_of_the_schema_reaches_the_core_config() {
    let file = toml(FULL_TOML).unwrap();
    let s = file.get("sentinel").unwrap();
    let c = &s.config;
    assert_eq!(c.consecutive_failures(), Some(5));
    assert_eq!(c.failure_rate(), Some(Ratio::percent(50)));
    assert_eq!(c.slow_call_rate(), Some(Ratio::percent(50)));
    assert_eq!(c.slow_call_duration(), Some(Duration::from_secs(5)));
    assert_eq!(c.minimum_calls(), 10);
    assert_eq!(s.window, WindowSpec::Count { size: 100 });
    assert_eq!(c.open_for(), Duration::from_secs(30));
    assert_eq!(
        c.backoff(),
        Backoff::Exponential {
            base: None,
            multiplier: Ratio::from_basis_points(20_000),
            max: Duration::from_secs(300)
        }
    );
    assert_eq!(c.jitter(), Ratio::percent(10));
    assert_eq!((c.half_open_permits(), c.success_threshold()), (3, 2));
    assert_eq!(c.max_half_open_wait(), Some(Duration::from_secs(30)));
    assert_eq!(c.on_abandon(), Abandon::Failure);
    let l = file.get("ledger").unwrap();
    assert_eq!(l.window, WindowSpec::Time { buckets: 60 });
    assert_eq!(l.config.window_span(), Some(Duration::from_secs(60)));
    assert_eq!(l.config.consecutive_failures(), None, "absent rule is off");
}

#[test]
fn yaml_and_toml_share_one_schema() {
    let t = toml(FULL_TOML).unwrap();
    let y = FileConfig::parse(Format::Yaml, "fusebox.yaml", FULL_YAML, []).unwrap();
    assert_eq!(t.breakers().len(), y.breakers().len());
    for (name, spec) in t.breakers() {
        assert_eq!(
            format!("{spec:?}"),
            format!("{:?}", y.get(name).unwrap()),
            "{name}"
        );
    }
}

#[test]
fn without_a_preset_only_the_rules_set_are_on() {
    let f = toml("[breakers.db]\nconsecutive_failures = 3").unwrap();
    let db = f.get("db").unwrap();
    assert_eq!(db.window, WindowSpec::None);
    assert_eq!(db.config.failure_rate(), None);
    assert_eq!(
        db.config.open_for(),
        Duration::from_secs(30),
        "documented default"
    );
}

#[test]
fn a_preset_fills_every_field_the_file_does_not_set() {
    let f = toml("[breakers.api]\npreset = \"http_api\"\nopen_for = \"2s\"\nwindow = { kind = \"count\", size = 50 }").unwrap();
    let api = f.get("api").unwrap();
    assert_eq!(api.config.open_for(), Duration::from_secs(2));
    assert_eq!(api.window, WindowSpec::Count { size: 50 });
    assert_eq!(
        api.config.slow_call_duration(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(api.config.consecutive_failures(), Some(5));
}

#[test]
fn every_preset_builds_a_breaker() {
    for p in PRESETS {
        let f = toml(&format!("[breakers.x]\npreset = \"{p}\"")).unwrap();
        let spec = *f.get("x").unwrap();
        StdBreaker::new(*p, spec).unwrap_or_else(|e| panic!("{p}: {e}"));
    }
}

#[test]
fn environment_overrides_a_field_and_a_nested_field() {
    let env = [
        ("FUSEBOX_SENTINEL_OPEN_FOR".to_string(), "60s".to_string()),
        (
            "FUSEBOX_SENTINEL_WINDOW_SIZE".to_string(),
            "200".to_string(),
        ),
        (
            "FUSEBOX_SENTINEL_FAILURE_RATE".to_string(),
            "0.75".to_string(),
        ),
        ("FUSEBOX_UNRELATED_THING".to_string(), "x".to_string()),
        ("PATH".to_string(), "/bin".to_string()),
    ];
    let f = FileConfig::parse(Format::Toml, "fusebox.toml", FULL_TOML, env).unwrap();
    let s = f.get("sentinel").unwrap();
    assert_eq!(s.config.open_for(), Duration::from_secs(60));
    assert_eq!(s.window, WindowSpec::Count { size: 200 });
    assert_eq!(s.config.failure_rate(), Some(Ratio::percent(75)));
}

#[test]
fn environment_picks_the_longest_breaker_name() {
    let text =
        "[breakers.user]\nconsecutive_failures = 1\n[breakers.user_db]\nconsecutive_failures = 1";
    let env = [("FUSEBOX_USER_DB_OPEN_FOR".to_string(), "9s".to_string())];
    let f = FileConfig::parse(Format::Toml, "f.toml", text, env).unwrap();
    assert_eq!(
        f.get("user_db").unwrap().config.open_for(),
        Duration::from_secs(9)
    );
    assert_eq!(
        f.get("user").unwrap().config.open_for(),
        Duration::from_secs(30)
    );
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let env = [("FUSEBOX_SENTINEL_OPEN_FOR".to_string(), "soon".to_string())];
    let e = FileConfig::parse(Format::Toml, "fusebox.toml", FULL_TOML, env).unwrap_err();
    assert_eq!(e.origin(), "environment variable FUSEBOX_SENTINEL_OPEN_FOR");
    assert_eq!(e.breaker(), Some("sentinel"));
    assert_eq!(e.field(), Some("open_for"));
    assert!(matches!(e.kind(), ErrorKind::BadDuration { .. }), "{e}");
}

#[test]
fn an_environment_variable_for_no_field_is_an_error() {
    let env = [("FUSEBOX_SENTINEL_OPEN_FIR".to_string(), "5s".to_string())];
    let e = FileConfig::parse(Format::Toml, "fusebox.toml", FULL_TOML, env).unwrap_err();
    assert_eq!(e.origin(), "environment variable FUSEBOX_SENTINEL_OPEN_FIR");
    assert!(e.to_string().contains("OPEN_FOR"), "{e}");
}

#[test]
fn unknown_field_is_named_with_the_allowed_ones() {
    let e = toml_err("[breakers.db]\nconsecutive_failure = 3");
    assert_names(&e, "db", "consecutive_failure");
    assert!(matches!(e.kind(), ErrorKind::UnknownField { .. }));
    assert!(e.to_string().contains("consecutive_failures"), "{e}");
}

#[test]
fn unknown_nested_field_is_named_with_its_table() {
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", sise = 10 }");
    assert_names(&e, "db", "window.sise");
    let e =
        toml_err("[breakers.db]\nbackoff = { kind = \"exponential\", max = \"1m\", factor = 3 }");
    assert_names(&e, "db", "backoff.factor");
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let e = toml_err("[breaker.db]\nconsecutive_failures = 3");
    assert_eq!(e.field(), Some("breaker"));
    assert!(matches!(e.kind(), ErrorKind::UnknownField { .. }));
}

#[test]
fn wrong_type_says_what_was_expected_and_found() {
    let e = toml_err("[breakers.db]\nminimum_calls = \"ten\"");
    assert_names(&e, "db", "minimum_calls");
    assert!(
        e.to_string()
            .contains("expected an integer, found string \"ten\""),
        "{e}"
    );
    let e = toml_err("[breakers.db]\nopen_for = 30");
    assert_names(&e, "db", "open_for");
    assert!(matches!(e.kind(), ErrorKind::WrongType { .. }));
}

#[test]
fn out_of_range_value_says_the_allowed_range() {
    let e = toml_err("[breakers.db]\nfailure_rate = 1.5\nwindow = { kind = \"count\", size = 10 }");
    assert_names(&e, "db", "failure_rate");
    assert!(e.to_string().contains("0 < x <= 1"), "{e}");
    let e = toml_err("[breakers.db]\nconsecutive_failures = 0");
    assert_names(&e, "db", "consecutive_failures");
    // The core's own limit, mapped back to the file's field.
    let e = toml_err("[breakers.db]\nconsecutive_failures = 100000000");
    assert_names(&e, "db", "consecutive_failures");
    assert!(matches!(e.kind(), ErrorKind::OutOfRange { .. }), "{e}");
    let e = toml_err("[breakers.db]\nbackoff = { kind = \"constant\", jitter = 0.95 }");
    assert_names(&e, "db", "backoff.jitter");
}

#[test]
fn any_window_size_within_the_core_limits_is_accepted_and_others_named() {
    let f = toml("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 37 }")
        .unwrap();
    assert_eq!(f.get("db").unwrap().window, WindowSpec::Count { size: 37 });
    let e =
        toml_err("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 40000 }");
    assert_names(&e, "db", "window.size");
    assert!(e.to_string().contains("1..=32767"), "{e}");
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"time\", span = \"1m\", buckets = 0 }");
    assert_names(&e, "db", "window.buckets");
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"time\", span = \"5ns\", buckets = 10 }");
    assert_names(&e, "db", "window.span");
}

#[test]
fn bad_duration_is_named_with_an_example() {
    let e = toml_err("[breakers.db]\nopen_for = \"30 parsecs\"");
    assert_names(&e, "db", "open_for");
    assert!(matches!(e.kind(), ErrorKind::BadDuration { .. }));
    assert!(e.to_string().contains("\"250ms\""), "{e}");
    let e = toml_err("[breakers.db]\nopen_for = \"0s\"");
    assert_names(&e, "db", "open_for");
    assert!(matches!(e.kind(), ErrorKind::OutOfRange { .. }), "{e}");
}

#[test]
fn inconsistent_pair_names_both_fields() {
    let e = toml_err("[breakers.db]\nhalf_open_permits = 3\nsuccess_threshold = 5");
    assert_names(&e, "db", "success_threshold");
    assert!(e.to_string().contains("half_open_permits (3)"), "{e}");
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5\nminimum_calls = 50\nwindow = { kind = \"count\", size = 20 }");
    assert_names(&e, "db", "minimum_calls");
    assert!(e.to_string().contains("window capacity (20)"), "{e}");
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5\nwindow = { kind = \"count\", size = 10, span = \"1m\" }");
    assert_names(&e, "db", "window.span");
    let e = toml_err(
        "[breakers.db]\nbackoff = { kind = \"exponential\", base = \"1m\", max = \"10s\" }",
    );
    assert_names(&e, "db", "backoff.max");
}

#[test]
fn missing_field_names_what_needs_it() {
    let e = toml_err("[breakers.db]\nfailure_rate = 0.5");
    assert_names(&e, "db", "window");
    assert!(e.to_string().contains("required by failure_rate"), "{e}");
    let e =
        toml_err("[breakers.db]\nslow_call_rate = 0.5\nwindow = { kind = \"count\", size = 10 }");
    assert_names(&e, "db", "slow_call_duration");
    let e = toml_err("[breakers.db]\nbackoff = { kind = \"linear\", max = \"1m\" }");
    assert_names(&e, "db", "backoff.step");
}

#[test]
fn unknown_preset_or_kind_lists_the_names() {
    let e = toml_err("[breakers.db]\npreset = \"fast\"");
    assert_names(&e, "db", "preset");
    assert!(e.to_string().contains("high_volume"), "{e}");
    let e = toml_err("[breakers.db]\nwindow = { kind = \"sliding\" }");
    assert_names(&e, "db", "window.kind");
    let e = toml_err("[breakers.db]\non_abandon = \"retry\"");
    assert_names(&e, "db", "on_abandon");
}

#[test]
fn syntax_errors_name_the_file() {
    let e = toml_err("[breakers.db\nopen_for = 1");
    assert!(matches!(e.kind(), ErrorKind::Syntax(_)));
    assert!(
        e.to_string()
            .starts_with("fusebox.toml: line 1: syntax error"),
        "{e}"
    );
    let e = FileConfig::parse(Format::Yaml, "f.yaml", "breakers: [1, 2", []).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Syntax(_)), "{e}");
}

#[test]
fn yaml_errors_name_the_breaker_and_field_too() {
    let e = FileConfig::parse(
        Format::Yaml,
        "f.yaml",
        "breakers:\n  db:\n    open_for: 5 minutes please\n",
        [],
    )
    .unwrap_err();
    assert_eq!((e.breaker(), e.field()), (Some("db"), Some("open_for")));
}

#[test]
fn files_load_by_extension_and_missing_files_are_io_errors() {
    let dir = std::env::temp_dir().join(format!("fusebox-std-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("breakers.toml");
    let y = dir.join("breakers.yml");
    std::fs::write(&t, FULL_TOML).unwrap();
    std::fs::write(&y, FULL_YAML).unwrap();
    assert_eq!(
        FileConfig::load_with_env(&t, []).unwrap().breakers().len(),
        2
    );
    assert_eq!(
        FileConfig::load_with_env(&y, []).unwrap().breakers().len(),
        2
    );
    let e = FileConfig::load_with_env(dir.join("nope.toml"), []).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io(_)));
    assert!(std::error::Error::source(&e).is_some());
    let e = FileConfig::load_with_env(dir.join("breakers.ini"), []).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UnknownFormat));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_effective_config_parses_back_to_the_same_specs() {
    let mut text = String::from(FULL_TOML);
    for p in PRESETS {
        text.push_str(&format!("[breakers.\"preset {p}\"]\npreset = \"{p}\"\n"));
    }
    text.push_str("[breakers.linear]\nbackoff = { kind = \"linear\", step = \"2s\", base = \"1s\", max = \"1m\" }\n");
    let file = toml(&text).unwrap();
    let effective = file.effective_toml();
    let again = toml(&effective).unwrap_or_else(|e| panic!("{e}\n{effective}"));
    assert_eq!(file.breakers().len(), again.breakers().len());
    for (name, spec) in file.breakers() {
        assert_eq!(
            format!("{spec:?}"),
            format!("{:?}", again.get(name).unwrap()),
            "{name}\n{effective}"
        );
    }
}
