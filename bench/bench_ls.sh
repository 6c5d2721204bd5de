#!/usr/bin/env bash
# hsctl at fleet scale (issue 14, item 6), beside a baseline of the same run.
#  (1) stream ls on a store of 3 x N streams (bench_lsstore writes it through
#      the store API; N = 100,000 devices by default): seconds and peak RSS of
#      the whole listing (--limit 0: every row, what stream ls printed
#      before; the baseline), of --summary, --limit 10, the default table
#      (1000 rows) and a glob.
#  (2) workflow add, ls and show of a workflow whose plate holds N values (a
#      stack with hsctl up): show's text, beside --json (every value: the
#      baseline) and --dot.
#   bash bench/bench_ls.sh [build-dir]
# Knobs: HS_BENCH_DEVICES (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$PWD/$BUILD/bin
N=${HS_BENCH_DEVICES:-100000}
PY=/usr/bin/python3
DIR=$(mktemp -d /tmp/hs-bench-ls-XXXXXX)
cleanup() { "$BIN/hsctl" --data "$DIR/stack" down > /dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT

# Runs hsctl ARGS with stdout to a file; prints "label  seconds  peak RSS  lines".
timed() {
  local label=$1; shift
  # From $DIR: a ./hs-data of the directory the bench was started in is not this store.
  (cd "$DIR" && /usr/bin/time -f '%e %M' -o "$DIR/time" "$BIN/hsctl" "$@" > "$DIR/out" 2> /dev/null)
  read -r s kb < "$DIR/time"
  printf '  %-34s %6.2f s  %7d kB RSS  %7d lines\n' "$label" "$s" "$kb" "$(wc -l < "$DIR/out")"
}

echo "(1) stream ls over $((3 * N)) streams"
"$BIN/bench_lsstore" --url "sqlite://$DIR/hs.db" --devices "$N" | sed 's/^/  /'
export HS_STORE_URL="sqlite://$DIR/hs.db" HS_DATA=
timed "stream ls --limit 0 (baseline)" stream ls --limit 0
timed "stream ls --json (baseline)" stream ls --json
timed "stream ls --summary" stream ls --summary
timed "stream ls --limit 10" stream ls --limit 10
timed "stream ls (1000 rows)" stream ls
timed "stream ls 'temp_1m/*dev=12?'" stream ls 'temp_1m/*dev=12?'
unset HS_STORE_URL HS_DATA

echo "(2) a workflow whose plate holds $N values"
"$BIN/hsctl" --data "$DIR/stack" up --port "$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" > /dev/null
$PY tests/support/fleetwf.py "$N" --no-aggregate > "$DIR/wf.yaml"
timed "workflow add" --data "$DIR/stack" workflow add "$DIR/wf.yaml"
timed "workflow ls" --data "$DIR/stack" workflow ls
timed "workflow show --json (baseline)" --data "$DIR/stack" workflow show fleet --json
timed "workflow show" --data "$DIR/stack" workflow show fleet
printf '  %-34s %d bytes\n' "workflow show: text" "$(wc -c < "$DIR/out")"
timed "workflow show --dot" --data "$DIR/stack" workflow show fleet --dot
