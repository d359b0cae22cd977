#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Spec keys have the effect they name: `vmm run` (accel bt, which every host has) with the
tiny guests of tests/specs/guests, one case per group of keys. tests/specs/keys.json points
here for the keys no other test shows. Exit 0 pass, 1 fail, 77 skip.

The probe guest (guests/spec_probe.S) prints "boot at 0xNNNNN" (its load address) on COM1,
waits for a byte on COM1, then triple faults. The ROM (guests/firmware_rom.S) is a 64 KiB
firmware image that prints a line and writes exit status 0 to port 0xf4. The linux-decompress
case loads the default guest's kernel (GUEST_DIR, from scripts/build-guest.sh; it skips
without it) and stops the VM once the loader has spoken.

Usage: effects.py VMM PROBE_BIN ROM_BIN GUEST_DIR WORK_DIR CASE"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

vmm, probe, rom, guest_dir, work = (os.path.abspath(a) for a in sys.argv[1:6])
case = sys.argv[6]
BOOT_LINE = "boot at 0x"
BOOT_RE = re.compile(r"boot at 0x[0-9a-f]{5}\n")  # a whole line: the guest prints byte by byte


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


class Run:
    """One `vmm run` of a spec (written to WORK_DIR/CASE/spec.json) with stdout piped."""

    def __init__(self, spec, stdin=subprocess.DEVNULL):
        self.dir = os.path.join(work, case)
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        self.err_path = os.path.join(self.dir, "stderr.log")
        self.err_f = open(self.err_path, "w")
        self.proc = subprocess.Popen([vmm, "run", path], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=self.err_f)
        self.out = b""

    def stderr(self):
        self.err_f.flush()
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def read_until(self, pattern, count=1, timeout=30):
        """Read stdout until pattern (a regex) matched count times; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while len(pattern.findall(self.out.decode("latin-1"))) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            chunk = os.read(fd, 4096)
            if not chunk:
                return False
            self.out += chunk
        return True

    def wait(self, timeout=30):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail(f"vmm did not end within {timeout} s; stderr: {self.stderr()[-2000:]}")
        self.out += self.proc.stdout.read()
        return rc

    def stop(self):
        """SIGTERM: vmm ends with 128 + 15 and says so."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait()
        if rc != 128 + signal.SIGTERM:
            fail(f"exit {rc} after SIGTERM; stderr: {self.stderr()[-2000:]}")

    def text(self):
        return self.out.decode("latin-1")


def probe_spec(**extra):
    spec = {"memory_mib": 16, "accel": "bt", "boot": {"flat": probe},
            "serial": {"target": "stdio"}}
    spec.update(extra)
    return spec


def expect_boot(r, where, timeout=30):
    if not r.read_until(BOOT_RE, timeout=timeout):
        r.proc.kill()
        fail(f"{where}: no {BOOT_LINE!r} on stdout: {r.text()!r}; stderr: {r.stderr()[-2000:]}")


def case_name():
    # name: the first word of every line vmm logs about the VM ("vm" when not given).
    for spec, name in ((probe_spec(name="effects-name.7"), "effects-name.7"),
                       (probe_spec(), "vm")):
        r = Run(spec)
        expect_boot(r, f"name {name}")
        r.stop()
        err = r.stderr()
        for want in (f"{name}: accel bt: chosen by the spec", f"{name}: stopped by"):
            if want not in err:
                fail(f"stderr lacks {want!r}:\n{err}")
    print("ok: name prefixes the VM's log lines (default \"vm\")")


