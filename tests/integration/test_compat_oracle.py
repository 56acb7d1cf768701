#!/usr/bin/env python3
"""Oracle for test_compat_oracle.c: prints JSON lines {"source", "reader", "writer",
"compatible"} judged by python3-avro's ReaderWriterCompatibilityChecker.

The pairs are every (reader, writer) pair that python3-avro's own test suite,
avro/test/test_compatibility.py (installed by Debian's python3-avro), hands to the
checker: the suite is run with get_compatibility wrapped to record its top-level
calls. When that file is not installed, the pairs reproduced from it in
tests/data/compat_pairs.json ("from_python_avro") are used. herald's own extra pairs
("herald" in the same file: recursive types, namespaces, aliases, catalogue
evolutions) are always added.
"""
import io
import json
import os
import sys
import unittest

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType


def verdict(reader_json, writer_json):
    reader = avro.schema.parse(json.dumps(reader_json))
    writer = avro.schema.parse(json.dumps(writer_json))
    res = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    return res.compatibility is SchemaCompatibilityType.compatible


def captured_pairs():
    """Pairs python-avro's own test suite checks, or None when it is not installed."""
    try:
        from avro.test import test_compatibility
    except ImportError:
        return None
    pairs, depth = [], [0]
    original = ReaderWriterCompatibilityChecker.get_compatibility

    def recording(self, reader, writer, *args, **kwargs):
        if depth[0] == 0:
            pairs.append((reader.to_json(), writer.to_json()))
        depth[0] += 1
        try:
            return original(self, reader, writer, *args, **kwargs)
        finally:
            depth[0] -= 1

    ReaderWriterCompatibilityChecker.get_compatibility = recording
    try:
        suite = unittest.defaultTestLoader.loadTestsFromModule(test_compatibility)
        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    finally:
        ReaderWriterCompatibilityChecker.get_compatibility = original
    if not result.wasSuccessful():
        sys.exit("python3-avro's own compatibility tests fail here")
    unique, seen = [], set()
    for r, w in pairs:
        key = json.dumps([r, w], sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append((r, w))
    return unique


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    # HERALD_ORACLE_FALLBACK=1: use the stored copy (the test checks both ways)
    pairs = None if os.environ.get("HERALD_ORACLE_FALLBACK") else captured_pairs()
    source = "python3-avro test_compatibility.py"
    if pairs is None:
        pairs = [(p["reader"], p["writer"]) for p in data["from_python_avro"]]
        source = "compat_pairs.json from_python_avro"
    out = [(source, r, w) for r, w in pairs]
    out += [("herald: " + p["name"], p["reader"], p["writer"]) for p in data["herald"]]
    for src, r, w in out:
        print(json.dumps({"source": src, "reader": r, "writer": w,
                          "compatible": verdict(r, w)}))


if __name__ == "__main__":
    main()
