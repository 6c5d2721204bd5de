#!/usr/bin/env bash
# Fault 9: devices empty their buffers while live data flows. Three devices
# publish live readings (mqttpub.py, QoS 1, 10/s each, timestamps = now)
# into an online workflow (every 1 s over [-5 s, -1 s]: counts per second
# and means over 10 s, per device, for six devices). The past 12 minutes of
# the workflow are computed first (hsctl compute), so that the online
# results reach back beyond the buffered data. Meanwhile three other devices
# publish 600 readings each (3,000 in long mode) stamped within the last 10
# minutes, in random order, as devices that were offline send what they
# buffered. Late data reopens the seconds and windows it falls in; the
# online workflow recomputes them. Every derived value must equal the
# recomputation from the stored readings (check.py values), no reopened
# interval may be left, every acknowledged reading must be stored once and
# every sink must be calculated over one contiguous interval.
. "$(dirname "$0")/lib.sh"
f_setup
if f_long; then LIVE=90; BUF=3000; else LIVE=25; BUF=600; fi
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: buf
online: {every: 1s, window: [-5s, -1s]}
job_span: 1m
plates:
  D: {meta: dev, values: ["0", "1", "2", "3", "4", "5"]}
factors:
  - tool: sliding_window
    params: {width: 1s, increment: 1s}
    sink: ticks
  - tool: sliding_apply
    params: {func: count}
    sources: [ticks, lb]
    sink: per_second
    plates: [D]
  - tool: sliding_window
    params: {width: 10s, increment: 10s}
    sink: ticks10
  - tool: sliding_apply
    params: {func: mean}
    sources: [ticks10, lb]
    sink: mean10
    plates: [D]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" > /dev/null || it_fail "workflow add failed"
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/lb --streams 3 --clock now \
  --rate 30 --duration "$LIVE" --acked "$IT_DIR/acked_live.txt" > "$IT_DIR/pub_live.json" &
LIVEPUB=$!
IT_EXTRA_PIDS=$LIVEPUB
sleep 2
now=$(date +%s)
A=$((now - 720)); B=$((now - 2))
timeout 120 $HSCTL compute buf --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 ||
  it_fail "compute of the past failed: $(cat "$IT_DIR/compute.out")"
it_log "computed ($(f_iso $A), $(f_iso $B)]: $(tail -1 "$IT_DIR/compute.out")"
# The buffered readings: within (now - 630 s, now - 90 s], shuffled.
STEP=$((540000000 / (3 * BUF)))
T0=$(( ($(date +%s) - 630) * 1000000 ))
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/lb --streams 3 --dev-offset 3 \
  --clock seq --t0 "$T0" --step "$STEP" --count $((3 * BUF)) --rate 300 --shuffle "$FAULT_SEED" \
  --client-id "faults-buf-$$" --acked "$IT_DIR/acked_buf.txt" > "$IT_DIR/pub_buf.json" ||
  it_fail "the buffered publisher failed: $(cat "$IT_DIR/pub_buf.json")"
t_buf=$(date +%s.%N)
wait $LIVEPUB || it_fail "the live publisher failed: $(cat "$IT_DIR/pub_live.json")"
IT_EXTRA_PIDS=""
live=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["readings"])' "$IT_DIR/pub_live.json")
f_wait_stored lb "$((live + 3 * BUF))" 60 || true
f_check_readings --acked "$IT_DIR/acked_live.txt" --stream lb --streams 3
r_checked=$CHK_checked; r_lost=$((CHK_checked - CHK_stored)); r_dup=$CHK_dup; r_wrong=$CHK_wrong
f_check_readings --acked "$IT_DIR/acked_buf.txt" --stream lb --streams 3 --dev-offset 3
r_checked=$((r_checked + CHK_checked)); r_lost=$((r_lost + CHK_checked - CHK_stored))
r_dup=$((r_dup + CHK_dup)); r_wrong=$((r_wrong + CHK_wrong))
converged=no
f_wait_values 30 && converged=yes
converge_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
  "$t_buf" "$(date +%s.%N)")
f_check_values
# Every sink calculated over one contiguous interval (from A on; the window
# streams from A minus their readers' lookback).
gaps=$(f_gaps --from "$A" ticks ticks10 per_second/dev={0..5} mean10/dev={0..5})
stuck=0
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || stuck=$((stuck + 1))
it_all_alive
f_report late_buffered "$((r_checked + VAL_checked))" "$((r_lost + VAL_lost))" \
  "$((r_dup + VAL_dup))" "$((r_wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" \
  "live=$live buffered=$((3 * BUF)) values_checked=$VAL_checked" \
  "converged=$converged (${converge_s}s after the last buffered reading)"
