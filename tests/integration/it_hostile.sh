#!/usr/bin/env bash
# Hostile input: a running stack receives on hs/raw/... oversized
# payloads, deep nesting, invalid UTF-8, NaN/Infinity, huge numbers,
# timestamps out of range, duplicate keys, bad msgpack and stream ids that
# try to escape their topic ('..', '.', '$', empty levels, '=', 200 levels,
# 5 KB names). Every payload the broker delivers must end on hs/dead/ingest
# with the expected reason (exactly one dead letter each, also counted in
# the ingest's stats); what the broker itself refuses (invalid UTF-8 or
# control characters in topics, wildcards, 20 MiB) must be refused to the
# publisher and never reach a service. Hostile but valid values (float32,
# integers beyond int64, the ends of the time range) are stored
# canonicalised. The writer's control channel gets garbage and answers each
# request with a JSON error. Stream ids from file names that the broker
# would refuse are rejected. With a payload limit below 256 bytes, a dead
# letter carries nothing beyond the payload. Afterwards every service is
# alive and valid data is stored.
#
# Messages are published by a small MQTT client written here (raw packets),
# since the usual clients refuse to send most of these topics.
. "$(dirname "$0")/lib.sh"
it_setup
# Sections go on after a failure; the test fails at the end naming all of them.
FAILED=""

cat > "$IT_DIR/mqtt.py" <<'PY'
"""A minimal MQTT 3.1.1 / 5 client over a raw socket, enough to publish
anything (also what clients refuse to send) and to read replies."""
import socket, struct, time


def varint(n):
    out = b''
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def mstr(b):
    return struct.pack('>H', len(b)) + b


class Client:
    def __init__(self, port, v5=False):
        self.v5 = v5
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.settimeout(20)
        self.buf = b''
        vh = mstr(b'MQTT') + bytes([5 if v5 else 4, 0x02]) + struct.pack('>H', 60)
        if v5:
            vh += b'\x00'
        pl = mstr(b'hostile-%d' % time.time_ns())
        self.s.sendall(b'\x10' + varint(len(vh) + len(pl)) + vh + pl)
        kind, body = self.packet()
        assert kind == 0x20 and body[1] == 0, 'CONNACK refused: %r' % body

    def read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError('closed by the broker')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def packet(self):
        first = self.read(1)[0]
        n, mult = 0, 1
        while True:
            d = self.read(1)[0]
            n += (d & 0x7f) * mult
            mult *= 128
            if not d & 0x80:
                break
        return first & 0xf0, self.read(n)

    def props(self, response_topic=None):
        if not self.v5:
            return b''
        p = b''
        if response_topic is not None:
            p += b'\x08' + mstr(response_topic) + b'\x09' + mstr(b'corr')
        return varint(len(p)) + p

    def publish(self, topic, payload, qos=1, response_topic=None):
        """'acked', 'acked rc=0xNN' (v5 reason), 'alive' (QoS 0), or 'disconnected ...'."""
        vh = mstr(topic) + (b'\x00\x01' if qos else b'') + self.props(response_topic)
        try:
            self.s.sendall(bytes([0x30 | qos << 1]) + varint(len(vh) + len(payload)) + vh + payload)
            if qos == 0:
                self.s.sendall(b'\xc0\x00')  # PINGREQ: the answer shows the link survived
            while True:
                kind, body = self.packet()
                if kind == 0xe0:
                    return 'disconnected rc=0x%02x' % body[0] if body else 'disconnected'
                if qos == 0 and kind == 0xd0:
                    return 'alive'
                if qos and kind == 0x40:
                    return 'acked' + (' rc=0x%02x' % body[2] if len(body) > 2 and body[2] else '')
        except (ConnectionError, OSError) as e:
            return 'disconnected (%s)' % e.__class__.__name__

    def subscribe(self, topic):
        vh = b'\x00\x02' + (b'\x00' if self.v5 else b'')
        pl = mstr(topic) + b'\x00'
        self.s.sendall(b'\x82' + varint(len(vh) + len(pl)) + vh + pl)
        while True:
            kind, body = self.packet()
            if kind == 0x90:
                return

    def receive(self):
        """The next PUBLISH as (topic, payload); only QoS 0 subscriptions are made."""
        while True:
            kind, body = self.packet()
            if kind != 0x30:
                continue
            tl = struct.unpack('>H', body[:2])[0]
            topic, rest = body[2:2 + tl], body[2 + tl:]
            if self.v5:
                n, i, mult = 0, 0, 1
                while True:
                    d = rest[i]
                    i += 1
                    n += (d & 0x7f) * mult
                    mult *= 128
                    if not d & 0x80:
                        break
                rest = rest[i + n:]
            return topic, rest

    def close(self):
        try:
            self.s.sendall(b'\xe0\x00')
        except OSError:
            pass
        self.s.close()
