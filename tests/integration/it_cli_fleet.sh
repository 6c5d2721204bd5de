#!/usr/bin/env bash
# hsctl at fleet scale, on a real stack: 2,000 streams of three names
# (temp, temp_1m, hum) and a workflow whose plate holds 5,000 values.
# - stream ls 'temp/*' --limit 5: 5 rows and a last line with the exact
#   number of the other matching streams; the table's default limit (1000)
#   and --limit 0; --json honours --limit only when given;
# - stream ls --summary: streams and instances per name, as counted here from
#   what was published; --summary --json the same;
# - a glob that matches nothing: a message and exit 1; a PREFIX keeps its
#   meaning (temp matches temp_1m too);
# - workflow show of the 5,000-value plate: the first values and "and 4,990
#   more" in the text, every value in --json, a bounded --dot;
# - jobs --factor N (with --limit) against the whole history filtered here.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800
declare -A N=([temp]=1200 [temp_1m]=500 [hum]=300)

$PY - "$IT_PORT" "$T0" "$(dirname "$0")/../support" "${N[temp]}" "${N[temp_1m]}" "${N[hum]}" \
  > "$IT_DIR/published" <<'PY' || it_fail "publishing failed"
import sys
port, t0 = int(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
import mqttbatch
counts = dict(zip(["temp", "temp_1m", "hum"], map(int, sys.argv[4:7])))
total = {}
with mqttbatch.Client(port, "it-cli-fleet") as c:
    for name, n in counts.items():
        total[name] = 0
        for d in range(n):
            k = 1 + d % 3  # 1 to 3 readings: the instance totals differ from 3 x streams
            c.publish("hs/raw/%s/dev=%d" % (name, d),
                      mqttbatch.batch([((t0 + 60 * i) * 1000000, float(d + i)) for i in range(k)]))
            total[name] += k
    c.flush()
for name in sorted(total):
    print(name, counts[name], total[name])
PY
all=$(( ${N[temp]} + ${N[temp_1m]} + ${N[hum]} ))
nstreams() { $HSCTL stream ls --json | wc -l; }
it_wait_eq "$all" 120 nstreams
instances() { $HSCTL stream ls --json | $PY -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))'; }
it_wait_eq "$(awk '{ s += $3 } END { print s }' "$IT_DIR/published")" 120 instances
it_log "$all streams stored"

# ---- a glob and --limit: 5 rows, then the exact rest
$HSCTL stream ls 'temp/*' --limit 5 > "$IT_DIR/ls5" || it_fail "stream ls 'temp/*' --limit 5 failed"
rows=$(sed -n '2,$p' "$IT_DIR/ls5" | grep -c '^temp/dev=' || true)
[ "$rows" = 5 ] || it_fail "stream ls 'temp/*' --limit 5 printed $rows rows: $(cat "$IT_DIR/ls5")"
rest=$(( ${N[temp]} - 5 ))
want=$($PY -c 'import sys; print("\u2026 {:,} more streams (--limit N, or a PATTERN)".format(int(sys.argv[1])))' "$rest")
[ "$(tail -n 1 "$IT_DIR/ls5")" = "$want" ] || it_fail "last line '$(tail -n 1 "$IT_DIR/ls5")', not '$want'"
[ "$(wc -l < "$IT_DIR/ls5")" = 7 ] || it_fail "header, 5 rows and the rest line: $(cat "$IT_DIR/ls5")"

# A pattern over the whole id: dev=1?? of temp_1m only (100..199, which exist as N[temp_1m] >= 200).
$HSCTL stream ls 'temp_1m/dev=1??' --json > "$IT_DIR/glob.json" || it_fail "glob --json failed"
$PY - "$IT_DIR/glob.json" <<'PY' || it_fail "stream ls 'temp_1m/dev=1??': $(head -c 300 "$IT_DIR/glob.json")"
import json, sys
got = sorted(json.loads(l)["stream"] for l in open(sys.argv[1]))
assert got == sorted("temp_1m/dev=%d" % d for d in range(100, 200)), got[:5]
PY
# '*' crosses '/': */dev=12 matches dev=12 of every name.
[ "$($HSCTL stream ls '*/dev=12' --json | wc -l)" = 3 ] || it_fail "'*/dev=12' did not match 3 streams"

