#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check config/vm-spec.schema.json with Debian's python3-jsonschema (JSON Schema 2020-12).

- the schema itself is a valid 2020-12 schema;
- every config/examples/*.json validates against it;
- every tests/specs/bad/NAME.json that is JSON and has no NAME.set is rejected by it, except
  the few whose fault no JSON Schema can state (listed below with the reason), so the schema
  stays as strict as the parser.

Usage: check_schema.py CONFIG_DIR BAD_DIR
"""
import json
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(77)

# Bad specs the schema cannot reject, and why.
SCHEMA_BLIND = {
    "nic-duplicate-mac": "MACs unique across nics[] (uniqueItems compares whole objects)",
    "duplicate-key": "duplicate keys vanish when the JSON is loaded",
    "cpu-inconsistent": "which features a named CPU model has, and which need which (avx2 needs "
    "avx), is the parser's table",
    "disk-twice": "two paths naming one image (\"./root.img\" and \"root.img\")",
}


def main():
    config = pathlib.Path(sys.argv[1])
    bad = pathlib.Path(sys.argv[2])
    schema = json.loads((config / "vm-spec.schema.json").read_text())
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    validator = cls(schema)
    failures = 0

    examples = sorted((config / "examples").glob("*.json"))
    for path in examples:
        errors = list(validator.iter_errors(json.loads(path.read_text())))
        for e in errors:
            print(f"FAIL {path.name}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
        failures += bool(errors)
        if not errors:
            print(f"ok   {path.name} validates")

    checked = 0
    for path in sorted(bad.glob("*.json")):
        name = path.stem
        if path.with_suffix(".set").exists() or name in SCHEMA_BLIND:
            continue
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a syntax error: the parser's job
        checked += 1
        if validator.is_valid(doc):
            print(f"FAIL bad/{path.name}: the schema accepts it, the parser does not")
            failures += 1
        else:
            print(f"ok   bad/{path.name} rejected")

    if len(examples) < 6 or checked < 12:
        print(f"FAIL too few files: {len(examples)} examples, {checked} bad specs checked")
        failures += 1
    print(f"{len(examples)} examples, {checked} bad specs, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