PY

# ---------------------------------------------------------------- raw input
mosquitto_sub -p "$IT_PORT" -q 1 -t 'hs/dead/ingest' > "$IT_DIR/dead.txt" &
IT_EXTRA_PIDS=$!
sleep 0.5

$PY - "$IT_DIR" "$IT_PORT" <<'PY' || it_fail "publishing the hostile input failed"
import json, struct, sys
sys.path.insert(0, sys.argv[1])
from mqtt import Client
d, port = sys.argv[1], int(sys.argv[2])
T0 = 1700000000            # 2023-11-14T22:13:20Z
T0_US = T0 * 1000000


def mp_inst(v_bytes, t=T0_US):
    """msgpack [t_us, v] with t as int64 and v given encoded."""
    return b'\x92\xd3' + struct.pack('>q', t) + v_bytes


def deep_mp(levels):
    return b'\x91' * (levels - 1) + b'\x90'


# Payloads on hs/raw/hostile/case=<name>: (name, payload, reason substring).
dead_payloads = [
    ('oversize_5mib', b'{"t":%d,"v":"' % T0 + b'x' * (5 << 20) + b'"}', 'larger than max_payload_bytes'),
    ('deep_json_1000', b'{"t":%d,"v":' % T0 + b'[' * 1000 + b']' * 1000 + b'}', 'nesting deeper'),
    ('deep_json_bare_1000', b'[' * 1000 + b']' * 1000, 'nesting deeper'),
    ('deep_json_objects_1000', b'{"a":' * 1000 + b'1' + b'}' * 1000, 'nesting deeper'),
    ('deep_mpack_1000', mp_inst(deep_mp(1000)), 'deeper'),
    ('utf8_invalid_value', b'{"t":%d,"v":"\xff\xfe"}' % T0, 'invalid UTF-8'),
    ('utf8_invalid_key', b'{"t":%d,"v":{"\xc3\x28":1}}' % T0, 'invalid UTF-8'),
    ('utf8_overlong', b'{"t":%d,"v":"\xc0\xaf"}' % T0, 'invalid UTF-8'),
    ('utf8_encoded_surrogate', b'{"t":%d,"v":"\xed\xa0\x80"}' % T0, 'invalid UTF-8'),
    ('utf8_above_10ffff', b'{"t":%d,"v":"\xf4\x90\x80\x80"}' % T0, 'invalid UTF-8'),
    ('utf8_lone_surrogate_escape', b'{"t":%d,"v":"\\ud800"}' % T0, 'surrogate'),
    ('utf8_invalid_mpack_str', mp_inst(b'\xa2\xff\xfe'), 'UTF-8'),
    ('nan_literal', b'{"t":%d,"v":NaN}' % T0, 'unexpected character'),
    ('infinity_literal', b'{"t":%d,"v":Infinity}' % T0, 'unexpected character'),
    ('neg_infinity_literal', b'{"t":%d,"v":-Infinity}' % T0, 'unexpected character'),
    ('nan_bare', b'NaN', 'unexpected character'),
    ('huge_1e400', b'{"t":%d,"v":1e400}' % T0, 'out of the range of a double'),
    ('huge_neg_1e400', b'{"t":%d,"v":-1e400}' % T0, 'out of the range of a double'),
    ('huge_200_digits', b'{"t":%d,"v":%s}' % (T0, b'9' * 200), 'longer than 100 characters'),
    ('time_year_0', b'{"t":"0000-01-01T00:00:00Z","v":1}', 'outside years 0001-9999'),
    ('time_year_10000', b'{"t":"10000-01-01T00:00:00Z","v":1}', 'not ISO-8601'),
    ('time_1e30_seconds', b'{"t":1e30,"v":1}', 'outside years 0001-9999'),
    ('time_1e30_text', b'{"t":"1e30","v":1}', 'outside years 0001-9999'),
    ('time_before_0001', b'{"t":-62135596801,"v":1}', 'outside years 0001-9999'),
    ('time_leap_second', b'{"t":"2016-12-31T23:59:60Z","v":1}', 'not ISO-8601'),
    ('time_mpack_int64_max', mp_inst(b'\x01', t=2**63 - 1), 'outside 0001-01-01'),
    ('time_mpack_int64_min', mp_inst(b'\x01', t=-2**63), 'outside 0001-01-01'),
    ('duplicate_t', b'{"t":%d,"t":%d,"v":1}' % (T0, T0 + 1), 'duplicate key'),
    ('duplicate_v', b'{"t":%d,"v":1,"v":2}' % T0, 'duplicate key'),
    ('duplicate_key_in_value', b'{"t":%d,"v":{"a":1,"a":2}}' % T0, 'duplicate'),
    ('duplicate_key_in_mpack_value', mp_inst(b'\x82\xa1a\x01\xa1a\x02'), 'duplicate'),
    ('mpack_ext', mp_inst(b'\xd4\x01\x02'), 'ext types'),
    ('mpack_int_map_key', mp_inst(b'\x81\x01\x02'), 'map key is not a string'),
    ('mpack_truncated', mp_inst(b'\xa5ab'), 'truncated'),
    ('mpack_truncated_header', b'\x92\xd3\x00\x00', 'truncated'),
    ('mpack_trailing_bytes', mp_inst(b'\x01') + b'\xc0', ''),
]
# Valid but unusual: stored canonicalised. (name, payload, expected "v" as JSON, expected "t")
stored = [
    ('float32', mp_inst(b'\xca' + struct.pack('>f', 1.5)), '1.5', '2023-11-14T22:13:20Z'),
    ('int_beyond_int64', b'{"t":%d,"v":123456789012345678901234567890}' % T0,
     '1.2345678901234568e+29', '2023-11-14T22:13:20Z'),
    ('uint64_mpack', mp_inst(b'\xcf' + struct.pack('>Q', 2**64 - 1)), '1.8446744073709552e+19',
     '2023-11-14T22:13:20Z'),
    ('time_first_instant', b'{"t":-62135596800,"v":1}', '1', '0001-01-01T00:00:00Z'),
    ('time_last_instant', b'{"t":"9999-12-31T23:59:59.999999Z","v":1}', '1',
     '9999-12-31T23:59:59.999999Z'),
]
ok_payload = b'{"t":%d,"v":1}' % T0
long_pairs = b'/'.join(b'k%d=v' % i for i in range(198))
# Topics that reach ingest but name no valid stream: (topic, reason substring).
dead_topics = [
    (b'hs/raw', 'names no stream'),
    (b'hs/raw/', 'names no stream'),
    (b'hs/raw/..', "may not be '..'"),
    (b'hs/raw/.', "may not be '.'"),
    (b'hs/raw/../hs/s/temperature', "'..'"),
    (b'hs/raw/$SYS', "starts with '$'"),
    (b'hs/raw/$share/g/x', "starts with '$'"),
    (b'hs/raw/hostile/case=..', "may not be '..'"),
    (b'hs/raw/hostile/..=x', "may not be '..'"),
    (b'hs/raw/a//b', 'empty'),
    (b'hs/raw//a', 'empty'),
    (b'hs/raw/hostile/', 'empty'),
    (b'hs/raw/a=b', "contains '='"),
    (b'hs/raw/a=b/c=d', "contains '='"),
    (b'hs/raw/hostile/house', "has no '='"),
    (b'hs/raw/hostile/k=v=w', "'='"),
    (b'hs/raw/hostile/=v', 'empty key'),
    (b'hs/raw/hostile/k=', 'empty value'),
    (b'hs/raw/hostile/b=c/b=d', 'more than once'),
    (b'hs/raw/' + b'/'.join(b'l%d' % i for i in range(198)), 'invalid stream id'),
    (b'hs/raw/t/' + long_pairs, 'invalid stream id'),
    (b'hs/raw/' + b'x' * 5000, 'longer than'),
    (b'hs/raw/hostile/k=' + b'v' * 200, 'invalid stream id'),
]
# Topics the broker must refuse (the publisher is disconnected).
refused_topics = [
    b'hs/raw/bad\xff\xfeutf8', b'hs/raw/bad\xc0\xafoverlong', b'hs/raw/ctl\x01char',
    b'hs/raw/tab\tchar', b'hs/raw/new\nline', b'hs/raw/del\x7fchar', b'hs/raw/c1\xc2\x85char',
    b'hs/raw/nul\x00char', b'hs/raw/nonchar\xef\xbf\xbf', b'hs/raw/nonchar\xef\xb7\x90',
    b'hs/raw/wild/+', b'hs/raw/wild/#', b'hs/raw/+/x',
]
failures = []
expected = []   # (topic, reason substring) of every expected dead letter

