#!/usr/bin/python3
"""Checks the payload schemas in schemas/ and real messages against them.

  check_schemas.py selftest [--hsctl PATH]
      Every schema is a valid JSON Schema (draft 2020-12) whose patterns
      compile; examples/*.yaml validate against workflow.json; sample
      payloads that the services accept validate and samples they refuse do
      not. With --hsctl, every sample workflow is also given to
      `hsctl workflow check`, which must agree with the schema.

  check_schemas.py capture FILE [--expect-invalid TOPIC]... [--expect-refused N]
      FILE holds messages captured on '#' by
      mosquitto_sub -V mqttv5 -F '%r<TAB>%q<TAB>%t<TAB>%R<TAB>%D<TAB>%x'
      (retain flag, QoS, topic, MQTT v5 response topic, correlation data,
      payload in hex), one per line; lines of four fields (no %R, %D) are
      read too. Every message is decoded as its topic kind demands (JSON
      text, msgpack, or for mon JSON or plain text) and validated against its
      schema; the topic suffix must agree with the payload where both name
      the same thing; every acknowledgement must answer a captured write
      request and every write request must be acknowledged. Replies on
      reply/<client-id> are matched to their request (api/... or ctl/...) by
      response topic and correlation data and validated against the reply of
      that operation or command (api.json or ctl.json), or against either
      schema's replies when the request was not captured; every request
      must be answered. Fails when a message does not validate, when a topic
      kind, a write-request op, a control reply kind or a status state was
      never seen, or when a topic has no schema. Messages on an
      --expect-invalid topic must all be refused by the schema and all be
      dead-lettered. Exactly N requests on api/... and ctl/... (default 0)
      must be refused by the schema, each answered with an error reply.

Run with /usr/bin/python3 (python3-jsonschema, python3-yaml, python3-msgpack).
Exit status: 0 all good, 1 problems found (listed on stderr), 2 usage error.
"""

import argparse
import base64
import functools
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
    "ctl": ("ctl.json", "request", "json"),
    # Replies to api and ctl requests: the reply of the request they answer (see capture()).
    "reply": (("api.json", "ctl.json"), "reply", "json"),
    "progress": ("progress.json", None, "json"),
    "dead": ("dead-letter.json", None, "json"),
    "status": ("status.json", None, "json"),
    "metrics": ("metrics.json", None, "json"),
    "purged": ("purged.json", None, "msgpack"),
    "reopened": ("reopened.json", None, "msgpack"),
    "c": ("correction.json", None, "msgpack"),
    "wseq": ("wseq.json", None, "msgpack"),
    "mon": ("mon.json", None, "mon"),
    "schemas": ("schemas.json", None, "msgpack"),
}
# Topic kinds published on <prefix>/<kind> itself, without a suffix.
NO_SUFFIX = {"purged", "mon", "reopened", "wseq"}
# Topic kinds checked when captured, not required to be: schemas, published only for workflows
# with a schemas: section.
OPTIONAL_KINDS = {"schemas"}
# Request kinds answered on the response topic, and the request member naming the operation.
REQUEST_KINDS = {"api": "op", "ctl": "cmd"}
WRITE_OPS = ("append", "job", "define", "purge", "doc_put", "doc_del", "invalidate", "append_many",
             "docs")
# Write-request ops checked when captured, not required to be: invalidate, until the scenario of
# it_schemas.sh sends one (hsctl stream invalidate); append_many, which ingest sends when several
# streams are due at once (timing).
OPTIONAL_OPS = {"invalidate", "append_many"}
# Control commands; the successful reply to <cmd> is ctl.json#/$defs/<cmd>Reply.
CTL_CMDS = ("ping", "stats", "get", "set", "pause", "resume", "drain", "shutdown")
# Scheduler API operations -> the title of their successful reply in api.json#/$defs/reply.
API_REPLIES = {"workflow_add": "workflow_add reply", "workflow_rm": "workflow_rm reply",
               "compute": "compute reply", "ping": "ping reply", "cancel": "cancel reply",
               "meta_add": "meta reply", "meta_rm": "meta reply"}
STATUS_STATES = ("online", "paused", "offline")
SCHEMA_FILES = sorted({f for v in TOPIC_KINDS.values()
                       for f in (v[0] if isinstance(v[0], tuple) else (v[0],))} |
                      {"workflow.json"})


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


_STORE = None


def _store():
    """Every schema of schemas/ by its $id, so that one may refer to another ("metrics.json")."""
    global _STORE
    if _STORE is None:
        _STORE = {}
        for path in sorted(glob.glob(os.path.join(SCHEMAS, "*.json"))):
            try:
                schema = load_schema(os.path.basename(path))
            except ValueError:
                continue  # the self-test reports it
            if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
                _STORE[schema["$id"]] = schema
    return _STORE


def _validator_for(schema):
    try:
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012
    except ImportError:  # jsonschema before 4.18
        resolver = jsonschema.RefResolver.from_schema(schema, store=_store())
        return StrictValidator(schema, resolver=resolver)
    registry = Registry().with_resources(
        (uri, DRAFT202012.create_resource(s)) for uri, s in _store().items())
    return StrictValidator(schema, registry=registry)


def _base_uri(name):
    return load_schema(name)["$id"]


@functools.lru_cache(maxsize=None)
def validator(name, sub=None):
    """A validator for schema file name, or for its #/$defs/<sub> (a JSON pointer below $defs).

    name may be a tuple of files: the validator then accepts what any of them accepts.
    """
    if isinstance(name, tuple):
        for n in name:
            validator(n, sub)  # raises when a $defs entry is missing
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "$id": _base_uri(name[0]).rsplit("/", 1)[0] + "/any-of-" +
                  "-".join(n.replace(".json", "") for n in name) + ".json",
                  "anyOf": [{"$ref": _base_uri(n) + ("#/$defs/" + sub if sub else "")}
                            for n in name]}
        return _validator_for(schema)
    schema = load_schema(name)
    if sub is not None:
        if sub.split("/")[0] not in schema.get("$defs", {}):
            raise KeyError(f"schemas/{name} has no $defs/{sub}")
        schema = {k: schema[k] for k in ("$schema", "$id", "$defs")}
        schema["$ref"] = "#/$defs/" + sub
    return _validator_for(schema)


