#!/usr/bin/env bash
# Stopping a compute, and what compute --wait says while it waits:
# - a request of more than --confirm-over jobs is refused without --yes, with
#   the count and the command;
# - compute --wait --timeout: every progress line is within the timeout (one
#   start for both), and giving up names the request and the cancel command;
# - compute --cancel REQ drops the queued jobs of REQ (a compute --wait of
#   another terminal ends with exit 4, "cancelled"); a job shared with another
#   request stays for it; dropped jobs are not failed jobs; a cancelled request
#   is not resumed by a restart, and cancelling it again says it has ended;
# - workflow rm with many queued jobs: one log line and one event per request,
#   no job_failed per job, no failed jobs.
. "$(dirname "$0")/lib.sh"
it_setup
D0=2025-01-01T00:00:00Z
D1=2025-01-02T00:00:00Z
D2=2025-01-03T00:00:00Z
for w in big shared; do
  span=1m; [ "$w" = shared ] && span=10s
  cat > "$IT_DIR/$w.yaml" <<YAML
id: $w
job_span: $span
factors:
  - tool: clock
    params: {stride: $span}
    sink: ${w}_ticks
YAML
  $HSCTL workflow add "$IT_DIR/$w.yaml" > /dev/null || it_fail "workflow add $w"
done
# A day at 1 minute per job is 1440 jobs.
sched_log() { cat "$IT_DIR"/logs/scheduler*.log; }
rid_of() { sed -n 's/^request \(c-[0-9]*-[0-9]*\): .*/\1/p' "$1" | head -1; }

# ---- the guard: more than --confirm-over jobs needs --yes
rc=0; $HSCTL compute big --from $D0 --to $D1 --confirm-over 1000 > "$IT_DIR/g.out" 2> "$IT_DIR/g.err" || rc=$?
[ "$rc" = 1 ] || it_fail "a 1440-job compute over --confirm-over 1000 exited $rc: $(cat "$IT_DIR/g.out" "$IT_DIR/g.err")"
grep -q "it would plan 1440 jobs (more than 1000)" "$IT_DIR/g.err" || it_fail "no job count: $(cat "$IT_DIR/g.err")"
grep -q -- "--yes" "$IT_DIR/g.err" || it_fail "no --yes command: $(cat "$IT_DIR/g.err")"
grep -q "^request " "$IT_DIR/g.out" && it_fail "a refused compute made a request: $(cat "$IT_DIR/g.out")"
[ "$(it_count big_ticks)" = 0 ] || it_fail "a refused compute computed"

# ---- --timeout: progress and giving up count from one start
rc=0; $HSCTL compute big --from $D1 --to $D2 --wait --timeout 1 > "$IT_DIR/t.out" 2> "$IT_DIR/t.err" || rc=$?
[ "$rc" = 3 ] || it_fail "compute --timeout 1 exited $rc: $(cat "$IT_DIR/t.out" "$IT_DIR/t.err")"
grep -q "gave up waiting after 1.00s" "$IT_DIR/t.err" || it_fail "no give-up message: $(cat "$IT_DIR/t.err")"
RT=$(rid_of "$IT_DIR/t.out")
[ -n "$RT" ] || it_fail "no request id printed: $(cat "$IT_DIR/t.out")"
grep -q "request $RT goes on (hsctl compute --cancel $RT stops it)" "$IT_DIR/t.err" \
  || it_fail "giving up does not say how to cancel: $(cat "$IT_DIR/t.err")"
$PY - "$IT_DIR/t.out" <<'PY' || it_fail "progress counted past the timeout: $(cat "$IT_DIR/t.out")"
import re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("running:")]
secs = [float(re.search(r", ([0-9.]+)s$", l.strip()).group(1)) for l in lines]
assert secs, "no progress line"
assert max(secs) <= 1.0, secs
PY
$HSCTL compute --cancel "$RT" > "$IT_DIR/tc.out" 2>&1 || it_fail "cancel $RT: $(cat "$IT_DIR/tc.out")"

# ---- cancel a request that compute --wait follows in another terminal
$HSCTL ctl tools pause > /dev/null 2>&1 || it_fail "pause failed"
$HSCTL compute big --from $D0 --to $D1 --yes --wait > "$IT_DIR/w.out" 2> "$IT_DIR/w.err" &
WPID=$!
IT_EXTRA_PIDS="$WPID"
for _ in $(seq 1 300); do [ -n "$(rid_of "$IT_DIR/w.out")" ] && break; sleep 0.1; done
RW=$(rid_of "$IT_DIR/w.out")
[ -n "$RW" ] || it_fail "compute --wait printed no request: $(cat "$IT_DIR/w.out" "$IT_DIR/w.err")"
$HSCTL compute --cancel "$RW" > "$IT_DIR/c.out" 2>&1 || it_fail "cancel $RW: $(cat "$IT_DIR/c.out")"
# At most the jobs the first (cancelled) request left running were shared; the rest are dropped.
dropped=$(sed -n 's/.*cancelled: \([0-9]*\) queued jobs dropped.*/\1/p' "$IT_DIR/c.out")
[ -n "$dropped" ] && [ "$dropped" -ge 1400 ] && [ "$dropped" -le 1440 ] \
  || it_fail "cancel did not drop the queued jobs: $(cat "$IT_DIR/c.out")"
