#!/usr/bin/env bash
# hs-api with real services and real HTTP clients (curl, promtool):
# - REST reading: services online, stream list paging, one stream, its data as
#   JSON, NDJSON and CSV (the same instances), intervals, unknown stream 404;
# - HTTP ingest: line protocol (/api/v2/write, InfluxDB's answers) and JSON,
#   JSON lines and CSV (/api/v1/write), each read back value for value; bad
#   input (malformed JSON, wrong line protocol, a bad stream id, a huge body)
#   is a clear 4xx with nothing stored, and a dead letter with the reason; a
#   reading the writer conflicts on is a 409 and the stored value stays;
# - workflows over HTTP: add, check, compute to done, and the computed
#   stream's values through promtool query range equal an independent
#   computation from the raw data read back over REST;
# - Prometheus metadata: series, labels, label values;
# - accounts: a stack whose hs-api has an accounts file refuses requests
#   without an account (401) and per role (403).
. "$(dirname "$0")/lib.sh"

it_setup
U=$IT_HTTP
it_log "hs-api at $U"

code() { curl -s -o "$IT_DIR/body" -w '%{http_code}' "$@"; }
body() { cat "$IT_DIR/body"; }

# ---- services
it_wait_eq "api ingest scheduler tools writer" 20 sh -c \
  "curl -s $U/api/v1/services | $PY -c 'import json,sys; print(\" \".join(sorted(s[\"id\"] for s in json.load(sys.stdin)[\"services\"] if s[\"state\"]==\"online\")))'" ||
  it_fail "services not all online over REST: $(curl -s $U/api/v1/services)"

# ---- line protocol: 3 points x 2 fields, tags in any order, ns precision
T0=1767225600   # 2026-01-01T00:00:00Z
cat > "$IT_DIR/lp.txt" <<EOF
# a comment line
weather,site=b,room=k temp=21.5,hum=40i $((T0 + 60))000000000
weather,room=k,site=b temp=22.25,hum=41i $((T0 + 120))000000000

weather,site=b,room=k temp=-3,hum=42i,ok=true,note="a \\"quoted\\" note" $((T0 + 180))000000000
EOF
c=$(code -XPOST --data-binary @"$IT_DIR/lp.txt" "$U/api/v2/write?org=o&bucket=b&precision=ns")
[ "$c" = 204 ] || it_fail "line protocol write: HTTP $c $(body)"
curl -s "$U/api/v1/streams/weather.temp/room=k/site=b/data?format=ndjson" > "$IT_DIR/temp.ndjson"
curl -s "$U/api/v1/streams/weather.hum/site=b/room=k/data?format=ndjson" > "$IT_DIR/hum.ndjson"
curl -s "$U/api/v1/streams/weather.note/site=b/room=k/data?format=ndjson" > "$IT_DIR/note.ndjson"
curl -s "$U/api/v1/streams/weather.ok/site=b/room=k/data?format=ndjson" > "$IT_DIR/ok.ndjson"
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "line protocol readings read back differ"
import datetime, json, sys
d, t0 = sys.argv[1], int(sys.argv[2])
def rows(name):
    out = []
    for l in open(f"{d}/{name}.ndjson"):
        o = json.loads(l)
        out.append((int(datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp()), o["v"]))
    return out
assert rows("temp") == [(t0 + 60, 21.5), (t0 + 120, 22.25), (t0 + 180, -3.0)], rows("temp")
assert rows("hum") == [(t0 + 60, 40), (t0 + 120, 41), (t0 + 180, 42)], rows("hum")
assert all(isinstance(v, int) for _, v in rows("hum"))
assert rows("note") == [(t0 + 180, 'a "quoted" note')], rows("note")
assert rows("ok") == [(t0 + 180, True)], rows("ok")
PY
it_log "line protocol: 204, every field stored as its own stream, values exact"

# curl's --data-binary without a type says application/x-www-form-urlencoded (Telegraf and
# scripts do the like): the body is still read as it is, '+' and '%' included.
printf 'formish,site=b v=1e+3,s="50%%25 a+b" %s\n' $((T0 + 60)) > "$IT_DIR/formish.txt"
c=$(code -XPOST --data-binary @"$IT_DIR/formish.txt" "$U/api/v2/write?precision=s")
[ "$c" = 204 ] || it_fail "line protocol as a form type: HTTP $c $(body)"
curl -s "$U/api/v1/streams/formish.v/site=b/data" | grep -q '"v":1000' || it_fail "1e+3 read as $(curl -s "$U/api/v1/streams/formish.v/site=b/data")"
curl -s "$U/api/v1/streams/formish.s/site=b/data" | grep -qF '"v":"50%25 a+b"' || it_fail "string read as $(curl -s "$U/api/v1/streams/formish.s/site=b/data")"

# Telegraf's disk input: a tag value with '/' is written %2F in the stream id ('%' is %25 in a URL).
printf 'disk,path=/boot,device=sda1 used_percent=12.5 %s\n' $((T0 + 60)) > "$IT_DIR/disk.txt"
c=$(code -XPOST --data-binary @"$IT_DIR/disk.txt" "$U/api/v2/write?precision=s")
[ "$c" = 204 ] || it_fail "disk line: HTTP $c $(body)"
curl -s "$U/api/v1/streams/disk.used_percent/device=sda1/path=%252Fboot/data" | grep -q '"v":12.5' ||
  it_fail "disk stream: $(curl -s "$U/api/v1/streams?prefix=disk")"

