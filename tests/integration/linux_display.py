#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The display with the default Linux guest (scripts/build-guest.sh, the generic kernel, whose
DRM and PS/2 mouse modules are in the initramfs) under accel bt, VNC on a loopback port.

usage: linux_display.py VMM VMMCTL DEFAULT_GUEST_DIR

  1. vgacon: a line the guest writes to tty0 comes back from `vmmctl screen-text`.
  2. Linux's bochs DRM driver binds the card (1234:1111) and fbcon takes the console over:
     /proc/fb names bochs's framebuffer, the screen is no longer text (screen-text answers
     NotTextMode), the screenshot has the driver's resolution and changes when the guest
     writes to tty0.
  3. A real VNC client from Debian (gvnccapture, gvncviewer's) captures a frame equal to the
     PNG screenshot (checked with the test's own RFB client when gvnccapture is missing).
  4. Keys sent over VNC type a command into a shell on tty1 (the i8042's keyboard, atkbd);
     its output appears on the serial line.

Skips (77) when the guest is not built. Timeout per step: $VMM_LINUX_TIMEOUT (default 600)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngread  # noqa: E402
import rfb  # noqa: E402
from api_client import wait_socket  # noqa: E402
from guest_shell import GuestError, LinuxGuest, guest_dir  # noqa: E402
from harness import fail, skip  # noqa: E402

vmm, ctl, default_dir = sys.argv[1:4]
gdir = guest_dir(default_dir)
if gdir is None:
    skip(f"the default guest is not built in {default_dir} (scripts/build-guest.sh)")
timeout = float(os.environ.get("VMM_LINUX_TIMEOUT", "600"))
ROM = "/usr/share/seabios/vgabios-stdvga.bin"
DRM_MODULES = ["drm", "drm_kms_helper", "ttm/ttm", "drm_ttm_helper", "drm_vram_helper",
               "tiny/bochs"]


def vmmctl(g, *args, status=0):
    """status None: any exit status."""
    r = subprocess.run([ctl, "--socket", g.api_path, *args], capture_output=True, timeout=120)
    if status is not None and r.returncode != status:
        fail(f"vmmctl {' '.join(args)}: exit {r.returncode}, want {status}\n"
             f"stdout: {r.stdout!r}\nstderr: {r.stderr!r}")
    return r


def screenshot(g, name):
    path = os.path.join(g.dir, name)
    vmmctl(g, "screenshot", path)
    with open(path, "rb") as f:
        return pngread.read_rgb(f.read())


def must(g, command):
    status, out = g.run(command, timeout)
    if status != 0:
        fail(f"guest: {command!r} exited {status}: {out}")
    return out


def wait_screen_text(g, needle):
    deadline = time.monotonic() + timeout
    while True:
        text = vmmctl(g, "screen-text").stdout.decode()
        if needle in text:
            return
        if time.monotonic() > deadline:
            fail(f"{needle!r} not on the text screen:\n{text}")
        time.sleep(0.5)


def stable_frame(g, name):
    """Two screenshots in a row that agree (fbcon's cursor blink is off, but output may lag)."""
    last = screenshot(g, name)
    for _ in range(20):
        time.sleep(0.5)
        cur = screenshot(g, name)
        if cur == last:
            return cur
        last = cur
    fail("the screen keeps changing")


def capture_equals_screenshot(g, port):
    shot = stable_frame(g, "before.png")
    try:
        frame, who = rfb.gvnccapture(port, os.path.join(g.dir, "gvnccapture.png")), "gvnccapture"
    except rfb.RFBError as e:
        fail(str(e))
    if frame is None:
        print("skipped: gvnccapture is not installed (scripts/deps.sh test installs "
              "gvncviewer); the frame is checked with the test's own RFB client")
        c = rfb.Client(("127.0.0.1", port))
        c.request()
        c.read_update()
        frame, who = (c.width, c.height, c.rgb_rows()), "the RFB client"
        c.close()
    after = screenshot(g, "after.png")
    if frame != shot and frame != after:
        fail(f"{who}'s frame ({frame[0]}x{frame[1]}) differs from the PNG screenshot "
             f"({shot[0]}x{shot[1]})")
    print(f"ok: {who}'s frame equals the PNG screenshot ({shot[0]}x{shot[1]})")


def main():
    port = rfb.free_port()
    display = {"type": "vnc", "listen": f"127.0.0.1:{port}"}
    if os.path.exists(ROM):
        display["rom"] = ROM
    # no_timer_check: on a loaded host the userspace PIT's coalesced ticks fail Linux's I/O
    # APIC timer check (as in linux_boot.py)
    g = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), os.path.join(gdir, "initramfs.cpio.gz"),
                   cmdline="console=tty0 console=ttyS0 panic=-1 no_timer_check", vmm=vmm,
                   accel="bt", api=True, log=sys.stdout, extra_spec={"display": display})
    try:
        wait_socket(g.api_path, g.proc)
        g.wait_ready(timeout)

        # 1. vgacon, in the text mode the board set up
        must(g, "echo VMM-VGACON-LINE >/dev/tty0")
        wait_screen_text(g, "VMM-VGACON-LINE")
        print("ok: vgacon's text read back with vmmctl screen-text")

        # 2. bochs DRM and fbcon
        mods = "/lib/modules/$(uname -r)/kernel/drivers/gpu/drm"
        for m in DRM_MODULES:
            must(g, f"insmod {mods}/{m}.ko")
        fb = must(g, "cat /proc/fb")
        if "bochs" not in fb:
            fail(f"/proc/fb after loading bochs: {fb!r}\n{must(g, 'dmesg | tail -20')}")
        must(g, "echo 0 >/sys/class/graphics/fbcon/cursor_blink")
        # fbdev emulation over-allocates (CONFIG_DRM_FBDEV_OVERALLOC=100): the virtual size
        # may be twice the visible height.
        mode = must(g, "cat /sys/class/graphics/fb0/virtual_size").split(",")
        width, vheight = int(mode[0]), int(mode[1])
        deadline = time.monotonic() + timeout
        while vmmctl(g, "screen-text", status=None).returncode == 0:
            if time.monotonic() > deadline:
                fail("the card is still in text mode after bochs loaded")
            time.sleep(0.5)
        r = vmmctl(g, "screen-text", status=1)
        if b"NotTextMode" not in r.stderr:
            fail(f"screen-text in graphics mode: {r.stderr!r}")
        before = stable_frame(g, "fbcon0.png")
        if before[0] != width or before[1] not in (vheight, vheight // 2):
            fail(f"screenshot is {before[0]}x{before[1]}, fb0 is {width}x{vheight} (virtual)")
        must(g, "echo VMM-FBCON-LINE >/dev/tty0")
        after = stable_frame(g, "fbcon1.png")
        if after == before:
            fail("fbcon drew nothing for a line written to tty0")
        print(f"ok: bochs DRM at {before[0]}x{before[1]}, fbcon draws the console")

        # 3. a real VNC client's frame
        capture_equals_screenshot(g, port)

        # 4. keys over VNC into a shell on tty1
        must(g, "( setsid sh -c 'exec sh </dev/tty1 >/dev/tty1 2>&1' & )")
        time.sleep(1)
        client = rfb.Client(("127.0.0.1", port))
        client.request()
        client.read_update()
        start = len(g.transcript)
        client.type_text("echo VNC-TYPED-$((6*7)) >/dev/ttyS0\n")
        try:
            g._read_until(b"VNC-TYPED-42", timeout, start)
        except GuestError as e:
            fail(f"the command typed over VNC printed nothing on the serial line: {e}")
        client.close()
        print("ok: a command typed over VNC ran; its output came on the serial line")
        rc = g.poweroff(120)
        if rc != 0:
            fail(f"exit status {rc} after poweroff -f\n{g.stderr_text()}")
    except GuestError as e:
        fail(f"{e}\nstderr: {g.stderr_text()}")
    finally:
        g.close()


main()
