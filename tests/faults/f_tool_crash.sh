#!/usr/bin/env bash
# Fault 7: a tool that fails on one plate value only.
#  a) A tool error: a Lua function (apply, func "lua: ...") raises an error
#     on one value of the house=2 input. Only the job holding that value
#     fails, recorded in 'hsctl jobs --failed' with the Lua message; the
#     other plate values and the other intervals of house=2 complete, and
#     nothing is left in the scheduler.
#  b) A real crash: the tool runtime aborts whenever a job reads the input of
#     house=2 (crash_shim.c, an LD_PRELOAD shim around sqlite3_bind_text). A
#     supervisor loop restarts it each time, as a service manager would. The
#     job of house=2 fails after max_attempts dispatches; every other plate
#     value completes and nothing is left in the scheduler.
. "$(dirname "$0")/lib.sh"
export HS_JOB_TIMEOUT=${HS_JOB_TIMEOUT:-3s}
export HS_MAX_ATTEMPTS=${HS_MAX_ATTEMPTS:-3}
f_setup
SUPERVISOR=""
f_stop_supervisor() {
  [ -n "$SUPERVISOR" ] || return 0
  touch "$IT_DIR/supervisor.stop"
  kill "$SUPERVISOR" 2>/dev/null || true
  wait "$SUPERVISOR" 2>/dev/null || true
  SUPERVISOR=""
  local p; p=$(it_pid tools 2>/dev/null || true)
  [ -n "$p" ] && kill "$p" 2>/dev/null || true
}
trap 'rc=$?; f_stop_supervisor; (exit $rc); it_teardown' EXIT
A=1700006400; B=$((A + 3600)); BAD=$((A + 1500))
# One reading per second per house; the value is t mod 100, except 5000 at
# BAD in house=2 (the value the function refuses).
$PY - "$IT_DIR" "$A" "$BAD" <<'PY'
import json, sys
d, a, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for h in (1, 2, 3):
    for name in ("vals", "crashsrc"):
        with open(f"{d}/{name}_{h}.txt", "w") as f:
            rows = [{"t": t, "v": 5000 if (name, h, t) == ("vals", 2, bad) else t % 100}
                    for t in range(a + 1, a + 3601)]
            for c in range(0, len(rows), 500):
                f.write(json.dumps(rows[c:c + 500]) + "\n")
PY
for h in 1 2 3; do for name in vals crashsrc; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$name/house=$h" -l < "$IT_DIR/${name}_$h.txt"
done; done
for h in 1 2 3; do for name in vals crashsrc; do it_wait_eq 3600 60 it_count "$name/house=$h"; done; done

# a) Lua error on one value.
cat > "$IT_DIR/luaerr.yaml" <<'YAML'
id: luaerr
job_span: 10m
plates:
  H: {meta: house, values: ["1", "2", "3"]}
factors:
  - tool: apply
    params: {func: "lua: return function(v) if v >= 1000 then error('value out of range: ' .. v) end return v * 2 end"}
    sources: [vals]
    sink: doubled
    plates: [H]
YAML
$HSCTL workflow add "$IT_DIR/luaerr.yaml" > /dev/null || it_fail "workflow add failed"
rc=0
timeout 120 $HSCTL compute luaerr --from $A --to $B --wait > "$IT_DIR/luaerr.out" 2>&1 || rc=$?
it_log "compute luaerr: exit $rc: $(tail -1 "$IT_DIR/luaerr.out")"
stuck=0; lost=0; wrong=0; gaps=0; checked=0
[ "$rc" = 2 ] || { it_log "compute --wait should exit 2 (a job failed), not $rc"; stuck=$((stuck + 1)); }
# The failed unit: house=2, the 10-minute job holding BAD, with the reason.
F1=$((A + (BAD - A) / 600 * 600)); F2=$((F1 + 600))
$HSCTL jobs luaerr --failed --json > "$IT_DIR/luaerr_failed.json"
nfail=$(grep -c '"outcome":"failed"' "$IT_DIR/luaerr_failed.json" || true)
grep '"plate_value":"house=2"' "$IT_DIR/luaerr_failed.json" | grep "\"start_us\":${F1}000000" |
  grep -q 'value out of range: 5000' || { it_log "no failed job with the Lua error: $(head -c 600 "$IT_DIR/luaerr_failed.json")"; wrong=$((wrong + 1)); }
