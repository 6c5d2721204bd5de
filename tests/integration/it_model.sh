#!/usr/bin/env bash
# HyperStream's model on a real stack (issue 15, docs/MODEL.md): every
# expected value is computed in Python from the raw data read back from the
# store.
#  1. Off-plate aggregation (HyperStream's test_off_plate_aggregator): RSS
#     readings on H1.L.W (house, location, wearable), irregular timestamps,
#     some wearables never seen in some locations; mean over location onto
#     H1.W and mean over wearable onto H1.L.
#  2. index_of over house: from H.W onto W (keys: wearable), house 2's
#     streams copied exactly.
#  3. Overlapping plates (test_new_api_overlapping_plates): product of x on T
#     and y on V on plates [T, V], |T| x |V| streams, then a sum over v back
#     onto T.
#  4. A meta: tree where sites have different devices: computed streams exist
#     for the tree's (site, device) pairs only, though raw data exists for a
#     pair the tree lacks.
#  5. `hsctl workflow check` reports two plate incompatibilities, each with
#     file and line, and fails.
. "$(dirname "$0")/lib.sh"

# 5 first: the check reads the file only.
CHK_DIR=$(mktemp -d /tmp/hs-it-chk-XXXXXX)
cat > "$CHK_DIR/bad_plates.yaml" <<'YAML'
id: bad_plates
plates:
  H: {meta: house, values: ["1"]}
  T: {meta: t, values: ["1"]}
  V: {meta: v, values: [a]}
  W: {meta: wearable, values: [A]}
inputs:
  y: {plates: [V]}
  rss: {plates: [W]}
factors:
  - {tool: apply, params: {func: neg}, sources: [y], sink: z, plates: [T]}
  - {tool: apply, params: {func: neg}, sources: [y], sink: yy, plates: [V]}
  - {tool: aggregate, params: {func: mean}, over: location, sources: [rss], sink: a, plates: [H]}
YAML
rc=0
"$HS_BIN/hsctl" workflow check "$CHK_DIR/bad_plates.yaml" > "$CHK_DIR/check.out" 2>&1 || rc=$?
$PY - "$CHK_DIR/bad_plates.yaml" "$CHK_DIR/check.out" "$rc" <<'PY' || { cat "$CHK_DIR/check.out" >&2; rm -rf "$CHK_DIR"; it_fail "workflow check does not report both incompatibilities"; }
import sys
path, out, rc = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
lines = open(path).read().split("\n")
# The bad factors' lines, found in the file: the copy-like one reading y on V for T, and the
# aggregate whose source has no location key. The factor between them is fine.
bad = [i + 1 for i, l in enumerate(lines) if "sink: z," in l or "sink: a," in l]
good = [i + 1 for i, l in enumerate(lines) if "sink: yy," in l]
assert rc != 0, f"exit {rc}"
name = path.rsplit("/", 1)[1]
for n in bad:
    assert f"{name}:{n}:" in out, (n, out)
for n in good:
    assert f"{name}:{n}:" not in out, (n, out)
assert "plate" in out
print("ok")
PY
rm -rf "$CHK_DIR"
it_log "workflow check: both incompatibilities with file and line, exit $rc"

it_setup
T0=1700006400 # a whole hour: the data lies in (T0, T0 + 600]
mkdir "$IT_DIR/pub"
$PY - "$IT_DIR" "$T0" <<'PY'
import json, random, sys
d, t0 = sys.argv[1], int(sys.argv[2])
random.seed(15)
streams = {}  # stream id -> [(t, v)]
def irregular(p, gen):
    return [(t0 + i, gen()) for i in range(1, 601) if random.random() < p]
# 1. RSS on H1.L.W: lounge never sees wearable C, hallway never sees A.
locs, wears = ["kitchen", "hallway", "lounge"], ["A", "B", "C"]
absent = {("lounge", "C"), ("hallway", "A")}
for l in locs:
    for w in wears:
        if (l, w) not in absent:
            streams[f"rss/house=1/location={l}/wearable={w}"] = irregular(
                0.5, lambda: round(random.gauss(-65, 8), 2))
