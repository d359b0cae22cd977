#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Linux-driver storage test (issue 6, "How it is tested"): the generic Debian kernel of the
default guest drives our disks with its own drivers -- virtio_blk (virtio 1.x modern PCI
transport) and ahci/libata with sd_mod and sr_mod (AHCI 1.3, ATA8-ACS, SCSI MMC for the
CD-ROM). In the guest each disk is found by the serial number from the spec, gets an ext2
filesystem (busybox mke2fs; the ext4 driver mounts it), a random file and a known text file;
their md5 sums are printed, the filesystem is synced and unmounted. An ISO 9660 image built
with xorriso is mounted from the ATAPI CD-ROM and its files are summed. After `poweroff -f`
the host checks every image with its own tools (e2fsck -fn; qemu-img check and vmm-img check
for VMDK, converted to raw by qemu-img first) and extracts the files with debugfs to compare
the sums the guest printed.

Usage: linux_storage.py VMM VMM_IMG DEFAULT_GUEST_DIR
  The guest comes from $VMM_GUEST_DIR, else DEFAULT_GUEST_DIR (scripts/build-guest.sh output).
  VMM_LINUX_ENGINE=qemu runs the same script under qemu-system-x86_64 -accel tcg with the
  equivalent devices (a reference while developing); the default is our vmm with accel bt.
  VMM_TEST_LOG=FILE copies the guest console to FILE; VMM_LINUX_TIMEOUT the boot's limit (s).
Exit 0 pass, 1 fail, 77 skip (no built guest, or a missing host tool)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from guest_shell import GuestError, LinuxGuest, guest_dir

SKIP = 77
MIB = 1 << 20
KNOWN_TEXT = "issue 6 storage test: the quick brown fox jumps over the lazy dog\n"

# Top-level modules the guest needs; their dependencies are added from the modules' own
# "depends=" info. The *_generic crypto modules provide the algorithms crc-t10dif,
# crc64-rocksoft and ext4 look up at load time (soft dependencies modprobe would add).
WANTED_MODULES = ["crct10dif_generic", "crc64_rocksoft_generic", "crc32c_generic",
                  "virtio_pci", "virtio_blk", "scsi_mod", "sd_mod", "cdrom", "sr_mod",
                  "libata", "libahci", "ahci", "ext4", "isofs"]


# Kernel messages that mean a driver met an error from one of our devices.
DMESG_ERRORS = re.compile(
    r"(ata\d+(\.\d+)?: (exception|failed command|hard resetting|soft resetting|"
    r"COMRESET failed|SError|limiting SATA|device reported invalid|link is slow)"
    r"|I/O error|critical medium error|Buffer I/O error|blk_update_request"
    r"|virtio_blk.*(error|failed)|virtio_pci.*(error|failed)|EXT4-fs error|ISOFS:.*error"
    r"|qc timeout|irq \d+: nobody cared|task .* blocked for more than|Call Trace)")
DMESG_SHOW = re.compile(r"\] (ata\d|scsi |sd |sr |virtio_blk|ahci )")


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(SKIP)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


# ---- the module overlay -------------------------------------------------------------------

def generic_modules_dir(gdir):
    """The generic kernel's unpacked module tree in the guest build cache, and its release."""
    with open(os.path.join(gdir, "kernel-versions.txt")) as f:
        pkgs = [line.split()[0] for line in f if line.strip()]
    for pkg in pkgs:
        if pkg.startswith("linux-image-") and not pkg.endswith("-cloud-amd64"):
            release = pkg[len("linux-image-"):]
            d = os.path.join(gdir, "cache", "x-" + pkg, "lib", "modules", release)
            if os.path.isdir(d):
                return d, release
    return None, None


def module_info(path):
    """The .modinfo strings of a module file as a dict of lists."""
    with open(path, "rb") as f:
        data = f.read()
    info = {}
    for m in re.finditer(rb"(depends|softdep|name)=([\x20-\x7e]*)\x00", data):
        info.setdefault(m.group(1).decode(), []).append(m.group(2).decode())
    return info


