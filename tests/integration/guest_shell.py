# SPDX-License-Identifier: MIT
"""Boot the default Linux guest (scripts/build-guest.sh: a Debian kernel plus the busybox
initramfs whose /init prints VMM-GUEST-READY and starts a shell on ttyS0) and drive its shell
through the serial console, a unix socket.

The same class runs our `vmm run` (the tests) or `qemu-system-x86_64 -accel tcg` (a reference
for developing a test script, and the peer in benchmarks), so a guest-side script behaves the
same under both. Each command's output is framed by a unique end marker that carries the
command's exit status, so callers get (status, output) and no prompt parsing is involved."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

MARKER = "VMM-GUEST-READY"


def guest_dir(default):
    """Where the built guest lives: $VMM_GUEST_DIR, else default. None if it is not built."""
    d = os.path.abspath(os.environ.get("VMM_GUEST_DIR") or default)
    for f in ("vmlinuz-cloud", "vmlinuz-generic", "initramfs.cpio.gz"):
        if not os.path.exists(os.path.join(d, f)):
            return None
    return d


# A terminal control sequence (ECMA-48 CSI): ESC [ parameters intermediates final byte.
CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
KERNEL_LINE = re.compile(r"\[ *\d+\.\d+\] ")


def without_kernel_lines(out):
    """A command's output without the kernel's console messages (lines "[ seconds] ..."), which
    land between a command and its answer now and then ("tsc: Refined TSC clocksource
    calibration", "random: crng init done"). Not for output that is itself kernel messages
    (dmesg)."""
    return "\n".join(ln for ln in out.splitlines() if not KERNEL_LINE.match(ln))

# The Debian 12 systemd guest tests/integration/systemd_guest.sh builds in a folder: its kernel,
# its own initramfs, the command line for its VMDK root on virtio-blk (no_timer_check: see
# docs/architecture.md, lost PIT ticks on a loaded host), and its login prompt.
SYSTEMD_CMDLINE = "console=ttyS0 root=/dev/vda rw no_timer_check"
SYSTEMD_LOGIN = b"vmm-guest login: "


def systemd_boot_files(gdir):
    """The systemd guest's kernel and initramfs in gdir."""
    return os.path.join(gdir, "vmlinuz"), os.path.join(gdir, "initrd.img")


def vmdk_delta(base_vmdk, work, vmm_img):
    """A new VMDK delta in folder work over base_vmdk, which is hard-linked (or copied) into
    work first: a delta names its parent inside its own folder (docs/security.md). Returns
    (the delta, the parent's path in work)."""
    base = os.path.join(work, os.path.basename(base_vmdk))
    try:
        os.link(base_vmdk, base)
    except OSError:
        shutil.copyfile(base_vmdk, base)
    disk = os.path.join(work, "run.vmdk")
    subprocess.run([vmm_img, "snapshot", base, disk], check=True, stdout=subprocess.DEVNULL)
    return disk, base


class GuestError(Exception):
    pass


def bt_spec_from_env():
    """The spec's "bt" object from $VMM_BT_ENGINE (jit or interpreter) and
    $VMM_BT_JIT_THRESHOLD, or None when neither is set (the vmm's defaults)."""
    bt = {}
    if os.environ.get("VMM_BT_ENGINE"):
        bt["engine"] = os.environ["VMM_BT_ENGINE"]
    if os.environ.get("VMM_BT_JIT_THRESHOLD"):
        bt["jit_threshold"] = int(os.environ["VMM_BT_JIT_THRESHOLD"])
    return bt or None


class LinuxGuest:
    """One booted guest. engine: "vmm" (vmm binary path given) or "qemu"."""

    def __init__(self, kernel, initrd, cmdline="console=ttyS0", vcpus=1, memory_mib=256,
                 engine="vmm", vmm=None, accel="bt", disks=(), qemu_extra=(), log=None,
                 cpu=None, api=False, extra_spec=None, nics=(), prefix=()):
        # prefix: a command the vmm runs under (e.g. ip netns exec NS).
        # The spec lives in a private folder and resolves relative paths against it.
        kernel, initrd = os.path.abspath(kernel), os.path.abspath(initrd)
        disks = [dict(d, path=os.path.abspath(d["path"])) for d in disks]
        self.dir = tempfile.mkdtemp(prefix="vmm-linux-")
        self.sock_path = os.path.join(self.dir, "serial.sock")
        # api: the vmm also serves its control API here (vmm run --api-socket).
        self.api_path = os.path.join(self.dir, "api.sock") if api else None
        self.transcript = b""
        self.log = log
        self.seq = 0
        stderr_path = os.path.join(self.dir, "stderr.log")
        self.stderr_path = stderr_path
        if engine == "vmm":
            spec = {
                "name": "linux-test",
                "vcpus": vcpus,
                "memory_mib": memory_mib,
                "accel": accel,
                "boot": {"kernel": kernel, "initrd": initrd, "cmdline": cmdline},
                "serial": {"target": "unix", "path": self.sock_path},
            }
            if disks:
                spec["disks"] = list(disks)
            if cpu:
                spec["cpu"] = cpu
            bt = bt_spec_from_env()
            if bt:
                spec["bt"] = bt
            if nics:
                spec["nics"] = list(nics)
            # More top-level spec sections (vmm only): a display, consoles, rng, hypercall...
            spec.update(extra_spec or {})
            # The state round-trip debug switch (docs/device-state.md), for the tests that
            # boot the same guest with every device's state saved and reloaded meanwhile.
            roundtrip_ms = os.environ.get("VMM_STATE_ROUNDTRIP_MS")
            if roundtrip_ms:
                spec["debug"] = {"state_roundtrip_ms": int(roundtrip_ms)}
            spec_path = os.path.join(self.dir, "spec.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            args = list(prefix) + [vmm, "run", spec_path]
            if self.api_path:
                args += ["--api-socket", self.api_path]
        else:
            args = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory_mib),
                    "-smp", str(vcpus), "-kernel", kernel, "-initrd", initrd,
                    "-append", cmdline, "-display", "none", "-no-reboot", "-nodefaults",
                    "-serial", f"unix:{self.sock_path},server=on,wait=off"]
            args += list(qemu_extra)
        self.stderr_f = open(stderr_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.stderr_f,
                                     stderr=self.stderr_f)
        self.sock = self._connect(30)

    def _connect(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise GuestError(f"exited with {self.proc.returncode} before its console "
                                 f"appeared: {self.stderr_text()}")
            if os.path.exists(self.sock_path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.sock_path)
                    return s
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                raise GuestError(f"no console socket after {timeout} s")
            time.sleep(0.05)

    def stderr_text(self):
        self.stderr_f.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def text(self):
        return self.transcript.decode("latin-1")

    def _read_more(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise GuestError(f"timed out waiting for {what!r}")
        self.sock.settimeout(min(left, 0.5))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            if self.proc.poll() is not None:
                raise GuestError(f"exited with {self.proc.returncode} while waiting for {what!r}")
            return
        if not chunk:
            raise GuestError(f"console closed while waiting for {what!r}")
        if self.log:
            self.log.write(chunk.decode("latin-1"))
            self.log.flush()
        self.transcript += chunk

    def _read_until(self, needle, timeout, start=0):
        """Read until needle appears at or after transcript offset start."""
        deadline = time.monotonic() + timeout
        while self.transcript.find(needle, start) < 0:
            self._read_more(deadline, needle)
        return self.transcript

    def wait_marker(self, timeout=300):
        """Wait for the initramfs marker line only (no prompt; e.g. with vmm.poweroff)."""
        self._read_until(MARKER.encode(), timeout)

    def wait_ready(self, timeout=300):
        """Wait for the initramfs marker and the first shell prompt; seconds it took."""
        t0 = time.monotonic()
        self._read_until(MARKER.encode(), timeout)
        # The prompt after the marker (kernel messages before it may hold "# " too).
        self._read_until(b"# ", timeout, self.transcript.find(MARKER.encode()))
        return time.monotonic() - t0

    def run(self, command, timeout=120):
        """Run one shell command; returns (exit status, output without the echo and, unless
        the command runs dmesg, without the kernel's console messages)."""
        self.seq += 1
        tag = f"@@END{self.seq}@@"
        start = len(self.transcript)
        # The tag is split in the command text, so the terminal's echo of the line cannot match.
        self.sock.sendall(f"{command}; echo \"@@END{self.seq}\"\"@@ $?\"\n".encode())
        # The status ends at the first non-digit: usually the newline, but a kernel message
        # printed on the console at that moment may follow it on the same line.
        pattern = re.compile(re.escape(tag) + r" (\d+)(?=\D)")
        deadline = time.monotonic() + timeout
        while True:
            out = self.transcript[start:].decode("latin-1")
            m = pattern.search(out)
            if m:
                break
            self._read_more(deadline, tag)
        # A login shell's line editor (bash on a Debian root) writes terminal controls around
        # each command, such as bracketed paste on and off (ESC [ ? 2004 h / l): not output.
        body = CSI.sub("", out[:m.start()].replace("\r", ""))
        # Drop the echoed command line: everything up to the end of the (last) line holding it.
        # Typed ahead of the prompt, it is echoed twice: by the tty, then by the shell's line
        # editor when it redraws the line; the output proper never holds the split tag.
        echo_end = body.rfind(f"@@END{self.seq}\"")
        if echo_end >= 0:
            body = body[body.find("\n", echo_end) + 1:]
        # The kernel's console messages are not the command's output (it writes them to the
        # same serial line whenever they come: "tsc: Refined TSC clocksource calibration"
        # landed in a /proc/uptime and an nproc answer); a command reading the kernel's log
        # keeps its lines.
        if "dmesg" not in command:
            body = without_kernel_lines(body)
        return int(m.group(1)), body.strip("\n")

    def login(self, prompt, timeout, user=b"root"):
        """Wait for a getty's prompt (a kernel panic before it fails at once), then log in as
        user without a password and wait for the shell's prompt. Returns the seconds to the
        login prompt."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        while prompt not in self.transcript:
            if b"Kernel panic" in self.transcript:
                raise GuestError("the guest's kernel panicked before the login prompt")
            self._read_more(deadline, "the login prompt")
        took = time.monotonic() - t0
        self.sock.sendall(user + b"\n")
        self._read_until(b"# ", 120, self.transcript.rfind(prompt))
        return took

    def read_until_exit(self, timeout):
        """Keep reading the console until the process ends (a peer may stall a guest whose
        console output nobody reads); returns its exit status."""
        try:
            while self.proc.poll() is None:
                self._read_more(time.monotonic() + timeout, "the process's exit")
        except GuestError:
            pass  # the console closes as the process exits
        return self.wait_exit(timeout)

    def poweroff(self, timeout=120):
        """`poweroff -f` in the guest; returns the process exit status."""
        self.sock.sendall(b"poweroff -f\n")
        return self.wait_exit(timeout)

    def wait_exit(self, timeout=120):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise GuestError(f"still running {timeout} s after power-off")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self.stderr_f.close()
        shutil.rmtree(self.dir, ignore_errors=True)
