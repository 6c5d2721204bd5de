#!/usr/bin/env bash
# Fault 3: the broker is unreachable when the services start. The stack is
# created with 'hsctl up' and stopped; the services are then started by hand
# exactly as 'hsctl up' starts them (same settings file, ids and logs) while
# no broker listens on their port. For longer than any connect timeout they
# must keep waiting (alive, not exited); then 'hsctl up' starts the broker on
# the same port, every service comes online, readings flow and a workflow
# computes.
. "$(dirname "$0")/lib.sh"
f_setup
$HSCTL down > /dev/null
if f_long; then WAIT=40; else WAIT=12; fi
for s in writer ingest scheduler tools; do f_spawn "$s"; done
it_log "services started without a broker; waiting ${WAIT}s"
sleep "$WAIT"
for s in writer ingest scheduler tools; do
  f_alive "$(it_pid $s)" || it_fail "$s exited while the broker was unreachable: $(tail -3 "$IT_DIR/logs/$s.log")"
done
t_up=$(date +%s.%N)
f_restart
t_on=$(date +%s.%N)
online_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_up" "$t_on")
it_log "broker started; every service online after ${online_s}s"
# Data flows: readings through ingest and the writer...
N=4000
f_publish late $N 0
f_wait_stored late $N 60 || true
f_check_readings --acked "$IT_DIR/acked.txt" --stream late --streams 4
# ...and a workflow computes through the scheduler and the tool runtime.
f_count_workflow late late "job_span: 1s"
# Reading i is at A + i ms on dev=i%4: each second (A+s-1, A+s] of the first
# three holds 250 readings of every device.
A=1700000000; B=$((A + 3))
stuck=0
timeout 120 $HSCTL compute late --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 || stuck=1
f_check_per_second $A $B
f_check_values
it_all_alive
f_report broker_late $((CHK_checked + PS_RESULTS + VAL_checked)) \
  "$((CHK_checked - CHK_stored + VAL_lost))" "$((CHK_dup + VAL_dup))" \
  "$((CHK_wrong + PS_WRONG + VAL_wrong))" "$PS_GAPS" "$((stuck + VAL_reopened))" \
  "waited=${WAIT}s online_after=${online_s}s values_checked=$VAL_checked"
