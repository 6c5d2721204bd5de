#!/usr/bin/env bash
# The payload schemas in schemas/ against real traffic:
# 1. every schema is a valid JSON Schema, examples/*.yaml validate against
#    workflow.json, and sample workflows get the same verdict from the schema
#    and from `hsctl workflow check` (check_schemas.py selftest);
# 2. a stack runs a small scenario while a subscriber on '#' records every
#    message (with its MQTT v5 response topic and correlation data): raw data
#    in every accepted form plus one malformed message, a conflicting value,
#    the control channel of every service (ping, stats, get, get NAME, set,
#    a setting that cannot change, an unknown command, pause, drain and
#    resume of the tool runtime), a workflow with plates and a multi-output
#    factor, compute --wait (monitoring events workflow_start and
#    workflow_end), a late reading that reopens computed intervals
#    (hs/reopened) and a compute that recomputes them (corrections on
#    hs/c/<sid>; the writer's commits on hs/wseq), a purge, a rejected purge,
#    workflow removal, a shutdown
#    through the control channel and a kill; then every captured message must
#    validate against the schema of its topic kind, every reply against the
#    reply of the request it answers, every topic kind, write-request op,
#    status state and control reply kind must have been seen, the unknown
#    command must be refused by the schema and answered with an error, and
#    the malformed message must be refused by the schema and dead-lettered
#    (check_schemas.py capture).
. "$(dirname "$0")/../integration/lib.sh"
CHECK="$PY $(cd "$(dirname "$0")" && pwd)/check_schemas.py"

$CHECK selftest --hsctl "$HS_BIN/hsctl" || it_fail "schema self-test failed"

export HS_METRICS_INTERVAL=1s
it_setup
CAP="$IT_DIR/capture.tsv"
mosquitto_sub -h 127.0.0.1 -p "$IT_PORT" -V mqttv5 -q 1 -t '#' -F '%r\t%q\t%t\t%R\t%D\t%x' \
  >"$CAP" 2>"$IT_DIR/sub.err" &
IT_EXTRA_PIDS=$!

# Waits until the capture holds a line matching an extended regex (up to N seconds).
cap_wait() {
  local re=$1 secs=$2
  for _ in $(seq 1 $((secs * 10))); do
    grep -Eq "$re" "$CAP" 2>/dev/null && return 0
    sleep 0.1
  done
  it_fail "waited ${secs}s for a message matching '$re' on '#'"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# The retained status of the writer arrives as soon as the subscription exists.
cap_wait $'\ths/status/writer\t' 10

T0=1700000000
# JSON instance objects with epoch seconds, one per message (kitchen).
for i in $(seq 1 120); do echo "{\"t\":$((T0 + i)),\"v\":$i.5}"; done >"$IT_DIR/kitchen.txt"
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temperature/house=1/room=kitchen' -l <"$IT_DIR/kitchen.txt"
# A JSON batch with ISO-8601 timestamps (lounge), a msgpack [t_us, v] (lounge),
# a msgpack batch of maps for the multi-output factor (readings).
$PY - "$IT_DIR" "$T0" <<'PY'
import datetime, json, sys
import msgpack
d, t0 = sys.argv[1], int(sys.argv[2])
iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
with open(f"{d}/lounge.json", "w") as f:
    json.dump([{"t": iso(t0 + 2 * i), "v": 20 + i / 10} for i in range(1, 61)], f)
with open(f"{d}/lounge.mp", "wb") as f:
    f.write(msgpack.packb([(t0 + 121) * 10**6 + 500000, 7]))
with open(f"{d}/readings.mp", "wb") as f:
    f.write(msgpack.packb([[(t0 + i) * 10**6, {"room": ("kitchen", "lounge")[i % 2], "value": i}]
                           for i in range(1, 61)]))
PY
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temperature/house=1/room=lounge' -f "$IT_DIR/lounge.json"
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temperature/house=1/room=lounge' -f "$IT_DIR/lounge.mp"
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/readings/house=1' -f "$IT_DIR/readings.mp"
# A bare value stamped on arrival, and one with a time, through hsctl.
$HSCTL pub 'note/house=1' '"hello"' >/dev/null || it_fail "hsctl pub failed"
$HSCTL pub 'note/house=1' --t 2023-11-14T22:15:00Z 42 >/dev/null || it_fail "hsctl pub --t failed"
# The malformed message: its timestamp is neither ISO-8601 nor epoch seconds.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/malformed' -m '{"t":"yesterday","v":1}'
it_wait_eq 120 30 it_count 'temperature/house=1/room=kitchen'
it_wait_eq 61 30 it_count 'temperature/house=1/room=lounge'
it_wait_eq 60 30 it_count 'readings/house=1'
it_wait_eq 2 30 it_count 'note/house=1'
cap_wait $'\ths/dead/ingest\t' 10
# A different value at a stored timestamp: the writer keeps the old one and dead-letters this.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temperature/house=1/room=kitchen' -m "{\"t\":$((T0 + 1)),\"v\":99.5}"
cap_wait $'\ths/dead/writer\t' 10
# Readable: the value as JSON, the MQTT topic of the write request, the stream on its own.
DEAD_W=$(grep -F $'\ths/dead/writer\t' "$CAP" | head -1 | awk -F'\t' '{print $NF}' | python3 -c 'import sys; print(bytes.fromhex(sys.stdin.read().strip()).decode())')
for want in '"payload_json":99.5' '"topic":"hs/w/ingest' '"stream":"temperature/house=1/room=kitchen"'; do
  case "$DEAD_W" in *"$want"*) ;; *) it_fail "writer dead letter lacks $want: $DEAD_W" ;; esac
