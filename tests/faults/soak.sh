#!/usr/bin/env bash
# Fault 13, the soak: a steady rate of live readings (mqttpub.py, QoS 1,
# timestamps = now) for a bounded time (60 s; --long: 10 min) with an online
# workflow computing over them every second. The resident memory of every
# process of the stack is sampled; the median of the last quarter of the
# soak may exceed the first quarter's (after a warm-up) by at most 20% or
# 5 MB, whichever is larger, plus what the store grew meanwhile (SQLite's
# page cache, capped at 64 MiB per connection, legitimately holds the new
# pages). The store's write-ahead log must stay bounded too (it is reset
# after each checkpoint unless a connection pins it).
#
# Then back-pressure: the writer is paused (hsctl ctl writer pause) for 15 s
# while the readings keep coming. Ingest's write client may hold at most
# max_pending_bytes (set low here) of unacknowledged requests; then ingest
# stops reading and the broker keeps the rest in ingest's persistent session.
# The figures are reported, and after the resume every acknowledged reading
# must be stored exactly once and the online results must have no gap and
# converge to the recomputation from the stored readings (the pause made
# data late). recomputed_ontime: job history records marked "recompute"
# committed before the pause, while only on-time data flowed; must be 0.
. "$(dirname "$0")/lib.sh"
export HS_MAX_PENDING_BYTES=${HS_MAX_PENDING_BYTES:-128K}
f_setup
if f_long; then SOAK=600; EVERY=10; WARM=60; else SOAK=60; EVERY=2; WARM=10; fi
PAUSE=15
RATE=${FAULT_RATE:-2000}
f_count_workflow soak soak "online: {every: 1s, window: [-5s, -1s]}"
TOTAL=$((SOAK + PAUSE + 10))
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/soak --streams 4 --clock now \
  --rate "$RATE" --duration "$TOTAL" --acked "$IT_DIR/acked.txt" > "$IT_DIR/pub.json" &
PUB=$!
IT_EXTRA_PIDS=$PUB
SVCS="writer ingest scheduler tools broker"
pids() { for s in $SVCS; do it_pid "$s"; done; }
# One sample: seconds since start, phase, RSS (kB) per process, store bytes,
# ingest msgs_in, ingest backlog (requests), ingest and writer receive queues.
sample() {
  local line="$1 $2"
  for p in $(pids); do line="$line $(f_rss_kb "$p")"; done
  local db wal
  db=$(stat -c %s "$IT_DIR/hs.db" 2>/dev/null || echo 0)
  wal=$(stat -c %s "$IT_DIR/hs.db-wal" 2>/dev/null || echo 0)
  local ist; ist=$($HSCTL ctl ingest stats 2>/dev/null | head -1 || true)
  line="$line $db $wal $($PY -c '
import json, sys
try:
    s = json.loads(sys.argv[1])["stats"]
    print(s["msgs_in"], s["backlog"], s["rx_queued"])
except Exception:
    print("? ? ?")' "$ist") $(f_stat writer rx_queued)"
  echo "$line" >> "$IT_DIR/samples.txt"
}
echo "# s phase $SVCS db_bytes wal_bytes ingest_msgs_in ingest_backlog ingest_rx writer_rx" > "$IT_DIR/samples.txt"
start=$(date +%s)
el() { echo $(( $(date +%s) - start )); }
while [ "$(el)" -lt $SOAK ]; do
  sample "$(el)" soak
  sleep $EVERY
done
sample "$(el)" soak
# Back-pressure: the writer stops committing (and acknowledging) for PAUSE s.
# Until now only on-time data flowed: no job may have recomputed anything.
t_ontime_end=$(date +%s.%N)
$HSCTL ctl writer pause > /dev/null 2>&1 || it_fail "cannot pause the writer"
t_pause=$(date +%s)
while [ $(( $(date +%s) - t_pause )) -lt $PAUSE ]; do
  sample "$(el)" pause
  sleep 1
done
sample "$(el)" pause
$HSCTL ctl writer resume > /dev/null 2>&1 || it_fail "cannot resume the writer"
t_resume=$(date +%s.%N)
wait $PUB || it_fail "the publisher failed: $(cat "$IT_DIR/pub.json")"
IT_EXTRA_PIDS=""
sample "$(el)" after
total=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["readings"])' "$IT_DIR/pub.json")
f_wait_stored soak "$total" 120 || true
drain=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_resume" "$(date +%s.%N)")
sample "$(el)" drained
f_check_readings --acked "$IT_DIR/acked.txt" --stream soak --streams 4
# The online results: one contiguous calculated interval per device.
gaps=$(f_gaps per_second/dev={0..3})
stuck=0
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || true
# Every per-second count equals the readings stored in its second (the pause
# made data late: the online workflow must have healed it).
f_wait_values 30 || true
f_check_values
hist=$($PY "$FAULTS_DIR/check.py" history --db "$IT_DIR/hs.db" --before "$t_ontime_end") ||
  it_fail "the history checker failed: $hist"
