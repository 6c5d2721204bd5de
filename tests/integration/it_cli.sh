#!/usr/bin/env bash
# The command line as a newcomer meets it, on a real stack:
# - a --data directory without a stack is an error (exit 1), for status and down;
# - hsctl up prints next commands that work as printed (with --data DIR);
# - every listing verb's --json is valid JSON lines with the expected fields;
# - a typo in a verb or command: a suggestion, the list, exit 2;
# - CSV export: text as text (RFC 4180), stream get --format table: a header and
#   numbers in full; compute's duration and its --timeout exit code (3);
# - help: every verb in hsctl --help, hsctl help VERB and VERB --help for each;
# - bash completion from 'hsctl completion bash'.
. "$(dirname "$0")/lib.sh"

# ---- no stack where one is named
NOSTACK=$(mktemp -d /tmp/hs-it-nostack-XXXXXX)
rc=0; "$HS_BIN/hsctl" --data "$NOSTACK/none" status > /dev/null 2> "$NOSTACK/err" || rc=$?
[ "$rc" = 1 ] || { rm -rf "$NOSTACK"; it_fail "status with --data of no stack exited $rc, not 1"; }
grep -q "no stack in $NOSTACK/none" "$NOSTACK/err" || { cat "$NOSTACK/err" >&2; rm -rf "$NOSTACK"; it_fail "no 'no stack' message"; }
rc=0; HS_DATA="$NOSTACK" "$HS_BIN/hsctl" stream ls > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || { rm -rf "$NOSTACK"; it_fail "stream ls with HS_DATA of no stack exited $rc, not 1"; }
rc=0; "$HS_BIN/hsctl" --data "$NOSTACK" down > /dev/null 2> "$NOSTACK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "nothing to stop" "$NOSTACK/err" || { rm -rf "$NOSTACK"; it_fail "down without a stack exited $rc"; }
rm -rf "$NOSTACK"

# ---- a first 'hsctl up' where ./hs-data does not exist yet (no --data): the broker and the
# services start in it, and 'hsctl down' stops them
FRESH=$(mktemp -d /tmp/hs-it-fresh-XXXXXX)
rc=0; (cd "$FRESH" && "$HS_BIN/hsctl" up --port "$(it_free_port)" > up.out 2>&1) || rc=$?
if [ "$rc" != 0 ]; then
  cat "$FRESH/up.out" "$FRESH"/hs-data/logs/broker.log >&2
  (cd "$FRESH" && "$HS_BIN/hsctl" down > /dev/null 2>&1) || true; rm -rf "$FRESH"
  it_fail "hsctl up in a fresh directory exited $rc"
fi
rc=0; (cd "$FRESH" && "$HS_BIN/hsctl" status > status.out 2>&1) || rc=$?
(cd "$FRESH" && "$HS_BIN/hsctl" down > /dev/null 2>&1) || { rm -rf "$FRESH"; it_fail "hsctl down in a fresh directory failed"; }
[ "$rc" = 0 ] || { cat "$FRESH/status.out" >&2; rm -rf "$FRESH"; it_fail "hsctl status in a fresh directory exited $rc"; }
rm -rf "$FRESH"

it_setup
cd "$IT_DIR"  # not where the stack's directory is the default ./hs-data

# ---- the commands hsctl up suggests work as printed
grep -q "^to use this stack from any directory: export HS_DATA=$IT_DIR$" up.out || it_fail "no export line: $(cat up.out)"
try=$(sed -n 's/^try: //p' up.out)
[[ $try == *"--data $IT_DIR"* ]] || it_fail "the suggested commands lack --data: $try"
(PATH="$HS_BIN:$PATH"; eval "$try") > try.out 2>&1 || it_fail "the suggested commands failed: $(cat try.out)"
grep -q '"v":21.5' try.out || it_fail "the suggested stream get printed: $(cat try.out)"
# and so does the export line, without --data
(PATH="$HS_BIN:$PATH"; eval "$(sed -n 's/^to use this stack from any directory: //p' up.out)"; hsctl stream ls) > ls.out 2>&1 ||
  it_fail "hsctl after the export line failed: $(cat ls.out)"

