#!/usr/bin/env bash
# The fleet benchmark (issue 14): one workflow over N devices on the embedded
# store, one hour of one reading per minute per device, computed in one
# backfill. For each size (default 1,000 and 10,000 devices), on a fresh
# stack of its own:
#  - ingest: one msgpack batch of 60 readings per device (QoS 1, one MQTT
#    connection), from the first publish to all readings committed;
#  - the workflow: 1-minute windows; per device (plate G.D, meta dev) the
#    mean of each minute (sliding_apply mean) and that mean in Fahrenheit
#    (apply c_to_f): two per-device factors; over the fleet (aggregate mean
#    over dev onto G) the mean of all devices per minute;
#  - `hsctl compute --wait` over the hour: wall time, exit code, jobs planned
#    and run, the scheduler's CPU seconds (utime + stime from /proc/PID/stat)
#    and its largest RSS (VmRSS sampled every 0.2 s and VmHWM from
#    /proc/PID/status); then the same request again (nothing to do): its
#    time and exit code;
#  - the fleet aggregate of every minute against the mean computed in Python
#    from the generated readings: "aggregate: correct", "wrong" or "missing".
# The baseline of each size is the previous size measured in the same run:
# the summary prints the growth ratio per 10x devices of compute time,
# scheduler CPU and RSS (a cost linear in devices grows 10x).
# Every step has a timeout (HS_BENCH_TIMEOUT s, default 900): a step that
# fails or times out is printed as a figure (its exit code, "timeout"), and
# the run goes on with the next size.
# Then the online part (--online DEVICES, default 100,000; 0 skips it): an
# online workflow (every 10 s over 10-s windows: per device the window's
# mean, over the fleet their mean) runs for --online-secs (default 120)
# while every device publishes one reading per 10 s (one MQTT message each,
# spread evenly over the period: 10,000 messages/s for 100,000 devices).
# Printed: the result delay of the fleet mean and of 100 sampled devices'
# means (arrival on hs/s/<stream> minus the window's end; p50, p99, max),
# for the first and the second half of the run (a delay that grows shows a
# backlog), and the fleet means stored at the end against the mean of what
# was published ("values: correct/wrong/missing").
#   bash bench/bench_fleet.sh [--sizes 1000,10000,100000] [--online N] [--online-secs S] [build-dir]
# Knobs: HS_BENCH_TIMEOUT (seconds per step), HS_BENCH_KEEP=1 (keep each
# stack's directory: store, logs).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=1000,10000,100000
ONLINE=100000
ONLINE_S=120
BUILD=build
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift ;;
    --sizes=*) SIZES=${1#--sizes=} ;;
    --online) ONLINE=$2; shift ;;
    --online=*) ONLINE=${1#--online=} ;;
    --online-secs) ONLINE_S=$2; shift ;;
    --online-secs=*) ONLINE_S=${1#--online-secs=} ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) BUILD=$1 ;;
  esac
  shift
done
BIN=$PWD/$BUILD/bin
PY=/usr/bin/python3
STEP_S=${HS_BENCH_TIMEOUT:-900}
T0=1700002800  # a whole hour (UTC)
T1=$((T0 + 3600))
HZ=$(getconf CLK_TCK)
DIR='' SAMPLER=''
trap 'exit 130' INT TERM
trap '[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null; [ -n "$DIR" ] && { "$BIN/hsctl" --data "$DIR" down >/dev/null 2>&1; rm -rf "$DIR"; }' EXIT

stack_up() {
  DIR=$(mktemp -d /tmp/hs-fleet-XXXXXX)
  PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  HSCTL="$BIN/hsctl --data $DIR"
  $HSCTL up --port "$PORT" > "$DIR/up.out" 2>&1 || { cat "$DIR/up.out" >&2; return 1; }
}

stack_down() {
  $HSCTL down >/dev/null 2>&1 || true
  if [ -n "${HS_BENCH_KEEP:-}" ]; then echo "  kept $DIR" >&2; else rm -rf "$DIR"; fi
  DIR=
}

# Publishes the hour of readings of n devices (one QoS 1 batch per device) and
# writes the expected fleet mean of each minute to $DIR/expected.json.
publish() {  # devices
  timeout "$STEP_S" $PY - "$1" "$T0" "$PORT" "$DIR/expected.json" "$PWD/tests/support" <<'PY'
import json, random, sys
n, t0, port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
import mqttbatch
random.seed(14)
sums = [0.0] * 60
with mqttbatch.Client(port, "bench-fleet-load") as c:
    for dev in range(n):
        rs = []
        for k in range(60):
            v = round(15.0 + random.random() * 10.0, 3)
            sums[k] += v
            rs.append(((t0 + 60 * k + 30) * 1000000, v))
        c.publish("hs/raw/temp/g=1/dev=%d" % dev, mqttbatch.batch(rs))
    c.flush()
json.dump({str(t0 + 60 * (k + 1)): sums[k] / n for k in range(60)}, open(out, "w"))
PY
}

committed() { $HSCTL stream ls --json | $PY -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin if json.loads(l)["stream"].startswith("temp/")))'; }

