#!/usr/bin/env bash
# The command line of late data and recomputation, on a real stack:
# - stream invalidate reopens a computed stream and what is computed from it;
#   stream intervals (and --json) and stream ls show the reopened intervals;
#   compute computes them again: nothing stays reopened, the values are the
#   same; invalidating a stream that does not exist is refused;
# - sub prints a correction when a late reading changes a computed interval;
# - workflow add of a changed definition is refused with the plan, --dry-run
#   prints the plan and changes nothing, --replace purges and recomputes
#   what changed and nothing else; the same definition again is a no-op.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800

# Ten minutes of 1 Hz readings: v = i at T0 + i.
it_load_vals "$T0"

wf() {  # $1 = the window function of sums
  cat <<YAML
id: late
job_span: 10m
factors:
  - tool: apply
    params: {func: neg}
    sources: [vals]
    sink: negated
  - tool: sliding_window
    params: {width: 60s, increment: 60s}
    sink: windows
  - tool: sliding_apply
    params: {func: $1}
    sources: [windows, negated]
    sink: sums
YAML
}
wf sum > "$IT_DIR/wf.yaml"
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add: $(cat "$IT_DIR/add.out")"
A=$T0; B=$((T0 + 600))
NA=$((A - 60))  # negated is computed from (a - 60 s) on: sums reads one window back
compute() {
  $HSCTL compute late --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 || {
    cat "$IT_DIR/compute.out" >&2; it_fail "compute failed"; }
}
compute
[ "$(it_count negated)" = 600 ] || it_fail "negated has $(it_count negated) instances, not 600"
[ "$(it_count sums)" = 10 ] || it_fail "sums has $(it_count sums) instances, not 10"
[ "$($HSCTL stream intervals negated)" = "($(it_iso $NA), $(it_iso $B)]" ] ||
  it_fail "negated intervals: $($HSCTL stream intervals negated)"
$HSCTL stream get negated > "$IT_DIR/negated.before"
$HSCTL stream get sums > "$IT_DIR/sums.before"

# ---- invalidate
I1=$((T0 + 100)); I2=$((T0 + 200))
$HSCTL stream invalidate negated --from $I1 --to $I2 > "$IT_DIR/inv.out" 2>&1 ||
  it_fail "stream invalidate failed: $(cat "$IT_DIR/inv.out")"
grep -q "^reopened: ($(it_iso $I1), $(it_iso $I2)]" "$IT_DIR/inv.out" || it_fail "invalidate said: $(cat "$IT_DIR/inv.out")"
grep -qF "invalidated negated over ($(it_iso $I1), $(it_iso $I2)]" "$IT_DIR"/logs/writer*.log ||
  it_fail "the writer's log of the invalidation: $(grep invalidated "$IT_DIR"/logs/writer*.log)"
$HSCTL stream intervals negated > "$IT_DIR/iv.out"
printf '%s\n%s\n' "($(it_iso $NA), $(it_iso $I1)] U ($(it_iso $I2), $(it_iso $B)]" "reopened: ($(it_iso $I1), $(it_iso $I2)]" > "$IT_DIR/iv.want"
diff "$IT_DIR/iv.want" "$IT_DIR/iv.out" >&2 || it_fail "stream intervals negated after invalidate"
$HSCTL stream intervals sums | grep -q '^reopened: ' || it_fail "sums (downstream) was not reopened: $($HSCTL stream intervals sums)"
$HSCTL stream intervals negated --json > "$IT_DIR/iv.json"
$PY - "$IT_DIR/iv.json" "$NA" "$I1" "$I2" "$B" <<'PY' || it_fail "stream intervals --json: $(cat "$IT_DIR/iv.json")"
import json, sys, time
d = json.load(open(sys.argv[1]))
a, i1, i2, b = (int(x) * 1000000 for x in sys.argv[2:])
def iso(t_us):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_us // 10**6))
assert d["stream"] == "negated", d
assert d["calculated_us"] == [[a, i1], [i2, b]], d
assert d["reopened_us"] == [[i1, i2]], d
# ISO times, as stream ls and jobs --json write them
assert d["calculated"] == [[iso(a), iso(i1)], [iso(i2), iso(b)]], d
assert d["reopened"] == [[iso(i1), iso(i2)]], d
PY
$HSCTL stream ls > "$IT_DIR/ls.out"
grep -E '^negated .*; reopened 1$' "$IT_DIR/ls.out" > /dev/null || it_fail "stream ls: $(cat "$IT_DIR/ls.out")"
grep -E '^vals .*reopened' "$IT_DIR/ls.out" > /dev/null && it_fail "a raw stream shows reopened intervals"
$HSCTL stream ls --json | $PY -c '
import json, sys
d = {o["stream"]: o for o in map(json.loads, sys.stdin)}
assert d["negated"]["reopened"] == 1 and d["vals"]["reopened"] == 0, d
assert d["sums"]["reopened"] >= 1, d' || it_fail "stream ls --json lacks the reopened counts"
it_log "invalidate reopened negated over ($I1, $I2] and sums downstream"

