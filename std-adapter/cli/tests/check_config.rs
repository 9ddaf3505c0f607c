//! `fusebox check-config`: effective settings, and errors that name the
//! file, the breaker and the field.

mod cli_common;
use cli_common::{file, fusebox, sample};
use predicates::prelude::*;

#[test]
fn valid_file_prints_each_breakers_effective_settings() {
    let path = file(
        "valid",
        "two.toml",
        "[breakers.db]\npreset = \"database\"\n\n[breakers.api]\nconsecutive_failures = 7\nopen_for = \"2s\"\n",
    );
    let out = fusebox().arg("check-config").arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // The database preset fills in every field (its consecutive-failure count is 3).
    assert!(
        text.contains("[breakers.db]\nconsecutive_failures = 3\n"),
        "{text}"
    );
    assert!(
        text.contains("[breakers.api]\nconsecutive_failures = 7\n"),
        "{text}"
    );
    assert!(text.contains("open_for = \"2s\""), "{text}");
    assert!(text.contains("2 breaker(s)"), "{text}");
}

#[test]
fn sample_configs_are_valid() {
    for name in ["outage", "flapping", "slow", "rate_limited"] {
        fusebox()
            .arg("check-config")
            .arg(sample(&format!("{name}.toml")))
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("[breakers.{name}]")));
    }
}

#[test]
fn unknown_field_exits_1_naming_file_breaker_and_field() {
    let path = file(
        "unknown-field",
        "bad.toml",
        "[breakers.payments]\nconsecutive_failures = 3\ncolour = \"red\"\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("bad.toml"))
        .stderr(predicate::str::contains("breaker `payments`"))
        .stderr(predicate::str::contains("field `colour`"))
        .stderr(predicate::str::contains("unknown field"));
}

#[test]
fn bad_duration_exits_1_naming_the_field() {
    let path = file(
        "bad-duration",
        "bad.yaml",
        "breakers:\n  search:\n    consecutive_failures: 3\n    open_for: \"ten seconds\"\n",
    );
    fusebox()
        .arg("check-config")
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("bad.yaml"))
        .stderr(predicate::str::contains("breaker `search`"))
        .stderr(predicate::str::contains("field `open_for`"))
        .stderr(predicate::str::contains("is not a duration"));
}

#[test]
fn env_override_shows_in_the_effective_settings() {
    let path = sample("outage.toml");
    fusebox()
        .arg("check-config")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("open_for = \"1s\""));
    fusebox()
        .arg("check-config")
        .arg(&path)
        .env("FUSEBOX_OUTAGE_OPEN_FOR", "45s")
        .assert()
        .success()
        .stdout(predicate::str::contains("open_for = \"45s\""))
        .stdout(predicate::str::contains("open_for = \"1s\"").not());
}

#[test]
fn bad_env_override_exits_1_naming_the_variable() {
    fusebox()
        .arg("check-config")
        .arg(sample("outage.toml"))
        .env("FUSEBOX_OUTAGE_OPEN_FOR", "soon")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("FUSEBOX_OUTAGE_OPEN_FOR"));
}

#[test]
fn missing_file_exits_1() {
    fusebox()
        .arg("check-config")
        .arg(sample("no-such-file.toml"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such-file.toml"));
}
