#!/usr/bin/env bash
# Input schemas (docs/SCHEMAS.md): a schemas file given to ingest (setting
# `schemas`) checks the value of every raw reading, over MQTT and from
# files. Good readings are stored; bad ones are not, each is dead-lettered
# on hs/dead/ingest with the schema's message and the stream id, counted in
# schema_rejected, and for files listed in the .errors report. The other
# readings of the same message or file are stored.
# Schemas in a workflow file (`schemas:`) reach ingest through the scheduler
# (retained on hs/schemas/<workflow>): they apply from `hsctl workflow add`
# on and stop applying once the workflow is replaced without them or
# removed; `hsctl workflow check` names the line of a misspelt keyword.
. "$(dirname "$0")/lib.sh"
export HS_FILE_SETTLE=200ms HS_WATCH_INTERVAL=200ms
SCHEMA_DIR=$(mktemp -d /tmp/hs-it-schema-XXXXXX)
export HS_SCHEMAS=$SCHEMA_DIR/schemas.yaml
cat > "$HS_SCHEMAS" <<'YAML'
# Temperatures are numbers within the sensor's range.
- stream: temperature/#
  schema: {type: number, minimum: -40, maximum: 100}
# Every house-1 stream (one meta-data pair) must also be a number: both apply.
- stream: +/house=1
  schema: {type: number}
# A schema file, relative to this file.
- stream: door/#
  schema: door.json
YAML
cat > "$SCHEMA_DIR/door.json" <<'JSON'
{"type": "object", "required": ["state"], "additionalProperties": false,
 "properties": {"state": {"enum": ["open", "closed"]}, "battery": {"type": "integer"}}}
JSON
it_setup
IT_EXTRA_PIDS=""
mosquitto_sub -p "$IT_PORT" -q 1 -t 'hs/dead/ingest' > "$IT_DIR/dead.txt" &
IT_EXTRA_PIDS="$IT_EXTRA_PIDS $!"
sleep 0.5
T=temperature/house=1
D=door/site=lab
# One message with three good readings and two bad ones, then single readings.
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$T" -m \
  '[{"t":1700000001,"v":20.5},{"t":1700000002,"v":120},{"t":1700000003,"v":-3},{"t":1700000004,"v":"hot"},{"t":1700000005,"v":100}]'
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$D" -m '{"t":1700000001,"v":{"state":"open","battery":90}}'
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$D" -m '{"t":1700000002,"v":{"state":"ajar"}}'
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$D" -m '{"t":1700000003,"v":{"state":"closed","x":1}}'
# A stream no pattern matches takes anything.
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/humidity/house=2" -m '{"t":1700000001,"v":"any"}'
it_wait_eq 3 30 it_count "$T"
it_wait_eq 1 30 it_count "$D"
it_wait_eq 1 30 it_count "humidity/house=2"
$HSCTL stream get "$T" > "$IT_DIR/t.jsonl"
printf '%s\n' '{"t":"2023-11-14T22:13:21Z","v":20.5}' '{"t":"2023-11-14T22:13:23Z","v":-3}' \
  '{"t":"2023-11-14T22:13:25Z","v":100}' > "$IT_DIR/t.expected"
cmp -s "$IT_DIR/t.jsonl" "$IT_DIR/t.expected" || { diff "$IT_DIR/t.jsonl" "$IT_DIR/t.expected" >&2; it_fail "stored temperatures differ"; }
$HSCTL stream get "$D" | grep -q '"v":{"state":"open","battery":90}' || it_fail "the good door reading is not stored"

# Files: the bad rows are rejected and reported, the good ones stored.
printf 't,v\n2024-01-01T00:00:01Z,21\n2024-01-01T00:00:02Z,-50\n2024-01-01T00:00:03Z,22\n' \
  > "$IT_DIR/inbox/temperature,house=3.csv"
it_wait_eq 2 30 it_count "temperature/house=3"
for _ in $(seq 1 100); do [ -f "$IT_DIR/inbox/failed/temperature,house=3.csv.errors" ] && break; sleep 0.1; done
grep -q "line 3: stream temperature/house=3: schema 'temperature/#' (config): /v: -50 is less than minimum -40" \
  "$IT_DIR/inbox/failed/temperature,house=3.csv.errors" \
  || { cat "$IT_DIR/inbox/failed/temperature,house=3.csv.errors" >&2; it_fail "the .errors report does not name the failing row"; }