def module_load_order(moddir, wanted):
    """Files of wanted and everything they depend on, dependencies first."""
    index = {}
    for root, _, files in os.walk(os.path.join(moddir, "kernel")):
        for fn in files:
            if fn.endswith(".ko"):
                index[fn[:-3].replace("-", "_")] = os.path.join(root, fn)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            fail(f"module {name} not found under {moddir}")
        for dep in module_info(index[name]).get("depends", [""])[0].split(","):
            if dep:
                visit(dep)
        order.append(index[name])

    for w in wanted:
        visit(w)
    return order


def cpio_newc(entries):
    """An uncompressed newc cpio archive (the initramfs format, Documentation/driver-api/
    early-userspace/buffer-format.rst) of (name, mode, data) entries."""
    out = bytearray()

    def pad4():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        nb = name.encode() + b"\0"
        fields = [ino if name != "TRAILER!!!" else 0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                  len(nb), 0]
        out += b"070701" + b"".join(b"%08X" % v for v in fields) + nb
        pad4()
        out += data
        pad4()
    return bytes(out)


def build_initrd(gdir, work, wanted=WANTED_MODULES, extra=()):
    """The default initramfs followed by a second archive with /vmmtest/NN-module.ko files
    (the kernel unpacks concatenated archives in order) and /vmmtest/load, a script that
    insmods them in dependency order. The default archive carries only some of the storage
    modules (not scsi_common, t10-pi, ext4 or isofs, and no modules.dep). wanted: the
    top-level modules (default: the storage test's); extra: more (name, mode, data) entries."""
    moddir, release = generic_modules_dir(gdir)
    if not moddir:
        skip(f"no unpacked generic kernel modules under {gdir}/cache (scripts/build-guest.sh)")
    files = module_load_order(moddir, wanted)
    entries = [("vmmtest", 0o40755, b"")]
    script = "#!/bin/sh\n# insmod the test's modules in dependency order\nrc=0\n"
    for i, path in enumerate(files):
        name = f"vmmtest/{i:02d}-{os.path.basename(path)}"
        with open(path, "rb") as f:
            entries.append((name, 0o100644, f.read()))
        # A module the default initramfs already loaded (none today) reports EEXIST.
        script += (f"insmod /{name} 2>/tmp/insmod.err || grep -q 'File exists' "
                   f"/tmp/insmod.err || {{ cat /tmp/insmod.err; rc=1; }}\n")
    script += "exit $rc\n"
    entries.append(("vmmtest/load", 0o100755, script.encode()))
    entries += list(extra)
    initrd = os.path.join(work, "initrd.img")
    with open(os.path.join(gdir, "initramfs.cpio.gz"), "rb") as f:
        base = f.read()
    with open(initrd, "wb") as f:
        f.write(base)
        f.write(b"\0" * (-len(base) % 4))
        f.write(cpio_newc(entries))
    return initrd, release, len(files)


# ---- the images ---------------------------------------------------------------------------

class Disk:
    def __init__(self, key, path, fmt, bus, serial, cdrom=False):
        self.key, self.path, self.fmt, self.bus = key, path, fmt, bus
        self.serial, self.cdrom = serial, cdrom
        self.dev = None  # the guest's name for it, e.g. vdb

    def spec(self):
        d = {"path": self.path, "format": self.fmt, "bus": self.bus, "serial": self.serial}
        if self.cdrom:
            d["cdrom"] = True
            d["readonly"] = True
        return d