# 2. RSS per house and wearable, for index_of.
for h in ["1", "2", "3"]:
    for w in ["A", "B"]:
        streams[f"rssh/house={h}/wearable={w}"] = irregular(0.4, lambda: round(random.gauss(-70, 5), 2))
# 3. x on T and y on V at the same (irregular) timestamps, as product needs.
ts = [t0 + i for i in range(1, 601) if random.random() < 0.3]
for t in ["1", "2"]:
    streams[f"x/t={t}"] = [(u, random.randint(-20, 20)) for u in ts]
for v in ["a", "b", "c"]:
    streams[f"y/v={v}"] = [(u, round(random.uniform(-3, 3), 3)) for u in ts]
# 4. Power per (site, device); device=3/site=a is raw data the tree does not list.
for sd in ["device=1/site=a", "device=2/site=a", "device=3/site=b", "device=3/site=a"]:
    streams[f"power/{sd}"] = irregular(0.5, lambda: round(random.uniform(0, 500), 1))
# One file per stream, a message of at most 100 instances a line; the stream id is the file's
# name with '/' as '+' (not allowed in ids).
for sid, vals in streams.items():
    with open(f"{d}/pub/{sid.replace('/', '+')}", "w") as f:
        for k in range(0, len(vals), 100):
            f.write(json.dumps([{"t": t, "v": v} for t, v in vals[k:k + 100]]) + "\n")
