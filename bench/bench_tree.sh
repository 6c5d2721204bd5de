#!/usr/bin/env bash
# Adding one device to a fleet (issue 15): the meta-data tree against the way
# before it. For each size N (default 10,000 and 100,000 devices), on a fresh
# stack of its own:
#  - tree: a workflow whose device plate selects from the tree (its meta:
#    block lists N devices) is added; then `hsctl meta add` of one more device
#    (the reply comes once the scheduler has expanded the workflow again and
#    the writer has stored the new definitions);
#  - baseline, the same run: the workflow with the N devices listed in the
#    plate, then `hsctl workflow add --replace` of it with N + 1 listed (what a
#    fleet did to add a device before the tree).
# Both workflows are the fleet benchmark's (per device: the minute's mean and
# it in Fahrenheit; over the fleet: the mean of the devices). Printed per size:
# the seconds of the add, of the one-device change, and the scheduler's RSS
# after it (VmRSS, /proc/PID/status), tree beside baseline, and the ratio.
#   bash bench/bench_tree.sh [--sizes 10000,100000] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=10000,100000
BUILD=build
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift ;;
    --sizes=*) SIZES=${1#--sizes=} ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) BUILD=$1 ;;
  esac
  shift
done
BIN=$PWD/$BUILD/bin
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/hs-bench-tree-XXXXXX)
DIRS=()
cleanup() {
  for d in "${DIRS[@]}"; do "$BIN/hsctl" --data "$d" down > /dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { $PY -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$1" "$2"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$(cat "$1/run/scheduler.pid")/status"; }

# The fleet workflow over n devices: tree (a meta: block) or listed.
workflow() {  # n tree|listed > file
  $PY tests/support/fleetwf.py "$1" > "$WORK/base.yaml"
  $PY - "$1" "$2" "$WORK/base.yaml" <<'PY'
import sys
n, kind, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = []
for line in open(path).read().split("\n"):
    if kind == "tree" and line.startswith("  G.D: "):
        out.append("  G.D: {meta: dev, parent: G}")
    elif kind == "tree" and line.startswith("plates:"):
        out.append("meta:")
        out.extend(f"  - g=1/dev={i}" for i in range(n))
        out.append(line)
    else:
        out.append(line)
print("\n".join(out))
PY
}

# One stack, one kind: prints "ADD_S CHANGE_S RSS_MB".
run() {  # n kind
  local n=$1 kind=$2 d port t0 t1 t2
  d="$WORK/$kind-$n"; DIRS+=("$d")
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BIN/hsctl" --data "$d" up --port "$port" > "$WORK/up.out" 2>&1
  workflow "$n" "$kind" > "$WORK/wf.yaml"
  t0=$(now)
  "$BIN/hsctl" --data "$d" workflow add "$WORK/wf.yaml" > /dev/null
  t1=$(now)
  if [ "$kind" = tree ]; then
    "$BIN/hsctl" --data "$d" meta add "g=1/dev=$n" > "$WORK/change.out"
  else
    workflow "$((n + 1))" listed > "$WORK/wf2.yaml"
    "$BIN/hsctl" --data "$d" workflow add --replace "$WORK/wf2.yaml" > "$WORK/change.out"
  fi
  t2=$(now)
  echo "$(secs "$t0" "$t1") $(secs "$t1" "$t2") $(rss_mb "$d")"
  "$BIN/hsctl" --data "$d" down > /dev/null 2>&1 || true
}

printf '%-9s %-28s %-28s %s\n' devices "tree: add / +1 device / RSS" "listed: add / +1 device / RSS" "+1 device: listed / tree"
for n in ${SIZES//,/ }; do
  read -r ta tc tr <<< "$(run "$n" tree)"
  read -r la lc lr <<< "$(run "$n" listed)"
  ratio=$($PY -c 'import sys; a, b = map(float, sys.argv[1:]); print(f"{a / b:.1f}x" if b > 0 else "-")' "$lc" "$tc")
  printf '%-9s %-28s %-28s %s\n' "$n" "${ta} s / ${tc} s / ${tr} MB" "${la} s / ${lc} s / ${lr} MB" "$ratio"
done