def make_images(work, vmm_img):
    disks = []
    raw = os.path.join(work, "virtio.raw")
    with open(raw, "wb") as f:
        f.truncate(32 * MIB)
    disks.append(Disk("virtio-raw", raw, "raw", "virtio", "VMM-VIRTIO-RAW"))
    vmdk = os.path.join(work, "virtio.vmdk")
    r = run([vmm_img, "create", "-f", "vmdk", vmdk, "32M"])
    if r.returncode != 0:
        fail(f"vmm-img create: {r.stdout}{r.stderr}")
    disks.append(Disk("virtio-vmdk", vmdk, "vmdk", "virtio", "VMM-VIRTIO-VMDK"))
    sata = os.path.join(work, "sata.vmdk")
    r = run(["qemu-img", "create", "-q", "-f", "vmdk", sata, "32M"])
    if r.returncode != 0:
        fail(f"qemu-img create: {r.stdout}{r.stderr}")
    disks.append(Disk("ahci-vmdk", sata, "vmdk", "ahci", "VMM-SATA-VMDK"))
    # The CD-ROM: a text file, a random file over several 2 KiB sectors, one in a directory.
    tree = os.path.join(work, "cdtree")
    os.makedirs(os.path.join(tree, "sub"))
    cd_files = {"readme.txt": KNOWN_TEXT.encode() * 3,
                "random.bin": os.urandom(300 * 1024 + 123),
                "sub/zeros.bin": bytes(64 * 1024)}
    for name, data in cd_files.items():
        with open(os.path.join(tree, name), "wb") as f:
            f.write(data)
    iso = os.path.join(work, "cd.iso")
    r = run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "VMMTESTCD", "-o", iso, tree])
    if r.returncode != 0:
        fail(f"xorriso: {r.stdout}{r.stderr}")
    disks.append(Disk("cdrom", iso, "raw", "ahci", "VMM-CDROM", cdrom=True))
    cd_sums = {name: hashlib.md5(data).hexdigest() for name, data in cd_files.items()}
    return disks, cd_sums


def qemu_args(disks):
    """QEMU's devices equivalent to our board: virtio-blk-pci functions, one ICH9 AHCI."""
    args, port = ["-device", "ahci,id=ahci0"], 0
    for i, d in enumerate(disks):
        drive = f"if=none,id=d{i},file={d.path},format={d.fmt}"
        if d.cdrom:
            args += ["-drive", drive + ",media=cdrom,readonly=on",
                     "-device", f"ide-cd,drive=d{i},bus=ahci0.{port},serial={d.serial}"]
            port += 1
        elif d.bus == "ahci":
            args += ["-drive", drive,
                     "-device", f"ide-hd,drive=d{i},bus=ahci0.{port},serial={d.serial}"]
            port += 1
        else:
            args += ["-drive", drive, "-device", f"virtio-blk-pci,drive=d{i},serial={d.serial}"]
    return args


# ---- the guest side -----------------------------------------------------------------------

def grun(g, cmd, timeout=300, ok=True):
    st, out = g.run(cmd, timeout=timeout)
    if ok and st != 0:
        raise GuestError(f"`{cmd}` exited {st}:\n{out}")
    return out


def parse_md5(out):
    sums = {}
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]{32})\s+(\S+)$", line.strip())
        if m:
            sums[m.group(2)] = m.group(1)
    return sums


def sums_of(g, mnt, names):
    """md5sum of files under mnt as {name: sum}. Retried when a line is missing: under a
    slow engine the console has been seen to drop bytes of a burst, and a lost line must
    not read as a wrong checksum (a wrong sum still fails the comparison later)."""
    for _ in range(3):
        sums = parse_md5(grun(g, f"(cd {mnt} && md5sum {' '.join(names)})"))
        if all(n in sums for n in names):
            return sums
    raise GuestError(f"md5sum output for {names} incomplete three times: {sums}")


def find_devices(g, disks):
    """Map each disk to its block device by the spec's serial: /sys/block/vdX/serial for
    virtio-blk, the unit serial number VPD page (libata answers it from IDENTIFY words
    10-19) for the SATA disk; the CD-ROM is the only sr."""
    want = {d.serial: d for d in disks if not d.cdrom}
    deadline = time.monotonic() + 120
    while True:
        out = grun(g, "for b in /sys/block/vd* /sys/block/sd*; do [ -e $b ] || continue; "
                   "if [ -e $b/serial ]; then s=$(cat $b/serial); "
                   "else s=$(tail -c +5 $b/device/vpd_pg80 2>/dev/null); fi; "
                   "echo \"dev ${b##*/} serial [$s]\"; done; ls /sys/block | grep '^sr'; true")
        found = {}
        for m in re.finditer(r"dev (\S+) serial \[([^\]]*)\]", out):
            found[m.group(2).strip()] = m.group(1)
        srs = [w for w in out.split() if re.fullmatch(r"sr\d+", w)]
        if all(s in found for s in want) and (srs or not any(d.cdrom for d in disks)):
            break
        if time.monotonic() > deadline:
            raise GuestError(f"disks not all visible after 120 s; saw:\n{out}")
        time.sleep(2)
    for s, d in want.items():
        d.dev = found[s]
    for d in disks:
        if d.cdrom:
            d.dev = srs[0]
    return out


