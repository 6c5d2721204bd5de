#!/usr/bin/python3
"""Checks the payload schemas in schemas/ and real messages against them.

  check_schemas.py selftest [--hsctl PATH]
      Every schema is a valid JSON Schema (draft 2020-12) whose patterns
      compile; examples/*.yaml validate against workflow.json; sample
      payloads that the services accept validate and samples they refuse do
      not. With --hsctl, every sample workflow is also given to
      `hsctl workflow check`, which must agree with the schema.

  check_schemas.py capture FILE [--expect-invalid TOPIC]...
      FILE holds messages captured on '#' by
      mosquitto_sub -F '%r<TAB>%q<TAB>%t<TAB>%x' (retain flag, QoS, topic,
      payload in hex), one per line. Every message is decoded as its topic
      kind demands (JSON text or msgpack) and validated against its schema;
      the topic suffix must agree with the payload where both name the same
      thing; every acknowledgement must answer a captured write request and
      every write request must be acknowledged. Fails when a message does not
      validate, when a topic kind or a write-request op was never seen, or
      when a topic has no schema. Messages on an --expect-invalid topic must
      all be refused by the schema and all be dead-lettered.

Run with /usr/bin/python3 (python3-jsonschema, python3-yaml, python3-msgpack).
Exit status: 0 all good, 1 problems found (listed on stderr), 2 usage error.
"""

import argparse
import base64
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import msgpack
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCHEMAS = os.path.join(ROOT, "schemas")
EXAMPLES = os.path.join(ROOT, "examples")

# Topic kind (the level after the prefix) -> (schema file, #/$defs entry or None, encoding).
TOPIC_KINDS = {
    "raw": ("raw-payload.json", None, "raw"),
    "w": ("write-request.json", None, "msgpack"),
    "ack": ("ack.json", None, "msgpack"),
    "s": ("stream-data.json", None, "msgpack"),
    "exec": ("job.json", None, "msgpack"),
    "committed": ("committed.json", None, "msgpack"),
    "api": ("api.json", "request", "json"),
    "reply": ("api.json", "reply", "json"),
    "progress": ("progress.json", None, "json"),
    "dead": ("dead-letter.json", None, "json"),
    "status": ("status.json", None, "json"),
    "metrics": ("metrics.json", None, "json"),
    "purged": ("purged.json", None, "msgpack"),
}
# Topic kinds published on <prefix>/<kind> itself, without a suffix.
NO_SUFFIX = {"purged"}
WRITE_OPS = ("append", "job", "define", "purge", "doc_put", "doc_del")
SCHEMA_FILES = sorted({v[0] for v in TOPIC_KINDS.values()} | {"workflow.json"})


def _is_int(_checker, instance):
    # msgpack and JSON integers only: a float with an integral value is not an integer here.
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int),
)


def load_schema(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
        return json.load(f)


def validator(name, sub=None):
    """A validator for schema file name, or for its #/$defs/<sub>."""
    schema = load_schema(name)
    if sub is not None:
        if sub not in schema.get("$defs", {}):
            raise KeyError(f"schemas/{name} has no $defs/{sub}")
        schema = {k: schema[k] for k in ("$schema", "$id", "$defs")}
        schema["$ref"] = "#/$defs/" + sub
    return StrictValidator(schema)


def _closest(err, depth=0):
    """For a failed oneOf/anyOf, the error of the branch that came closest (recursively).

    Branches failing on a const (the 'op' of another operation, the 'ok' of
    another reply) or on the type of the value itself are the wrong branch;
    among the others, the one with the fewest errors wins, then the deepest.
    """
    if not err.context or depth > 8:
        return err
    branches = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)

    def rank(errs):
        wrong = any(e.validator == "const" or
                    (e.validator == "type" and e.absolute_path == err.absolute_path)
                    for e in errs)
        return (wrong, len(errs), -max(len(e.absolute_path) for e in errs))

    errs = min(branches.values(), key=rank)
    return _closest(jsonschema.exceptions.best_match(errs), depth + 1)


def first_error(v, instance):
    """The most relevant validation error as one line, or None."""
    err = jsonschema.exceptions.best_match(v.iter_errors(instance))
    if err is None:
        return None
    err = _closest(err)
    where = "/".join(str(p) for p in err.absolute_path) or "(top)"
    msg = err.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"at {where}: {msg}"


# ------------------------------------------------------------------ decoding


class DecodeError(Exception):
    pass


