#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The display (docs/display.md) with tiny guests, read through vmmctl and VNC clients.

Cases:
  text      a headless display: the board's 80x25 text mode with the VGA BIOS's font; the
            guest's line comes back from `vmmctl screen-text` and is drawn (white on blue) in
            `vmmctl screenshot`'s PNG.
  rom       the same screen without display.rom: the text is still there, the glyphs are not.
  none      display type none: no card, vm.screenshot answers NoDisplay.
  vnc       VBE 640x480x32 on the linear framebuffer (mapped into the guest as RAM, redrawn
            from the dirty log); display.vram_mib 8 is what the guest reads from dispi; a
            real client from Debian (gvnccapture) captures a frame equal to the PNG
            screenshot; keys and pointer events sent over VNC arrive at the guest through the
            i8042 as set 1 scan codes and PS/2 mouse packets.
  vnc-unix  the VNC server on a unix socket (mode 0600): a frame equal to the screenshot.
  smp       a display with two vCPUs: the BSP moves the framebuffer BAR 200 times while the
            AP runs (each move seen at once: the new place is the framebuffer, the old one
            reads all ones; the AP ran meanwhile), then its text line is on the screen
            (screen-text).
  seabios   Debian's SeaBIOS runs the VGA BIOS from the card's expansion ROM: its banner and
            its "No bootable device" line (no disks) are on the text screen (screen-text).
  carry     video RAM travels with the VM (docs/snapshots.md): the text guest's screen (its
            line in planes 0-1, the VGA BIOS's font in plane 2) and the VBE guest's
            framebuffer are snapshotted, the process killed and restored in a new one, which
            is then migrated over a unix socket to a third: screen-text and the PNG
            screenshot in each equal the source's, and the guest never writes the screen
            again (it waits in hlt).
  redraw    a guest redrawing its framebuffer all the time, checking each pixel still holds
            the frame before, migrates (downtime_ms 1: the framebuffer's dirty log drives the
            rounds and the final copy); at the destination it finds no stale pixel for 32
            frames; paused, its screen is the frame being drawn and the one before it, and a
            fresh render (the paused VM snapshotted and restored in a new process) equals that
            screenshot.

usage: display.py VMM VMMCTL GUEST_DIR CASE"""
import os
import stat
import subprocess
import sys
import time

import pngread
import rfb
from api_client import ApiError, wait_listening, wait_socket
from harness import ACCEL, VM, fail, flat_spec, require_accel

vmm, ctl, guests, case = sys.argv[1:5]
require_accel()
ROM = "/usr/share/seabios/vgabios-stdvga.bin"
TIMEOUT = 600 if ACCEL == "kvm" else 60  # PVM's KVM emulates every instruction


def vmmctl(sock, *args, status=0):
    r = subprocess.run([ctl, "--socket", sock, *args], capture_output=True, timeout=120)
    if r.returncode != status:
        fail(f"vmmctl {' '.join(args)}: exit {r.returncode}, want {status}\n"
             f"stdout: {r.stdout!r}\nstderr: {r.stderr!r}")
    return r


def start(guest, display):
    """The VM and its control socket; relative paths in the spec are in the VM's folder."""
    spec = flat_spec(f"{guests}/{guest}.bin", control={"path": "api.sock"})
    if display is not None:
        spec["display"] = display
    vm = VM(vmm, spec)
    return vm, os.path.join(vm.dir, "api.sock")


def screenshot(vm, sock):
    path = os.path.join(vm.dir, "shot.png")
    vmmctl(sock, "screenshot", path)
    with open(path, "rb") as f:
        return pngread.read_rgb(f.read())


def pixel(rows, x, y):
    return tuple(rows[y][3 * x:3 * x + 3])


def text_screen(rom):
    display = {"type": "headless"}
    if rom:
        display["rom"] = ROM
    vm, sock = start("vga_text", display)
    try:
        vm.wait_serial("ready", TIMEOUT)
        lines = vmmctl(sock, "screen-text").stdout.decode().split("\n")
        if len(lines) != 26 or lines[2] != "VMM-VGA-TEXT \u263a ok" or any(
                lines[i] for i in (0, 1, 3)):
            fail(f"screen-text: {lines[:4]!r} ({len(lines)} lines)")
        w, h, rows = screenshot(vm, sock)
        if (w, h) != (720, 400):
            fail(f"screenshot is {w}x{h}, not 720x400")
        cells = [pixel(rows, x, y) for y in range(32, 48) for x in range(0, 9 * 12)]
        below = {pixel(rows, x, y) for y in range(48, 64) for x in range(720)}
        if below != {(0, 0, 0)}:
            fail(f"row 3 is not black: {sorted(below)[:4]}")
        if (0, 0, 0xaa) not in cells:
            fail("row 2 has no blue background")
        return (0xff, 0xff, 0xff) in cells
    finally:
        vm.kill()


