#!/usr/bin/env bash
# The dashboard (docs/HTTP.md §4) in a real browser: a stack with 50 known
# readings of temperature/house=1/room=kitchen and examples/house_climate.yaml
# computed over them, then tests/web/dashboard.mjs drives Debian's Chromium
# headless (playwright-core) through the page that hs-api serves: no console
# error; every service listed online; the raw stream's chart plots exactly
# the 50 readings with its calculated interval under it, a dragged range
# zooms to exactly the readings inside it; the computed
# room_temp/house=1/room=kitchen plots as many points as the REST API and
# `hsctl stream get` give; the workflow graph has one node per stream of the
# workflow; a compute started from the page reaches done at 100%; a reading
# published after the page opened shows in the live results. Screenshots go
# to the test's directory and to <build>/test-artifacts/web/.
#
# Needs /usr/bin/chromium (scripts/deps.sh installs it) and node with npm:
# tests/web's node_modules is installed with `npm ci` when missing.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WEBTEST=$ROOT/tests/web
CHROMIUM=${HS_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || it_fail "$CHROMIUM is missing: run scripts/deps.sh as root (it installs chromium)"
command -v node >/dev/null || it_fail "node is missing (Node.js 20 or later)"
[ -f "$HS_BIN/../share/hyperstream/web/index.html" ] ||
  it_fail "the build has no dashboard files in $HS_BIN/../share/hyperstream/web (target web)"
if [ ! -d "$WEBTEST/node_modules/playwright-core" ]; then
  it_log "npm ci in $WEBTEST"
  (cd "$WEBTEST" && npm ci --no-audit --no-fund --loglevel=error) >&2 || it_fail "npm ci in tests/web failed"
fi

it_setup
grep -q "dashboard and REST API: $IT_HTTP/" "$IT_DIR/up.out" ||
  it_fail "hsctl up did not start hs-api on $IT_HTTP: $(cat "$IT_DIR/up.out")"

# 50 readings every 10 s after T0 (a whole hour), v = 20 + 3 sin(i / 5).
T0=1700002800
RAW=temperature/house=1/room=kitchen
$PY - "$T0" > "$IT_DIR/raw.jsonl" <<'PY'
import json, math, sys
t0 = int(sys.argv[1])
for i in range(1, 51):
    print(json.dumps({"t": t0 + 10 * i, "v": round(20 + 3 * math.sin(i / 5), 3)}))
PY
$HSCTL pub "$RAW" - < "$IT_DIR/raw.jsonl"
it_wait_eq 50 30 it_count "$RAW"
$HSCTL workflow add "$ROOT/examples/house_climate.yaml" >/dev/null
$HSCTL compute house_climate --from "$T0" --to $((T0 + 600)) --wait --timeout 60 > "$IT_DIR/compute.out" ||
  it_fail "compute failed: $(cat "$IT_DIR/compute.out")"
grep -q '^done: .* 0 failed' "$IT_DIR/compute.out" || it_fail "compute did not end done: $(cat "$IT_DIR/compute.out")"
# The computed stream's instances as hsctl reads them from the store.
ROOM_COUNT=$($HSCTL stream get room_temp/house=1/room=kitchen --format json | grep -c '"t"' || true)
[ "$ROOM_COUNT" -gt 0 ] || it_fail "room_temp/house=1/room=kitchen has no instance after the compute"

ART="$HS_BIN/../test-artifacts/web"
mkdir -p "$ART" "$IT_DIR/screenshots"
ART=$(cd "$ART" && pwd)
rm -f "$ART"/*.png  # a failure.png of an earlier run is not this run's
it_log "dashboard test on $IT_HTTP/ ($ROOM_COUNT room_temp instances)"
HS_URL="$IT_HTTP/" HS_HSCTL="$HS_BIN/hsctl" HS_DATA_DIR="$IT_DIR" \
  HS_T0="$T0" HS_RAW_STREAM="$RAW" HS_ROOM_COUNT="$ROOM_COUNT" HS_CHROMIUM="$CHROMIUM" \
  HS_SHOTS="$IT_DIR/screenshots" HS_ARTIFACTS="$ART" HS_PROFILE="$IT_DIR/chromium-profile" \
  node "$WEBTEST/dashboard.mjs" || it_fail "the dashboard test failed (screenshots: $ART)"
it_log "it_web: ok"
