# SPDX-License-Identifier: MIT
"""Whole-VM test harness: spawn `vmm run` with a spec, read the serial log, wait for markers,
send signals, check the exit status. Tests exit 0 (pass), 1 (fail) or 77 (skip, meson's code)."""
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00)


def kvm_usable():
    """None if /dev/kvm opens read-write and answers as KVM API 12 (what accel_kvm's probe
    checks first), else the reason it cannot be used."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm cannot be opened: {e.strerror}"
    try:
        api = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as e:
        return f"/dev/kvm is not KVM: KVM_GET_API_VERSION fails ({e.strerror})"
    finally:
        os.close(fd)
    if api != 12:
        return f"/dev/kvm reports KVM API version {api}, not 12"
    return None


def require_kvm():
    why = kvm_usable()
    if why:
        skip(why + " (this test runs a guest under accel kvm)")


class VM:
    """One `vmm run` process with its spec in a private temporary folder."""

    def __init__(self, vmm, spec, sets=(), stdin=subprocess.DEVNULL, stderr_path=None):
        self.dir = tempfile.mkdtemp(prefix="vmm-test-")
        self.serial = os.path.join(self.dir, "serial.log")
        spec = dict(spec)
        spec.setdefault("serial", {"target": "file", "path": self.serial})
        self.spec_path = os.path.join(self.dir, "spec.json")
        with open(self.spec_path, "w") as f:
            json.dump(spec, f)
        args = [vmm, "run", self.spec_path]
        for s in sets:
            args += ["--set", s]
        self.stderr_path = stderr_path or os.path.join(self.dir, "stderr.log")
        self.stderr_f = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=self.stderr_f)

    def serial_text(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read().decode("latin-1")
        except FileNotFoundError:
            return ""

    def stderr_text(self):
        self.stderr_f.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def wait_serial(self, marker, timeout=60, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serial_text().count(marker) >= count:
                return
            if self.proc.poll() is not None and self.serial_text().count(marker) < count:
                fail(f"vmm exited with {self.proc.returncode} before printing {marker!r} "
                     f"x{count}\nserial: {self.serial_text()!r}\nstderr: {self.stderr_text()}")
            time.sleep(0.05)
        self.kill()
        fail(f"no {marker!r} x{count} on the serial console within {timeout} s\n"
             f"serial: {self.serial_text()!r}\nstderr: {self.stderr_text()}")

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"vmm did not exit within {timeout} s\nserial: {self.serial_text()!r}\n"
                 f"stderr: {self.stderr_text()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def expect_exit(self, status, stderr_has=None, timeout=60):
        rc = self.wait_exit(timeout)
        err = self.stderr_text()
        if rc != status:
            fail(f"exit status {rc}, expected {status}\nserial: {self.serial_text()!r}\n"
                 f"stderr: {err}")
        if stderr_has and stderr_has not in err:
            fail(f"stderr lacks {stderr_has!r}:\n{err}")
        lines = [l for l in err.splitlines() if l.strip()]
        print(f"ok: exit {rc}; last message: {lines[-1] if lines else '(none)'}")


# The accelerator the whole-VM tests run under: meson registers them once per accelerator.
ACCEL = os.environ.get("VMM_TEST_ACCEL", "kvm")


def require_accel():
    """Skip when the accelerator under test cannot run here (only kvm can be missing)."""
    if ACCEL == "kvm":
        require_kvm()


def flat_spec(binary, **extra):
    spec = {"name": "test", "vcpus": 1, "memory_mib": 16, "accel": ACCEL,
            "boot": {"flat": binary, "load_address": "0x7c00"},
            "debug": {"exit_port": "0xf4"}}
    spec.update(extra)
    return spec
