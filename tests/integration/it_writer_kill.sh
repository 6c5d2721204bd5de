#!/usr/bin/env bash
# Writer crash: the writer is killed with SIGKILL in the middle of a
# 1,000,000-instance publish and restarted; every instance the broker
# acknowledged to the publisher is stored exactly once (no loss, no
# duplicate: the store holds exactly the published set).
. "$(dirname "$0")/lib.sh"
it_setup
SID=load/run=kill
N=${IT_N:-1000000}
PER=250
$PY - "$IT_DIR" "$N" "$PER" <<'PY'
import sys
d, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = 1700000000 * 1000000
lines = []
for b in range(0, n, per):
    items = ['{"t":%d.%06d,"v":%d}' % ((base + i * 1000) // 1000000, (base + i * 1000) % 1000000, i)
             for i in range(b, min(b + per, n))]
    lines.append("[" + ",".join(items) + "]")
for c in range(0, len(lines), 1000):
    with open(f"{d}/pub{c // 1000:03d}.txt", "w") as f:
        f.write("\n".join(lines[c:c + 1000]) + "\n")
PY
files=("$IT_DIR"/pub*.txt)
half=$(( ${#files[@]} / 2 ))
i=0
for f in "${files[@]}"; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/$SID" -l < "$f"
  i=$((i + 1))
  if [ $i -eq $half ]; then
    wpid=$(it_pid writer)
    kill -9 "$wpid"
    it_log "killed the writer (pid $wpid) after $((i * 1000 * PER)) instances were published"
    sleep 1
    it_restart writer
    it_log "writer restarted (pid $(it_pid writer))"
  fi
done
it_wait_eq "$N" 180 it_count "$SID"
# Exactly the published set: every value 0..N-1 once, at its own timestamp.
$HSCTL stream get "$SID" --format csv | $PY -c '
import sys
n = int(sys.argv[1])
next(sys.stdin)
seen = [int(l.split(",")[1]) for l in sys.stdin]
assert len(seen) == n, len(seen)
assert seen == list(range(n)), "values out of order or duplicated"
' "$N" || it_fail "the stored stream is not exactly the published instances"
it_all_alive
it_log "ok: $N instances stored exactly once across a writer SIGKILL"
