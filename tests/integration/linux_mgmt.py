#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The management plane with the default Linux guest (scripts/build-guest.sh) under accel bt,
driven through the control API.

usage: linux_mgmt.py VMM DEFAULT_GUEST_DIR CASE

  power-button  generic kernel: vm.power-button; Linux's ACPI button driver reports it, busybox
                acpid runs its PWRF action (VMM-GUEST-POWERBUTTON, poweroff -f), the guest
                powers off and the VMM exits 0; the event log showed power-button then shutdown
  reboot        cloud kernel: three vm.reboot calls and three `reboot -f` in the guest, each
                followed by the guest's marker and a working shell; the events say who asked
                (api, guest); vm.counters counts six reboots; then poweroff, exit 0
  pause         cloud kernel: the guest's clock does not jump over a pause: /proc/uptime grows
                by less than the host's time minus the time spent paused
  panic         generic kernel: a kernel panic (sysrq c) is reported through pvpanic as a
                "panic" event; with panic=-1 the guest then resets and boots again
  s3            generic kernel, 2 vCPUs: `echo mem > /sys/power/state` with a 3 s RTC
                wakealarm enters ACPI S3 and wakes at the FACS waking vector (dmesg says
                both), a shell answers after it with both CPUs online again; the events say
                suspended then woken
  s3-seabios    the same through SeaBIOS (Debian's bios.bin booting boot.kernel from fw_cfg;
                1 vCPU): the VMM offers S3 with firmware; on the wake the boot vCPU starts at
                the reset vector with RAM kept, SeaBIOS finds the CMOS shutdown status 0xfe
                and jumps to the FACS waking vector (its debug log says both), Linux resumes

Skips (77) when the guest is not built. Timeouts: $VMM_LINUX_TIMEOUT (default 600) per boot."""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_client import Api, wait_socket  # noqa: E402
from guest_shell import MARKER, GuestError, LinuxGuest, guest_dir  # noqa: E402
from harness import fail, skip  # noqa: E402

vmm, default_dir, case = sys.argv[1:4]
gdir = guest_dir(default_dir)
if gdir is None:
    skip(f"the default guest is not built in {default_dir} (scripts/build-guest.sh)")
timeout = float(os.environ.get("VMM_LINUX_TIMEOUT", "600"))
initrd = os.path.join(gdir, "initramfs.cpio.gz")


def boot(flavour, cmdline="console=ttyS0 panic=-1 no_timer_check", vcpus=1, extra_spec=None):
    g = LinuxGuest(os.path.join(gdir, f"vmlinuz-{flavour}"), initrd, cmdline=cmdline,
                   vmm=vmm, accel="bt", api=True, log=sys.stdout, vcpus=vcpus,
                   extra_spec=extra_spec)
    wait_socket(g.api_path, g.proc)
    return g, Api(g.api_path)


def wait_markers(g, n):
    """Wait until the marker has appeared n times, then for the shell's prompt after it."""
    deadline = time.monotonic() + timeout
    while g.text().count(MARKER) < n:
        g._read_more(deadline, f"{MARKER} x{n}")
    g._read_until(b"# ", timeout, g.transcript.rfind(MARKER.encode()))


def poweroff(g):
    """`poweroff -f` in the guest: the VMM must exit 0."""
    rc = g.poweroff(120)
    if rc != 0:
        fail(f"exit status {rc} after poweroff -f\n{g.stderr_text()}")


def events(api, since=0):
    return [(e["event"], e["properties"].get("reason")) for e in
            api.get(f"vm.events?since={since}&timeout=0").json()["events"]]


def case_power_button():
    g, api = boot("generic")
    try:
        g.wait_ready(timeout)
        status, out = g.run("grep -q 'Power Button' /proc/bus/input/devices && pidof acpid",
                            120)
        if status != 0:
            fail(f"the guest has no power button input device or no acpid: {out!r}")
        th, seen = api.follow_events()
        time.sleep(0.3)
        t0 = time.monotonic()
        api.must("PUT", "vm.power-button", 204)
        rc = g.wait_exit(120)
        took = time.monotonic() - t0
        th.join(10)
        err = g.stderr_text()
        if rc != 0:
            fail(f"exit status {rc} after the power button, want 0\n{err}")
        if "power button pressed" not in err or "guest entered S5" not in err:
            fail(f"the VMM log lacks the power button or the guest's S5:\n{err}")
        if seen[:2] != ["power-button", "shutdown"]:
            fail(f"events seen by a long poll: {seen}, want power-button, shutdown")
        print(f"\nPASS: power button -> clean power-off, VMM exit 0 after {took:.2f} s; "
              f"events {seen}")
    finally:
        g.close()


