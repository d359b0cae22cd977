#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Linux guest moved by live migration to another VMM process while it writes memory and a
disk (docs/snapshots.md).

The default guest's generic kernel (its virtio_blk and ext4 modules loaded from a second
initramfs archive, as linux_storage.py does) formats a VMDK data disk, writes a known file,
then runs two loops in the background: linux_memwalk.c (built static on the host), which
rewrites every page of 32 MiB in order each round and checks each page still holds the last
round's values before it writes it (printing "w=ROUND"), and a loop rewriting a file on the
disk with fsync. The VM then moves to a VMM started empty (vm.receive-migration on it,
vm.send-migration on the source), over a unix socket (case unix) or over TCP between two
network namespaces this test creates, joined by a veth pair, one VMM in each (case tcp; traffic
only between them; skipped without root or `ip netns`):
  - the source exits 0; the destination's console goes on with the next round: no gap, no
    repeat, no BAD page;
  - the shell answers; the known file is there with its sum;
  - the loops are stopped, the disk unmounted, the guest powered off; vmm-img check passes.

Usage: linux_migrate.py VMM VMM_IMG DEFAULT_GUEST_DIR [unix|tcp]
VMM_TEST_ACCEL picks the accelerator (bt by default here; kvm skips without KVM).
Exit 0 pass, 1 fail, 77 skip (no built guest, no static C compiler)."""
import os
import re
import subprocess
import sys
import threading
import time

from api_client import Api, wait_log, wait_socket
from guest_shell import GuestError
from harness import fail, require_accel, skip
from linux_moving import (attach, boot_with_disk, check_unbroken, close_all, fail_with_tail,
                          must, read_to_end, values, wait_values)
import linux_storage
from netns import VethPair

vmm, vmm_img, default_guest = sys.argv[1:4]
CASE = sys.argv[4] if len(sys.argv) > 4 else "unix"
ACCEL = os.environ.get("VMM_TEST_ACCEL", "bt")
ROUND = re.compile(r"w=(\d+)\r?\n")
BAD = re.compile(r"BAD page.*")
KNOWN = "issue 14: a file written before the migration\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def add_memwalk(initrd, work):
    exe = os.path.join(work, "memwalk")
    r = subprocess.run(["gcc", "-static", "-O2", "-o", exe, os.path.join(HERE,
                                                                          "linux_memwalk.c")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"cannot build the static page walker: {r.stderr.strip()[-300:]}")
    with open(exe, "rb") as f:
        data = f.read()
    with open(initrd, "rb+") as f:
        f.seek(0, 2)
        f.write(b"\0" * (-f.tell() % 4))
        f.write(linux_storage.cpio_newc([("vmmtest/memwalk", 0o100755, data)]))


def main(net=None):
    """net: None (a unix socket) or the VethPair whose namespaces the two VMMs run in."""
    src_prefix = VethPair.prefix(net.ns_a) if net else ()
    dst_prefix = VethPair.prefix(net.ns_b) if net else ()
    work, src, disk = boot_with_disk(vmm, vmm_img, default_guest, ACCEL, "MIG-DATA",
                                     "vmm-linux-mig-", add_memwalk, run_prefix=src_prefix)
    guests = [src]
    try:
        must(src, f"printf '{KNOWN.rstrip()}\\n' > /mnt/known.txt && sync")
        known_sum = must(src, "md5sum /mnt/known.txt")
        must(src, "(/vmmtest/memwalk 32 100) & echo $! > /tmp/walker.pid; "
                  "(while :; do dd if=/dev/urandom of=/mnt/busy bs=64k count=8 conv=fsync "
                  "2>/dev/null; done) & echo $! > /tmp/writer.pid")
        wait_values(src, ROUND, 10, bad=BAD)
        dserial = os.path.join(work, "dst-serial.sock")
        dst = attach(vmm, [], work, "dst", serial=dserial, connect=False, prefix=dst_prefix)
        guests.append(dst)
        wait_socket(dst.api_path, dst.proc)
        url = f"tcp:{net.addr_b}:47322" if net else "unix:" + os.path.join(work, "mig.sock")
        result = {}

        def receive():
            result["r"] = Api(dst.api_path).put(
                "vm.receive-migration", {"receiver_url": url,
                                         "set": [f"serial.path={dserial}"]}, timeout=900)

        t = threading.Thread(target=receive)
        t.start()
        # The destination says so once it listens (on either kind of socket).
        if not wait_log(dst.stderr_text, "waiting for a migration", alive=t.is_alive):
            fail(f"the destination does not listen: {result.get('r')!r} "
                 f"{dst.stderr_text()[-1500:]}")
        t1 = time.monotonic()
        resp = Api(src.api_path).put("vm.send-migration", {"destination_url": url},
                                     timeout=900)
        took = time.monotonic() - t1
        if resp.status != 204:
            fail(f"vm.send-migration: {resp!r}\n{src.stderr_text()[-2000:]}\n"
                 f"{dst.stderr_text()[-2000:]}")
        t.join(120)
        if t.is_alive() or result["r"].status != 204:
            fail(f"vm.receive-migration: {result.get('r')!r}\n{dst.stderr_text()[-2000:]}")
        rc = src.wait_exit(60)
        if rc != 0:
            fail(f"the source exited {rc}: {src.stderr_text()[-2000:]}")
        for line in src.stderr_text().splitlines():
            if "migrated to" in line or "still dirty" in line:
                print(line.strip(), flush=True)
        read_to_end(src)  # everything the source printed, up to the end of file
        src_text = src.text()
        src_text = src_text[src_text.find("/tmp/walker.pid"):]
        last = values(ROUND, src_text)[-1]
        dst.sock = dst._connect(60)
        wait_values(dst, ROUND, last + 10, bad=BAD)
        vals = check_unbroken(ROUND, src_text, dst, "the page walker's rounds")
        print(f"{CASE}: moved in {took * 1000:.0f} ms; the walker goes on {last} -> {last + 1}... "
              f"{vals[-1]} with every page intact", flush=True)
        if must(dst, "md5sum /mnt/known.txt").split() != known_sum.split():
            fail("the file written before the migration changed")
        must(dst, "kill $(cat /tmp/walker.pid) $(cat /tmp/writer.pid); sleep 1; sync; "
                  "umount /mnt", 300)
        if BAD.search(dst.text()):
            fail(f"the page walker found a bad page: {BAD.search(dst.text()).group(0)}")
        rc = dst.poweroff(300)
        if rc != 0:
            fail(f"the destination exited {rc} after poweroff -f: {dst.stderr_text()[-1500:]}")
        r = subprocess.run([vmm_img, "check", disk], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"vmm-img check {disk}: {r.stdout}{r.stderr}")
        print("ok: the page walker, the disk loop, the shell and the files go on after the "
              "move; the disk checks clean")
    except GuestError as e:
        fail_with_tail(e, guests)
    finally:
        close_all(guests)


require_accel() if ACCEL == "kvm" else None
if CASE == "unix":
    main()
elif CASE == "tcp":
    with VethPair(net="10.214.8") as pair:
        main(pair)
else:
    fail(f"unknown case {CASE!r} (unix or tcp)")