@functools.lru_cache(maxsize=None)
def reply_validator(kind, op):
    """The validator of the replies to an api or ctl request of operation op (None: unknown op):
    its successful reply or an error."""
    if kind == "ctl":
        if op not in CTL_CMDS:
            return None
        refs = [_base_uri("ctl.json") + "#/$defs/" + op + "Reply",
                _base_uri("ctl.json") + "#/$defs/error"]
    else:
        titles = [b.get("title") for b in load_schema("api.json")["$defs"]["reply"]["oneOf"]]
        if op not in API_REPLIES or API_REPLIES[op] not in titles or "error" not in titles:
            return None
        refs = [_base_uri("api.json") + "#/$defs/reply/oneOf/" + str(titles.index(t))
                for t in (API_REPLIES[op], "error")]
    return _validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "$id": _base_uri(kind + ".json").rsplit("/", 1)[0] +
                           f"/reply-to-{kind}-{op}.json",
                           "anyOf": [{"$ref": r} for r in refs]})


def ctl_reply_kind(doc):
    """Which ctl.json reply a (valid) reply is: 'error' or '<cmd>Reply', or None."""
    for name in ["error"] + [c + "Reply" for c in CTL_CMDS]:
        if first_error(validator("ctl.json", name), doc) is None:
            return name
    return None


def metrics_problems(doc):
    """What metrics.json cannot say about a (valid) metrics object."""
    lat = doc["latency_ms"]
    out = []
    if not lat["p50"] <= lat["p95"] <= lat["p99"]:
        out.append(f"latency percentiles out of order: {lat}")
    if lat["count"] == 0 and (lat["p50"], lat["p95"], lat["p99"]) != (0, 0, 0):
        out.append(f"latency percentiles without observations: {lat}")
    return out


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
    errors = list(v.iter_errors(instance))
    if not errors:
        return None
    # best_match would pick a branch of a failed oneOf/anyOf by its own rules: _closest knows
    # better which branch was meant.
    if len(errors) == 1 and errors[0].context:
        err = errors[0]
    else:
        err = jsonschema.exceptions.best_match(errors)
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


def _mp_json(payload):
    """The JSON text (sorted keys) of an msgpack payload, or None when it is not one value."""
    try:
        return json.dumps(decode_msgpack(payload), sort_keys=True)
    except Exception:  # anything that is not exactly one msgpack value
        return None


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
    ("input schemas", """
id: with_schemas
factors:
  - {tool: apply, params: {func: neg}, sources: [pressure], sink: neg_pressure}
schemas:
  - stream: pressure/#
    schema: {type: number, minimum: 900}
  - {stream: +/site=a, schema: true}
""", True),
    ("input schema in a file (not allowed in a workflow)", """
id: schema_file
factors:
  - {tool: apply, params: {func: neg}, sources: [pressure], sink: neg_pressure}
schemas:
  - {stream: pressure/#, schema: pressure.json}
""", False),
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
""", True),
    ("a plate listed twice on a factor", """
id: x
plates: {A: {meta: a, values: ["1"]}}
factors: [{tool: clock, sink: t, plates: [A, A]}]
""", False),
    ("a meta: tree and plates selecting from it", """
id: x
meta: {site=a: {device: ["1", "2"]}, site=b: {device: ["3"]}}
plates: {S: {meta: site}, S.D: {meta: device, parent: S, match: "*", grow: from_data}}
factors: [{tool: clock, sink: t, plates: [S.D]}]
""", True),
    ("grow other than from_data", """
id: x
plates: {S: {meta: site, grow: yes}}
factors: [{tool: clock, sink: t, plates: [S]}]
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

JOB = {"v": 1, "job": "j0123456789abcdef", "attempt": 0, "workflow": "w", "factor": "0", "pv": "",
       "tool": {"name": "clock", "version": "1.0", "params": {}}, "binding": "0123456789abcdef",
       "interval": [0, 10], "sources": [["temp/house=1", -60, 10]], "alignment": None,
       "splitting": None, "sinks": ["t"], "output_meta": None}
STATUS = {"state": "online", "id": "writer", "service": "writer", "version": "0.1.0", "pid": 7,
          "host": "h", "started": "2024-01-01T00:00:00.000001Z", "incarnation": 1}
METRICS = {"id": "writer", "service": "writer", "version": "0.1.0", "t": 1795323379634773,
           "uptime_s": 1.8, "state": "online", "msgs_in": 3, "msgs_out": 2, "instances_in": 10,
           "instances_out": 10, "msgs_in_per_s": 0.5, "msgs_out_per_s": 0.0,
           "instances_in_per_s": 2.0, "instances_out_per_s": 2.0, "errors": 0,
           "dead_lettered": 0, "backlog": 0, "late_reopened": 0, "late_ignored": 0,
           "purged": 0, "schema_rejected": 0,
           "latency_ms": {"p50": 0.14, "p95": 1.125, "p99": 2.25, "count": 12},
           "rx_queued": 0, "inflight": 0, "reconnects": 0, "rss_kb": 14264, "cpu_s": 0.021}