c = Client(port)
for name, payload, reason in dead_payloads:
    topic = b'hs/raw/hostile/case=' + name.encode()
    r = c.publish(topic, payload)
    if r != 'acked':
        failures.append('%s: publish gave %s' % (name, r))
        c = Client(port)
    expected.append((topic.decode(), reason))
for name, payload, v, t in stored:
    r = c.publish(b'hs/raw/hostile/case=' + name.encode(), payload)
    if r != 'acked':
        failures.append('%s: publish gave %s' % (name, r))
for topic, reason in dead_topics:
    r = c.publish(topic, ok_payload)
    if r != 'acked':
        failures.append('%r: publish gave %s' % (topic[:40], r))
        c = Client(port)
    expected.append((topic.decode(), reason))
c.close()
for topic in refused_topics:
    for v5 in (False, True):
        c = Client(port, v5)
        r = c.publish(topic, ok_payload)
        if not r.startswith('disconnected'):
            failures.append('%r (MQTT %s): the broker took it (%s)' % (topic, 5 if v5 else 3, r))
        c.close()
# 20 MiB is above the broker's max_packet_size (16 MiB): refused.
c = Client(port, v5=True)
r = c.publish(b'hs/raw/hostile/case=oversize_20mib', b'{"v":"' + b'x' * (20 << 20) + b'"}')
if r not in ('acked rc=0x95',) and not r.startswith('disconnected'):
    failures.append('20 MiB (MQTT 5): expected refusal (PUBACK 0x95 or disconnect), got %s' % r)