def case_serial():
    # target stdio: the guest's COM1 output on stdout; file: in the file, not on stdout;
    # none: nowhere, while the same guest is running.
    start = time.monotonic()
    r = Run(probe_spec())
    expect_boot(r, "target stdio")
    took = time.monotonic() - start
    r.stop()
    log = os.path.join(work, case, "serial.log")
    if os.path.exists(log):
        os.unlink(log)
    r = Run(probe_spec(serial={"target": "file", "path": log}))
    deadline = time.monotonic() + 30
    while True:
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        if BOOT_LINE in text:
            break
        if time.monotonic() > deadline or r.proc.poll() is not None:
            r.proc.kill()
            fail(f"target file: no {BOOT_LINE!r} in {log}: {text!r}; stderr: {r.stderr()}")
        time.sleep(0.05)
    r.stop()
    if r.out:
        fail(f"target file: stdout is not empty: {r.out!r}")
    # pty: a pseudo-terminal whose name vmm logs; the guest's output is read from it.
    r = Run(probe_spec(serial={"target": "pty"}))
    deadline, m = time.monotonic() + 30, None
    while not m and time.monotonic() < deadline and r.proc.poll() is None:
        m = re.search(r"serial console on (/dev/pts/\d+)", r.stderr())
        time.sleep(0.05)
    if not m:
        r.proc.kill()
        fail(f"target pty: no pty named in the log: {r.stderr()}")
    fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
    got = b""
    while BOOT_LINE.encode() not in got and time.monotonic() < deadline:
        if select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]:
            got += os.read(fd, 4096)
    os.close(fd)
    r.stop()
    if BOOT_LINE.encode() not in got or r.out:
        fail(f"target pty: read {got!r} from {m.group(1)}, stdout {r.out!r}")
    r = Run(probe_spec(serial={"target": "none"}))
    time.sleep(max(1.0, 3 * took))
    if r.proc.poll() is not None:
        fail(f"target none: vmm ended early ({r.proc.returncode}): {r.stderr()}")
    r.stop()
    if r.out:
        fail(f"target none: the guest's output reached stdout: {r.out!r}")
    print("ok: serial target stdio, file (with path), pty and none")


def case_load_address():
    # boot.load_address: where the flat image is loaded and entered; default 0x7c00.
    for addr, want in ((None, "boot at 0x07c00"), ("0x1000", "boot at 0x01000"),
                       (131072, "boot at 0x20000")):
        boot = {"flat": probe}
        if addr is not None:
            boot["load_address"] = addr
        r = Run(probe_spec(boot=boot))
        expect_boot(r, f"load_address {addr}")
        r.stop()
        if want not in r.text():
            fail(f"load_address {addr}: the guest says {r.text()!r}, expected {want!r}")
    print("ok: boot.load_address places and enters the flat image (default 0x7c00)")


def case_triple_fault():
    # on_triple_fault exit (the default): the VM ends with status 5 after one boot.
    for spec in (probe_spec(), probe_spec(on_triple_fault="exit")):
        r = Run(spec, stdin=subprocess.PIPE)
        expect_boot(r, "on_triple_fault exit")
        r.proc.stdin.write(b"x")
        r.proc.stdin.flush()
        rc = r.wait()
        if rc != 5 or r.text().count(BOOT_LINE) != 1 or "triple fault" not in r.stderr():
            fail(f"on_triple_fault exit: status {rc}, stdout {r.text()!r}")
    # reset: the machine resets in place and the guest boots again, each time it faults.
    r = Run(probe_spec(on_triple_fault="reset"), stdin=subprocess.PIPE)
    for boot in range(1, 4):
        if not r.read_until(BOOT_RE, count=boot):
            r.proc.kill()
            fail(f"on_triple_fault reset: boot {boot} did not come: {r.text()!r}")
        r.proc.stdin.write(b"x")
        r.proc.stdin.flush()
    if not r.read_until(BOOT_RE, count=4):
        r.proc.kill()
        fail(f"on_triple_fault reset: no fourth boot: {r.text()!r}")
    r.stop()
    if "restarting (boot 4)" not in r.stderr():
        fail(f"on_triple_fault reset: stderr does not say it restarted:\n{r.stderr()[-3000:]}")
    print("ok: on_triple_fault exit ends the VM (status 5), reset boots it again")


def case_firmware():
    # boot.firmware: the image is mapped below 4 GiB and the CPU starts at its reset vector.
    r = Run({"memory_mib": 16, "accel": "bt", "boot": {"firmware": rom},
             "serial": {"target": "stdio"}, "debug": {"exit_port": "0xf4"}})
    rc = r.wait()
    if rc != 0 or "firmware started at the reset vector" not in r.text():
        fail(f"firmware: status {rc}, stdout {r.text()!r}, stderr {r.stderr()}")
    print("ok: boot.firmware runs the image from the reset vector")


def validate(spec, argv_prefix=()):
    """`vmm validate` of spec (written to WORK_DIR/CASE/validate.json): (status, output)."""
    d = os.path.join(work, case)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "validate.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    p = subprocess.run([*argv_prefix, vmm, "validate", path], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout + p.stderr


