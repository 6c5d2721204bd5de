#!/usr/bin/env bash
# Fault 11: the writer dies in the middle of replacing commits. Four devices
# publish live readings (mqttpub.py, QoS 1, 20/s each, timestamps = now)
# into an online workflow (every 1 s over [-5 s, -1 s]: counts per second
# and means over 10 s per device) whose past 6 minutes were computed first.
# Meanwhile the same devices send 2,000 readings (6,000 in long mode) stamped
# within those 6 minutes, in random order: each reopens intervals that hold
# results already, so the online workflow's recomputations replace stored
# instances. While they commit, the writer is killed with SIGKILL (by its
# pid) three times (eight in long mode) at seeded random moments and
# restarted. Every acknowledged reading must be stored exactly once, every
# derived value must equal the recomputation from the stored readings
# (check.py values: a replacing commit cut in half would leave old values,
# or lose new ones), no reopened interval may be left and the calculated
# intervals must stay contiguous.
. "$(dirname "$0")/lib.sh"
f_setup
if f_long; then LIVE=90; LATE=6000; KILLS=8; else LIVE=25; LATE=2000; KILLS=3; fi
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: repl
online: {every: 1s, window: [-5s, -1s]}
job_span: 1m
plates:
  D: {meta: dev, values: ["0", "1", "2", "3"]}
factors:
  - tool: sliding_window
    params: {width: 1s, increment: 1s}
    sink: ticks
  - tool: sliding_apply
    params: {func: count}
    sources: [ticks, wk]
    sink: per_second
    plates: [D]
  - tool: sliding_window
    params: {width: 10s, increment: 10s}
    sink: ticks10
  - tool: sliding_apply
    params: {func: mean}
    sources: [ticks10, wk]
    sink: mean10
    plates: [D]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" > /dev/null || it_fail "workflow add failed"
# Past data to recompute: one reading per second and device over 6 minutes.
now=$(date +%s)
A=$((now - 400)); B=$((now - 2))
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wk --streams 4 --clock seq \
  --t0 $(( (now - 390) * 1000000 )) --step 250000 --count 1440 --rate 2000 \
  --client-id "faults-past-$$" --acked "$IT_DIR/acked_past.txt" > "$IT_DIR/pub_past.json" ||
  it_fail "the publisher of the past failed: $(cat "$IT_DIR/pub_past.json")"
f_wait_stored wk 1440 30 || true
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wk --streams 4 --clock now \
  --rate 80 --duration "$LIVE" --acked "$IT_DIR/acked_live.txt" > "$IT_DIR/pub_live.json" &
LIVEPUB=$!
IT_EXTRA_PIDS=$LIVEPUB
timeout 120 $HSCTL compute repl --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 ||
  it_fail "compute of the past failed: $(cat "$IT_DIR/compute.out")"
it_log "computed ($(f_iso $A), $(f_iso $B)]: $(tail -1 "$IT_DIR/compute.out")"
# The late readings, between the past ones (which are on a 250 ms grid; these
# are 37 us off any 10 ms), shuffled.
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wk --streams 4 --clock seq \
  --t0 $(( (now - 390) * 1000000 + 100037 )) --step $((360000000 / LATE / 10000 * 10000)) --count "$LATE" \
  --rate 200 --shuffle "$FAULT_SEED" --client-id "faults-late-$$" \
  --acked "$IT_DIR/acked_late.txt" > "$IT_DIR/pub_late.json" &
LATEPUB=$!
IT_EXTRA_PIDS="$LIVEPUB $LATEPUB"
for _ in $(seq 1 $KILLS); do
  f_sleep_ms 1000 3000
  f_kill writer
  it_log "killed the writer ($(f_stat scheduler backlog) jobs in the scheduler)"
  f_sleep_ms 0 500
  f_restart
done
wait $LATEPUB || it_fail "the late publisher failed: $(cat "$IT_DIR/pub_late.json")"
t_late=$(date +%s.%N)
wait $LIVEPUB || it_fail "the live publisher failed: $(cat "$IT_DIR/pub_live.json")"
IT_EXTRA_PIDS=""
live=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["readings"])' "$IT_DIR/pub_live.json")
f_wait_stored wk "$((live + 1440 + LATE))" 60 || true
# Each acknowledged reading (the three publishers' lists: keys differ by time)
# stored exactly once.
cat "$IT_DIR"/acked_{past,live,late}.txt > "$IT_DIR/acked_all.txt"
f_check_readings --acked "$IT_DIR/acked_all.txt" --stream wk --streams 4
r_checked=$CHK_checked; r_lost=$((CHK_checked - CHK_stored)); r_dup=$CHK_dup; r_wrong=$CHK_wrong
converged=no
f_wait_values 30 && converged=yes
converge_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
  "$t_late" "$(date +%s.%N)")
f_check_values
gaps=$(f_gaps --from "$A" ticks ticks10 per_second/dev={0..3} mean10/dev={0..3})
stuck=0
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || stuck=$((stuck + 1))
it_all_alive
f_report writer_kill_replace "$((r_checked + VAL_checked))" "$((r_lost + VAL_lost))" \
  "$((r_dup + VAL_dup))" "$((r_wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" \
  "writer_kills=$KILLS live=$live late=$LATE values_checked=$VAL_checked" \
  "converged=$converged (${converge_s}s after the last late reading)"
