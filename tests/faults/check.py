#!/usr/bin/python3
"""Checks of the fault suite: the store against an independent expectation.

  check.py readings --data DIR --acked FILE --stream NAME --streams K [--kills FILE]
      Every reading the publisher (mqttpub.py) got a PUBACK for must be
      stored exactly once with its value. Readings missing from the store
      are attributed to a kill of ingest or of the broker when the broker
      acknowledged them within --window seconds of that kill; the scenario
      decides which of these are documented windows.
  check.py backfill --data DIR --expect FILE.json --from A --to B
      The sinks of the workflow of f_kill_backfill.sh equal the values
      computed here from the raw data, and each sink is calculated over
      exactly (A, B].
  check.py values --db FILE
      Every derived instance of the store equals a recomputation done here
      from the raw data of the same store, over exactly the calculated
      intervals of each derived stream (missing: lost; stored but not
      expected, also outside every calculated or reopened interval: dup;
      another value, floats within 1e-9 relative: wrong); reopened
      intervals are left out and counted (reopened).
  check.py history --db FILE [--before EPOCH]
      Job history records marked "recompute": true, in all and committed
      before EPOCH, and the records per trigger.

Output: "CHK_<name>=<value>" lines (read by the shell scripts), and a
human-readable line on stderr.
"""
import argparse
import bisect
import calendar
import datetime
import json
import math
import os
import re
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import hs_blocks  # noqa: E402  (the tests' own reader of the store's blocks)


def t_us(iso):
    """ISO-8601 with Z (as hsctl prints it) to integer microseconds."""
    s = iso.rstrip("Z")
    base, _, frac = s.partition(".")
    sec = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return sec * 1000000 + int((frac + "000000")[:6])


def hsctl(a, *args):
    """The output of an hsctl command; "" when it fails (e.g. no such stream)."""
    r = subprocess.run([a.hsctl, "--data", a.data] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        print("hsctl %s: %s" % (" ".join(args), r.stderr.strip()), file=sys.stderr)
        return ""
    return r.stdout


def stream_rows(a, sid):
    """[(t_us, value text)] of a stream, in store order ([] when it does not exist)."""
    out = hsctl(a, "stream", "get", sid, "--format", "csv").splitlines()
    rows = []
    for line in out[1:]:
        t, _, v = line.partition(",")
        rows.append((t_us(t), v))
    return rows


def iso(t_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_s))


def emit(**kv):
    for k, v in kv.items():
        print("CHK_%s=%s" % (k, v))


def readings(a):
    expect = {}  # (stream, t) -> (i, ack wall time, wall time its connection was made)
    for line in open(a.acked):
        f = line.split()
        i, k, t, ack = f[:4]
        conn = float(f[4]) if len(f) > 4 else float(ack)
        expect[(int(k), int(t))] = (int(i), float(ack), conn)
    kills = []
    if a.kills:
        for line in open(a.kills):
            w, name = line.split()
            kills.append((float(w), name))
    stored = {}
    dup = wrong = 0
    for k in range(a.streams):
        for t, v in stream_rows(a, "%s/dev=%d" % (a.stream, a.dev_offset + k)):
            if (k, t) in stored:
                dup += 1
                continue
            stored[(k, t)] = v
            e = expect.get((k, t))
            if e is None or v != str(e[0]):
                wrong += 1
    lost = {"ingest": 0, "broker": 0, "broker_after": 0, "other": 0}
    lost_at = []
    for key, (i, ack, conn) in expect.items():
        if key in stored:
            continue
        # The kill within the window around the acknowledgement: ingest dies
        # with what it had read, the broker with what it had acknowledged but
        # neither saved nor delivered (broker); readings a restarted broker
        # acknowledged and lost mean it had no session for the subscriber
        # (broker_after). An acknowledgement read after the kill on a
        # connection made before it was still sent by the killed broker (it
        # sat in the socket): that is the broker's own window, not the
        # restarted broker's.
        cause = "other"
        for w, name in sorted(kills):
            if abs(ack - w) <= a.window:
                cause = name if name in ("ingest", "broker") else "other"
                if cause == "broker" and ack > w and conn > w:
                    cause = "broker_after"
                break
        lost[cause] += 1
        lost_at.append(i)
    lost_at.sort()
    emit(checked=len(expect), stored=len(stored), dup=dup, wrong=wrong,
         lost_ingest=lost["ingest"], lost_broker=lost["broker"],
         lost_broker_after=lost["broker_after"], lost_other=lost["other"],
         lost_first=lost_at[0] if lost_at else -1, lost_last=lost_at[-1] if lost_at else -1)
    print("readings: %d acknowledged, %d stored, %d duplicate, %d wrong; missing: %d around an "
          "ingest kill, %d acknowledged before a broker kill, %d after its restart, %d otherwise" %
          (len(expect), len(stored), dup, wrong, lost["ingest"], lost["broker"],
           lost["broker_after"], lost["other"]), file=sys.stderr)


