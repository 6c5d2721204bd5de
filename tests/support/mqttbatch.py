#!/usr/bin/python3
"""Publishes msgpack batches of readings over one MQTT 3.1.1 connection.

A plain-socket client (no client library) for tests and benchmarks that
load many streams fast: every message is QoS 1, sent in large writes, and
publish() returns once the broker acknowledged (PUBACK) every one of them.

  import mqttbatch
  with mqttbatch.Client(port, "my-loader") as c:
      c.publish("hs/raw/temp/dev=1", mqttbatch.batch([(t_us, 21.5), ...]))
      c.flush()                        # all acknowledged

As a program: mqttbatch.py PORT < lines, each line "topic<TAB>json list of
[t_us, v]"; prints the number of messages acknowledged.
"""
import json
import select
import socket
import struct
import sys


def _enc_len(n):
    """MQTT's variable-length encoding of a remaining length."""
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (128 if n else 0))
        if not n:
            return bytes(out)


def _packet(first, body):
    """One MQTT control packet: the first byte, the remaining length, the body."""
    return bytes([first]) + _enc_len(len(body)) + body


def _value(v):
    """One reading's value as msgpack: float64, int64, bool, str or nil."""
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    s = str(v).encode()
    return b"\xdb" + struct.pack(">I", len(s)) + s


def batch(readings):
    """msgpack [[t_us, v], ...] of (t_us, v) pairs, the form ingest reads."""
    readings = list(readings)
    out = bytearray(b"\xdd" + struct.pack(">I", len(readings)))
    for t_us, v in readings:
        out += b"\x92\xd3" + struct.pack(">q", t_us) + _value(v)
    return bytes(out)


class Client:
    def __init__(self, port, client_id, host="127.0.0.1"):
        self.s = socket.create_connection((host, port))
        cid = client_id.encode()
        self.s.sendall(_packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(cid)) + cid))
        ack = b""
        while len(ack) < 4:
            got = self.s.recv(4 - len(ack))
            if not got:
                raise ConnectionError("the broker closed the connection")
            ack += got
        if ack[0] != 0x20 or ack[3] != 0:
            raise ConnectionError("connection refused: %r" % ack)
        self.mid = 0
        self.sent = 0
        self.acked = 0
        self.inbuf = b""
        self.out = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _drain(self, block):
        while True:
            r, _, _ = select.select([self.s], [], [], None if block else 0)
            if not r:
                return
            got = self.s.recv(1 << 20)
            if not got:
                raise ConnectionError("the broker closed the connection")
            self.inbuf += got
            while len(self.inbuf) >= 4 and self.inbuf[0] == 0x40:
                self.acked += 1
                self.inbuf = self.inbuf[4:]
            if block:
                return

    def publish(self, topic, payload):
        """Queues one QoS 1 message; sends when enough is queued."""
        t = topic.encode()
        self.mid = self.mid % 65535 + 1
        self.out += _packet(0x32, struct.pack(">H", len(t)) + t + struct.pack(">H", self.mid) + payload)
        self.sent += 1
        if len(self.out) > 1 << 18:
            self.s.sendall(self.out)
            self.out = bytearray()
            self._drain(False)
        # At most 60000 unacknowledged: message ids stay unique.
        if self.sent - self.acked > 60000:
            self.s.sendall(self.out)
            self.out = bytearray()
            while self.sent - self.acked > 60000:
                self._drain(True)

    def flush(self):
        """Sends what is queued and waits until the broker acknowledged every message."""
        if self.out:
            self.s.sendall(self.out)
            self.out = bytearray()
        while self.acked < self.sent:
            self._drain(True)

    def close(self):
        try:
            self.s.sendall(_packet(0xE0, b""))
        except OSError:
            pass
        self.s.close()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mqttbatch.py PORT < topic<TAB>[[t_us, v], ...] lines")
    with Client(int(sys.argv[1]), "mqttbatch-%d" % __import__("os").getpid()) as c:
        for line in sys.stdin:
            topic, _, readings = line.rstrip("\n").partition("\t")
            c.publish(topic, batch(json.loads(readings)))
        c.flush()
        print(c.acked)


if __name__ == "__main__":
    main()
