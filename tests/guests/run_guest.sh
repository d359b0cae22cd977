#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one tiny guest program through the vmm binary and check its exit status and serial output.
#
# usage: run_guest.sh <vmm> <spec.json> <expected-exit-status> <expected-serial-text> [kvm|bt
#        [KEY=VALUE...]]
#
# The accelerator argument is passed as `--set accel=...`, and each KEY=VALUE after it as another
# --set (e.g. bt.engine=interpreter, bt.jit_threshold=1). Exit status: 0 pass, 1 fail,
# 77 skip (meson): /dev/kvm cannot be opened for a kvm run, or vmm reports KVM as not
# available (its exit status 3 with "not available" on stderr). The BT engine needs nothing
# from the host, so a bt run never skips. The serial log goes to a private temporary file so
# the kvm and bt runs of one program can run in parallel. With RUN_GUEST_WANT_STDERR set, vmm's
# stderr must also contain that text (what the VMM logs about the run).
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 vmm spec.json exit-status serial-text [kvm|bt]" >&2
	exit 1
fi
vmm=$1
spec=$2
want_status=$3
want_text=$4
accel=${5:-kvm}
if [ $# -ge 5 ]; then
	shift 5
else
	shift $#
fi
extra=""
for kv in "$@"; do
	extra="$extra --set $kv"
done

if [ "$accel" = kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm cannot be opened for reading and writing" >&2
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run_guest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
log=$tmp/serial.log
: >"$log"

# shellcheck disable=SC2086 # extra holds whole words on purpose
"$vmm" run "$spec" --set "accel=$accel" --set "serial.path=$log" $extra \
	>"$tmp/stdout" 2>"$tmp/stderr"
status=$?

if [ "$accel" = kvm ] && [ "$status" -eq 3 ] && grep -q "not available" "$tmp/stderr"; then
	echo "SKIP: accelerator $accel not available:" >&2
	cat "$tmp/stderr" >&2
	exit 77
fi

echo "--- vmm exit status $status (want $want_status)"
echo "--- serial:"
cat "$log"
echo "--- stderr:"
cat "$tmp/stderr"

fail=0
if [ "$status" -ne "$want_status" ]; then
	echo "FAIL: exit status $status, want $want_status"
	fail=1
fi
if ! grep -qF -- "$want_text" "$log"; then
	echo "FAIL: serial output lacks \"$want_text\""
	fail=1
fi
if [ -n "${RUN_GUEST_WANT_STDERR:-}" ] && ! grep -qF -- "$RUN_GUEST_WANT_STDERR" "$tmp/stderr"; then
	echo "FAIL: stderr lacks \"$RUN_GUEST_WANT_STDERR\""
	fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