# Telegraf compresses by default (content_encoding = "gzip"): inflated, then read the same.
printf 'gz,site=a value=4.5 %s\ngz,site=a value=5.5 %s\n' $((T0 + 60)) $((T0 + 120)) | gzip -c > "$IT_DIR/gz.lp.gz"
c=$(code -XPOST -H 'Content-Encoding: gzip' --data-binary @"$IT_DIR/gz.lp.gz" "$U/api/v2/write?precision=s")
[ "$c" = 204 ] || it_fail "gzip line protocol: HTTP $c $(body)"
[ "$(curl -s "$U/api/v1/streams/gz/site=a/data?format=ndjson" | wc -l)" = 2 ] || it_fail "gzip body not stored whole"
head -c $(( $(stat -c %s "$IT_DIR/gz.lp.gz") - 12 )) "$IT_DIR/gz.lp.gz" > "$IT_DIR/cut.gz"
c=$(code -XPOST -H 'Content-Encoding: gzip' --data-binary @"$IT_DIR/cut.gz" "$U/api/v2/write")
[ "$c" = 400 ] && body | grep -q '"code":"invalid"' || it_fail "cut gzip: HTTP $c $(body)"
c=$(code -XPOST -H 'Content-Encoding: br' --data-binary @"$IT_DIR/gz.lp.gz" "$U/api/v2/write")
[ "$c" = 415 ] || it_fail "brotli: HTTP $c $(body)"
head -c $((40 * 1024 * 1024)) /dev/zero | gzip -c > "$IT_DIR/bomb.gz"
c=$(code -XPOST -H 'Content-Encoding: gzip' --data-binary @"$IT_DIR/bomb.gz" "$U/api/v2/write")
[ "$c" = 413 ] && body | grep -q '"code":"request too large"' || it_fail "gzip bomb: HTTP $c $(body)"
rm -f "$IT_DIR/bomb.gz"

# ---- bad line protocol: 400 naming the line, nothing stored, a dead letter
before=$($HSCTL stream ls --json | wc -l)
printf 'weather,site=c temp=1 %s000000000\nweather,site=c temp=oops %s000000000\n' $((T0 + 60)) $((T0 + 120)) > "$IT_DIR/bad.txt"
c=$(code -XPOST --data-binary @"$IT_DIR/bad.txt" "$U/api/v2/write?precision=ns")
[ "$c" = 400 ] || it_fail "bad line protocol: HTTP $c $(body)"
body | $PY -c 'import json,sys; o=json.load(sys.stdin); assert o["code"]=="invalid" and "line 2" in o["message"], o' ||
  it_fail "bad line protocol answer: $(body)"
[ "$($HSCTL stream ls --json | wc -l)" = "$before" ] || it_fail "a refused line protocol body stored something"
it_wait_eq yes 10 sh -c "curl -s '$U/api/v1/dead' | $PY -c 'import json,sys; print(\"yes\" if any(\"line 2\" in json.dumps(d) for d in json.load(sys.stdin)[\"dead\"]) else \"no\")'" ||
  it_fail "no dead letter for the refused body: $(curl -s $U/api/v1/dead)"
it_log "bad line protocol: 400 with the line, nothing stored, dead letter"

# ---- a conflicting reading: 409, the stored value stays
printf 'weather,site=b,room=k temp=99 %s000000000\n' $((T0 + 60)) > "$IT_DIR/conflict.txt"
c=$(code -XPOST --data-binary @"$IT_DIR/conflict.txt" "$U/api/v2/write")
[ "$c" = 409 ] || it_fail "conflicting reading: HTTP $c $(body)"
curl -s "$U/api/v1/streams/weather.temp/room=k/site=b/data?limit=1" | grep -q '"v":21.5' || it_fail "the conflicting reading changed the stored value"
# The same reading again is a duplicate, not a conflict: 204.
printf 'weather,site=b,room=k temp=21.5 %s000000000\n' $((T0 + 60)) > "$IT_DIR/dup.txt"
c=$(code -XPOST --data-binary @"$IT_DIR/dup.txt" "$U/api/v2/write")
[ "$c" = 204 ] || it_fail "re-sent reading: HTTP $c $(body)"
it_log "conflict 409 (stored value kept), duplicate 204"