[ "$nfail" = 1 ] || { it_log "$nfail failed jobs recorded, expected 1"; wrong=$((wrong + 1)); }
# Results: 2 * (t mod 100) everywhere except the failed interval of house=2.
for h in 1 2 3; do
  $HSCTL stream get "doubled/house=$h" --format csv > "$IT_DIR/doubled_$h.csv"
  out=$($PY - "$IT_DIR/doubled_$h.csv" "$h" "$A" "$B" "$F1" "$F2" <<'PY'
import calendar, sys, time
path, h, a, b, f1, f2 = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
got = {}
dup = 0
for line in list(open(path))[1:]:
    t, v = line.strip().split(",")
    t = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
    dup += t in got
    got[t] = float(v)
exp = {t: 2 * (t % 100) for t in range(a + 1, b + 1) if not (h == "2" and f1 < t <= f2)}
lost = sum(t not in got for t in exp)
wrong = sum(t in got and got[t] != v for t, v in exp.items()) + sum(t not in exp for t in got) + dup
print(len(exp), lost, wrong)
PY
)
  read -r n l w <<< "$out"
  checked=$((checked + n)); lost=$((lost + l)); wrong=$((wrong + w))
  want="($(f_iso $A), $(f_iso $B)]"
  [ "$h" = 2 ] && want="($(f_iso $A), $(f_iso $F1)] U ($(f_iso $F2), $(f_iso $B)]"
  got=$($HSCTL stream intervals "doubled/house=$h" 2>&1 || true)
  [ "$got" = "$want" ] || { it_log "doubled/house=$h calculated over $got, expected $want"; gaps=$((gaps + 1)); }
done
f_wait_eq yes 30 f_sched_idle || stuck=$((stuck + 1))
lua_note="lua_failed_jobs=$nfail"

# b) The runtime process crashes on house=2.
${CC:-cc} -shared -fPIC -O2 -Wall -Wextra -Werror -o "$IT_DIR/crash_shim.so" \
  "$FAULTS_DIR/crash_shim.c" -ldl || it_fail "cannot build crash_shim.so"
tpid=$(it_pid tools)
kill "$tpid"
for _ in $(seq 1 100); do f_alive "$tpid" || break; sleep 0.05; done
(
  ulimit -c 0
  while [ ! -e "$IT_DIR/supervisor.stop" ]; do
    f_spawn LD_PRELOAD="$IT_DIR/crash_shim.so" HS_CRASH_MATCH=crashsrc/house=2 tools
    wait "$(it_pid tools)" 2>/dev/null && st=0 || st=$?
    echo "$(date +%s.%N) $st" >> "$IT_DIR/tool_exits.txt"
    sleep 0.2
  done
) > "$IT_DIR/supervisor.log" 2>&1 &
SUPERVISOR=$!
f_wait_online
cat > "$IT_DIR/crash.yaml" <<'YAML'
id: crash
job_span: 1h
plates:
  H: {meta: house, values: ["1", "2", "3"]}
factors:
  - tool: apply
    params: {func: neg}
    sources: [crashsrc]
    sink: negated
    plates: [H]
YAML
$HSCTL workflow add "$IT_DIR/crash.yaml" > /dev/null || it_fail "workflow add failed"
rc=0
timeout 120 $HSCTL compute crash --from $A --to $B --wait > "$IT_DIR/crash.out" 2>&1 || rc=$?
it_log "compute crash: exit $rc: $(tail -1 "$IT_DIR/crash.out")"
[ "$rc" = 2 ] || { it_log "compute --wait should exit 2 (a job failed), not $rc"; stuck=$((stuck + 1)); }
f_wait_eq yes 30 f_sched_idle || stuck=$((stuck + 1))
crashes=$(awk '$2 == 134' "$IT_DIR/tool_exits.txt" 2>/dev/null | wc -l)
$HSCTL jobs crash --failed --json > "$IT_DIR/crash_failed.json"
cfail=$(grep -c '"outcome":"failed"' "$IT_DIR/crash_failed.json" || true)
grep '"plate_value":"house=2"' "$IT_DIR/crash_failed.json" | grep -q "no commit after $HS_MAX_ATTEMPTS dispatches" ||
  { it_log "no failed house=2 job after $HS_MAX_ATTEMPTS dispatches: $(head -c 800 "$IT_DIR/crash_failed.json")"; wrong=$((wrong + 1)); }
grep -v '"plate_value":"house=2"' "$IT_DIR/crash_failed.json" | grep -q . &&
  { it_log "jobs of other plate values failed: $(grep -v '"plate_value":"house=2"' "$IT_DIR/crash_failed.json" | head -c 800)"; lost=$((lost + 1)); }
for h in 1 3; do
  n=$(it_count "negated/house=$h")
  checked=$((checked + n))
  [ "$n" = 3600 ] || { lost=$((lost + 3600 - n)); it_log "negated/house=$h has $n of 3600"; }
  [ "$($HSCTL stream intervals "negated/house=$h")" = "($(f_iso $A), $(f_iso $B)]" ] || gaps=$((gaps + 1))
done
[ "$(it_count negated/house=2)" = 0 ] || wrong=$((wrong + 1))
f_stop_supervisor
f_check_values
f_report tool_crash "$((checked + VAL_checked))" "$((lost + VAL_lost))" "$VAL_dup" \
  "$((wrong + VAL_wrong))" "$gaps" "$((stuck + VAL_reopened))" "values_checked=$VAL_checked $lua_note runtime_crashes=$crashes crash_failed_jobs=$cfail max_attempts=$HS_MAX_ATTEMPTS"
