#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 5 "Speed": boot the default guest's cloud kernel and initramfs to the
# VMM-GUEST-READY marker with this vmm (accel bt) and with qemu-system-x86_64 -accel tcg, the
# same command line for both (console=ttyS0 vmm.poweroff: /init powers off right after the
# marker), RUNS times each, interleaved so both see the same host load. Prints the wall time of
# each run (process start to the marker on the serial console, a unix socket), the medians and
# the ratio ours/qemu (target: <= 3).
# Usage: scripts/bench/linux-boot.sh [RUNS]   (default 5)
#   BUILD=<dir>      build directory with src/vmm/vmm (default build)
#   VMM_GUEST_DIR=   the default guest (default <BUILD>/guest; scripts/build-guest.sh makes it)
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
for f in "$vmm" "$guest/vmlinuz-cloud" "$guest/initramfs.cpio.gz"; do
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
exec python3 - "$root/tests/integration" "$vmm" "$guest" "$runs" "${ACCEL:-bt}" "${VCPUS:-1}" \
	"${TIMEOUT:-600}" <<'PY'
import statistics, sys, time
sys.path.insert(0, sys.argv[1])
from guest_shell import GuestError, LinuxGuest

vmm, guest, runs, accel, vcpus, timeout = sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
kernel, initrd = f"{guest}/vmlinuz-cloud", f"{guest}/initramfs.cpio.gz"
cmdline = "console=ttyS0 vmm.poweroff no_timer_check"


def boot(engine):
    t0 = time.monotonic()
    g = LinuxGuest(kernel, initrd, cmdline=cmdline, vcpus=vcpus, engine=engine, vmm=vmm,
                   accel=accel)
    try:
        g.wait_marker(timeout)
        t = time.monotonic() - t0
        rc = g.wait_exit(60)
        if rc != 0:
            raise GuestError(f"exit status {rc} after the power-off")
        return t
    finally:
        g.close()


times = {"vmm": [], "qemu": []}
names = {"vmm": f"vmm (accel {accel})", "qemu": "qemu-system-x86_64 -accel tcg"}
for i in range(runs):
    for engine in ("vmm", "qemu"):
        try:
            t = boot(engine)
        except GuestError as e:
            print(f"run {i + 1}: {names[engine]}: failed: {e}")
            sys.exit(1)
        times[engine].append(t)
        print(f"run {i + 1}: {names[engine]}: {t:.2f} s to VMM-GUEST-READY", flush=True)
med = {e: statistics.median(v) for e, v in times.items()}
for e in ("vmm", "qemu"):
    print(f"median {names[e]}: {med[e]:.2f} s over {runs} runs")
print(f"ratio ours/qemu (medians): {med['vmm'] / med['qemu']:.2f} (target <= 3)")
PY