# ---- /api/v1/write: JSON payload, JSON lines, CSV
c=$(code -XPOST -H 'Content-Type: application/json' --data '[{"t":1767225660,"v":1},{"t":"2026-01-01T00:02:00Z","v":2}]' "$U/api/v1/write?stream=power/house=1")
[ "$c" = 200 ] || it_fail "JSON write: HTTP $c $(body)"
body | grep -q '"readings":2' || it_fail "JSON write answer: $(body)"
printf '{"stream":"power/house=2","t":1767225660,"v":5}\n{"stream":"power/house=2","t":1767225720,"v":{"a":1}}\n' > "$IT_DIR/w.ndjson"
c=$(code -XPOST -H 'Content-Type: application/x-ndjson' --data-binary @"$IT_DIR/w.ndjson" "$U/api/v1/write")
[ "$c" = 200 ] || it_fail "NDJSON write: HTTP $c $(body)"
printf 'stream,t,v\npower/house=3,2026-01-01T00:01:00Z,7.5\npower/house=3,1767225720,on\n' > "$IT_DIR/w.csv"
c=$(code -XPOST -H 'Content-Type: text/csv' --data-binary @"$IT_DIR/w.csv" "$U/api/v1/write")
[ "$c" = 200 ] || it_fail "CSV write: HTTP $c $(body)"
for h in 1 2 3; do curl -s "$U/api/v1/streams/power/house=$h/data" > "$IT_DIR/p$h.json"; done
$PY - "$IT_DIR" <<'PY' || it_fail "v1 writes read back differ"
import json, sys
d = sys.argv[1]
get = lambda h: [(o["t"], o["v"]) for o in json.load(open(f"{d}/p{h}.json"))]
assert get(1) == [("2026-01-01T00:01:00Z", 1), ("2026-01-01T00:02:00Z", 2)], get(1)
assert get(2) == [("2026-01-01T00:01:00Z", 5), ("2026-01-01T00:02:00Z", {"a": 1})], get(2)
assert get(3) == [("2026-01-01T00:01:00Z", 7.5), ("2026-01-01T00:02:00Z", "on")], get(3)
PY
it_log "v1 write: JSON, JSON lines and CSV stored and read back exactly"
# A body is data whatever its Content-Type: curl's default (application/x-www-form-urlencoded)
# must not turn '+' into a space or decode %41, in a write (v1, v2) or a workflow.
c=$(code -XPOST --data-binary '{"t":1767225660,"v":"1+1=2 %41"}' "$U/api/v1/write?stream=formtype/k=1")
[ "$c" = 200 ] || it_fail "v1 write with curl's default Content-Type: HTTP $c $(body)"
curl -s "$U/api/v1/streams/formtype/k=1/data" | grep -qF '"v":"1+1=2 %41"' ||
  it_fail "v1 write with curl's default Content-Type stored $(curl -s "$U/api/v1/streams/formtype/k=1/data")"
c=$(code -XPOST --data-binary "formtype,k=2 note=\"a+b%41\" $((T0 + 60))000000000" "$U/api/v2/write")
[ "$c" = 204 ] || it_fail "v2 write with curl's default Content-Type: HTTP $c $(body)"
curl -s "$U/api/v1/streams/formtype.note/k=2/data" | grep -qF '"v":"a+b%41"' ||
  it_fail "v2 write with curl's default Content-Type stored $(curl -s "$U/api/v1/streams/formtype.note/k=2/data")"

# ---- live results (SSE): clients with overlapping patterns get each commit once
# (the broker sends hs-api a copy per matching subscription)
curl -sN "$U/api/v1/live?stream=livex/%23" > "$IT_DIR/live1" &
l1=$!
curl -sN "$U/api/v1/live?stream=livex/k=1" > "$IT_DIR/live2" &
l2=$!
curl -sN "$U/api/v1/live?stream=livex/%2B" > "$IT_DIR/live3" &
l3=$!
it_wait_eq 3 10 sh -c "cat '$IT_DIR/live1' '$IT_DIR/live2' '$IT_DIR/live3' | grep -c 'hyperstream live'"
c=$(code -XPOST -H 'Content-Type: application/json' --data '{"t":1767225660,"v":1}' "$U/api/v1/write?stream=livex/k=1")
[ "$c" = 200 ] || it_fail "live write 1: HTTP $c $(body)"
c=$(code -XPOST -H 'Content-Type: application/json' --data '{"t":1767225720,"v":2}' "$U/api/v1/write?stream=livex/k=1")
[ "$c" = 200 ] || it_fail "live write 2: HTTP $c $(body)"
it_wait_eq 6 10 sh -c "cat '$IT_DIR/live1' '$IT_DIR/live2' '$IT_DIR/live3' | grep -c '^event: data'"
sleep 1
for f in live1 live2 live3; do
  [ "$(grep -c '^data: {"stream":"livex/k=1","data":\[\[1767225660000000,1\]\]}' "$IT_DIR/$f")" = 1 ] &&
  [ "$(grep -c '^data: {"stream":"livex/k=1","data":\[\[1767225720000000,2\]\]}' "$IT_DIR/$f")" = 1 ] ||
    it_fail "live stream $f: $(cat "$IT_DIR/$f")"
done
kill $l1 $l2 $l3 2>/dev/null || true
it_log "live: three clients with overlapping patterns get each commit once"

