# SPDX-License-Identifier: MIT
"""Shared by linux_snapshot.py and linux_migrate.py (docs/snapshots.md): the default guest's
generic kernel with its storage modules (linux_storage.build_initrd) booted with a VMM that
serves its API, a VMDK data disk found by its serial, formatted ext2 and mounted at /mnt; a
LinuxGuest for a `vmm run` whose VM arrives running (a restore, a migration); a counter that
must go on unbroken across the move."""
import os
import re
import subprocess
import tempfile
import time

from guest_shell import GuestError, LinuxGuest, guest_dir
from harness import fail, skip
import linux_storage


def must(g, cmd, timeout=120, noise=r"[a-z]=\d+"):
    """Run cmd; its output without the background counter's lines (they come in between)."""
    rc, out = g.run(cmd, timeout)
    if rc != 0:
        raise GuestError(f"{cmd!r} failed ({rc}): {out[-800:]}")
    return "\n".join(ln for ln in out.splitlines() if not re.fullmatch(noise, ln))


def boot_with_disk(vmm, vmm_img, default_guest, accel, tag, prefix, add_initrd=None,
                   run_prefix=()):
    """Boot the guest with a 64 MiB VMDK data disk whose serial is tag, mounted at /mnt.
    add_initrd(initrd, work) may append to the initramfs first; run_prefix: a command the vmm
    runs under (ip netns exec NS). Returns (work folder, the guest, the disk's path)."""
    gdir = guest_dir(default_guest)
    if not gdir:
        skip(f"the default guest is not built in {default_guest} (scripts/build-guest.sh)")
    work = tempfile.mkdtemp(prefix=prefix)
    initrd, _, _ = linux_storage.build_initrd(gdir, work)
    if add_initrd:
        add_initrd(initrd, work)
    disk = os.path.join(work, "data.vmdk")
    r = subprocess.run([vmm_img, "create", "-f", "vmdk", disk, "64M"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        fail(f"vmm-img create: {r.stdout}{r.stderr}")
    # no_timer_check: see linux_boot.py (a loaded host's coalesced PIT ticks fail the check).
    g = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd,
                   cmdline="console=ttyS0 quiet no_timer_check", memory_mib=256, vmm=vmm,
                   accel=accel,
                   disks=[{"path": disk, "format": "vmdk", "bus": "virtio", "serial": tag}],
                   api=True, prefix=run_prefix)
    try:
        t0 = time.monotonic()
        g.wait_ready(1200)
        print(f"booted in {time.monotonic() - t0:.1f} s", flush=True)
        must(g, "/vmmtest/load")
        dev = must(g, f"for d in /sys/block/vd*; do grep -qx {tag} $d/serial && "
                      "basename $d; done").strip()
        if not re.fullmatch(r"vd[a-z]", dev):
            fail(f"the data disk was not found: {dev!r}")
        must(g, f"mke2fs -q /dev/{dev} && mkdir -p /mnt && mount /dev/{dev} /mnt", 300)
    except GuestError as e:
        g.close()
        fail(f"{e}\n--- console tail ---\n{g.text()[-1500:]}")
    return work, g, disk


def attach(vmm, args, work, name, serial=None, connect=True, prefix=()):
    """`vmm run --api-socket` with args whose VM arrives running: a LinuxGuest whose shell the
    kernel already runs (no boot). serial: the console socket's path (default: in its folder,
    given with --set); connect: open the console now (else set g.sock later with
    g._connect); prefix: a command the vmm runs under (ip netns exec NS)."""
    g = LinuxGuest.__new__(LinuxGuest)
    g.dir = tempfile.mkdtemp(prefix=f"vmm-{name}-", dir=work)
    g.sock_path = serial or os.path.join(g.dir, "serial.sock")
    g.api_path = os.path.join(g.dir, "api.sock")
    g.transcript, g.log, g.seq, g.sock = b"", None, 1000, None
    g.stderr_path = os.path.join(g.dir, "stderr.log")
    g.stderr_f = open(g.stderr_path, "w")
    sets = [] if serial else ["--set", f"serial.path={g.sock_path}"]
    g.proc = subprocess.Popen(list(prefix) + [vmm, "run", "--api-socket", g.api_path] + args +
                              sets,
                              stdin=subprocess.DEVNULL, stdout=g.stderr_f, stderr=g.stderr_f,
                              start_new_session=True)
    if connect:
        g.sock = g._connect(60)
    return g


def values(pattern, text):
    return [int(m.group(1)) for m in pattern.finditer(text)]


def wait_values(g, pattern, upto, timeout=300, bad=None):
    """Read g's console until pattern's last value is upto or more; bad: a pattern that fails
    the test when it shows."""
    deadline = time.monotonic() + timeout
    while not values(pattern, g.text()) or values(pattern, g.text())[-1] < upto:
        if bad and bad.search(g.text()):
            fail(f"the guest printed {bad.search(g.text()).group(0)!r}")
        g._read_more(deadline, f"value {upto}")


def check_unbroken(pattern, before, g, what):
    """The values in before (the source's text) and then g's console go up by one."""
    vals = values(pattern, before + g.text())
    for i, v in enumerate(vals):
        if v != vals[0] + i:
            fail(f"{what}: the count breaks at {v} where {vals[0] + i} was due "
                 f"(values around it: {vals[max(0, i - 3):i + 3]})")
    return vals


def read_to_end(g, timeout=30):
    """Everything an ended VMM's console still holds, up to the end of file."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            g._read_more(deadline, "the end of the console")
    except GuestError:
        pass


def fail_with_tail(e, guests):
    """Fail the test on e with the last guest's console and stderr tails."""
    tail = "".join(g.text()[-1500:] for g in guests[-1:])
    fail(f"{e}\n--- console tail ---\n{tail}\n--- stderr ---\n"
         f"{guests[-1].stderr_text()[-2000:] if guests else ''}")


def close_all(guests):
    """Close every guest (each VMM killed if it still runs), whatever the others do."""
    for g in guests:
        try:
            g.close()
        except Exception:
            pass
