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
import os
import re
import subprocess
import sys
import time

from api_client import Api
from guest_shell import GuestError
from harness import fail, require_accel
from linux_moving import (attach, boot_with_disk, check_unbroken, close_all, fail_with_tail,
                          must, read_to_end, values, wait_values)

vmm, vmm_img, default_guest = sys.argv[1:4]
ACCEL = os.environ.get("VMM_TEST_ACCEL", "bt")
COUNT = re.compile(r"n=(\d+)\r?\n")
KNOWN = "issue 14: a file written before the snapshot\n"


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    require_accel() if ACCEL == "kvm" else None
    work, src, disk = boot_with_disk(vmm, vmm_img, default_guest, ACCEL, "SNAP-DATA",
                                     "vmm-linux-snap-")
    guests = [src]
    try:
        must(src, f"printf '{KNOWN.rstrip()}\\n' > /mnt/known.txt && "
                  "dd if=/dev/urandom of=/mnt/rand bs=64k count=16 2>/dev/null && sync")
        sums = must(src, "md5sum /mnt/known.txt /mnt/rand")
        must(src, "(i=0; while :; do i=$((i+1)); echo n=$i; sleep 0.1; done) & "
                  "echo $! > /tmp/counter.pid; "
                  "(while :; do dd if=/dev/urandom of=/mnt/busy bs=64k count=8 conv=fsync "
                  "2>/dev/null; done) & echo $! > /tmp/writer.pid")
        wait_values(src, COUNT, 20)
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
        read_to_end(src, 0.5)  # the VM is Paused: what it printed before is all there is
        src_text = src.text()
        src_text = src_text[src_text.rfind("echo $! > /tmp/writer.pid"):]
        last = values(COUNT, src_text)[-1]
        src.close()
        frozen = sha(disk)

        for n, name in enumerate(("restore-1", "restore-2")):
            g = attach(vmm, ["--restore", snap], work, name)
            guests.append(g)
            wait_values(g, COUNT, last + 15)
            vals = check_unbroken(COUNT, src_text, g, name)
            print(f"{name}: the count goes on {last} -> {last + 1}... {vals[-1]}", flush=True)
            out = must(g, "md5sum /mnt/known.txt /mnt/rand")
            if out.split() != sums.split():
                fail(f"{name}: the files written before the snapshot differ:\n{out}\n"
                     f"was:\n{sums}")
            # Checked in the guest: the counter's lines may come between cat's output and its
            # own newline on the console (a clean clone saw "lost its text" once).
            rc, out = g.run(f"grep -qxF '{KNOWN.strip()}' /mnt/known.txt")
            if rc != 0:
                fail(f"{name}: /mnt/known.txt lost its text (grep: {rc}): "
                     f"{must(g, 'od -c /mnt/known.txt | head -5')}")
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
        fail_with_tail(e, guests)
    finally:
        close_all(guests)


main()
