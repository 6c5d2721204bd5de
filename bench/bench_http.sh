#!/usr/bin/env bash
# hs-api's HTTP figures on the embedded store, each beside a baseline taken
# in the same run on the same stack:
#  (a) HTTP ingest, end to end (the answer comes once the writer committed):
#      InfluxDB line protocol (/api/v2/write) and JSON lines (/api/v1/write),
#      in bodies of HS_BENCH_HTTP_BATCH readings over HS_BENCH_HTTP_STREAMS
#      series, sent by HS_BENCH_HTTP_CLIENTS clients at once (curl, one
#      keep-alive connection each), in readings/s; baseline: MQTT ingest of
#      msgpack batches of 256 at QoS 1, end to end (bench_publish, as
#      bench/bench_ingest.sh (a));
#  (b) streaming one stream of HS_BENCH_HTTP_ROWS (1,000,000) instances as
#      NDJSON (GET /api/v1/streams/{id}/data?format=ndjson into /dev/null),
#      in seconds; baseline: `hsctl stream get ID --format json` (JSON lines
#      from the same store, to /dev/null).
#   bash bench/bench_http.sh [build-dir]     (repeats: HS_BENCH_RUNS, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$PWD/$BUILD/bin
RUNS=${HS_BENCH_RUNS:-3}
N=${HS_BENCH_HTTP_N:-1000000}
BATCH=${HS_BENCH_HTTP_BATCH:-5000}
STREAMS=${HS_BENCH_HTTP_STREAMS:-100}
CLIENTS=${HS_BENCH_HTTP_CLIENTS:-4}
ROWS=${HS_BENCH_HTTP_ROWS:-1000000}
PY=/usr/bin/python3
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
DIR=$(mktemp -d /tmp/hs-bench-http-XXXXXX)
PORT=$(free_port)
HS_HTTP_PORT=$(free_port)
export HS_HTTP_PORT
U=http://127.0.0.1:$HS_HTTP_PORT
HSCTL="$BIN/hsctl --data $DIR"
trap '$HSCTL down >/dev/null 2>&1; rm -rf "$DIR"' EXIT
$HSCTL up --port "$PORT" > /dev/null
for _ in $(seq 1 100); do curl -sf "$U/health" > /dev/null && break; sleep 0.1; done
echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Bodies: N readings in bodies of BATCH, readings spread over STREAMS series, times from t0.
make_bodies() {  # kind (lp|ndjson) run t0
  local kind=$1 run=$2 t0=$3 dir=$DIR/bodies-$1-$2
  mkdir -p "$dir"
  $PY - "$kind" "$run" "$t0" "$N" "$BATCH" "$STREAMS" "$dir" <<'PY'
import sys
kind, run, t0, n, batch, streams, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
for b in range(0, n, batch):
    lines = []
    for i in range(b, min(n, b + batch)):
        s, k = i % streams, i // streams
        t = t0 + k
        if kind == "lp":
            lines.append(f"bench_{run},dev={s} value={i * 0.5} {t}000000")
        else:
            lines.append(f'{{"stream":"benchj_{run}/dev={s}","t":{t},"v":{i * 0.5}}}')
    open(f"{d}/{b // batch:06d}", "w").write("\n".join(lines) + "\n")
PY
}

post_all() {  # kind run: posts every body with CLIENTS clients; prints seconds
  local kind=$1 run=$2 dir=$DIR/bodies-$1-$2 url type
  if [ "$kind" = lp ]; then url="$U/api/v2/write?precision=us"; type=text/plain
  else url="$U/api/v1/write"; type=application/x-ndjson; fi
  ls "$dir" | awk -v c="$CLIENTS" '{print > ("'"$DIR"'/part-" (NR % c))}'
  local t0 t1 pids=() p
  t0=$(date +%s.%N)
  for p in "$DIR"/part-*; do
    (args=(); first=1
     while read -r f; do
       [ $first = 1 ] || args+=(--next)
       first=0
       args+=(-s -o /dev/null -w '%{http_code}\n' -XPOST -H "Content-Type: $type" --data-binary "@$dir/$f" "$url")
     done < "$p"
     curl "${args[@]}" > "$p.codes") &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  local bad; bad=$(cat "$DIR"/part-*.codes | grep -cvE '^20[04]$' || true)
  [ "$bad" = 0 ] || { echo "$kind: $bad bodies were not committed: $(sort "$DIR"/part-*.codes | uniq -c)" >&2; exit 1; }
  rm -f "$DIR"/part-*
  echo "$t1 - $t0" | bc -l
}

