#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one tiny guest image under qemu-system-x86_64 -accel tcg, to cross-check what a guest
# expects against another implementation (a developer aid, not a test: QEMU differs from the SDM
# in a few places, which the guests' headers note). Prints the serial output and the guest's
# debug-exit status (QEMU's isa-debug-exit exits with status * 2 + 1).
# usage: tests/guests/qemu_run.sh <image.bin> [timeout-seconds] [extra qemu args...]
set -eu
[ $# -ge 1 ] || { echo "usage: $0 image.bin [timeout] [qemu args...]" >&2; exit 2; }
img=$1
limit=${2:-20}
[ $# -ge 2 ] && shift 2 || shift 1
[ "$(wc -c <"$img")" -le 65024 ] || { echo "$img: larger than 127 sectors" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qemu_run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
as --32 -o "$tmp/boot.o" "$here/lib/qemu_boot.S"
ld -m elf_i386 -Ttext=0 --oformat=binary -o "$tmp/boot.bin" "$tmp/boot.o"
cat "$tmp/boot.bin" "$img" >"$tmp/disk.img"
truncate -s 1M "$tmp/disk.img"
set +e
timeout "$limit" qemu-system-x86_64 -accel tcg -m 16 -display none -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=1 -drive file="$tmp/disk.img",format=raw,if=ide "$@"
s=$?
set -e
if [ $s -eq 124 ]; then
	echo "--- timed out after $limit s"
	exit 1
fi
echo "--- guest exit status $(((s - 1) / 2))"
[ $s -eq 1 ]
