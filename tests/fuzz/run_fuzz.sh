#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a libFuzzer target for a bounded time, one process. libFuzzer adds the new inputs it
# finds to its first corpus folder: a scratch copy of the seeds by default (the source tree
# stays untouched), or FUZZ_CORPUS if set (kept between runs: scripts/fuzz.sh), with the
# seeds read as a second folder. Crashes, leaks, timeouts and out-of-memory inputs are
# written to ARTIFACT_DIR (crash-*, leak-*, timeout-*, oom-*) and fail the run;
# docs/fuzzing.md says how to reproduce and keep them. Extra arguments go to libFuzzer.
# Usage: [FUZZ_CORPUS=DIR] run_fuzz.sh FUZZER SEED_DIR SECONDS ARTIFACT_DIR [LIBFUZZER_FLAG...]
set -eu
fuzzer=$(readlink -f "$1") seeds=$(readlink -f "$2") secs=$3 artifacts=$4
shift 4
mkdir -p "$artifacts"
artifacts=$(readlink -f "$artifacts")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${FUZZ_CORPUS:-}" ]; then
	mkdir -p "$FUZZ_CORPUS"
	set -- "$@" "$(readlink -f "$FUZZ_CORPUS")" "$seeds"
else
	mkdir "$work/corpus"
	cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
	set -- "$@" "$work/corpus"
fi
cd "$work"
# UBSan reports are errors (the tree is built with -fno-sanitize-recover=undefined too).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
# -error_exitcode: libFuzzer's default, 77, is what meson counts as a skip.
exec "$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 \
	-error_exitcode=1 -print_final_stats=1 -artifact_prefix="$artifacts/" "$@"
