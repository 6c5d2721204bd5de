#!/usr/bin/env bash
# Fault 12: the writer dies while it rewrites compressed blocks. Four devices
# have 15 minutes of readings stored (2,000 per device, 400 ms apart: two
# blocks each, the first one full) and an online workflow (every 1 s over
# [-5 s, -1 s]: counts per second and means over 10 s per device) computed
# over them. Then, while live readings arrive (mqttpub.py, QoS 1, 20/s per
# device), 2,400 late readings (6,000 in long mode) stamped between the
# stored ones (37 us off their grid) arrive in random order, and 1,600 stored
# readings (4,000) are sent again with their values: each late reading is
# merged into the block that covers it (a block outgrowing 1,024 instances
# is split), each re-sent one is a duplicate, and the recomputations the
# late data causes cut and rewrite the derived streams' blocks. Meanwhile the
# writer is killed with SIGKILL (by its pid) four times (ten in long mode)
# at seeded random moments and restarted. Every acknowledged reading must be
# stored exactly once with its value and nothing else stored (check.py
# readings), every derived value must equal the recomputation from the raw
# readings decoded from their blocks by hs_blocks.py (check.py values,
# which also counts block anomalies as wrong) within 30 s of the last
# reading, no reopened interval may be left and the calculated intervals
# must stay contiguous.
. "$(dirname "$0")/lib.sh"
f_setup
if f_long; then LIVE=60; LATE=6000; RESEND=4000; KILLS=10; else LIVE=20; LATE=2400; RESEND=1600; KILLS=4; fi
PAST=8000
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: blk
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
    sources: [ticks, wb]
    sink: per_second
    plates: [D]
  - tool: sliding_window
    params: {width: 10s, increment: 10s}
    sink: ticks10
  - tool: sliding_apply
    params: {func: mean}
    sources: [ticks10, wb]
    sink: mean10
    plates: [D]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" > /dev/null || it_fail "workflow add failed"
# The past: reading i at P0 + i * 100 ms on device i mod 4 (400 ms apart per device).
now=$(date +%s)
A=$((now - 920)); B=$((now - 2))
P0=$(( (now - 910) * 1000000 ))
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wb --streams 4 --clock seq \
  --t0 "$P0" --step 100000 --count "$PAST" --rate 4000 \
  --client-id "faults-past-$$" --acked "$IT_DIR/acked_past.txt" > "$IT_DIR/pub_past.json" ||
  it_fail "the publisher of the past failed: $(cat "$IT_DIR/pub_past.json")"
f_wait_stored wb "$PAST" 60 || it_fail "the past readings were not stored: $(f_stored wb)"
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wb --streams 4 --clock now \
  --rate 80 --duration "$LIVE" --acked "$IT_DIR/acked_live.txt" > "$IT_DIR/pub_live.json" &
LIVEPUB=$!
IT_EXTRA_PIDS=$LIVEPUB
timeout 150 $HSCTL compute blk --from $A --to $B --wait > "$IT_DIR/compute.out" 2>&1 ||
  it_fail "compute of the past failed: $(cat "$IT_DIR/compute.out")"
it_log "computed ($(f_iso $A), $(f_iso $B)]: $(tail -1 "$IT_DIR/compute.out")"
# Late readings between the stored ones, shuffled; and stored readings sent again
# (same reading numbers, so the same times and values), shuffled too.
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wb --streams 4 --clock seq \
  --t0 $((P0 + 37)) --step $((PAST * 100000 / LATE / 4 * 4)) --count "$LATE" \
  --rate 200 --shuffle "$FAULT_SEED" --client-id "faults-late-$$" \
  --acked "$IT_DIR/acked_late.txt" > "$IT_DIR/pub_late.json" &
LATEPUB=$!
$PY "$FAULTS_DIR/mqttpub.py" --port "$IT_PORT" --topic hs/raw/wb --streams 4 --clock seq \
  --t0 "$P0" --step 100000 --first $(( (PAST - RESEND) / 2 )) --count "$RESEND" \
  --rate 150 --shuffle "$((FAULT_SEED + 1))" --client-id "faults-resend-$$" \
  --acked "$IT_DIR/acked_resend.txt" > "$IT_DIR/pub_resend.json" &
RESENDPUB=$!
IT_EXTRA_PIDS="$LIVEPUB $LATEPUB $RESENDPUB"
for _ in $(seq 1 $KILLS); do
  f_sleep_ms 800 2500
  f_kill writer
  it_log "killed the writer ($(f_stored wb) readings stored)"
  f_sleep_ms 0 500
  f_restart
done
wait $LATEPUB || it_fail "the late publisher failed: $(cat "$IT_DIR/pub_late.json")"
wait $RESENDPUB || it_fail "the re-sending publisher failed: $(cat "$IT_DIR/pub_resend.json")"
wait $LIVEPUB || it_fail "the live publisher failed: $(cat "$IT_DIR/pub_live.json")"
t_last=$(date +%s.%N)
IT_EXTRA_PIDS=""
live=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["readings"])' "$IT_DIR/pub_live.json")
f_wait_stored wb "$((PAST + LATE + live))" 60 || true
# Each acknowledged reading (keys differ by time; a re-sent reading has the key and
# value of its first sending) stored exactly once, and nothing else.
cat "$IT_DIR"/acked_{past,live,late,resend}.txt > "$IT_DIR/acked_all.txt"
f_check_readings --acked "$IT_DIR/acked_all.txt" --stream wb --streams 4
r_checked=$CHK_checked; r_lost=$((CHK_checked - CHK_stored)); r_dup=$CHK_dup; r_wrong=$CHK_wrong
converged=no
f_wait_values 30 && converged=yes
converge_s=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
  "$t_last" "$(date +%s.%N)")
f_check_values
gaps=$(f_gaps --from "$A" ticks ticks10 per_second/dev={0..3} mean10/dev={0..3})
stuck=0
f_wait_eq yes 30 f_sched_idle > /dev/null 2>&1 || stuck=$((stuck + 1))
blocks=$($PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM blocks").fetchone()[0])' "$IT_DIR/hs.db" 2>/dev/null || echo "?")
it_all_alive
f_report writer_kill_blocks "$((r_checked + VAL_checked))" "$((r_lost + VAL_lost))" \
  "$((r_dup + VAL_dup))" "$((r_wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" \
  "writer_kills=$KILLS past=$PAST late=$LATE resent=$RESEND live=$live blocks=$blocks" \
  "block_anomalies=$VAL_blocks_bad values_checked=$VAL_checked" \
  "converged=$converged (${converge_s}s after the last reading)"
