# SPDX-License-Identifier: MIT
"""Shared pieces of the snapshot and migration tests (snapshot.py, migrate.py): a `vmm run`
process in its own process group (killed with the group when a test ends, however it ends),
its serial console on a unix socket read by a thread, and the counter guest's lines
(tests/integration/guests/snap_counter.S: "c=XXXXXXXX m=ok" per count, "r=..." for the bytes
it drained from the UART)."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from api_client import Api, wait_socket
from harness import fail

COUNT_RE = re.compile(r"c=([0-9a-f]{8}) (m=ok|m=BAD)")

_procs = []


def kill_all():
    """Kill every vmm this test started (and whatever they started)."""
    for p in _procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


class Console:
    """The serial console: connect to the vmm's unix socket, collect what it prints."""

    def __init__(self, path, proc, timeout=30):
        deadline = time.monotonic() + timeout
        self.data = b""
        self.lock = threading.Lock()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vmm exited with {proc.returncode} before its console")
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    break
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path}: no console socket after {timeout} s")
            time.sleep(0.02)
        self.sock = s
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def text(self):
        with self.lock:
            return self.data.decode("latin-1")

    def send(self, data):
        self.sock.sendall(data)

    def counts(self):
        """The counter values printed, in order, and whether every memory check held."""
        vals, ok = [], True
        for m in COUNT_RE.finditer(self.text()):
            vals.append(int(m.group(1), 16))
            ok = ok and m.group(2) == "m=ok"
        return vals, ok

    def wait_count(self, pred, what, timeout=60, proc=None):
        deadline = time.monotonic() + timeout
        while True:
            vals, _ = self.counts()
            if vals and pred(vals):
                return vals
            if proc is not None and proc.poll() is not None:
                fail(f"vmm exited with {proc.returncode} while waiting for {what}\n"
                     f"console: {self.text()[-600:]!r}")
            if time.monotonic() > deadline:
                fail(f"timed out waiting for {what}\nconsole: {self.text()[-600:]!r}")
            time.sleep(0.01)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Vmm:
    """One `vmm run` with an API socket and a serial console socket in a private folder."""

    def __init__(self, vmm, args, name="vmm", tmp=None, env=None, prefix=()):
        # prefix: a command the vmm runs under (e.g. ip netns exec NS).
        self.dir = tmp or tempfile.mkdtemp(prefix=f"vmm-{name}-")
        self.api_path = os.path.join(self.dir, f"{name}-api.sock")
        self.serial_path = os.path.join(self.dir, f"{name}-serial.sock")
        self.stderr_path = os.path.join(self.dir, f"{name}-stderr.log")
        self.stderr_f = open(self.stderr_path, "w")
        full = list(prefix) + [vmm, "run", "--api-socket", self.api_path] + [
            a.replace("@SERIAL@", self.serial_path) for a in args]
        self.proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=self.stderr_f,
                                     stderr=self.stderr_f, start_new_session=True,
                                     env=env)
        _procs.append(self.proc)
        self.api = Api(self.api_path)
        self.console = None

    def wait_api(self):
        try:
            wait_socket(self.api_path, self.proc)
        except Exception as e:
            fail(f"{e}\nstderr: {self.stderr()}")

    def open_console(self):
        try:
            self.console = Console(self.serial_path, self.proc)
        except RuntimeError as e:
            fail(f"{e}\nstderr: {self.stderr()}")
        return self.console

    def stderr(self):
        self.stderr_f.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.console:
            self.console.close()

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"vmm did not exit within {timeout} s\nstderr: {self.stderr()}")


def consecutive(vals, first):
    """None if vals is first, first+1, ...; else a description of the first break."""
    for i, v in enumerate(vals):
        if v != first + i:
            return (f"count {i}: {v} where {first + i} was due "
                    f"({'a repeat' if v < first + i else 'a gap'}; values {vals[:i + 3]})")
    return None
