#!/usr/bin/env bash
# Purging before a time, on a real stack (docs/DEPLOY.md, "Retention"):
# - stream purge --before --dry-run prints what would go and changes nothing;
# - purging a raw stream deletes its instances with t <= T and does not
#   reopen what was computed from them;
# - purging computed streams by pattern deletes their instances with t <= T
#   and takes (-inf, T] out of their calculated intervals (stream intervals);
# - compute over the whole range again recomputes the purged part from what
#   the raw stream still has: the values are checked against sums computed
#   here from the stored raw data.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700006400

# Ten minutes of 1 Hz readings: v = i at T0 + i.
it_load_vals "$T0"

cat > "$IT_DIR/wf.yaml" <<'YAML'
id: keep
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
    params: {func: sum}
    sources: [windows, negated]
    sink: sums
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add: $(cat "$IT_DIR/add.out")"
A=$T0; B=$((T0 + 600)); NA=$((A - 60))
compute() {
  $HSCTL compute keep --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 || {
    cat "$IT_DIR/compute.out" >&2; it_fail "compute failed"; }
}
compute
[ "$(it_count negated)" = 600 ] || it_fail "negated has $(it_count negated) instances, not 600"
[ "$(it_count sums)" = 10 ] || it_fail "sums has $(it_count sums) instances, not 10"

# ---- dry run: counts, nothing changes.
P=$((T0 + 100))
$HSCTL stream purge vals --before $P --dry-run > "$IT_DIR/dry.out" 2>&1 || it_fail "dry run failed: $(cat "$IT_DIR/dry.out")"
grep -qE "^  vals +100 instances  calculated no longer: \\(.*, $(it_iso $P)\\]$" "$IT_DIR/dry.out" ||
  it_fail "dry run said: $(cat "$IT_DIR/dry.out")"
grep -q '^would delete 100 instances of 1 stream' "$IT_DIR/dry.out" || it_fail "dry run total: $(cat "$IT_DIR/dry.out")"
[ "$(it_count vals)" = 600 ] || it_fail "the dry run deleted data"

# ---- the raw stream before P: gone there, and nothing computed from it is reopened.
$HSCTL stream intervals negated > "$IT_DIR/neg.iv.before"
$HSCTL stream purge vals --before $P > "$IT_DIR/purge1.out" 2>&1 || it_fail "purge failed: $(cat "$IT_DIR/purge1.out")"
grep -q '^deleted 100 instances of 1 stream' "$IT_DIR/purge1.out" || it_fail "purge said: $(cat "$IT_DIR/purge1.out")"
[ "$(it_count vals)" = 500 ] || it_fail "vals has $(it_count vals) instances after the purge, not 500"
[ "$($HSCTL stream get vals --head 1 | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["v"])')" = 101.0 ] ||
  it_fail "the first instance left is not the one at T0 + 101"
[ "$($HSCTL stream intervals vals)" = "($(it_iso $P), $(it_iso $B)]" ] || it_fail "vals intervals: $($HSCTL stream intervals vals)"
$HSCTL stream intervals negated | cmp -s - "$IT_DIR/neg.iv.before" ||
  it_fail "purging raw data changed negated's intervals: $($HSCTL stream intervals negated)"
[ "$(it_count negated)" = 600 ] || it_fail "purging raw data changed negated"
it_log "raw purge: 100 instances, the derived streams kept"

