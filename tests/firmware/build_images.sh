#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the boot media of the firmware tests from Debian's packages, with no root rights and no
# loop devices (sfdisk on a file, mkfs.fat --offset, mtools, the mtools-based syslinux installer,
# xorriso). Each ITEM is one image in OUTDIR:
#   hd:NAME       hd-NAME.img: MBR (syslinux's mbr.bin) + one bootable FAT16 partition with
#                 SYSLINUX, the kernel and the initrd; its syslinux.cfg says "vmm-syslinux: NAME"
#                 and boots the kernel with "vmm.boot=NAME vmm.poweroff" (the guest's init
#                 prints its marker and powers off)
#   hd-shell:NAME the same without vmm.poweroff: the guest runs its shell
#   cd            cd.iso: an El Torito no-emulation CD with ISOLINUX ("vmm-isolinux: cd",
#                 vmm.boot=cd vmm.poweroff)
#   esp           esp.img: a GPT disk whose EFI system partition holds systemd-boot as
#                 \EFI\BOOT\BOOTX64.EFI, one loader entry and the kernel and initrd
#                 (vmm.boot=efi, no vmm.poweroff)
# Usage: build_images.sh KERNEL INITRD OUTDIR ITEM...
# Exit 77 (skip) naming the missing tool when one is not installed (scripts/deps.sh test
# installs them all).
set -eu
kernel=$1 initrd=$2 out=$3
shift 3
cmdline="console=ttyS0 panic=-1 no_timer_check"

need() {
	for f in "$@"; do
		case $f in
		/*) [ -e "$f" ] || { echo "SKIP: $f is missing (scripts/deps.sh test installs it)"; exit 77; } ;;
		*) command -v "$f" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin command -v "$f" >/dev/null 2>&1 ||
			{ echo "SKIP: $f is not installed (scripts/deps.sh test installs it)"; exit 77; } ;;
		esac
	done
}
need sfdisk mkfs.fat mcopy mmd syslinux xorriso /usr/lib/syslinux/mbr/mbr.bin \
	/usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	/usr/lib/systemd/boot/efi/systemd-bootx64.efi
PATH=$PATH:/sbin:/usr/sbin
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A partitioned disk: 1 MiB before the partition, 1 MiB after it (room for a backup GPT).
fat_disk() { # IMAGE SIZE_MIB PARTITION_TYPE LABEL [gpt]
	img=$1 mib=$2
	sectors=$(( (mib - 2) * 2048 ))
	rm -f "$img"
	truncate -s "${mib}M" "$img"
	if [ "${5:-}" = gpt ]; then
		printf 'label: gpt\nstart=2048, size=%s, type=%s, name="%s"\n' "$sectors" "$3" "$4" |
			sfdisk -q "$img"
	else
		printf 'start=2048, size=%s, type=%s, bootable\n' "$sectors" "$3" | sfdisk -q "$img"
	fi
	mkfs.fat -F 16 -n "$4" --offset 2048 "$img" $(( sectors / 2 )) >/dev/null
}

hd_image() { # NAME EXTRA_CMDLINE
	name=$1
	img=$out/hd-$name.img
	fat_disk "$img" 48 6 VMMHD
	cat >"$tmp/syslinux.cfg" <<EOF
SAY vmm-syslinux: $name
DEFAULT linux
PROMPT 0
TIMEOUT 1
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND $cmdline vmm.boot=$name$2
EOF
	mcopy -i "$img@@1M" "$tmp/syslinux.cfg" ::syslinux.cfg
	mcopy -i "$img@@1M" "$kernel" ::vmlinuz
	mcopy -i "$img@@1M" "$initrd" ::initrd.img
	syslinux --offset 1048576 --install "$img"
	dd if=/usr/lib/syslinux/mbr/mbr.bin of="$img" bs=440 count=1 conv=notrunc 2>/dev/null
}

cd_image() {
	iso=$tmp/iso
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$kernel" "$iso/vmlinuz"
	cp "$initrd" "$iso/initrd.img"
	cat >"$iso/isolinux/isolinux.cfg" <<-EOF
	SAY vmm-isolinux: cd
	DEFAULT linux
	PROMPT 0
	TIMEOUT 1
	LABEL linux
	  KERNEL /vmlinuz
	  INITRD /initrd.img
	  APPEND $cmdline vmm.boot=cd vmm.poweroff
	EOF
	xorriso -as mkisofs -quiet -o "$out/cd.iso" -V VMMCD -b isolinux/isolinux.bin \
		-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso"
}

esp_image() {
	img=$out/esp.img
	fat_disk "$img" 64 C12A7328-F81F-11D2-BA4B-00A0C93EC93B VMMESP gpt
	cat >"$tmp/loader.conf" <<-EOF
	default vmm.conf
	timeout 0
	EOF
	cat >"$tmp/vmm.conf" <<-EOF
	title vmm test entry
	linux /vmlinuz
	initrd /initrd.img
	options $cmdline vmm.boot=efi
	EOF
	mmd -i "$img@@1M" ::EFI ::EFI/BOOT ::loader ::loader/entries
	mcopy -i "$img@@1M" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::EFI/BOOT/BOOTX64.EFI
	mcopy -i "$img@@1M" "$tmp/loader.conf" ::loader/loader.conf
	mcopy -i "$img@@1M" "$tmp/vmm.conf" ::loader/entries/vmm.conf
	mcopy -i "$img@@1M" "$kernel" ::vmlinuz
	mcopy -i "$img@@1M" "$initrd" ::initrd.img
}

for item in "$@"; do
	case $item in
	hd:*) hd_image "${item#hd:}" " vmm.poweroff" ;;
	hd-shell:*) hd_image "${item#hd-shell:}" "" ;;
	cd) cd_image ;;
	esp) esp_image ;;
	*) echo "build_images.sh: unknown item $item" >&2; exit 2 ;;
	esac
done
echo "images in $out"
