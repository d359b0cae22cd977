#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Linux guest snapshotted and continued in new processes (docs/snapshots.md).

The default guest's generic kernel (its virtio_blk and ext4 modules loaded from a second
initramfs archive, as linux_storage.py does) formats a VMDK data disk, writes a known file and a
random one, then runs two loops in the background: one prints "n=<count>" on the console every
0.1 s, the other rewrites a file on the disk with fsync over and over (virtio-blk requests in
flight). vm.snapshot with "resume": false, the process killed, then `vmm run --restore` twice,
one process after the other:
  - the console is one unbroken count across the source and each restore (no gap, no repeat);
  - the shell answers; the files written before the snapshot are there with their sums;
  - the first restore stops the loops, syncs, unmounts and powers off; the host then checks
    the restore's VMDK chain (vmm-img check) and that the image the snapshot froze did not
    change while either restore ran.

Usage: linux_snapshot.py VMM VMM_IMG DEFAULT_GUEST_DIR
VMM_TEST_ACCEL picks the accelerator (bt by default here; kvm skips without KVM).
Exit 0 pass, 1 fail, 77 skip (no built guest)."""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

from api_client import Api, wait_socket
from guest_shell import GuestError, LinuxGuest, guest_dir
from harness import fail, require_accel, skip
import linux_storage

vmm, vmm_img, default_guest = sys.argv[1:4]
ACCEL = os.environ.get("VMM_TEST_ACCEL", "bt")
COUNT = re.compile(r"n=(\d+)\r?\n")
KNOWN = "issue 14: a file written before the snapshot\n"


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def must(g, cmd, timeout=120):
    """Run cmd; its output without the counter loop's lines (they come in between)."""
    rc, out = g.run(cmd, timeout)
    if rc != 0:
        raise GuestError(f"{cmd!r} failed ({rc}): {out[-800:]}")
    return "\n".join(ln for ln in out.splitlines() if not re.fullmatch(r"n=\d+", ln))


def counts(text):
    return [int(m.group(1)) for m in COUNT.finditer(text)]


def attach(args, work, name):
    """`vmm run` with args (a --restore) whose console and API this test opens: a LinuxGuest
    whose shell the restored kernel already runs (no boot)."""
    g = LinuxGuest.__new__(LinuxGuest)
    g.dir = tempfile.mkdtemp(prefix=f"vmm-{name}-", dir=work)
    g.sock_path = os.path.join(g.dir, "serial.sock")
    g.api_path = os.path.join(g.dir, "api.sock")
    g.transcript, g.log, g.seq = b"", None, 1000
    g.stderr_path = os.path.join(g.dir, "stderr.log")
    g.stderr_f = open(g.stderr_path, "w")
    g.proc = subprocess.Popen([vmm, "run", "--api-socket", g.api_path] + args +
                              ["--set", f"serial.path={g.sock_path}"],
                              stdin=subprocess.DEVNULL, stdout=g.stderr_f, stderr=g.stderr_f,
                              start_new_session=True)
    g.sock = g._connect(60)
    return g


def wait_counts(g, upto, timeout=300):
    deadline = time.monotonic() + timeout
    while not counts(g.text()) or counts(g.text())[-1] < upto:
        g._read_more(deadline, f"n={upto}")


def check_unbroken(src_text, g, what):
    vals = counts(src_text + g.text())
    for i, v in enumerate(vals):
        if v != vals[0] + i:
            fail(f"{what}: the count breaks at {v} where {vals[0] + i} was due "
                 f"(values around it: {vals[max(0, i - 3):i + 3]})")
    return vals