workflow() {  # devices
  $PY tests/support/fleetwf.py "$1" --fahrenheit > "$DIR/wf.yaml"
}

# Samples the scheduler every 0.2 s: the largest VmRSS (kB) and the last CPU ticks, into $DIR/sample.
sampler() {  # pid
  local rss max=0 cpu=
  while [ -r "/proc/$1/status" ]; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null) || break
    [ -n "$rss" ] && [ "$rss" -gt "$max" ] && max=$rss
    cpu=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null) || break
    echo "$max $cpu" > "$DIR/sample.tmp" && mv "$DIR/sample.tmp" "$DIR/sample"
    sleep 0.2
  done
}

# The CPU ticks (utime + stime) of every process of the stack: "name pid ticks" lines.
svc_cpu() {
  local f pid
  for f in "$DIR"/run/*.pid; do
    pid=$(cat "$f")
    [ -r "/proc/$pid/stat" ] && echo "$(basename "$f" .pid) $pid $(awk '{print $14 + $15}' "/proc/$pid/stat")"
  done
}

elapsed() { echo "$(date +%s.%N) - $1" | bc | awk '{printf "%.2f", $1}'; }

# Runs `hsctl compute fleet` over the hour; sets RC and SECS; output in $DIR/$1.out.
compute() {  # label
  local t0
  t0=$(date +%s.%N)
  set +e
  timeout $((STEP_S + 30)) $HSCTL compute fleet --from "$T0" --to "$T1" --wait --yes --timeout "$STEP_S" \
    > "$DIR/$1.out" 2>&1
  RC=$?
  set -e
  [ "$RC" = 124 ] && RC=timeout
  SECS=$(elapsed "$t0")
}

check_aggregate() {
  timeout 120 $HSCTL stream get fleet_temp/g=1 --from "$T0" --to "$T1" > "$DIR/fleet.jsonl" 2>/dev/null || true
  $PY - "$DIR/expected.json" "$DIR/fleet.jsonl" <<'PY'
import datetime, json, sys
want = {int(k): v for k, v in json.load(open(sys.argv[1])).items()}
got = {}
for line in open(sys.argv[2]):
    x = json.loads(line)
    t = datetime.datetime.fromisoformat(x["t"].replace("Z", "+00:00")).timestamp()
    got[int(round(t))] = x["v"]
missing = [t for t in want if t not in got]
wrong = [t for t in want if t in got and abs(got[t] - want[t]) > 1e-9 * max(1.0, abs(want[t]))]
if wrong:
    t = wrong[0]
    print("wrong (%d of %d minutes; e.g. %d: %r, expected %r)" % (len(wrong), len(want), t, got[t], want[t]))
elif missing:
    print("missing (%d of %d minutes)" % (len(missing), len(want)))
else:
    print("correct (%d minutes)" % len(want))
PY
}

echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "one hour of 1-per-minute readings per device; per device: 1-minute mean, then c_to_f; fleet: mean over dev per minute"
RESULTS=$(mktemp /tmp/hs-fleet-results-XXXXXX)
for n in ${SIZES//,/ }; do
  echo "devices $n"
  ingest_s=failed rc=- secs=- planned=- run=- cpu=- rss=- hwm=- again_rc=- again_s=- agg=-
  if stack_up; then
    t0=$(date +%s.%N)
    if publish "$n"; then
      want=$((n * 60)) deadline=$(( $(date +%s) + STEP_S ))
      while [ "$(committed 2>/dev/null || echo 0)" -lt "$want" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
      got=$(committed 2>/dev/null || echo 0)
      if [ "$got" -ge "$want" ]; then ingest_s=$(elapsed "$t0"); else ingest_s="timeout ($got of $want committed)"; fi
    fi
    echo "  ingest: $n x 60 readings in $ingest_s s"
    workflow "$n"
    t0=$(date +%s.%N)
    if timeout "$STEP_S" $HSCTL workflow add "$DIR/wf.yaml" > "$DIR/add.out" 2>&1; then
      echo "  workflow add: $(elapsed "$t0") s"
      spid=$(cat "$DIR/run/scheduler.pid")
      cpu0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
      svc_cpu > "$DIR/svc0"
      sampler "$spid" & SAMPLER=$!
      compute first
      kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
      rc=$RC secs=$SECS
      planned=$(sed -n 's/^request [^:]*: \([0-9]*\) jobs planned.*/\1/p' "$DIR/first.out" | head -1)
      rss=0 cpu1=$cpu0
      [ -r "$DIR/sample" ] && read -r rss cpu1 < "$DIR/sample"
      [ -r "/proc/$spid/stat" ] && cpu1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
      cpu=$(echo "($cpu1 - $cpu0) / $HZ" | bc -l | awk '{printf "%.2f", $1}')
      rss=$((rss / 1024))
      if [ -r "/proc/$spid/status" ]; then
        hwm=$(( $(awk '/^VmHWM:/ {print $2}' "/proc/$spid/status") / 1024 ))
      else
        hwm="(scheduler gone)"
      fi
      run=$(timeout 120 $HSCTL jobs fleet --limit 10000000 --json 2>/dev/null | $PY -c '
import collections, json, sys
c = collections.Counter(json.loads(l).get("outcome", "?") for l in sys.stdin)
print("%d (%s)" % (sum(c.values()), ", ".join("%s %d" % kv for kv in sorted(c.items()))))' || echo "?")
      echo "  cpu seconds during the compute: $(svc_cpu | paste -d' ' "$DIR/svc0" - | awk -v hz="$HZ" '{printf "%s%s %.1f", (NR > 1 ? ", " : ""), $1, ($6 - $3) / hz}')"
      echo "  compute: exit $rc in $secs s; jobs planned ${planned:-?}, run $run; scheduler cpu $cpu s, max rss $rss MB (VmHWM $hwm MB)"
      tail -n 3 "$DIR/first.out" | sed 's/^/    | /'
      compute again
      again_rc=$RC again_s=$SECS
      echo "  again:   exit $again_rc in $again_s s: $(tail -n 1 "$DIR/again.out")"
      agg=$(check_aggregate)
      echo "  aggregate: $agg"
    else
      echo "  workflow add failed: $(tail -n 2 "$DIR/add.out")"
    fi
    stack_down
  else
    echo "  hsctl up failed"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$ingest_s" "$secs" "$rc" "${planned:-?}" "$cpu" "$rss" \
    "$again_s" "$again_rc" "${agg%% *}" "$run" >> "$RESULTS"
done

$PY - "$RESULTS" <<'PY'
import math, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("summary (growth: this size against the previous one, per 10x devices; linear cost = 10x)")
print("  %8s %10s %10s %5s %8s %10s %8s %9s %5s %10s" % ("devices", "ingest s", "compute s", "exit",
      "jobs", "sched cpu", "rss MB", "again s", "exit", "aggregate"))
for r in rows:
    print("  %8s %10s %10s %5s %8s %10s %8s %9s %5s %10s" % (r[0], r[1].split(" ")[0], r[2], r[3], r[4], r[5], r[6],
          r[7], r[8], r[9]))
def num(x):
    try:
        return float(x)
    except ValueError:
        return None
for a, b in zip(rows, rows[1:]):
    scale = float(b[0]) / float(a[0])
    def per10(i):  # the ratio of column i scaled to 10x devices
        if not num(a[i]) or num(b[i]) is None or scale <= 1:
            return "-"
        return "%.1fx" % ((num(b[i]) / num(a[i])) ** (1 / math.log10(scale)))
    print("  %s -> %s devices: compute time %s, scheduler cpu %s, rss %s, asking again %s (per 10x devices; "
          "target <= 12x)" % (a[0], b[0], per10(2), per10(5), per10(6), per10(7)))
PY
rm -f "$RESULTS"

# ---------------------------------------------------------------- online
online_workflow() {  # devices
  $PY tests/support/fleetwf.py "$1" --id live --source live --window 10s --online 10s > "$DIR/live.yaml"
}

# Publishes one reading per device per 10-s period for $2 seconds: device d's at
# period start + 10 s * (d + 0.5) / n, stamped with that time, sent when it is
# due. Writes each period's fleet sum to $DIR/live_expected.json.
online_publish() {  # devices seconds
  $PY - "$1" "$2" "$PORT" "$DIR/live_expected.json" "$PWD/tests/support" <<'PY'
import json, random, sys, time
n, secs, port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
import mqttbatch
random.seed(10)
P = 10_000_000
start = (int(time.time() * 1e6) // P + 1) * P
periods = secs // 10
sums = {}
late = 0
with mqttbatch.Client(port, "bench-fleet-live") as c:
    for k in range(periods):
        p0 = start + k * P
        total = 0.0
        for d in range(n):
            t = p0 + (P * (2 * d + 1)) // (2 * n)
            v = round(random.uniform(10, 30), 3)
            total += v
            if d % 500 == 0:
                c.flush()
                wait = t / 1e6 - time.time()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -1:
                    late += 1
            c.publish("hs/raw/live/g=1/dev=%d" % d, mqttbatch.batch([(t, v)]))
        sums[str(p0 + P)] = total / n
    c.flush()
json.dump({"start": start, "means": sums, "behind": late}, open(out, "w"))
PY
}

online_report() {  # seconds
  $PY - "$DIR/live_sub.txt" "$DIR/live_expected.json" "$DIR/live_fleet.jsonl" <<'PY'
import datetime, json, sys
exp = json.load(open(sys.argv[2]))
start, means = exp["start"], {int(k): v for k, v in exp["means"].items()}
last = max(means)
delays = {"fleet": [], "devices": []}
seen = set()
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 3:
        continue
    arrival, topic, payload = float(parts[0]), parts[1], bytes.fromhex(parts[2])
    # msgpack [[t_us, v], ...]: the writer sends int64 times (0xd3) or smaller ints.
    import struct
    def items(b):
        i = 0
        tag = b[i]
        if 0x90 <= tag <= 0x9f: n, i = tag & 0x0f, 1
        elif tag == 0xdc: n, i = struct.unpack(">H", b[1:3])[0], 3
        else: n, i = struct.unpack(">I", b[1:5])[0], 5
        for _ in range(n):
            i += 1  # fixarray 2
            tag = b[i]
            if tag == 0xd3: t = struct.unpack(">q", b[i+1:i+9])[0]; i += 9
            elif tag == 0xcf: t = struct.unpack(">Q", b[i+1:i+9])[0]; i += 9
            elif tag == 0xce: t = struct.unpack(">I", b[i+1:i+5])[0]; i += 5
            else: raise ValueError("time tag %x" % tag)
            tag = b[i]
            if tag == 0xcb: i += 9
            elif tag == 0xca: i += 5
            elif tag <= 0x7f or tag >= 0xe0: i += 1
            elif tag in (0xd0, 0xcc): i += 2
            elif tag in (0xd1, 0xcd): i += 3
            elif tag in (0xd2, 0xce): i += 5
            elif tag in (0xd3, 0xcf): i += 9
            else: raise ValueError("value tag %x" % tag)
            yield t
    for t in items(payload):
        if t <= start + 10_000_000 or t > last or (topic, t) in seen:
            continue  # the first window may miss readings from before the run
        seen.add((topic, t))
        delays["fleet" if "fleet_live" in topic else "devices"].append((t, arrival - t / 1e6))
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")
mid = start + (last - start) // 2
for what, ds in delays.items():
    for name, part in (("first half", [d for t, d in ds if t <= mid]), ("second half", [d for t, d in ds if t > mid])):
        print("  delay %-8s %-11s: %4d results, p50 %.2f s, p99 %.2f s, max %.2f s" %
              (what, name, len(part), pct(part, 0.5), pct(part, 0.99), max(part) if part else float("nan")))
got = {}
for line in open(sys.argv[3]):
    x = json.loads(line)
    t = datetime.datetime.fromisoformat(x["t"].replace("Z", "+00:00")).timestamp()
    got[int(round(t * 1e6))] = x["v"]
want = {t: v for t, v in means.items() if t > start + 10_000_000}
wrong = [t for t in want if t in got and abs(got[t] - want[t]) > 1e-9 * abs(want[t])]
missing = [t for t in want if t not in got]
print("  values: %s" % ("wrong (%d of %d windows)" % (len(wrong), len(want)) if wrong else
                        "missing (%d of %d windows)" % (len(missing), len(want)) if missing else
                        "correct (%d windows of the fleet mean)" % len(want)))
if exp["behind"]:
    print("  (the publisher fell more than 1 s behind %d times)" % exp["behind"])
PY
}

if [ "${ONLINE:-0}" -gt 0 ]; then
  echo "online: $ONLINE devices, one reading per device per 10 s, workflow every 10 s, for $ONLINE_S s"
  if stack_up; then
    online_workflow "$ONLINE"
    t0=$(date +%s.%N)
    timeout "$STEP_S" $HSCTL workflow add "$DIR/live.yaml" > "$DIR/add.out" 2>&1 || echo "  workflow add failed: $(tail -n 2 "$DIR/add.out")"
    echo "  workflow add: $(elapsed "$t0") s"
    spid=$(cat "$DIR/run/scheduler.pid")
    topics=(-t 'hs/s/fleet_live/g=1')
    for d in $(seq 0 $((ONLINE / 100)) $((ONLINE - 1)) | head -100); do topics+=(-t "hs/s/live_10s/dev=$d/g=1"); done
    mosquitto_sub -p "$PORT" -q 1 -F '%U %t %x' "${topics[@]}" > "$DIR/live_sub.txt" 2> "$DIR/live_sub.err" &
    SUB=$!
    svc_cpu > "$DIR/svc0"
    rm -f "$DIR/sample"
    sampler "$spid" & SAMPLER=$!
    online_publish "$ONLINE" "$ONLINE_S" || echo "  the publisher failed"
    sleep 25  # the last windows' results
    kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
    echo "  cpu seconds over the run: $(svc_cpu | paste -d' ' "$DIR/svc0" - | awk -v hz="$HZ" '{printf "%s%s %.1f", (NR > 1 ? ", " : ""), $1, ($6 - $3) / hz}')"
    rss=0; [ -r "$DIR/sample" ] && read -r rss _ < "$DIR/sample"
    echo "  scheduler max rss $((rss / 1024)) MB"
    kill "$SUB" 2>/dev/null || true; wait "$SUB" 2>/dev/null || true
    timeout 120 $HSCTL stream get fleet_live/g=1 > "$DIR/live_fleet.jsonl" 2>/dev/null || true
    online_report "$ONLINE_S"
    stack_down
  else
    echo "  hsctl up failed"
  fi
fi
