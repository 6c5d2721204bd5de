#!/usr/bin/env bash
# Two versions of one tool side by side (docs/MODEL.md section 4): one
# workflow, two factors over the same raw stream of lists, one pinning
# percentiles_from_list 0.0 (HyperStream v0.0.1: a list of percentiles gives
# a list, even of one) and one taking the newest (1.0: a list of one gives a
# number). Both results are checked against medians computed here, and their
# bindings differ (so the streams never mix). hsctl tool ls lists both
# versions, the newest marked; a version the stack does not have is refused
# with the line and the versions available.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800 # a whole hour
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(11)
rows = []
for i in range(1, 121):
    n = random.randint(1, 9)  # odd and even lengths: interpolated medians too
    rows.append({"t": t0 + i, "v": [round(random.uniform(-50, 50), 3) for _ in range(n)]})
with open(f"{d}/lists.txt", "w") as f:
    f.write(json.dumps(rows) + "\n")
json.dump(rows, open(f"{d}/data.json", "w"))
PY
mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/lists" -l < "$IT_DIR/lists.txt"
it_wait_eq 120 30 it_count "lists"

# ---- hsctl tool ls: one line per version, the newest marked
$HSCTL tool ls > "$IT_DIR/ls.txt" || it_fail "tool ls failed"
grep -Eq '^percentiles_from_list +1\.0\.0 +yes +tool ' "$IT_DIR/ls.txt" || it_fail "tool ls: no newest 1.0.0: $(grep percentiles "$IT_DIR/ls.txt")"
grep -Eq '^percentiles_from_list +0\.0\.1 +no +tool ' "$IT_DIR/ls.txt" || it_fail "tool ls: no older 0.0.1: $(grep percentiles "$IT_DIR/ls.txt")"
[ "$(grep -c '^apply ' "$IT_DIR/ls.txt")" = 1 ] || it_fail "tool ls: a tool with one version is listed more than once"
$HSCTL tool ls --json > "$IT_DIR/ls.jsonl" || it_fail "tool ls --json failed"
$PY - "$IT_DIR/ls.jsonl" <<'PY' || it_fail "tool ls --json: $(grep percentiles "$IT_DIR/ls.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
p = [(r["version"], r["newest"]) for r in rows if r["name"] == "percentiles_from_list"]
assert p == [("1.0.0", True), ("0.0.1", False)], p
assert all(r["newest"] for r in rows if r["name"] == "apply")
PY
$HSCTL tool show percentiles_from_list 0.0 > "$IT_DIR/show.txt" || it_fail "tool show NAME VERSION failed"
grep -q '^percentiles_from_list 0.0.1 (tool)$' "$IT_DIR/show.txt" || it_fail "tool show 0.0: $(head -3 "$IT_DIR/show.txt")"

# ---- a version the stack does not have: refused with the line and the versions
cat > "$IT_DIR/bad.yaml" <<YAML
id: badver
factors:
  - tool: percentiles_from_list
    version: "0.7"
    sources: [lists]
    sink: nope
YAML
rc=0; $HSCTL workflow add "$IT_DIR/bad.yaml" > "$IT_DIR/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || it_fail "a workflow pinning a missing version was added"
grep -q "bad.yaml:4: tool percentiles_from_list has no version 0.7; versions available: 1.0.0, 0.0.1" "$IT_DIR/bad.out" ||
  it_fail "missing version error: $(cat "$IT_DIR/bad.out")"

# ---- one workflow, the old version pinned beside the newest
cat > "$IT_DIR/wf.yaml" <<YAML
id: versions
job_span: 1h
factors:
  - tool: {name: percentiles_from_list, version: "0.0"}
    params: {percentiles: [50]}
    sources: [lists]
    sink: median_old
  - tool: percentiles_from_list
    params: {percentiles: [50]}
    sources: [lists]
    sink: median_new
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
$HSCTL compute versions --from "$T0" --to "$((T0 + 600))" --wait > "$IT_DIR/compute.out" 2>&1 || {
  cat "$IT_DIR/compute.out" >&2; it_fail "the compute failed"; }
it_log "$(tail -n 1 "$IT_DIR/compute.out")"
$HSCTL jobs versions --limit 100 --json > "$IT_DIR/history.jsonl"
grep -q '"outcome":"error"' "$IT_DIR/history.jsonl" && it_fail "a job failed: $(grep '"outcome":"error"' "$IT_DIR/history.jsonl" | head -1)"
grep -q '"version":"0.0' "$IT_DIR/history.jsonl" || it_fail "no job ran version 0.0: $(head -2 "$IT_DIR/history.jsonl")"
for s in median_old median_new; do $HSCTL stream get "$s" --format json > "$IT_DIR/$s.jsonl"; done
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "medians differ from the independent computation"
import datetime, json, math, sys
d, t0 = sys.argv[1], int(sys.argv[2])

def median(xs):  # linear interpolation at k = (n - 1) / 2
    xs = sorted(xs)
    k = (len(xs) - 1) * 0.5
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] if lo == hi else (xs[lo] + xs[hi]) / 2

def read(name):
    out = {}
    for line in open(f"{d}/{name}.jsonl"):
        r = json.loads(line)
        t = r["t"]
        if isinstance(t, str):
            t = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        out[int(round(t))] = r["v"]
    return out

exp = {r["t"]: median(r["v"]) for r in json.load(open(f"{d}/data.json"))}
old, new = read("median_old"), read("median_new")
assert set(old) == set(exp) and set(new) == set(exp), (len(old), len(new), len(exp))
for t, m in exp.items():
    assert isinstance(old[t], list) and len(old[t]) == 1, (t, old[t])  # 0.0: a list of one
    assert isinstance(new[t], (int, float)), (t, new[t])               # 1.0: a number
    assert abs(old[t][0] - m) < 1e-9 and abs(new[t] - m) < 1e-9, (t, old[t], new[t], m)
print("ok")
PY
it_log "the pinned 0.0 gives [median], the newest 1.0 gives median, both right"
it_all_alive
it_log "ok"
