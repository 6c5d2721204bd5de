#!/usr/bin/env bash
# Operability: the control channel answers (stats of the writer),
# pause stops a tool runtime taking jobs and resume restarts it (visible in
# hsctl status/top), a service killed with SIGKILL shows as offline, the
# Prometheus endpoint passes promtool, monitoring events arrive in SenML, and
# the workflow picture renders as SVG. With HS_METRICS_PORT set, every service
# of 'hsctl up' serves its metrics on its own port, on 127.0.0.1 only, and
# 'hsctl status' says where.
. "$(dirname "$0")/lib.sh"
export HS_METRICS_INTERVAL=1s
# Four consecutive free ports: the base of the stack's metrics ports.
MPORT=$($PY - <<'PY'
import random, socket
for _ in range(500):
    base, socks = random.randint(20000, 60000), []
    try:
        for p in range(base, base + 4):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
PY
)
[ -n "$MPORT" ] || it_fail "no four consecutive free ports"
export HS_METRICS_PORT=$MPORT
it_setup

# Every service serves its own metrics port, which hsctl status names.
$HSCTL status --json > "$IT_DIR/status.json" || it_fail "hsctl status --json failed"
$HSCTL status > "$IT_DIR/status.txt" || it_fail "hsctl status failed"
k=0
for pair in writer:writer ingest:ingest scheduler:scheduler tools:tool; do
  id=${pair%%:*} kind=${pair##*:}
  url="http://127.0.0.1:$((MPORT + k))/metrics"
  k=$((k + 1))
  grep -F "\"id\":\"$id\"" "$IT_DIR/status.json" | grep -qF "\"metrics\":\"$url\"" \
    || it_fail "hsctl status --json does not give $id's metrics at $url: $(cat "$IT_DIR/status.json")"
  grep -E "^$id " "$IT_DIR/status.txt" | grep -qF "$url" \
    || it_fail "hsctl status does not show $url for $id: $(cat "$IT_DIR/status.txt")"
  curl -sSf --max-time 10 "$url" > "$IT_DIR/metrics-$id.txt" || it_fail "curl $url failed"
  grep -q "^hs_up{service=\"$kind\",id=\"$id\"} 1\$" "$IT_DIR/metrics-$id.txt" \
    || it_fail "$url does not serve $id's metrics: $(head -5 "$IT_DIR/metrics-$id.txt")"
  if command -v promtool >/dev/null; then
    promtool check metrics < "$IT_DIR/metrics-$id.txt" > "$IT_DIR/promtool.out" 2>&1 \
      || { cat "$IT_DIR/promtool.out" >&2; it_fail "promtool rejects $id's metrics"; }
  fi
  # Bound to 127.0.0.1 (metrics_bind): another address of this host is not served.
  if curl -s --max-time 5 "http://127.0.0.2:$((MPORT + k - 1))/metrics" > /dev/null; then
    it_fail "$id's metrics are served beyond 127.0.0.1"
  fi
done
it_log "metrics of writer, ingest, scheduler, tools on ports $MPORT..$((MPORT + 3)) (curl, promtool)"

# Control channel: the writer's stats, with the round trip measured from the request.
$HSCTL ctl writer stats > "$IT_DIR/stats.json" 2> "$IT_DIR/stats.err" || it_fail "ctl writer stats failed"
grep -q '"ok":true' "$IT_DIR/stats.json" || it_fail "stats did not answer ok"
grep -q '"instances_in_per_s"' "$IT_DIR/stats.json" || it_fail "stats lack rates"
it_log "ctl writer stats: $(cat "$IT_DIR/stats.err")"

# Pause the tool runtime: a compute plans jobs but none runs; resume: they all run.
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: ops
factors:
  - tool: clock
    params: {stride: 10s}
    sink: ticks
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add"
$HSCTL ctl tools pause > /dev/null 2>&1 || it_fail "pause failed"
it_wait_eq paused 5 sh -c "$HSCTL status --json | $PY -c 'import json,sys; print([json.loads(l)[\"state\"] for l in sys.stdin if json.loads(l)[\"id\"]==\"tools\"][0])'"
$HSCTL top --once > "$IT_DIR/top.txt"
grep -E '^tools +tool +paused' "$IT_DIR/top.txt" >/dev/null || { cat "$IT_DIR/top.txt" >&2; it_fail "top does not show the paused runtime"; }
$HSCTL compute ops --from 2020-01-01T00:00:00Z --to 2020-01-01T01:00:00Z > /dev/null
sleep 2
[ "$(it_count ticks)" = 0 ] || it_fail "a paused runtime took jobs"
$HSCTL ctl tools resume > /dev/null 2>&1 || it_fail "resume failed"
it_wait_eq 360 20 it_count ticks
it_log "pause held the jobs back; resume ran them (360 ticks)"

# Prometheus text format, checked by promtool.
curl -sf "http://127.0.0.1:$MPORT/metrics" > "$IT_DIR/metrics.txt" 2>/dev/null || \
  $PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics').read().decode())" > "$IT_DIR/metrics.txt" \
  || it_fail "no metrics endpoint on port $MPORT"
promtool check metrics < "$IT_DIR/metrics.txt" > "$IT_DIR/promtool.out" 2>&1 || { cat "$IT_DIR/promtool.out" >&2; it_fail "promtool rejects the metrics"; }
grep -q '^hs_instances_in_total{service="writer",id="writer"}' "$IT_DIR/metrics.txt" || it_fail "metrics lack the writer's counters"
it_log "Prometheus endpoint: $(grep -c '^hs_' "$IT_DIR/metrics.txt") samples, promtool ok"

# Monitoring events (SenML) of a compute.
mosquitto_sub -p "$IT_PORT" -t 'hs/mon' -C 2 -W 20 > "$IT_DIR/mon.txt" &
MON=$!
sleep 0.3
$HSCTL compute ops --from 2020-01-02T00:00:00Z --to 2020-01-02T00:10:00Z --wait > /dev/null
wait $MON || true
$PY - "$IT_DIR/mon.txt" <<'PY' || it_fail "monitoring events are not SenML workflow_start/workflow_end"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
names = [e["e"][0]["n"] for e in events]
assert names == ["workflow_start", "workflow_end"], names
assert all(e["uid"] == "scheduler" and e["bt"].endswith("Z") for e in events)
# A compute request is info; its interval is given as ISO times and in microseconds.
assert all(e["level"] == "info" for e in events), events
assert all(e["interval"] == ["2020-01-02T00:00:00Z", "2020-01-02T00:10:00Z"] for e in events), events
assert all(e["interval_us"] == [1577923200000000, 1577923800000000] for e in events), events
PY
it_log "MON events: $(tr '\n' ' ' < "$IT_DIR/mon.txt" | cut -c1-160)"

# SIGKILL: the last will marks the service offline.
kill -9 "$(it_pid ingest)"
it_wait_eq offline 15 sh -c "$HSCTL status --json | $PY -c 'import json,sys; print([json.loads(l)[\"state\"] for l in sys.stdin if json.loads(l)[\"id\"]==\"ingest\"][0])'"
it_log "killed ingest shows as offline"
it_restart

# The workflow picture.
$HSCTL workflow show ops --svg "$IT_DIR/ops.svg" > /dev/null || it_fail "svg failed"
grep -q '<svg' "$IT_DIR/ops.svg" || it_fail "not an SVG"
it_log "ok"
