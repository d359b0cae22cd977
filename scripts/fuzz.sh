#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the libFuzzer targets (docs/fuzzing.md) for longer than CI does: builds the clang fuzz
# tree (build-fuzz, -Dfuzz=true) if needed, then runs TARGET (or every target, one after the
# other) for SECONDS each (default 600), one process at nice 19, with the same libFuzzer flags
# as suite 'fuzz' (read from meson). The corpus each run grows is kept in
# build-fuzz/fuzz-corpus/<target> (the checked-in seeds are read too), crashes go to
# build-fuzz/fuzz-artifacts/<target>/ and the output to build-fuzz/fuzz-logs/<target>.log.
# Ends with one line per target (executions, coverage, artifacts); exit status 1 if any
# target crashed, leaked, timed out or ran out of memory.
# Usage: scripts/fuzz.sh [TARGET|all] [SECONDS]     e.g. scripts/fuzz.sh virtio_blk 3600
set -eu
cd "$(dirname "$0")/.."
target=${1:-all} secs=${2:-600} build=${FUZZ_BUILD:-build-fuzz}
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/deps.sh test)"; exit 1; }
if [ ! -d "$build" ]; then
	CC=clang meson setup "$build" -Dfuzz=true >/dev/null
fi
ninja -C "$build" >/dev/null
build=$(readlink -f "$build")
# name and command of every fuzz-* test, one per line: NAME<TAB>ARG<TAB>ARG...
tests=$(meson introspect "$build" --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz-"):
        print("\t".join([t["name"][5:]] + t["cmd"][1:]))')
[ "$target" = all ] || tests=$(printf '%s\n' "$tests" | awk -F '\t' -v t="$target" '$1 == t')
[ -n "$tests" ] || { echo "fuzz.sh: no target $target (see tests/fuzz/meson.build)"; exit 1; }
mkdir -p "$build/fuzz-logs"
summary= failed=0
tab=$(printf '\t')
while IFS="$tab" read -r name script fuzzer seeds _secs _artifacts flags; do
	log=$build/fuzz-logs/$name.log
	echo "=== $name: $secs s (log: $log)"
	set -f
	# shellcheck disable=SC2086 # flags are separate libFuzzer arguments
	(cd "$build" && FUZZ_CORPUS=$build/fuzz-corpus/$name nice -n 19 sh "$script" "$fuzzer" \
		"$seeds" "$secs" "$build/fuzz-artifacts/$name" $(echo "$flags" | tr '\t' ' ')) \
		>"$log" 2>&1 || failed=1
	set +f
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	found=$(ls "$build/fuzz-artifacts/$name" 2>/dev/null | wc -l)
	summary="$summary$name: ${execs:-?} executions, coverage ${cov:-?} edges, $found artifacts
"
done <<EOT
$tests
EOT
printf '%s' "$summary"
exit $failed