eval "$(echo "$hist" | grep -E '^CHK_[a-z_]+=[-0-9a-zA-Z.,:_]*$')"
it_all_alive
# Memory trend and back-pressure figures from the samples.
[ -n "${FAULT_RESULTS:-}" ] && cp "$IT_DIR/samples.txt" "$(dirname "$FAULT_RESULTS")/soak_samples.txt"
verdict=$($PY - "$IT_DIR/samples.txt" "$WARM" "$SOAK" "$HS_MAX_PENDING_BYTES" "$PAUSE" <<'PY'
import statistics, sys
path, warm, soak, bound, pause_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
head = open(path).readline().split()[1:]
names = head[2:7]
rows = [l.split() for l in open(path) if not l.startswith("#")]
soak_rows = [r for r in rows if r[1] == "soak" and int(r[0]) >= warm]
q = max(1, len(soak_rows) // 4)
first, last = soak_rows[:q], soak_rows[-q:]
med = lambda rs, i: statistics.median(int(r[i]) for r in rs)
db_growth_kb = (med(last, 7) - med(first, 7)) / 1024
wal_a, wal_b = med(first, 8) / 1048576, med(last, 8) / 1048576
notes, bad = [], []
for i, n in enumerate(names):
    a, b = med(first, 2 + i), med(last, 2 + i)
    allowed = max(0.2 * a, 5120) + (max(0, db_growth_kb) if n in ("writer", "tools", "scheduler") else 0)
    notes.append("%s %.1f->%.1fMB" % (n, a / 1024, b / 1024))
    if b - a > allowed:
        bad.append("%s grew %.1f MB (allowed %.1f MB)" % (n, (b - a) / 1024, allowed / 1024))
pause = [r for r in rows if r[1] == "pause"]
num = lambda v: int(v) if v.lstrip("-").isdigit() else 0
# SQLite's WAL is reset after each checkpoint (every 1000 pages, about 4 MiB)
# unless some connection keeps a read transaction open: then it grows with
# every write, a disk leak.
if wal_b > max(16, 2 * wal_a):
    bad.append("the WAL grew from %.1f to %.1f MB (never reset)" % (wal_a, wal_b))
bl = max(num(r[10]) for r in pause)
irx = max(num(r[11]) for r in pause)
wrx = max(num(r[12]) for r in pause)
# Ingest stopped reading: msgs_in flat over the last samples of the pause.
ins = [num(r[9]) for r in pause]
stopped = len(ins) >= 3 and ins[-1] == ins[-3]
before = rows[[r[1] for r in rows].index("pause") - 1]
peak = lambda i: max(num(r[i]) for r in pause)
print("MEM_NOTES='rss(first->last quarter) %s; store +%.1fMB wal %.1f->%.1fMB'" % (
    ", ".join(notes), db_growth_kb / 1024, wal_a, wal_b))
print("MEM_BAD='%s'" % "; ".join(bad))
print("BP_NOTES='pause=%ss max_pending_bytes=%s ingest_backlog_max=%d_requests ingest_rx_max=%d "
      "writer_rx_max=%d ingest_stopped_reading=%s rss_ingest %.1f->%.1fMB rss_writer %.1f->%.1fMB "
      "rss_broker %.1f->%.1fMB'" % (pause_s, bound, bl, irx, wrx, "yes" if stopped else "no",
      num(before[3]) / 1024, peak(3) / 1024, num(before[2]) / 1024, peak(2) / 1024,
      num(before[6]) / 1024, peak(6) / 1024))
PY
)
eval "$verdict"
rate=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["rate"])' "$IT_DIR/pub.json")
it_log "memory: $MEM_NOTES"
it_log "back-pressure: $BP_NOTES drained_after=${drain}s"
f_report soak "$((CHK_checked + VAL_checked))" "$((CHK_checked - CHK_stored + VAL_lost))" \
  "$((CHK_dup + VAL_dup))" "$((CHK_wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" \
  "recomputed_ontime=$CHK_recompute_before values_checked=$VAL_checked recomputed=$CHK_recompute triggers=$CHK_triggers soak=${SOAK}s rate=${rate}/s $MEM_NOTES; $BP_NOTES drained_after=${drain}s"
[ "$CHK_recompute_before" = 0 ] ||
  it_fail "$CHK_recompute_before jobs recomputed while only on-time data flowed"
[ -z "$MEM_BAD" ] || it_fail "memory or the store grew during the soak: $MEM_BAD"
