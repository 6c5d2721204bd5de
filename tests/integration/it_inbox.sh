#!/usr/bin/env bash
# The inbox at fleet scale: 200 small files dropped at once (half written in
# place, half moved in with one mv) are all claimed in one round, every row
# of them is stored and every file is in done/ (one with a bad line in
# failed/ with its report); a file written slowly (opened, half written, a
# pause longer than file_settle, the rest, closed) is taken whole, because
# inotify saw it written and not yet closed; files dropped while ingest was
# down are found by the scan, with inotify off, several per round.
. "$(dirname "$0")/lib.sh"
export HS_FILE_SETTLE=200ms HS_WATCH_INTERVAL=200ms
it_setup
IN=$IT_DIR/inbox
STAGE=$IT_DIR/stage
mkdir -p "$STAGE"
# Rows of the streams logger/unit=*: the data lines of the files, counted from the files.
logger_total() {
  $HSCTL stream ls --json 2>/dev/null | $PY -c '
import json,sys
print(sum(json.loads(l)["count"] for l in sys.stdin if json.loads(l)["stream"].startswith("logger/")))'
}
# File i has 1 + i % 13 rows of stream logger/unit=i.
make_file() {  # dir, i
  local f=$1/logger,unit=$2.csv r
  { echo "time,v"; for r in $(seq 0 $(($2 % 13))); do echo "$((1704067200 + r * 60)),$(($2 * 100 + r))"; done; } > "$f"
}
for i in $(seq 1 200); do make_file "$STAGE" "$i"; done
# One bad line in file 7: the file goes to failed/, its good lines are stored.
echo "not a time,1" >> "$STAGE/logger,unit=7.csv"
expect=$(cat "$STAGE"/*.csv | grep -c '^[0-9]*,[0-9]*$')
# Files 101 to 200 are written in place (closed after writing), 1 to 100 moved in.
for i in $(seq 101 200); do cp "$STAGE/logger,unit=$i.csv" "$IN/"; rm "$STAGE/logger,unit=$i.csv"; done
mv "$STAGE"/*.csv "$IN"/
it_log "200 files, $expect rows"
it_wait_eq "$expect" 120 logger_total
for _ in $(seq 1 100); do [ "$(ls "$IN/done" | wc -l)" = 199 ] && break; sleep 0.2; done
[ "$(ls "$IN/done" | wc -l)" = 199 ] || it_fail "$(ls "$IN/done" | wc -l) files in done/, expected 199"
[ -f "$IN/failed/logger,unit=7.csv" ] || it_fail "the file with a bad line is not in failed/"
grep -q "^summary: 8 instances stored, 1 lines rejected" "$IN/failed/logger,unit=7.csv.errors" \
  || { cat "$IN/failed/logger,unit=7.csv.errors" >&2; it_fail "the report of the file with a bad line"; }
[ -z "$(ls "$IN" | grep -v '^done$\|^failed$')" ] || it_fail "files left in the inbox: $(ls "$IN")"
[ -z "$(ls "$IN/.work/"*)" ] || it_fail "files left in the work directory"
# A file written slowly is not taken before it is closed, even after file_settle.
SLOW="$IN/slow,k=1.csv"
exec 3> "$SLOW"
{ echo "time,v"; for r in $(seq 0 49); do echo "$((1704067200 + r)),$r"; done; } >&3
sleep 3
for r in $(seq 50 99); do echo "$((1704067200 + r)),$r"; done >&3
exec 3>&-
it_wait_eq 100 30 it_count "slow/k=1"
for _ in $(seq 1 100); do [ -f "$IN/done/slow,k=1.csv" ] && break; sleep 0.1; done
[ -f "$IN/done/slow,k=1.csv" ] || it_fail "the slowly written file is not in done/"
grep -q "file slow,k=1.csv: 100 instances stored, 0 lines rejected" "$IT_DIR"/logs/ingest*.log \
  || { grep "slow" "$IT_DIR"/logs/ingest*.log >&2; it_fail "the slowly written file was not read whole, once"; }
# Files that came while ingest was down: the scan finds them (inotify off), all in one round.
it_stop ingest
for i in $(seq 201 260); do make_file "$STAGE" "$i"; done
expect=$((expect + $(cat "$STAGE"/*.csv | grep -c '^[0-9]*,[0-9]*$')))
mv "$STAGE"/*.csv "$IN"/
HS_INBOX_WATCH=false it_restart
it_wait_eq "$expect" 120 logger_total
for _ in $(seq 1 100); do [ "$(ls "$IN/done" | wc -l)" = 260 ] && break; sleep 0.2; done
[ "$(ls "$IN/done" | wc -l)" = 260 ] || it_fail "$(ls "$IN/done" | wc -l) files in done/, expected 260 (with slow,k=1.csv)"
it_all_alive
it_log "ok: 200 files at once stored whole, a slow file taken whole, files of a downtime found by the scan"