def case_firmware_vars():
    # boot.firmware_vars: the variables file must open for writing and fit the code image
    # (together a power-of-two flash); each refusal names the key. The 64 KiB ROM takes a
    # 64 KiB store, which runs (the ROM ignores it; firmware-ovmf-vars shows the flash work).
    d = os.path.join(work, case, "vars")
    os.makedirs(d, exist_ok=True)

    def spec(vars_path):
        return {"memory_mib": 16, "accel": "bt", "serial": {"target": "stdio"},
                "debug": {"exit_port": "0xf4"},
                "boot": {"firmware": rom, "firmware_vars": vars_path}}

    def vars_file(name, size):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(b"\xff" * size)
        return path

    def refused(what, vars_path, want, argv_prefix=()):
        rc, out = validate(spec(vars_path), argv_prefix)
        lines = [ln for ln in out.splitlines()
                 if ln.startswith("boot.firmware_vars: ") and want in ln]
        if rc != 2 or not lines:
            fail(f"{what}: vmm validate status {rc} (expected 2) without a "
                 f"'boot.firmware_vars: ...{want}...' line:\n{out}")
        print(f"ok: {what} refused: {lines[0]}")

    missing = os.path.join(d, "missing.fd")
    refused("a missing variables file", missing, f"cannot open {missing} for writing")
    refused("a 4 KiB store with a 64 KiB ROM", vars_file("short.fd", 4096),
            "does not fill a flash whose size is a power of two")
    refused("a store of 1000 bytes", vars_file("odd.fd", 1000),
            "not a whole number of 4 KiB flash blocks")
    refused("a store of 16 MiB", vars_file("big.fd", 16 << 20), "more than the 16 MiB")
    ro = vars_file("ro.fd", 64 << 10)
    if os.geteuid() != 0:
        os.chmod(ro, 0o400)
        refused("a read-only variables file", ro, f"cannot open {ro} for writing")
    elif shutil.which("unshare") and subprocess.run(
            ["unshare", "-m", "true"], capture_output=True).returncode == 0:
        # root opens a 0400 file for writing: a read-only bind mount refuses it (EROFS)
        ro_dir = os.path.join(d, "ro")
        os.makedirs(ro_dir, exist_ok=True)
        shutil.copy(ro, os.path.join(ro_dir, "ro.fd"))
        ro = os.path.join(ro_dir, "ro.fd")
        refused("a variables file on a read-only mount", ro,
                f"cannot open {ro} for writing: Read-only file system",
                ["unshare", "-m", "sh", "-c",
                 f"mount --bind {ro_dir} {ro_dir} && mount -o remount,bind,ro {ro_dir} && "
                 'exec "$0" "$@"'])
    else:
        print("note: running as root without mount namespaces: the read-only variables file "
              "case is not checked here")
    good = vars_file("good.fd", 64 << 10)
    rc, out = validate(spec(good))
    if rc != 0:
        fail(f"a 64 KiB store with the 64 KiB ROM: vmm validate status {rc}:\n{out}")
    r = Run(spec(good))
    rc = r.wait()
    if rc != 0 or "firmware started at the reset vector" not in r.text() or \
            "64 KiB of firmware variables at 0xfffe0000-0xfffeffff" not in r.stderr():
        fail(f"firmware with a 64 KiB store: status {rc}, stdout {r.text()!r}, "
             f"stderr {r.stderr()}")
    print("ok: a 64 KiB store with the 64 KiB ROM is mapped at 0xfffe0000 right below it")


def case_nic_net():
    # nics[].net: NIC i on user networking gets 10.0.(2 + i).0/24 by default (two user NICs
    # never share a subnet, an address and a router); a given net is used as it is; a tap
    # NIC in between keeps its index.
    nics = [{}, {"model": "e1000"}, {"backend": "user", "net": "192.168.100.0/24"}]
    r = Run(probe_spec(nics=nics))
    expect_boot(r, "three user NICs")
    r.stop()
    err = r.stderr()
    for name, net, addr in (("net0", "10.0.2.0/24", "10.0.2.15"),
                            ("net1", "10.0.3.0/24", "10.0.3.15"),
                            ("net2", "192.168.100.0/24", "192.168.100.15")):
        if not re.search(rf"{name}: user networking \(libslirp [^)]*\) on {net}, guest "
                         rf"address {addr} by DHCP", err):
            fail(f"{name} is not on {net} with {addr}:\n{err}")
    print("ok: user NICs on 10.0.2.0/24, 10.0.3.0/24 (defaults) and 192.168.100.0/24 (given)")


