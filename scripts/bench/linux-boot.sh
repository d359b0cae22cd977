#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issues 5 and 16 "Speed": boot the default guest's kernel and initramfs to the
# VMM-GUEST-READY marker with this vmm (accel bt) and with qemu-system-x86_64 -accel tcg, the
# same command line for both (console=ttyS0 no_timer_check; at the marker the resident memory
# is read while the guest waits at its shell, then the shell powers it off), RUNS times each,
# interleaved so both see the same host load. Prints the wall time of each run (process start
# to the marker on the serial console, a unix socket), the medians, the ratio ours/qemu (goal
# with the JIT: <= 0.7) and each process's resident memory beyond the guest's RAM (total RSS
# minus the RSS of the guest-RAM mapping, read at the marker).
# Usage: scripts/bench/linux-boot.sh [RUNS]   (default 5)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
#   KERNEL=          cloud (default) or generic: which of the guest's Debian kernels
#   VMM_BT_ENGINE=   jit (the default) or interpreter; VMM_BT_JIT_THRESHOLD= (default 16)
#   VMM_B=           another vmm binary (e.g. build-lto/src/vmm/vmm) booted in the same
#                    interleaving: an A/B of a change or a build option, medians and ratio
#   ACCEL=           our accelerator (default bt), VCPUS= (default 1), TIMEOUT= seconds (600);
#                    ACCEL=kvm needs hardware-assisted KVM (on kvm_pvm, a software-only KVM
#                    about 5000x slower, the ratio would measure PVM: refused)
# BUILD and VMM_GUEST_DIR may be relative to the current folder.
# Needs python3 and qemu-system-x86_64 (Debian's qemu-system-x86). A benchmark, not a test.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || { echo "linux-boot: no build directory ${BUILD:-$root/build}" >&2; exit 2; }
runs=${1:-5}
vmm=$build/src/vmm/vmm
guest=${VMM_GUEST_DIR:-$build/guest}
kernel=${KERNEL:-cloud}
case $kernel in cloud|generic) ;; *) echo "linux-boot: KERNEL is cloud or generic" >&2; exit 2 ;; esac
for f in "$vmm" "$guest/vmlinuz-$kernel" "$guest/initramfs.cpio.gz"; do
	[ -e "$f" ] || { echo "missing $f (build first; scripts/build-guest.sh $build/guest)" >&2; exit 1; }
done
guest=$(cd "$guest" && pwd)
if [ "${ACCEL:-bt}" = kvm ] && "$vmm" host-info | grep -q '^hardware assist: no'; then
	echo "linux-boot: ACCEL=kvm needs hardware-assisted KVM, which this host lacks:" >&2
	"$vmm" host-info | grep '^hardware assist' >&2
	exit 2
fi
command -v qemu-system-x86_64 >/dev/null || { echo "missing qemu-system-x86_64" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1
if [ -n "${VMM_B:-}" ]; then
	VMM_B=$(realpath "$VMM_B") && [ -x "$VMM_B" ] || { echo "linux-boot: VMM_B is not a program" >&2; exit 2; }
	export VMM_B
fi
exec python3 - "$root/tests/integration" "$vmm" "$guest" "$runs" "${ACCEL:-bt}" "${VCPUS:-1}" \
	"${TIMEOUT:-600}" "$kernel" <<'PY'
import os, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from guest_shell import GuestError, LinuxGuest

vmm, guest, runs, accel, vcpus, timeout = sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
kernel, initrd = f"{guest}/vmlinuz-{sys.argv[8]}", f"{guest}/initramfs.cpio.gz"
cmdline = "console=ttyS0 no_timer_check"
memory_mib = 256


def rss_beyond_ram(pid):
    """KiB resident outside the guest-RAM mapping (the one mapping of exactly the RAM size, or
    the largest), or None when the process is gone."""
    total, maps, cur = 0, [], None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                word = line.split()[0]
                if "-" in word and not word.endswith(":"):
                    lo, hi = (int(x, 16) for x in word.split("-"))
                    cur = [hi - lo, 0]
                    maps.append(cur)
                elif word == "Rss:":
                    cur[1] = int(line.split()[1])
                    total += cur[1]
    except (FileNotFoundError, ProcessLookupError):
        return None
    if not maps:
        return None
    ram = [m for m in maps if m[0] == memory_mib << 20] or [max(maps)]
    return total - ram[0][1]


vmm_b = os.environ.get("VMM_B")
engines = ("vmm", "qemu") + (("vmm_b",) if vmm_b else ())


def boot(engine):
    t0 = time.monotonic()
    g = LinuxGuest(kernel, initrd, cmdline=cmdline, vcpus=vcpus, memory_mib=memory_mib,
                   engine="qemu" if engine == "qemu" else "vmm",
                   vmm=vmm_b if engine == "vmm_b" else vmm, accel=accel)
    try:
        g.wait_marker(timeout)
        t = time.monotonic() - t0
        rss = rss_beyond_ram(g.proc.pid)  # the guest waits at its shell meanwhile
        rc = g.poweroff(60)
        if rc != 0:
            raise GuestError(f"exit status {rc} after the power-off")
        return t, rss
    finally:
        g.close()


times = {e: [] for e in engines}
rss = {e: [] for e in engines}
names = {"vmm": f"vmm (accel {accel})", "qemu": "qemu-system-x86_64 -accel tcg",
         "vmm_b": f"VMM_B {vmm_b} (accel {accel})"}
for i in range(runs):
    for engine in engines:
        try:
            t, r = boot(engine)
        except GuestError as e:
            print(f"run {i + 1}: {names[engine]}: failed: {e}")
            sys.exit(1)
        times[engine].append(t)
        if r is not None:
            rss[engine].append(r)
        print(f"run {i + 1}: {names[engine]}: {t:.2f} s to VMM-GUEST-READY" +
              (f", {r / 1024:.1f} MiB resident beyond guest RAM" if r is not None else ""),
              flush=True)
med = {e: statistics.median(v) for e, v in times.items()}
for e in engines:
    print(f"median {names[e]}: {med[e]:.2f} s over {runs} runs")
print(f"kernel {sys.argv[8]}, {vcpus} vCPU(s), engine {os.environ.get('VMM_BT_ENGINE', 'jit')}")
print(f"ratio ours/qemu (medians): {med['vmm'] / med['qemu']:.2f} (goal <= 0.7)")
if vmm_b:
    print(f"ratio VMM_B/ours (medians): {med['vmm_b'] / med['vmm']:.2f} (< 1: VMM_B is faster)")
for e in engines:
    if rss[e]:
        print(f"resident beyond guest RAM, {names[e]}: {statistics.median(rss[e]) / 1024:.1f} MiB "
              f"(median)")
print(f"load average: {os.getloadavg()[0]:.1f} (noisy if high)")
PY
