#!/usr/bin/env bash
# Files dropped in the watched directory (hs-data/inbox) are claimed,
# ingested once and moved to done/ (or failed/ with a .errors report when
# some lines were rejected; the good lines are still ingested, and the
# report and the log count both). CSV with and without a header line and
# JSON lines, one stream per file and one stream per column.
. "$(dirname "$0")/lib.sh"
export HS_FILE_SETTLE=200ms HS_WATCH_INTERVAL=200ms
it_setup
IN=$IT_DIR/inbox
# One stream per file: the file name is the stream id with ',' for '/'.
cat > "$IN/.temperature,house=1,room=kitchen.csv.tmp" <<'CSV'
time,v
2024-01-01T00:00:01Z,20.5
2024-01-01T00:00:02Z,20.75
1704067203.5,21
CSV
mv "$IN/.temperature,house=1,room=kitchen.csv.tmp" "$IN/temperature,house=1,room=kitchen.csv"
printf '{"t":"2024-01-01T00:00:01.000001Z","v":{"a":1}}\n[{"t":1704067202,"v":2},{"t":1704067203,"v":"x"}]\n' \
  > "$IN/events,site=lab.jsonl"
# Bad lines: the file goes to failed/ with a report, the good lines are stored.
printf 't,v\n2024-01-01T00:00:01Z,1\nnot a time,2\n2024-01-01T00:00:03Z,3,extra\n2024-01-01T00:00:04Z,4\n' \
  > "$IN/mixed,k=1.csv"
# No header: a first line whose first field is a time is data; time and value columns.
for i in $(seq 0 35); do echo "$((1704067200 + i * 60)),$((i * 5)).5"; done > "$IN/noheader,k=1.csv"
echo "2024-01-01T00:00:00Z,7" > "$IN/onerow,k=1.csv"
# A UTF-8 byte order mark (spreadsheet exports) is not part of the first field: the first
# line of a file without a header stays data, and a JSON line after it stays JSON.
printf '\xef\xbb\xbf1704067200,1\n1704067260,2\n1704067320,3\n' > "$IN/bom,k=1.csv"
printf '\xef\xbb\xbf{"t":1704067200,"v":1}\n{"t":1704067260,"v":2}\n' > "$IN/bomj,k=1.jsonl"
# No header and three columns: refused whole, nothing stored (the names of the values are unknown).
printf '1704067200,1,2\n1704067260,3,4\n' > "$IN/noheader3,k=1.csv"
# A JSON line that is a bare word follows the rule of raw MQTT payloads.
printf '{"t":1704067200,"v":"off"}\non\n' > "$IN/switch,k=1.jsonl"
it_wait_eq 3 20 it_count "temperature/house=1/room=kitchen"
it_wait_eq 3 20 it_count "events/site=lab"
it_wait_eq 2 20 it_count "mixed/k=1"
it_wait_eq 36 20 it_count "noheader/k=1"
it_wait_eq 1 20 it_count "onerow/k=1"
it_wait_eq 2 20 it_count "switch/k=1"
it_wait_eq 3 20 it_count "bom/k=1"
it_wait_eq 2 20 it_count "bomj/k=1"
for _ in $(seq 1 50); do [ -f "$IN/done/bom,k=1.csv" ] && [ -f "$IN/done/bomj,k=1.jsonl" ] && break; sleep 0.1; done
[ -f "$IN/done/bom,k=1.csv" ] || it_fail "the CSV file with a byte order mark was not moved to done/"
[ -f "$IN/done/bomj,k=1.jsonl" ] || it_fail "the JSON-lines file with a byte order mark was not moved to done/"
for _ in $(seq 1 50); do [ -f "$IN/done/noheader,k=1.csv" ] && [ -f "$IN/failed/noheader3,k=1.csv.errors" ] && break; sleep 0.1; done
[ -f "$IN/done/noheader,k=1.csv" ] || it_fail "the file without a header was not moved to done/"
[ -f "$IN/done/onerow,k=1.csv" ] || it_fail "the one-line file without a header was not moved to done/"
$HSCTL stream get "noheader/k=1" --format csv > "$IT_DIR/noheader.csv"
for i in 0 35; do
  t=$(date -u -d "@$((1704067200 + i * 60))" +%Y-%m-%dT%H:%M:%SZ)
  grep -qx "$t,$((i * 5)).5" "$IT_DIR/noheader.csv" || { cat "$IT_DIR/noheader.csv" >&2; it_fail "line $((i + 1)) of the file without a header is missing"; }
