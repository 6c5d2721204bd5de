#!/usr/bin/python3
"""A steady QoS 1 publisher of JSON readings for the fault suite.

It speaks MQTT 3.1.1 over a plain socket (no client library), so that it
knows exactly which readings the broker acknowledged (PUBACK) and when.
Like a careful device it keeps every reading until the broker acknowledged
it and, after a lost connection, reconnects (retrying for as long as it
takes, up to --max-down seconds) and publishes the unacknowledged readings
again with the same timestamp and value (a clean session: they go out as
new messages; the writer stores equal re-sent values once).

Reading i (counted from --first) goes to <topic>/dev=<dev_offset + i mod
streams> as {"t": ISO-8601 with microseconds, "v": i}. Timestamps: --clock
seq gives t0 + i * step (unique per stream, reproducible); --clock now gives
the wall clock, kept strictly increasing per stream. --shuffle SEED (with
--count and --clock seq) publishes the readings in a random order, as a
device emptying its buffer does.

At the end every reading is acknowledged; --acked FILE lists
"i stream t_us ack_wall_s conn_wall_s" per reading (its first
acknowledgement, and when the connection that brought it was made), --events
FILE lists connection losses and reconnects, and a JSON summary goes to
stdout. Exit status 0, or 2 when the broker stayed away for --max-down.
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from mqttbatch import _packet as packet  # noqa: E402  (one MQTT packet encoder for the tests)


def mstr(b):
    return struct.pack(">H", len(b)) + b


def iso(t_us):
    s, us = divmod(t_us, 1000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % us


class Conn:
    """One MQTT connection: CONNECT/CONNACK, PUBLISH QoS 1, PUBACK parsing."""

    def __init__(self, port, client_id):
        self.port = port
        self.client_id = client_id.encode()
        self.sock = None
        self.buf = b""
        self.last_out = 0.0

    def connect(self, timeout=2.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(packet(0x10, mstr(b"MQTT") + b"\x04\x02" + struct.pack(">H", 60) +
                         mstr(self.client_id)))
        data = b""
        end = time.time() + timeout
        while len(data) < 4 and time.time() < end:
            chunk = s.recv(4 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) < 4 or data[0] != 0x20 or data[3] != 0:
            s.close()
            raise ConnectionError("no CONNACK (%r)" % data)
        s.settimeout(None)
        s.setblocking(False)
        self.sock = s
        self.buf = b""
        self.last_out = time.time()

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def send(self, data):
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                select.select([], [self.sock], [], 1.0)
        self.last_out = time.time()

    def poll(self, timeout):
        """Returns the packet ids of PUBACKs received within timeout."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            if time.time() - self.last_out > 20:
                self.send(b"\xc0\x00")  # PINGREQ
            return []
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return []
        if not chunk:
            raise ConnectionError("broker closed the connection")
        self.buf += chunk
        acks = []
        while len(self.buf) >= 2:
            mult, n, i = 1, 0, 1
            while True:
                if i >= len(self.buf):
                    return acks
                b = self.buf[i]
                n += (b & 127) * mult
                mult *= 128
                i += 1
                if not b & 128:
                    break
            if len(self.buf) < i + n:
                break
            typ, body = self.buf[0] >> 4, self.buf[i:i + n]
            self.buf = self.buf[i + n:]
            if typ == 4 and len(body) >= 2:
                acks.append(struct.unpack(">H", body[:2])[0])
        return acks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--topic", default="hs/raw/live")
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--rate", type=float, default=2000, help="new readings per second")
    ap.add_argument("--count", type=int, default=0, help="readings (0: use --duration)")
    ap.add_argument("--duration", type=float, default=0, help="seconds of new readings")
    ap.add_argument("--first", type=int, default=0, help="index of the first reading")
    ap.add_argument("--clock", choices=["seq", "now"], default="seq")
    ap.add_argument("--t0", type=int, default=1700000000 * 1000000, help="seq: first t (us)")
    ap.add_argument("--step", type=int, default=1000, help="seq: t step between readings (us)")
    ap.add_argument("--dev-offset", type=int, default=0, help="number of the first device")
    ap.add_argument("--shuffle", type=int, help="seq: publish in a random order (seed)")
    ap.add_argument("--window", type=int, default=100, help="unacknowledged readings at most")
    ap.add_argument("--max-down", type=float, default=120)
    ap.add_argument("--client-id", default="faults-pub-%d" % os.getpid())
    ap.add_argument("--acked", help="file the acknowledged readings are appended to")
    ap.add_argument("--events")
    ap.add_argument("--progress", help="file rewritten every second with the readings sent")
    a = ap.parse_args()

    topics = [("%s/dev=%d" % (a.topic, a.dev_offset + k)).encode() for k in range(a.streams)]
    # Publication order: reading number (from --first) of the j-th reading published.
    order = list(range(a.count))
    if a.shuffle is not None:
        if not a.count or a.clock != "seq":
            ap.error("--shuffle needs --count and --clock seq")
        random.Random(a.shuffle).shuffle(order)
    t_of = []            # reading index -> t_us
    last = [0] * a.streams
    ack_at = {}          # reading index -> wall time of the first PUBACK
    ack_conn = {}        # reading index -> wall time the connection of that PUBACK was made
    conn_at = 0.0        # wall time the current connection was made
    pending = {}         # packet id -> reading index
    resend = []          # indices to publish again after a reconnect
    events = open(a.events, "a") if a.events else None
    conn = Conn(a.port, a.client_id)
    next_pid = 1
    stats = {"published": 0, "resent": 0, "reconnects": 0, "disconnects": 0, "longest_down_s": 0}
    start = time.time()
    down_since = start
    last_progress = 0.0

    def log(what):
        if events:
            events.write("%.6f %s\n" % (time.time(), what))
            events.flush()

    def new_reading():
        j = len(t_of)
        i = a.first + (order[j] if a.shuffle is not None else j)
        k = i % a.streams
        if a.clock == "seq":
            t = a.t0 + i * a.step
        else:
            t = max(int(time.time() * 1e6), last[k] + 1)
            last[k] = t
        t_of.append(t)
        return j

    def wanted_total(now):
        if a.count:
            return min(a.count, int((now - start) * a.rate) + 1)
        if now - start < a.duration:
            return int((now - start) * a.rate) + 1
        return len(t_of)

    while True:
        now = time.time()
        gen_done = (a.count and len(t_of) >= a.count) or (not a.count and now - start >= a.duration)
        if gen_done and not pending and not resend:
            break
        if conn.sock is None:
            try:
                conn.connect()
            except OSError as e:
                if now - down_since > a.max_down:
                    print("broker unreachable for %.0f s: %s" % (a.max_down, e), file=sys.stderr)
                    return 2
                time.sleep(0.1)
                continue
            conn_at = time.time()
            stats["longest_down_s"] = max(stats["longest_down_s"], round(now - down_since, 3))
            if stats["published"] or resend or pending:
                stats["reconnects"] += 1
                log("reconnected, re-publishing %d unacknowledged" % len(pending))
            resend.extend(sorted(pending.values()))
            pending.clear()
        try:
            out = bytearray()
            target = wanted_total(now)
            while len(pending) < a.window and (resend or len(t_of) < target):
                if resend:
                    i = resend.pop(0)
                    stats["resent"] += 1
                    dup = 0x08
                else:
                    i = new_reading()
                    stats["published"] += 1
                    dup = 0
                while next_pid in pending:
                    next_pid = next_pid % 65535 + 1
                pid = next_pid
                next_pid = next_pid % 65535 + 1
                pending[pid] = i
                g = a.first + (order[i] if a.shuffle is not None else i)
                payload = ('{"t":"%s","v":%d}' % (iso(t_of[i]), g)).encode()
                out += packet(0x32 | dup, mstr(topics[g % a.streams]) + struct.pack(">H", pid) +
                              payload)
            if out:
                conn.send(bytes(out))
            for pid in conn.poll(0.002):
                i = pending.pop(pid, None)
                if i is not None and i not in ack_at:
                    ack_at[i] = time.time()
                    ack_conn[i] = conn_at
        except (OSError, ConnectionError) as e:
            conn.close()
            stats["disconnects"] += 1
            down_since = time.time()
            log("connection lost: %s" % e)
        if a.progress and now - last_progress >= 1:
            last_progress = now
            with open(a.progress + ".tmp", "w") as f:
                f.write("%d %d\n" % (len(t_of), len(ack_at)))
            os.replace(a.progress + ".tmp", a.progress)
    try:
        conn.send(b"\xe0\x00")  # DISCONNECT
    except OSError:
        pass
    conn.close()
    elapsed = time.time() - start
    if a.acked:
        with open(a.acked, "a") as f:
            for j, t in enumerate(t_of):
                i = a.first + (order[j] if a.shuffle is not None else j)
                f.write("%d %d %d %.6f %.6f\n" % (i, i % a.streams, t, ack_at.get(j, 0.0),
                                                  ack_conn.get(j, 0.0)))
    stats.update({"readings": len(t_of), "acked": len(ack_at), "seconds": round(elapsed, 3),
                  "rate": round(len(t_of) / elapsed, 1) if elapsed > 0 else 0})
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
