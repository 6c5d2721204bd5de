#!/usr/bin/env bash
# A splitting stream per plate value, as in HyperStream's tutorial 5: each
# country's monthly maximum temperatures (the Temp*.csv tables of the
# reference data) are split onto its cities by splitter_from_stream, whose
# splitting stream lives on the country plate: the unit of country=NZ reads
# cities/country=NZ, the list of cities NZ keeps. Then a yearly mean per city
# (12-hour windows over months laid one hour apart). Every city's means are
# checked against Python's, and no city holds data under a country that does
# not list it, although the city is a value of the city plate and its
# temperatures are in the country's data.
. "$(dirname "$0")/lib.sh"
REF=${HS_REFERENCE:-/work/shared/reference/hyperstream-tests}
[ -f "$REF/TempNZ.csv" ] || it_fail "no reference data in $REF (set HS_REFERENCE)"
it_setup
T0=1700006400 # a whole day: month i (1, 2, ...) of each table is at T0 + i hours
$PY - "$IT_DIR" "$T0" "$REF" <<'PY'
import csv, json, sys
d, t0, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Each country keeps its own list: some of its cities, never all of them.
lists = {"NZ": ["Auckland", "Wellington", "Dunedin"],
         "USA": ["NY", "Chicago", "Seattle", "LosAngeles"],
         "Australia": ["Sydney", "Melbourne"]}
data, cities = {}, []
for c in lists:
    rows = list(csv.DictReader(open(f"{ref}/Temp{c}.csv")))
    # Columns are <City>Max / <City>Min (Melbournemax: any case).
    names = [k[:-3] for k in rows[0] if k.lower().endswith("max")]
    cities += [n for n in names if n not in cities]
    vals = [(t0 + 3600 * (i + 1), {n: float(r[n + ("Max" if n + "Max" in r else "max")])
                                   for n in names}) for i, r in enumerate(rows)]
    data[c] = vals
    with open(f"{d}/temp_{c}.txt", "w") as f:
        for k in range(0, len(vals), 50):
            f.write(json.dumps([{"t": t, "v": v} for t, v in vals[k:k + 50]]) + "\n")
    with open(f"{d}/cities_{c}.txt", "w") as f:
        f.write(json.dumps([{"t": t0 + 1, "v": lists[c]}]) + "\n")
json.dump({"lists": lists, "data": data, "cities": cities}, open(f"{d}/data.json", "w"))
PY
CITIES=$($PY -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))["cities"]))' "$IT_DIR/data.json")
for c in NZ USA Australia; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/cities/country=$c" -l < "$IT_DIR/cities_$c.txt"
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/temp/country=$c" -l < "$IT_DIR/temp_$c.txt"
done
for c in NZ USA Australia; do
  it_wait_eq 1 30 it_count "cities/country=$c"
  it_wait_eq 154 30 it_count "temp/country=$c"
done

cat > "$IT_DIR/wf.yaml" <<YAML
id: tutorial5
job_span: 1d
plates:
  C:   {meta: country, values: [NZ, USA, Australia]}
  C.Y: {meta: city, parent: C, values: [$CITIES]}
inputs:
  temp:   {plates: [C]}
  cities: {plates: [C]}
factors:
  - tool: splitter_from_stream
    sources: [temp]
    splitting: cities
    sink: city_temp
    plates: [C.Y]
  - tool: sliding_window
    params: {first: $(it_iso "$T0"), width: 12h}
    sink: years
  - tool: sliding_apply
    params: {func: mean}
    sources: [years, city_temp]
    sink: yearly_max
    plates: [C.Y]
YAML
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
$HSCTL compute tutorial5 --from "$T0" --to "$((T0 + 156 * 3600))" --wait > "$IT_DIR/compute.out" 2>&1 || {
  cat "$IT_DIR/compute.out" >&2; it_fail "the compute failed"; }
it_log "$(tail -n 1 "$IT_DIR/compute.out")"
$HSCTL jobs tutorial5 --limit 1000 --json > "$IT_DIR/history.jsonl"
grep -q '"outcome":"error"' "$IT_DIR/history.jsonl" && it_fail "a job failed: $(grep '"outcome":"error"' "$IT_DIR/history.jsonl" | head -1)"
$HSCTL stream ls --json > "$IT_DIR/streams.jsonl"
for c in NZ USA Australia; do
  for y in $($PY -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["lists"][sys.argv[2]]))' "$IT_DIR/data.json" "$c"); do
    $HSCTL stream get "yearly_max/country=$c/city=$y" --format csv > "$IT_DIR/y_${c}_$y.csv"
  done
done
$PY - "$IT_DIR" "$T0" <<'PY' || it_fail "per-city results differ from the independent computation"
import csv, datetime, json, statistics, sys
d, t0 = sys.argv[1], int(sys.argv[2])
src = json.load(open(f"{d}/data.json"))
# Instances per stream, keyed by node and its pairs in any order.
count = {}
for line in open(f"{d}/streams.jsonl"):
    s = json.loads(line)
    node, *pairs = s["stream"].split("/")
    count[(node, frozenset(pairs))] = s["count"]
checked = 0
for c, vals in src["data"].items():
    for y in src["cities"]:
        listed = y in src["lists"][c]
        key = frozenset([f"country={c}", f"city={y}"])
        # The city plate is every city under every country (a cross product): a city the
        # country does not list may be registered as computed, but holds nothing.
        n = count.get(("city_temp", key), 0)
        assert n == (len(vals) if listed else 0), (c, y, n, listed)
        assert (count.get(("yearly_max", key), 0) > 0) == listed, (c, y, listed)
        if not listed:
            continue
        # Window k covers (t0 + 12h(k-1), t0 + 12h k]: months 12(k-1)+1 .. 12k.
        exp = {}
        for k in range(1, 14):
            lo, up = t0 + 43200 * (k - 1), t0 + 43200 * k
            xs = [v[y] for t, v in vals if lo < t <= up]
            if xs:
                exp[up] = statistics.fmean(xs)
        got = {}
        for row in list(csv.reader(open(f"{d}/y_{c}_{y}.csv")))[1:]:
            t = datetime.datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp()
            got[int(t)] = float(row[1])
        assert set(got) == set(exp), (c, y, sorted(got), sorted(exp))
        for t in exp:
            assert abs(got[t] - exp[t]) < 1e-9, (c, y, t, got[t], exp[t])
        checked += 1
assert checked == sum(len(l) for l in src["lists"].values()), checked
print(f"ok: {checked} cities")
PY
it_log "each country's data is split by its own list of cities; yearly means match"
it_all_alive
it_log "ok"
