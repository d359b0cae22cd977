# SPDX-License-Identifier: MIT
"""A small RFB 3.8 client (RFC 6143) for the display tests and the frame-rate benchmark:
security type None, 32-bit pixels (bytes R, G, B, X), raw encoding with DesktopSize, key and
pointer events. Every read has a deadline; the caller closes the client."""
import os
import shutil
import socket
import struct
import subprocess
import time

import pngread

ENC_RAW = 0
ENC_DESKTOP_SIZE = -223


class RFBError(Exception):
    pass


class Client:
    def __init__(self, address, timeout=10.0):
        """address: (host, port) for TCP, or a unix socket path."""
        if isinstance(address, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self._handshake()

    def _recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RFBError("the server closed the connection")
            out += chunk
        return out

    def _handshake(self):
        version = self._recv(12)
        if not version.startswith(b"RFB 003."):
            raise RFBError(f"not an RFB server: {version!r}")
        self.sock.sendall(b"RFB 003.008\n")
        n = self._recv(1)[0]
        if n == 0:
            raise RFBError("the server refused the connection")
        types = self._recv(n)
        if 1 not in types:
            raise RFBError(f"no security type None among {list(types)}")
        self.sock.sendall(b"\x01")
        if struct.unpack(">I", self._recv(4))[0] != 0:
            raise RFBError("security handshake failed")
        self.sock.sendall(b"\x01")  # shared
        self.width, self.height = struct.unpack(">HH", self._recv(4))
        self._recv(16)  # the server's pixel format
        self.name = self._recv(struct.unpack(">I", self._recv(4))[0]).decode("latin-1")
        # 32 bpp, depth 24, little-endian, true colour, R at bit 0, G at 8, B at 16
        self.sock.sendall(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255,
                                      0, 8, 16))
        self.sock.sendall(struct.pack(">BxHii", 2, 2, ENC_RAW, ENC_DESKTOP_SIZE))
        self.fb = bytearray(self.width * self.height * 4)
        self.pixels = 0  # pixels received in raw rectangles (the frame-rate benchmark)

    def request(self, incremental=False):
        self.sock.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.width,
                                      self.height))

    def read_update(self):
        """Read one FramebufferUpdate (other messages are skipped); the rectangles' count."""
        while True:
            kind = self._recv(1)[0]
            if kind == 0:
                break
            if kind == 2:  # bell
                continue
            if kind == 3:  # cut text
                self._recv(3)
                self._recv(struct.unpack(">I", self._recv(4))[0])
                continue
            if kind == 1:  # colour map entries
                _, n = struct.unpack(">xHH", self._recv(5))
                self._recv(6 * n)
                continue
            raise RFBError(f"unexpected server message {kind}")
        self._recv(1)
        n = struct.unpack(">H", self._recv(2))[0]
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", self._recv(12))
            if enc == ENC_DESKTOP_SIZE:
                self.width, self.height = w, h
                self.fb = bytearray(w * h * 4)
            elif enc == ENC_RAW:
                data = self._recv(w * h * 4)
                self.pixels += w * h
                for row in range(h):
                    at = ((y + row) * self.width + x) * 4
                    self.fb[at:at + w * 4] = data[row * w * 4:(row + 1) * w * 4]
            else:
                raise RFBError(f"unexpected encoding {enc}")
        return n

    def rgb_rows(self):
        """The framebuffer as rows of RGB bytes (pngread's form)."""
        rows = []
        for y in range(self.height):
            line = self.fb[y * self.width * 4:(y + 1) * self.width * 4]
            rows.append(bytes(v for i, v in enumerate(line) if i % 4 != 3))
        return rows

    def key(self, keysym, down):
        self.sock.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, keysym))

    def type_text(self, text, pause=0.02):
        """Type text on a US keyboard: shift around the characters that need it."""
        shifted = '~!@#$%^&*()_+{}|:"<>?'
        for ch in text:
            if ch == "\n":
                sym = 0xFF0D
            else:
                sym = ord(ch)
            shift = ch.isupper() or ch in shifted
            if shift:
                self.key(0xFFE1, True)
            self.key(sym, True)
            self.key(sym, False)
            if shift:
                self.key(0xFFE1, False)
            time.sleep(pause)

    def pointer(self, buttons, x, y):
        self.sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))

    def close(self):
        self.sock.close()


def free_port():
    """A loopback TCP port nothing listens on now, for a VNC server."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def gvnccapture(port, path):
    """One frame of the VNC server on 127.0.0.1:port captured by Debian's gvnccapture
    (package gvncviewer) into the PNG file path, as (width, height, RGB rows); None when
    gvnccapture is not installed. RFBError when it fails."""
    if not shutil.which("gvnccapture"):
        return None
    r = subprocess.run(["gvnccapture", f"127.0.0.1:{port - 5900}", os.fspath(path)],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RFBError(f"gvnccapture: exit {r.returncode}: {r.stderr!r}")
    with open(path, "rb") as f:
        return pngread.read_rgb(f.read())
