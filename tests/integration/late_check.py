#!/usr/bin/python3
"""Independent checks of it_late.sh, reading the SQLite store directly.

Nothing here goes through hsctl or the services' code: instances, their
msgpack values and the calculated intervals (a msgpack array of [start_us,
end_us] pairs) are decoded from the store file with Python's sqlite3 and a
small msgpack reader, and the expected results are computed from the stored
raw readings.

Subcommands (times in microseconds since the epoch):
  means DB RAW SINK FROM_US TO_US WIDTH_US
      every window (up - WIDTH, up] with up on the grid of WIDTH in
      (FROM, TO]: the sink's value at up equals the mean of the raw values
      in the window (no instance when the window is empty); the sink is
      calculated over (FROM, TO] and has no instance elsewhere in it.
  counts DB COVER_FROM_US COVER_TO_US RAW:SINK...
      every per-second instance of each sink, at every second k of its
      calculated intervals, equals the number of raw readings in
      (k - 1 s, k]; the calculated intervals cover (COVER_FROM, COVER_TO]
      without a gap. Prints one line per sink and exits 1 on a difference.
  calc DB STREAM           the calculated intervals, one "start end" a line
  reopened DB [STREAM]     the reopened intervals stored by the writer
                           ("stream start end" a line), from docs
                           coll='reopened'
  history DB WORKFLOW       job records by trigger and recompute flag
  corrections FILE         decodes mosquitto_sub -F '%t %x' lines: prints
                           one JSON line {topic, interval, data} each
"""
import json
import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import hs_blocks  # noqa: E402  (the tests' own reader of the store's blocks)


