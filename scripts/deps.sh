#!/bin/bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages the build, the tests and the demo need (as root; idempotent).
# Usage: scripts/deps.sh [build|test|demo]
set -euo pipefail
what=${1:-test}
pkgs=(build-essential meson ninja-build pkg-config libjansson-dev liburing-dev libaio-dev
      libseccomp-dev libsystemd-dev zlib1g-dev liblzma-dev liblz4-dev libcmocka-dev scdoc
      libvncserver-dev libpng-dev libslirp-dev libglib2.0-dev libdeflate-dev)
case $what in
# libclang-rt-14-dev: libFuzzer and clang's sanitizer runtimes (only a Recommends of clang)
test) pkgs+=(clang libclang-rt-14-dev python3 python3-jsonschema acpica-tools qemu-utils fio
             xorriso cpio busybox-static clang-format binutils python3-libvmdk e2fsprogs seabios
             python3-yaml gdb systemd-container debootstrap bash-completion gvncviewer
             # firmware tests: OVMF, boot media from SYSLINUX/ISOLINUX and systemd-boot, the
             # tools that build them without root, dmidecode for the SMBIOS tables
             ovmf syslinux syslinux-common isolinux mtools dosfstools fdisk systemd-boot-efi
             dmidecode iproute2) ;;
demo) pkgs+=(busybox-static cpio) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "Installing missing packages: ${missing[*]}"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
