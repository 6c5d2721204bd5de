#!/usr/bin/env bash
# Fault 8: ingest stalls under an online workflow. Four devices publish 20
# readings/s each (mqttpub.py, QoS 1, timestamps = now) into an online
# workflow counting readings per second and device (every 1 s over
# [-5 s, -1 s]). Ingest is stopped (SIGSTOP) for 12 s and continued
# (SIGCONT): the broker keeps the readings in ingest's persistent session,
# so they all arrive, but late, after the online workflow computed their
# seconds. Late data reopens those seconds and the online workflow
# recomputes them: within 30 s of the stall's end every per-second count
# must equal the readings stored in its second (check.py values), no
# reopened interval may be left, every acknowledged reading must be stored
# once and the calculated intervals must stay contiguous. Long mode: three
# stalls, 10 s apart.
. "$(dirname "$0")/lib.sh"
f_setup
STALL=12
if f_long; then STALLS=3; else STALLS=1; fi
RATE=80
f_count_workflow stall stall "online: {every: 1s, window: [-5s, -1s]}"
# Live before the first stall, between stalls and after the last one.
TOTAL=$((5 + STALLS * (STALL + 10)))
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/stall --streams 4 --clock now \
  --rate "$RATE" --duration "$TOTAL" --acked "$IT_DIR/acked.txt" > "$IT_DIR/pub.json" &
PUB=$!
IT_EXTRA_PIDS=$PUB
sleep 5
ipid=$(it_pid ingest)
converged=no
for n in $(seq 1 $STALLS); do
  kill -STOP "$ipid"
  echo "$(date +%s.%N) ingest-stop" >> "$FAULT_KILLS"
  it_log "ingest stopped for ${STALL}s"
  sleep "$STALL"
  kill -CONT "$ipid"
  echo "$(date +%s.%N) ingest-cont" >> "$FAULT_KILLS"
  t_cont=$(date +%s.%N)
  # Results converge while live data keeps flowing: polled until equal to
  # the recomputation, at most 30 s.
  f_wait_values 30 && converged=yes || converged=no
  converge_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
    "$t_cont" "$(date +%s.%N)")
  it_log "stall $n: results converged: $converged after ${converge_s}s"
  [ "$n" = "$STALLS" ] || sleep 10
done
wait $PUB || it_fail "the publisher failed: $(cat "$IT_DIR/pub.json")"
IT_EXTRA_PIDS=""
total=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["readings"])' "$IT_DIR/pub.json")
f_wait_stored stall "$total" 60 || true
f_check_readings --acked "$IT_DIR/acked.txt" --stream stall --streams 4
f_wait_values 30 || true
f_check_values
# The online results: one contiguous calculated interval per device.
gaps=$(f_gaps per_second/dev={0..3})
stuck=0
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || stuck=$((stuck + 1))
it_all_alive
f_report ingest_stall "$((CHK_checked + VAL_checked))" "$((CHK_checked - CHK_stored + VAL_lost))" \
  "$((CHK_dup + VAL_dup))" "$((CHK_wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" \
  "stalls=$STALLS x ${STALL}s rate=${RATE}/s readings=$total values_checked=$VAL_checked" \
  "converged=$converged (${converge_s}s after the last SIGCONT)"