c.close()
c = Client(port)
r = c.publish(b'hs/raw/hostile/case=oversize_20mib_v3', b'{"v":"' + b'x' * (20 << 20) + b'"}')
c.close()
json.dump({'expected': expected, 'stored': [(n, v, t) for n, _, v, t in stored],
           'failures': failures}, open(d + '/cases.json', 'w'))
print('%d dead letters expected, %d stored cases, %d refused topics, 20 MiB: %s' % (
    len(expected), len(stored), len(refused_topics), r), file=sys.stderr)
PY
NDEAD=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["expected"]))' "$IT_DIR/cases.json")
for _ in $(seq 1 300); do
  [ "$(wc -l < "$IT_DIR/dead.txt")" -ge "$NDEAD" ] && break
  sleep 0.1
done
# Anything extra would arrive right behind: give it a moment.
sleep 1
it_all_alive

# Valid data after all that is stored.
for i in 1 2 3; do
  mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/hostile/case=after' -m "{\"t\":$((1700000000 + i)),\"v\":$i}"
done
it_wait_eq 3 30 it_count "hostile/case=after"

# Dead letters, stored values, refusals: every mismatch is listed before failing.
for c in float32 int_beyond_int64 uint64_mpack time_first_instant time_last_instant; do
  $HSCTL stream get "hostile/case=$c" > "$IT_DIR/got_$c.jsonl" 2>&1 || true
done
$HSCTL stream ls --json > "$IT_DIR/streams.jsonl" 2>&1 || true
$HSCTL ctl ingest stats > "$IT_DIR/ingest_stats.json" 2>/dev/null || true
$PY - "$IT_DIR" <<'PY' || FAILED="$FAILED; raw input (see the PROBLEM lines)"
import collections, json, sys
d = sys.argv[1]
cases = json.load(open(d + '/cases.json'))
problems = list(cases['failures'])
letters = []
for line in open(d + '/dead.txt', encoding='utf-8', errors='replace'):
    try:
        letters.append(json.loads(line))
    except ValueError:
        problems.append('a dead letter is not JSON: %.80r' % line)
by_topic = collections.defaultdict(list)
for m in letters:
    if not m.get('reason') or 'topic' not in m or not (
            'payload' in m or 'payload_b64' in m or 'payload_json' in m):
        problems.append('dead letter without reason, topic or payload: %.200r' % m)
    by_topic[m.get('topic')].append(m)
for topic, reason in cases['expected']:
    got = by_topic.pop(topic, [])
    short = topic if len(topic) < 60 else topic[:57] + '...'
    if len(got) != 1:
        problems.append('%s: %d dead letters, expected 1' % (short, len(got)))
    elif reason not in got[0]['reason']:
        problems.append('%s: reason %r lacks %r' % (short, got[0]['reason'][:200], reason))
    else:
        print('  dead  %-50s %s' % (short, got[0]['reason'][:90]), file=sys.stderr)
