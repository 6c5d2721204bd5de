#!/usr/bin/env bash
# Workflows end to end through the broker, scheduler, tools and writer:
# - a plated workflow (houses x rooms -> room means -> house means) gives the
#   same numbers as an independent computation;
# - computing (a, b] again dispatches no job and stores nothing;
# - computing (a + x, b + y] runs jobs over exactly (b, b + y];
# - changing a parameter recomputes that factor and everything downstream,
#   and nothing upstream; a patch version changes nothing;
# - parameter values are checked before anything runs: `workflow check`,
#   `workflow add` and the scheduler's own workflow_add refuse an unknown
#   function, a word outside a tool's set and Lua that does not compile, each
#   with the file and the parameter's line;
# - a job that fails takes its downstream jobs with it: the compute's failed
#   count and `hsctl jobs --failed` agree, each downstream job with the
#   reason "upstream job <id> failed".
. "$(dirname "$0")/lib.sh"
it_setup
# Two hours of 1 Hz readings for 3 houses x 2 rooms, starting on a whole hour.
T0=1700002800
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(11)
data = {}
for h in (1, 2, 3):
    for r in ("kitchen", "lounge"):
        vals = [(t0 + i, round(18 + h + random.gauss(0, 1), 3)) for i in range(1, 7201)]
        data[f"{h}/{r}"] = vals
        with open(f"{d}/raw_{h}_{r}.txt", "w") as f:
            for c in range(0, len(vals), 500):
                f.write(json.dumps([{"t": t, "v": v} for t, v in vals[c:c + 500]]) + "\n")
json.dump(data, open(f"{d}/data.json", "w"))
PY
for h in 1 2 3; do for r in kitchen lounge; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=$h/room=$r" -l < "$IT_DIR/raw_${h}_$r.txt"
done; done
for h in 1 2 3; do for r in kitchen lounge; do
  it_wait_eq 7200 30 it_count "temperature/house=$h/room=$r"
done; done

