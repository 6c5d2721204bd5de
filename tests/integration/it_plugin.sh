#!/usr/bin/env bash
# Tool plugins and Lua functions in a running stack:
# - the tool written in docs/TOOLS.md, taken from the document and built
#   with the one cc command given there, is loaded from a plugin directory
#   (HS_PLUGIN_DIR, read by the tool runtime, the scheduler and hsctl) and
#   runs in a workflow, followed by a Lua apply; the results equal an
#   independent computation;
# - a runaway Lua function fails its jobs with "lua: time limit exceeded",
#   the services keep running and the next computation succeeds.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PLUG=$(mktemp -d /tmp/hs-plugins-XXXXXX)
trap 'rm -rf "$PLUG"' EXIT

# The walkthrough's listing, exactly as docs/TOOLS.md prints it, is tests/plugin/affine.c.
$PY - "$SRC/docs/TOOLS.md" "$PLUG/affine.c" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"```c\n(/\*\n \* affine:.*?)```", text, re.S)
assert m, "no affine.c listing in docs/TOOLS.md"
open(sys.argv[2], "w").write(m.group(1))
PY
cmp -s "$PLUG/affine.c" "$SRC/tests/plugin/affine.c" ||
  { echo "FAIL: the listing in docs/TOOLS.md differs from tests/plugin/affine.c" >&2; exit 1; }
# The walkthrough's one command (the checkout's common/ stands for the installed headers).
cc -shared -fPIC -O2 -I"$SRC/common" -o "$PLUG/affine.so" "$PLUG/affine.c" ||
  { echo "FAIL: the plugin does not build with the documented command" >&2; exit 1; }
export HS_PLUGIN_DIR=$PLUG

it_setup
trap 'rc=$?; rm -rf "$PLUG"; (exit $rc); it_teardown' EXIT
$HSCTL tool show affine > "$IT_DIR/show.txt" 2>&1 || it_fail "hsctl does not know the plugin tool: $(cat "$IT_DIR/show.txt")"
grep -q "^affine 1.0.0" "$IT_DIR/show.txt" || it_fail "hsctl tool show affine: $(cat "$IT_DIR/show.txt")"
it_log "hsctl sees the plugin tool"
# The stack keeps its plugin directory: hsctl lists the stack's plugins from
# its hs.conf, whatever the caller's environment says.
grep -qF "plugin_dir = \"$(realpath "$PLUG")\"" "$IT_DIR/hs.conf" || it_fail "hsctl up did not record plugin_dir in hs.conf: $(cat "$IT_DIR/hs.conf")"
env -u HS_PLUGIN_DIR $HSCTL tool ls > "$IT_DIR/ls.txt" 2>&1 || it_fail "tool ls: $(cat "$IT_DIR/ls.txt")"
grep -q "^affine " "$IT_DIR/ls.txt" || it_fail "tool ls without HS_PLUGIN_DIR does not list the stack's plugin: $(cat "$IT_DIR/ls.txt")"
HS_PLUGIN_DIR=/nonexistent $HSCTL tool show affine > "$IT_DIR/show2.txt" 2>&1 || it_fail "tool show with another HS_PLUGIN_DIR: $(cat "$IT_DIR/show2.txt")"
env -u HS_PLUGIN_DIR $HS_BIN/hsctl --data /nonexistent-$$ tool ls > "$IT_DIR/ls0.txt" 2>&1 || true
if grep -q "^affine " "$IT_DIR/ls0.txt"; then it_fail "tool ls without a stack or HS_PLUGIN_DIR lists the plugin"; fi
it_log "hsctl lists the stack's plugins (hs.conf), not the caller's HS_PLUGIN_DIR"

# Ten minutes of 1 Hz Celsius readings.
T0=1700002800
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(5)
vals = [(t0 + i, round(random.uniform(-20, 40), 3)) for i in range(1, 601)]
json.dump(vals, open(f"{d}/celsius.json", "w"))
with open(f"{d}/raw.txt", "w") as f:
    for c in range(0, len(vals), 100):
        f.write(json.dumps([{"t": t, "v": v} for t, v in vals[c:c + 100]]) + "\n")
PY
mosquitto_pub -p "$IT_PORT" -q 1 -t hs/raw/celsius -l < "$IT_DIR/raw.txt"
it_wait_eq 600 30 it_count celsius

