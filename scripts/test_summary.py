#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sum meson testlog.json files and scripts/test's own steps into one closing line:
'N passed, N failed, N skipped' (always the last line printed), exit status 1 on any failure.

usage: test_summary.py [--log TESTLOG.json:MESON_STATUS]... [--failed WHAT]... [--skipped WHAT]...
  --log      a tree's meson test log and the exit status of its `meson test`
  --failed   a step that failed outside meson test (deps, configure, build): one failure
  --skipped  a tree not run on this host: one skip

A meson test counts as: passed (OK, EXPECTEDFAIL; a test that skipped some of its cases
internally and passed is a pass, its log says what it skipped), skipped (SKIP, exit status 77),
failed (anything else: FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT). A log that is missing or
unreadable, or a non-zero `meson test` status with no failed test in its log, is one failure."""
import json
import sys


def skip_reason(r):
    """The line a skipped test printed about why, or ''."""
    out = (r.get("stdout") or "") + "\n" + (r.get("stderr") or "")
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    for ln in lines:
        if "SKIP" in ln:
            return ln[:200]
    return lines[-1][:200] if lines else ""


def main(argv):
    logs, failed_steps, skipped_steps = [], [], []
    i = 0
    while i < len(argv):
        opt = argv[i]
        if opt not in ("--log", "--failed", "--skipped") or i + 1 >= len(argv):
            print(f"test_summary: bad argument {opt!r}\n{__doc__}")
            print("0 passed, 1 failed, 0 skipped")
            return 1
        val = argv[i + 1]
        {"--log": logs, "--failed": failed_steps, "--skipped": skipped_steps}[opt].append(val)
        i += 2

    passed = failed = skipped = 0
    for what in failed_steps:
        print(f"FAILED: {what}")
        failed += 1
    for what in skipped_steps:
        print(f"SKIPPED: {what}")
        skipped += 1
    for arg in logs:
        path, _, status = arg.rpartition(":")
        tree = path.split("/meson-logs/")[0]
        p = f = s = 0
        try:
            with open(path) as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    r = json.loads(line)
                    res = r.get("result")
                    if res in ("OK", "EXPECTEDFAIL"):
                        p += 1
                    elif res == "SKIP":
                        s += 1
                        print(f"skipped: {tree}: {r.get('name')}: {skip_reason(r)}")
                    else:
                        f += 1
                        print(f"FAILED: {tree}: {r.get('name')} ({res})")
        except (OSError, ValueError) as e:
            print(f"FAILED: {tree}: cannot read the test log {path}: {e}")
            f += 1
        if status not in ("", "0") and f == 0:
            print(f"FAILED: {tree}: meson test exited with status {status} and no failed test "
                  "in its log (it stopped before or while running the tests)")
            f += 1
        print(f"{tree}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    if passed == 0 and failed == 0:
        print("FAILED: no test ran")
        failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


sys.exit(main(sys.argv[1:]))