wf() {  # $1 = sliding_apply func, $2 = optional version line
  cat > "$IT_DIR/wf.yaml" <<YAML
id: climate
job_span: 10m
plates:
  H:   {meta: house, values: ["1", "2", "3"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: sliding_window
    params: {width: 60s, increment: 60s}
    sink: windows
  - tool: {name: sliding_apply${2:+, version: \"$2\"}}
    params: {func: $1}
    sources: [windows, temperature]
    sink: room_temp
    plates: [H.R]
  - tool: aggregate
    params: {func: mean}
    over: room
    sources: [room_temp]
    sink: house_temp
    plates: [H]
YAML
  # A changed definition replaces the stored one (its changed streams are recomputed).
  $HSCTL workflow add "$IT_DIR/wf.yaml" --replace >/dev/null || it_fail "workflow add failed"
}
compute() {  # from to -> prints the number of jobs planned
  $HSCTL compute climate --from "$1" --to "$2" --wait > "$IT_DIR/compute.out" 2>&1 || {
    cat "$IT_DIR/compute.out" >&2; it_fail "compute $1 $2 failed"; }
  sed -n 's/^request [^:]*: \([0-9]*\) jobs planned/\1/p' "$IT_DIR/compute.out"
}
history_count() { $HSCTL jobs climate --limit 100000 --json > "$IT_DIR/history.jsonl"; wc -l < "$IT_DIR/history.jsonl"; }
# History entries added since there were $1 (the history lists newest first).
new_jobs() { local n; n=$(history_count); head -n $((n - $1)) "$IT_DIR/history.jsonl"; }

wf mean
# The same definition again replaces nothing.
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/readd.out" || it_fail "adding the same workflow again failed"
grep -q "workflow climate unchanged" "$IT_DIR/readd.out" || it_fail "re-adding: $(cat "$IT_DIR/readd.out")"

# Bad parameter values: refused with file:line by hsctl and by the scheduler.
cat > "$IT_DIR/bad.yaml" <<'YAML'
id: climate
plates:
  H:   {meta: house, values: ["1", "2", "3"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: window
    params:
      size: 60s
      type: tumblin
    sources: [temperature]
    sink: room_w
    plates: [H.R]
  - tool: sliding_window
    params: {width: 60s, increment: 60s}
    sink: windows
  - tool: sliding_apply
    params: {func: maxx}
    sources: [windows, temperature]
    sink: room_temp
    plates: [H.R]
  - tool: apply
    params:
      func: "lua: return function(v) return v +* 1 end"
    sources: [room_temp]
    sink: room_f
    plates: [H.R]
YAML
expect_bad() {  # $1 = file with the messages
  grep -q 'bad.yaml:9: node room_w: tool window 1.0.0 parameter type: "tumblin" is not one of tumbling, hopping or session; did you mean "tumbling"?' "$1" \
    || it_fail "no file:line error for type: tumblin in: $(cat "$1")"
  grep -q 'bad.yaml:17: node room_temp: tool sliding_apply 1.0.0 parameter func: "maxx" is not a reducer function .*did you mean "max"?' "$1" \
    || it_fail "no file:line error for func: maxx in: $(cat "$1")"
  grep -q "bad.yaml:23: node room_f: tool apply 1.0.0 parameter func: Lua syntax error: lua:1: unexpected symbol near '\\*'" "$1" \
    || it_fail "no file:line error for the Lua syntax error in: $(cat "$1")"
}
if $HSCTL workflow check "$IT_DIR/bad.yaml" > "$IT_DIR/bad.out" 2>&1; then it_fail "workflow check accepted bad parameters"; fi
expect_bad "$IT_DIR/bad.out"
if $HSCTL workflow add "$IT_DIR/bad.yaml" --replace > "$IT_DIR/bad_add.out" 2>&1; then it_fail "workflow add accepted bad parameters"; fi
expect_bad "$IT_DIR/bad_add.out"
# The scheduler owns workflows: its API refuses the same definition (hsctl is not asked).
$PY -c 'import json, sys; print(json.dumps({"op": "workflow_add", "filename": "bad.yaml", "definition": open(sys.argv[1]).read()}))' \
  "$IT_DIR/bad.yaml" > "$IT_DIR/bad_req.json"
mosquitto_rr -p "$IT_PORT" -q 1 -t hs/api/scheduler -e "hs/reply/it-bad-$$" -W 30 -m "$(cat "$IT_DIR/bad_req.json")" \
  > "$IT_DIR/bad_api.json" || it_fail "no reply of the scheduler to workflow_add"
$PY - "$IT_DIR/bad_api.json" > "$IT_DIR/bad_api.out" <<'PY' || it_fail "the scheduler accepted bad parameters: $(cat "$IT_DIR/bad_api.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is False, r
print(r["error"])
PY
expect_bad "$IT_DIR/bad_api.out"
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/readd2.out" || it_fail "the good workflow is not there any more"
grep -q "workflow climate unchanged" "$IT_DIR/readd2.out" || it_fail "a refused definition changed the stored one"
it_log "bad parameter values refused with file:line by check, add and the scheduler"

A=$((T0)); B=$((T0 + 3600))
jobs=$(compute $A $B)
it_log "first compute over (a, b]: $jobs jobs"
[ "$jobs" -gt 20 ] || it_fail "expected many jobs (6-minute... 10-minute spans), got $jobs"

check() {  # func, from, to: compare room and house streams with Python
  for h in 1 2 3; do
    for r in kitchen lounge; do $HSCTL stream get "room_temp/house=$h/room=$r" --format csv > "$IT_DIR/room_${h}_$r.csv"; done
    $HSCTL stream get "house_temp/house=$h" --format csv > "$IT_DIR/house_$h.csv"
  done
  $PY - "$IT_DIR" "$1" "$2" "$3" <<'PY'
import csv, datetime, json, statistics, sys
d, func, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = json.load(open(f"{d}/data.json"))
f = {"mean": statistics.fmean, "max": max}[func]
def load(path):
    out = {}
    for row in list(csv.reader(open(path)))[1:]:
        t = datetime.datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp()
        out[int(t)] = float(row[1])
    return out
expect_rooms = {}
for key, vals in data.items():
    h, r = key.split("/")
    exp = {}
    for up in range(a + 60, b + 1, 60):
        w = [v for t, v in vals if up - 60 < t <= up]
        if w:
            exp[up] = f(w)
    got = load(f"{d}/room_{h}_{r}.csv")
    got = {t: v for t, v in got.items() if a < t <= b}
    assert set(got) == set(exp), (key, sorted(set(exp) ^ set(got))[:5])
    for t in exp:
        assert abs(got[t] - exp[t]) < 1e-9, (key, t, got[t], exp[t])
    expect_rooms[key] = exp
for h in "123":
    got = load(f"{d}/house_{h}.csv")
    got = {t: v for t, v in got.items() if a < t <= b}
    exp = {t: statistics.fmean([expect_rooms[f"{h}/kitchen"][t], expect_rooms[f"{h}/lounge"][t]])
           for t in expect_rooms[f"{h}/kitchen"]}
    assert set(got) == set(exp), ("house", h)
    for t in exp:
        assert abs(got[t] - exp[t]) < 1e-9, ("house", h, t, got[t], exp[t])
print("ok")
PY
}
check mean $A $B >/dev/null || it_fail "room/house means differ from the independent computation"
it_log "room and house means equal the independent computation"

before=$(history_count)
jobs=$(compute $A $B)
[ "$jobs" = 0 ] || it_fail "computing (a, b] again planned $jobs jobs"
[ "$(history_count)" = "$before" ] || it_fail "computing (a, b] again ran jobs"
it_log "recompute of (a, b]: 0 jobs"

# (a + 30m, b + 20m]: only (b, b + 20m] is new.
jobs=$(compute $((A + 1800)) $((B + 1200)))
new_jobs "$before" > "$IT_DIR/new.jsonl"
$PY - "$IT_DIR/new.jsonl" "$B" "$((B + 1200))" <<'PY' || it_fail "new jobs are not exactly over (b, b + y]"
import json, sys
b, e = int(sys.argv[2]) * 10**6, int(sys.argv[3]) * 10**6
per_unit = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert j["outcome"] == "ok", j
    key = (j["factor"], j["plate_value"])
    per_unit.setdefault(key, []).append((j["start_us"], j["end_us"]))
assert per_unit, "no new jobs"
for key, ivs in per_unit.items():
    ivs.sort()
    # Contiguous, covering exactly (b, e] (windows: exactly (b, e] too, no lookback needed beyond it).
    assert ivs[0][0] == b and ivs[-1][1] == e, (key, ivs)
    for (s1, e1), (s2, e2) in zip(ivs, ivs[1:]):
        assert e1 == s2, (key, ivs)
print(len(per_unit), "units")
PY
check mean $A $((B + 1200)) >/dev/null || it_fail "results after the extension differ"
it_log "extension computed exactly (b, b + y] ($jobs jobs)"

# A parameter change: room_temp and house_temp are recomputed, windows is not.
before=$(history_count)
wf max
[ "$(it_count room_temp/house=1/room=kitchen)" = 0 ] || it_fail "room_temp was not purged after the parameter change"
[ "$(it_count windows)" -gt 0 ] || it_fail "windows was purged although its definition did not change"
jobs=$(compute $A $B)
new_jobs "$before" > "$IT_DIR/new2.jsonl"
grep -q '"factor":"0"' "$IT_DIR/new2.jsonl" && it_fail "windows (upstream) was recomputed"
grep -q '"factor":"2"' "$IT_DIR/new2.jsonl" || it_fail "house_temp (downstream) was not recomputed"
check max $A $B >/dev/null || it_fail "recomputed results are wrong"
it_log "parameter change recomputed the factor and downstream only ($jobs jobs)"

# A patch version asks for the same major.minor: nothing is recomputed.
wf max 1.0.9
jobs=$(compute $A $B)
[ "$jobs" = 0 ] || it_fail "a patch version change planned $jobs jobs"
# A failing job and its two downstream jobs: three failures, all in the history.
cat > "$IT_DIR/failing.yaml" <<'YAML'
id: failing
factors:
  - tool: apply
    params: {func: "lua: error('no function here')"}
    sources: [temperature]
    sink: fa
  - tool: apply
    params: {func: abs}
    sources: [fa]
    sink: fb
  - tool: apply
    params: {func: neg}
    sources: [fb]
    sink: fc
YAML
$HSCTL workflow add "$IT_DIR/failing.yaml" >/dev/null || it_fail "adding the failing workflow failed"
if $HSCTL compute failing --from $A --to $((A + 600)) --wait > "$IT_DIR/failing.out" 2>&1; then
  it_fail "a compute with a failing job succeeded: $(cat "$IT_DIR/failing.out")"
fi
grep -q "0/3 jobs done, 3 failed" "$IT_DIR/failing.out" || it_fail "expected 3 failed jobs: $(cat "$IT_DIR/failing.out")"
$HSCTL jobs failing --failed --json > "$IT_DIR/failing.jsonl" || it_fail "hsctl jobs --failed failed"
$PY - "$IT_DIR/failing.jsonl" <<'PY' || it_fail "the failed jobs in the history: $(cat "$IT_DIR/failing.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 3, len(rows)
by_factor = {r["factor"]: r for r in rows}
assert sorted(by_factor) == ["0", "1", "2"], sorted(by_factor)
assert all(r["outcome"] != "ok" for r in rows), rows
assert "no function here" in by_factor["0"]["error"], by_factor["0"]
# Each downstream job names the job it waited for.
for f, up in (("1", "0"), ("2", "1")):
    assert by_factor[f]["error"].startswith("upstream job %s failed" % by_factor[up]["job"]), (by_factor[f], by_factor[up])
PY
it_log "3 failed jobs reported, 3 in the history with their reasons"

it_all_alive
it_log "ok"