cat > "$IT_DIR/wf.yaml" <<'YAML'
id: fahrenheit
factors:
  - tool: affine
    params: {gain: 1.8, offset: 32}
    sources: [celsius]
    sink: fahrenheit
  - tool: apply
    params: {func: "lua: return function(v) return {c = (v - 32) / 1.8, hot = v > 86} end"}
    sources: [fahrenheit]
    sink: celsius_again
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" > "$IT_DIR/add.out" 2>&1 || it_fail "workflow add failed: $(cat "$IT_DIR/add.out")"
$HSCTL compute fahrenheit --from $T0 --to $((T0 + 600)) --wait > "$IT_DIR/compute.out" 2>&1 ||
  it_fail "compute failed: $(cat "$IT_DIR/compute.out")"
$HSCTL stream get fahrenheit --from $T0 --to $((T0 + 600)) --format json > "$IT_DIR/f.jsonl"
$HSCTL stream get celsius_again --from $T0 --to $((T0 + 600)) --format json > "$IT_DIR/c.jsonl"
$PY - "$IT_DIR" <<'PY' || it_fail "plugin/Lua results differ from the independent computation"
import datetime, json, sys
d = sys.argv[1]
vals = {t: v for t, v in json.load(open(f"{d}/celsius.json"))}
def load(p):
    out = {}
    for line in open(p):
        o = json.loads(line)
        t = datetime.datetime.fromisoformat(o["t"].replace("Z", "+00:00")).timestamp()
        out[round(t)] = o["v"]
    return out
f, c = load(f"{d}/f.jsonl"), load(f"{d}/c.jsonl")
assert set(f) == set(vals) == set(c), (len(f), len(vals), len(c))
for t, v in vals.items():
    assert abs(f[t] - (v * 1.8 + 32)) < 1e-9, (t, f[t], v)
    assert abs(c[t]["c"] - v) < 1e-9 and c[t]["hot"] == (f[t] > 86), (t, c[t], v)
print("ok")
PY
it_log "the plugin tool and a Lua apply computed 600 instances each, as expected"

# A runaway Lua function fails its jobs with a clear error; everything keeps running.
cat > "$IT_DIR/runaway.yaml" <<'YAML'
id: runaway
factors:
  - tool: apply
    params: {func: "lua: return function(v) while true do end end"}
    sources: [celsius]
    sink: never
YAML
$HSCTL workflow add "$IT_DIR/runaway.yaml" > /dev/null 2>&1 || it_fail "workflow add runaway failed"
rc=0
$HSCTL compute runaway --from $T0 --to $((T0 + 600)) --wait > "$IT_DIR/runaway.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || it_fail "the runaway computation succeeded"
$HSCTL jobs runaway --failed --json > "$IT_DIR/runaway.jobs" 2>&1 || true
grep -q "lua: time limit exceeded" "$IT_DIR/runaway.out" "$IT_DIR/runaway.jobs" ||
  it_fail "no 'lua: time limit exceeded' in $(cat "$IT_DIR/runaway.out" "$IT_DIR/runaway.jobs")"
it_all_alive
[ "$(it_count never)" = 0 ] || it_fail "the runaway function stored output"
it_log "the runaway Lua function failed its jobs: $(grep -o 'lua: time limit exceeded' "$IT_DIR/runaway.out" | head -n 1)"

# The same runtime serves the next computation.
sed -e 's/^id: fahrenheit/id: kelvin/' -e 's/gain: 1.8, offset: 32/gain: 1, offset: 273.15/' \
    -e 's/sink: fahrenheit/sink: kelvin/' -e '/- tool: apply/,$d' "$IT_DIR/wf.yaml" > "$IT_DIR/kelvin.yaml"
$HSCTL workflow add "$IT_DIR/kelvin.yaml" > /dev/null 2>&1 || it_fail "workflow add kelvin failed"
$HSCTL compute kelvin --from $T0 --to $((T0 + 600)) --wait > "$IT_DIR/kelvin.out" 2>&1 ||
  it_fail "compute after the runaway failed: $(cat "$IT_DIR/kelvin.out")"
[ "$(it_count kelvin)" = 600 ] || it_fail "kelvin has $(it_count kelvin) instances, not 600"
it_all_alive
it_log "ok: the runtime kept serving after the runaway job"
