#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a libFuzzer target for a bounded time on a scratch copy of its seed corpus (libFuzzer
# writes new inputs into its first corpus folder; the source tree stays untouched).
# Usage: run_fuzz.sh FUZZER SEED_DIR SECONDS
set -eu
fuzzer=$(readlink -f "$1") seeds=$(readlink -f "$2") secs=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
cd "$work"
exec "$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus
