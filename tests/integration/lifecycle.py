#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lifecycle tests: each way a VM can end gives its own exit status and one-line message.
Usage: lifecycle.py VMM GUEST_DIR CASE"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import termios
import tty

from harness import ACCEL, VM, fail, flat_spec, require_accel

vmm, guests, case = sys.argv[1], sys.argv[2], sys.argv[3]
require_accel()


def guest(name):
    return f"{guests}/{name}.bin"


if case == "poweroff":
    vm = VM(vmm, flat_spec(guest("poweroff_acpi")))
    vm.wait_serial("poweroff via ACPI")
    vm.expect_exit(0, "powered off")
    assert "still running" not in vm.serial_text()
elif case == "reset-exit":
    vm = VM(vmm, flat_spec(guest("reset_cf9"), on_reset="exit"))
    vm.expect_exit(4, "reset")
elif case == "reset-i8042":
    vm = VM(vmm, flat_spec(guest("reset_i8042"), on_reset="exit"))
    vm.expect_exit(4, "reset")
elif case == "reset-restart":
    # The default on_reset is "restart": the guest boots again and again until we stop it.
    vm = VM(vmm, flat_spec(guest("reset_cf9")))
    vm.wait_serial("boot\n", count=3)
    vm.signal(signal.SIGTERM)
    vm.expect_exit(128 + signal.SIGTERM, "restarting")
elif case == "triple-fault":
    vm = VM(vmm, flat_spec(guest("triple_fault")))
    vm.wait_serial("triple fault next")
    vm.expect_exit(5, "triple fault")
    assert "!" not in vm.serial_text()
elif case in ("sigterm", "sigint"):
    sig = signal.SIGTERM if case == "sigterm" else signal.SIGINT
    vm = VM(vmm, flat_spec(guest("hang")))
    vm.wait_serial("ready")
    vm.signal(sig)
    vm.expect_exit(128 + sig, "stopped by", timeout=20)
elif case == "serial-stdio":
    # Guest input from stdin, output on stdout; the guest ends itself via the debug-exit port.
    vm = VM(vmm, flat_spec(guest("echo"), serial={"target": "stdio"}), stdin=subprocess.PIPE)
    out, _ = vm.proc.communicate(b"hello vmm q", timeout=60)
    if vm.proc.returncode != 0 or b"HELLO VMM" not in out:
        fail(f"exit {vm.proc.returncode}, stdout {out!r}, stderr {vm.stderr_text()}")
    print("ok: stdio round trip")
elif case == "serial-paste":
    # Far more input than the 16-byte FIFO holds, all at once: nothing may be lost or reordered.
    text = b"".join(b"line %04d of a long paste\n" % i for i in range(100))
    vm = VM(vmm, flat_spec(guest("echo"), serial={"target": "stdio"}), stdin=subprocess.PIPE)
    out, _ = vm.proc.communicate(text + b"q", timeout=120)
    if vm.proc.returncode != 0 or text.upper() not in out:
        fail(f"exit {vm.proc.returncode}, stdout {out[-300:]!r}, stderr {vm.stderr_text()}")
    print(f"ok: {len(text)} bytes pasted and echoed intact")
elif case == "serial-unix":
    path = os.path.join(tempfile.mkdtemp(prefix="vmm-sock-"), "serial.sock")
    vm = VM(vmm, flat_spec(guest("echo"), serial={"target": "unix", "path": path}))
    deadline = time.monotonic() + 20
    while True:  # the socket appears at its path only once it listens: never refused
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except FileNotFoundError:
            s.close()
            if time.monotonic() > deadline or vm.proc.poll() is not None:
                fail(f"no socket {path}; stderr {vm.stderr_text()}")
            time.sleep(0.05)
        except ConnectionRefusedError:
            fail(f"{path} exists but refuses connections; stderr {vm.stderr_text()}")
    s.settimeout(60)
    got = b""
    while b"echo ready" not in got:
        got += s.recv(4096) or fail(f"socket closed early: {got!r}")
    s.sendall(b"unix works q")
    while b"bye" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    vm.expect_exit(0)
    if b"UNIX WORKS" not in got:
        fail(f"socket got {got!r}")
