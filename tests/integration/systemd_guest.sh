#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build (or reuse) the Debian 12 systemd guest the linux-systemd test boots as a VM:
#   systemd_guest.sh OUT VMM_IMG
# OUT/root: the debootstrapped root of systemd_root.sh plus Debian's generic kernel, udev and
# initramfs-tools; OUT/vmlinuz and OUT/initrd.img: that kernel and the initramfs Debian's own
# initramfs-tools builds for it (MODULES=list: the virtio and AHCI disk drivers and ext4, so
# it stays small); OUT/root.vmdk: the root as an ext4 filesystem on a monolithicSparse VMDK
# (vmm-img convert). The guest's root has an empty root password and hostname vmm-guest; its
# serial login comes from systemd's getty generator (console=ttyS0); systemd-networkd (part of
# Debian's systemd package) is enabled and configures every en* link with DHCP.
# OUT/.stamp records what the image was made from; a matching one is reused as it is.
# Exit status: 0 ready; 77 the host cannot build it (see systemd_root.sh); 1 it failed.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 OUT VMM_IMG" >&2
	exit 2
fi
out=$1 vmm_img=$2
root=$out/root
mkdir -p "$out"
rc=0
sh "$(dirname "$0")/systemd_root.sh" "$root" "linux-image-amd64,udev,initramfs-tools" || rc=$?
[ $rc -eq 0 ] || exit $rc

stamp="$(cat "$root/.vmm-root-stamp") | guest v3"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -f "$out/root.vmdk" ]; then
	echo "systemd_guest: reusing $out"
	exit 0
fi
rm -f "$out/.stamp" "$out/root.vmdk" "$out/root.raw"

echo vmm-guest >"$root/etc/hostname"
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
# An interpreted CPU on a shared host is slow: give units 10 minutes to start, not 90 s.
mkdir -p "$root/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStartSec=600s\n' >"$root/etc/systemd/system.conf.d/vmm-guest.conf"
# The NICs the VM gets: systemd-networkd asks DHCP for an address on each.
mkdir -p "$root/etc/systemd/network" "$root/etc/systemd/system/multi-user.target.wants"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/20-vmm-wired.network"
ln -sf /lib/systemd/system/systemd-networkd.service \
	"$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
printf 'MODULES=list\n' >"$root/etc/initramfs-tools/conf.d/vmm-guest"
printf '%s\n' virtio_pci virtio_blk ahci sd_mod ext4 >"$root/etc/initramfs-tools/modules"
echo "systemd_guest: update-initramfs in the root"
if ! chroot "$root" update-initramfs -u -k all >"$out/initramfs.log" 2>&1; then
	tail -20 "$out/initramfs.log" >&2
	echo "systemd_guest: update-initramfs failed (log: $out/initramfs.log)" >&2
	exit 1
fi
set -- "$root"/boot/vmlinuz-*
[ -f "$1" ] || { echo "systemd_guest: no kernel in $root/boot" >&2; exit 1; }
ver=${1##*/vmlinuz-}
cp "$root/boot/vmlinuz-$ver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$ver" "$out/initrd.img"

echo "systemd_guest: ext4 image of the root (mkfs.ext4 -d), then VMDK"
if ! mkfs.ext4 -q -F -L vmm-root -d "$root" "$out/root.raw" 2G >"$out/mkfs.log" 2>&1; then
	cat "$out/mkfs.log" >&2
	exit 1
fi
"$vmm_img" convert -f raw -O vmdk "$out/root.raw" "$out/root.vmdk"
rm -f "$out/root.raw"
echo "$stamp" >"$out/.stamp"
echo "systemd_guest: $out ready (kernel $ver)"