done

# The control channel. ctl_ok/ctl_refused SERVICE COMMAND...: the command is
# answered with "ok":true (exit 0) / with an error (exit 1); the answer is in $CTL.
CTL="$IT_DIR/ctl.out"
ctl_ok() {
  $HSCTL ctl "$@" >"$CTL" 2>"$IT_DIR/ctl.err" || {
    cat "$CTL" "$IT_DIR/ctl.err" >&2; it_fail "hsctl ctl $* failed"; }
  grep -q '"ok":true' "$CTL" || it_fail "hsctl ctl $*: $(cat "$CTL")"
}
ctl_refused() {
  local rc=0
  $HSCTL ctl "$@" >"$CTL" 2>"$IT_DIR/ctl.err" || rc=$?
  [ "$rc" = 1 ] || { cat "$CTL" "$IT_DIR/ctl.err" >&2; it_fail "hsctl ctl $* exited $rc, expected 1"; }
  grep -q '"ok":false,"error":' "$CTL" || it_fail "hsctl ctl $*: not an error: $(cat "$CTL")"
}
for svc in writer ingest scheduler tools; do
  ctl_ok $svc ping
  grep -q "\"id\":\"$svc\"" "$CTL" || it_fail "ping $svc answered $(cat "$CTL")"
  ctl_ok $svc stats
  ctl_ok $svc get
done
ctl_ok tools get tool
grep -q '"settings":{"tool":"all"}' "$CTL" || it_fail "get tool answered $(cat "$CTL")"
ctl_ok scheduler get max_inflight
ctl_ok ingest set log_level debug
ctl_ok ingest get log_level
grep -q '"settings":{"log_level":"debug"}' "$CTL" || it_fail "log_level did not change: $(cat "$CTL")"
ctl_ok scheduler set log_level debug
ctl_ok writer set batch_max_delay 20ms
ctl_refused writer set store_url 'sqlite:///tmp/elsewhere.db'
grep -q 'cannot be changed' "$CTL" || it_fail "set store_url answered $(cat "$CTL")"
ctl_refused scheduler get nosuch_setting
# Refused by the schema too (check_schemas.py capture --expect-refused 1).
ctl_refused scheduler frobnicate
grep -q 'unknown command' "$CTL" || it_fail "an unknown command answered $(cat "$CTL")"
# Pause the tool runtime: its retained status says paused, and so do ping, stats and top.
ctl_ok tools pause
grep -q '"state":"paused"' "$CTL" || it_fail "pause answered $(cat "$CTL")"
cap_wait $'\ths/status/tools\t.*'"$(hex '"state":"paused"')" 10
ctl_ok tools ping
grep -q '"state":"paused"' "$CTL" || it_fail "ping of a paused runtime answered $(cat "$CTL")"
ctl_ok tools stats
grep -q '"state":"paused"' "$CTL" || it_fail "stats of a paused runtime answered $(cat "$CTL")"
$HSCTL top --once >"$IT_DIR/top.out" 2>&1 || { cat "$IT_DIR/top.out" >&2; it_fail "hsctl top --once failed"; }
grep -Eq '^tools +tool +paused ' "$IT_DIR/top.out" || {
  cat "$IT_DIR/top.out" >&2; it_fail "hsctl top does not show the tool runtime paused"; }