for topic, ms in by_topic.items():
    problems.append('unexpected dead letter on %.60r: %s' % (topic, ms[0].get('reason')))
counts = {}
for line in open(d + '/streams.jsonl'):
    try:
        s = json.loads(line)
        counts[s['stream']] = s['count']
    except (ValueError, KeyError):
        pass
for name, v, t in cases['stored']:
    rows = [l for l in open('%s/got_%s.jsonl' % (d, name)) if l.strip()]
    want = '{"t":"%s","v":%s}' % (t, v)
    if [r.strip() for r in rows] != [want]:
        problems.append('stored %s: got %r, expected %r' % (name, rows[:2], want))
    else:
        print('  kept  %-50s %s' % ('hostile/case=' + name, want), file=sys.stderr)
for s in counts:
    if 'oversize' in s or (s.startswith('hostile/case=') and s.split('=', 1)[1] not in
                           [n for n, _, _ in cases['stored']] + ['after']):
        problems.append('stream %s was stored (%s instances)' % (s, counts[s]))
try:
    st = json.load(open(d + '/ingest_stats.json'))
    n = st['stats']['dead_lettered']
    if n != len(cases['expected']):
        problems.append('ingest counts %d dead letters, expected %d' % (n, len(cases['expected'])))
except (ValueError, KeyError) as e:
    problems.append('ingest stats unreadable: %s' % e)
for p in problems:
    print('PROBLEM: ' + p, file=sys.stderr)