def backfill(a):
    data = json.load(open(a.expect))
    lo, hi = a.start, a.end
    want = "(%s, %s]" % (iso(lo), iso(hi))
    checked = lost = dup = wrong = gaps = 0
    rooms = {}

    def compare(sid, exp):
        nonlocal checked, lost, dup, wrong
        rows = stream_rows(a, sid)
        got = {}
        for t, v in rows:
            if t in got:
                dup += 1
            got[t] = float(v)
        for t, v in exp.items():
            checked += 1
            if t * 1000000 not in got:
                lost += 1
            elif abs(got[t * 1000000] - v) > 1e-9:
                wrong += 1
        dup += len(set(got) - {t * 1000000 for t in exp})  # instances nothing asked for

    for key, vals in data.items():
        h, r = key.split("/")
        byt = dict((t, v) for t, v in vals)
        exp = {}
        for up in range(lo + a.increment, hi + 1, a.increment):
            w = [byt[t] for t in range(up - a.width + 1, up + 1) if t in byt]
            if w:
                exp[up] = statistics.fmean(w)
        rooms[key] = exp
        compare("room_temp/house=%s/room=%s" % (h, r), exp)
    houses = sorted({k.split("/")[0] for k in data})
    for h in houses:
        keys = [k for k in rooms if k.split("/")[0] == h]
        exp = {}
        for t in rooms[keys[0]]:
            exp[t] = max(rooms[k][t] for k in keys)
        compare("house_max/house=%s" % h, exp)
    sinks = ["room_temp/house=%s/room=%s" % tuple(k.split("/")) for k in data]
    sinks += ["house_max/house=%s" % h for h in houses]
    bad = []
    for s in sinks:
        got = hsctl(a, "stream", "intervals", s).strip()
        if got != want:
            gaps += 1
            bad.append("%s %s" % (s, got))
    emit(checked=checked, lost=lost, dup=dup, wrong=wrong, gaps=gaps)
    print("backfill: %d results checked, %d missing, %d extra or duplicate, %d wrong, %d sinks "
          "not calculated over exactly %s %s" % (checked, lost, dup, wrong, gaps, want,
                                                 "; ".join(bad)), file=sys.stderr)


# ------------------------------------------------------------------ values
#
# Every derived instance of the store against a recomputation done here from
# the raw data of the same store. The store is read directly with sqlite3 in
# one read transaction (a consistent snapshot of instances and calculated
# intervals): streams(sid, id, kind, binding, calculated) with calculated a
# msgpack array of [start_us, end_us] intervals, the instances of each
# stream decoded from blocks(sid, t0, t1, n, data) by hs_blocks (see
# stream_instances) as canonical msgpack, and docs(coll='reopened',
# key=<stream>) the reopened
# intervals, JSON {"intervals": [[s_us, e_us], ...]}. A derived stream's
# binding names its tool, parameters, kind, plate key and sources (the FNV-1a
# hashes of the sources' bindings, or "input:<name>" for raw inputs), which
# is all the recomputation needs.

class MpError(Exception):
    pass