def case_reboot():
    g, api = boot("cloud")
    try:
        wait_markers(g, 1)
        for who in ("API", "guest"):
            for i in range(3):
                seen = g.text().count(MARKER)
                if who == "API":
                    api.must("PUT", "vm.reboot", 204)
                else:
                    g.sock.sendall(b"reboot -f\n")
                wait_markers(g, seen + 1)
                status, out = g.run("echo alive-$((40 + 2))", timeout)
                if status != 0 or "alive-42" not in out:
                    fail(f"no shell after {who} reboot {i + 1}: {out!r}")
                print(f"\n--- {who} reboot {i + 1}: marker and shell")
        evs = events(api)
        reboots = [r for e, r in evs if e == "rebooted"]
        if reboots != ["api"] * 3 + ["guest"] * 3:
            fail(f"rebooted events: {reboots} (all: {evs})")
        c = api.get("vm.counters").json()
        if c["vm"]["reboots"] != 6:
            fail(f"counters: {c['vm']}")
        if api.state() != "Running":
            fail(f"state {api.state()}")
        poweroff(g)
        print("\nPASS: 3 API reboots and 3 guest reboots in place, each to a shell")
    finally:
        g.close()


def uptime(g):
    status, out = g.run("cat /proc/uptime", timeout)
    if status != 0:
        fail(f"cat /proc/uptime: {out!r}")
    return float(out.split()[0])


def case_pause():
    g, api = boot("cloud")
    # The guest's clock complaints; a watchdog's "read-back delay" is the host not running the
    # vCPU between two reads (load), not a skew a pause would cause.
    complaints = ("dmesg | grep -v 'read-back delay' | "
                  "grep -ci 'clocksource.*unstable\\|watchdog: BUG\\|rcu.*stall'")
    try:
        g.wait_ready(timeout)
        _, before = g.run(complaints, timeout)
        # Host times that bound the guest's: h1 before the guest reads u1, h2 after the test
        # has u2, and the pause at least from vm.pause's answer (the clock froze before it)
        # to the vm.resume request (it thaws after). Taken the other way round (h1 after u1
        # arrived, the pause up to vm.resume's answer), a loaded host's delays in answering
        # made the guest's clock look ahead of the host's by more than the margin.
        h1 = time.monotonic()
        u1 = uptime(g)
        api.must("PUT", "vm.pause", 204)
        paused_at = time.monotonic()
        g.sock.sendall(b"echo typed-while-paused\n")  # waits in the UART for the guest
        time.sleep(4)
        paused = time.monotonic() - paused_at
        api.must("PUT", "vm.resume", 204)
        g._read_until(b"typed-while-paused", timeout)
        u2 = uptime(g)
        h2 = time.monotonic()
        guest, host = u2 - u1, h2 - h1
        print(f"\n--- guest uptime grew {guest:.2f} s over {host:.2f} s of host time, "
              f"{paused:.2f} s of it paused")
        if guest > host - paused + 0.5:
            fail(f"the guest's clock jumped over the pause: +{guest:.2f} s in {host:.2f} s "
                 f"with {paused:.2f} s paused")
        if guest <= 0:
            fail(f"the guest's clock did not move: {u1} -> {u2}")
        _, after = g.run(complaints, timeout)
        if after.split()[-1] != before.split()[-1]:
            status, out = g.run("dmesg | tail -20", timeout)
            fail(f"the guest complains about its clock after the pause:\n{out}")
        poweroff(g)
        print("\nPASS: virtual time stood still while paused")
    finally:
        g.close()


def case_panic():
    g, api = boot("generic")
    try:
        g.wait_ready(timeout)
        status, out = g.run("grep -q pvpanic_mmio /proc/modules && "
                            "ls /sys/bus/platform/drivers/pvpanic-mmio | grep -q QEMU0001", 120)
        if status != 0:
            fail(f"pvpanic-mmio is not bound to a QEMU0001 device in the guest: {out!r}")
        g.sock.sendall(b"echo c > /proc/sysrq-trigger\n")
        e = api.wait_event("panic", timeout=120)
        if e["properties"]["reason"] != "guest":
            fail(f"panic event: {e}")
        wait_markers(g, 2)  # panic=-1: the guest resets at once and boots again
        evs = events(api)
        if ("rebooted", "guest") not in evs:
            fail(f"no guest reboot after the panic: {evs}")
        poweroff(g)
        print("\nPASS: the guest's panic reached the event log through pvpanic")
    finally:
        g.close()


