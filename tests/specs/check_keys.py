#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every key the VM spec accepts does something, or is refused (tests/specs/keys.json).

The keys are walked from config/vm-spec.schema.json: each property ("boot.modules[].path")
and each value of an enum ("disks[].cache=none"). keys.json must name exactly those, and for
each either
  - "read": "FILE: TEXT": a source file outside the parser (not src/vmm/spec*, not tests/)
    that contains TEXT, the code that acts on the key, and "test": the name of a registered
    meson test that shows the effect (checked against the build's meson-info/intro-tests.json);
  - or "refused": {"path": P, "set": [--set arguments]}: a spec given those --set values is
    refused by `vmm validate --no-file-check` (exit 2) with exactly one problem,
    "P: ... not supported by this build yet".
It fails when the schema gains a key the table lacks, the table names a key the schema lacks,
a reader or test is gone, or a refused key is accepted (or refused for another reason).

Usage: check_keys.py VMM SOURCE_ROOT BUILD_ROOT"""
import json
import os
import subprocess
import sys
import tempfile

vmm, root, build = sys.argv[1:4]
REFUSAL = "not supported by this build yet"
failures = []


def resolve(schema, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        target = schema["$defs"][ref[len("#/$defs/"):]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def walk(schema, node, prefix, out):
    """Collect "key" and "key=value" names of the object schema node under prefix."""
    for key, prop in node.get("properties", {}).items():
        name = prefix + key
        prop = resolve(schema, prop)
        out.append(name)
        for value in prop.get("enum", []):
            out.append(f"{name}={value}")
        if "properties" in prop:
            walk(schema, prop, name + ".", out)
        items = resolve(schema, prop.get("items", {}))
        if "properties" in items:
            walk(schema, items, name + "[].", out)


def check_reader(key, read):
    path, _, text = read.partition(": ")
    if not text:
        failures.append(f"{key}: \"read\" must be \"FILE: TEXT\", got {read!r}")
        return
    if path.startswith("src/vmm/spec") or not path.startswith("src/"):
        failures.append(f"{key}: {path} is not code outside the parser")
        return
    try:
        with open(os.path.join(root, path)) as f:
            found = text in f.read()
    except OSError as e:
        failures.append(f"{key}: {path}: {e.strerror}")
        return
    if not found:
        failures.append(f"{key}: {path} no longer contains {text!r}")


def check_refused(key, refused, base_spec):
    args = [vmm, "validate", "--no-file-check"]
    for s in refused["set"]:
        args += ["--set", s]
    p = subprocess.run(args + [base_spec], capture_output=True, text=True, timeout=30)
    lines = [line for line in p.stdout.splitlines() if line]
    want = refused["path"] + ": "
    if p.returncode != 2 or len(lines) != 1 or not lines[0].startswith(want) or \
            not lines[0].endswith(REFUSAL):
        failures.append(f"{key}: expected the one problem \"{want}... {REFUSAL}\" and exit 2, "
                        f"got exit {p.returncode}: {p.stdout.strip()!r}")


def main():
    with open(os.path.join(root, "config/vm-spec.schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(root, "tests/specs/keys.json")) as f:
        table = json.load(f)["keys"]
    with open(os.path.join(build, "meson-info/intro-tests.json")) as f:
        tests = {t["name"] for t in json.load(f)}
    keys = []
    walk(schema, schema, "", keys)

    for k in keys:
        if k not in table:
            failures.append(f"{k}: accepted by the schema, missing from tests/specs/keys.json")
    for k in table:
        if k not in keys:
            failures.append(f"{k}: in tests/specs/keys.json, not in the schema")

    d = tempfile.mkdtemp(prefix="vmm-keys-")
    base_spec = os.path.join(d, "spec.json")
    with open(base_spec, "w") as f:
        json.dump({"boot": {"flat": "prog.bin"}}, f)
    nr_read = nr_refused = 0
    for k in keys:
        row = table.get(k)
        if row is None:
            continue
        if "refused" in row:
            check_refused(k, row["refused"], base_spec)
            nr_refused += 1
            continue
        if "read" not in row or "test" not in row:
            failures.append(f"{k}: needs \"read\" and \"test\", or \"refused\"")
            continue
        check_reader(k, row["read"])
        if row["test"] not in tests:
            failures.append(f"{k}: no meson test named {row['test']!r}")
        nr_read += 1
    os.unlink(base_spec)
    os.rmdir(d)

    for msg in failures:
        print(f"FAIL {msg}")
    print(f"{len(keys)} keys and values: {nr_read} with a reader and a test, {nr_refused} "
          f"refused, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