def rgb_equal(a, b, what):
    if (a[0], a[1]) != (b[0], b[1]):
        fail(f"{what}: {b[0]}x{b[1]}, the screenshot {a[0]}x{a[1]}")
    for y in range(a[1]):
        if a[2][y] != b[2][y]:
            x = next(i for i in range(0, len(a[2][y]), 3) if a[2][y][i:i + 3] != b[2][y][i:i + 3])
            fail(f"{what}: differs from the screenshot at ({x // 3}, {y}): "
                 f"{b[2][y][x:x + 3].hex()} against {a[2][y][x:x + 3].hex()}")


def check_pattern(shot):
    w, h, rows = shot
    if (w, h) != (640, 480):
        fail(f"screenshot is {w}x{h}, not 640x480")
    for x, y in ((0, 0), (10, 100), (639, 479), (321, 255)):
        want = ((x ^ y) & 0xff, y & 0xff, x & 0xff)
        if pixel(rows, x, y) != want:
            fail(f"pixel ({x}, {y}) is {pixel(rows, x, y)}, the guest drew {want}")


def wait_for_server(address, vm):
    for _ in range(200):
        try:
            return rfb.Client(address)
        except OSError:
            if vm.proc.poll() is not None:
                fail(f"vmm exited: {vm.stderr_text()}")
            time.sleep(0.05)
    fail(f"no VNC server at {address}")


def vnc_input(vm, client):
    """Keys and a pointer move over VNC, echoed by the guest from the i8042."""
    client.type_text("a")
    client.key(0xFF52, True)  # Up: an 0xE0 key
    client.key(0xFF52, False)
    keys = "1E 9E E0 48 E0 C8 "
    vm.wait_serial(keys, TIMEOUT)
    client.pointer(0, 100, 100)  # the first position: no movement yet
    client.pointer(1, 105, 97)  # left button, 5 right, 3 up
    vm.wait_serial(keys + "m09 m05 m03 ", TIMEOUT)


def case_vnc():
    port = rfb.free_port()
    vm, sock = start("vga_vbe", {"type": "vnc", "listen": f"127.0.0.1:{port}", "vram_mib": 8})
    try:
        vm.wait_serial("vram=0080\n", TIMEOUT)
        vm.wait_serial("drawn", TIMEOUT)
        vm.wait_serial("mFA ", TIMEOUT)
        shot = screenshot(vm, sock)
        check_pattern(shot)
        client = wait_for_server(("127.0.0.1", port), vm)
        client.request()
        client.read_update()
        rgb_equal(shot, (client.width, client.height, client.rgb_rows()), "the RFB client")
        try:
            frame = rfb.gvnccapture(port, os.path.join(vm.dir, "gvnccapture.png"))
        except rfb.RFBError as e:
            fail(str(e))
        if frame:
            rgb_equal(shot, frame, "gvnccapture's frame")
            print("ok: gvnccapture's frame equals the screenshot")
        else:
            print("skipped: gvnccapture is not installed (scripts/deps.sh test installs "
                  "gvncviewer); the frame was checked with the test's own RFB client")
        vnc_input(vm, client)
        client.close()
        print("ok: keys and pointer over VNC reached the guest")
    finally:
        vm.kill()


def case_vnc_unix():
    vm, _ = start("vga_vbe", {"type": "vnc", "listen": "unix:vnc.sock"})
    path = os.path.join(vm.dir, "vnc.sock")
    sock = os.path.join(vm.dir, "api.sock")
    try:
        vm.wait_serial("vram=0100\n", TIMEOUT)
        vm.wait_serial("drawn", TIMEOUT)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode != 0o600:
            fail(f"{path} has mode {mode:o}, not 600")
        shot = screenshot(vm, sock)
        check_pattern(shot)
        client = wait_for_server(path, vm)
        client.request()
        client.read_update()
        rgb_equal(shot, (client.width, client.height, client.rgb_rows()), "the RFB client")
        client.close()
        print("ok: the frame over the unix socket equals the screenshot")
        vmmctl(sock, "shutdown-vmm")
        vm.wait_exit(TIMEOUT)
    finally:
        vm.kill()
    if os.path.exists(path):
        fail(f"{path} was left behind by a VMM that exited")