# The table's default limit is 1000 rows; --limit 0 lists all; --json all unless --limit.
$HSCTL stream ls > "$IT_DIR/lsdef"
[ "$(wc -l < "$IT_DIR/lsdef")" = 1002 ] || it_fail "default table: $(wc -l < "$IT_DIR/lsdef") lines, not 1002"
want=$($PY -c 'import sys; print("\u2026 {:,} more streams (--limit N, or a PATTERN)".format(int(sys.argv[1])))' "$((all - 1000))")
[ "$(tail -n 1 "$IT_DIR/lsdef")" = "$want" ] || it_fail "default table's last line: $(tail -n 1 "$IT_DIR/lsdef")"
[ "$($HSCTL stream ls --limit 0 | wc -l)" = $((all + 1)) ] || it_fail "--limit 0 did not list every stream"
[ "$($HSCTL stream ls --json --limit 7 2> "$IT_DIR/json.err" | wc -l)" = 7 ] || it_fail "--json --limit 7"
grep -q "$((all - 7)) more streams" <(tr -d , < "$IT_DIR/json.err") || it_fail "--json --limit: stderr $(cat "$IT_DIR/json.err")"
# A PREFIX keeps its meaning: temp is a prefix of temp_1m's ids too.
[ "$($HSCTL stream ls temp --json | wc -l)" = $(( ${N[temp]} + ${N[temp_1m]} )) ] || it_fail "PREFIX temp"

# ---- a glob that matches nothing: a message and exit 1
rc=0; $HSCTL stream ls 'nope/*' > "$IT_DIR/none.out" 2> "$IT_DIR/none.err" || rc=$?
[ "$rc" = 1 ] || it_fail "a glob without match exited $rc, not 1"
grep -q "no stream matches 'nope/\*'" "$IT_DIR/none.err" || it_fail "no-match message: $(cat "$IT_DIR/none.err")"
[ ! -s "$IT_DIR/none.out" ] || it_fail "a glob without match printed: $(cat "$IT_DIR/none.out")"
rc=0; $HSCTL stream ls --limit x > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "--limit x exited $rc, not 1"

# ---- --summary: one row per name with the counts published
$HSCTL stream ls --summary > "$IT_DIR/sum" || it_fail "--summary failed"
$HSCTL stream ls --summary --json > "$IT_DIR/sum.json" || it_fail "--summary --json failed"
$PY - "$IT_DIR/sum" "$IT_DIR/sum.json" "$IT_DIR/published" <<'PY' || it_fail "summary: $(cat "$IT_DIR/sum")"
import json, sys
want = {}
for line in open(sys.argv[3]):
    name, n, total = line.split()
    want[name] = (int(n), int(total))
rows = open(sys.argv[1]).read().splitlines()
assert rows[0].split() == ["NAME", "STREAMS", "INSTANCES", "KINDS", "CALCULATED"], rows[0]
got = {r.split()[0]: (int(r.split()[1].replace(",", "")), int(r.split()[2].replace(",", "")))
       for r in rows[1:]}
assert got == want, (got, want)
assert [r.split()[0] for r in rows[1:]] == sorted(want), rows
assert all(r.split()[3] == "raw" for r in rows[1:]), rows
js = [json.loads(l) for l in open(sys.argv[2])]
assert {j["name"]: (j["streams"], j["instances"]) for j in js} == want, js
assert all(j["kinds"] == {"raw": want[j["name"]][0], "computed": 0, "asset": 0} for j in js), js
PY
# With a pattern and a limit: the names it matches, at most N of them, and the rest counted.
$HSCTL stream ls --summary 'temp*' --limit 1 > "$IT_DIR/sum1"
[ "$(sed -n 2p "$IT_DIR/sum1" | awk '{ print $1, $2 }')" = "temp $($PY -c 'print("{:,}".format('"${N[temp]}"'))')" ] ||
  it_fail "--summary 'temp*' --limit 1: $(cat "$IT_DIR/sum1")"