# ---- bad v1 bodies: 400 and nothing stored
before=$($HSCTL stream ls --json | wc -l)
c=$(code -XPOST -H 'Content-Type: application/json' --data '{"t":1,"v":' "$U/api/v1/write?stream=power/house=9")
[ "$c" = 400 ] || it_fail "malformed JSON: HTTP $c $(body)"
c=$(code -XPOST -H 'Content-Type: application/json' --data '1' "$U/api/v1/write?stream=bad%20id")
[ "$c" = 400 ] && body | grep -q "stream id" || it_fail "bad stream id: HTTP $c $(body)"
printf '{"stream":"power/house=9","t":1767225660,"v":1}\n{"stream":"power/house=9","t":"yesterday","v":2}\n' > "$IT_DIR/bad.ndjson"
c=$(code -XPOST -H 'Content-Type: application/x-ndjson' --data-binary @"$IT_DIR/bad.ndjson" "$U/api/v1/write")
[ "$c" = 400 ] && body | grep -q "line 2" || it_fail "bad NDJSON: HTTP $c $(body)"
head -c $((33 * 1024 * 1024)) /dev/zero | tr '\0' '1' > "$IT_DIR/huge"
c=$(code -XPOST -H 'Content-Type: application/json' --data-binary @"$IT_DIR/huge" "$U/api/v1/write?stream=power/house=9")
[ "$c" = 413 ] || it_fail "huge body: HTTP $c"
rm -f "$IT_DIR/huge"
[ "$($HSCTL stream ls --json | wc -l)" = "$before" ] || it_fail "a refused v1 body stored something"
it_log "bad v1 bodies: 400 (malformed JSON, bad id, bad time with its line), 413 (huge), nothing stored"
# Refusals at once (a handler thread each): every one a 400 with a dead letter of its own body.
seq 1 48 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -XPOST -H 'Content-Type: application/json' \
  --data '{"t":{},"v":' "$U/api/v1/write?stream=burst/k={}" | sort | uniq -c | tr -s ' ' > "$IT_DIR/burst"
[ "$(cat "$IT_DIR/burst")" = " 48 400" ] || it_fail "concurrent refusals: $(cat "$IT_DIR/burst")"
cat > "$IT_DIR/burst.py" <<'PY'
import json, re, sys
got = set()
for d in json.load(sys.stdin)["dead"]:
    m = re.fullmatch(r'\{"t":([0-9]+),"v":', str(d["letter"].get("payload")))
    if m:
        got.add(int(m.group(1)))
print(len(got & set(range(1, 49))))
PY
it_wait_eq 48 10 sh -c "curl -s '$U/api/v1/dead?limit=1000' | $PY '$IT_DIR/burst.py'" ||
  it_fail "dead letters of concurrent refusals"

# ---- reading: 404, paging, formats agree
c=$(code "$U/api/v1/streams/nosuch/x=1/data"); [ "$c" = 404 ] || it_fail "unknown stream: HTTP $c"
curl -s "$U/api/v1/streams?prefix=power/&limit=2" > "$IT_DIR/page1"
next=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["next"])' "$IT_DIR/page1")
[ "$next" = "power/house=2" ] || it_fail "first page's next: $(cat "$IT_DIR/page1")"
curl -s "$U/api/v1/streams?prefix=power/&limit=2&after=$next" > "$IT_DIR/page2"
$PY - "$IT_DIR" <<'PY' || it_fail "paging"
import json, sys
d = sys.argv[1]
p1, p2 = json.load(open(f"{d}/page1")), json.load(open(f"{d}/page2"))
assert [s["id"] for s in p1["streams"]] == ["power/house=1", "power/house=2"]
assert [s["id"] for s in p2["streams"]] == ["power/house=3"] and p2["next"] is None
PY
S="$U/api/v1/streams/weather.temp/site=b/room=k"
curl -s "$S/data?format=csv" > "$IT_DIR/t.csv"; curl -s "$S/data" > "$IT_DIR/t.json"
curl -s -H 'Accept: application/x-ndjson' "$S/data" > "$IT_DIR/t2.ndjson"
$PY - "$IT_DIR" <<'PY' || it_fail "formats disagree"
import csv, json, sys
d = sys.argv[1]
j = [(o["t"], o["v"]) for o in json.load(open(f"{d}/t.json"))]
n = [(o["t"], o["v"]) for o in map(json.loads, open(f"{d}/t2.ndjson"))]
c = [(r[0], float(r[1])) for r in list(csv.reader(open(f"{d}/t.csv")))[1:]]
assert j == n == c and len(j) == 3, (j, n, c)
PY
curl -s "$S/data?from=2026-01-01T00:01:00Z&to=2026-01-01T00:03:00Z" | grep -c '"t"' > /dev/null
[ "$(curl -s "$S/data?from=2026-01-01T00:01:00Z&to=2026-01-01T00:03:00Z&format=ndjson" | wc -l)" = 2 ] ||
  it_fail "(from, to] selects 2 instances"
it_log "reading: 404, paging, JSON = NDJSON = CSV, (from, to]"

# ---- a workflow over HTTP, computed, read through promtool
cat > "$IT_DIR/wf.yaml" <<'EOF'
id: roomavg
plates:
  R: {meta: room, values: [a, b]}
factors:
  - tool: sliding_window
    params: {width: 1m, increment: 1m}
    sink: windows
  - tool: sliding_apply
    params: {func: mean}
    sources: [windows, roomtemp]
    sink: roommean
    plates: [R]
EOF
$PY - "$T0" > "$IT_DIR/raw.lp" <<'PY'
import random, sys
t0 = int(sys.argv[1]); random.seed(7)
for room in "ab":
    for i in range(600):
        t = t0 + 1 + i * 2 + (1 if room == "b" else 0)
        print(f"roomtemp,room={room} value={round(random.uniform(15, 25), 3)} {t}")
