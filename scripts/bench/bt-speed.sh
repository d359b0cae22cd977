#!/bin/sh
# SPDX-License-Identifier: MIT
# BT engine speed: guest instructions per second on a fixed compute loop in flat 64-bit mode,
# against the same loop run natively, and the ratio. A benchmark, not a test.
# Usage: scripts/bench/bt-speed.sh [iterations]   (BUILD=<dir> picks the build directory,
# relative to the current folder or absolute)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-bench}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -d "$build" ]; then
	meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" tests/bt_diff/bt_bench >/dev/null
exec "$build/tests/bt_diff/bt_bench" "${1:-20000000}"