# (schema (a file, or a tuple of files any of which may accept), #/$defs entry or None,
#  sample, valid?)
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
    ("job.json", None, JOB, True),
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
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 2, "op": "purge",
                                  "stream": "t", "remove": False, "before": 1700000000000000},
     True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 2, "op": "purge",
                                  "stream": "t", "remove": False, "before": "2024-01-01"}, False),
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
    # Late data: dependencies of a define item, invalidate, trigger and wseq of jobs and job
    # outputs, wseq and recompute of commit notices, reopened notices, corrections, hs/wseq.
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 1, "{}", {"sources": ["u/a=1"],
                                                              "lookback_us": 0,
                                                              "max_lateness_us": 60}]]}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 1, "{}", {"sources": [],
                                                              "lookback_us": -1,
                                                              "max_lateness_us": 0}]]}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 1, "{}", {"sources": ["u"],
                                                              "lookback_us": 0}]]}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 3, "op": "define",
                                  "streams": [["t", 1, "{}", {"sources": ["u"], "lookback_us": 0,
                                                              "max_lateness_us": 0}, None]]},
     False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 5, "op": "invalidate",
                                  "stream": "t/a=1", "interval": [0, 10]}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 5, "op": "invalidate",
                                  "stream": "t/a=1"}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 5, "op": "invalidate",
                                  "stream": "t/a=1", "interval": [0, 10], "remove": True}, False),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 4, "op": "job",
                                  "job": "j0123456789abcdef", "workflow": "w", "factor": "0",
                                  "pv": "", "tool": {"name": "clock", "version": "1.0.0",
                                                     "params": {}},
                                  "binding": "0123456789abcdef", "interval": [0, 10],
                                  "sinks": ["t"], "attempt": 0, "runtime": "tools",
                                  "trigger": "late", "wseq": [7, 0],
                                  "outputs": [["t", [[10, 1]]]]}, True),
    ("write-request.json", None, {"v": 1, "inc": 5, "seq": 4, "op": "job",
                                  "job": "j0123456789abcdef", "workflow": "w", "factor": "0",
                                  "pv": "", "tool": {"name": "clock", "version": "1.0.0",
                                                     "params": {}},
                                  "binding": "0123456789abcdef", "interval": [0, 10],
                                  "sinks": ["t"], "attempt": 0, "runtime": "tools",
                                  "trigger": "replay"}, False),
    ("job.json", None, dict(JOB, trigger="online", wseq=[1700000000000000, 3]), True),
    ("job.json", None, dict(JOB, wseq=[0, 3]), False),
    ("job.json", None, dict(JOB, wseq=[1, 2, 3]), False),
    ("job.json", None, dict(JOB, trigger="late data"), False),
    ("committed.json", None, {"job": "j0123456789abcdef", "workflow": "w", "factor": "1",
                              "pv": "", "interval": [0, 10], "outcome": "ok", "count": 3,
                              "error": "", "wseq": [9, 18446744073709551615],
                              "recompute": True}, True),
    ("committed.json", None, {"job": "j0123456789abcdef", "workflow": "w", "factor": "1",
                              "pv": "", "interval": [0, 10], "outcome": "ok", "count": 3,
                              "error": "", "recompute": 1}, False),
    ("reopened.json", None, {"stream": "avg/house=1", "intervals": [[0, 10], [20, 30]],
                             "reason": "late", "wseq": [9, 1]}, True),
    ("reopened.json", None, {"stream": "avg/house=1", "intervals": [],
                             "reason": "late", "wseq": [9, 1]}, False),
    ("reopened.json", None, {"stream": "avg/house=1", "intervals": [[0, 10]],
                             "reason": "late"}, False),
    ("reopened.json", None, {"stream": "avg/house=1", "intervals": [[0, 10]],
                             "reason": "", "wseq": [9, 1]}, False),
    ("correction.json", None, {"interval": [0, 10], "data": [[5, 1.5], [10, {"a": None}]]},
     True),
    ("correction.json", None, {"interval": [0, 10], "data": []}, True),
    ("correction.json", None, {"interval": [0, 10]}, False),
    ("correction.json", None, {"interval": [0, 10], "data": [[5.0, 1]]}, False),
    ("wseq.json", None, [1700000000000000, 12], True),
    ("wseq.json", None, [0, 12], False),
    ("wseq.json", None, {"epoch": 1, "seq": 2}, False),
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
                                "payload_b64": "y0BY4AAAAAAA", "undecodable": "binary"}, True),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00.000001Z",
                                "payload_b64": "y0BY4AAAAAAA"}, False),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "hs/w/ingest",
                                "stream": "temp/room=a", "t": "2024-01-01T00:00:00Z",
                                "payload_json": 9.0}, True),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "hs/w/ingest",
                                "t": "2024-01-01T00:00:00Z", "payload_json": {"op": 1}}, True),
    ("dead-letter.json", None, {"service": "ingest", "reason": "r", "topic": "hs/raw/x",
                                "t": "2024-01-01T00:00:00Z", "payload_json": 1.5,
                                "payload_b64": "yj/AAAA="}, True),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00Z", "payload_json": 1,
                                "undecodable": "x"}, False),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00Z", "payload": "x",
                                "payload_json": "x"}, False),
    ("dead-letter.json", None, {"service": "writer", "reason": "r", "topic": "t",
                                "t": "2024-01-01T00:00:00Z", "payload": "x",
                                "payload_b64": "eA=="}, False),
    ("api.json", "request", {"op": "compute", "workflow": "w", "from": 0, "to": 10,
                             "request": "c-1-2"}, True),
    ("api.json", "request", {"op": "compute", "workflow": "w", "from": "2024-01-01",
                             "to": 10}, False),
    ("api.json", "request", {"op": "ping"}, True),
    ("api.json", "reply", {"ok": True, "workflows": 1, "jobs": 0, "inflight": 0}, True),
    ("api.json", "reply", {"ok": True, "request": "c-1", "jobs": 3, "reopened": 2}, True),
    ("api.json", "reply", {"ok": True, "request": "c-1", "jobs": 3, "reopened": -1}, False),
    ("api.json", "reply", {"ok": False}, False),
    ("api.json", "request", {"op": "cancel", "request": "c-1-2"}, True),
    ("api.json", "request", {"op": "cancel"}, False),
    ("api.json", "request", {"op": "meta_add", "paths": ["site=a/device=1"]}, True),
    ("api.json", "request", {"op": "meta_rm", "paths": []}, False),
    ("api.json", "request", {"op": "meta_rm", "paths": ["site"]}, False),
    ("api.json", "reply", {"ok": True, "nodes": 2, "workflows_changed": 1}, True),
    ("api.json", "request", {"op": "compute", "workflow": "w", "from": 0, "to": 10,
                             "dry_run": True}, True),
    ("api.json", "reply", {"ok": True, "request": "c-1", "dropped": 5, "running": 2}, True),
    ("api.json", "reply", {"ok": True, "request": "c-1", "dropped": -1, "running": 2}, False),
    ("progress.json", None, {"request": "r", "workflow": "w", "state": "cancelled",
                             "jobs_total": 9, "jobs_done": 2, "jobs_failed": 0, "instances": 2,
                             "elapsed_s": 0.5, "error": "hsctl compute --cancel",
                             "jobs_dropped": 7}, True),
    ("progress.json", None, {"request": "r", "workflow": "w", "state": "running",
                             "jobs_total": 4, "jobs_done": 0, "jobs_failed": 0, "instances": 0,
                             "elapsed_s": 0.5, "jobs_unplanned": 4}, True),
    ("schemas.json", None, {"workflow": "climate", "schemas": [
        {"stream": "pressure/#", "schema": {"type": "number", "maximum": 1100}},
        {"stream": "+/site=a", "schema": True}]}, True),
    ("schemas.json", None, {"workflow": "climate", "schemas": []}, False),
    ("schemas.json", None, {"workflow": "climate", "schemas": [{"stream": "p/#",
                                                                "schema": 3}]}, False),
    ("purged.json", None, {"stream": "room_temp/house=1/room=kitchen"}, True),
    ("purged.json", None, {"stream": "room_temp/house=1/room"}, False),
    ("progress.json", None, {"request": "r", "workflow": "w", "state": "done", "jobs_total": 2,
                             "jobs_done": 1, "jobs_failed": 1, "instances": 0,
                             "elapsed_s": 0.5}, False),
    # status: the paused state and the tool runtimes' "tools".
    ("status.json", None, dict(STATUS, state="paused"), True),
    ("status.json", None, dict(STATUS, state="paused", reason="stopped"), False),
    ("status.json", None, dict(STATUS, state="starting"), False),
    ("status.json", None, dict(STATUS, id="tools", service="tool", tools="all"), True),
    ("status.json", None, dict(STATUS, id="tools", service="tool", state="paused",
                               tools="clock"), True),
    ("status.json", None, dict(STATUS, id="tools", service="tool"), False),
    ("status.json", None, dict(STATUS, id="tools", service="tool", state="offline",
                               reason="connection lost"), True),
    ("status.json", None, dict(STATUS, id="tools", service="tool", tools=["clock"]), False),
    ("status.json", None, dict(STATUS, id="tools", service="tool", tools="a/b"), False),
    ("status.json", None, dict(STATUS, tools="all"), False),
    ("status.json", None, dict(STATUS, extra=1), False),
    # metrics
    ("metrics.json", None, METRICS, True),
    ("metrics.json", None, dict(METRICS, state="paused"), True),
    ("metrics.json", None, dict(METRICS, state="offline"), False),
    ("metrics.json", None, dict(METRICS, queue=3), False),
    ("metrics.json", None, {k: v for k, v in METRICS.items() if k != "latency_ms"}, False),
    ("metrics.json", None, {k: v for k, v in METRICS.items() if k != "version"}, False),
    ("metrics.json", None, dict(METRICS, msgs_in_per_s=-1.0), False),
    ("metrics.json", None, dict(METRICS, msgs_in=1.0), False),
    ("metrics.json", None, dict(METRICS, latency_ms={"p50": 1, "p95": 2, "p99": 3}), False),
    ("metrics.json", None, dict(METRICS, latency_ms={"p50": 1, "p95": 2, "p99": 3, "count": 4,
                                                     "max": 5}), False),
    ("metrics.json", None, dict(METRICS, latency_ms={"p50": 0, "p95": 0, "p99": 0,
                                                     "count": 1.5}), False),
    # control requests
    ("ctl.json", "request", {"cmd": "ping"}, True),
    ("ctl.json", "request", {"cmd": "drain"}, True),
    ("ctl.json", "request", {"cmd": "get"}, True),
    ("ctl.json", "request", {"cmd": "get", "name": "log_level"}, True),
    ("ctl.json", "request", {"cmd": "set", "name": "log_level", "value": "debug"}, True),
    ("ctl.json", "request", {"cmd": "set", "name": "batch_max_instances", "value": 512}, True),
    ("ctl.json", "request", {"cmd": "set", "name": "log_level"}, False),
    ("ctl.json", "request", {"cmd": "set", "name": "log_level", "value": None}, False),
    ("ctl.json", "request", {"cmd": "set", "name": "Log-Level", "value": "debug"}, False),
    ("ctl.json", "request", {"cmd": "ping", "name": "x"}, False),
    ("ctl.json", "request", {"cmd": "frobnicate"}, False),
    ("ctl.json", "request", {"op": "ping"}, False),
    ("ctl.json", "request", {"cmd": "get", "name": "a" * 64}, False),
    # control replies
    ("ctl.json", "reply", {"ok": False, "error": "unknown command 'x'"}, True),
    ("ctl.json", "reply", {"ok": False}, False),
    ("ctl.json", "reply", {"ok": False, "error": ""}, False),
    ("ctl.json", "reply", {"ok": True, "id": "writer", "service": "writer", "version": "0.1.0",
                           "uptime_s": 1.5, "state": "online"}, True),
    ("ctl.json", "reply", {"ok": True, "id": "writer", "service": "writer", "version": "0.1.0",
                           "uptime_s": 1.5, "state": "offline"}, False),
    ("ctl.json", "reply", {"ok": True, "stats": METRICS}, True),
    ("ctl.json", "reply", {"ok": True, "stats": dict(METRICS, queue=1)}, False),
    ("ctl.json", "reply", {"ok": True, "settings": {"log_level": "info", "mqtt_password": "***"},
                           "settable": ["log_level", "metrics_interval"]}, True),
    ("ctl.json", "reply", {"ok": True, "settings": {"metrics_port": 0},
                           "settable": ["log_level", "metrics_interval"]}, False),
    ("ctl.json", "reply", {"ok": True, "settings": {},
                           "settable": ["log_level", "metrics_interval"]}, False),
    ("ctl.json", "reply", {"ok": True, "settings": {"log_level": "info"},
                           "settable": ["log_level"]}, False),
    ("ctl.json", "reply", {"ok": True, "name": "log_level", "value": "debug"}, True),
    ("ctl.json", "reply", {"ok": True, "name": "log_level", "value": 3}, False),
    ("ctl.json", "reply", {"ok": True, "state": "paused"}, True),
    ("ctl.json", "reply", {"ok": True, "state": "online"}, True),
    ("ctl.json", "reply", {"ok": True, "state": "drained"}, True),
    ("ctl.json", "reply", {"ok": False, "state": "draining"}, True),
    ("ctl.json", "reply", {"ok": True, "state": "draining"}, False),
    ("ctl.json", "reply", {"ok": True, "state": "stopping"}, True),
    ("ctl.json", "reply", {"ok": True, "state": "offline"}, False),
    ("ctl.json", "reply", {"ok": True}, False),
    (("api.json", "ctl.json"), "reply", {"ok": True}, True),
    (("api.json", "ctl.json"), "reply", {"ok": True, "state": "paused"}, True),
    (("api.json", "ctl.json"), "reply", {"ok": True, "state": "napping"}, False),
    # monitoring events
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05.123456Z",
                        "e": [{"n": "workflow_start", "vs": "w request c-1-2 over "
                               "(2023-11-14T22:13:20.000000Z, 2023-11-14T22:15:20.000000Z]: "
                               "7 jobs"}]}, True),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05.123456Z",
                        "e": [{"n": "workflow_end", "vs": "my flow request o-1-2 failed: 7 jobs, "
                               "1 failed, 120 instances, 0.250s"}]}, True),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05.123456Z",
                        "level": "error",
                        "interval": ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000010Z"],
                        "interval_us": [0, 10],
                        "e": [{"n": "job_failed", "vs": "w job j0123456789abcdef (factor 1 "
                               "house=1, (1970-01-01T00:00:00Z, 1970-01-01T00:00:00.000010Z]): "
                               "tool failed: boom"}]}, True),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05.123456Z",
                        "e": [{"n": "job_failed", "vs": "w job j0123456789abcdef (factor 1 "
                               "house=1, (0, 10]): tool failed: boom"}]}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05Z", "level": "fatal",
                        "e": [{"n": "x", "vs": "y"}]}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05Z", "level": "debug",
                        "interval_us": [0, 10], "e": [{"n": "x", "vs": "y"}]}, False),
    ("mon.json", None, {"uid": "ingest", "bt": "2026-01-02T03:04:05.123456Z",
                        "e": [{"n": "something_new", "vs": "any text"}]}, True),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05.123456Z",
                        "e": [{"n": "workflow_end", "vs": "w request r-1 done"}]}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": 1767323045.1,
                        "e": [{"n": "x", "vs": "y"}]}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05Z", "e": []}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05Z",
                        "e": [{"n": "x", "v": 1}]}, False),
    ("mon.json", None, {"uid": "scheduler", "bt": "2026-01-02T03:04:05Z",
                        "e": [{"n": "x", "vs": "a"}, {"n": "y", "vs": "b"}]}, False),
    ("mon.json", None, "2026-01-02T03:04:05.123456Z MON scheduler info workflow_end: w request "
                       "r-1 done: 1 jobs, 0 failed, 5 instances, 0.010s", True),
    ("mon.json", None, "2026-01-02T03:04:05.123456Z MON scheduler workflow_end: w request r-1 "
                       "done: 1 jobs, 0 failed, 5 instances, 0.010s", False),
    ("mon.json", None, "2026-01-02T03:04:05.123456Z INFO scheduler workflow_end: x", False),
    ("mon.json", None, "MON scheduler workflow_end: x", False),
]