PY
c=$(code -XPOST --data-binary @"$IT_DIR/raw.lp" "$U/api/v2/write?precision=s")
[ "$c" = 204 ] || it_fail "raw line protocol: HTTP $c $(body)"
c=$(code -XPOST --data-binary 'id: x
factors: [{tool: nosuchtool, sink: y}]' "$U/api/v1/workflows/check")
[ "$c" = 400 ] && body | grep -q nosuchtool || it_fail "check of a bad workflow: HTTP $c $(body)"
c=$(code -XPOST --data-binary @"$IT_DIR/wf.yaml" "$U/api/v1/workflows/check"); [ "$c" = 200 ] || it_fail "check: $c $(body)"
c=$(code -XPOST --data-binary @"$IT_DIR/wf.yaml" "$U/api/v1/workflows?filename=wf.yaml"); [ "$c" = 200 ] || it_fail "add: $c $(body)"
c=$(code -XPOST "$U/api/v1/workflows/roomavg/compute?from=$T0&to=$((T0 + 1200))")
[ "$c" = 202 ] || it_fail "compute: HTTP $c $(body)"
req=$(body | $PY -c 'import json,sys; print(json.load(sys.stdin)["request"])')
it_wait_eq done 60 sh -c "curl -s $U/api/v1/requests/$req | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])'" ||
  it_fail "compute request did not finish: $(curl -s $U/api/v1/requests/$req)"
# Its events, opened after it ended: the stored state first, and the stream ends after it.
timeout 10 curl -sN "$U/api/v1/requests/$req/events" > "$IT_DIR/events.txt" || it_fail "the events of a done request did not end"
grep -q '^event: progress' "$IT_DIR/events.txt" && grep -q '"state":"done"' "$IT_DIR/events.txt" ||
  it_fail "events of a done request: $(cat "$IT_DIR/events.txt")"
timeout 3 curl -sN "$U/api/v1/requests/nosuch/events" > "$IT_DIR/events2.txt" || true
grep -q "^: no request nosuch yet" "$IT_DIR/events2.txt" || it_fail "events of an unknown request: $(cat "$IT_DIR/events2.txt")"
c=$(code "$U/api/v1/workflows/nosuch/compute" -XPOST --data '' -G --data-urlencode "from=$T0")
[ "$c" = 404 ] || it_fail "compute of an unknown workflow: HTTP $c $(body)"
# A long id is passed on whole, not cut to a buffer's size (the error named another id).
long=$(printf 'w%.0s' $(seq 1 300))
c=$(code -XPOST "$U/api/v1/workflows/$long/compute?from=$T0")
[ "$c" = 404 ] && body | grep -q "$long'" || it_fail "compute of a 300-byte workflow id: HTTP $c $(body)"
c=$(code -XDELETE "$U/api/v1/workflows/$long")
[ "$c" = 404 ] && body | grep -q "$long'" || it_fail "delete of a 300-byte workflow id: HTTP $c $(body)"
c=$(code "$U/api/v1/requests/r$long/events")
[ "$c" = 400 ] && body | grep -q "r$long" || it_fail "events of a 301-byte request id: HTTP $c $(body)"
for room in a b; do
  curl -s "$U/api/v1/streams/roomtemp/room=$room/data?format=ndjson" > "$IT_DIR/raw_$room.ndjson"
  promtool query range --start=$((T0 + 60)) --end=$((T0 + 1200)) --step=60s "$U" \
    "roommean{room=\"$room\"}" > "$IT_DIR/prom_$room.txt" 2>&1 || it_fail "promtool: $(cat "$IT_DIR/prom_$room.txt")"
done
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "promtool's values differ from the independent computation"
import datetime, json, re, statistics, sys
d, t0 = sys.argv[1], int(sys.argv[2])
for room in "ab":
    raw = []
    for l in open(f"{d}/raw_{room}.ndjson"):
        o = json.loads(l)
        raw.append((datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp(), o["v"]))
    assert len(raw) == 600, len(raw)
    exp = {}
    for up in range(t0 + 60, t0 + 1201, 60):
        w = [v for t, v in raw if up - 60 < t <= up]
        if w:
            exp[up] = statistics.fmean(w)
    got = {}
    for line in open(f"{d}/prom_{room}.txt"):
        m = re.match(r"^(\S+) @\[(\d+(?:\.\d+)?)\]$", line.strip())
        if m:
            got[int(float(m.group(2)))] = float(m.group(1))
    assert set(got) == set(exp), (room, sorted(set(got) ^ set(exp))[:5], open(f"{d}/prom_{room}.txt").read()[:300])
    for t in exp:
        assert got[t] == exp[t] or abs(got[t] - exp[t]) < 1e-12, (room, t, got[t], exp[t])
print("ok")
PY
curl -s "$U/api/v1/workflows/roomavg/graph.dot" | grep -q 'roommean' || it_fail "graph.dot"
c=$(code "$U/api/v1/workflows/roomavg/graph.svg"); [ "$c" = 200 ] && body | grep -q '<svg' && body | grep -q roommean || it_fail "graph.svg: $c"
it_log "workflow added and computed over HTTP; promtool query range equals the independent computation"
# The tool library, read by many handlers at once (its first use too).
seq 1 24 | xargs -P 12 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' '$U/api/v1/tools';
  curl -s -o /dev/null -w '%{http_code}\n' -XPOST --data-binary @'$IT_DIR/wf.yaml' '$U/api/v1/workflows/check'" |
  sort | uniq -c | tr -s ' ' > "$IT_DIR/tools"
[ "$(cat "$IT_DIR/tools")" = " 48 200" ] || it_fail "tools and checks at once: $(cat "$IT_DIR/tools")"

# ---- live results over SSE, corrections included: a late reading reopens a minute of
# roommean{room=a}; computing again publishes the corrected minute as a correction event
curl -sN "$U/api/v1/live?stream=roommean/%23" > "$IT_DIR/sse.txt" &
SSE=$!
IT_EXTRA_PIDS="${IT_EXTRA_PIDS:-} $SSE"
it_wait_eq yes 10 sh -c "grep -q 'hyperstream live' '$IT_DIR/sse.txt' && echo yes" || it_fail "SSE did not open"
sleep 0.5  # the answer's first bytes come once hs-api has subscribed; let the SUBACK settle
printf 'roomtemp,room=a value=100 %s\n' $((T0 + 90)) > "$IT_DIR/late.lp"
c=$(code -XPOST --data-binary @"$IT_DIR/late.lp" "$U/api/v2/write?precision=s"); [ "$c" = 204 ] || it_fail "late reading: $c $(body)"
c=$(code -XPOST "$U/api/v1/workflows/roomavg/compute?from=$T0&to=$((T0 + 1200))"); [ "$c" = 202 ] || it_fail "recompute: $c $(body)"
it_wait_eq yes 30 sh -c "grep -q '^event: correction' '$IT_DIR/sse.txt' && echo yes" || it_fail "no correction event: $(head -c 400 "$IT_DIR/sse.txt")"
sleep 1
kill "$SSE" 2>/dev/null || true
curl -s "$U/api/v1/streams/roommean/room=a/data?from=$((T0 + 60))&to=$((T0 + 120))&format=ndjson" > "$IT_DIR/fixed.ndjson"
curl -s "$U/api/v1/streams/roomtemp/room=a/data?from=$((T0 + 60))&to=$((T0 + 120))&format=ndjson" > "$IT_DIR/raw_minute.ndjson"
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "the correction event differs from the stored stream"
import datetime, json, sys
d, t0 = sys.argv[1], int(sys.argv[2])
events, ev = [], None
for line in open(f"{d}/sse.txt"):
    line = line.rstrip("\n")
    if line.startswith("event: "):
        ev = line[7:]
    elif line.startswith("data: ") and ev:
        events.append((ev, json.loads(line[6:])))
corr = [e for k, e in events if k == "correction" and e["stream"] == "roommean/room=a"]
assert corr, events
c = corr[-1]
lo, hi = c["interval"]
assert lo < (t0 + 90) * 10**6 <= hi, c["interval"]
stored = {}
for l in open(f"{d}/fixed.ndjson"):
    o = json.loads(l)
    stored[int(datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp() * 10**6)] = o["v"]
got = {t: v for t, v in c["data"]}
# The minute (t0+60, t0+120] holds the late 100: the event and the store hold its new mean,
# computed here from the raw readings read back.
raw = [json.loads(l)["v"] for l in open(f"{d}/raw_minute.ndjson")]
assert 100 in raw, raw
exp = sum(raw) / len(raw)
t = (t0 + 120) * 10**6
assert got.get(t) == stored[t], (got, stored)
assert abs(stored[t] - exp) < 1e-9, (stored[t], exp)
PY
it_log "live results over SSE: a late reading's recomputation arrives as a correction event equal to the stored stream"

# ---- Prometheus metadata and errors
curl -s "$U/api/v1/labels" | grep -q '"room"' || it_fail "labels: $(curl -s $U/api/v1/labels)"
[ "$(curl -s "$U/api/v1/label/room/values" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data"])')" = "['a', 'b', 'k']" ] ||
  it_fail "label values: $(curl -s $U/api/v1/label/room/values)"
