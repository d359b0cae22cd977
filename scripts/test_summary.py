#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sum meson testlog.json files into one closing line: 'N passed, N failed, N skipped'.
argv[1] is the number of trees that failed to build (each counts as a failure)."""
import json
import sys

build_failures = int(sys.argv[1])
passed = failed = skipped = 0
for path in sys.argv[2:]:
    try:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                res = r.get("result")
                if res in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif res == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    print(f"FAILED: {r.get('name')} ({res}) in {path}")
    except FileNotFoundError:
        print(f"missing test log {path}")
        failed += 1
failed += build_failures
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