def _cap(topic, payload, resp="", corr="", retained=False):
    """One capture line (six fields); payload: bytes, text, or a JSON value."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    elif not isinstance(payload, bytes):
        payload = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return f"{int(retained)}\t1\t{topic}\t{resp}\t{corr}\t{payload.hex()}"


R1 = "hs/reply/hsctl-1-2"
PING = {"ok": True, "id": "writer", "service": "writer", "version": "0.1.0", "uptime_s": 2.5,
        "state": "online"}
GET_ALL = {"ok": True, "settings": {"log_level": "info", "metrics_interval": "1s",
                                    "mqtt_password": "***"},
           "settable": ["log_level", "metrics_interval"]}
MON = {"uid": "writer", "bt": "2026-01-02T03:04:05.123456Z", "e": [{"n": "x", "vs": "y"}]}
# (what, capture lines, expect_refused, problems expected: substrings, none when [])
CAPTURE_SAMPLES = [
    ("a ping answered", [_cap("hs/ctl/writer", {"cmd": "ping"}, R1, "7"),
                         _cap(R1, PING, "", "7")], 0, []),
    ("the reply captured first", [_cap(R1, PING, "", "7"),
                                  _cap("hs/ctl/writer", {"cmd": "ping"}, R1, "7")], 0, []),
    ("correlation data holding a tab", [_cap("hs/ctl/writer", {"cmd": "ping"}, R1, "a\tb"),
                                        _cap(R1, PING, "", "a\tb")], 0, []),
    ("the reply of another command", [_cap("hs/ctl/writer", {"cmd": "stats"}, R1, "7"),
                                      _cap(R1, PING, "", "7")], 0,
     ["(cmd stats) does not validate against ctl.json"]),
    ("a scheduler API reply to a control request",
     [_cap("hs/ctl/writer", {"cmd": "pause"}, R1, "7"),
      _cap(R1, {"ok": True, "request": "c-1", "jobs": 3}, "", "7")], 0,
     ["(cmd pause) does not validate against ctl.json"]),
    ("a control reply to a scheduler API request",
     [_cap("hs/api/scheduler", {"op": "compute", "workflow": "w", "from": 0, "to": 1}, R1, "7"),
      _cap(R1, {"ok": True, "state": "online"}, "", "7")], 0,
     ["(op compute) does not validate against api.json"]),
    ("an error answers any command", [_cap("hs/ctl/writer", {"cmd": "drain"}, R1, "7"),
                                      _cap(R1, {"ok": False, "error": "no"}, "", "7")], 0, []),
    ("a request never answered", [_cap("hs/ctl/writer", {"cmd": "ping"}, R1, "7"),
                                  _cap(R1, PING, "", "8")], 0, ["was never answered"]),
    ("two replies", [_cap("hs/ctl/writer", {"cmd": "ping"}, R1, "7"),
                     _cap(R1, PING, "", "7"), _cap(R1, PING, "", "7")], 0,
     ["a second reply"]),
    ("a request without a response topic", [_cap("hs/ctl/writer", {"cmd": "ping"})], 0,
     ["without a response topic"]),
    ("a refused request answered with an error",
     [_cap("hs/ctl/writer", {"cmd": "frobnicate"}, R1, "7"),
      _cap(R1, {"ok": False, "error": "unknown command 'frobnicate'"}, "", "7")], 1, []),
    ("a refused request not expected",
     [_cap("hs/ctl/writer", {"cmd": "frobnicate"}, R1, "7"),
      _cap(R1, {"ok": False, "error": "unknown command 'frobnicate'"}, "", "7")], 0,
     ["1 request(s) on hs/api/... and hs/ctl/... were refused by the schema, expected 0"]),
    ("a refused request answered with ok",
     [_cap("hs/ctl/writer", {"cmd": "get", "name": "x" * 70}, R1, "7"),
      _cap(R1, GET_ALL, "", "7")], 1, ["should be an error"]),
    ("a reply that is not JSON", [_cap("hs/ctl/writer", {"cmd": "get", "name": "a"}, R1, "7"),
                                  _cap(R1, b'{"ok":false,"error":"no setting \'a"b\'"}', "",
                                       "7")], 0, ["not JSON"]),
    ("a reply whose request was not captured", [_cap(R1, {"ok": True}, "", "1"),
                                                _cap(R1, GET_ALL, "", "2")], 0, []),
    ("an unknown reply whose request was not captured", [_cap(R1, {"ok": "yes"}, "", "1")], 0,
     ["does not validate against api.json or ctl.json replies"]),
    ("ping of another service", [_cap("hs/ctl/ingest", {"cmd": "ping"}, R1, "7"),
                                 _cap(R1, PING, "", "7")], 0,
     ["ping reply id 'writer' differs"]),
    ("get NAME answered with every setting",
     [_cap("hs/ctl/writer", {"cmd": "get", "name": "log_level"}, R1, "7"),
      _cap(R1, GET_ALL, "", "7")], 0, ["get log_level answered with the settings"]),
    ("get NAME answered", [_cap("hs/ctl/writer", {"cmd": "get", "name": "log_level"}, R1, "7"),
                           _cap(R1, dict(GET_ALL, settings={"log_level": "info"}), "", "7")],
     0, []),
    ("set answered with another value",
     [_cap("hs/ctl/writer", {"cmd": "set", "name": "log_level", "value": "debug"}, R1, "7"),
      _cap(R1, {"ok": True, "name": "log_level", "value": "info"}, "", "7")], 0,
     ["set log_level 'debug' answered with log_level 'info'"]),
    ("set of a number", [_cap("hs/ctl/writer", {"cmd": "set", "name": "batch_max_instances",
                                                "value": 512}, R1, "7"),
                         _cap(R1, {"ok": True, "name": "batch_max_instances", "value": "512"},
                              "", "7")], 0, []),
    ("stats of the right service", [_cap("hs/ctl/writer", {"cmd": "stats"}, R1, "7"),
                                    _cap(R1, {"ok": True, "stats": METRICS}, "", "7")], 0, []),
    ("stats with percentiles out of order",
     [_cap("hs/ctl/writer", {"cmd": "stats"}, R1, "7"),
      _cap(R1, {"ok": True, "stats": dict(METRICS, latency_ms={"p50": 2, "p95": 1, "p99": 3,
                                                               "count": 5})}, "", "7")], 0,
     ["latency percentiles out of order"]),
    ("metrics with percentiles and no observations",
     [_cap("hs/metrics/writer", dict(METRICS, latency_ms={"p50": 1, "p95": 1, "p99": 1,
                                                          "count": 0}))], 0,
     ["latency percentiles without observations"]),
    ("a paused status", [_cap("hs/status/writer", dict(STATUS, state="paused"), retained=True)],
     0, []),
    ("monitoring events in both forms",
     [_cap("hs/status/writer", STATUS, retained=True), _cap("hs/mon", MON),
      _cap("hs/mon", "2026-01-02T03:04:05.123456Z MON writer warn x: y")], 0, []),
    ("a monitoring event from an unknown service",
     [_cap("hs/status/writer", STATUS, retained=True), _cap("hs/mon", dict(MON, uid="nobody"))],
     0, ["monitoring event from 'nobody'"]),
    ("a monitoring event on a sub-topic", [_cap("hs/status/writer", STATUS, retained=True),
                                           _cap("hs/mon/writer", MON)], 0,
     ["topic has a suffix after the kind"]),
    ("a plain event that is not one", [_cap("hs/mon", "hello")], 0,
     ["does not validate against mon.json"]),
    ("late data: a reopened notice, a correction, the commit sequence, an invalidation",
     [_cap("hs/reopened", msgpack.packb({"stream": "avg/house=1", "intervals": [[0, 10]],
                                         "reason": "late", "wseq": [9, 4]})),
      _cap("hs/c/avg/house=1", msgpack.packb({"interval": [0, 10], "data": [[10, 2.5]]})),
      _cap("hs/wseq", msgpack.packb([9, 4]), retained=True),
      _cap("hs/w/hsctl-1-2", msgpack.packb({"v": 1, "inc": 5, "seq": 1, "op": "invalidate",
                                            "stream": "t", "interval": [0, 10]})),
      _cap("hs/ack/hsctl-1-2", msgpack.packb({"v": 1, "inc": 5, "acks": [[1, 0, 0, 0, 0]]}))],
     0, []),
    ("a correction of a stream id that is not canonical",
     [_cap("hs/c/avg/house", msgpack.packb({"interval": [0, 10], "data": []}))], 0,
     ["topic suffix is not a canonical stream id"]),
    ("a reopened notice on a sub-topic",
     [_cap("hs/reopened/avg", msgpack.packb({"stream": "avg", "intervals": [[0, 10]],
                                             "reason": "late", "wseq": [9, 4]}))], 0,
     ["topic has a suffix after the kind"]),
    ("a reopened notice without wseq",
     [_cap("hs/reopened", msgpack.packb({"stream": "avg", "intervals": [[0, 10]],
                                         "reason": "late"}))], 0,
     ["does not validate against reopened.json"]),
    ("a line of four fields", ["1\t1\ths/status/writer\t" + json.dumps(STATUS).encode().hex()],
     0, []),
    ("an unreadable line", ["1\t1\ths/status/writer"], 0, ["unreadable capture line"]),
]


def capture_samples_problems():
    """check_capture must find exactly the expected problems in small captures."""
    problems = []
    fd, path = tempfile.mkstemp(prefix="hs-capture-", suffix=".tsv")
    try:
        for what, lines, refused, want in CAPTURE_SAMPLES:
            with os.fdopen(os.dup(fd), "w", encoding="utf-8") as f:
                f.seek(0)
                f.truncate()
                f.write("\n".join(lines) + "\n")
            got, _ = check_capture(path, expect_refused=refused, coverage=False)
            missing = [w for w in want if not any(w in g for g in got)]
            extra = [g for g in got if not any(w in g for w in want)]
            if missing or extra:
                problems.append(f"capture sample '{what}': expected the problems {want}, got "
                                f"{got}")
    finally:
        os.close(fd)
        os.unlink(path)
    return problems


def op_table_problems():
    """This script's write-request ops must be those of write-request.json."""
    enum = load_schema("write-request.json")["properties"]["op"]["enum"]
    if sorted(enum) != sorted(WRITE_OPS):
        return [f"write-request.json names the ops {sorted(enum)}, this script knows "
                f"{sorted(WRITE_OPS)}"]
    return []