done
[ -f "$IN/failed/noheader3,k=1.csv" ] || it_fail "a three-column file without a header was not refused"
grep -q "add a header line" "$IN/failed/noheader3,k=1.csv.errors" || it_fail "the refusal does not say to add a header"
# Its summary says nothing was stored (not that stored instances stay stored).
grep -q "^summary: 0 instances stored, 0 lines rejected, the file refused whole; nothing of this file is stored" \
  "$IN/failed/noheader3,k=1.csv.errors" && ! grep -q "stay stored" "$IN/failed/noheader3,k=1.csv.errors" ||
  { cat "$IN/failed/noheader3,k=1.csv.errors" >&2; it_fail "the summary of a file refused whole"; }
[ "$(it_count "noheader3/k=1")" = 0 ] || it_fail "part of a refused file was stored"
for _ in $(seq 1 50); do [ -f "$IN/done/events,site=lab.jsonl" ] && [ -f "$IN/failed/mixed,k=1.csv" ] && break; sleep 0.1; done
[ -f "$IN/done/temperature,house=1,room=kitchen.csv" ] || it_fail "the CSV file was not moved to done/"
[ -f "$IN/done/events,site=lab.jsonl" ] || it_fail "the JSON-lines file was not moved to done/"
[ -f "$IN/failed/mixed,k=1.csv" ] || it_fail "the file with bad lines was not moved to failed/"
grep -q "line 3" "$IN/failed/mixed,k=1.csv.errors" || { cat "$IN/failed/mixed,k=1.csv.errors" >&2; it_fail "the report does not name line 3"; }
# The report and the log say what was stored and what was rejected.
grep -q "^summary: 2 instances stored, 2 lines rejected" "$IN/failed/mixed,k=1.csv.errors" \
  || { cat "$IN/failed/mixed,k=1.csv.errors" >&2; it_fail "the report does not count stored and rejected lines"; }
grep -q "file mixed,k=1.csv: 2 instances stored, 2 lines rejected; moved to failed/" "$IT_DIR"/logs/ingest*.log \
  || it_fail "the log does not count stored and rejected lines"
grep -q "file noheader,k=1.csv: 36 instances stored, 0 lines rejected; moved to done/" "$IT_DIR"/logs/ingest*.log \
  || it_fail "the log does not count the 36 lines of the file without a header"
$HSCTL stream get "switch/k=1" | grep -q '"v":"on"' || it_fail "a bare word in a JSON-lines file was not stored as a string"
$HSCTL stream get "events/site=lab" > "$IT_DIR/events.jsonl"
grep -q '"t":"2024-01-01T00:00:01.000001Z","v":{"a":1}' "$IT_DIR/events.jsonl" || it_fail "JSON-lines values differ"
$HSCTL stream get "temperature/house=1/room=kitchen" --format csv | grep -q '2024-01-01T00:00:03.500000Z,21' \
  || it_fail "epoch seconds with a fraction were not read exactly"
# The same file again (a replay): stored once, no duplicate.
cp "$IN/done/temperature,house=1,room=kitchen.csv" "$IN/again,x=1.csv"
cp "$IN/done/temperature,house=1,room=kitchen.csv" "$IN/temperature,house=1,room=kitchen.csv"
it_wait_eq 3 20 it_count "again/x=1"
sleep 1
[ "$(it_count "temperature/house=1/room=kitchen")" = 3 ] || it_fail "a replayed file stored duplicates"
# One stream per column: restart ingest in columns mode.
it_stop ingest
HS_FILE_MODE=columns it_restart
printf 'timestamp,temperature,humidity\n2024-01-02T00:00:00Z,19.5,40\n2024-01-02T00:01:00Z,19.75,41\n' \
  > "$IN/house=2,room=lounge.csv"
it_wait_eq 2 20 it_count "temperature/house=2/room=lounge"
it_wait_eq 2 20 it_count "humidity/house=2/room=lounge"
it_all_alive
it_log "ok: CSV and JSON-lines files ingested once, bad lines reported, columns mode"