stored() {  # prefix: readings stored under it
  $HSCTL stream ls "$1" --json | $PY -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))'
}

echo "(a) HTTP ingest end to end: $N readings per run, bodies of $BATCH over $STREAMS series, $CLIENTS clients"
rates=()
for i in $(seq 1 "$RUNS"); do
  out=$("$BIN/bench_publish" --url "tcp://127.0.0.1:$PORT" --count "$N" --batch 256 --qos 1 --watch s \
    --stream "benchm/run=$i" --t0 $((1600000000 + i * 100000000)))
  rates+=("$(echo "$out" | sed -n 's/.*end to end in [0-9.]*s = \([0-9]*\) inst\/s.*/\1/p')")
done
printf '%-46s median %9.0f readings/s over %d runs (%s)\n' "a.baseline-mqtt-msgpack-256-qos1" \
  "$(printf '%s\n' "${rates[@]}" | median)" "$RUNS" "$(IFS=,; echo "${rates[*]}")"
for kind in lp ndjson; do
  rates=()
  for i in $(seq 1 "$RUNS"); do
    make_bodies "$kind" "$i" $((1700000000 + i * 10000000))
    secs=$(post_all "$kind" "$i")
    prefix=$([ "$kind" = lp ] && echo "bench_$i/" || echo "benchj_$i/")
    got=$(stored "$prefix")
    [ "$got" = "$N" ] || { echo "$kind run $i: $got readings stored, expected $N" >&2; exit 1; }
    rates+=("$(echo "$N / $secs" | bc -l | cut -d. -f1)")
    rm -rf "$DIR/bodies-$kind-$i"
  done
  label=$([ "$kind" = lp ] && echo "a.http-line-protocol-/api/v2/write" || echo "a.http-ndjson-/api/v1/write")
  printf '%-46s median %9.0f readings/s over %d runs (%s)\n' "$label" \
    "$(printf '%s\n' "${rates[@]}" | median)" "$RUNS" "$(IFS=,; echo "${rates[*]}")"
done

echo "(b) one stream of $ROWS instances, read whole"
"$BIN/bench_publish" --url "tcp://127.0.0.1:$PORT" --count "$ROWS" --batch 4096 --qos 1 --watch s \
  --stream "bigstream/run=1" --t0 1500000000 > /dev/null
[ "$(stored bigstream/)" = "$ROWS" ] || { echo "bigstream: not all stored" >&2; exit 1; }
cli=(); http=()
for i in $(seq 1 "$RUNS"); do
  t0=$(date +%s.%N); $HSCTL stream get bigstream/run=1 --format json > "$DIR/cli.out"; t1=$(date +%s.%N)
  cli+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(date +%s.%N); curl -s "$U/api/v1/streams/bigstream/run=1/data?format=ndjson" > "$DIR/http.out"; t1=$(date +%s.%N)
  http+=("$(echo "$t1 - $t0" | bc -l)")
  [ "$(wc -l < "$DIR/http.out")" = "$ROWS" ] || { echo "NDJSON has $(wc -l < "$DIR/http.out") lines" >&2; exit 1; }
done
cmp -s "$DIR/cli.out" "$DIR/http.out" || echo "  note: the CLI's lines and the NDJSON differ" >&2
printf '%-46s median %7.3f s over %d runs (%s)\n' "b.baseline-hsctl-stream-get-json" \
  "$(printf '%s\n' "${cli[@]}" | median)" "$RUNS" "$(IFS=,; printf '%.3f ' "${cli[@]}")"
printf '%-46s median %7.3f s over %d runs (%s)\n' "b.http-ndjson-GET-data" \
  "$(printf '%s\n' "${http[@]}" | median)" "$RUNS" "$(IFS=,; printf '%.3f ' "${http[@]}")"
