#!/usr/bin/env bash
# One rule for raw input, whoever sends it (docs/INPUT.md):
# - a bare word (`on`) is a string value on hs/raw and in `hsctl pub`; other
#   text that is not JSON is dead-lettered by ingest and refused by hsctl with
#   the same reason;
# - stream ids: the same validation for MQTT topics, inbox file names and
#   hsctl verbs; a space is refused everywhere, a '/' in a name is explained,
#   meta-data pairs are sorted; rejected ids from devices are dead-lettered
#   with the reason.
. "$(dirname "$0")/lib.sh"
export HS_FILE_SETTLE=200ms HS_WATCH_INTERVAL=200ms
it_setup
IN=$IT_DIR/inbox
mosquitto_sub -p "$IT_PORT" -q 1 -t 'hs/dead/ingest' > "$IT_DIR/dead.txt" &
IT_EXTRA_PIDS=$!
sleep 0.5

# Bare values: the same payloads through MQTT and through hsctl pub.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/switch/room=k/house=1' -m 'on'
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/switch/house=1/room=k' -m ' OFF
'
$HSCTL pub 'switch/room=k/house=1' heating_2 >/dev/null || it_fail "hsctl pub of a bare word failed"
$HSCTL pub 'switch/house=1/room=k' '"living room"' >/dev/null || it_fail "hsctl pub of a JSON string failed"
it_wait_eq 4 20 it_count "switch/house=1/room=k"
$HSCTL stream get 'switch/room=k/house=1' > "$IT_DIR/switch.jsonl"
$PY - "$IT_DIR/switch.jsonl" <<'PY' || it_fail "bare words were not stored as strings"
import json, sys
got = sorted(json.loads(l)["v"] for l in open(sys.argv[1]))
assert got == sorted(["on", "OFF", "heating_2", "living room"]), got
PY

# Text that is neither JSON nor a bare word: dead letter and hsctl refusal, same reason.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/switch/house=1/room=k' -m 'living room'
if $HSCTL pub 'switch/house=1/room=k' 'living room' 2> "$IT_DIR/pub_text.err"; then
  it_fail "hsctl pub sent text that ingest dead-letters"
fi
grep -q "bare word such as on" "$IT_DIR/pub_text.err" || { cat "$IT_DIR/pub_text.err" >&2; it_fail "hsctl pub does not say why"; }

# Stream ids: a space is refused by ingest, hsctl pub and hsctl stream get alike.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/bad id' -m '5'
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/foo/bar' -m '5'
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/temp/room=living room' -m '5'
for verb in "pub" "stream get" "stream intervals"; do
  args=('with space'); [ "$verb" = pub ] && args+=(5)
  # shellcheck disable=SC2086
  if $HSCTL $verb "${args[@]}" 2> "$IT_DIR/verb.err"; then it_fail "hsctl $verb accepted 'with space'"; fi
  grep -q "name 'with space' contains a space" "$IT_DIR/verb.err" \
    || { cat "$IT_DIR/verb.err" >&2; it_fail "hsctl $verb does not say why 'with space' is refused"; }
done
# An inbox file whose name gives an id with a space goes to failed/ with the reason.
printf 't,v\n2024-01-01T00:00:01Z,1\n' > "$IN/bad id.csv"
for _ in $(seq 1 100); do [ -f "$IN/failed/bad id.csv.errors" ] && break; sleep 0.1; done
grep -q "contains a space" "$IN/failed/bad id.csv.errors" 2>/dev/null \
  || it_fail "the inbox file 'bad id.csv' was not refused for its space"

# Dead letters: one per refused message, each with its reason and real topic.
for _ in $(seq 1 100); do [ "$(wc -l < "$IT_DIR/dead.txt")" -ge 4 ] && break; sleep 0.1; done
$PY - "$IT_DIR/dead.txt" <<'PY' || { cat "$IT_DIR/dead.txt" >&2; it_fail "dead letters differ"; }
import json, sys
want = {
    "hs/raw/switch/house=1/room=k": "bare word such as on",
    "hs/raw/bad id": "name 'bad id' contains a space",
    "hs/raw/foo/bar": "a name cannot hold '/'",
    "hs/raw/temp/room=living room": "value 'living room' contains a space",
}
got = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["topic"].startswith("hs/raw/"):
        got.setdefault(d["topic"], []).append(d["reason"])
assert sorted(got) == sorted(want), got
for topic, reasons in got.items():
    assert len(reasons) == 1 and want[topic] in reasons[0], (topic, reasons)
PY
[ "$(it_count "switch/house=1/room=k")" = 4 ] || it_fail "a refused payload was stored"
it_all_alive
it_log "ok: bare words and stream ids follow one rule on MQTT, in the inbox and in hsctl"