curl -s -G "$U/api/v1/series" --data-urlencode 'match[]=roommean' | $PY -c '
import json,sys; d=json.load(sys.stdin)["data"]; assert sorted(s["room"] for s in d)==["a","b"] and all(s["__name__"]=="roommean" for s in d), d' ||
  it_fail "series"
c=$(code -G "$U/api/v1/query" --data-urlencode 'query=rate(roommean[5m])')
[ "$c" = 400 ] && body | grep -q bad_data || it_fail "unsupported query: HTTP $c $(body)"
c=$(code -XPOST "$U/api/v1/query" --data-urlencode 'query=1+1'); [ "$c" = 200 ] && body | grep -q '"2"' || it_fail "1+1: $(body)"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$U/api/v1/status/buildinfo")" = 200 ] || it_fail "HEAD of buildinfo"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$U/api/v1/query?query=roommean")" = 200 ] || it_fail "HEAD of a query"
promtool query instant --time=$((T0 + 600)) "$U" 'roommean{room="a"}' | grep -q 'roommean{room="a"} =>' || it_fail "promtool instant"
it_log "Prometheus metadata, instant queries and refusals"

# ---- input schemas: a workflow's schemas apply to HTTP writes as to MQTT input
printf 'id: press\nfactors:\n  - tool: apply\n    params: {func: neg}\n    sources: [pressure]\n    sink: neg_pressure\nschemas:\n  - stream: pressure/#\n    schema: {type: number, minimum: 900, maximum: 1100}\n' > "$IT_DIR/press.yaml"
c=$(code -XPOST --data-binary @"$IT_DIR/press.yaml" "$U/api/v1/workflows"); [ "$c" = 200 ] || it_fail "add press: $c $(body)"
it_wait_eq 1 20 sh -c "grep -c 'input schemas of workflow press applied' '$IT_DIR/logs/api.log'" || it_fail "hs-api did not apply the workflow's schemas"
printf 'pressure,site=x value=1000 %s\npressure,site=x value=5000 %s\n' $((T0 + 60)) $((T0 + 120)) > "$IT_DIR/press.lp"
c=$(code -XPOST --data-binary @"$IT_DIR/press.lp" "$U/api/v2/write?precision=s")
[ "$c" = 400 ] && body | grep -q "maximum" || it_fail "a reading failing the schema: HTTP $c $(body)"
[ "$(code "$U/api/v1/streams/pressure/site=x")" = 404 ] || it_fail "a body with a reading failing the schema stored something"
printf 'pressure,site=x value=1000 %s\n' $((T0 + 60)) > "$IT_DIR/press.lp"
c=$(code -XPOST --data-binary @"$IT_DIR/press.lp" "$U/api/v2/write?precision=s"); [ "$c" = 204 ] || it_fail "a good reading: $c $(body)"
it_log "input schemas: a body with a reading out of the workflow's schema is refused whole (400), a good one stored"

