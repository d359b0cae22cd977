# SPDX-License-Identifier: MIT
"""Which x86-64 levels a Debian 12 userland sees on each CPU model: boot the default guest's
cloud kernel under `vmm run` (accel bt) with "cpu": {"model": M} for every named model, with an
initramfs that adds Debian's glibc dynamic loader (/lib64/ld-linux-x86-64.so.2 from the libc6
package, which has no dependencies of its own), and run `ld.so --help`: glibc prints the
glibc-hwcaps subdirectories, in priority order, each "(supported, searched)" when the CPU has
every feature of that level (x86-64-v2: CMPXCHG16B, LAHF/SAHF, POPCNT, SSE3, SSSE3, SSE4.1,
SSE4.2; v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, OSXSAVE with the AVX state), i.e. the
string functions glibc will pick. The guest's /proc/cpuinfo flags are checked against the model.

Expected (docs/cpu-model.md): k8 supports neither level; x86-64-v2 supports v2, not v3; epyc
and icelake support v2 and v3 (v3 only once the engine has AVX: the models carry only what it
implements; the expectation follows CPU_FEATURE_LIST's avx entry).

usage: linux_cpu_levels.py VMM DEFAULT_GUEST_DIR SOURCE_ROOT
libc6 comes from the guest's package cache (scripts/build-guest.sh's cache folder), fetched with
`apt-get download libc6` when missing; the test skips (77) when the guest is not built or the
package cannot be had. Prints the level table; $VMM_LINUX_TIMEOUT bounds each boot."""
import glob
import gzip
import io
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest_shell import GuestError, LinuxGuest, guest_dir  # noqa: E402
from harness import fail, skip  # noqa: E402

LDSO = "lib64/ld-linux-x86-64.so.2"
# "  x86-64-v3 (supported, searched)", or the bare name when unsupported.
LEVEL_RE = re.compile(r"^\s+(x86-64-v[234])(?: \(([^)]*)\))?\s*$", re.M)


def libc6_deb(cache):
    debs = sorted(glob.glob(os.path.join(cache, "libc6_*_amd64.deb")))
    if debs:
        return debs[-1]
    os.makedirs(cache, exist_ok=True)
    p = subprocess.run(["apt-get", "download", "libc6:amd64"], cwd=cache, capture_output=True,
                       text=True, timeout=300)
    debs = sorted(glob.glob(os.path.join(cache, "libc6_*_amd64.deb")))
    if p.returncode != 0 or not debs:
        skip(f"no libc6 package for the loader (apt-get download: {p.stderr.strip()[-300:]})")
    return debs[-1]


def newc(name, data, mode):
    """One newc cpio member (cpio(5)), padded to 4 bytes."""
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    hdr = b"070701" + b"".join(b"%08x" % f for f in fields) + name.encode() + b"\0"
    hdr += b"\0" * (-len(hdr) % 4)
    return hdr + data + b"\0" * (-len(data) % 4)


def loader_initrd(guest, deb, out):
    """The default initramfs with a second archive holding the loader appended (the kernel
    unpacks concatenated archives, buffer-format.rst)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["dpkg-deb", "-x", deb, d], check=True, timeout=120)
        path = os.path.realpath(os.path.join(d, LDSO))
        if not os.path.exists(path):
            fail(f"{deb} has no {LDSO}")
        with open(path, "rb") as f:
            ldso = f.read()
    arc = newc("lib64", b"", 0o040755) + newc(LDSO, ldso, 0o100755) + newc("TRAILER!!!", b"", 0)
    with open(os.path.join(guest, "initramfs.cpio.gz"), "rb") as f:
        base = f.read()
    with open(out, "wb") as f:
        f.write(base + gzip.compress(arc))


def avx_implemented(root):
    with open(os.path.join(root, "src/vmm/base/cpu_model.h")) as f:
        return re.search(r'X\(AVX, "avx", CPU_FW_1_ECX, 28, 1\)', f.read()) is not None


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    vmm, default_guest, root = sys.argv[1:4]
    guest = guest_dir(default_guest)
    if not guest:
        skip(f"the default guest is not built in {default_guest} (scripts/build-guest.sh)")
    deb = libc6_deb(os.path.join(guest, "cache"))
    timeout = int(os.environ.get("VMM_LINUX_TIMEOUT", "600"))
    v3 = avx_implemented(root)
    want = {"k8": (False, False), "x86-64-v2": (True, False), "epyc": (True, v3),
            "icelake": (True, v3)}
    flags_want = {"k8": ({"sse2", "pni", "cx16"}, {"ssse3", "sse4_2", "popcnt", "avx"}),
                  "x86-64-v2": ({"sse4_2", "popcnt", "ssse3", "x2apic", "pcid", "smep"}, {"avx"}),
                  "epyc": ({"sse4_2", "rdtscp", "fsgsbase", "xsavec"} | ({"avx2", "fma"} if v3
                                                                      else set()), set()),
                  "icelake": ({"sse4_2", "invpcid", "arch_capabilities"}, {"pti"})}
    with tempfile.TemporaryDirectory() as tmp:
        initrd = os.path.join(tmp, "initrd.gz")
        loader_initrd(guest, deb, initrd)
        rows = []
        for model, (v2_ok, v3_ok) in want.items():
            g = LinuxGuest(os.path.join(guest, "vmlinuz-cloud"), initrd,
                           cmdline="console=ttyS0 panic=-1 no_timer_check", vmm=vmm,
                           cpu={"model": model})
            try:
                g.wait_ready(timeout)
                st, out = g.run("/lib64/ld-linux-x86-64.so.2 --help", timeout)
                if st != 0:
                    fail(f"{model}: ld.so --help: exit {st}: {out[-500:]}")
                levels = {lv: "supported" in how for lv, how in LEVEL_RE.findall(out)}
                st, flags = g.run("grep -m1 '^flags' /proc/cpuinfo", timeout)
                flags = set(flags.split(":", 1)[-1].split())
                if g.poweroff(timeout) != 0:
                    fail(f"{model}: poweroff did not end the VM with status 0")
            except GuestError as e:
                fail(f"{model}: {e}\n--- console:\n{g.text()[-3000:]}\n--- stderr:\n"
                     f"{g.stderr_text()[-2000:]}")
            finally:
                g.close()
            if "x86-64-v2" not in levels:
                fail(f"{model}: ld.so --help lists no x86-64-v2 line:\n{out}")
            got = (levels.get("x86-64-v2", False), levels.get("x86-64-v3", False))
            rows.append((model, got))
            if got != (v2_ok, v3_ok):
                fail(f"{model}: x86-64-v2/v3 supported {got}, expected {(v2_ok, v3_ok)}:\n{out}")
            have, lack = flags_want[model]
            if not have <= flags or lack & flags:
                fail(f"{model}: /proc/cpuinfo flags lack {sorted(have - flags)} or have "
                     f"{sorted(lack & flags)}: {sorted(flags)}")
    print("model       x86-64-v2  x86-64-v3   (ld.so --help of Debian 12's glibc)")
    for model, (a, b) in rows:
        print(f"{model:<11} {'supported' if a else '-':<10} {'supported' if b else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
