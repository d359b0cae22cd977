#!/bin/sh
# SPDX-License-Identifier: MIT
# Benchmark for issue 4 "Speed": convert a 2 GiB sparse VMDK holding about 1 GiB of data to raw
# and back, with vmm-img and with qemu-img convert, in one run, and measure the raw file's own
# read throughput with fio. Prints the times, throughputs and the ratios
#   ours vs qemu-img (target >= 1.0: at least as fast) and
#   ours vmdk->raw read throughput vs fio's raw read (target >= 0.8).
# Usage: scripts/bench/vmdk-convert.sh [BUILD_DIR] [WORK_DIR]
#   BUILD_DIR defaults to build (needs src/vmdk/tool/vmm-img), WORK_DIR to a fresh mktemp -d
#   (it needs ~4 GiB free); both may be relative to the current folder. fio reads with io_uring,
#   or libaio where the host refuses io_uring (it says which). Each conversion runs REPEAT times (default 3); the best is kept, so
#   both tools see the same warm page cache. Needs qemu-img (qemu-utils) and fio.
set -eu
build=$(cd "${1:-build}" 2>/dev/null && pwd) ||
	{ echo "vmdk-convert: no build directory ${1:-build}" >&2; exit 2; }
img=$build/src/vmdk/tool/vmm-img
work=${2:-$(mktemp -d)}
repeat=${REPEAT:-3}
mkdir -p "$work"
work=$(cd "$work" && pwd)
trap 'rm -f "$work"/src.raw "$work"/src.vmdk "$work"/o*.raw "$work"/o*.vmdk' EXIT
for t in "$img" qemu-img fio; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

# 2 GiB virtual, 1 GiB of incompressible data in alternating 1 MiB blocks, the rest holes.
echo "preparing $work/src.vmdk (2 GiB virtual, 1 GiB data)..."
python3 - "$work/src.raw" <<'PY'
import os, sys
MiB = 1 << 20
block = os.urandom(MiB)
with open(sys.argv[1], "wb") as f:
    f.truncate(2048 * MiB)
    for i in range(0, 2048, 2):
        f.seek(i * MiB)
        f.write(block[i % 7:] + block[:i % 7])  # differs per block, still incompressible
PY
qemu-img convert -f raw -O vmdk "$work/src.raw" "$work/src.vmdk"
data_mib=1024

now() { date +%s.%N; }
best() { # best wall time of "$@" over $repeat runs
	b=""
	i=0
	while [ "$i" -lt "$repeat" ]; do
		rm -f "$work"/o*.raw "$work"/o*.vmdk
		s=$(now)
		"$@" >/dev/null
		e=$(now)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}

# vmdk -> raw: ours writes raw output with O_DIRECT by default (--buffered: page cache);
# qemu-img's default is the page cache, -t none is its O_DIRECT equivalent.
t_ours_to_raw=$(best "$img" convert -O raw "$work/src.vmdk" "$work/o.raw")
t_ours_to_raw_buf=$(best "$img" convert --buffered -O raw "$work/src.vmdk" "$work/o.raw")
t_qemu_to_raw=$(best qemu-img convert -f vmdk -O raw "$work/src.vmdk" "$work/o.raw")
t_qemu_to_raw_dir=$(best qemu-img convert -t none -f vmdk -O raw "$work/src.vmdk" "$work/o.raw")
t_ours_to_vmdk=$(best "$img" convert -O vmdk "$work/src.raw" "$work/o.vmdk")
t_qemu_to_vmdk=$(best qemu-img convert -f raw -O vmdk "$work/src.raw" "$work/o.vmdk")

# correctness of what was timed
"$img" convert -O raw "$work/src.vmdk" "$work/o.raw"
cmp "$work/o.raw" "$work/src.raw"
"$img" convert -O vmdk "$work/src.raw" "$work/o.vmdk"
qemu-img compare -q -f raw -F vmdk "$work/src.raw" "$work/o.vmdk"

fio_engine=
for e in io_uring libaio; do # the first engine fio can use on this host
	if fio --name=probe --filename="$work/src.raw" --rw=read --bs=4k --size=4k \
		--ioengine=$e --output-format=terse --minimal >/dev/null 2>&1; then
		fio_engine=$e
		break
	fi
done
[ -n "$fio_engine" ] || { echo "fio can use neither io_uring nor libaio here" >&2; exit 1; }
fio_mib() { # fio sequential read of the raw file, MiB/s
	fio --name=raw --filename="$work/src.raw" --rw=read --bs=1M --iodepth=16 \
		--ioengine="$fio_engine" --direct="$1" --size=2G --output-format=terse --minimal |
		awk -F';' '{ printf "%.1f", $7 / 1024 }'
}
fio_buffered=$(fio_mib 0)
fio_direct=$(fio_mib 1)

mibs() { echo "scale=1; $data_mib / $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo
echo "vmdk -> raw: ours ${t_ours_to_raw}s ($(mibs "$t_ours_to_raw") MiB/s of data), ours --buffered ${t_ours_to_raw_buf}s ($(mibs "$t_ours_to_raw_buf") MiB/s)"
echo "             qemu-img ${t_qemu_to_raw}s ($(mibs "$t_qemu_to_raw") MiB/s), qemu-img -t none ${t_qemu_to_raw_dir}s ($(mibs "$t_qemu_to_raw_dir") MiB/s)"
echo "raw -> vmdk: ours ${t_ours_to_vmdk}s ($(mibs "$t_ours_to_vmdk") MiB/s of data), qemu-img ${t_qemu_to_vmdk}s ($(mibs "$t_qemu_to_vmdk") MiB/s)"
echo "fio raw read ($fio_engine): buffered ${fio_buffered} MiB/s, O_DIRECT ${fio_direct} MiB/s"
echo "speed-up vs qemu-img (qemu time / our time, >= 1 means at least as fast):"
echo "  vmdk->raw default $(ratio "$t_qemu_to_raw" "$t_ours_to_raw"), both O_DIRECT $(ratio "$t_qemu_to_raw_dir" "$t_ours_to_raw"), both buffered $(ratio "$t_qemu_to_raw" "$t_ours_to_raw_buf")"
echo "  raw->vmdk $(ratio "$t_qemu_to_vmdk" "$t_ours_to_vmdk")"
echo "ours vmdk->raw data rate / fio raw read rate: buffered fio $(ratio "$(mibs "$t_ours_to_raw")" "$fio_buffered"), O_DIRECT fio $(ratio "$(mibs "$t_ours_to_raw")" "$fio_direct")"
