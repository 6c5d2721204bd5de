#!/usr/bin/env bash
# A job the tool runtime refuses fails at once, with the runtime's reason.
# The runtime takes jobs of at most max_job_streams sources (set to 2 here);
# the scheduler, which knows no such limit, dispatches an aggregate over 3
# rooms. The runtime answers the job with its reason instead of dropping it,
# so `compute --wait` ends failed long before job_timeout (60 s here, times
# max_attempts 3), and `hsctl jobs --failed` shows the reason. An aggregate
# over 2 rooms, within the limit, is computed as usual. Likewise a job whose
# output needs more than 100000 write requests (part_max_instances 1 here).
export HS_MAX_JOB_STREAMS=2
export HS_PART_MAX_INSTANCES=1
export HS_JOB_TIMEOUT=60s
export HS_MAX_ATTEMPTS=3
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800 # a whole hour: one job per unit with job_span 1h
for r in kitchen lounge bedroom; do
  $PY - "$T0" "$r" > "$IT_DIR/temp_$r.txt" <<'PY'
import json, sys
t0, r = int(sys.argv[1]), sys.argv[2]
base = {"kitchen": 20.0, "lounge": 18.0, "bedroom": 16.0}[r]
print(json.dumps([{"t": t0 + i, "v": base + i} for i in range(1, 11)]))
PY
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=1/room=$r" -l < "$IT_DIR/temp_$r.txt"
done
for r in kitchen lounge bedroom; do it_wait_eq 10 30 it_count "temperature/house=1/room=$r"; done

for w in small big; do
  rooms="[kitchen, lounge]"; [ "$w" = big ] && rooms="[kitchen, lounge, bedroom]"
  cat > "$IT_DIR/$w.yaml" <<YAML
id: $w
job_span: 1h
plates:
  H:   {meta: house, values: ["1"]}
  H.R: {meta: room, parent: H, values: $rooms}
factors:
  - tool: aggregate
    params: {func: mean}
    over: room
    sources: [temperature]
    sink: ${w}_temp
    plates: [H]
YAML
  $HSCTL workflow add "$IT_DIR/$w.yaml" > /dev/null || it_fail "workflow add $w"
done

# Within the limit: computed, with the mean of the two rooms.
$HSCTL compute small --from "$T0" --to "$((T0 + 600))" --wait > "$IT_DIR/small.out" 2>&1 ||
  it_fail "the compute within the runtime's limit failed: $(cat "$IT_DIR/small.out")"
$HSCTL stream get "small_temp/house=1" --format csv > "$IT_DIR/small.csv"
$PY - "$IT_DIR/small.csv" <<'PY' || it_fail "small_temp is not the mean of kitchen and lounge: $(cat "$IT_DIR/small.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
assert len(rows) == 10, rows
for i, row in enumerate(rows, 1):
    assert abs(float(row[1]) - ((20.0 + i) + (18.0 + i)) / 2) < 1e-9, (i, row)
PY

# Over the limit: the runtime refuses the job, and the request fails with its reason.
start=$SECONDS
if $HSCTL compute big --from "$T0" --to "$((T0 + 600))" --wait > "$IT_DIR/big.out" 2>&1; then
  it_fail "a compute the runtime refuses succeeded: $(cat "$IT_DIR/big.out")"
fi
took=$((SECONDS - start))
it_log "the refused compute ended after ${took}s: $(tail -n 1 "$IT_DIR/big.out")"
[ "$took" -lt 60 ] || it_fail "the refused job was failed only after ${took}s, not before job_timeout (60s)"
grep -q "0/1 jobs done, 1 failed" "$IT_DIR/big.out" || it_fail "expected 1 failed job: $(cat "$IT_DIR/big.out")"
grep -q "max_job_streams" "$IT_DIR/big.out" || it_fail "the compute does not give the runtime's reason: $(cat "$IT_DIR/big.out")"
grep -q "no commit after" "$IT_DIR/big.out" && it_fail "the refused job timed out: $(cat "$IT_DIR/big.out")"
$HSCTL jobs big --failed --json > "$IT_DIR/failed.jsonl" || it_fail "hsctl jobs --failed failed"
$PY - "$IT_DIR/failed.jsonl" <<'PY' || it_fail "the failed job in the history: $(cat "$IT_DIR/failed.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 1, rows
r = rows[0]
assert r["outcome"] != "ok", r
assert "the tool runtime refused the job" in r["error"], r
assert "3 sources" in r["error"] and "at most 2 (max_job_streams)" in r["error"], r
assert r["runtime"].startswith("tool"), r
PY
[ "$(it_count "big_temp/house=1")" = 0 ] || it_fail "the refused job wrote instances"

# Output too big to send: 100001 ticks of one job, one instance per write request.
cat > "$IT_DIR/ticks.yaml" <<YAML
id: ticks
job_span: 30d
factors:
  - tool: clock
    params: {stride: 1s}
    sink: many_ticks
YAML
$HSCTL workflow add "$IT_DIR/ticks.yaml" > /dev/null || it_fail "workflow add ticks"
start=$SECONDS
if $HSCTL compute ticks --from "$T0" --to "$((T0 + 100001))" --wait > "$IT_DIR/ticks.out" 2>&1; then
  it_fail "a compute whose output the runtime refuses succeeded: $(cat "$IT_DIR/ticks.out")"
fi
took=$((SECONDS - start))
[ "$took" -lt 60 ] || it_fail "the job with too much output was failed only after ${took}s"
grep -q "0/1 jobs done, 1 failed" "$IT_DIR/ticks.out" || it_fail "expected 1 failed job: $(cat "$IT_DIR/ticks.out")"
grep -q "refused the job's output: 100001 instances need more than 100000 parts of 1 (part_max_instances)" \
  "$IT_DIR/ticks.out" || it_fail "the compute does not give the runtime's reason: $(cat "$IT_DIR/ticks.out")"
[ "$(it_count many_ticks)" = 0 ] || it_fail "the refused job wrote instances"
grep -q "unreadable job" "$IT_DIR"/logs/tool*.log && it_fail "the refused job became a dead letter"
it_all_alive
it_log "ok"
