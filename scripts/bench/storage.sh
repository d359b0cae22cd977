#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 6 "Speed": the same in-guest sequential workload against a virtio-blk
# disk and an AHCI SATA disk, with this VMM (accel bt) and with QEMU TCG, in one run. The
# guest is the default Linux guest (generic kernel, its own virtio_blk and ahci drivers, the
# module overlay of tests/integration/linux_storage.py). Per disk:
#   write: dd if=/dev/zero of=/dev/DISK bs=$BS count=N oflag=direct conv=fsync
#   read:  dd if=/dev/DISK of=/dev/null bs=$BS count=N iflag=direct
# (the page cache is bypassed, so every block crosses the device). Each is timed on the host
# around the shell command, minus the round trip of an empty command, best of REPEAT runs.
# Prints MB/s per engine, disk and direction, and the ratios ours / QEMU TCG (>= 1: faster).
# Usage: scripts/bench/storage.sh [BUILD_DIR] [GUEST_DIR]
#   BUILD_DIR defaults to build (needs src/vmm/vmm), GUEST_DIR to $VMM_GUEST_DIR or
#   /work/guest or BUILD_DIR/guest (scripts/build-guest.sh); both may be relative to the current
#   folder. SIZE_MIB (default 64), BS
#   (default 1M) and REPEAT (default 3) tune the workload; ENGINES="vmm qemu" picks engines.
#   The qemu engine needs qemu-system-x86_64 (Debian's qemu-system-x86).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
# Absolute paths: the guest's files are named in a spec written to a temporary folder.
build=$(cd "${1:-build}" 2>/dev/null && pwd) ||
	{ echo "storage: no build directory ${1:-build}" >&2; exit 2; }
vmm=$build/src/vmm/vmm
guest=${2:-${VMM_GUEST_DIR:-}}
if [ -z "$guest" ]; then
	for g in /work/guest "$build/guest"; do
		[ -f "$g/vmlinuz-generic" ] && guest=$g && break
	done
fi
[ -n "$guest" ] && [ -f "$guest/vmlinuz-generic" ] || {
	echo "no built guest (scripts/build-guest.sh DIR, then pass DIR)" >&2
	exit 1
}
guest=$(cd "$guest" && pwd)
export VMM_GUEST_DIR=$guest
export SIZE_MIB=${SIZE_MIB:-64} BS=${BS:-1M} REPEAT=${REPEAT:-3} ENGINES=${ENGINES:-vmm qemu}
set -- "$vmm"
case " $ENGINES " in *" qemu "*) set -- "$@" qemu-system-x86_64 ;; esac
for t in "$@"; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1 exec python3 - "$vmm" <<'PY'
import os, shutil, sys, tempfile, time
import linux_storage as ls
from guest_shell import GuestError, LinuxGuest

vmm = sys.argv[1]
gdir = os.environ["VMM_GUEST_DIR"]
size_mib, bs, repeat = int(os.environ["SIZE_MIB"]), os.environ["BS"], int(os.environ["REPEAT"])
bs_bytes = int(bs[:-1]) << {"K": 10, "M": 20}[bs[-1]] if bs[-1] in "KM" else int(bs)
count = size_mib * (1 << 20) // bs_bytes
work = tempfile.mkdtemp(prefix="vmm-bench-storage-")
initrd, release, _ = ls.build_initrd(gdir, work)
disks = []
for key, bus in (("virtio", "virtio"), ("ahci", "ahci")):
    path = os.path.join(work, key + ".raw")
    with open(path, "wb") as f:
        f.truncate((size_mib + 16) << 20)
    disks.append(ls.Disk(key, path, "raw", bus, "BENCH-" + key.upper()))


def timed(g, cmd):
    t = time.monotonic()
    g.run(cmd, timeout=1800)
    return time.monotonic() - t


def bench(engine):
    g = LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd,
                   cmdline="console=ttyS0 panic=-1 no_timer_check", memory_mib=256, engine=engine, vmm=vmm,
                   accel="bt", disks=[d.spec() for d in disks], qemu_extra=ls.qemu_args(disks))
    try:
        boot = g.wait_ready(timeout=1800)
        ls.grun(g, "dmesg -n 1")
        ls.grun(g, "/vmmtest/load", timeout=1800)
        ls.find_devices(g, disks)
        rtt = min(timed(g, "true") for _ in range(5))
        out = {"boot": boot}
        for d in disks:
            for what, cmd in (
                    ("write", f"dd if=/dev/zero of=/dev/{d.dev} bs={bs} count={count} "
                              "oflag=direct conv=fsync 2>/dev/null"),
                    ("read", f"dd if=/dev/{d.dev} of=/dev/null bs={bs} count={count} "
                             "iflag=direct 2>/dev/null")):
                t = min(timed(g, cmd) for _ in range(repeat))
                out[(d.key, what)] = size_mib * 1.048576 / max(t - rtt, 1e-6)
        rc = g.poweroff(timeout=600)
        if rc != 0:
            raise GuestError(f"exit status {rc} after poweroff")
        return out
    except GuestError as e:
        raise GuestError(f"{e}\n{g.text()[-1500:]}\n{g.stderr_text()[-1500:]}")
    finally:
        g.close()


results = {}
for engine in os.environ["ENGINES"].split():
    print(f"{engine}: booting {release} and running {size_mib} MiB with bs={bs} "
          f"(best of {repeat})...", flush=True)
    try:
        results[engine] = bench(engine)
    except GuestError as e:
        print(f"{engine}: failed: {str(e).strip()}", flush=True)
shutil.rmtree(work, ignore_errors=True)
print()
for engine, r in results.items():
    print(f"{engine:5s} boot to shell {r['boot']:.1f} s; " + ", ".join(
        f"{d.key} {w} {r[(d.key, w)]:.1f} MB/s" for d in disks for w in ("write", "read")))
if "vmm" in results and "qemu" in results:
    print("ours / QEMU TCG (>= 1: at least as fast): " + ", ".join(
        f"{d.key} {w} {results['vmm'][(d.key, w)] / results['qemu'][(d.key, w)]:.2f}"
        for d in disks for w in ("write", "read")))
sys.exit(0 if len(results) == len(os.environ["ENGINES"].split()) else 1)
PY
