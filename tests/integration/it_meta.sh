#!/usr/bin/env bash
# The stack's meta-data tree on a real stack (issue 15, docs/MODEL.md
# section 1): a workflow whose plates select from the tree (sites with
# different devices), changed while it runs with hsctl meta add and rm.
#  1. The workflow's meta: block fills the tree; the computed streams exist
#     for the tree's (site, device) pairs only.
#  2. meta add site=b/device=4: its stream is computed, and the site's
#     aggregate, computed before without it, is computed again with it.
#  3. meta rm site=a/device=2: a later interval computes nothing for it; what
#     was computed stays, and site a's aggregate leaves it out from then on.
#  4. meta ls / tree show the tree; a scheduler restart keeps it.
#  5. Growth from data (grow: from_data): the raw streams of a workflow's
#     input add their zones and sensors to the tree when it computes; a new
#     sensor's data adds it at the next compute.
#  6. A site removed while its jobs are queued (the runtime paused): they are
#     dropped, the request ends ok with the jobs that are left, and the
#     site's streams compute nothing for that interval.
# Every value is checked against Python on the raw data read back from the store.
# Jobs group two plate values (as fleets group 256 from 1,000 on): a tree change
# moves the groups' bounds under the jobs.
export HS_JOB_GROUP_MIN=2 HS_JOB_PLATE_VALUES=2
. "$(dirname "$0")/lib.sh"

it_setup
T0=1700006400 # whole hours: the data lies in (T0, T0 + 1200]
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(1515)
with open(f"{d}/pub.txt", "w") as f:
    for sd in ["device=1/site=a", "device=2/site=a", "device=3/site=b", "device=4/site=b"]:
        vals = [{"t": t0 + i, "v": round(random.uniform(0, 500), 1)}
                for i in range(1, 1201) if random.random() < 0.5]
        for k in range(0, len(vals), 100):
            f.write(f"power/{sd} " + json.dumps(vals[k:k + 100]) + "\n")
