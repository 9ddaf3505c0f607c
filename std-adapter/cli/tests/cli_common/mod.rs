//! Helpers shared by the `fusebox` command-line tests.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::PathBuf;

/// The built `fusebox` binary, with no `FUSEBOX_*` variables inherited.
pub fn fusebox() -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("fusebox");
    for (k, _) in std::env::vars() {
        if k.starts_with("FUSEBOX_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Writes `text` to a fresh file called `name` in a directory of its own
/// under the target's scratch space (`tag` keeps tests apart).
pub fn file(tag: &str, name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A sample under `examples/traces/`.
pub fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/traces")
        .join(name)
}

/// The transition rows of a `--format csv` report: the lines between the
/// header and the first blank line.
pub fn transitions(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("at_ms,from,to,reason"));
    lines
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `name,value` totals of a `--format csv` report.
pub fn totals(stdout: &[u8]) -> Vec<(String, u64)> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    text.split("\n\n")
        .nth(1)
        .expect("a totals block")
        .lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(',').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// The `at_ms,decision,state` rows of a `--format csv --calls` report.
pub fn calls(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let block = text.split("\n\n").nth(2).expect("a calls block");
    let mut lines = block.lines();
    assert_eq!(lines.next(), Some("at_ms,decision,state"));
    lines.map(str::to_string).collect()
}