elif case == "serial-unix-lag":
    # A client that does not read for a while: the output queues in the vmm (up to 64 KiB)
    # instead of being dropped when the socket buffer fills, and arrives in order.
    text = b"".join(b"line %05d of output the client reads late\n" % i for i in range(1400))
    path = os.path.join(tempfile.mkdtemp(prefix="vmm-sock-"), "serial.sock")
    vm = VM(vmm, flat_spec(guest("echo"), serial={"target": "unix", "path": path}))
    deadline = time.monotonic() + 20
    s = None
    while s is None:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            s = None
            if time.monotonic() > deadline or vm.proc.poll() is not None:
                fail(f"cannot connect to {path}; stderr {vm.stderr_text()}")
            time.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(text + b"q")
    time.sleep(0.5)  # the guest echoes (and may even finish) meanwhile; nobody reads
    s.settimeout(60)
    got = b""
    while b"bye" not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    vm.expect_exit(0)
    if text.upper() not in got:
        fail(f"lost output: got {len(got)} bytes for {len(text)}: {got[-200:]!r}")
    print(f"ok: {len(text)} bytes echoed to a late reader intact")
elif case == "serial-pty":
    vm = VM(vmm, flat_spec(guest("echo"), serial={"target": "pty"}))
    deadline = time.monotonic() + 20
    pty = None
    while pty is None:
        m = re.search(r"serial console on (/dev/pts/\d+)", vm.stderr_text())
        if m:
            pty = m.group(1)
        elif time.monotonic() > deadline or vm.proc.poll() is not None:
            fail(f"no pty announced; stderr {vm.stderr_text()}")
        else:
            time.sleep(0.05)
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would discard what the guest already sent
    got = b""
    while b"echo ready" not in got:
        got += os.read(fd, 4096)
    # What the guest echoes is read before the 'q' that ends it: when the vmm exits, closing
    # the master hangs the slave up and drops what it had not read yet.
    os.write(fd, b"pty works")
    while b"PTY WORKS" not in got:
        got += os.read(fd, 4096)
    os.write(fd, b" q")
    while b"bye" not in got:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    vm.expect_exit(0)
    if b"PTY WORKS" not in got:
        fail(f"pty got {got!r}")