def _json_model(obj, path="(top)"):
    """Turns unpacked msgpack into the JSON data model the schemas describe."""
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, list):
        return [_json_model(x, f"{path}/{i}") for i, x in enumerate(obj)]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise DecodeError(f"map key {k!r} at {path} is not a string")
            out[k] = _json_model(v, f"{path}/{k}")
        return out
    if isinstance(obj, msgpack.ExtType):
        raise DecodeError(f"msgpack ext type {obj.code} at {path}")
    return obj


def decode_msgpack(payload):
    try:
        obj = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except msgpack.ExtraData as e:
        try:
            rest = repr(list(msgpack.Unpacker(io.BytesIO(e.extra), raw=False)))
        except Exception:  # the rest may be anything
            rest = e.extra[:40].hex()
        raise DecodeError(
            f"{len(e.extra)} bytes follow the msgpack value (a map or array header counts "
            f"fewer entries than were written?): {rest[:200]}"
        ) from None
    except Exception as e:  # msgpack raises several kinds for bad input
        raise DecodeError(f"not msgpack: {e}") from None
    return _json_model(obj)


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DecodeError(f"duplicate key {k!r}")
        d[k] = v
    return d


def _no_constant(name):
    raise DecodeError(f"{name} is not JSON")


def decode_json(payload):
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"not UTF-8: {e}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except DecodeError:
        raise
    except ValueError as e:
        raise DecodeError(f"not JSON: {e}") from None


def is_msgpack_array(payload):
    """ingest's rule: msgpack when the first byte is an array header."""
    return len(payload) > 0 and (0x90 <= payload[0] <= 0x9F or payload[0] in (0xDC, 0xDD))


# ------------------------------------------------------------------ selftest samples

CLOCK = "factors: [{tool: clock, sink: t}]\n"
WORKFLOW_SAMPLES = [
    # (what, YAML text, valid?) -- every sample also goes to `hsctl workflow check`.
    ("DESIGN.md example", """
id: house_climate
name: Climate per house
owner: demo
online: {every: 10s, window: [-60s, -10s]}
plates:
  H:   {meta: house, values: ["1", "2", "3"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: sliding_window
    params: {width: 10s, increment: 10s}
    sink: windows
  - tool: sliding_apply
    params: {func: mean}
    sources: [windows, temperature]
    sink: temp_10s
    plates: [H.R]
  - tool: aggregate
    params: {func: mean}
    over: room
    sources: [temp_10s]
    sink: house_temp_10s
    plates: [H]
""", True),
    ("JSON form, every optional key", """
{"id": "every_key", "name": "n", "owner": "o", "description": "d", "online": null,
 "job_span": "1h30m", "monitor": {"anything": 1},
 "plates": {"H": {"meta": "house", "values": [1, 2], "description": "numbers are text"},
            "H.R": {"meta": "room", "parent": "H", "values": ["kitchen"]}},
 "inputs": {"temperature": {"plates": ["H.R"]}, "humidity": null},
 "factors": [
   {"tool": {"name": "sliding_window", "version": "1.0"}, "params": {"width": "1m"},
    "sink": "minutes", "name": "grid"},
   {"tool": "sliding_apply", "version": "1.0.7", "params": {"func": "max"},
    "sources": ["minutes", "temperature"], "sink": "room_max", "plates": ["H.R"],
    "lookback": "2m"},
   {"tool": "apply", "params": {"func": "c_to_f"}, "sources": "temperature",
    "sink": "temp_f", "plates": ["H.R"]},
   {"tool": "clock", "params": null, "sink": "ticks", "plates": []}]}
""", True),
    ("multi-output tool", """
id: split
plates:
  H:   {meta: house, values: ["1"]}
  H.R: {meta: room, parent: H, values: [kitchen, lounge]}
factors:
  - tool: splitter
    params: {element: room}
    sources: [readings]
    sink: by_room
    plates: [H.R]
""", True),
    ("unknown top-level key", """
id: x
schedule: daily
factors: [{tool: clock, sink: t}]
""", False),
    ("no factors", "id: x\nfactors: []\n", False),
    ("no id", "factors: [{tool: clock, sink: t}]\n", False),
    ("id with a slash", "id: a/b\nfactors: [{tool: clock, sink: t}]\n", False),
    ("unknown factor key", "id: x\nfactors: [{tool: clock, sink: t, sinks: [u]}]\n", False),
    ("factor without a sink", "id: x\nfactors: [{tool: clock}]\n", False),
    ("sink named with '='", "id: x\nfactors: [{tool: clock, sink: a=b}]\n", False),
    ("two plates on a factor", """
id: x
plates: {A: {meta: a, values: ["1"]}, B: {meta: b, values: ["1"]}}
factors: [{tool: clock, sink: t, plates: [A, B]}]
""", False),
    ("plate without meta", "id: x\nplates: {A: {values: [\"1\"]}}\n" + CLOCK, False),
    ("duplicate plate value", "id: x\nplates: {A: {meta: a, values: [\"1\", \"1\"]}}\n" + CLOCK,
     False),
    ("unknown plate key", "id: x\nplates: {A: {meta: a, values: [\"1\"], kind: x}}\n" + CLOCK,
     False),
    ("online without every", "id: x\nonline: {window: [-60s, -10s]}\n" + CLOCK, False),
    ("online window of three", "id: x\nonline: {every: 1s, window: [-3s, -2s, -1s]}\n" + CLOCK,
     False),
    ("unknown online key", "id: x\nonline: {every: 1s, lag: 2s}\n" + CLOCK, False),
    ("units out of order", "id: x\njob_span: 30m1h\n" + CLOCK, False),
    ("zero job_span", "id: x\njob_span: 0s\n" + CLOCK, False),
    ("negative every", "id: x\nonline: {every: -5s}\n" + CLOCK, False),
    ("negative lookback", "id: x\nfactors: [{tool: clock, sink: t, lookback: -1s}]\n", False),
    ("bad version", "id: x\nfactors: [{tool: {name: clock, version: \"1.0x\"}, sink: t}]\n", False),
    ("tool map without name", "id: x\nfactors: [{tool: {version: \"1.0\"}, sink: t}]\n", False),
    ("params not a mapping", "id: x\nfactors: [{tool: clock, params: [1], sink: t}]\n", False),
    ("output_plate on a plain tool", """
id: x
plates: {A: {meta: a}}
factors: [{tool: clock, sink: t, output_plate: A}]
""", False),
]

