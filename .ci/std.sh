#!/usr/bin/env bash
# fusebox-std: tests (unit, behaviour with real threads, tokio tasks and a
# loopback HTTP server, doctests), lints and formatting. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-std}"

cargo fmt -p fusebox-std -- --check
cargo clippy -p fusebox-std --all-targets --all-features -- -D warnings
cargo test -p fusebox-std --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -p fusebox-std --all-features --no-deps
# The library must also build (and its doctests pass) without optional
# features, the command-line tool's included (`cli` is a default feature).
cargo clippy -p fusebox-std --no-default-features --all-targets -- -D warnings
cargo test -p fusebox-std --no-default-features --doc