def mp_decode(b):
    """The value of one canonical msgpack item (the types the store writes)."""
    v, i = _mp(b, 0)
    if i != len(b):
        raise MpError("trailing bytes")
    return v


def _mp(b, i):
    c = b[i]
    i += 1
    if c <= 0x7f:
        return c, i
    if c >= 0xe0:
        return c - 0x100, i
    if 0xa0 <= c <= 0xbf:
        n = c & 0x1f
        return b[i:i + n].decode(), i + n
    if 0x90 <= c <= 0x9f:
        return _mp_arr(b, i, c & 0x0f)
    if 0x80 <= c <= 0x8f:
        return _mp_map(b, i, c & 0x0f)
    fixed = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h",
             0xd2: ">i", 0xd3: ">q", 0xca: ">f", 0xcb: ">d"}
    if c in fixed:
        f = fixed[c]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i:i + n])[0], i + n
    if c == 0xc0:
        return None, i
    if c in (0xc2, 0xc3):
        return c == 0xc3, i
    lens = {0xd9: ">B", 0xda: ">H", 0xdb: ">I", 0xc4: ">B", 0xc5: ">H", 0xc6: ">I",
            0xdc: ">H", 0xdd: ">I", 0xde: ">H", 0xdf: ">I"}
    if c in lens:
        f = lens[c]
        k = struct.calcsize(f)
        n = struct.unpack(f, b[i:i + k])[0]
        i += k
        if c in (0xd9, 0xda, 0xdb):
            return b[i:i + n].decode(), i + n
        if c in (0xc4, 0xc5, 0xc6):
            return bytes(b[i:i + n]), i + n
        if c in (0xdc, 0xdd):
            return _mp_arr(b, i, n)
        return _mp_map(b, i, n)
    raise MpError("msgpack type 0x%02x" % c)


def _mp_arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = _mp(b, i)
        out.append(v)
    return out, i


def _mp_map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _mp(b, i)
        v, i = _mp(b, i)
        out[k] = v
    return out, i


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for c in text.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


_UNITS = {"us": 1, "ms": 1000, "s": 1000000, "m": 60000000, "min": 60000000,
          "h": 3600000000, "d": 86400000000}


def duration_us(v):
    """A duration parameter (text such as '5m', '1h30m', '-5s', or seconds) in microseconds."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(round(v * 1000000))
    m = re.fullmatch(r"\s*(-?)((?:\d+(?:\.\d+)?[a-z]+)+)\s*", v)
    if not m:
        raise ValueError("duration %r" % v)
    total = 0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)([a-z]+)", m.group(2)):
        total += int(round(float(num) * _UNITS[unit]))
    return -total if m.group(1) else total


def time_us(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(round(v * 1000000))
    s = v.rstrip("Z")
    base, _, frac = s.partition(".")
    y, rest = base.split("-", 1)
    # calendar.timegm handles year 1 (the default grid origin) as well.
    tm = time.strptime("2000-" + rest, "%Y-%m-%dT%H:%M:%S")
    days = (datetime.date(int(y), tm.tm_mon, tm.tm_mday) - datetime.date(1970, 1, 1)).days
    sec = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec
    return sec * 1000000 + int((frac + "000000")[:6])


def number(v):
    """The number a reducer sees (ints, floats, bools as 0/1), or None."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    return None


def reduce_(func, xs):
    if func == "mean":
        return math.fsum(xs) / len(xs)
    if func == "sum":
        return math.fsum(xs)
    if func == "count":
        return len(xs)
    if func == "min":
        return min(xs)
    if func == "max":
        return max(xs)
    if func == "median":
        return statistics.median(xs)
    if func == "std":
        return statistics.pstdev(xs)
    if func == "first":
        return xs[0]
    if func == "last":
        return xs[-1]
    if func == "range":
        return max(xs) - min(xs)
    raise ValueError("reducer %r is not recomputed here" % func)


# Unary functions of 'apply': the built-in ones by name, the Lua functions the
# scenarios use by their exact text (values for which the Lua function raises
# fail their job, whose interval is then not calculated).
UNARY = {
    "identity": lambda v: v,
    "neg": lambda v: -v,
    "abs": abs,
    "lua: return function(v) if v >= 1000 then error('value out of range: ' .. v) end "
    "return v * 2 end": lambda v: v * 2,
}