# (schema, #/$defs entry or None, sample, valid?)
PAYLOAD_SAMPLES = [
    ("raw-payload.json", "json", {"t": "2016-04-28T20:00:00Z", "v": 21.5}, True),
    ("raw-payload.json", "json", {"t": "2016-04-28 20:00:00.123456789+02:00", "v": 1}, True),
    ("raw-payload.json", "json", {"t": 1461873600.5, "v": {"a": [1, 2]}}, True),
    ("raw-payload.json", "json", {"t": "1461873600", "v": None}, True),
    ("raw-payload.json", "json", {"v": "on"}, True),
    ("raw-payload.json", "json", [{"t": 1, "v": 2}, {"v": 3}], True),
    ("raw-payload.json", "json", 21.5, True),
    ("raw-payload.json", "json", {"temp": 21.5}, True),
    ("raw-payload.json", "json", [1461873600, 5], True),
    ("raw-payload.json", "json", [], True),
    ("raw-payload.json", "json", {"t": "yesterday", "v": 1}, False),
    ("raw-payload.json", "json", {"t": "2016-13-01T00:00:00Z", "v": 1}, False),
    ("raw-payload.json", "json", {"t": 1}, False),
    ("raw-payload.json", "json", {"t": 1, "v": 2, "unit": "C"}, False),
    ("raw-payload.json", "json", {"t": True, "v": 2}, False),
    ("raw-payload.json", "json", {"t": 1e15, "v": 2}, False),
    ("raw-payload.json", "json", [{"t": 1, "v": 2}, 5], False),
    ("raw-payload.json", "msgpack", [1461873600000000, 21.5], True),
    ("raw-payload.json", "msgpack", [[1, "a"], [2, {"k": None}]], True),
    ("raw-payload.json", "msgpack", [], True),
    ("raw-payload.json", "msgpack", [1.5, 2], False),
    ("raw-payload.json", "msgpack", [1, 2, 3], False),
    ("raw-payload.json", "msgpack", [[1, 2], 5], False),
    ("raw-payload.json", "msgpack", [-62135596800000001, 0], False),
    ("stream-data.json", None, [[1700000000000000, 1.5]], True),
    ("stream-data.json", None, [], False),
    ("stream-data.json", None, [[1700000000000000.0, 1.5]], False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 1, "op": "append",
                                  "stream": "temperature/house=1/room=kitchen",
                                  "data": [[1, 2.5]]}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 1, "op": "append",
                                  "stream": "temperature/house=1/room",
                                  "data": [[1, 2.5]]}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 0, "op": "purge",
                                  "stream": "t"}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 2, "op": "purge",
                                  "stream": "t", "remove": True}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 2, "op": "compact",
                                  "stream": "t"}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 1, "{}"], ["u/a=1", 0, None]]}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 3, "{}"]]}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 4, "op": "job",
                                  "job": "j0123456789abcdef", "workflow": "w", "factor": "0",
                                  "pv": "", "tool": {"name": "clock", "version": "1.0.0",
                                                     "params": {}},
                                  "binding": "0123456789abcdef", "interval": [0, 10],
                                  "sinks": ["t"], "attempt": 2, "runtime": "scheduler",
                                  "error": "no commit after 3 dispatches of 60s each"}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 4, "op": "job",
                                  "job": "j0123456789abcdef", "workflow": "w", "factor": "0",
                                  "pv": "", "tool": {"name": "clock", "version": "1.0.0",
                                                     "params": {}},
                                  "binding": "0123456789abcdef", "interval": [0, 10],
                                  "sinks": ["t"], "attempt": 0, "runtime": "tools",
                                  "part": 0, "parts": 1, "started_us": 5, "duration_us": 1,
                                  "error": "boom", "outputs": [["t", [[10, 1]]]]}, False),
    ("ack.json", None, {"v": 1, "inc": 5,
                        "acks": [[1, 0, 3, 0, 0], [2, 1, 0, 0, 0, "no stream t"]]}, True),
    ("ack.json", None, {"v": 1, "inc": 5, "acks": [[1, 1, 0, 0, 0]]}, False),
    ("ack.json", None, {"v": 1, "inc": 5, "acks": [[1, 0, 3, 0, 0, "?"]]}, False),
    ("committed.json", None, {"job": "j0123456789abcdef", "workflow": "w", "factor": "1",
                              "pv": "house=1", "interval": [0, 10], "outcome": "stale",
                              "count": 0, "error": "sink t is defined differently now"}, True),
    ("committed.json", None, {"job": "j0123456789abcdef", "workflow": "w", "factor": "1",
                              "pv": "house=1", "interval": [0, 10], "outcome": "failed",
                              "count": 0, "error": ""}, False),
    ("status.json", None, {"state": "offline", "id": "writer", "service": "writer",
                           "version": "0.1.0", "pid": 7, "host": "h",
                           "started": "2024-01-01T00:00:00Z", "incarnation": 1,
                           "reason": "connection lost"}, True),
    ("status.json", None, {"state": "online", "id": "writer", "service": "writer",
                           "version": "0.1.0", "pid": 7, "host": "h",
                           "started": "2024-01-01T00:00:00Z", "incarnation": 1,
                           "reason": "stopped"}, False),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00.000001Z",
                                "payload_b64": "y0BY4AAAAAAA"}, True),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00Z", "payload": "x",
                                "payload_b64": "eA=="}, False),
    ("api.json", "request", {"op": "compute", "workflow": "w", "from": 0, "to": 10,
                             "request": "c-1-2"}, True),
    ("api.json", "request", {"op": "compute", "workflow": "w", "from": "2024-01-01",
                             "to": 10}, False),
    ("api.json", "request", {"op": "ping"}, True),
    ("api.json", "reply", {"ok": True, "workflows": 1, "jobs": 0, "inflight": 0}, True),
    ("api.json", "reply", {"ok": False}, False),
    ("purged.json", None, {"stream": "room_temp/house=1/room=kitchen"}, True),
    ("purged.json", None, {"stream": "room_temp/house=1/room"}, False),
    ("progress.json", None, {"request": "r", "workflow": "w", "state": "done", "jobs_total": 2,
                             "jobs_done": 1, "jobs_failed": 1, "instances": 0,
                             "elapsed_s": 0.5}, False),
]