PY
while read -r sid payload; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$sid" -m "$payload"
done < "$IT_DIR/pub.txt"
want_raw=$($PY -c '
import json, sys
print(sum(len(json.loads(l.split(" ", 1)[1])) for l in open(sys.argv[1])))' "$IT_DIR/pub.txt")
raw_total() {
  $HSCTL stream ls --json | $PY -c '
import json, sys
print(sum(r["count"] for r in map(json.loads, sys.stdin) if r["stream"].startswith("power/")))'
}
it_wait_eq "$want_raw" 60 raw_total
it_log "raw data stored: $want_raw readings on 4 devices"

cat > "$IT_DIR/fleet.yaml" <<'YAML'
id: fleet
job_span: 10m
meta:
  site=a: {device: ["1", "2"]}
  site=b: {device: ["3"]}
plates:
  S:   {meta: site}
  S.D: {meta: device, parent: S}
inputs:
  power: {plates: [S.D]}
factors:
  - tool: apply
    params: {func: neg}
    sources: [power]
    sink: power_neg
    plates: [S.D]
  - tool: aggregate
    params: {func: sum}
    over: device
    sources: [power]
    sink: site_power
    plates: [S]
YAML
$HSCTL workflow add "$IT_DIR/fleet.yaml" > /dev/null || it_fail "workflow add failed"

compute() {  # from to
  $HSCTL compute fleet --from "$1" --to "$2" --wait --timeout 120 > "$IT_DIR/compute.out" 2>&1 || {
    cat "$IT_DIR/compute.out" >&2; it_fail "compute ($1, $2] failed"; }
  it_log "compute ($1, $2]: $(tail -n 1 "$IT_DIR/compute.out")"
}

# Checks the computed streams against Python: tree is the (site, device) pairs each computed
# interval (a, b] had, as "a:b:site/device,site/device..." arguments.
check() {
  it_read_streams
  $PY - "$IT_DIR" "$@" <<'PY' || it_fail "computed streams differ from the raw data (above)"
import datetime, json, math, sys
d, spans = sys.argv[1], sys.argv[2:]
data = {}
for l in open(f"{d}/all.jsonl"):
    r = json.loads(l)
    t = datetime.datetime.fromisoformat(r["t"].replace("Z", "+00:00")).timestamp()
    data.setdefault(r["s"], {})[t] = r["v"]
def within(series, a, b):
    return {t: v for t, v in series.items() if a < t <= b}
exp = {}
for span in spans:
    a, b, pairs = span.split(":")
    a, b = int(a), int(b)
    tree = [p.split("/") for p in pairs.split(",")]
    for site, dev in tree:
        raw = within(data[f"power/device={dev}/site={site}"], a, b)
        exp.setdefault(f"power_neg/device={dev}/site={site}", {}).update({t: -v for t, v in raw.items()})
    for site in {s for s, _ in tree}:
        by_t = {}
        for s, dev in tree:
            if s == site:
                for t, v in within(data[f"power/device={dev}/site={site}"], a, b).items():
                    by_t.setdefault(t, []).append(v)
        exp.setdefault(f"site_power/site={site}", {}).update({t: math.fsum(v) for t, v in by_t.items()})
bad = []
computed = {s for s in data if not s.startswith("power/")}
for s in sorted(computed | set(exp)):
    got, want = data.get(s, {}), exp.get(s, {})
    if set(got) != set(want):
        bad.append((s, "timestamps", len(got), len(want)))
        continue
    for t in want:
        if not math.isclose(got[t], want[t], rel_tol=1e-12, abs_tol=1e-9):
            bad.append((s, t, got[t], want[t]))
            break
for b in bad:
    print("differs:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# 1. The file's tree: a/1, a/2, b/3 (device 4 has raw data but is not in the tree).
compute "$T0" "$((T0 + 600))"
check "$T0:$((T0 + 600)):a/1,a/2,b/3"
it_log "1: computed for the tree's pairs only, values right"

# 2. A new device: computed, and site b's aggregate computed again with it.
out=$($HSCTL meta add site=b/device=4) || it_fail "meta add failed: $out"
[ "$out" = "1 nodes inserted; 1 workflows expanded again" ] || it_fail "meta add said: $out"
compute "$T0" "$((T0 + 600))"
check "$T0:$((T0 + 600)):a/1,a/2,b/3,b/4"
it_log "2: device 4 computed; site b's sum includes it"

# 3. A device removed: later intervals leave it out, what it had stays.
out=$($HSCTL meta rm site=a/device=2) || it_fail "meta rm failed: $out"
[ "$out" = "1 nodes deleted; 1 workflows expanded again" ] || it_fail "meta rm said: $out"
compute "$T0" "$((T0 + 1200))"
check "$T0:$((T0 + 600)):a/1,a/2,b/3,b/4" "$((T0 + 600)):$((T0 + 1200)):a/1,b/3,b/4"
it_log "3: device 2 stopped at the removal; its streams and site a's past sums kept"

# 4. ls and tree; a restart of the scheduler keeps the tree and what the workflow selects.
want_ls=$'site=a\nsite=a/device=1\nsite=b\nsite=b/device=3\nsite=b/device=4'
[ "$($HSCTL meta ls)" = "$want_ls" ] || it_fail "meta ls: $($HSCTL meta ls)"
[ "$($HSCTL meta ls site=b)" = $'site=b\nsite=b/device=3\nsite=b/device=4' ] || it_fail "meta ls site=b: $($HSCTL meta ls site=b)"
want_tree=$'.\n├── site=a\n│   └── device=1\n└── site=b\n    ├── device=3\n    └── device=4'
[ "$($HSCTL meta tree)" = "$want_tree" ] || it_fail "meta tree: $($HSCTL meta tree)"
# Idempotent: again, nothing changes.
[ "$($HSCTL meta add site=b/device=4)" = "0 nodes inserted; 0 workflows expanded again" ] || it_fail "meta add again changed something"
[ "$($HSCTL meta rm site=a/device=2)" = "0 nodes deleted; 0 workflows expanded again" ] || it_fail "meta rm again changed something"
rc=0; $HSCTL meta add 'site=a/dev#=1' > "$IT_DIR/bad.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "not a meta-data path" "$IT_DIR/bad.out" || it_fail "a bad path was not refused: $(cat "$IT_DIR/bad.out")"
it_stop scheduler
it_restart scheduler
[ "$($HSCTL meta ls)" = "$want_ls" ] || it_fail "meta ls after a restart: $($HSCTL meta ls)"
compute "$T0" "$((T0 + 1800))"
check "$T0:$((T0 + 600)):a/1,a/2,b/3,b/4" "$((T0 + 600)):$((T0 + 1200)):a/1,b/3,b/4" \
  "$((T0 + 1200)):$((T0 + 1800)):a/1,b/3,b/4"
it_log "4: ls, tree and a scheduler restart keep the tree"

# 5. Growth from data.
pub_temp() {  # sensor zone: 1 Hz over (T0, T0 + 600], v = sensor * 1000 + i
  $PY -c '
import json, sys
t0, s = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps([{"t": t0 + i, "v": s * 1000 + i} for i in range(1, 601)]))' "$T0" "$1" |
    mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temp/sensor=$1/zone=$2" -l
}
temp_total() {
  $HSCTL stream ls --json | $PY -c '
import json, sys
print(sum(r["count"] for r in map(json.loads, sys.stdin) if r["stream"].startswith("temp/")))'
}
pub_temp 1 x; pub_temp 2 x; pub_temp 5 y
it_wait_eq 1800 60 temp_total
cat > "$IT_DIR/grown.yaml" <<'YAML'
id: grown
job_span: 10m
plates:
  Z:   {meta: zone, grow: from_data}
  Z.S: {meta: sensor, parent: Z, grow: from_data}
factors:
  - {tool: aggregate, params: {func: max}, over: sensor, sources: [temp], sink: zone_max, plates: [Z]}
YAML
$HSCTL workflow add "$IT_DIR/grown.yaml" > /dev/null || it_fail "adding the growing workflow failed"
zone_max() {  # zone: its values as "t:v" lines, in time order
  $HSCTL stream get "zone_max/zone=$1" --format json | $PY -c '
import datetime, json, sys
for l in sys.stdin:
    r = json.loads(l)
    t = int(datetime.datetime.fromisoformat(r["t"].replace("Z", "+00:00")).timestamp())
    print(t, r["v"])'
}
expect_max() {  # max sensor of the zone: 1 Hz, v = sensor * 1000 + i
  $PY -c '
import sys
t0, s = int(sys.argv[1]), int(sys.argv[2])
for i in range(1, 601):
    print(t0 + i, float(s * 1000 + i))' "$T0" "$1"
}
$HSCTL compute grown --from "$T0" --to "$((T0 + 600))" --wait --timeout 120 > "$IT_DIR/grown.out" 2>&1 || {
  cat "$IT_DIR/grown.out" >&2; it_fail "computing the growing workflow failed"; }
[ "$($HSCTL meta ls zone=x)" = $'zone=x\nzone=x/sensor=1\nzone=x/sensor=2' ] || it_fail "zone x grew: $($HSCTL meta ls zone=x)"
[ "$(zone_max x)" = "$(expect_max 2)" ] || it_fail "zone_max/zone=x is not the max of sensors 1 and 2"
[ "$(zone_max y)" = "$(expect_max 5)" ] || it_fail "zone_max/zone=y is not sensor 5"
# A new sensor in zone x: added at the next compute, and the zone's max computed again with it.
pub_temp 9 x
it_wait_eq 2400 60 temp_total
$HSCTL compute grown --from "$T0" --to "$((T0 + 600))" --wait --timeout 120 > "$IT_DIR/grown.out" 2>&1 || {
  cat "$IT_DIR/grown.out" >&2; it_fail "computing the growing workflow again failed"; }
$HSCTL meta ls zone=x | grep -qx 'zone=x/sensor=9' || it_fail "sensor 9 did not grow: $($HSCTL meta ls zone=x)"
[ "$(zone_max x)" = "$(expect_max 9)" ] || it_fail "zone_max/zone=x does not include sensor 9"
it_log "5: zones and sensors grew from raw data; a new sensor joined the zone's max"

# 6. Removal under queued jobs: what is left of site a is one job per factor.
$HSCTL ctl tools pause > /dev/null 2>&1 || it_fail "pause failed"
$HSCTL compute fleet --from "$((T0 + 1800))" --to "$((T0 + 2400))" > "$IT_DIR/q.out" 2>&1 || it_fail "compute: $(cat "$IT_DIR/q.out")"
RQ=$(sed -n 's/^request \([^:]*\): .*/\1/p' "$IT_DIR/q.out")
planned=$(sed -n 's/^request [^:]*: \([0-9]*\) jobs planned.*/\1/p' "$IT_DIR/q.out")
# power_neg of a/1, b/3, b/4 (two plate values a job) and site_power of a and b.
[ "$planned" = 4 ] || it_fail "the request planned $planned jobs, not 4: $(cat "$IT_DIR/q.out")"
out=$($HSCTL meta rm site=b) || it_fail "meta rm site=b failed: $out"
[ "$out" = "3 nodes deleted; 2 workflows expanded again" ] || it_fail "meta rm site=b said: $out"
$HSCTL ctl tools resume > /dev/null 2>&1 || it_fail "resume failed"
session_state() {
  $HSCTL session show "$RQ" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(d["state"], d.get("outcome", "-"), d["planned"], d["done"], d["failed"])'
}
it_wait_eq "closed ok 2 2 0" 60 session_state
$HSCTL stream intervals power_neg/device=3/site=b --json | $PY -c '
import json, sys
t0 = int(sys.argv[1])
d = json.load(sys.stdin)
ivs = d["calculated"] if isinstance(d, dict) else d
print(ivs)' "$T0" > "$IT_DIR/b3.iv"
$PY - "$IT_DIR/b3.iv" "$T0" <<'PY' || it_fail "site b was computed after its removal: $(cat "$IT_DIR/b3.iv")"
import ast, datetime, sys
text, t0 = open(sys.argv[1]).read(), int(sys.argv[2])
def secs(x):
    return x if isinstance(x, (int, float)) else datetime.datetime.fromisoformat(
        str(x).replace("Z", "+00:00")).timestamp()
for iv in ast.literal_eval(text):
    a, b = (iv["from"], iv["to"]) if isinstance(iv, dict) else iv
    assert secs(b) <= t0 + 1800 or secs(a) >= t0 + 2400, iv
PY
it_log "6: site b removed under queued jobs: they were dropped, the request ended ok with 2 jobs"
it_all_alive
echo "it_meta: ok"