json.dump({sid: len(v) for sid, v in streams.items()}, open(f"{d}/counts.json", "w"))
PY
for f in "$IT_DIR"/pub/*; do
  b=$(basename "$f")
  mosquitto_pub -p "$IT_PORT" -q 1 -t "hs/raw/${b//+//}" -l < "$f"
done
it_log "published"

# Every raw stream stored with all its instances: prints ok, else what differs.
raw_counts_ok() {
  $HSCTL stream ls --json | $PY -c '
import json, sys
want = json.load(open(sys.argv[1]))
got = {}
for line in sys.stdin:
    s = json.loads(line)
    got[s["stream"]] = s["count"]
diff = {k: (got.get(k, 0), n) for k, n in want.items() if got.get(k, 0) != n}
print("ok" if not diff else diff)' "$IT_DIR/counts.json"
}
it_wait_eq ok 60 raw_counts_ok
it_log "raw data stored: $($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d), "streams,", sum(d.values()), "instances")' "$IT_DIR/counts.json")"

cat > "$IT_DIR/offplate.yaml" <<'YAML'
id: offplate
job_span: 1h
plates:
  H1:     {meta: house, values: ["1"]}
  H1.L:   {meta: location, parent: H1, values: [kitchen, hallway, lounge]}
  H1.L.W: {meta: wearable, parent: H1.L, values: [A, B, C]}
  H1.W:   {meta: wearable, parent: H1, values: [A, B, C]}
inputs:
  rss: {plates: [H1.L.W]}
factors:
  - tool: aggregate
    params: {func: mean}
    over: location
    sources: [rss]
    sink: rss_loc_avg
    plates: [H1.W]
  - tool: aggregate
    params: {func: mean}
    over: wearable
    sources: [rss]
    sink: rss_dev_avg
    plates: [H1.L]
YAML
cat > "$IT_DIR/select.yaml" <<'YAML'
id: select
job_span: 1h
plates:
  H:   {meta: house, values: ["1", "2", "3"]}
  H.W: {meta: wearable, parent: H, values: [A, B]}
  W:   {meta: wearable, values: [A, B]}
inputs:
  rssh: {plates: [H.W]}
factors:
  - tool: index_of
    params: {index: "2"}
    over: house
    sources: [rssh]
    sink: rss_h2
    plates: [W]
YAML
cat > "$IT_DIR/overlap.yaml" <<'YAML'
id: overlap
job_span: 1h
plates:
  T: {meta: t, values: ["1", "2"]}
  V: {meta: v, values: [a, b, c]}
inputs:
  x: {plates: [T]}
  y: {plates: [V]}
factors:
  - tool: product
    sources: [x, y]
    sink: xy
    plates: [T, V]
  - tool: aggregate
    params: {func: sum}
    over: v
    sources: [xy]
    sink: xy_by_t
    plates: [T]
YAML
cat > "$IT_DIR/fleet.yaml" <<'YAML'
id: fleet
job_span: 1h
meta:
  site=a: {device: ["1", "2"]}
  site=b: {device: ["3"]}
plates:
  S:   {meta: site}
  S.D: {meta: device, parent: S}
inputs:
  power: {plates: [S.D]}
factors:
  - tool: apply
    params: {func: neg}
    sources: [power]
    sink: power_neg
    plates: [S.D]
  - tool: aggregate
    params: {func: sum}
    over: device
    sources: [power]
    sink: site_power
    plates: [S]
YAML
FAILED=""
for wf in offplate select overlap fleet; do
  if ! $HSCTL workflow add "$IT_DIR/$wf.yaml" > "$IT_DIR/add_$wf.out" 2>&1; then
    cat "$IT_DIR/add_$wf.out" >&2; FAILED="$FAILED $wf(add)"; continue
  fi
  if ! $HSCTL compute "$wf" --from "$T0" --to "$((T0 + 600))" --wait --timeout 60 > "$IT_DIR/compute_$wf.out" 2>&1; then
    tail -n 5 "$IT_DIR/compute_$wf.out" >&2
    $HSCTL jobs "$wf" --limit 100 --json 2>/dev/null | grep '"outcome":"error"' | head -3 >&2 || true
    FAILED="$FAILED $wf(compute)"; continue
  fi
  it_log "$wf: $(tail -n 1 "$IT_DIR/compute_$wf.out")"
  $HSCTL jobs "$wf" --limit 1000 --json > "$IT_DIR/jobs_$wf.jsonl"
  if grep -q '"outcome":"error"' "$IT_DIR/jobs_$wf.jsonl"; then
    grep '"outcome":"error"' "$IT_DIR/jobs_$wf.jsonl" | head -3 >&2; FAILED="$FAILED $wf(job)"
  fi
done

# Every stream's instances (JSON lines), raw and computed, read back into one file.
it_read_streams

# The checks, each independent of the others: every failing one is named.
$PY - "$IT_DIR" "$T0" <<'PY' > "$IT_DIR/checks.out" 2>&1 || true
import datetime, json, math, statistics, sys, traceback
d, t0 = sys.argv[1], int(sys.argv[2])
data, kinds = {}, {}
for line in open(f"{d}/all.jsonl"):
    r = json.loads(line)
    t = datetime.datetime.fromisoformat(r["t"].replace("Z", "+00:00")).timestamp()
    data.setdefault(r["s"], []).append((t, r["v"]))
for line in open(f"{d}/streams.jsonl"):
    s = json.loads(line)
    kinds[s["stream"]] = s
published = json.load(open(f"{d}/counts.json"))
def in_iv(vals):
    return [(t, v) for t, v in vals if t0 < t <= t0 + 600]
def pairs(sid):
    name, *ps = sid.split("/")
    return name, dict(p.split("=", 1) for p in ps)
def streams_of(name):
    return {s: pairs(s)[1] for s in kinds if pairs(s)[0] == name}
def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
def same_series(sid, exp):
    got = in_iv(data.get(sid, []))
    assert [t for t, _ in got] == sorted(exp), (sid, "timestamps", len(got), len(exp))
    for t, v in got:
        assert close(v, exp[t]), (sid, t, v, exp[t])
def reduce_over(src_name, sink_name, over, func):
    """sink stream for each group of source streams that agree on every key but `over`."""
    groups = {}
    for sid, ps in streams_of(src_name).items():
        key = tuple(sorted((k, v) for k, v in ps.items() if k != over))
        groups.setdefault(key, []).append(sid)
    sinks = {}
    for key, sids in groups.items():
        by_t = {}
        for sid in sids:
            for t, v in in_iv(data.get(sid, [])):
                by_t.setdefault(t, []).append(v)
        sinks["/".join([sink_name] + [f"{k}={v}" for k, v in key])] = {t: func(vs) for t, vs in by_t.items()}
    return sinks

def check_offplate():
    # The raw data as stored is what was published.
    for sid, n in published.items():
        assert len(data.get(sid, [])) == n, (sid, len(data.get(sid, [])), n)
    for over, sink, expect_n in [("location", "rss_loc_avg", 3), ("wearable", "rss_dev_avg", 3)]:
        exp = reduce_over("rss", sink, over, statistics.fmean)
        assert len(exp) == expect_n, exp.keys()
        have = {s for s in streams_of(sink) if data.get(s)}
        assert have == set(exp), (sink, sorted(have), sorted(exp))
        for sid, e in exp.items():
            same_series(sid, e)
    return "means over location (H1.L.W -> H1.W) and over wearable (-> H1.L) right, 6 streams"

def check_select():
    sinks = streams_of("rss_h2")
    assert set(sinks) == {"rss_h2/wearable=A", "rss_h2/wearable=B"}, sorted(sinks)
    for w in "AB":
        src = in_iv(data[f"rssh/house=2/wearable={w}"])
        assert src and in_iv(data.get(f"rss_h2/wearable={w}", [])) == src, w
        assert src != in_iv(data[f"rssh/house=1/wearable={w}"])
    return "index_of house=2 onto W equals house 2's streams exactly"

def check_overlap():
    exp = {}
    for tv in "12":
        x = dict(in_iv(data[f"x/t={tv}"]))
        for vv in "abc":
            y = dict(in_iv(data[f"y/v={vv}"]))
            assert set(x) == set(y)
            exp[f"xy/t={tv}/v={vv}"] = {t: x[t] * y[t] for t in x}
    have = set(streams_of("xy"))
    assert have == set(exp), (sorted(have), sorted(exp))
    for sid, e in exp.items():
        same_series(sid, e)
    agg = reduce_over("xy", "xy_by_t", "v", math.fsum)
    assert set(agg) == {"xy_by_t/t=1", "xy_by_t/t=2"}, agg.keys()
    assert set(streams_of("xy_by_t")) == set(agg), sorted(streams_of("xy_by_t"))
    for sid, e in agg.items():
        same_series(sid, e)
    return "product on [T, V]: 6 streams right; sum over v onto T right"

def check_fleet():
    tree = {("a", "1"), ("a", "2"), ("b", "3")}
    got = {(p["site"], p["device"]) for p in streams_of("power_neg").values()}
    assert got == tree, ("power_neg", "streams", sorted(got))
    # No computed stream of any name for a pair outside the tree (device=3/site=a is raw only).
    for sid, s in kinds.items():
        ps = pairs(sid)[1]
        if s["kind"] != "raw" and "site" in ps and "device" in ps:
            assert (ps["site"], ps["device"]) in tree, ("phantom", sid)
    for sd in tree:
        sid = f"device={sd[1]}/site={sd[0]}"
        same_series(f"power_neg/{sid}", {t: -v for t, v in in_iv(data[f"power/{sid}"])})
    sites = set(p["site"] for p in streams_of("site_power").values())
    assert sites == {"a", "b"}, sorted(sites)
    for s in "ab":
        by_t = {}
        for site, dev in sorted(tree):
            if site == s:
                for t, v in in_iv(data[f"power/device={dev}/site={site}"]):
                    by_t.setdefault(t, []).append(v)
        same_series(f"site_power/site={s}", {t: math.fsum(vs) for t, vs in by_t.items()})
    return "power_neg exactly on the tree's 3 (site, device) pairs, values right; site sums exclude device=3/site=a"

bad = 0
for name, f in [("offplate", check_offplate), ("select", check_select),
                ("overlap", check_overlap), ("fleet", check_fleet)]:
    try:
        print(f"ok {name}: {f()}")
    except Exception:
        bad += 1
        print(f"FAILED {name}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
sys.exit(1 if bad else 0)
PY
cat "$IT_DIR/checks.out" >&2
grep -q '^FAILED' "$IT_DIR/checks.out" && FAILED="$FAILED $(grep '^FAILED' "$IT_DIR/checks.out" | cut -d: -f1 | cut -d' ' -f2 | tr '\n' ' ')"
[ "$(grep -c '^ok ' "$IT_DIR/checks.out")" = 4 ] || [ -n "$FAILED" ] || it_fail "the checks did not run: $(cat "$IT_DIR/checks.out")"
it_all_alive
[ -z "$FAILED" ] || it_fail "failed:$FAILED"
it_log "ok"
