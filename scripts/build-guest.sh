#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the default test guest from Debian 12 packages:
#   OUTDIR/vmlinuz-cloud        the newest linux-image-6.1.0-*-cloud-amd64 kernel
#   OUTDIR/vmlinuz-generic      the matching generic linux-image-6.1.0-*-amd64 kernel
#   OUTDIR/initramfs.cpio.gz    busybox-static + tests/guests/initramfs/init (+ a few modules
#                               of the generic kernel and the cloud kernel's efivarfs under
#                               /lib/modules, and
#                               tests/guests/initramfs/known.txt as /root/known.txt)
#   OUTDIR/kernel-versions.txt  the exact package versions used
# Downloads are cached in OUTDIR/cache; a re-run redoes only what is missing or out of date.
#
#   scripts/build-guest.sh OUTDIR            build
#   scripts/build-guest.sh --check OUTDIR    build, then boot vmlinuz-cloud under qemu (TCG) and
#                                            check it reaches VMM-GUEST-READY and that
#                                            `poweroff -f` ends qemu
#
# Needs: apt-get, apt-cache, dpkg-deb, cpio, gzip (and qemu-system-x86 for --check). Never
# writes into the source tree.
set -eu

check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--check] OUTDIR" >&2
	exit 2
fi

srcdir=$(cd "$(dirname "$0")/.." && pwd)
init_script="$srcdir/tests/guests/initramfs/init"
known_file="$srcdir/tests/guests/initramfs/known.txt"
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache="$out/cache"
mkdir -p "$cache"

say() {
	echo "build-guest: $*"
}

die() {
	echo "build-guest: error: $*" >&2
	exit 1
}

updated=0
apt_update_once() {
	if [ $updated -eq 0 ]; then
		say "package lists look missing or stale, running apt-get update"
		apt-get update -qq || die "apt-get update failed (needs root and network)"
		updated=1
	fi
}

# The concrete kernel package a meta package depends on, e.g. linux-image-6.1.0-56-cloud-amd64.
resolve_kernel() { # meta flavour-regex
	pkg=$(apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-'"$2"'\)$/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache search --names-only "^linux-image-6\.1\.0-[0-9]+-$2\$" 2>/dev/null |
			cut -d' ' -f1 | sort -V | tail -n1)
	fi
	echo "$pkg"
}

# Download one package into the cache unless a .deb of its candidate version is already there.
fetch() { # package
	ver=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		apt_update_once
		ver=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "package $1 not found by apt-cache"
	fi
	fver=$(echo "$ver" | sed 's/:/%3a/')
	deb="$cache/${1}_${fver}_amd64.deb"
	if [ -s "$deb" ]; then
		say "$1 $ver: already downloaded"
	else
		say "$1 $ver: downloading"
		if ! (cd "$cache" && apt-get download -qq "$1=$ver" 2>/dev/null); then
			apt_update_once
			(cd "$cache" && apt-get download -qq "$1=$ver") ||
				die "apt-get download $1=$ver failed"
		fi
		[ -s "$deb" ] || deb=$(ls -t "$cache/${1}_"*_amd64.deb | head -n1)
	fi
	echo "$1 $ver" >>"$out/kernel-versions.txt.new"
	# Unpack once per .deb.
	dir="$cache/x-$1"
	if [ ! -f "$dir/.done" ] || [ "$(cat "$dir/.done")" != "$(basename "$deb")" ]; then
		say "$1: unpacking"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		basename "$deb" >"$dir/.done"
	fi
}

# Replace dst by src only if they differ (keeps timestamps stable for make-like users).
install_file() { # src dst
	if ! cmp -s "$1" "$2" 2>/dev/null; then
		cp "$1" "$2.tmp"
		mv "$2.tmp" "$2"
		say "wrote $2"
	fi
}

[ -r "$init_script" ] || die "missing $init_script"
[ -r "$known_file" ] || die "missing $known_file"
rm -f "$out/kernel-versions.txt.new"

cloud=$(resolve_kernel linux-image-cloud-amd64 cloud-amd64)
if [ -z "$cloud" ]; then
	apt_update_once
	cloud=$(resolve_kernel linux-image-cloud-amd64 cloud-amd64)
fi
generic=$(resolve_kernel linux-image-amd64 amd64)
[ -n "$cloud" ] || die "no linux-image-6.1.0-*-cloud-amd64 package known to apt-cache"
[ -n "$generic" ] || die "no linux-image-6.1.0-*-amd64 package known to apt-cache"
say "kernels: $cloud, $generic"

fetch "$cloud"
fetch "$generic"
fetch busybox-static
mv "$out/kernel-versions.txt.new" "$out/kernel-versions.txt"