# Computing again leaves nothing reopened and gives the same values.
compute
grep -q "reopened" "$IT_DIR/compute.out" || it_fail "compute did not say it found reopened intervals: $(cat "$IT_DIR/compute.out")"
[ "$($HSCTL stream intervals negated)" = "($(it_iso $NA), $(it_iso $B)]" ] ||
  it_fail "negated after compute: $($HSCTL stream intervals negated)"
[ "$($HSCTL stream intervals sums)" = "($(it_iso $A), $(it_iso $B)]" ] ||
  it_fail "sums after compute: $($HSCTL stream intervals sums)"
$HSCTL stream get negated | cmp -s - "$IT_DIR/negated.before" || it_fail "negated changed after the recomputation"
$HSCTL stream get sums | cmp -s - "$IT_DIR/sums.before" || it_fail "sums changed after the recomputation"
$HSCTL stream ls | grep -q 'reopened' && it_fail "stream ls still shows reopened intervals"
it_log "compute healed the reopened intervals with the same values"

# Refused: a stream that does not exist, a backward interval.
rc=0; $HSCTL stream invalidate nosuch --from $I1 --to $I2 > "$IT_DIR/inv2.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || it_fail "invalidating a missing stream succeeded"
grep -q "no stream nosuch" "$IT_DIR/inv2.out" || it_fail "refusal without the reason: $(cat "$IT_DIR/inv2.out")"
rc=0; $HSCTL stream invalidate negated --from $I2 --to $I1 > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "a backward interval gave exit $rc"

# ---- sub: a late reading inside a calculated interval gives a correction.
$HSCTL sub negated --count 1 --timeout 60 > "$IT_DIR/sub.out" 2> "$IT_DIR/sub.err" &
SUB=$!
IT_EXTRA_PIDS="$SUB"
sleep 1
mosquitto_pub -p "$IT_PORT" -q 1 -t hs/raw/vals -m "[{\"t\": $((T0 + 150)).5, \"v\": 1000.0}]"
it_wait_eq 601 30 it_count vals
compute
wait "$SUB" || it_fail "sub failed: $(cat "$IT_DIR/sub.err")"
IT_EXTRA_PIDS=
$PY - "$IT_DIR/sub.out" "$T0" <<'PY' || it_fail "no correction from sub: $(cat "$IT_DIR/sub.out") $(cat "$IT_DIR/sub.err")"
import datetime, json, sys
lines = open(sys.argv[1]).read().splitlines()
t0 = int(sys.argv[2])
assert len(lines) == 1, lines
c = json.loads(lines[0])["correction"]
ts = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
a, b = (ts(x) for x in c["interval"])
late = t0 + 150.5
assert a < late <= b, c
got = {ts(o["t"]): o["v"] for o in c["data"]}
assert got.get(late) == -1000.0, c
# The correction holds exactly the stream over (a, b]: every reading there, negated.
want = {float(t0 + i): -float(i) for i in range(1, 601) if a < t0 + i <= b}
want[late] = -1000.0
assert got == want, (sorted(got.items())[:5], sorted(want.items())[:5])
print(len(got), "values")
PY
[ "$(it_count negated)" = 601 ] || it_fail "negated has $(it_count negated) instances after the late reading"
it_log "sub printed the correction: $(cut -c1-160 "$IT_DIR/sub.out")"