# ---- data: text, numbers
TEXT='a,b "quoted"'
$HSCTL pub txt --t 1700000001 "$(printf '%s' "$TEXT" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
$HSCTL pub txt --t 1700000002 '{"k":[1,"x,y"]}'
$HSCTL pub nums --t 1700000001 0.1234567891
$HSCTL pub nums --t 1700000002 21.5
$HSCTL pub averyveryverylongstreamname/id=that/pushes=columns/of=the/table=out 1
it_wait_eq 2 30 it_count txt
it_wait_eq 2 30 it_count nums
$HSCTL stream get txt --format csv > txt.csv
$PY - txt.csv "$TEXT" <<'PY' || it_fail "CSV export: $(cat txt.csv)"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["t", "v"], rows
assert rows[1][1] == sys.argv[2], rows[1]
assert json.loads(rows[2][1]) == {"k": [1, "x,y"]}, rows[2]
PY
$HSCTL stream get nums --format table > nums.table
head -1 nums.table | grep -Eq '^T +V$' || it_fail "stream get --format table has no header: $(cat nums.table)"
grep -q ' 0\.1234567891$' nums.table || it_fail "stream get --format table rounds: $(cat nums.table)"
# stream ls: every row's COUNT column ends at the same place, long id or not
$HSCTL stream ls > ls.table
$PY - ls.table <<'PY' || it_fail "stream ls columns out of line: $(cat ls.table)"
import sys
lines = open(sys.argv[1]).read().splitlines()
end = lines[0].index("COUNT") + len("COUNT")
for l in lines[1:]:
    assert l[end] == " " and l[end - 1] != " ", (l, end)
PY

# ---- --json of every listing verb: valid JSON lines
wf_file=$IT_DIR/wf.yaml
cat > "$wf_file" <<'YAML'
id: neg
job_span: 1m
factors:
  - tool: apply
    params: {func: neg}
    sources: [nums]
    sink: negated
YAML
$HSCTL workflow add "$wf_file" > add.out 2>&1 || it_fail "workflow add: $(cat add.out)"
$HSCTL compute neg --from 1700000000 --to 1700000060 --wait > compute.out 2>&1 || it_fail "compute: $(cat compute.out)"
grep -Eq ', [0-9]+\.[0-9]{2}s$' compute.out || it_fail "compute's duration: $(cat compute.out)"
# the scheduler logs the request's interval in ISO times, not microseconds
grep -qF ": neg over ($(it_iso 1700000000), $(it_iso 1700000060)], " "$IT_DIR"/logs/scheduler*.log ||
  it_fail "the scheduler's log of the request: $(grep ': neg over' "$IT_DIR"/logs/scheduler*.log)"
json_lines() {  # $1: name; the rest: the command. Each line a JSON object; prints the objects as one list.
  local name=$1; shift
  "$@" > "$name.json" 2> "$name.err" || it_fail "$name --json failed: $(cat "$name.err")"
  $PY -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$name.json" ||
    it_fail "$name --json is not JSON lines: $(cat "$name.json")"
}
check() {  # $1: the JSON list; $2: a Python assertion on d
  $PY -c "import json,sys; d=json.loads(sys.argv[1]); assert $2, d" "$1" || it_fail "check failed: $2 on $1"
}
check "$(json_lines streams $HSCTL stream ls --json)" 'any(r["stream"] == "txt" and r["count"] == 2 for r in d)'
check "$(json_lines intervals $HSCTL stream intervals negated --json)" 'd[0]["stream"] == "negated" and len(d[0]["calculated"]) == 1'
# its times are ISO (as in jobs --json), the microseconds beside them
check "$(json_lines intervals $HSCTL stream intervals negated --json)" \
  'd[0]["calculated"] == [[__import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(t // 10**6)) for t in p] for p in d[0]["calculated_us"]] and d[0]["reopened"] == d[0]["reopened_us"] == []'