def _walk_patterns(node, where, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                out.append((where, v))
            else:
                _walk_patterns(v, f"{where}/{k}", out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk_patterns(v, f"{where}/{i}", out)


def _hsctl_verdict(hsctl, text, workdir, n):
    path = os.path.join(workdir, f"sample{n}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    p = subprocess.run([hsctl, "workflow", "check", path], capture_output=True, text=True,
                       cwd=workdir, timeout=60)
    return p.returncode == 0, (p.stderr or p.stdout).strip().replace("\n", " | ")


def selftest(args):
    problems = []
    listed = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SCHEMAS, "*.json")))
    for name in SCHEMA_FILES:
        if name not in listed:
            problems.append(f"schemas/{name} is missing")
    for name in listed:
        try:
            schema = load_schema(name)
            StrictValidator.check_schema(schema)
        except (ValueError, jsonschema.exceptions.SchemaError) as e:
            problems.append(f"schemas/{name} is not a valid schema: {str(e).splitlines()[0]}")
            continue
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problems.append(f"schemas/{name} does not declare draft 2020-12")
        for key in ("$id", "title", "description"):
            if not schema.get(key):
                problems.append(f"schemas/{name} has no {key}")
        pats = []
        _walk_patterns(schema, "", pats)
        for where, pat in pats:
            try:
                re.compile(pat)
            except re.error as e:
                problems.append(f"schemas/{name}{where}: pattern does not compile: {e}")
    readme_path = os.path.join(SCHEMAS, "README.md")
    readme = open(readme_path, encoding="utf-8").read() if os.path.exists(readme_path) else ""
    for name in listed:
        if f"({name})" not in readme:
            problems.append(f"schemas/README.md does not list {name}")
    print(f"{len(listed)} schemas checked")

    wf = validator("workflow.json")
    examples = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))
    if not examples:
        problems.append(f"no examples/*.yaml in {EXAMPLES}")
    for path in examples:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        err = first_error(wf, doc)
        if err:
            problems.append(f"{os.path.relpath(path, ROOT)} does not validate: {err}")
    print(f"{len(examples)} example workflows validated")

    workdir = tempfile.mkdtemp(prefix="hs-schemas-")
    try:
        for n, (what, text, valid) in enumerate(WORKFLOW_SAMPLES):
            err = first_error(wf, yaml.safe_load(text))
            if (err is None) != valid:
                problems.append(f"workflow sample '{what}': schema says "
                                f"{'valid' if err is None else 'invalid (' + err + ')'}, "
                                f"expected {'valid' if valid else 'invalid'}")
            if args.hsctl:
                ok, out = _hsctl_verdict(args.hsctl, text, workdir, n)
                if ok != valid:
                    problems.append(f"workflow sample '{what}': hsctl workflow check says "
                                    f"{'valid' if ok else 'invalid'} ({out}), expected "
                                    f"{'valid' if valid else 'invalid'}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(WORKFLOW_SAMPLES)} workflow samples checked"
          f"{' (also with hsctl workflow check)' if args.hsctl else ''}")

    validators = {}
    for name, sub, sample, valid in PAYLOAD_SAMPLES:
        v = validators.setdefault((name, sub), validator(name, sub))
        err = first_error(v, sample)
        if (err is None) != valid:
            problems.append(f"{name}{'#' + sub if sub else ''} sample {json.dumps(sample)[:120]}: "
                            f"{'valid' if err is None else 'invalid (' + err + ')'}, expected "
                            f"{'valid' if valid else 'invalid'}")
    print(f"{len(PAYLOAD_SAMPLES)} payload samples checked")
    return report(problems)


