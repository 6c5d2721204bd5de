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

Output: "CHK_<name>=<value>" lines (read by the shell scripts), and a
human-readable line on stderr.
"""
import argparse
import calendar
import json
import statistics
import subprocess
import sys
import time


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
        for t, v in stream_rows(a, "%s/dev=%d" % (a.stream, k)):
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("readings")
    b = sub.add_parser("backfill")
    for p in (r, b):
        p.add_argument("--hsctl", required=True)
        p.add_argument("--data", required=True)
    r.add_argument("--acked", required=True)
    r.add_argument("--stream", required=True)
    r.add_argument("--streams", type=int, required=True)
    r.add_argument("--kills")
    r.add_argument("--window", type=float, default=5.0,
                   help="seconds around a kill in which acknowledged readings may be lost")
    b.add_argument("--expect", required=True)
    b.add_argument("--from", dest="start", type=int, required=True)
    b.add_argument("--to", dest="end", type=int, required=True)
    b.add_argument("--width", type=int, default=300, help="sliding window width (s)")
    b.add_argument("--increment", type=int, default=60, help="sliding window increment (s)")
    a = ap.parse_args()
    readings(a) if a.cmd == "readings" else backfill(a)


if __name__ == "__main__":
    main()
