#!/usr/bin/env bash
# A plate whose values come from data, and an aggregate over it, in ONE
# compute: asset_plate_generator creates the rooms of each house (H.R) from
# the last value of rooms/house=<h>, and an aggregate (mean over room) of
# the raw temperatures onto H. The aggregate must wait for the plate values
# of its house to be committed; it used to run first with no source and fail
# ("aggregate needs at least one source"), right only on a second compute.
. "$(dirname "$0")/lib.sh"
it_setup
T0=1700002800 # a whole hour: one job per unit with job_span 1h
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(7)
rooms = {"1": ["kitchen", "lounge"], "2": ["kitchen", "bath", "attic"]}
data = {}
for h, rs in rooms.items():
    with open(f"{d}/rooms_{h}.txt", "w") as f:
        f.write(json.dumps([{"t": t0 + 1, "v": {r: {} for r in rs}}]) + "\n")
    for r in rs:
        vals = [(t0 + i, round(15 + int(h) + random.gauss(0, 2), 3)) for i in range(1, 601)]
        data[f"{h}/{r}"] = vals
        with open(f"{d}/temp_{h}_{r}.txt", "w") as f:
            f.write(json.dumps([{"t": t, "v": v} for t, v in vals]) + "\n")
json.dump({"rooms": rooms, "data": data}, open(f"{d}/data.json", "w"))
PY
for h in 1 2; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/rooms/house=$h" -l < "$IT_DIR/rooms_$h.txt"
done
for f in "$IT_DIR"/temp_*.txt; do
  b=$(basename "$f" .txt); h=${b#temp_}; r=${h#*_}; h=${h%%_*}
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temperature/house=$h/room=$r" -l < "$f"
done
it_wait_eq 1 30 it_count "rooms/house=1"
it_wait_eq 1 30 it_count "rooms/house=2"
for k in 1/kitchen 1/lounge 2/kitchen 2/bath 2/attic; do
  it_wait_eq 600 30 it_count "temperature/house=${k%/*}/room=${k#*/}"
done

cat > "$IT_DIR/wf.yaml" <<YAML
id: dynrooms
job_span: 1h
plates:
  H:   {meta: house, values: ["1", "2"]}
  H.R: {meta: room, parent: H}
factors:
  - tool: asset_plate_generator
    sources: [rooms]
    output_plate: H.R
  - tool: aggregate
    params: {func: mean}
    over: room
    sources: [temperature]
    sink: house_temp
    plates: [H]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
# ONE compute.
$HSCTL compute dynrooms --from "$T0" --to "$((T0 + 600))" --wait > "$IT_DIR/compute.out" 2>&1 || {
  cat "$IT_DIR/compute.out" >&2; it_fail "the compute failed"; }
it_log "$(tail -n 1 "$IT_DIR/compute.out")"
$HSCTL jobs dynrooms --limit 1000 --json > "$IT_DIR/history.jsonl"
grep -q '"outcome":"error"' "$IT_DIR/history.jsonl" && it_fail "a job failed: $(grep '"outcome":"error"' "$IT_DIR/history.jsonl" | head -1)"
for h in 1 2; do $HSCTL stream get "house_temp/house=$h" --format csv > "$IT_DIR/house_$h.csv"; done
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "house means differ from the independent computation"
import csv, datetime, json, statistics, sys
d, t0 = sys.argv[1], int(sys.argv[2])
src = json.load(open(f"{d}/data.json"))
for h, rs in src["rooms"].items():
    by_t = {}
    for r in rs:
        for t, v in src["data"][f"{h}/{r}"]:
            by_t.setdefault(t, []).append(v)
    exp = {t: statistics.fmean(vs) for t, vs in by_t.items() if t0 < t <= t0 + 600}
    got = {}
    for row in list(csv.reader(open(f"{d}/house_{h}.csv")))[1:]:
        t = datetime.datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp()
        got[int(t)] = float(row[1])
    assert set(got) == set(exp), (h, len(got), len(exp))
    for t in exp:
        assert abs(got[t] - exp[t]) < 1e-9, (h, t, got[t], exp[t])
print("ok")
PY
it_log "house means over the rooms created from data are right after one compute"
it_all_alive
it_log "ok"
