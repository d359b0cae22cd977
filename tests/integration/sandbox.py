#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The seccomp sandbox and the systemd plumbing of `vmm run`, on whole VMs (docs/sandbox.md).
Usage: sandbox.py VMM GUEST_DIR CASE

  forbidden-main, forbidden-vcpu  debug.forbidden_syscall makes the main thread or vcpu0 open
                                  a netlink socket after its lockdown: the VMM reports the call by
                                  name and exits 159
  off                             "sandbox": false: the same call goes through, the guest
                                  powers off (exit 0) and the log says the sandbox is off
  journal                         with $JOURNAL_STREAM naming stderr, log lines carry <N>
                                  priorities (the sandbox's report <2>); naming another file,
                                  they keep their timestamps
  notify                          a fake $NOTIFY_SOCKET gets READY=1 with STATUS=Running,
                                  WATCHDOG=1 pings at half $WATCHDOG_USEC, then STOPPING=1 with
                                  the reason once SIGTERM stops the VM, all after lockdown
  api                             the control API with the sandbox on: create, boot, pause,
                                  resume, reboot in place (the loader reads the boot files
                                  again), delete, create and boot a second VM (built after
                                  the main thread's lockdown), vmm.shutdown: exit 0"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from api_client import ApiError, wait_socket
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
    if f"debug.forbidden_syscall: {thread} opens a netlink socket" not in err:
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
elif case == "api":
    d = tempfile.mkdtemp(prefix="vmm-api-")
    api = os.path.join(d, "api.sock")
    err_path = os.path.join(d, "stderr")
    err_f = open(err_path, "w")
    proc = subprocess.Popen([vmm, "run", "--api-socket", api], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err_f)

    def stderr_text():
        err_f.flush()
        with open(err_path) as f:
            return f.read()

    def call(method, what, body=None, expect=(200, 204)):
        """One HTTP/1.1 request on a fresh connection; returns (status, parsed body)."""
        data = json.dumps(body).encode() if body is not None else b""
        req = (f"{method} /api/v1/{what} HTTP/1.1\r\nHost: localhost\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
               "Connection: close\r\n\r\n").encode() + data
        resp = b""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(api)
            s.sendall(req)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
            s.close()
        except OSError as e:
            time.sleep(0.5)
            fail(f"{method} {what}: {e}; vmm exit {proc.poll()}\nstderr: {stderr_text()}")
        head, _, payload = resp.partition(b"\r\n\r\n")
        status = int(head.split()[1]) if head else 0
        if status not in expect:
            proc.kill()
            fail(f"{method} {what}: HTTP {status} {payload!r}\nstderr: {stderr_text()}")
        return status, json.loads(payload) if payload.strip() else None

    def state():
        return call("GET", "vm.info")[1]["state"]

    # The socket's file exists from bind(), before listen(): wait until it accepts.
    try:
        wait_socket(api, proc, 20)
    except ApiError as e:
        fail(f"{e}; stderr: {stderr_text()}")
    # The first VM's console is a file; the second's a unix socket, whose safe creation (a
    # private folder, link or exchange into place) runs after lockdown.
    serials = [{"target": "file", "path": os.path.join(d, "serial.log")},
               {"target": "unix", "path": os.path.join(d, "serial.sock")}]
    for boot in (1, 2):
        call("PUT", "vm.create", spec("hang", serial=serials[boot - 1]))
        call("PUT", "vm.boot")
        if state() != "Running":
            fail(f"boot {boot}: not Running")
        call("PUT", "vm.pause")
        if state() != "Paused":
            fail(f"boot {boot}: not Paused")
        call("PUT", "vm.resume")
        call("PUT", "vm.reboot")
        if state() != "Running":
            fail(f"boot {boot}: not Running after the reboot")
        if boot == 1:
            call("PUT", "vm.shutdown")
            call("PUT", "vm.delete")
    call("PUT", "vmm.shutdown")
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail(f"vmm did not exit after vmm.shutdown\nstderr: {stderr_text()}")
    err = stderr_text()
    if rc != 0 or "sandbox: on" not in err or "forbids" in err:
        fail(f"exit {rc}\nstderr: {err}")
    print("ok: two VMs (file and unix-socket consoles) created, paused, resumed and rebooted "
          "through the API, sandbox on")
else:
    print(f"unknown case {case}")
    sys.exit(1)
