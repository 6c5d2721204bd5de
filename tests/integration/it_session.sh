#!/usr/bin/env bash
# Sessions (docs/MODEL.md, section 6), on a real stack:
# - a compute request is a closed session (ok) whose interval is the request's
#   and whose job counts are those of the job history (hsctl jobs);
# - a compute with a failing job is a failed session with the job's error;
# - an online workflow has one active session whose covered interval grows;
# - a scheduler restart keeps the closed sessions as they were, closes the
#   online session it left active as interrupted and opens a new one;
# - removing the online workflow closes its session.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700000000
it_load_vals $T0

# the session of one document as JSON (hsctl session show ID --json)
show() { $HSCTL session show "$1" --json; }
field() { show "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"; }
rid_of() { sed -n 's/^request \([^:]*\): .*/\1/p' "$1" | head -1; }

# ---- a compute request: a closed session, ok
cat > "$IT_DIR/neg.yaml" <<'YAML'
id: neg
job_span: 1m
factors:
  - tool: apply
    params: {func: neg}
    sources: [vals]
    sink: negated
YAML
$HSCTL workflow add "$IT_DIR/neg.yaml" >/dev/null || it_fail "workflow add neg failed"
$HSCTL compute neg --from $T0 --to $((T0 + 600)) --wait > "$IT_DIR/neg.out" 2>&1 || it_fail "compute neg: $(cat "$IT_DIR/neg.out")"
RN=$(rid_of "$IT_DIR/neg.out")
[ -n "$RN" ] || it_fail "no request id in: $(cat "$IT_DIR/neg.out")"
$HSCTL jobs neg --limit 0 --json > "$IT_DIR/neg.jobs" || it_fail "hsctl jobs neg failed"
# The session is written as the request ends: wait for it to be closed.
it_wait_eq closed 30 field $RN state
show "$RN" > "$IT_DIR/neg.session" || it_fail "session show $RN failed"
$PY - "$IT_DIR/neg.session" "$IT_DIR/neg.jobs" "$RN" $T0 <<'PY' || it_fail "the session of $RN: $(cat "$IT_DIR/neg.session")"
import json, sys
s = json.load(open(sys.argv[1]))
jobs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
rid, t0 = sys.argv[3], int(sys.argv[4])
# (t0, t0 + 600] cut at whole minutes (job_span 1m): a job per minute it touches, all ok.
minutes = len(range(t0 // 60, (t0 + 600 - 1) // 60 + 1))
assert len(jobs) == minutes and all(j["outcome"] == "ok" for j in jobs), (minutes, jobs)
assert s["session"] == rid and s["workflow"] == "neg" and s["kind"] == "request", s
assert s["state"] == "closed" and s["outcome"] == "ok", s
assert s["intervals"] == [[t0 * 10**6, (t0 + 600) * 10**6]], s["intervals"]
assert (s["planned"], s["done"], s["failed"]) == (len(jobs), len(jobs), 0), s
assert s["started_us"] <= s["ended_us"] and "error" not in s, s
PY
it_log "request $RN: a closed session, ok, its jobs as in the history"

# ---- a failing compute: a failed session with the error
cat > "$IT_DIR/failing.yaml" <<'YAML'
id: failing
factors:
  - tool: apply
    params: {func: "lua: error('no function here')"}
    sources: [vals]
    sink: fa
  - tool: apply
    params: {func: abs}
    sources: [fa]
    sink: fb
YAML
$HSCTL workflow add "$IT_DIR/failing.yaml" >/dev/null || it_fail "workflow add failing failed"
if $HSCTL compute failing --from $T0 --to $((T0 + 600)) --wait > "$IT_DIR/failing.out" 2>&1; then
  it_fail "a compute with a failing job succeeded: $(cat "$IT_DIR/failing.out")"
fi
RF=$(rid_of "$IT_DIR/failing.out")
[ -n "$RF" ] || it_fail "no request id in: $(cat "$IT_DIR/failing.out")"
$HSCTL jobs failing --limit 0 --json > "$IT_DIR/failing.jobs" || it_fail "hsctl jobs failing failed"
it_wait_eq closed 30 field $RF state
show "$RF" > "$IT_DIR/failing.session" || it_fail "session show $RF failed"
$PY - "$IT_DIR/failing.session" "$IT_DIR/failing.jobs" <<'PY' || it_fail "the session of $RF: $(cat "$IT_DIR/failing.session")"
import json, sys
s = json.load(open(sys.argv[1]))
jobs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
failed = [j for j in jobs if j["outcome"] != "ok"]
assert len(failed) == 2, jobs  # the failing job and the one downstream of it
assert s["state"] == "closed" and s["outcome"] == "failed", s
assert s["failed"] == len(failed) and s["done"] == len(jobs) - len(failed), s
assert "no function here" in s["error"], s
PY
it_log "request $RF: a failed session with its error"

# ---- an online workflow: an active session whose interval grows
cat > "$IT_DIR/live.yaml" <<'YAML'
id: live
online: {every: 1s, window: [-5s, -1s]}
factors:
  - tool: apply
    params: {func: neg}
    sources: [reading]
    sink: live_neg
YAML
$HSCTL workflow add "$IT_DIR/live.yaml" >/dev/null || it_fail "workflow add live failed"
# prints the active session of live as "ID END_US INTERVALS DONE" (nothing when none)
active() {
  $HSCTL session ls live --json | $PY -c '
import json, sys
for l in sys.stdin:
    s = json.loads(l)
    if s["state"] == "active" and s["intervals"]:
        print(s["session"], s["intervals"][-1][1], len(s["intervals"]), s["done"]); break'
}
has_active() { [ -n "$(active)" ] && echo yes; }
grows() {  # $1: a session id, $2: an end; prints "yes" once that session covers past it
  active | $PY -c 'import sys; f = sys.stdin.read().split(); print("yes" if f and f[0] == sys.argv[1] and int(f[1]) > int(sys.argv[2]) else "no")' "$1" "$2"
}
it_wait_eq yes 30 has_active
read -r SO END1 _ _ <<< "$(active)"
it_wait_eq yes 30 grows $SO $END1
read -r SO2 END2 NIV DONE2 <<< "$(active)"
[ "$SO2" = "$SO" ] && [ "$NIV" = 1 ] && [ "$DONE2" -ge 2 ] ||
  it_fail "online session $SO: one merged interval and its runs' jobs expected: $($HSCTL session show "$SO")"
it_log "online session $SO active, its interval grew past $END1 to $END2"

# ---- restart of the scheduler: closed sessions kept; the online one interrupted, a new one
it_stop scheduler
it_restart scheduler
it_wait_eq interrupted 30 field $SO outcome
show "$RN" | cmp -s - "$IT_DIR/neg.session" || it_fail "the session of $RN changed across a restart: $(show "$RN")"
show "$RF" | cmp -s - "$IT_DIR/failing.session" || it_fail "the session of $RF changed across a restart"
it_wait_eq yes 30 has_active
read -r SN _ _ _ <<< "$(active)"
[ "$SN" != "$SO" ] || it_fail "no new online session after the restart"
it_log "after a restart: $SO interrupted, $SN active, the request sessions unchanged"

# ---- removing the workflow closes its session; ls lists newest first
$HSCTL workflow rm live >/dev/null || it_fail "workflow rm live failed"
it_wait_eq closed 30 field $SN state
$HSCTL session ls --json > "$IT_DIR/all.jsonl" || it_fail "session ls failed"
$PY - "$IT_DIR/all.jsonl" "$RN" "$RF" "$SO" "$SN" <<'PY' || it_fail "session ls: $(cat "$IT_DIR/all.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ids = [r["session"] for r in rows]
assert ids == [sys.argv[5], sys.argv[4], sys.argv[3], sys.argv[2]], ids
assert [r["started_us"] for r in rows] == sorted((r["started_us"] for r in rows), reverse=True)
assert all(r["state"] == "closed" for r in rows), rows
assert rows[0]["outcome"] in ("ok", "failed"), rows[0]
PY
$HSCTL session ls > "$IT_DIR/ls.table" || it_fail "session ls (table) failed"
head -1 "$IT_DIR/ls.table" | grep -Eq '^STARTED +SESSION +WORKFLOW +KIND +STATE +OUTCOME' || it_fail "session ls table: $(cat "$IT_DIR/ls.table")"
rc=0; $HSCTL session show nosuch > /dev/null 2> "$IT_DIR/none.err" || rc=$?
[ "$rc" = 1 ] && grep -q "no session nosuch" "$IT_DIR/none.err" || it_fail "session show of an unknown id exited $rc: $(cat "$IT_DIR/none.err")"
it_all_alive
it_log "ok"