check "$(json_lines workflows $HSCTL workflow ls --json)" 'd == [{"id": "neg", "loads": True, "factors": 1, "plates": 0, "online": None, "name": None}]'
check "$(json_lines tools $HSCTL tool ls --json)" 'any(r["name"] == "apply" and r["kind"] == "tool" for r in d)'
check "$(json_lines jobs $HSCTL jobs neg --json)" 'len(d) >= 1'
# the jobs table has a JOB column holding the ids of jobs --json (the ids errors name)
$HSCTL jobs neg > jobs.table
$PY - jobs.json jobs.table <<'PY' || it_fail "jobs table without job ids: $(cat jobs.table)"
import json, sys
ids = [json.loads(l)["job"] for l in open(sys.argv[1])]
lines = open(sys.argv[2]).read().splitlines()
heads = lines[0].split()
assert heads[:3] == ["COMMITTED", "JOB", "WORKFLOW"], heads
assert [l.split()[1] for l in lines[1:]] == ids, (ids, lines)
PY
check "$(json_lines status $HSCTL status --json)" 'sorted(r["id"] for r in d) == ["api", "ingest", "scheduler", "tools", "writer"]'
$HSCTL workflow ls | head -1 | grep -Eq '^ID +FACTORS +PLATES +ONLINE +NAME$' || it_fail "workflow ls table: $($HSCTL workflow ls)"

# ---- workflow add and check name a bad file the same way: the path as typed
mkdir -p sub
printf 'id: bad\nfactors:\n  - tool: apply\n    params: {func: neg}\n    sources: [nums]\n    sink: 1/2\n' > sub/bad.yaml
rc=0; $HSCTL workflow check sub/bad.yaml > /dev/null 2> check.err || rc=$?
[ "$rc" = 1 ] || it_fail "workflow check of a bad file exited $rc: $(cat check.err)"
rc=0; $HSCTL workflow add sub/bad.yaml > /dev/null 2> add.err || rc=$?
[ "$rc" = 1 ] || it_fail "workflow add of a bad file exited $rc: $(cat add.err)"
grep -q '^sub/bad\.yaml:6: ' check.err || it_fail "workflow check names the file: $(cat check.err)"
grep -v '^hsctl: ' add.err | diff check.err - >&2 || it_fail "workflow add and check report a bad file differently"

# ---- compute --timeout: its own exit code. Many jobs (one per second of ten days) outlast 0.5 s.
cat > "$IT_DIR/slow.yaml" <<'YAML'
id: slow
job_span: 1s
factors:
  - tool: apply
    params: {func: neg}
    sources: [nums]
    sink: slowneg
YAML
$HSCTL workflow add "$IT_DIR/slow.yaml" > add2.out 2>&1 || it_fail "workflow add slow: $(cat add2.out)"
rc=0; $HSCTL compute slow --from 1700000000 --to 1700864000 --yes --wait --timeout 0.5 > timeout.out 2>&1 || rc=$?
[ "$rc" = 3 ] || it_fail "compute --timeout exited $rc, not 3: $(cat timeout.out)"
grep -q "gave up waiting after 0.50s" timeout.out || it_fail "timeout message: $(cat timeout.out)"
$HSCTL workflow rm slow > /dev/null 2>&1 || true

# ---- typos
rc=0; $HSCTL stream gett txt > /dev/null 2> typo.err || rc=$?
[ "$rc" = 2 ] || it_fail "stream gett exited $rc, not 2"
grep -q "^hsctl stream: unknown command 'gett' (did you mean 'get'?)$" typo.err || it_fail "typo message: $(cat typo.err)"
grep -q "^commands: ls, get, intervals, invalidate, purge$" typo.err || it_fail "typo list: $(cat typo.err)"
rc=0; $HSCTL wrokflow ls > /dev/null 2> typo.err || rc=$?
[ "$rc" = 2 ] && grep -q "did you mean 'workflow'" typo.err || it_fail "verb typo: $rc $(cat typo.err)"

# ---- sub: a topic given as PATTERN is refused with the way to read it; an id with its
# pairs unsorted is the stream it names (results are published under the sorted id)
rc=0; $HSCTL sub 'hs/dead/#' --timeout 1 > /dev/null 2> sub.err || rc=$?
[ "$rc" = 1 ] && grep -q "mosquitto_sub -p PORT -t 'hs/dead/#'" sub.err || it_fail "sub of hs/dead/# exited $rc: $(cat sub.err)"
rc=0; $HSCTL sub 'bad id' --timeout 1 > /dev/null 2> sub.err || rc=$?
[ "$rc" = 1 ] && grep -q "contains a space" sub.err || it_fail "sub of 'bad id' exited $rc: $(cat sub.err)"
$HSCTL sub 'subt/room=k/house=1' --count 1 --timeout 60 > sub.out 2>&1 &
SUBPID=$!
for i in $(seq 1 60); do
  kill -0 "$SUBPID" 2>/dev/null || break
  $HSCTL pub subt/house=1/room=k "$i"; sleep 0.5