cloud_ver=${cloud#linux-image-}
generic_ver=${generic#linux-image-}
install_file "$cache/x-$cloud/boot/vmlinuz-$cloud_ver" "$out/vmlinuz-cloud"
install_file "$cache/x-$generic/boot/vmlinuz-$generic_ver" "$out/vmlinuz-generic"

# The initramfs: rebuilt when the init script, busybox, the kernel or this script (its module
# list) changed.
stamp="$(cksum <"$0") $(cksum <"$init_script") $(cksum <"$known_file") $(cat "$cache/x-busybox-static/.done") $generic_ver"
if [ -s "$out/initramfs.cpio.gz" ] && [ -f "$out/initramfs.stamp" ] &&
	[ "$(cat "$out/initramfs.stamp")" = "$stamp" ]; then
	say "initramfs.cpio.gz is up to date"
else
	say "building initramfs.cpio.gz"
	root="$out/initramfs-root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/root"
	cp "$cache/x-busybox-static/bin/busybox" "$root/bin/busybox"
	cp "$init_script" "$root/init"
	cp "$known_file" "$root/root/known.txt"
	chmod 755 "$root/init" "$root/bin/busybox"
	# Drivers the later device work needs (virtio, AHCI/ATA, e1000), the ACPI power button and its
	# evdev node (for acpid), pvpanic, the bochs DRM driver with its helpers and the PS/2 mouse
	# (the display tests), efivarfs (EFI variables); from the generic kernel.
	moddir="$cache/x-$generic/lib/modules/$generic_ver"
	for m in drivers/block/virtio_blk.ko drivers/virtio drivers/char/hw_random/virtio-rng.ko \
		drivers/net/virtio_net.ko drivers/net/net_failover.ko net/core/failover.ko \
		drivers/ata/libata.ko drivers/ata/libahci.ko drivers/ata/ahci.ko \
		drivers/ata/ata_piix.ko drivers/ata/ata_generic.ko drivers/scsi/sd_mod.ko \
		drivers/scsi/sr_mod.ko drivers/scsi/scsi_mod.ko drivers/cdrom/cdrom.ko \
		drivers/net/ethernet/intel/e1000/e1000.ko drivers/char/virtio_console.ko \
		drivers/acpi/button.ko drivers/input/evdev.ko drivers/misc/pvpanic \
		drivers/gpu/drm/drm.ko drivers/gpu/drm/drm_kms_helper.ko drivers/gpu/drm/ttm/ttm.ko \
		drivers/gpu/drm/drm_ttm_helper.ko drivers/gpu/drm/drm_vram_helper.ko \
		drivers/gpu/drm/tiny/bochs.ko drivers/input/mouse/psmouse.ko fs/efivarfs; do
		for f in "$moddir/kernel/$m"*; do
			[ -e "$f" ] || continue
			rel=${f#"$cache/x-$generic/"}
			mkdir -p "$root/$(dirname "$rel")"
			cp -r "$f" "$root/$rel"
		done
	done
	# efivarfs of the cloud kernel too (the one the firmware tests boot through OVMF): the
	# init mounts it when the kernel came up on EFI (the OVMF variable tests read and write it).
	f="$cache/x-$cloud/lib/modules/$cloud_ver/kernel/fs/efivarfs/efivarfs.ko"
	if [ -e "$f" ]; then
		rel=${f#"$cache/x-$cloud/"}
		mkdir -p "$root/$(dirname "$rel")"
		cp "$f" "$root/$rel"
	fi
	if [ -d "$moddir" ]; then
		for f in modules.order modules.builtin modules.builtin.modinfo; do
			[ -f "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$generic_ver/"
		done
		if command -v depmod >/dev/null 2>&1; then
			depmod -b "$root" "$generic_ver" 2>/dev/null || say "depmod failed, modprobe will not work (insmod will)"
		fi
	fi
	# Same inputs, same archive: fixed timestamps, sorted names, owner root, gzip -n.
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9n >"$out/initramfs.cpio.gz.tmp"
	mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
	# tmp + mv, like every output here: OUTDIR may be a hard-linked copy of another tree's.
	echo "$stamp" >"$out/initramfs.stamp.tmp"
	mv "$out/initramfs.stamp.tmp" "$out/initramfs.stamp"
	say "wrote $out/initramfs.cpio.gz ($(wc -c <"$out/initramfs.cpio.gz") bytes)"
fi

say "done: $(tr '\n' ';' <"$out/kernel-versions.txt")"

[ $check -eq 1 ] || exit 0

# Boot check under qemu TCG: wait for the marker, then type `poweroff -f` and expect qemu to end.
command -v qemu-system-x86_64 >/dev/null || die "--check needs qemu-system-x86_64"
say "checking: booting vmlinuz-cloud under qemu (TCG)"
log="$out/check.log"
fifo="$out/check.in"
rm -f "$fifo" "$log"
mkfifo "$fifo"
start=$(date +%s)
timeout 120 qemu-system-x86_64 -accel tcg -m 256 -kernel "$out/vmlinuz-cloud" \
	-initrd "$out/initramfs.cpio.gz" -append "console=ttyS0 panic=-1" -nographic \
	-no-reboot -monitor none -serial stdio <"$fifo" >"$log" 2>&1 &
qpid=$!
exec 3>"$fifo"
n=0
while ! grep -q '^VMM-GUEST-READY' "$log" 2>/dev/null; do
	n=$((n + 1))
	if [ $n -gt 1000 ] || ! kill -0 $qpid 2>/dev/null; then
		exec 3>&-
		kill $qpid 2>/dev/null || true
		rm -f "$fifo"
		die "the guest did not print VMM-GUEST-READY; see $log"
	fi
	sleep 0.1
done
ready=$(date +%s)
say "marker seen after $((ready - start)) s; sending poweroff -f"
sleep 0.5
echo "poweroff -f" >&3
rc=0
wait $qpid || rc=$?
exec 3>&-
rm -f "$fifo"
[ $rc -eq 0 ] || die "qemu exited with status $rc after poweroff (124 = timeout); see $log"
grep -q 'reboot: Power down' "$log" || die "no 'reboot: Power down' in $log"
say "check passed: $(grep -m1 '^VMM-GUEST-READY' "$log"), powered off after $(($(date +%s) - start)) s"
