#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 16 ("guest-login.sh"): a Debian 12 systemd root on a VMDK over virtio-blk
# (debootstrapped from Debian's packages by tests/integration/systemd_guest.sh, with Debian's
# kernel and initramfs) booted to its serial login under accel bt, against
# qemu-system-x86_64 -accel tcg with the same kernel, initramfs and VMDK in the same run; goal
# <= 0.7x TCG's time. It also times vm.power-button to the vmm process ending after systemd's
# shutdown. The measuring code is part 4 of scripts/bench/api.sh (one implementation, shared);
# this script builds the guest when it is missing and runs that part alone, RUNS times each.
# Usage: scripts/bench/guest-login.sh [RUNS]   (default 3)
#   BUILD=<dir>       build directory with src/vmm/vmm (default build)
#   SYSTEMD_GUEST=    the systemd guest folder (default <BUILD>/systemd-guest; built if absent)
# Needs python3, qemu-system-x86_64 (Debian's qemu-system-x86) for the ratio, and for building
# the guest what tests/integration/systemd_root.sh needs (root, debootstrap, a Debian mirror
# or its cache). A benchmark, not a test.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd) || {
	echo "guest-login: no build directory ${BUILD:-$root/build}" >&2
	exit 2
}
sdir=${SYSTEMD_GUEST:-$build/systemd-guest}
if [ ! -f "$sdir/root.vmdk" ]; then
	echo "guest-login: building the Debian 12 systemd guest in $sdir (debootstrap; minutes)"
	rc=0
	sh "$root/tests/integration/systemd_guest.sh" "$sdir" "$build/src/vmdk/tool/vmm-img" || rc=$?
	[ "$rc" -eq 0 ] || { echo "guest-login: the guest could not be built (status $rc)" >&2; exit 1; }
fi
BUILD=$build SYSTEMD_GUEST=$sdir RUNS_SYSTEMD=${1:-3} ONLY_SYSTEMD=1 exec sh "$root/scripts/bench/api.sh"