# ------------------------------------------------------------------ capture


def parse_capture(path):
    """Yields (line number, retained, qos, topic, payload bytes)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                yield n, None, None, None, line
                continue
            retained, qos, topic, hexpay = parts
            try:
                payload = bytes.fromhex(hexpay)
            except ValueError:
                yield n, None, None, topic, line
                continue
            yield n, retained == "1", qos, topic, payload


def capture(args):
    problems = []
    prefix = args.prefix.rstrip("/") + "/"
    validators = {k: validator(f, sub) for k, (f, sub, _) in TOPIC_KINDS.items()}
    raw_json = validator("raw-payload.json", "json")
    raw_mp = validator("raw-payload.json", "msgpack")
    sid_check = validator("write-request.json", "streamId")
    expect_invalid = set(args.expect_invalid or [])
    seen = {k: 0 for k in TOPIC_KINDS}
    ops = {op: 0 for op in WRITE_OPS}
    invalid_seen = {t: [] for t in expect_invalid}
    dead_payloads = set()
    requests = {}  # (sender, inc, seq) -> line
    acks = []  # (sender, inc, seq, line)
    total = 0

    def bad(n, topic, what):
        problems.append(f"line {n} {topic}: {what}")

    for n, retained, qos, topic, payload in parse_capture(args.capture):
        if retained is None:
            bad(n, topic or "?", "unreadable capture line")
            continue
        total += 1
        if not topic.startswith(prefix):
            bad(n, topic, f"topic outside the prefix {prefix}")
            continue
        kind, _, suffix = topic[len(prefix):].partition("/")
        if kind not in TOPIC_KINDS:
            bad(n, topic, f"no schema for topic kind '{kind}'")
            continue
        seen[kind] += 1
        if bool(suffix) == (kind in NO_SUFFIX):
            bad(n, topic, "topic has a suffix after the kind" if suffix else
                "topic has no suffix after the kind")
        enc = TOPIC_KINDS[kind][2]
        v = validators[kind]
        try:
            if enc == "raw":
                if is_msgpack_array(payload):
                    doc, v = decode_msgpack(payload), raw_mp
                else:
                    doc, v = decode_json(payload), raw_json
            elif enc == "msgpack":
                doc = decode_msgpack(payload)
            else:
                doc = decode_json(payload)
            err = first_error(v, doc)
        except DecodeError as e:
            doc, err = None, str(e)
        if topic in expect_invalid:
            invalid_seen[topic].append(payload)
            if err is None:
                bad(n, topic, "expected the schema to refuse this message, but it validates")
            continue
        if err is not None:
            bad(n, topic, f"does not validate against {TOPIC_KINDS[kind][0]}: {err}")
            continue
        # The topic suffix and the payload must agree where both name the same thing.
        same = {"status": "id", "metrics": "id", "committed": "workflow", "progress": "request"}
        if kind in same and doc.get(same[kind]) != suffix:
            bad(n, topic, f"payload {same[kind]} '{doc.get(same[kind])}' differs from the topic")
        if kind == "exec" and doc["tool"]["name"] != suffix:
            bad(n, topic, f"job tool '{doc['tool']['name']}' differs from the topic")
        if kind == "s" and first_error(sid_check, suffix):
            bad(n, topic, "topic suffix is not a canonical stream id")
        if kind == "w":
            ops[doc["op"]] += 1
            requests.setdefault((suffix, doc["inc"], doc["seq"]), n)
        if kind == "ack":
            for a in doc["acks"]:
                acks.append((suffix, doc["inc"], a[0], n))
        if kind == "dead":
            if "payload" in doc:
                dead_payloads.add(doc["payload"].encode("utf-8"))
            else:
                dead_payloads.add(base64.b64decode(doc["payload_b64"]))

    for sender, inc, seq, n in acks:
        if (sender, inc, seq) not in requests:
            problems.append(f"line {n}: acknowledgement of {sender}:{inc}:{seq}, "
                            "a write request that was never captured")
    acked = {(s, i, q) for s, i, q, _ in acks}
    for key, n in sorted(requests.items(), key=lambda kv: kv[1]):
        if key not in acked:
            problems.append(f"line {n}: write request {key[0]}:{key[1]}:{key[2]} "
                            "was never acknowledged")
    for t, payloads in sorted(invalid_seen.items()):
        if not payloads:
            problems.append(f"no message on {t} (expected invalid ones) was captured")
        for p in payloads:
            if p not in dead_payloads:
                problems.append(f"the invalid message {p[:60]!r} on {t} was not dead-lettered")
    for kind, count in sorted(seen.items()):
        if count == 0:
            problems.append(f"no message of topic kind {prefix}{kind}/... was captured "
                            f"(schema {TOPIC_KINDS[kind][0]} untested)")
    for op, count in ops.items():
        if count == 0:
            problems.append(f"no write request with op '{op}' was captured")
    print(f"{total} messages checked: " +
          ", ".join(f"{k} {c}" for k, c in sorted(seen.items())))
    print("write requests by op: " + ", ".join(f"{k} {c}" for k, c in ops.items()))
    return report(problems)


def report(problems):
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("selftest", help="check the schemas, the examples and the samples")
    st.add_argument("--hsctl", help="also ask this hsctl binary about every workflow sample")
    cp = sub.add_parser("capture", help="validate captured messages")
    cp.add_argument("capture", help="mosquitto_sub -F '%%r\\t%%q\\t%%t\\t%%x' output")
    cp.add_argument("--prefix", default="hs", help="topic prefix (default hs)")
    cp.add_argument("--expect-invalid", action="append", metavar="TOPIC",
                    help="a topic whose messages must be refused and dead-lettered")
    args = ap.parse_args()
    return selftest(args) if args.cmd == "selftest" else capture(args)


if __name__ == "__main__":
    sys.exit(main())