def main():
    require_accel() if ACCEL == "kvm" else None
    gdir = guest_dir(default_guest)
    if not gdir:
        skip(f"the default guest is not built in {default_guest} (scripts/build-guest.sh)")
    work = tempfile.mkdtemp(prefix="vmm-linux-snap-")
    initrd, _, _ = linux_storage.build_initrd(gdir, work)
    disk = os.path.join(work, "data.vmdk")
    r = subprocess.run([vmm_img, "create", "-f", "vmdk", disk, "64M"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        fail(f"vmm-img create: {r.stdout}{r.stderr}")
    src = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd,
                     cmdline="console=ttyS0 quiet", memory_mib=256, vmm=vmm, accel=ACCEL,
                     disks=[{"path": disk, "format": "vmdk", "bus": "virtio",
                             "serial": "SNAP-DATA"}], api=True)
    guests = [src]
    try:
        t0 = time.monotonic()
        src.wait_ready(1200)
        print(f"booted in {time.monotonic() - t0:.1f} s", flush=True)
        must(src, "/vmmtest/load")
        dev = must(src, "for d in /sys/block/vd*; do grep -qx SNAP-DATA $d/serial && "
                        "basename $d; done").strip()
        if not re.fullmatch(r"vd[a-z]", dev):
            fail(f"the data disk was not found: {dev!r}")
        must(src, f"mke2fs -q /dev/{dev} && mkdir -p /mnt && mount /dev/{dev} /mnt", 300)
        must(src, f"printf '{KNOWN.rstrip()}\\n' > /mnt/known.txt && "
                  "dd if=/dev/urandom of=/mnt/rand bs=64k count=16 2>/dev/null && sync")
        sums = must(src, "md5sum /mnt/known.txt /mnt/rand")
        must(src, "(i=0; while :; do i=$((i+1)); echo n=$i; sleep 0.1; done) & "
                  "echo $! > /tmp/counter.pid; "
                  "(while :; do dd if=/dev/urandom of=/mnt/busy bs=64k count=8 conv=fsync "
                  "2>/dev/null; done) & echo $! > /tmp/writer.pid")
        wait_counts(src, 20)
        snap = os.path.join(work, "snap")
        api = Api(src.api_path)
        t1 = time.monotonic()
        resp = api.put("vm.snapshot", {"destination_url": "file://" + snap, "resume": False},
                       timeout=600)
        if resp.status != 204:
            fail(f"vm.snapshot: {resp!r}\n{src.stderr_text()[-2000:]}")
        print(f"snapshot written in {time.monotonic() - t1:.2f} s "
              f"({os.stat(os.path.join(snap, 'memory')).st_blocks * 512 >> 20} MiB of "
              f"memory data)", flush=True)
        time.sleep(0.5)
        try:
            src._read_more(time.monotonic() + 0.5, "the last output")
        except GuestError:
            pass
        src_text = src.text()
        src_text = src_text[src_text.rfind("echo $! > /tmp/writer.pid"):]
        last = counts(src_text)[-1]
        src.close()
        frozen = sha(disk)

        for n, name in enumerate(("restore-1", "restore-2")):
            g = attach(["--restore", snap], work, name)
            guests.append(g)
            wait_counts(g, last + 15)
            vals = check_unbroken(src_text, g, name)
            print(f"{name}: the count goes on {last} -> {last + 1}... {vals[-1]}", flush=True)
            out = must(g, "md5sum /mnt/known.txt /mnt/rand")
            if out.split() != sums.split():
                fail(f"{name}: the files written before the snapshot differ:\n{out}\n"
                     f"was:\n{sums}")
            if must(g, "cat /mnt/known.txt").strip() != KNOWN.strip():
                fail(f"{name}: /mnt/known.txt lost its text")
            info = Api(g.api_path).get("vm.info").json()
            live = info["config"]["disks"][0]["path"]
            if n == 0:
                must(g, "kill $(cat /tmp/counter.pid) $(cat /tmp/writer.pid); sleep 1; sync; "
                        "umount /mnt", 300)
                rc = g.poweroff(300)
                if rc != 0:
                    fail(f"{name}: exit {rc} after poweroff -f: {g.stderr_text()[-1500:]}")
                r = subprocess.run([vmm_img, "check", live], capture_output=True, text=True)
                if r.returncode != 0:
                    fail(f"vmm-img check {live}: {r.stdout}{r.stderr}")
                print(f"{name}: powered off; {os.path.basename(live)} checks clean",
                      flush=True)
            g.close()
            if sha(disk) != frozen:
                fail(f"{name}: the image the snapshot froze changed")
        print("ok: the count, the shell and the files go on in two restores; the frozen "
              "image is unchanged")
    except GuestError as e:
        tail = "".join(g.text()[-1500:] for g in guests[-1:])
        fail(f"{e}\n--- console tail ---\n{tail}\n--- stderr ---\n"
             f"{guests[-1].stderr_text()[-2000:]}")
    finally:
        for g in guests:
            try:
                g.close()
            except Exception:
                pass


main()
