#!/usr/bin/env bash
# Fault 5: the store's disk is full. The writer runs with a file size limit
# (RLIMIT_FSIZE, set on the running process with prlimit --pid) so that every
# write to the SQLite files fails with EFBIG, as on a full disk (the services
# ignore SIGXFSZ, common/hs_service.c). While it lasts the writer must stay
# up, report the error and acknowledge nothing (the store does not change);
# ingest's write client holds the unacknowledged requests (bounded by
# max_pending_bytes). Once the limit is lifted everything arrives exactly
# once.
. "$(dirname "$0")/lib.sh"
f_setup
# The writer's output goes through a pipe (f_spawn), so that the limit does
# not also stop its log.
wpid=$(it_pid writer)
kill "$wpid"
for _ in $(seq 1 100); do f_alive "$wpid" || break; sleep 0.05; done
f_spawn writer
f_wait_online
wpid=$(it_pid writer)
if f_long; then FULL_S=60; N2=60000; else FULL_S=8; N2=15000; fi
N1=4000
f_publish full $N1 0
f_wait_stored full $N1 60 || it_fail "the first readings were not stored"
errors0=$(grep -c "store write failed" "$IT_DIR/logs/writer.log" || true)
prlimit --pid "$wpid" --fsize=1: || it_fail "prlimit failed"
it_log "writer $wpid: file size limit 1 byte"
t_full=$(date +%s)
f_publish full $N2 $N1
# Hold the disk full for a while; sample what waits where.
max_backlog=0; max_rx=0
while [ $(( $(date +%s) - t_full )) -lt $FULL_S ]; do
  b=$(f_stat ingest backlog); r=$(f_stat writer rx_queued)
  [ "$b" != "?" ] && [ "$b" -gt $max_backlog ] && max_backlog=$b
  [ "$r" != "?" ] && [ "$r" -gt $max_rx ] && max_rx=$r
  sleep 1
done
during=$(f_stored full)
errors=$(( $(grep -c "store write failed" "$IT_DIR/logs/writer.log" || true) - errors0 ))
f_alive "$wpid" || it_fail "the writer died on a full disk"
it_log "disk full for ${FULL_S}s: store holds $during of $((N1 + N2)), $errors store errors logged, ingest backlog up to $max_backlog requests, writer receive queue up to $max_rx"
# Nothing may be acknowledged, hence stored, while the disk is full.
wrong=0
[ "$during" = "$N1" ] || { it_log "the store changed while full: $during"; wrong=$((wrong + 1)); }
[ "$errors" -gt 0 ] || { it_log "the writer logged no store error"; wrong=$((wrong + 1)); }
prlimit --pid "$wpid" --fsize=unlimited: || it_fail "prlimit failed"
t_free=$(date +%s.%N)
f_wait_stored full $((N1 + N2)) 120 || true
recover_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_free" "$(date +%s.%N)")
f_check_readings --acked "$IT_DIR/acked.txt" --stream full --streams 4
it_all_alive
[ "$(f_stat ingest backlog)" = 0 ] || it_log "ingest still holds requests"
f_report disk_full "$CHK_checked" "$((CHK_checked - CHK_stored))" "$CHK_dup" \
  "$((CHK_wrong + wrong))" 0 0 \
  "full_for=${FULL_S}s store_errors_logged=$errors ingest_backlog_max=$max_backlog writer_rx_max=$max_rx all_stored_after=${recover_s}s"
