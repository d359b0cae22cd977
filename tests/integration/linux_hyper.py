#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The paravirtual interfaces with Linux's own drivers (issue 15, docs/hypercall.md): the
generic Debian kernel of the default guest under accel bt, with the spec asking for the VMware
backdoor and identity, a virtio-console function and virtio-rng.

  - hypercall.identity vmware: the kernel logs "Hypervisor detected: VMware" and reads its
    TSC frequency from the hypervisor (GETHZ through the backdoor port at CPL 0); the TSC
    clocksource is not marked unstable.
  - rng: /dev/hwrng is virtio-rng (rng_current says so) and gives varied bytes; 4 KiB read
    at the spec's 2000 bytes a second take the guest the time that rate allows, requests
    wait for the budget (vm.counters), and the reader does not stall.
  - consoles: port 0 (no name) is /dev/hvc0 on a unix socket: a getty there gives a shell the
    host drives through the socket; the named ports carry their names to
    /sys/class/virtio-ports/*/name; text the guest writes to the stdio, file and pty ports
    reaches vmm's stdout, the file and the pty; the none port swallows it; text the host types
    into the pty reaches the guest.

  - open-vm-tools (Debian's .deb, from the guest build cache; apt-get download fetches it
    there the first time; the part is skipped, counted and said so, without it): vmware-rpctool
    reads the spec's guestinfo and one vmmctl set, its info-set is read back by `vmmctl
    guestinfo`, its log line reaches the VMM's log; vmtoolsd starts and registers its
    capabilities, and `vmmctl power-button --tools` (TCLO OS_Halt) makes it shut the guest
    down (vmm exits 0).

Usage: linux_hyper.py VMM VMMCTL DEFAULT_GUEST_DIR
  The guest comes from $VMM_GUEST_DIR, else DEFAULT_GUEST_DIR (scripts/build-guest.sh output).
  VMM_TEST_LOG=FILE copies the guest console to FILE; VMM_LINUX_TIMEOUT the boot's limit (s).
Exit 0 pass, 1 fail, 77 skip (no built guest)."""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from guest_shell import GuestError, LinuxGuest, guest_dir
from linux_storage import build_initrd, cpio_newc

SKIP = 77
MODULES = ["virtio_pci", "virtio_console", "virtio_rng"]
RNG_RATE = 2000  # rng.bytes_per_second
RNG_READ = 4096  # bytes the rate-limit check reads
PORTS = ["org.vmm.stdio", "org.vmm.file", "org.vmm.pty", "org.vmm.none"]


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(SKIP)


def must(g, cmd, timeout=120):
    rc, out = g.run(cmd, timeout=timeout)
    if rc != 0:
        raise GuestError(f"`{cmd}` exited {rc}: {out}")
    return out


# ---- open-vm-tools (Debian's package) in the guest ---------------------------------------

TOOLS_PKG = "open-vm-tools"
TOOLS_LIBDIR = "usr/lib/x86_64-linux-gnu"
TOOLS_FILES = ["usr/bin/vmtoolsd", "usr/bin/vmware-rpctool",
               TOOLS_LIBDIR + "/open-vm-tools/plugins/vmsvc/libpowerOps.so"]
# vmtoolsd's powerOps plugin runs /sbin/shutdown for OS_Halt and OS_Reboot (open-vm-tools
# lib/system/systemLinux.c); busybox has none, so the overlay's says so and does it.
SHUTDOWN = """#!/bin/sh
echo "VMM-GUEST-TOOLS-SHUTDOWN $*" >/dev/console
sync
case " $* " in *" -r "*) reboot -f ;; *) poweroff -f ;; esac
"""


def tools_deb(gdir):
    """Debian's open-vm-tools .deb in the guest build cache, downloaded with apt-get there the
    first time (as scripts/build-guest.sh fetches the kernels); (path, None) or (None, why)."""
    cache = os.path.join(gdir, "cache")
    debs = [f for f in os.listdir(cache) if f.startswith(TOOLS_PKG + "_") and f.endswith(".deb")]
    if not debs:
        r = subprocess.run(["apt-get", "download", "-qq", TOOLS_PKG], cwd=cache,
                           capture_output=True, text=True)
        debs = [f for f in os.listdir(cache)
                if f.startswith(TOOLS_PKG + "_") and f.endswith(".deb")]
        if not debs:
            return None, f"apt-get download {TOOLS_PKG} failed: {r.stderr.strip()[-300:]}"
    return os.path.join(cache, sorted(debs)[-1]), None


def tools_overlay(gdir, work):
    """A cpio archive with vmtoolsd (its powerOps plugin only), vmware-rpctool, libvmtools
    from the .deb and the shared libraries they load, resolved by the host's ldd against the
    same Debian release's libraries; (archive bytes, None) or (None, why)."""
    deb, why = tools_deb(gdir)
    if not deb:
        return None, why
    x = os.path.join(work, "vmtools")
    subprocess.run(["dpkg-deb", "-x", deb, x], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(x, TOOLS_LIBDIR))
    libs = {}
    for f in TOOLS_FILES:
        out = subprocess.run(["ldd", os.path.join(x, f)], env=env, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if "not found" in line:
                return None, f"{f} needs {line.split()[0]}, which this host lacks"
            m = re.search(r"(\S+) => (/\S+)|^\s*(/\S+) \(", line)
            if m:
                path = m.group(2) or m.group(3)
                name = os.path.basename(m.group(1) or path)
                libs[name] = path
    entries, dirs = [], set()

    def add(name, mode, data):
        parts = name.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, 0o40755, b""))
        entries.append((name, mode, data))

    for f in TOOLS_FILES:
        with open(os.path.join(x, f), "rb") as fh:
            add(f, 0o100755, fh.read())
    for name, path in sorted(libs.items()):
        with open(os.path.realpath(path), "rb") as fh:
            data = fh.read()
        if name.startswith("ld-linux"):
            add("lib64/" + name, 0o100755, data)
        else:
            add("lib/x86_64-linux-gnu/" + name, 0o100755, data)
    add("sbin/shutdown", 0o100755, SHUTDOWN.encode())
    # powerOps runs the state change's script first and stops when it cannot (tools.conf's
    # default scripts, open-vm-tools services/plugins/powerOps).
    for script in ("poweroff-vm-default", "reboot-vm-default"):
        add("etc/vmware-tools/" + script, 0o100755, b"#!/bin/sh\nexit 0\n")
    return cpio_newc(entries), None


def check_tools(g, api_path, vmmctl):
    """vmware-rpctool and vmtoolsd against the backdoor; the last step shuts the guest down."""
    out = must(g, "vmware-rpctool 'info-get guestinfo.demo'")
    if out.strip() != "hello from the spec":
        raise GuestError(f"info-get guestinfo.demo printed {out!r}")
    must(g, "vmware-rpctool 'info-set guestinfo.answer 42'")
    got = ctl(vmmctl, api_path, "guestinfo", "answer")
    if got != "42":
        raise GuestError(f"vmmctl guestinfo answer printed {got!r}")
    ctl(vmmctl, api_path, "guestinfo", "fromhost=set by vmmctl")
    out = must(g, "vmware-rpctool 'info-get guestinfo.fromhost'")
    if out.strip() != "set by vmmctl":
        raise GuestError(f"info-get guestinfo.fromhost printed {out!r}")
    rc, out = g.run("vmware-rpctool 'info-get guestinfo.nosuchkey'")
    if rc == 0:
        raise GuestError(f"info-get of a missing key succeeded: {out!r}")
    must(g, "vmware-rpctool 'log linux-hyper: a line from the guest'")
    print("ok: vmware-rpctool info-get reads the spec's and vmmctl's guestinfo, info-set is "
          "read back by vmmctl guestinfo, a missing key fails", flush=True)
    must(g, "(vmtoolsd >/tmp/vmtoolsd.log 2>&1 &)")
    deadline = time.monotonic() + 300
    while "the guest's tools (" not in g.stderr_text():
        if time.monotonic() > deadline:
            _, log = g.run("cat /tmp/vmtoolsd.log")
            raise GuestError(f"vmtoolsd did not start its TCLO loop: {log[-2000:]}")
        time.sleep(1)
    # The tools register their capabilities after "reset"; halt is refused until statechange.
    deadline = time.monotonic() + 300
    while True:
        r = subprocess.run([vmmctl, "--socket", api_path, "power-button", "--tools"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            break
        if "statechange" not in r.stderr or time.monotonic() > deadline:
            raise GuestError(f"vmmctl power-button --tools: {r.returncode} {r.stderr}")
        time.sleep(2)
    if "linux-hyper: a line from the guest" not in g.stderr_text():
        raise GuestError("the guest's log line is not in the VMM's log")
    g._read_until(b"VMM-GUEST-TOOLS-SHUTDOWN", 300)
    rc = g.wait_exit(300)
    if rc != 0:
        raise GuestError(f"vmm exited {rc} after the tools' shutdown")
    print("ok: vmtoolsd registered its capabilities; vmmctl power-button --tools (OS_Halt) "
          "made it shut the guest down", flush=True)


def ctl(vmmctl, api_path, *args):
    r = subprocess.run([vmmctl, "--socket", api_path] + list(args), capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise GuestError(f"vmmctl {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout.strip()


def check_identity(g):
    dmesg = must(g, "dmesg")
    if "Hypervisor detected: VMware" not in dmesg:
        raise GuestError(f"no 'Hypervisor detected: VMware' in dmesg:\n{dmesg[:3000]}")
    m = re.search(r"TSC freq read from hypervisor : ([0-9.]+) MHz", dmesg)
    if not m:
        raise GuestError(f"the kernel did not read the TSC frequency from the hypervisor:\n"
                         f"{dmesg[:3000]}")
    if "Marking clocksource 'tsc' as unstable" in dmesg:
        raise GuestError("the TSC clocksource was marked unstable")
    print(f"ok: Hypervisor detected: VMware, TSC {m.group(1)} MHz from the hypervisor",
          flush=True)


def rng_counter(vmmctl, api_path, name):
    out = ctl(vmmctl, api_path, "counters")
    m = re.search(rf"^virtio-rng0\s+{name}\s+(\d+)$", out, re.M)
    if not m:
        raise GuestError(f"no virtio-rng0 {name} in vmmctl counters:\n{out}")
    return int(m.group(1))


def check_rng(g, vmmctl):
    """/dev/hwrng is the device and reads RNG_READ bytes through the spec's rate limit: the
    reader never stalls (Linux 6.1's driver does after a short answer), requests waited for
    the budget, and the guest's own clock says they took the time the rate allows."""
    cur = must(g, "cat /sys/class/misc/hw_random/rng_current")
    if not cur.startswith("virtio_rng"):
        raise GuestError(f"rng_current is {cur!r}, not virtio_rng")
    out = must(g, "dd if=/dev/hwrng bs=64 count=4 2>/dev/null | od -An -v -tx1")
    rows = re.findall(r"^(?: [0-9a-f]{2})+$", out, re.M)
    data = bytes.fromhex("".join(rows).replace(" ", ""))
    if len(data) != 256 or len(set(data)) < 64:
        raise GuestError(f"/dev/hwrng gave {len(data)} bytes, {len(set(data))} distinct")
    throttled = rng_counter(vmmctl, g.api_path, "throttled")
    out = must(g, f"cut -d' ' -f1 /proc/uptime; dd if=/dev/hwrng bs=64 count={RNG_READ // 64} "
                  "2>/dev/null | wc -c; cut -d' ' -f1 /proc/uptime", timeout=300)
    t0, n, t1 = out.split()[-3:]
    took = float(t1) - float(t0)
    if int(n) != RNG_READ:
        raise GuestError(f"dd read {n} bytes of {RNG_READ} from /dev/hwrng")
    # At most a window's budget and one request beyond it can come without waiting.
    least = (RNG_READ - RNG_RATE // 10 - 64) / RNG_RATE
    if took < least:
        raise GuestError(f"{RNG_READ} bytes at {RNG_RATE} bytes/s took {took:.2f} s of guest "
                         f"time, less than {least:.2f} s")
    waited = rng_counter(vmmctl, g.api_path, "throttled") - throttled
    if waited <= 0:
        raise GuestError("no request waited for the rate limit's budget")
    print(f"ok: /dev/hwrng is virtio_rng; 256 varied bytes; {RNG_READ} bytes at "
          f"{RNG_RATE} bytes/s in {took:.2f} s of guest time, {waited} requests waited",
          flush=True)


def recv_until(s, needle, timeout, what):
    got, deadline = b"", time.monotonic() + timeout
    while needle not in got:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            raise GuestError(f"{what}: no {needle!r} within {timeout} s; read {got!r}")
        chunk = s.recv(4096) if isinstance(s, socket.socket) else os.read(s, 4096)
        if not chunk:
            raise GuestError(f"{what}: closed before {needle!r}; read {got!r}")
        got += chunk
    return got


def port_dev(g, name):
    out = must(g, f"grep -lx '{name}' /sys/class/virtio-ports/*/name")
    return "/dev/" + out.strip().split("/")[-2]


