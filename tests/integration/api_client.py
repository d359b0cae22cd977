# SPDX-License-Identifier: MIT
"""A small client of the vmm control API (HTTP/1.1 over a unix socket) for the tests: raw
requests (so tests can send malformed ones), file descriptors with SCM_RIGHTS, keep-alive,
and waiting for a socket to listen. Written from RFC 9112, not from any HTTP library, so the
tests do not share the server's assumptions."""
import json
import os
import socket
import stat
import threading
import time


class ApiError(Exception):
    pass


def wait_socket(path, proc=None, timeout=30):
    """Wait until path accepts connections (the vmm creates it before it runs the loop)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ApiError(f"vmm exited with {proc.returncode} before serving {path}")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.close()
            return
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise ApiError(f"{path}: no API socket after {timeout} s")
            time.sleep(0.05)


def wait_listening(path, proc=None, timeout=30):
    """Wait until a listener that serves a single connection (a migration's destination) has
    its socket at path. Probing it with connect() as wait_socket does would take that one
    connection; the file is enough, since the vmm puts a unix socket at its path only once
    it listens (src/vmm/unix_sock.c)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ApiError(f"vmm exited with {proc.returncode} before listening on {path}")
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                return
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise ApiError(f"{path}: no listening socket after {timeout} s")
        time.sleep(0.02)


def wait_log(read, text, timeout=30, alive=None):
    """Until read() (a process's log so far) contains text, as a TCP migration listener's
    "waiting for a migration" says it listens: True, or False after timeout seconds or once
    alive() is false."""
    deadline = time.monotonic() + timeout
    while text not in read():
        if time.monotonic() > deadline or (alive is not None and not alive()):
            return False
        time.sleep(0.02)
    return True


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def error_class(self):
        try:
            return self.json()["error"]["class"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.body[:300]!r}>"


class Connection:
    """One connection; keep-alive by default. read_response() parses exactly one answer."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_raw(self, data, fds=None):
        if fds:
            self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                        bytes(memoryview(bytearray(
                                            b"".join(int(f).to_bytes(4, "little")
                                                     for f in fds)))))])
        else:
            self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ApiError("the server closed the connection")
        self.buf += chunk

    def closed_by_peer(self, timeout=5):
        """True if the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, status_reason = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ApiError(f"not an HTTP/1.x status line: {lines[0]!r}")
        status, _, reason = status_reason.partition(" ")
        headers = {}
        for ln in lines[1:]:
            name, _, value = ln.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            self.buf = head + b"\r\n\r\n" + rest
            self._fill()
            head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest[length:]
        return Response(int(status), reason, headers, rest[:length])

    def request(self, method, path, body=None, headers=None, fds=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        hdrs = {"Host": "localhost"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        text = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in
                                                       hdrs.items()) + "\r\n"
        self.send_raw(text.encode() + (body or b""), fds)
        resp = self.read_response()
        while resp.status == 100:  # 100 Continue before the final answer
            resp = self.read_response()
        return resp


class Api:
    """Convenience: one request per call on a fresh connection (or a kept one)."""

    def __init__(self, path):
        self.path = path

    def call(self, method, endpoint, body=None, **kw):
        c = Connection(self.path, timeout=kw.pop("timeout", 60))
        try:
            return c.request(method, "/api/v1/" + endpoint, body, **kw)
        finally:
            c.close()

    def get(self, endpoint, **kw):
        return self.call("GET", endpoint, **kw)

    def put(self, endpoint, body=None, **kw):
        return self.call("PUT", endpoint, body, **kw)

    def state(self):
        r = self.get("vm.info")
        return r.json()["state"] if r.status == 200 else None

    def must(self, method, endpoint, status, body=None, cls=None, **kw):
        r = self.call(method, endpoint, body, **kw)
        if r.status != status or (cls and r.error_class() != cls):
            raise ApiError(f"{method} {endpoint}: got {r!r}, want {status} {cls or ''}")
        return r

    def wait_event(self, name, since=1, timeout=60):
        """Long-poll vm.events until an event named name with seq >= since; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = max(1, int(deadline - time.monotonic()))
            r = self.get(f"vm.events?since={since}&timeout={min(left, 30)}",
                         timeout=left + 30)
            if r.status != 200:
                raise ApiError(f"vm.events: {r!r}")
            j = r.json()
            for e in j["events"]:
                if e["event"] == name:
                    return e
            since = j["next"]
        raise ApiError(f"no {name!r} event within {timeout} s")

    def follow_events(self):
        """What an orchestrator waiting on events sees from now up to the VMM's exit: a
        started thread long-polling vm.events, and the list of event names it appends to.
        join() the thread (it ends when the connection fails as the VMM exits)."""
        seen = []
        nxt = self.get("vm.events?since=0&timeout=0").json()["next"]

        def follow():
            since = nxt
            try:
                while True:
                    j = self.get(f"vm.events?since={since}&timeout=30", timeout=60).json()
                    seen.extend(e["event"] for e in j["events"])
                    since = j["next"]
            except Exception:
                pass

        th = threading.Thread(target=follow, daemon=True)
        th.start()
        return th, seen


def pipe_fds(n):
    """n pipes; returns (read ends, write ends)."""
    r, w = [], []
    for _ in range(n):
        a, b = os.pipe()
        r.append(a)
        w.append(b)
    return r, w
