#!/usr/bin/env bash
# fusebox-embedded CI: host tests, no_std cross builds, and the firmware in
# QEMU. Called by .ci/run; runs alone too: `bash .ci/embedded.sh` from the
# repository root. Idempotent setup. Measured: 333 s from cold target dirs on
# 2 busy cores (defmt-print already installed; it adds ~70 s once), ~25 s warm.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR=never DEBIAN_FRONTEND=noninteractive

T0=$SECONDS
section() { echo "::: embedded: $* (at $((SECONDS - T0))s)"; }

# ---------- setup ----------
section setup
targets=(thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imc-unknown-none-elf)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
if ! command -v qemu-system-arm >/dev/null; then
  # --no-install-recommends: ~16 MB instead of 165 packages.
  apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-arm
fi
LLVM_BIN="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"

# ---------- host ----------
section "host tests (embassy-time mock driver)"
cargo test -p fusebox-embedded --all-features
cargo clippy -p fusebox-embedded --no-deps --all-targets --all-features -- -D warnings

# ---------- no_std cross builds of the libraries ----------
section "cross builds"
# Both crates in one invocation per target; fusebox-embedded's features
# forward to the core's, so the core is built with the same ones.
both=(-p fusebox-core -p fusebox-embedded)
cargo build "${both[@]}" --target thumbv7em-none-eabihf --features fusebox-embedded/defmt
cargo build "${both[@]}" --target thumbv7m-none-eabi
cargo build "${both[@]}" --target thumbv6m-none-eabi --features fusebox-embedded/critical-section,fusebox-embedded/defmt
cargo build "${both[@]}" --target riscv32imc-unknown-none-elf --features fusebox-embedded/critical-section
cargo clippy -p fusebox-embedded --no-deps --target thumbv6m-none-eabi --features critical-section,defmt -- -D warnings

section "no lock-based atomics, no alloc/std in the adapter's graph"
# portable-atomic's `fallback` is a spinning lock on ARMv7-M (deadlocks under
# an interrupt); nothing in fusebox-embedded's graph may enable it, nor pull
# `alloc`/`std` into a firmware build.
tree=$(cargo tree -p fusebox-embedded -e normal,features,no-proc-macro --prefix none \
         --target thumbv7em-none-eabihf --features defmt)
if grep -E 'feature "(fallback|alloc|std)"' <<<"$tree"; then
  echo "fusebox-embedded enables a lock-based atomic, alloc or std on thumbv7em"; exit 1
fi

section "no CAS provider must fail"
# The libraries never pick a CAS provider: plain thumbv6m must fail with
# portable-atomic's hint. `out=$(...)`, not `| grep -q`: under pipefail
# cargo's status would win.
for pkg in fusebox-core fusebox-embedded; do
  if out=$(cargo build -p "$pkg" --target thumbv6m-none-eabi 2>&1); then
    echo "$pkg built for thumbv6m without a CAS provider: a library chose one"; exit 1
  fi
  grep -q "dependents require atomic CAS" <<<"$out" \
    || { echo "$out" | tail -20; echo "$pkg: unexpected error for thumbv6m"; exit 1; }
done

