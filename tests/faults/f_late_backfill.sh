#!/usr/bin/env bash
# Fault 10: late data during a backfill. A backfill (hsctl compute) of the
# three-factor workflow of kill_backfill (sliding windows of 5 min every
# 10 s, mean per room, max per house; 2-minute jobs, at most two in flight)
# over 2 hours of 1 Hz data in four rooms (8 hours in long mode) runs while
# late readings at random moments inside that range (100 per room, between
# the existing ones; 1,000 in long mode) are published in small batches.
# Some land in intervals already computed (they reopen them), some in
# intervals not computed yet, some while the job reading them runs. After
# the backfill, compute runs again over the same range: it must recompute
# exactly the reopened intervals. Then every derived value must equal the
# recomputation from the stored readings (check.py values), the room and
# house sinks must be calculated over exactly the requested range, no
# reopened interval may be left and nothing may be left in the scheduler.
. "$(dirname "$0")/lib.sh"
export HS_MAX_INFLIGHT=${HS_MAX_INFLIGHT:-2}
f_setup
if f_long; then HOURS=8; LATE=1000; else HOURS=2; LATE=100; fi
T0=1700006400
BATCHES=20
$PY - "$IT_DIR" "$T0" "$HOURS" "$FAULT_SEED" "$LATE" "$BATCHES" <<'PY'
import json, random, sys
d, t0, hours, seed, late, batches = sys.argv[1], *map(int, sys.argv[2:])
random.seed(seed)
for h in (1, 2):
    for r in ("kitchen", "lounge"):
        vals = [(t0 + i, round(20 + random.gauss(0, 2), 3)) for i in range(1, hours * 3600 + 1)]
        with open(f"{d}/raw_{h}_{r}.txt", "w") as f:
            for c in range(0, len(vals), 500):
                f.write(json.dumps([{"t": t, "v": v} for t, v in vals[c:c + 500]]) + "\n")
        # Late readings: between two on-time ones (t + 0.5 s), far off the others'
        # values, so that every window holding one changes.
        ts = random.sample(range(hours * 3600), late)
        rows = [{"t": t0 + i + 0.5, "v": round(random.uniform(40, 60), 3)} for i in ts]
        per = (len(rows) + batches - 1) // batches
        with open(f"{d}/late_{h}_{r}.txt", "w") as f:
            for c in range(0, len(rows), per):
                f.write(json.dumps(rows[c:c + per]) + "\n")
PY
for h in 1 2; do for r in kitchen lounge; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=$h/room=$r" -l < "$IT_DIR/raw_${h}_$r.txt"
done; done
N=$((HOURS * 3600))
for h in 1 2; do for r in kitchen lounge; do it_wait_eq "$N" 120 it_count "temperature/house=$h/room=$r"; done; done
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: lbf
job_span: 2m
plates:
  H:   {meta: house, values: ["1", "2"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: sliding_window
    params: {width: 300s, increment: 10s}
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
$HSCTL workflow add "$IT_DIR/wf.yaml" > /dev/null || it_fail "workflow add failed"
A=$T0; B=$((T0 + HOURS * 3600))
if f_long; then wait_s=600; else wait_s=240; fi
timeout $wait_s $HSCTL compute lbf --from $A --to $B --wait > "$IT_DIR/compute1.out" 2>&1 &
COMPUTE=$!
# The late readings, batch by batch, while the backfill runs.
during=0
for b in $(seq 1 $BATCHES); do
  sleep 0.1
  for h in 1 2; do for r in kitchen lounge; do
    sed -n "${b}p" "$IT_DIR/late_${h}_$r.txt" |
      mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=$h/room=$r" -l &
  done; done
  wait $(jobs -p | grep -vx "$COMPUTE")
  f_alive "$COMPUTE" && during=$((during + 1))
done
rc1=0
wait $COMPUTE || rc1=$?
it_log "first compute (exit $rc1, $during of $BATCHES late batches published while it ran): $(tail -1 "$IT_DIR/compute1.out")"
for h in 1 2; do for r in kitchen lounge; do
  it_wait_eq "$((N + LATE))" 60 it_count "temperature/house=$h/room=$r"
done; done
# The same compute again: it recomputes what late data reopened.
rc2=0
timeout $wait_s $HSCTL compute lbf --from $A --to $B --wait > "$IT_DIR/compute2.out" 2>&1 || rc2=$?
it_log "second compute (exit $rc2): $(tr '\n' ' ' < "$IT_DIR/compute2.out")"
stuck=0
[ "$rc1" = 0 ] || stuck=$((stuck + 1))
[ "$rc2" = 0 ] || stuck=$((stuck + 1))
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || stuck=$((stuck + 1))
f_check_values
gaps=0
want="($(f_iso $A), $(f_iso $B)]"
for s in room_temp/house={1,2}/room={kitchen,lounge} house_max/house={1,2}; do
  got=$($HSCTL stream intervals "$s" 2>&1 || true)
  [ "$got" = "$want" ] || { gaps=$((gaps + 1)); it_log "$s calculated over '$got', expected $want"; }
done
it_all_alive
f_report late_backfill "$VAL_checked" "$VAL_lost" "$VAL_dup" "$VAL_wrong" "$gaps" \
  "$((stuck + VAL_reopened))" "hours=$HOURS late=$((4 * LATE)) late_batches_during_backfill=$during/$BATCHES" \
  "second_compute='$(tail -1 "$IT_DIR/compute2.out" | tr -d "'")'"
