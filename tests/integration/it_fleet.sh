#!/usr/bin/env bash
# A workflow over a fleet of 20,000 devices: per device (plate G.D) the mean
# of each minute, over the fleet (aggregate over dev onto G) the mean of all
# devices' minute means. Three minutes of one reading per device per minute
# arrive as one msgpack batch per device. Checked against the store itself
# (the SQLite file, read-only): every device's minute means and the fleet's
# equal the means computed here from the stored raw readings; the
# per-device factor ran as jobs over many plate values (job_plate_values,
# 256 by default: at most 79 jobs per minute-span for 20,000 devices, not
# 20,000), and the aggregate over 20,000 sources is one job.
. "$(dirname "$0")/lib.sh"
N=${IT_FLEET_DEVICES:-20000}
it_setup
T0=1700002800 # a whole hour
S=1000000

$PY - "$IT_PORT" "$N" "$T0" "$(dirname "$0")/../support" <<'PY' || it_fail "publishing the readings failed"
import random, sys
port, n, t0 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
import mqttbatch
random.seed(20000)
with mqttbatch.Client(port, "it-fleet") as c:
    for d in range(n):
        # Minute k's reading at a second of its own (1..59), so minutes never share one.
        rs = [((t0 + 60 * k + 1 + (d * 7 + k) % 59) * 1000000, round(random.uniform(10, 30), 3))
              for k in range(3)]
        c.publish("hs/raw/temp/g=1/dev=%d" % d, mqttbatch.batch(rs))
    c.flush()
PY
committed() { $HSCTL stream ls temp/ --json | $PY -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))'; }
it_wait_eq $((N * 3)) 300 committed
it_log "$((N * 3)) readings of $N devices stored"

$PY "$(dirname "$0")/../support/fleetwf.py" "$N" > "$IT_DIR/fleet.yaml"
$HSCTL workflow add "$IT_DIR/fleet.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add: $(cat "$IT_DIR/add.out")"
$HSCTL compute fleet --from "$T0" --to "$((T0 + 180))" --wait --yes > "$IT_DIR/c.out" 2>&1 ||
  it_fail "compute failed: $(tail -n 5 "$IT_DIR/c.out")"
it_log "computed: $(tail -n 1 "$IT_DIR/c.out")"

# Jobs: the per-device factor over ceil(N / 256) jobs, the aggregate one job.
$HSCTL jobs fleet --limit 1000000 --json > "$IT_DIR/jobs.jsonl" || it_fail "hsctl jobs failed"
$PY - "$IT_DIR/jobs.jsonl" "$N" <<'PY' || it_fail "the jobs: $(head -c 600 "$IT_DIR/jobs.jsonl")"
import collections, json, sys
n = int(sys.argv[2])
jobs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert all(j["outcome"] == "ok" for j in jobs), [j for j in jobs if j["outcome"] != "ok"][:2]
by = collections.Counter(int(j["factor"]) for j in jobs)
want = (n + 255) // 256
assert by[1] == want, ("per-device jobs", dict(by), want)
assert by[2] == 1, ("aggregate jobs", dict(by))
PY

# Every value against the means of the stored raw readings.
$PY - "$IT_DIR/hs.db" "$N" "$T0" <<'PY' || it_fail "the computed streams differ from the stored readings"
import collections, hs_blocks, sqlite3, struct, sys
db, n, t0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
def num(v):
    assert v[0] == 0xcb, v  # float64
    return struct.unpack(">d", v[1:])[0]
rows = collections.defaultdict(dict)
for sid, t, v in hs_blocks.rows(con):
    rows[sid][t] = v
ends = [(t0 + 60 * (k + 1)) * 1000000 for k in range(3)]
dev_means = collections.defaultdict(list)
bad = 0
for d in range(n):
    raw = rows["temp/dev=%d/g=1" % d]
    assert len(raw) == 3, (d, raw)
    got = rows.get("temp_1m/dev=%d/g=1" % d, {})
    for e in ends:
        vals = [num(v) for t, v in raw.items() if e - 60000000 < t <= e]
        want = sum(vals) / len(vals)
        dev_means[e].append(want)
        if e not in got or abs(num(got[e]) - want) > 1e-9:
            bad += 1
            if bad <= 3:
                print("device %d minute %d: %r, expected %r" % (d, e, got.get(e), want), file=sys.stderr)
assert bad == 0, "%d device minutes wrong" % bad
fleet = rows.get("fleet_temp/g=1", {})
assert sorted(fleet) == ends, sorted(fleet)
for e in ends:
    want = sum(dev_means[e]) / n
    assert abs(num(fleet[e]) - want) <= 1e-9 * abs(want), (e, num(fleet[e]), want)
print("ok: %d devices x 3 minutes and 3 fleet means" % n)
PY
it_log "all $N x 3 device means and 3 fleet means equal the independent computation"
it_all_alive
it_log "ok"