def case_seabios():
    seabios = "/usr/share/seabios/bios.bin"
    for f in (seabios, ROM):
        if not os.path.exists(f):
            print(f"SKIP: {f} is missing (Debian's seabios package, scripts/deps.sh test)")
            sys.exit(77)
    spec = {"name": "test", "memory_mib": 64, "accel": ACCEL, "boot": {"firmware": seabios},
            "control": {"path": "api.sock"}, "display": {"type": "headless", "rom": ROM}}
    vm = VM(vmm, spec)
    sock = os.path.join(vm.dir, "api.sock")
    try:
        wait_socket(sock, vm.proc)
        deadline = time.monotonic() + TIMEOUT
        text = ""
        while "No bootable device" not in text:
            if vm.proc.poll() is not None:
                fail(f"vmm exited with {vm.proc.returncode}: {vm.stderr_text()}")
            if time.monotonic() > deadline:
                fail(f"no 'No bootable device' on the text screen:\n{text}")
            time.sleep(0.5)
            r = subprocess.run([ctl, "--socket", sock, "screen-text"], capture_output=True,
                               timeout=120)
            text = r.stdout.decode() if r.returncode == 0 else ""
        lines = text.split("\n")
        if not lines[0].startswith("SeaBIOS (version "):
            fail(f"the first row is not SeaBIOS's banner: {lines[:3]!r}")
        if vm.serial_text():
            fail(f"SeaBIOS wrote to the serial line although the VM has a display: "
                 f"{vm.serial_text()!r}")
    finally:
        vm.kill()
    print(f"ok: {lines[0]!r} and 'No bootable device' on the VGA text screen")


def api_screenshot(v, path):
    """vmmctl screenshot of a snaptest.Vmm, decoded."""
    vmmctl(v.api_path, "screenshot", path)
    with open(path, "rb") as f:
        return pngread.read_rgb(f.read())


def migrate(src, name, tmp, downtime_ms=None):
    """Migrate the VM of src (a snaptest.Vmm) over a unix socket to a new one, returned once it
    runs there and src exited 0."""
    import threading

    import snaptest
    mig = snaptest.Vmm(vmm, [], name + "-mig", tmp)
    mig.wait_api()
    listen = os.path.join(tmp, name + "-mig.sock")
    result = {}

    def receive():
        result["r"] = mig.api.put(
            "vm.receive-migration",
            {"receiver_url": "unix:" + listen,
             "set": [f"serial.path={mig.serial_path}"]}, timeout=300)

    t = threading.Thread(target=receive)
    t.start()
    try:
        wait_listening(listen, mig.proc)
    except ApiError as e:
        fail(f"{name}: the destination does not listen: {e}\n{mig.stderr()}")
    body = {"destination_url": "unix:" + listen}
    if downtime_ms is not None:
        body["downtime_ms"] = downtime_ms
    r = src.api.put("vm.send-migration", body, timeout=300)
    t.join(60)
    if r.status != 204 or result.get("r") is None or result["r"].status != 204:
        fail(f"{name}: the migration: {r!r} {result.get('r')!r}\n{src.stderr()}\n"
             f"{mig.stderr()}")
    if src.wait_exit(60) != 0:
        fail(f"{name}: the source of the migration did not exit 0\n{src.stderr()}")
    return mig


