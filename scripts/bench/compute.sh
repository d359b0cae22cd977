#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 16 (the BT engine's JIT): in-guest compute jobs on the default guest's cloud
# kernel, with this vmm (accel bt) and with qemu-system-x86_64 -accel tcg, and the same busybox
# binary (the guest's own, static) run natively on the host:
#   md5      busybox md5sum of a 64 MiB file in the guest's tmpfs (the host: in a temp folder)
#   awk      a busybox awk loop of AWK_N iterations
#   awk-2x   the same loop split in two halves run by two processes at once (VCPUS >= 2): the
#            SMP scaling, awk / awk-2x (2.0 is perfect)
# Each job runs RUNS times per engine, the engines interleaved so they see the same host load;
# prints each time (host wall clock around the shell command), the medians and the ratios
# ours/qemu (goal <= 0.7 for the boots) and ours/native (goal <= 3).
# Usage: scripts/bench/compute.sh [RUNS]   (default 3)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
#   VCPUS= (default 2), AWK_N= (default 3000000), TIMEOUT= seconds per command (default 1200)
#   VMM_BT_ENGINE=interpreter measures the interpreter instead of the JIT.
# Needs python3 and qemu-system-x86_64 (Debian's qemu-system-x86). A benchmark, not a test.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || { echo "compute: no build directory ${BUILD:-$root/build}" >&2; exit 2; }
runs=${1:-3}
vmm=$build/src/vmm/vmm
guest=${VMM_GUEST_DIR:-$build/guest}
for f in "$vmm" "$guest/vmlinuz-cloud" "$guest/initramfs.cpio.gz" "$guest/initramfs-root/bin/busybox"; do
	[ -e "$f" ] || { echo "missing $f (build first; scripts/build-guest.sh $build/guest)" >&2; exit 1; }
done
guest=$(cd "$guest" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "missing qemu-system-x86_64" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1
exec python3 - "$root/tests/integration" "$vmm" "$guest" "$runs" "${VCPUS:-2}" \
	"${AWK_N:-3000000}" "${TIMEOUT:-1200}" <<'PY'
import os, shutil, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from guest_shell import GuestError, LinuxGuest

vmm, guest = sys.argv[2], sys.argv[3]
runs, vcpus, awk_n, timeout = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), \
    float(sys.argv[7])
kernel, initrd = f"{guest}/vmlinuz-cloud", f"{guest}/initramfs.cpio.gz"
busybox = f"{guest}/initramfs-root/bin/busybox"


def awk(n, bb="busybox"):
    return f"{bb} awk 'BEGIN {{ s = 0; for (i = 0; i < {n}; i++) s = (s + i * i) % 1000003; print s }}'"


def jobs(bb, path):
    j = {"md5": f"{bb} md5sum {path}", "awk": awk(awk_n, bb)}
    if vcpus >= 2:
        j["awk-2x"] = f"{awk(awk_n // 2, bb)} > /dev/null & {awk(awk_n // 2, bb)}; wait"
    return j


def in_guest(engine):
    g = LinuxGuest(kernel, initrd, cmdline="console=ttyS0 no_timer_check", vcpus=vcpus,
                   memory_mib=512, engine=engine, vmm=vmm)
    try:
        g.wait_ready(timeout)
        status, out = g.run("dd if=/dev/zero of=/tmp/z bs=1M count=64 2>/dev/null; sync", timeout)
        if status != 0:
            raise GuestError(f"dd: status {status}: {out}")
        t = {}
        for name, cmd in jobs("busybox", "/tmp/z").items():
            t0 = time.monotonic()
            status, out = g.run(cmd, timeout)
            t[name] = time.monotonic() - t0
            if status != 0:
                raise GuestError(f"{name}: status {status}: {out}")
        g.poweroff(timeout)
        return t
    finally:
        g.close()


def native(tmp):
    t = {}
    for name, cmd in jobs(busybox, f"{tmp}/z").items():
        t0 = time.monotonic()
        subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
        t[name] = time.monotonic() - t0
    return t


tmp = tempfile.mkdtemp(prefix="vmm-compute-")
try:
    with open(f"{tmp}/z", "wb") as f:
        f.truncate(64 << 20)
    names = {"vmm": f"vmm (accel bt, {os.environ.get('VMM_BT_ENGINE', 'jit')})",
             "qemu": "qemu-system-x86_64 -accel tcg", "native": "native"}
    times = {e: {} for e in names}
    for i in range(runs):
        for engine in names:
            try:
                t = native(tmp) if engine == "native" else in_guest(engine)
            except (GuestError, subprocess.CalledProcessError) as e:
                print(f"run {i + 1}: {names[engine]}: failed: {e}")
                sys.exit(1)
            for job, secs in t.items():
                times[engine].setdefault(job, []).append(secs)
            print(f"run {i + 1}: {names[engine]}: " +
                  ", ".join(f"{job} {secs:.2f} s" for job, secs in t.items()), flush=True)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
med = {e: {j: statistics.median(v) for j, v in jt.items()} for e, jt in times.items()}
for job in med["vmm"]:
    print(f"{job}: median vmm {med['vmm'][job]:.2f} s, qemu {med['qemu'][job]:.2f} s, native "
          f"{med['native'][job]:.3f} s; ours/qemu {med['vmm'][job] / med['qemu'][job]:.2f}, "
          f"ours/native {med['vmm'][job] / med['native'][job]:.1f} (goal <= 3)")
if "awk-2x" in med["vmm"]:
    for e in names:
        print(f"SMP scaling {names[e]}: awk / awk-2x = {med[e]['awk'] / med[e]['awk-2x']:.2f} "
              f"(2.00 is perfect)")
print(f"load average: {os.getloadavg()[0]:.1f} (noisy if high)")
PY
