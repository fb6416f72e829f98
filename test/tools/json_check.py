#!/usr/bin/env python3
"""json_check.py SCHEMA_DIR COMMAND FILE [DIR]: FILE, what `hugemem COMMAND --json`
printed, against docs/json.md's rules and SCHEMA_DIR/COMMAND.json:

  - one line, valid UTF-8 (strict), strict JSON (no duplicate key, no NaN);
  - valid against the schema made closed: every object of the schema that
    lists properties gets additionalProperties false, so a key the code
    prints and the schema does not list fails here (the files themselves
    stay open: a script's copy still validates a later hugemem that adds a
    key);
  - every KEY_base64 has its KEY beside it, its bytes are not valid UTF-8,
    and KEY is those bytes with each stray byte written U+FFFD (json.md,
    "Strings"), one per byte;
  - with DIR: the paths under DIR that `clear --json` lists (removed, kept,
    not_proved), read back as bytes (KEY_base64 when present, else KEY in
    UTF-8), are exactly the *map_* names in DIR, and a KEY_base64 appears only for
    a name that is not UTF-8.

Prints what is wrong on standard error and exits 1; 0 when all holds. Needs
jsonschema (Debian: python3-jsonschema, 4.10 in Debian 12)."""
import base64
import copy
import json
import os
import sys

import jsonschema


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def strict_pairs(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        fail("duplicate keys %s" % sorted(dup))
    return dict(pairs)


def no_constant(name):
    fail("not strict JSON: %s" % name)


def closed(schema):
    """A copy of SCHEMA where every object listing properties admits no other key."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def sequence_len(raw, i):
    """Bytes of the valid UTF-8 sequence at RAW[i] (1 to 4), 0 when none starts there."""
    for n in range(1, 5):
        try:
            raw[i:i + n].decode("utf-8")
            return n
        except UnicodeDecodeError:
            continue
    return 0


def shown(raw):
    """RAW as the writer shows bytes that are not UTF-8: U+FFFD for each stray byte."""
    out, i = [], 0
    while i < len(raw):
        n = sequence_len(raw, i)
        out.append(raw[i:i + n].decode("utf-8") if n else "\ufffd")
        i += n or 1
    return "".join(out)


def check_twins(node, where):
    if isinstance(node, list):
        for i, v in enumerate(node):
            check_twins(v, "%s[%d]" % (where, i))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        check_twins(value, where + "." + key)
        if not key.endswith("_base64"):
            continue
        base = key[: -len("_base64")]
        raw = base64.b64decode(value, validate=True)
        if not isinstance(node.get(base), str):
            fail("%s.%s without a string %s beside it" % (where, key, base))
        try:
            raw.decode("utf-8")
            fail("%s.%s: its bytes are valid UTF-8, no twin was needed" % (where, key))
        except UnicodeDecodeError:
            pass
        if shown(raw) != node[base]:
            fail("%s.%s: %r is not its bytes %r shown with U+FFFD" % (where, base, node[base], raw))


def exact(obj, key):
    """The exact bytes of OBJ[KEY]: its _base64 twin, else the string in UTF-8."""
    if key + "_base64" in obj:
        return base64.b64decode(obj[key + "_base64"])
    return obj[key].encode("utf-8")


def check_names(doc, directory):
    want = {os.path.join(directory, n) for n in os.listdir(directory) if b"map_" in n}
    got = set()
    for group in ("removed", "kept", "not_proved"):
        for entry in doc[group]:
            path = exact(entry, "path")
            if os.path.dirname(path) != directory:
                continue
            if path in got:
                fail("%s listed twice" % path)
            got.add(path)
            try:
                path.decode("utf-8")
                if "path_base64" in entry:
                    fail("%r: a path_base64 for a UTF-8 name" % path)
            except UnicodeDecodeError:
                pass
    if got != want:
        fail("names read back %r, the directory holds %r" % (sorted(got), sorted(want)))


def main():
    schema_dir, command, path = sys.argv[1:4]
    raw = open(path, "rb").read()
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        fail("not one line ended by a newline")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not valid UTF-8: %s" % e)
    doc = json.loads(text, object_pairs_hook=strict_pairs, parse_constant=no_constant)
    schema = json.load(open(os.path.join(schema_dir, command + ".json")))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(closed(schema)).iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:10]:
        print("%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message),
              file=sys.stderr)
    if errors:
        sys.exit(1)
    check_twins(doc, command)
    if len(sys.argv) > 4:
        check_names(doc, os.fsencode(sys.argv[4]))


main()
