#!/usr/bin/env bash
# The tool runtime's workers grow with waiting jobs and shrink when idle.
# Eight slow jobs (a Lua function that spins before it doubles each value;
# job_plate_values 1: a job per plate value) go to a runtime of at most 2
# workers, which starts with 1: jobs wait (the backlog metric shows them,
# through `hsctl ctl tools stats`), a second worker starts, and once the
# work is done and worker_idle (2 s) has passed, one stops again. Every
# result is checked against the stored readings, doubled.
export HS_WORKERS=2 HS_WORKERS_MIN=1 HS_WORKER_IDLE=2s HS_JOB_PLATE_VALUES=1
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800 # a whole hour: one job per plate value with job_span 1h
for k in 1 2 3 4 5 6 7 8; do
  $PY -c 'import json, sys
t0, k = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps([{"t": t0 + 60 * i, "v": 10 * k + i} for i in range(1, 6)]))' "$T0" "$k" > "$IT_DIR/s$k.json"
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/load/k=$k" -l < "$IT_DIR/s$k.json"
done
for k in 1 2 3 4 5 6 7 8; do it_wait_eq 5 30 it_count "load/k=$k"; done

cat > "$IT_DIR/slow.yaml" <<'YAML'
id: slow
job_span: 1h
plates:
  K: {meta: k, values: ["1", "2", "3", "4", "5", "6", "7", "8"]}
factors:
  - tool: apply
    params:
      func: |
        lua: return function(v)
          local x = 0
          for i = 1, 50000000 do x = x + i % 7 end
          return v * 2 + x * 0
        end
    sources: [load]
    sink: doubled
    plates: [K]
YAML
$HSCTL workflow add "$IT_DIR/slow.yaml" > /dev/null || it_fail "workflow add"

# The backlog while the jobs run, sampled until the compute ends.
$HSCTL compute slow --from "$T0" --to "$((T0 + 3600))" --wait > "$IT_DIR/c.out" 2>&1 &
CPID=$!
IT_EXTRA_PIDS="$CPID"
max=0
while kill -0 "$CPID" 2>/dev/null; do
  b=$($HSCTL ctl tools stats 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["stats"]["backlog"])' 2>/dev/null || echo 0)
  [ "$b" -gt "$max" ] && max=$b
  sleep 0.05
done
wait "$CPID" || it_fail "compute failed: $(cat "$IT_DIR/c.out")"
IT_EXTRA_PIDS=
grep -q "8/8 jobs done, 0 failed" "$IT_DIR/c.out" || it_fail "expected 8 jobs: $(tail -n 2 "$IT_DIR/c.out")"
it_log "largest backlog seen: $max"
[ "$max" -gt 0 ] || it_fail "the backlog metric never showed a waiting job"
grep -q "started worker 2 of at most 2" "$IT_DIR/logs/tools.log" ||
  it_fail "no second worker was started: $(grep -i worker "$IT_DIR/logs/tools.log")"
grep -q "started worker 3" "$IT_DIR/logs/tools.log" && it_fail "more workers than the setting allows"

# Every result is its reading doubled (read from the store, not from the tool's log).
$PY - "$IT_DIR/hs.db" <<'PY' || it_fail "the results differ from the readings doubled"
import hs_blocks, sqlite3, struct, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = {}
for sid, t, v in hs_blocks.rows(con):
    rows.setdefault(sid, {})[t] = v
def num(v):
    if v[0] == 0xcb:
        return struct.unpack(">d", v[1:])[0]
    if v[0] <= 0x7f:
        return v[0]
    raise ValueError(v.hex())
for k in range(1, 9):
    raw, out = rows["load/k=%d" % k], rows.get("doubled/k=%d" % k, {})
    assert sorted(raw) == sorted(out), (k, sorted(raw), sorted(out))
    for t in raw:
        assert num(out[t]) == 2 * num(raw[t]), (k, t, num(raw[t]), num(out[t]))
print("ok: 40 values doubled")
PY

# Idle: after worker_idle one of the two workers stops.
for _ in $(seq 1 100); do
  grep -q "idle: a worker stopped (1 left)" "$IT_DIR/logs/tools.log" && break
  sleep 0.1
done
grep -q "idle: a worker stopped (1 left)" "$IT_DIR/logs/tools.log" ||
  it_fail "no worker stopped when idle: $(grep -i worker "$IT_DIR/logs/tools.log")"
grep -q "(0 left)" "$IT_DIR/logs/tools.log" && it_fail "the last worker stopped (workers_min 1)"
it_all_alive
it_log "ok"