def iv_merge(ivs):
    out = []
    for s, e in sorted(ivs):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def iv_contains(ivs, t):
    """Whether t lies in one of the half-open intervals (s, e]."""
    for s, e in ivs:
        if s < t <= e:
            return True
    return False


def stream_instances(db, sid, problems):
    """[(t, canonical msgpack bytes)] of a stream in time order, decoded from its
    blocks by hs_blocks (not by the C codec). Block anomalies are appended to
    problems: a block that does not decode, a row whose t0, t1 or n differ from
    its data, a block that overlaps the one before (its instances not later than
    the last one are skipped, as the store's readers do)."""
    out = []
    for t0, t1, n, data in db.execute(
            "SELECT t0, t1, n, data FROM blocks WHERE sid = ? ORDER BY t0", (sid,)):
        try:
            inst = hs_blocks.decode(bytes(data))
        except (ValueError, IndexError, struct.error) as e:
            problems.append("sid %d block t0=%d: %s" % (sid, t0, e))
            continue
        if (inst[0][0], inst[-1][0], len(inst)) != (t0, t1, n):
            problems.append("sid %d block t0=%d: row says (%d, %d, %d), data (%d, %d, %d)" %
                            (sid, t0, t0, t1, n, inst[0][0], inst[-1][0], len(inst)))
        if out and inst[0][0] <= out[-1][0]:
            problems.append("sid %d block t0=%d overlaps the block before (last %d)" %
                            (sid, t0, out[-1][0]))
        out.extend((t, v) for t, v in inst if not out or t > out[-1][0])
    return out


