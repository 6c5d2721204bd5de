# Shared helpers of the integration tests: each test starts its own stack
# (private Mosquitto on a free loopback port, services, SQLite store) in a
# temporary directory with `hsctl up`, and stops exactly that stack by its
# PID files at the end.
#
# Tests are run by ctest with HS_BIN set to the directory of the binaries.
set -euo pipefail

: "${HS_BIN:?HS_BIN must name the directory holding hsctl and the services}"
PY=/usr/bin/python3
# hs_blocks.py: the tests' own reader of the store's blocks.
PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../support" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

it_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
it_fail() { echo "FAIL: $*" >&2; it_dump_logs; exit 1; }

it_free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

it_dump_logs() {
  [ -n "${IT_DIR:-}" ] && [ -d "$IT_DIR/logs" ] || return 0
  for f in "$IT_DIR"/logs/*.log; do
    echo "---- $f (last 20 lines)" >&2
    tail -n 20 "$f" >&2 || true
  done
}

it_teardown() {
  local rc=$?
  if [ -n "${IT_DIR:-}" ]; then
    "$HS_BIN/hsctl" --data "$IT_DIR" down >/dev/null 2>&1 || true
    for p in ${IT_EXTRA_PIDS:-}; do kill "$p" 2>/dev/null || true; done
    # Services built with sanitizers report into their logs (also at exit): any report fails.
    if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:' \
         "$IT_DIR"/logs/*.log >/dev/null 2>&1; then
      echo "FAIL: a sanitizer reported a problem in a service:" >&2
      grep -hE -A25 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:' \
        "$IT_DIR"/logs/*.log | head -80 >&2
      rc=1
    fi
    if [ -z "${IT_KEEP:-}" ]; then rm -rf "$IT_DIR"; else echo "kept $IT_DIR" >&2; fi
  fi
  exit $rc
}

# Starts a stack; sets IT_DIR, IT_PORT, HSCTL (a command prefix), and IT_HTTP, the URL of
# its hs-api (on a port of its own: tests run side by side).
it_setup() {
  IT_DIR=$(mktemp -d /tmp/hs-it-XXXXXX)
  IT_PORT=$(it_free_port)
  HS_HTTP_PORT=${HS_HTTP_PORT:-$(it_free_port)}
  export HS_HTTP_PORT
  IT_HTTP=http://127.0.0.1:$HS_HTTP_PORT
  HSCTL="$HS_BIN/hsctl --data $IT_DIR"
  trap it_teardown EXIT
  $HSCTL up --port "$IT_PORT" >"$IT_DIR/up.out" 2>&1 || { cat "$IT_DIR/up.out" >&2; it_fail "hsctl up failed"; }
}

# Waits until a command's output equals the expected text (polling up to N seconds).
it_wait_eq() {
  local expect=$1 secs=$2; shift 2
  local got=""
  for _ in $(seq 1 $((secs * 10))); do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$expect" ] && return 0
    sleep 0.1
  done
  it_fail "waited ${secs}s for '$*' to print '$expect'; last: '$got'"
}

# Number of instances of a stream (0 when it does not exist).
it_count() {
  $HSCTL stream ls --json 2>/dev/null | $PY -c '
import json,sys
want=sys.argv[1]
for line in sys.stdin:
    d=json.loads(line)
    if d["stream"]==want: print(d["count"]); break
else: print(0)' "$1"
}

# Every stream read back: $IT_DIR/streams.jsonl (stream ls --json) and
# $IT_DIR/all.jsonl, one line {"s": id, "t": ISO time, "v": value} per instance.
it_read_streams() {
  $HSCTL stream ls --json > "$IT_DIR/streams.jsonl"
  : > "$IT_DIR/all.jsonl"
  $PY -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["stream"])' "$IT_DIR/streams.jsonl" | while read -r sid; do
    $HSCTL stream get "$sid" --format json | $PY -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({"s": sys.argv[1], "t": r["t"], "v": r["v"]}))' "$sid" >> "$IT_DIR/all.jsonl"
  done
}

# An epoch time in seconds as the ISO text hsctl and the services print.
it_iso() { $PY -c 'import datetime,sys; print(datetime.datetime.fromtimestamp(float(sys.argv[1]), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"; }

# Ten minutes of 1 Hz readings on stream vals, v = i at t0 + i (i = 1..600), stored.
it_load_vals() {  # t0
  $PY - "$IT_DIR" "$1" <<'PY'
import json, sys
d, t0 = sys.argv[1], int(sys.argv[2])
with open(f"{d}/vals.txt", "w") as f:
    for c in range(1, 601, 100):
        f.write(json.dumps([{"t": t0 + i, "v": float(i)} for i in range(c, c + 100)]) + "\n")
PY
  mosquitto_pub -p "$IT_PORT" -q 1 -t hs/raw/vals -l < "$IT_DIR/vals.txt"
  it_wait_eq 600 30 it_count vals
}

# PID of a service of the stack.
it_pid() { cat "$IT_DIR/run/$1.pid"; }

# Every service of the stack is still running.
it_all_alive() {
  for s in writer ingest scheduler tools broker; do
    [ -f "$IT_DIR/run/$s.pid" ] || continue
    kill -0 "$(it_pid $s)" 2>/dev/null || it_fail "service $s died"
  done
}

# Restarts one service with the same settings as 'hsctl up' gave it.
# Stops service $1 of the stack with SIGTERM and waits (at most 30 s) until its
# process has exited: a service still shutting down counts as running for
# `hsctl up`, which would then not start it again.
it_stop() {
  local pid; pid=$(it_pid "$1")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  it_fail "$1 (pid $pid) did not exit within 30 s of SIGTERM"
}

it_restart() {
  "$HS_BIN/hsctl" --data "$IT_DIR" up --port "$IT_PORT" > "$IT_DIR/restart.out" 2>&1 || {
    cat "$IT_DIR/restart.out" >&2; it_fail "restarting ${1:-the stopped services} failed"; }
}