# Resumed: the status turns online again once the runtime takes jobs again.
tools_online() { grep -c $'\ths/status/tools\t.*'"$(hex '"state":"online"')" "$CAP" || true; }
n_online=$(tools_online)
ctl_ok tools resume
grep -q '"state":"online"' "$CTL" || it_fail "resume answered $(cat "$CTL")"
it_wait_eq $((n_online + 1)) 10 tools_online
# Drain (pause until idle), then resume for the computation below.
ctl_ok tools drain
grep -q '"state":"drained"' "$CTL" || it_fail "drain answered $(cat "$CTL")"
ctl_ok tools resume
ctl_ok tools ping
grep -q '"state":"online"' "$CTL" || it_fail "the tool runtime did not resume: $(cat "$CTL")"

cat >"$IT_DIR/wf.yaml" <<'YAML'
id: schema_check
name: Schema check
job_span: 1m
plates:
  H:   {meta: house, values: ["1"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: sliding_window
    params: {width: 30s, increment: 30s}
    sink: win
  - tool: sliding_apply
    params: {func: mean}
    sources: [win, temperature]
    sink: room_mean
    plates: [H.R]
  - tool: aggregate
    params: {func: mean}
    over: room
    sources: [room_mean]
    sink: house_mean
    plates: [H]
  - tool: splitter
    params: {element: room}
    sources: [readings]
    sink: by_room
    plates: [H.R]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
$HSCTL compute schema_check --from $T0 --to $((T0 + 120)) --wait >"$IT_DIR/compute.out" 2>&1 || {
  cat "$IT_DIR/compute.out" >&2; it_fail "compute failed"; }
$HSCTL compute schema_check --from $T0 --to $((T0 + 120)) >"$IT_DIR/compute2.out" 2>&1 || {
  cat "$IT_DIR/compute2.out" >&2; it_fail "second compute failed"; }
grep -q ': 0 jobs planned' "$IT_DIR/compute2.out" || it_fail "computing again planned jobs: $(cat "$IT_DIR/compute2.out")"
# The monitoring events of the computation (hs/mon, SenML).
cap_wait $'\ths/mon\t.*'"$(hex '"n":"workflow_start"')" 10
cap_wait $'\ths/mon\t.*'"$(hex '"n":"workflow_end"')" 10
cap_wait $'\ths/wseq\t' 10
# A late reading inside what was computed: the intervals that read it are reopened
# (hs/reopened); computing again replaces them and publishes corrections (hs/c/<sid>).
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temperature/house=1/room=kitchen' -m "{\"t\":$((T0 + 45)).5,\"v\":1000}"
cap_wait $'\ths/reopened\t' 10
$HSCTL compute schema_check --from $T0 --to $((T0 + 120)) --wait >"$IT_DIR/compute3.out" 2>&1 || {
  cat "$IT_DIR/compute3.out" >&2; it_fail "computing the reopened intervals failed"; }
cap_wait $'\ths/c/room_mean/house=1/room=kitchen\t' 10

# A purge, a purge the writer rejects, a workflow removal and one the scheduler rejects.
$HSCTL stream purge 'note/house=1' >/dev/null || it_fail "purge failed"
rc=0; $HSCTL stream purge 'nosuch/house=1' >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "purging an unknown stream exited $rc, expected 1"
$HSCTL meta add site=a/device=1 site=b >/dev/null || it_fail "meta add failed"
$HSCTL meta rm site=b >/dev/null || it_fail "meta rm failed"
$HSCTL workflow rm schema_check >/dev/null || it_fail "workflow rm failed"
rc=0; $HSCTL workflow rm nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "removing an unknown workflow exited $rc, expected 1"

# Offline statuses: a clean stop through the control channel (reason stopped)
# and a kill (the last will).
ctl_ok tools shutdown
grep -q '"state":"stopping"' "$CTL" || it_fail "shutdown answered $(cat "$CTL")"
cap_wait $'\ths/status/tools\t.*'"$(hex '"reason":"stopped"')" 10
kill -KILL "$(it_pid ingest)"
cap_wait $'\ths/status/ingest\t.*'"$(hex '"reason":"connection lost"')" 10
# Let metrics tick once more, then stop recording.
sleep 1.5
kill "$IT_EXTRA_PIDS" 2>/dev/null || true
wait "$IT_EXTRA_PIDS" 2>/dev/null || true
IT_EXTRA_PIDS=

$CHECK capture "$CAP" --expect-invalid 'hs/raw/malformed' --expect-refused 1 ||
  it_fail "captured messages do not match the schemas (capture kept in $CAP with IT_KEEP=1)"
it_log "ok"