# Dead letters: one per bad reading, with the stream id and the schema's message.
want=(
  "stream $T: schema 'temperature/#' (config): /v: 120 is greater than maximum 100"
  "stream $T: schema 'temperature/#' (config): /v: \\\"hot\\\" is not of type number"
  "stream $D: schema 'door/#' (config): /v/state: \\\"ajar\\\" is not one of the values of enum"
  "stream $D: schema 'door/#' (config): /v: property \\\"x\\\" is not allowed by additionalProperties"
  "schema 'temperature/#' (config): /v: -50 is less than minimum -40"
)
for _ in $(seq 1 100); do [ "$(wc -l < "$IT_DIR/dead.txt")" -ge 5 ] && break; sleep 0.1; done
for w in "${want[@]}"; do
  grep -qF -- "$w" "$IT_DIR/dead.txt" || { cat "$IT_DIR/dead.txt" >&2; it_fail "no dead letter saying: $w"; }
done
[ "$(wc -l < "$IT_DIR/dead.txt")" = 5 ] || { cat "$IT_DIR/dead.txt" >&2; it_fail "expected exactly 5 dead letters"; }
# The dead letter carries the failing reading itself.
grep -F '120 is greater' "$IT_DIR/dead.txt" | grep -qF '2023-11-14T22:13:22Z' || it_fail "the dead letter does not carry the reading"

# The count: schema_rejected in the ingest's stats.
$HSCTL ctl ingest stats > "$IT_DIR/stats.json" 2>/dev/null || it_fail "ctl ingest stats failed"
n=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["schema_rejected"])' "$IT_DIR/stats.json") \
  || { cat "$IT_DIR/stats.json" >&2; it_fail "no schema_rejected in the stats"; }
[ "$n" = 5 ] || it_fail "schema_rejected is $n, expected 5"