class Store:
    """A read-only snapshot of a SQLite store and the recomputation of its derived streams."""

    def __init__(self, path):
        self.db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30,
                                  isolation_level=None)
        self.db.execute("BEGIN")
        self.streams = {}  # id -> {sid, kind, binding(dict), calculated}
        self.by_hash = {}  # binding hash -> [stream id]
        for sid, ident, kind, binding, calc in self.db.execute(
                "SELECT sid, id, kind, binding, calculated FROM streams"):
            b = json.loads(binding) if binding else None
            calc = [list(x) for x in mp_decode(calc)] if calc else []
            self.streams[ident] = {"sid": sid, "kind": kind, "binding": b, "calculated": calc}
            if binding:
                self.by_hash.setdefault(fnv1a64(binding), []).append(ident)
        self.reopened = {}
        for key, text in self.db.execute("SELECT key, json FROM docs WHERE coll = 'reopened'"):
            ident = key
            if ident not in self.streams:
                ident = next((i for i, s in self.streams.items() if str(s["sid"]) == key), key)
            try:
                ivs = json.loads(text).get("intervals", [])
            except ValueError:
                ivs = []
            if ivs:
                self.reopened[ident] = [list(x) for x in ivs]
        self.rows = {}  # id -> ([t], [decoded value])
        self.problems = []  # anomalies of the blocks read
        self.memo = {}  # (id, lo, hi) -> {t: value}

    def close(self):
        self.db.execute("COMMIT")
        self.db.close()

    def stored(self, ident):
        if ident not in self.rows:
            ts, vs = [], []
            for t, v in stream_instances(self.db, self.streams[ident]["sid"], self.problems):
                ts.append(t)
                vs.append(mp_decode(v))
            self.rows[ident] = (ts, vs)
        return self.rows[ident]

    def derived(self):
        return sorted(i for i, s in self.streams.items() if s["binding"])

    @staticmethod
    def plate_of(ident):
        """The plate value part of a stream id ('house=1/room=a'), '' for a global stream."""
        parts = ident.split("/")
        k = next((j for j, p in enumerate(parts) if "=" in p), len(parts))
        return "/".join(parts[k:])

    @staticmethod
    def node_of(ident):
        parts = ident.split("/")
        k = next((j for j, p in enumerate(parts) if "=" in p), len(parts))
        return "/".join(parts[:k])

    def source(self, sink, ref):
        """The stream a tool at the sink's plate value reads for a source reference: the
        same plate value, else its nearest ancestor, else the global stream."""
        pv = self.plate_of(sink).split("/") if self.plate_of(sink) else []
        if ref.startswith("input:"):
            cands = {ref[6:] + "".join("/" + p for p in pv[:k]) for k in range(len(pv) + 1)}
            cands &= set(self.streams)
        else:
            cands = set(self.by_hash.get(ref, []))
        for k in range(len(pv), -1, -1):
            want = "/".join(pv[:k])
            for c in cands:
                if self.plate_of(c) == want:
                    return c
        raise KeyError("%s: no stream for source %s" % (sink, ref))

    def children(self, sink, ref):
        """The sources of an aggregate: streams of the source binding one plate level
        below the sink's plate value."""
        pv = self.plate_of(sink)
        cands = self.by_hash.get(ref, []) if not ref.startswith("input:") else \
            [i for i in self.streams if self.node_of(i) == ref[6:]]
        out = []
        for c in cands:
            cp = self.plate_of(c)
            up = cp.rsplit("/", 1)[0] if "/" in cp else ""
            if cp and up == pv:
                out.append(c)
        return sorted(out)

    def values(self, ident, lo, hi):
        """{t: value} of a stream over (lo, hi]: stored for raw streams, recomputed here
        for derived ones."""
        s = self.streams[ident]
        if not s["binding"]:
            ts, vs = self.stored(ident)
            a, b = bisect.bisect_right(ts, lo), bisect.bisect_right(ts, hi)
            return dict(zip(ts[a:b], vs[a:b]))
        key = (ident, lo, hi)
        if key not in self.memo:
            self.memo[key] = self.compute(ident, s["binding"], lo, hi)
        return self.memo[key]

    def compute(self, ident, b, lo, hi):
        tool, p, srcs = b["tool"], b.get("params") or {}, b.get("sources") or []
        out = {}
        if tool == "sliding_window":
            if "width" in p:
                width = duration_us(p["width"])
            else:
                width = duration_us(p.get("upper", "0s")) - duration_us(p.get("lower", "-1s"))
            inc = duration_us(p["increment"]) if "increment" in p else width
            first = time_us(p.get("first", "0001-01-01T00:00:00Z"))
            g0 = first + width
            k = max(0, -((g0 - lo - 1) // inc)) if lo >= g0 else 0
            up = g0 + k * inc
            while up <= lo:
                up += inc
            while up <= hi:
                out[up] = [up - width, up]
                up += inc
            return out
        if tool == "sliding_apply":
            wins = self.values(self.source(ident, srcs[0]), lo, hi)
            data = self.source(ident, srcs[1])
            if not wins:
                return out
            wlo = min(w[0] for w in wins.values())
            pts = sorted((t, number(v)) for t, v in self.values(data, wlo, hi).items()
                         if number(v) is not None)
            pt = [t for t, _ in pts]
            for t, (w0, w1) in sorted(wins.items()):
                w1 = min(w1, hi)
                if w0 >= w1:
                    continue
                a, z = bisect.bisect_right(pt, w0), bisect.bisect_right(pt, w1)
                if z > a:
                    out[t] = reduce_(p["func"], [v for _, v in pts[a:z]])
            return out
        if tool == "aggregate":
            per_t = {}
            for c in self.children(ident, srcs[0]):
                for t, v in self.values(c, lo, hi).items():
                    if number(v) is not None:
                        per_t.setdefault(t, []).append(number(v))
            return {t: reduce_(p["func"], xs) for t, xs in per_t.items()}
        if tool == "apply":
            f = UNARY[p["func"]]
            for t, v in self.values(self.source(ident, srcs[0]), lo, hi).items():
                if number(v) is not None:
                    out[t] = f(v)
            return out
        raise ValueError("tool %s (stream %s) is not recomputed here" % (tool, ident))


def history(a):
    """Job history records (docs coll='history'): how many say "recompute": true, in
    all and among those committed before --before (epoch seconds), and per trigger."""
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=30)
    n = recompute = recompute_before = 0
    triggers = {}
    for (text,) in db.execute("SELECT json FROM docs WHERE coll = 'history'"):
        h = json.loads(text)
        n += 1
        trig = h.get("trigger", "none")
        triggers[trig] = triggers.get(trig, 0) + 1
        if h.get("recompute") is True:
            recompute += 1
            if a.before is not None and time_us(h["committed"]) < a.before * 1e6:
                recompute_before += 1
    db.close()
    emit(records=n, recompute=recompute, recompute_before=recompute_before,
         triggers=",".join("%s:%d" % kv for kv in sorted(triggers.items())) or "none")


def same(a, b):
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b))
    x, y = number(a), number(b)
    if x is None or y is None:
        return a == b
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y)) or x == y


