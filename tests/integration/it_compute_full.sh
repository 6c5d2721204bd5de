#!/usr/bin/env bash
# A compute that the scheduler cannot plan because its job table is full
# (max_jobs, jobs of other requests under way) is refused with the reason,
# exit 1: it is not "nothing to compute: the interval is calculated already".
# A request larger than max_jobs is planned in parts as its jobs end: it is
# done only when all of its interval is computed, and progress says how many
# jobs are still to plan.
. "$(dirname "$0")/lib.sh"

export HS_MAX_JOBS=4
it_setup
for w in a b; do
  cat > "$IT_DIR/$w.yaml" <<YAML
id: full_$w
job_span: 10s
factors:
  - tool: clock
    params: {stride: 10s}
    sink: ticks_$w
YAML
  $HSCTL workflow add "$IT_DIR/$w.yaml" > /dev/null || it_fail "workflow add $w"
done
# The paused runtime holds the 4 jobs of full_a: the table is full.
$HSCTL ctl tools pause > /dev/null 2>&1 || it_fail "pause failed"
$HSCTL compute full_a --from 2020-01-01T00:00:00Z --to 2020-01-01T00:00:40Z > "$IT_DIR/a.out" 2>&1 || it_fail "compute full_a: $(cat "$IT_DIR/a.out")"
rc=0; $HSCTL compute full_b --from 2020-01-01T00:00:00Z --to 2020-01-01T00:00:40Z --wait > "$IT_DIR/b.out" 2> "$IT_DIR/b.err" || rc=$?
[ "$rc" = 1 ] || it_fail "compute with a full job table exited $rc: $(cat "$IT_DIR/b.out" "$IT_DIR/b.err")"
grep -q "no job planned: more than max_jobs=4 jobs are planned" "$IT_DIR/b.err" || it_fail "no reason given: $(cat "$IT_DIR/b.out" "$IT_DIR/b.err")"
grep -q "calculated already" "$IT_DIR/b.out" && it_fail "a full job table was reported as calculated already"
# Once the jobs of full_a are done, full_b is planned and computed.
$HSCTL ctl tools resume > /dev/null 2>&1 || it_fail "resume failed"
it_wait_eq 4 20 it_count ticks_a
$HSCTL compute full_b --from 2020-01-01T00:00:00Z --to 2020-01-01T00:00:40Z --wait > "$IT_DIR/b2.out" 2>&1 || it_fail "compute full_b after: $(cat "$IT_DIR/b2.out")"
it_wait_eq 4 20 it_count ticks_b

# 8 jobs with room for 4: the rest is planned as the first ones end.
cat > "$IT_DIR/c.yaml" <<YAML
id: full_c
job_span: 10s
factors:
  - tool: clock
    params: {stride: 10s}
    sink: ticks_c
YAML
$HSCTL workflow add "$IT_DIR/c.yaml" > /dev/null || it_fail "workflow add c"
$HSCTL compute full_c --from 2020-01-01T00:00:00Z --to 2020-01-01T00:01:20Z --wait > "$IT_DIR/c.out" 2>&1 || it_fail "compute full_c: $(cat "$IT_DIR/c.out")"
grep -q "^request [^:]*: 4 jobs planned" "$IT_DIR/c.out" || it_fail "not 4 jobs planned first: $(cat "$IT_DIR/c.out")"
grep -q "^4 more jobs are planned as the scheduler's job table (max_jobs) has room" "$IT_DIR/c.out" || it_fail "the jobs left to plan are not said: $(cat "$IT_DIR/c.out")"
grep -q "^done: 8/8 jobs done, 0 failed" "$IT_DIR/c.out" || it_fail "the request did not end done with 8 jobs: $(cat "$IT_DIR/c.out")"
[ "$(it_count ticks_c)" = 8 ] || it_fail "ticks_c has $(it_count ticks_c) instances, not 8"
it_log "a full job table is refused with its reason; the request goes through once it empties; a request over max_jobs is planned in parts to its end"