def guest_exercise(g, disks, results):
    grun(g, "dmesg -n 1")  # kernel messages would interleave with command output
    out = grun(g, "/vmmtest/load", timeout=600)
    results["devices"] = find_devices(g, disks)
    for d in disks:
        info = grun(g, f"echo size $(cat /sys/block/{d.dev}/size) model "
                    f"$(cat /sys/block/{d.dev}/device/model 2>/dev/null)")
        m = re.search(r"^size .*$", info, re.M)
        print(f"guest: {d.key} is /dev/{d.dev}: {m.group(0) if m else info}", flush=True)
    for d in disks:
        mnt = f"/mnt/{d.key}"
        if d.cdrom:
            grun(g, f"mkdir -p {mnt} && mount -t iso9660 -o ro /dev/{d.dev} {mnt}")
            results[d.key] = sums_of(g, mnt, ["readme.txt", "random.bin", "sub/zeros.bin"])
            grun(g, f"umount {mnt}")
            continue
        grun(g, f"mke2fs -q -L {d.key[:16]} /dev/{d.dev}", timeout=600)
        grun(g, f"mkdir -p {mnt} && mount -t ext2 /dev/{d.dev} {mnt}")
        grun(g, f"dd if=/dev/urandom of={mnt}/random.bin bs=64k count=24 2>/dev/null",
             timeout=600)
        grun(g, f"printf '%s' '{KNOWN_TEXT.strip()}' > {mnt}/known.txt && echo >> {mnt}/known.txt"
             f" && echo {d.serial} >> {mnt}/known.txt")
        results[d.key] = sums_of(g, mnt, ["random.bin", "known.txt"])
        grun(g, f"sync && umount {mnt}", timeout=600)
    # Read a freshly written file back through the block layer: remount, sum again.
    d = disks[0]
    mnt = f"/mnt/{d.key}"
    grun(g, "echo 3 > /proc/sys/vm/drop_caches")
    grun(g, f"mount -t ext2 -o ro /dev/{d.dev} {mnt}")
    results["reread"] = sums_of(g, mnt, ["random.bin", "known.txt"])
    grun(g, f"umount {mnt}")
    # The drivers must not have met an error on the way (libata exceptions and resets,
    # block-layer I/O errors, virtio or ISO 9660 complaints).
    # Only the storage-related lines cross the console (a long burst is more at risk there).
    log = grun(g, "dmesg | grep -E 'ata[0-9]|scsi|sd |sr |virtio|ahci|EXT4|ISOFS|I/O error|"
               "medium error|nobody cared|blocked for more|Call Trace'; true", timeout=300)
    bad = [line for line in log.splitlines()
           if re.match(r"\s*\[\s*\d+\.\d+\]", line) and DMESG_ERRORS.search(line)]
    if bad:
        raise GuestError("driver errors in dmesg:\n" + "\n".join(bad[:40]))
    results["dmesg"] = log


# ---- the host side ------------------------------------------------------------------------