def check_consoles(g, hvc_sock, file_path):
    out = must(g, "for f in /sys/class/virtio-ports/*/name; do echo \"PORT=$(cat $f)\"; done")
    names = re.findall(r"^PORT=(\S+)$", out, re.M)
    if sorted(names) != sorted(PORTS):
        raise GuestError(f"virtio port names {names}, expected {PORTS}")
    # A getty on hvc0 (port 0, a console): a shell through the unix socket.
    must(g, "ls /sys/class/tty/hvc0 >/dev/null && (setsid getty -n -l /bin/sh 0 hvc0 &)")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(hvc_sock)
    try:
        time.sleep(1)
        s.sendall(b"echo hvc-$((6*7)) $(tty)\n")
        recv_until(s, b"hvc-42 /dev/hvc0", 120, "shell on hvc0")
    finally:
        s.close()
    print("ok: a getty on /dev/hvc0 gives a shell through the unix socket", flush=True)
    for name, text in (("org.vmm.stdio", "to-stdio"), ("org.vmm.file", "to-file"),
                       ("org.vmm.none", "to-none")):
        must(g, f"echo {text}-$((1+1)) > {port_dev(g, name)}")
    deadline = time.monotonic() + 30
    while "to-file-2" not in (open(file_path, errors="replace").read()
                              if os.path.exists(file_path) else ""):
        if time.monotonic() > deadline:
            raise GuestError(f"the file port's text is not in {file_path}")
        time.sleep(0.1)
    return names


