#!/usr/bin/env bash
# fusebox-std and fusebox-cli: tests (unit, behaviour with real threads,
# tokio tasks and a loopback HTTP server, the built `fusebox` binary,
# doctests), lints, formatting, and rustdoc for every crate. Run from the
# repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
# The workspace target dir: the test step built most of this already.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

cargo fmt -p fusebox-std -p fusebox-cli -- --check
cargo clippy -p fusebox-std -p fusebox-cli --all-targets --all-features -- -D warnings
cargo test -p fusebox-std -p fusebox-cli --all-features
# Rustdoc clean for every crate with all features (what docs.rs builds)...
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps
# ...and for the library as a plain dependency gets it (no default features).
RUSTDOCFLAGS="-D warnings" cargo doc -p fusebox-std --no-deps
cargo clippy -p fusebox-std --no-default-features --all-targets -- -D warnings
cargo test -p fusebox-std --no-default-features --doc

# A library's defaults stay lean: none of the tool's dependencies.
tree=$(cargo tree -p fusebox-std -e normal)
if grep -E '^[^a-z]*(clap|plotters|hyper|axum|indicatif) ' <<<"$tree"; then
    echo "fusebox-std's default features pull in the command-line tool's dependencies"
    exit 1
fi
