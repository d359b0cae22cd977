# SPDX-License-Identifier: MIT
"""Boot the default Linux guest (scripts/build-guest.sh: a Debian 12 kernel plus the busybox
initramfs) under `vmm run` and drive its shell over the serial console (guest_shell.LinuxGuest):
wait for VMM-GUEST-READY and the prompt, then check

  uname -a             Linux, the kernel release of the image booted, x86_64
  cat /proc/cpuinfo    one "processor" entry per vCPU, a "flags" line
  md5sum FILES         /init, /root/known.txt and /bin/busybox match the host's md5 of the same
                       files, read from the initramfs archive itself (newc cpio, gzip)
  nproc                the vCPU count

then `poweroff -f` (ACPI S5) and expect the vmm to exit with status 0.

usage: linux_boot.py VMM DEFAULT_GUEST_DIR {cloud|generic} VCPUS [--engine qemu]

The guest directory is $VMM_GUEST_DIR if set, else DEFAULT_GUEST_DIR (meson passes
<build>/guest, where scripts/test builds it); the test skips (77) when the guest is not built.
The accelerator is bt unless $VMM_LINUX_ACCEL says otherwise; with kvm the test skips (77)
when the vmm reports it as not available (exit status 3), as the tiny guests do (bt needs nothing
from the host: its refusal is a failure). `--engine qemu`
runs the same script against qemu-system-x86_64 -accel tcg (to check the script, not the vmm).
Timeouts: $VMM_LINUX_TIMEOUT seconds for the boot (default 600) and for each command.

References: Documentation/admin-guide/serial-console.rst and kernel-parameters.txt (console=,
panic=), the cpio(5) "new ASCII" format, the initramfs buffer format
(Documentation/driver-api/early-userspace/buffer-format.rst)."""
import gzip
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_shell import GuestError, LinuxGuest, guest_dir  # noqa: E402
from harness import fail, skip  # noqa: E402

MD5_FILES = ("init", "root/known.txt", "bin/busybox")


def cpio_members(path, wanted):
    """{name: bytes} for the regular files named in wanted, from a gzip'd newc cpio archive."""
    with open(path, "rb") as f:
        data = gzip.decompress(f.read())
    out = {}
    off = 0
    while off + 110 <= len(data):
        hdr = data[off:off + 110]
        if hdr[:6] not in (b"070701", b"070702"):
            raise ValueError(f"{path}: not a newc cpio archive at offset {off}")
        field = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = field[1], field[6], field[11]
        name_end = off + 110 + namesize
        name = data[off + 110:name_end - 1].decode()
        body = (name_end + 3) & ~3
        if name == "TRAILER!!!":
            break
        name = name[2:] if name.startswith("./") else name
        if name in wanted and (mode & 0o170000) == 0o100000:
            out[name] = data[body:body + filesize]
        off = (body + filesize + 3) & ~3
    return out


def kernel_release(vmlinuz):
    """The release string in a bzImage header (boot protocol: kernel_version at 0x20e)."""
    with open(vmlinuz, "rb") as f:
        img = f.read(0x10000)
    ptr = int.from_bytes(img[0x20e:0x210], "little") + 0x200
    return img[ptr:img.index(b"\0", ptr)].decode(errors="replace").split()[0]


def main():
    args = sys.argv[1:]
    engine = "vmm"
    if "--engine" in args:
        i = args.index("--engine")
        engine = args[i + 1]
        del args[i:i + 2]
    if len(args) != 4 or args[2] not in ("cloud", "generic"):
        print(__doc__)
        sys.exit(2)
    vmm, default_dir, flavour, vcpus = args[0], args[1], args[2], int(args[3])
    gdir = guest_dir(default_dir)
    if gdir is None:
        skip(f"the default guest is not built in {os.environ.get('VMM_GUEST_DIR') or default_dir}"
             " (scripts/build-guest.sh DIR, or set VMM_GUEST_DIR)")
    kernel = os.path.join(gdir, f"vmlinuz-{flavour}")
    initrd = os.path.join(gdir, "initramfs.cpio.gz")
    accel = os.environ.get("VMM_LINUX_ACCEL", "bt")
    timeout = float(os.environ.get("VMM_LINUX_TIMEOUT", "600"))
    release = kernel_release(kernel)
    files = cpio_members(initrd, MD5_FILES)
    if "init" not in files or "bin/busybox" not in files:
        fail(f"{initrd} lacks /init or /bin/busybox")
    if "root/known.txt" not in files:
        print("note: this initramfs has no /root/known.txt (built before it was added): "
              "checking /init and /bin/busybox only")
    want_md5 = {"/" + n: hashlib.md5(b).hexdigest() for n, b in sorted(files.items())}

    print(f"booting {kernel} ({release}) with {vcpus} vCPU(s) under "
          f"{engine if engine == 'qemu' else 'vmm, accel ' + accel}")
    try:
        g = LinuxGuest(kernel, initrd, cmdline="console=ttyS0 panic=-1 no_timer_check", vcpus=vcpus,
                       engine=engine, vmm=vmm, accel=accel, log=sys.stdout)
    except GuestError as e:
        # Only KVM can be missing on a host; the BT engine needs nothing from it.
        if accel == "kvm" and "not available" in str(e) and "exited with 3" in str(e):
            skip(f"accelerator {accel} not available: {e}")
        fail(f"the guest did not start: {e}")
    try:
        try:
            secs = g.wait_ready(timeout)
            print(f"\n--- shell ready after {secs:.1f} s")
            status, out = g.run("uname -a", timeout)
            # a kernel message on the console (the TSC's refined calibration comes ~2 s in)
            # may come before the output line
            line = next((ln for ln in out.splitlines() if ln.startswith("Linux ")), "")
            if status != 0 or release not in line or "x86_64" not in line:
                fail(f"uname -a: status {status}, output {out!r} (want Linux {release} x86_64)")
            status, out = g.run("cat /proc/cpuinfo", timeout)
            procs = [ln for ln in out.splitlines() if ln.startswith("processor")]
            flags = [ln for ln in out.splitlines() if ln.startswith("flags")]
            if status != 0 or len(procs) != vcpus or len(flags) != vcpus:
                fail(f"/proc/cpuinfo: status {status}, {len(procs)} processor and {len(flags)} "
                     f"flags lines, want {vcpus}")
            names = " ".join(want_md5)
            status, out = g.run(f"md5sum {names}", timeout)
            got_md5 = {}
            for ln in out.splitlines():
                parts = ln.split()
                if len(parts) == 2:
                    got_md5[parts[1]] = parts[0]
            if status != 0 or got_md5 != want_md5:
                fail(f"md5sum: status {status}, got {got_md5}, want {want_md5}")
            status, out = g.run("nproc", timeout)
            if status != 0 or out.strip() != str(vcpus):
                fail(f"nproc: status {status}, output {out!r}, want {vcpus}")
            rc = g.poweroff(timeout)
        except GuestError as e:
            fail(f"{e}\n--- vmm stderr:\n{g.stderr_text()}")
        if rc != 0:
            fail(f"exit status {rc} after poweroff -f, want 0\n--- stderr:\n{g.stderr_text()}")
        print(f"\nPASS: {flavour} kernel, {vcpus} vCPU(s): shell, uname, cpuinfo, md5sum, nproc, "
              "poweroff")
    finally:
        g.close()


if __name__ == "__main__":
    main()
