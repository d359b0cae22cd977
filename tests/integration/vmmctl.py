#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmmctl against a real vmm: every command, human and --json output, and each exit status of
`vmmctl --help` (0 done, 1 refused, 2 usage, 3 unreachable, 4 wait-state timeout, 5 not an HTTP
answer); wait-state sees Shutdown when the guest powers off and the VMM exits.

usage: vmmctl.py VMMCTL VMM GUEST_DIR"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from api_client import wait_socket
from harness import ACCEL, fail, require_accel

ctl, vmm, guests = sys.argv[1:4]
require_accel()
d = tempfile.mkdtemp(prefix="vmm-ctl-")
sock = os.path.join(d, "api.sock")
serial = os.path.join(d, "serial.log")


def run(*args, status=0, timeout=60):
    r = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != status:
        fail(f"vmmctl {' '.join(args)}: exit {r.returncode}, want {status}\n"
             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def spec_file(guest, name="ctl-test", **extra):
    path = os.path.join(d, f"{name}.json")
    with open(path, "w") as f:
        json.dump({"name": name, "memory_mib": 16, "accel": ACCEL,
                   "boot": {"flat": f"{guests}/{guest}.bin"},
                   "serial": {"target": "file", "path": serial}, **extra}, f)
    return path


# Usage and unreachable VMMs need no VMM.
r = run("--help")
for s in ("Exit status:", "wait-state STATE", "power-button", "/run/vmm/NAME.sock",
          "guestinfo", "--tools"):
    if s not in r.stdout:
        fail(f"--help lacks {s!r}")
run("--version")
run(status=2)
run("ping", status=2)  # no socket, no name
run("-s", sock, "bogus", status=2)
run("-s", sock, "wait-state", "Sleeping", status=2)
run("-s", sock, "wait-state", "Running", "--timeout", "x", status=2)
run("-s", sock, "pause", "extra", status=2)
r = run("-s", sock, "ping", status=3)
if "cannot connect" not in r.stderr:
    fail(f"unreachable: {r.stderr}")
r = run("no-such-vm-xyz", "ping", status=3)
if "/run/vmm/no-such-vm-xyz.sock" not in r.stderr:
    fail(f"NAME is not resolved to /run/vmm/NAME.sock: {r.stderr}")
run("bad/name", "ping", status=2)

# Something that is not the API on the socket: exit 5.
fake = os.path.join(d, "fake.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(fake)
srv.listen(1)


def garbage():
    c, _ = srv.accept()
    c.recv(4096)
    c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    c.close()


t = threading.Thread(target=garbage)
t.start()
run("-s", fake, "ping", status=5)
t.join()
srv.close()

# A VMM with a VM.
p = subprocess.Popen([vmm, "run", "--api-socket", sock], stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE, text=True)
try:
    wait_socket(sock, p)
    r = run("-s", sock, "ping")
    if not r.stdout.startswith("vmm ") or f"pid {p.pid}" not in r.stdout:
        fail(f"ping: {r.stdout}")
    j = json.loads(run("-s", sock, "--json", "ping").stdout)
    if j["pid"] != p.pid:
        fail(f"ping --json: {j}")
    r = run("-s", sock, "info", status=1)
    if "NotCreated" not in r.stderr:
        fail(f"info without a VM: {r.stderr}")
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        f.write('{"vcpus": 0, "memory_mib": 0}')
    r = run("-s", sock, "create", bad, status=1)
    if "InvalidSpec" not in r.stderr or "memory_mib" not in r.stderr:
        fail(f"create with a bad spec: {r.stderr}")
    run("-s", sock, "create", os.path.join(d, "missing.json"), status=2)
    run("-s", sock, "create", spec_file("api_guest", hypercall={"vmware_backdoor": True},
                                        guestinfo={"demo": "hello world"}))
    r = run("-s", sock, "info")
    if "state:  Created" not in r.stdout or f"engine: {ACCEL}" not in r.stdout:
        fail(f"info: {r.stdout}")
    run("-s", sock, "pause", status=1)
    run("-s", sock, "boot")
    run("-s", sock, "wait-state", "Running", "--timeout", "10")
    # wait-state is woken by the event, not by polling: start it, then pause.
    waiter = subprocess.Popen([ctl, "-s", sock, "wait-state", "Paused", "--timeout", "20"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    t0 = time.monotonic()
    run("-s", sock, "pause")
    out, _ = waiter.communicate(timeout=30)
    if waiter.returncode != 0 or out.strip() != "Paused" or time.monotonic() - t0 > 5:
        fail(f"wait-state Paused: {waiter.returncode} {out!r}")
    run("-s", sock, "wait-state", "Running", "--timeout", "1", status=4)
    run("-s", sock, "resume")
    run("-s", sock, "nmi")
    run("-s", sock, "reboot")
    run("-s", sock, "power-button")
    r = run("-s", sock, "counters")
    if not any(ln.split()[:2] == ["vcpu0", "pio"] for ln in r.stdout.splitlines()):
        fail(f"counters: {r.stdout}")
    c = json.loads(run("-s", sock, "--json", "counters").stdout)
    if c["vm"]["reboots"] != 1:
        fail(f"counters --json: {c}")
    r = run("-s", sock, "events")
    names = [ln.split()[3] for ln in r.stdout.splitlines()]
    want = ["vm:created", "vm:booted", "vm:paused", "vm:resumed", "vm:rebooting",
            "vm:rebooted", "vm:power-button"]
    if names != want:
        fail(f"events: {names}, want {want}\n{r.stdout}")
    lines = run("-s", sock, "--json", "events", "--since", "3").stdout.splitlines()
    if json.loads(lines[0])["event"] != "paused":
        fail(f"events --since 3 --json: {lines}")
    # guestinfo (the backdoor's variables): list, read one, set, remove; bad keys refused.
    r = run("-s", sock, "guestinfo")
    if r.stdout != "demo=hello world\n":
        fail(f"guestinfo: {r.stdout!r}")
    if run("-s", sock, "guestinfo", "demo").stdout != "hello world\n":
        fail("guestinfo demo does not print the spec's value")
    run("-s", sock, "guestinfo", "answer=42")
    if run("-s", sock, "guestinfo", "answer").stdout != "42\n":
        fail("guestinfo answer=42 is not read back")
    if json.loads(run("-s", sock, "--json", "guestinfo").stdout) != {"demo": "hello world",
                                                                     "answer": "42"}:
        fail("guestinfo --json")
    run("-s", sock, "guestinfo", "--unset", "answer")
    r = run("-s", sock, "guestinfo", "answer", status=1)
    if "guestinfo.answer is not set" not in r.stderr:
        fail(f"guestinfo of a removed key: {r.stderr}")
    r = run("-s", sock, "guestinfo", "bad key!=x", status=1)
    if "BadRequest" not in r.stderr:
        fail(f"guestinfo with a bad key: {r.stderr}")
    run("-s", sock, "guestinfo", "a", "b", status=2)
    # No tools run in this guest: the requests to them are refused, saying so.
    for cmd in ("power-button", "reboot"):
        r = run("-s", sock, cmd, "--tools", status=1)
        if "NoTools" not in r.stderr or "vmtoolsd is not running" not in r.stderr:
            fail(f"{cmd} --tools without tools: {r.stderr}")
    run("-s", sock, "shutdown")
    run("-s", sock, "wait-state", "Shutdown", "--timeout", "5")
    run("-s", sock, "delete")
    run("-s", sock, "delete", status=1)
    # The guest powers off: the VMM exits, and wait-state has seen Shutdown first.
    run("-s", sock, "create", spec_file("poweroff_acpi", "off"))
    waiter = subprocess.Popen([ctl, "-s", sock, "wait-state", "Shutdown", "--timeout", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    run("-s", sock, "boot")
    out, err = waiter.communicate(timeout=60)
    if waiter.returncode != 0 or out.strip() != "Shutdown":
        fail(f"wait-state Shutdown across the VMM's exit: {waiter.returncode} {out!r} {err!r}")
    p.wait(30)
    if p.returncode != 0:
        fail(f"vmm exit status {p.returncode} after the guest powered off")
    run("-s", sock, "ping", status=3)
    print("ok: every vmmctl command and exit status")
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