# ---- without accounts, a web page of another site may not use hs-api through the browser
c=$(code -XPOST -H 'Origin: http://evil.example' -H 'Content-Type: text/plain' \
  --data-binary "csrf value=1 $((T0 + 60))000000000" "$U/api/v2/write")
[ "$c" = 403 ] || it_fail "a cross-site POST (CSRF) without accounts: HTTP $c $(body)"
[ "$(it_count csrf.value)" = 0 ] || it_fail "a cross-site POST stored its reading"
c=$(code -H "Host: rebound.example:$HS_HTTP_PORT" "$U/api/v1/streams")
[ "$c" = 403 ] || it_fail "a request for another host name (DNS rebinding) without accounts: HTTP $c"
c=$(code -XPOST -H "Origin: $U" --data-binary "sameorigin value=1 $((T0 + 60))000000000" "$U/api/v2/write")
[ "$c" = 204 ] || it_fail "the dashboard's own POST: HTTP $c $(body)"
[ "$(code -H "Host: localhost:$HS_HTTP_PORT" "$U/api/v1/streams?limit=1")" = 200 ] || it_fail "Host localhost"
it_log "no accounts: cross-site (Origin) and rebound (Host) requests 403, own ones pass"

# ---- accounts: a second hs-api on the same stack with an accounts file
ADMIN=s3cret-admin; READER=s3cret-reader; DEVICE=s3cret-device
{ echo "# name:role:sha256"
  echo "alice:admin:$(printf %s "$ADMIN" | sha256sum | cut -d' ' -f1)"
  echo "grafana:reader:$(printf %s "$READER" | sha256sum | cut -d' ' -f1)"
  echo "sensor:device:$(printf %s "$DEVICE" | sha256sum | cut -d' ' -f1)"; } > "$IT_DIR/accounts"
AP=$(it_free_port)
mkdir -p "$IT_DIR/web/dist" "$IT_DIR/web/dist-private"
echo dashboard > "$IT_DIR/web/dist/index.html"; echo private > "$IT_DIR/web/dist-private/key"
HS_CONFIG="$IT_DIR/hs.conf" "$HS_BIN/hs-api" --set service_id=api2 --set http_port=$AP \
  --set accounts_file="$IT_DIR/accounts" --set web_dir="$IT_DIR/web/dist" > "$IT_DIR/logs/api2.log" 2>&1 &
IT_EXTRA_PIDS="$!"
A2=http://127.0.0.1:$AP
it_wait_eq 200 20 curl -s -o /dev/null -w '%{http_code}' "$A2/health" || it_fail "second hs-api did not start: $(cat "$IT_DIR/logs/api2.log")"
[ "$(code "$A2/api/v1/streams")" = 401 ] || it_fail "no account: $(body)"
[ "$(code -H "Authorization: Bearer wrong" "$A2/api/v1/streams")" = 401 ] || it_fail "wrong token"
[ "$(code -H "Authorization: Bearer $READER" "$A2/api/v1/streams")" = 200 ] || it_fail "reader read"
[ "$(code -u "grafana:$READER" "$A2/api/v1/query?query=roommean")" = 200 ] || it_fail "reader basic auth"
[ "$(code -u "alice:$READER" "$A2/api/v1/streams")" = 401 ] || it_fail "basic auth with another's secret"
[ "$(code -H "Authorization: Bearer $READER" -XPOST --data-binary @"$IT_DIR/dup.txt" "$A2/api/v2/write")" = 403 ] || it_fail "reader write"
[ "$(code -H "Authorization: Token $DEVICE" -XPOST --data-binary @"$IT_DIR/dup.txt" "$A2/api/v2/write")" = 204 ] || it_fail "device write: $(body)"
[ "$(code -H "Authorization: Token $DEVICE" "$A2/api/v1/streams")" = 403 ] || it_fail "device read"
[ "$(code -H "Authorization: Bearer $READER" -XDELETE "$A2/api/v1/workflows/roomavg")" = 403 ] || it_fail "reader delete"
[ "$(code -H "Authorization: Bearer $ADMIN" -XDELETE "$A2/api/v1/workflows/roomavg")" = 200 ] || it_fail "admin delete: $(body)"
[ "$(code "$A2/api/v1/workflows/roomavg" -H "Authorization: Bearer $ADMIN")" = 404 ] || it_fail "workflow still there"
# A body that will be refused is not read: the answer (401, 403, 413) comes at once and the
# connection is closed, where hs-api read (and dropped) all of it before, however large.
cat > "$IT_DIR/early.py" <<'PY'
import socket, sys
port, auth, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
hdr = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n" % path
if auth:
    hdr += "Authorization: Bearer %s\r\n" % auth