def fd_flags(pid, path):
    """The open flags of the descriptors pid holds on path."""
    flags = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != path:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("flags:"):
                        flags.append(int(line.split()[1], 8))
        except OSError:
            continue
    return flags


def case_disk_open():
    # disks[].cache and disks[].readonly: how the image is opened (what the host kernel sees).
    d = os.path.join(work, case)
    os.makedirs(d, exist_ok=True)
    names = ("writeback", "writethrough", "none", "readonly")
    for n in names:
        with open(os.path.join(d, n + ".img"), "wb") as f:
            f.truncate(1 << 20)
    try:
        os.close(os.open(os.path.join(d, "none.img"), os.O_RDWR | os.O_DIRECT))
        direct_ok = True
    except OSError as e:
        direct_ok = False
        print(f"note: {d} has no O_DIRECT ({e.strerror}): cache none cannot be checked here")
    disks = [{"path": os.path.join(d, "writeback.img"), "format": "raw"},
             {"path": os.path.join(d, "writethrough.img"), "format": "raw",
              "cache": "writethrough"},
             {"path": os.path.join(d, "none.img"), "format": "raw", "cache": "none",
              "bus": "ahci"},
             {"path": os.path.join(d, "readonly.img"), "format": "raw", "readonly": True}]
    r = Run(probe_spec(disks=disks))
    expect_boot(r, "disks")
    got = {n: fd_flags(r.proc.pid, os.path.join(d, n + ".img")) for n in names}
    r.stop()
    for n in names:
        if not got[n]:
            fail(f"{n}.img is not open in vmm: {got}")
        for fl in got[n]:
            acc, direct, dsync = fl & os.O_ACCMODE, bool(fl & os.O_DIRECT), bool(fl & os.O_DSYNC)
            want_acc = os.O_RDONLY if n == "readonly" else os.O_RDWR
            want_direct = n == "none" and direct_ok
            want_dsync = n == "writethrough"
            if (acc, direct, dsync) != (want_acc, want_direct, want_dsync):
                fail(f"{n}.img open with flags {fl:#o}: access {acc}, O_DIRECT {direct}, "
                     f"O_DSYNC {dsync}; expected {want_acc}, {want_direct}, {want_dsync}")
    print("ok: cache writeback/writethrough (O_DSYNC)/none (O_DIRECT) and readonly (O_RDONLY) "
          "reach the image's open flags")


def case_disk_format():
    # disks[].format: raw takes the bytes as they are; vmdk and auto read them as VMDK (auto
    # because the file starts with the sparse header's magic "KDMV").
    d = os.path.join(work, case)
    os.makedirs(d, exist_ok=True)
    kdmv, zeros = os.path.join(d, "kdmv.img"), os.path.join(d, "zeros.img")
    with open(kdmv, "wb") as f:
        f.write(b"KDMV" + b"\xff" * 508 + b"\0" * (1 << 20))
    with open(zeros, "wb") as f:
        f.truncate(1 << 20)
    for path, fmt, runs in ((kdmv, "raw", True), (kdmv, "auto", False), (kdmv, "vmdk", False),
                            (zeros, "auto", True), (zeros, "vmdk", False)):
        disk = {"path": path, "format": fmt}
        r = Run(probe_spec(disks=[disk]))
        if runs:
            expect_boot(r, f"{os.path.basename(path)} as {fmt}")
            r.stop()
            continue
        rc = r.wait()
        if rc != 1 or "disks[0]" not in r.stderr() or BOOT_LINE in r.text():
            fail(f"{os.path.basename(path)} as {fmt}: status {rc} (expected 1, refused before "
                 f"the guest runs), stdout {r.text()!r}, stderr {r.stderr()}")
    print("ok: format raw uses the bytes as they are; vmdk and auto parse VMDK (auto only when "
          "the image is one)")


