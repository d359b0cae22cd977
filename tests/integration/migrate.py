#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live migration (docs/snapshots.md) with the counter guest (guests/snap_counter.S), real
`vmm run` processes and the control API.

usage: migrate.py VMM VMMCTL VMM_IMG GUEST_DIR CASE

  unix       a source VM with a VMDK data disk moves to a VMM started empty, over a unix
             socket (vmm.receive-migration on the destination, `vmmctl migrate` on the
             source): the source exits 0, the destination runs the VM, and the count goes on
             across the move with no gap and no repeat, the memory walk holds, no second
             boot; the disk checks clean afterwards
  tcp        the same over TCP between two network namespaces this test creates (a veth
             pair; traffic only between them); skipped without root or `ip netns`
  s3         a guest asleep in ACPI S3 (tests/guests/s3_button.S) moves asleep and wakes on
             the destination at the power button, at its waking vector with its RAM kept
  refusals   each leaves the source Running with its count unbroken and says why: nobody
             listening; a peer that speaks another protocol version; a peer that hangs up
             in the middle of the pages; a peer that takes everything and then refuses the
             state (the source had paused and let go of its disk: it resumes); and on the
             destination: a live socket at the listening path (refused, kept), a stale one
             (replaced), a stream that is not a migration, receive-migration on a VMM that
             has a VM, bad URLs and bodies

VMM_TEST_ACCEL picks the accelerator (kvm cases skip without KVM)."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import api_client
from harness import ACCEL, fail, require_accel
from netns import VethPair
from snaptest import COUNT_RE, Vmm, consecutive, kill_all

vmm, vmmctl, vmm_img, guests, case = sys.argv[1:6]
COUNTER = os.path.join(guests, "snap_counter.bin")
HDR = struct.Struct("<IIQ")
HELLO, CONFIG, PAGES, STATE, END, READY, GO, ERROR = range(1, 9)


def check(cond, what, *context):
    if not cond:
        fail(what + "".join(f"\n{c}" for c in context))