# ---------- firmware (own workspace; .cargo/config.toml holds the QEMU runners) ----------
(
  cd embedded-adapter/firmware
  export CARGO_TARGET_DIR="$PWD/target" # the ELF paths below; ignore a caller's target dir
  section "no lock-based atomics in the ARMv7-M firmware graphs"
  for t in thumbv7m-none-eabi thumbv7em-none-eabihf; do
    if cargo tree --workspace -e features --target "$t" | grep 'portable-atomic feature "fallback"'; then
      echo "portable-atomic's spinning fallback is enabled in the $t firmware"; exit 1
    fi
  done

  section "firmware fmt + clippy"
  cargo fmt -p fusebox-qemu --check  # not --all: that would also format the path deps (core)
  cargo fmt -p fusebox-defmt-log --check
  # thumbv6m (the critical-section configuration) and thumbv7em (everything,
  # examples included); thumbv7m compiles the same code as thumbv7em.
  cargo clippy -p fusebox-qemu --no-deps --target thumbv6m-none-eabi --release --bins -- -D warnings
  cargo clippy --workspace --no-deps --target thumbv7em-none-eabihf --release --bins --examples -- -D warnings
  # The shaping modes' firmware (`ramp`, and `minimal`/`minimal_time` with a ramp and throttling).
  cargo clippy -p fusebox-qemu --no-deps --target thumbv6m-none-eabi --release --bins --features ramp,throttle -- -D warnings

  section "QEMU: outage on Cortex-M3 (lm3s6965evb, native CAS)"
  cargo run --release --target thumbv7m-none-eabi --bin outage
  section "QEMU: outage on Cortex-M0 (micro:bit, critical-section)"
  cargo run --release --target thumbv6m-none-eabi --bin outage
  section "QEMU: embassy task example on Cortex-M4F (mps2-an386)"
  cargo run --release --target thumbv7em-none-eabihf --example embassy_task
  for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
    cargo run --release --target "$t" --bin minimal
    cargo run --release --target "$t" --bin minimal_time
    cargo run --release --target "$t" --bin minimal_count
    cargo run --release --target "$t" --bin baseline
  done
  section "QEMU: progressive recovery and adaptive throttling (fusebox-core features ramp, throttle) on Cortex-M3 and Cortex-M0"
  for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
    cargo run --release --target "$t" --features ramp --bin ramp
    cargo run --release --target "$t" --features throttle --bin throttle
  done

  section "QEMU: defmt log on Cortex-M4F, decoded by defmt-print"
  command -v defmt-print >/dev/null || cargo install --locked defmt-print --version 1.2.0 # ~70 s once
  DEFMT_LOG=info cargo build --release --target thumbv7em-none-eabihf -p fusebox-defmt-log
  elf=target/thumbv7em-none-eabihf/release/defmt-log
  out=$(timeout 60 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
          -semihosting-config enable=on,target=native -kernel "$elf" | defmt-print -e "$elf"; echo "rc=${PIPESTATUS[*]}")
  echo "$out"
  grep -q "transition: Transition { from: Closed, to: Open, reason: ConsecutiveFailures" <<<"$out"
  grep -q "registry: Registry \[sensor: Closed\]" <<<"$out"
  grep -q "defmt-log done: ok" <<<"$out" && grep -q "rc=0 0" <<<"$out"

  section "QEMU: a failed check must fail the run"
  if cargo run --release --target thumbv7m-none-eabi --bin outage --features force-fail; then
    echo "firmware with a failing check exited 0"; exit 1
  fi
  cargo build --release --target thumbv7m-none-eabi --bin outage # restore the real ELF

  section "no allocator in any firmware"
  for elf in target/thumbv7m-none-eabi/release/{outage,minimal,minimal_time,minimal_count,baseline,ramp,throttle} \
             target/thumbv6m-none-eabi/release/{outage,minimal,minimal_time,minimal_count,baseline,ramp,throttle} \
             target/thumbv7em-none-eabihf/release/examples/embassy_task \
             target/thumbv7em-none-eabihf/release/defmt-log; do
    if "$LLVM_BIN/llvm-nm" "$elf" | grep -E '__rust_(alloc|dealloc|realloc)'; then
      echo "$elf links an allocator"; exit 1
    fi
  done

  section "sizes (llvm-size -A, bytes): flash = .vector_table + .text + .rodata + .data; RAM = .data + .bss + .uninit"
  size_of() { # text data flash ram
    "$LLVM_BIN/llvm-size" -A "$1" | awk '
      $1 == ".text" { text += $2 }
      $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
      $1 == ".data" { data += $2; flash += $2; ram += $2 }
      $1 == ".bss" || $1 == ".uninit" { ram += $2 }
      END { print text + 0, data + 0, flash, ram }'
  }
  # Each firmware as measured: the shaping variants are rebuilt with their
  # feature (fusebox-core's `ramp` / `throttle`), copied aside, and the
  # plain ELFs restored, so every row comes from its own build.
  sizes=target/sizes
  for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
    mkdir -p "$sizes/$t"
    cargo build --release --target "$t" --features ramp --bin minimal
    cp "target/$t/release/minimal" "$sizes/$t/minimal+ramp"
    cargo build --release --target "$t" --features throttle --bin minimal_time
    cp "target/$t/release/minimal_time" "$sizes/$t/minimal_time+throttle"
    cargo build --release --target "$t" --bin minimal --bin minimal_time --bin minimal_count --bin baseline --bin outage
    for bin in baseline minimal minimal_time minimal_count outage; do cp "target/$t/release/$bin" "$sizes/$t/$bin"; done
  done
  printf '%-20s %-24s %7s %6s %7s %6s %9s %8s\n' target firmware text data flash ram "+text" "+data"
  for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
    read -r bt bd _ _ < <(size_of "$sizes/$t/baseline")
    for bin in baseline minimal minimal+ramp minimal_time minimal_time+throttle minimal_count outage; do
      read -r text data flash ram < <(size_of "$sizes/$t/$bin")
      printf '%-20s %-24s %7s %6s %7s %6s %9s %8s\n' "$t" "$bin" "$text" "$data" "$flash" "$ram" \
        "+$((text - bt))" "+$((data - bd))"
    done
    read -r bf br < <(size_of "$sizes/$t/baseline" | cut -d' ' -f3-)
    read -r mf mr < <(size_of "$sizes/$t/minimal" | cut -d' ' -f3-)
    printf '%-20s %-24s %7s %6s %7s %6s\n' "$t" "fusebox (flash, ram)" "" "" "+$((mf - bf))" "+$((mr - br))"
  done
  read -r _ _ flash ram < <(size_of target/thumbv7em-none-eabihf/release/examples/embassy_task)
  printf '%-24s %-10s %8s %8s\n' thumbv7em-none-eabihf embassy_task "$flash" "$ram"
)

section "done in $((SECONDS - T0))s"
