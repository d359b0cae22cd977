#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark of the display (docs/display.md): the frame rate a VNC client gets for full-screen
# updates, against QEMU (-accel tcg -vga std -vnc) measured in the same run when
# qemu-system-x86_64 is installed. Both run the default Linux guest's generic kernel under
# their binary translator with Linux's bochs DRM driver (1024x768x32); in the guest a loop
# writes two different full screens to /dev/fb0 in turn, and a client (tests/integration/
# rfb.py, raw encoding) asks for the next incremental update as soon as one arrives, for
# SECONDS_ seconds. Printed: updates a second, full-screen frames a second (pixels received /
# screen pixels), pixels a second, the guest's own full-screen writes a second, and the
# ratios to QEMU.
# Usage: scripts/bench/vnc.sh   (SECONDS_=20 by default)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
# Needs python3. A benchmark, not a test: it prints figures and ratios, it asserts nothing.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || { echo "vnc: no build directory ${BUILD:-$root/build}" >&2; exit 2; }
vmm=$build/src/vmm/vmm
guest=${VMM_GUEST_DIR:-$build/guest}
[ -e "$vmm" ] || { echo "missing $vmm (build first)" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1
exec python3 - "$root/tests/integration" "$vmm" "$guest" "${SECONDS_:-20}" <<'PY'
import os, shutil, sys, time
sys.path.insert(0, sys.argv[1])
import rfb
from guest_shell import LinuxGuest, guest_dir

vmm, gdefault, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
gdir = guest_dir(gdefault)
if gdir is None:
    sys.exit(f"vnc: the default guest is not built in {gdefault} (scripts/build-guest.sh)")
kernel, initrd = os.path.join(gdir, "vmlinuz-generic"), os.path.join(gdir, "initramfs.cpio.gz")
MODS = ["drm", "drm_kms_helper", "ttm/ttm", "drm_ttm_helper", "drm_vram_helper", "tiny/bochs"]


def must(g, cmd):
    status, out = g.run(cmd, 600)
    if status:
        raise SystemExit(f"vnc: guest: {cmd!r} exited {status}: {out}")
    return out


def measure(engine):
    port = rfb.free_port()
    # video=: the same mode on both (QEMU's EDID would otherwise make bochs pick 1280x800)
    cmdline = "console=ttyS0 panic=-1 no_timer_check video=1024x768"
    if engine == "vmm":
        g = LinuxGuest(kernel, initrd, cmdline=cmdline, vmm=vmm, accel="bt",
                       extra_spec={"display": {"type": "vnc", "listen": f"127.0.0.1:{port}"}})
    else:
        g = LinuxGuest(kernel, initrd, cmdline=cmdline, engine="qemu",
                       qemu_extra=["-vga", "std", "-vnc", f"127.0.0.1:{port - 5900}"])
    try:
        g.wait_ready(900)
        for m in MODS:
            must(g, f"insmod /lib/modules/$(uname -r)/kernel/drivers/gpu/drm/{m}.ko")
        size = must(g, "cat /sys/class/graphics/fb0/virtual_size").split(",")
        w, h = int(size[0]), int(size[1])
        n = w * h * 4
        must(g, f"head -c {n} /dev/zero >/tmp/a && "
                f"head -c {n} /dev/zero | tr '\\0' '\\377' >/tmp/b")
        must(g, "echo 0 >/sys/class/graphics/fbcon/cursor_blink")
        must(g, ": >/tmp/count")
        must(g, "( while :; do cat /tmp/a >/dev/fb0; cat /tmp/b >/dev/fb0; "
                "echo x >>/tmp/count; done >/dev/null 2>&1 & )")
        c = rfb.Client(("127.0.0.1", port), timeout=60)
        c.request()
        c.read_update()
        c.pixels, updates = 0, 0
        before = int(must(g, "wc -c </tmp/count"))
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            c.request(incremental=True)
            c.read_update()
            updates += 1
        dt = time.monotonic() - t0
        after = int(must(g, "wc -c </tmp/count"))
        c.close()
        screen = c.width * c.height
        return updates / dt, c.pixels / screen / dt, (after - before) / dt, \
            f"{c.width}x{c.height}", c.pixels / dt / 1e6
    finally:
        g.close()


print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
ours = measure("vmm")
print(f"vmm bt:   {ours[3]}  {ours[0]:7.1f} updates/s  {ours[1]:7.2f} full frames/s  "
      f"{ours[4]:6.2f} Mpixels/s  guest {ours[2]:6.2f} screens written/s", flush=True)
if shutil.which("qemu-system-x86_64"):
    peer = measure("qemu")
    print(f"qemu tcg: {peer[3]}  {peer[0]:7.1f} updates/s  {peer[1]:7.2f} full frames/s  "
          f"{peer[4]:6.2f} Mpixels/s  guest {peer[2]:6.2f} screens written/s", flush=True)
    print(f"ratio (ours / qemu): full frames/s {ours[1] / peer[1]:.2f}, "
          f"pixels/s {ours[4] / peer[4]:.2f}")
else:
    print("qemu-system-x86_64 is not installed: no peer figure")
print(f"load average after: {os.getloadavg()[0]:.1f}")
PY