def counter_spec(tmp, disk=None):
    s = {"name": "mig-test", "memory_mib": 16, "accel": ACCEL,
         "boot": {"flat": COUNTER, "load_address": "0x7c00"},
         "serial": {"target": "unix", "path": os.path.join(tmp, "boot-serial.sock")}}
    if disk:
        s["disks"] = [{"path": disk, "format": "vmdk", "bus": "virtio"}]
    path = os.path.join(tmp, "spec.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def boot_source(tmp, disk=None, prefix=()):
    v = Vmm(vmm, [counter_spec(tmp, disk), "--set", "serial.path=@SERIAL@"], "src", tmp,
            prefix=prefix)
    v.wait_api()
    v.open_console()
    v.console.wait_count(lambda vs: vs[-1] >= 5, "count 5", proc=v.proc)
    return v


def still_counting(v, what):
    """The source kept its VM Running and counting, unbroken from 1."""
    check(v.proc.poll() is None, f"{what}: the source exited", v.stderr()[-1500:])
    check(v.api.state() == "Running", f"{what}: the source VM is {v.api.state()}",
          v.stderr()[-1500:])
    last = v.console.counts()[0][-1]
    vals = v.console.wait_count(lambda vs: vs[-1] >= last + 5, f"{what}: counting on",
                                proc=v.proc)
    bad = consecutive(vals, 1)
    check(bad is None, f"{what}: the count broke: {bad}")
    check(v.console.counts()[1], f"{what}: the memory walk broke")


def receive(dst, url, result, sets):
    result["r"] = dst.api.put("vm.receive-migration", {"receiver_url": url, "set": sets},
                              timeout=300)


def wait_listening(dst, path=None):
    """Until dst listens: on path (its socket file), or on TCP (its log says so)."""
    if path:
        try:
            return api_client.wait_listening(path, dst.proc)
        except api_client.ApiError as e:
            fail(f"the destination does not listen: {e}\n{dst.stderr()}")
    if not api_client.wait_log(dst.stderr, "waiting for a migration",
                               alive=lambda: dst.proc.poll() is None):
        fail(f"the destination does not listen\n{dst.stderr()}")


def migrate_and_check(tmp, src, dst, url, listen_path=None, use_vmmctl=True, what="unix"):
    result = {}
    t = threading.Thread(target=receive, args=(dst, url, result,
                                               [f"serial.path={dst.serial_path}"]))
    t.start()
    wait_listening(dst, listen_path)
    t0 = time.monotonic()
    if use_vmmctl:
        r = subprocess.run([vmmctl, "--socket", src.api_path, "migrate", url,
                            "--downtime-ms", "50"], capture_output=True, text=True,
                           timeout=300)
        check(r.returncode == 0, f"vmmctl migrate: {r.returncode} {r.stdout}{r.stderr}",
              src.stderr()[-2000:], dst.stderr()[-2000:])
    else:
        r = src.api.put("vm.send-migration", {"destination_url": url, "downtime_ms": 50},
                        timeout=300)
        check(r.status == 204, f"vm.send-migration: {r!r}", src.stderr()[-2000:],
              dst.stderr()[-2000:])
    took = time.monotonic() - t0
    t.join(60)
    check(not t.is_alive(), "vm.receive-migration did not answer")
    check(result["r"].status == 204, f"vm.receive-migration: {result['r']!r}",
          dst.stderr()[-2000:])
    rc = src.wait_exit(60)
    check(rc == 0, f"the source exited {rc} after the migration", src.stderr()[-2000:])
    time.sleep(0.3)
    src_text = src.console.text()
    check(dst.api.state() == "Running", f"the destination VM is {dst.api.state()}")
    c = dst.open_console()
    first = COUNT_RE.findall(src_text)
    last = int(first[-1][0], 16)
    c.wait_count(lambda vs: vs[-1] >= last + 30, f"count {last + 30} on the destination",
                 proc=dst.proc)
    both = src_text + c.text()
    vals = [int(m.group(1), 16) for m in COUNT_RE.finditer(both)]
    bad = consecutive(vals, 1)
    check(bad is None, f"{what}: the count does not go on across the move: {bad}",
          src_text[-150:] + "|" + c.text()[:200])
    check(all(m.group(2) == "m=ok" for m in COUNT_RE.finditer(both)),
          f"{what}: the memory walk broke", c.text()[-400:])
    check(both.count("boot") == 1, f"{what}: the guest booted again", c.text()[:200])
    events = dst.api.get("vm.events").json()
    check(any(e.get("event") == "migration-completed" for e in events.get("events", [])),
          f"no migration-completed event on the destination: {events}")
    print(f"{what}: moved at count {last} in {took * 1000:.0f} ms; the count goes on "
          f"{last} -> {last + 1}... {vals[-1]}")
    for line in src.stderr().splitlines():
        if "migrated to" in line:
            print(line.strip())
    return last


def case_unix():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-mig-")
    disk = os.path.join(tmp, "data.vmdk")
    r = subprocess.run([vmm_img, "create", "-f", "vmdk", disk, "16M"], capture_output=True,
                       text=True)
    check(r.returncode == 0, f"vmm-img create: {r.stdout}{r.stderr}")
    src = boot_source(tmp, disk)
    dst = Vmm(vmm, [], "dst", tmp)
    dst.wait_api()
    listen = os.path.join(tmp, "mig.sock")
    migrate_and_check(tmp, src, dst, "unix:" + listen, listen_path=listen)
    check(not os.path.exists(listen), "the listening socket was left behind")
    dst.kill()
    r = subprocess.run([vmm_img, "check", disk], capture_output=True, text=True)
    check(r.returncode == 0, f"vmm-img check after the migration: {r.stdout}{r.stderr}")
    print("ok: unix socket migration")


def case_s3():
    # A guest asleep in ACPI S3 moves like a snapshot of it restores: the destination keeps it
    # asleep (its vCPUs stopped) until a wake event, here the power button (the guest,
    # tests/guests/s3_button.S, has no alarm), and it resumes at its waking vector with its
    # RAM and the PM block's status as the source left them.
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-mig-")
    guest = os.path.join(os.path.dirname(guests), "guests", "s3_button.bin")
    spec = {"name": "mig-s3", "memory_mib": 16, "accel": ACCEL,
            "boot": {"flat": guest, "load_address": "0x7c00"}, "debug": {"exit_port": "0xf4"},
            "serial": {"target": "unix", "path": os.path.join(tmp, "boot-serial.sock")}}
    path = os.path.join(tmp, "s3-spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    src = Vmm(vmm, [path, "--set", "serial.path=@SERIAL@"], "src", tmp)
    src.wait_api()
    src.open_console()
    src.api.wait_event("suspended", timeout=60)
    dst = Vmm(vmm, [], "dst", tmp)
    dst.wait_api()
    listen = os.path.join(tmp, "mig.sock")
    result = {}
    t = threading.Thread(target=receive, args=(dst, "unix:" + listen, result,
                                               [f"serial.path={dst.serial_path}"]))
    t.start()
    wait_listening(dst, listen)
    r = src.api.put("vm.send-migration", {"destination_url": "unix:" + listen}, timeout=300)
    check(r.status == 204, f"vm.send-migration of a guest in S3: {r!r}", src.stderr()[-2000:])
    t.join(60)
    check(not t.is_alive() and result["r"].status == 204,
          f"vm.receive-migration: {result.get('r')!r}", dst.stderr()[-2000:])
    check(src.wait_exit(60) == 0, "the source did not exit 0", src.stderr()[-2000:])
    check("entering S3" in src.console.text(), f"source: {src.console.text()!r}")
    c = dst.open_console()
    check(dst.api.state() == "Running", f"the destination VM is {dst.api.state()}")
    time.sleep(0.5)
    check("resumed from S3" not in c.text(), f"the guest woke by itself: {c.text()!r}")
    dst.api.must("PUT", "vm.power-button", 204)
    rc = dst.wait_exit(60)
    check(rc == 0 and "resumed from S3" in c.text(),
          f"after the power button: exit {rc}, console {c.text()!r}", dst.stderr()[-2000:])
    print("ok: a guest asleep in S3 moved asleep and woke on the destination at its waking "
          "vector (RAM kept, PWRBTN_STS and WAK_STS set)")


def case_tcp():
    require_accel()
    with VethPair() as p:
        try:
            tmp = tempfile.mkdtemp(prefix="vmm-mig-")
            src = boot_source(tmp, prefix=p.prefix(p.ns_a))
            dst = Vmm(vmm, [], "dst", tmp, prefix=p.prefix(p.ns_b))
            dst.wait_api()
            migrate_and_check(tmp, src, dst, f"tcp:{p.addr_b}:47321", use_vmmctl=False,
                              what="tcp")
            dst.kill()
            print("ok: TCP migration between two network namespaces")
        finally:
            kill_all()


class FakePeer:
    """A destination that misbehaves: it listens on a unix socket and runs script(conn)."""

    def __init__(self, path, script):
        self.path = path
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(1)
        self.ls.settimeout(60)
        self.seen = []
        self.t = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.t.start()

    def _run(self, script):
        try:
            conn, _ = self.ls.accept()
        except OSError:
            return
        conn.settimeout(60)
        try:
            script(self, conn)
        except OSError:
            pass
        finally:
            conn.close()
            self.ls.close()

    def recv_exact(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def frame(self, conn):
        t, flags, n = HDR.unpack(self.recv_exact(conn, HDR.size))
        payload = self.recv_exact(conn, n)
        self.seen.append(t)
        return t, payload

    @staticmethod
    def send(conn, t, payload=b""):
        conn.sendall(HDR.pack(t, 0, len(payload)) + payload)


def hello(version=1, vmin=1):
    return b"VMMMIGR\0" + struct.pack("<II", version, vmin)


def refuse_on_source(src, url, want_words, what):
    r = src.api.put("vm.send-migration", {"destination_url": url}, timeout=120)
    check(r.status >= 400, f"{what}: vm.send-migration answered {r!r}")
    msg = r.json()["error"]["desc"] if r.body else ""
    for w in want_words:
        check(w in msg, f"{what}: the error does not say {w!r}: {msg!r}", src.stderr()[-1500:])
    still_counting(src, what)
    print(f"{what}: refused ({r.status}): {msg}")


def case_refusals():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-mig-")
    disk = os.path.join(tmp, "data.vmdk")
    r = subprocess.run([vmm_img, "create", "-f", "vmdk", disk, "16M"], capture_output=True,
                       text=True)
    check(r.returncode == 0, f"vmm-img create: {r.stdout}{r.stderr}")
    src = boot_source(tmp, disk)

    refuse_on_source(src, "unix:" + os.path.join(tmp, "nobody.sock"), ["cannot connect"],
                     "nobody listening")
    for url in ("unix:", "tcp:localhost:1", "tcp:127.0.0.1:0", "file:///x", "tcp:[::1]"):
        r = src.api.put("vm.send-migration", {"destination_url": url})
        check(r.status == 400, f"bad URL {url!r}: {r!r}")
    r = src.api.put("vm.send-migration", {"destination_url": "unix:/x", "downtime_ms": 0})
    check(r.status == 400, f"downtime_ms 0: {r!r}")
    r = src.api.put("vm.send-migration", {"destination_url": "unix:/x", "bogus": 1})
    check(r.status == 400, f"an unknown key: {r!r}")

    def newer(peer, conn):
        peer.frame(conn)
        peer.send(conn, HELLO, hello(7, 5))
        time.sleep(1)

    p = os.path.join(tmp, "p1.sock")
    FakePeer(p, newer)
    refuse_on_source(src, "unix:" + p, ["versions 5 to 7"], "a newer protocol")

    def hang_up(peer, conn):
        peer.frame(conn)
        peer.send(conn, HELLO, hello())
        peer.frame(conn)  # CONFIG
        peer.frame(conn)  # the first pages
        conn.shutdown(socket.SHUT_RDWR)

    p = os.path.join(tmp, "p2.sock")
    FakePeer(p, hang_up)
    refuse_on_source(src, "unix:" + p, [], "a peer that hangs up in the pages")

    def refuse_state(peer, conn):
        peer.frame(conn)
        peer.send(conn, HELLO, hello())
        while True:
            t, _ = peer.frame(conn)
            if t == END:
                break
        peer.send(conn, ERROR, b"no thanks: the state does not fit")
        time.sleep(1)

    p = os.path.join(tmp, "p3.sock")
    peer = FakePeer(p, refuse_state)
    refuse_on_source(src, "unix:" + p, ["no thanks"], "a peer that refuses the state")
    check(STATE in peer.seen and CONFIG in peer.seen and PAGES in peer.seen,
          f"the peer saw frames {peer.seen}")
    # The disk was reopened read-only for the switch and writable again: it still checks.
    src.kill()
    r = subprocess.run([vmm_img, "check", disk], capture_output=True, text=True)
    check(r.returncode == 0, f"vmm-img check: {r.stdout}{r.stderr}")

    # The destination side.
    dst = Vmm(vmm, [], "dst", tmp)
    dst.wait_api()
    for body in ({"receiver_url": "tcp:nohost:1"}, {"receiver_url": 5}, {"x": 1},
                 {"receiver_url": "unix:/x", "set": "serial.path=/y"}):
        r = dst.api.put("vm.receive-migration", body)
        check(r.status == 400, f"receive-migration {body}: {r!r}")
    # A live socket at the path is another process's: refused and left alone.
    listen = os.path.join(tmp, "in.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(listen)
    live.listen(1)
    r = dst.api.put("vm.receive-migration", {"receiver_url": "unix:" + listen})
    check(r.status >= 400 and "another process serves this socket" in r.body.decode(),
          f"receive-migration on a live socket: {r!r}")
    check(os.path.exists(listen), "the live socket was removed")
    live.close()
    print(f"a live socket at the path: refused ({r.json()['error']['desc']})")
    # Now a stale one (nobody listens): replaced, in a private folder first.
    old_ino = os.lstat(listen).st_ino
    result = {}
    t = threading.Thread(target=receive, args=(dst, "unix:" + listen, result, []))
    t.start()
    deadline = time.monotonic() + 30
    while os.lstat(listen).st_ino == old_ino:  # the new socket takes the name in one step
        check(time.monotonic() < deadline and t.is_alive(),
              f"the stale socket was not replaced: {result.get('r')!r}\n{dst.stderr()}")
        time.sleep(0.02)
    r = dst.api.put("vm.receive-migration", {"receiver_url": "unix:" + listen + "2"})
    check(r.status == 409, f"a second receive-migration: {r!r}")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(listen)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 64)
    t.join(60)
    s.close()
    check(not t.is_alive() and result["r"].status >= 400,
          f"a stream that is not a migration: {result.get('r')!r}")
    check(dst.api.get("vm.info").status == 404, "the destination has a VM after a refusal")
    print(f"a stream that is not a migration: refused ({result['r'].json()['error']['desc']})")
    dst.kill()

    # A VMM with a VM cannot receive.
    src = boot_source(tmp)
    r = src.api.put("vm.receive-migration", {"receiver_url": "unix:" + listen})
    check(r.status == 409, f"receive-migration with a VM: {r!r}")
    src.kill()
    print("ok: every refusal leaves the source running and says why")


try:
    {"unix": case_unix, "tcp": case_tcp, "refusals": case_refusals, "s3": case_s3}[case]()
finally:
    kill_all()