# ---- workflow add of a changed definition
sums_before=$(it_count sums)
wf max > "$IT_DIR/wf2.yaml"
rc=0; $HSCTL workflow add "$IT_DIR/wf2.yaml" > "$IT_DIR/add2.out" 2> "$IT_DIR/add2.err" || rc=$?
[ "$rc" = 2 ] || it_fail "a changed definition without --replace gave exit $rc: $(cat "$IT_DIR/add2.out" "$IT_DIR/add2.err")"
grep -q "workflow late exists with a different definition; these streams would be purged and recomputed: sums (10 instances); add --replace to do it, --dry-run to see the plan only" "$IT_DIR/add2.err" ||
  it_fail "refusal message: $(cat "$IT_DIR/add2.err")"
grep -q "negated" "$IT_DIR/add2.err" && it_fail "the refusal lists negated, which does not change"
$HSCTL workflow add "$IT_DIR/wf2.yaml" --dry-run > "$IT_DIR/dry.out" 2>&1 || it_fail "--dry-run failed: $(cat "$IT_DIR/dry.out")"
grep -qE '^  purge and recompute +sums \(10 instances\)$' "$IT_DIR/dry.out" || it_fail "dry run plan: $(cat "$IT_DIR/dry.out")"
grep -q '^dry run: nothing was changed' "$IT_DIR/dry.out" || it_fail "dry run does not say it changed nothing"
[ "$(it_count sums)" = "$sums_before" ] || it_fail "sums changed without --replace"
$HSCTL workflow show late --json | grep -q '"func":"sum"' || it_fail "the stored workflow changed without --replace"
it_log "changed definition refused; --dry-run: $(grep purge "$IT_DIR/dry.out")"

# A new workflow's dry run; the same definition again is a no-op without flags.
sed 's/^id: late/id: other/' "$IT_DIR/wf.yaml" > "$IT_DIR/other.yaml"
$HSCTL workflow add "$IT_DIR/other.yaml" --dry-run > "$IT_DIR/dry2.out" 2>&1 || it_fail "dry run of a new workflow failed"
grep -qx "new workflow other: 3 factors, 3 sink streams" "$IT_DIR/dry2.out" || it_fail "new workflow dry run: $(cat "$IT_DIR/dry2.out")"
$HSCTL workflow ls | grep -q '^other ' && it_fail "--dry-run stored the new workflow"
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/same.out" 2>&1 || it_fail "re-adding the same definition failed: $(cat "$IT_DIR/same.out")"
grep -q "workflow late unchanged" "$IT_DIR/same.out" || it_fail "re-adding: $(cat "$IT_DIR/same.out")"

# Another text with the same bindings (a comment) needs no --replace and purges nothing.
{ echo "# the late data workflow"; cat "$IT_DIR/wf.yaml"; } > "$IT_DIR/wf_c.yaml"
$HSCTL workflow add "$IT_DIR/wf_c.yaml" > "$IT_DIR/c.out" 2>&1 || it_fail "a comment change was refused: $(cat "$IT_DIR/c.out")"
grep -q "no factor's binding did: nothing is purged" "$IT_DIR/c.out" || it_fail "comment change: $(cat "$IT_DIR/c.out")"
[ "$(it_count sums)" = "$sums_before" ] || it_fail "a comment change purged sums"

# --replace: sums is purged and recomputed with max, negated is kept.
neg_before=$(it_count negated)
$HSCTL workflow add "$IT_DIR/wf2.yaml" --replace > "$IT_DIR/rep.out" 2>&1 || it_fail "--replace failed: $(cat "$IT_DIR/rep.out")"
grep -q "workflow late replaced (3 factors): 1 stream purged" "$IT_DIR/rep.out" || it_fail "--replace said: $(cat "$IT_DIR/rep.out")"
[ "$(it_count sums)" = 0 ] || it_fail "sums was not purged by --replace"
[ "$(it_count negated)" = "$neg_before" ] || it_fail "negated was purged although it did not change"
compute
$HSCTL stream get sums > "$IT_DIR/sums.after"
$PY - "$IT_DIR/sums.after" "$T0" <<'PY' || it_fail "sums after --replace are not the window maxima"
import datetime, json, sys
t0 = int(sys.argv[2])
got = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    got[round(datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp())] = o["v"]
# Window (t0 + 60k, t0 + 60(k+1)]: the max of -i is at its first reading.
want = {t0 + 60 * (k + 1): -float(60 * k + 1) for k in range(10)}
assert got == want, (got, want)
PY
it_all_alive
it_log "ok: --replace purged and recomputed sums only"