# ---- computed streams before Q, by pattern; expected counts from the stored data.
Q=$((T0 + 300))
want=$($HSCTL stream ls --json | $PY -c '
import json, subprocess, sys
hsctl, q = sys.argv[1].split(), int(sys.argv[2]) * 1000000
import datetime
ts = lambda s: round(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1e6)
total = 0
for o in map(json.loads, sys.stdin):
    if o["stream"] in ("negated", "sums"):
        out = subprocess.run(hsctl + ["stream", "get", o["stream"]], capture_output=True, text=True).stdout
        total += sum(1 for l in out.splitlines() if ts(json.loads(l)["t"]) <= q)
print(total)' "$HSCTL" "$Q")
[ "$want" -gt 0 ] || it_fail "nothing to purge in negated and sums before Q"
# "+" matches every one-level stream: the dry run lists vals (T0+101..T0+300) too.
$HSCTL stream purge '+' --before $Q --dry-run > "$IT_DIR/dry2.out" 2>&1 || it_fail "dry run 2: $(cat "$IT_DIR/dry2.out")"
grep -qE '^  vals +200 instances' "$IT_DIR/dry2.out" || it_fail "pattern dry run: $(cat "$IT_DIR/dry2.out")"
for s in negated sums; do
  $HSCTL stream purge "$s" --before $Q > "$IT_DIR/purge_$s.out" 2>&1 || it_fail "purge $s: $(cat "$IT_DIR/purge_$s.out")"
done
got=$(cat "$IT_DIR/purge_negated.out" "$IT_DIR/purge_sums.out" | $PY -c '
import re, sys
print(sum(int(m.group(1)) for m in re.finditer(r"^deleted (\d+) instances", sys.stdin.read(), re.M)))')
[ "$got" = "$want" ] || it_fail "purged $got instances of negated and sums, counted $want before"
[ "$($HSCTL stream intervals negated)" = "($(it_iso $Q), $(it_iso $B)]" ] ||
  it_fail "negated intervals after the purge: $($HSCTL stream intervals negated)"
[ "$($HSCTL stream intervals sums)" = "($(it_iso $Q), $(it_iso $B)]" ] ||
  it_fail "sums intervals after the purge: $($HSCTL stream intervals sums)"
[ "$($HSCTL stream get negated --to $Q | wc -l)" = 0 ] || it_fail "negated still has instances before Q"
it_log "derived purge: $got instances, calculated now from Q"

# Refused: no stream, a bad pattern, --before missing.
rc=0; $HSCTL stream purge nosuch --before $Q > "$IT_DIR/e1.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'no stream nosuch' "$IT_DIR/e1.out" || it_fail "purge of a missing stream: exit $rc, $(cat "$IT_DIR/e1.out")"
rc=0; $HSCTL stream purge 'a/#/b' --before $Q > "$IT_DIR/e2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'not a stream pattern' "$IT_DIR/e2.out" || it_fail "bad pattern: exit $rc, $(cat "$IT_DIR/e2.out")"

# ---- compute again: what was purged is recomputed from the raw data left.
compute
[ "$($HSCTL stream intervals negated)" = "($(it_iso $NA), $(it_iso $B)]" ] ||
  it_fail "negated after compute: $($HSCTL stream intervals negated)"
[ "$($HSCTL stream intervals sums)" = "($(it_iso $A), $(it_iso $B)]" ] ||
  it_fail "sums after compute: $($HSCTL stream intervals sums)"
$HSCTL stream get vals > "$IT_DIR/vals.now"
$HSCTL stream get negated > "$IT_DIR/negated.now"
$HSCTL stream get sums > "$IT_DIR/sums.now"
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "recomputed values differ from the stored raw data's"
import datetime, json, sys
d, t0 = sys.argv[1], int(sys.argv[2])
ts = lambda s: round(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())
load = lambda n: {ts(o["t"]): o["v"] for o in map(json.loads, open(f"{d}/{n}.now"))}
raw, neg, sums = load("vals"), load("negated"), load("sums")
assert min(raw) == t0 + 101 and len(raw) == 500, (min(raw), len(raw))
assert neg == {t: -v for t, v in raw.items()}, "negated is not -vals over what is left"
want = {}
for k in range(10):
    lo, hi = t0 + 60 * k, t0 + 60 * (k + 1)
    vs = [-v for t, v in raw.items() if lo < t <= hi]
    if vs:
        want[hi] = sum(vs)
# A window with no data left is absent or 0; every other one is the sum of what is left.
extra = {t: v for t, v in sums.items() if t not in want}
assert all(v == 0 for v in extra.values()), extra
assert {t: v for t, v in sums.items() if t in want} == want, (sums, want)
# The partial window (t0+60, t0+120] lost its first 40 readings: computed again.
assert sums[t0 + 120] == -sum(range(101, 121)), sums[t0 + 120]
print(len(sums), "sums checked")
PY
it_all_alive
it_log "ok: purge before T, intervals and recomputation"
