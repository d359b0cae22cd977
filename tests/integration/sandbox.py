#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The seccomp sandbox and the systemd plumbing of `vmm run`, on whole VMs (docs/sandbox.md).
Usage: sandbox.py VMM GUEST_DIR CASE

  forbidden-main, forbidden-vcpu  debug.forbidden_syscall makes the main thread or vcpu0 open
                                  a TCP socket after its lockdown: the VMM reports the call by
                                  name and exits 159
  off                             "sandbox": false: the same call goes through, the guest
                                  powers off (exit 0) and the log says the sandbox is off
  journal                         with $JOURNAL_STREAM naming stderr, log lines carry <N>
                                  priorities (the sandbox's report <2>); naming another file,
                                  they keep their timestamps
  notify                          a fake $NOTIFY_SOCKET gets READY=1 with STATUS=Running,
                                  WATCHDOG=1 pings at half $WATCHDOG_USEC, then STOPPING=1 with
                                  the reason once SIGTERM stops the VM, all after lockdown"""
import os
import signal
import socket
import sys
import tempfile
import time

from harness import VM, fail, flat_spec, require_accel

vmm, guests, case = sys.argv[1], sys.argv[2], sys.argv[3]
require_accel()

SANDBOX_EXIT = 159
REPORT = "made a system call its allow-list forbids: socket (41"


def guest(name):
    return f"{guests}/{name}.bin"


def spec(name, **extra):
    s = flat_spec(guest(name), **extra)
    return s


if case in ("forbidden-main", "forbidden-vcpu"):
    who = case.split("-")[1]
    thread = "main" if who == "main" else "vcpu0"
    vm = VM(vmm, spec("hang", debug={"exit_port": "0xf4", "forbidden_syscall": who}))
    vm.expect_exit(SANDBOX_EXIT, f"sandbox: {thread} {REPORT}", timeout=30)
    err = vm.stderr_text()
    if "sandbox: on" not in err:
        fail(f"no 'sandbox: on' line:\n{err}")
    if f"debug.forbidden_syscall: {thread} opens a TCP socket" not in err:
        fail(f"the probe did not announce itself:\n{err}")
elif case == "off":
    vm = VM(vmm, spec("poweroff_acpi", sandbox=False,
                      debug={"exit_port": "0xf4", "forbidden_syscall": "vcpu"}))
    vm.expect_exit(0, "sandbox: off", timeout=30)
    err = vm.stderr_text()
    if "vcpu0 was allowed to (the sandbox is off)" not in err or REPORT in err:
        fail(f"the forbidden call was not made freely:\n{err}")
elif case == "journal":
    # stderr is the file the VM class opens; JOURNAL_STREAM is "device:inode" of the stream.
    d = tempfile.mkdtemp(prefix="vmm-journal-")
    err_path = os.path.join(d, "stderr")
    with open(err_path, "w") as f:
        st = os.fstat(f.fileno())
    os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    probe = {"exit_port": "0xf4", "forbidden_syscall": "main"}
    vm = VM(vmm, spec("hang", debug=probe), stderr_path=err_path)
    vm.expect_exit(SANDBOX_EXIT, REPORT, timeout=30)
    lines = [l for l in vm.stderr_text().splitlines() if l]
    if not lines or any(not (l.startswith("<") and l[2] == ">") for l in lines):
        fail(f"lines without a <N> priority prefix:\n{lines}")
    if not any(l.startswith("<6>") and "sandbox: on" in l for l in lines):
        fail(f"no <6> (info) line for the sandbox:\n{lines}")
    if not any(l.startswith("<2>") and REPORT in l for l in lines):
        fail(f"the sandbox's report is not <2> (critical):\n{lines}")
    # Another file than the one JOURNAL_STREAM names: a child that inherited the variable.
    vm = VM(vmm, spec("hang", debug=probe))
    vm.expect_exit(SANDBOX_EXIT, REPORT, timeout=30)
    lines = [l for l in vm.stderr_text().splitlines() if l]
    if any(l.startswith("<") for l in lines) or not lines[0].startswith("["):
        fail(f"priority prefixes on a stream that is not the journal:\n{lines}")
    print("ok: <N> prefixes on the journal stream only")
elif case == "notify":
    d = tempfile.mkdtemp(prefix="vmm-notify-")
    path = os.path.join(d, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    os.environ["NOTIFY_SOCKET"] = path
    os.environ["WATCHDOG_USEC"] = "200000"
    os.environ.pop("WATCHDOG_PID", None)
    vm = VM(vmm, spec("hang"))
    msgs = []

    def collect(until, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msgs.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            if until():
                return
        fail(f"timed out; notifications so far: {msgs}\nstderr: {vm.stderr_text()}")

    collect(lambda: any("READY=1" in m for m in msgs), 30)
    ready = next(m for m in msgs if "READY=1" in m)
    if "STATUS=Running" not in ready.split("\n"):
        fail(f"READY=1 without STATUS=Running: {ready!r}")
    vm.wait_serial("ready")
    start = len(msgs)
    collect(lambda: sum(m == "WATCHDOG=1" for m in msgs[start:]) >= 3, 10)
    vm.signal(signal.SIGTERM)
    collect(lambda: any("STOPPING=1" in m for m in msgs), 20)
    stop = next(m for m in msgs if "STOPPING=1" in m)
    if "STATUS=Shutdown: stopped by Terminated (exit status 143)" not in stop.split("\n"):
        fail(f"STOPPING=1 without the reason: {stop!r}")
    vm.expect_exit(128 + signal.SIGTERM, "sandbox: on")
    print(f"ok: {len(msgs)} notifications: READY, {sum(m == 'WATCHDOG=1' for m in msgs)} "
          "watchdog pings, STOPPING")
else:
    print(f"unknown case {case}")
    sys.exit(1)