def s3_cycle(g, api, cpus):
    """echo mem with a 3 s RTC wakealarm: S3 entered and left, a shell and the CPUs after it."""
    status, out = g.run("cat /sys/power/state /sys/power/mem_sleep", 120)
    if status != 0 or "mem" not in out or "[deep]" not in out:
        fail(f"the guest offers no S3 (mem, deep): {out!r}")
    # busybox has no rtcwake: the RTC class's wakealarm is what it sets
    status, out = g.run("echo +3 > /sys/class/rtc/rtc0/wakealarm && "
                        "echo mem > /sys/power/state; echo slept=$?", timeout)
    if "slept=0" not in out:
        fail(f"echo mem > /sys/power/state failed: {out!r}\n{g.stderr_text()}")
    status, dmesg = g.run("dmesg | grep -E 'ACPI: PM|PM: suspend'", 120)
    for want in ("Preparing to enter system sleep state S3",
                 "Waking up from system sleep state S3", "PM: suspend exit"):
        if want not in dmesg:
            fail(f"dmesg lacks {want!r}: {dmesg!r}")
    status, out = g.run("echo alive-$((40 + 2)); cat /sys/devices/system/cpu/online", 120)
    if status != 0 or "alive-42" not in out or cpus not in out:
        fail(f"no shell or not every CPU ({cpus}) after the resume: {out!r}")
    evs = events(api)
    names = [e for e, _ in evs if e in ("suspended", "woken")]
    if names != ["suspended", "woken"]:
        fail(f"events {evs}: want suspended then woken")
    err = g.stderr_text()
    if "guest entered S3" not in err or "woke from ACPI S3" not in err:
        fail(f"the VMM log lacks the S3 sleep or the wake:\n{err}")


def case_s3():
    g, api = boot("generic", vcpus=2)
    try:
        g.wait_ready(timeout)
        s3_cycle(g, api, "0-1")
        poweroff(g)
        print("\nPASS: echo mem > /sys/power/state with a 3 s RTC wakealarm: S3 entered and "
              "left (dmesg), a shell and both CPUs after it; events suspended, woken")
    finally:
        g.close()


SEABIOS = "/usr/share/seabios/bios.bin"


def case_s3_seabios():
    if not os.path.exists(SEABIOS):
        skip(f"{SEABIOS} is missing (scripts/deps.sh test installs seabios)")
    cmdline = "console=ttyS0 panic=-1 no_timer_check"
    work = tempfile.mkdtemp(prefix="vmm-s3-seabios-")
    fwlog = os.path.join(work, "firmware.log")
    boot_spec = {"firmware": SEABIOS, "kernel": os.path.join(gdir, "vmlinuz-generic"),
                 "initrd": initrd, "cmdline": cmdline}
    g, api = boot("generic", cmdline=cmdline,
                  extra_spec={"boot": boot_spec, "debug": {"firmware_log": fwlog}})
    try:
        g.wait_ready(timeout)
        s3_cycle(g, api, "0")
        with open(fwlog, errors="replace") as f:
            text = f.read()
        # SeaBIOS's POST once, then its resume path: the shutdown status the VMM left in
        # CMOS (0xfe = 254) and the waking vector Linux wrote into the VMM's FACS
        for want in ("In resume (status=254)", "Jump to resume vector"):
            if want not in text:
                fail(f"the firmware log lacks {want!r}:\n{text[-3000:]}")
        posts = text.count("Found QEMU fw_cfg")
        if posts != 1 or text.find("Found QEMU fw_cfg") > text.find("In resume"):
            fail(f"SeaBIOS ran its POST {posts} times, expected once before the resume:\n"
                 f"{text[-3000:]}")
        poweroff(g)
        print("\nPASS: SeaBIOS: S3 entered and left through the firmware's resume path "
              "(status 0xfe, its jump to the waking vector), a shell after it; events "
              "suspended, woken")
    finally:
        g.close()
        shutil.rmtree(work, ignore_errors=True)


cases = {"power-button": case_power_button, "reboot": case_reboot, "pause": case_pause,
         "s3": case_s3, "s3-seabios": case_s3_seabios,
         "panic": case_panic}
if case not in cases:
    print(__doc__)
    sys.exit(2)
try:
    cases[case]()
except GuestError as e:
    fail(str(e))