done
wait "$SUBPID" || it_fail "sub of an unsorted id failed: $(cat sub.out)"
grep -q '"v":[0-9]' sub.out || it_fail "sub of an unsorted id printed nothing: $(cat sub.out)"

# ---- a single error of the scheduler reads on one line
rc=0; $HSCTL compute nosuch --from -1h --to now > /dev/null 2> nosuch.err || rc=$?
[ "$rc" = 1 ] && grep -qx "hsctl: compute failed: no workflow 'nosuch' (hsctl workflow ls lists them)" nosuch.err ||
  it_fail "compute of no workflow exited $rc: $(cat nosuch.err)"

# ---- help: every verb listed, each with its own help, its usage printed once
usage_once() {  # $1: what was asked; the help text in vhelp.out. One usage: line, no usage text twice.
  $PY - vhelp.out <<'PY' || it_fail "$1 prints its usage more than once: $(cat vhelp.out)"
import sys
lines = open(sys.argv[1]).read().splitlines()
assert sum(l.startswith("usage: ") for l in lines) == 1, lines
uses = [l.split("hsctl ", 1)[1] for l in lines if l.startswith(("usage: hsctl ", "       hsctl "))]
assert len(uses) == len(set(uses)), uses
PY
}
"$HS_BIN/hsctl" --help > help.out
for v in up down status pub sub stream workflow compute jobs tool ctl top help completion; do
  grep -q "^  $v\b" help.out || it_fail "hsctl --help does not list $v"
  "$HS_BIN/hsctl" help "$v" > vhelp.out 2>&1 || it_fail "hsctl help $v failed"
  usage_once "hsctl help $v"
  [ "$v" = help ] || [ "$v" = completion ] || { "$HS_BIN/hsctl" "$v" --help > vhelp.out 2>&1 || it_fail "hsctl $v --help failed"; usage_once "hsctl $v --help"; }
done
for vc in "stream ls" "stream get" "stream intervals" "stream invalidate" "stream purge" "workflow add" \
          "workflow ls" "workflow show" "workflow rm" "workflow check" "tool ls" "tool show"; do
  "$HS_BIN/hsctl" $vc --help > vhelp.out 2>&1 || it_fail "hsctl $vc --help failed"
  usage_once "hsctl $vc --help"
done
grep -q "^Exit codes:" help.out || it_fail "hsctl --help has no exit codes"
"$HS_BIN/hsctl" stream get --help | grep -q -- "--format" || it_fail "stream get --help"

# ---- bash completion
"$HS_BIN/hsctl" completion bash > completion.bash
PATH="$HS_BIN:$PATH" bash -c '
. ./completion.bash
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _hsctl; echo "${COMPREPLY[*]}"; }
set -e
[ "$(comp hsctl str)" = stream ] || { echo "hsctl str -> $(comp hsctl str)"; exit 1; }
[ "$(comp hsctl stream g)" = get ] || { echo "hsctl stream g -> $(comp hsctl stream g)"; exit 1; }
[ "$(comp hsctl --data "$1" stream get --fo)" = --format ] || { echo "--fo -> $(comp hsctl stream get --fo)"; exit 1; }
[ "$(comp hsctl stream get nums --format t)" = table ] || { echo "--format t"; exit 1; }
[ "$(comp hsctl w)" = workflow ] || { echo "hsctl w -> $(comp hsctl w)"; exit 1; }
[ "$(comp hsctl --data "$1" stream get tx)" = txt ] || { echo "stream ids -> $(comp hsctl --data "$1" stream get tx)"; exit 1; }
[ "$(comp hsctl --data "$1" compute n)" = neg ] || { echo "workflow ids -> $(comp hsctl --data "$1" compute n)"; exit 1; }
[ "$(comp hsctl tool show sliding_w)" = sliding_window ] || { echo "tool names -> $(comp hsctl tool show sliding_w)"; exit 1; }
' _ "$IT_DIR" > comp.out 2>&1 || it_fail "completion: $(cat comp.out)"
it_log "cli: no-stack errors, suggested commands, --json, CSV, tables, typos, help, exit codes, completion"
