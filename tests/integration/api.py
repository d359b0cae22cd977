#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Control API tests against a real `vmm run --api-socket` over real unix sockets.

usage: api.py VMM GUEST_DIR SOURCE_ROOT CASE

  endpoints   every endpoint and error class through a VM's whole life (Created, Running,
              Paused, Shutdown, deleted, created again), the spec's own error messages, events
  transport   keep-alive, Connection: close, HTTP/1.0, pipelining, 100-continue, huge headers
              and bodies, chunked, garbage, byte-at-a-time and stalled clients, many clients at
              once and one too many, file descriptors over SCM_RIGHTS (closed when unclaimed),
              long polls woken, timed out and abandoned
  sockets     mode 0600, a stale socket replaced, a live one and a plain file refused, the
              spec's control.path, usage errors
  counters    vm.counters of a guest doing virtio-blk I/O: requests, bytes, bus accesses,
              the engine's figures
  guestinfo   vm.guestinfo and vm.tools-halt/-reboot: the spec's variables, set and removed,
              bad requests, no tools, no backdoor
  openapi     every path of config/vmm-api.yaml answers with its documented method, and every
              endpoint the server lists is documented
  s3          the guest's ACPI S3 sleep and RTC wake as suspended and woken on vm.events

The guest (tests/integration/guests/api_guest.S) prints "boot", then dots while it runs, and
"nmi" from its NMI handler. VMM_TEST_ACCEL picks the accelerator (kvm cases skip without KVM)."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

from api_client import Api, Connection, pipe_fds, wait_socket
from harness import ACCEL, fail, require_accel, skip

vmm, guests, srcroot, case = sys.argv[1:5]