elif case == "multiboot":
    d = tempfile.mkdtemp(prefix="vmm-mb-")
    for name, text in (("one.txt", "first module\n"), ("two.txt", "second module\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    spec = {"name": "mb", "memory_mib": 32, "accel": ACCEL,
            "boot": {"multiboot": f"{guests}/multiboot.elf", "cmdline": "hello multiboot",
                     "modules": [{"path": f"{d}/one.txt", "cmdline": "one arg"},
                                 {"path": f"{d}/two.txt"}]},
            "debug": {"exit_port": "0xf4"}}
    vm = VM(vmm, spec)
    vm.expect_exit(0)
    out = vm.serial_text()
    for want in ("cmdline: hello multiboot", "modules: 2", "module one arg = first module",
                 " = second module", "multiboot ok"):
        if want not in out:
            fail(f"serial lacks {want!r}:\n{out}")
    # mem_upper: KiB above 1 MiB, up to the first hole -- 31 MiB of a 32 MiB guest.
    m = re.search(r"mem_upper KiB: (\d+)", out)
    if not m or int(m.group(1)) != 31 * 1024:
        fail(f"mem_upper wrong: {out}")
elif case == "pci-disks":
    # The disks of a spec appear as PCI functions the guest finds by itself: a virtio-blk disk
    # per virtio entry, one AHCI controller for the SATA disk and the CD-ROM.
    d = tempfile.mkdtemp(prefix="vmm-disks-")
    for name, size in (("a.raw", 1 << 20), ("b.raw", 1 << 20), ("cd.iso", 32 * 2048)):
        with open(os.path.join(d, name), "wb") as f:
            f.truncate(size)
    spec = flat_spec(guest("pci_scan"), disks=[
        {"path": f"{d}/a.raw", "format": "raw", "bus": "virtio", "serial": "disk-a"},
        {"path": f"{d}/b.raw", "format": "raw", "bus": "ahci"},
        {"path": f"{d}/cd.iso", "format": "raw", "cdrom": True}])
    vm = VM(vmm, spec)
    vm.expect_exit(0)
    out = vm.serial_text()
    for want in ("pci 00 8086:1237 060000", "pci 01 8086:7000 060100",
                 "pci 02 1af4:1042 018000", "pci 03 8086:2922 010601", "pci scan done"):
        if want not in out:
            fail(f"serial lacks {want!r}:\n{out}")
    if out.count("pci ") != 5:
        fail(f"unexpected PCI functions:\n{out}")
elif case == "virtio-blk":
    # A tiny guest drives virtio-blk through a hand-built split queue: it writes sector 0
    # and reads sector 1; the host checks both ends, for a raw image and a VMDK one.
    d = tempfile.mkdtemp(prefix="vmm-vblk-")
    img_tool = os.path.join(os.path.dirname(vmm), "..", "vmdk", "tool", "vmm-img")
    pattern = bytes(i & 0xff for i in range(512))
    for fmt in ("raw", "vmdk"):
        path = os.path.join(d, "disk." + fmt)
        if fmt == "raw":
            with open(path, "wb") as f:
                f.truncate(1 << 20)
        else:
            subprocess.run([img_tool, "create", "-f", "vmdk", path, "1M"], check=True)
        # Sector 1 holds what the guest must read back.
        subprocess.run([img_tool, "convert", "-f", fmt, "-O", "raw", path, path + ".tmp"],
                       check=True)
        with open(path + ".tmp", "r+b") as f:
            f.seek(512)
            f.write(b"HOST SECTOR ONE".ljust(512, b"\0"))
        os.unlink(path)
        if fmt == "raw":
            os.rename(path + ".tmp", path)
        else:
            subprocess.run([img_tool, "convert", "-f", "raw", "-O", "vmdk", path + ".tmp",
                            path], check=True)
        vm = VM(vmm, flat_spec(guest("virtio_blk"),
                               disks=[{"path": path, "format": fmt, "bus": "virtio"}]))
        vm.expect_exit(0)
        if "read sector 1: HOST SECTOR ONE" not in vm.serial_text():
            fail(f"{fmt}: guest read wrong data:\n{vm.serial_text()}")
        if "msi-x vector 0x41 pending" not in vm.serial_text():
            fail(f"{fmt}: no MSI-X interrupt seen by the guest:\n{vm.serial_text()}")
        # Under KVM the three notifications arrive by ioeventfd and the write's completion is
        # an MSI-X message sent through an irqfd (the transport's counters, logged at the end).
        # The BT engine has no in-kernel fast paths: the device is called directly there.
        m = re.search(r"virtio-blk0: (\d+) queue notifications through ioeventfd, (\d+) "
                      r"interrupts through irqfd", vm.stderr_text())
        if ACCEL == "kvm" and (not m or int(m.group(1)) != 3 or int(m.group(2)) != 1):
            fail(f"{fmt}: eventfd paths not used: {vm.stderr_text()}")
        if ACCEL != "kvm" and m:
            fail(f"{fmt}: eventfd paths reported under {ACCEL}: {vm.stderr_text()}")
        # Then two reads with INTx, one interrupt each: the line is a resampling irqfd,
        # lowered at each EOI (a line left high would interrupt again and again). Each
        # assertion may be repeated once by the resample (virtio_blk.S says why).
        if "intx interrupts: 2\n" not in vm.serial_text():
            fail(f"{fmt}: wrong INTx interrupt count:\n{vm.serial_text()}")
        m = re.search(r"virtio-blk0: (\d+) INTx assertions through irqfd", vm.stderr_text())
        if ACCEL == "kvm" and (not m or not 2 <= int(m.group(1)) <= 4):
            fail(f"{fmt}: INTx not through an irqfd: {vm.stderr_text()}")
        out = os.path.join(d, "check.raw")
        subprocess.run([img_tool, "convert", "-f", fmt, "-O", "raw", path, out], check=True)
        with open(out, "rb") as f:
            sector0 = f.read(512)
        if sector0 != pattern:
            fail(f"{fmt}: sector 0 on the host is {sector0[:32]!r}...")
        os.unlink(out)
        if fmt == "vmdk":
            chk = subprocess.run([img_tool, "check", path], capture_output=True, text=True)
            if chk.returncode != 0:
                fail(f"vmm-img check after the guest's write: {chk.stdout}{chk.stderr}")
    print("ok: virtio-blk write and reads through a hand-built queue (ioeventfd notifications, "
          "MSI-X and INTx through irqfds), raw and vmdk")
elif case == "disk-hijack":
    # A guest must not choose how the host opens its disk (docs/security.md "Disk formats"):
    # it writes a VMDK descriptor naming secret.raw into sector 0 of its raw disk, which is
    # opened with format auto. The write is refused, and the next boot still opens the disk
    # as raw with secret.raw untouched. Once the user allows such writes (format raw), the
    # descriptor lands, and a boot with format auto then refuses to open the disk by probing.
    d = tempfile.mkdtemp(prefix="vmm-hijack-")
    disk, secret = os.path.join(d, "disk.raw"), os.path.join(d, "secret.raw")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    secret_data = bytes((i * 37) & 0xff for i in range(1 << 20))
    with open(secret, "wb") as f:
        f.write(secret_data)

    def boot(fmt=None):
        entry = {"path": disk, "bus": "virtio"}
        if fmt:
            entry["format"] = fmt
        return VM(vmm, flat_spec(guest("disk_hijack"), disks=[entry]))

    for n in (1, 2):
        vm = boot()
        vm.expect_exit(0, "format auto probed raw")
        if "descriptor write refused" not in vm.serial_text():
            fail(f"boot {n}: the guest's descriptor write was not refused:\n{vm.serial_text()}")
        if "write to sector 0 refused" not in vm.stderr_text():
            fail(f"boot {n}: the refusal was not logged:\n{vm.stderr_text()}")
        with open(disk, "rb") as f:
            if f.read(512) != bytes(512):
                fail(f"boot {n}: sector 0 of the disk changed")
        with open(secret, "rb") as f:
            if f.read() != secret_data:
                fail(f"boot {n}: secret.raw changed")
    vm = boot("raw")
    vm.expect_exit(0)
    if "descriptor written" not in vm.serial_text():
        fail(f"format raw: the write should be allowed:\n{vm.serial_text()}")
    vm = boot()
    vm.expect_exit(1, "descriptor file")
    with open(secret, "rb") as f:
        if f.read() != secret_data:
            fail("secret.raw changed")
    print("ok: the guest cannot turn its raw disk into a VMDK naming another file")
elif case == "bad-disk":
    # A malformed image is refused with a message naming the disk, before the guest runs.
    d = tempfile.mkdtemp(prefix="vmm-baddisk-")
    with open(os.path.join(d, "bad.vmdk"), "wb") as f:
        f.write(b"KDMV" + b"\xff" * 508)
    vm = VM(vmm, flat_spec(guest("pci_scan"),
                           disks=[{"path": f"{d}/bad.vmdk", "format": "vmdk"}]))
    vm.expect_exit(1, "disks[0]")
    if vm.serial_text():
        fail(f"the guest ran despite the bad disk: {vm.serial_text()!r}")
else:
    print(f"unknown case {case}")
    sys.exit(1)