def values(a):
    st = Store(a.db)
    checked = lost = dup = wrong = 0
    reopened = 0
    bad = []
    try:
        for ident in st.derived():
            s = st.streams[ident]
            calc = iv_merge(s["calculated"])
            reop = iv_merge(st.reopened.get(ident, []))
            reopened += len(reop)
            exp = {}
            for lo, hi in calc:
                exp.update(st.values(ident, lo, hi))
            ts, vs = st.stored(ident)
            got = {}
            for t, v in zip(ts, vs):
                if iv_contains(calc, t):
                    got[t] = v
                elif not iv_contains(reop, t):
                    dup += 1  # stored outside every calculated or reopened interval
                    bad.append("%s %d extra %r" % (ident, t, v))
            for t, v in exp.items():
                checked += 1
                if t not in got:
                    lost += 1
                    bad.append("%s %d missing (want %r)" % (ident, t, v))
                elif not same(got[t], v):
                    wrong += 1
                    bad.append("%s %d %r (want %r)" % (ident, t, got[t], v))
            for t in got:
                if t not in exp:
                    dup += 1
                    bad.append("%s %d extra %r" % (ident, t, got[t]))
    finally:
        st.close()
    # A block anomaly of a stream read here is a wrong value of the store.
    wrong += len(st.problems)
    bad = st.problems[:4] + bad
    emit(checked=checked, lost=lost, dup=dup, wrong=wrong, reopened=reopened,
         sinks=len(st.derived()), blocks_bad=len(st.problems))
    print("values: %d derived instances of %d streams checked against the recomputation: "
          "%d missing, %d extra, %d wrong (%d block anomalies); %d reopened intervals%s" %
          (checked, len(st.derived()), lost, dup, wrong, len(st.problems), reopened,
           ("; first: " + "; ".join(bad[:8])) if bad else ""), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("readings")
    b = sub.add_parser("backfill")
    v = sub.add_parser("values")
    v.add_argument("--db", required=True, help="the SQLite store (hs.db)")
    h = sub.add_parser("history")
    h.add_argument("--db", required=True, help="the SQLite store (hs.db)")
    h.add_argument("--before", type=float, help="epoch seconds: count recomputations before")
    for p in (r, b):
        p.add_argument("--hsctl", required=True)
        p.add_argument("--data", required=True)
    r.add_argument("--acked", required=True)
    r.add_argument("--stream", required=True)
    r.add_argument("--streams", type=int, required=True)
    r.add_argument("--kills")
    r.add_argument("--dev-offset", type=int, default=0, help="number of the first device")
    r.add_argument("--window", type=float, default=5.0,
                   help="seconds around a kill in which acknowledged readings may be lost")
    b.add_argument("--expect", required=True)
    b.add_argument("--from", dest="start", type=int, required=True)
    b.add_argument("--to", dest="end", type=int, required=True)
    b.add_argument("--width", type=int, default=300, help="sliding window width (s)")
    b.add_argument("--increment", type=int, default=60, help="sliding window increment (s)")
    a = ap.parse_args()
    {"readings": readings, "backfill": backfill, "values": values,
     "history": history}[a.cmd](a)


if __name__ == "__main__":
    main()