def host_check(d, vmm_img, sums, work):
    """fsck the image and compare the guest's files by checksum."""
    raw = d.path
    if d.fmt == "vmdk":
        r = run(["qemu-img", "check", "-f", "vmdk", d.path])
        if r.returncode != 0:
            fail(f"{d.key}: qemu-img check: {r.stdout}{r.stderr}")
        r = run([vmm_img, "check", d.path])
        if r.returncode != 0:
            fail(f"{d.key}: vmm-img check: {r.stdout}{r.stderr}")
        raw = os.path.join(work, d.key + ".converted.raw")
        r = run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d.path, raw])
        if r.returncode != 0:
            fail(f"{d.key}: qemu-img convert: {r.stdout}{r.stderr}")
    r = run(["e2fsck", "-fn", raw])
    if r.returncode != 0:
        fail(f"{d.key}: e2fsck -fn exit {r.returncode}:\n{r.stdout}{r.stderr}")
    for name in ("random.bin", "known.txt"):
        out = os.path.join(work, f"{d.key}.{name}")
        r = run(["debugfs", "-R", f"dump /{name} {out}", raw])
        if r.returncode != 0 or not os.path.exists(out):
            fail(f"{d.key}: debugfs dump /{name}: {r.stdout}{r.stderr}")
        if md5_file(out) != sums.get(name):
            fail(f"{d.key}: /{name} on the host has md5 {md5_file(out)}, the guest printed "
                 f"{sums.get(name)}")
    with open(os.path.join(work, f"{d.key}.known.txt")) as f:
        text = f.read()
    if text != KNOWN_TEXT + d.serial + "\n":
        fail(f"{d.key}: known.txt on the host is {text!r}")
    with open(os.path.join(work, f"{d.key}.random.bin"), "rb") as f:
        if len(f.read()) != 24 * 64 * 1024:
            fail(f"{d.key}: random.bin has the wrong size")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    vmm, vmm_img, default_guest = sys.argv[1:4]
    engine = os.environ.get("VMM_LINUX_ENGINE", "vmm")
    gdir = guest_dir(default_guest)
    if not gdir:
        skip(f"no built guest in {os.environ.get('VMM_GUEST_DIR') or default_guest} "
             "(scripts/build-guest.sh DIR, or set VMM_GUEST_DIR)")
    tools = ["qemu-img", "xorriso", "e2fsck", "debugfs"]
    if engine == "qemu":
        tools.append("qemu-system-x86_64")
    for t in tools:
        if not shutil.which(t):
            skip(f"{t} not installed (scripts/deps.sh test)")
    work = tempfile.mkdtemp(prefix="vmm-linux-storage-")
    initrd, release, nmods = build_initrd(gdir, work)
    disks, cd_sums = make_images(work, vmm_img)
    log = open(os.environ["VMM_TEST_LOG"], "w") if os.environ.get("VMM_TEST_LOG") else None
    print(f"engine {engine}, kernel {release}, {nmods} modules, work dir {work}", flush=True)
    t0 = time.monotonic()
    try:
        g = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd,
                       cmdline="console=ttyS0 panic=-1 no_timer_check", memory_mib=256, engine=engine, vmm=vmm,
                       accel="bt", disks=[d.spec() for d in disks],
                       qemu_extra=qemu_args(disks), log=log)
    except GuestError as e:
        shutil.rmtree(work, ignore_errors=True)
        fail(f"{engine} did not start: {e}")
    results = {}
    try:
        boot = g.wait_ready(timeout=float(os.environ.get("VMM_LINUX_TIMEOUT", "900")))
        print(f"guest ready after {boot:.1f} s", flush=True)
        guest_exercise(g, disks, results)
        rc = g.poweroff(timeout=300)
    except GuestError as e:
        tail = g.text()[-4000:]
        try:
            if g.proc.poll() is None:
                _, dmesg = g.run("dmesg | tail -60", timeout=60)
                tail += "\n--- dmesg ---\n" + dmesg
        except GuestError:
            pass
        err = g.stderr_text()
        g.close()
        fail(f"{e}\n--- console tail ---\n{tail}\n--- {engine} stderr ---\n{err[-3000:]}")
    err = g.stderr_text()
    g.close()
    if rc != 0:
        fail(f"{engine} exited {rc} after poweroff -f: {err[-2000:]}")
    print(f"guest done and powered off after {time.monotonic() - t0:.1f} s", flush=True)
    for line in results["dmesg"].splitlines():
        if DMESG_SHOW.search(line):
            print(f"guest dmesg: {line.strip()}", flush=True)

    if results.get("cdrom") != cd_sums:
        fail(f"CD-ROM sums in the guest {results.get('cdrom')} != host {cd_sums}")
    if results.get("reread") != results.get(disks[0].key):
        fail(f"re-read sums {results.get('reread')} != written {results.get(disks[0].key)}")
    for d in disks:
        if not d.cdrom:
            host_check(d, vmm_img, results[d.key], work)
            print(f"ok: {d.key} ({d.fmt} on {d.bus}, guest /dev/{d.dev}): fsck clean, "
                  f"files match", flush=True)
    print("ok: cdrom (iso9660 on ahci ATAPI): 3 files match")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
