#!/usr/bin/env bash
# Benchmark of the tool runtime's pipe mode (hs-tool --pipe): instances per
# second through `apply` with the built-in identity and with a Lua function,
# for msgpack and for JSON lines, each beside `cat` of the same input in the
# same run (the floor set by the pipe itself), and two tools chained by a
# shell pipe. Prints the median of several runs; there are no thresholds.
#   bash bench/bench_pipe.sh [build-dir]
#   (HS_BENCH_N instances, default 2,000,000; repeats: HS_BENCH_RUNS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
N=${HS_BENCH_N:-2000000}
RUNS=${HS_BENCH_RUNS:-3}
TOOL="$BIN/hs-tool"
[ -x "$TOOL" ] || { echo "bench_pipe: no $TOOL (give the build directory)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/hs-bench-pipe-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

IDENTITY='{"func": "identity"}'
LUA='{"func": "lua: return function(v) return v * 1.8 + 32 end"}'

# Input: N instances, 1 ms apart, with float values. The msgpack stream comes
# from the clock tool through a Lua apply, so it is exactly what hs-tool writes.
echo "generating $N instances..." >&2
"$TOOL" --pipe clock --msgpack --params '{"first": 0, "stride": 0.001}' \
  --from 1700000000 --to "$((1700000000 + N / 1000))" \
  | "$TOOL" --pipe apply --msgpack \
      --params '{"func": "lua: return function(v) return (v % 1000003) / 7 end"}' > "$TMP/in.mp"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"t\":%d.%03d,\"v\":%.4f}\n", 1700000000 + int(i / 1000), i % 1000, (i % 1000003) / 7 }' \
  > "$TMP/in.jsonl"
lines=$(wc -l < "$TMP/in.jsonl")
[ "$lines" -eq "$N" ] || { echo "bench_pipe: generated $lines lines, not $N" >&2; exit 1; }
printf 'input: %d instances; msgpack %d bytes, JSON lines %d bytes\n' "$N" \
  "$(stat -c %s "$TMP/in.mp")" "$(stat -c %s "$TMP/in.jsonl")"

# Median wall time in seconds of RUNS runs of a command line (stdin, stdout redirected in it).
median() {
  local t=()
  for _ in $(seq 1 "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    bash -c "$1"
    t1=$(date +%s%N)
    t+=("$(( t1 - t0 ))")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

report() {  # label, command
  local ns
  ns=$(median "$2")
  awk -v l="$1" -v ns="$ns" -v n="$N" \
    'BEGIN { printf "%-48s %8.1f ms %8.2f M instances/s\n", l, ns / 1e6, n / (ns / 1e9) / 1e6 }'
}

# Correctness first: every instance comes out.
out=$("$TOOL" --pipe apply --params "$IDENTITY" < "$TMP/in.jsonl" | wc -l)
[ "$out" -eq "$N" ] || { echo "bench_pipe: apply identity wrote $out lines, not $N" >&2; exit 1; }
"$TOOL" --pipe apply --msgpack --params "$IDENTITY" < "$TMP/in.mp" | cmp -s - "$TMP/in.mp" \
  || { echo "bench_pipe: msgpack identity changed the stream" >&2; exit 1; }

echo "msgpack [t_us, v] stream:"
report "cat (baseline)" "cat '$TMP/in.mp' > /dev/null"
report "hs-tool --pipe apply identity --msgpack" \
  "'$TOOL' --pipe apply --msgpack --params '$IDENTITY' < '$TMP/in.mp' > /dev/null"
report "hs-tool --pipe apply lua --msgpack" \
  "'$TOOL' --pipe apply --msgpack --params '$LUA' < '$TMP/in.mp' > /dev/null"
report "two tools in a shell pipe (identity | lua)" \
  "'$TOOL' --pipe apply --msgpack --params '$IDENTITY' < '$TMP/in.mp' | '$TOOL' --pipe apply --msgpack --params '$LUA' > /dev/null"
echo "JSON lines:"
report "cat (baseline)" "cat '$TMP/in.jsonl' > /dev/null"
report "hs-tool --pipe apply identity" \
  "'$TOOL' --pipe apply --params '$IDENTITY' < '$TMP/in.jsonl' > /dev/null"
report "hs-tool --pipe apply lua" \
  "'$TOOL' --pipe apply --params '$LUA' < '$TMP/in.jsonl' > /dev/null"
echo "(median of $RUNS runs, wall time, instances read per second)"
