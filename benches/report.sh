#!/usr/bin/env bash
# Regenerates the tables of RESULTS.md (markdown, on stdout) from
#   - criterion's output: $CARGO_TARGET_DIR/criterion/<group>/<bench>/new/{estimates,benchmark}.json
#     (run `cargo bench -p fusebox-benches` first), and
#   - the scaling binary's CSV: --scaling FILE (an existing CSV), or --run-scaling "ARGS"
#     to run `cargo run --release -p fusebox-benches --bin scaling -- ARGS --csv` and tabulate it.
# --sizes adds the size_of table (bin `sizes`), --footprint the firmware table
# (footprint/measure.sh; needs the thumbv6m/thumbv7em targets).
# With --write FILE, the tables replace what lies between the lines
# `<!-- report:begin -->` and `<!-- report:end -->` in FILE (RESULTS.md) instead.
# Usage (from anywhere):
#   CARGO_TARGET_DIR=target-bench benches/report.sh [--scaling FILE | --run-scaling "ARGS"] \
#       [--sizes] [--footprint] [--write FILE]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target-bench}"
[[ "$target" = /* ]] || target="$root/$target"
scaling=""
write=""
sizes=0
footprint=0
while (($#)); do
    case "$1" in
        --sizes) sizes=1; shift ;;
        --footprint) footprint=1; shift ;;
        --write) write="$2"; shift 2 ;;
        --scaling) scaling="$2"; shift 2 ;;
        --run-scaling)
            scaling="$target/scaling.csv"
            # shellcheck disable=SC2086 # ARGS is a word list on purpose
            (cd "$root" && CARGO_TARGET_DIR="$target" cargo run --quiet --release -p fusebox-benches \
                --bin scaling -- $2 --csv) > "$scaling"
            shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

tables() {
python3 - "$target/criterion" "$scaling" <<'PY'
import csv, json, os, sys

crit_dir, scaling = sys.argv[1], sys.argv[2]
ORDER = ["closed_success", "closed_5pct_failures", "open_reject", "half_open_admit",
         "half_open_reject", "snapshot", "clock"]
PEERS = ("failsafe_", "recloser_", "tower_resilience_")

def is_peer(name):
    return name.startswith(PEERS)

groups = {}
if os.path.isdir(crit_dir):
    for group in os.listdir(crit_dir):
        gdir = os.path.join(crit_dir, group)
        if not os.path.isdir(gdir) or group == "report":
            continue
        for bench in os.listdir(gdir):
            new = os.path.join(gdir, bench, "new")
            try:
                est = json.load(open(os.path.join(new, "estimates.json")))
                meta = json.load(open(os.path.join(new, "benchmark.json")))
            except (OSError, ValueError):
                continue
            med = est["median"]
            groups.setdefault(meta["group_id"], {})[meta["function_id"]] = (
                med["point_estimate"], med["confidence_interval"]["lower_bound"],
                med["confidence_interval"]["upper_bound"])

def fmt_ratio(x, ref):
    return f"{x / ref:.2f}x" if ref else "-"

floor_closed = groups.get("closed_success", {}).get("floor_atomic", (None,))[0]
if groups:
    print("### Criterion medians (ns per call)\n")
    print("Ratios: to the atomic floor of the same group (closed_success's floor where the group")
    print("has none), and to the fastest peer in the same group. \"95 % CI\": criterion's bootstrap")
    print("interval of the median.\n")
for group in sorted(groups, key=lambda g: (ORDER.index(g) if g in ORDER else 99, g)):
    rows = groups[group]
    floor = rows.get("floor_atomic", (floor_closed,))[0]
    peers = [v[0] for k, v in rows.items() if is_peer(k)]
    best_peer = min(peers) if peers else None
    print(f"#### {group}\n")
    print("| bench | median ns | 95 % CI | / floor | / best peer |")
    print("|---|---:|---|---:|---:|")
    def key(item):
        name = item[0]
        rank = 0 if name.startswith("baseline") else 1 if name.startswith("floor") else \
            2 if name.startswith(("clock", "instant")) else 3 if name.startswith("fusebox") else 4
        return (rank, name)
    for name, (m, lo, hi) in sorted(rows.items(), key=key):
        print(f"| {name} | {m:.2f} | {lo:.2f}-{hi:.2f} | {fmt_ratio(m, floor)} | "
              f"{fmt_ratio(m, best_peer)} |")
    print()

if scaling:
    rows = list(csv.DictReader(open(scaling)))
    by = {(r["subject"], int(r["threads"])): r for r in rows}
    subjects = list(dict.fromkeys(r["subject"] for r in rows))
    threads = sorted({int(r["threads"]) for r in rows})
    reps = rows[0]["reps"] if rows else "?"
    print(f"### Scaling: T threads on one breaker ({reps} reps; median, [min-max])\n")
    print("`x1T` = throughput over the subject's own 1-thread median; `/peer` = over the best")
    print("peer's median at the same T; `/floor` = over the atomic floor's median at the same T.\n")
    print("| subject | T | Mops/s | ns/op/thread | x1T | /peer | /floor |")
    print("|---|---:|---|---|---:|---:|---:|")
    for s in subjects:
        for t in threads:
            r = by.get((s, t))
            if not r:
                continue
            med = float(r["mops_median"])
            one = by.get((s, 1))
            peer = max((float(by[(p, t)]["mops_median"]) for p in subjects
                        if is_peer(p) and (p, t) in by), default=None)
            floor = by.get(("floor_atomic", t))
            x1 = f"{med / float(one['mops_median']):.2f}" if one else "-"
            vs_peer = f"{med / peer:.1f}" if peer else "-"
            vs_floor = f"{med / float(floor['mops_median']):.2f}" if floor else "-"
            print(f"| {s} | {t} | {med:.2f} [{float(r['mops_min']):.2f}-{float(r['mops_max']):.2f}] | "
                  f"{float(r['ns_op_median']):.2f} [{float(r['ns_op_min']):.2f}-{float(r['ns_op_max']):.2f}] | "
                  f"{x1} | {vs_peer} | {vs_floor} |")
    print()
PY
if ((sizes)); then
    echo "### size_of (x86-64)"
    echo
    (cd "$root" && CARGO_TARGET_DIR="$target" cargo run --quiet --release -p fusebox-benches --bin sizes)
    echo
fi
if ((footprint)); then
    echo "### What fusebox-core adds to a minimal firmware (bytes; + = over the baseline loop)"
    echo
    CARGO_TARGET_DIR="$target" "$root/benches/footprint/measure.sh"
    echo
fi
}

if [[ -z "$write" ]]; then
    tables
    exit 0
fi
grep -q '^<!-- report:begin -->$' "$write" && grep -q '^<!-- report:end -->$' "$write" \
    || { echo "$write has no report:begin/report:end markers" >&2; exit 2; }
fresh="$(mktemp)"
tables > "$fresh"
python3 - "$write" "$fresh" <<'PY'
import sys
path, fresh = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
head, rest = text.split("<!-- report:begin -->\n", 1)
_, tail = rest.split("<!-- report:end -->\n", 1)
open(path, "w").write(head + "<!-- report:begin -->\n" + fresh + "<!-- report:end -->\n" + tail)
PY
rm -f "$fresh"
echo "updated $write"