s.sendall((hdr + "\r\n").encode() + b"x" * 1000)
try:
    print(s.recv(4096).decode("latin1").split(" ")[1])
except socket.timeout:
    print("no answer")
PY
[ "$($PY "$IT_DIR/early.py" "$AP" "" /api/v2/write)" = 401 ] || it_fail "10 GB body without an account"
[ "$($PY "$IT_DIR/early.py" "$AP" "$READER" /api/v2/write)" = 403 ] || it_fail "10 GB body of a reader"
[ "$($PY "$IT_DIR/early.py" "$AP" "$DEVICE" /api/v2/write)" = 413 ] || it_fail "10 GB body of a device"
# The dashboard's files need no account; nothing outside web_dir is served, also not through a
# request target without the leading '/' ("GET -private/key" named web_dir + "-private/key").
[ "$(curl -s "$A2/")" = dashboard ] || it_fail "dashboard index: $(curl -s "$A2/")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$A2/index.html")" = 200 ] || it_fail "HEAD of a dashboard file"
cat > "$IT_DIR/raw.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode("latin1"))
PY
for target in "GET -private/key" "GET /../dist-private/key" "GET /%2e%2e/dist-private/key" "GET //..//dist-private/key"; do
  ! $PY "$IT_DIR/raw.py" "$AP" "$target" | grep -q private || it_fail "$target served a file outside web_dir"
done
# Without accounts, a non-loopback address is refused at start.
rc=0; HS_CONFIG="$IT_DIR/hs.conf" timeout 10 "$HS_BIN/hs-api" --set service_id=api3 --set http_port=$(it_free_port) \
  --set http_bind=0.0.0.0 > "$IT_DIR/api3.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q accounts_file "$IT_DIR/api3.log" || it_fail "hs-api on 0.0.0.0 without accounts started (rc $rc)"
it_log "accounts: 401 without or with a wrong secret, 403 per role, admin may all; no open non-loopback port"
# ---- stopping: waits in handlers (a live stream, a scheduler request that gets no reply) end at
# once; libmicrohttpd's stop joins every connection's thread, so they held it up (15 s and more).
SP=$(it_free_port)
HS_CONFIG="$IT_DIR/hs.conf" "$HS_BIN/hs-api" --set service_id=api4 --set http_port=$SP \
  --set scheduler_id=nosuch --set write_timeout=2s > "$IT_DIR/logs/api4.log" 2>&1 &
api4=$!
IT_EXTRA_PIDS="$IT_EXTRA_PIDS $api4"
A4=http://127.0.0.1:$SP
it_wait_eq 200 20 curl -s -o /dev/null -w '%{http_code}' "$A4/health" || it_fail "hs-api api4 did not start"
# A writer that does not answer: a body of several write requests (4096 streams each) is a 503
# after one write_timeout (2 s), not one per request.
$PY -c '
for i in range(3 * 4096 + 5):
    print("{\"stream\":\"wt/k=%d\",\"t\":1767225600,\"v\":%d}" % (i, i))' > "$IT_DIR/wt.ndjson"
kill -STOP "$(cat "$IT_DIR/run/writer.pid")"
t0=$(date +%s%N)
c=$(code -XPOST -H 'Content-Type: application/x-ndjson' --data-binary @"$IT_DIR/wt.ndjson" "$A4/api/v1/write")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$(cat "$IT_DIR/run/writer.pid")"
[ "$c" = 503 ] && [ "$ms" -lt 4000 ] || it_fail "a write to a writer that does not answer: HTTP $c after $ms ms $(body)"
it_log "a writer that does not answer: 503 after $ms ms (write_timeout 2 s, 4 write requests)"
curl -sN "$A4/api/v1/live?stream=stop/%23" > "$IT_DIR/live4" &
live4=$!
curl -s -XPOST "$A4/api/v1/workflows/roomavg/compute?from=$T0" > /dev/null &
compute4=$!
sleep 1
t0=$(date +%s%N)
kill -TERM "$api4"
wait "$api4" || true
IT_EXTRA_PIDS=${IT_EXTRA_PIDS% $api4}
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] || it_fail "hs-api took $ms ms to stop with a live stream and a scheduler request open"
wait "$live4" "$compute4" || true
grep -q "hyperstream live" "$IT_DIR/live4" || it_fail "the live stream never started"
it_log "stopping: $ms ms with a live stream and a pending scheduler request"
echo "PASS it_api"