[ "$(tail -n 1 "$IT_DIR/sum1")" = "$(printf '\342\200\246 1 more name (--limit N, or a PATTERN)')" ] ||
  it_fail "--summary --limit 1 last line: $(tail -n 1 "$IT_DIR/sum1")"

# ---- workflow show of a 5,000-value plate
$PY - > "$IT_DIR/big.yaml" <<'PY'
print("""id: big
plates:
  D: {meta: dev, values: [%s]}
factors:
  - tool: sliding_window
    params: {width: 1m, increment: 1m}
    sink: minutes
  - tool: sliding_apply
    params: {func: mean}
    sources: [minutes, temp]
    sink: temp_mean
    plates: [D]""" % ", ".join('"%d"' % i for i in range(5000)))
PY
$HSCTL workflow add "$IT_DIR/big.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add: $(cat "$IT_DIR/add.out")"
$HSCTL workflow show big > "$IT_DIR/show.txt" || it_fail "workflow show failed"
line=$(grep -E '^  D ' "$IT_DIR/show.txt") || it_fail "no plate D line: $(head -c 400 "$IT_DIR/show.txt")"
want=$($PY -c 'print(" values " + " ".join(str(i) for i in range(10)) + " \u2026 and 4,990 more (5,000 values; --json lists them all)")')
[[ "$line" == *" $want" ]] || it_fail "plate line: ${line:0:300}"
[ "$(wc -c < "$IT_DIR/show.txt")" -lt 4000 ] || it_fail "workflow show printed $(wc -c < "$IT_DIR/show.txt") bytes"
$HSCTL workflow show big --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
pl = d["plates"]
vals = pl["D"]["values"] if isinstance(pl, dict) else [p for p in pl if p["id"] == "D"][0]["values"]
assert vals == [str(i) for i in range(5000)], len(vals)' || it_fail "workflow show --json lacks plate values"
[ "$($HSCTL workflow show big --dot | wc -c)" -lt 4000 ] || it_fail "workflow show --dot is not summarised"

# ---- jobs: --factor N
$HSCTL compute big --from "$T0" --to "$((T0 + 180))" --wait --yes > "$IT_DIR/c.out" 2>&1 ||
  it_fail "compute failed: $(tail -n 3 "$IT_DIR/c.out")"
$HSCTL jobs big --limit 0 --json > "$IT_DIR/jobs.all"
$HSCTL jobs big --limit 0 --factor 1 --json > "$IT_DIR/jobs.f1"
$HSCTL jobs big --limit 0 --factor f0 --json > "$IT_DIR/jobs.f0"
$PY - "$IT_DIR/jobs.all" "$IT_DIR/jobs.f1" "$IT_DIR/jobs.f0" <<'PY' || it_fail "jobs --factor: $(head -c 400 "$IT_DIR/jobs.all")"
import json, sys
load = lambda p: [json.loads(l) for l in open(p) if l.strip()]
every, f1, f0 = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
assert every and f1 and f0, (len(every), len(f1), len(f0))
assert f1 == [j for j in every if int(j["factor"]) == 1], "factor 1"
assert f0 == [j for j in every if int(j["factor"]) == 0], "factor 0"
PY
[ "$($HSCTL jobs big --factor 1 --limit 1 --json | wc -l)" = 1 ] || it_fail "jobs --factor 1 --limit 1"
rc=0; $HSCTL jobs --factor x > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "jobs --factor x exited $rc, not 1"
it_log "cli at fleet scale: globs, --limit, --summary, big plates, jobs --factor"
