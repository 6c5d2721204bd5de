"""Reads the instances of a SQLite store (schema version 2) for tests.

A second implementation of the block format of docs/ARCHITECTURE.md
("Compressed blocks"), written from the document and not from the C code, so
that tests which check the store's content do not trust the codec they
check. Values come back as their canonical msgpack bytes.

    import hs_blocks
    for sid, t, v in hs_blocks.rows(con): ...          # every instance
    for t, v in hs_blocks.stream(con, sid, after, end): ...
"""
import struct
import zlib

REPEAT = 0xC1
WIDTHS = (8, 14, 20, 32, 64)
INT53 = 1 << 53
MASK = (1 << 64) - 1


class Bits:
    def __init__(self, data, nbits):
        self.n = int.from_bytes(data, "big") if data else 0
        self.total = len(data) * 8
        self.nbits = nbits
        self.pos = 0

    def get(self, k):
        if self.pos + k > self.nbits:
            raise ValueError("corrupt block: cut bit section")
        v = (self.n >> (self.total - self.pos - k)) & ((1 << k) - 1)
        self.pos += k
        return v


def varint(b, p):
    r = shift = 0
    while True:
        c = b[p]
        p += 1
        r |= (c & 0x7F) << shift
        if not c & 0x80:
            return r, p
        shift += 7


def unzigzag(z):
    return (z >> 1) ^ -(z & 1)


def dod(bits):
    ones = 0
    while ones < 5 and bits.get(1):
        ones += 1
    if ones == 0:
        return 0
    return unzigzag(bits.get(WIDTHS[ones - 1]))


def pack_int(i):
    """Canonical msgpack of an integer (smallest encoding)."""
    if 0 <= i < 128 or -32 <= i < 0:
        return struct.pack(">b" if i < 0 else ">B", i)
    if i >= 0:
        for code, fmt, lim in ((0xCC, ">B", 1 << 8), (0xCD, ">H", 1 << 16), (0xCE, ">I", 1 << 32)):
            if i < lim:
                return bytes([code]) + struct.pack(fmt, i)
        return b"\xcf" + struct.pack(">Q", i)
    for code, fmt, lim in ((0xD0, ">b", 1 << 7), (0xD1, ">h", 1 << 15), (0xD2, ">i", 1 << 31)):
        if i >= -lim:
            return bytes([code]) + struct.pack(fmt, i)
    return b"\xd3" + struct.pack(">q", i)


def msgpack_len(b, p):
    """Length of the msgpack value at b[p:]."""
    c = b[p]
    if c <= 0x7F or c >= 0xE0 or c in (0xC0, 0xC2, 0xC3):
        return 1
    if 0xA0 <= c <= 0xBF:
        return 1 + (c & 0x1F)
    if 0x90 <= c <= 0x9F or 0x80 <= c <= 0x8F:
        n = c & 0x0F
        q = p + 1
        for _ in range(n * (2 if c <= 0x8F else 1)):
            q += msgpack_len(b, q)
        return q - p
    fixed = {0xCA: 5, 0xCB: 9, 0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9, 0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}
    if c in fixed:
        return fixed[c]
    if c in (0xD9, 0xC4):
        return 2 + b[p + 1]
    if c in (0xDA, 0xC5):
        return 3 + struct.unpack_from(">H", b, p + 1)[0]
    if c in (0xDB, 0xC6):
        return 5 + struct.unpack_from(">I", b, p + 1)[0]
    if c in (0xDC, 0xDD, 0xDE, 0xDF):
        hdr = 3 if c in (0xDC, 0xDE) else 5
        n = struct.unpack_from(">H" if hdr == 3 else ">I", b, p + 1)[0]
        q = p + hdr
        for _ in range(n * (2 if c >= 0xDE else 1)):
            q += msgpack_len(b, q)
        return q - p
    raise ValueError("corrupt block: msgpack type 0x%02x" % c)


def decode(data):
    """The instances [(t, value bytes)] of one encoded block."""
    if len(data) < 6 or zlib.crc32(data[:-4]) != struct.unpack(">I", data[-4:])[0]:
        raise ValueError("corrupt block: checksum mismatch")
    data = data[:-4]
    if data[0] != 1:
        raise ValueError("unknown block version %d" % data[0])
    kind = data[1]
    p = 2
    n, p = varint(data, p)
    zt0, p = varint(data, p)
    span, p = varint(data, p)
    tsb, p = varint(data, p)
    vsz, p = varint(data, p)
    t = unzigzag(zt0)
    ts_bytes = (tsb + 7) // 8
    ts = Bits(data[p:p + ts_bytes], tsb)
    p += ts_bytes
    v_bytes = vsz if kind == 3 else (vsz + 7) // 8
    vsec = data[p:p + v_bytes]
    vb = Bits(vsec, vsz) if kind != 3 else None
    out = []
    dt = 0
    prev = 0
    dprev = 0
    lead = trail = None
    vpos = 0
    last = None

    def xor_next(first):
        nonlocal prev, lead, trail
        if first:
            prev = vb.get(64)
            return prev
        if vb.get(1) == 0:
            return prev
        if vb.get(1) == 0:
            x = vb.get(64 - lead - trail) << trail
        else:
            lead = vb.get(6)
            ln = vb.get(6) + 1
            trail = 64 - lead - ln
            x = vb.get(ln) << trail
        prev ^= x
        return prev

    for i in range(n):
        if i > 0:
            dt += dod(ts)
            t += dt
        if kind == 0:
            v = b"\xcb" + struct.pack(">Q", xor_next(i == 0))
        elif kind == 2:
            is_int = vb.get(1)
            bits = xor_next(i == 0)
            if is_int:
                v = pack_int(int(struct.unpack(">d", struct.pack(">Q", bits))[0]))
            else:
                v = b"\xcb" + struct.pack(">Q", bits)
        elif kind == 1:
            if i == 0:
                prev = vb.get(64)
            else:
                dprev = (dprev + dod(vb)) & MASK
                prev = (prev + dprev) & MASK
            v = pack_int(prev - (1 << 64) if prev >> 63 else prev)
        else:
            if vsec[vpos] == REPEAT:
                vpos += 1
            else:
                ln = msgpack_len(vsec, vpos)
                last = bytes(vsec[vpos:vpos + ln])
                vpos += ln
            v = last
        out.append((t, v))
    if out[-1][0] != unzigzag(zt0) + span:
        raise ValueError("corrupt block: last time differs from the header")
    if ts.pos != tsb or (kind == 3 and vpos != vsz) or (kind != 3 and vb.pos != vsz) or p + v_bytes != len(data):
        raise ValueError("corrupt block: bits or bytes left over")
    return out


def stream(con, sid, after=None, end=None):
    """(t, v) of stream sid (an integer) in (after, end], in time order."""
    for (data,) in con.execute("SELECT data FROM blocks WHERE sid = ? ORDER BY t0", (sid,)):
        for t, v in decode(bytes(data)):
            if (after is None or t > after) and (end is None or t <= end):
                yield t, v


def rows(con):
    """(stream id, t, v) of every instance of the store."""
    for sid, data in con.execute(
            "SELECT s.id, b.data FROM blocks b JOIN streams s ON s.sid = b.sid ORDER BY s.id, b.t0"):
        for t, v in decode(bytes(data)):
            yield sid, t, v
