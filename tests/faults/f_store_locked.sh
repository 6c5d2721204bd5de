#!/usr/bin/env bash
# Fault 6: the store is locked or slow. Another process (the sqlite3 shell)
# holds an exclusive transaction on the SQLite file while readings arrive:
# first for less than the writer's busy timeout (10 s: the writer just
# waits), then for longer (its commit fails with "database is locked" and is
# retried with backoff, acknowledging nothing meanwhile). After each release
# every reading must be stored exactly once.
. "$(dirname "$0")/lib.sh"
f_setup
if f_long; then LOCKS="5 45"; else LOCKS="4 13"; fi
N=6000
i0=0
max_backlog=0
errors0=$(grep -c "store write failed" "$IT_DIR/logs/writer.log" || true)
notes=""
for secs in $LOCKS; do
  # BEGIN EXCLUSIVE takes the write lock at once; the shell holds it until
  # COMMIT arrives on its input.
  ( echo "BEGIN EXCLUSIVE;"; echo "SELECT 'locked';"; sleep "$secs"; echo "COMMIT;" ) |
    sqlite3 "$IT_DIR/hs.db" > "$IT_DIR/lock.out" 2>&1 &
  LOCK=$!
  IT_EXTRA_PIDS=$LOCK
  f_wait_eq locked 10 cat "$IT_DIR/lock.out" || it_fail "the sqlite3 shell did not lock the store: $(cat "$IT_DIR/lock.out")"
  t_lock=$(date +%s.%N)
  before=$(f_stored locked)
  f_publish locked $N $i0 3000
  i0=$((i0 + N))
  b=$(f_stat ingest backlog)
  [ "$b" != "?" ] && [ "$b" -gt $max_backlog ] && max_backlog=$b
  during=$(f_stored locked)
  wait $LOCK || it_fail "the sqlite3 shell failed: $(cat "$IT_DIR/lock.out")"
  IT_EXTRA_PIDS=""
  held=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_lock" "$(date +%s.%N)")
  t_free=$(date +%s.%N)
  f_wait_stored locked $i0 120 || true
  after=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_free" "$(date +%s.%N)")
  errs=$(( $(grep -c "store write failed" "$IT_DIR/logs/writer.log" || true) - errors0 ))
  errors0=$((errors0 + errs))
  it_log "lock held ${held}s: $((during - before)) of $N readings stored meanwhile, $errs store errors logged, all stored ${after}s after the release"
  notes="$notes lock_${secs}s:errors=$errs,stored_during=$((during - before)),all_after=${after}s"
done
f_check_readings --acked "$IT_DIR/acked.txt" --stream locked --streams 4
it_all_alive
f_report store_locked "$CHK_checked" "$((CHK_checked - CHK_stored))" "$CHK_dup" "$CHK_wrong" 0 0 \
  "busy_timeout=10s$notes ingest_backlog_max=$max_backlog"
