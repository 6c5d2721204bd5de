#!/usr/bin/env bash
# The ingest benchmark on the embedded store, side by side with the broker alone:
#  (a) msgpack batches of 256 instances, QoS 1, end to end from publish to
#      committed (seen on hs/s), in instances/s;
#      then the size of the store per instance stored: hs.db and its WAL after a
#      checkpoint (PRAGMA wal_checkpoint(TRUNCATE)), divided by the instances
#      of every stream (hsctl stream ls --json);
#  (b) one JSON reading per message, QoS 0, end to end, in messages/s;
#  (c) memory of each service when idle (fresh stack) and after the load:
#      RSS, PSS (shared pages divided among the processes sharing them) and
#      private memory (USS); most of RSS is shared library code;
# plus the CPU seconds each process spent per million instances, which shows
# where the time goes. Baselines: the same publisher and subscriber through
# the broker alone (hs/raw -> hs/raw), which bounds what any service can do.
#  (d) the file inbox: files/s and readings/s from dropping files in the inbox
#      (moved in at once) until every one is in done/ (acknowledged by the
#      writer), for many small files and for one large CSV; the baseline is
#      the same ingest restarted with inotify off and one file per scan
#      (inbox_watch=false, inbox_files_per_round=1), in the same run. One file
#      per scan is one file per second: the baseline drops fewer small files.
#   bash bench/bench_ingest.sh [build-dir]     (repeats: HS_BENCH_RUNS, default 3)
#   inbox sizes: HS_BENCH_INBOX_FILES (1000), HS_BENCH_INBOX_BASE_FILES (60),
#   HS_BENCH_INBOX_FILE_ROWS (60), HS_BENCH_INBOX_ROWS (1000000);
#   HS_BENCH_INBOX_ONLY=1 runs (d) alone.
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
# (d) the inbox: files in $DIR/inbox, dropped at once, timed until all are in done/.
inbox_restart() {  # env assignments for the restarted ingest
  local pid; pid=$(cat "$DIR/run/ingest.pid")
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  env "$@" $HSCTL up --port "$PORT" >/dev/null
  sleep 1
}
inbox_run() {  # label, files, rows per file
  local label=$1 files=$2 rows=$3 stage=$DIR/stage-$1 i t0 t1 n
  mkdir -p "$stage"
  for i in $(seq 1 "$files"); do
    awk -v n="$rows" -v s="$i" 'BEGIN { print "time,v"; for (r = 0; r < n; r++) printf "%d,%d\n", 1600000000 + r, s + r }' \
      > "$stage/inbox,run=$label,unit=$i.csv"
  done
  local before; before=$(ls "$DIR/inbox/done" | wc -l)
  t0=$(date +%s.%N)
  mv "$stage"/*.csv "$DIR/inbox/"
  while n=$(ls "$DIR/inbox/done" | wc -l); [ $((n - before)) -lt "$files" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  # done/ means acknowledged by the writer: the store holds every reading by now.
  local stored; stored=$($HSCTL stream ls --json | /usr/bin/python3 -c '
import json,sys
print(sum(d["count"] for d in map(json.loads, sys.stdin) if "run=" + sys.argv[1] + "/" in d["stream"] + "/"))' "$label")
  [ "$stored" = $((files * rows)) ] || { echo "$label: $stored readings stored, expected $((files * rows))" >&2; exit 1; }
  printf '%-44s %6d files x %7d rows in %7.2fs: %8.1f files/s %10.0f readings/s\n' "$label" "$files" "$rows" \
    "$(echo "$t1 - $t0" | bc -l)" "$(echo "$files / ($t1 - $t0)" | bc -l)" "$(echo "$files * $rows / ($t1 - $t0)" | bc -l)"
}
inbox() {
  local nf=${HS_BENCH_INBOX_FILES:-1000} nb=${HS_BENCH_INBOX_BASE_FILES:-60}
  local fr=${HS_BENCH_INBOX_FILE_ROWS:-60} big=${HS_BENCH_INBOX_ROWS:-1000000}
  echo "(d) the file inbox: $nf small files of $fr rows (baseline $nb), one CSV of $big rows"
  inbox_restart HS_INBOX_WATCH=false HS_INBOX_FILES_PER_ROUND=1
  inbox_run "d.baseline-scan-one-file-per-round.small" "$nb" "$fr"
  inbox_run "d.baseline-scan-one-file-per-round.large" 1 "$big"
  inbox_restart HS_INBOX_WATCH=true HS_INBOX_FILES_PER_ROUND=0
  inbox_run "d.inotify-all-files-per-round.small" "$nf" "$fr"
  inbox_run "d.inotify-all-files-per-round.large" 1 "$big"
}
if [ -n "${HS_BENCH_INBOX_ONLY:-}" ]; then inbox; exit 0; fi
echo "(a) msgpack batches of 256, QoS 1, $N instances per run"
run "a.baseline-broker-only" --count "$N" --batch 256 --qos 1 --watch raw
before=$(snap)
run "a.hyperstream-committed" --count "$N" --batch 256 --qos 1 --watch s
cpu_report "$before" "$(snap)" $((N * RUNS)) "a"
# The store's bytes per instance: every instance of (a) is committed by now (seen on hs/s).
store_size() {  # label
  local stored ckpt
  stored=$($HSCTL stream ls --json | /usr/bin/python3 -c '
import json,sys
print(sum(json.loads(l)["count"] for l in sys.stdin))')
  # The writer holds no read transaction between requests: the checkpoint moves the
  # log into the file and truncates it (retried while a reader happens to read).
  ckpt=$(/usr/bin/python3 - "$DIR/hs.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
for _ in range(50):
    busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy == 0:
        break
    time.sleep(0.1)
print(busy)
PY
)
  local db wal
  db=$(stat -c %s "$DIR/hs.db"); wal=$(stat -c %s "$DIR/hs.db-wal" 2>/dev/null || echo 0)
  printf '  store after %s: %d instances in %d bytes (hs.db %d + WAL %d after a checkpoint%s) = %.2f bytes/instance\n' \
    "$1" "$stored" "$((db + wal))" "$db" "$wal" "$([ "$ckpt" = 0 ] || echo ", which stayed busy")" \
    "$(echo "($db + $wal) / $stored" | bc -l)"
}
store_size "(a)"
echo "(b) one JSON reading per message, QoS 0, $NJ messages per run"
run "b.baseline-broker-only" --count "$NJ" --json --qos 0 --watch raw
before=$(snap)
run "b.hyperstream-committed" --count "$NJ" --json --qos 0 --watch s
cpu_report "$before" "$(snap)" $((NJ * RUNS)) "b"
mem "after the load"
inbox