def reply_tables_problems():
    """This script's tables of commands and replies must agree with ctl.json and api.json."""
    problems = []
    ctl = load_schema("ctl.json")["$defs"]
    cmds = []
    for branch in ctl["request"]["oneOf"]:
        c = branch["properties"]["cmd"]
        cmds += c["enum"] if "enum" in c else [c["const"]]
    if sorted(cmds) != sorted(CTL_CMDS):
        problems.append(f"ctl.json requests name the commands {sorted(cmds)}, this script knows "
                        f"{sorted(CTL_CMDS)}")
    want = ["#/$defs/error"] + [f"#/$defs/{c}Reply" for c in CTL_CMDS]
    got = [b.get("$ref") for b in ctl["reply"]["oneOf"]]
    if sorted(got) != sorted(want):
        problems.append(f"ctl.json#/$defs/reply is {got}, expected one of each of {want}")
    for c in CTL_CMDS:
        if c + "Reply" not in ctl:
            problems.append(f"ctl.json has no $defs/{c}Reply")
    api = load_schema("api.json")["$defs"]
    ops = [b["properties"]["op"]["const"] for b in api["request"]["oneOf"]]
    if sorted(ops) != sorted(API_REPLIES):
        problems.append(f"api.json requests name the ops {sorted(ops)}, this script knows "
                        f"{sorted(API_REPLIES)}")
    for op in API_REPLIES:
        if reply_validator("api", op) is None:
            problems.append(f"api.json#/$defs/reply has no branch titled "
                            f"'{API_REPLIES[op]}' (or none titled 'error')")
    return problems


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

    for name, sub, sample, valid in PAYLOAD_SAMPLES:
        err = first_error(validator(name, sub), sample)
        if (err is None) != valid:
            problems.append(f"{name}{'#' + sub if sub else ''} sample {json.dumps(sample)[:120]}: "
                            f"{'valid' if err is None else 'invalid (' + err + ')'}, expected "
                            f"{'valid' if valid else 'invalid'}")
    print(f"{len(PAYLOAD_SAMPLES)} payload samples checked")
    problems += reply_tables_problems()
    problems += op_table_problems()
    print("reply tables checked against ctl.json and api.json")
    problems += capture_samples_problems()
    print(f"{len(CAPTURE_SAMPLES)} capture samples checked")
    return report(problems)


