#!/bin/sh
# SPDX-License-Identifier: MIT
# Enforce the "may use" table of docs/architecture.md on #include lines (docs/conventions.md
# section 2).
# Usage: check_includes.sh SRCDIR   (exit 1 listing each violation)
set -u
src=${1:-src}
bad=0
# room regex-of-allowed-includes
check() {
	room=$1 allowed=$2
	[ -d "$src/$room" ] || return 0
	out=$(grep -rnE '#include "[^"]+"' "$src/$room" --include='*.c' --include='*.h' |
		grep -vE "#include \"($allowed)" || true)
	if [ -n "$out" ]; then
		echo "$room may include only: $allowed" | sed 's/|/, /g'
		echo "$out"
		bad=1
	fi
}
check bt-fallback 'vmm/accel\.h"|vmm/cpu_state\.h"|vmm/base/|bt-fallback/'
check vmdk 'vmm/base/|vmdk/'
check devices 'vmm/base/|vmm/(bus|irq|gmem|timer|platform|state)\.h"|devices/|vmdk/blockdev\.h"|net/net(_offload)?\.h"'
check virtio 'vmm/base/|vmm/(bus|irq|gmem|timer|platform|state)\.h"|devices/|virtio/|vmdk/blockdev\.h"|net/net(_offload)?\.h"'
check net 'vmm/base/|net/'
check vmm/base 'vmm/base/'
check vmmctl 'vmm/base/|vmm/http\.h"|vmmctl/'
# Files that must not include some headers: the vCPU reaches the board only through the hooks
# it is given (vcpu.h), and board_disks gets its interrupt lines from the board's line factory.
forbid() {
	what=$1 pattern=$2
	shift 2
	for f in "$@"; do
		[ -f "$src/$f" ] || continue
		out=$(grep -nE "#include \"($pattern)" "$src/$f" || true)
		if [ -n "$out" ]; then
			echo "$f must not include $what"
			echo "$out" | sed "s|^|$src/$f:|"
			bad=1
		fi
	done
}
forbid 'board headers' 'vmm/board_[^"]*\.h"' vmm/vcpu.c vmm/vcpu.h
forbid 'vmm/board_pc.h' 'vmm/board_pc\.h"' vmm/board_disks.c vmm/board_disks.h
# Library headers confined to one place each.
for rule in 'linux/kvm\.h:vmm/kvm/' 'jansson\.h:(vmm/(spec[^/]*|control[^/]*)|vmmctl/vmmctl)\.c' 'liburing\.h:vmdk/aio_uring\.c' 'libslirp\.h:net/user\.c' 'libdeflate\.h:net/net_offload\.c'; do
	hdr=${rule%%:*} where=${rule#*:}
	out=$(grep -rnE "#include <$hdr>" "$src" | grep -vE "^$src/$where" || true)
	if [ -n "$out" ]; then
		echo "<$hdr> may be included only under $where"
		echo "$out"
		bad=1
	fi
done
# The KVM accelerator knows no device and no board (docs/architecture.md, "The seams"): nothing
# under vmm/kvm/ includes a device, virtio, block-layer, BT-engine or board header; it sees the
# machine only through vmm/accel.h. (<linux/kvm.h> stays under vmm/kvm/: the rule above.)
out=$(grep -rnE '#include "(devices/|virtio/|vmdk/|bt-fallback/|vmm/board_)' "$src/vmm/kvm" \
	--include='*.c' --include='*.h' 2>/dev/null || true)
if [ -n "$out" ]; then
	echo "vmm/kvm may not include device, virtio, block-layer, BT-engine or board headers"
	echo "$out"
	bad=1
fi
[ $bad -eq 0 ] && echo "include rules: ok"
exit $bad