def case_linux_decompress():
    # boot.decompress host (the default): the loader unpacks the bzImage's payload and enters
    # the kernel at its own start; guest: the bzImage is entered at its decompressor (+0x200).
    kernel = os.path.join(guest_dir, "vmlinuz-cloud")
    if not os.path.exists(kernel):
        skip(f"no {kernel}: build the default guest (scripts/build-guest.sh {guest_dir})")
    entries = {}
    for mode in (None, "host", "guest"):
        boot = {"kernel": kernel, "cmdline": "console=ttyS0"}
        if mode:
            boot["decompress"] = mode
        spec = {"memory_mib": 256, "accel": "bt", "boot": boot, "serial": {"target": "none"}}
        d = os.path.join(work, case)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        err_path = os.path.join(d, f"stderr-{mode}.log")
        with open(err_path, "w") as err_f:
            proc = subprocess.Popen([vmm, "run", "--log=boot", path], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err_f)
            deadline, m, text = time.monotonic() + 60, None, ""
            while not m and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
                with open(err_path, errors="replace") as f:
                    text = f.read()
                m = re.search(r"protocol [0-9.]+ at (0x[0-9a-f]+), entry (0x[0-9a-f]+)", text)
            proc.kill()
            proc.wait()
        if not m:
            fail(f"decompress {mode}: the loader did not report the entry:\n{text[-3000:]}")
        load, entry = int(m.group(1), 16), int(m.group(2), 16)
        unpacked = "on the host" in text
        entries[mode] = (entry - load, unpacked)
    if entries[None] != (0, True) or entries["host"] != (0, True) or \
            entries["guest"] != (0x200, False):
        fail(f"decompress: (entry - load address, unpacked on the host) by mode: {entries}")
    print("ok: boot.decompress host unpacks on the host (the default), guest enters the "
          "bzImage's decompressor")


def case_bt():
    # bt.engine, bt.jit_threshold, bt.code_cache_mib: the long-mode guest of tests/guests
    # (BT_GUEST) runs to its exit status 0 under each; --log=bt makes each vCPU say at its end
    # how many blocks the JIT compiled and how big its code cache was.
    lmode = os.environ["BT_GUEST"]
    compiled_re = re.compile(r"vcpu0: the JIT compiled (\d+) blocks .*, \d+ of its (\d+) KiB")
    runs = {"default": {}, "threshold-1": {"engine": "jit", "jit_threshold": 1,
                                           "code_cache_mib": 2},
            "threshold-max": {"engine": "jit", "jit_threshold": 1000000},
            "interpreter": {"engine": "interpreter"}}
    seen = {}
    for what, bt in runs.items():
        spec = {"memory_mib": 16, "accel": "bt",
                "boot": {"flat": lmode, "load_address": "0x7c00"},
                "serial": {"target": "none"}, "debug": {"exit_port": "0xf4"}}
        if bt:
            spec["bt"] = bt
        d = os.path.join(work, case)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"spec-{what}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        try:
            p = subprocess.run([vmm, "run", "--log=bt", path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        except subprocess.TimeoutExpired:
            fail(f"bt {what}: the guest did not finish within 60 s")
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            fail(f"bt {what}: exit {p.returncode}, stderr:\n{err[-3000:]}")
        m = compiled_re.search(err)
        seen[what] = (int(m.group(1)), int(m.group(2))) if m else None
        if what == "interpreter" and "bt: interpreter only" not in err:
            fail(f"bt {what}: no 'interpreter only' in stderr:\n{err[-3000:]}")
        if what == "default" and "once it has run 16 times" not in err:
            fail(f"bt {what}: not the default threshold 16:\n{err[-3000:]}")
    if seen["interpreter"] is not None or seen["default"] is None or \
            seen["default"][1] != 32 << 10 or seen["threshold-1"] is None or \
            seen["threshold-1"][0] == 0 or seen["threshold-1"][1] != 2 << 10 or \
            seen["threshold-max"] != (0, 32 << 10):
        fail(f"bt: (blocks the JIT compiled, code cache KiB) by run: {seen}")
    print(f"ok: bt.engine jit compiles blocks, interpreter none; bt.jit_threshold 1 compiles "
          f"({seen['threshold-1'][0]} blocks), 1000000 does not; bt.code_cache_mib sizes the "
          f"cache: {seen}")


CASES = {"name": case_name, "serial": case_serial, "load-address": case_load_address,
         "triple-fault": case_triple_fault, "firmware": case_firmware,
         "firmware-vars": case_firmware_vars,
         "disk-open": case_disk_open, "disk-format": case_disk_format,
         "linux-decompress": case_linux_decompress, "bt": case_bt, "nic-net": case_nic_net}

if case not in CASES:
    fail(f"unknown case {case}")
shutil.rmtree(os.path.join(work, case), ignore_errors=True)
CASES[case]()