# ------------------------------------------------------------------ capture


def parse_capture(path):
    """Yields (line number, retained, qos, topic, response topic, correlation, payload bytes).

    Lines have six fields (retain, QoS, topic, response topic, correlation data, payload in
    hex) or four (no response topic and correlation data: both come back as "").
    Correlation data is printed raw: it may hold tabs (the fields around it are split off
    first), not newlines.
    """
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t", 4)
            if len(parts) == 5 and "\t" in parts[4]:
                corr, hexpay = parts[4].rsplit("\t", 1)
                parts = parts[:4] + [corr, hexpay]
            elif len(parts) == 4:
                parts = parts[:3] + ["", ""] + parts[3:]
            else:
                yield n, None, None, None, None, None, line
                continue
            retained, qos, topic, resp, corr, hexpay = parts
            try:
                payload = bytes.fromhex(hexpay)
            except ValueError:
                yield n, None, None, topic, None, None, line
                continue
            yield n, retained == "1", qos, topic, resp, corr, payload


def schema_names(kind):
    f = TOPIC_KINDS[kind][0]
    return " or ".join(f) if isinstance(f, tuple) else f


def decode_mon(payload):
    """mon events: a SenML JSON object, or a plain text line (a JSON string to the schema)."""
    if payload.lstrip()[:1] == b"{":
        return decode_json(payload)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"not UTF-8: {e}") from None