def check_pty(g, pty_path):
    fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY)
    try:
        import termios
        import tty
        tty.setraw(fd, termios.TCSANOW)
        dev = port_dev(g, "org.vmm.pty")
        must(g, f"echo to-pty-$((2+1)) > {dev}")
        recv_until(fd, b"to-pty-3", 30, "pty port")
        # Host to guest: the guest reads one line from the port while the host types it.
        g.sock.sendall(f"head -n1 {dev} > /tmp/from-pty &\n".encode())
        time.sleep(2)
        os.write(fd, b"from-pty-4\n")
        deadline = time.monotonic() + 60
        while True:
            rc, out = g.run("cat /tmp/from-pty")
            if "from-pty-4" in out:
                break
            if time.monotonic() > deadline:
                raise GuestError(f"the guest did not read the host's line from {dev}: {out!r}")
            time.sleep(1)
    finally:
        os.close(fd)
    print("ok: named ports: stdio, file and pty carry the guest's text, the pty the host's "
          "back, none swallows it", flush=True)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    vmm, vmmctl, default_guest = sys.argv[1:4]
    gdir = guest_dir(default_guest)
    if not gdir:
        skip(f"no built guest in {os.environ.get('VMM_GUEST_DIR') or default_guest} "
             "(scripts/build-guest.sh DIR, or set VMM_GUEST_DIR)")
    work = tempfile.mkdtemp(prefix="vmm-linux-hyper-")
    initrd, release, nmods = build_initrd(gdir, work, MODULES)
    tools, tools_why = tools_overlay(gdir, work)
    if tools:
        with open(initrd, "ab") as f:
            f.write(b"\0" * (-f.tell() % 4))
            f.write(tools)
    hvc_sock = os.path.join(work, "hvc0.sock")
    file_path = os.path.join(work, "port-file.log")
    extra = {
        "guestinfo": {"demo": "hello from the spec"},
        "hypercall": {"vmware_backdoor": True, "identity": "vmware"},
        "rng": {"bytes_per_second": RNG_RATE},
        "consoles": [{"target": "unix", "path": hvc_sock},
                     {"name": "org.vmm.stdio", "target": "stdio"},
                     {"name": "org.vmm.file", "target": "file", "path": file_path},
                     {"name": "org.vmm.pty", "target": "pty"},
                     {"name": "org.vmm.none", "target": "none"}],
    }
    log = open(os.environ["VMM_TEST_LOG"], "w") if os.environ.get("VMM_TEST_LOG") else None
    print(f"kernel {release}, {nmods} modules, work dir {work}", flush=True)
    try:
        g = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd,
                       cmdline="console=ttyS0 panic=-1 no_timer_check", memory_mib=256,
                       vmm=vmm, accel="bt",
                       log=log, api=True, extra_spec=extra)
    except GuestError as e:
        shutil.rmtree(work, ignore_errors=True)
        fail(f"vmm did not start: {e}")
    try:
        run_checks(g, hvc_sock, file_path, tools, tools_why, vmmctl)
    except GuestError as e:
        tail = g.text()[-4000:]
        err = g.stderr_text()
        g.close()
        shutil.rmtree(work, ignore_errors=True)
        fail(f"{e}\n--- console tail ---\n{tail}\n--- vmm stderr ---\n{err[-3000:]}")
    finally:
        if g.proc.poll() is None:  # any other error: the vmm must not outlive the test
            g.proc.kill()
            g.proc.wait()
    err = g.stderr_text()
    g.close()
    shutil.rmtree(work, ignore_errors=True)
    # The stdio port's text is on vmm's stdout (the guest class sends it to the same log).
    if "to-stdio-2" not in err:
        fail(f"the stdio port's text is not on vmm's stdout: {err[-2000:]}")
    if "to-none-2" in err:
        fail("the none port's text reached vmm's output")
    print("ok: the stdio port's text reached vmm's stdout", flush=True)


def run_checks(g, hvc_sock, file_path, tools, tools_why, vmmctl):
    """Every check in order; the guest is off (or powering off) at the end."""
    boot = g.wait_ready(timeout=float(os.environ.get("VMM_LINUX_TIMEOUT", "900")))
    print(f"guest ready after {boot:.1f} s", flush=True)
    check_identity(g)
    must(g, "/vmmtest/load")
    check_rng(g, vmmctl)
    check_consoles(g, hvc_sock, file_path)
    m = re.search(r"consoles\[3\] \(org\.vmm\.pty\): (/dev/pts/\d+)", g.stderr_text())
    if not m:
        raise GuestError("vmm did not log the pty port's name")
    check_pty(g, m.group(1))
    if tools:
        check_tools(g, g.api_path, vmmctl)
    else:
        print(f"skip (counted): open-vm-tools: {tools_why}", flush=True)
        rc = g.poweroff(timeout=300)
        if rc != 0:
            raise GuestError(f"vmm exited {rc} after poweroff -f")


if __name__ == "__main__":
    main()
