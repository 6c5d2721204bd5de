#!/usr/bin/env bash
# The ingest benchmark on the embedded store, side by side with the broker alone:
#  (a) msgpack batches of 256 instances, QoS 1, end to end from publish to
#      committed (seen on hs/s), in instances/s;
#  (b) one JSON reading per message, QoS 0, end to end, in messages/s;
#  (c) memory of each service when idle (fresh stack) and after the load:
#      RSS, PSS (shared pages divided among the processes sharing them) and
#      private memory (USS); most of RSS is shared library code;
# plus the CPU seconds each process spent per million instances, which shows
# where the time goes. Baselines: the same publisher and subscriber through
# the broker alone (hs/raw -> hs/raw), which bounds what any service can do.
#   bash bench/bench_ingest.sh [build-dir]     (repeats: HS_BENCH_RUNS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$PWD/$BUILD/bin
RUNS=${HS_BENCH_RUNS:-3}
N=${HS_BENCH_N:-1000000}
NJ=${HS_BENCH_NJSON:-200000}
DIR=$(mktemp -d /tmp/hs-bench-XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HSCTL="$BIN/hsctl --data $DIR"
trap '$HSCTL down >/dev/null 2>&1; rm -rf "$DIR"' EXIT
$HSCTL up --port "$PORT" >/dev/null
sleep 1
# RSS/PSS/USS in kB of one service, from smaps_rollup.
mem1() {
  awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{u+=$2} END{printf "%s/%s/%s", r, p, u}' \
    "/proc/$(cat "$DIR/run/$1.pid")/smaps_rollup"
}
mem() {  # label
  echo "$1 RSS/PSS/USS (kB): writer $(mem1 writer) ingest $(mem1 ingest) scheduler $(mem1 scheduler) tools $(mem1 tools) broker $(mem1 broker)"
}
cpu() { awk '{print $14 + $15}' "/proc/$(cat "$DIR/run/$1.pid")/stat"; }
echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
mem idle
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() {  # label, args...
  local label=$1; shift
  local out rates=() i
  for i in $(seq 1 "$RUNS"); do
    out=$("$BIN/bench_publish" --url "tcp://127.0.0.1:$PORT" "$@" --stream "bench/$label=$i" --t0 $((1600000000 + i * 100000000)))
    rates+=("$(echo "$out" | sed -n 's/.*end to end in [0-9.]*s = \([0-9]*\) inst\/s.*/\1/p')")
    lat=$(echo "$out" | sed -n 's/.*\(latency.*\)/\1/p')
  done
  printf '%-44s median %9s /s over %d runs (%s); last %s\n' "$label" \
    "$(printf '%s\n' "${rates[@]}" | median)" "$RUNS" "$(IFS=,; echo "${rates[*]}")" "$lat"
}
snap() { for s in writer ingest broker; do printf '%s ' "$(cpu $s)"; done; }
cpu_report() {  # before after count label
  read -r w0 i0 b0 <<< "$1"; read -r w1 i1 b1 <<< "$2"
  local hz; hz=$(getconf CLK_TCK)
  printf '  cpu s per million instances (%s): writer %.2f ingest %.2f broker %.2f\n' "$4" \
    "$(echo "($w1 - $w0) / $hz / ($3 / 1000000)" | bc -l)" "$(echo "($i1 - $i0) / $hz / ($3 / 1000000)" | bc -l)" \
    "$(echo "($b1 - $b0) / $hz / ($3 / 1000000)" | bc -l)"
}
echo "(a) msgpack batches of 256, QoS 1, $N instances per run"
run "a.baseline-broker-only" --count "$N" --batch 256 --qos 1 --watch raw
before=$(snap)
run "a.hyperstream-committed" --count "$N" --batch 256 --qos 1 --watch s
cpu_report "$before" "$(snap)" $((N * RUNS)) "a"
echo "(b) one JSON reading per message, QoS 0, $NJ messages per run"
run "b.baseline-broker-only" --count "$NJ" --json --qos 0 --watch raw
before=$(snap)
run "b.hyperstream-committed" --count "$NJ" --json --qos 0 --watch s
cpu_report "$before" "$(snap)" $((NJ * RUNS)) "b"
mem "after the load"