def check_capture(path, prefix="hs", expect_invalid=(), expect_refused=0, coverage=True):
    """The problems of a capture file, and lines summing it up.

    coverage: also require every topic kind, write-request op, status state and control
    reply kind to have been seen.
    """
    problems = []
    prefix = prefix.rstrip("/") + "/"
    validators = {k: validator(f, sub) for k, (f, sub, _) in TOPIC_KINDS.items()}
    raw_json = validator("raw-payload.json", "json")
    raw_mp = validator("raw-payload.json", "msgpack")
    sid_check = validator("write-request.json", "streamId")
    expect_invalid = set(expect_invalid or [])
    seen = {k: 0 for k in TOPIC_KINDS}
    ops = {op: 0 for op in WRITE_OPS}
    states = {st: 0 for st in STATUS_STATES}
    ctl_replies = {"error": 0}
    ctl_replies.update({c + "Reply": 0 for c in CTL_CMDS})
    invalid_seen = {t: [] for t in expect_invalid}
    dead_payloads = set()
    dead_values = set()  # JSON text of msgpack payloads shown as payload_json
    requests = {}  # (sender, inc, seq) -> line
    acks = []  # (sender, inc, seq, line)
    # (response topic, correlation) -> [kind, op (None: refused by the schema), doc, topic, line,
    #                                   answered]
    calls = {}
    replies = []  # (line, topic, correlation, doc)
    service_ids = set()
    mon_uids = []  # (line, uid)
    total = 0

    def bad(n, topic, what):
        problems.append(f"line {n} {topic}: {what}")

    for n, retained, qos, topic, resp, corr, payload in parse_capture(path):
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
            elif enc == "mon":
                doc = decode_mon(payload)
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
        if kind in REQUEST_KINDS:
            if not resp:
                bad(n, topic, "request without a response topic (MQTT v5 property)")
            elif not resp.startswith(prefix + "reply/"):
                bad(n, topic, f"response topic {resp} is not {prefix}reply/<client-id>")
            elif (resp, corr) in calls:
                bad(n, topic, f"correlation data '{corr}' used twice on {resp}")
            else:
                op = doc.get(REQUEST_KINDS[kind]) if err is None else None
                calls[(resp, corr)] = [kind, op, doc, topic, n, False]
            if err is not None:
                continue  # refused requests must be answered with an error (below)
        if kind == "reply":
            # Checked once every request is known (a reply may be captured first).
            replies.append((n, topic, corr, doc, err))
            continue
        if err is not None:
            bad(n, topic, f"does not validate against {schema_names(kind)}: {err}")
            continue
        # The topic suffix and the payload must agree where both name the same thing.
        same = {"status": "id", "metrics": "id", "committed": "workflow", "progress": "request"}
        if kind in same and doc.get(same[kind]) != suffix:
            bad(n, topic, f"payload {same[kind]} '{doc.get(same[kind])}' differs from the topic")
        if kind == "exec" and doc["tool"]["name"] != suffix:
            bad(n, topic, f"job tool '{doc['tool']['name']}' differs from the topic")
        if kind in ("s", "c") and first_error(sid_check, suffix):
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
            elif "payload_json" in doc and "payload_b64" in doc:
                dead_payloads.add(base64.b64decode(doc["payload_b64"]))  # the exact bytes
            elif "payload_json" in doc:
                # msgpack shown as JSON: the same value, not necessarily the same bytes.
                dead_values.add(json.dumps(doc["payload_json"], sort_keys=True))
            else:
                dead_payloads.add(base64.b64decode(doc["payload_b64"]))
        if kind == "status":
            states[doc["state"]] += 1
            service_ids.add(doc["id"])
        if kind == "metrics":
            for p in metrics_problems(doc):
                bad(n, topic, p)
        if kind == "mon":
            mon_uids.append((n, doc["uid"] if isinstance(doc, dict) else doc.split(" ")[2]))

    # Replies, each against the reply of the request it answers.
    refused = 0
    for n, topic, corr, doc, err in replies:
        call = calls.get((topic, corr))
        if call is None:
            # The request was not captured: any reply of api.json or ctl.json.
            if err is not None:
                bad(n, topic, f"does not validate against api.json or ctl.json replies: {err}")
            continue
        kind, op, req, req_topic, req_line, answered = call
        if answered:
            bad(n, topic, f"a second reply to the request of line {req_line}")
            continue
        call[5] = True
        what = f"the reply to {req_topic} (line {req_line})"
        if doc is None:
            bad(n, topic, f"{what}: {err}")
            continue
        if op is None:
            refused += 1
            if doc.get("ok") is not False or "error" not in doc:
                bad(n, topic, f"{what} should be an error: the schema refuses the request")
            continue
        v = reply_validator(kind, op)
        if v is None:
            bad(n, topic, f"{what}: no reply schema known for {REQUEST_KINDS[kind]} '{op}'")
            continue
        err = first_error(v, doc)
        if err is not None:
            bad(n, topic, f"{what} ({REQUEST_KINDS[kind]} {op}) does not validate against "
                f"{kind}.json: {err}")
            continue
        if kind != "ctl":
            continue
        rkind = ctl_reply_kind(doc)
        ctl_replies[rkind] += 1
        sid = req_topic[len(prefix) + len("ctl/"):]
        if rkind == "pingReply" and doc["id"] != sid:
            bad(n, topic, f"{what}: ping reply id '{doc['id']}' differs from the request topic")
        if rkind == "statsReply":
            if doc["stats"]["id"] != sid:
                bad(n, topic, f"{what}: stats id '{doc['stats']['id']}' differs from the "
                    "request topic")
            for p in metrics_problems(doc["stats"]):
                bad(n, topic, f"{what}: {p}")
        if rkind == "getReply" and "name" in req and list(doc["settings"]) != [req["name"]]:
            bad(n, topic, f"{what}: get {req['name']} answered with the settings "
                f"{sorted(doc['settings'])}")
        if rkind == "getReply" and "name" not in req and not set(doc["settable"]) <= set(
                doc["settings"]):
            bad(n, topic, f"{what}: settable names settings that get does not list")
        if rkind == "setReply":
            value = req["value"] if isinstance(req["value"], str) else json.dumps(req["value"])
            if (doc["name"], doc["value"]) != (req["name"], value):
                bad(n, topic, f"{what}: set {req['name']} {value!r} answered with "
                    f"{doc['name']} {doc['value']!r}")
    for (resp, corr), (kind, op, req, req_topic, req_line, answered) in sorted(
            calls.items(), key=lambda kv: kv[1][4]):
        if not answered:
            problems.append(f"line {req_line} {req_topic}: request {json.dumps(req)[:80]} "
                            f"(correlation '{corr}') was never answered on {resp}")
    if refused != expect_refused:
        problems.append(f"{refused} request(s) on {prefix}api/... and {prefix}ctl/... were "
                        f"refused by the schema, expected {expect_refused}")

    for sender, inc, seq, n in acks:
        if (sender, inc, seq) not in requests:
            problems.append(f"line {n}: acknowledgement of {sender}:{inc}:{seq}, "
                            "a write request that was never captured")
    acked = {(s, i, q) for s, i, q, _ in acks}
    for key, n in sorted(requests.items(), key=lambda kv: kv[1]):
        if key not in acked:
            problems.append(f"line {n}: write request {key[0]}:{key[1]}:{key[2]} "
                            "was never acknowledged")
    for n, uid in mon_uids:
        if uid not in service_ids:
            problems.append(f"line {n}: monitoring event from '{uid}', a service whose status "
                            "was never captured")
    for t, payloads in sorted(invalid_seen.items()):
        if not payloads:
            problems.append(f"no message on {t} (expected invalid ones) was captured")
        for p in payloads:
            if p not in dead_payloads and _mp_json(p) not in dead_values:
                problems.append(f"the invalid message {p[:60]!r} on {t} was not dead-lettered")
    for kind, count in sorted(seen.items()) if coverage else ():
        if count == 0 and kind not in OPTIONAL_KINDS:
            where = prefix + kind + ("" if kind in NO_SUFFIX else "/...")
            problems.append(f"no message of topic kind {where} was captured "
                            f"(schema {schema_names(kind)} untested)")
    for op, count in ops.items() if coverage else ():
        if count == 0 and op not in OPTIONAL_OPS:
            problems.append(f"no write request with op '{op}' was captured")
    for st, count in states.items() if coverage else ():
        if count == 0:
            problems.append(f"no status with state '{st}' was captured")
    for rk, count in ctl_replies.items() if coverage else ():
        if count == 0:
            problems.append(f"no control reply of the kind ctl.json#/$defs/{rk} was captured")
    summary = [
        f"{total} messages checked: " + ", ".join(f"{k} {c}" for k, c in sorted(seen.items())),
        "write requests by op: " + ", ".join(f"{k} {c}" for k, c in ops.items()),
        "statuses by state: " + ", ".join(f"{k} {c}" for k, c in states.items()),
        "control replies by kind: " + ", ".join(f"{k} {c}" for k, c in ctl_replies.items()),
        f"requests answered: {sum(1 for c in calls.values() if c[5])} of {len(calls)}, "
        f"{refused} refused by the schema",
    ]
    return problems, summary


def capture(args):
    problems, summary = check_capture(args.capture, args.prefix, args.expect_invalid,
                                      args.expect_refused)
    for line in summary:
        print(line)
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
    cp.add_argument("capture", help="mosquitto_sub -V mqttv5 -F "
                    "'%%r\\t%%q\\t%%t\\t%%R\\t%%D\\t%%x' output")
    cp.add_argument("--prefix", default="hs", help="topic prefix (default hs)")
    cp.add_argument("--expect-invalid", action="append", metavar="TOPIC",
                    help="a topic whose messages must be refused and dead-lettered")
    cp.add_argument("--expect-refused", type=int, default=0, metavar="N",
                    help="number of api/ctl requests the schema must refuse (each answered "
                         "with an error reply; default 0)")
    args = ap.parse_args()
    return selftest(args) if args.cmd == "selftest" else capture(args)


if __name__ == "__main__":
    sys.exit(main())
