#!/usr/bin/env bash
# What fusebox-core adds to a minimal Cortex-M firmware: .text/.data/.bss of
# src/main.rs built per breaker kind, minus the same loop without a breaker.
# Usage: benches/footprint/measure.sh   (prints a markdown table)
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
target="${CARGO_TARGET_DIR:-$root/target-bench}"
[[ "$target" = /* ]] || target="$root/$target" # relative to the repository root, as cargo's would be
export CARGO_TARGET_DIR="$target/footprint"
size_tool="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-size"
[[ -x "$size_tool" ]] || size_tool=llvm-size

echo "| target | profile | breaker | .text | .data | .bss | +.text | +.data | +.bss |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    extra=""
    [[ "$target" == thumbv6m-none-eabi ]] && extra=",cas-less"
    for profile in release release-z; do
        base=()
        for kind in baseline consecutive count time; do
            cargo build --quiet --profile "$profile" --target "$target" --features "$kind$extra"
            # Berkeley format: text data bss dec hex filename
            read -r text data bss _ < <("$size_tool" "$CARGO_TARGET_DIR/$target/$profile/fusebox-footprint" | tail -1)
            [[ "$kind" == baseline ]] && base=("$text" "$data" "$bss")
            echo "| $target | $profile | $kind | $text | $data | $bss |" \
                "$((text - base[0])) | $((data - base[1])) | $((bss - base[2])) |"
        done
    done
done
