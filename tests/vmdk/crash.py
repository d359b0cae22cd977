#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kill -9 crash tests (issue 4 "Crash safety").

usage: crash.py VMM_IMG VMDK_TESTIO

For a monolithicSparse image, a twoGbMaxExtentSparse image and a delta child on a parent with
data, several rounds of: random writes through the block layer (the engine `auto` picks:
io_uring, or libaio where the host refuses io_uring; 4 in flight, partial and whole grains), kill -9 after a random delay, then
  * the image opens and `vmm-img check` finds no corruption (leaks allowed: exit 0 or 3),
  * every sector holds zeros or an intact stamp no older than the last completed write,
  * `check --repair` leaves a clean image that qemu-img check accepts, and the data verify
    again.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import host_probe  # noqa: E402  (tests/host_probe.py)

VMM_IMG, TESTIO = sys.argv[1], sys.argv[2]
FAILS = []
ROUNDS = int(os.environ.get("VMDK_CRASH_ROUNDS", "4"))


def run(*args, ok=(0,)):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if p.returncode not in ok:
        raise RuntimeError(f"{' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


SEED = [0]


def next_seed(rng):
    """Sequence numbers are seed * 10^6 + n: seeds must grow so later writes stamp higher."""
    SEED[0] += rng.randrange(1, 50)
    return SEED[0]


def crash_rounds(img, journal, tag, rng):
    for r in range(ROUNDS):
        seed = next_seed(rng)
        w = subprocess.Popen([TESTIO, "crash-writer", img, journal, str(seed), "auto"],
                             stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.15, 0.6))
        w.send_signal(signal.SIGKILL)
        w.wait()
        with open(journal) as f:
            n = sum(1 for _ in f)
        c = run(VMM_IMG, "check", img, ok=(0, 2, 3))
        check(c.returncode in (0, 3), f"{tag} round {r}: check after kill -9 finds no "
              f"corruption (rc {c.returncode}, {n} writes journaled)")
        v = run(TESTIO, "verify", img, journal, ok=(0, 1))
        check(v.returncode == 0, f"{tag} round {r}: contents are old-or-new " + v.stderr[:300])
        run(VMM_IMG, "check", "--repair", img, ok=(0, 2, 3))
        c = run(VMM_IMG, "check", img, ok=(0, 2, 3))
        check(c.returncode == 0, f"{tag} round {r}: clean after check --repair")
        q = run("qemu-img", "check", "-f", "vmdk", img, ok=(0, 1, 2, 3))
        check(q.returncode == 0, f"{tag} round {r}: qemu-img check accepts it")
        v = run(TESTIO, "verify", img, journal, ok=(0, 1))
        check(v.returncode == 0, f"{tag} round {r}: contents verify after repair")


def main():
    host_probe.require_tools("qemu-img", why="it checks the images after each crash")
    why = host_probe.io_uring_refusal()
    print("I/O engine: " + (f"not io_uring ({why})" if why else "io_uring"))
    rng = random.Random(int(os.environ.get("VMDK_CRASH_SEED", "4")))
    with tempfile.TemporaryDirectory(prefix="vmdk-crash-") as d:
        try:
            img = f"{d}/m.vmdk"
            run(VMM_IMG, "create", img, "24M")
            crash_rounds(img, f"{d}/m.journal", "monolithicSparse", rng)
            img = f"{d}/t.vmdk"
            run(VMM_IMG, "create", "-o", "subformat=twoGbMaxExtentSparse", img, "24M")
            crash_rounds(img, f"{d}/t.journal", "twoGbMaxExtentSparse", rng)
            # delta: the parent holds a round of stamped writes, the child gets the crashes
            base, child = f"{d}/base.vmdk", f"{d}/child.vmdk"
            run(VMM_IMG, "create", base, "24M")
            w = subprocess.Popen([TESTIO, "crash-writer", base, f"{d}/c.journal",
                                  str(next_seed(rng)), "sync"])
            time.sleep(0.3)
            w.send_signal(signal.SIGKILL)
            w.wait()
            run(VMM_IMG, "check", "--repair", base, ok=(0, 3))
            run(VMM_IMG, "snapshot", base, child)
            crash_rounds(child, f"{d}/c.journal", "delta child", rng)
        except Exception as e:
            check(False, f"crash test aborted: {e}")
    print(f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


main()
