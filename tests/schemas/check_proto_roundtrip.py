#!/usr/bin/python3
"""Checks the encoders of common/hs_proto.c against the schemas in schemas/.

  check_proto_roundtrip.py EXAMPLES_BIN

Runs EXAMPLES_BIN (tests/schemas/proto_examples.c) with a fresh directory,
which writes one encoded example of every internal msgpack message there as
<schema>__<name>.msgpack (after decoding it again with hs_proto). Each file
must hold exactly one msgpack value; it is converted to the JSON data model
the schemas describe (bin values as base64 strings, see schemas/README.md)
and validated against schemas/<schema>.json. Every one of job.json,
write-request.json, ack.json, committed.json, reopened.json,
correction.json, wseq.json and schemas.json must have an example, and every write-request op must occur.

Run with /usr/bin/python3 (python3-jsonschema, python3-msgpack).
Exit status: 0 all valid, 1 problems found (listed on stderr), 2 usage error.
"""

import base64
import glob
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.normpath(os.path.join(HERE, "..", "..", "schemas"))
EXPECTED = ("job", "write-request", "ack", "committed", "reopened", "correction", "wseq",
            "schemas")
OPS = ("append", "job", "define", "purge", "doc_put", "doc_del", "invalidate", "append_many")


def to_json_model(v):
    """The JSON data model of a decoded msgpack value: bin as base64 text."""
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, list):
        return [to_json_model(x) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValueError("map key %r is not a string" % (k,))
            out[k] = to_json_model(x)
        return out
    if isinstance(v, msgpack.ExtType):
        raise ValueError("ext type %d" % v.code)
    return v


def load_one(path):
    """The single msgpack value in path (trailing bytes are an error)."""
    with open(path, "rb") as f:
        data = f.read()
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(data)
    values = list(unpacker)
    if len(values) != 1:
        raise ValueError("%d msgpack values, not 1" % len(values))
    return values[0]


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    validators = {}
    for name in EXPECTED:
        with open(os.path.join(SCHEMAS, name + ".json"), encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[name] = jsonschema.Draft202012Validator(schema)
    problems = []
    seen = {name: 0 for name in EXPECTED}
    ops = set()
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([argv[1], tmp], capture_output=True, text=True)
        if run.returncode != 0:
            print("%s failed (%d): %s" % (argv[1], run.returncode, run.stderr.strip()),
                  file=sys.stderr)
            return 1
        files = sorted(glob.glob(os.path.join(tmp, "*.msgpack")))
        for path in files:
            base = os.path.basename(path)
            schema = base.split("__", 1)[0]
            if schema not in validators:
                problems.append("%s: no schema %s.json is checked" % (base, schema))
                continue
            seen[schema] += 1
            try:
                doc = to_json_model(load_one(path))
            except (ValueError, msgpack.UnpackException) as e:
                problems.append("%s: not one msgpack value of the JSON model: %s" % (base, e))
                continue
            if schema == "write-request" and isinstance(doc, dict):
                ops.add(doc.get("op"))
            errors = sorted(validators[schema].iter_errors(doc), key=lambda e: list(e.path))
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path) or "(top)"
                problems.append("%s: %s: %s" % (base, where, e.message))
                # oneOf failures hide the real reason in their context.
                for sub in sorted(e.context or [], key=lambda s: list(s.absolute_schema_path)):
                    sub_where = "/".join(str(p) for p in sub.absolute_path) or "(top)"
                    problems.append("    %s: %s [%s]" % (
                        sub_where, sub.message,
                        "/".join(str(p) for p in sub.absolute_schema_path)))
    for name, count in seen.items():
        if count == 0:
            problems.append("no example for %s.json" % name)
    for op in OPS:
        if op not in ops:
            problems.append("no write-request example of op %s" % op)
    print("%d examples checked against %s" % (sum(seen.values()), ", ".join(
        "%s.json (%d)" % (n, c) for n, c in seen.items())))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