class ApiVMM:
    """`vmm run --api-socket` in a private folder, optionally with a spec."""

    def __init__(self, spec=None, extra=(), wait=True):
        self.dir = tempfile.mkdtemp(prefix="vmm-api-")
        self.sock = os.path.join(self.dir, "api.sock")
        self.serial = os.path.join(self.dir, "serial.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        args = [vmm, "run", "--api-socket", self.sock]
        if spec is not None:
            path = os.path.join(self.dir, "spec.json")
            with open(path, "w") as f:
                json.dump(spec, f)
            args.append(path)
        args += list(extra)
        self.stderr_f = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.stderr_f,
                                     stderr=self.stderr_f)
        self.api = Api(self.sock)
        if wait:
            try:
                wait_socket(self.sock, self.proc)
            except Exception as e:
                fail(f"{e}\nstderr: {self.stderr()}")

    def stderr(self):
        self.stderr_f.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def serial_text(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read().decode("latin-1")
        except FileNotFoundError:
            return ""

    def wait_serial(self, marker, count=1, timeout=60):
        deadline = time.monotonic() + timeout
        while self.serial_text().count(marker) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                fail(f"no {marker!r} x{count} on the serial console "
                     f"(vmm {'exited ' + str(self.proc.returncode) if self.proc.poll() is not None else 'running'})"
                     f"\nserial: {self.serial_text()[-500:]!r}\nstderr: {self.stderr()}")
            time.sleep(0.02)

    def spec(self, **extra):
        s = {"name": "api-test", "memory_mib": 16, "accel": ACCEL,
             "boot": {"flat": f"{guests}/api_guest.bin"},
             "serial": {"target": "file", "path": self.serial}}
        s.update(extra)
        return s

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"vmm did not exit within {timeout} s\nstderr: {self.stderr()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check(cond, what, *context):
    if not cond:
        fail(what + "".join(f"\n{c}" for c in context))


# ------------------------------------------------------------------------------ endpoints

def vmm_validate_message(spec, tmpdir):
    """What `vmm validate` says about spec (its first problem line)."""
    path = os.path.join(tmpdir, "bad.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    r = subprocess.run([vmm, "validate", path], capture_output=True, text=True)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("vcpus")]
    return lines[0] if lines else (r.stdout + r.stderr)


def case_endpoints():
    require_accel()
    v = ApiVMM()
    api = v.api
    try:
        r = api.must("GET", "vmm.ping", 200)
        j = r.json()
        check(j["pid"] == v.proc.pid and j["version"] and "bt" in j["features"], f"ping: {j}")
        for m, ep in (("GET", "vm.info"), ("PUT", "vm.boot"), ("PUT", "vm.pause"),
                      ("GET", "vm.counters"), ("PUT", "vm.delete"), ("PUT", "vm.reboot")):
            api.must(m, ep, 404, cls="NotCreated")
        # Bodies: not JSON, then JSON that is not a valid spec (the spec parser's own words).
        r = api.must("PUT", "vm.create", 400, body="{\"vcpus\": ", cls="InvalidJson")
        check("line" in r.json()["error"]["desc"], f"InvalidJson desc: {r!r}")
        bad = v.spec(vcpus=0)
        r = api.must("PUT", "vm.create", 400, body=bad, cls="InvalidSpec")
        errs = r.json()["error"]["errors"]
        check({"path": "vcpus", "message": "must be 1..255, got 0"} in errs, f"errors: {errs}")
        want = vmm_validate_message(bad, v.dir)
        check(r.json()["error"]["desc"].startswith(want.split(" (")[0]),
              f"desc {r.json()['error']['desc']!r} differs from vmm validate: {want!r}")
        api.must("PUT", "vm.create", 400, body=v.spec(bogus=1), cls="InvalidSpec")
        api.must("PUT", "vm.create", 400, body=v.spec(control={"path": "/elsewhere.sock"}),
                 cls="InvalidSpec")
        missing = v.spec(boot={"flat": "/nonexistent/guest.bin"})
        r = api.must("PUT", "vm.create", 400, body=missing, cls="InvalidSpec")
        check(r.json()["error"]["errors"][0]["path"] == "boot.flat", f"{r!r}")

        api.must("PUT", "vm.create", 204, body=v.spec(control={"path": v.sock}))
        api.must("PUT", "vm.create", 409, body=v.spec(), cls="AlreadyCreated")
        info = api.must("GET", "vm.info", 200).json()
        check(info["state"] == "Created" and info["engine"] == ACCEL and
              info["memory_actual_size"] == 16 << 20, f"info: {info}")
        cfg = info["config"]
        check(cfg["vcpus"] == 1 and cfg["boot"]["flat"] == f"{guests}/api_guest.bin" and
              cfg["boot"]["load_address"] == "0x7c00" and cfg["on_reset"] == "restart",
              f"config: {cfg}")
        for ep in ("vm.pause", "vm.resume", "vm.reboot", "vm.shutdown", "vm.power-button",
                   "vm.nmi"):
            api.must("PUT", ep, 409, cls="WrongState")

        api.must("PUT", "vm.boot", 204)
        check(api.state() == "Running", "not Running after vm.boot")
        v.wait_serial("boot")
        api.must("PUT", "vm.boot", 409, cls="WrongState")
        api.must("PUT", "vm.resume", 409, cls="WrongState")

        v.wait_serial(".", 3)
        api.must("PUT", "vm.pause", 204)
        check(api.state() == "Paused", "not Paused after vm.pause")
        dots = v.serial_text().count(".")
        time.sleep(0.5)
        check(v.serial_text().count(".") == dots, "the guest printed while paused")
        api.must("PUT", "vm.pause", 409, cls="WrongState")
        api.must("PUT", "vm.resume", 204)
        v.wait_serial(".", dots + 2)

        api.must("PUT", "vm.nmi", 204)
        v.wait_serial("nmi")
        api.must("PUT", "vm.reboot", 204)
        v.wait_serial("boot", 2)
        api.must("PUT", "vm.power-button", 204)  # this guest does not care
        check(api.state() == "Running", "power-button changed the state")
        c = api.must("GET", "vm.counters", 200).json()
        check(c["vm"]["reboots"] == 1 and c["vcpu0"]["pio"] > 0 and
              c["uart0"]["pio_writes"] > 0 and c["vcpu0"]["nmis"] == 1, f"counters: {c}")

        api.must("PUT", "vm.shutdown", 204)
        check(api.state() == "Shutdown", "not Shutdown after vm.shutdown")
        api.must("PUT", "vm.pause", 409, cls="WrongState")
        api.must("PUT", "vm.boot", 204)
        v.wait_serial("boot", 3)
        check(api.state() == "Running", "not Running after booting again")

        evs = api.must("GET", "vm.events?since=0", 200).json()
        names = [e["event"] for e in evs["events"]]
        want = ["created", "booted", "paused", "resumed", "rebooting", "rebooted",
                "power-button", "shutdown", "booted"]
        check(names == want, f"events {names}, want {want}")
        check(all(e["source"] == "vm" and "secs" in e["timestamp"] for e in evs["events"]),
              f"event shape: {evs}")
        shut = evs["events"][7]
        check(shut["properties"]["state"] == "Shutdown" and
              shut["properties"]["reason"] == "api", f"shutdown event: {shut}")

        api.must("PUT", "vm.delete", 204)
        api.must("GET", "vm.info", 404, cls="NotCreated")
        api.must("PUT", "vm.create", 204, body=v.spec())
        check(api.state() == "Created", "second VM not Created")
        # A NIC added before boot is in the VM's spec; a VM with a display refuses one (it
        # would sit after the VGA card, where a restore of the same spec would not put it).
        api.must("PUT", "vm.add-net", 204, body={"model": "e1000"})
        nics = api.must("GET", "vm.info", 200).json()["config"].get("nics", [])
        check(len(nics) == 1 and nics[0]["model"] == "e1000", f"vm.info nics after add: {nics}")
        api.must("PUT", "vm.delete", 204)
        api.must("PUT", "vm.create", 204, body=v.spec(display={"type": "headless"}))
        r = api.must("PUT", "vm.add-net", 409, body={"model": "e1000"})
        check("display" in r.json()["error"]["desc"], f"vm.add-net with a display: {r!r}")
        api.must("PUT", "vm.delete", 204)

        # Methods and paths.
        r = api.must("GET", "vm.pause", 405, cls="MethodNotAllowed")
        check(r.headers.get("allow") == "PUT", f"Allow: {r.headers}")
        r = api.must("PUT", "vm.info", 405, cls="MethodNotAllowed")
        check(r.headers.get("allow") == "GET", f"Allow: {r.headers}")
        api.must("POST", "vmm.ping", 405)
        r = api.must("GET", "nothing.here", 404, cls="NotFound")
        check("/api/v1/vm.pause" in r.json()["error"]["endpoints"], f"{r!r}")
        c = Connection(v.sock)
        r = c.request("GET", "/api/v1/vmm.ping", body="{}")
        check(r.status == 400 and r.error_class() == "BadRequest", f"GET with a body: {r!r}")
        c.close()

        api.must("PUT", "vmm.shutdown", 204)
        rc = v.wait_exit()
        check(rc == 0, f"exit status {rc} after vmm.shutdown", v.stderr())
        check(not os.path.exists(v.sock), "the socket file is still there after exit")
        print("ok: every endpoint, state and error class")
    finally:
        v.kill()


# ------------------------------------------------------------------------------- counters

def case_counters():
    """A guest that writes sector 0 and reads sector 1 of a virtio-blk disk (the lifecycle
    test's), without the debug-exit port so it stays up: vm.counters shows the I/O."""
    require_accel()
    v = ApiVMM()
    try:
        disk = os.path.join(v.dir, "disk.raw")
        with open(disk, "wb") as f:
            f.truncate(1 << 20)
        ahci = os.path.join(v.dir, "ahci.raw")
        with open(ahci, "wb") as f:
            f.truncate(1 << 20)
        spec = v.spec(boot={"flat": f"{guests}/virtio_blk.bin"},
                      disks=[{"path": disk, "format": "raw"},
                             {"path": ahci, "format": "raw", "bus": "ahci"}])
        v.api.must("PUT", "vm.create", 204, body=spec)
        v.api.must("PUT", "vm.boot", 204)
        v.wait_serial("read sector 1")
        deadline = time.monotonic() + 30
        while True:
            c = v.api.must("GET", "vm.counters", 200).json()
            blk = c.get("virtio-blk0", {})
            if blk.get("reads", 0) >= 1 and blk.get("writes", 0) >= 1:
                break
            check(time.monotonic() < deadline, f"no virtio-blk I/O counted: {c}")
            time.sleep(0.1)
        check(blk["read_bytes"] >= 512 and blk["write_bytes"] >= 512 and blk["errors"] == 0,
              f"virtio-blk0 counters: {blk}")
        check(c["virtio-blk0"]["mmio_writes"] > 0 and c["pci0"]["pio_writes"] > 0,
              f"bus counters: {c}")
        check(c["ahci0"]["commands"] == 0 and "ncq_commands" in c["ahci0"], f"ahci0: {c}")
        check(c["vcpu0"]["mmio"] > 0 and c["vcpu0"]["pio"] > 0, f"vcpu0: {c['vcpu0']}")
        if ACCEL == "bt":
            check(c["vcpu0"]["instructions"] > 0 and c["vcpu0"]["blocks_translated"] > 0,
                  f"bt counters: {c['vcpu0']}")
        else:
            check(c["vcpu0"]["exits"] > 0 and c["vcpu0"].get("exits_mmio", 0) > 0,
                  f"kvm counters: {c['vcpu0']}")
        v.api.must("PUT", "vmm.shutdown", 204)
        check(v.wait_exit() == 0, "vmm.shutdown")
        print(f"ok: counters: virtio-blk0 {blk}")
    finally:
        v.kill()


# ------------------------------------------------------------------------------ transport

def raw(sock_path, data, timeout=10):
    """Send raw bytes on a fresh connection; the response and whether the server closed."""
    c = Connection(sock_path, timeout=timeout)
    c.send_raw(data)
    r = c.read_response()
    closed = c.closed_by_peer(timeout=3)
    c.close()
    return r, closed


def case_transport():
    v = ApiVMM()
    s = v.sock
    try:
        # Keep-alive: several requests on one connection.
        c = Connection(s)
        for _ in range(5):
            r = c.request("GET", "/api/v1/vmm.ping")
            check(r.status == 200, f"keep-alive ping: {r!r}")
        # Pipelining: two requests in one write, two answers in order.
        c.send_raw(b"GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\n\r\n")
        r1, r2 = c.read_response(), c.read_response()
        check(r1.status == 200 and r2.status == 404, f"pipelined: {r1!r} {r2!r}")
        c.close()
        # Connection: close and HTTP/1.0 close after the answer.
        r, closed = raw(s, b"GET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        check(r.status == 200 and closed and r.headers.get("connection") == "close",
              f"Connection: close: {r!r}, closed {closed}")
        r, closed = raw(s, b"GET /api/v1/vmm.ping HTTP/1.0\r\n\r\n")
        check(r.status == 200 and closed, f"HTTP/1.0: {r!r}, closed {closed}")
        # Expect: 100-continue: the interim answer comes before the body is sent.
        c = Connection(s)
        body = b"{\"vcpus\": 0}"
        c.send_raw(b"PUT /api/v1/vm.create HTTP/1.1\r\nExpect: 100-continue\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body))
        r = c.read_response()
        check(r.status == 100, f"no 100 Continue: {r!r}")
        c.send_raw(body)
        r = c.read_response()
        check(r.status == 400 and r.error_class() == "InvalidSpec", f"after 100: {r!r}")
        c.close()
        # Limits and malformed requests: answered, connection closed, server fine.
        r, closed = raw(s, b"GET /api/v1/vmm.ping HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        check(r.status == 431 and r.error_class() == "HeadersTooLarge" and closed, f"{r!r}")
        r, closed = raw(s, b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n")
        check(r.status == 413 and r.error_class() == "PayloadTooLarge" and closed, f"{r!r}")
        r, closed = raw(s, b"PUT /api/v1/vm.create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                           b"\r\n5\r\nhello\r\n0\r\n\r\n")
        check(r.status == 411 and r.error_class() == "LengthRequired" and closed, f"{r!r}")
        r, closed = raw(s, b"HELLO THERE\r\n\r\n")
        check(r.status == 400 and closed, f"garbage request line: {r!r}")
        r, closed = raw(s, b"GET /api/v1/vmm.ping HTTP/2.0\r\n\r\n")
        check(r.status == 505 and closed, f"HTTP/2.0: {r!r}")
        r, closed = raw(s, bytes(range(256)) * 4 + b"\r\n\r\n")
        check(r.status == 400 and closed, f"binary garbage: {r!r}")
        # A body as big as allowed is read whole (then refused as JSON).
        big = b"[" + b"1," * 200000 + b"1]"
        c = Connection(s)
        r = c.request("PUT", "/api/v1/vm.create", body=big)
        check(r.status == 400 and r.error_class() == "InvalidSpec", f"big body: {r!r}")
        c.close()

        # One byte at a time.
        c = Connection(s)
        for b in b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n":
            c.send_raw(bytes([b]))
            time.sleep(0.002)
        r = c.read_response()
        check(r.status == 200, f"byte at a time: {r!r}")
        c.close()

        # A stalled client does not hold up the others, and is told 408 when its time is up.
        slow = Connection(s, timeout=30)
        slow.send_raw(b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        r = v.api.get("vmm.ping", timeout=5)
        check(r.status == 200 and time.monotonic() - t0 < 2, "a stalled client blocked others")
        r = slow.read_response()
        waited = time.monotonic() - t0
        check(r.status == 408 and slow.closed_by_peer(), f"stalled client: {r!r}")
        check(8 <= waited <= 20, f"408 after {waited:.1f} s, want about 10")
        slow.close()

        # Several clients at once, requests interleaved.
        conns = [Connection(s) for _ in range(10)]
        for c in conns:
            c.send_raw(b"GET /api/v1/vmm.ping HTTP/1.1\r\n")
        for c in conns:
            c.send_raw(b"\r\n")
        for c in reversed(conns):
            check(c.read_response().status == 200, "interleaved clients")
        # One more than allowed (16 at once) is refused with 503.
        more = [Connection(s) for _ in range(6)]
        extra = Connection(s)
        r = extra.read_response()
        check(r.status == 503 and r.error_class() == "ServiceUnavailable", f"17th: {r!r}")
        extra.close()
        for c in conns + more:
            c.close()
        time.sleep(0.2)
        check(v.api.get("vmm.ping").status == 200, "no service after many clients left")

        # File descriptors: handed over, and closed by the server when no endpoint keeps them
        # (also those sent with a request that fails to parse).
        def fds_closed(n, data, what):
            rds, wrs = pipe_fds(n)
            c = Connection(s)
            c.send_raw(data, fds=wrs)
            r = c.read_response()
            c.close()
            for w in wrs:
                os.close(w)
            time.sleep(0.2)
            for rd in rds:
                os.set_blocking(rd, False)
                try:
                    check(os.read(rd, 1) == b"", f"a pipe stays open ({what})")
                except BlockingIOError:
                    fail(f"the server kept a file descriptor it was sent ({what})")
                os.close(rd)
            return r

        for n in (3, 20):
            r = fds_closed(n, b"GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n", f"{n} fds, a ping")
            check(r.status == 200, f"ping with {n} fds: {r!r}")
        fds_closed(2, b"BROKEN\r\n\r\n", "a broken request")

        # Long polls: woken by an event, timed out, abandoned.
        nxt = v.api.get("vm.events?since=0&timeout=0").json()["next"]
        got = {}

        def poll():
            got["r"] = v.api.get(f"vm.events?since={nxt}&timeout=20", timeout=30)
            got["t"] = time.monotonic()

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        v.api.must("PUT", "vm.create", 204, body=v.spec())
        th.join(30)
        check("r" in got and got["r"].status == 200 and got["t"] - t0 < 2 and
              [e["event"] for e in got["r"].json()["events"]] == ["created"],
              f"long poll: {got}")
        t0 = time.monotonic()
        r = v.api.get("vm.events?since=99999&timeout=1")
        check(r.status == 200 and r.json()["events"] == [] and 0.8 < time.monotonic() - t0 < 5,
              f"timed out poll: {r!r}")
        c = Connection(s)
        c.send_raw(b"GET /api/v1/vm.events?since=99999&timeout=30 HTTP/1.1\r\n\r\n")
        time.sleep(0.2)
        c.close()  # abandoned while waiting
        time.sleep(0.2)
        v.api.must("GET", "vm.events?since=abc", 400, cls="BadRequest")
        check(v.api.get("vmm.ping").status == 200, "not serving after an abandoned poll")
        v.api.must("PUT", "vmm.shutdown", 204)
        check(v.wait_exit() == 0, "exit status after vmm.shutdown", v.stderr())
        print("ok: transport, limits, clients, fds, long polls")
    finally:
        v.kill()


# -------------------------------------------------------------------------------- sockets

def case_sockets():
    require_accel()
    v = ApiVMM()
    try:
        mode = stat.S_IMODE(os.stat(v.sock).st_mode)
        check(stat.S_ISSOCK(os.stat(v.sock).st_mode) and mode == 0o600, f"mode {oct(mode)}")
        # A second vmm on a live socket refuses, and the first keeps it.
        r = subprocess.run([vmm, "run", "--api-socket", v.sock], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 1 and "another process serves this socket" in r.stderr,
              f"second vmm: {r.returncode} {r.stderr}")
        check(v.api.get("vmm.ping").status == 200, "the first vmm lost its socket")
        v.api.must("PUT", "vmm.shutdown", 204)
        check(v.wait_exit() == 0, "vmm.shutdown")
    finally:
        v.kill()
    d = tempfile.mkdtemp(prefix="vmm-api-")
    # A stale socket (nobody listening) is replaced.
    stale = os.path.join(d, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    p = subprocess.Popen([vmm, "run", "--api-socket", stale], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wait_socket(stale, p)
    Api(stale).must("PUT", "vmm.shutdown", 204)
    _, err = p.communicate(timeout=30)
    check(p.returncode == 0 and "removed a stale socket" in err, f"stale: {p.returncode} {err}")
    # A plain file is not touched.
    plain = os.path.join(d, "plain")
    with open(plain, "w") as f:
        f.write("keep me")
    r = subprocess.run([vmm, "run", "--api-socket", plain], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 1 and "not a socket" in r.stderr and open(plain).read() == "keep me",
          f"plain file: {r.returncode} {r.stderr}")
    # Usage errors.
    r = subprocess.run([vmm, "run"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "--api-socket" in r.stderr, f"no spec, no socket: {r.stderr}")
    r = subprocess.run([vmm, "run", "--api-socket", os.path.join(d, "x.sock"), "--set",
                        "vcpus=2"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2, f"--set without a spec: {r.returncode}")
    # The spec's control.path serves the API for a VM started from the command line.
    require_accel()
    sock = os.path.join(d, "ctl.sock")
    serial = os.path.join(d, "serial.log")
    spec = {"name": "ctl", "memory_mib": 16, "accel": ACCEL,
            "boot": {"flat": f"{guests}/api_guest.bin"},
            "serial": {"target": "file", "path": serial}, "control": {"path": sock}}
    with open(os.path.join(d, "spec.json"), "w") as f:
        json.dump(spec, f)
    p = subprocess.Popen([vmm, "run", os.path.join(d, "spec.json")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wait_socket(sock, p)
    api = Api(sock)
    deadline = time.monotonic() + 30
    while api.state() != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    check(api.state() == "Running", "a spec with control.path: not Running")
    check(api.get("vm.info").json()["config"]["control"]["path"] == sock, "config.control")
    api.must("PUT", "vm.shutdown", 204)
    check(p.poll() is None, "vm.shutdown ended the process")
    api.must("PUT", "vmm.shutdown", 204)
    p.communicate(timeout=30)
    check(p.returncode == 0, f"exit {p.returncode}")
    print("ok: socket mode, stale/live/plain paths, control.path, usage")


# -------------------------------------------------------------------------------- openapi

def case_openapi():
    import yaml  # python3-yaml (scripts/deps.sh)

    with open(os.path.join(srcroot, "config", "vmm-api.yaml")) as f:
        doc = yaml.safe_load(f)
    check(doc.get("openapi", "").startswith("3."), "not an OpenAPI 3 document")
    base = doc["servers"][0]["url"].split("localhost", 1)[1].rstrip("/")
    documented = {}
    for path, ops in doc["paths"].items():
        documented[base + path] = sorted(m.upper() for m in ops if m in ("get", "put", "post",
                                                                           "patch", "delete"))
    v = ApiVMM()
    try:
        implemented = v.api.get("no.such.endpoint").json()["error"]["endpoints"]
        missing = sorted(set(implemented) - set(documented))
        extra = sorted(set(documented) - set(implemented))
        check(not missing, f"implemented but not documented: {missing}")
        check(not extra, f"documented but not implemented: {extra}")
        for path, methods in documented.items():
            for m in methods:
                if path.endswith("vmm.shutdown"):
                    continue  # would end the server; exercised last
                c = Connection(v.sock)
                query = "?timeout=0" if path.endswith("vm.events") else ""
                r = c.request(m, path + query)
                c.close()
                check(r.status not in (404, 405) or r.error_class() == "NotCreated",
                      f"{m} {path}: {r!r}")
            # A documented method the server does not take would answer 405 above; and an
            # undocumented one must be refused.
            for m in {"GET", "PUT"} - set(methods):
                c = Connection(v.sock)
                r = c.request(m, path)
                c.close()
                check(r.status == 405, f"{m} {path} is not documented but answers {r!r}")
        v.api.must("PUT", "vmm.shutdown", 204)
        v.wait_exit()
        print(f"ok: {len(documented)} documented endpoints, all implemented, none missing")
    finally:
        v.kill()


# ------------------------------------------------------------------------------ guestinfo

def case_guestinfo():
    # vm.guestinfo and vm.tools-*: the spec's variables, set and removed through the API;
    # bad bodies, keys and values refused; requests to tools nobody runs refused; a VM
    # without the backdoor refuses them all.
    require_accel()
    v = ApiVMM()
    api = v.api
    try:
        api.must("GET", "vm.guestinfo", 404, cls="NotCreated")
        api.must("PUT", "vm.tools-halt", 404, cls="NotCreated")
        api.must("PUT", "vm.create", 204,
                 body=v.spec(hypercall={"vmware_backdoor": True},
                             guestinfo={"demo": "hello", "gone": "soon"}))
        r = api.must("GET", "vm.guestinfo", 200)
        check(r.json() == {"demo": "hello", "gone": "soon"}, f"guestinfo: {r!r}")
        api.must("PUT", "vm.tools-halt", 409, cls="WrongState")  # Created, not running
        api.must("PUT", "vm.boot", 204)
        v.wait_serial("boot")
        api.must("PUT", "vm.guestinfo", 204, body={"answer": "42", "gone": None})
        r = api.must("GET", "vm.guestinfo", 200)
        check(r.json() == {"demo": "hello", "answer": "42"}, f"after PUT: {r!r}")
        for body in ("[1]", "{\"k\": ", {"k": 5}, {"bad key!": "x"}, {"k": "v" * 1024},
                     {"k" * 64: "v"}):
            api.must("PUT", "vm.guestinfo", 400, body=body, cls="BadRequest")
        r = api.must("PUT", "vm.guestinfo", 409, body={f"k{i}": "v" for i in range(70)},
                     cls="TooMany")
        check("64 variables" in r.json()["error"]["desc"], f"TooMany: {r!r}")
        check(len(api.must("GET", "vm.guestinfo", 200).json()) == 64, "not 64 variables")
        for ep in ("vm.tools-halt", "vm.tools-reboot"):
            r = api.must("PUT", ep, 409, cls="NoTools")
            check("vmtoolsd is not running" in r.json()["error"]["desc"], f"{ep}: {r!r}")
        api.must("PUT", "vm.pause", 204)
        api.must("PUT", "vm.tools-halt", 409, cls="WrongState")
        api.must("PUT", "vm.resume", 204)
        api.must("PUT", "vm.shutdown", 204)
        api.must("PUT", "vm.delete", 204)
        api.must("PUT", "vm.create", 204, body=v.spec())
        for m, ep in (("GET", "vm.guestinfo"), ("PUT", "vm.tools-halt"),
                      ("PUT", "vm.tools-reboot")):
            r = api.must(m, ep, 409, cls="NoBackdoor")
            check("hypercall.vmware_backdoor" in r.json()["error"]["desc"], f"{ep}: {r!r}")
        api.must("PUT", "vm.guestinfo", 409, body={"a": "b"}, cls="NoBackdoor")
        print("ok: vm.guestinfo reads the spec's variables, sets and removes them, refuses bad "
              "bodies and the 65th; vm.tools-* refused without tools, when not running, and "
              "without the backdoor")
    finally:
        v.kill()


# ------------------------------------------------------------------------------ s3

def case_s3():
    """ACPI S3 on the event stream: the tiny S3 guest (tests/guests/s3.S) sleeps, its RTC alarm
    wakes it at the FACS waking vector, it prints its marker and exits; an orchestrator
    following vm.events sees booted, suspended, woken, once each and in that order."""
    require_accel()
    binary = os.path.join(os.path.dirname(guests), "guests", "s3.bin")
    v = ApiVMM()
    api = v.api
    try:
        api.must("PUT", "vm.create", 204,
                 body=v.spec(boot={"flat": binary, "load_address": "0x7c00"},
                             debug={"exit_port": "0xf4"}))
        th, seen = api.follow_events()
        api.must("PUT", "vm.boot", 204)
        status = v.wait_exit(60)
        th.join(10)
        check(status == 0 and "resumed from S3" in v.serial_text(),
              f"exit status {status}", f"serial: {v.serial_text()!r}", f"stderr: {v.stderr()}")
        want = ["booted", "suspended", "woken"]
        check([e for e in seen if e in want] == want, f"events {seen}, want {want} in order",
              f"stderr: {v.stderr()}")
        print(f"ok: events {seen}")
    finally:
        v.kill()


cases = {"endpoints": case_endpoints, "transport": case_transport, "sockets": case_sockets,
         "openapi": case_openapi, "counters": case_counters, "guestinfo": case_guestinfo,
         "s3": case_s3}
if case not in cases:
    print(__doc__)
    sys.exit(2)
cases[case]()