rc=0; wait "$WPID" || rc=$?
IT_EXTRA_PIDS=""
[ "$rc" = 4 ] || it_fail "compute --wait of a cancelled request exited $rc: $(cat "$IT_DIR/w.out" "$IT_DIR/w.err")"
grep -q "request $RW was cancelled (hsctl compute --cancel)" "$IT_DIR/w.err" || it_fail "no cancel message: $(cat "$IT_DIR/w.err")"
grep -q "^cancelled: " "$IT_DIR/w.out" || it_fail "no final cancelled progress: $(cat "$IT_DIR/w.out")"
rc=0; $HSCTL compute --cancel "$RW" > "$IT_DIR/c2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "request $RW has ended (cancelled)" "$IT_DIR/c2.out" || it_fail "cancelling twice: $rc $(cat "$IT_DIR/c2.out")"
rc=0; $HSCTL compute --cancel c-no-such > "$IT_DIR/c3.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "no request c-no-such under way" "$IT_DIR/c3.out" || it_fail "cancelling an unknown request: $rc $(cat "$IT_DIR/c3.out")"

# ---- a job shared with another request stays for it
$HSCTL compute shared --from $D0 --to 2025-01-01T00:00:40Z > "$IT_DIR/s1.out" 2>&1 || it_fail "compute shared: $(cat "$IT_DIR/s1.out")"
$HSCTL compute shared --from $D0 --to 2025-01-01T00:00:40Z > "$IT_DIR/s2.out" 2>&1 || it_fail "compute shared 2: $(cat "$IT_DIR/s2.out")"
R1=$(rid_of "$IT_DIR/s1.out"); R2=$(rid_of "$IT_DIR/s2.out")
$HSCTL compute --cancel "$R1" > "$IT_DIR/s3.out" 2>&1 || it_fail "cancel $R1: $(cat "$IT_DIR/s3.out")"
grep -q "cancelled: 0 queued jobs dropped" "$IT_DIR/s3.out" || it_fail "shared jobs were dropped: $(cat "$IT_DIR/s3.out")"
$HSCTL ctl tools resume > /dev/null 2>&1 || it_fail "resume failed"
it_wait_eq 4 60 it_count shared_ticks

# ---- dropped jobs are not failures; a restart resumes no cancelled request
[ -z "$($HSCTL jobs --failed --json)" ] || it_fail "dropped jobs listed as failed: $($HSCTL jobs --failed)"
# What the cancelled requests left running has finished; nothing of them runs after.
sleep 2
N0=$(it_count big_ticks)
$HSCTL down > /dev/null 2>&1 || it_fail "down failed"
it_restart
sleep 4
sched_log | grep -q "resuming request $RW" && it_fail "the cancelled request $RW was resumed"
[ "$(it_count big_ticks)" = "$N0" ] || it_fail "a cancelled request computed after the restart: $(it_count big_ticks) ticks, $N0 before"
rc=0; $HSCTL compute --cancel "$RW" > "$IT_DIR/c4.out" 2>&1 || rc=$?
grep -q "request $RW has ended (cancelled)" "$IT_DIR/c4.out" || it_fail "after restart: $rc $(cat "$IT_DIR/c4.out")"

# ---- workflow rm with 1440 queued jobs: a summary, no flood
$HSCTL ctl tools pause > /dev/null 2>&1 || it_fail "pause failed"
$HSCTL compute big --from $D0 --to $D1 --yes --wait > "$IT_DIR/r.out" 2> "$IT_DIR/r.err" &
WPID=$!
IT_EXTRA_PIDS="$WPID"
for _ in $(seq 1 300); do [ -n "$(rid_of "$IT_DIR/r.out")" ] && break; sleep 0.1; done
RR=$(rid_of "$IT_DIR/r.out")
[ -n "$RR" ] || it_fail "compute --wait printed no request: $(cat "$IT_DIR/r.out" "$IT_DIR/r.err")"
$HSCTL workflow rm big > "$IT_DIR/rm.out" 2>&1 || it_fail "workflow rm: $(cat "$IT_DIR/rm.out")"
rc=0; wait "$WPID" || rc=$?
IT_EXTRA_PIDS=""
[ "$rc" = 4 ] || it_fail "compute --wait of a removed workflow exited $rc: $(cat "$IT_DIR/r.out" "$IT_DIR/r.err")"
grep -q "request $RR was cancelled (the workflow was removed): 1440 jobs dropped" "$IT_DIR/r.err" \
  || it_fail "no removal message: $(cat "$IT_DIR/r.err")"
sched_log | grep -q "workflow big removed: 1 requests cancelled, 1440 queued jobs dropped" \
  || it_fail "no summary line: $(sched_log | grep removed)"
n=$(sched_log | grep -c "job_failed" || true)
[ "$n" = 0 ] || it_fail "$n job_failed lines in the scheduler log"
[ "$(sched_log | grep -c "request $RR cancelled (the workflow was removed)")" = 1 ] \
  || it_fail "not one event for the request: $(sched_log | grep "$RR")"
[ -z "$($HSCTL jobs --failed --json)" ] || it_fail "removal made failed jobs: $($HSCTL jobs --failed)"
it_log "compute: the guard, --timeout, --cancel (shared jobs, restart) and workflow rm tell the truth"