print('%d dead letters checked, %d problems' % (len(cases['expected']), len(problems)),
      file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# ---------------------------------------------------------------- control channel
$PY - "$IT_DIR" "$IT_PORT" <<'PY' || FAILED="$FAILED; control channel (see the PROBLEM lines)"
import json, sys
sys.path.insert(0, sys.argv[1])
from mqtt import Client
d, port = sys.argv[1], int(sys.argv[2])
reply_topic = b'hostile/reply'
sub = Client(port, v5=True)
sub.subscribe(reply_topic)
pub = Client(port, v5=True)
# (label, request, substring the error must hold ('': any error text); None: a success)
requests = [
    ('not JSON', b'not json at all', 'JSON objects'),
    ('invalid UTF-8', b'\xff\xfe{"cmd":"ping"}', 'JSON objects'),
    ('empty', b'', 'JSON objects'),
    ('JSON array', b'["ping"]', 'JSON objects'),
    ('huge JSON array (4 MiB)', b'[' + b'1,' * (2 << 20) + b'1]', 'JSON objects'),
    ('deep JSON (1000)', b'{"cmd":' * 1000 + b'1' + b'}' * 1000, 'JSON objects'),
    ('huge command (1 MiB)', b'{"cmd":"' + b'p' * (1 << 20) + b'"}', ''),
    ('unknown command', b'{"cmd":"frobnicate"}', 'unknown command'),
    ('command not a string', b'{"cmd":42}', 'unknown command'),
    ('command with a quote', b'{"cmd":"a\\"b"}', ''),
    ('command with a control character', b'{"cmd":"a\\u0001b"}', ''),
    ('set of a setting fixed at start', b'{"cmd":"set","name":"store_url","value":"x"}', 'cannot be changed'),
    ('set with a quote in the name', b'{"cmd":"set","name":"a\\"b","value":"x"}', ''),
    ('get with a quote in the name', b'{"cmd":"get","name":"no\\"such"}', ''),
    ('get of an unknown setting', b'{"cmd":"get","name":"nosuch"}', 'no setting'),
    ('set of a bad value', b'{"cmd":"set","name":"batch_max_delay","value":"soon"}', 'duration'),
    ('ping', b'{"cmd":"ping"}', None),
]
problems = []
# A request without a response topic gets no reply and does no harm.
pub.publish(b'hs/ctl/writer', b'\x00\x01garbage')
for label, req, want in requests:
    r = pub.publish(b'hs/ctl/writer', req, response_topic=reply_topic)
    if r != 'acked':
        problems.append('%s: publish gave %s' % (label, r))
        pub = Client(port, v5=True)
        continue
    try:
        topic, payload = sub.receive()
    except OSError as e:
        problems.append('%s: no reply (%s)' % (label, e))
        break
    try:
        rep = json.loads(payload)
        ok = isinstance(rep, dict) and rep.get('ok') is (want is None)
        if want is not None:
            ok = ok and isinstance(rep.get('error'), str) and rep['error'] != '' \
                and want in rep['error']
    except ValueError:
        rep, ok = payload[:200], False
    print('  ctl  %-34s %.100s' % (label, payload.decode('utf-8', 'replace')), file=sys.stderr)
    if not ok:
        problems.append('%s: reply %.200r is not the expected JSON %s' % (
            label, payload, 'error about %r' % want if want else 'success'))
for p in problems:
    print('PROBLEM: ' + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
it_all_alive

# ---------------------------------------------------------------- small payload limit
# With max_payload_bytes below 256, a rejected payload's dead letter carries
# at most the payload itself: nothing read beyond it.
IPID=$(it_pid ingest)
kill "$IPID"
for _ in $(seq 1 100); do kill -0 "$IPID" 2>/dev/null || break; sleep 0.1; done
HS_MAX_PAYLOAD_BYTES=64 it_restart
NBEFORE=$(wc -l < "$IT_DIR/dead.txt")
SMALL='{"t":1700000000,"v":"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"}'
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/hostile/case=over_small_limit' -m "$SMALL"
for _ in $(seq 1 100); do
  [ "$(wc -l < "$IT_DIR/dead.txt")" -gt "$NBEFORE" ] && break
  sleep 0.1
done
it_all_alive
tail -n +"$((NBEFORE + 1))" "$IT_DIR/dead.txt" > "$IT_DIR/dead_small.txt"
$PY - "$IT_DIR/dead_small.txt" "$SMALL" <<'PY' || FAILED="$FAILED; small max_payload_bytes (see the PROBLEM line)"
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()
sent = sys.argv[2].encode()
try:
    assert len(lines) == 1, '%d dead letters, expected 1' % len(lines)
    m = json.loads(lines[0])
    assert 'max_payload_bytes (64)' in m['reason'], m['reason']
    got = m['payload'].encode() if 'payload' in m else base64.b64decode(m['payload_b64'])
    assert sent.startswith(got), 'the dead letter of a %d-byte payload carries %d bytes: %r' % (
        len(sent), len(got), got[len(sent):][:40])
except (AssertionError, KeyError, ValueError) as e:
    print('PROBLEM: %s' % e, file=sys.stderr)
    sys.exit(1)
PY

# ---------------------------------------------------------------- file names
# Stream ids from file names in the watched directory: one without '=' in a
# meta-data part, and one with a Unicode noncharacter, which the broker
# refuses in topics (the writer's announcement on hs/s/<id> would get its
# connection closed). Both files must go to failed/ with a report naming
# the reason, and no service may lose its connection.
check_bad_file() {  # name, reason substring
  local name=$1 want=$2
  echo '{"t":1700000000,"v":1}' > "$IT_DIR/inbox/.claim.tmp"
  mv "$IT_DIR/inbox/.claim.tmp" "$IT_DIR/inbox/$name"
  for _ in $(seq 1 600); do
    { [ -e "$IT_DIR/inbox/done/$name" ] || [ -e "$IT_DIR/inbox/failed/$name" ]; } && break
    sleep 0.1
  done
  if [ ! -e "$IT_DIR/inbox/failed/$name" ]; then
    FAILED="$FAILED; file $name did not go to failed/ ($(ls "$IT_DIR/inbox/done" | tr '\n' ' ') in done/)"
  elif ! grep -qF "$want" "$IT_DIR/inbox/failed/$name.errors" 2>/dev/null; then
    FAILED="$FAILED; failed/$name.errors lacks '$want'"
  else
    it_log "file $name rejected: $(head -c 150 "$IT_DIR/inbox/failed/$name.errors")"
  fi
}
check_bad_file "hostile,house.jsonl" "has no '='"
check_bad_file "nonchar$(printf '\xef\xbf\xbf').jsonl" "stream id"
SVC_DROP='Client (writer|ingest|scheduler|tools)[-a-z0-9]* disconnected due to malformed packet'
if grep -Eq "$SVC_DROP" "$IT_DIR/logs/broker.log"; then
  FAILED="$FAILED; the broker closed a service's connection: $(grep -E "$SVC_DROP" "$IT_DIR/logs/broker.log" | head -1)"
fi
it_all_alive

# The writer still stores after the control garbage.
mosquitto_pub -p "$IT_PORT" -q 1 -t 'hs/raw/hostile/case=after' -m '{"t":1700000010,"v":10}'
it_wait_eq 4 30 it_count "hostile/case=after"
it_all_alive
[ -z "$FAILED" ] || it_fail "${FAILED#; }"
it_log "ok: hostile raw input dead-lettered with reasons, broker refusals held, control channel answered, stack alive"
