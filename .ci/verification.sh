#!/usr/bin/env bash
# fusebox-verification in CI: the model-based proptest suite, the loom
# models, and Miri on fusebox-core's unit tests (when a nightly with Miri can
# be installed). Run from the repository root; `.ci/run` calls it.
#
# Budget: about 10 minutes on 2 cores from clean. Knobs:
#   FUSEBOX_MODEL_CASES    proptest sequences per test (3 tests; default 50000)
#   FUSEBOX_NARROW_CASES   the same for the narrow (32-bit word) layout (default 10000)
#   LOOM_MAX_PREEMPTIONS   loom preemption bound (default 3)
#   FUSEBOX_SKIP_MIRI=1    skip Miri
#   FUSEBOX_VERIF_TARGET_ROOT  parent of the target dirs (default: the repo root)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
# Where the four target dirs go (plain, narrow, loom, miri: each needs its own
# build of the dependencies, since RUSTFLAGS or the toolchain differ).
tgt=${FUSEBOX_VERIF_TARGET_ROOT:-$root}
export CARGO_TERM_COLOR=never
: "${LOOM_MAX_PREEMPTIONS:=3}"
export LOOM_MAX_PREEMPTIONS

step() { # step NAME COMMAND...: runs and times one step
    local name=$1 t0 rc
    shift
    echo "::: verification: $name"
    t0=$(date +%s)
    set +e
    "$@"
    rc=$?
    set -e
    echo "::: verification: $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)") in $(($(date +%s) - t0)) s"
    return $rc
}

model_tests() {
    CARGO_TARGET_DIR="$tgt/target-verif" \
        cargo test --release -p fusebox-verification --lib --test model_vs_core \
        --test core_regressions --test core_limits --test open_deadline_regressions
}

narrow_model_tests() {
    # The 32-bit state-word layout, forced on the host (DESIGN.md §13).
    RUSTFLAGS="--cfg fusebox_narrow" FUSEBOX_MODEL_CASES="${FUSEBOX_NARROW_CASES:-10000}" \
        CARGO_TARGET_DIR="$tgt/target-verif-narrow" \
        cargo test --release -p fusebox-verification --test model_vs_core --test core_limits \
        --test open_deadline_regressions
}

loom_models() {
    # A crate-specific cfg: tokio and friends would react to a bare `loom`.
    RUSTFLAGS="--cfg fusebox_loom" CARGO_TARGET_DIR="$tgt/target-verif-loom" \
        cargo test --release -p fusebox-verification \
        --test loom_a_half_open_admission --test loom_b_one_transition_per_epoch \
        --test loom_c_stale_outcomes --test loom_d_window_records \
        --test loom_e_permit_release --test loom_open_deadline_race \
        --test loom_open_deadline_publishers --test loom_open_deadline_preempted \
        --test loom_open_deadline_reanchor --test loom_f_restore \
        --test loom_f_ramp --test loom_g_throttle
    # Models run in parallel: under fusebox_loom the time window's stripe is
    # the loom thread index, not a stack address, so replays are deterministic.
}

miri_core() {
    # Miri takes tiny proptest case counts from `cfg!(miri)` in each test.
    MIRIFLAGS="-Zmiri-disable-isolation" CARGO_TARGET_DIR="$tgt/target-verif-miri" \
        cargo +nightly miri test -p fusebox-core --lib --all-features
}

miri_core_32bit() {
    # 32-bit big-endian without 64-bit atomics: the narrow state word, as on
    # thumbv7em, under Miri's race detector (Miri cannot run thumb targets).
    MIRIFLAGS="-Zmiri-disable-isolation" CARGO_TARGET_DIR="$tgt/target-verif-miri" \
        cargo +nightly miri test -p fusebox-core --lib --all-features --target powerpc-unknown-linux-gnu
}

miri_available() {
    [ "${FUSEBOX_SKIP_MIRI:-0}" = 1 ] && { echo "Miri skipped (FUSEBOX_SKIP_MIRI=1)"; return 1; }
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "Miri skipped: no nightly toolchain on this machine"
        return 1
    fi
    rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1 || true
    if ! cargo +nightly miri --version >/dev/null 2>&1; then
        echo "Miri skipped: 'cargo +nightly miri --version' fails (component not installable)"
        return 1
    fi
}

total0=$(date +%s)
step "model vs core (proptest)" model_tests
step "model vs core, narrow layout (proptest)" narrow_model_tests
step "loom models (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)" loom_models
if miri_available; then
    step "miri: fusebox-core unit tests" miri_core
    step "miri: fusebox-core unit tests, powerpc (32-bit, big-endian)" miri_core_32bit
fi
echo "::: verification: all steps passed in $(($(date +%s) - total0)) s"