# Schemas in a workflow: applied by ingest once the workflow is added.
mosquitto_sub -p "$IT_PORT" -q 1 -t 'hs/dead/ingest' > "$IT_DIR/dead2.txt" &
IT_EXTRA_PIDS="$IT_EXTRA_PIDS $!"
wf_yaml() {
  printf 'id: climate\nfactors:\n  - tool: apply\n    params: {func: neg}\n    sources: [pressure]\n    sink: neg_pressure\n'
  [ "$1" = with ] && printf 'schemas:\n  - stream: pressure/#\n    schema: {type: number, minimum: 900, maximum: 1100}\n'
  return 0
}
# Waits until ingest's log has said text N times (the scheduler's retained message was applied).
wait_log() {
  for _ in $(seq 1 300); do
    [ "$(grep -cF -- "$2" "$IT_DIR"/logs/ingest*.log 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}')" -ge "$1" ] && return 0
    sleep 0.1
  done
  it_fail "ingest never logged '$2' $1 times"
}
P=pressure/site=a
pub() { mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$P" -m "{\"t\":$1,\"v\":$2}"; }
wf_yaml with > "$IT_DIR/climate.yaml"
$HSCTL workflow add "$IT_DIR/climate.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add: $(cat "$IT_DIR/add.out")"
wait_log 1 "1 input schemas of workflow climate applied"
pub 1700000001 5
pub 1700000002 1000
it_wait_eq 1 30 it_count "$P"
for _ in $(seq 1 100); do [ -s "$IT_DIR/dead2.txt" ] && break; sleep 0.1; done
grep -qF "stream $P: schema 'pressure/#' (workflow climate): /v: 5 is less than minimum 900" "$IT_DIR/dead2.txt" \
  || { cat "$IT_DIR/dead2.txt" >&2; it_fail "no dead letter naming the workflow"; }
$HSCTL stream get "$P" | grep -qF '"v":1000' || it_fail "the good pressure is not stored"
# Replaced without schemas: the same bad reading is stored now.
wf_yaml without > "$IT_DIR/climate.yaml"
$HSCTL workflow add "$IT_DIR/climate.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add (replace): $(cat "$IT_DIR/add.out")"
wait_log 1 "1 input schemas of workflow climate removed"
pub 1700000001 5
it_wait_eq 2 30 it_count "$P"
# With schemas again, then removed: rejected, then stored.
wf_yaml with > "$IT_DIR/climate.yaml"
$HSCTL workflow add "$IT_DIR/climate.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add (again): $(cat "$IT_DIR/add.out")"
wait_log 2 "1 input schemas of workflow climate applied"
pub 1700000003 1200
pub 1700000004 950
it_wait_eq 3 30 it_count "$P"
$HSCTL stream get "$P" | grep -qF '"v":1200' && it_fail "a reading that fails the workflow's schema was stored"
$HSCTL workflow rm climate > "$IT_DIR/rm.out" 2>&1 || it_fail "workflow rm: $(cat "$IT_DIR/rm.out")"
wait_log 2 "1 input schemas of workflow climate removed"
pub 1700000003 1200
it_wait_eq 4 30 it_count "$P"
[ "$(grep -c 'workflow climate' "$IT_DIR/dead2.txt")" = 2 ] || { cat "$IT_DIR/dead2.txt" >&2; it_fail "expected 2 dead letters of workflow climate"; }
# A schemas message ingest cannot use is dead-lettered with the reason.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/schemas/ghost' -m 'not msgpack'
for _ in $(seq 1 100); do grep -q 'ghost' "$IT_DIR/dead2.txt" && break; sleep 0.1; done
grep -qF 'input schemas of workflow ghost not applied (its previous ones stay): input schemas: not one msgpack value' "$IT_DIR/dead2.txt" \
  || { cat "$IT_DIR/dead2.txt" >&2; it_fail "a bad schemas message was not dead-lettered"; }
# Schemas retained for a workflow that is not loaded (a clear that failed, or one published
# by hand): the scheduler clears them, so ingest does not keep enforcing them.
$PY - > "$IT_DIR/phantom.mp" <<'PY'
import sys
def s(x):
    b = x.encode()
    return bytes([0xa0 | len(b)]) + b
def m(d):
    out = bytes([0x80 | len(d)])
    for k, v in d.items():
        out += s(k) + enc(v)
    return out
def enc(v):
    if isinstance(v, dict): return m(v)
    if isinstance(v, list): return bytes([0x90 | len(v)]) + b"".join(enc(x) for x in v)
    if isinstance(v, int): return bytes([v])
    return s(v)
sys.stdout.buffer.write(m({"workflow": "phantom", "schemas": [{"stream": "ph/#", "schema": {"maximum": 1}}]}))
PY
mosquitto_pub -p "$IT_PORT" -q 1 -r -t 'hs/schemas/phantom' -f "$IT_DIR/phantom.mp"
for _ in $(seq 1 100); do grep -q "clearing the input schemas of workflow phantom" "$IT_DIR/logs/scheduler.log" && break; sleep 0.1; done
grep -qF "clearing the input schemas of workflow phantom on hs/schemas/phantom: no such workflow is loaded" "$IT_DIR/logs/scheduler.log" \
  || { tail -5 "$IT_DIR/logs/scheduler.log" >&2; it_fail "the scheduler did not clear the schemas of a workflow it has not loaded"; }
if [ -n "$(timeout 3 mosquitto_sub -p "$IT_PORT" -t 'hs/schemas/phantom' -C 1 -W 2 2>/dev/null | head -c 1)" ]; then
  it_fail "the stale schemas are still retained on the broker"
fi
wait_log 1 "input schemas of workflow phantom removed"
$HSCTL pub ph/k=1 5 > /dev/null 2>&1 || it_fail "hsctl pub ph/k=1"
it_wait_eq 1 30 it_count ph/k=1

# A misspelt keyword in a workflow's schema: check and add refuse it, naming the line.
wf_yaml with | sed 's/maximum/maximun/' > "$IT_DIR/typo.yaml"
if $HSCTL workflow check "$IT_DIR/typo.yaml" > "$IT_DIR/typo.out" 2>&1; then it_fail "workflow check accepted a misspelt schema keyword"; fi
grep -qE "typo.yaml:9:[0-9]+: schema: /maximun: unknown keyword 'maximun'" "$IT_DIR/typo.out" \
  || { cat "$IT_DIR/typo.out" >&2; it_fail "workflow check does not name the line of the misspelt keyword"; }
if $HSCTL workflow add "$IT_DIR/typo.yaml" > "$IT_DIR/typo.out" 2>&1; then it_fail "workflow add accepted a misspelt schema keyword"; fi
grep -qF "unknown keyword 'maximun'" "$IT_DIR/typo.out" || { cat "$IT_DIR/typo.out" >&2; it_fail "workflow add does not say why"; }

# A schemas file with a typo stops ingest with the file and line.
printf -- '- stream: a/#\n  schema: {type: number, maximun: 3}\n' > "$SCHEMA_DIR/bad.yaml"
if HS_SCHEMAS="$SCHEMA_DIR/bad.yaml" "$HS_BIN/hs-ingest" --config "$IT_DIR/hs.conf" --set service_id=ingest-check > "$IT_DIR/bad.out" 2>&1; then
  it_fail "hs-ingest started with an invalid schema"
fi
grep -qF "bad.yaml:2:35: schema: /maximun: unknown keyword 'maximun'" "$IT_DIR/bad.out" \
  || { cat "$IT_DIR/bad.out" >&2; it_fail "the schema error does not name file and line"; }
rm -rf "$SCHEMA_DIR"
it_all_alive || it_fail "a service died"
it_log "schemas: good readings stored, 5 bad ones dead-lettered and counted; a workflow's schemas apply from add to rm"