def case_carry():
    import json
    import tempfile

    import snaptest
    if not os.path.exists(ROM):
        print(f"SKIP: {ROM} is missing (Debian's seabios package, scripts/deps.sh test)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="vmm-display-carry-")

    def shot_and_text(v, name, text):
        shot = api_screenshot(v, os.path.join(tmp, name + ".png"))
        return shot, vmmctl(v.api_path, "screen-text").stdout if text else None

    def same(v, name, want, text):
        shot, txt = shot_and_text(v, name, text)
        rgb_equal(want[0], shot, f"{name}'s screenshot")
        if txt != want[1]:
            fail(f"{name}'s screen-text differs: {txt[:300]!r}, the source's {want[1][:300]!r}")

    try:
        for guest, display, ready, text in (
                ("vga_text", {"type": "headless", "rom": ROM}, "ready", True),
                ("vga_vbe", {"type": "headless"}, "drawn", False)):
            spec = flat_spec(f"{guests}/{guest}.bin", display=display,
                             serial={"target": "unix", "path": "/nonexistent"})
            spec_path = os.path.join(tmp, guest + ".json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            src = snaptest.Vmm(vmm, [spec_path, "--set", "serial.path=@SERIAL@"],
                               guest + "-src", tmp)
            src.wait_api()
            c = src.open_console()
            deadline = time.monotonic() + TIMEOUT
            while ready not in c.text():
                if time.monotonic() > deadline or src.proc.poll() is not None:
                    fail(f"{guest}: no {ready!r}: {c.text()!r}\n{src.stderr()}")
                time.sleep(0.05)
            want = shot_and_text(src, guest + "-src", text)
            if text and "VMM-VGA-TEXT \u263a ok" not in want[1].decode():
                fail(f"{guest}: the source's screen-text: {want[1][:300]!r}")
            if not text:
                check_pattern(want[0])
            snap = os.path.join(tmp, guest + "-snap")
            r = src.api.put("vm.snapshot", {"destination_url": "file://" + snap,
                                            "resume": False}, timeout=300)
            if r.status != 204:
                fail(f"{guest}: vm.snapshot: {r!r}\n{src.stderr()}")
            src.kill()
            dst = snaptest.Vmm(vmm, ["--restore", snap, "--set", "serial.path=@SERIAL@"],
                               guest + "-dst", tmp)
            dst.wait_api()
            dst.open_console()
            same(dst, guest + "-restored", want, text)
            print(f"ok: {guest}: the restored VM's screen equals the source's")
            mig = migrate(dst, guest, tmp)
            same(mig, guest + "-migrated", want, text)
            if "video RAM" in src.stderr() + dst.stderr() + mig.stderr():
                fail(f"{guest}: a video RAM warning:\n{src.stderr()}{dst.stderr()}")
            mig.kill()
            print(f"ok: {guest}: the migrated VM's screen equals the source's")
    finally:
        snaptest.kill_all()


def redraw_frames(shot):
    """The frames of vga_redraw.S on a screen, as runs [frame, pixels] in pixel order; every
    pixel's blue must be its row."""
    w, h, rows = shot
    if (w, h) != (640, 480):
        fail(f"screenshot is {w}x{h}, not 640x480")
    runs = []
    for y in range(h):
        row = rows[y]
        for x in range(0, len(row), 3):
            if row[x + 2] != y & 0xff:
                fail(f"pixel ({x // 3}, {y}) is {row[x:x + 3].hex()}: not the guest's row {y}")
            k = row[x] << 8 | row[x + 1]
            if runs and runs[-1][0] == k:
                runs[-1][1] += 1
            else:
                runs.append([k, 1])
    return runs


def case_redraw():
    """A guest that redraws the framebuffer all the time, checking each pixel holds the frame
    before as it goes (vga_redraw.S), is migrated (the dirty log of the framebuffer BAR decides
    which pages each round and the final copy resend): at the destination it goes on for 32
    frames more without finding a stale pixel; paused, its screen holds frame k up to some pixel
    and k - 1 after it, and a fresh render (the paused VM snapshotted and restored in a new
    process) equals that screenshot."""
    import json
    import re
    import tempfile

    import snaptest
    tmp = tempfile.mkdtemp(prefix="vmm-display-redraw-")

    def wait_text(v, c, what, ok):
        deadline = time.monotonic() + TIMEOUT
        while not ok(c.text()):
            if "STALE" in c.text():
                fail(f"the guest found a stale pixel {what}: {c.text()!r}\n{v.stderr()}")
            if time.monotonic() > deadline or v.proc.poll() is not None:
                fail(f"{what}: {c.text()!r}\n{v.stderr()}")
            time.sleep(0.05)

    try:
        spec = flat_spec(f"{guests}/vga_redraw.bin", display={"type": "headless"},
                         serial={"target": "unix", "path": "/nonexistent"})
        spec_path = os.path.join(tmp, "redraw.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        src = snaptest.Vmm(vmm, [spec_path, "--set", "serial.path=@SERIAL@"], "redraw-src", tmp)
        src.wait_api()
        c = src.open_console()
        wait_text(src, c, "before the migration", lambda t: "drawn" in t)
        # 1 ms: the least the API takes, so rounds go on while the guest redraws
        mig = migrate(src, "redraw", tmp, downtime_ms=1)
        m = re.search(r"sent in (\d+) rounds \(([a-z ]+)\)", src.stderr())
        if not m:
            fail(f"no migration summary in the source's log:\n{src.stderr()}")
        if "STALE" in c.text():
            fail(f"the guest found a stale pixel before the switch: {c.text()!r}")
        mc = mig.open_console()
        wait_text(mig, mc, "after the migration", lambda t: t.count("f") >= 2)
        vmmctl(mig.api_path, "pause")
        if "STALE" in mc.text():
            fail(f"the guest found a stale pixel after the migration: {mc.text()!r}")
        shot = api_screenshot(mig, os.path.join(tmp, "migrated.png"))
        runs = redraw_frames(shot)
        k = runs[0][0]
        if k == 0 or len(runs) > 2 or (len(runs) == 2 and runs[1][0] != (k - 1) & 0xffff):
            fail(f"the migrated screen is not one frame and the one before: runs {runs[:8]!r}")
        snap = os.path.join(tmp, "snap")
        r = mig.api.put("vm.snapshot", {"destination_url": "file://" + snap, "resume": False},
                        timeout=300)
        if r.status != 204:
            fail(f"vm.snapshot: {r!r}\n{mig.stderr()}")
        mig.kill()
        fresh = snaptest.Vmm(vmm, ["--restore", snap, "--paused",
                                   "--set", "serial.path=@SERIAL@"], "redraw-fresh", tmp)
        fresh.wait_api()
        fresh.open_console()
        rgb_equal(shot, api_screenshot(fresh, os.path.join(tmp, "fresh.png")),
                  "the fresh render")
        fresh.kill()
        print(f"ok: migrated while redrawing ({m.group(1)} rounds, {m.group(2)}); no stale pixel "
              f"in 32 frames after; paused at frame {k} ({len(runs)} frame(s) on the screen); a "
              f"fresh render equals the screenshot")
    finally:
        snaptest.kill_all()

if case == "text":
    if not os.path.exists(ROM):
        print(f"SKIP: {ROM} is missing (Debian's seabios package, scripts/deps.sh test)")
        sys.exit(77)
    if not text_screen(rom=True):
        fail("row 2 has no white glyph pixels: the VGA BIOS's font was not used")
    print("ok: text mode with the VGA BIOS's font, read as text and as a PNG")
elif case == "rom":
    if not os.path.exists(ROM):
        print(f"SKIP: {ROM} is missing (Debian's seabios package, scripts/deps.sh test)")
        sys.exit(77)
    if text_screen(rom=False):
        fail("glyphs drawn without display.rom: the font came from somewhere else")
    if not text_screen(rom=True):
        fail("no glyphs with display.rom")
    print("ok: display.rom provides the font; without it the text is there but not drawn")
elif case == "none":
    vm, sock = start("vga_text", {"type": "none"})
    try:
        vm.wait_serial("ready", TIMEOUT)
        r = vmmctl(sock, "screenshot", os.path.join(vm.dir, "x.png"), status=1)
        if b"NoDisplay" not in r.stderr:
            fail(f"vmmctl screenshot without a display: {r.stderr!r}")
        vmmctl(sock, "screen-text", status=1)
    finally:
        vm.kill()
    print("ok: display type none has no card")
elif case == "smp":
    spec = flat_spec(f"{guests}/vga_smp.bin", control={"path": "api.sock"}, vcpus=2,
                     display={"type": "headless"})
    vm = VM(vmm, spec)
    sock = os.path.join(vm.dir, "api.sock")
    try:
        vm.wait_serial("ready", TIMEOUT)
        lines = vmmctl(sock, "screen-text").stdout.decode().split("\n")
        if len(lines) < 3 or lines[2] != "VMM-VGA-SMP ok":
            fail(f"screen-text with 2 vCPUs: {lines[:4]!r}\nserial: {vm.serial_text()!r}")
    finally:
        vm.kill()
    print(f"ok: {ACCEL} moves the framebuffer BAR while another vCPU runs")
elif case == "vnc":
    case_vnc()
elif case == "vnc-unix":
    case_vnc_unix()
elif case == "seabios":
    case_seabios()
elif case == "carry":
    case_carry()
elif case == "redraw":
    case_redraw()
else:
    fail(f"unknown case {case}")
