#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Debian 12 systemd guest under accel bt: Debian's generic kernel and its own initramfs
(initramfs-tools) mount an ext4 root from a VMDK on virtio-blk and start systemd, which brings
up udev, journald, logind and a serial getty; the test logs in as root on the console, checks
the system is up and logind watches the ACPI power button, and that systemd-networkd brought
both NICs up with an address from DHCP (a virtio-net and an e1000 NIC, each on user-mode
networking on a subnet of its own: libslirp's DHCP servers hand out 10.0.2.15 and 10.0.3.15),
then presses the power button through
the control API: systemd shuts down cleanly on its own and the VMM exits 0.

usage: linux_systemd.py VMM VMM_IMG GUEST_DIR

GUEST_DIR is built (or reused) by systemd_guest.sh. The guest runs on a VMDK delta (vmm-img
snapshot) over the built root, so the root stays as built. Skips (77) where the guest cannot be
built (not root, no debootstrap). Timeouts: $VMM_LINUX_TIMEOUT (default 1800) for the boot to
the login prompt and for the shutdown."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_client import Api, wait_socket  # noqa: E402
from guest_shell import (SYSTEMD_CMDLINE, SYSTEMD_LOGIN, GuestError, LinuxGuest,  # noqa: E402
                         systemd_boot_files, vmdk_delta)
from harness import fail, skip  # noqa: E402

vmm, vmm_img, gdir = sys.argv[1:4]
timeout = float(os.environ.get("VMM_LINUX_TIMEOUT", "1800"))
here = os.path.dirname(os.path.abspath(__file__))

r = subprocess.run(["sh", os.path.join(here, "systemd_guest.sh"), gdir, vmm_img])
if r.returncode == 77:
    skip("the systemd guest cannot be built on this host (see the lines above)")
if r.returncode != 0:
    fail(f"systemd_guest.sh failed with {r.returncode}")

work = tempfile.mkdtemp(prefix="vmm-systemd-guest-")
disk, base = vmdk_delta(os.path.join(gdir, "root.vmdk"), work, vmm_img)
base_before = os.stat(base).st_mtime_ns

# no_timer_check (SYSTEMD_CMDLINE): Linux's boot-time check that the PIT ticks through the I/O
# APIC counts ticks over ~80 ms of host time and panics below 5; on a loaded host the userspace
# PIT's edges, delivered by the main loop, coalesce and the check can fail (this guest's kernel,
# seen at load 16 on 2 cores). Linux skips the check by itself under VMware and KVM; the BT
# engine does not announce a hypervisor Linux knows yet (docs/architecture.md: the PIT and HPET
# reinject lost ticks now, but no boot has shown that this is what the failure needed).
kernel, initrd = systemd_boot_files(gdir)
g = LinuxGuest(kernel, initrd, cmdline=SYSTEMD_CMDLINE, memory_mib=512, vmm=vmm, accel="bt",
               disks=[{"path": disk, "format": "vmdk", "bus": "virtio"}], api=True,
               nics=[{"model": "virtio", "backend": "user"}, {"model": "e1000", "backend": "user"}],
               log=sys.stdout)
try:
    wait_socket(g.api_path, g.proc)
    api = Api(g.api_path)
    try:
        boot_s = g.login(SYSTEMD_LOGIN, timeout)
    except GuestError as e:
        fail(str(e))
    # The login prompt comes before every start-up job has finished (getty is not ordered
    # after them; on a loaded host networkd's DHCP and its wait-online may still run):
    # is-system-running --wait answers once the boot is over, bounded by the guest's timeout.
    status, out = g.run("timeout 100 systemctl is-system-running --wait; systemctl --failed "
                        "--no-legend --plain | cut -d' ' -f1", 120)
    lines = out.split("\n")
    if not lines or lines[0] not in ("running", "degraded"):
        fail(f"systemctl is-system-running: {out!r}")
    failed_units = [u for u in lines[1:] if u]
    status, out = g.run("findmnt -no SOURCE,FSTYPE / && systemctl is-active systemd-logind "
                        "systemd-udevd systemd-journald && journalctl -b -u systemd-logind "
                        "--no-pager | grep -c 'Watching system buttons.*Power Button'", 120)
    if status != 0 or "/dev/vda ext4" not in out:
        fail(f"the root, the daemons or logind's power button: {out!r}")
    # systemd-networkd: both links configured with their DHCP lease (networkctl's state column;
    # the lease may come a little after the login prompt on a slow CPU).
    deadline = time.monotonic() + 300
    while True:
        status, out = g.run("networkctl list --no-legend --no-pager; "
                            "networkctl status --no-pager 2>/dev/null | grep -A2 Address", 120)
        links = [ln.split() for ln in out.split("\n") if ln.split()[1:2] and
                 ln.split()[1].startswith("en")]
        if len(links) == 2 and all(ln[-1] == "configured" for ln in links) and \
                "10.0.2.15" in out and "10.0.3.15" in out:
            break
        if time.monotonic() > deadline:
            fail(f"systemd-networkd did not configure both NICs by DHCP: {out!r}")
        time.sleep(5)
    print(f"\n--- booted to login in {boot_s:.0f} s; failed units: {failed_units or 'none'}; "
          f"networkd: {[ln[1] for ln in links]} configured, 10.0.2.15 and 10.0.3.15 by DHCP")

    th, seen = api.follow_events()
    time.sleep(0.3)
    t1 = time.monotonic()
    mark = len(g.transcript)
    api.must("PUT", "vm.power-button", 204)
    rc = g.read_until_exit(timeout)
    took = time.monotonic() - t1
    th.join(10)
    shutdown = g.transcript[mark:].decode("latin-1")
    err = g.stderr_text()
    if rc != 0:
        fail(f"exit status {rc} after the power button, want 0\n{err}")
    for want in ("System Power Off", "reboot: Power down"):
        if want not in shutdown:
            fail(f"the guest's shutdown lacks {want!r}:\n{shutdown[-3000:]}")
    if "guest entered S5" not in err:
        fail(f"the VMM log lacks the guest's S5:\n{err}")
    if seen[:2] != ["power-button", "shutdown"]:
        fail(f"events seen by a long poll: {seen}, want power-button, shutdown")
    if os.stat(base).st_mtime_ns != base_before:
        fail("the base image changed under its delta")
    print(f"\nPASS: systemd guest booted to login in {boot_s:.0f} s, networkd brought both NICs "
          f"up by DHCP, power button -> systemd's "
          f"own clean power-off in {took:.1f} s, VMM exit 0; events {seen}")
finally:
    g.close()
    shutil.rmtree(work, ignore_errors=True)
