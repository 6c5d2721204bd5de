#!/usr/bin/env bash
# The main job of README.md: installs what is missing, builds, starts the
# local stack on the embedded store, replays a generated multi-house sensor
# data set, computes the demo workflow over its history, runs the same
# computation online over live readings, and shows the results.
#
#   bash scripts/demo.sh           (as root on a fresh Debian 12, or with the packages installed)
#   HS_DEMO_KEEP=1 bash scripts/demo.sh   leaves the stack running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing packages and building"
if [ "$(id -u)" -eq 0 ]; then bash scripts/deps.sh; else bash scripts/deps.sh || { echo "run as root once to install packages" >&2; exit 1; }; fi
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export PATH="$ROOT/build/bin:$PATH"
# Bash completion of hsctl for new shells (bash-completion loads it on first use of hsctl).
if [ "$(id -u)" -eq 0 ]; then COMPDIR=/usr/share/bash-completion/completions
else COMPDIR=${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions; fi
mkdir -p "$COMPDIR" && cp build/share/bash-completion/completions/hsctl "$COMPDIR/hsctl"
DATA=${HS_DATA:-$ROOT/hs-data}
PORT=${HS_DEMO_PORT:-1884}
HTTP_PORT=${HS_HTTP_PORT:-8180}
export HS_DATA="$DATA" HS_HTTP_PORT="$HTTP_PORT"

say "Starting the local stack in $DATA"
hsctl down >/dev/null 2>&1 || true
rm -rf "$DATA"
hsctl up --port "$PORT"
trap '[ -n "${HS_DEMO_KEEP:-}" ] || { say "Stopping the stack"; hsctl down; }; [ -n "${LIVE_PID:-}" ] && kill -- -"$LIVE_PID" 2>/dev/null; true' EXIT

say "Replaying two hours of readings: 3 houses x 3 rooms x (temperature, humidity) at 1 Hz"
NOW=$(date +%s)
START=$(( (NOW - 2 * 3600) / 60 * 60 - 60 ))
GEN="$DATA/replay"
/usr/bin/python3 scripts/gen_houses.py "$GEN" "$START" 7200
t0=$(date +%s.%N)
for f in "$GEN"/*.jsonl; do
  sid=$(basename "$f" .jsonl | tr ',' '/')
  mosquitto_pub -p "$PORT" -q 1 -t "hs/raw/$sid" -l < "$f"
done
# Wait until the writer has stored everything that was sent.
expected=$(cat "$GEN"/*.jsonl | /usr/bin/python3 -c 'import json,sys; print(sum(len(json.loads(l)) for l in sys.stdin))')
for _ in $(seq 1 300); do
  stored=$(hsctl stream ls --json | /usr/bin/python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))')
  [ "$stored" -ge "$expected" ] && break
  sleep 0.2
done
t1=$(date +%s.%N)
printf '%s readings stored in %.1f s (%.0f readings/s through ingest and writer)\n' "$stored" \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$stored / ($t1 - $t0)" | bc -l)"

say "The demo workflow (examples/house_climate.yaml)"
hsctl workflow add examples/house_climate.yaml
hsctl workflow show house_climate

say "Computing it over the replayed history: only what is missing is computed"
FROM=$START; TO=$(( START + 7200 ))
hsctl compute house_climate --from "$FROM" --to "$TO" --wait
say "Asking again for the same interval computes nothing"
hsctl compute house_climate --from "$FROM" --to "$TO" --wait

say "Late data: a reading of house 1's kitchen arrives 2 hours late"
LATE=$(( START + 630 ))
echo "room_temp/house=1/room=kitchen around $(date -u -d @"$LATE" +%H:%M:%S) before:"
hsctl stream get room_temp/house=1/room=kitchen --from $(( LATE - 90 )) --to $(( LATE + 90 )) --format table
mosquitto_pub -p "$PORT" -q 1 -t hs/raw/temperature/house=1/room=kitchen -m "{\"t\": $LATE.5, \"v\": 100}"
for _ in $(seq 1 50); do
  hsctl stream intervals room_temp/house=1/room=kitchen | grep -q reopened && break
  sleep 0.2
done
echo "the writer reopened what the late reading touches, here and downstream:"
for sid in room_temp/house=1/room=kitchen house_temp/house=1; do
  echo "$sid:"
  hsctl stream intervals "$sid" | sed 's/^/  /'
done
say "Computing again recomputes exactly the reopened intervals"
hsctl compute house_climate --from "$FROM" --to "$TO" --wait
echo "room_temp/house=1/room=kitchen after (its minute now includes the reading of 100):"
hsctl stream get room_temp/house=1/room=kitchen --from $(( LATE - 90 )) --to $(( LATE + 90 )) --format table

say "House temperatures, last five minutes of the history"
for h in 1 2 3; do
  echo "house $h:"
  hsctl stream get "house_temp/house=$h" --tail 5 --format table
done

say "Going online: live readings every second, results every 5 seconds"
hsctl workflow add examples/house_climate_live.yaml
# The live feeder runs in its own process group, stopped as a whole at the end.
setsid bash -c '/usr/bin/python3 scripts/gen_houses.py live --live | while read -r sid json; do
  mosquitto_pub -p "$1" -q 1 -t "hs/raw/$sid" -m "$json"; done' feeder "$PORT" &
LIVE_PID=$!
echo "live results as they are committed (hsctl sub 'live_house_temp/#'):"
hsctl sub 'live_house_temp/#' --count 6 --timeout 30 || true
kill -- -"$LIVE_PID" 2>/dev/null || true
LIVE_PID=

say "Picture of the workflow"
hsctl workflow show house_climate --svg "$DATA/house_climate.svg"

say "The same results over HTTP (hs-api): REST, and Prometheus's API as Grafana uses it"
API=http://127.0.0.1:$HTTP_PORT
echo "curl '$API/api/v1/streams/house_temp/house=1/data?from=-10m&format=ndjson'"
curl -s "$API/api/v1/streams/house_temp/house=1/data?from=-10m&format=ndjson" | tail -n 3
echo "promtool query instant $API 'house_temp'"
promtool query instant "$API" 'house_temp' 2>&1 | head -n 3 || true

say "What to try next"
# The stack stops when the demo ends unless HS_DEMO_KEEP is set: the list starts it again.
if [ -n "${HS_DEMO_KEEP:-}" ]; then
  UP="  (the stack keeps running, HS_DEMO_KEEP=1; hsctl down stops it)"
else
  UP="  hsctl up --data $DATA --port $PORT   start the stack again on the demo's data
  (the demo stops it when it ends; HS_DEMO_KEEP=1 bash scripts/demo.sh keeps it running)"
fi
cat <<TXT
  export PATH=$ROOT/build/bin:\$PATH HS_DATA=$DATA
$UP
  hsctl status                                   every service and its state
  hsctl stream ls                                streams with counts and calculated intervals
  hsctl stream get room_temp/house=2/room=kitchen --from -30m --format table
  hsctl jobs house_climate --limit 10            the job history
  hsctl sub 'live_house_temp/#'                  results as they are committed
  hsctl pub temperature/house=1/room=kitchen 23.5
  hsctl stream invalidate room_temp/house=1/room=kitchen --from -1h --to now
  hsctl stream intervals house_temp/house=1      shows what that reopened downstream
  hsctl tool ls                                  the tool library
  hsctl help; hsctl help stream                  every verb; a verb's commands and options
  hsctl down                                     stop the stack
  (a new bash completes hsctl: completion installed in $COMPDIR)
  (the picture: $DATA/house_climate.svg)
TXT
if [ -n "${HS_DEMO_KEEP:-}" ]; then
  echo "dashboard: $API/  (REST API under $API/api/v1/, docs/HTTP.md)"
else
  echo "dashboard: $API/ once the stack runs again (hsctl up; REST API under $API/api/v1/, docs/HTTP.md)"
fi