class Reader:
    """A msgpack reader for what the store and the writer produce."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        out = self.b[self.i:self.i + n]
        if len(out) != n:
            raise ValueError("msgpack: truncated")
        self.i += n
        return out

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def sint(self, n):
        return int.from_bytes(self.take(n), "big", signed=True)

    def value(self):
        c = self.take(1)[0]
        if c <= 0x7f:
            return c
        if c >= 0xe0:
            return c - 0x100
        if 0x80 <= c <= 0x8f:
            return self.map(c & 15)
        if 0x90 <= c <= 0x9f:
            return [self.value() for _ in range(c & 15)]
        if 0xa0 <= c <= 0xbf:
            return self.take(c & 31).decode()
        simple = {0xc0: None, 0xc2: False, 0xc3: True}
        if c in simple:
            return simple[c]
        if c == 0xca:
            return struct.unpack(">f", self.take(4))[0]
        if c == 0xcb:
            return struct.unpack(">d", self.take(8))[0]
        if c in (0xcc, 0xcd, 0xce, 0xcf):
            return self.uint(1 << (c - 0xcc))
        if c in (0xd0, 0xd1, 0xd2, 0xd3):
            return self.sint(1 << (c - 0xd0))
        if c in (0xd9, 0xda, 0xdb):
            return self.take(self.uint(1 << (c - 0xd9))).decode()
        if c in (0xc4, 0xc5, 0xc6):
            return bytes(self.take(self.uint(1 << (c - 0xc4))))
        if c in (0xdc, 0xdd):
            return [self.value() for _ in range(self.uint(2 if c == 0xdc else 4))]
        if c in (0xde, 0xdf):
            return self.map(self.uint(2 if c == 0xde else 4))
        raise ValueError("msgpack: unexpected byte 0x%02x" % c)

    def map(self, n):
        out = {}
        for _ in range(n):
            k = self.value()
            out[k] = self.value()
        return out


def unpack(b):
    r = Reader(bytes(b))
    v = r.value()
    if r.i != len(r.b):
        raise ValueError("msgpack: trailing bytes")
    return v


def db_open(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


def sid_of(db, stream):
    row = db.execute("SELECT sid FROM streams WHERE id = ?", (stream,)).fetchone()
    return row[0] if row else None


def calculated(db, stream):
    row = db.execute("SELECT calculated FROM streams WHERE id = ?", (stream,)).fetchone()
    if not row or row[0] is None or len(row[0]) == 0:
        return []
    return [(s, e) for s, e in unpack(row[0])]


def instances(db, stream, lo=None, hi=None):
    """{t_us: value} of a stream, lo < t <= hi when given."""
    sid = sid_of(db, stream)
    if sid is None:
        return {}
    return {t: unpack(v) for t, v in hs_blocks.stream(db, sid, lo, hi)}


def inside(ivs, t):
    return any(s < t <= e for s, e in ivs)


def covers(ivs, lo, hi):
    return any(s <= lo and hi <= e for s, e in ivs)


def reopened(db, stream=None):
    """[(stream, start_us, end_us)] of the documents coll='reopened', JSON
    {"intervals": [[start_us, end_us], ...]}; their key is the stream's id or
    its number in the store."""
    names = {str(sid): name for sid, name in db.execute("SELECT sid, id FROM streams")}
    out = []
    for key, text in db.execute("SELECT key, json FROM docs WHERE coll = 'reopened' ORDER BY key"):
        key = names.get(key, key)
        if stream is None or key == stream:
            out += [(key, int(s), int(e)) for s, e in json.loads(text)["intervals"]]
    return sorted(out)


def cmd_means(db_path, raw, sink, a, b, width):
    a, b, width = int(a), int(b), int(width)
    db = db_open(db_path)
    ivs = calculated(db, sink)
    if not covers(ivs, a, b):
        sys.exit("FAIL: %s is calculated over %s, not over (%d, %d]" % (sink, ivs, a, b))
    data = instances(db, raw)
    got = instances(db, sink, a, b)
    exp = {}
    for up in range((a // width + 1) * width, b + 1, width):
        vals = [v for t, v in data.items() if up - width < t <= up]
        if vals:
            exp[up] = sum(vals) / len(vals)
    bad = []
    for t in sorted(set(exp) | set(got)):
        if t not in got or t not in exp or abs(got[t] - exp[t]) > 1e-9 * max(1, abs(exp[t])):
            bad.append((t, got.get(t), exp.get(t)))
    for t, g, e in bad:
        print("window ending %d: stored %r, expected %r" % (t, g, e))
    print("%d windows, %d differ" % (len(exp), len(bad)))
    sys.exit(1 if bad else 0)


def cmd_counts(db_path, cover_from, cover_to, *pairs):
    cover_from, cover_to = int(cover_from), int(cover_to)
    db = db_open(db_path)
    sec = 1000000
    failed = False
    for pair in pairs:
        raw, sink = pair.split(":")
        ivs = calculated(db, sink)
        data = sorted(instances(db, raw))
        got = instances(db, sink)
        gap = not covers(ivs, cover_from, cover_to)
        n, wrong, missing, extra = 0, 0, 0, 0
        per_sec = {}
        for t in data:
            up = -(-t // sec) * sec  # the second k with k - 1 s < t <= k
            per_sec[up] = per_sec.get(up, 0) + 1
        for s, e in ivs:
            k = (s // sec + 1) * sec
            while k <= e:
                n += 1
                want, have = per_sec.get(k), got.get(k)
                if want != have:
                    wrong += 1
                    if have is None:
                        missing += 1
                    elif want is None:
                        extra += 1
                k += sec
        print("%s: %d seconds calculated in %d interval(s), %d wrong (%d missing, %d extra)%s"
              % (sink, n, len(ivs), wrong, missing, extra,
                 ", NOT covering (%d, %d]" % (cover_from, cover_to) if gap else ""))
        failed = failed or wrong > 0 or gap or n == 0
    sys.exit(1 if failed else 0)


def cmd_history(db_path, workflow):
    """Counts the workflow's job records by (trigger, recompute), from docs
    coll='history': one "trigger recompute n" a line."""
    n = {}
    for (text,) in db_open(db_path).execute(
            "SELECT json FROM docs WHERE coll = 'history' AND substr(key, 1, length(?1)) = ?1",
            (workflow + "/",)):
        h = json.loads(text)
        k = (h.get("trigger", "?"), str(h.get("recompute", "?")).lower())
        n[k] = n.get(k, 0) + 1
    for (trigger, recompute), c in sorted(n.items()):
        print(trigger, recompute, c)


def cmd_calc(db_path, stream):
    for s, e in calculated(db_open(db_path), stream):
        print(s, e)


def cmd_reopened(db_path, stream=None):
    for key, s, e in reopened(db_open(db_path), stream):
        print(key, s, e)


def cmd_corrections(path):
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        topic, hexpay = line.rsplit(" ", 1)
        doc = unpack(bytes.fromhex(hexpay))
        print(json.dumps({"topic": topic, "interval": doc.get("interval"), "data": doc.get("data")}))


def main():
    cmds = {"means": cmd_means, "counts": cmd_counts, "calc": cmd_calc, "history": cmd_history,
            "reopened": cmd_reopened, "corrections": cmd_corrections}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
