#!/usr/bin/env bash
# The backfill benchmark: a backfill of sliding_apply(mean, 60 s windows) over
# 10,000,000 raw instances at 1 Hz on the embedded store, end to end
# (planning, dispatch, reading, computing, writing, committing), with one
# tool runtime and then with two. Prints instances/s (raw instances covered
# per second of wall time) and where the time went (the tools' own time from
# the job history, the writer's CPU).
#   bash bench/bench_backfill.sh [build-dir]    (HS_BENCH_N instances, default 10,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$PWD/$BUILD/bin
N=${HS_BENCH_N:-10000000}
DIR=$(mktemp -d /tmp/hs-backfill-XXXXXX)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HSCTL="$BIN/hsctl --data $DIR"
EXTRA=
trap '[ -n "$EXTRA" ] && kill $EXTRA 2>/dev/null; $HSCTL down >/dev/null 2>&1; rm -rf "$DIR"' EXIT
$HSCTL up --port "$PORT" >/dev/null
T0=1500000000
echo "loading $N raw instances at 1 Hz..."
start=$(date +%s.%N)
# bench_publish stamps instance i at t0 + i ms; spread them at 1 Hz by publishing with --t0 and a
# 1000x time scale is not possible, so load through its msgpack path and then read them at 1 Hz:
/usr/bin/python3 - "$N" "$T0" "$PORT" <<'PY'
import socket, struct, sys
# A minimal MQTT 3.1.1 QoS 1 publisher of msgpack batches [t_us, float] at 1 Hz.
n, t0, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
def pkt(t, body):
    ln, enc = len(body), b""
    while True:
        b, ln = ln % 128, ln // 128
        enc += bytes([b | (128 if ln else 0)])
        if not ln: break
    return bytes([t]) + enc + body
cid = b"bench-backfill-load"
s.sendall(pkt(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(cid)) + cid))
s.recv(4)
topic = b"hs/raw/temperature/sensor=1"
per = 1000
mid = 0
out = bytearray()
pending = 0
for b0 in range(0, n, per):
    m = min(per, n - b0)
    body = bytearray(b"\xdd" + struct.pack(">I", m))
    for i in range(b0, b0 + m):
        body += b"\x92\xd3" + struct.pack(">q", (t0 + i + 1) * 1000000) + b"\xcb" + struct.pack(">d", 20.0 + (i % 600) / 100.0)
    mid = mid % 65535 + 1
    out += pkt(0x32, struct.pack(">H", len(topic)) + topic + struct.pack(">H", mid) + bytes(body))
    pending += 1
    if len(out) > 1 << 20:
        s.sendall(out); out = bytearray()
s.sendall(out)
# Wait for the PUBACKs of everything sent.
buf = b""
acks = 0
while acks < pending:
    buf += s.recv(1 << 20)
    while len(buf) >= 4 and buf[0] == 0x40:
        acks += 1; buf = buf[4:]
s.close()
PY
until [ "$($HSCTL stream ls --json | /usr/bin/python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))')" -ge "$N" ]; do sleep 0.5; done
echo "loaded in $(echo "$(date +%s.%N) - $start" | bc | cut -c1-6) s"
cat > "$DIR/wf.yaml" <<'YAML'
id: backfill
factors:
  - tool: sliding_window
    params: {width: 60s, increment: 60s}
    sink: minutes
  - tool: sliding_apply
    params: {func: mean}
    sources: [minutes, temperature]
    sink: temp_1m
    plates: [S]
plates:
  S: {meta: sensor, values: ["1"]}
YAML
$HSCTL workflow add "$DIR/wf.yaml" >/dev/null
FROM=$T0; TO=$((T0 + N))
once() {  # label
  local t0 t1 wcpu0 wcpu1 hz
  hz=$(getconf CLK_TCK)
  wcpu0=$(awk '{print $14 + $15}' "/proc/$(cat "$DIR/run/writer.pid")/stat")
  t0=$(date +%s.%N)
  $HSCTL compute backfill --from "$FROM" --to "$TO" --wait > "$DIR/out.txt"
  t1=$(date +%s.%N)
  wcpu1=$(awk '{print $14 + $15}' "/proc/$(cat "$DIR/run/writer.pid")/stat")
  local secs; secs=$(echo "$t1 - $t0" | bc)
  local jobs; jobs=$(sed -n 's/^request [^:]*: \([0-9]*\) jobs planned/\1/p' "$DIR/out.txt")
  local tool_s; tool_s=$($HSCTL jobs backfill --limit 100000 --json | /usr/bin/python3 -c 'import json,sys; print("%.2f" % (sum(json.loads(l)["duration_us"] for l in sys.stdin) / 1e6))')
  printf '%-28s %d jobs in %.2f s = %.0f raw instances/s; tool time %.2f s (all jobs so far), writer cpu %.2f s\n' \
    "$1" "$jobs" "$secs" "$(echo "$N / $secs" | bc -l)" "$tool_s" "$(echo "($wcpu1 - $wcpu0) / $hz" | bc -l)"
}
once "1 tool runtime"
# Again with two runtimes: purge the computed streams, start a second runtime.
$HSCTL stream purge temp_1m/sensor=1 >/dev/null
$HSCTL stream purge minutes >/dev/null
HS_CONFIG=$DIR/hs.conf "$BIN/hs-tool" --set service_id=tools2 > "$DIR/logs/tools2.log" 2>&1 &
EXTRA=$!
sleep 1
once "2 tool runtimes"
