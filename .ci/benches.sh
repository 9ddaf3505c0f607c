#!/usr/bin/env bash
# fusebox-benches in CI: correctness and smoke runs, no timings.
#   1. the allocation test (0 heap allocations per call, every scenario);
#   2. every criterion bench once (`-- --test`: runs each routine, measures nothing);
#   3. the scaling binary, 1 rep of 0.2 s at 1 and 2 threads;
#   4. the size_of report;
#   5. the footprint firmware (thumbv6m, thumbv7em; opt-level s and z, LTO),
#      so it keeps building as the core changes, and its size table.
# Run from the repository root. One build profile (bench) for every step, so
# dependencies build once. Under ~5 minutes on 2 cores after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-bench}"

echo "== benches: allocation test"
cargo test --profile bench -p fusebox-benches --test alloc

echo "== benches: criterion smoke run"
cargo bench -p fusebox-benches --bench breakers -- --test

echo "== benches: scaling smoke run"
cargo run --profile bench -p fusebox-benches --bin scaling -- --threads 1,2 --secs 0.2 --reps 1

echo "== benches: footprint (size_of)"
cargo run --profile bench -p fusebox-benches --bin sizes

echo "== benches: footprint (firmware .text/.data/.bss)"
benches/footprint/measure.sh
