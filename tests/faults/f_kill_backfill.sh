#!/usr/bin/env bash
# Fault 1: during a multi-job backfill, every process of the stack (writer,
# ingest, scheduler, tool runtime and the broker) is killed with SIGKILL in
# a random order at random moments and restarted ('hsctl up' restarts what
# is not running; the broker comes back on the same port with its
# persistence). The final store must equal an independent computation of the
# results, every sink must be calculated over exactly the requested
# interval, and no job may be left (scheduler backlog 0).
. "$(dirname "$0")/lib.sh"
export HS_JOB_TIMEOUT=${HS_JOB_TIMEOUT:-3s}
# Few jobs at a time, so that the kills land in the middle of the computation.
export HS_MAX_INFLIGHT=${HS_MAX_INFLIGHT:-2}
# Many kills may each cost a job one attempt; the scenario checks that the
# work completes, so attempts are not the limit here (f_tool_crash.sh tests
# max_attempts).
export HS_MAX_ATTEMPTS=${HS_MAX_ATTEMPTS:-50}
f_setup
if f_long; then HOURS=12; ROUNDS=3; else HOURS=3; ROUNDS=1; fi
T0=1700006400
WIDTH=300
INC=10
$PY - "$IT_DIR" "$T0" "$HOURS" "$FAULT_SEED" <<'PY'
import json, random, sys
d, t0, hours, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(seed)
data = {}
for h in (1, 2):
    for r in ("kitchen", "lounge"):
        vals = [(t0 + i, round(20 + random.gauss(0, 2), 3)) for i in range(1, hours * 3600 + 1)]
        data[f"{h}/{r}"] = vals
        with open(f"{d}/raw_{h}_{r}.txt", "w") as f:
            for c in range(0, len(vals), 500):
                f.write(json.dumps([{"t": t, "v": v} for t, v in vals[c:c + 500]]) + "\n")
json.dump(data, open(f"{d}/data.json", "w"))
PY
for h in 1 2; do for r in kitchen lounge; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=$h/room=$r" -l < "$IT_DIR/raw_${h}_$r.txt"
done; done
N=$((HOURS * 3600))
for h in 1 2; do for r in kitchen lounge; do it_wait_eq "$N" 120 it_count "temperature/house=$h/room=$r"; done; done
cat > "$IT_DIR/wf.yaml" <<YAML
id: faults
job_span: 2m
plates:
  H:   {meta: house, values: ["1", "2"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: sliding_window
    params: {width: ${WIDTH}s, increment: ${INC}s}
    sink: windows
  - tool: sliding_apply
    params: {func: mean}
    sources: [windows, temperature]
    sink: room_temp
    plates: [H.R]
  - tool: aggregate
    params: {func: max}
    over: room
    sources: [room_temp]
    sink: house_max
    plates: [H]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
A=$T0; B=$((T0 + HOURS * 3600))
$HSCTL compute faults --from $A --to $B > "$IT_DIR/compute.out" || it_fail "compute failed"
it_log "seed $FAULT_SEED: $(cat "$IT_DIR/compute.out")"
jobs_ok() { $HSCTL jobs faults --limit 1000000 --json | grep -c '"outcome":"ok"' || true; }
# Each round kills every process once, in an order drawn from the seed.
kills=0; during=0
for _ in $(seq 1 $ROUNDS); do
  order=$(printf '%s\n' writer ingest scheduler tools broker | while read -r s; do
    echo "$RANDOM $s"; done | sort -n | cut -d' ' -f2)
  for svc in $order; do
    f_sleep_ms 300 2500
    busy=$(f_sched_idle)
    f_kill "$svc"
    kills=$((kills + 1))
    [ "$busy" = no ] && during=$((during + 1))
    it_log "killed $svc (scheduler busy: $([ "$busy" = no ] && echo yes || echo no), $(jobs_ok) jobs committed)"
    f_sleep_ms 0 800
    f_restart
  done
done
# Everything calculated and nothing left: every sink over exactly (A, B] and
# the scheduler's backlog empty.
calc_done() {
  [ "$(f_sched_idle)" = yes ] || { echo no; return; }
  $PY "$FAULTS_DIR/check.py" backfill --hsctl "$HS_BIN/hsctl" --data "$IT_DIR" \
    --expect "$IT_DIR/data.json" --from $A --to $B --width $WIDTH --increment $INC 2>/dev/null |
    grep -q '^CHK_gaps=0$' && echo yes || echo no
}
if f_long; then wait_s=600; else wait_s=240; fi
stuck=0
f_wait_eq yes "$wait_s" calc_done || true
backlog=$(f_stat scheduler backlog)
[ "$backlog" = 0 ] || stuck=$backlog
out=$($PY "$FAULTS_DIR/check.py" backfill --hsctl "$HS_BIN/hsctl" --data "$IT_DIR" \
  --expect "$IT_DIR/data.json" --from $A --to $B --width $WIDTH --increment $INC)
eval "$out"
f_check_values
it_all_alive
failed=$($HSCTL jobs faults --failed --json --limit 1000000 | grep -c '"outcome":"failed"' || true)
f_report kill_backfill "$((CHK_checked + VAL_checked))" "$((CHK_lost + VAL_lost))" \
  "$((CHK_dup + VAL_dup))" "$((CHK_wrong + VAL_wrong))" "$CHK_gaps" "$((stuck + VAL_reopened))" \
  "values_checked=$VAL_checked kills=$kills (during the backfill: $during) jobs=$(jobs_ok) failed_attempts=$failed"
