#!/usr/bin/env bash
# The online engine: an online workflow every 1s over the window [-5s, -1s],
# fed live through hs/raw. Results appear on hs/s as their intervals close,
# and the calculated intervals are contiguous.
. "$(dirname "$0")/lib.sh"
it_setup
cat > "$IT_DIR/wf.yaml" <<'YAML'
id: live
online: {every: 1s, window: [-5s, -1s]}
factors:
  - tool: sliding_window
    params: {width: 1s, increment: 1s}
    sink: ticks
  - tool: sliding_apply
    params: {func: count}
    sources: [ticks, reading]
    sink: per_second
YAML
# Subscribe first, stamping each result with its arrival time.
$PY - "$IT_PORT" "$IT_DIR/arrivals.txt" <<'PY' &
import socket, struct, sys, time
# A minimal MQTT 3.1.1 subscriber (QoS 0) that records arrival times of hs/s/per_second.
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
def pkt(t, body): 
    n, enc = len(body), b""
    while True:
        b, n = n % 128, n // 128
        enc += bytes([b | (128 if n else 0)])
        if not n: break
    return bytes([t]) + enc + body
cid = b"it-online-sub"
s.sendall(pkt(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(cid)) + cid))
s.recv(4)
topic = b"hs/s/per_second"
s.sendall(pkt(0x82, b"\x00\x01" + struct.pack(">H", len(topic)) + topic + b"\x00"))
buf = b""
f = open(out, "w")
end = time.time() + 40
s.settimeout(1)
while time.time() < end:
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    if not data: break
    buf += data
    while len(buf) >= 2:
        mult, n, i = 1, 0, 1
        while True:
            b = buf[i]; n += (b & 127) * mult; mult *= 128; i += 1
            if not b & 128: break
        if len(buf) < i + n: break
        typ, body = buf[0] >> 4, buf[i:i + n]
        buf = buf[i + n:]
        if typ == 3:
            tl = struct.unpack(">H", body[:2])[0]
            f.write("%.6f %s\n" % (time.time(), body[2 + tl:].hex()))
            f.flush()
PY
IT_EXTRA_PIDS=$!
sleep 0.5
# Monitoring events while the workflow runs online, at the default mon_level (info).
mosquitto_sub -p "$IT_PORT" -t 'hs/mon' > "$IT_DIR/mon_info.txt" &
MON_INFO=$!
$HSCTL workflow add "$IT_DIR/wf.yaml" >/dev/null || it_fail "workflow add failed"
# Ten readings per second, stamped now, for about 12 seconds.
$PY - "$IT_PORT" <<'PY'
import subprocess, sys, time
port = sys.argv[1]
p = subprocess.Popen(["mosquitto_pub", "-p", port, "-q", "1", "-t", "hs/raw/reading", "-l"],
                     stdin=subprocess.PIPE, text=True)
end = time.time() + 12
while time.time() < end:
    p.stdin.write('{"t":%.6f,"v":1}\n' % time.time())
    p.stdin.flush()
    time.sleep(0.1)
p.stdin.close()
p.wait()
PY
kill "$MON_INFO"; wait "$MON_INFO" 2>/dev/null || true
# An online run that goes well is routine (level debug): none was published at info ...
if grep -q '"n":"workflow_\(start\|end\)","vs":"live request o-' "$IT_DIR/mon_info.txt"; then
  it_fail "routine online events were published at mon_level info: $(head -c 300 "$IT_DIR/mon_info.txt")"
fi
# ... and they are, with their level and interval, once mon_level is debug.
$HSCTL ctl scheduler set mon_level debug >/dev/null || it_fail "hsctl ctl scheduler set mon_level debug failed"
timeout 15 mosquitto_sub -p "$IT_PORT" -t 'hs/mon' -C 2 -W 10 > "$IT_DIR/mon_debug.txt" || true
$PY - "$IT_DIR/mon_debug.txt" <<'PY' || it_fail "no debug events of online runs: $(cat "$IT_DIR/mon_debug.txt")"
import datetime, json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
assert len(events) == 2, events
def us(iso):
    d = datetime.datetime.strptime(iso.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    frac = iso.rstrip("Z").split(".")[1] if "." in iso else "0"
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000000 + int(frac.ljust(6, "0"))
for e in events:
    assert e["level"] == "debug", e
    assert e["e"][0]["n"] in ("workflow_start", "workflow_end"), e
    assert e["e"][0]["vs"].startswith("live request o-"), e
    s, t = e["interval_us"]
    assert [us(x) for x in e["interval"]] == [s, t] and s < t, e
PY
$HSCTL ctl scheduler set mon_level info >/dev/null || it_fail "hsctl ctl scheduler set mon_level info failed"
it_log "online runs: no events at mon_level info, $(wc -l < "$IT_DIR/mon_debug.txt") at debug"
sleep 2
# Decode arrivals: msgpack [[t_us, v], ...]; latency = arrival - t (the window's end).
$PY - "$IT_DIR/arrivals.txt" <<'PY' > "$IT_DIR/latency.txt" || it_fail "no or late online results"
import sys
lat = []
for line in open(sys.argv[1]):
    arrival, hexpay = line.split()
    b = bytes.fromhex(hexpay)
    # Parse a msgpack array of [int t_us, value] pairs (only what the writer sends here).
    i = 0
    def rd():
        global i
        c = b[i]; i += 1
        if c <= 0x7f: return c
        if 0x90 <= c <= 0x9f: return [rd() for _ in range(c & 15)]
        if c == 0xdc: n = int.from_bytes(b[i:i+2], "big"); i += 2; return [rd() for _ in range(n)]
        if c == 0xcf or c == 0xd3: v = int.from_bytes(b[i:i+8], "big", signed=c == 0xd3); i += 8; return v
        if c == 0xce or c == 0xd2: v = int.from_bytes(b[i:i+4], "big", signed=c == 0xd2); i += 4; return v
        if c == 0xcd: v = int.from_bytes(b[i:i+2], "big"); i += 2; return v
        if c == 0xcc: v = b[i]; i += 1; return v
        raise ValueError(hex(c))
    for t, v in rd():
        lat.append(float(arrival) - t / 1e6)
assert len(lat) >= 8, "only %d results arrived" % len(lat)
lat.sort()
print("results %d, latency after the window end: p50 %.3fs, max %.3fs" % (len(lat), lat[len(lat)//2], lat[-1]))
# The engine lags the clock by window.end (1 s) and runs every 1 s: a result is
# due at most 2 s after its window closes; allow scheduling noise on top.
assert lat[-1] <= 2.5, lat[-1]
PY
it_log "$(cat "$IT_DIR/latency.txt")"
ivs=$($HSCTL stream intervals per_second)
case "$ivs" in *" U "*) it_fail "calculated intervals have gaps: $ivs" ;; esac
it_log "calculated intervals contiguous: $ivs"
it_all_alive
it_log "ok"
