#!/usr/bin/env bash
# Ingest end to end: 100,000 JSON readings published to
# hs/raw/temperature/house=1/room=kitchen with 1,000 malformed messages mixed
# in. `hsctl stream get` returns exactly the valid readings, in order, with
# microsecond timestamps intact; hs/dead/ingest received exactly the
# malformed ones, each with a reason; no service died.
. "$(dirname "$0")/lib.sh"
it_setup
SID=temperature/house=1/room=kitchen
N=${IT_N:-100000}
BAD=1000
$PY - "$IT_DIR" "$N" "$BAD" <<'PY'
import random, sys
d, n, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
base = 1700000000
good = []
for i in range(n):
    us = random.randrange(1000000)
    good.append((base + i, us, round(random.uniform(15, 30), 3)))
# Expected output of hsctl stream get (JSON lines, ISO with microseconds).
import datetime
with open(f"{d}/expected.jsonl", "w") as f:
    for s, us, v in good:
        t = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        t += (".%06d" % us) + "Z" if us else "Z"
        f.write('{"t":"%s","v":%s}\n' % (t, repr(v)))
malformed = []
for i in range(bad):
    k = i % 5
    malformed.append(['not json %d' % i, '{"t":"yesterday","v":1}', '{"t":1,"v":', '{"v":1,"x":2}',
                      '{"t":99999999999999,"v":3}'][k])
lines = ['{"t":%d.%06d,"v":%s}' % (s, us, repr(v)) for s, us, v in good]
# Mix the malformed ones in at random places; write chunks of at most 50,000 lines.
for m in malformed:
    lines.insert(random.randrange(len(lines)), m)
for c in range(0, len(lines), 50000):
    with open(f"{d}/pub{c // 50000:03d}.txt", "w") as f:
        f.write("\n".join(lines[c:c + 50000]) + "\n")
PY
# Count dead letters while publishing.
mosquitto_sub -p "$IT_PORT" -q 1 -t 'hs/dead/ingest' > "$IT_DIR/dead.txt" &
IT_EXTRA_PIDS=$!
sleep 0.5
start=$(date +%s.%N)
for f in "$IT_DIR"/pub*.txt; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$SID" -l < "$f"
done
it_wait_eq "$N" 120 it_count "$SID"
end=$(date +%s.%N)
it_log "$N readings stored in $(echo "$end - $start" | bc) s"
$HSCTL stream get "$SID" > "$IT_DIR/got.jsonl"
cmp -s "$IT_DIR/got.jsonl" "$IT_DIR/expected.jsonl" || {
  diff "$IT_DIR/got.jsonl" "$IT_DIR/expected.jsonl" | head -5 >&2
  it_fail "stream get differs from the published readings"
}
for _ in $(seq 1 50); do
  [ "$(wc -l < "$IT_DIR/dead.txt")" -ge "$BAD" ] && break
  sleep 0.1
done
ndead=$(wc -l < "$IT_DIR/dead.txt")
[ "$ndead" -eq "$BAD" ] || it_fail "hs/dead/ingest got $ndead messages, expected $BAD"
$PY - "$IT_DIR/dead.txt" <<'PY' || it_fail "a dead letter lacks its reason, topic or payload"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["reason"] and d["topic"].startswith("hs/raw/") and ("payload" in d or "payload_b64" in d), d
PY
it_all_alive
it_log "ok: $N readings exact, $BAD dead letters with reasons"
