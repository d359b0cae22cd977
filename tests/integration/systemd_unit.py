#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""config/vmm@.service under a real systemd: a Debian 12 root (systemd_root.sh, cached in the
build folder) booted with `systemd-nspawn --boot`, the build installed into it with
`meson install --destdir`, then, inside the container:

  demo (the default Linux guest with the generic kernel, whose modules the initramfs carries:
        the power button's; serial on stdio: the journal)
    systemd-analyze verify      the installed unit has no error or warning
    systemctl start vmm@demo    returns once vmm sent READY=1 (after the sandbox's lockdown):
                                the unit is active, its journal has vmm's lines (<N>
                                priorities: no timestamps) and the guest's console
    systemctl status vmm@demo   shows the STATUS= text, "Running"
    SIGKILL of vmm              (a crashed VMM) restarted by Restart=on-failure: active again,
                                NRestarts 1, a new PID
    systemctl stop vmm@demo     ExecStop presses the power button through the API (vmmctl),
                                the guest shuts down by itself (its shutdown messages are in
                                the journal), vmm exits 0: no escalation to SIGTERM
  tiny guests (tests/integration/guests, flat binaries)
    a guest that powers off     exit 0: inactive, not restarted
    a guest that resets with on_reset "exit" (status 4): restarted
    debug.forbidden_syscall     exit 159: failed, not restarted (RestartPreventExitStatus)

Usage: systemd_unit.py SOURCE_ROOT BUILD_ROOT LIFECYCLE_GUESTS
Skips (77) with the reason when the host cannot: not root, no systemd-nspawn or debootstrap,
no cgroup file system, the default guest not built."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, skip  # noqa: E402

src, build, guests = (os.path.abspath(a) for a in sys.argv[1:4])
root = os.path.join(build, "systemd-root")
machine = f"vmmtest{os.getpid()}"


def host_checks():
    if os.geteuid() != 0:
        skip("needs root (systemd-nspawn, debootstrap)")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        if not shutil.which(tool):
            skip(f"no {tool} (scripts/deps.sh test installs systemd-container and debootstrap)")
    if not os.path.isdir("/sys/fs/cgroup") or not os.listdir("/sys/fs/cgroup"):
        skip("no cgroup file system: systemd-nspawn cannot run here")
    gdir = os.path.join(build, "guest")
    for f in ("vmlinuz-generic", "initramfs.cpio.gz"):
        if not os.path.exists(os.path.join(gdir, f)):
            skip(f"the default guest is not built ({gdir}/{f}; scripts/build-guest.sh)")
    with open(os.path.join(gdir, "initramfs.cpio.gz"), "rb") as f:
        if b"VMM-GUEST-POWERBUTTON" not in gzip.decompress(f.read()):
            fail(f"{gdir} predates the guest's power-button handler: rebuild it with "
                 "scripts/build-guest.sh")


def run(cmd, check=True, timeout=120, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        fail(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def prepare_root():
    r = run([os.path.join(src, "tests/integration/systemd_root.sh"), root], check=False,
            timeout=900)
    if r.returncode == 77:
        skip(r.stdout.strip())
    if r.returncode != 0:
        fail(f"building the Debian root failed:\n{r.stdout}{r.stderr}")
    run(["meson", "install", "-C", build, "--destdir", root, "--no-rebuild", "--quiet"])
    vdir = os.path.join(root, "var/lib/vmm")
    os.makedirs(vdir, exist_ok=True)
    for f in ("vmlinuz-generic", "initramfs.cpio.gz"):
        shutil.copyfile(os.path.join(build, "guest", f), os.path.join(vdir, f))
    for g in ("poweroff_acpi", "reset_cf9", "hang"):
        shutil.copyfile(os.path.join(guests, g + ".bin"), os.path.join(vdir, g + ".bin"))
    edir = os.path.join(root, "etc/vmm")
    os.makedirs(edir, exist_ok=True)
    specs = {
        "demo": {"name": "demo", "memory_mib": 256,
                 "boot": {"kernel": "/var/lib/vmm/vmlinuz-generic",
                          "initrd": "/var/lib/vmm/initramfs.cpio.gz",
                          "cmdline": "console=ttyS0 panic=-1 no_timer_check"},
                 "serial": {"target": "stdio"}},
        "off": flat("poweroff_acpi"),
        "reset": flat("reset_cf9", on_reset="exit"),
        "forbidden": flat("hang", debug={"exit_port": "0xf4", "forbidden_syscall": "vcpu"}),
    }
    for name, s in specs.items():
        with open(os.path.join(edir, name + ".json"), "w") as f:
            json.dump(s, f)


def flat(name, **extra):
    s = {"name": name, "memory_mib": 16, "accel": "bt",
         "boot": {"flat": f"/var/lib/vmm/{name}.bin", "load_address": "0x7c00"},
         "serial": {"target": "stdio"}}
    s.update(extra)
    return s


class Container:
    def __init__(self):
        self.log = open(os.path.join(build, "systemd-nspawn.log"), "w")
        args = ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "-D", root,
                f"--machine={machine}", "--console=passive"]
        if os.path.exists("/dev/kvm"):
            args.append("--bind=/dev/kvm")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.pid = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.pid is None:
            if self.proc.poll() is not None:
                self.log.flush()
                fail(f"systemd-nspawn exited with {self.proc.returncode}:\n{self.log_text()}")
            kids = run(["ps", "-o", "pid=,comm=", "--ppid", str(self.proc.pid)],
                       check=False).stdout.split()
            if len(kids) >= 2 and kids[1] == "systemd":  # the container's init, exec'd
                self.pid = kids[0]
            time.sleep(0.2)
        if self.pid is None:
            self.stop()
            fail("the container's init did not start")
        while time.monotonic() < deadline + 60:  # its bus comes up a moment after it starts
            r = self.sh("systemctl is-system-running --wait", check=False, timeout=90)
            if r.stdout.strip() in ("running", "degraded"):
                break
            time.sleep(0.5)
        if r.stdout.strip() not in ("running", "degraded"):
            self.stop()
            fail(f"the container's systemd did not come up: {r.stdout}{r.stderr}\n"
                 f"{self.log_text()}")

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-3000:]

    def sh(self, cmd, check=True, timeout=120):
        r = run(["nsenter", "-t", self.pid, "-a", "/bin/sh", "-c", cmd], check=False,
                timeout=timeout)
        if check and r.returncode != 0:
            self.stop()
            fail(f"in the container: {cmd}: exit {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def prop(self, unit, name):
        return self.sh(f"systemctl show -P {name} {unit}").stdout.strip()

    def journal(self, unit):
        return self.sh(f"journalctl -b -q -o cat --no-pager -u {unit}").stdout

    def wait_prop(self, unit, name, want, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.prop(unit, name)
            if v == want:
                return
            time.sleep(0.5)
        self.stop()
        fail(f"{unit}: {name} is {v!r}, not {want!r} after {timeout} s\n{self.journal(unit)}")

    def wait_journal(self, unit, text, timeout, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.journal(unit).count(text) >= count:
                return
            time.sleep(1)
        self.stop()
        fail(f"{unit}: no {text!r} in the journal after {timeout} s\n{self.journal(unit)}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nspawn: the container powers off
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def check_demo(c):
    unit = "vmm@demo.service"
    r = c.sh(f"systemd-analyze verify --man=no {unit}", check=False)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"systemd-analyze verify {unit}: {r.stdout}{r.stderr}")
    t0 = time.monotonic()
    r = c.sh(f"systemctl start {unit}", timeout=120, check=False)  # returns after READY=1
    if r.returncode != 0:
        fail(f"systemctl start {unit}: exit {r.returncode}\n{r.stderr}{c.journal(unit)}")
    if c.prop(unit, "ActiveState") != "active":
        fail(f"{unit} not active after start:\n{c.journal(unit)}")
    j = c.journal(unit)
    for want in ("sandbox: on", "demo: running"):
        if want not in j:
            fail(f"{unit}: no {want!r} in the journal before READY:\n{j}")
    if "] info: " in j:
        fail(f"{unit}: timestamps on a journal stream (JOURNAL_STREAM not honoured):\n{j}")
    prio = c.sh(f"journalctl -b -q -o verbose --no-pager -u {unit} -g 'sandbox: on'").stdout
    if "PRIORITY=6" not in prio:
        fail(f"{unit}: the sandbox's info line lacks PRIORITY=6:\n{prio}")
    status = c.sh(f"systemctl status --no-pager {unit}", check=False).stdout
    if 'Status: "Running"' not in status:
        fail(f"systemctl status lacks the STATUS text:\n{status}")
    print(f"ok: {unit} active {time.monotonic() - t0:.1f} s after start, status Running")
    c.wait_journal(unit, "VMM-GUEST-READY", 300)

    pid = c.prop(unit, "MainPID")
    c.sh(f"kill -KILL {pid}")
    c.wait_prop(unit, "NRestarts", "1", 30)
    c.wait_prop(unit, "ActiveState", "active", 60)
    if c.prop(unit, "MainPID") == pid:
        fail(f"{unit}: the same PID after a restart")
    print("ok: a killed vmm was restarted (Restart=on-failure)")
    c.wait_journal(unit, "VMM-GUEST-READY kernel", 300, count=2)  # the second boot's
    # acpid runs by the time the shell starts (its prompt has no newline: journald holds it)
    c.wait_journal(unit, "Enter 'help' for a list of built-in commands.", 120, count=2)
    time.sleep(1)

    t0 = time.monotonic()
    c.sh(f"systemctl stop {unit}", timeout=200)
    took = time.monotonic() - t0
    j = c.journal(unit)
    code, status = c.prop(unit, "ExecMainCode"), c.prop(unit, "ExecMainStatus")
    if status != "0":
        fail(f"{unit}: vmm ended with status {status} (code {code}), not 0 (a graceful "
             f"power-off) after {took:.0f} s:\n{j[-4000:]}")
    for want in ("VMM-GUEST-POWERBUTTON", "reboot: Power down", "the guest powered off"):
        if want not in j:
            fail(f"{unit}: the journal lacks {want!r}:\n{j[-4000:]}")
    if c.prop(unit, "ActiveState") != "inactive":
        fail(f"{unit}: {c.prop(unit, 'ActiveState')} after stop")
    if took > 60:  # ExecStop's wait-state gives the guest 90 s before SIGTERM
        fail(f"{unit}: the stop took {took:.0f} s: the guest did not react to the power button")
    print(f"ok: systemctl stop powered the guest off in {took:.1f} s (its messages in the journal)")


def check_policy(c):
    # A guest that powers off: done, not restarted.
    c.sh("systemctl start vmm@off.service", timeout=60)
    c.wait_prop("vmm@off.service", "ActiveState", "inactive", 60)
    time.sleep(3)  # longer than RestartSec
    if c.prop("vmm@off.service", "NRestarts") != "0" or \
            c.prop("vmm@off.service", "Result") != "success":
        fail(f"vmm@off: restarted or failed:\n{c.journal('vmm@off.service')}")
    # A guest reset with on_reset "exit" (4): restarted.
    c.sh("systemctl start vmm@reset.service", check=False, timeout=60)
    c.wait_prop("vmm@reset.service", "NRestarts", "2", 60)
    c.sh("systemctl stop vmm@reset.service", check=False)
    # A sandbox violation (159): failed, not restarted.
    c.sh("systemctl start vmm@forbidden.service", check=False, timeout=60)
    c.wait_prop("vmm@forbidden.service", "ActiveState", "failed", 60)
    time.sleep(3)
    j = c.journal("vmm@forbidden.service")
    if c.prop("vmm@forbidden.service", "NRestarts") != "0" or \
            c.prop("vmm@forbidden.service", "ExecMainStatus") != "159" or \
            "vcpu0 made a system call its allow-list forbids: socket" not in j:
        fail(f"vmm@forbidden: not a 159 without restart:\n{j}")
    print("ok: poweroff not restarted, reset-exit restarted, sandbox violation failed for good")


host_checks()
prepare_root()
c = Container()
try:
    check_demo(c)
    check_policy(c)
finally:
    c.stop()
print("ok: systemd unit")
